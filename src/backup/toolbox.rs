//! The toolbox pod: how `backup`, `backup verify` and `restore` reach a
//! managed PostgreSQL (Azure Database for PostgreSQL and the like), which
//! has no pod to exec into. A short-lived pod in the environment's
//! namespace runs the `postgres` client image and only `sleep`s; fintechctl
//! execs `pg_dump` / `pg_restore` / `psql` into it exactly as it does into
//! the in-cluster `postgres-0`, so the dump streams through the exec API
//! and never touches the pod's disk.
//!
//! - Connection parameters are the libpq variables (`PGHOST`, `PGPORT`,
//!   `PGDATABASE`, `PGUSER`, `PGSSLMODE`) from `data.postgres`; the password
//!   is `PGPASSWORD` from a `secretKeyRef` to `fintech-ai-secrets` /
//!   `postgres-password` (the key the templates use): never a literal in the
//!   pod spec, never in fintechctl's output.
//! - Restricted pod security: non-root (uid 70, the alpine images' postgres
//!   user; 999 for the Debian images), `RuntimeDefault` seccomp, no
//!   privilege escalation, every capability dropped, a read-only root
//!   filesystem with an `emptyDir` on `/tmp`, no service-account token.
//! - Small requests and limits, checked against the namespace's
//!   ResourceQuotas' headroom before anything is created.
//! - A NetworkPolicy selecting only this pod: no ingress (exec does not use
//!   the pod network), egress to TCP `data.postgres.port` on any address (the
//!   host is a DNS name and an `ipBlock` needs addresses) and DNS (53 UDP/TCP)
//!   to kube-system.
//! - Labelled as fintechctl's (`app.kubernetes.io/managed-by`, the
//!   environment) plus [`TOOLBOX_LABEL`] and [`RUN_LABEL`];
//!   `restartPolicy: Never`, `activeDeadlineSeconds` and a `sleep` of the
//!   same length as safety nets; a heartbeat annotation renewed while the run
//!   lives, so the next run can tell a crashed run's leftover (swept, see
//!   [`sweep`]) from a toolbox another run is using.
//! - Removed (pod and NetworkPolicy) by [`Toolbox::remove`], which the
//!   operations call on success, failure and stop (Ctrl-C); dropping a
//!   toolbox that was not removed starts a best-effort delete.
//!
//! Nothing here prints.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::exec::Target;
use crate::environment::Environment;
use crate::interrupt::Stop;
use crate::render::labels;

/// Marks a toolbox pod and its NetworkPolicy (value: what it is for, `postgres`).
pub const TOOLBOX_LABEL: &str = labels::TOOLBOX;
/// The run that created the toolbox.
pub const RUN_LABEL: &str = "fintechctl.io/run-id";
/// RFC 3339 time the creating run last said it is alive.
pub const HEARTBEAT_ANNOTATION: &str = "fintechctl.io/toolbox-heartbeat";
/// What the toolbox is for (`backup`, `verify`, `restore`) and who ran it.
pub const PURPOSE_ANNOTATION: &str = "fintechctl.io/toolbox-purpose";
/// The client image when `data.postgres.toolboxImage` is not set.
pub const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The Secret and key of the database password (as the templates use them).
pub const PASSWORD_SECRET: &str = "fintech-ai-secrets";
pub const PASSWORD_KEY: &str = "postgres-password";
/// The toolbox's only container.
pub const CONTAINER: &str = "toolbox";
/// Requests and limits: enough for pg_dump / pg_restore streaming through
/// stdin/stdout (nothing is buffered on disk).
pub const REQUESTS: (&str, &str) = ("100m", "128Mi");
pub const LIMITS: (&str, &str) = ("500m", "512Mi");
/// How often the heartbeat is renewed, and when a toolbox without a fresh
/// one counts as a crashed run's leftover.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
pub const STALE_AFTER: Duration = Duration::from_secs(120);
/// How long the pod may take to run (image pull included).
pub const START_DEADLINE: Duration = Duration::from_secs(180);
/// How long the client/server version check may take.
const VERSION_CHECK_DEADLINE: Duration = Duration::from_secs(60);
/// How long a delete is waited for.
const DELETE_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum ToolboxError {
    #[error("the toolbox pod does not fit the namespace's quota: {0}")]
    Quota(String),
    #[error("{action} {what}: {message}")]
    Api {
        action: &'static str,
        what: String,
        message: String,
    },
    #[error("the toolbox pod/{pod} did not start: {reason}: {message}")]
    Failed {
        pod: String,
        reason: String,
        message: String,
    },
    #[error("the toolbox pod/{pod} was not running after {}s (phase {phase})", .waited.as_secs())]
    Timeout {
        pod: String,
        phase: String,
        waited: Duration,
    },
    #[error("stopped while the toolbox pod/{pod} was starting")]
    Stopped { pod: String },
    #[error("the toolbox pod/{pod} cannot reach PostgreSQL ({what} exited with code {code})")]
    Connect {
        pod: String,
        what: String,
        code: i32,
        stderr: Vec<String>,
    },
    #[error("{0}")]
    Version(String),
    /// The pod or NetworkPolicy fintechctl built does not parse (a bug).
    #[error("{0}")]
    Spec(String),
}

