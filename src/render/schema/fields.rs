//! The rules the API server applies that the types do not carry: the
//! path walker, required fields k8s-openapi defaults, quantities, names
//! and labels, a selector that selects its own pods.

use std::fmt;

use serde_json::{Map, Value};

use super::*;
use crate::render::selector::selector_matches;

/// Walks `pattern` (dot-separated keys, `[*]` for every list item) and calls
/// `visit` with each node it reaches and that node's concrete path.
pub(super) fn each_at<'a>(
    node: &'a Value,
    pattern: &str,
    visit: &mut dyn FnMut(&'a Value, &Trail<'_>),
) {
    fn walk<'a, 'p>(
        node: &'a Value,
        steps: &[&'p str],
        trail: &mut Trail<'p>,
        visit: &mut dyn FnMut(&'a Value, &Trail<'_>),
    ) {
        let Some((first, rest)) = steps.split_first() else {
            visit(node, trail);
            return;
        };
        let (key, every) = match first.strip_suffix("[*]") {
            Some(key) => (key, true),
            None => (*first, false),
        };
        let Some(child) = node.get(key) else {
            return;
        };
        trail.0.push(TrailStep::Key(key));
        if every {
            for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                trail.0.push(TrailStep::Index(i));
                walk(item, rest, trail, visit);
                trail.0.pop();
            }
        } else {
            walk(child, rest, trail, visit);
        }
        trail.0.pop();
    }
    let steps: Vec<&str> = pattern.split('.').filter(|s| !s.is_empty()).collect();
    walk(node, &steps, &mut Trail(Vec::new()), visit);
}

/// Where [`each_at`] is, as steps; formatted (like [`format_path`]) only
/// when a violation needs the path.
pub(super) struct Trail<'p>(Vec<TrailStep<'p>>);

#[derive(Clone, Copy)]
pub(super) enum TrailStep<'p> {
    Key(&'p str),
    Index(usize),
}

impl Trail<'_> {
    /// The path of the node's child `key`.
    fn child(&self, key: &str) -> String {
        child_path(self, key)
    }
}

/// `parent` (a path) and its child `key`.
pub(super) fn child_path(parent: &dyn fmt::Display, key: &str) -> String {
    let mut path = parent.to_string();
    push_step(&mut path, &Step::Key(key.to_string()));
    path
}

impl fmt::Display for Trail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path = String::new();
        for step in &self.0 {
            match *step {
                TrailStep::Key(key) => push_step(&mut path, &Step::Key(key.to_string())),
                TrailStep::Index(i) => push_step(&mut path, &Step::Index(i)),
            }
        }
        f.write_str(&path)
    }
}

/// Where a kind keeps its pod template, if it has one.
pub(super) fn pod_template_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some("spec.template"),
        "CronJob" => Some("spec.jobTemplate.spec.template"),
        _ => None,
    }
}

/// Fields the API server requires but k8s-openapi silently defaults:
/// `(parent pattern, field)`; the field must be present and not empty.
pub(super) fn required_fields(kind: &str) -> Vec<(String, &'static str)> {
    let mut fields: Vec<(String, &'static str)> = vec![(String::from("metadata"), "name")];
    let mut add = |parent: &str, field: &'static str| fields.push((parent.to_string(), field));
    if let Some(template) = pod_template_path(kind) {
        add(template, "spec");
        let pod = format!("{template}.spec");
        add(&pod, "containers");
        for list in ["containers", "initContainers"] {
            let container = format!("{pod}.{list}[*]");
            add(&container, "name");
            add(&container, "image");
            add(&format!("{container}.ports[*]"), "containerPort");
            add(&format!("{container}.env[*]"), "name");
            add(&format!("{container}.volumeMounts[*]"), "name");
            add(&format!("{container}.volumeMounts[*]"), "mountPath");
        }
        add(&format!("{pod}.volumes[*]"), "name");
    }
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => add("spec", "selector"),
        "CronJob" => add("spec", "schedule"),
        "Service" => add("spec.ports[*]", "port"),
        "Role" | "ClusterRole" => add("rules[*]", "verbs"),
        "RoleBinding" | "ClusterRoleBinding" => {
            add("", "roleRef");
            add("roleRef", "kind");
            add("roleRef", "name");
            add("subjects[*]", "kind");
            add("subjects[*]", "name");
        }
        "HorizontalPodAutoscaler" => {
            add("", "spec");
            add("spec", "scaleTargetRef");
            add("spec.scaleTargetRef", "kind");
            add("spec.scaleTargetRef", "name");
            add("spec", "maxReplicas");
        }
        "Ingress" => {
            add("spec.rules[*].http.paths[*]", "pathType");
            add("spec.rules[*].http.paths[*]", "backend");
        }
        "PersistentVolumeClaim" => add("spec.resources.requests", "storage"),
        _ => {}
    }
    fields
}

