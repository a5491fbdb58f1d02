//! Field sets (managedFields fieldsV1), list merge keys, server-side apply merging,
//! strategic merge patch and JSON merge patch.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

/// Merge keys of associative lists, decided by the field-name context.
pub fn list_keys(ctx: &[String]) -> Option<&'static [&'static str]> {
    let name = ctx.last()?.as_str();
    let parent = if ctx.len() >= 2 {
        ctx[ctx.len() - 2].as_str()
    } else {
        ""
    };
    match name {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "secrets" => Some(&["name"]),
        "volumeMounts" => Some(&["mountPath"]),
        "volumeDevices" => Some(&["devicePath"]),
        "hostAliases" => Some(&["ip"]),
        "ownerReferences" => Some(&["uid"]),
        "conditions" => Some(&["type"]),
        "topologySpreadConstraints" => Some(&["topologyKey", "whenUnsatisfiable"]),
        "ports" => {
            if ctx
                .iter()
                .any(|c| c == "containers" || c == "initContainers")
            {
                Some(&["containerPort", "protocol"])
            } else if parent == "spec" {
                Some(&["port", "protocol"])
            } else {
                None
            }
        }
        _ => None,
    }
}

fn key_default(field: &str) -> Option<Value> {
    if field == "protocol" {
        Some(Value::String("TCP".into()))
    } else {
        None
    }
}

/// The `k:{...}` element of a list item, or None if the item lacks its key.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        match item.get(k).cloned().or_else(|| key_default(k)) {
            Some(v) => {
                m.insert(k.to_string(), v);
            }
            None => return None,
        }
    }
    Some(format!("k:{}", Value::Object(m)))
}

fn item_matches(item: &Value, keys: &[&str], want: &str) -> bool {
    item_key(item, keys).as_deref() == Some(want)
}

/// Fields the object sets (leaves and keyed-list item memberships).
pub fn fields_of(v: &Value, skip_root_meta: bool) -> FieldSet {
    let mut out = FieldSet::new();
    let mut cur = Vec::new();
    let mut ctx = Vec::new();
    if let Value::Object(m) = v {
        for (k, cv) in m {
            if k == "apiVersion" || k == "kind" || (skip_root_meta && k == "status") {
                continue;
            }
            if k == "metadata" {
                if let Value::Object(mm) = cv {
                    for (mk, mv) in mm {
                        if matches!(
                            mk.as_str(),
                            "labels" | "annotations" | "ownerReferences" | "finalizers"
                        ) {
                            cur.push("f:metadata".to_string());
                            ctx.push("metadata".to_string());
                            cur.push(format!("f:{mk}"));
                            ctx.push(mk.clone());
                            walk(mv, &mut ctx, &mut cur, &mut out);
                            cur.truncate(0);
                            ctx.truncate(0);
                        }
                    }
                }
                continue;
            }
            cur.push(format!("f:{k}"));
            ctx.push(k.clone());
            walk(cv, &mut ctx, &mut cur, &mut out);
            cur.pop();
            ctx.pop();
        }
    }
    out
}

fn walk(v: &Value, ctx: &mut Vec<String>, cur: &mut Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, cv) in m {
                cur.push(format!("f:{k}"));
                ctx.push(k.clone());
                walk(cv, ctx, cur, out);
                cur.pop();
                ctx.pop();
            }
        }
        Value::Array(a) if list_keys(ctx).is_some() => {
            let keys = list_keys(ctx).unwrap();
            let mut any = false;
            for item in a {
                if let Some(k) = item_key(item, keys) {
                    any = true;
                    cur.push(k);
                    out.insert(cur.clone());
                    walk(item, ctx, cur, out);
                    cur.pop();
                }
            }
            if !any {
                out.insert(cur.clone());
            }
        }
        _ => {
            out.insert(cur.clone());
        }
    }
}

/// Fields a Go struct always has (non-pointer structs): present in any old object, so
/// never "added" by a write.
const ALWAYS_PRESENT: [&str; 7] = [
    "f:metadata",
    "f:spec",
    "f:status",
    "f:template",
    "f:strategy",
    "f:updateStrategy",
    "f:resources",
];

/// The maps (and optional structs) an Update added: an Update's field set holds their own
/// entry too, written `.: {}` beside their fields (`f:labels: {.: {}, f:app: {}}`), as the
/// apiserver's field manager records what a non-apply write created. `old` is `None` on
/// create.
pub fn added_maps(old: Option<&Value>, new: &Value, changed: &FieldSet) -> FieldSet {
    let mut out = FieldSet::new();
    for p in changed {
        for end in 1..p.len() {
            let q = &p[..end];
            let last = q[end - 1].as_str();
            if !last.starts_with("f:") || ALWAYS_PRESENT.contains(&last) {
                continue;
            }
            let is_map =
                get_at(new, q).is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()));
            let was = old.is_some_and(|o| get_at(o, q).is_some());
            if is_map && !was {
                out.insert(q.to_vec());
            }
        }
    }
    out
}

