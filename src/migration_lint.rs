//! Backward-compatibility lint of a migration's SQL (alembic's offline
//! output): the statements that break the version still running while the
//! migration is applied (a rolling update, a canary) or that lock a live
//! table, each with its rule and the expand/contract way to do it instead.
//!
//! A small rule set over a statement splitter, not a general SQL parser
//! (docs/dependencies.md, "Migration lint", says why): alembic's output is
//! generated DDL, one action per statement, and the rules look at the
//! statement's leading keywords only. Tables created earlier in the same
//! SQL are new: nothing runs against them yet, so indexes, constraints and
//! NOT NULL columns on them pass.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One rule of the lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    DropTable,
    DropColumn,
    RenameTable,
    RenameColumn,
    AddColumnNotNullWithoutDefault,
    AlterColumnType,
    SetNotNull,
    CreateIndexNotConcurrently,
    ForeignKeyWithoutNotValid,
    UniqueConstraintWithoutIndex,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::DropTable,
        Rule::DropColumn,
        Rule::RenameTable,
        Rule::RenameColumn,
        Rule::AddColumnNotNullWithoutDefault,
        Rule::AlterColumnType,
        Rule::SetNotNull,
        Rule::CreateIndexNotConcurrently,
        Rule::ForeignKeyWithoutNotValid,
        Rule::UniqueConstraintWithoutIndex,
    ];

    /// The rule's id, as in `-o json` and the docs.
    pub fn id(self) -> &'static str {
        match self {
            Rule::DropTable => "drop-table",
            Rule::DropColumn => "drop-column",
            Rule::RenameTable => "rename-table",
            Rule::RenameColumn => "rename-column",
            Rule::AddColumnNotNullWithoutDefault => "add-column-not-null-without-default",
            Rule::AlterColumnType => "alter-column-type",
            Rule::SetNotNull => "set-not-null",
            Rule::CreateIndexNotConcurrently => "create-index-not-concurrently",
            Rule::ForeignKeyWithoutNotValid => "foreign-key-without-not-valid",
            Rule::UniqueConstraintWithoutIndex => "unique-constraint-without-index",
        }
    }

    /// Why the statement breaks the running version (or the live table).
    pub fn problem(self) -> &'static str {
        match self {
            Rule::DropTable => "the running version still reads and writes the table",
            Rule::DropColumn => "the running version still selects or inserts the column",
            Rule::RenameTable => "the running version still uses the old table name",
            Rule::RenameColumn => "the running version still uses the old column name",
            Rule::AddColumnNotNullWithoutDefault => {
                "fails on a table with rows, and the running version's inserts do not set the column"
            }
            Rule::AlterColumnType => {
                "rewrites the table under an exclusive lock, and the running version may write values the new type rejects"
            }
            Rule::SetNotNull => {
                "scans the table under an exclusive lock, and the running version may still insert NULL"
            }
            Rule::CreateIndexNotConcurrently => {
                "blocks every write to the table while the index builds"
            }
            Rule::ForeignKeyWithoutNotValid => {
                "checks every existing row while both tables are locked against writes"
            }
            Rule::UniqueConstraintWithoutIndex => {
                "builds the unique index while the table is locked against writes"
            }
        }
    }

    /// The expand/contract alternative, in words.
    pub fn alternative(self) -> &'static str {
        match self {
            Rule::DropTable => {
                "stop using the table in one release, drop it in a later release once no running version reads it"
            }
            Rule::DropColumn => {
                "stop reading and writing the column in one release, drop it in a later release"
            }
            Rule::RenameTable => {
                "create the new table (or a view under the new name), write to both, move the readers, drop the old one in a later release"
            }
            Rule::RenameColumn => {
                "add the new column, write to both and backfill, move the readers, drop the old column in a later release"
            }
            Rule::AddColumnNotNullWithoutDefault => {
                "add the column with a DEFAULT (or nullable), backfill, and make it NOT NULL in a later release"
            }
            Rule::AlterColumnType => {
                "add a column of the new type, write to both and backfill, move the readers, drop the old column in a later release"
            }
            Rule::SetNotNull => {
                "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a separate step, then SET NOT NULL (PostgreSQL uses the valid check and skips the scan)"
            }
            Rule::CreateIndexNotConcurrently => {
                "CREATE INDEX CONCURRENTLY, outside a transaction (alembic: autocommit_block())"
            }
            Rule::ForeignKeyWithoutNotValid => {
                "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a separate step"
            }
            Rule::UniqueConstraintWithoutIndex => {
                "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX"
            }
        }
    }
}