pub(super) fn check_required(kind: &str, object: &Value, report: &mut Report) {
    for (parent, field) in required_fields(kind) {
        each_at(object, &parent, &mut |node, trail| {
            let problem = match node.get(field) {
                None | Some(Value::Null) => "required field is missing",
                Some(Value::String(s)) if s.is_empty() => "must not be empty",
                Some(Value::Array(items)) if items.is_empty() => "must not be empty",
                Some(_) => return,
            };
            report.at(&trail.child(field), problem);
        });
    }
}

/// Quantities are plain strings to k8s-openapi; the API server parses them.
pub(super) fn check_quantities(kind: &str, object: &Value, report: &mut Report) {
    let mut maps: Vec<String> = Vec::new();
    if let Some(template) = pod_template_path(kind) {
        for list in ["containers", "initContainers"] {
            for bound in ["requests", "limits"] {
                maps.push(format!("{template}.spec.{list}[*].resources.{bound}"));
            }
        }
        maps.push(format!("{template}.spec.overhead"));
    }
    match kind {
        "ResourceQuota" => maps.push("spec.hard".into()),
        "LimitRange" => {
            for bound in [
                "max",
                "min",
                "default",
                "defaultRequest",
                "maxLimitRequestRatio",
            ] {
                maps.push(format!("spec.limits[*].{bound}"));
            }
        }
        "PersistentVolumeClaim" => {
            maps.push("spec.resources.requests".into());
            maps.push("spec.resources.limits".into());
        }
        "StatefulSet" => {
            maps.push("spec.volumeClaimTemplates[*].spec.resources.requests".into());
            maps.push("spec.volumeClaimTemplates[*].spec.resources.limits".into());
        }
        _ => {}
    }
    for pattern in maps {
        each_at(object, &pattern, &mut |node, trail| {
            if node.is_object() {
                check_resource_map(node, trail, report);
            }
        });
    }
    // A misspelled resource name (`memroy`) is a map key, invisible to the
    // typed check; the API server rejects it.
    if let Some(template) = pod_template_path(kind) {
        for list in ["containers", "initContainers"] {
            for bound in ["requests", "limits"] {
                let pattern = format!("{template}.spec.{list}[*].resources.{bound}");
                each_at(object, &pattern, &mut |node, trail| {
                    for resource in node.as_object().into_iter().flatten().map(|(k, _)| k) {
                        if !is_container_resource(resource) {
                            report.at(
                                &trail.child(resource),
                                "unknown resource (expected cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-qualified extended resource)",
                            );
                        }
                    }
                });
            }
        }
    }
}

pub(super) fn is_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name.starts_with("hugepages-")
        || name.contains('/')
}

/// Names, label keys and values and annotation keys, as the API server
/// validates them: a version label of `1.4.2+build` is rejected at apply.
pub(super) fn check_names_and_labels(kind: &str, object: &Value, report: &mut Report) {
    if let Some(name) = object["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
    {
        let problem = match kind {
            "Namespace" | "Service" => dns_label_problem(name),
            // RBAC names may hold `:` (`system:…`); they only must be a path segment.
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
                if name == "." || name == ".." || name.contains(['/', '%']) {
                    Some("must not be `.` or `..` or contain `/` or `%`".to_string())
                } else {
                    None
                }
            }
            _ => dns_subdomain_problem(name),
        };
        if let Some(problem) = problem {
            report.at("metadata.name", format!("invalid name `{name}`: {problem}"));
        }
    }
    let mut label_maps = vec![String::from("metadata.labels")];
    if let Some(template) = pod_template_path(kind) {
        label_maps.push(format!("{template}.metadata.labels"));
    }
    for pattern in label_maps {
        each_at(object, &pattern, &mut |labels, trail| {
            for (key, value) in labels.as_object().into_iter().flatten() {
                if let Some(problem) = qualified_name_problem(key) {
                    report.at(&trail.child(key), format!("invalid label key: {problem}"));
                }
                if let Some(problem) = value.as_str().and_then(label_value_problem) {
                    report.at(
                        &trail.child(key),
                        format!("invalid label value {value}: {problem}"),
                    );
                }
            }
        });
    }
    for (key, _) in object["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some(problem) = qualified_name_problem(key) {
            let mut at = String::from("metadata.annotations");
            push_step(&mut at, &Step::Key(key.clone()));
            report.at(&at, format!("invalid annotation key: {problem}"));
        }
    }
}

/// apps/v1 rejects a workload whose selector does not select its own pods.
pub(super) fn check_selector_matches_template(kind: &str, object: &Value, report: &mut Report) {
    if !matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
        return;
    }
    let selector = &object["spec"]["selector"];
    let Some(fields) = selector.as_object() else {
        return; // reported as missing
    };
    let empty = |field: &str| {
        fields.get(field).is_none_or(|v| {
            v.as_object().is_some_and(Map::is_empty)
                || v.as_array().is_some_and(Vec::is_empty)
                || v.is_null()
        })
    };
    if empty("matchLabels") && empty("matchExpressions") {
        report.at(
            "spec.selector",
            "an empty selector is invalid for a workload",
        );
        return;
    }
    let labels = object["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if !selector_matches(selector, &labels) {
        report.at(
            "spec.selector",
            "does not select the pod template's labels (spec.template.metadata.labels)",
        );
    }
}