impl ToolboxError {
    /// The command's last stderr lines, for the error's details.
    pub fn details(&self) -> Vec<String> {
        match self {
            ToolboxError::Connect { stderr, .. } => stderr.clone(),
            _ => Vec::new(),
        }
    }
}

/// What one toolbox is started for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub image: String,
    pub run_id: String,
    /// `backup 20261129T…`, `verify …`, `restore …` (an annotation).
    pub purpose: String,
    /// `activeDeadlineSeconds`: the pod ends by itself after this.
    pub deadline: Duration,
}

impl Plan {
    pub fn new(env: &Environment, purpose: &str, deadline: Duration) -> Self {
        Plan {
            image: image(env),
            run_id: run_id(),
            purpose: purpose.to_string(),
            deadline,
        }
    }

    pub fn pod_name(&self) -> String {
        format!("fintechctl-toolbox-{}", self.run_id)
    }
}

/// A short random id for one run.
pub fn run_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The toolbox image of `env`: `data.postgres.toolboxImage`, else [`DEFAULT_IMAGE`].
pub fn image(env: &Environment) -> String {
    env.data
        .postgres
        .toolbox_image
        .clone()
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string())
}

/// The uid of the `postgres` user in `image`: 70 in the alpine images, 999
/// in the Debian ones.
pub fn run_as(image: &str) -> i64 {
    if image.contains("alpine") { 70 } else { 999 }
}

fn object_labels(env: &Environment, plan: &Plan) -> Value {
    json!({
        labels::NAME: "fintechctl-toolbox",
        labels::COMPONENT: "toolbox",
        labels::PART_OF: labels::PART_OF_VALUE,
        labels::MANAGED_BY: labels::MANAGER,
        labels::ENVIRONMENT: env.name,
        TOOLBOX_LABEL: "postgres",
        RUN_LABEL: plan.run_id,
    })
}

/// The toolbox Pod.
pub fn pod_manifest(env: &Environment, plan: &Plan) -> Value {
    let pg = &env.data.postgres;
    let uid = run_as(&plan.image);
    let secs = plan.deadline.as_secs().max(60);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": plan.pod_name(),
            "namespace": env.namespace.name,
            "labels": object_labels(env, plan),
            "annotations": {
                PURPOSE_ANNOTATION: plan.purpose,
                HEARTBEAT_ANNOTATION: Timestamp::now().to_string(),
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": secs,
            "terminationGracePeriodSeconds": 5,
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": uid,
                "runAsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [{
                "name": CONTAINER,
                "image": plan.image,
                "imagePullPolicy": "IfNotPresent",
                // Alive as long as the deadline allows; fintechctl execs into it.
                "command": ["sleep", secs.to_string()],
                "env": [
                    {"name": "PGHOST", "value": pg.host},
                    {"name": "PGPORT", "value": pg.port.to_string()},
                    {"name": "PGDATABASE", "value": pg.database},
                    {"name": "PGUSER", "value": pg.user},
                    {"name": "PGSSLMODE", "value": pg.ssl_mode},
                    {"name": "PGCONNECT_TIMEOUT", "value": "15"},
                    {"name": "PGAPPNAME", "value": "fintechctl-toolbox"},
                    {"name": "HOME", "value": "/tmp"},
                    {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {
                        "name": PASSWORD_SECRET, "key": PASSWORD_KEY,
                    }}},
                ],
                "resources": {
                    "requests": {"cpu": REQUESTS.0, "memory": REQUESTS.1},
                    "limits": {"cpu": LIMITS.0, "memory": LIMITS.1},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "runAsNonRoot": true,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        },
    })
}