/// One breaking statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule's id ([`Rule::id`]).
    pub rule: String,
    /// The statement, whitespace collapsed, shortened past [`STATEMENT_CHARS`].
    pub statement: String,
    pub problem: String,
    pub alternative: String,
}

/// How much of a statement a finding keeps.
pub const STATEMENT_CHARS: usize = 200;

impl Finding {
    fn new(rule: Rule, statement: &str) -> Self {
        Self {
            rule: rule.id().to_string(),
            statement: trimmed(statement),
            problem: rule.problem().to_string(),
            alternative: rule.alternative().to_string(),
        }
    }
}

/// Lints SQL (several statements): the breaking statements, in order.
pub fn lint(sql: &str) -> Vec<Finding> {
    let mut seen = Seen::default();
    let mut findings = Vec::new();
    for statement in split_statements(sql) {
        let tokens = tokenize(&statement);
        for rule in judge(&tokens, &mut seen) {
            findings.push(Finding::new(rule, &statement));
        }
    }
    findings
}

/// What earlier statements of the same SQL created: new, so nothing
/// running depends on it.
#[derive(Default)]
struct Seen {
    tables: BTreeSet<String>,
    /// `table.column`
    columns: BTreeSet<String>,
}

impl Seen {
    fn new_table(&self, table: &str) -> bool {
        self.tables.contains(table)
    }
    fn new_column(&self, table: &str, column: &str) -> bool {
        self.new_table(table) || self.columns.contains(&format!("{table}.{column}"))
    }
}

/// Splits SQL into statements at `;`, outside quotes, dollar quotes and
/// comments; comments are left out, empty statements dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    let starts = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if starts(i, "--") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            current.push(' ');
        } else if starts(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if starts(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if starts(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            current.push(' ');
        } else if c == '\'' || c == '"' {
            // '' and "" inside are the quote itself: the same loop reads them.
            current.push(c);
            i += 1;
            while i < chars.len() {
                current.push(chars[i]);
                i += 1;
                if chars[i - 1] == c {
                    break;
                }
            }
        } else if let Some(tag) = dollar_tag(&chars[i..]) {
            current.push_str(&tag);
            i += tag.chars().count();
            while i < chars.len() && !starts(i, &tag) {
                current.push(chars[i]);
                i += 1;
            }
            if i < chars.len() {
                current.push_str(&tag);
                i += tag.chars().count();
            }
        } else if c == ';' {
            if !current.trim().is_empty() {
                statements.push(current.trim().to_string());
            }
            current.clear();
            i += 1;
        } else {
            current.push(c);
            i += 1;
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

/// `$$` or `$tag$` starting here.
fn dollar_tag(rest: &[char]) -> Option<String> {
    if rest.first() != Some(&'$') {
        return None;
    }
    let end = rest[1..]
        .iter()
        .position(|c| !(c.is_alphanumeric() || *c == '_'))?
        + 1;
    if rest.get(end) == Some(&'$') && !rest[1..end].first().is_some_and(|c| c.is_ascii_digit()) {
        Some(rest[..=end].iter().collect())
    } else {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An unquoted word, upper-cased (a keyword or a name).
    Word(String),
    /// A `"quoted"` identifier, as written.
    Quoted(String),
    /// A string literal or a dollar-quoted body.
    Literal,
    Punct(char),
}

fn tokenize(statement: &str) -> Vec<Token> {
    let chars: Vec<char> = statement.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token::Word(word.to_uppercase()));
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        text.push(c);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            tokens.push(if c == '"' {
                Token::Quoted(text)
            } else {
                Token::Literal
            });
        } else if let Some(tag) = dollar_tag(&chars[i..]) {
            i += tag.chars().count();
            while i < chars.len() && !chars[i..].starts_with(&tag.chars().collect::<Vec<_>>()) {
                i += 1;
            }
            i = (i + tag.chars().count()).min(chars.len());
            tokens.push(Token::Literal);
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// A cursor over one statement's tokens.
struct Cursor<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(tokens: &'a [Token]) -> Self {
        Self { tokens, at: 0 }
    }
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }
    /// Takes the keywords if they come next, in order.
    fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(k, w)| matches!(self.tokens.get(self.at + k), Some(Token::Word(t)) if t == w));
        if matches {
            self.at += words.len();
        }
        matches
    }
    /// A name, possibly schema-qualified: its last part, unquoted names
    /// lower-cased as PostgreSQL folds them.
    fn name(&mut self) -> Option<String> {
        let mut last = None;
        loop {
            match self.tokens.get(self.at) {
                Some(Token::Word(w)) => last = Some(w.to_lowercase()),
                Some(Token::Quoted(q)) => last = Some(q.clone()),
                _ => return last,
            }
            self.at += 1;
            if self.tokens.get(self.at) == Some(&Token::Punct('.')) {
                self.at += 1;
            } else {
                return last;
            }
        }
    }
    fn rest(&self) -> &'a [Token] {
        &self.tokens[self.at.min(self.tokens.len())..]
    }
}

