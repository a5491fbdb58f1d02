//! Policy checks on a rendered manifest set, in the spirit of kube-score and
//! Polaris: each rule has a stable id and a severity, and says why a set that
//! the API server would accept still fails in production (pods without
//! limits, a rollout that hangs at "exceeded quota", a NetworkPolicy that
//! breaks DNS, an HPA and a VPA fighting over the same pods).
//!
//! The checks read the manifests as JSON, so they work on any set, and they
//! look at the whole set at once: a PodDisruptionBudget, NetworkPolicy or
//! HPA only counts if it is rendered alongside the workload it covers.
//!
//! An object opts out of rules with the annotation
//! `fintechctl.io/policy-skip: "rule-id,rule-id"`, which needs a reason in
//! `fintechctl.io/policy-skip-reason`; a skip without one is ignored and is
//! itself an error (rule `policy-skip`).
//!
//! Also here: the Kubernetes quantity parsers ([`parse_cpu_millis`],
//! [`parse_memory_bytes`]) the checks need and other modules reuse.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::render::Manifest;

/// How bad a finding is: errors fail the render (exit 2), warnings are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One rule broken by one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule's id, one of [`RULES`].
    pub rule: &'static str,
    pub severity: Severity,
    /// `Kind/name` of the object the finding is about (and that can skip it).
    pub object: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.rule, self.object, self.message
        )
    }
}

/// What differs between environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyOptions {
    /// An unpinned image is an error (production) rather than a warning.
    pub require_pinned_images: bool,
}

impl Default for PolicyOptions {
    /// The strictest options.
    fn default() -> Self {
        Self {
            require_pinned_images: true,
        }
    }
}

/// A policy rule, for `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    /// The severity of its findings (`pinned-images`: when
    /// [`PolicyOptions::require_pinned_images`]; a warning otherwise;
    /// `quota-headroom`: a warning for the peak at the HPA's maxReplicas).
    pub severity: Severity,
    pub summary: &'static str,
}

pub const CONTAINER_RESOURCES: &str = "container-resources";
pub const PROBES: &str = "probes";
pub const POD_SECURITY: &str = "pod-security";
pub const SECCOMP: &str = "seccomp";
pub const PINNED_IMAGES: &str = "pinned-images";
pub const PDB: &str = "pdb";
pub const NETWORK_POLICY: &str = "network-policy";
pub const NETWORK_POLICY_DNS: &str = "network-policy-dns";
pub const HPA_VPA_CONFLICT: &str = "hpa-vpa-conflict";
pub const QUOTA_HEADROOM: &str = "quota-headroom";
pub const POLICY_SKIP: &str = "policy-skip";

/// Every rule, in the order findings are listed for one object.
pub const RULES: &[Rule] = &[
    Rule {
        id: CONTAINER_RESOURCES,
        severity: Severity::Error,
        summary: "every container (init containers too) sets cpu and memory requests and limits, requests not above limits",
    },
    Rule {
        id: PROBES,
        severity: Severity::Error,
        summary: "Deployments and StatefulSets that serve traffic (container ports, or a Service selects them) have liveness and readiness probes",
    },
    Rule {
        id: POD_SECURITY,
        severity: Severity::Error,
        summary: "runAsNonRoot, non-zero runAsUser and runAsGroup, no privilege escalation, read-only root filesystem, capabilities drop ALL, not privileged, no host namespaces",
    },
    Rule {
        id: SECCOMP,
        severity: Severity::Error,
        summary: "seccompProfile RuntimeDefault (or Localhost) for the pod or every container",
    },
    Rule {
        id: PINNED_IMAGES,
        severity: Severity::Error,
        summary: "every image has a tag other than `latest`, or a digest (a warning outside production)",
    },
    Rule {
        id: PDB,
        severity: Severity::Error,
        summary: "a Deployment or StatefulSet with more than one replica (or an HPA minReplicas above one) has a PodDisruptionBudget that selects its pods and allows a disruption",
    },
    Rule {
        id: NETWORK_POLICY,
        severity: Severity::Error,
        summary: "every workload's pods are selected by a NetworkPolicy in their namespace",
    },
    Rule {
        id: NETWORK_POLICY_DNS,
        severity: Severity::Error,
        summary: "pods whose egress a NetworkPolicy restricts may still reach DNS (UDP and TCP port 53)",
    },
    Rule {
        id: HPA_VPA_CONFLICT,
        severity: Severity::Error,
        summary: "a VPA that updates pods does not control cpu or memory of a workload an HPA scales on them",
    },
    Rule {
        id: QUOTA_HEADROOM,
        severity: Severity::Error,
        summary: "the rollout's peak ((replicas + maxSurge) x requests and limits, pods, PVCs) fits the namespace's ResourceQuota; a warning if the peak at the HPA's maxReplicas does not",
    },
    Rule {
        id: POLICY_SKIP,
        severity: Severity::Error,
        summary: "a `fintechctl.io/policy-skip` annotation names known rules and comes with a `fintechctl.io/policy-skip-reason`",
    },
];

/// Annotation listing the rules an object opts out of, comma-separated.
pub const SKIP_ANNOTATION: &str = "fintechctl.io/policy-skip";
/// Annotation saying why; required for the skip to count.
pub const SKIP_REASON_ANNOTATION: &str = "fintechctl.io/policy-skip-reason";

/// Runs every rule over the set. Findings are ordered by the object's place
/// in the set, then by rule (as in [`RULES`]), then as found.
pub fn check(manifests: &[Manifest], opts: &PolicyOptions) -> Vec<Finding> {
    let set = Set::new(manifests);
    let mut raw = Vec::new();
    for workload in &set.workloads {
        container_resources(workload, &mut raw);
        probes(&set, workload, &mut raw);
        pod_security(workload, &mut raw);
        seccomp(workload, &mut raw);
        pinned_images(workload, opts, &mut raw);
        pdb(&set, workload, &mut raw);
        network_policy(&set, workload, &mut raw);
    }
    network_policy_dns(&set, &mut raw);
    hpa_vpa_conflict(&set, &mut raw);
    quota_headroom(&set, &mut raw);

    let mut raw = apply_skips(manifests, raw);
    let rank = |rule: &str| {
        RULES
            .iter()
            .position(|r| r.id == rule)
            .unwrap_or(usize::MAX)
    };
    raw.sort_by_key(|f| (f.index, rank(f.rule)));
    raw.into_iter()
        .map(|f| Finding {
            rule: f.rule,
            severity: f.severity,
            object: manifests[f.index].display(),
            message: f.message,
        })
        .collect()
}

/// A finding before it is named: `index` is the object's place in the set.
struct Raw {
    index: usize,
    rule: &'static str,
    severity: Severity,
    message: String,
}

fn error(index: usize, rule: &'static str, message: String) -> Raw {
    Raw {
        index,
        rule,
        severity: Severity::Error,
        message,
    }
}

