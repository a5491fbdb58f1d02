//! Strict schema validation of rendered manifests, before anything is printed
//! or applied.
//!
//! Built-in kinds are deserialized into their k8s-openapi types. Those types
//! silently drop unknown fields and default missing required ones, which is
//! exactly how a misspelled `resorces:` ships to production unnoticed, so:
//! - unknown fields are found with `serde_ignored`, which reports the path of
//!   every key the typed visitor skipped;
//! - type errors are located by shrinking the document until the error goes
//!   away (serde_json errors on a `Value` carry no path), and every one is
//!   reported, not just the first;
//! - required fields the API server insists on but k8s-openapi defaults
//!   (`metadata.name`, a container's `name` and `image`, …) are checked by hand;
//! - resource quantities are parsed, because `Quantity` is only a string.
//!
//! The one CRD fintechctl renders, the VerticalPodAutoscaler, has no
//! k8s-openapi type; its fields are checked by hand.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::render::Manifest;
use crate::render::quantity::{parse_cpu_millis, parse_memory_bytes};
use crate::render::selector::selector_matches;

/// One reason a rendered object would be rejected (or silently mangled) by
/// the API server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaViolation {
    /// `Kind/name (template)`, e.g. `Deployment/api-gateway (api-gateway.yaml)`.
    pub object: String,
    /// Field path inside the object, e.g. `spec.template.spec.containers[0].resorces`;
    /// empty when the violation is about the whole object.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.object, self.path, self.message)
        }
    }
}

/// Validates every manifest; returns every violation found, in manifest order.
pub fn validate(manifests: &[Manifest]) -> Vec<SchemaViolation> {
    manifests.iter().flat_map(validate_one).collect()
}