/// Whether the keywords occur in `tokens` in a row.
fn has(tokens: &[Token], words: &[&str]) -> bool {
    (0..tokens.len()).any(|i| Cursor { tokens, at: i }.eat(words))
}

/// The rules one statement breaks; records what it creates in `seen`.
fn judge(tokens: &[Token], seen: &mut Seen) -> Vec<Rule> {
    let mut c = Cursor::new(tokens);
    if c.eat(&["CREATE"]) {
        c.eat(&["OR", "REPLACE"]);
        for modifier in ["GLOBAL", "LOCAL", "TEMPORARY", "TEMP", "UNLOGGED"] {
            c.eat(&[modifier]);
        }
        if c.eat(&["TABLE"]) {
            c.eat(&["IF", "NOT", "EXISTS"]);
            if let Some(table) = c.name() {
                seen.tables.insert(table);
            }
            return Vec::new();
        }
        c.eat(&["UNIQUE"]);
        if !c.eat(&["INDEX"]) || c.eat(&["CONCURRENTLY"]) {
            return Vec::new();
        }
        while c.at < tokens.len() && !c.eat(&["ON"]) {
            c.at += 1;
        }
        c.eat(&["ONLY"]);
        return match c.name() {
            Some(table) if !seen.new_table(&table) => vec![Rule::CreateIndexNotConcurrently],
            _ => Vec::new(),
        };
    }
    if c.eat(&["DROP", "TABLE"]) {
        c.eat(&["IF", "EXISTS"]);
        let mut existing = false;
        while let Some(table) = c.name() {
            existing |= !seen.new_table(&table);
            if !matches!(c.rest().first(), Some(Token::Punct(','))) {
                break;
            }
            c.at += 1;
        }
        return if existing {
            vec![Rule::DropTable]
        } else {
            Vec::new()
        };
    }
    if c.eat(&["ALTER", "TABLE"]) {
        c.eat(&["IF", "EXISTS"]);
        c.eat(&["ONLY"]);
        let Some(table) = c.name() else {
            return Vec::new();
        };
        return actions(c.rest())
            .into_iter()
            .filter_map(|action| judge_action(&table, action, seen))
            .collect();
    }
    Vec::new()
}

/// An ALTER TABLE's actions: split at commas outside parentheses.
fn actions(tokens: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                out.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&tokens[start..]);
    out
}

