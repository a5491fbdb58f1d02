//! kube-sim: a simulated Kubernetes API server for tests.
//!
//! It speaks the real wire protocol over real TCP on loopback: discovery, get / list /
//! watch, create / update / patch (server-side apply, merge and strategic merge patch) /
//! delete, the status subresource, pod logs, exec / attach / port-forward websockets, and
//! it runs simple controllers (Deployment → ReplicaSet → Pods, Job → Pod, StatefulSet,
//! Service → Endpoints) with a simulated kubelet driven by [`Behaviors`].
//! See README.md for what is and is not simulated.

#![allow(
    clippy::result_large_err,
    clippy::too_many_arguments,
    clippy::type_complexity
)]

mod admission;
mod authz;
mod controllers;
pub mod error;
mod fields;
mod kubelet;
mod metrics;
mod nodes;
mod openapi;
mod proto;
mod pty;
mod resources;
mod selectors;
mod server;
mod spdy;
mod store;
mod streams;
mod table;
mod util;

/// What kube-sim's unit tests check (`tests/kube-sim/fidelity/tests/units.rs`),
/// reachable from there; not an interface for anything else.
#[doc(hidden)]
pub mod internals {
    pub use crate::fields::{
        FieldSet, Path, fields_of, from_fields_v1, get_at, merge_patch, remove_at,
        strategic_merge_patch, to_fields_v1,
    };
    pub use crate::proto::{MAGIC, decode, encode, go_duration, parse_go_duration};
    pub use crate::selectors::LabelSelector;
    pub use crate::spdy::{DICT, HeaderDecoder, HeaderEncoder, adler32, parse_headers};
    pub use crate::util::{
        fmt_cpu, fmt_mem, fmt_secs, glob_match, parse_duration, parse_quantity_milli,
    };
}

pub use error::ApiError;