fn apply_skips(manifests: &[Manifest], raw: Vec<Raw>) -> Vec<Raw> {
    let mut honoured: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    let mut out = Vec::new();
    for (index, manifest) in manifests.iter().enumerate() {
        let annotations = &manifest.object["metadata"]["annotations"];
        let Some(skip) = annotations[SKIP_ANNOTATION].as_str() else {
            continue;
        };
        let rules: Vec<&str> = skip
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        let reason = annotations[SKIP_REASON_ANNOTATION]
            .as_str()
            .map(str::trim)
            .unwrap_or("");
        if reason.is_empty() {
            out.push(error(
                index,
                POLICY_SKIP,
                format!(
                    "`{SKIP_ANNOTATION}: {skip}` has no `{SKIP_REASON_ANNOTATION}` annotation; the skip is ignored until it says why"
                ),
            ));
            continue;
        }
        for rule in rules {
            if RULES.iter().any(|r| r.id == rule && r.id != POLICY_SKIP) {
                honoured.entry(index).or_default().insert(rule);
            } else {
                let known: Vec<&str> = RULES
                    .iter()
                    .map(|r| r.id)
                    .filter(|id| *id != POLICY_SKIP)
                    .collect();
                out.push(error(
                    index,
                    POLICY_SKIP,
                    format!(
                        "`{SKIP_ANNOTATION}` names unknown rule `{rule}`; known rules: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    out.extend(
        raw.into_iter()
            .filter(|f| !honoured.get(&f.index).is_some_and(|s| s.contains(f.rule))),
    );
    out
}

/// The manifest set, indexed for the checks.
struct Set<'a> {
    manifests: &'a [Manifest],
    workloads: Vec<Workload<'a>>,
}

/// An object that runs pods from a template.
struct Workload<'a> {
    index: usize,
    manifest: &'a Manifest,
    kind: &'a str,
    name: &'a str,
    namespace: &'a str,
    /// The pod template's labels (what selectors match against).
    labels: Map<String, Value>,
    /// The pod spec of the template.
    pod: &'a Value,
}

impl<'a> Set<'a> {
    fn new(manifests: &'a [Manifest]) -> Self {
        let workloads = manifests
            .iter()
            .enumerate()
            .filter_map(|(index, manifest)| {
                let template = pod_template(manifest)?;
                Some(Workload {
                    index,
                    manifest,
                    kind: manifest.kind(),
                    name: manifest.name(),
                    namespace: namespace(manifest),
                    labels: template["metadata"]["labels"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    pod: &template["spec"],
                })
            })
            .collect();
        Self {
            manifests,
            workloads,
        }
    }

    /// Objects of `kind` in `namespace`, with their place in the set.
    fn of_kind<'s>(
        &'s self,
        kind: &'s str,
        namespace: &'s str,
    ) -> impl Iterator<Item = (usize, &'a Manifest)> + 's {
        self.manifests
            .iter()
            .enumerate()
            .filter(move |(_, m)| m.kind() == kind && self::namespace(m) == namespace)
    }

    /// The HPA that scales `workload`, if one is in the set.
    fn hpa_for(&self, workload: &Workload) -> Option<&'a Manifest> {
        self.of_kind("HorizontalPodAutoscaler", workload.namespace)
            .map(|(_, m)| m)
            .find(|hpa| targets(&hpa.object["spec"]["scaleTargetRef"], workload))
    }

    /// The workload a `targetRef`/`scaleTargetRef` in `namespace` names.
    fn target(&self, reference: &Value, namespace: &str) -> Option<&Workload<'a>> {
        self.workloads
            .iter()
            .find(|w| w.namespace == namespace && targets(reference, w))
    }
}

fn namespace(manifest: &Manifest) -> &str {
    manifest.namespace().unwrap_or("")
}

fn targets(reference: &Value, workload: &Workload) -> bool {
    reference["kind"].as_str() == Some(workload.kind)
        && reference["name"].as_str() == Some(workload.name)
}

/// Where a kind keeps its pod template (a bare Pod is its own template).
fn pod_template(manifest: &Manifest) -> Option<&Value> {
    let object = &manifest.object;
    match manifest.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some(&object["spec"]["template"]),
        "CronJob" => Some(&object["spec"]["jobTemplate"]["spec"]["template"]),
        "Pod" => Some(object),
        _ => None,
    }
    .filter(|template| template.is_object())
}

impl Workload<'_> {
    fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Init containers then app containers, each with how to call it.
    fn containers(&self) -> Vec<Container<'_>> {
        let list = |field: &str, init: bool| {
            self.pod[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| Container {
                    name: c["name"].as_str().unwrap_or("<unnamed>"),
                    init,
                    spec: c,
                })
        };
        list("initContainers", true)
            .chain(list("containers", false))
            .collect()
    }

    fn labels_text(&self) -> String {
        let pairs: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        if pairs.is_empty() {
            "no labels".into()
        } else {
            pairs.join(",")
        }
    }
}

struct Container<'a> {
    name: &'a str,
    init: bool,
    spec: &'a Value,
}

impl Container<'_> {
    fn describe(&self) -> String {
        if self.init {
            format!("init container `{}`", self.name)
        } else {
            format!("container `{}`", self.name)
        }
    }

    /// Init containers with `restartPolicy: Always` are sidecars: they run
    /// for the pod's lifetime like app containers.
    fn is_sidecar(&self) -> bool {
        self.init && self.spec["restartPolicy"].as_str() == Some("Always")
    }
}

/// Whether a label selector (`matchLabels` / `matchExpressions`) selects
/// `labels`; an empty selector selects everything.
pub(crate) fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let match_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key).is_some() && label(key) == value.as_str());
    let match_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().unwrap_or("");
            let in_values = || {
                expression["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v.as_str().is_some() && v.as_str() == label(key))
            };
            match expression["operator"].as_str().unwrap_or("") {
                "In" => label(key).is_some() && in_values(),
                "NotIn" => label(key).is_none() || !in_values(),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        });
    match_labels && match_expressions
}

// ---------------------------------------------------------------------------
// Per-workload rules

const RESOURCE_FIELDS: [(&str, &str); 4] = [
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
];

fn container_resources(workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(
        workload.kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod"
    ) {
        return;
    }
    for container in workload.containers() {
        let resources = &container.spec["resources"];
        let missing: Vec<String> = RESOURCE_FIELDS
            .iter()
            .filter(|(bound, resource)| resources[bound][resource].is_null())
            .map(|(bound, resource)| format!("{bound}.{resource}"))
            .collect();
        if !missing.is_empty() {
            out.push(error(
                workload.index,
                CONTAINER_RESOURCES,
                format!(
                    "{} sets no {}: without requests the scheduler overcommits the node, without limits one pod can starve the others",
                    container.describe(),
                    missing.join(", ")
                ),
            ));
        }
        for resource in ["cpu", "memory"] {
            let request = quantity(&resources["requests"][resource], resource);
            let limit = quantity(&resources["limits"][resource], resource);
            if let (Some(Ok(request)), Some(Ok(limit))) = (request, limit)
                && request > limit
            {
                out.push(error(
                    workload.index,
                    CONTAINER_RESOURCES,
                    format!(
                        "{} requests more {resource} ({}) than its limit ({}); the API server rejects it",
                        container.describe(),
                        format_amount(resource, request),
                        format_amount(resource, limit)
                    ),
                ));
            }
        }
    }
}

fn probes(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(workload.kind, "Deployment" | "StatefulSet") {
        return;
    }
    let app: Vec<Container> = workload
        .containers()
        .into_iter()
        .filter(|c| !c.init)
        .collect();
    let has_ports = |c: &Container| c.spec["ports"].as_array().is_some_and(|p| !p.is_empty());
    let with_ports: Vec<&Container> = app.iter().filter(|c| has_ports(c)).collect();
    let service = set
        .of_kind("Service", workload.namespace)
        .map(|(_, m)| m)
        .find(|s| {
            let selector = &s.object["spec"]["selector"];
            selector.as_object().is_some_and(|sel| !sel.is_empty())
                && selector_matches(
                    &serde_json::json!({"matchLabels": selector}),
                    &workload.labels,
                )
        });
    let serving: Vec<&Container> = match (with_ports.is_empty(), service) {
        (false, _) => with_ports,
        (true, Some(_)) => app.iter().collect(),
        (true, None) => return,
    };
    for container in serving {
        let missing: Vec<&str> = ["readinessProbe", "livenessProbe"]
            .into_iter()
            .filter(|probe| container.spec[probe].is_null())
            .collect();
        if !missing.is_empty() {
            let why = match service {
                Some(service) => format!("{} sends it traffic", service.display()),
                None => "it declares container ports".to_string(),
            };
            out.push(error(
                workload.index,
                PROBES,
                format!(
                    "{} has no {}, but {why}: without a readiness probe traffic reaches pods that are not ready, without a liveness probe a hung process is never restarted",
                    container.describe(),
                    missing.join(" or ")
                ),
            ));
        }
    }
}

fn pod_security(workload: &Workload, out: &mut Vec<Raw>) {
    let pod_context = &workload.pod["securityContext"];
    let mut problems: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|field| workload.pod[field].as_bool() == Some(true))
        .map(|field| format!("the pod sets {field}: true"))
        .collect();
    for container in workload.containers() {
        let context = &container.spec["securityContext"];
        // Container settings override the pod's.
        let effective = |field: &str| match &context[field] {
            Value::Null => &pod_context[field],
            value => value,
        };
        let mut wrong = Vec::new();
        if effective("runAsNonRoot").as_bool() != Some(true) {
            wrong.push("runAsNonRoot is not true".to_string());
        }
        for id in ["runAsUser", "runAsGroup"] {
            match effective(id).as_i64() {
                None => wrong.push(format!("{id} is not set")),
                Some(0) => wrong.push(format!("{id} is 0 (root)")),
                Some(_) => {}
            }
        }
        if context["allowPrivilegeEscalation"].as_bool() != Some(false) {
            wrong.push("allowPrivilegeEscalation is not false".into());
        }
        if context["readOnlyRootFilesystem"].as_bool() != Some(true) {
            wrong.push("readOnlyRootFilesystem is not true".into());
        }
        let drops_all = context["capabilities"]["drop"]
            .as_array()
            .is_some_and(|drop| drop.iter().any(|c| c.as_str() == Some("ALL")));
        if !drops_all {
            wrong.push("capabilities.drop does not contain ALL".into());
        }
        if context["privileged"].as_bool() == Some(true) {
            wrong.push("it is privileged".into());
        }
        if !wrong.is_empty() {
            problems.push(format!("{}: {}", container.describe(), wrong.join(", ")));
        }
    }
    for problem in problems {
        out.push(error(workload.index, POD_SECURITY, problem));
    }
}