fn judge_action(table: &str, action: &[Token], seen: &mut Seen) -> Option<Rule> {
    let mut c = Cursor::new(action);
    let new_table = seen.new_table(table);
    if c.eat(&["RENAME"]) {
        if c.eat(&["TO"]) {
            return (!new_table).then_some(Rule::RenameTable);
        }
        if c.eat(&["CONSTRAINT"]) {
            return None;
        }
        c.eat(&["COLUMN"]);
        let column = c.name()?;
        return (!seen.new_column(table, &column)).then_some(Rule::RenameColumn);
    }
    if c.eat(&["DROP"]) {
        if ["CONSTRAINT", "DEFAULT", "NOT", "IDENTITY", "EXPRESSION"]
            .iter()
            .any(|w| c.peek_word() == Some(w))
        {
            return None;
        }
        c.eat(&["COLUMN"]);
        c.eat(&["IF", "EXISTS"]);
        let column = c.name()?;
        return (!seen.new_column(table, &column)).then_some(Rule::DropColumn);
    }
    if c.eat(&["ADD"]) {
        let rest = c.rest();
        let constraint = [
            "CONSTRAINT",
            "UNIQUE",
            "FOREIGN",
            "PRIMARY",
            "CHECK",
            "EXCLUDE",
        ]
        .iter()
        .any(|w| c.peek_word() == Some(w));
        if constraint {
            if new_table {
                return None;
            }
            if has(rest, &["FOREIGN", "KEY"]) && !has(rest, &["NOT", "VALID"]) {
                return Some(Rule::ForeignKeyWithoutNotValid);
            }
            if has(rest, &["UNIQUE"]) && !has(rest, &["USING", "INDEX"]) {
                return Some(Rule::UniqueConstraintWithoutIndex);
            }
            return None;
        }
        c.eat(&["COLUMN"]);
        c.eat(&["IF", "NOT", "EXISTS"]);
        let column = c.name()?;
        let definition = c.rest();
        seen.columns.insert(format!("{table}.{column}"));
        let not_null = has(definition, &["NOT", "NULL"]);
        // A default, an identity or generated column, or a serial (a sequence default).
        let filled = ["DEFAULT", "GENERATED", "SERIAL", "BIGSERIAL", "SMALLSERIAL"]
            .iter()
            .any(|w| has(definition, &[w]));
        return (!new_table && not_null && !filled).then_some(Rule::AddColumnNotNullWithoutDefault);
    }
    if c.eat(&["ALTER"]) {
        c.eat(&["COLUMN"]);
        let column = c.name()?;
        if seen.new_column(table, &column) {
            return None;
        }
        if c.eat(&["TYPE"]) || c.eat(&["SET", "DATA", "TYPE"]) {
            return Some(Rule::AlterColumnType);
        }
        if c.eat(&["SET", "NOT", "NULL"]) {
            return Some(Rule::SetNotNull);
        }
    }
    None
}

/// What the check found, for the plan, `-o json` and the release record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Linted: no breaking statement.
    Passed,
    /// Linted: at least one breaking statement.
    Breaking,
    /// The SQL could not be had (`reason` says why).
    NotChecked,
    /// Nothing to check against (`reason` says why): no live api-gateway.
    Skipped,
}

/// The migration check of one deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationCheck {
    pub status: CheckStatus,
    /// The live schema revision the SQL starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// A canary deploy or a protected environment: breaking statements refuse.
    #[serde(default)]
    pub enforced: bool,
    /// The flag that let the deploy go on despite the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
}

pub const ALLOW_BREAKING: &str = "--allow-breaking-migration";
pub const ALLOW_UNCHECKED: &str = "--allow-unchecked-migration";

/// The flags that override the check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckFlags {
    pub allow_breaking: bool,
    pub allow_unchecked: bool,
}

/// A deploy refused by the migration check (exit 4).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct MigrationRefusal {
    pub message: String,
    /// One line per breaking statement (or the reason it was not checked).
    pub details: Vec<String>,
}

/// One finding as a line: the statement, the rule, why, and what instead.
pub fn finding_line(f: &Finding) -> String {
    format!(
        "`{}` — {}: {}; instead: {}",
        f.statement, f.rule, f.problem, f.alternative
    )
}

