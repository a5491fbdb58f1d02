//! The Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`): the `k8s\0`
//! envelope around a `runtime.Unknown`, and a generic codec between the protobuf messages
//! and kube-sim's JSON objects, driven by `proto_schema.txt` (field numbers from k8s-pb,
//! JSON names from k8s-openapi; regenerate with `tools/gen_proto_schema.py`). Every
//! built-in kind kube-sim serves (and its List, Status, DeleteOptions, Scale, Eviction and
//! the access reviews) is covered.

use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("proto_schema.txt");
pub const MAGIC: &[u8] = b"k8s\0";
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Int32,
    Int64,
    Bool,
    Double,
    Bytes,
    Message,
    MapString,
    MapBytes,
    MapMessage,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Special {
    Time,
    MicroTime,
    Duration,
    Quantity,
    IntOrString,
    Raw,
    StringList,
}

#[derive(Debug)]
struct Field {
    tag: u64,
    /// JSON name; None: an embedded (inline) message whose fields are the parent's
    json: Option<String>,
    kind: Kind,
    repeated: bool,
    msg: Option<String>,
}

#[derive(Default)]
struct Schema {
    messages: HashMap<String, Vec<Field>>,
    special: HashMap<String, Special>,
}

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = Schema::default();
        let mut cur: Option<String> = None;
        for line in SCHEMA.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [] => {}
                [c, ..] if c.starts_with('#') => {}
                ["S", name, how] => {
                    let sp = match *how {
                        "time" => Special::Time,
                        "microtime" => Special::MicroTime,
                        "duration" => Special::Duration,
                        "quantity" => Special::Quantity,
                        "intorstring" => Special::IntOrString,
                        "stringlist" => Special::StringList,
                        _ => Special::Raw,
                    };
                    s.special.insert(name.to_string(), sp);
                }
                ["M", name] => {
                    cur = Some(name.to_string());
                    s.messages.insert(name.to_string(), Vec::new());
                }
                [tag, json, kind, card, rest @ ..] => {
                    let Some(m) = cur.as_ref().and_then(|c| s.messages.get_mut(c)) else {
                        continue;
                    };
                    let kind = match *kind {
                        "string" => Kind::String,
                        "int32" => Kind::Int32,
                        "int64" => Kind::Int64,
                        "bool" => Kind::Bool,
                        "double" => Kind::Double,
                        "bytes" => Kind::Bytes,
                        "message" => Kind::Message,
                        "map_string" => Kind::MapString,
                        "map_bytes" => Kind::MapBytes,
                        "map_message" => Kind::MapMessage,
                        _ => continue,
                    };
                    m.push(Field {
                        tag: tag.parse().unwrap_or(0),
                        json: (*json != "-").then(|| json.to_string()),
                        kind,
                        repeated: *card == "r",
                        msg: rest.first().map(|t| t.to_string()),
                    });
                }
                _ => {}
            }
        }
        s
    })
}

/// The protobuf message of an apiVersion + kind.
fn message_for(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let name = if group.is_empty() && matches!(kind, "Status" | "DeleteOptions") {
        format!("apimachinery.pkg.apis.meta.v1.{kind}")
    } else {
        let pkg = if group.is_empty() {
            "core"
        } else {
            group.split('.').next().unwrap_or(group)
        };
        format!("api.{pkg}.{version}.{kind}")
    };
    schema().messages.contains_key(&name).then_some(name)
}

// ---------- wire format ----------

enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = *b.get(*i)?;
        *i += 1;
        v |= ((x & 0x7f) as u64) << shift;
        if x & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn fields(b: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let (no, wt) = (key >> 3, key & 7);
        let w = match wt {
            0 => Wire::Varint(varint(b, &mut i)?),
            1 => {
                let s = b.get(i..i + 8)?;
                i += 8;
                Wire::Fixed64(u64::from_le_bytes(s.try_into().ok()?))
            }
            2 => {
                let n = varint(b, &mut i)? as usize;
                let s = b.get(i..i.checked_add(n)?)?;
                i += n;
                Wire::Bytes(s)
            }
            5 => {
                b.get(i..i + 4)?;
                i += 4;
                Wire::Fixed32
            }
            _ => return None,
        };
        out.push((no, w));
    }
    Some(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_key(out: &mut Vec<u8>, tag: u64, wt: u64) {
    put_varint(out, (tag << 3) | wt);
}

fn put_bytes(out: &mut Vec<u8>, tag: u64, data: &[u8]) {
    put_key(out, tag, 2);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

// ---------- decoding ----------

fn scalar(kind: Kind, w: &Wire) -> Option<Value> {
    Some(match (kind, w) {
        (Kind::String, Wire::Bytes(b)) => json!(String::from_utf8_lossy(b)),
        (Kind::Bytes, Wire::Bytes(b)) => json!(b64(b)),
        (Kind::Int32, Wire::Varint(v)) => json!(*v as i64 as i32),
        (Kind::Int64, Wire::Varint(v)) => json!(*v as i64),
        (Kind::Bool, Wire::Varint(v)) => json!(*v != 0),
        (Kind::Double, Wire::Fixed64(v)) => json!(f64::from_bits(*v)),
        _ => return None,
    })
}

pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let ns = ns.unsigned_abs();
    let s = if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{}µs", trim_float(ns as f64 / 1e3))
    } else if ns < 1_000_000_000 {
        format!("{}ms", trim_float(ns as f64 / 1e6))
    } else {
        let total = ns as f64 / 1e9;
        let h = ns / 3_600_000_000_000;
        let m = (ns / 60_000_000_000) % 60;
        let secs = total - (h * 3600 + m * 60) as f64;
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{}s", trim_float(secs)));
        out
    };
    if neg { format!("-{s}") } else { s }
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    let v = total.round() as i64;
    Some(if neg { -v } else { v })
}

fn decode_special(sp: Special, b: &[u8]) -> Option<Value> {
    let fs = fields(b)?;
    let get = |n: u64| fs.iter().find(|(no, _)| *no == n).map(|(_, w)| w);
    Some(match sp {
        Special::Time | Special::MicroTime => {
            let secs = match get(1) {
                Some(Wire::Varint(v)) => *v as i64,
                _ => 0,
            };
            let nanos = match get(2) {
                Some(Wire::Varint(v)) => *v as i64 as i32,
                _ => 0,
            };
            let micros = (sp == Special::MicroTime).then_some((nanos / 1000) as u32);
            json!(crate::util::fmt_epoch(secs, micros))
        }
        Special::Duration => match get(1) {
            Some(Wire::Varint(v)) => json!(go_duration(*v as i64)),
            _ => json!("0s"),
        },
        Special::Quantity => match get(1) {
            Some(Wire::Bytes(s)) => json!(String::from_utf8_lossy(s)),
            _ => json!("0"),
        },
        Special::IntOrString => {
            let typ = match get(1) {
                Some(Wire::Varint(v)) => *v,
                _ => 0,
            };
            if typ == 1 {
                match get(3) {
                    Some(Wire::Bytes(s)) => json!(String::from_utf8_lossy(s)),
                    _ => json!(""),
                }
            } else {
                match get(2) {
                    Some(Wire::Varint(v)) => json!(*v as i64 as i32),
                    _ => json!(0),
                }
            }
        }
        Special::Raw => match get(1) {
            Some(Wire::Bytes(s)) if !s.is_empty() => {
                serde_json::from_slice(s).unwrap_or_else(|_| json!(String::from_utf8_lossy(s)))
            }
            _ => Value::Null,
        },
        Special::StringList => Value::Array(
            fs.iter()
                .filter(|(n, _)| *n == 1)
                .filter_map(|(_, w)| scalar(Kind::String, w))
                .collect(),
        ),
    })
}

fn decode_value(f: &Field, b: &[u8]) -> Option<Value> {
    let sc = schema();
    let name = f.msg.as_deref()?;
    if let Some(sp) = sc.special.get(name) {
        return decode_special(*sp, b);
    }
    decode_message(name, b)
}

/// Go's generated marshallers write every non-pointer field, so a protobuf body carries
/// `""`, `0`, `false` and zero timestamps for everything the client left unset; the
/// apiserver's JSON would omit them. They are dropped, except for the fields that are
/// pointers in Go (or not `omitempty`), where a zero was sent on purpose.
const ZERO_MEANINGFUL: &[&str] = &[
    "replicas",
    "minReplicas",
    "backoffLimit",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "terminationGracePeriodSeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "startingDeadlineSeconds",
    "suspend",
    "automountServiceAccountToken",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "privileged",
    "allowPrivilegeEscalation",
    "optional",
    "immutable",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "defaultMode",
    "mode",
    "exitCode",
    "ready",
    "restartCount",
    "allowed",
    "enableServiceLinks",
    "expirationSeconds",
    "tolerationSeconds",
    "gracePeriodSeconds",
    "orphanDependents",
    "partition",
    "priority",
    "maxSurge",
    "maxUnavailable",
    "minAvailable",
    "unschedulable",
    "paused",
];

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty() || s == "1970-01-01T00:00:00Z",
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Null => true,
        _ => false,
    }
}