/// The VerticalPodAutoscaler CustomResourceDefinition `vpa_installed` creates (to re-create
/// it after a test deleted it: `sim.create(kube_sim::vpa_crd())` or `kubectl apply`).
pub fn vpa_crd() -> Value {
    resources::vpa_crd()
}

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What the simulated kubelet does with a container image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BehaviorKind {
    /// Starts, becomes ready after `readyAfter`.
    #[default]
    Ready,
    /// ErrImagePull, then ImagePullBackOff.
    ImagePullError,
    /// Starts, exits with `exitCode` after printing `logs`, CrashLoopBackOff.
    CrashLoop,
    /// Running, readiness probe failing (Unhealthy events).
    NeverReady,
    /// Like crash-loop with reason OOMKilled and exit code 137.
    OomKilled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageBehavior {
    /// Glob on the container image (`*` and `?`).
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(default)]
    pub behavior: BehaviorKind,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub logs: Option<String>,
    /// Go-style duration ("300ms", "2s").
    #[serde(default)]
    pub ready_after: Option<String>,
    /// How long a crash-loop container runs before it exits (default 1s).
    #[serde(default)]
    pub run_for: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecBehavior {
    /// Glob on the pod name.
    pub pod: String,
    #[serde(default)]
    pub env: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortBehavior {
    /// Glob on the pod name.
    pub pod: String,
    /// The container port.
    pub port: u16,
    /// Local `host:port` the traffic goes to.
    pub target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobBehavior {
    /// Glob on the container image of a Job's pod.
    #[serde(rename = "match")]
    pub pattern: String,
    pub command: Vec<String>,
}

/// One `deny:` entry: requests matching every non-empty list are answered 403 Forbidden
/// as RBAC does, and the self-subject reviews report them as not allowed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DenyRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`,
    /// or `*`; empty = every verb.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// `secrets`, `deployments.apps`, `pods/exec`, `pods/*`, `*`; empty = everything. A
    /// resource without `/…` does not cover its subresources (as in RBAC).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Globs on the namespace; empty = every namespace and the cluster scope.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Object names (resourceNames); empty = every name.
    #[serde(default)]
    pub names: Vec<String>,
}

/// Who the simulator says the client is (`kubectl auth whoami`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The behaviours file (`--behaviors FILE`), matched in order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Behaviors {
    #[serde(default)]
    pub images: Vec<ImageBehavior>,
    #[serde(default)]
    pub exec: Vec<ExecBehavior>,
    #[serde(default)]
    pub ports: Vec<PortBehavior>,
    #[serde(default)]
    pub jobs: Vec<JobBehavior>,
    /// Requests the simulated RBAC refuses (applies at once, to every request).
    #[serde(default)]
    pub deny: Vec<DenyRule>,
    /// The authenticated user (default `kube-sim`, groups `system:masters`,
    /// `system:authenticated`).
    #[serde(default)]
    pub user: Option<UserInfo>,
}

impl Behaviors {
    pub fn from_yaml(s: &str) -> Result<Self, serde_saphyr::Error> {
        if s.trim().is_empty() {
            return Ok(Behaviors::default());
        }
        serde_saphyr::from_str(s)
    }

    /// The first image behaviour whose glob matches `image`.
    pub fn for_image(&self, image: &str) -> Option<&ImageBehavior> {
        self.images
            .iter()
            .find(|b| util::glob_match(&b.pattern, image))
    }
    pub fn exec_env(&self, pod: &str) -> Vec<(String, String)> {
        self.exec
            .iter()
            .filter(|e| util::glob_match(&e.pod, pod))
            .flat_map(|e| {
                e.env.iter().map(|(k, v)| {
                    (
                        k.clone(),
                        match v {
                            Value::String(s) => s.clone(),
                            o => o.to_string(),
                        },
                    )
                })
            })
            .collect()
    }
    pub fn port_target(&self, pod: &str, port: u16) -> Option<String> {
        self.ports
            .iter()
            .find(|p| p.port == port && util::glob_match(&p.pod, pod))
            .map(|p| p.target.clone())
    }
    pub fn job_command(&self, image: &str) -> Option<Vec<String>> {
        self.jobs
            .iter()
            .find(|j| util::glob_match(&j.pattern, image))
            .map(|j| j.command.clone())
    }
}

/// Runtime fault injection.
#[derive(Debug, Clone, Default)]
pub struct FaultState {
    /// Added before every API request is answered.
    pub latency: Option<Duration>,
    /// Share (0.0..=1.0) of resource requests answered with `error_code`.
    pub error_share: f64,
    /// 500 or 429 (429 carries Retry-After).
    pub error_code: u16,
    /// Retry-After seconds for 429 answers.
    pub retry_after_secs: u64,
    /// Watches end after this many events.
    pub watch_drop_after: Option<usize>,
    /// Exec / attach / port-forward streams are cut after this many bytes from the pod.
    pub exec_cut_after: Option<u64>,
    /// Only the exec streams whose command line contains the text are cut,
    /// after this many bytes from the pod (the others run whole).
    pub exec_cut_matching: Option<(String, u64)>,
    /// Watches end in the middle of their next event (half a JSON line):
    /// what a dropped connection looks like to a client.
    pub watch_cut_mid_event: bool,
    /// Freeze (answer nothing, as `latency` of an hour) from the first
    /// resource request whose method and path match: (method, substring
    /// of the path). Makes "frozen right after step X" deterministic.
    pub freeze_on: Option<(String, String)>,
}

/// Handle for runtime fault injection (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Faults(
    Arc<Mutex<(FaultState, u64)>>,
    Arc<std::sync::atomic::AtomicU64>,
    /// Discovery requests (`/api`, `/apis`, `/api/v1`, `/apis/GROUP/VERSION`).
    Arc<Mutex<Vec<String>>>,
);

