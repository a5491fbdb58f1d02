//! Triage: an environment's workloads judged from their live state, worst
//! first. An unhealthy workload gets the deploy's failure card (the same
//! diagnosis, the same evidence, from [`super::diagnosis`]) extended with
//! what on-call asks next: the pods, the last termination, resource use
//! against requests and limits, and what changed recently. Cluster-level
//! causes (nodes NotReady, pods Pending for capacity or quota, PVCs
//! unbound) are listed apart, because they explain pods of several
//! workloads at once.
//!
//! Components are found by the labels the templates set: every workload's
//! pods carry `app=<component>`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Event, Node, PersistentVolumeClaim, Pod, PodTemplateSpec, ResourceQuota,
};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::diagnosis::{
    self, FailureCard, LogSource, Problem, ProblemKind, Thresholds, failure_card_with,
};
use super::metrics::{self, ContainerUsage, Samples};
use super::records::ReleaseRecord;
use crate::environment::{Environment, Placement};

/// Log lines a triage card keeps.
pub const TRIAGE_LOG_LINES: i64 = 30;

/// A workload of the environment and where its pods are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub name: String,
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    pub namespace: String,
}

impl Component {
    /// The label selector of its pods.
    pub fn selector(&self) -> String {
        format!("app={}", self.name)
    }
    /// `Deployment/api-gateway`.
    pub fn workload(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// The environment's workloads, as its templates render them: the three
/// services, the data stores it runs in the cluster, and the
/// cluster-autoscaler (in kube-system) when it has one.
pub fn components(env: &Environment) -> Vec<Component> {
    let ns = &env.namespace.name;
    let mut all: Vec<Component> = env
        .services
        .iter()
        .map(|(name, _)| Component {
            name: name.to_string(),
            kind: "Deployment".into(),
            namespace: ns.clone(),
        })
        .collect();
    let data = &env.data;
    for (name, placement) in [
        ("postgres", data.postgres.placement),
        ("redis", data.redis.placement),
        ("kafka", data.kafka.placement),
    ] {
        if placement == Placement::InCluster {
            all.push(Component {
                name: name.into(),
                kind: "StatefulSet".into(),
                namespace: ns.clone(),
            });
        }
    }
    if env.cluster_autoscaler.is_some() {
        all.push(Component {
            name: "cluster-autoscaler".into(),
            kind: "Deployment".into(),
            namespace: "kube-system".into(),
        });
    }
    all
}

/// The names of [`components`].
pub fn component_names(env: &Environment) -> Vec<String> {
    components(env).into_iter().map(|c| c.name).collect()
}

/// One row of a card's pods table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub name: String,
    /// Pending, Running, … or Terminating.
    pub phase: String,
    /// `1/2`.
    pub ready: String,
    pub restarts: i32,
    pub created_at: Option<String>,
    pub node: Option<String>,
    /// The first container's waiting or terminated reason (CrashLoopBackOff…).
    pub reason: Option<String>,
}

/// How a container instance ended last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    pub container: String,
    pub exit_code: i32,
    /// `OOMKilled`, `Error`, `Completed`.
    pub reason: Option<String>,
    pub signal: Option<i32>,
    pub finished_at: Option<String>,
    pub message: Option<String>,
}

/// The last fintechctl revision and how the live state differs from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentChange {
    pub revision: u32,
    pub version: String,
    pub status: String,
    /// `user@host` or `user (CI provider)`.
    pub who: String,
    pub started_at: String,
    /// Live differences from that revision (an image changed by hand…).
    pub drift: Vec<String>,
}

/// A failure card with what the triage adds to deploy's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriageCard {
    #[serde(flatten)]
    pub failure: FailureCard,
    pub pods: Vec<PodRow>,
    pub last_termination: Option<Termination>,
    /// Use of the failing pod's containers (metrics.k8s.io) against requests and limits.
    pub usage: Vec<ContainerUsage>,
    pub recent_change: Option<RecentChange>,
}