fn decode_message(name: &str, b: &[u8]) -> Option<Value> {
    let mut v = decode_message_raw(name, b)?;
    if let Value::Object(m) = &mut v {
        m.retain(|k, x| !is_zero(x) || ZERO_MEANINGFUL.contains(&k.as_str()));
    }
    Some(v)
}

fn decode_message_raw(name: &str, b: &[u8]) -> Option<Value> {
    let sc = schema();
    let defs = sc.messages.get(name)?;
    let mut obj = Map::new();
    for (no, w) in fields(b)? {
        let Some(f) = defs.iter().find(|f| f.tag == no) else {
            continue;
        };
        let v = match (f.kind, &w) {
            (Kind::Message, Wire::Bytes(inner)) => decode_value(f, inner)?,
            (Kind::MapString | Kind::MapBytes | Kind::MapMessage, Wire::Bytes(entry)) => {
                let mut k = String::new();
                let mut val = Value::Null;
                for (n2, w2) in fields(entry)? {
                    match (n2, &w2) {
                        (1, Wire::Bytes(s)) => k = String::from_utf8_lossy(s).into_owned(),
                        (2, Wire::Bytes(s)) => {
                            val = match f.kind {
                                Kind::MapString => json!(String::from_utf8_lossy(s)),
                                Kind::MapBytes => json!(b64(s)),
                                _ => decode_value(f, s)?,
                            }
                        }
                        _ => {}
                    }
                }
                if val.is_null() {
                    val = match f.kind {
                        Kind::MapString | Kind::MapBytes => json!(""),
                        _ => json!({}),
                    };
                }
                let key = f.json.clone().unwrap_or_default();
                let m = obj.entry(key).or_insert_with(|| json!({}));
                if let Some(m) = m.as_object_mut() {
                    m.insert(k, val);
                }
                continue;
            }
            // packed repeated scalars
            (Kind::Int32 | Kind::Int64 | Kind::Bool, Wire::Bytes(packed)) if f.repeated => {
                let mut i = 0;
                let key = f.json.clone().unwrap_or_default();
                while i < packed.len() {
                    let v = varint(packed, &mut i)?;
                    let x = scalar(f.kind, &Wire::Varint(v))?;
                    let a = obj.entry(key.clone()).or_insert_with(|| json!([]));
                    if let Some(a) = a.as_array_mut() {
                        a.push(x);
                    }
                }
                continue;
            }
            (k, w) => scalar(k, w)?,
        };
        match &f.json {
            None => {
                // an embedded message: its fields are ours
                if let Value::Object(m) = v {
                    obj.extend(m);
                }
            }
            Some(key) if f.repeated => {
                let a = obj.entry(key.clone()).or_insert_with(|| json!([]));
                if let Some(a) = a.as_array_mut() {
                    a.push(v);
                }
            }
            Some(key) => {
                obj.insert(key.clone(), v);
            }
        }
    }
    Some(Value::Object(obj))
}

