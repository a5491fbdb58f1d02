//! Authorization: the behaviours file's `deny:` rules, the 403 a real apiserver answers
//! when RBAC does not allow a request, and the self-subject reviews that `kubectl auth
//! can-i` / `kubectl auth whoami` send.

use crate::error::ApiError;
use crate::resources::{self, ResDef};
use crate::{Behaviors, DenyRule, util};
use serde_json::{Value, json};

/// What a request asks to do, in RBAC terms.
#[derive(Debug, Clone)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

fn glob_any(patterns: &[String], s: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| util::glob_match(p, s))
}

impl DenyRule {
    /// Does this rule deny the request described by `a`?
    pub fn denies(&self, a: &Attributes) -> bool {
        if !(self.verbs.is_empty() || self.verbs.iter().any(|v| v == "*" || *v == a.verb)) {
            return false;
        }
        if !glob_any(&self.namespaces, &a.namespace) {
            return false;
        }
        if !self.names.is_empty() && !self.names.contains(&a.name) {
            return false;
        }
        self.resources.is_empty() || self.resources.iter().any(|r| resource_matches(r, a))
    }
}

/// `secrets`, `deployments.apps`, `pods/exec`, `pods/*`, `*`, `*.apps`.
fn resource_matches(pattern: &str, a: &Attributes) -> bool {
    if pattern == "*" {
        return true;
    }
    let (res, sub) = match pattern.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (pattern, None),
    };
    match sub {
        None if !a.subresource.is_empty() => return false,
        Some(s) if s != "*" && s != a.subresource => return false,
        _ => {}
    }
    match res.split_once('.') {
        Some((plural, group)) => {
            (plural == "*" || plural == a.resource) && (group == "*" || group == a.group)
        }
        None => res == "*" || res == a.resource,
    }
}

pub fn user(b: &Behaviors) -> (String, Vec<String>) {
    match &b.user {
        Some(u) => {
            let mut groups = u.groups.clone();
            if !groups.iter().any(|g| g == "system:authenticated") {
                groups.push("system:authenticated".into());
            }
            (u.name.clone(), groups)
        }
        None => (
            "kube-sim".into(),
            vec!["system:masters".into(), "system:authenticated".into()],
        ),
    }
}

pub fn allowed(b: &Behaviors, a: &Attributes) -> bool {
    !b.deny.iter().any(|r| r.denies(a))
}

/// The apiserver's 403 for a request RBAC does not allow.
pub fn forbidden(b: &Behaviors, a: &Attributes) -> ApiError {
    let (user, _) = user(b);
    let res = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    let why = format!(
        "User \"{user}\" cannot {} resource \"{res}\" in API group \"{}\" {scope}",
        a.verb, a.group
    );
    let qualified = if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let msg = if a.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {why}", a.name)
    };
    let mut e = ApiError::new(403, "Forbidden", msg);
    let mut d = json!({"name": a.name, "kind": a.resource});
    if !a.group.is_empty() {
        d["group"] = json!(a.group);
    }
    e.details = Some(d);
    e
}

/// Answer a POST to one of the review resources (`create_only` in the resource table).
pub fn review(
    b: &Behaviors,
    rd: &ResDef,
    body: &Value,
    catalog: &resources::Catalog,
) -> Result<Value, ApiError> {
    let mut out = body.clone();
    if !out.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    out["apiVersion"] = json!(rd.api_version());
    out["kind"] = json!(rd.kind);
    if out.get("metadata").is_none_or(|m| !m.is_object()) {
        out["metadata"] = json!({});
    }
    out["metadata"]["creationTimestamp"] = Value::Null;
    let (username, groups) = user(b);
    match rd.kind {
        "SelfSubjectReview" => {
            out["status"] = json!({"userInfo": {"username": username, "groups": groups}});
        }
        "SelfSubjectAccessReview" => {
            let spec = out.get("spec").cloned().unwrap_or(json!({}));
            let allowed = if let Some(ra) = spec.get("resourceAttributes") {
                let a = Attributes {
                    verb: util::str_of(ra, "verb"),
                    group: util::str_of(ra, "group"),
                    resource: util::str_of(ra, "resource"),
                    subresource: util::str_of(ra, "subresource"),
                    namespace: util::str_of(ra, "namespace"),
                    name: util::str_of(ra, "name"),
                };
                if a.verb.is_empty() {
                    return Err(ApiError::invalid(
                        rd,
                        "",
                        vec![(
                            "spec.resourceAttributes.verb".into(),
                            "FieldValueRequired",
                            "Required value".into(),
                        )],
                    ));
                }
                allowed(b, &a)
            } else if spec.get("nonResourceAttributes").is_some() {
                true
            } else {
                return Err(ApiError::invalid(
                    rd,
                    "",
                    vec![(
                        "spec.resourceAttributes".into(),
                        "FieldValueRequired",
                        "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
                    )],
                ));
            };
            out["status"] = if allowed {
                json!({"allowed": true})
            } else {
                json!({"allowed": false})
            };
        }
        "SelfSubjectRulesReview" => {
            let ns = util::str_of(&out, "spec.namespace");
            let rules = if b.deny.is_empty() {
                vec![json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})]
            } else {
                rules_for(b, &ns, catalog)
            };
            out["status"] = json!({
                "resourceRules": rules,
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    Ok(out)
}

/// With deny rules in force, list what is still allowed, resource by resource (as RBAC
/// lists the rules that grant access).
fn rules_for(b: &Behaviors, ns: &str, catalog: &resources::Catalog) -> Vec<Value> {
    let mut out = Vec::new();
    for rd in catalog.iter() {
        if rd.create_only {
            continue;
        }
        let mut names: Vec<String> = vec![rd.plural.to_string()];
        for s in rd.subresources {
            names.push(format!("{}/{s}", rd.plural));
        }
        if rd.status {
            names.push(format!("{}/status", rd.plural));
        }
        for full in names {
            let (res, sub) = full.split_once('/').unwrap_or((full.as_str(), ""));
            let verbs: Vec<&str> = rd
                .verbs()
                .into_iter()
                .filter(|v| {
                    allowed(
                        b,
                        &Attributes {
                            verb: v.to_string(),
                            group: rd.group.into(),
                            resource: res.into(),
                            subresource: sub.into(),
                            namespace: if rd.namespaced {
                                ns.into()
                            } else {
                                String::new()
                            },
                            name: String::new(),
                        },
                    )
                })
                .collect();
            if !verbs.is_empty() {
                out.push(json!({"verbs": verbs, "apiGroups": [rd.group], "resources": [full]}));
            }
        }
    }
    out
}