/// One component's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentHealth {
    pub component: String,
    pub workload: String,
    pub namespace: String,
    pub healthy: bool,
    pub ready: i32,
    pub desired: i32,
    /// The version label of the pod template.
    pub version: Option<String>,
    /// Unhealthy components only.
    pub card: Option<TriageCard>,
    /// How the live pod template differs from the latest revision's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
}

/// Something outside the workloads that explains their pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCause {
    /// `node-not-ready`, `unschedulable`, `quota`, `pvc-unbound`.
    pub kind: String,
    /// `Node/kube-sim-node-2`.
    pub object: String,
    pub message: String,
}

/// Everything the triage found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Triage {
    pub environment: String,
    pub namespace: String,
    pub healthy: bool,
    /// Worst first; healthy ones last.
    pub components: Vec<ComponentHealth>,
    pub causes: Vec<ClusterCause>,
    /// The last fintechctl revision (drift per workload is on the cards).
    pub revision: Option<RecentChange>,
    /// What could not be read, and why.
    pub missing: Vec<String>,
    /// A canary in progress (docs/canary.md): its objects. Its pods are
    /// not drift, and the stable pods are not judged against its revision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canary: Vec<String>,
}

/// Reads everything the triage needs from `namespace`, in parallel where
/// it can; what fails is listed in `missing` rather than failing the triage
/// (a cluster half on fire still deserves an answer). Only the pod list of
/// the components is required.
pub async fn triage(
    client: &kube::Client,
    env: &Environment,
    only: Option<&str>,
    latest: Option<&ReleaseRecord>,
    now: Timestamp,
) -> Result<Triage, kube::Error> {
    let namespace = env.namespace.name.clone();
    let wanted: Vec<Component> = components(env)
        .into_iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
        .collect();
    let mut missing = Vec::new();

    let nodes_api: Api<Node> = Api::all(client.clone());
    let events_api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let quota_api: Api<ResourceQuota> = Api::namespaced(client.clone(), &namespace);
    let pvc_api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &namespace);
    let lp = ListParams::default();
    let (nodes, events, quotas, pvcs, samples, canary) = tokio::join!(
        nodes_api.list(&lp),
        events_api.list(&lp),
        quota_api.list(&lp),
        pvc_api.list(&lp),
        metrics::pod_samples(client, &namespace),
        crate::canary::run::leftovers(client, &namespace, &env.name),
    );
    let canary = keep_canary(&mut missing, canary);
    let nodes = keep(&mut missing, "nodes", nodes);
    let events = keep(&mut missing, "events", events);
    let quotas = keep(&mut missing, "resource quotas", quotas);
    let pvcs = keep(&mut missing, "persistent volume claims", pvcs);
    let samples = match samples {
        Ok(s) => s,
        Err(e) => {
            missing.push(format!(
                "resource use (metrics.k8s.io): {}",
                super::api_message(&e)
            ));
            Samples::new()
        }
    };
    let not_ready_nodes: BTreeMap<String, String> = nodes
        .iter()
        .filter_map(|n| {
            let ready = n
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?;
            (ready.status != "True").then(|| {
                (
                    n.metadata.name.clone().unwrap_or_default(),
                    format!(
                        "{}: {}",
                        ready.reason.as_deref().unwrap_or("NotReady"),
                        ready.message.as_deref().unwrap_or("")
                    ),
                )
            })
        })
        .collect();

    let revision = latest.map(|r| recent_change(r, &[]));
    let mut judged = futures::future::join_all(
        wanted
            .iter()
            .map(|c| judge(client, c, &events, &samples, &not_ready_nodes, latest, now)),
    )
    .await;
    let mut all_pods = Vec::new();
    let mut components = Vec::new();
    for result in judged.drain(..) {
        let (health, pods) = result?;
        all_pods.extend(pods);
        components.push(health);
    }
    components.sort_by_key(|c| (c.healthy, severity(c), c.component.clone()));
    if !canary.is_empty() {
        // The canary's version runs beside the stable one on purpose.
        for c in &mut components {
            c.drift.clear();
            if let Some(change) = c.card.as_mut().and_then(|card| card.recent_change.as_mut()) {
                change.drift.clear();
            }
        }
    }

    let causes = cluster_causes(&not_ready_nodes, &all_pods, &events, &quotas, &pvcs);
    Ok(Triage {
        environment: env.name.clone(),
        namespace,
        healthy: components.iter().all(|c| c.healthy),
        components,
        causes,
        revision,
        missing,
        canary,
    })
}

