//! A tiny decoder for the Kubernetes protobuf envelope, enough for the typed kubectl
//! generators that send protobuf bodies for simple kinds (`kubectl create namespace |
//! configmap | secret | serviceaccount`). Other kinds are refused with 415.

use base64::Engine;
use serde_json::{Map, Value, json};

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
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
                i += 8;
                Wire::Fixed
            }
            2 => {
                let n = varint(b, &mut i)? as usize;
                let s = b.get(i..i + n)?;
                i += n;
                Wire::Bytes(s)
            }
            5 => {
                i += 4;
                Wire::Fixed
            }
            _ => return None,
        };
        out.push((no, w));
    }
    Some(out)
}

fn string(w: &Wire) -> Option<String> {
    match w {
        Wire::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn map_entry(w: &Wire) -> Option<(String, Vec<u8>)> {
    let Wire::Bytes(b) = w else { return None };
    let mut k = String::new();
    let mut v = Vec::new();
    for (no, f) in fields(b)? {
        match (no, f) {
            (1, f) => k = string(&f)?,
            (2, Wire::Bytes(x)) => v = x.to_vec(),
            _ => {}
        }
    }
    Some((k, v))
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (no, f) in fields(b)? {
        match no {
            1 => {
                m.insert("name".into(), json!(string(&f)?));
            }
            2 => {
                m.insert("generateName".into(), json!(string(&f)?));
            }
            3 => {
                m.insert("namespace".into(), json!(string(&f)?));
            }
            11 => {
                let (k, v) = map_entry(&f)?;
                labels.insert(k, json!(String::from_utf8_lossy(&v)));
            }
            12 => {
                let (k, v) = map_entry(&f)?;
                annotations.insert(k, json!(String::from_utf8_lossy(&v)));
            }
            14 => finalizers.push(json!(string(&f)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(m))
}

/// Decode `k8s\0` + runtime.Unknown into JSON for the supported kinds.
pub fn decode(body: &[u8]) -> Option<Value> {
    let env = body.strip_prefix(b"k8s\0")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (no, f) in fields(env)? {
        match (no, f) {
            (1, Wire::Bytes(tm)) => {
                for (n2, f2) in fields(tm)? {
                    match n2 {
                        1 => api_version = string(&f2)?,
                        2 => kind = string(&f2)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind});
    let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") | ("v1", "ServiceAccount") | ("v1", "ConfigMap") | ("v1", "Secret") => {
        }
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview")
        | ("authorization.k8s.io/v1", "SelfSubjectRulesReview")
        | ("authentication.k8s.io/v1", "SelfSubjectReview") => {}
        _ => return None,
    }
    let mut data = Map::new();
    let mut bin = Map::new();
    let mut string_data = Map::new();
    for (no, f) in fields(raw)? {
        match (kind.as_str(), no, f) {
            (_, 1, Wire::Bytes(m)) => obj["metadata"] = object_meta(m)?,
            ("Namespace", 2, Wire::Bytes(spec)) => {
                let fins: Vec<Value> = fields(spec)?
                    .iter()
                    .filter(|(n, _)| *n == 1)
                    .filter_map(|(_, f)| string(f).map(Value::String))
                    .collect();
                obj["spec"] = json!({"finalizers": fins});
            }
            ("ConfigMap", 2, f) => {
                let (k, v) = map_entry(&f)?;
                data.insert(k, json!(String::from_utf8_lossy(&v)));
            }
            ("ConfigMap", 3, f) => {
                let (k, v) = map_entry(&f)?;
                bin.insert(k, json!(b64(&v)));
            }
            ("ConfigMap", 4, Wire::Varint(x)) | ("Secret", 5, Wire::Varint(x)) => {
                obj["immutable"] = json!(x != 0);
            }
            ("Secret", 2, f) => {
                let (k, v) = map_entry(&f)?;
                data.insert(k, json!(b64(&v)));
            }
            ("Secret", 3, f) => obj["type"] = json!(string(&f)?),
            ("SelfSubjectAccessReview", 2, Wire::Bytes(spec)) => {
                let mut sp = Map::new();
                for (n, f) in fields(spec)? {
                    let (key, names): (&str, &[&str]) = match n {
                        1 => (
                            "resourceAttributes",
                            &[
                                "namespace",
                                "verb",
                                "group",
                                "version",
                                "resource",
                                "subresource",
                                "name",
                            ],
                        ),
                        2 => ("nonResourceAttributes", &["path", "verb"]),
                        _ => continue,
                    };
                    let Wire::Bytes(inner) = f else { continue };
                    let mut a = Map::new();
                    for (n2, f2) in fields(inner)? {
                        if let Some(name) = names.get((n2 as usize).wrapping_sub(1)) {
                            a.insert((*name).into(), json!(string(&f2)?));
                        }
                    }
                    sp.insert(key.into(), Value::Object(a));
                }
                obj["spec"] = Value::Object(sp);
            }
            ("SelfSubjectRulesReview", 2, Wire::Bytes(spec)) => {
                let mut sp = Map::new();
                for (n, f) in fields(spec)? {
                    if n == 1 {
                        sp.insert("namespace".into(), json!(string(&f)?));
                    }
                }
                obj["spec"] = Value::Object(sp);
            }
            ("Secret", 4, f) => {
                let (k, v) = map_entry(&f)?;
                string_data.insert(k, json!(String::from_utf8_lossy(&v)));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        obj["data"] = Value::Object(data);
    }
    if !bin.is_empty() {
        obj["binaryData"] = Value::Object(bin);
    }
    if !string_data.is_empty() {
        obj["stringData"] = Value::Object(string_data);
    }
    if obj.get("metadata").is_none() {
        obj["metadata"] = json!({});
    }
    Some(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(no: u64, data: &[u8]) -> Vec<u8> {
        let mut v = vec![((no << 3) | 2) as u8, data.len() as u8];
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [field(1, b"cfg"), field(3, b"default")].concat();
        let entry = [field(1, b"a"), field(2, b"b")].concat();
        let raw = [field(1, &meta), field(2, &entry)].concat();
        let tm = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &tm), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "b"}})
        );
    }
}
