//! Environments: the embedded `environments/*.yaml` (or a directory that
//! replaces them), parsed into the typed [`Environment`] and checked for the
//! rules a schema alone cannot express.

mod locate;
mod model;
mod validate;

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use locate::{LocateError, Located, Pos};
pub use model::*;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/environments");

/// Where environment files come from.
#[derive(Debug, Clone)]
pub enum EnvironmentSource {
    /// The files compiled into the binary.
    Embedded,
    /// `--environments-dir` / `FINTECHCTL_ENVIRONMENTS_DIR`: replaces the embedded set.
    Directory(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("unknown environment `{name}`{}; known environments: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
    Unknown {
        name: String,
        known: Vec<String>,
        suggestion: Option<String>,
    },
    /// The YAML cannot be read as an environment (syntax, a duplicate key,
    /// a wrong type, an unknown or missing field).
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error(
        "{file}: the file is empty (only blank lines and comments); expected an environment: `name`, `cluster`, `namespace`, `release`, …"
    )]
    Empty { file: String },
    /// Fields that parse but are not valid, every one of them.
    #[error("{}", describe_invalid(file, fields))]
    Invalid {
        file: String,
        fields: Vec<InvalidField>,
    },
    #[error("cannot read environments from `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A field of an environment file that is not valid, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub line: usize,
    pub column: usize,
    /// Its path in the file, e.g. `services.api-gateway.port`.
    pub field: String,
    pub message: String,
}

fn describe_invalid(file: &str, fields: &[InvalidField]) -> String {
    let one = |f: &InvalidField| {
        format!(
            "{file}:{}:{}: `{}`: {}",
            f.line, f.column, f.field, f.message
        )
    };
    match fields {
        [single] => one(single),
        many => {
            let mut text = format!("{file}: {} invalid fields:", many.len());
            for f in many {
                text.push_str("\n  - ");
                text.push_str(&one(f));
            }
            text
        }
    }
}

impl EnvironmentSource {
    /// Names of the environments this source holds, sorted.
    pub fn names(&self) -> Result<Vec<String>, EnvironmentError> {
        let mut names: Vec<String> = match self {
            EnvironmentSource::Embedded => EMBEDDED
                .files()
                .filter_map(|f| yaml_stem(f.path()))
                .collect(),
            EnvironmentSource::Directory(dir) => std::fs::read_dir(dir)
                .map_err(|source| EnvironmentError::Io {
                    path: dir.display().to_string(),
                    source,
                })?
                .filter_map(|entry| entry.ok().and_then(|e| yaml_stem(&e.path())))
                .collect(),
        };
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Loads and validates one environment.
    pub fn load(&self, name: &str) -> Result<Environment, EnvironmentError> {
        let known = self.names()?;
        if !known.iter().any(|k| k == name) {
            let suggestion = known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, name), k))
                .filter(|(score, _)| *score > 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| k.clone());
            return Err(EnvironmentError::Unknown {
                name: name.to_string(),
                known,
                suggestion,
            });
        }
        let (file, text) = self.read(name)?;
        parse(&file, &text, name)
    }

    fn read(&self, name: &str) -> Result<(String, String), EnvironmentError> {
        match self {
            EnvironmentSource::Embedded => {
                for ext in ["yaml", "yml"] {
                    let path = format!("{name}.{ext}");
                    if let Some(file) = EMBEDDED.get_file(&path) {
                        let text = file.contents_utf8().unwrap_or_default().to_string();
                        return Ok((format!("environments/{path}"), text));
                    }
                }
                unreachable!("names() listed `{name}`")
            }
            EnvironmentSource::Directory(dir) => {
                let path = ["yaml", "yml"]
                    .iter()
                    .map(|ext| dir.join(format!("{name}.{ext}")))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| dir.join(format!("{name}.yaml")));
                // Capped, and never a FIFO or a device (which would block or never end).
                let text =
                    crate::files::read_capped(&path, MAX_ENVIRONMENT_BYTES).map_err(|e| {
                        EnvironmentError::Io {
                            path: path.display().to_string(),
                            source: match e {
                                crate::files::ReadError::Io { source, .. } => source,
                                other => std::io::Error::new(
                                    std::io::ErrorKind::InvalidInput,
                                    other.cause(),
                                ),
                            },
                        }
                    })?;
                Ok((path.display().to_string(), text))
            }
        }
    }
}

