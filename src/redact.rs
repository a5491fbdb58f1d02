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

/// What a secret value is shown as (defined with the values in `secrets`,
/// whose `Debug` prints it, so that `secrets` needs nothing of this module).
pub use crate::secrets::REDACTED;
use crate::secrets::SecretValues;

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
///
/// The work is linear in the text: one left-to-right Aho-Corasick pass
/// (leftmost-longest), whatever the values look like (a long repetitive
/// value costs no more than any other).
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Needles>,
}

#[derive(Default)]
struct Needles {
    values: Vec<String>,
    /// What each needle is: a base64 form swallows the characters around
    /// it that still carry bits of the value (and the padding).
    forms: Vec<Form>,
    matcher: Option<AhoCorasick>,
    /// The longest needle, in bytes.
    longest: usize,
    /// The needles as a trie, for streams (built on first use).
    prefixes: std::sync::OnceLock<Prefixes>,
}

/// The kind of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Plain,
    /// Base64 of the value inside a longer encoded string; `mixed_lead`:
    /// the character before it mixes the bits of the byte before the value
    /// with the value's first bits.
    Base64 {
        mixed_lead: bool,
    },
}

/// Characters a base64 match may swallow after it: one character mixing the
/// value's last bits with what follows, then up to two `=`.
const BASE64_TRAIL: usize = 3;

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
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
        let mut forms: Vec<Form> = self.inner.forms.clone();
        let mut known: std::collections::HashSet<String> = all.iter().cloned().collect();
        for value in values {
            // Multi-line values (PEM) are also scrubbed line by line: logs
            // are split into lines before they are shown.
            for candidate in std::iter::once(value).chain(value.lines()) {
                let candidate = candidate.trim();
                if candidate.len() < MIN_SCRUB_LEN {
                    continue;
                }
                for (text, form) in encoded_forms(candidate) {
                    if text.len() >= MIN_SCRUB_LEN && known.insert(text.clone()) {
                        all.push(text);
                        forms.push(form);
                    }
                }
            }
        }
        // An NFA, never the DFA the builder picks for few patterns: building
        // a leftmost DFA follows the failure chain of every state for every
        // byte, quadratic in a long repetitive value (a 5,000-character one
        // took `render` 51 s). The NFA's search is linear all the same.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&all)
            .ok();
        let longest = all.iter().map(String::len).max().unwrap_or(0);
        self.inner = Arc::new(Needles {
            values: all,
            forms,
            matcher,
            longest,
            prefixes: std::sync::OnceLock::new(),
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
        match self.scrub_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Needles are whole UTF-8 strings and a base64 match swallows
            // only ASCII around it, so the result is UTF-8 still.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// [`Redactor::scrub`] for raw bytes (which need not be UTF-8).
    pub fn scrub_bytes<'t>(&self, bytes: &'t [u8]) -> Cow<'t, [u8]> {
        match &self.inner.matcher {
            Some(m) if m.is_match(bytes) => {
                let mut out = Vec::with_capacity(bytes.len());
                let done = self.inner.scrub_into(bytes, bytes.len(), true, &mut out);
                out.extend_from_slice(&bytes[done.consumed..]);
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(bytes),
        }
    }

    /// A scrubber for a byte stream read in chunks (an exec session, a
    /// followed log): a value split across two chunks is scrubbed too.
    pub fn stream(&self) -> StreamScrubber {
        StreamScrubber {
            redactor: self.clone(),
            held: Vec::new(),
            state: 0,
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

impl Needles {
    /// Writes `buf` scrubbed into `out`, handling only the matches that
    /// start before `decided`, and returns how many bytes of `buf` it
    /// consumed (the rest is the caller's to write or keep). Unless `last`
    /// (no more bytes will come), a base64 match whose following characters
    /// are not all there yet is left undecided. One pass: each search
    /// starts where the last match ended, so the work is linear.
    fn scrub_into(&self, buf: &[u8], decided: usize, last: bool, out: &mut Vec<u8>) -> Scrubbed {
        let Some(matcher) = &self.matcher else {
            return Scrubbed {
                consumed: 0,
                undecided: false,
            };
        };
        let mut pos = 0;
        while pos < buf.len() {
            let input = aho_corasick::Input::new(buf).span(pos..buf.len());
            let Some(m) = matcher.find(input) else {
                break;
            };
            if m.start() >= decided {
                break;
            }
            let (mut start, mut end) = (m.start(), m.end());
            if let Form::Base64 { mixed_lead } = self.forms[m.pattern().as_usize()] {
                if mixed_lead && start > pos && is_base64_char(buf[start - 1]) {
                    start -= 1;
                }
                // One character mixing the value's last bits with what
                // follows, then the padding.
                let mut trail = 0;
                while trail < BASE64_TRAIL && end < buf.len() {
                    let b = buf[end];
                    let swallowed = if trail == 0 {
                        is_base64_char(b) || b == b'='
                    } else {
                        b == b'='
                    };
                    if !swallowed {
                        break;
                    }
                    end += 1;
                    trail += 1;
                }
                if !last && end == buf.len() && trail < BASE64_TRAIL {
                    // The next bytes may still belong to it.
                    out.extend_from_slice(&buf[pos..start]);
                    return Scrubbed {
                        consumed: start,
                        undecided: true,
                    };
                }
            }
            out.extend_from_slice(&buf[pos..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            pos = end;
        }
        Scrubbed {
            consumed: pos,
            undecided: false,
        }
    }
}

/// How far [`Needles::scrub_into`] got.
struct Scrubbed {
    /// Bytes of the input written (scrubbed) to the output.
    consumed: usize,
    /// It stopped at a match that needs more bytes to be decided.
    undecided: bool,
}

/// The needles as a trie with failure links (Aho-Corasick's), walked byte
/// by byte along a stream: its state's depth is the longest tail of the
/// stream that is the start of a needle — all a stream must hold back.
struct Prefixes {
    /// Per node, its children by byte (sorted).
    children: Vec<Vec<(u8, u32)>>,
    fail: Vec<u32>,
    depth: Vec<u32>,
}

impl Prefixes {
    fn new(needles: &[String]) -> Self {
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut depth = vec![0u32];
        for needle in needles {
            let mut node = 0usize;
            for &b in needle.as_bytes() {
                node = match children[node].binary_search_by_key(&b, |c| c.0) {
                    Ok(i) => children[node][i].1 as usize,
                    Err(i) => {
                        let id = children.len();
                        children[node].insert(i, (b, id as u32));
                        children.push(Vec::new());
                        depth.push(depth[node] + 1);
                        id
                    }
                };
            }
        }
        let mut fail = vec![0u32; children.len()];
        let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        queue.push_back(0);
        while let Some(node) = queue.pop_front() {
            for i in 0..children[node].len() {
                let (b, child) = children[node][i];
                let child = child as usize;
                fail[child] = if node == 0 {
                    0
                } else {
                    let mut f = fail[node] as usize;
                    loop {
                        if let Some(next) = Self::child(&children, f, b) {
                            break next as u32;
                        }
                        if f == 0 {
                            break 0;
                        }
                        f = fail[f] as usize;
                    }
                };
                queue.push_back(child);
            }
        }
        Self {
            children,
            fail,
            depth,
        }
    }

    fn child(children: &[Vec<(u8, u32)>], node: usize, b: u8) -> Option<usize> {
        children[node]
            .binary_search_by_key(&b, |c| c.0)
            .ok()
            .map(|i| children[node][i].1 as usize)
    }

    fn next(&self, mut node: usize, b: u8) -> usize {
        loop {
            if let Some(next) = Self::child(&self.children, node, b) {
                return next;
            }
            if node == 0 {
                return 0;
            }
            node = self.fail[node] as usize;
        }
    }
}

/// Scrubs a byte stream chunk by chunk ([`Redactor::stream`]), so a value
/// split across two reads is found as in one piece. It holds back only the
/// tail that could still be the start of a value or of one of its encoded
/// forms (or a whole one a longer one could still extend) — never more than
/// the longest of them, plus a base64 form's neighbours: one character
/// before it and up to [`BASE64_TRAIL`] after it — so output that is not the start of a
/// value passes at once (an interactive shell's echo is not delayed). Works
/// on raw bytes: a chunk that ends inside a UTF-8 sequence, or is not text
/// at all, is scrubbed the same. [`StreamScrubber::finish`] gives back the
/// held tail, scrubbed, at the end.
#[derive(Debug)]
pub struct StreamScrubber {
    redactor: Redactor,
    held: Vec<u8>,
    /// The trie node the stream so far ends in.
    state: usize,
}

impl StreamScrubber {
    /// The bytes of `chunk` (and of the tail held before it) that are now
    /// known to be safe, scrubbed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let needles = &self.redactor.inner;
        if needles.longest == 0 {
            let mut out = std::mem::take(&mut self.held);
            out.extend_from_slice(chunk);
            return out;
        }
        let prefixes = needles
            .prefixes
            .get_or_init(|| Prefixes::new(&needles.values));
        for &b in chunk {
            self.state = prefixes.next(self.state, b);
        }
        self.held.extend_from_slice(chunk);
        let buf = std::mem::take(&mut self.held);
        // A match a later byte could still make (or make longer) starts in
        // the tail that is the start of a needle: everything before it is final.
        let open = (prefixes.depth[self.state] as usize).min(buf.len());
        let decided = buf.len() - open;
        let mut out = Vec::with_capacity(buf.len());
        let done = needles.scrub_into(&buf, decided, false, &mut out);
        // With the byte before that tail: a base64 form found there swallows it.
        let keep_from = if done.undecided {
            done.consumed
        } else if open > 0 {
            done.consumed.max(decided.saturating_sub(1))
        } else {
            done.consumed.max(decided)
        };
        out.extend_from_slice(&buf[done.consumed..keep_from]);
        self.held = buf[keep_from..].to_vec();
        out
    }

    /// The held tail, scrubbed: the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        self.state = 0;
        let held = std::mem::take(&mut self.held);
        self.redactor.scrub_bytes(&held).into_owned()
    }

    /// How many bytes are held back now.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

/// The forms a value takes in text: as is, JSON-escaped, hex (lower and
/// upper case) and base64 (standard and URL-safe) at each of the three byte
/// alignments it can have inside a longer encoded string — only the
/// characters that depend on the value alone, so the value is found
/// wherever it sits (the characters around it that still carry some of its
/// bits are swallowed when it is found).
fn encoded_forms(value: &str) -> Vec<(String, Form)> {
    let mut forms = vec![(value.to_string(), Form::Plain)];
    let escaped = Value::String(value.to_string()).to_string();
    let escaped = escaped[1..escaped.len() - 1].to_string();
    if escaped != value {
        forms.push((escaped, Form::Plain));
    }
    let bytes = value.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    forms.push((hex.to_ascii_uppercase(), Form::Plain));
    forms.push((hex, Form::Plain));
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
                forms.push((
                    encoded[skip..keep].to_string(),
                    Form::Base64 {
                        mixed_lead: offset > 0,
                    },
                ));
            }
        }
    }
    forms.sort_by(|a, b| a.0.cmp(&b.0));
    forms.dedup_by(|a, b| a.0 == b.0);
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
            for (form, _) in encoded_forms("s3cr3t-Pa$$word") {
                assert!(!left.contains(&form), "{prefix:?}: {form} survived");
            }
        }
        // JSON-escaped.
        let r = Redactor::new(["quote\"inside"]);
        assert_eq!(r.scrub(r#"{"p":"quote\"inside"}"#), r#"{"p":"<redacted>"}"#);
        // Too short to scrub safely.
        assert_eq!(Redactor::new(["ab"]).scrub("abc"), "abc");
    }

    /// A planted value, with non-UTF-8 bytes and its encodings around it.
    /// (redactor, input, value, the one read boundary where a stream may
    /// let out the single base64 character that mixes a few of the value's
    /// first bits in: it went out before the value's encoding began).
    fn stream_fixture() -> (Redactor, Vec<u8>, &'static str, usize) {
        let secret = "Zq9-stream-s3cret";
        let r = Redactor::new([secret]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut input: Vec<u8> = b"\xff\xfe login ok\r\n".to_vec();
        input.extend_from_slice(secret.as_bytes());
        input.extend_from_slice(b"\x80\xc3");
        input.extend_from_slice(secret.as_bytes());
        input.extend_from_slice(b"\xe2\x82 pw=");
        let lead = input.len() + 2;
        input.extend_from_slice(b64.encode(format!("x{secret}")).as_bytes());
        input.extend_from_slice(b" hex=");
        input.extend_from_slice(
            secret
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .as_bytes(),
        );
        input.extend_from_slice(b"\x1b[0m tail\xf0");
        (r, input, secret, lead)
    }

    fn markers(out: &[u8]) -> usize {
        out.windows(REDACTED.len())
            .filter(|w| *w == REDACTED.as_bytes())
            .count()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_value_split_across_any_two_reads_is_scrubbed() {
        let (r, input, secret, lead) = stream_fixture();
        let whole = r.scrub_bytes(&input).into_owned();
        let forms: Vec<String> = encoded_forms(secret).into_iter().map(|f| f.0).collect();
        let clean = |out: &[u8], at: &str| {
            assert_eq!(markers(out), 4, "{at}: {}", String::from_utf8_lossy(out));
            for form in &forms {
                assert!(!contains(out, form.as_bytes()), "{at}: {form} survived");
            }
        };
        clean(&whole, "in one piece");
        let longest = r.inner.longest;
        for cut in 0..=input.len() {
            let mut stream = r.stream();
            let mut out = stream.push(&input[..cut]);
            assert!(
                stream.held() <= longest + 1 + BASE64_TRAIL,
                "held {}",
                stream.held()
            );
            out.extend(stream.push(&input[cut..]));
            out.extend(stream.finish());
            clean(&out, &format!("split at {cut}"));
            if cut != lead {
                assert_eq!(out, whole, "split at {cut}");
            }
        }
        // And across three reads, at every pair of boundaries.
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let mut stream = r.stream();
                let mut out = stream.push(&input[..a]);
                out.extend(stream.push(&input[a..b]));
                out.extend(stream.push(&input[b..]));
                out.extend(stream.finish());
                let at = format!("split at {a} and {b}");
                clean(&out, &at);
                if a != lead && b != lead {
                    assert_eq!(out, whole, "{at}");
                }
            }
        }
    }

    #[test]
    fn a_stream_read_byte_by_byte_holds_back_only_what_could_start_a_value() {
        let (r, input, secret, _) = stream_fixture();
        let mut stream = r.stream();
        let mut out = Vec::new();
        for byte in &input {
            out.extend(stream.push(std::slice::from_ref(byte)));
            assert!(stream.held() <= r.inner.longest + 1 + BASE64_TRAIL);
        }
        out.extend(stream.finish());
        assert_eq!(stream.held(), 0);
        assert!(!contains(&out, secret.as_bytes()));
        assert_eq!(markers(&out), 4, "{}", String::from_utf8_lossy(&out));
        // Output that cannot be the start of a value is not held at all (an
        // interactive shell's echo is not delayed).
        let mut echo = r.stream();
        assert_eq!(echo.push(b"!"), b"!");
        assert_eq!(echo.held(), 0);
        // Nothing known: bytes pass as they come, nothing held.
        let mut plain = Redactor::default().stream();
        assert_eq!(plain.push(b"\xffabc"), b"\xffabc");
        assert_eq!(plain.held(), 0);
    }

    #[test]
    fn hex_forms_are_scrubbed() {
        let r = Redactor::new(["hex-Secret-1"]);
        let hex: String = "hex-Secret-1".bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.scrub(&format!("dump: 00{hex}ff")), "dump: 00<redacted>ff");
        assert_eq!(
            r.scrub(&format!("DUMP {}", hex.to_uppercase())),
            "DUMP <redacted>"
        );
    }

    #[test]
    fn base64_scrubbing_leaves_no_fragment_of_the_value() {
        let secret = "s3cr3t-Pa$$word";
        let r = Redactor::new([secret]);
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ] {
            // Alone, at each alignment: nothing of the value is left, padding
            // included (it used to leave `<redacted>k=`).
            assert_eq!(r.scrub(&engine.encode(secret)), REDACTED);
            for prefix in ["x", "xy", "xyz"] {
                let encoded = engine.encode(format!("{prefix}{secret}"));
                let scrubbed = r.scrub(&encoded);
                assert!(scrubbed.ends_with(REDACTED), "{prefix:?}: {scrubbed}");
                // What is left before it encodes only the prefix's whole bytes.
                let left = scrubbed.trim_end_matches(REDACTED);
                assert!(left.len() <= prefix.len() * 4 / 3, "{prefix:?}: {scrubbed}");
                // Inside a longer value, the neighbours' characters survive.
                let inside = engine.encode(format!("{prefix}{secret}and-more-text"));
                let scrubbed = r.scrub(&inside);
                assert!(scrubbed.contains(REDACTED), "{prefix:?}: {scrubbed}");
                assert!(
                    scrubbed.len() > REDACTED.len() + 8,
                    "{prefix:?}: {scrubbed}"
                );
            }
        }
    }

    #[test]
    fn a_long_repetitive_value_costs_linear_work() {
        // Building a leftmost DFA for this took minutes (quadratic in the
        // value's length); the NFA is linear to build and to search. The
        // timing is in `cargo bench --bench render`.
        for value in ["a".repeat(5_000), "ab".repeat(2_500)] {
            let r = Redactor::new([value.as_str()]);
            let matcher = r.inner.matcher.as_ref().expect("built");
            assert_eq!(matcher.kind(), aho_corasick::AhoCorasickKind::ContiguousNFA);
            let text = format!("head {value} {} tail", &value[..4_999]);
            let scrubbed = r.scrub(&text);
            assert!(
                scrubbed.starts_with("head <redacted> "),
                "{}",
                &scrubbed[..40]
            );
            assert!(scrubbed.ends_with(" tail"));
            let mut stream = r.stream();
            let mut out = Vec::new();
            for chunk in text.as_bytes().chunks(97) {
                out.extend(stream.push(chunk));
            }
            out.extend(stream.finish());
            assert_eq!(out, scrubbed.as_bytes());
        }
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
