//! The table of resources kube-sim serves.

use crate::admission as adm;
use crate::store::Store;
use crate::table::{self as t, Printer};
use serde_json::Value;
use std::collections::HashMap;

/// One kind kube-sim serves, in one place: discovery (group, version, names, scope,
/// verbs, subresources), storage (generation), admission (defaults) and `kubectl get`
/// (printer). Adding a kind is adding one entry to [`RESOURCES`].
#[derive(Clone, Copy)]
pub struct ResDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Has a `/status` subresource (PUT on the main resource ignores status).
    pub status: bool,
    /// Read-only (metrics).
    pub readonly: bool,
    /// Extra subresources advertised in discovery.
    pub subresources: &'static [&'static str],
    /// Only `create` (the access reviews): answered, never stored.
    pub create_only: bool,
    /// Served from a CustomResourceDefinition (schemaless, always has a generation).
    pub custom: bool,
    /// A CRD's additionalPrinterColumns: (name, type, jsonPath).
    pub printer_columns: &'static [(&'static str, &'static str, &'static str)],
    /// The registry keeps `metadata.generation` (bumped on changes outside metadata and
    /// status).
    pub generation: bool,
    /// Defaulting on every write (the apiserver's SetDefaults_* and strategy).
    pub defaults: Option<fn(&mut Value, &mut Store)>,
    /// The server-side Table columns (NAME / AGE without one).
    pub printer: Option<&'static Printer>,
    /// The kind's own validation (after the checks every kind gets).
    pub validate: Option<fn(&Value, &mut adm::Causes)>,
}

impl std::fmt::Debug for ResDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResDef({}/{} {})", self.group, self.version, self.plural)
    }
}

/// A built-in kind with the common settings; the builder methods below add the rest.
const fn kind(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResDef {
    ResDef {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short: NONE,
        categories: NONE,
        status: false,
        readonly: false,
        subresources: NONE,
        create_only: false,
        custom: false,
        printer_columns: &[],
        generation: false,
        defaults: None,
        printer: None,
        validate: None,
    }
}

impl ResDef {
    const fn short(mut self, s: &'static [&'static str]) -> Self {
        self.short = s;
        self
    }
    const fn in_all(mut self) -> Self {
        self.categories = ALL;
        self
    }
    const fn with_status(mut self) -> Self {
        self.status = true;
        self
    }
    const fn subresources(mut self, s: &'static [&'static str]) -> Self {
        self.subresources = s;
        self
    }
    const fn generation(mut self) -> Self {
        self.generation = true;
        self
    }
    const fn defaults(mut self, f: fn(&mut Value, &mut Store)) -> Self {
        self.defaults = Some(f);
        self
    }
    const fn validate(mut self, f: fn(&Value, &mut adm::Causes)) -> Self {
        self.validate = Some(f);
        self
    }
    const fn printer(mut self, p: &'static Printer) -> Self {
        self.printer = Some(p);
        self
    }
    const fn readonly(mut self) -> Self {
        self.readonly = true;
        self
    }
    const fn categories(mut self, c: &'static [&'static str]) -> Self {
        self.categories = c;
        self
    }
}