/// A kind this module validates and how: the typed check for a built-in
/// kind, by hand for the VerticalPodAutoscaler CRD.
struct KnownKind {
    api_version: &'static str,
    kind: &'static str,
    check: fn(&Value, &mut Report<'_>),
}

const fn known(
    api_version: &'static str,
    kind: &'static str,
    check: fn(&Value, &mut Report<'_>),
) -> KnownKind {
    KnownKind {
        api_version,
        kind,
        check,
    }
}

/// Every kind fintechctl renders: the one table [`KNOWN_KINDS`] and the
/// checks are both read from.
const KINDS: [KnownKind; 22] = {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac};
    const RBAC: &str = "rbac.authorization.k8s.io/v1";
    const NETWORKING: &str = "networking.k8s.io/v1";
    [
        known("v1", "Namespace", check_typed::<core::v1::Namespace>),
        known(
            "v1",
            "ResourceQuota",
            check_typed::<core::v1::ResourceQuota>,
        ),
        known("v1", "LimitRange", check_typed::<core::v1::LimitRange>),
        known(
            "v1",
            "ServiceAccount",
            check_typed::<core::v1::ServiceAccount>,
        ),
        known("v1", "Secret", check_typed::<core::v1::Secret>),
        known("v1", "ConfigMap", check_typed::<core::v1::ConfigMap>),
        known("v1", "Service", check_typed::<core::v1::Service>),
        known(
            "v1",
            "PersistentVolumeClaim",
            check_typed::<core::v1::PersistentVolumeClaim>,
        ),
        known("apps/v1", "Deployment", check_typed::<apps::v1::Deployment>),
        known(
            "apps/v1",
            "StatefulSet",
            check_typed::<apps::v1::StatefulSet>,
        ),
        known("apps/v1", "DaemonSet", check_typed::<apps::v1::DaemonSet>),
        known("batch/v1", "Job", check_typed::<batch::v1::Job>),
        known("batch/v1", "CronJob", check_typed::<batch::v1::CronJob>),
        known(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            check_typed::<autoscaling::v2::HorizontalPodAutoscaler>,
        ),
        known(
            "policy/v1",
            "PodDisruptionBudget",
            check_typed::<policy::v1::PodDisruptionBudget>,
        ),
        known(
            NETWORKING,
            "NetworkPolicy",
            check_typed::<networking::v1::NetworkPolicy>,
        ),
        known(
            NETWORKING,
            "Ingress",
            check_typed::<networking::v1::Ingress>,
        ),
        known(RBAC, "Role", check_typed::<rbac::v1::Role>),
        known(RBAC, "RoleBinding", check_typed::<rbac::v1::RoleBinding>),
        known(RBAC, "ClusterRole", check_typed::<rbac::v1::ClusterRole>),
        known(
            RBAC,
            "ClusterRoleBinding",
            check_typed::<rbac::v1::ClusterRoleBinding>,
        ),
        known("autoscaling.k8s.io/v1", "VerticalPodAutoscaler", check_vpa),
    ]
};

const fn kind_pairs<const N: usize>(kinds: &[KnownKind; N]) -> [(&'static str, &'static str); N] {
    let mut pairs = [("", ""); N];
    let mut i = 0;
    while i < N {
        pairs[i] = (kinds[i].api_version, kinds[i].kind);
        i += 1;
    }
    pairs
}

/// The `(apiVersion, kind)` pairs this module validates, built-in and CRD.
pub const KNOWN_KINDS: &[(&str, &str)] = &kind_pairs(&KINDS);

fn validate_one(manifest: &Manifest) -> Vec<SchemaViolation> {
    let mut report = Report::new(manifest);
    let object = &manifest.object;
    if !object.is_object() {
        report.whole("a manifest must be a mapping (an object), not a list or a scalar");
        return report.violations;
    }
    let api_version = manifest.api_version();
    let kind = manifest.kind();
    if api_version.is_empty() || kind.is_empty() {
        for field in ["apiVersion", "kind"] {
            if object[field].as_str().is_none_or(str::is_empty) {
                report.at(field, "required field is missing");
            }
        }
        return report.violations;
    }
    match KINDS
        .iter()
        .find(|k| k.api_version == api_version && k.kind == kind)
    {
        Some(known) => (known.check)(object, &mut report),
        None => {
            report.whole(unknown_kind_message(api_version, kind));
            return report.violations;
        }
    }
    check_required(kind, object, &mut report);
    check_quantities(kind, object, &mut report);
    check_names_and_labels(kind, object, &mut report);
    check_selector_matches_template(kind, object, &mut report);
    report.violations
}

fn unknown_kind_message(api_version: &str, kind: &str) -> String {
    let versions: Vec<&str> = KNOWN_KINDS
        .iter()
        .filter(|(_, k)| *k == kind)
        .map(|(v, _)| *v)
        .collect();
    if versions.is_empty() {
        format!(
            "unknown kind `{kind}` (apiVersion `{api_version}`): fintechctl validates only the kinds it renders"
        )
    } else {
        format!(
            "kind `{kind}` is not served as apiVersion `{api_version}`; expected `{}`",
            versions.join("` or `")
        )
    }
}

/// Deserializes `object` into `T`, reporting every type error and every
/// field `T` does not know.
fn check_typed<T: for<'de> Deserialize<'de>>(object: &Value, report: &mut Report) {
    check_typed_at::<T>(object, "", report);
}

/// [`check_typed`] for a part of the object, found at `prefix`.
fn check_typed_at<T: for<'de> Deserialize<'de>>(object: &Value, prefix: &str, report: &mut Report) {
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

const MAX_TYPE_ERRORS: usize = 20;

/// A step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Finds the path of the first (in document order) node that makes `ok` fail.
///
/// Descends from the root: at each node, the children are kept one more at a
/// time (later ones dropped, as later siblings of every ancestor already
/// are); the child whose addition makes the document fail holds the error.
/// If the node fails even with no children, the node itself is wrong.
fn locate_error(doc: &Value, ok: &dyn Fn(&Value) -> bool) -> Vec<Step> {
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

fn truncate(node: &mut Value, keep: usize) {
    match node {
        Value::Object(map) => {
            let kept: Map<String, Value> = std::mem::take(map).into_iter().take(keep).collect();
            *map = kept;
        }
        Value::Array(items) => items.truncate(keep),
        _ => {}
    }
}

fn node_at<'a>(doc: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, step| match step {
        Step::Key(key) => node.get(key),
        Step::Index(index) => node.get(index),
    })
}

fn node_at_mut<'a>(doc: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |node, step| match step {
        Step::Key(key) => node.get_mut(key),
        Step::Index(index) => node.get_mut(index),
    })
}

