//! The typed check: a built-in kind deserialized into its k8s-openapi
//! type, every unknown field and every type error located by path.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::*;

/// Deserializes `object` into `T`, reporting every type error and every
/// field `T` does not know.
pub(super) fn check_typed<T: for<'de> Deserialize<'de>>(object: &Value, report: &mut Report) {
    check_typed_at::<T>(object, "", report);
}

/// [`check_typed`] for a part of the object, found at `prefix`.
pub(super) fn check_typed_at<T: for<'de> Deserialize<'de>>(
    object: &Value,
    prefix: &str,
    report: &mut Report,
) {
    let join = |path: &str| match (prefix, path) {
        ("", path) => path.to_string(),
        (prefix, "") => prefix.to_string(),
        (prefix, path) if path.starts_with('[') => format!("{prefix}{path}"),
        (prefix, path) => format!("{prefix}.{path}"),
    };
    let attempt = |doc: &Value| -> Result<Vec<String>, String> {
        let mut ignored = Vec::new();
        serde_ignored::deserialize::<_, _, T>(doc, |path| ignored.push(format_ignored(&path)))
            .map(|_| ignored)
            .map_err(|e| e.to_string())
    };
    let report_ignored = |report: &mut Report, ignored: Vec<String>| {
        for path in ignored {
            report.at(
                &join(&path),
                "unknown field (misspelled, or not in this apiVersion)",
            );
        }
    };
    // The common case, a valid object: no copy to shrink.
    if let Ok(ignored) = attempt(object) {
        report_ignored(report, ignored);
        return;
    }
    // Each round locates the first type error, reports it and removes the
    // offending field, so that the next round finds the next one.
    let mut doc = object.clone();
    for _ in 0..MAX_TYPE_ERRORS {
        match attempt(&doc) {
            Ok(ignored) => {
                report_ignored(report, ignored);
                return;
            }
            Err(message) => {
                let path = locate_error(&doc, &|d| attempt(d).is_ok());
                report.at(&join(&format_path(&path)), report.error_message(&message));
                if path.is_empty() || !remove_at(&mut doc, &path) {
                    return;
                }
            }
        }
    }
    report.whole("too many type errors; stopped looking");
}

pub(super) const MAX_TYPE_ERRORS: usize = 20;

/// A step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// Finds the path of the first (in document order) node that makes `ok` fail.
///
/// Descends from the root: at each node, the children are kept one more at a
/// time (later ones dropped, as later siblings of every ancestor already
/// are); the child whose addition makes the document fail holds the error.
/// If the node fails even with no children, the node itself is wrong.
pub(super) fn locate_error(doc: &Value, ok: &dyn Fn(&Value) -> bool) -> Vec<Step> {
    let mut work = doc.clone();
    let mut path = Vec::new();
    loop {
        let len = match node_at(&work, &path) {
            Some(Value::Object(map)) => map.len(),
            Some(Value::Array(items)) => items.len(),
            _ => return path,
        };
        let mut found = None;
        for keep in 0..=len {
            let mut candidate = work.clone();
            let node = node_at_mut(&mut candidate, &path).expect("path was just read");
            truncate(node, keep);
            if !ok(&candidate) {
                found = Some((keep, candidate));
                break;
            }
        }
        match found {
            Some((0, _)) | None => return path,
            Some((keep, candidate)) => {
                let step = match node_at(&candidate, &path) {
                    Some(Value::Object(map)) => {
                        Step::Key(map.keys().nth(keep - 1).cloned().unwrap_or_default())
                    }
                    _ => Step::Index(keep - 1),
                };
                work = candidate;
                path.push(step);
            }
        }
    }
}

pub(super) fn truncate(node: &mut Value, keep: usize) {
    match node {
        Value::Object(map) => {
            let kept: Map<String, Value> = std::mem::take(map).into_iter().take(keep).collect();
            *map = kept;
        }
        Value::Array(items) => items.truncate(keep),
        _ => {}
    }
}

pub(super) fn node_at<'a>(doc: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, step| match step {
        Step::Key(key) => node.get(key),
        Step::Index(index) => node.get(index),
    })
}

pub(super) fn node_at_mut<'a>(doc: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |node, step| match step {
        Step::Key(key) => node.get_mut(key),
        Step::Index(index) => node.get_mut(index),
    })
}

pub(super) fn remove_at(doc: &mut Value, path: &[Step]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    match (node_at_mut(doc, parent), last) {
        (Some(Value::Object(map)), Step::Key(key)) => map.shift_remove(key).is_some(),
        (Some(Value::Array(items)), Step::Index(index)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// `spec.template.spec.containers[0].resorces`; keys that are not plain
/// identifiers (label keys) are quoted: `metadata.labels["app.kubernetes.io/name"]`.
pub(super) fn format_path(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        push_step(&mut out, step);
    }
    out
}

pub(super) fn push_step(out: &mut String, step: &Step) {
    match step {
        Step::Index(index) => out.push_str(&format!("[{index}]")),
        Step::Key(key) if is_identifier(key) => {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        }
        Step::Key(key) => out.push_str(&format!("[{key:?}]")),
    }
}

pub(super) fn is_identifier(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn format_ignored(path: &serde_ignored::Path<'_>) -> String {
    fn steps(path: &serde_ignored::Path<'_>, out: &mut Vec<Step>) {
        use serde_ignored::Path;
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                steps(parent, out);
                out.push(Step::Index(*index));
            }
            Path::Map { parent, key } => {
                steps(parent, out);
                out.push(Step::Key(key.clone()));
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => steps(parent, out),
        }
    }
    let mut out = Vec::new();
    steps(path, &mut out);
    format_path(&out)
}