fn keep_canary(missing: &mut Vec<String>, found: Result<Vec<String>, kube::Error>) -> Vec<String> {
    found.unwrap_or_else(|e| {
        missing.push(format!("canary objects: {}", super::api_message(&e)));
        Vec::new()
    })
}

fn keep<T: Clone + serde::de::DeserializeOwned>(
    missing: &mut Vec<String>,
    what: &str,
    listed: Result<kube::core::ObjectList<T>, kube::Error>,
) -> Vec<T> {
    match listed {
        Ok(list) => list.items,
        Err(e) => {
            missing.push(format!("{what}: {}", super::api_message(&e)));
            Vec::new()
        }
    }
}

fn severity(c: &ComponentHealth) -> u8 {
    match c.card.as_ref().map(|card| card.failure.kind) {
        None => 9,
        Some(ProblemKind::Missing) => 0,
        Some(
            ProblemKind::CrashLoop
            | ProblemKind::OomKilled
            | ProblemKind::ImagePull
            | ProblemKind::CreateContainerConfig
            | ProblemKind::CreateContainer,
        ) => 1,
        Some(ProblemKind::Unschedulable | ProblemKind::QuotaExceeded) => 2,
        Some(_) => 3,
    }
}

/// The live workload's desired and ready counts and its pod template.
struct Live {
    desired: i32,
    ready: i32,
    template: Option<PodTemplateSpec>,
}

async fn live_workload(client: &kube::Client, c: &Component) -> Result<Option<Live>, kube::Error> {
    Ok(match c.kind.as_str() {
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), &c.namespace)
            .get_opt(&c.name)
            .await?
            .map(|s| Live {
                desired: s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ready: s
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0),
                template: s.spec.map(|s| s.template),
            }),
        _ => Api::<Deployment>::namespaced(client.clone(), &c.namespace)
            .get_opt(&c.name)
            .await?
            .map(|d| Live {
                desired: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ready: d
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0),
                template: d.spec.map(|s| s.template),
            }),
    })
}

/// One component's verdict, and its pods (for the cluster-level causes).
async fn judge(
    client: &kube::Client,
    c: &Component,
    events: &[Event],
    samples: &Samples,
    not_ready_nodes: &BTreeMap<String, String>,
    latest: Option<&ReleaseRecord>,
    now: Timestamp,
) -> Result<(ComponentHealth, Vec<Pod>), kube::Error> {
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &c.namespace);
    let params = ListParams::default().labels(&c.selector());
    let (live, pods) = tokio::join!(live_workload(client, c), pods_api.list(&params));
    let live = live?;
    let mut pods = pods?.items;
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let workload = c.workload();
    let version = live
        .as_ref()
        .and_then(|l| l.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .and_then(|l| l.get(crate::render::labels::VERSION).cloned());
    let mut health = ComponentHealth {
        component: c.name.clone(),
        workload: workload.clone(),
        namespace: c.namespace.clone(),
        healthy: true,
        ready: live.as_ref().map_or(0, |l| l.ready),
        desired: live.as_ref().map_or(0, |l| l.desired),
        version,
        card: None,
        drift: live
            .as_ref()
            .map(|l| drift(c, l.template.as_ref(), latest))
            .unwrap_or_default(),
    };
    let problem = problem_of(c, live.as_ref(), &pods, events, not_ready_nodes, now);
    if let Some(problem) = problem {
        health.healthy = false;
        let failure =
            failure_card_with(client, &c.namespace, &workload, &problem, TRIAGE_LOG_LINES).await;
        let mut failure = failure;
        failure.events = collapse_repeats(&failure.events);
        let problem_pod = problem.pod.as_deref().and_then(|name| {
            pods.iter()
                .find(|p| p.metadata.name.as_deref() == Some(name))
        });
        let last_termination =
            problem_pod.and_then(|p| last_termination(p, problem.container.as_deref()));
        let usage = problem_pod
            .map(|p| metrics::usage_of(p, samples))
            .unwrap_or_default();
        let drift = health.drift.clone();
        health.card = Some(TriageCard {
            failure,
            pods: pods.iter().map(pod_row).collect(),
            last_termination,
            usage,
            recent_change: latest.map(|r| recent_change(r, &drift)),
        });
    }
    Ok((health, pods))
}