/// The toolbox's NetworkPolicy: nothing in; out only to the database's
/// port and to DNS in kube-system.
pub fn network_policy(env: &Environment, plan: &Plan) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": plan.pod_name(),
            "namespace": env.namespace.name,
            "labels": object_labels(env, plan),
            "annotations": {PURPOSE_ANNOTATION: plan.purpose},
        },
        "spec": {
            "podSelector": {"matchLabels": {TOOLBOX_LABEL: "postgres", RUN_LABEL: plan.run_id}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                // The host is a DNS name: no ipBlock can name it, so any
                // address on the database's port.
                {"ports": [{"protocol": "TCP", "port": env.data.postgres.port}]},
                {
                    "to": [{"namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": "kube-system"
                    }}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    })
}

fn api_error(
    action: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(kube::Error) -> ToolboxError {
    let what = what.into();
    move |e| ToolboxError::Api {
        action,
        what,
        message: crate::cluster::api_message(&e),
    }
}

// ---- quota ----------------------------------------------------------------

/// What the toolbox adds to a quota's `used`, by the quota's resource name.
fn needs(resource: &str) -> Option<(i128, bool)> {
    use crate::quantity::{parse_cpu_millis, parse_memory_bytes};
    let cpu = |q: &str| parse_cpu_millis(q).map(i128::from).ok();
    let mem = |q: &str| parse_memory_bytes(q).ok();
    // (amount, is_cpu)
    match resource {
        "requests.cpu" | "cpu" => cpu(REQUESTS.0).map(|v| (v, true)),
        "requests.memory" | "memory" => mem(REQUESTS.1).map(|v| (v, false)),
        "limits.cpu" => cpu(LIMITS.0).map(|v| (v, true)),
        "limits.memory" => mem(LIMITS.1).map(|v| (v, false)),
        "pods" | "count/pods" => Some((1, false)),
        _ => None,
    }
}

/// Why the toolbox would not fit the quotas' headroom (`status.hard` −
/// `status.used`), one line per exhausted resource; empty: it fits (or
/// there is no quota, or its status is not filled in yet).
pub fn quota_shortfalls(quotas: &[ResourceQuota]) -> Vec<String> {
    use crate::quantity::{parse_cpu_millis, parse_memory_bytes};
    let mut out = Vec::new();
    for q in quotas {
        let name = q.metadata.name.clone().unwrap_or_default();
        let Some(status) = &q.status else { continue };
        let (Some(hard), Some(used)) = (&status.hard, &status.used) else {
            continue;
        };
        for (resource, limit) in hard {
            let Some((need, is_cpu)) = needs(resource) else {
                continue;
            };
            let parse = |text: &str| -> Option<i128> {
                if resource.contains("pods") {
                    text.parse::<i128>().ok()
                } else if is_cpu {
                    parse_cpu_millis(text).map(i128::from).ok()
                } else {
                    parse_memory_bytes(text).ok()
                }
            };
            let Some(hard_v) = parse(&limit.0) else {
                continue;
            };
            let used_text = used
                .get(resource)
                .map(|u| u.0.clone())
                .unwrap_or("0".into());
            let used_v = parse(&used_text).unwrap_or(0);
            if used_v + need > hard_v {
                let asked = match resource.as_str() {
                    "requests.cpu" | "cpu" => REQUESTS.0,
                    "requests.memory" | "memory" => REQUESTS.1,
                    "limits.cpu" => LIMITS.0,
                    "limits.memory" => LIMITS.1,
                    _ => "1",
                };
                out.push(format!(
                    "ResourceQuota/{name}: {resource} {used_text} used of {}, the toolbox needs {asked} more",
                    limit.0
                ));
            }
        }
    }
    out
}

async fn check_quota(client: &kube::Client, namespace: &str) -> Result<(), ToolboxError> {
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), namespace);
    let quotas = api
        .list(&ListParams::default())
        .await
        .map_err(api_error("listing", "the namespace's ResourceQuotas"))?;
    let short = quota_shortfalls(&quotas.items);
    if short.is_empty() {
        Ok(())
    } else {
        Err(ToolboxError::Quota(short.join("; ")))
    }
}

// ---- sweep ----------------------------------------------------------------

/// A toolbox pod found in the namespace.
#[derive(Debug, Clone)]
pub struct Leftover {
    pub pod: String,
    pub run_id: String,
    pub purpose: String,
    /// Why it counts as a leftover.
    pub why: String,
}

