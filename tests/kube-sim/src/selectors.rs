//! Label and field selectors.

use crate::error::ApiError;
use crate::resources::ResDef;
use crate::util;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<Req>);

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let bad = || {
                ApiError::bad_request(format!(
                    "unable to parse requirement: found '{p}', expected: label selector"
                ))
            };
            if let Some(k) = p.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some(i) = p.find(" notin ") {
                reqs.push(Req::NotIn(
                    p[..i].trim().into(),
                    parse_set(&p[i + 7..]).ok_or_else(bad)?,
                ));
            } else if let Some(i) = p.find(" in ") {
                reqs.push(Req::In(
                    p[..i].trim().into(),
                    parse_set(&p[i + 4..]).ok_or_else(bad)?,
                ));
            } else if p.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
                reqs.push(Req::Exists(p.to_string()));
            } else {
                return Err(bad());
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// From a metav1.LabelSelector object (matchLabels + matchExpressions).
    pub fn from_selector(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(|m| m.as_object()) {
            for (k, v) in ml {
                reqs.push(Req::Eq(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        if let Some(me) = sel.get("matchExpressions").and_then(|m| m.as_array()) {
            for e in me {
                let k = util::str_of(e, "key");
                let vals: Vec<String> = e
                    .get("values")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                match util::str_of(e, "operator").as_str() {
                    "In" => reqs.push(Req::In(k, vals)),
                    "NotIn" => reqs.push(Req::NotIn(k, vals)),
                    "Exists" => reqs.push(Req::Exists(k)),
                    "DoesNotExist" => reqs.push(Req::NotExists(k)),
                    _ => {}
                }
            }
        }
        LabelSelector(reqs)
    }

    /// Selector from a plain map (Service spec.selector).
    pub fn from_map(m: &Value) -> Self {
        LabelSelector(
            m.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            Req::Eq(k.clone(), v.as_str().unwrap_or_default().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    pub fn matches_labels(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| -> Option<String> {
            labels
                .and_then(|l| l.get(k))
                .and_then(|v| v.as_str())
                .map(String::from)
        };
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k).as_deref() == Some(v.as_str()),
            Req::Ne(k, v) => get(k).as_deref() != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.contains(&x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.contains(&x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.matches_labels(obj.pointer("/metadata/labels"))
    }
}

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for p in s.split(',') {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            if let Some((k, v)) = p.split_once("!=") {
                out.push((k.trim().to_string(), false, v.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                out.push((k.trim().to_string(), true, v.trim().to_string()));
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{p}'; can't understand '{p}'"
                )));
            }
        }
        Ok(FieldSelector(out))
    }

    /// Parse and check every field against what the resource's registry supports (the
    /// apiserver answers 400 `field label not supported: F` for any other field).
    pub fn parse_for(rd: &ResDef, s: &str) -> Result<Self, ApiError> {
        let fs = Self::parse(s)?;
        let allowed = supported_fields(rd);
        for (k, _, _) in &fs.0 {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
        }
        Ok(fs)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            let actual = field_value(obj, k);
            (actual == *v) == *eq
        })
    }
}

/// The field labels each registry's GetAttrs offers (metadata.name / metadata.namespace
/// for every resource).
fn supported_fields(rd: &ResDef) -> Vec<&'static str> {
    let mut f = vec!["metadata.name", "metadata.namespace"];
    let extra: &[&str] = match (rd.group, rd.plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "services") => &["spec.clusterIP", "spec.type"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    };
    f.extend_from_slice(extra);
    f
}

/// A field label's value as the registry computes it.
fn field_value(obj: &Value, label: &str) -> String {
    match label {
        "spec.hostNetwork" | "spec.unschedulable" => {
            if util::dotted(obj, label).and_then(|v| v.as_bool()) == Some(true) {
                "true".into()
            } else {
                "false".into()
            }
        }
        "status.successful" => util::str_of(obj, "status.succeeded"),
        "status.podIPs" => util::str_of(obj, "status.podIP"),
        "source" => util::str_of(obj, "source.component"),
        "reportingComponent" => {
            let r = util::str_of(obj, "reportingComponent");
            if r.is_empty() {
                util::str_of(obj, "source.component")
            } else {
                r
            }
        }
        "status.replicas" => {
            let r = util::str_of(obj, "status.replicas");
            if r.is_empty() { "0".into() } else { r }
        }
        other => util::str_of(obj, other),
    }
}