/// Applies the policy: in canary deploys and protected environments a
/// breaking statement refuses (unless `--allow-breaking-migration`), in a
/// protected environment an unchecked migration refuses (unless
/// `--allow-unchecked-migration`); everywhere else they are warnings.
/// Records `enforced` and `overridden_by` in `check`; returns the warnings.
pub fn apply_policy(
    check: &mut MigrationCheck,
    environment: &str,
    protected: bool,
    canary: bool,
    flags: CheckFlags,
) -> Result<Vec<String>, MigrationRefusal> {
    check.enforced = protected || canary;
    let why = if canary && !protected {
        "a canary deploy".to_string()
    } else {
        format!("`{environment}` is protected")
    };
    match check.status {
        CheckStatus::Passed | CheckStatus::Skipped => Ok(Vec::new()),
        CheckStatus::Breaking => {
            let n = check.findings.len();
            let lines: Vec<String> = check.findings.iter().map(finding_line).collect();
            if check.enforced && !flags.allow_breaking {
                return Err(MigrationRefusal {
                    message: format!(
                        "refusing to deploy: the migration has {n} breaking statement(s) and {why} (the version running now keeps using the schema while the migration and the rollout run); nothing was migrated. Split it into expand/contract steps, or pass {ALLOW_BREAKING} to deploy anyway"
                    ),
                    details: lines,
                });
            }
            let mut warnings = vec![if check.enforced {
                check.overridden_by = Some(ALLOW_BREAKING.to_string());
                format!(
                    "{ALLOW_BREAKING}: deploying a migration with {n} breaking statement(s) (recorded in the release)"
                )
            } else {
                format!(
                    "the migration has {n} breaking statement(s): the running version may fail until the rollout ends"
                )
            }];
            warnings.extend(lines);
            Ok(warnings)
        }
        CheckStatus::NotChecked => {
            let reason = check.reason.clone().unwrap_or_default();
            if protected && !flags.allow_unchecked {
                return Err(MigrationRefusal {
                    message: format!(
                        "refusing to deploy: migration not checked ({reason}) and `{environment}` is protected; nothing was migrated. Pass {ALLOW_UNCHECKED} to deploy without the check"
                    ),
                    details: Vec::new(),
                });
            }
            if protected {
                check.overridden_by = Some(ALLOW_UNCHECKED.to_string());
            }
            Ok(vec![format!("migration not checked: {reason}")])
        }
    }
}

