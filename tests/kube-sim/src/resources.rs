//! The table of resources kube-sim serves.

#[derive(Debug, Clone, Copy)]
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
        "autoscaling.k8s.io",
        "v1",
        "verticalpodautoscalers",
        "verticalpodautoscaler",
        "VerticalPodAutoscaler",
        true,
        &["vpa"],
        NONE,
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
    }
}

pub const VPA_GROUP: &str = "autoscaling.k8s.io";

/// Groups in discovery order (core first).
pub fn groups(vpa: bool) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES {
        if r.group.is_empty() || (!vpa && r.group == VPA_GROUP) {
            continue;
        }
        if !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

pub fn group_version(group: &str, vpa: bool) -> Option<&'static str> {
    if !vpa && group == VPA_GROUP {
        return None;
    }
    RESOURCES
        .iter()
        .find(|r| r.group == group)
        .map(|r| r.version)
}

pub fn find(group: &str, version: &str, plural: &str, vpa: bool) -> Option<&'static ResDef> {
    if !vpa && group == VPA_GROUP {
        return None;
    }
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Find by apiVersion + kind.
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResDef> {
    let (g, v) = split_api_version(api_version);
    RESOURCES
        .iter()
        .find(|r| r.group == g && r.version == v && r.kind == kind)
}

pub fn split_api_version(av: &str) -> (&str, &str) {
    match av.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", av),
    }
}
