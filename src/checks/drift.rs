//! `drift` and `policy`: the release rendered again (the verified version,
//! the secret values given or else the cluster's own), planned with a
//! server-side dry run against the live objects — what a deploy would
//! change is what someone changed by hand — and the render's policy checks
//! re-run on the live objects.

use serde_json::Value;

use super::{CheckId, CheckResult, Findings, Status, count};
use crate::cluster::apply::{FIELD_MANAGER, PlannedAction, PlannedChange};
use crate::render::Manifest;
use crate::render::policy::{self, PolicyOptions, Severity};

/// One step of a changed-field path: `.spec.template` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Step::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                if let Ok(i) = stripped[..close].parse() {
                    out.push(Step::Index(i));
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(Step::Key(rest.to_string()));
        }
    }
    out
}

/// Whether the managedFields entry's `fieldsV1` covers `path` of `live`.
fn covers(fields: &Value, live: &Value, path: &[Step]) -> bool {
    let mut node = fields;
    let mut object = live;
    for step in path {
        match step {
            Step::Key(k) => {
                let Some(next) = node.get(format!("f:{k}")) else {
                    return false;
                };
                node = next;
                object = &object[k.as_str()];
            }
            Step::Index(i) => {
                let item = &object[*i];
                let keyed = item["name"]
                    .as_str()
                    .map(|n| format!("k:{}", serde_json::json!({"name": n})));
                let next = keyed.and_then(|k| node.get(&k)).or_else(|| {
                    // Lists keyed by other fields (ports by containerPort): the
                    // only keyed item, or one whose key mentions the value.
                    let keyed: Vec<(&String, &Value)> = node
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| k.starts_with("k:") || k.starts_with("v:"))
                        .collect();
                    match keyed.as_slice() {
                        [(_, only)] => Some(*only),
                        many => many
                            .iter()
                            .find(|(k, _)| {
                                item.as_object()
                                    .is_some_and(|o| o.values().any(|v| k.contains(&v.to_string())))
                            })
                            .map(|(_, v)| *v),
                    }
                });
                let Some(next) = next else {
                    return false;
                };
                node = next;
                object = item;
            }
        }
    }
    true
}