fn seccomp(workload: &Workload, out: &mut Vec<Raw>) {
    let confined = |context: &Value| {
        matches!(
            context["seccompProfile"]["type"].as_str(),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let pod_context = &workload.pod["securityContext"];
    let unconfined: Vec<String> = workload
        .containers()
        .iter()
        .filter(|c| {
            let context = &c.spec["securityContext"];
            // A container's own profile overrides the pod's, even `Unconfined`.
            if context["seccompProfile"].is_null() {
                !confined(pod_context)
            } else {
                !confined(context)
            }
        })
        .map(Container::describe)
        .collect();
    if !unconfined.is_empty() {
        out.push(error(
            workload.index,
            SECCOMP,
            format!(
                "{} run(s) without a seccomp profile: set securityContext.seccompProfile.type RuntimeDefault on the pod",
                unconfined.join(", ")
            ),
        ));
    }
}

fn pinned_images(workload: &Workload, opts: &PolicyOptions, out: &mut Vec<Raw>) {
    let severity = if opts.require_pinned_images {
        Severity::Error
    } else {
        Severity::Warning
    };
    for container in workload.containers() {
        let image = container.spec["image"].as_str().unwrap_or("");
        if let Err(why) = image_is_pinned(image) {
            out.push(Raw {
                index: workload.index,
                rule: PINNED_IMAGES,
                severity,
                message: format!(
                    "{} image `{image}` {why}: what runs changes without a deploy, and a rollback cannot go back",
                    container.describe()
                ),
            });
        }
    }
}

/// `Ok` if the image reference names a digest or a tag other than `latest`.
fn image_is_pinned(image: &str) -> Result<(), &'static str> {
    if image.is_empty() {
        return Err("is empty");
    }
    if let Some((_, digest)) = image.split_once('@') {
        return if digest.contains(':') {
            Ok(())
        } else {
            Err("has a malformed digest")
        };
    }
    // A `:` before the last `/` belongs to a registry host:port.
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Err("has no tag (it means `latest`)"),
        Some((_, "")) => Err("has an empty tag"),
        Some((_, "latest")) => Err("is tagged `latest`"),
        Some(_) => Ok(()),
    }
}

fn pdb(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(workload.kind, "Deployment" | "StatefulSet") {
        return;
    }
    let spec = &workload.manifest.object["spec"];
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let hpa = set.hpa_for(workload);
    let hpa_min = hpa.map(|h| h.object["spec"]["minReplicas"].as_i64().unwrap_or(1));
    let count = hpa_min.unwrap_or(replicas);
    if replicas <= 1 && hpa_min.is_none_or(|min| min <= 1) {
        return;
    }
    let replicas_text = match (hpa, hpa_min) {
        (Some(hpa), Some(min)) => format!("at least {min} replicas ({})", hpa.display()),
        _ => format!("{replicas} replicas"),
    };
    // policy/v1: a null selector selects no pods, an empty one selects all.
    let budgets: Vec<&Manifest> = set
        .of_kind("PodDisruptionBudget", workload.namespace)
        .map(|(_, m)| m)
        .filter(|pdb| {
            let selector = &pdb.object["spec"]["selector"];
            !selector.is_null() && selector_matches(selector, &workload.labels)
        })
        .collect();
    if budgets.is_empty() {
        out.push(error(
            workload.index,
            PDB,
            format!(
                "{replicas_text} but no PodDisruptionBudget selects its pods ({}): a node drain may evict them all at once",
                workload.labels_text()
            ),
        ));
        return;
    }
    for budget in budgets {
        if let Some(why) = blocks_every_eviction(&budget.object["spec"], count) {
            out.push(error(
                workload.index,
                PDB,
                format!(
                    "{} allows no voluntary disruption with {replicas_text} ({why}): node drains and cluster upgrades hang",
                    budget.display()
                ),
            ));
        }
    }
}

/// Why a PDB spec allows no eviction of a workload with `count` pods, if so.
fn blocks_every_eviction(spec: &Value, count: i64) -> Option<String> {
    let amount = |value: &Value| -> Option<i64> {
        match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .map(|percent| (count * percent + 99) / 100),
            _ => None,
        }
    };
    if let Some(min) = amount(&spec["minAvailable"])
        && min >= count
    {
        return Some(format!("minAvailable {} of {count}", spec["minAvailable"]));
    }
    if amount(&spec["maxUnavailable"]) == Some(0) {
        return Some(format!("maxUnavailable {}", spec["maxUnavailable"]));
    }
    None
}

fn network_policy(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    let covered = set
        .of_kind("NetworkPolicy", workload.namespace)
        .any(|(_, np)| selector_matches(&np.object["spec"]["podSelector"], &workload.labels));
    if !covered {
        out.push(error(
            workload.index,
            NETWORK_POLICY,
            format!(
                "no NetworkPolicy in namespace `{}` selects its pods ({}): they accept traffic from, and send it to, anything",
                workload.namespace,
                workload.labels_text()
            ),
        ));
    }
}

// ---------------------------------------------------------------------------
// Set-wide rules

/// Whether a NetworkPolicy restricts egress of the pods it selects.
fn isolates_egress(spec: &Value) -> bool {
    match spec["policyTypes"].as_array() {
        Some(types) => types.iter().any(|t| t.as_str() == Some("Egress")),
        // Without policyTypes, egress is isolated when egress rules are given.
        None => !spec["egress"].is_null(),
    }
}

/// Whether an egress rule's ports let traffic out to port 53 over `protocol`.
fn opens_port_53(rule: &Value, protocol: &str) -> bool {
    let ports = match rule["ports"].as_array() {
        None => return true,
        Some(ports) if ports.is_empty() => return true,
        Some(ports) => ports,
    };
    ports.iter().any(|port| {
        if port["protocol"].as_str().unwrap_or("TCP") != protocol {
            return false;
        }
        match &port["port"] {
            Value::Null => true,
            Value::Number(n) => {
                let start = n.as_i64().unwrap_or(0);
                let end = port["endPort"].as_i64().unwrap_or(start);
                (start..=end).contains(&53)
            }
            // kube-dns / CoreDNS name their ports `dns` (UDP) and `dns-tcp`.
            Value::String(name) => {
                name == "53" || name == if protocol == "UDP" { "dns" } else { "dns-tcp" }
            }
            _ => false,
        }
    })
}

/// Whether an egress rule of a policy in `namespace` can reach the cluster
/// DNS in kube-system. A peer with only a podSelector selects pods of the
/// policy's own namespace; a namespaceSelector must match kube-system by the
/// one label every namespace is sure to carry.
fn reaches_kube_system(rule: &Value, namespace: &str) -> bool {
    let peers = match rule["to"].as_array() {
        None => return true,
        Some(peers) if peers.is_empty() => return true,
        Some(peers) => peers,
    };
    let kube_system = serde_json::json!({"kubernetes.io/metadata.name": "kube-system"});
    let kube_system = kube_system.as_object().expect("an object");
    peers.iter().any(|peer| {
        if peer.get("ipBlock").is_some() {
            return true;
        }
        match peer.get("namespaceSelector") {
            Some(selector) => selector_matches(selector, kube_system),
            None => namespace == "kube-system",
        }
    })
}

fn network_policy_dns(set: &Set, out: &mut Vec<Raw>) {
    for (index, policy) in set.manifests.iter().enumerate() {
        if policy.kind() != "NetworkPolicy" || !isolates_egress(&policy.object["spec"]) {
            continue;
        }
        let namespace = namespace(policy);
        let selector = &policy.object["spec"]["podSelector"];
        let mut cut_off: Vec<String> = Vec::new();
        let mut missing_protocols: BTreeSet<&str> = BTreeSet::new();
        let mut wrong_peers = false;
        for workload in set
            .workloads
            .iter()
            .filter(|w| w.namespace == namespace && selector_matches(selector, &w.labels))
        {
            // Policies add up: DNS may be allowed by another policy that
            // selects the same pods.
            let rules: Vec<&Value> = set
                .of_kind("NetworkPolicy", namespace)
                .map(|(_, np)| &np.object["spec"])
                .filter(|spec| {
                    isolates_egress(spec)
                        && selector_matches(&spec["podSelector"], &workload.labels)
                })
                .flat_map(|spec| spec["egress"].as_array().into_iter().flatten())
                .collect();
            // Pods allowed no egress at all (`egress: []`, e.g. a data store)
            // need no DNS either.
            if rules.is_empty() {
                continue;
            }
            let missing: Vec<&str> = ["UDP", "TCP"]
                .into_iter()
                .filter(|protocol| {
                    !rules.iter().any(|rule| {
                        opens_port_53(rule, protocol) && reaches_kube_system(rule, namespace)
                    })
                })
                .collect();
            if !missing.is_empty() {
                wrong_peers |= missing
                    .iter()
                    .any(|protocol| rules.iter().any(|rule| opens_port_53(rule, protocol)));
                cut_off.push(workload.display());
                missing_protocols.extend(missing);
            }
        }
        if !cut_off.is_empty() {
            let missing: Vec<String> = missing_protocols
                .iter()
                .map(|p| format!("{p} 53"))
                .collect();
            let hint = if wrong_peers {
                " (a rule opens port 53, but only to peers outside kube-system: a podSelector alone selects pods in the policy's own namespace; select the namespace with `kubernetes.io/metadata.name: kube-system`)"
            } else {
                ""
            };
            out.push(error(
                index,
                NETWORK_POLICY_DNS,
                format!(
                    "restricts egress of {} but no egress rule allows DNS to kube-system ({}){hint}: the pods cannot resolve any service name; allow UDP and TCP port 53 to kube-dns",
                    cut_off.join(", "),
                    missing.join(", ")
                ),
            ));
        }
    }
}

const AUTOSCALED_RESOURCES: [&str; 2] = ["cpu", "memory"];