/// The largest environment file read: they are a few KiB.
const MAX_ENVIRONMENT_BYTES: u64 = 4 << 20;

fn yaml_stem(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if ext != "yaml" && ext != "yml" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_string())
}

/// Parses one environment file and checks it; `file` is used in messages.
///
/// Errors name FILE:LINE:COLUMN, in plain words: the YAML's positions come
/// from our own pass over the parser's events ([`locate`]), which also
/// catches duplicate keys and empty files, and a tab in the indentation is
/// found on its own line before the parser (which reports it elsewhere).
pub fn parse(file: &str, text: &str, expected_name: &str) -> Result<Environment, EnvironmentError> {
    let at = |pos: Pos, message: String| EnvironmentError::Parse {
        file: file.to_string(),
        line: pos.line as u64,
        column: pos.column as u64,
        message,
    };
    if let Some(pos) = tab_in_indentation(text) {
        return Err(at(
            pos,
            "a tab in the indentation; YAML indents with spaces only".into(),
        ));
    }
    let located = Located::parse(text).map_err(|e| match e {
        LocateError::Empty => EnvironmentError::Empty {
            file: file.to_string(),
        },
        LocateError::Syntax { pos, message } => at(pos, plain_syntax_message(&message)),
        LocateError::Duplicate {
            key,
            path,
            pos,
            first,
        } => at(
            pos,
            format!(
                "duplicate key `{key}` (`{path}`), first at line {}; expected each key once",
                first.line
            ),
        ),
    })?;
    let env: Environment = serde_saphyr::from_str_with_options(text, crate::yaml::options())
        .map_err(|e| typed_error(file, &located, &e))?;
    let fields: Vec<InvalidField> = validate::check(&env, expected_name)
        .into_iter()
        .map(|finding| {
            let pos = located.value_position(&finding.field);
            InvalidField {
                line: pos.line,
                column: pos.column,
                field: finding.field,
                message: finding.message,
            }
        })
        .collect();
    if !fields.is_empty() {
        return Err(EnvironmentError::Invalid {
            file: file.to_string(),
            fields,
        });
    }
    Ok(env)
}

/// The first line indented with a tab (outside block scalars, whose content
/// may hold tabs), at the tab.
fn tab_in_indentation(text: &str) -> Option<Pos> {
    // Indentation of the line that opened a `|` or `>` block scalar.
    let mut block_parent: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim_start_matches([' ', '\t']);
        if let Some(parent) = block_parent {
            if content.is_empty() || spaces > parent {
                continue;
            }
            block_parent = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let lead = &line[..line.len() - content.len()];
        if let Some(column) = lead.find('\t') {
            return Some(Pos {
                line: index + 1,
                column: column + 1,
            });
        }
        if opens_block_scalar(content) {
            block_parent = Some(spaces);
        }
    }
    None
}

/// Whether a line's content ends with a block scalar indicator (`key: |`,
/// `- >-`, `key: |2 # comment`).
fn opens_block_scalar(content: &str) -> bool {
    let code = match content.find(" #") {
        Some(i) => &content[..i],
        None => content,
    };
    let last = code.trim_end().rsplit(' ').next().unwrap_or("");
    let mut chars = last.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| c == '-' || c == '+' || c.is_ascii_digit())
}