/// What is wrong with the component, judged from its live workload, its
/// pods and the namespace's events; `None` when nothing is.
fn problem_of(
    c: &Component,
    live: Option<&Live>,
    pods: &[Pod],
    events: &[Event],
    not_ready_nodes: &BTreeMap<String, String>,
    now: Timestamp,
) -> Option<Problem> {
    let thresholds = Thresholds {
        readiness_grace: std::time::Duration::from_secs(30),
        ..Thresholds::default()
    };
    match live {
        None => Some(Problem {
            kind: ProblemKind::Missing,
            reason: "NotFound".into(),
            message: format!(
                "{} does not exist in namespace {} (never deployed, or deleted)",
                c.workload(),
                c.namespace
            ),
            pod: None,
            object: None,
            container: None,
            exit_code: None,
            logs: LogSource::None,
        }),
        Some(live) => pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .find_map(|p| diagnosis::diagnose_pod(p, &thresholds, now))
            .or_else(|| workload_event_problem(c, events, &thresholds))
            .or_else(|| {
                (live.ready < live.desired).then(|| {
                    pods.iter()
                        .filter(|p| p.metadata.deletion_timestamp.is_none())
                        .find_map(crashed_and_not_ready)
                        .unwrap_or_else(|| unavailable(c, live, pods, not_ready_nodes))
                })
            }),
    }
}

/// A container that is not ready and whose last instance crashed (a
/// non-zero exit): the crash explains the missing replica, whichever
/// moment of its loop the container is in. A crash loop is not only
/// `CrashLoopBackOff`: between back-offs the container runs again (a
/// slow-starting one, most of the time), and just after a crash it is
/// terminated before the kubelet restarts it. Deploy's diagnosis waits for
/// `CrashLoopBackOff` or repeated restarts before it calls a rollout
/// failed; the triage is asked what is wrong now, so one crash counts.
fn crashed_and_not_ready(pod: &Pod) -> Option<Problem> {
    let statuses = pod.status.as_ref()?.container_statuses.as_deref()?;
    statuses.iter().filter(|s| !s.ready).find_map(|s| {
        let now = s.state.as_ref().and_then(|st| st.terminated.as_ref());
        let last = s.last_state.as_ref().and_then(|l| l.terminated.as_ref());
        let (t, logs) = match (now, last) {
            (Some(t), _) if t.exit_code != 0 => (t, LogSource::Current),
            (None, Some(t)) if t.exit_code != 0 && s.restart_count > 0 => (t, LogSource::Previous),
            _ => return None,
        };
        let reason = t.reason.clone().unwrap_or_else(|| "Error".into());
        Some(Problem {
            kind: ProblemKind::CrashLoop,
            reason: reason.clone(),
            message: format!(
                "container {:?} exited {} ({reason}){}; it is not ready",
                s.name,
                t.exit_code,
                match (s.restart_count, &logs) {
                    (_, LogSource::Current) => " and waits to be restarted".to_string(),
                    (1, _) => " and was restarted once".to_string(),
                    (n, _) => format!(" and was restarted {n} times"),
                }
            ),
            pod: pod.metadata.name.clone(),
            object: None,
            container: Some(s.name.clone()),
            exit_code: Some(t.exit_code),
            logs,
        })
    })
}