fn hpa_vpa_conflict(set: &Set, out: &mut Vec<Raw>) {
    for (index, vpa) in set.manifests.iter().enumerate() {
        if vpa.kind() != "VerticalPodAutoscaler" {
            continue;
        }
        let spec = &vpa.object["spec"];
        // The VPA's default mode updates pods.
        let mode = spec["updatePolicy"]["updateMode"]
            .as_str()
            .unwrap_or("Auto");
        if mode == "Off" {
            continue;
        }
        let namespace = namespace(vpa);
        let reference = &spec["targetRef"];
        let workload = set.target(reference, namespace);
        let controlled = vpa_controlled_resources(spec, workload);
        for (_, hpa) in set.of_kind("HorizontalPodAutoscaler", namespace) {
            let target = &hpa.object["spec"]["scaleTargetRef"];
            if target["kind"] != reference["kind"] || target["name"] != reference["name"] {
                continue;
            }
            let scaled = hpa_resources(&hpa.object["spec"]);
            let fought: Vec<&str> = scaled.intersection(&controlled).copied().collect();
            if !fought.is_empty() {
                out.push(error(
                    index,
                    HPA_VPA_CONFLICT,
                    format!(
                        "updateMode `{mode}` changes the {} requests of {}/{} while {} scales it on {}: each reacts to the other and the replica count and requests oscillate; use updateMode `Off` (recommendations only) or controlledResources without {}",
                        fought.join(" and "),
                        reference["kind"].as_str().unwrap_or(""),
                        reference["name"].as_str().unwrap_or(""),
                        hpa.display(),
                        fought.join(" and "),
                        fought.join(" and "),
                    ),
                ));
            }
        }
    }
}

/// The resources an HPA scales on, of cpu and memory. An autoscaling/v2 HPA
/// without metrics scales on CPU.
fn hpa_resources(spec: &Value) -> BTreeSet<&'static str> {
    let metrics = spec["metrics"].as_array().filter(|m| !m.is_empty());
    let Some(metrics) = metrics else {
        return BTreeSet::from(["cpu"]);
    };
    metrics
        .iter()
        .filter_map(|metric| match metric["type"].as_str() {
            Some("Resource") => metric["resource"]["name"].as_str(),
            Some("ContainerResource") => metric["containerResource"]["name"].as_str(),
            _ => None,
        })
        .filter_map(|name| AUTOSCALED_RESOURCES.into_iter().find(|r| *r == name))
        .collect()
}

/// The resources a VPA changes. Each container follows the policy naming
/// it, else the `*` policy, else the defaults (cpu and memory); `mode: Off`
/// leaves a container alone.
fn vpa_controlled_resources(spec: &Value, workload: Option<&Workload>) -> BTreeSet<&'static str> {
    let policies: Vec<&Value> = spec["resourcePolicy"]["containerPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let policy_for = |name: &str| {
        policies
            .iter()
            .find(|p| p["containerName"].as_str() == Some(name))
            .or_else(|| {
                policies
                    .iter()
                    .find(|p| p["containerName"].as_str() == Some("*"))
            })
            .copied()
    };
    let controlled_by = |policy: Option<&Value>| -> Vec<&'static str> {
        match policy {
            Some(p) if p["mode"].as_str() == Some("Off") => Vec::new(),
            Some(p) if p["controlledResources"].is_array() => AUTOSCALED_RESOURCES
                .into_iter()
                .filter(|r| {
                    p["controlledResources"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(r)))
                })
                .collect(),
            _ => AUTOSCALED_RESOURCES.to_vec(),
        }
    };
    match workload {
        Some(workload) => workload
            .containers()
            .iter()
            .filter(|c| !c.init)
            .flat_map(|c| controlled_by(policy_for(c.name)))
            .collect(),
        // The target is not in the set: assume containers the policies do
        // not name exist.
        None => {
            let mut controlled: BTreeSet<&'static str> = policies
                .iter()
                .flat_map(|p| controlled_by(Some(p)))
                .collect();
            if policy_for("").is_none() {
                controlled.extend(AUTOSCALED_RESOURCES);
            }
            controlled
        }
    }
}

// ---------------------------------------------------------------------------
// Quota headroom

/// What a ResourceQuota can cap that a rollout's peak is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tracked {
    RequestsCpu,
    RequestsMemory,
    LimitsCpu,
    LimitsMemory,
    Pods,
    PersistentVolumeClaims,
    RequestsStorage,
}

impl Tracked {
    fn of_key(key: &str) -> Option<Tracked> {
        Some(match key {
            "requests.cpu" | "cpu" => Tracked::RequestsCpu,
            "requests.memory" | "memory" => Tracked::RequestsMemory,
            "limits.cpu" => Tracked::LimitsCpu,
            "limits.memory" => Tracked::LimitsMemory,
            "pods" | "count/pods" => Tracked::Pods,
            "persistentvolumeclaims" | "count/persistentvolumeclaims" => {
                Tracked::PersistentVolumeClaims
            }
            "requests.storage" => Tracked::RequestsStorage,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Tracked::RequestsCpu => "requests.cpu",
            Tracked::RequestsMemory => "requests.memory",
            Tracked::LimitsCpu => "limits.cpu",
            Tracked::LimitsMemory => "limits.memory",
            Tracked::Pods => "pods",
            Tracked::PersistentVolumeClaims => "persistentvolumeclaims",
            Tracked::RequestsStorage => "requests.storage",
        }
    }

    /// The per-pod compute resource, `(bound, resource)`.
    fn pod_field(self) -> Option<(&'static str, &'static str)> {
        match self {
            Tracked::RequestsCpu => Some(("requests", "cpu")),
            Tracked::RequestsMemory => Some(("requests", "memory")),
            Tracked::LimitsCpu => Some(("limits", "cpu")),
            Tracked::LimitsMemory => Some(("limits", "memory")),
            _ => None,
        }
    }
}

/// What one object adds to a namespace's usage at the rollout's peak.
struct Load {
    object: String,
    /// How the pod count came about, e.g. `3 replicas + maxSurge 1`.
    why: String,
    pods: i128,
    /// Per-pod amounts of `Tracked::pod_field`s; `Err` names the container
    /// that sets none (after LimitRange defaults).
    per_pod: BTreeMap<Tracked, Result<i128, String>>,
    pvcs: i128,
    storage: i128,
}

impl Load {
    fn amount(&self, tracked: Tracked) -> Result<i128, String> {
        match tracked {
            Tracked::Pods => Ok(self.pods),
            Tracked::PersistentVolumeClaims => Ok(self.pvcs),
            Tracked::RequestsStorage => Ok(self.storage),
            _ if self.pods == 0 => Ok(0),
            _ => match &self.per_pod[&tracked] {
                Ok(per_pod) => Ok(per_pod * self.pods),
                Err(missing) => Err(missing.clone()),
            },
        }
    }

    fn describe(&self, tracked: Tracked) -> String {
        let name = tracked.name();
        match (tracked.pod_field(), self.per_pod.get(&tracked)) {
            (Some(_), Some(Ok(per_pod))) => format!(
                "{} {} × {} = {} ({})",
                self.object,
                self.pods,
                format_amount(name, *per_pod),
                format_amount(name, per_pod * self.pods),
                self.why
            ),
            _ => format!(
                "{} {} ({})",
                self.object,
                format_amount(name, self.amount(tracked).unwrap_or(0)),
                self.why
            ),
        }
    }
}

/// LimitRange defaults for containers in a namespace, per resource.
#[derive(Default)]
struct ContainerDefaults {
    limit: BTreeMap<String, Value>,
    request: BTreeMap<String, Value>,
}

impl ContainerDefaults {
    fn of(set: &Set, namespace: &str) -> Self {
        let mut defaults = ContainerDefaults::default();
        for (_, range) in set.of_kind("LimitRange", namespace) {
            for item in range.object["spec"]["limits"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if item["type"].as_str() != Some("Container") {
                    continue;
                }
                for (field, into) in [
                    ("default", &mut defaults.limit),
                    ("defaultRequest", &mut defaults.request),
                ] {
                    for (resource, value) in item[field].as_object().into_iter().flatten() {
                        into.entry(resource.clone())
                            .or_insert_with(|| value.clone());
                    }
                }
            }
        }
        defaults
    }

    /// A container's effective `bound` of `resource`, as the API server
    /// fills it in: a missing request defaults to the container's own
    /// limit, then to the LimitRange's defaultRequest, then its default.
    fn effective<'v>(&'v self, container: &'v Value, bound: &str, resource: &str) -> &'v Value {
        let resources = &container["resources"];
        let candidates: [&Value; 3] = if bound == "requests" {
            [
                &resources["requests"][resource],
                &resources["limits"][resource],
                self.request.get(resource).unwrap_or(&Value::Null),
            ]
        } else {
            [&resources["limits"][resource], &Value::Null, &Value::Null]
        };
        candidates
            .into_iter()
            .chain(self.limit.get(resource))
            .find(|v| !v.is_null())
            .unwrap_or(&Value::Null)
    }
}

/// A pod's usage of `(bound, resource)` the way the quota counts it: app
/// containers and sidecars add up, a regular init container runs alone
/// (beside the sidecars started before it), and the pod overhead is added.
fn pod_amount(
    workload: &Workload,
    defaults: &ContainerDefaults,
    bound: &str,
    resource: &str,
) -> Result<i128, String> {
    let mut app = 0i128;
    let mut sidecars = 0i128;
    let mut init_peak = 0i128;
    for container in workload.containers() {
        let value = defaults.effective(container.spec, bound, resource);
        let amount = match quantity(value, resource) {
            Some(Ok(amount)) => amount,
            Some(Err(error)) => return Err(format!("{}: {error}", container.describe())),
            None => return Err(container.describe()),
        };
        if !container.init {
            app += amount;
        } else if container.is_sidecar() {
            sidecars += amount;
            init_peak = init_peak.max(sidecars);
        } else {
            init_peak = init_peak.max(sidecars + amount);
        }
    }
    let overhead = match quantity(&workload.pod["overhead"][resource], resource) {
        Some(Ok(amount)) => amount,
        _ => 0,
    };
    Ok((app + sidecars).max(init_peak) + overhead)
}

/// Parses a quantity given as a JSON string or number, for `resource`:
/// cpu in millicores, anything else in whole units. `None` if absent.
fn quantity(value: &Value, resource: &str) -> Option<Result<i128, QuantityError>> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(if resource.ends_with("cpu") {
        parse_cpu_millis(&text).map(i128::from)
    } else {
        parse_memory_bytes(&text)
    })
}