impl Faults {
    pub fn set_latency(&self, d: Option<Duration>) {
        self.0.lock().unwrap().0.latency = d;
    }
    /// Answer `share` of resource requests with `code` (500 or 429).
    pub fn set_error_rate(&self, share: f64, code: u16) {
        let mut g = self.0.lock().unwrap();
        g.0.error_share = share.clamp(0.0, 1.0);
        g.0.error_code = code;
        if g.0.retry_after_secs == 0 {
            g.0.retry_after_secs = 1;
        }
    }
    pub fn set_retry_after(&self, secs: u64) {
        self.0.lock().unwrap().0.retry_after_secs = secs;
    }
    pub fn drop_watches_after(&self, n: Option<usize>) {
        self.0.lock().unwrap().0.watch_drop_after = n;
    }
    /// Cut every watch in the middle of its next event (see [`FaultState::watch_cut_mid_event`]).
    pub fn cut_watches_mid_event(&self, on: bool) {
        self.0.lock().unwrap().0.watch_cut_mid_event = on;
    }
    /// API requests answered so far (resource and discovery requests alike).
    pub fn requests(&self) -> u64 {
        self.1.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Discovery requests answered so far: the group and resource lists a
    /// client reads to learn what the server serves.
    pub fn discovery_requests(&self) -> Vec<String> {
        self.2.lock().unwrap().clone()
    }
    pub(crate) fn count_request(&self, path: &str) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let discovery = matches!(
            segments.as_slice(),
            ["api"] | ["apis"] | ["api", _] | ["apis", _, _]
        );
        if discovery {
            self.2.lock().unwrap().push(path.to_string());
        }
    }
    /// Freeze from the first resource request with `method` whose path
    /// contains `path_part` (that request included): every resource
    /// request then waits an hour, until [`Faults::clear`].
    pub fn freeze_on(&self, method: &str, path_part: &str) {
        self.0.lock().unwrap().0.freeze_on = Some((method.to_string(), path_part.to_string()));
    }
    /// The latency for a request: a matching `freeze_on` turns into an
    /// hour's latency for this request and every later one.
    pub(crate) fn latency_for(&self, method: &str, path: &str) -> Option<Duration> {
        let mut g = self.0.lock().unwrap();
        let hit =
            g.0.freeze_on
                .as_ref()
                .is_some_and(|(m, p)| m.eq_ignore_ascii_case(method) && path.contains(p.as_str()));
        if hit {
            g.0.freeze_on = None;
            g.0.latency = Some(Duration::from_secs(3600));
        }
        g.0.latency
    }
    /// Cut the exec streams whose command line contains `command_part`
    /// after `bytes` from the pod; `None` stops.
    pub fn cut_exec_matching(&self, cut: Option<(&str, u64)>) {
        self.0.lock().unwrap().0.exec_cut_matching = cut.map(|(c, b)| (c.to_string(), b));
    }
    /// The cut for an exec stream running `command`.
    pub(crate) fn exec_cut_for(&self, command: &[String]) -> Option<u64> {
        let g = self.0.lock().unwrap();
        match &g.0.exec_cut_matching {
            Some((part, bytes)) if command.join(" ").contains(part.as_str()) => Some(*bytes),
            _ => g.0.exec_cut_after,
        }
    }
    pub fn cut_exec_after(&self, bytes: Option<u64>) {
        self.0.lock().unwrap().0.exec_cut_after = bytes;
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().0 = FaultState::default();
    }
    pub fn state(&self) -> FaultState {
        self.0.lock().unwrap().0.clone()
    }
    /// Decide whether this request fails (deterministic pseudo-random sequence).
    pub(crate) fn roll_error(&self) -> Option<(u16, u64)> {
        let mut g = self.0.lock().unwrap();
        if g.0.error_share <= 0.0 {
            return None;
        }
        g.1 =
            g.1.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        let x = ((g.1 >> 33) as f64) / ((1u64 << 31) as f64);
        (x < g.0.error_share).then_some((g.0.error_code, g.0.retry_after_secs))
    }
}

/// Configuration of a simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub behaviors: Behaviors,
    /// Latency added to every API request.
    pub latency: Option<Duration>,
    /// 1.0 = real time; 0.05 = every simulated delay (readiness, backoff, progress
    /// deadlines, grace periods) 20x shorter.
    pub time_scale: f64,
    /// Create the autoscaling.k8s.io VerticalPodAutoscaler CustomResourceDefinition at
    /// start (a real CRD object: deleting it removes the kind).
    pub vpa_installed: bool,
    /// Watch events kept for resuming; older resourceVersions answer 410 Expired.
    pub watch_history: usize,
    /// Port to bind on 127.0.0.1 (0 = any free port).
    pub port: u16,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            behaviors: Behaviors::default(),
            latency: None,
            time_scale: 1.0,
            vpa_installed: true,
            watch_history: 10_000,
            port: 0,
        }
    }
}

pub(crate) struct Shared {
    pub store: Mutex<store::Store>,
    pub behaviors: RwLock<Behaviors>,
    pub faults: Faults,
    pub time_scale: f64,
    pub notify: tokio::sync::Notify,
    pub kubelet: Mutex<kubelet::Kubelet>,
    pub addr: SocketAddr,
}