/// Whether `pod` is a crashed run's leftover at `now`: finished, or its
/// heartbeat missing or older than [`STALE_AFTER`].
pub fn leftover(pod: &Pod, now: Timestamp) -> Option<String> {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return Some(format!("it ended ({phase})"));
    }
    let beat = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HEARTBEAT_ANNOTATION))
        .and_then(|t| t.parse::<Timestamp>().ok());
    match beat {
        None => Some("it has no heartbeat".into()),
        Some(t) => {
            let age = now.as_second() - t.as_second();
            (age > STALE_AFTER.as_secs() as i64).then(|| format!("its run stopped {age}s ago"))
        }
    }
}

/// Deletes the toolbox pods (and their NetworkPolicies) that crashed or
/// killed runs left behind; a toolbox with a fresh heartbeat belongs to a
/// run still going and is left alone. Returns what was removed.
pub async fn sweep(client: &kube::Client, namespace: &str) -> Result<Vec<Leftover>, ToolboxError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    let selector = ListParams::default().labels(TOOLBOX_LABEL);
    let found = pods
        .list(&selector)
        .await
        .map_err(api_error("listing", "toolbox pods"))?;
    let now = Timestamp::now();
    let mut removed = Vec::new();
    let mut live_runs = Vec::new();
    for pod in &found.items {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let run = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(RUN_LABEL).cloned())
            .unwrap_or_default();
        match leftover(pod, now) {
            Some(why) => {
                delete_pod(&pods, &name).await?;
                removed.push(Leftover {
                    pod: name,
                    run_id: run,
                    purpose: pod
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(PURPOSE_ANNOTATION).cloned())
                        .unwrap_or_default(),
                    why,
                });
            }
            None => live_runs.push(run),
        }
    }
    // NetworkPolicies whose run has no live toolbox pod.
    let found = policies
        .list(&selector)
        .await
        .map_err(api_error("listing", "toolbox NetworkPolicies"))?;
    for policy in found.items {
        let name = policy.metadata.name.clone().unwrap_or_default();
        let run = policy
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(RUN_LABEL).cloned())
            .unwrap_or_default();
        if !live_runs.contains(&run) {
            delete_policy(&policies, &name).await?;
            if !removed.iter().any(|l| l.run_id == run) {
                removed.push(Leftover {
                    pod: format!("(none; NetworkPolicy/{name})"),
                    run_id: run,
                    purpose: String::new(),
                    why: "its pod is gone".into(),
                });
            }
        }
    }
    Ok(removed)
}

fn delete_params() -> DeleteParams {
    DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    }
}

async fn delete_pod(pods: &Api<Pod>, name: &str) -> Result<(), ToolboxError> {
    match pods.delete(name, &delete_params()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(api_error("deleting", format!("pod/{name}"))(e)),
    }
    // Gone, or at least terminating, within a bound.
    let started = Instant::now();
    while started.elapsed() < DELETE_WAIT {
        match pods.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Ok(())
}

async fn delete_policy(api: &Api<NetworkPolicy>, name: &str) -> Result<(), ToolboxError> {
    match api.delete(name, &delete_params()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(api_error("deleting", format!("NetworkPolicy/{name}"))(e)),
    }
}

// ---- the toolbox ----------------------------------------------------------

/// A running toolbox pod: exec into it through [`Toolbox::target`], and
/// [`Toolbox::remove`] it when done.
pub struct Toolbox {
    client: kube::Client,
    namespace: String,
    pub pod: String,
    pub image: String,
    pub run_id: String,
    /// The server's version (`server_version_num`) and the client's major.
    pub server_version_num: u32,
    pub client_major: u32,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    removed: bool,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "toolbox pod/{}", self.pod)
    }
}

impl Toolbox {
    pub fn target(&self) -> Target {
        Target {
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: Some(CONTAINER.to_string()),
        }
    }

    /// `toolbox pod/NAME (IMAGE)`: how a dump was taken, for the manifest.
    pub fn describe(&self) -> String {
        format!("toolbox pod/{} ({})", self.pod, self.image)
    }

    /// Deletes the pod and its NetworkPolicy (waiting, bounded, for the pod
    /// to go).
    pub async fn remove(mut self) -> Result<(), ToolboxError> {
        self.removed = true;
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        remove(&self.client, &self.namespace, &self.pod).await
    }
}

async fn remove(client: &kube::Client, namespace: &str, name: &str) -> Result<(), ToolboxError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    let pod = delete_pod(&pods, name).await;
    let policy = delete_policy(&policies, name).await;
    pod.and(policy)
}