/// Decode `k8s\0` + runtime.Unknown into the JSON object (None: not protobuf, or a kind
/// kube-sim has no schema for).
pub fn decode(body: &[u8]) -> Option<Value> {
    let env = body.strip_prefix(MAGIC)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (no, f) in fields(env)? {
        match (no, f) {
            (1, Wire::Bytes(tm)) => {
                for (n2, f2) in fields(tm)? {
                    match (n2, f2) {
                        (1, Wire::Bytes(s)) => api_version = String::from_utf8_lossy(s).into(),
                        (2, Wire::Bytes(s)) => kind = String::from_utf8_lossy(s).into(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let name = message_for(&api_version, &kind)?;
    let body = decode_message(&name, raw)?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    if let Value::Object(m) = body {
        obj.extend(m);
    }
    if !obj.contains_key("metadata") && !kind.ends_with("List") {
        obj.insert("metadata".into(), json!({}));
    }
    Some(Value::Object(obj))
}

// ---------- encoding ----------

fn encode_special(sp: Special, v: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match sp {
        Special::Time | Special::MicroTime => {
            let (secs, nanos) = crate::util::parse_rfc3339(v.as_str()?)?;
            put_key(&mut out, 1, 0);
            put_varint(&mut out, secs as u64);
            if nanos != 0 {
                put_key(&mut out, 2, 0);
                put_varint(&mut out, nanos as i64 as u64);
            }
        }
        Special::Duration => {
            put_key(&mut out, 1, 0);
            put_varint(&mut out, parse_go_duration(v.as_str()?)? as u64);
        }
        Special::Quantity => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            put_bytes(&mut out, 1, s.as_bytes());
        }
        Special::IntOrString => match v {
            Value::Number(n) => {
                put_key(&mut out, 1, 0);
                put_varint(&mut out, 0);
                put_key(&mut out, 2, 0);
                put_varint(&mut out, n.as_i64()? as u64);
            }
            Value::String(s) => {
                put_key(&mut out, 1, 0);
                put_varint(&mut out, 1);
                put_bytes(&mut out, 3, s.as_bytes());
            }
            _ => return None,
        },
        Special::Raw => {
            if !v.is_null() {
                put_bytes(&mut out, 1, &serde_json::to_vec(v).ok()?);
            }
        }
        Special::StringList => {
            for s in v.as_array()? {
                put_bytes(&mut out, 1, s.as_str()?.as_bytes());
            }
        }
    }
    Some(out)
}

fn encode_value(f: &Field, v: &Value) -> Option<Vec<u8>> {
    let name = f.msg.as_deref()?;
    if let Some(sp) = schema().special.get(name) {
        return encode_special(*sp, v);
    }
    encode_message(name, v)
}

fn encode_scalar(out: &mut Vec<u8>, f: &Field, v: &Value) -> Option<()> {
    match f.kind {
        Kind::String => put_bytes(out, f.tag, v.as_str()?.as_bytes()),
        Kind::Bytes => put_bytes(
            out,
            f.tag,
            &base64::engine::general_purpose::STANDARD
                .decode(v.as_str()?)
                .ok()?,
        ),
        Kind::Int32 | Kind::Int64 => {
            put_key(out, f.tag, 0);
            put_varint(
                out,
                v.as_i64().or_else(|| v.as_f64().map(|x| x as i64))? as u64,
            );
        }
        Kind::Bool => {
            put_key(out, f.tag, 0);
            put_varint(out, v.as_bool()? as u64);
        }
        Kind::Double => {
            put_key(out, f.tag, 1);
            out.extend_from_slice(&v.as_f64()?.to_bits().to_le_bytes());
        }
        _ => return None,
    }
    Some(())
}

fn encode_message(name: &str, v: &Value) -> Option<Vec<u8>> {
    let defs = schema().messages.get(name)?;
    let obj = v.as_object()?;
    let mut out = Vec::new();
    for f in defs {
        let Some(key) = &f.json else {
            // embedded: encode our own object as the inner message
            let inner = encode_value(f, v)?;
            if !inner.is_empty() {
                put_bytes(&mut out, f.tag, &inner);
            }
            continue;
        };
        let Some(val) = obj.get(key) else { continue };
        if val.is_null() {
            continue;
        }
        match f.kind {
            Kind::Message => {
                let items: Vec<&Value> = if f.repeated {
                    val.as_array()?.iter().collect()
                } else {
                    vec![val]
                };
                for it in items {
                    put_bytes(&mut out, f.tag, &encode_value(f, it)?);
                }
            }
            Kind::MapString | Kind::MapBytes | Kind::MapMessage => {
                let m = val.as_object()?;
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for k in keys {
                    let mut entry = Vec::new();
                    put_bytes(&mut entry, 1, k.as_bytes());
                    let ev = &m[k];
                    let inner = match f.kind {
                        Kind::MapString => ev.as_str()?.as_bytes().to_vec(),
                        Kind::MapBytes => base64::engine::general_purpose::STANDARD
                            .decode(ev.as_str()?)
                            .ok()?,
                        _ => encode_value(f, ev)?,
                    };
                    put_bytes(&mut entry, 2, &inner);
                    put_bytes(&mut out, f.tag, &entry);
                }
            }
            _ if f.repeated => {
                for it in val.as_array()? {
                    encode_scalar(&mut out, f, it)?;
                }
            }
            _ => encode_scalar(&mut out, f, val)?,
        }
    }
    Some(out)
}

/// Encode a JSON object (with apiVersion and kind) as `k8s\0` + runtime.Unknown; None when
/// there is no schema for its kind or a value does not fit it.
pub fn encode(obj: &Value) -> Option<Vec<u8>> {
    let api_version = obj.get("apiVersion")?.as_str()?;
    let kind = obj.get("kind")?.as_str()?;
    let name = message_for(api_version, kind)?;
    let raw = encode_message(&name, obj)?;
    let mut tm = Vec::new();
    put_bytes(&mut tm, 1, api_version.as_bytes());
    put_bytes(&mut tm, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, 1, &tm);
    put_bytes(&mut out, 2, &raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    Some(out)
}