impl ResDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// Storage key: group/plural (version independent).
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }
    /// Resource name used in error messages: `deployments.apps`, `pods`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
    pub fn verbs(&self) -> Vec<&'static str> {
        if self.create_only {
            vec!["create"]
        } else if self.readonly {
            vec!["get", "list"]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

pub static RESOURCES: &[ResDef] = &[
    kind("", "v1", "namespaces", "namespace", "Namespace", false)
        .short(&["ns"])
        .with_status()
        .subresources(&["finalize"])
        .defaults(adm::default_namespace)
        .printer(&t::NAMESPACES),
    kind("", "v1", "pods", "pod", "Pod", true)
        .validate(adm::validate_pod)
        .short(&["po"])
        .in_all()
        .with_status()
        .subresources(&[
            "log",
            "exec",
            "attach",
            "portforward",
            "proxy",
            "eviction",
            "ephemeralcontainers",
            "resize",
            "binding",
        ])
        .defaults(adm::default_pod)
        .printer(&t::PODS),
    kind("", "v1", "services", "service", "Service", true)
        .short(&["svc"])
        .in_all()
        .with_status()
        .subresources(&["proxy"])
        .defaults(adm::default_service)
        .printer(&t::SERVICES),
    kind("", "v1", "endpoints", "endpoints", "Endpoints", true).short(&["ep"]),
    kind("", "v1", "configmaps", "configmap", "ConfigMap", true)
        .validate(adm::validate_data)
        .short(&["cm"])
        .printer(&t::CONFIGMAPS),
    kind("", "v1", "secrets", "secret", "Secret", true)
        .validate(adm::validate_data)
        .defaults(adm::default_secret)
        .printer(&t::SECRETS),
    kind(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
    )
    .short(&["sa"])
    .subresources(&["token"]),
    kind("", "v1", "events", "event", "Event", true)
        .short(&["ev"])
        .printer(&t::EVENTS),
    kind(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
    )
    .short(&["pvc"])
    .with_status()
    .defaults(adm::default_pvc)
    .printer(&t::PVCS),
    kind(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
    )
    .short(&["pv"])
    .with_status(),
    kind(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
    )
    .short(&["quota"])
    .with_status(),
    kind("", "v1", "limitranges", "limitrange", "LimitRange", true).short(&["limits"]),
    kind("", "v1", "nodes", "node", "Node", false)
        .short(&["no"])
        .with_status()
        .subresources(&["proxy"])
        .printer(&t::NODES),
    kind(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
    )
    .short(&["rc"])
    .in_all()
    .with_status()
    .subresources(&["scale"])
    .generation(),
    kind(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
    )
    .validate(adm::validate_workload)
    .short(&["deploy"])
    .in_all()
    .with_status()
    .subresources(&["scale"])
    .generation()
    .defaults(adm::default_deployment)
    .printer(&t::DEPLOYMENTS),
    kind(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
    )
    .validate(adm::validate_workload)
    .short(&["rs"])
    .in_all()
    .with_status()
    .subresources(&["scale"])
    .generation()
    .defaults(adm::default_replicaset)
    .printer(&t::REPLICASETS),
    kind(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
    )
    .validate(adm::validate_workload)
    .short(&["sts"])
    .in_all()
    .with_status()
    .subresources(&["scale"])
    .generation()
    .defaults(adm::default_statefulset)
    .printer(&t::STATEFULSETS),
    kind("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true)
        .validate(adm::validate_workload)
        .short(&["ds"])
        .in_all()
        .with_status()
        .generation()
        .defaults(adm::default_daemonset),
    kind(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
    ),
    kind("batch", "v1", "jobs", "job", "Job", true)
        .validate(adm::validate_job)
        .in_all()
        .with_status()
        .generation()
        .defaults(adm::default_job)
        .printer(&t::JOBS),
    kind("batch", "v1", "cronjobs", "cronjob", "CronJob", true)
        .validate(adm::validate_cronjob)
        .defaults(adm::default_cronjob)
        .short(&["cj"])
        .in_all()
        .with_status()
        .generation(),
    kind(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
    )
    .short(&["hpa"])
    .in_all()
    .with_status()
    .generation()
    .printer(&t::HPAS),
    kind(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
    )
    .short(&["pdb"])
    .with_status()
    .generation(),
    kind(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
    )
    .short(&["netpol"])
    .generation(),
    kind(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
    )
    .validate(adm::validate_ingress)
    .short(&["ing"])
    .with_status()
    .generation(),
    kind(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "ingressclass",
        "IngressClass",
        false,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
    ),
    kind(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
    ),
    kind("events.k8s.io", "v1", "events", "event", "Event", true).short(&["ev"]),
    kind(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
    ),
    kind(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
    )
    .short(&["sc"]),
    kind("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", true).readonly(),
    kind(
        "metrics.k8s.io",
        "v1beta1",
        "nodes",
        "",
        "NodeMetrics",
        false,
    )
    .readonly(),
    review(
        "authentication.k8s.io",
        "selfsubjectreviews",
        "SelfSubjectReview",
    ),
    review(
        "authorization.k8s.io",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
    ),
    review(
        "authorization.k8s.io",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
    ),
    kind(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
    )
    .validate(adm::validate_crd)
    .short(&["crd", "crds"])
    .categories(&["api-extensions"])
    .with_status()
    .generation()
    .defaults(adm::default_crd)
    .printer(&t::CRDS),
];

/// A resource that is only ever created and answered (the access reviews).
const fn review(group: &'static str, plural: &'static str, k: &'static str) -> ResDef {
    let mut d = kind(group, "v1", plural, "", k, false);
    d.create_only = true;
    d
}

pub const VPA_GROUP: &str = "autoscaling.k8s.io";
pub const CRD_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// A built-in resource by group and plural (for the controllers' fixed lookups).
pub fn builtin(group: &str, plural: &str) -> &'static ResDef {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .expect("known resource")
}

pub fn split_api_version(av: &str) -> (&str, &str) {
    match av.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", av),
    }
}