impl Drop for Toolbox {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        if !self.removed
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            // Best effort: the operations remove the toolbox themselves;
            // this covers an early return nobody thought of.
            let (client, ns, pod) = (
                self.client.clone(),
                self.namespace.clone(),
                self.pod.clone(),
            );
            handle.spawn(async move {
                let _ = remove(&client, &ns, &pod).await;
            });
        }
    }
}

/// Creates the toolbox (quota headroom checked first), waits for it to run
/// (bounded by [`START_DEADLINE`]; image-pull errors, a missing Secret key
/// and an unschedulable pod fail at once, with Kubernetes' reason), and
/// checks that its `pg_dump` is not older than the server. On any failure
/// or a stop, whatever was created is deleted before returning.
pub async fn start(
    client: &kube::Client,
    env: &Environment,
    plan: &Plan,
    stop: &Stop,
) -> Result<Toolbox, ToolboxError> {
    let ns = env.namespace.name.clone();
    check_quota(client, &ns).await?;
    let name = plan.pod_name();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    let policy: NetworkPolicy = serde_json::from_value(network_policy(env, plan))
        .map_err(|e| ToolboxError::Spec(format!("the toolbox NetworkPolicy: {e}")))?;
    policies
        .create(&PostParams::default(), &policy)
        .await
        .map_err(api_error("creating", format!("NetworkPolicy/{name}")))?;
    let pod: Pod = serde_json::from_value(pod_manifest(env, plan))
        .map_err(|e| ToolboxError::Spec(format!("the toolbox pod: {e}")))?;
    if let Err(e) = pods.create(&PostParams::default(), &pod).await {
        let _ = delete_policy(&policies, &name).await;
        return Err(api_error("creating", format!("pod/{name}"))(e));
    }
    let heartbeat = {
        let pods = pods.clone();
        let name = name.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                let patch = json!({"metadata": {"annotations": {
                    HEARTBEAT_ANNOTATION: Timestamp::now().to_string()
                }}});
                let _ = pods
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await;
            }
        })
    };
    let mut toolbox = Toolbox {
        client: client.clone(),
        namespace: ns,
        pod: name.clone(),
        image: plan.image.clone(),
        run_id: plan.run_id.clone(),
        server_version_num: 0,
        client_major: 0,
        heartbeat: Some(heartbeat),
        removed: false,
    };
    let ready = async {
        wait_running(&pods, &name, stop).await?;
        let (client_major, server) = versions(&toolbox.target(), &name).await?;
        Ok::<_, ToolboxError>((client_major, server))
    };
    let checked = tokio::select! {
        r = ready => r,
        _ = stop.stopped() => Err(ToolboxError::Stopped { pod: name.clone() }),
    };
    match checked {
        Ok((client_major, server)) => {
            toolbox.client_major = client_major;
            toolbox.server_version_num = server;
            Ok(toolbox)
        }
        Err(e) => {
            let _ = toolbox.remove().await;
            Err(e)
        }
    }
}