/// The parser's messages, in the words of someone editing the file.
fn plain_syntax_message(message: &str) -> String {
    let plain = if message.contains("mapping values are not allowed") {
        "unexpected `: `: a key cannot start here (is it indented deeper than the key above, so that it continues that value?), and a value that contains `: ` must be quoted"
    } else if message.contains("simple key expected ':'")
        || message.contains("could not find expected ':'")
    {
        "expected `key: value` (a colon and a space after the key)"
    } else if message.contains("did not find expected key") {
        "this line does not line up with the keys above it: expected the indentation of a key at this level"
    } else if message.contains("did not find expected '-' indicator") {
        "this line does not line up with the list items above it: expected `- ` at their indentation"
    } else if message.contains("did not find expected ',' or '}'") {
        "a `{ … }` mapping is not closed here: expected `,` or `}`"
    } else if message.contains("did not find expected ',' or ']'") {
        "a `[ … ]` list is not closed here: expected `,` or `]`"
    } else if message.contains("trailing content after double-quoted scalar")
        || message.contains("trailing content after single-quoted scalar")
    {
        "text after a closing quote: a quote earlier may be unbalanced, or the value needs quoting as a whole"
    } else if message.contains("found unexpected end of stream") {
        "the file ends inside a quoted value or a `{ … }` / `[ … ]`: a closing quote or bracket is missing"
    } else {
        return message.to_string();
    };
    plain.to_string()
}

/// What a number type accepts, for messages.
fn expected_number(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number from 0",
        "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" | "boolean" => "`true` or `false`",
        _ => return None,
    })
}

/// A deserialization error, with the field path and a plain message.
fn typed_error(file: &str, located: &Located, e: &serde_saphyr::Error) -> EnvironmentError {
    let pos = e
        .location()
        .map(|l| Pos {
            line: l.line() as usize,
            column: l.column() as usize,
        })
        .unwrap_or(Pos { line: 1, column: 1 });
    let message = first_line(&e.to_string());
    let at = |pos: Pos, message: String| EnvironmentError::Parse {
        file: file.to_string(),
        line: pos.line as u64,
        column: pos.column as u64,
        message,
    };
    if message.starts_with("missing field ") {
        // Reported where the deserializer stopped: name the mapping that
        // lacks it, at its key.
        return match located.enclosing_mapping(pos) {
            Some(node) if !node.path.is_empty() => at(
                node.key.unwrap_or(node.start),
                format!("`{}`: {message}", node.path),
            ),
            _ => at(
                Pos { line: 1, column: 1 },
                format!("{message} (at the top level)"),
            ),
        };
    }
    let Some(node) = located.at(pos) else {
        return at(pos, message);
    };
    let path = &node.path;
    let shown = || {
        node.scalar
            .as_deref()
            .unwrap_or("")
            .escape_debug()
            .to_string()
    };
    let kind = if node.is_mapping {
        Some("a mapping")
    } else if node.scalar.is_none() {
        Some("a list")
    } else {
        None
    };
    let text = if let Some(type_name) = message.strip_prefix("invalid ")
        && let Some(expected) = expected_number(type_name)
    {
        match kind {
            Some(kind) => format!("`{path}`: expected {expected}, found {kind}"),
            None => format!("`{path}`: `{}` is not {expected}", shown()),
        }
    } else if message.contains("untagged enum IntOrPercent") {
        format!(
            "`{path}`: `{}` is neither a whole number nor a percentage like `25%`",
            shown()
        )
    } else if message.starts_with("unknown field") {
        return at(node.key.unwrap_or(pos), format!("`{path}`: {message}"));
    } else if let Some(kind) = kind
        && message.starts_with("expected")
    {
        format!("`{path}`: expected a single value, found {kind}")
    } else {
        format!("`{path}`: {message}")
    };
    at(pos, text)
}

/// serde-saphyr renders a snippet after its message; keep the message.
fn first_line(message: &str) -> String {
    let msg = message.lines().next().unwrap_or(message).trim();
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    // serde-saphyr repeats the position we already print as file:line:column.
    match msg.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_string()
        }
        _ => msg.to_string(),
    }
}

/// Container variables the templates set themselves; a service's `env`
/// map may not override them (the template's value would silently win).
pub const RESERVED_ENV: [&str; 19] = [
    "API_KEY",
    "API_URL",
    "ENVIRONMENT",
    "JWT_SECRET",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_PASSWORD",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_USERNAME",
    "ML_SERVICE_URL",
    "POSTGRES_DB",
    "POSTGRES_HOST",
    "POSTGRES_PASSWORD",
    "POSTGRES_PORT",
    "POSTGRES_SSLMODE",
    "POSTGRES_USER",
    "REDIS_HOST",
    "REDIS_PASSWORD",
    "REDIS_PORT",
    "REDIS_TLS",
];

