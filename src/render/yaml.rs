//! Rendered documents from YAML to JSON values, quickly.
//!
//! The rendered manifests use a small part of YAML: mappings, sequences,
//! quoted and block strings, and plain scalars that are words, decimal
//! integers, `true`/`false` or null. For those, the parser's events are
//! turned into values directly, which takes about a third of the time
//! serde-saphyr's general deserializer needs (`render` parses ~40 documents
//! on every run). Anything outside that subset — a tag, an anchor or alias,
//! a merge or duplicate key, a non-string key, a float, a YAML 1.1 word such
//! as `yes`, a number with a sign, radix or leading zero — makes the whole
//! document go through serde-saphyr instead, so the result is always what
//! serde-saphyr gives (a test compares both on every rendered document).

use std::borrow::Cow;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle};

/// Parses one rendered document.
pub fn parse_document(text: &str) -> Result<Value, serde_saphyr::Error> {
    match fast(text) {
        Some(value) => Ok(value),
        None => serde_saphyr::from_str_with_options(text, crate::yaml::options()),
    }
}

/// The document as a value, or `None` when it leaves the plain subset (or
/// is not valid YAML: serde-saphyr then reports the error).
fn fast(text: &str) -> Option<Value> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    // Open collections, each with the key read and waiting for its value.
    let mut stack: Vec<(Value, Option<String>)> = Vec::new();
    let mut root: Option<Value> = None;
    let mut documents = 0;
    for item in Parser::new_from_str_with_options(text, options) {
        let (event, _) = item.ok()?;
        let value = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                if let Some((Value::Object(_), key @ None)) = stack.last_mut() {
                    *key = Some(plain_key(text, style)?);
                    continue;
                }
                scalar(text, style)?
            }
            Event::SequenceStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                stack.push((Value::Array(Vec::new()), None));
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                stack.push((Value::Object(Map::new()), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, pending) = stack.pop()?;
                if pending.is_some() {
                    return None;
                }
                value
            }
            _ => return None,
        };
        match stack.last_mut() {
            None if root.is_none() => root = Some(value),
            None => return None,
            Some((Value::Array(items), _)) => items.push(value),
            Some((Value::Object(map), key)) => {
                // A collection as a key has no pending key: not ours.
                let key = key.take()?;
                if map.contains_key(&key) {
                    return None;
                }
                map.insert(key, value);
            }
            Some(_) => return None,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// A mapping key as serde-saphyr gives it to a JSON map: its text, for
/// keys that cannot mean anything else.
fn plain_key(text: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    // Keys are read as strings (`y:` is the key "y"); null-like ones and
    // the merge key are serde-saphyr's.
    if style == ScalarStyle::Plain
        && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL" | "<<")
    {
        return None;
    }
    Some(text.into_owned())
}

/// Words YAML reads as something other than a string (or that serde-saphyr
/// treats specially), in any case.
fn special_word(text: &str) -> bool {
    const WORDS: [&str; 15] = [
        "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "inf", "infinity", "nan",
        ".inf", ".nan",
    ];
    WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
}

/// Whether a plain scalar that starts like a number might be read as one
/// (an integer in any radix, a float, a sexagesimal number or a date):
/// `512Mi`, `250m`, `-c` or a hex digest cannot.
fn could_be_a_number(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']);
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    if text
        .bytes()
        .any(|b| !(b.is_ascii_hexdigit() || b"xXoO._+-:".contains(&b)))
    {
        return false;
    }
    let radix = unsigned.len() > 1
        && unsigned.starts_with('0')
        && matches!(
            unsigned.as_bytes()[1],
            b'x' | b'X' | b'o' | b'O' | b'b' | b'B'
        );
    // Without a radix prefix, only `e`/`E` (an exponent) is a letter a number has.
    radix
        || !text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E'))
}

fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::String(text.into_owned()));
    }
    match text.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        // Decimal integers only; anything else number-like is serde-saphyr's.
        let decimal = |digits: &str| {
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
        };
        return match text.strip_prefix('-') {
            Some(digits) if decimal(digits) => {
                let n: i64 = text.parse().ok()?;
                Some(Value::Number(Number::from(n)))
            }
            None if decimal(&text) => {
                let n: u64 = text.parse().ok()?;
                Some(Value::Number(Number::from(n)))
            }
            _ if !could_be_a_number(&text) && !special_word(&text) => {
                Some(Value::String(text.into_owned()))
            }
            _ => None,
        };
    }
    if special_word(&text) || text.contains(['\n', '\t']) {
        return None;
    }
    Some(Value::String(text.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saphyr(text: &str) -> Value {
        serde_saphyr::from_str_with_options(text, crate::yaml::options()).unwrap()
    }

    #[test]
    fn the_fast_path_agrees_with_serde_saphyr_on_every_rendered_object() {
        use crate::environment::EnvironmentSource;
        use crate::release::{Release, ReleaseRequest};
        let mut documents = 0;
        for env in ["local", "staging", "production"] {
            let release = Release::resolve(
                &ReleaseRequest {
                    source: EnvironmentSource::Embedded,
                    environment: env.into(),
                    version: Some("1.4.2".into()),
                    env_file: None,
                    tls: Default::default(),
                },
                |_| Some("test-only-value".into()),
            )
            .unwrap();
            for manifest in &release.manifests {
                let text = serde_saphyr::to_string(&manifest.object).unwrap();
                let fast = fast(&text);
                assert!(
                    fast.is_some(),
                    "{env}: {} left the fast path:\n{text}",
                    manifest.display()
                );
                assert_eq!(
                    fast.unwrap(),
                    saphyr(&text),
                    "{env}: {}",
                    manifest.display()
                );
                assert_eq!(saphyr(&text), manifest.object);
                documents += 1;
            }
        }
        assert!(documents > 60, "{documents}");
    }

    #[test]
    fn scalars_outside_the_subset_go_to_serde_saphyr_with_the_same_result() {
        let text = "\
a: plain words
b: 8000
c: -3
d: 0
e: true
f: null
g: ~
h: \"quoted: 1\"
i: '007'
j: |
  block
  text
k: [1, two, {x: z}]
l:
m: TRUE
";
        assert_eq!(fast(text).unwrap(), saphyr(text));
        for odd in [
            "a: yes\n",
            "a: On\n",
            "a: 0x1F\n",
            "a: 007\n",
            "a: +5\n",
            "a: 1.5\n",
            "a: 1e3\n",
            "a: .inf\n",
            "a: nan\n",
            "a: !!str 5\n",
            "a: &x 1\nb: *x\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "? [a]\n: 1\n",
            "yes: 1\n",
            "a: 99999999999999999999\n",
            "- 1\n- 2\n",
            "a: 512Mi\nb: 250m\nc: 2k\nd: 1:30\ne: 2001-12-14\nf: 1_000\ng: 0o17\nh: 1Gi\n",
            "- -c\n- -d\n- 175a333263b085c8\n- 0xff\n- 0b11\n- 1e5\n- 12e\n- -\n",
            "y: 1\non: 2\nTrue: 3\n",
            "a: {b: [c, {d: -0}]}\n",
            "a: 512Mi\nb: 250m\nc: 2k\nd: 1:30\ne: 2001-12-14\nf: 1_000\ng: 0o17\nh: 1Gi\n",
        ] {
            let expected =
                serde_saphyr::from_str_with_options::<Value>(odd, crate::yaml::options());
            match (fast(odd), expected) {
                (Some(fast), Ok(expected)) => assert_eq!(fast, expected, "{odd:?}"),
                (None, _) => {}
                (Some(fast), Err(e)) => panic!("{odd:?}: fast gave {fast}, serde-saphyr {e}"),
            }
            // The public entry point always agrees with serde-saphyr.
            let ours = parse_document(odd).map_err(|e| e.to_string());
            let theirs = serde_saphyr::from_str_with_options::<Value>(odd, crate::yaml::options())
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{odd:?}");
        }
    }
}