/// Encode a field set as fieldsV1 JSON.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut node = &mut root;
        for e in p {
            node = node
                .entry(e.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("object");
        }
        if p.last().is_some_and(|e| e.starts_with("k:")) {
            node.insert(".".into(), Value::Object(Map::new()));
        }
    }
    // a member that also has members below it: its own entry is `.`
    for p in set {
        if p.last().is_some_and(|e| e.starts_with("f:"))
            && set
                .range(p.clone()..)
                .nth(1)
                .is_some_and(|n| n.starts_with(p))
        {
            let mut node = &mut root;
            for e in p {
                node = node
                    .get_mut(e)
                    .and_then(|v| v.as_object_mut())
                    .expect("built above");
            }
            node.insert(".".into(), Value::Object(Map::new()));
        }
    }
    Value::Object(root)
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    let mut cur = Vec::new();
    fn rec(v: &Value, cur: &mut Path, out: &mut FieldSet) {
        if let Value::Object(m) = v {
            for (k, c) in m {
                if k == "." {
                    out.insert(cur.clone());
                    continue;
                }
                cur.push(k.clone());
                if c.as_object().is_none_or(|o| o.is_empty()) {
                    out.insert(cur.clone());
                } else {
                    rec(c, cur, out);
                }
                cur.pop();
            }
        }
    }
    rec(v, &mut cur, &mut out);
    out
}

fn ctx_of(path: &[String]) -> Vec<String> {
    path.iter()
        .filter_map(|e| e.strip_prefix("f:").map(|s| s.to_string()))
        .collect()
}

pub fn get_at<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for (i, e) in path.iter().enumerate() {
        if let Some(f) = e.strip_prefix("f:") {
            cur = cur.get(f)?;
        } else if e.starts_with("k:") {
            let ctx = ctx_of(&path[..i]);
            let keys = list_keys(&ctx)?;
            cur = cur
                .as_array()?
                .iter()
                .find(|it| item_matches(it, keys, e))?;
        } else {
            return None;
        }
    }
    Some(cur)
}

/// Remove the field or list item at `path`. Returns true if something was removed.
pub fn remove_at(v: &mut Value, path: &[String]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for (i, e) in parent_path.iter().enumerate() {
        let next = if let Some(f) = e.strip_prefix("f:") {
            cur.get_mut(f)
        } else {
            let ctx = ctx_of(&path[..i]);
            let Some(keys) = list_keys(&ctx) else {
                return false;
            };
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|it| item_matches(it, keys, e)))
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        cur.as_object_mut()
            .and_then(|m| m.shift_remove(f))
            .is_some()
    } else {
        let ctx = ctx_of(path);
        let Some(keys) = list_keys(&ctx) else {
            return false;
        };
        if let Some(a) = cur.as_array_mut() {
            let before = a.len();
            a.retain(|it| !item_matches(it, keys, last));
            before != a.len()
        } else {
            false
        }
    }
}

/// Server-side apply merge: set every applied field on live, merging keyed lists by key.
pub fn apply_merge(live: &mut Value, applied: &Value) {
    let mut ctx = Vec::new();
    merge_rec(live, applied, &mut ctx);
}

fn merge_rec(live: &mut Value, applied: &Value, ctx: &mut Vec<String>) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, av) in a {
                ctx.push(k.clone());
                match l.get_mut(k) {
                    Some(lv) => {
                        if let (Some(keys), Value::Array(la), Value::Array(aa)) =
                            (list_keys(ctx), &mut *lv, av)
                        {
                            for ai in aa {
                                let key = item_key(ai, keys);
                                match key.and_then(|key| {
                                    la.iter_mut().find(|li| item_matches(li, keys, &key))
                                }) {
                                    Some(li) => merge_rec(li, ai, ctx),
                                    None => la.push(ai.clone()),
                                }
                            }
                        } else if lv.is_object() && av.is_object() {
                            merge_rec(lv, av, ctx);
                        } else {
                            *lv = av.clone();
                        }
                    }
                    None => {
                        l.insert(k.clone(), av.clone());
                    }
                }
                ctx.pop();
            }
        }
        (l, a) => *l = a.clone(),
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.shift_remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

/// Strategic merge patch for the common cases kubectl sends.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let mut ctx = Vec::new();
    smp_rec(target, patch, &mut ctx);
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        o => o.clone(),
    }
}

fn smp_rec(target: &mut Value, patch: &Value, ctx: &mut Vec<String>) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(|v| v.as_str()) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().unwrap();
    for (k, pv) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(ta)), Value::Array(del)) = (t.get_mut(field), pv) {
                ta.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        ctx.push(k.clone());
        if pv.is_null() {
            t.shift_remove(k);
        } else if let (Some(keys), Value::Array(pa)) = (list_keys(ctx), pv) {
            let entry = t.entry(k.clone()).or_insert(Value::Array(vec![]));
            if !entry.is_array() {
                *entry = Value::Array(vec![]);
            }
            let la = entry.as_array_mut().unwrap();
            for pi in pa {
                let Some(key) = item_key(pi, keys) else {
                    continue;
                };
                let directive = pi.get("$patch").and_then(|v| v.as_str());
                if directive == Some("delete") {
                    la.retain(|li| !item_matches(li, keys, &key));
                    continue;
                }
                match la.iter_mut().find(|li| item_matches(li, keys, &key)) {
                    Some(li) => smp_rec(li, pi, ctx),
                    None => la.push(strip_directives(pi)),
                }
            }
        } else if pv.is_object() {
            let entry = t.entry(k.clone()).or_insert(Value::Object(Map::new()));
            smp_rec(entry, pv, ctx);
        } else {
            t.insert(k.clone(), strip_directives(pv));
        }
        ctx.pop();
    }
}