async fn wait_running(pods: &Api<Pod>, name: &str, stop: &Stop) -> Result<(), ToolboxError> {
    use crate::cluster::diagnosis::{Thresholds, diagnose_pod};
    let started = Instant::now();
    let mut phase = String::from("unknown");
    while started.elapsed() < START_DEADLINE {
        if stop.is_stopped() {
            return Err(ToolboxError::Stopped { pod: name.into() });
        }
        if let Some(pod) = pods
            .get_opt(name)
            .await
            .map_err(api_error("reading", format!("pod/{name}")))?
        {
            phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".into());
            let running = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
                });
            if phase == "Running" && running {
                return Ok(());
            }
            if phase == "Succeeded" || phase == "Failed" {
                let reason = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.reason.clone())
                    .unwrap_or_else(|| phase.clone());
                return Err(ToolboxError::Failed {
                    pod: name.into(),
                    reason,
                    message: "the pod ended before fintechctl could use it".into(),
                });
            }
            if let Some(problem) = diagnose_pod(&pod, &Thresholds::default(), Timestamp::now()) {
                return Err(ToolboxError::Failed {
                    pod: name.into(),
                    reason: problem.reason,
                    message: problem.message,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(ToolboxError::Timeout {
        pod: name.into(),
        phase,
        waited: START_DEADLINE,
    })
}

/// `pg_dump (PostgreSQL) 16.4` → 16.
pub fn client_major(version_line: &str) -> Option<u32> {
    let v = version_line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    v.split(['.', '-', 'b', 'r']).next()?.parse().ok()
}

/// `server_version_num` → major (`160004` → 16, `90624` → 9).
pub fn server_major(num: u32) -> u32 {
    num / 10_000
}

/// The toolbox's pg_dump major and the server's `server_version_num`; the
/// client may not be older than the server (pg_dump refuses a newer
/// server, with a message that does not say what to change).
async fn versions(target: &Target, pod: &str) -> Result<(u32, u32), ToolboxError> {
    let script = vec![
        "sh".to_string(),
        "-c".to_string(),
        "pg_dump --version && psql -X -q -A -t -v ON_ERROR_STOP=1 -c 'SHOW server_version_num'"
            .to_string(),
    ];
    let run = target.capture(&script, None, 64 * 1024);
    let (out, ended) = tokio::time::timeout(VERSION_CHECK_DEADLINE, run)
        .await
        .map_err(|_| ToolboxError::Connect {
            pod: pod.into(),
            what: format!(
                "psql (no answer within {}s)",
                VERSION_CHECK_DEADLINE.as_secs()
            ),
            code: -1,
            stderr: Vec::new(),
        })?
        .map_err(|e| ToolboxError::Api {
            action: "exec in",
            what: format!("pod/{pod}"),
            message: e.to_string(),
        })?;
    if ended.code != 0 {
        return Err(ToolboxError::Connect {
            pod: pod.into(),
            what: "pg_dump --version / psql".into(),
            code: ended.code,
            stderr: ended.stderr_lines(10),
        });
    }
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let client = lines.next().and_then(client_major);
    let server = lines.next().and_then(|l| l.trim().parse::<u32>().ok());
    let (Some(client), Some(server)) = (client, server) else {
        return Err(ToolboxError::Version(format!(
            "the toolbox pod/{pod} answered `{}` to `pg_dump --version; SHOW server_version_num`",
            text.trim().replace('\n', " / ")
        )));
    };
    if client < server_major(server) {
        return Err(ToolboxError::Version(format!(
            "the toolbox's pg_dump is PostgreSQL {client}, the server is PostgreSQL {}: pg_dump cannot dump a newer server; set data.postgres.toolboxImage to postgres:{}-alpine (or newer)",
            server_major(server),
            server_major(server)
        )));
    }
    Ok((client, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(client_major("pg_dump (PostgreSQL) 16.4"), Some(16));
        assert_eq!(
            client_major("pg_dump (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)"),
            Some(15)
        );
        assert_eq!(client_major("pg_dump (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(server_major(160004), 16);
        assert_eq!(server_major(90624), 9);
    }

    #[test]
    fn a_leftover_is_a_finished_pod_or_one_without_a_fresh_heartbeat() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let pod = |phase: &str, beat: Option<&str>| -> Pod {
            let mut v =
                json!({"metadata": {"name": "t", "annotations": {}}, "status": {"phase": phase}});
            if let Some(b) = beat {
                v["metadata"]["annotations"][HEARTBEAT_ANNOTATION] = json!(b);
            }
            serde_json::from_value(v).unwrap()
        };
        assert!(leftover(&pod("Running", Some("2026-11-29T11:59:30Z")), now).is_none());
        assert!(leftover(&pod("Running", Some("2026-11-29T11:00:00Z")), now).is_some());
        assert!(leftover(&pod("Running", None), now).is_some());
        assert!(leftover(&pod("Succeeded", Some("2026-11-29T11:59:59Z")), now).is_some());
    }

    #[test]
    fn the_quota_headroom_is_checked_per_resource() {
        let quota = |hard: Value, used: Value| -> ResourceQuota {
            serde_json::from_value(
                json!({"metadata": {"name": "q"}, "status": {"hard": hard, "used": used}}),
            )
            .unwrap()
        };
        let fits = quota(
            json!({"requests.cpu": "4", "requests.memory": "8Gi", "pods": "10"}),
            json!({"requests.cpu": "3", "requests.memory": "7Gi", "pods": "9"}),
        );
        assert!(quota_shortfalls(&[fits]).is_empty());
        let full = quota(
            json!({"requests.cpu": "4", "limits.memory": "16Gi"}),
            json!({"requests.cpu": "3950m", "limits.memory": "15900Mi"}),
        );
        let short = quota_shortfalls(&[full]);
        assert_eq!(short.len(), 2, "{short:?}");
        assert!(
            short[1].contains("requests.cpu 3950m used of 4"),
            "{short:?}"
        );
        // No status yet: nothing to say.
        let fresh: ResourceQuota =
            serde_json::from_value(json!({"metadata": {"name": "q"}})).unwrap();
        assert!(quota_shortfalls(&[fresh]).is_empty());
    }
}