/// The field managers other than fintechctl that own `path` in `live`
/// (`kubectl-edit`, `kubectl` through the scale subresource, …).
pub fn owners(live: &Value, path: &str) -> Vec<String> {
    let path = steps(path);
    let mut found: Vec<String> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] != FIELD_MANAGER)
        .filter(|e| covers(&e["fieldsV1"], live, &path))
        .map(|e| {
            let manager = e["manager"].as_str().unwrap_or("unknown").to_string();
            match e["subresource"].as_str() {
                Some(sub) if !sub.is_empty() => format!("{manager} (/{sub})"),
                _ => manager,
            }
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The `drift` check from the plan of the rendered release.
pub fn drift(plan: &[PlannedChange], version: &str) -> CheckResult {
    let mut f = Findings::default();
    let mut unchanged = 0;
    for change in plan {
        match change.action {
            PlannedAction::Unchanged => unchanged += 1,
            PlannedAction::Create => {
                f.fail(format!("{}: missing from the cluster", change.display));
                f.hint(format!(
                    "someone deleted it, or the deploy of {version} did not get that far: `fintechctl deploy` puts it back"
                ));
            }
            PlannedAction::Change => {
                let live = change.live.clone().unwrap_or(Value::Null);
                let fields: Vec<String> = change
                    .fields
                    .iter()
                    .map(|path| {
                        let by = owners(&live, path);
                        if by.is_empty() {
                            path.clone()
                        } else {
                            format!("{path} (changed by {})", by.join(", "))
                        }
                    })
                    .collect();
                f.fail(format!("{}: {}", change.display, fields.join(", ")));
                f.hint(format!(
                    "a change made outside fintechctl (`kubectl edit`, `kubectl scale`, …) is lost at the next deploy: put it in the environment file and deploy, or `fintechctl deploy … --version {version}` to undo it (`fintechctl diff` shows the values)"
                ));
            }
            PlannedAction::Skip => f.pass(format!(
                "{}: not compared (its CRD is not installed)",
                change.display
            )),
            PlannedAction::Unknown => f.warn(format!(
                "{}: not compared (its secret values are unknown)",
                change.display
            )),
        }
    }
    let drifted = f.lines(Status::Fail).len();
    if drifted == 0 {
        f.pass(format!(
            "{} equal the render of {version}",
            count(unchanged, "object", "objects")
        ));
    }
    let summary = if drifted == 0 {
        format!("live objects match release {version}")
    } else {
        format!(
            "{} differ from release {version}",
            count(drifted, "object", "objects")
        )
    };
    f.finish(CheckId::Drift, summary)
}

/// The `drift` check while a canary runs (docs/canary.md): its objects
/// and the stable Services' track selector are the canary's, not drift,
/// and the stable version is not judged against the canary's revision.
pub fn canary_in_progress(environment: &str, objects: &[String]) -> CheckResult {
    let mut f = Findings::default();
    f.warn(format!("a canary is in progress: {}", objects.join(", ")));
    f.hint(format!(
        "drift is judged once the canary ends: a paused one is finished with `fintechctl promote {environment}` or `fintechctl abort {environment}`; one a stopped run left is removed by `fintechctl abort {environment}` or the next deploy"
    ));
    f.finish(
        CheckId::Drift,
        format!(
            "a canary is in progress ({})",
            count(objects.len(), "object", "objects")
        ),
    )
}

/// The `policy` check: the render's rules on the live objects that the
/// plan read (each under its manifest's template name).
pub fn policy_on_live(
    plan: &[PlannedChange],
    rendered: &[Manifest],
    options: &PolicyOptions,
) -> CheckResult {
    let live: Vec<Manifest> = plan
        .iter()
        .filter_map(|c| {
            let object = c.live.clone()?;
            let template = rendered
                .iter()
                .find(|m| m.display() == c.display && m.namespace() == c.namespace.as_deref())
                .map(|m| m.template.clone())
                .unwrap_or_else(|| "live".to_string());
            Some(Manifest::new(template, object))
        })
        .collect();
    let mut f = Findings::default();
    let findings = policy::check(&live, options);
    for finding in &findings {
        let line = format!("[{}] {}: {}", finding.rule, finding.object, finding.message);
        match finding.severity {
            Severity::Error => f.fail(line),
            Severity::Warning => f.warn(line),
        }
    }
    if findings.iter().any(|x| x.severity == Severity::Error) {
        f.hint("the live objects break a rule the render enforces: someone changed them by hand; `fintechctl deploy` restores the rendered ones");
    }
    let summary = if findings.is_empty() {
        f.pass(format!(
            "{} pass every rule",
            count(live.len(), "live object", "live objects")
        ));
        format!(
            "{} pass every rule",
            count(live.len(), "live object", "live objects")
        )
    } else {
        format!(
            "{} on {}",
            count(findings.len(), "finding", "findings"),
            count(live.len(), "live object", "live objects")
        )
    };
    f.finish(CheckId::Policy, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            steps(".spec.template.spec.containers[0].image"),
            vec![
                Step::Key("spec".into()),
                Step::Key("template".into()),
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Index(0),
                Step::Key("image".into())
            ]
        );
    }

    #[test]
    fn the_other_manager_of_a_field_is_named() {
        let live = json!({
            "metadata": {"managedFields": [
                {"manager": "fintechctl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}}}}}}}},
                {"manager": "kubectl", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}}}}}}}}
            ]},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "api", "image": "x:2"}]}}}
        });
        assert_eq!(owners(&live, ".spec.replicas"), vec!["kubectl (/scale)"]);
        assert_eq!(
            owners(&live, ".spec.template.spec.containers[0].image"),
            vec!["kubectl-edit"]
        );
        assert!(owners(&live, ".metadata.labels.x").is_empty());
    }
}