/// Identical lines (a controller that posts a new event for every retry)
/// as one, with how often it came.
pub fn collapse_repeats(lines: &[String]) -> Vec<String> {
    // A line's own repeat count (`… (x4)`, the event's count).
    let split_count = |line: &str| -> (String, usize) {
        if let Some(open) = line.rfind(" (x")
            && line.ends_with(')')
            && let Ok(n) = line[open + 3..line.len() - 1].parse::<usize>()
        {
            return (line[..open].to_string(), n);
        }
        (line.to_string(), 1)
    };
    // A FailedCreate names the pod it could not create, a new name each
    // time; the event recorder folds repeats into "combined" events.
    let key = |line: &str| {
        let line = line.replace("(combined from similar events): ", "");
        match line.split_once("pods \"") {
            Some((before, after)) => {
                format!(
                    "{before}{}",
                    after.split_once('"').map_or("", |(_, rest)| rest)
                )
            }
            None => line.to_string(),
        }
    };
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for line in lines {
        let (base, n) = split_count(line);
        let k = key(&base);
        match out.iter_mut().find(|(seen, _, _)| *seen == k) {
            Some((_, last, total)) => {
                *last = base;
                *total += n;
            }
            None => out.push((k, base, n)),
        }
    }
    out.into_iter()
        .map(|(_, l, n)| if n > 1 { format!("{l} (x{n})") } else { l })
        .collect()
}

/// A quota-exceeded FailedCreate (or repeated readiness failures) seen on
/// the workload's ReplicaSets or on the StatefulSet.
fn workload_event_problem(
    c: &Component,
    events: &[Event],
    thresholds: &Thresholds,
) -> Option<Problem> {
    let mut recent: Vec<&Event> = events
        .iter()
        .filter(|e| {
            let o = &e.involved_object;
            let name = o.name.as_deref().unwrap_or("");
            match o.kind.as_deref() {
                Some("ReplicaSet") => name
                    .strip_prefix(&c.name)
                    .is_some_and(|rest| rest.starts_with('-') && !rest[1..].contains('-')),
                Some("StatefulSet") => name == c.name,
                _ => false,
            }
        })
        .collect();
    recent.sort_by_key(|e| std::cmp::Reverse(super::events::last_seen(e)));
    recent
        .into_iter()
        .find_map(|e| diagnosis::diagnose_event(e, thresholds))
}

fn unavailable(
    c: &Component,
    live: &Live,
    pods: &[Pod],
    not_ready_nodes: &BTreeMap<String, String>,
) -> Problem {
    let on_bad_node = pods.iter().find_map(|p| {
        let node = p.spec.as_ref()?.node_name.as_ref()?;
        not_ready_nodes.get(node).map(|why| (p, node, why))
    });
    let (pod, message) = match on_bad_node {
        Some((pod, node, why)) => (
            pod.metadata.name.clone(),
            format!("node {node} is not ready ({why})"),
        ),
        None => {
            let pending = pods
                .iter()
                .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"));
            (
                pending.and_then(|p| p.metadata.name.clone()),
                format!(
                    "{} of {} pods ready{}",
                    live.ready,
                    live.desired,
                    if pending.is_some() {
                        "; a pod is still Pending"
                    } else {
                        ""
                    }
                ),
            )
        }
    };
    Problem {
        kind: ProblemKind::Unavailable,
        reason: "Unavailable".into(),
        message: format!("{}: {message}", c.workload()),
        pod,
        object: None,
        container: None,
        exit_code: None,
        logs: LogSource::None,
    }
}