fn trimmed(statement: &str) -> String {
    let collapsed = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= STATEMENT_CHARS {
        collapsed
    } else {
        let mut s: String = collapsed.chars().take(STATEMENT_CHARS - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules found in `sql`, by id.
    fn rules(sql: &str) -> Vec<String> {
        lint(sql).into_iter().map(|f| f.rule).collect()
    }

    /// Wrapped the way alembic's offline mode prints a migration.
    fn alembic(body: &str) -> String {
        format!(
            "BEGIN;\n\n-- Running upgrade 1a2b3c4d5e6f -> 2b3c4d5e6f7a\n\n{body}\n\nUPDATE alembic_version SET version_num='2b3c4d5e6f7a' WHERE alembic_version.version_num = '1a2b3c4d5e6f';\n\nCOMMIT;\n"
        )
    }

    fn breaks(sql: &str, rule: Rule) {
        let found = rules(&alembic(sql));
        assert_eq!(found, vec![rule.id().to_string()], "{sql}");
    }

    fn passes(sql: &str) {
        let found = lint(&alembic(sql));
        assert!(found.is_empty(), "{sql}: {found:?}");
    }

    #[test]
    fn the_alembic_frame_passes() {
        passes("");
        passes(
            "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\nINSERT INTO alembic_version (version_num) VALUES ('1a2b3c4d5e6f');",
        );
    }

    #[test]
    fn drop_table() {
        breaks("DROP TABLE accounts;", Rule::DropTable);
        breaks(
            "DROP TABLE IF EXISTS public.accounts CASCADE;",
            Rule::DropTable,
        );
        // A table this migration created has no running reader.
        passes("CREATE TABLE scratch (id INTEGER NOT NULL);\n\nDROP TABLE scratch;");
        passes("DROP INDEX ix_accounts_email;");
    }

    #[test]
    fn drop_column() {
        breaks(
            "ALTER TABLE accounts DROP COLUMN legacy_code;",
            Rule::DropColumn,
        );
        breaks(
            "ALTER TABLE \"accounts\" DROP legacy_code CASCADE;",
            Rule::DropColumn,
        );
        passes("ALTER TABLE accounts DROP CONSTRAINT accounts_legacy_check;");
        passes("ALTER TABLE accounts ALTER COLUMN note DROP NOT NULL;");
        passes("ALTER TABLE accounts ALTER COLUMN note DROP DEFAULT;");
    }

    #[test]
    fn rename_table() {
        breaks(
            "ALTER TABLE accounts RENAME TO customer_accounts;",
            Rule::RenameTable,
        );
        passes("CREATE TABLE customer_accounts (id INTEGER NOT NULL);");
    }

    #[test]
    fn rename_column() {
        breaks(
            "ALTER TABLE accounts RENAME COLUMN email TO email_address;",
            Rule::RenameColumn,
        );
        breaks(
            "ALTER TABLE accounts RENAME email TO email_address;",
            Rule::RenameColumn,
        );
        passes("ALTER TABLE accounts RENAME CONSTRAINT a_fk TO accounts_owner_fk;");
    }

    #[test]
    fn add_column_not_null_without_default() {
        breaks(
            "ALTER TABLE accounts ADD COLUMN risk_score INTEGER NOT NULL;",
            Rule::AddColumnNotNullWithoutDefault,
        );
        breaks(
            "ALTER TABLE accounts ADD risk_score INTEGER NOT NULL;",
            Rule::AddColumnNotNullWithoutDefault,
        );
        passes("ALTER TABLE accounts ADD COLUMN risk_score INTEGER;");
        passes("ALTER TABLE accounts ADD COLUMN risk_score INTEGER NULL;");
        passes("ALTER TABLE accounts ADD COLUMN risk_score INTEGER DEFAULT 0 NOT NULL;");
        passes("ALTER TABLE accounts ADD COLUMN risk_score INTEGER NOT NULL DEFAULT '0';");
        passes("ALTER TABLE accounts ADD COLUMN seq BIGSERIAL NOT NULL;");
        passes("ALTER TABLE accounts ADD COLUMN n BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL;");
        passes(
            "CREATE TABLE ledgers (id INTEGER NOT NULL);\n\nALTER TABLE ledgers ADD COLUMN owner INTEGER NOT NULL;",
        );
    }

    #[test]
    fn alter_column_type() {
        breaks(
            "ALTER TABLE accounts ALTER COLUMN balance TYPE NUMERIC(20, 4);",
            Rule::AlterColumnType,
        );
        breaks(
            "ALTER TABLE accounts ALTER balance SET DATA TYPE BIGINT USING balance::bigint;",
            Rule::AlterColumnType,
        );
        passes("ALTER TABLE accounts ALTER COLUMN balance SET DEFAULT 0;");
    }

    #[test]
    fn set_not_null() {
        breaks(
            "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;",
            Rule::SetNotNull,
        );
        // Added in this migration (with a default): not an existing column.
        passes(
            "ALTER TABLE accounts ADD COLUMN region VARCHAR(8) DEFAULT 'eu';\n\nALTER TABLE accounts ALTER COLUMN region SET NOT NULL;",
        );
        passes("ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;");
    }

    #[test]
    fn create_index_not_concurrently() {
        breaks(
            "CREATE INDEX ix_accounts_email ON accounts (email);",
            Rule::CreateIndexNotConcurrently,
        );
        breaks(
            "CREATE UNIQUE INDEX ix_accounts_iban ON public.accounts USING btree (iban);",
            Rule::CreateIndexNotConcurrently,
        );
        passes("CREATE INDEX CONCURRENTLY ix_accounts_email ON accounts (email);");
        passes("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix_a ON accounts (iban);");
        passes(
            "CREATE TABLE ledgers (id INTEGER NOT NULL, owner INTEGER);\n\nCREATE INDEX ix_ledgers_owner ON ledgers (owner);",
        );
    }

    #[test]
    fn foreign_key_without_not_valid() {
        breaks(
            "ALTER TABLE payments ADD CONSTRAINT payments_account_fk FOREIGN KEY(account_id) REFERENCES accounts (id);",
            Rule::ForeignKeyWithoutNotValid,
        );
        passes(
            "ALTER TABLE payments ADD CONSTRAINT payments_account_fk FOREIGN KEY(account_id) REFERENCES accounts (id) NOT VALID;",
        );
        passes("ALTER TABLE payments VALIDATE CONSTRAINT payments_account_fk;");
        passes(
            "CREATE TABLE refunds (id INTEGER NOT NULL, payment_id INTEGER);\n\nALTER TABLE refunds ADD CONSTRAINT refunds_payment_fk FOREIGN KEY(payment_id) REFERENCES payments (id);",
        );
    }

    #[test]
    fn unique_constraint_without_index() {
        breaks(
            "ALTER TABLE accounts ADD CONSTRAINT accounts_iban_key UNIQUE (iban);",
            Rule::UniqueConstraintWithoutIndex,
        );
        breaks(
            "ALTER TABLE accounts ADD UNIQUE (iban);",
            Rule::UniqueConstraintWithoutIndex,
        );
        passes(
            "ALTER TABLE accounts ADD CONSTRAINT accounts_iban_key UNIQUE USING INDEX ix_accounts_iban;",
        );
    }

    #[test]
    fn new_tables_and_nullable_columns_pass() {
        passes(
            "CREATE TABLE audit_events (\n    id SERIAL NOT NULL,\n    account_id INTEGER NOT NULL,\n    kind VARCHAR(32) NOT NULL,\n    PRIMARY KEY (id),\n    UNIQUE (kind, account_id),\n    FOREIGN KEY(account_id) REFERENCES accounts (id)\n);",
        );
        passes("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(64) NULL;");
        passes("UPDATE accounts SET nickname = 'x; DROP TABLE accounts' WHERE id = 1;");
        passes("COMMENT ON COLUMN accounts.nickname IS 'DROP COLUMN is not a statement here';");
    }

    #[test]
    fn every_action_of_one_alter_table_is_judged() {
        let found = rules(&alembic(
            "ALTER TABLE accounts ADD COLUMN note TEXT, DROP COLUMN legacy_code, ALTER COLUMN email SET NOT NULL;",
        ));
        assert_eq!(found, vec!["drop-column", "set-not-null"]);
    }

    #[test]
    fn comments_quotes_and_dollar_quotes_do_not_split_or_trigger() {
        passes("-- DROP TABLE accounts;\n/* ALTER TABLE accounts DROP COLUMN x; */\nSELECT 1;");
        passes(
            "CREATE FUNCTION f() RETURNS void AS $$ BEGIN DROP TABLE accounts; END $$ LANGUAGE plpgsql;",
        );
        breaks(
            "-- the old code\nALTER TABLE \"Accounts\" DROP COLUMN \"Legacy;Code\";",
            Rule::DropColumn,
        );
    }

    #[test]
    fn a_finding_names_the_statement_rule_and_alternative() {
        let found = lint(&alembic(
            "ALTER TABLE accounts\n    DROP COLUMN legacy_code;",
        ));
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(f.statement, "ALTER TABLE accounts DROP COLUMN legacy_code");
        assert_eq!(f.rule, "drop-column");
        assert!(f.alternative.contains("later release"), "{f:?}");
        let long = format!("ALTER TABLE accounts DROP COLUMN c{}", "x".repeat(400));
        let f = &lint(&long)[0];
        assert_eq!(f.statement.chars().count(), STATEMENT_CHARS);
        assert!(f.statement.ends_with('…'));
    }

    fn checked(status: CheckStatus, sql: &str) -> MigrationCheck {
        MigrationCheck {
            status,
            from_revision: Some("1a2b".into()),
            reason: (status == CheckStatus::NotChecked)
                .then(|| "Job/x failed (exit code 1)".into()),
            findings: lint(sql),
            enforced: false,
            overridden_by: None,
        }
    }

    #[test]
    fn breaking_statements_refuse_protected_and_canary_deploys_only() {
        let sql = "ALTER TABLE accounts DROP COLUMN legacy_code;";
        let none = CheckFlags::default();
        for (protected, canary) in [(true, false), (false, true), (true, true)] {
            let mut check = checked(CheckStatus::Breaking, sql);
            let refusal =
                apply_policy(&mut check, "production", protected, canary, none).unwrap_err();
            assert!(
                refusal.message.contains(ALLOW_BREAKING),
                "{}",
                refusal.message
            );
            assert_eq!(refusal.details.len(), 1);
            assert!(refusal.details[0].contains("drop-column"));
            assert!(refusal.details[0].contains("DROP COLUMN legacy_code"));
            assert!(refusal.details[0].contains("instead: stop reading"));
        }
        let mut check = checked(CheckStatus::Breaking, sql);
        let warnings = apply_policy(&mut check, "staging", false, false, none).unwrap();
        assert!(warnings[0].contains("1 breaking statement"), "{warnings:?}");
        assert!(!check.enforced && check.overridden_by.is_none());
    }

    #[test]
    fn allow_breaking_overrides_and_is_recorded() {
        let mut check = checked(CheckStatus::Breaking, "DROP TABLE accounts;");
        let flags = CheckFlags {
            allow_breaking: true,
            allow_unchecked: false,
        };
        let warnings = apply_policy(&mut check, "production", true, false, flags).unwrap();
        assert!(warnings[0].starts_with(ALLOW_BREAKING), "{warnings:?}");
        assert_eq!(check.overridden_by.as_deref(), Some(ALLOW_BREAKING));
        assert!(check.enforced);
        // It does not cover an unchecked migration.
        let mut check = checked(CheckStatus::NotChecked, "");
        assert!(apply_policy(&mut check, "production", true, false, flags).is_err());
    }

    #[test]
    fn an_unchecked_migration_refuses_protected_environments_only() {
        let none = CheckFlags::default();
        let mut check = checked(CheckStatus::NotChecked, "");
        let refusal = apply_policy(&mut check, "production", true, false, none).unwrap_err();
        assert!(
            refusal
                .message
                .contains("migration not checked (Job/x failed (exit code 1))")
                && refusal.message.contains(ALLOW_UNCHECKED),
            "{}",
            refusal.message
        );
        let mut check = checked(CheckStatus::NotChecked, "");
        let warnings = apply_policy(&mut check, "staging", false, true, none).unwrap();
        assert_eq!(
            warnings,
            vec!["migration not checked: Job/x failed (exit code 1)"]
        );
        let mut check = checked(CheckStatus::NotChecked, "");
        let flags = CheckFlags {
            allow_breaking: false,
            allow_unchecked: true,
        };
        apply_policy(&mut check, "production", true, false, flags).unwrap();
        assert_eq!(check.overridden_by.as_deref(), Some(ALLOW_UNCHECKED));
    }

    #[test]
    fn a_clean_migration_passes_everywhere() {
        let mut check = checked(
            CheckStatus::Passed,
            "ALTER TABLE a ADD COLUMN b INTEGER NULL;",
        );
        assert!(check.findings.is_empty());
        let warnings =
            apply_policy(&mut check, "production", true, true, CheckFlags::default()).unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn every_rule_has_an_id_problem_and_alternative() {
        let ids: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), Rule::ALL.len());
        for rule in Rule::ALL {
            assert!(!rule.problem().is_empty() && !rule.alternative().is_empty());
        }
    }
}
