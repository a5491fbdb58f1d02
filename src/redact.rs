//! The one module that decides how a secret value is hidden. Every output
//! path and every stored file goes through it:
//!
//! - **Secret objects** ([`mask_secret`]): `data`/`stringData` values become
//!   the [`REDACTED`] marker (render, debug bundles) or a keyed digest
//!   (release records, `diff`, the plan), and the last-applied annotation (a
//!   copy of the object with its values) is dropped.
//! - **Free text** ([`Redactor`]): log lines, failure cards, error messages,
//!   reports and bundles are scrubbed of every secret value fintechctl
//!   holds, in its plain, JSON-escaped and base64 forms. The printer scrubs
//!   everything it writes, so a line that forgot to is still safe.
//! - **Digests** ([`DigestKey`]): HMAC-SHA256 with a random key per
//!   environment, kept in the cluster (`cluster::digest_key`). A digest says
//!   "changed" and nothing else: a guessed weak password cannot be checked
//!   against it offline, as it could against a bare SHA-256.
//! - **Environment variables** of pod specs whose names look secret
//!   ([`looks_secret`]) lose their literal values in bundles.

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use serde_json::Value;

use crate::secrets::SecretValues;

/// What a secret value is shown as.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not scrubbed from free text: a two-letter
/// value would mask half of every log line. (Deploy warns about them.)
pub const MIN_SCRUB_LEN: usize = 4;

/// The key of an environment's digests (32 random bytes).
#[derive(Clone)]
pub struct DigestKey {
    key: ring::hmac::Key,
    bytes: [u8; 32],
}

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

impl DigestKey {
    /// A new random key.
    pub fn generate() -> Self {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .expect("the operating system's random number generator works");
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes),
            bytes,
        }
    }

    /// The key from stored bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self::from_bytes)
    }

    /// The raw key, for storing it (in a cluster Secret).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// `hmac:<32 hex digits>` of `value`: 128 bits of HMAC-SHA256.
    pub fn digest(&self, value: &[u8]) -> String {
        let tag = ring::hmac::sign(&self.key, value);
        let hex: String = tag.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("hmac:{hex}")
    }

    /// The digest of several named values at once (a Secret's keys and
    /// values, in order), for the pod-template annotation.
    pub fn digest_pairs<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
        let mut context = ring::hmac::Context::with_key(&self.key);
        for (k, v) in pairs {
            context.update(k.as_bytes());
            context.update(&[0]);
            context.update(v);
            context.update(&[0]);
        }
        let tag = context.sign();
        tag.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// How a Secret object's values are shown.
#[derive(Debug, Clone, Copy)]
pub enum SecretMask<'a> {
    /// Every value becomes [`REDACTED`] (render, bundles).
    Marker,
    /// Every value becomes `<redacted hmac:…>` of its decoded content, so a
    /// change shows and the value does not (diff, plan, release records).
    Digest(&'a DigestKey),
}

/// Whether `object` is a core v1 Secret.
pub fn is_secret(object: &Value) -> bool {
    object["kind"] == "Secret" && object["apiVersion"] == "v1"
}

/// Masks a v1 Secret's `data` and `stringData` values and drops the
/// last-applied annotation (a copy of the values). `data` is digested after
/// decoding, so a value compares equal whether sent as `data` or `stringData`.
/// Anything that is not a Secret is left alone.
pub fn mask_secret(object: &mut Value, mask: SecretMask<'_>) {
    if !is_secret(object) {
        return;
    }
    let shown = |plain: &[u8]| match mask {
        SecretMask::Marker => Value::String(REDACTED.to_string()),
        SecretMask::Digest(key) => Value::String(format!("<redacted {}>", key.digest(plain))),
    };
    let engine = &base64::engine::general_purpose::STANDARD;
    if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
        for value in data.values_mut() {
            let encoded = value.as_str().unwrap_or_default();
            // Not base64 (the API server would refuse it): digest it as it stands.
            *value = match engine.decode(encoded) {
                Ok(decoded) => shown(&decoded),
                Err(_) => shown(encoded.as_bytes()),
            };
        }
    }
    if let Some(data) = object.get_mut("stringData").and_then(Value::as_object_mut) {
        for value in data.values_mut() {
            *value = shown(value.as_str().unwrap_or_default().as_bytes());
        }
    }
    drop_last_applied(object);
}

