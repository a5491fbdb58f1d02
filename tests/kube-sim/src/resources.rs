//! The table of resources kube-sim serves.

#[derive(Debug, Clone, Copy, PartialEq)]
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

macro_rules! r {
    ($g:expr, $v:expr, $p:expr, $s:expr, $k:expr, $ns:expr, $short:expr, $cat:expr, $st:expr, $sub:expr) => {
        ResDef {
            group: $g,
            version: $v,
            plural: $p,
            singular: $s,
            kind: $k,
            namespaced: $ns,
            short: $short,
            categories: $cat,
            status: $st,
            readonly: false,
            subresources: $sub,
            create_only: false,
            custom: false,
            printer_columns: &[],
        }
    };
}

pub static RESOURCES: &[ResDef] = &[
    r!(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        NONE,
        true,
        &["finalize"]
    ),
    r!(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        ALL,
        true,
        &[
            "log",
            "exec",
            "attach",
            "portforward",
            "proxy",
            "eviction",
            "ephemeralcontainers",
            "resize",
            "binding"
        ]
    ),
    r!(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        ALL,
        true,
        &["proxy"]
    ),
    r!(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        NONE,
        false,
        NONE
    ),
    r!(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        NONE,
        false,
        NONE
    ),
    r!(
        "", "v1", "secrets", "secret", "Secret", true, NONE, NONE, false, NONE
    ),
    r!(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        NONE,
        false,
        &["token"]
    ),
    r!(
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        NONE,
        false,
        NONE
    ),
    r!(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        NONE,
        true,
        NONE
    ),
    r!(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        NONE,
        true,
        NONE
    ),
    r!(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        &["quota"],
        NONE,
        true,
        NONE
    ),
    r!(
        "",
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        &["limits"],
        NONE,
        false,
        NONE
    ),
    r!(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        NONE,
        true,
        &["proxy"]
    ),
    r!(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
        &["rc"],
        ALL,
        true,
        &["scale"]
    ),
    r!(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        ALL,
        true,
        &["scale"]
    ),
    r!(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        ALL,
        true,
        &["scale"]
    ),
    r!(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        ALL,
        true,
        &["scale"]
    ),
    r!(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        ALL,
        true,
        NONE
    ),
    r!(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "batch", "v1", "jobs", "job", "Job", true, NONE, ALL, true, NONE
    ),
    r!(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        ALL,
        true,
        NONE
    ),
    r!(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        ALL,
        true,
        NONE
    ),
    r!(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        NONE,
        true,
        NONE
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        NONE,
        false,
        NONE
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
        NONE,
        true,
        NONE
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "ingressclass",
        "IngressClass",
        false,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "events.k8s.io",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        NONE,
        false,
        NONE
    ),
    r!(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        NONE,
        NONE,
        false,
        NONE
    ),
    r!(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        &["sc"],
        NONE,
        false,
        NONE
    ),
    ResDef {
        group: "metrics.k8s.io",
        version: "v1beta1",
        plural: "pods",
        singular: "",
        kind: "PodMetrics",
        namespaced: true,
        short: NONE,
        categories: NONE,
        status: false,
        readonly: true,
        subresources: NONE,
        create_only: false,
        custom: false,
        printer_columns: &[],
    },
    ResDef {
        group: "metrics.k8s.io",
        version: "v1beta1",
        plural: "nodes",
        singular: "",
        kind: "NodeMetrics",
        namespaced: false,
        short: NONE,
        categories: NONE,
        status: false,
        readonly: true,
        subresources: NONE,
        create_only: false,
        custom: false,
        printer_columns: &[],
    },
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
    r!(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        true,
        NONE
    ),
];

/// A resource that is only ever created and answered (the access reviews).
const fn review(group: &'static str, plural: &'static str, kind: &'static str) -> ResDef {
    ResDef {
        group,
        version: "v1",
        plural,
        singular: "",
        kind,
        namespaced: false,
        short: NONE,
        categories: NONE,
        status: false,
        readonly: false,
        subresources: NONE,
        create_only: true,
        custom: false,
        printer_columns: &[],
    }
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

/// Definitions made from CRDs are leaked once and shared (they never change).
fn intern(d: ResDef) -> &'static ResDef {
    static INTERNED: std::sync::Mutex<Vec<&'static ResDef>> = std::sync::Mutex::new(Vec::new());
    let mut g = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(x) = g.iter().find(|x| ***x == d) {
        return x;
    }
    let x: &'static ResDef = Box::leak(Box::new(d));
    g.push(x);
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
        let cols: Vec<(&'static str, &'static str, &'static str)> = v
            .get("additionalPrinterColumns")
            .and_then(|c| c.as_array())
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            leak(&str_of(c, "name")),
                            leak(&str_of(c, "type")),
                            leak(&str_of(c, "jsonPath")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let scale = v.pointer("/subresources/scale").is_some();
        out.push(intern(ResDef {
            group: leak(&group),
            version: leak(&name),
            plural: leak(&plural),
            singular: leak(&singular),
            kind: leak(&kind),
            namespaced,
            short: leak_list(strs("/spec/names/shortNames")),
            categories: leak_list(strs("/spec/names/categories")),
            status: v.pointer("/subresources/status").is_some(),
            readonly: false,
            subresources: if scale { &["scale"] } else { &[] },
            create_only: false,
            custom: true,
            printer_columns: Box::leak(cols.into_boxed_slice()),
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