/// What the server serves right now: the built-in table plus the resources of the
/// established CustomResourceDefinitions.
#[derive(Debug, Clone)]
pub struct Catalog(pub Vec<&'static ResDef>);

/// Kubernetes version priority: GA before beta before alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, i64, i64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = num.parse::<i64>().unwrap_or(0);
    let tail = &rest[num.len()..];
    let (level, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(b) = tail.strip_prefix("beta") {
        (2, b.parse().unwrap_or(0))
    } else if let Some(a) = tail.strip_prefix("alpha") {
        (1, a.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (level, major, minor)
}

impl Catalog {
    pub fn iter(&self) -> impl Iterator<Item = &'static ResDef> + '_ {
        self.0.iter().copied()
    }
    /// Groups in discovery order (core excluded).
    pub fn groups(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for r in self.iter() {
            if !r.group.is_empty() && !out.contains(&r.group) {
                out.push(r.group);
            }
        }
        out
    }
    /// A group's versions, preferred first.
    pub fn versions(&self, group: &str) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for r in self.iter().filter(|r| r.group == group) {
            if !out.contains(&r.version) {
                out.push(r.version);
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(version_rank(v)));
        out
    }
    pub fn served(&self, group: &str, version: &str) -> bool {
        self.iter()
            .any(|r| r.group == group && r.version == version)
    }
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&'static ResDef> {
        self.iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<&'static ResDef> {
        let (g, v) = split_api_version(api_version);
        self.iter()
            .find(|r| r.group == g && r.version == v && r.kind == kind)
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_list(v: Vec<String>) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// Definitions made from CRDs are leaked once per distinct definition and shared (they
/// never change), so re-creating a CRD does not leak again.
fn intern(key: String, make: impl FnOnce() -> ResDef) -> &'static ResDef {
    static INTERNED: std::sync::Mutex<Option<HashMap<String, &'static ResDef>>> =
        std::sync::Mutex::new(None);
    let mut g = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if let Some(x) = m.get(&key) {
        return x;
    }
    let x: &'static ResDef = Box::leak(Box::new(make()));
    m.insert(key, x);
    x
}

/// The resources an established CRD serves, one per served version.
pub fn from_crd(crd: &serde_json::Value) -> Vec<&'static ResDef> {
    use crate::util::str_of;
    let strs = |p: &str| -> Vec<String> {
        crd.pointer(p)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let group = str_of(crd, "spec.group");
    let plural = str_of(crd, "spec.names.plural");
    let kind = str_of(crd, "spec.names.kind");
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return vec![];
    }
    let singular = {
        let s = str_of(crd, "spec.names.singular");
        if s.is_empty() { kind.to_lowercase() } else { s }
    };
    let namespaced = str_of(crd, "spec.scope") != "Cluster";
    let mut out = Vec::new();
    for v in crd
        .pointer("/spec/versions")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default()
    {
        if v.get("served").and_then(|s| s.as_bool()) == Some(false) {
            continue;
        }
        let name = str_of(&v, "name");
        if name.is_empty() {
            continue;
        }
        let cols: Vec<(String, String, String)> = v
            .get("additionalPrinterColumns")
            .and_then(|c| c.as_array())
            .map(|a| {
                a.iter()
                    .map(|c| (str_of(c, "name"), str_of(c, "type"), str_of(c, "jsonPath")))
                    .collect()
            })
            .unwrap_or_default();
        let scale = v.pointer("/subresources/scale").is_some();
        let status = v.pointer("/subresources/status").is_some();
        let shorts = strs("/spec/names/shortNames");
        let cats = strs("/spec/names/categories");
        let key = format!(
            "{group}|{name}|{plural}|{singular}|{kind}|{namespaced}|{shorts:?}|{cats:?}|{status}|{scale}|{cols:?}"
        );
        out.push(intern(key, || {
            let mut d = self::kind(
                leak(&group),
                leak(&name),
                leak(&plural),
                leak(&singular),
                leak(&kind),
                namespaced,
            );
            d.short = leak_list(shorts);
            d.categories = leak_list(cats);
            d.status = status;
            d.subresources = if scale { &["scale"] } else { &[] };
            d.custom = true;
            d.generation = true;
            d.printer_columns = Box::leak(
                cols.iter()
                    .map(|(a, b, c)| (leak(a), leak(b), leak(c)))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
            d
        }));
    }
    out
}

/// The VerticalPodAutoscaler CRD as the VPA project installs it (v1; `vpa_installed`
/// creates it at start; tests may delete and re-create it).
pub fn vpa_crd() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "verticalpodautoscalers.autoscaling.k8s.io",
            "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}},
        "spec": {
            "group": VPA_GROUP,
            "names": {"kind": "VerticalPodAutoscaler", "listKind": "VerticalPodAutoscalerList",
                "plural": "verticalpodautoscalers", "singular": "verticalpodautoscaler", "shortNames": ["vpa"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.updatePolicy.updateMode"},
                    {"name": "CPU", "type": "string", "jsonPath": ".status.recommendation.containerRecommendations[0].target.cpu"},
                    {"name": "Mem", "type": "string", "jsonPath": ".status.recommendation.containerRecommendations[0].target.memory"},
                    {"name": "Provided", "type": "string", "jsonPath": ".status.conditions[?(@.type=='RecommendationProvided')].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    })
}