fn drop_last_applied(object: &mut Value) {
    if let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// For files meant for other people (debug bundles): Secrets masked with the
/// marker, literal env values whose names look secret masked, last-applied
/// annotations and managedFields dropped — on nested objects too (pod
/// templates, Lists).
pub fn mask_for_sharing(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("managedFields");
                if let Some(annotations) =
                    meta.get_mut("annotations").and_then(Value::as_object_mut)
                {
                    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                }
            }
            if map.get("kind").and_then(Value::as_str) == Some("Secret") {
                for field in ["data", "stringData"] {
                    if let Some(data) = map.get_mut(field).and_then(Value::as_object_mut) {
                        for v in data.values_mut() {
                            *v = Value::String(REDACTED.to_string());
                        }
                    }
                }
            }
            if let Some(env) = map.get_mut("env").and_then(Value::as_array_mut) {
                for var in env.iter_mut().filter_map(Value::as_object_mut) {
                    let secret = var
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(looks_secret);
                    if secret && var.get("value").is_some_and(|v| !v.is_null()) {
                        var.insert("value".into(), Value::String(REDACTED.to_string()));
                    }
                }
            }
            for v in map.values_mut() {
                mask_for_sharing(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_for_sharing),
        _ => {}
    }
}

/// Whether an environment variable's name suggests its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name.ends_with("KEY")
        || name.ends_with("DSN")
        || name.ends_with("_URL") && name.contains("DATABASE")
}

/// Scrubs known secret values out of free text. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Needles>,
}

#[derive(Default)]
struct Needles {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.inner.values.len())
    }
}

impl Redactor {
    /// A redactor for `values` (their encoded forms are added).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Self::default();
        r.extend(values);
        r
    }

    /// The platform secrets and the TLS pair that are set.
    pub fn from_secrets(secrets: &SecretValues) -> Self {
        Self::new(secrets.exposed_values())
    }

    /// Adds values (and their encoded forms).
    pub fn extend<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        let mut all: Vec<String> = self.inner.values.clone();
        for value in values {
            // Multi-line values (PEM) are also scrubbed line by line: logs
            // are split into lines before they are shown.
            for candidate in std::iter::once(value).chain(value.lines()) {
                let candidate = candidate.trim();
                if candidate.len() < MIN_SCRUB_LEN {
                    continue;
                }
                for form in encoded_forms(candidate) {
                    if form.len() >= MIN_SCRUB_LEN && !all.contains(&form) {
                        all.push(form);
                    }
                }
            }
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&all)
            .ok();
        self.inner = Arc::new(Needles {
            values: all,
            matcher,
        });
    }

    /// Learns the values of a Secret object read from the cluster (its
    /// `data`, decoded, and `stringData`), so they are scrubbed as well.
    pub fn learn_secret(&mut self, secret: &Value) {
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut found: Vec<String> = Vec::new();
        if let Some(data) = secret["data"].as_object() {
            for v in data.values().filter_map(Value::as_str) {
                if let Ok(bytes) = engine.decode(v)
                    && let Ok(text) = String::from_utf8(bytes)
                {
                    found.push(text);
                }
            }
        }
        if let Some(data) = secret["stringData"].as_object() {
            found.extend(data.values().filter_map(Value::as_str).map(str::to_string));
        }
        self.extend(found.iter().map(String::as_str));
    }

    pub fn is_empty(&self) -> bool {
        self.inner.values.is_empty()
    }

    /// `text` with every known value replaced by [`REDACTED`].
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.inner.matcher {
            Some(m) if m.is_match(text) => {
                let replacements = vec![REDACTED; self.inner.values.len()];
                Cow::Owned(m.replace_all(text, &replacements))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Scrubs every string in a JSON value (keys included).
    pub fn scrub_json(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => {
                let dirty: Vec<String> = map
                    .keys()
                    .filter(|k| matches!(self.scrub(k), Cow::Owned(_)))
                    .cloned()
                    .collect();
                for key in dirty {
                    if let Some(v) = map.remove(&key) {
                        map.insert(self.scrub(&key).into_owned(), v);
                    }
                }
                map.values_mut().for_each(|v| self.scrub_json(v));
            }
            _ => {}
        }
    }

    /// Scrubs each line in place.
    pub fn scrub_lines(&self, lines: &mut [String]) {
        for line in lines {
            if let Cow::Owned(clean) = self.scrub(line) {
                *line = clean;
            }
        }
    }

    /// Any serializable value, scrubbed, as JSON.
    pub fn to_scrubbed_json<T: serde::Serialize>(&self, value: &T) -> serde_json::Result<Value> {
        let mut json = serde_json::to_value(value)?;
        self.scrub_json(&mut json);
        Ok(json)
    }
}