fn remove_at(doc: &mut Value, path: &[Step]) -> bool {
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
fn format_path(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        push_step(&mut out, step);
    }
    out
}

fn push_step(out: &mut String, step: &Step) {
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

fn is_identifier(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn format_ignored(path: &serde_ignored::Path<'_>) -> String {
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

/// Collects violations for one manifest.
struct Report<'a> {
    manifest: &'a Manifest,
    object: String,
    violations: Vec<SchemaViolation>,
}

impl<'a> Report<'a> {
    fn new(manifest: &'a Manifest) -> Self {
        let name = match manifest.name() {
            "" => "<unnamed>",
            name => name,
        };
        let kind = match manifest.kind() {
            "" => "<no kind>",
            kind => kind,
        };
        Self {
            manifest,
            object: format!("{kind}/{name} ({})", manifest.template),
            violations: Vec::new(),
        }
    }

    fn at(&mut self, path: &str, message: impl Into<String>) {
        self.violations.push(SchemaViolation {
            object: self.object.clone(),
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn whole(&mut self, message: impl Into<String>) {
        self.at("", message);
    }

    /// serde's messages quote the offending value; a Secret's values must
    /// never reach an error message.
    fn error_message(&self, message: &str) -> String {
        if self.manifest.is_secret() {
            "invalid value (not shown: the object is a Secret)".to_string()
        } else {
            message.to_string()
        }
    }
}

const VPA_UPDATE_MODES: &[&str] = &["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"];
const VPA_CONTROLLED_VALUES: &[&str] = &["RequestsAndLimits", "RequestsOnly"];
const VPA_CONTAINER_MODES: &[&str] = &["Auto", "Off"];
const VPA_RESOURCES: &[&str] = &["cpu", "memory"];

/// The VerticalPodAutoscaler CRD (autoscaling.k8s.io/v1), by hand.
fn check_vpa(object: &Value, report: &mut Report) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    if let Some(metadata) = object.get("metadata") {
        check_typed_at::<ObjectMeta>(metadata, "metadata", report);
    }
    unknown_keys(
        object,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
        report,
    );

    let Some(spec) = object.get("spec") else {
        report.at("spec", "required field is missing");
        return;
    };
    if !spec.is_object() {
        report.at("spec", "expected an object");
        return;
    }
    unknown_keys(
        spec,
        "spec",
        &[
            "targetRef",
            "updatePolicy",
            "resourcePolicy",
            "recommenders",
        ],
        report,
    );

    match spec.get("targetRef") {
        None => report.at("spec.targetRef", "required field is missing"),
        Some(target) => {
            unknown_keys(
                target,
                "spec.targetRef",
                &["apiVersion", "kind", "name"],
                report,
            );
            for field in ["apiVersion", "kind", "name"] {
                required_string(target, &format!("spec.targetRef.{field}"), field, report);
            }
        }
    }

    if let Some(policy) = spec.get("updatePolicy") {
        unknown_keys(
            policy,
            "spec.updatePolicy",
            &["updateMode", "minReplicas", "evictionRequirements"],
            report,
        );
        one_of(
            policy,
            "spec.updatePolicy",
            "updateMode",
            VPA_UPDATE_MODES,
            report,
        );
        if let Some(min) = policy.get("minReplicas")
            && min.as_i64().is_none_or(|n| n <= 0)
        {
            report.at(
                "spec.updatePolicy.minReplicas",
                "expected a positive integer",
            );
        }
    }

    if let Some(resource_policy) = spec.get("resourcePolicy") {
        unknown_keys(
            resource_policy,
            "spec.resourcePolicy",
            &["containerPolicies"],
            report,
        );
        let policies = resource_policy.get("containerPolicies");
        if policies.is_some_and(|p| !p.is_array()) {
            report.at("spec.resourcePolicy.containerPolicies", "expected a list");
        }
        for (i, policy) in policies
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("spec.resourcePolicy.containerPolicies[{i}]");
            unknown_keys(
                policy,
                &at,
                &[
                    "containerName",
                    "mode",
                    "minAllowed",
                    "maxAllowed",
                    "controlledResources",
                    "controlledValues",
                ],
                report,
            );
            required_string(
                policy,
                &format!("{at}.containerName"),
                "containerName",
                report,
            );
            one_of(policy, &at, "mode", VPA_CONTAINER_MODES, report);
            one_of(
                policy,
                &at,
                "controlledValues",
                VPA_CONTROLLED_VALUES,
                report,
            );
            match policy.get("controlledResources") {
                None => {}
                Some(Value::Array(resources)) => {
                    for (j, resource) in resources.iter().enumerate() {
                        if !resource
                            .as_str()
                            .is_some_and(|r| VPA_RESOURCES.contains(&r))
                        {
                            report.at(
                                &format!("{at}.controlledResources[{j}]"),
                                format!(
                                    "expected one of {}, got {resource}",
                                    VPA_RESOURCES.join(", ")
                                ),
                            );
                        }
                    }
                }
                Some(_) => report.at(&format!("{at}.controlledResources"), "expected a list"),
            }
            for bound in ["minAllowed", "maxAllowed"] {
                if let Some(bounds) = policy.get(bound) {
                    check_resource_map(bounds, &format!("{at}.{bound}"), report);
                }
            }
        }
    }

    if let Some(recommenders) = spec.get("recommenders") {
        for (i, recommender) in recommenders.as_array().into_iter().flatten().enumerate() {
            let at = format!("spec.recommenders[{i}]");
            unknown_keys(recommender, &at, &["name"], report);
            required_string(recommender, &format!("{at}.name"), "name", report);
        }
    }
}

fn unknown_keys(node: &Value, at: &str, known: &[&str], report: &mut Report) {
    let Some(map) = node.as_object() else {
        if !at.is_empty() {
            report.at(at, "expected an object");
        }
        return;
    };
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let mut path = at.to_string();
            push_step(&mut path, &Step::Key(key.clone()));
            report.at(
                &path,
                format!("unknown field; known fields: {}", known.join(", ")),
            );
        }
    }
}

fn required_string(node: &Value, path: &str, field: &str, report: &mut Report) {
    match node.get(field) {
        None | Some(Value::Null) => report.at(path, "required field is missing"),
        Some(Value::String(s)) if s.is_empty() => report.at(path, "must not be empty"),
        Some(Value::String(_)) => {}
        Some(other) => report.at(path, format!("expected a string, got {other}")),
    }
}

fn one_of(node: &Value, at: &str, field: &str, allowed: &[&str], report: &mut Report) {
    if let Some(value) = node.get(field)
        && !value.as_str().is_some_and(|v| allowed.contains(&v))
    {
        report.at(
            &format!("{at}.{field}"),
            format!("expected one of {}, got {value}", allowed.join(", ")),
        );
    }
}

/// A `{cpu: …, memory: …}` map: every quantity must parse.
fn check_resource_map(map: &Value, at: &dyn fmt::Display, report: &mut Report) {
    let Some(map) = map.as_object() else {
        report.at(&at.to_string(), "expected a map of resource quantities");
        return;
    };
    for (resource, quantity) in map {
        let number;
        let text = match quantity {
            Value::String(s) => s.as_str(),
            Value::Number(n) => {
                number = n.to_string();
                number.as_str()
            }
            other => {
                report.at(
                    &child_path(at, resource),
                    format!("expected a quantity, got {other}"),
                );
                continue;
            }
        };
        if let Err(error) = parse_quantity_for(resource, text) {
            report.at(&child_path(at, resource), error);
        }
    }
}

/// Parses a quantity the way the resource it is for is counted: cpu in
/// millicores, anything else (memory, storage, counts) in whole units.
fn parse_quantity_for(resource: &str, text: &str) -> Result<(), String> {
    let is_cpu = resource == "cpu" || resource.ends_with(".cpu");
    let result = if is_cpu {
        parse_cpu_millis(text).map(|_| ())
    } else {
        parse_memory_bytes(text).map(|_| ())
    };
    result.map_err(|e| e.to_string())
}

/// Walks `pattern` (dot-separated keys, `[*]` for every list item) and calls
/// `visit` with each node it reaches and that node's concrete path.
fn each_at<'a>(node: &'a Value, pattern: &str, visit: &mut dyn FnMut(&'a Value, &Trail<'_>)) {
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
struct Trail<'p>(Vec<TrailStep<'p>>);