/// cpu as `16` or `250m`, memory and storage in the largest exact binary
/// unit (`32Gi`, `512Mi`), counts as numbers.
fn format_amount(resource: &str, amount: i128) -> String {
    if resource.ends_with("cpu") {
        return if amount % 1000 == 0 {
            format!("{}", amount / 1000)
        } else {
            format!("{amount}m")
        };
    }
    if resource.ends_with("memory") || resource.ends_with("storage") {
        for (suffix, size) in [
            ("Ti", 1i128 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ] {
            if amount != 0 && amount % size == 0 {
                return format!("{}{suffix}", amount / size);
            }
        }
    }
    amount.to_string()
}

/// `maxSurge` (an int or a percentage, rounded up; 25% by default) for a
/// Deployment running `replicas`; 0 for the Recreate strategy.
fn max_surge(spec: &Value, replicas: i128) -> (i128, String) {
    let strategy = &spec["strategy"];
    if strategy["type"].as_str() == Some("Recreate") {
        return (0, "Recreate".into());
    }
    let surge = &strategy["rollingUpdate"]["maxSurge"];
    let (amount, text) = match surge {
        Value::Number(n) => (i128::from(n.as_i64().unwrap_or(0)), n.to_string()),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i128>().ok()) {
            Some(percent) => ((replicas * percent + 99) / 100, s.clone()),
            None => (s.parse().unwrap_or(0), s.clone()),
        },
        _ => ((replicas * 25 + 99) / 100, "25% (default)".into()),
    };
    (amount, format!("maxSurge {text}"))
}

/// The loads of a namespace at the rollout's peak; with `at_hpa_max`, the
/// workloads an HPA scales run at its maxReplicas instead of minReplicas.
fn peak_loads(set: &Set, namespace: &str, at_hpa_max: bool) -> Vec<Load> {
    let defaults = ContainerDefaults::of(set, namespace);
    let mut loads = Vec::new();
    for workload in set.workloads.iter().filter(|w| w.namespace == namespace) {
        let spec = &workload.manifest.object["spec"];
        let hpa = set.hpa_for(workload);
        let replicas = || -> (i128, String) {
            match hpa {
                Some(hpa) if at_hpa_max => {
                    let max = hpa.object["spec"]["maxReplicas"].as_i64().unwrap_or(1);
                    (max.into(), format!("{} maxReplicas {max}", hpa.display()))
                }
                Some(hpa) => {
                    let min = hpa.object["spec"]["minReplicas"].as_i64().unwrap_or(1);
                    (min.into(), format!("{} minReplicas {min}", hpa.display()))
                }
                None => {
                    let n = spec["replicas"].as_i64().unwrap_or(1);
                    (n.into(), format!("{n} replicas"))
                }
            }
        };
        let job_pods = |job_spec: &Value| -> (i128, String) {
            let parallelism = job_spec["parallelism"].as_i64().unwrap_or(1);
            let pods = match job_spec["completions"].as_i64() {
                Some(completions) => parallelism.min(completions),
                None => parallelism,
            };
            (pods.into(), format!("parallelism {parallelism}"))
        };
        let mut pvcs = 0;
        let mut storage = 0;
        let (pods, why) = match workload.kind {
            "Deployment" => {
                let (replicas, why) = replicas();
                let (surge, surge_why) = max_surge(spec, replicas);
                (replicas + surge, format!("{why} + {surge_why}"))
            }
            "StatefulSet" => {
                let (replicas, why) = replicas();
                let templates = spec["volumeClaimTemplates"]
                    .as_array()
                    .map_or(&[][..], |t| t);
                pvcs = replicas * templates.len() as i128;
                storage = replicas
                    * templates
                        .iter()
                        .filter_map(|t| {
                            quantity(&t["spec"]["resources"]["requests"]["storage"], "storage")
                        })
                        .filter_map(Result::ok)
                        .sum::<i128>();
                (replicas, why)
            }
            "Job" => job_pods(spec),
            "CronJob" => job_pods(&spec["jobTemplate"]["spec"]),
            "Pod" => (1, "a bare pod".into()),
            // One pod per node: the node count is not in the set.
            _ => continue,
        };
        let per_pod = RESOURCE_FIELDS
            .iter()
            .map(|(bound, resource)| {
                let tracked = Tracked::of_key(&format!("{bound}.{resource}")).expect("known");
                (tracked, pod_amount(workload, &defaults, bound, resource))
            })
            .collect();
        loads.push(Load {
            object: workload.display(),
            why,
            pods,
            per_pod,
            pvcs,
            storage,
        });
    }
    for (_, claim) in set.of_kind("PersistentVolumeClaim", namespace) {
        let storage = quantity(
            &claim.object["spec"]["resources"]["requests"]["storage"],
            "storage",
        );
        loads.push(Load {
            object: claim.display(),
            why: "a claim".into(),
            pods: 0,
            per_pod: BTreeMap::new(),
            pvcs: 1,
            storage: storage.and_then(Result::ok).unwrap_or(0),
        });
    }
    loads
}

fn quota_headroom(set: &Set, out: &mut Vec<Raw>) {
    for (index, quota) in set.manifests.iter().enumerate() {
        if quota.kind() != "ResourceQuota" {
            continue;
        }
        let namespace = namespace(quota);
        let hard: Vec<(Tracked, i128)> = quota.object["spec"]["hard"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| {
                let tracked = Tracked::of_key(key)?;
                let amount = quantity(value, tracked.name())?.ok()?;
                Some((tracked, amount))
            })
            .collect();
        if hard.is_empty() {
            continue;
        }
        let at_min = peak_loads(set, namespace, false);
        let has_hpa = set
            .workloads
            .iter()
            .any(|w| w.namespace == namespace && set.hpa_for(w).is_some());
        let at_max = has_hpa.then(|| peak_loads(set, namespace, true));
        for (tracked, allowed) in hard {
            let name = tracked.name();
            let rejected: Vec<String> = at_min
                .iter()
                .filter_map(|load| {
                    let missing = load.amount(tracked).err()?;
                    Some(format!("{} ({missing})", load.object))
                })
                .collect();
            if !rejected.is_empty() {
                out.push(error(
                    index,
                    QUOTA_HEADROOM,
                    format!(
                        "the quota caps {name}, but {} set(s) no {name} and no LimitRange gives a default: the API server rejects those pods",
                        rejected.join(", ")
                    ),
                ));
                continue;
            }
            let Some(excess) = overflow(&at_min, tracked, allowed) else {
                let Some(excess) = at_max.as_ref().and_then(|l| overflow(l, tracked, allowed))
                else {
                    continue;
                };
                out.push(Raw {
                    index,
                    rule: QUOTA_HEADROOM,
                    severity: Severity::Warning,
                    message: format!(
                        "{name}: with the HPAs at maxReplicas the rollout peak needs {} but the quota allows {} in namespace `{namespace}`; biggest: {}; the HPAs cannot scale that far during a rollout",
                        format_amount(name, excess.needed),
                        format_amount(name, allowed),
                        excess.biggest.join(", ")
                    ),
                });
                continue;
            };
            out.push(error(
                index,
                QUOTA_HEADROOM,
                format!(
                    "{name}: the rollout peak needs {} but the quota allows {} in namespace `{namespace}`; biggest: {}; pods would hang at \"exceeded quota\" halfway through the rollout",
                    format_amount(name, excess.needed),
                    format_amount(name, allowed),
                    excess.biggest.join(", ")
                ),
            ));
        }
    }
}

struct Overflow {
    needed: i128,
    /// The three biggest contributors, described.
    biggest: Vec<String>,
}