/// The forms a value takes in text: as is, JSON-escaped, and base64
/// (standard and URL-safe) at each of the three byte alignments it can have
/// inside a longer encoded string — only the characters that depend on the
/// value alone, so the value is found wherever it sits.
fn encoded_forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_string()];
    let escaped = Value::String(value.to_string()).to_string();
    let escaped = escaped[1..escaped.len() - 1].to_string();
    if escaped != value {
        forms.push(escaped);
    }
    let bytes = value.as_bytes();
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3usize {
            let mut padded = vec![0u8; offset];
            padded.extend_from_slice(bytes);
            let encoded = engine.encode(&padded);
            // Characters fully determined by the value: skip those mixing in
            // the padding before it, and the last partial group after it.
            let skip = (offset * 8).div_ceil(6);
            let total_bits = padded.len() * 8;
            let keep = total_bits / 6;
            if keep > skip {
                forms.push(encoded[skip..keep].to_string());
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_their_encodings_are_scrubbed() {
        let r = Redactor::new(["s3cr3t-Pa$$word"]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let dsn = "postgresql://user:s3cr3t-Pa$$word@db:5432/app";
        assert_eq!(
            r.scrub(&format!("connect failed: {dsn}")),
            "connect failed: postgresql://user:<redacted>@db:5432/app"
        );
        // Base64 of the value inside a longer encoded string, at each alignment.
        for prefix in ["", "x", "xy", "xyz"] {
            let encoded = b64.encode(format!("{prefix}{dsn}"));
            let scrubbed = r.scrub(&encoded);
            assert!(scrubbed.contains(REDACTED), "{prefix:?}: {encoded}");
            let left = scrubbed.replace(REDACTED, "");
            for form in encoded_forms("s3cr3t-Pa$$word") {
                assert!(!left.contains(&form), "{prefix:?}: {form} survived");
            }
        }
        // JSON-escaped.
        let r = Redactor::new(["quote\"inside"]);
        assert_eq!(r.scrub(r#"{"p":"quote\"inside"}"#), r#"{"p":"<redacted>"}"#);
        // Too short to scrub safely.
        assert_eq!(Redactor::new(["ab"]).scrub("abc"), "abc");
    }

    #[test]
    fn json_is_scrubbed_everywhere() {
        let r = Redactor::new(["hunter2-long"]);
        let mut v = json!({"logs": ["pw=hunter2-long"], "hunter2-long": 1, "n": 3});
        r.scrub_json(&mut v);
        assert_eq!(
            v,
            json!({"logs": ["pw=<redacted>"], "<redacted>": 1, "n": 3})
        );
    }

    #[test]
    fn digests_are_keyed() {
        let a = DigestKey::from_bytes([1; 32]);
        let b = DigestKey::from_bytes([2; 32]);
        assert_eq!(a.digest(b"pw"), a.digest(b"pw"));
        assert_ne!(a.digest(b"pw"), b.digest(b"pw"));
        assert_ne!(a.digest(b"pw"), a.digest(b"pw2"));
        // Not a bare SHA-256 of the value.
        assert!(!a.digest(b"pw").contains("6e4f"), "{}", a.digest(b"pw"));
        assert!(a.digest(b"pw").starts_with("hmac:"));
    }

    #[test]
    fn secrets_are_masked_by_marker_or_digest() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"stringData\":{\"p\":\"plain\"}}"}},
            "data": {"p": b64.encode("plain")}, "stringData": {"q": "plain"}});
        let mut marked = secret.clone();
        mask_secret(&mut marked, SecretMask::Marker);
        assert_eq!(marked["data"]["p"], REDACTED);
        assert_eq!(marked["stringData"]["q"], REDACTED);
        assert!(!marked.to_string().contains("plain"));
        let key = DigestKey::from_bytes([7; 32]);
        let mut digested = secret.clone();
        mask_secret(&mut digested, SecretMask::Digest(&key));
        assert_eq!(
            digested["data"]["p"], digested["stringData"]["q"],
            "same content, same digest"
        );
        assert!(!digested.to_string().contains("plain"));
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"p": "plain"}});
        mask_secret(&mut cm, SecretMask::Marker);
        assert_eq!(cm["data"]["p"], "plain");
    }

    #[test]
    fn learned_secret_values_are_scrubbed() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut r = Redactor::default();
        r.learn_secret(&json!({"data": {"k": b64.encode("from-the-cluster")}}));
        assert_eq!(r.scrub("x from-the-cluster y"), "x <redacted> y");
    }
}