/// The pods table row of `pod`.
pub fn pod_row(pod: &Pod) -> PodRow {
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let total = pod
        .spec
        .as_ref()
        .map_or(statuses.len(), |s| s.containers.len());
    let ready = statuses.iter().filter(|s| s.ready).count();
    let reason = statuses.iter().find_map(|s| {
        let state = s.state.as_ref()?;
        state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()))
    });
    let reason = reason.or_else(|| {
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| {
                c.iter()
                    .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            })
            .and_then(|c| c.reason.clone())
    });
    PodRow {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: if pod.metadata.deletion_timestamp.is_some() {
            "Terminating".into()
        } else {
            status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Unknown".into())
        },
        ready: format!("{ready}/{total}"),
        restarts: statuses.iter().map(|s| s.restart_count).sum(),
        created_at: pod
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        reason,
    }
}

/// The last termination of `container` (else of any container) of `pod`:
/// its current state when terminated, else its last state.
pub fn last_termination(pod: &Pod, container: Option<&str>) -> Option<Termination> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses
        .iter()
        .filter(|s| container.is_none_or(|c| c == s.name))
        .find_map(|s| {
            let t = s
                .state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .or_else(|| s.last_state.as_ref().and_then(|l| l.terminated.as_ref()))?;
            Some(Termination {
                container: s.name.clone(),
                exit_code: t.exit_code,
                reason: t.reason.clone(),
                signal: t.signal.or_else(|| {
                    // 128 + N is how a container killed by signal N exits.
                    (t.exit_code > 128 && t.exit_code < 160).then_some(t.exit_code - 128)
                }),
                finished_at: t.finished_at.as_ref().map(|f| f.0.to_string()),
                message: t.message.clone().filter(|m| !m.is_empty()),
            })
        })
}

fn recent_change(record: &ReleaseRecord, drift: &[String]) -> RecentChange {
    RecentChange {
        revision: record.revision,
        version: record.version.clone(),
        status: record.status.to_string(),
        who: match &record.ci {
            Some(ci) => format!("{} ({})", record.user, ci.provider),
            None => format!("{}@{}", record.user, record.host),
        },
        started_at: record.started_at.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        drift: drift.to_vec(),
    }
}

/// How the live pod template differs from the one the revision applied:
/// container images and the version label.
fn drift(
    c: &Component,
    live: Option<&PodTemplateSpec>,
    latest: Option<&ReleaseRecord>,
) -> Vec<String> {
    let Some(record) = latest else {
        return Vec::new();
    };
    let Some(recorded) = record.manifests.iter().find(|m| {
        m["kind"].as_str() == Some(c.kind.as_str())
            && m["metadata"]["name"].as_str() == Some(c.name.as_str())
    }) else {
        return vec![format!(
            "{} is not in revision {}",
            c.workload(),
            record.revision
        )];
    };
    let recorded_images: BTreeMap<String, String> =
        recorded["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["name"].as_str()?.to_string(),
                    c["image"].as_str()?.to_string(),
                ))
            })
            .collect();
    let mut drift = Vec::new();
    for container in live
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
    {
        let live_image = container.image.clone().unwrap_or_default();
        match recorded_images.get(&container.name) {
            Some(image) if *image != live_image => drift.push(format!(
                "container {}: image {live_image} (revision {} applied {image})",
                container.name, record.revision
            )),
            None => drift.push(format!(
                "container {} is not in revision {}",
                container.name, record.revision
            )),
            _ => {}
        }
    }
    drift
}