fn overflow(loads: &[Load], tracked: Tracked, allowed: i128) -> Option<Overflow> {
    let mut amounts: Vec<(i128, &Load)> = loads
        .iter()
        .filter_map(|load| Some((load.amount(tracked).ok()?, load)))
        .filter(|(amount, _)| *amount > 0)
        .collect();
    let needed: i128 = amounts.iter().map(|(amount, _)| amount).sum();
    if needed <= allowed {
        return None;
    }
    amounts.sort_by_key(|(amount, _)| std::cmp::Reverse(*amount));
    Some(Overflow {
        needed,
        biggest: amounts
            .iter()
            .take(3)
            .map(|(_, load)| load.describe(tracked))
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// Quantities

/// A Kubernetes quantity that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity `{text}`: {reason}")]
pub struct QuantityError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses a CPU quantity (`250m`, `1`, `0.5`, `2k`, `1e3`) into millicores,
/// rounding a fraction of a millicore up as the API server does.
pub fn parse_cpu_millis(text: &str) -> Result<i64, QuantityError> {
    let value = parse_scaled(text, 3)?;
    i64::try_from(value).map_err(|_| QuantityError {
        text: text.to_string(),
        reason: "too large",
    })
}

/// Parses a memory or storage quantity (`512Mi`, `1Gi`, `1G`, `500M`,
/// `1e3`, `1024`) into bytes, rounding a fraction of a byte up.
pub fn parse_memory_bytes(text: &str) -> Result<i128, QuantityError> {
    parse_scaled(text, 0)
}

/// Parses `text` (the Kubernetes quantity grammar: a signed decimal number,
/// then a binary-SI suffix `Ki…Ei`, a decimal-SI suffix `n u m k M G T P E`,
/// or an exponent `e3`/`E-2`) and returns its value × 10^`scale`, rounded up.
fn parse_scaled(text: &str, scale: i32) -> Result<i128, QuantityError> {
    let error = |reason| QuantityError {
        text: text.to_string(),
        reason,
    };
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
        None => return Err(error("empty")),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error("expected a number"));
    }
    if fraction.contains('.') {
        return Err(error("more than one decimal point"));
    }
    let (exp2, exp10): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E']).ok_or_else(|| {
                error("unknown suffix (expected Ki, Mi, Gi, m, k, M, G, … or e<n>)")
            })?;
            let valid = !exponent.is_empty()
                && exponent
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .all(|c| c.is_ascii_digit());
            let exponent: i32 = exponent
                .parse()
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| error("invalid exponent"))?;
            (0, exponent)
        }
    };
    let too_large = || error("too large");
    let digits: i128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| too_large())?;
    let exp10 = exp10 + scale - i32::try_from(fraction.len()).map_err(|_| too_large())?;
    if !(-60..=60).contains(&exp10) {
        return Err(too_large());
    }
    let mut numerator = digits.checked_mul(1i128 << exp2).ok_or_else(too_large)?;
    let mut denominator: i128 = 1;
    if exp10 >= 0 {
        numerator = numerator
            .checked_mul(
                10i128
                    .checked_pow(exp10.unsigned_abs())
                    .ok_or_else(too_large)?,
            )
            .ok_or_else(too_large)?;
    } else {
        denominator = 10i128
            .checked_pow(exp10.unsigned_abs())
            .ok_or_else(too_large)?;
    }
    // Round up: toward +∞ for positive values, as resource.Quantity does.
    let magnitude = if negative {
        numerator / denominator
    } else {
        (numerator + denominator - 1) / denominator
    };
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NS: &str = "fintech-ai-prod";

    fn container(name: &str, image: &str) -> Value {
        json!({
            "name": name,
            "image": image,
            "ports": [{"containerPort": 8000}],
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                          "limits": {"cpu": "500m", "memory": "1Gi"}},
            "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}},
            "securityContext": {"allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]}}
        })
    }

    fn pod(app: &str, containers: Vec<Value>) -> Value {
        json!({
            "metadata": {"labels": {"app": app}},
            "spec": {
                "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
                                    "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": containers
            }
        })
    }

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "replicas": replicas,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": {"app": name}},
                "template": pod(name, vec![container(name, &format!("fintech-ai/{name}:1.4.2"))])
            }
        })
    }

    fn job(name: &str) -> Value {
        let mut migrate = container("migrate", "fintech-ai/api-gateway:1.4.2");
        let fields = migrate.as_object_mut().unwrap();
        for field in ["ports", "livenessProbe", "readinessProbe"] {
            fields.remove(field);
        }
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"template": pod(name, vec![migrate])}
        })
    }

    fn object(api_version: &str, kind: &str, name: &str, rest: Value) -> Value {
        let mut object = json!({"apiVersion": api_version, "kind": kind,
                                "metadata": {"name": name, "namespace": NS}});
        for (key, value) in rest.as_object().unwrap() {
            object[key] = value.clone();
        }
        object
    }

    fn quota(hard: Value) -> Value {
        object(
            "v1",
            "ResourceQuota",
            "production-quota",
            json!({"spec": {"hard": hard}}),
        )
    }

    fn dns_egress() -> Value {
        json!([{"to": [{"namespaceSelector": {}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}])
    }

    fn hpa(target: &str, min: i64, max: i64) -> Value {
        object(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            target,
            json!({"spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min, "maxReplicas": max,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
        )
    }

    fn vpa(target: &str, mode: &str) -> Value {
        object(
            "autoscaling.k8s.io/v1",
            "VerticalPodAutoscaler",
            &format!("{target}-vpa"),
            json!({"spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "updatePolicy": {"updateMode": mode},
                "resourcePolicy": {"containerPolicies": [{"containerName": "*",
                    "controlledValues": "RequestsAndLimits"}]}}}),
        )
    }

    /// A set every rule passes: the production api-gateway as the runbook
    /// describes it, fixed where the runbook is wrong.
    fn compliant() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            quota(
                json!({"requests.cpu": "16", "requests.memory": "32Gi", "limits.cpu": "32",
                         "limits.memory": "64Gi", "persistentvolumeclaims": "10"}),
            ),
            object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "default",
                json!({"spec": {
                "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "egress": dns_egress()}}),
            ),
            object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "api-gateway",
                json!({"spec": {
                "podSelector": {"matchLabels": {"app": "api-gateway"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": 8000}]}]}}),
            ),
            job("database-migration"),
            deployment("api-gateway", 3),
            object(
                "v1",
                "Service",
                "api-gateway",
                json!({"spec": {
                "selector": {"app": "api-gateway"}, "ports": [{"port": 80, "targetPort": 8000}]}}),
            ),
            object(
                "policy/v1",
                "PodDisruptionBudget",
                "api-gateway",
                json!({"spec": {
                "minAvailable": 2, "selector": {"matchLabels": {"app": "api-gateway"}}}}),
            ),
            hpa("api-gateway", 3, 10),
            vpa("api-gateway", "Off"),
        ]
    }

    fn run(objects: Vec<Value>) -> Vec<Finding> {
        run_with(objects, &PolicyOptions::default())
    }

    fn run_with(objects: Vec<Value>, opts: &PolicyOptions) -> Vec<Finding> {
        let manifests: Vec<Manifest> = objects
            .into_iter()
            .map(|o| Manifest::new("test.yaml", o))
            .collect();
        check(&manifests, opts)
    }

    fn of_rule(findings: &[Finding], rule: &str) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| format!("{} {}: {}", f.severity, f.object, f.message))
            .collect()
    }

    fn errors_of_rule(findings: &[Finding], rule: &str) -> Vec<String> {
        let mut found = of_rule(findings, rule);
        found.retain(|f| f.starts_with("error "));
        found
    }

    /// Finds the object named `name` of `kind` in the set.
    fn find<'a>(set: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
        set.iter_mut()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap()
    }

    fn gateway(set: &mut [Value]) -> &mut Value {
        find(set, "Deployment", "api-gateway")
    }

    fn gateway_container(set: &mut [Value]) -> &mut Value {
        &mut gateway(set)["spec"]["template"]["spec"]["containers"][0]
    }

    fn remove(value: &mut Value, field: &str) {
        value.as_object_mut().unwrap().remove(field);
    }

    #[test]
    fn the_compliant_set_has_no_findings() {
        assert_eq!(run(compliant()), vec![]);
    }

    #[test]
    fn rules_have_unique_kebab_case_ids() {
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len());
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn container_resources_requires_requests_and_limits_in_every_container() {
        let mut set = compliant();
        remove(
            &mut gateway_container(&mut set)["resources"]["limits"],
            "memory",
        );
        let init = json!({"name": "wait", "image": "busybox:1.36",
                          "securityContext": {"allowPrivilegeEscalation": false,
                                              "readOnlyRootFilesystem": true,
                                              "capabilities": {"drop": ["ALL"]}}});
        gateway(&mut set)["spec"]["template"]["spec"]["initContainers"] = json!([init]);
        let found = of_rule(&run(set), CONTAINER_RESOURCES);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("init container `wait` sets no requests.cpu, requests.memory, limits.cpu, limits.memory"), "{}", found[0]);
        assert!(
            found[1].contains("container `api-gateway` sets no limits.memory"),
            "{}",
            found[1]
        );
    }

    #[test]
    fn container_resources_rejects_requests_above_limits() {
        let mut set = compliant();
        gateway_container(&mut set)["resources"]["requests"]["cpu"] = json!("2");
        let found = of_rule(&run(set), CONTAINER_RESOURCES);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("more cpu (2) than its limit (500m)"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn probes_are_required_for_serving_workloads_only() {
        let mut set = compliant();
        remove(gateway_container(&mut set), "readinessProbe");
        let found = of_rule(&run(set), PROBES);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with(
                "error Deployment/api-gateway: container `api-gateway` has no readinessProbe"
            ),
            "{}",
            found[0]
        );

        // The Job has neither probe and is not asked for one (the compliant set).
        // A Deployment without ports is still serving when a Service selects it.
        let mut set = compliant();
        let container = gateway_container(&mut set);
        remove(container, "ports");
        remove(container, "livenessProbe");
        let found = of_rule(&run(set), PROBES);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("Service/api-gateway sends it traffic"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn pod_security_checks_pod_and_container_contexts() {
        let mut set = compliant();
        gateway(&mut set)["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = json!(0);
        let container = gateway_container(&mut set);
        container["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        container["securityContext"]["capabilities"]["drop"] = json!(["NET_RAW"]);
        container["securityContext"]["privileged"] = json!(true);
        let found = of_rule(&run(set), POD_SECURITY);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("runAsUser is 0 (root), allowPrivilegeEscalation is not false, capabilities.drop does not contain ALL, it is privileged"), "{}", found[0]);

        // A container may set the ids itself.
        let mut set = compliant();
        let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
        remove(&mut pod["securityContext"], "runAsUser");
        pod["containers"][0]["securityContext"]["runAsUser"] = json!(1000);
        pod["hostNetwork"] = json!(true);
        let found = of_rule(&run(set), POD_SECURITY);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("hostNetwork"), "{}", found[0]);
    }

    #[test]
    fn seccomp_needs_runtime_default_on_the_pod_or_every_container() {
        let mut set = compliant();
        let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
        remove(&mut pod["securityContext"], "seccompProfile");
        pod["containers"][0]["securityContext"]["seccompProfile"] =
            json!({"type": "RuntimeDefault"});
        assert_eq!(of_rule(&run(set.clone()), SECCOMP), Vec::<String>::new());

        let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
        pod["containers"][0]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
        let found = of_rule(&run(set), SECCOMP);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("container `api-gateway` run(s) without a seccomp profile"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn pinned_images_is_an_error_when_required_and_a_warning_otherwise() {
        for (image, pinned) in [
            ("fintech-ai/api-gateway:1.4.2", true),
            ("registry.local:5000/api-gateway@sha256:0123abcd", true),
            ("fintech-ai/api-gateway:latest", false),
            ("fintech-ai/api-gateway", false),
            ("registry.local:5000/api-gateway", false),
        ] {
            assert_eq!(image_is_pinned(image).is_ok(), pinned, "{image}");
        }
        let mut set = compliant();
        gateway_container(&mut set)["image"] = json!("fintech-ai/api-gateway:latest");
        let found = of_rule(&run(set.clone()), PINNED_IMAGES);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("error Deployment/api-gateway: container `api-gateway` image `fintech-ai/api-gateway:latest` is tagged `latest`"), "{}", found[0]);
        let relaxed = PolicyOptions {
            require_pinned_images: false,
        };
        let found = of_rule(&run_with(set, &relaxed), PINNED_IMAGES);
        assert!(found[0].starts_with("warning "), "{}", found[0]);
    }

    #[test]
    fn pdb_is_required_for_replicated_workloads() {
        let mut set = compliant();
        find(&mut set, "PodDisruptionBudget", "api-gateway")["spec"]["selector"] =
            json!({"matchLabels": {"app": "frontend"}});
        let found = of_rule(&run(set.clone()), PDB);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("at least 3 replicas (HorizontalPodAutoscaler/api-gateway) but no PodDisruptionBudget selects its pods (app=api-gateway)"), "{}", found[0]);

        // One replica and no HPA: no PDB needed.
        set.retain(|o| o["kind"] != "HorizontalPodAutoscaler");
        gateway(&mut set)["spec"]["replicas"] = json!(1);
        assert_eq!(of_rule(&run(set), PDB), Vec::<String>::new());
    }

    #[test]
    fn pdb_that_blocks_every_eviction_is_reported() {
        let mut set = compliant();
        find(&mut set, "PodDisruptionBudget", "api-gateway")["spec"] = json!({"minAvailable": "100%", "selector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["api-gateway"]}]}});
        let found = of_rule(&run(set), PDB);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("allows no voluntary disruption"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn network_policy_must_select_every_workload() {
        let mut set = compliant();
        find(&mut set, "NetworkPolicy", "default")["spec"]["podSelector"] = json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["database-migration"]}]});
        let found = of_rule(&run(set), NETWORK_POLICY);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("error Job/database-migration: no NetworkPolicy in namespace `fintech-ai-prod` selects its pods (app=database-migration)"), "{}", found[0]);
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let labels = json!({"app": "api", "tier": "web"});
        let labels = labels.as_object().unwrap();
        let matches = |selector: Value| selector_matches(&selector, labels);
        assert!(matches(json!({})));
        assert!(matches(json!({"matchLabels": {"app": "api"}})));
        assert!(!matches(json!({"matchLabels": {"app": "api", "x": "y"}})));
        assert!(matches(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]})
        ));
        assert!(matches(
            json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]})
        ));
        assert!(matches(
            json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "app", "operator": "Bogus"}]})
        ));
    }

    #[test]
    fn network_policy_dns_catches_the_runbooks_egress_policy() {
        let mut set = compliant();
        // The runbook's policy: egress to postgres and redis only.
        find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([
            {"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
             "ports": [{"protocol": "TCP", "port": 5432}]},
            {"ports": [{"protocol": "UDP", "port": 53}]}]);
        let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("error NetworkPolicy/default: restricts egress of Job/database-migration, Deployment/api-gateway but no egress rule allows DNS to kube-system (TCP 53)"), "{}", found[0]);

        // Another policy selecting the same pods may allow it: policies add up.
        set.push(object(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "dns",
            json!({"spec": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"ports": [{"protocol": "TCP", "port": "dns-tcp"}]}]}}),
        ));
        assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
    }

    #[test]
    fn network_policy_dns_catches_the_runbook_api_gateway_policy_verbatim() {
        let mut set = compliant();
        set.retain(|o| o["kind"] != "NetworkPolicy");
        set.push(object("networking.k8s.io/v1", "NetworkPolicy", "api-gateway-policy", json!({"spec": {
            "podSelector": {"matchLabels": {"app": "api-gateway"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
                         "ports": [{"protocol": "TCP", "port": 8000}]}],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": {"app": "ml-service"}}}],
                 "ports": [{"protocol": "TCP", "port": 8001}]},
                {"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
                 "ports": [{"protocol": "TCP", "port": 5432}]}]}})));
        let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
        assert_eq!(
            found,
            [
                "error NetworkPolicy/api-gateway-policy: restricts egress of Deployment/api-gateway but no egress rule allows DNS to kube-system (TCP 53, UDP 53): the pods cannot resolve any service name; allow UDP and TCP port 53 to kube-dns"
            ]
        );
        // The policy covers api-gateway only; the migration Job has none.
        assert_eq!(of_rule(&run(set), NETWORK_POLICY).len(), 1);
    }

    #[test]
    fn network_policy_dns_needs_a_peer_in_kube_system() {
        let mut set = compliant();
        let dns = json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]);
        // A podSelector alone selects kube-dns in the policy's own namespace: no DNS.
        find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
        let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("only to peers outside kube-system"),
            "{}",
            found[0]
        );
        // `name: kube-system` is not a label Kubernetes puts on the namespace.
        find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([{"to": [{
            "namespaceSelector": {"matchLabels": {"name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
        assert_eq!(of_rule(&run(set.clone()), NETWORK_POLICY_DNS).len(), 1);

        find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([{"to": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
        assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
    }

    #[test]
    fn network_policy_dns_accepts_pods_denied_all_egress() {
        let mut set = compliant();
        find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([]);
        assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
    }

    #[test]
    fn hpa_vpa_conflict_catches_the_runbooks_auto_vpa() {
        let mut set = compliant();
        *find(&mut set, "VerticalPodAutoscaler", "api-gateway-vpa") = vpa("api-gateway", "Auto");
        let found = of_rule(&run(set.clone()), HPA_VPA_CONFLICT);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("error VerticalPodAutoscaler/api-gateway-vpa: updateMode `Auto` changes the cpu and memory requests of Deployment/api-gateway while HorizontalPodAutoscaler/api-gateway scales it on cpu and memory"), "{}", found[0]);

        // Controlling only what the HPA does not scale on is fine.
        let vpa = find(&mut set, "VerticalPodAutoscaler", "api-gateway-vpa");
        vpa["spec"]["resourcePolicy"]["containerPolicies"][0]["controlledResources"] =
            json!(["memory"]);
        let hpa = find(&mut set, "HorizontalPodAutoscaler", "api-gateway");
        hpa["spec"]["metrics"].as_array_mut().unwrap().truncate(1);
        assert_eq!(of_rule(&run(set), HPA_VPA_CONFLICT), Vec::<String>::new());
    }

    #[test]
    fn an_hpa_without_metrics_scales_on_cpu() {
        assert_eq!(hpa_resources(&json!({})), BTreeSet::from(["cpu"]));
    }

    #[test]
    fn quota_headroom_counts_max_surge_at_the_peak() {
        // 3 + 1 api-gateway pods × 250m, plus the migration job's 250m = 1250m.
        let mut set = compliant();
        *find(&mut set, "ResourceQuota", "production-quota") =
            quota(json!({"requests.cpu": "1250m"}));
        assert_eq!(
            errors_of_rule(&run(set.clone()), QUOTA_HEADROOM),
            Vec::<String>::new()
        );

        *find(&mut set, "ResourceQuota", "production-quota") =
            quota(json!({"requests.cpu": "1", "pods": "5"}));
        let found = errors_of_rule(&run(set), QUOTA_HEADROOM);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("error ResourceQuota/production-quota: requests.cpu: the rollout peak needs 1250m but the quota allows 1 in namespace `fintech-ai-prod`; biggest: Deployment/api-gateway 4 × 250m = 1 (HorizontalPodAutoscaler/api-gateway minReplicas 3 + maxSurge 1), Job/database-migration 1 × 250m = 250m (parallelism 1)"), "{}", found[0]);
    }

    #[test]
    fn quota_headroom_warns_when_the_hpa_maximum_does_not_fit() {
        // At maxReplicas 10: 11 pods × 512Mi + 512Mi for the job = 6Gi.
        let mut set = compliant();
        *find(&mut set, "ResourceQuota", "production-quota") =
            quota(json!({"requests.memory": "4Gi"}));
        let found = of_rule(&run(set), QUOTA_HEADROOM);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("warning ResourceQuota/production-quota: requests.memory: with the HPAs at maxReplicas the rollout peak needs 6Gi but the quota allows 4Gi"), "{}", found[0]);
    }

    #[test]
    fn quota_headroom_uses_default_surge_percentages_and_statefulset_claims() {
        let mut set = compliant();
        set.retain(|o| o["kind"] != "HorizontalPodAutoscaler" && o["kind"] != "Job");
        let deployment = gateway(&mut set);
        deployment["spec"]["replicas"] = json!(10);
        remove(&mut deployment["spec"], "strategy");
        let mut postgres = deployment.clone();
        postgres["kind"] = json!("StatefulSet");
        postgres["metadata"]["name"] = json!("postgres");
        postgres["spec"]["replicas"] = json!(2);
        postgres["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
            "spec": {"resources": {"requests": {"storage": "10Gi"}}}}]);
        set.push(postgres);
        set.push(object(
            "v1",
            "PersistentVolumeClaim",
            "uploads",
            json!({"spec": {
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ));
        *find(&mut set, "ResourceQuota", "production-quota") = quota(json!({
            // 10 + ceil(25% of 10) = 13 pods, plus 2 postgres pods.
            "limits.memory": "15Gi", "pods": "14",
            "persistentvolumeclaims": "2", "requests.storage": "21Gi"}));
        let found = of_rule(&run(set), QUOTA_HEADROOM);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains("pods: the rollout peak needs 15 but the quota allows 14"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("Deployment/api-gateway 13 (10 replicas + maxSurge 25% (default))"),
            "{}",
            found[0]
        );
        assert!(
            found[1].contains(
                "persistentvolumeclaims: the rollout peak needs 3 but the quota allows 2"
            ),
            "{}",
            found[1]
        );
    }

    #[test]
    fn quota_headroom_applies_limit_range_defaults_and_init_containers() {
        let mut set = compliant();
        set.retain(|o| o["kind"] != "Job");
        let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
        remove(&mut pod["containers"][0]["resources"]["requests"], "memory");
        pod["initContainers"] = json!([{"name": "warm-cache", "image": "x:1",
            "resources": {"requests": {"cpu": "2", "memory": "64Mi"},
                          "limits": {"cpu": "2", "memory": "64Mi"}}}]);
        *find(&mut set, "ResourceQuota", "production-quota") =
            quota(json!({"requests.memory": "10Gi", "requests.cpu": "6"}));
        // Without a default, the memory request falls back to the limit (1Gi):
        // 4 pods × max(1Gi, 64Mi) = 4Gi fits; cpu: 4 × max(250m, 2) = 8 does not.
        let found = errors_of_rule(&run(set.clone()), QUOTA_HEADROOM);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("requests.cpu: the rollout peak needs 8 but"),
            "{}",
            found[0]
        );

        // With neither request nor limit nor default, the pods are rejected.
        remove(
            &mut gateway_container(&mut set)["resources"]["limits"],
            "memory",
        );
        let found = errors_of_rule(&run(set.clone()), QUOTA_HEADROOM);
        assert!(found[0].contains("caps requests.memory, but Deployment/api-gateway (container `api-gateway`) set(s) no requests.memory"), "{}", found[0]);

        set.push(object(
            "v1",
            "LimitRange",
            "defaults",
            json!({"spec": {"limits": [
            {"type": "Container", "default": {"memory": "3Gi"}}]}}),
        ));
        let found = errors_of_rule(&run(set), QUOTA_HEADROOM);
        assert!(
            found[0]
                .contains("requests.memory: the rollout peak needs 12Gi but the quota allows 10Gi"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_skip_with_a_reason_silences_the_rule_for_that_object() {
        let mut set = compliant();
        gateway_container(&mut set)["image"] = json!("postgres");
        gateway(&mut set)["metadata"]["annotations"] = json!({
            SKIP_ANNOTATION: "pinned-images, seccomp",
            SKIP_REASON_ANNOTATION: "local data store, third-party image"});
        assert_eq!(run(set), vec![]);
    }

    #[test]
    fn a_skip_without_a_reason_is_an_error_and_is_ignored() {
        let mut set = compliant();
        gateway_container(&mut set)["image"] = json!("postgres");
        gateway(&mut set)["metadata"]["annotations"] = json!({SKIP_ANNOTATION: "pinned-images"});
        let findings = run(set.clone());
        assert_eq!(of_rule(&findings, PINNED_IMAGES).len(), 1);
        assert_eq!(of_rule(&findings, POLICY_SKIP).len(), 1);

        gateway(&mut set)["metadata"]["annotations"] = json!({
            SKIP_ANNOTATION: "pinned-image", SKIP_REASON_ANNOTATION: "typo"});
        let found = of_rule(&run(set), POLICY_SKIP);
        assert!(
            found[0].contains("unknown rule `pinned-image`"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn findings_are_ordered_by_object_then_rule() {
        let mut set = compliant();
        gateway_container(&mut set)["image"] = json!("x");
        remove(gateway_container(&mut set), "resources");
        set.swap(4, 5);
        find(&mut set, "Job", "database-migration")["spec"]["template"]["spec"]["containers"][0]
            ["image"] = json!("y");
        let order: Vec<(String, &str)> = run(set)
            .into_iter()
            .filter(|f| f.rule != QUOTA_HEADROOM)
            .map(|f| (f.object, f.rule))
            .collect();
        assert_eq!(
            order,
            [
                ("Deployment/api-gateway".to_string(), CONTAINER_RESOURCES),
                ("Deployment/api-gateway".to_string(), PINNED_IMAGES),
                ("Job/database-migration".to_string(), PINNED_IMAGES),
            ]
        );
    }

    #[test]
    fn objects_outside_the_checks_are_ignored() {
        let findings = run(vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            object("v1", "ConfigMap", "grafana", json!({"data": {"a": "b"}})),
        ]);
        assert_eq!(findings, vec![]);
    }

    #[test]
    fn cpu_quantities() {
        for (text, millis) in [
            ("250m", 250),
            ("1", 1000),
            ("0.5", 500),
            ("1.5", 1500),
            ("2k", 2_000_000),
            ("1e3", 1_000_000),
            ("100u", 1),
            ("+3", 3000),
            ("0.0001", 1),
            (".5", 500),
        ] {
            assert_eq!(parse_cpu_millis(text), Ok(millis), "{text}");
        }
        for text in [
            "",
            "m",
            "1x",
            "1.2.3",
            "abc",
            "1e",
            "1e+",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_cpu_millis(text).is_err(), "{text}");
        }
    }

    #[test]
    fn memory_quantities() {
        for (text, bytes) in [
            ("512Mi", 512 << 20),
            ("1Gi", 1 << 30),
            ("1G", 1_000_000_000),
            ("500M", 500_000_000),
            ("1e3", 1000),
            ("1024", 1024),
            ("1.5Gi", 3 << 29),
            ("128974848", 128_974_848),
            ("129e6", 129_000_000),
            ("123Ki", 125_952),
            ("1Ei", 1 << 60),
            ("0.5", 1),
            ("1E", 10i128.pow(18)),
        ] {
            assert_eq!(parse_memory_bytes(text), Ok(bytes), "{text}");
        }
        for text in ["1GB", "1gi", "Mi", "1 Gi", "1e3Mi"] {
            assert!(parse_memory_bytes(text).is_err(), "{text}");
        }
        let error = parse_memory_bytes("1GB").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid quantity `1GB`: unknown suffix (expected Ki, Mi, Gi, m, k, M, G, … or e<n>)"
        );
    }

    #[test]
    fn amounts_are_formatted_like_quantities() {
        assert_eq!(format_amount("requests.cpu", 16_000), "16");
        assert_eq!(format_amount("cpu", 250), "250m");
        assert_eq!(format_amount("limits.memory", 32 << 30), "32Gi");
        assert_eq!(format_amount("memory", 1_000_000_000), "1000000000");
        assert_eq!(format_amount("pods", 4), "4");
    }
}
