//! One rendered Kubernetes object and the facts every later step asks of it
//! (kind, name, namespace, the apply phase it belongs to).

use serde_json::Value;

/// A rendered object, with the template it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Template file the object was rendered from, e.g. `api-gateway.yaml`.
    pub template: String,
    /// The object as the API server would receive it.
    pub object: Value,
}

impl Manifest {
    pub fn new(template: impl Into<String>, object: Value) -> Self {
        Self {
            template: template.into(),
            object,
        }
    }

    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.object["metadata"]["labels"][key].as_str()
    }

    /// The component this object belongs to (`app.kubernetes.io/component`).
    pub fn component(&self) -> &str {
        self.label(crate::render::labels::COMPONENT).unwrap_or("")
    }

    /// `Kind/name`, the way kubectl names an object.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// The apply phase: objects of a phase are applied in parallel, phases in order.
    pub fn phase(&self) -> Phase {
        Phase::of(self.kind(), self.component())
    }

    /// Whether this object holds secret material (its values are never printed).
    pub fn is_secret(&self) -> bool {
        self.kind() == "Secret" && self.api_version() == "v1"
    }

    /// The object with every secret value replaced by a marker; other kinds unchanged.
    pub fn redacted(&self) -> Value {
        let mut object = self.object.clone();
        crate::redact::mask_secret(&mut object, crate::redact::SecretMask::Marker);
        object
    }
}

/// What a secret value is shown as.
pub use crate::redact::REDACTED;

/// Components that are data stores (their workloads go in [`Phase::DataStores`]).
pub const DATA_STORES: [&str; 3] = ["postgres", "redis", "kafka"];

/// Apply phases, in the order the deploy applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The Namespace itself: everything else lives in it.
    Namespace,
    /// ResourceQuota and LimitRange, in force before any pod is created.
    Quota,
    /// ServiceAccounts, RBAC, NetworkPolicies.
    Access,
    /// ConfigMaps and Secrets.
    Config,
    /// The in-cluster data stores (PostgreSQL, Redis, Kafka StatefulSets
    /// and their Services): ready before the migration connects to them.
    DataStores,
    /// The database-migration Job.
    Migration,
    /// Services, workloads, PDBs, Ingress, PVCs.
    Workloads,
    /// HPA and VPA.
    Autoscaling,
}

impl Phase {
    pub fn of_kind(kind: &str) -> Phase {
        match kind {
            "Namespace" => Phase::Namespace,
            "ResourceQuota" | "LimitRange" => Phase::Quota,
            "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding"
            | "NetworkPolicy" => Phase::Access,
            "ConfigMap" | "Secret" => Phase::Config,
            "Job" => Phase::Migration,
            "HorizontalPodAutoscaler" | "VerticalPodAutoscaler" => Phase::Autoscaling,
            _ => Phase::Workloads,
        }
    }

    /// The phase of an object of `kind` belonging to `component` (its
    /// `app.kubernetes.io/component` label).
    pub fn of(kind: &str, component: &str) -> Phase {
        let phase = Phase::of_kind(kind);
        if phase == Phase::Workloads && DATA_STORES.contains(&component) {
            Phase::DataStores
        } else {
            phase
        }
    }

    /// How messages name the phase: `data stores`, `workloads`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Namespace => "namespace",
            Phase::Quota => "quota",
            Phase::Access => "access",
            Phase::Config => "config",
            Phase::DataStores => "data stores",
            Phase::Migration => "migration",
            Phase::Workloads => "workloads",
            Phase::Autoscaling => "autoscaling",
        }
    }

    pub fn all() -> [Phase; 8] {
        [
            Phase::Namespace,
            Phase::Quota,
            Phase::Access,
            Phase::Config,
            Phase::DataStores,
            Phase::Migration,
            Phase::Workloads,
            Phase::Autoscaling,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacted_masks_every_secret_value_and_nothing_else() {
        let secret = Manifest::new(
            "secrets.yaml",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "stringData": {"a": "hunter2"}, "data": {"b": "aHVudGVyMg=="}}),
        );
        let shown = serde_json::to_string(&secret.redacted()).unwrap();
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("aHVudGVyMg=="));
        assert!(shown.contains(REDACTED));

        let cm = Manifest::new(
            "x.yaml",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "visible"}}),
        );
        assert_eq!(cm.redacted(), cm.object);
    }

    #[test]
    fn phases_follow_the_apply_order() {
        assert!(Phase::of_kind("Namespace") < Phase::of_kind("ResourceQuota"));
        assert!(Phase::of_kind("LimitRange") < Phase::of_kind("Role"));
        assert!(Phase::of_kind("NetworkPolicy") < Phase::of_kind("Secret"));
        assert!(Phase::of_kind("Secret") < Phase::of_kind("Job"));
        assert!(Phase::of_kind("Job") < Phase::of_kind("Deployment"));
        assert!(Phase::of_kind("Deployment") < Phase::of_kind("HorizontalPodAutoscaler"));
    }

    #[test]
    fn data_stores_come_before_the_migration() {
        assert_eq!(Phase::of("StatefulSet", "postgres"), Phase::DataStores);
        assert_eq!(Phase::of("Service", "redis"), Phase::DataStores);
        assert_eq!(Phase::of("Secret", "postgres"), Phase::Config);
        assert_eq!(Phase::of("Service", "api-gateway"), Phase::Workloads);
        assert!(Phase::DataStores < Phase::Migration);
    }
}
