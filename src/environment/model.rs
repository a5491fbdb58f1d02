//! The typed schema of `environments/*.yaml`: everything that differs between
//! `local`, `staging` and `production`. Unknown fields are rejected, so a typo
//! fails at load time instead of silently falling back to a default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Environment {
    /// `local`, `staging`, `production`: must match the file name.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub cluster: Cluster,
    pub namespace: Namespace,
    pub release: ReleasePolicy,
    pub quota: Quota,
    pub limit_range: LimitRange,
    pub services: Services,
    pub ingress: Ingress,
    pub data: DataStores,
    pub backup: Backup,
    pub monitoring: Monitoring,
    #[serde(default)]
    pub cluster_autoscaler: Option<ClusterAutoscaler>,
}

/// How fintechctl reaches the environment's cluster when neither
/// `--kubeconfig` nor `--context` is given.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    pub provider: Provider,
    /// AKS / EKS / GKE cluster name (cloud providers).
    #[serde(default)]
    pub name: Option<String>,
    /// Azure resource group.
    #[serde(default)]
    pub resource_group: Option<String>,
    /// Azure subscription (id or name); the CLI's default when absent.
    #[serde(default)]
    pub subscription: Option<String>,
    /// AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// GCP project.
    #[serde(default)]
    pub project: Option<String>,
    /// GCP zone or region of the cluster.
    #[serde(default)]
    pub location: Option<String>,
    /// kubeconfig context (provider `kubeconfig`).
    #[serde(default)]
    pub context: Option<String>,
    /// The cluster's identity: its `kube-system` namespace's UID. When set,
    /// writing commands refuse any other cluster (docs: the wrong-cluster rule).
    #[serde(default)]
    pub uid: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Azure,
    Aws,
    Gcp,
    Kubeconfig,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Azure => "azure",
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Kubeconfig => "kubeconfig",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Namespace {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleasePolicy {
    /// Refuse to render or deploy without `--version` (and never `latest`).
    pub require_version: bool,
    /// Image tag used when `--version` is not given (environments that allow it).
    #[serde(default)]
    pub default_version: Option<String>,
    /// Roll back automatically when a deploy's rollout fails.
    #[serde(default)]
    pub rollback_on_failure: bool,
    /// Changes need the environment's name typed at a prompt, or `--yes`.
    #[serde(default)]
    pub protected: bool,
    /// How many release records (revisions) to keep.
    #[serde(default = "default_history_limit")]
    pub history_limit: usize,
    /// How a deploy replaces the application pods (docs/canary.md).
    #[serde(default)]
    pub strategy: Strategy,
    /// The canary's steps, interval and analysis (used when `strategy` is `canary`).
    #[serde(default)]
    pub canary: CanaryPolicy,
}

/// `release.strategy`: every pod at once through a rolling update, or a
/// canary judged by the platform's metrics first.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    Rolling,
    Canary,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::Canary => "canary",
        }
    }
}

/// `release.canary`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CanaryPolicy {
    /// Traffic percentages, strictly ascending, each 1..=99.
    #[serde(default = "default_canary_steps")]
    pub steps: Vec<u32>,
    /// How long each step runs before its analysis, e.g. `60s` (1s to 1h).
    #[serde(default = "default_canary_interval")]
    pub interval: String,
    /// Inconclusive rounds (no data) tolerated per step before it fails.
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    /// Pause after the last step for `fintechctl promote` / `abort`.
    #[serde(default)]
    pub manual_promotion: bool,
    /// The analysis' thresholds.
    #[serde(default)]
    pub analysis: crate::canary::analysis::Thresholds,
}

impl Default for CanaryPolicy {
    fn default() -> Self {
        CanaryPolicy {
            steps: default_canary_steps(),
            interval: default_canary_interval(),
            failure_limit: default_failure_limit(),
            manual_promotion: false,
            analysis: Default::default(),
        }
    }
}

fn default_canary_steps() -> Vec<u32> {
    vec![10, 50]
}

fn default_canary_interval() -> String {
    "60s".to_string()
}

fn default_failure_limit() -> u32 {
    3
}