impl Shared {
    /// Scale a simulated duration to real time.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale.max(0.0))
    }
}

/// A running simulator.
pub struct KubeSim {
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl KubeSim {
    /// Start on 127.0.0.1 (`cfg.port`, 0 = any free port).
    pub async fn start(cfg: SimConfig) -> anyhow::Result<KubeSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.port)).await?;
        let addr = listener.local_addr()?;
        let faults = Faults::default();
        faults.set_latency(cfg.latency);
        let mut st = store::Store::new(cfg.watch_history.max(1));
        controllers::bootstrap(&mut st);
        if cfg.vpa_installed {
            st.create(
                resources::builtin("apiextensions.k8s.io", "customresourcedefinitions"),
                resources::vpa_crd(),
                &store::WriteOpts::manager("kube-sim"),
            )
            .map_err(|e| anyhow::anyhow!("installing the VPA CRD: {e}"))?;
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(st),
            behaviors: RwLock::new(cfg.behaviors.clone()),
            faults,
            time_scale: cfg.time_scale,
            notify: tokio::sync::Notify::new(),
            kubelet: Mutex::new(kubelet::Kubelet::default()),
            addr,
        });
        let (tx, rx) = tokio::sync::watch::channel(false);
        let t1 = tokio::spawn(server::serve(listener, shared.clone(), rx.clone()));
        let t2 = tokio::spawn(controllers::run(shared.clone(), rx));
        Ok(KubeSim {
            shared,
            shutdown: tx,
            tasks: vec![t1, t2],
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: kube-sim
  cluster:
    server: {}
contexts:
- name: kube-sim
  context:
    cluster: kube-sim
    user: kube-sim
    namespace: default
current-context: kube-sim
preferences: {{}}
users:
- name: kube-sim
  user:
    token: kube-sim-dummy-token
",
            self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        if let Some(p) = path.parent()
            && !p.as_os_str().is_empty()
        {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// New behaviours; they apply to pods created afterwards.
    pub fn set_behaviors(&self, b: Behaviors) {
        *self.shared.behaviors.write().unwrap() = b;
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Direct store inspection.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let st = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        let rd = st.catalog().find_kind(api_version, kind)?;
        st.get(rd, namespace.unwrap_or(""), name).cloned()
    }

    /// All objects of a kind (in a namespace, or everywhere with None).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let st = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        let Some(rd) = st.catalog().find_kind(api_version, kind) else {
            return vec![];
        };
        st.list_cloned(rd, namespace)
    }

    /// Create an object directly (as manager "kube-sim-test").
    pub fn create(&self, obj: Value) -> Result<Value, error::ApiError> {
        let mut st = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        let rd = st
            .catalog()
            .find_kind(
                &util::str_of(&obj, "apiVersion"),
                &util::str_of(&obj, "kind"),
            )
            .ok_or_else(|| error::ApiError::bad_request("unknown kind"))?;
        let r = st.create(rd, obj, &store::WriteOpts::manager("kube-sim-test"));
        drop(st);
        self.shared.notify.notify_one();
        r
    }

    /// Make a node Ready again (`true`: the kubelet posts ready status) or NotReady
    /// (`false`: it stopped posting, every condition Unknown / NodeStatusUnknown, as the
    /// node lifecycle controller writes it). The `node.kubernetes.io/unreachable` taints
    /// follow (for a status patch with Ready=False: `not-ready`), the scheduler places no
    /// new pod there, its pods are marked not ready and frozen, and pods are evicted after
    /// their NoExecute `tolerationSeconds` (300 s by default, scaled). False if no such
    /// node.
    pub fn set_node_ready(&self, name: &str, ready: bool) -> bool {
        let found = nodes::set_ready(
            &mut self.shared.store.lock().unwrap_or_else(|e| e.into_inner()),
            name,
            ready,
        );
        self.shared.notify.notify_one();
        found
    }

    /// Forget watch history: every older resourceVersion now answers 410 Expired.
    pub fn compact(&self) {
        self.shared
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .compact();
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rv
    }

    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        self.shared
            .kubelet
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .kill_all();
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