/// RFC 1123 label: what Kubernetes accepts as a namespace or object name
/// (the rule is [`crate::names::dns_label_problem`]).
pub fn is_dns_label(s: &str) -> bool {
    crate::names::dns_label_problem(s).is_none()
}

/// The OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_image_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        for ok in ["1.4.2", "v1.2.0", "latest", "sha-3f2a9c1", "1.4.2_rc-1"] {
            assert!(is_image_tag(ok), "{ok}");
        }
        for bad in ["", "-1", ".x", "1.4.2:x", "a/b", &"x".repeat(129)] {
            assert!(!is_image_tag(bad), "{bad}");
        }
    }

    #[test]
    fn every_embedded_environment_loads() {
        let source = EnvironmentSource::Embedded;
        assert_eq!(source.names().unwrap(), ["local", "production", "staging"]);
        for name in ["local", "staging", "production"] {
            let env = source.load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(env.name, name);
        }
    }

    #[test]
    fn namespaces_are_the_runbooks() {
        let source = EnvironmentSource::Embedded;
        let ns = |n: &str| source.load(n).unwrap().namespace.name;
        assert_eq!(ns("local"), "fintech-ai-local");
        assert_eq!(ns("staging"), "fintech-ai-staging");
        assert_eq!(ns("production"), "fintech-ai-prod");
    }

    #[test]
    fn unknown_environment_suggests_the_closest() {
        let err = EnvironmentSource::Embedded.load("prodution").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean `production`?"), "{msg}");
        assert!(msg.contains("local, production, staging"), "{msg}");
    }

    #[test]
    fn unknown_field_names_file_line_and_column() {
        let text = include_str!("../../environments/local.yaml").replace(
            "  replicas: 1\n  rollingUpdate",
            "  replicaz: 1\n  rollingUpdate",
        );
        let text = text.replacen("    replicas: 1\n", "    replicaz: 1\n", 1);
        let err = parse("environments/local.yaml", &text, "local").unwrap_err();
        match &err {
            EnvironmentError::Parse {
                file,
                line,
                column,
                message,
            } => {
                assert_eq!(file, "environments/local.yaml");
                let expected_line =
                    text.lines().position(|l| l.contains("replicaz")).unwrap() as u64 + 1;
                assert_eq!(*line, expected_line, "{err}");
                assert!(*column > 0);
                assert!(message.contains("replicaz"), "{message}");
            }
            other => panic!("expected a parse error, got {other}"),
        }
    }

    #[test]
    fn provider_requires_its_fields() {
        let text = include_str!("../../environments/production.yaml")
            .replace("  resourceGroup: fintech-ai-prod-rg\n", "");
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(err.to_string().contains("cluster.resourceGroup"), "{err}");
    }

    #[test]
    fn reserved_env_keys_are_refused() {
        let text = include_str!("../../environments/production.yaml").replace(
            "      ML_MODEL_VERSION: v1.2.0\n",
            "      ML_MODEL_VERSION: v1.2.0\n      POSTGRES_HOST: elsewhere\n",
        );
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(
            err.to_string()
                .contains("services.ml-service.env.POSTGRES_HOST"),
            "{err}"
        );
    }

    #[test]
    fn in_cluster_host_must_be_a_service_name() {
        let text = include_str!("../../environments/local.yaml")
            .replace("    host: postgres\n", "    host: postgres.example.com\n");
        let err = parse("l.yaml", &text, "local").unwrap_err();
        assert!(err.to_string().contains("data.postgres.host"), "{err}");
    }

    #[test]
    fn a_managed_store_may_be_an_ip_address_an_ingress_host_may_not() {
        let text = PRODUCTION.replace(
            "host: fintech-ai-postgres.postgres.database.azure.com",
            "host: 10.20.0.4",
        );
        parse("p.yaml", &text, "production").expect("a private endpoint's address");
        let text = PRODUCTION.replace("host: app.fintech-ai-platform.com", "host: 10.20.0.5");
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(err.to_string().contains("ingress.host"), "{err}");
        assert!(err.to_string().contains("not an IP address"), "{err}");
    }

    #[test]
    fn hpa_bounds_are_checked() {
        let text = include_str!("../../environments/production.yaml")
            .replace("minReplicas: 3", "minReplicas: 30");
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(
            err.to_string().contains("services.api-gateway.autoscaling"),
            "{err}"
        );
    }

    const PRODUCTION: &str = include_str!("../../environments/production.yaml");
    const LOCAL: &str = include_str!("../../environments/local.yaml");

    /// The 1-based line of the first line of `text` containing `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line contains {needle:?}"))
            + 1
    }

    /// Parses `base` with `from` replaced once by `to`; the error and the text.
    fn error_after(base: &str, name: &str, from: &str, to: &str) -> (String, String) {
        assert!(base.contains(from), "{from:?} is not in the file");
        let text = base.replacen(from, to, 1);
        let err = parse("env.yaml", &text, name)
            .map(|_| ())
            .expect_err("expected an error")
            .to_string();
        (err, text)
    }

    #[test]
    fn an_invalid_number_names_the_field_the_value_and_the_range() {
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    replicas: 3\n",
            "    replicas: -1\n",
        );
        let line = line_of(&text, "replicas: -1");
        assert_eq!(
            err,
            format!(
                "env.yaml:{line}:15: `services.api-gateway.replicas`: `-1` is not a whole number from 0 to 4294967295"
            )
        );
        assert!(!err.contains("invalid u32"), "{err}");
        let (err, _) = error_after(
            PRODUCTION,
            "production",
            "    port: 8000\n",
            "    port: 80000\n",
        );
        assert!(
            err.ends_with(
                "`services.api-gateway.port`: `80000` is not a whole number from 0 to 65535"
            ),
            "{err}"
        );
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "  protected: true\n",
            "  protected: maybe\n",
        );
        let line = line_of(&text, "protected: maybe");
        assert_eq!(
            err,
            format!("env.yaml:{line}:14: `release.protected`: `maybe` is not `true` or `false`")
        );
        let (err, _) = error_after(
            PRODUCTION,
            "production",
            "    port: 8000\n",
            "    port: [8000]\n",
        );
        assert!(
            err.ends_with("`services.api-gateway.port`: expected a single value, found a list"),
            "{err}"
        );
    }

    #[test]
    fn an_unexpected_colon_is_reported_on_its_own_line() {
        // `replicas:` indented deeper than `port:` continues port's value;
        // serde-saphyr reported "invalid u16" on the line above.
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    replicas: 3\n",
            "      replicas: 3\n",
        );
        let line = line_of(&text, "      replicas: 3");
        assert!(
            err.starts_with(&format!("env.yaml:{line}:15: unexpected `: `")),
            "{err}"
        );
        assert!(!err.contains("mapping values are not allowed"), "{err}");
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    image: fintech-ai/api-gateway\n",
            "    image: fintech-ai/api-gateway: 1.0\n",
        );
        let line = line_of(&text, "api-gateway: 1.0");
        assert!(
            err.starts_with(&format!("env.yaml:{line}:34: unexpected `: `")),
            "{err}"
        );
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    port: 8000\n",
            "   port: 8000\n",
        );
        let line = line_of(&text, "   port: 8000");
        assert!(
            err.starts_with(&format!("env.yaml:{line}:4: this line does not line up")),
            "{err}"
        );
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    port: 8000\n",
            "    port:8000\n",
        );
        let line = line_of(&text, "port:8000");
        assert_eq!(
            err,
            format!("env.yaml:{line}:5: expected `key: value` (a colon and a space after the key)")
        );
    }

    #[test]
    fn a_tab_is_reported_on_its_own_line() {
        for (from, to, needle, column) in [
            ("    port: 8000\n", "\tport: 8000\n", "\tport", 1),
            ("    port: 8000\n", "    \tport: 8000\n", "\tport", 5),
            ("name: production\n", "\tname: production\n", "\tname", 1),
            (
                "    requests: { cpu: 500m, memory: 1Gi }\n",
                "  \t  requests: { cpu: 500m, memory: 1Gi }\n",
                "\t  requests",
                5,
            ),
        ] {
            let (err, text) = error_after(PRODUCTION, "production", from, to);
            let line = line_of(&text, needle);
            assert_eq!(
                err,
                format!(
                    "env.yaml:{line}:{column}: a tab in the indentation; YAML indents with spaces only"
                ),
                "{to:?}"
            );
        }
        // A tab inside a value, or in a block scalar's content, is content.
        let text = PRODUCTION.replace(
            "description: Production on AKS, managed data stores\n",
            "description: |\n  Production\ton AKS\n  \tmanaged data stores\n",
        );
        assert!(parse("env.yaml", &text, "production").is_ok());
    }

    #[test]
    fn a_duplicate_key_names_both_lines() {
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "    replicas: 3\n",
            "    replicas: 3\n    port: 8001\n",
        );
        let first = line_of(&text, "    port: 8000");
        let again = line_of(&text, "    port: 8001");
        assert_eq!(
            err,
            format!(
                "env.yaml:{again}:5: duplicate key `port` (`services.api-gateway.port`), first at line {first}; expected each key once"
            )
        );
        assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
    }

    #[test]
    fn an_empty_file_says_it_is_empty() {
        for text in ["", "\n\n", "# nothing but a comment\n"] {
            let err = parse("env.yaml", text, "local").unwrap_err().to_string();
            assert!(
                err.starts_with("env.yaml: the file is empty (only blank lines and comments)"),
                "{text:?}: {err}"
            );
            assert!(!err.contains("unexpected end of input"), "{err}");
        }
    }

    #[test]
    fn a_missing_field_names_the_mapping_that_lacks_it() {
        let (err, text) = error_after(PRODUCTION, "production", "    port: 8000\n", "");
        let line = line_of(&text, "  api-gateway:");
        assert_eq!(
            err,
            format!("env.yaml:{line}:3: `services.api-gateway`: missing field `port`")
        );
        let (err, text) = error_after(PRODUCTION, "production", "  maxNodesTotal: 20\n", "");
        let line = line_of(&text, "clusterAutoscaler:");
        assert_eq!(
            err,
            format!("env.yaml:{line}:1: `clusterAutoscaler`: missing field `maxNodesTotal`")
        );
    }

    #[test]
    fn a_malformed_quantity_is_reported_at_the_environment_files_line() {
        // It used to surface only as a schema error of the rendered Job.
        let (err, text) = error_after(
            PRODUCTION,
            "production",
            "requests: { cpu: 250m, memory: 512Mi }",
            "requests: { cpu: 250x, memory: 512Mi }",
        );
        let line = line_of(&text, "cpu: 250x");
        assert!(
            err.starts_with(&format!(
                "env.yaml:{line}:24: `services.api-gateway.resources.requests.cpu`: `250x` is not a cpu quantity like `250m` or `2`: unknown suffix"
            )),
            "{err}"
        );
    }

    /// `(base, from, to, needle on the reported line, column, field, message part)`.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        usize,
        &'static str,
        &'static str,
    );

    #[test]
    fn values_the_api_server_rejects_at_apply_time_fail_at_load() {
        let cases: &[Case] = &[
            (
                PRODUCTION,
                "    port: 8000\n",
                "    port: 0\n",
                "port: 0",
                11,
                "services.api-gateway.port",
                "0 is not a port; expected 1 to 65535",
            ),
            (
                LOCAL,
                "    port: 5432\n",
                "    port: 0\n",
                "port: 0",
                11,
                "data.postgres.port",
                "0 is not a port",
            ),
            (
                PRODUCTION,
                "requests: { cpu: 250m,",
                "requests: { cpu: -250m,",
                "cpu: -250m",
                24,
                "services.api-gateway.resources.requests.cpu",
                "`-250m` is negative",
            ),
            (
                PRODUCTION,
                "    requests.memory: 32Gi\n",
                "    requests.memory: -32Gi\n",
                "-32Gi",
                22,
                "quota.hard[\"requests.memory\"]",
                "`-32Gi` is negative",
            ),
            (
                PRODUCTION,
                "    persistentvolumeclaims: \"10\"\n",
                "    persistentvolumeclaims: \"ten\"\n",
                "\"ten\"",
                29,
                "quota.hard.persistentvolumeclaims",
                "`ten` is not a count like `10`: expected a number",
            ),
            (
                PRODUCTION,
                "  defaultRequest: { cpu: 100m,",
                "  defaultRequest: { cpu: -1,",
                "cpu: -1",
                26,
                "limitRange.defaultRequest.cpu",
                "`-1` is negative",
            ),
            (
                PRODUCTION,
                "      minAllowed: { cpu: 100m, memory: 50Mi }",
                "      minAllowed: { cpu: 100m, memory: 50Mx }",
                "50Mx",
                40,
                "services.api-gateway.vpa.minAllowed.memory",
                "`50Mx` is not a quantity like `512Mi` or `2Gi`: unknown suffix",
            ),
            (
                LOCAL,
                "      storage: 5Gi\n",
                "      storage: -5Gi\n",
                "storage: -5Gi",
                16,
                "data.postgres.inCluster.storage",
                "`-5Gi` is negative",
            ),
            (
                PRODUCTION,
                "  host: app.fintech-ai-platform.com\n",
                "  host: \"app.fintech-ai-platform.com\\n\"\n",
                "  host: \"app",
                9,
                "ingress.host",
                "contains a control character",
            ),
            (
                PRODUCTION,
                "  host: app.fintech-ai-platform.com\n",
                "  host: https://app.fintech-ai-platform.com\n",
                "  host: https",
                9,
                "ingress.host",
                "is not a DNS name: expected a host name only",
            ),
            (
                PRODUCTION,
                "  host: app.fintech-ai-platform.com\n",
                "  host: App_Platform.com\n",
                "App_Platform",
                9,
                "ingress.host",
                "is not a DNS name",
            ),
            (
                PRODUCTION,
                "    image: fintech-ai/api-gateway\n",
                "    image: \"fintech-ai/api-gateway\\n\"\n",
                "image: \"fintech-ai/api-gateway",
                12,
                "services.api-gateway.image",
                "contains a control character",
            ),
            (
                PRODUCTION,
                "    image: fintech-ai/api-gateway\n",
                "    image: fintech-ai/api-gateway:1.4.2\n",
                ":1.4.2",
                12,
                "services.api-gateway.image",
                "has a tag; expected the repository only",
            ),
            (
                PRODUCTION,
                "    image: fintech-ai/api-gateway\n",
                "    image: fintech-ai/api-gateway@sha256:0123456789abcdef0123456789abcdef\n",
                "@sha256",
                12,
                "services.api-gateway.image",
                "has a digest; expected the repository only",
            ),
            (
                PRODUCTION,
                "    image: fintech-ai/api-gateway\n",
                "    image: Fintech-AI/api-gateway\n",
                "Fintech-AI",
                12,
                "services.api-gateway.image",
                "is not a valid repository path component",
            ),
            (
                LOCAL,
                "      image: postgres:15.8\n",
                "      image: \"postgres:15.8 \"\n",
                "postgres:15.8 ",
                14,
                "data.postgres.inCluster.image",
                "has leading or trailing spaces",
            ),
            (
                PRODUCTION,
                "  protected: true\n",
                "  protected: true\n  historyLimit: 0\n",
                "historyLimit: 0",
                17,
                "release.historyLimit",
                "0 keeps no revision before the current one",
            ),
            (
                PRODUCTION,
                "  protected: true\n",
                "  protected: true\n  historyLimit: 1\n",
                "historyLimit: 1",
                17,
                "release.historyLimit",
                "expected at least 2",
            ),
            (
                PRODUCTION,
                "    replicas: 3\n",
                "    replicas: 0\n",
                "replicas: 0",
                15,
                "services.api-gateway.replicas",
                "0 with autoscaling",
            ),
            (
                PRODUCTION,
                "rollingUpdate: { maxSurge: 1,",
                "rollingUpdate: { maxSurge: 150%,",
                "150%",
                32,
                "services.api-gateway.rollingUpdate.maxSurge",
                "150% is above 100%",
            ),
            (
                PRODUCTION,
                "rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }",
                "rollingUpdate: { maxSurge: 0, maxUnavailable: 0 }",
                "maxSurge: 0",
                20,
                "services.api-gateway.rollingUpdate",
                "both 0",
            ),
            (
                PRODUCTION,
                "requests: { cpu: 250m, memory: 512Mi }",
                "requests: { cpu: 2, memory: 512Mi }",
                "cpu: 2,",
                24,
                "services.api-gateway.resources.requests.cpu",
                "2 is above limits.cpu (500m)",
            ),
            (
                LOCAL,
                "  defaultVersion: latest\n",
                "  defaultVersion: \"1.0 beta\"\n",
                "1.0 beta",
                19,
                "release.defaultVersion",
                "is not a valid image tag",
            ),
            (
                PRODUCTION,
                "    environment: production\n",
                "    environment: prod uction\n",
                "prod uction",
                18,
                "namespace.labels.environment",
                "is not a valid label value",
            ),
        ];
        let mut wrong = Vec::new();
        for &(base, from, to, needle, column, field, message) in cases {
            let name = if base == LOCAL { "local" } else { "production" };
            let (err, text) = error_after(base, name, from, to);
            let line = line_of(&text, needle);
            let prefix = format!("env.yaml:{line}:{column}: `{field}`: ");
            if !err.starts_with(&prefix) || !err.contains(message) {
                wrong.push(format!(
                    "{to:?}: expected {prefix:?}…{message:?}, got {err}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let text = PRODUCTION
            .replacen("    port: 8000\n", "    port: 0\n", 1)
            .replacen("    replicas: 3\n", "    replicas: 0\n", 1);
        let err = parse("env.yaml", &text, "production").unwrap_err();
        match &err {
            EnvironmentError::Invalid { fields, .. } => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(
                    names,
                    ["services.api-gateway.port", "services.api-gateway.replicas"]
                );
            }
            other => panic!("expected invalid fields, got {other}"),
        }
        let shown = err.to_string();
        assert!(
            shown.starts_with("env.yaml: 2 invalid fields:\n  - env.yaml:"),
            "{shown}"
        );
    }

    #[test]
    fn a_canary_block_is_checked_field_by_field() {
        let text = PRODUCTION.replacen(
            "    steps: [10, 50]\n    interval: 2m\n    failureLimit: 3\n",
            "    steps: [50, 10]\n    interval: 2h\n    failureLimit: 0\n",
            1,
        );
        assert_ne!(text, PRODUCTION, "production's canary block moved");
        let err = parse("env.yaml", &text, "production").unwrap_err();
        let EnvironmentError::Invalid { fields, .. } = &err else {
            panic!("expected invalid fields, got {err}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "release.canary.steps",
                "release.canary.interval",
                "release.canary.failureLimit"
            ]
        );
        let shown = err.to_string();
        assert!(shown.contains("strictly ascending"), "{shown}");
        assert!(shown.contains("from 1s to 1h"), "{shown}");
        // Unknown fields are refused as everywhere.
        let text = PRODUCTION.replacen("    failureLimit: 3\n", "    failureLimt: 3\n", 1);
        let err = parse("env.yaml", &text, "production")
            .unwrap_err()
            .to_string();
        assert!(err.contains("failureLimt"), "{err}");
        // So are unknown thresholds: a misspelt limit must not fall back
        // to its default in silence.
        let text = PRODUCTION.replacen("      maxErrorRate: 0.1\n", "      maxErorRate: 0.1\n", 1);
        assert_ne!(text, PRODUCTION, "production's analysis block moved");
        let err = parse("env.yaml", &text, "production")
            .unwrap_err()
            .to_string();
        assert!(err.contains("maxErorRate"), "{err}");
        // Without a strategy a deploy is rolling.
        let text = PRODUCTION.replacen("  strategy: canary\n", "", 1);
        let env = parse("env.yaml", &text, "production").unwrap();
        assert_eq!(env.release.strategy, Strategy::Rolling);
        let env = parse("env.yaml", PRODUCTION, "production").unwrap();
        assert_eq!(env.release.strategy, Strategy::Canary);
        assert_eq!(env.release.canary.steps, [10, 50]);
    }
}