fn default_history_limit() -> usize {
    20
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Quota {
    pub name: String,
    /// ResourceQuota `spec.hard`, e.g. `requests.cpu: "16"`.
    pub hard: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRange {
    pub default_request: CpuMemory,
    pub default: CpuMemory,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CpuMemory {
    pub cpu: String,
    pub memory: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    pub requests: CpuMemory,
    pub limits: CpuMemory,
}

/// The three application services, by their Kubernetes names.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Services {
    #[serde(rename = "api-gateway")]
    pub api_gateway: Service,
    #[serde(rename = "ml-service")]
    pub ml_service: Service,
    pub frontend: Service,
}

impl Services {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Service)> {
        [
            ("api-gateway", &self.api_gateway),
            ("ml-service", &self.ml_service),
            ("frontend", &self.frontend),
        ]
        .into_iter()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// Image repository without tag; the tag is the release version.
    pub image: String,
    pub port: u16,
    pub replicas: u32,
    pub rolling_update: RollingUpdate,
    pub resources: Resources,
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    #[serde(default)]
    pub vpa: Option<Vpa>,
    /// Plain (non-secret) environment variables for the container.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollingUpdate {
    pub max_surge: IntOrPercent,
    pub max_unavailable: IntOrPercent,
}

/// An integer or a percentage such as `"25%"`, as Kubernetes' IntOrString.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum IntOrPercent {
    Int(u32),
    Percent(String),
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_cpu_utilization: u32,
    pub target_memory_utilization: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vpa {
    /// `Off` (recommendations only) whenever an HPA scales on cpu/memory.
    pub update_mode: String,
    pub min_allowed: CpuMemory,
    pub max_allowed: CpuMemory,
    pub controlled_values: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    pub enabled: bool,
    pub class_name: String,
    pub host: String,
    /// Namespace the ingress controller runs in (network policies admit it).
    pub controller_namespace: String,
    #[serde(default)]
    pub tls: Option<Tls>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    pub secret_name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataStores {
    pub postgres: Postgres,
    pub redis: Redis,
    pub kafka: Kafka,
}

/// Where a data store lives: inside the cluster (rendered as a StatefulSet)
/// or as a managed cloud service reached over the network.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    InCluster,
    Managed,
}

/// What an in-cluster data store needs.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InCluster {
    pub image: String,
    pub storage: String,
    pub resources: Resources,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postgres {
    pub placement: Placement,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub ssl_mode: String,
    #[serde(default)]
    pub in_cluster: Option<InCluster>,
    /// Managed PostgreSQL: the image of the toolbox pod `backup` / `restore`
    /// exec `pg_dump` / `pg_restore` / `psql` in. Its client major version
    /// must not be older than the server's (checked when the toolbox
    /// starts). Default: `postgres:16-alpine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolbox_image: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redis {
    pub placement: Placement,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    #[serde(default)]
    pub in_cluster: Option<InCluster>,
    /// Managed Redis (Azure Cache for Redis): the cache's resource name for
    /// `az redis export`. Default: the first label of `host` when it ends
    /// in `.redis.cache.windows.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Managed Redis: the cache's resource group. Default: `cluster.resourceGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kafka {
    pub placement: Placement,
    /// `host:port[,host:port]`.
    pub bootstrap_servers: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    #[serde(default)]
    pub in_cluster: Option<InCluster>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    pub provider: BackupProvider,
    /// Azure storage account (azure).
    #[serde(default)]
    pub account: Option<String>,
    /// Blob container (azure) or bucket (aws, gcp).
    #[serde(default)]
    pub container: Option<String>,
    /// Directory (filesystem).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    pub retention_days: u32,
    /// age public keys (`age1…`) the Secrets in a backup are encrypted to;
    /// without any, Secrets are listed by name only, never stored.
    #[serde(default)]
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackupProvider {
    Azure,
    Aws,
    Gcp,
    Filesystem,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Monitoring {
    pub prometheus_url: String,
    pub grafana_url: String,
    pub jaeger_url: String,
    /// `host:port` of Alertmanager as Prometheus reaches it.
    pub alertmanager: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterAutoscaler {
    pub image: String,
    pub max_nodes_total: u32,
    /// Node groups (ASG / VMSS / MIG name prefix) auto-discovery applies to.
    #[serde(default)]
    pub node_group_prefix: Option<String>,
    #[serde(default)]
    pub min_nodes: Option<u32>,
    #[serde(default)]
    pub max_nodes: Option<u32>,
}