#[derive(Clone, Copy)]
enum TrailStep<'p> {
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
fn child_path(parent: &dyn fmt::Display, key: &str) -> String {
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
fn pod_template_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some("spec.template"),
        "CronJob" => Some("spec.jobTemplate.spec.template"),
        _ => None,
    }
}

/// Fields the API server requires but k8s-openapi silently defaults:
/// `(parent pattern, field)`; the field must be present and not empty.
fn required_fields(kind: &str) -> Vec<(String, &'static str)> {
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

fn check_required(kind: &str, object: &Value, report: &mut Report) {
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
fn check_quantities(kind: &str, object: &Value, report: &mut Report) {
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

fn is_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name.starts_with("hugepages-")
        || name.contains('/')
}

/// Names, label keys and values and annotation keys, as the API server
/// validates them: a version label of `1.4.2+build` is rejected at apply.
fn check_names_and_labels(kind: &str, object: &Value, report: &mut Report) {
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
fn check_selector_matches_template(kind: &str, object: &Value, report: &mut Report) {
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

fn is_alphanumeric_edge(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// RFC 1123 label: at most 63 lowercase alphanumerics or `-`, alphanumeric at both ends.
pub(crate) fn dns_label_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some("longer than 63 characters".into());
    }
    let valid = is_alphanumeric_edge(name)
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!valid).then(|| {
        "must be lowercase letters, digits and `-`, starting and ending with a letter or digit"
            .to_string()
    })
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub(crate) fn dns_subdomain_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some("longer than 253 characters".into());
    }
    let valid = name.split('.').all(|part| {
        is_alphanumeric_edge(part)
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    (!valid).then(|| {
        "must be lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
            .to_string()
    })
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 alphanumerics, `-`, `_`, `.`.
pub(crate) fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(problem) = prefix.and_then(dns_subdomain_problem) {
        return Some(format!("prefix: {problem}"));
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    label_value_problem(name)
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`,
/// alphanumeric at both ends.
pub(crate) fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some("longer than 63 characters".into());
    }
    let valid = is_alphanumeric_edge(value)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!valid).then(|| {
        "must be letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api-gateway", "namespace": "fintech-ai-prod",
                         "labels": {"app.kubernetes.io/name": "api-gateway"}},
            "spec": {
                "replicas": 3,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": {"app": "api-gateway"}},
                "template": {
                    "metadata": {"labels": {"app": "api-gateway"}},
                    "spec": {
                        "containers": [{
                            "name": "api-gateway",
                            "image": "fintech-ai/api-gateway:1.4.2",
                            "ports": [{"containerPort": 8000}],
                            "resources": {
                                "requests": {"memory": "512Mi", "cpu": "250m"},
                                "limits": {"memory": "1Gi", "cpu": "500m"}
                            },
                            "livenessProbe": {"httpGet": {"path": "/health", "port": 8000},
                                              "initialDelaySeconds": 30, "periodSeconds": 10}
                        }]
                    }
                }
            }
        })
    }

    fn check(object: Value) -> Vec<SchemaViolation> {
        validate(&[Manifest::new("api-gateway.yaml", object)])
    }

    fn paths(violations: &[SchemaViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.path.as_str()).collect()
    }

    #[test]
    fn a_valid_deployment_passes() {
        assert_eq!(check(deployment()), vec![]);
    }

    #[test]
    fn a_misspelled_field_is_reported_with_its_path() {
        let mut object = deployment();
        let container = &mut object["spec"]["template"]["spec"]["containers"][0];
        let resources = container
            .as_object_mut()
            .unwrap()
            .remove("resources")
            .unwrap();
        container["resorces"] = resources;
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resorces"]
        );
        assert_eq!(
            violations[0].object,
            "Deployment/api-gateway (api-gateway.yaml)"
        );
        assert!(
            violations[0].to_string().contains("unknown field"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn unknown_fields_are_found_at_every_depth() {
        let mut object = deployment();
        object["spec"]["replica"] = json!(3);
        object["metadata"]["lables"] = json!({});
        object["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] =
            json!("/x");
        object["spec"]["strategy"]["rollingUpdate"]["maxSurg"] = json!(1);
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.lables",
                "spec.strategy.rollingUpdate.maxSurg",
                "spec.template.spec.containers[0].livenessProbe.httpGet.paht",
                // Added last, so found last: violations follow document order.
                "spec.replica",
            ]
        );
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        let mut object = deployment();
        object["spec"]["replicas"] = json!("three");
        let violations = check(object);
        assert_eq!(paths(&violations), ["spec.replicas"]);
        assert!(
            violations[0].message.contains("invalid type"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn every_type_error_is_reported_and_unknown_fields_still_found() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] =
            json!("http");
        object["metadata"]["labels"]["app.kubernetes.io/version"] = json!(1.4);
        object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!(["x"]);
        object["spec"]["template"]["spec"]["containers"][0]["resorces"] = json!({});
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.labels[\"app.kubernetes.io/version\"]",
                "spec.template.spec.containers[0].ports[0].containerPort",
                "spec.template.spec.containers[0].imagePullPolicy",
                "spec.template.spec.containers[0].resorces",
            ]
        );
    }

    #[test]
    fn a_wrong_type_for_a_whole_object_is_reported_at_that_object() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"] = json!({"name": "x"});
        let violations = check(object);
        assert_eq!(paths(&violations)[0], "spec.template.spec.containers");
    }

    #[test]
    fn an_unknown_kind_is_reported() {
        let violations =
            check(json!({"apiVersion": "v1", "kind": "Podd", "metadata": {"name": "x"}}));
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].message.contains("unknown kind `Podd`"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn a_known_kind_in_the_wrong_api_version_is_reported() {
        let mut object = deployment();
        object["apiVersion"] = json!("extensions/v1beta1");
        let violations = check(object);
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].message.contains("expected `apps/v1`"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn missing_api_version_and_kind_are_reported() {
        let violations = check(json!({"metadata": {"name": "x"}}));
        assert_eq!(paths(&violations), ["apiVersion", "kind"]);
    }

    #[test]
    fn required_fields_that_k8s_openapi_defaults_are_reported() {
        let mut object = deployment();
        object["metadata"].as_object_mut().unwrap().remove("name");
        let container = object["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap();
        container.remove("image");
        container.insert("name".into(), json!(""));
        let violations = check(object);
        assert_eq!(
            violations[0].object,
            "Deployment/<unnamed> (api-gateway.yaml)"
        );
        assert_eq!(
            paths(&violations),
            [
                "metadata.name",
                "spec.template.spec.containers[0].name",
                "spec.template.spec.containers[0].image",
            ]
        );
    }

    #[test]
    fn a_malformed_quantity_is_reported() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] =
            json!("1GB");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resources.limits.memory"]
        );
    }

    #[test]
    fn a_misspelled_resource_name_is_reported() {
        let mut object = deployment();
        let requests =
            &mut object["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"];
        let memory = requests.as_object_mut().unwrap().remove("memory").unwrap();
        requests["memroy"] = memory;
        requests["nvidia.com/gpu"] = json!("1");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resources.requests.memroy"]
        );
    }

    #[test]
    fn names_and_labels_are_validated_like_the_api_server_does() {
        let mut object = deployment();
        object["metadata"]["name"] = json!("API_Gateway");
        object["metadata"]["labels"]["app.kubernetes.io/version"] = json!("1.4.2+build.7");
        object["metadata"]["annotations"] = json!({"bad key/x": "1"});
        object["spec"]["template"]["metadata"]["labels"]["-x"] = json!("y");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.name",
                "metadata.labels[\"app.kubernetes.io/version\"]",
                "spec.template.metadata.labels[\"-x\"]",
                "metadata.annotations[\"bad key/x\"]",
            ]
        );
        assert!(
            check(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:cluster-autoscaler"}, "rules": []})
            )
            .is_empty()
        );
    }

    #[test]
    fn a_selector_that_misses_the_template_is_reported() {
        let mut object = deployment();
        object["spec"]["selector"] = json!({"matchLabels": {"app": "api"}});
        assert_eq!(paths(&check(object.clone())), ["spec.selector"]);
        object["spec"]["selector"] = json!({});
        let violations = check(object);
        assert!(
            violations[0].message.contains("empty selector"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn every_rendered_builtin_kind_is_known() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fintech-ai-prod"}}),
            json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                   "spec": {"hard": {"requests.cpu": "16", "requests.memory": "32Gi",
                                     "persistentvolumeclaims": "10"}}}),
            json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"},
                   "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "type": "Opaque", "stringData": {"jwt-secret": "x"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                   "data": {"prometheus.yml": "global: {}"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api-gateway"},
                   "spec": {"selector": {"app": "api-gateway"},
                            "ports": [{"port": 80, "targetPort": 8000}]}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                       {"name": "m", "image": "a:1", "command": ["alembic", "upgrade", "head"]}]}}}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": "api-gateway"},
                            "minReplicas": 3, "maxReplicas": 10,
                            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70}}}],
                            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
                   "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "x"}}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "n"},
                   "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                            "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                   "spec": {"rules": [{"host": "a.example", "http": {"paths": [{"path": "/",
                       "pathType": "Prefix", "backend": {"service": {"name": "s",
                       "port": {"number": 80}}}}]}}]}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "r"},
                   "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "rb"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                   "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "cr"},
                   "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "crb"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "cr"},
                   "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "kube-system"}]}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres"},
                   "spec": {"serviceName": "postgres", "selector": {"matchLabels": {"app": "pg"}},
                            "template": {"metadata": {"labels": {"app": "pg"}},
                                         "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
                            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                "spec": {"accessModes": ["ReadWriteOnce"],
                                         "resources": {"requests": {"storage": "10Gi"}}}}]}}),
            json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                   "metadata": {"name": "v", "labels": {"a": "b"}},
                   "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                            "updatePolicy": {"updateMode": "Off"},
                            "resourcePolicy": {"containerPolicies": [{"containerName": "*",
                                "minAllowed": {"cpu": "100m", "memory": "50Mi"},
                                "maxAllowed": {"cpu": 1, "memory": "500Mi"},
                                "controlledResources": ["cpu", "memory"],
                                "controlledValues": "RequestsAndLimits"}]}}}),
        ];
        let manifests: Vec<Manifest> = objects
            .into_iter()
            .map(|o| Manifest::new("all.yaml", o))
            .collect();
        assert_eq!(validate(&manifests), vec![]);
    }

    #[test]
    fn a_secret_value_never_reaches_a_message() {
        let violations = check(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "data": {"jwt-secret": "hunter2!"},
            "stringData": {"api-key": 123456789}}));
        assert_eq!(
            paths(&violations),
            ["data.jwt-secret", "stringData.api-key"]
        );
        for violation in &violations {
            let shown = violation.to_string();
            assert!(
                !shown.contains("hunter2") && !shown.contains("123456789"),
                "{shown}"
            );
        }
    }

    fn vpa(spec: Value) -> Value {
        json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
               "metadata": {"name": "api-gateway-vpa"}, "spec": spec})
    }

    #[test]
    fn a_bad_vpa_mode_is_reported() {
        let violations = check(vpa(json!({
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"},
            "updatePolicy": {"updateMode": "Automatic"}
        })));
        assert_eq!(paths(&violations), ["spec.updatePolicy.updateMode"]);
        assert!(
            violations[0].message.contains("Automatic"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn vpa_required_and_unknown_fields_are_reported() {
        let violations = check(vpa(json!({
            "targetRef": {"kind": "Deployment", "name": ""},
            "updatPolicy": {},
            "resourcePolicy": {"containerPolicies": [{
                "minAllowed": {"cpu": "lots"},
                "controlledResources": ["cpu", "gpu"],
                "controlledValues": "LimitsOnly"
            }]}
        })));
        assert_eq!(
            paths(&violations),
            [
                "spec.updatPolicy",
                "spec.targetRef.apiVersion",
                "spec.targetRef.name",
                "spec.resourcePolicy.containerPolicies[0].containerName",
                "spec.resourcePolicy.containerPolicies[0].controlledValues",
                "spec.resourcePolicy.containerPolicies[0].controlledResources[1]",
                "spec.resourcePolicy.containerPolicies[0].minAllowed.cpu",
            ]
        );
    }

    #[test]
    fn vpa_metadata_and_top_level_are_checked() {
        let mut object = vpa(
            json!({"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": "x"}}),
        );
        object["metadata"]["lables"] = json!({});
        object["specs"] = json!({});
        let violations = check(object);
        assert_eq!(paths(&violations), ["metadata.lables", "specs"]);
    }
}
