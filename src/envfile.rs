//! The `--env-file` format: the runbook's `.env.production`, read as data.
//!
//! This is a secrets file, not a shell script, so values are taken
//! literally: nothing is expanded (`p@ss$w0rd` stays `p@ss$w0rd`), and no
//! error ever quotes a value (or any text of a line it cannot parse; key
//! names are quoted only once they are known to be valid names).
//!
//! The format, line by line:
//! - `KEY=value` or `export KEY=value`; `KEY` is letters, digits and `_`,
//!   not starting with a digit. Spaces around `=` are allowed.
//! - Blank lines and lines starting with `#` (after spaces) are ignored.
//! - An unquoted value runs to the end of the line, taken literally, with
//!   surrounding spaces removed. A ` #` (a space or tab, then `#`) starts a
//!   comment; a `#` right after other text is part of the value
//!   (`pa#ss` stays `pa#ss`).
//! - `'single quotes'`: everything up to the next `'` is the value,
//!   literally; no escapes. The value may span lines.
//! - `"double quotes"`: the escapes `\\`, `\"`, `\n`, `\t`, `\r` and `\$`
//!   (`$` on its own is literal too); any other `\` is an error. The value
//!   may span lines (the line breaks are kept).
//! - After a closing quote, only spaces and a `# comment` may follow.
//! - A key set twice is an error naming both lines: which of two values was
//!   meant cannot be guessed.
//! - A UTF-8 byte order mark at the start and CRLF line ends are accepted.
//! - The file is at most [`MAX_SIZE`] bytes.
//!
//! Every error is `FILE:LINE: what is wrong; what was expected`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The largest env file read (1 MiB): a few dozen `KEY=value` lines are a
/// few KiB, and `--env-file /dev/zero` must not eat memory.
pub const MAX_SIZE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read --env-file `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--env-file `{path}` is larger than {} MiB; expected a file of `KEY=value` lines",
        MAX_SIZE >> 20
    )]
    TooLarge { path: String },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
}

/// Reads and parses an env file (at most [`MAX_SIZE`] bytes).
pub fn read(path: &Path) -> Result<BTreeMap<String, String>, EnvFileError> {
    let shown = path.display().to_string();
    let io = |source| EnvFileError::Io {
        path: shown.clone(),
        source,
    };
    let file = crate::files::open_regular(path).map_err(|e| match e {
        crate::files::ReadError::Io { source, .. } => io(source),
        other => io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            other.cause(),
        )),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(EnvFileError::TooLarge { path: shown });
    }
    parse_bytes(&shown, &bytes)
}

/// Parses env file contents; `path` is only used in messages.
pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<BTreeMap<String, String>, EnvFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        EnvFileError::Syntax {
            path: path.to_string(),
            line,
            message: "is not UTF-8 text; expected a UTF-8 file of `KEY=value` lines".into(),
        }
    })?;
    parse(path, text)
}

/// Parses env file text; `path` is only used in messages.
pub fn parse(path: &str, text: &str) -> Result<BTreeMap<String, String>, EnvFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Lines::new(text);
    let mut values = BTreeMap::new();
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    while let Some((number, line)) = lines.next() {
        let syntax = |message: String| EnvFileError::Syntax {
            path: path.to_string(),
            line: number,
            message,
        };
        let Some((key, value)) = parse_line(line, &mut lines).map_err(syntax)? else {
            continue;
        };
        if let Some(first) = first_seen.get(&key) {
            return Err(syntax(format!(
                "`{key}` is set again (first at line {first}); expected each key once"
            )));
        }
        first_seen.insert(key.clone(), number);
        values.insert(key, value);
    }
    Ok(values)
}

/// Lines with their 1-based numbers, CRLF or LF ended.
struct Lines<'a> {
    rest: &'a str,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            rest: text,
            number: 0,
        }
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        self.number += 1;
        let (line, rest) = match self.rest.find('\n') {
            Some(end) => (&self.rest[..end], &self.rest[end + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        Some((self.number, line.strip_suffix('\r').unwrap_or(line)))
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const EXPECTED_LINE: &str = "expected `KEY=value` or `export KEY=value`";

/// One assignment, or `None` for a blank or comment line. A quoted value
/// that spans lines takes them from `lines`. Messages never quote the line.
fn parse_line(line: &str, lines: &mut Lines<'_>) -> Result<Option<(String, String)>, String> {
    let trimmed = line.trim_start_matches(is_blank);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let assignment = match trimmed.strip_prefix("export") {
        Some(rest) if rest.starts_with(is_blank) => rest.trim_start_matches(is_blank),
        _ => trimmed,
    };
    let Some((key, after)) = assignment.split_once('=') else {
        return Err(format!("no `=` on this line; {EXPECTED_LINE}"));
    };
    let key = key.trim_end_matches(is_blank);
    if key.is_empty() {
        return Err(format!("nothing before `=`; {EXPECTED_LINE}"));
    }
    if !is_key(key) {
        return Err(format!(
            "the name before `=` is not a valid variable name; expected letters, digits and `_`, not starting with a digit ({EXPECTED_LINE})"
        ));
    }
    let raw = after.trim_start_matches(is_blank);
    let value = match raw.chars().next() {
        Some('\'') => quoted(key, &raw[1..], '\'', lines)?,
        Some('"') => quoted(key, &raw[1..], '"', lines)?,
        _ => unquoted(after),
    };
    Ok(Some((key.to_string(), value)))
}

/// An unquoted value (all of the line after `=`): literal, up to a ` #`
/// comment, surrounding spaces removed.
fn unquoted(after: &str) -> String {
    let mut end = after.len();
    let mut previous_blank = false;
    for (i, c) in after.char_indices() {
        if c == '#' && previous_blank {
            end = i;
            break;
        }
        previous_blank = is_blank(c);
    }
    after[..end].trim_matches(is_blank).to_string()
}