/// Causes outside the workloads: nodes not ready, pods the scheduler cannot
/// place, quota refusals, claims not bound.
fn cluster_causes(
    not_ready_nodes: &BTreeMap<String, String>,
    pods: &[Pod],
    events: &[Event],
    quotas: &[ResourceQuota],
    pvcs: &[PersistentVolumeClaim],
) -> Vec<ClusterCause> {
    let mut causes: Vec<ClusterCause> = not_ready_nodes
        .iter()
        .map(|(name, why)| ClusterCause {
            kind: "node-not-ready".into(),
            object: format!("Node/{name}"),
            message: format!("not ready: {why}"),
        })
        .collect();
    for pod in pods {
        let unschedulable = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| {
                c.iter().find(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
            });
        if let Some(condition) = unschedulable {
            causes.push(ClusterCause {
                kind: "unschedulable".into(),
                object: format!("Pod/{}", pod.metadata.name.as_deref().unwrap_or("")),
                message: format!(
                    "Pending: {}",
                    condition.message.as_deref().unwrap_or("no node fits")
                ),
            });
        }
    }
    // The newest quota refusal of each object.
    let mut refused: BTreeMap<String, (Option<Timestamp>, String)> = BTreeMap::new();
    for e in events {
        let message = e.message.as_deref().unwrap_or("");
        if e.reason.as_deref() == Some("FailedCreate") && message.contains("exceeded quota") {
            let object = format!(
                "{}/{}",
                e.involved_object.kind.as_deref().unwrap_or(""),
                e.involved_object.name.as_deref().unwrap_or("")
            );
            let seen = super::events::last_seen(e);
            let entry = refused.entry(object).or_insert((seen, message.to_string()));
            if seen > entry.0 {
                *entry = (seen, message.to_string());
            }
        }
    }
    for (object, (_, message)) in refused {
        causes.push(ClusterCause {
            kind: "quota".into(),
            object,
            message: message.to_string(),
        });
    }
    for quota in quotas {
        let Some(status) = quota.status.as_ref() else {
            continue;
        };
        let (Some(hard), Some(used)) = (status.hard.as_ref(), status.used.as_ref()) else {
            continue;
        };
        let full: Vec<String> = hard
            .iter()
            .filter_map(|(resource, limit)| {
                let used = used.get(resource)?;
                let value = |q: &str| {
                    if resource.contains("memory") || resource.contains("storage") {
                        crate::quantity::parse_memory_bytes(q).ok()
                    } else {
                        crate::quantity::parse_cpu_millis(q).ok().map(i128::from)
                    }
                };
                let (u, l) = (value(&used.0)?, value(&limit.0)?);
                (l > 0 && u >= l).then(|| format!("{resource} {}/{}", used.0, limit.0))
            })
            .collect();
        if !full.is_empty() {
            causes.push(ClusterCause {
                kind: "quota".into(),
                object: format!(
                    "ResourceQuota/{}",
                    quota.metadata.name.as_deref().unwrap_or("")
                ),
                message: format!("used up: {}", full.join(", ")),
            });
        }
    }
    for pvc in pvcs {
        let phase = pvc
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        if phase != "Bound" {
            causes.push(ClusterCause {
                kind: "pvc-unbound".into(),
                object: format!(
                    "PersistentVolumeClaim/{}",
                    pvc.metadata.name.as_deref().unwrap_or("")
                ),
                message: format!("{phase}: not bound to a volume"),
            });
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ml_service() -> Component {
        Component {
            name: "ml-service".into(),
            kind: "Deployment".into(),
            namespace: "ns".into(),
        }
    }

    fn live(ready: i32) -> Live {
        Live {
            desired: 1,
            ready,
            template: None,
        }
    }

    /// A pod of ml-service whose one container has `state`, `last_state`
    /// and `restarts`.
    fn pod(
        state: serde_json::Value,
        last_state: serde_json::Value,
        restarts: i32,
        ready: bool,
    ) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "ml-service-abc-12345", "labels": {"app": "ml-service"}},
            "spec": {"containers": [{"name": "ml-service", "image": "ml:1"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{
                    "name": "ml-service", "image": "ml:1", "imageID": "", "ready": ready,
                    "restartCount": restarts, "state": state, "lastState": last_state,
                }],
            },
        }))
        .unwrap()
    }

    fn crashed(at: &str) -> serde_json::Value {
        serde_json::json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": at}})
    }

    /// A crash-looping container spends a moment running between its
    /// back-offs (a slow-starting one, most of the time): the card still
    /// names the crash and shows the crashed instance's logs, not "0 of 1
    /// pods ready" without a cause (the flaky `debug` test saw this under
    /// load: its pod's reason was `-`).
    #[test]
    fn a_container_running_again_after_a_crash_is_a_crash_not_just_unavailable() {
        let now: Timestamp = "2026-12-31T00:00:10Z".parse().unwrap();
        let running = serde_json::json!({"running": {"startedAt": "2026-12-31T00:00:09Z"}});
        let pods = [pod(running, crashed("2026-12-31T00:00:08Z"), 1, false)];
        let problem = problem_of(
            &ml_service(),
            Some(&live(0)),
            &pods,
            &[],
            &BTreeMap::new(),
            now,
        )
        .expect("a problem");
        assert_eq!(problem.kind, ProblemKind::CrashLoop, "{problem:?}");
        assert_eq!(problem.logs, LogSource::Previous);
        assert_eq!(problem.exit_code, Some(1));
        assert_eq!(problem.container.as_deref(), Some("ml-service"));
        assert_eq!(problem.pod.as_deref(), Some("ml-service-abc-12345"));
        assert!(problem.message.contains("exited 1 (Error)"), "{problem:?}");

        // The first crash, before the kubelet restarts it: its own logs.
        let pods = [pod(
            crashed("2026-12-31T00:00:09Z"),
            serde_json::json!({}),
            0,
            false,
        )];
        let problem = problem_of(
            &ml_service(),
            Some(&live(0)),
            &pods,
            &[],
            &BTreeMap::new(),
            now,
        )
        .expect("a problem");
        assert_eq!(problem.kind, ProblemKind::CrashLoop, "{problem:?}");
        assert_eq!(problem.logs, LogSource::Current);

        // Restarted once and ready again: healthy.
        let running = serde_json::json!({"running": {"startedAt": "2026-12-31T00:00:01Z"}});
        let pods = [pod(
            running.clone(),
            crashed("2026-12-31T00:00:00Z"),
            1,
            true,
        )];
        assert_eq!(
            problem_of(
                &ml_service(),
                Some(&live(1)),
                &pods,
                &[],
                &BTreeMap::new(),
                now
            ),
            None
        );

        // Starting for the first time, not ready yet: unavailable, as before.
        let pods = [pod(running, serde_json::json!({}), 0, false)];
        let problem = problem_of(
            &ml_service(),
            Some(&live(0)),
            &pods,
            &[],
            &BTreeMap::new(),
            now,
        )
        .expect("a problem");
        assert_eq!(problem.kind, ProblemKind::Unavailable, "{problem:?}");
    }

    #[test]
    fn repeated_refusals_collapse_into_one_line_with_their_count() {
        let lines = vec![
            "FailedCreate: Error creating: pods \"a-1\" is forbidden: exceeded quota".to_string(),
            "FailedCreate: Error creating: pods \"a-2\" is forbidden: exceeded quota".to_string(),
            "FailedCreate: (combined from similar events): Error creating: pods \"a-3\" is forbidden: exceeded quota (x4)".to_string(),
            "BackOff: Back-off restarting failed container".to_string(),
        ];
        let collapsed = collapse_repeats(&lines);
        assert_eq!(collapsed.len(), 2, "{collapsed:#?}");
        assert!(
            collapsed[0].ends_with("exceeded quota (x6)"),
            "{collapsed:#?}"
        );
        assert_eq!(
            collapsed[1],
            "BackOff: Back-off restarting failed container"
        );
    }
}