/// A quoted value starting after its opening quote, possibly continued on
/// the following lines.
fn quoted(key: &str, first: &str, quote: char, lines: &mut Lines<'_>) -> Result<String, String> {
    let (style, close) = if quote == '"' {
        ("double-quoted", "`\"`")
    } else {
        ("single-quoted", "`'`")
    };
    let mut value = String::new();
    let mut segment = first;
    loop {
        let mut chars = segment.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                let tail = segment[i + 1..].trim_start_matches(is_blank);
                if !tail.is_empty() && !tail.starts_with('#') {
                    return Err(format!(
                        "text after the closing quote of `{key}`'s {style} value; expected the end of the line or a `# comment`"
                    ));
                }
                return Ok(value);
            }
            if c == '\\' && quote == '"' {
                let escaped = match chars.next().map(|(_, c)| c) {
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('$') => '$',
                    _ => {
                        return Err(format!(
                            "unsupported escape in `{key}`'s double-quoted value; expected one of \\\\ \\\" \\n \\t \\r \\$ (or single quotes for a literal value)"
                        ));
                    }
                };
                value.push(escaped);
            } else {
                value.push(c);
            }
        }
        // No closing quote on this line: the value continues on the next.
        match lines.next() {
            Some((_, next)) => {
                value.push('\n');
                segment = next;
            }
            None => {
                return Err(format!(
                    "`{key}`'s {style} value is never closed; expected a closing {close}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> BTreeMap<String, String> {
        parse(".env.test", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn value(text: &str, key: &str) -> String {
        ok(text)
            .get(key)
            .unwrap_or_else(|| panic!("{key} not set"))
            .clone()
    }

    fn err(text: &str) -> String {
        parse(".env.test", text).unwrap_err().to_string()
    }

    #[test]
    fn the_three_corruptions_of_the_issue_are_gone() {
        assert_eq!(value("API_KEY=p@ss$w0rd\n", "API_KEY"), "p@ss$w0rd");
        assert_eq!(value("JWT_SECRET=jwt$HOME\n", "JWT_SECRET"), "jwt$HOME");
        assert_eq!(value("K=kf${UNDEF}tail\n", "K"), "kf${UNDEF}tail");
        assert_eq!(value("K=\"kf${UNDEF}tail\"\n", "K"), "kf${UNDEF}tail");
        assert_eq!(value("K='$HOME'\n", "K"), "$HOME");
    }

    #[test]
    fn export_comments_and_blank_lines() {
        let values =
            ok("# a comment\n\n   \n  # indented comment\nexport A=1\nB=2\n\texport\tC=3\n");
        assert_eq!(values.len(), 3);
        assert_eq!(values["A"], "1");
        assert_eq!(values["B"], "2");
        assert_eq!(values["C"], "3");
        // `export` is only a keyword when followed by a blank.
        assert_eq!(value("exportX=1\n", "exportX"), "1");
        assert_eq!(value("export=1\n", "export"), "1");
    }

    #[test]
    fn unquoted_values_are_literal_and_trimmed() {
        assert_eq!(value("K=  spaced value  \n", "K"), "spaced value");
        assert_eq!(value("K = v\n", "K"), "v");
        assert_eq!(value("K=v # a comment\n", "K"), "v");
        assert_eq!(value("K=v\t# a comment\n", "K"), "v");
        assert_eq!(value("K=pa#ss\n", "K"), "pa#ss");
        assert_eq!(value("K=#not-a-comment\n", "K"), "#not-a-comment");
        assert_eq!(value("K=a\"b'c\\n\n", "K"), "a\"b'c\\n");
        assert_eq!(value("K=\n", "K"), "");
        assert_eq!(value("K= # only a comment\n", "K"), "");
        assert_eq!(value("K=a=b=c", "K"), "a=b=c");
    }

    #[test]
    fn single_quotes_are_fully_literal() {
        assert_eq!(value("K='a b \\n \\\" $x #y'\n", "K"), "a b \\n \\\" $x #y");
        assert_eq!(value("K='v' # comment\n", "K"), "v");
        assert_eq!(value("K=''\n", "K"), "");
    }

    #[test]
    fn double_quotes_take_their_escapes() {
        assert_eq!(
            value(r#"K="a\\b\"c\nd\te\rf\$g $h #i""#, "K"),
            "a\\b\"c\nd\te\rf$g $h #i"
        );
        assert_eq!(value("K=\"from file redis\"\n", "K"), "from file redis");
        assert_eq!(value("K=\"v\"   # comment\n", "K"), "v");
    }

    #[test]
    fn quoted_values_may_span_lines() {
        let text = "A=1\nTLS=\"-----BEGIN X-----\nabc\n-----END X-----\"\nB='x\ny'\nC=3\n";
        let values = ok(text);
        assert_eq!(values["TLS"], "-----BEGIN X-----\nabc\n-----END X-----");
        assert_eq!(values["B"], "x\ny");
        assert_eq!(values["C"], "3");
        // Line numbers after a multi-line value stay right.
        let err = err("A=\"x\ny\"\nB=1\nB=2\n");
        assert!(
            err.starts_with(".env.test:4: `B` is set again (first at line 3)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_escapes_and_text_after_a_quote_are_errors() {
        let e = err("A=1\nK=\"s3cr3t\\qvalue\"\n");
        assert!(
            e.starts_with(".env.test:2: unsupported escape in `K`"),
            "{e}"
        );
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = err("K=\"s3cr3t\"tail\n");
        assert!(
            e.starts_with(".env.test:1: text after the closing quote of `K`"),
            "{e}"
        );
        assert!(!e.contains("s3cr3t") && !e.contains("tail"), "{e}");
    }

    #[test]
    fn unterminated_quotes_name_the_line_they_open_on() {
        let e = err("A=1\n\nK='unterminated-s3cr3t\nB=2\n");
        assert_eq!(
            e,
            ".env.test:3: `K`'s single-quoted value is never closed; expected a closing `'`"
        );
        let e = err("K=\"unterminated-s3cr3t");
        assert!(
            e.starts_with(".env.test:1: `K`'s double-quoted value is never closed"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_keys_are_an_error_naming_both_lines() {
        let e = err("export API_KEY=one\n# c\nAPI_KEY=two\n");
        assert_eq!(
            e,
            ".env.test:3: `API_KEY` is set again (first at line 1); expected each key once"
        );
    }

    #[test]
    fn invalid_lines_never_quote_their_text() {
        for (text, expected) in [
            (
                "s3cr3t-alone-on-a-line\n",
                ".env.test:1: no `=` on this line",
            ),
            ("=s3cr3t\n", ".env.test:1: nothing before `=`"),
            (
                "1KEY=s3cr3t\n",
                ".env.test:1: the name before `=` is not a valid",
            ),
            (
                "MY-KEY=s3cr3t\n",
                ".env.test:1: the name before `=` is not a valid",
            ),
            ("A=1\nexport s3cr3t\n", ".env.test:2: no `=` on this line"),
            (
                "s3c r3t=x\n",
                ".env.test:1: the name before `=` is not a valid",
            ),
        ] {
            let e = err(text);
            assert!(e.starts_with(expected), "{text:?}: {e}");
            assert!(!e.contains("s3c"), "{text:?}: {e}");
        }
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let values = ok("\u{feff}export A=1\r\nB=\"two\"\r\n# c\r\nC='x'  \r\nD=v # c\r\n");
        assert_eq!(values["A"], "1");
        assert_eq!(values["B"], "two");
        assert_eq!(values["C"], "x");
        assert_eq!(values["D"], "v");
        let e = err("\u{feff}A=1\r\nbad line\r\n");
        assert!(e.starts_with(".env.test:2:"), "{e}");
    }

    #[test]
    fn non_utf8_is_an_error_with_its_line() {
        let e = parse_bytes(".env.test", b"A=1\nB=\xff\xfe\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(".env.test:2: is not UTF-8 text"), "{e}");
    }

    #[test]
    fn files_are_capped_and_read_through_take() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &vec![b'#'; MAX_SIZE as usize + 1]).unwrap();
        let e = read(file.path()).unwrap_err();
        assert!(matches!(e, EnvFileError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        // /dev/zero is endless: refused as not a regular file, unread.
        if Path::new("/dev/zero").exists() {
            let e = read(Path::new("/dev/zero")).unwrap_err();
            assert!(
                e.to_string()
                    .contains("a character device, not a regular file"),
                "{e}"
            );
        }
        let e = read(Path::new("/nonexistent/.env"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/.env"), "{e}");
    }
}
