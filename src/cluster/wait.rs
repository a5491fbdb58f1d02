//! Waiting for rollouts: watch streams (never polling) on the namespace's
//! Deployments, StatefulSets, ReplicaSets, Pods and warning Events, kept in
//! reflector stores and re-judged on every change (and once a second, for
//! the time-based readiness rule).
//!
//! The wait ends as soon as every workload is complete by kubectl's rule
//! ([`super::rollout`]), as soon as one fails ([`super::diagnosis`] on the
//! pods of its *new* revision), or at the timeout. It spawns nothing: dropping
//! the future (Ctrl-C in a `tokio::select!`) closes every watch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{BoxStream, SelectAll};
use futures::{StreamExt, future};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::{Serialize, Serializer};

use super::apply::{Action, AppliedObject};
use super::diagnosis::{self, FailureCard, Problem, ProblemKind, Thresholds};
use super::events;
use super::rollout::{self, RolloutState};

/// The workload kinds whose rollouts are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

/// A workload to wait for, in the namespace given to [`wait_for_rollouts`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub name: String,
}

impl WorkloadRef {
    pub fn deployment(name: impl Into<String>) -> Self {
        Self {
            kind: WorkloadKind::Deployment,
            name: name.into(),
        }
    }

    pub fn statefulset(name: impl Into<String>) -> Self {
        Self {
            kind: WorkloadKind::StatefulSet,
            name: name.into(),
        }
    }

    /// `Deployment/api-gateway`.
    pub fn display(&self) -> String {
        format!("{:?}/{}", self.kind, self.name)
    }
}

/// The workloads an apply created or changed: the ones whose rollout to
/// wait for, Deployments then StatefulSets, each by name.
pub fn changed_workloads(applied: &[AppliedObject]) -> Vec<WorkloadRef> {
    let mut workloads: Vec<WorkloadRef> = applied
        .iter()
        .filter(|o| matches!(o.action, Action::Created | Action::Configured))
        .filter_map(|o| match o.kind.as_str() {
            "Deployment" => Some(WorkloadRef::deployment(&o.name)),
            "StatefulSet" => Some(WorkloadRef::statefulset(&o.name)),
            _ => None,
        })
        .collect();
    workloads.sort();
    workloads.dedup();
    workloads
}

#[derive(Debug, Clone)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub thresholds: Thresholds,
    /// When this turns `true` the wait ends with [`WaitError::Interrupted`],
    /// carrying each workload's state. (Dropping the future is also safe,
    /// but then nobody learns the states.)
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            thresholds: Thresholds::default(),
            stop: None,
        }
    }
}

/// Progress of [`wait_for_rollouts`]; `name` is the workload's `Kind/name`.
pub trait RolloutReporter: Send + Sync {
    /// Called when a workload's counts or message change.
    fn workload_progress(&self, name: &str, ready: i32, desired: i32, message: &str);
    fn workload_complete(&self, name: &str, elapsed: Duration);
    fn workload_failed(&self, name: &str, reason: &str);
}

/// A reporter that reports nothing.
pub struct NoRolloutReport;

impl RolloutReporter for NoRolloutReport {
    fn workload_progress(&self, _: &str, _: i32, _: i32, _: &str) {}
    fn workload_complete(&self, _: &str, _: Duration) {}
    fn workload_failed(&self, _: &str, _: &str) {}
}

/// Where one workload's rollout ended (or stood when the wait ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutOutcome {
    /// `Deployment/api-gateway`.
    pub workload: String,
    pub kind: WorkloadKind,
    pub name: String,
    /// The Deployment's revision annotation, or the StatefulSet's update revision.
    pub revision: Option<String>,
    pub ready: i32,
    pub desired: i32,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    pub state: RolloutState,
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_millis() as f64) / 1000.0)
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// At least one workload cannot roll out; one card per failed workload.
    #[error("rollout failed: {}", cards.iter().map(|c| format!("{}: {}", c.workload, c.reason)).collect::<Vec<_>>().join(", "))]
    Failed {
        outcomes: Vec<RolloutOutcome>,
        cards: Vec<FailureCard>,
    },
    #[error("timed out after {}; still waiting for {}", crate::human::duration(*timeout), pending(outcomes))]
    TimedOut {
        timeout: Duration,
        outcomes: Vec<RolloutOutcome>,
    },
    #[error("interrupted; still waiting for {}", pending(outcomes))]
    Interrupted { outcomes: Vec<RolloutOutcome> },
    /// A watch kept failing after retries (permissions, an API server gone).
    #[error("watching {resource} in namespace {namespace}: {source}")]
    Watch {
        resource: &'static str,
        namespace: String,
        #[source]
        source: Box<watcher::Error>,
    },
}

impl WaitError {
    /// Every workload's state when the wait ended, whatever the reason.
    pub fn outcomes(&self) -> &[RolloutOutcome] {
        match self {
            WaitError::Failed { outcomes, .. }
            | WaitError::TimedOut { outcomes, .. }
            | WaitError::Interrupted { outcomes } => outcomes,
            WaitError::Watch { .. } => &[],
        }
    }
}

fn pending(outcomes: &[RolloutOutcome]) -> String {
    outcomes
        .iter()
        .filter_map(|o| match &o.state {
            RolloutState::Progressing { message } => Some(format!("{} ({message})", o.workload)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many errors in a row a watch may report before the wait gives up;
/// the watcher backs off exponentially (0.8 s doubling), so this is ~25 s
/// of an API server that keeps failing.
const MAX_CONSECUTIVE_WATCH_ERRORS: u32 = 6;

/// How far back a quota failure on the new ReplicaSet may date and still
/// count for this rollout.
const EVENT_SLACK_MS: i64 = 5_000;

/// Wait until every workload in `namespace` has rolled out, one fails, or
/// `opts.timeout` passes.
pub async fn wait_for_rollouts(
    client: &kube::Client,
    namespace: &str,
    workloads: &[WorkloadRef],
    opts: &WaitOptions,
    reporter: &dyn RolloutReporter,
) -> Result<Vec<RolloutOutcome>, WaitError> {
    if workloads.is_empty() {
        return Ok(Vec::new());
    }
    let started = Instant::now();
    let started_at = now();
    let mut watches = Watches::start(client, namespace, workloads);
    let mut tracked: Vec<Tracked> = workloads.iter().cloned().map(Tracked::new).collect();

    let deadline = tokio::time::sleep(opts.timeout);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = opts.stop.clone();

    loop {
        tokio::select! {
            biased;
            _ = stop_requested(&mut stop) => {
                return Err(WaitError::Interrupted { outcomes: outcomes(&tracked, started) });
            }
            _ = &mut deadline => {
                return Err(WaitError::TimedOut { timeout: opts.timeout, outcomes: outcomes(&tracked, started) });
            }
            signal = watches.stream.next() => {
                let Some(signal) = signal else {
                    // Watchers never end on their own.
                    continue;
                };
                watches.record(signal)?;
            }
            _ = tick.tick() => {}
        }
        if !watches.all_listed() {
            continue;
        }

        let now = now();
        let mut failures: Vec<(usize, Problem)> = Vec::new();
        for (index, workload) in tracked.iter_mut().enumerate() {
            if workload.done.is_some() {
                continue;
            }
            let verdict = watches.judge(&workload.target, &opts.thresholds, started_at, now);
            workload.revision = verdict.revision.clone();
            if (verdict.ready, verdict.desired, &verdict.message)
                != (workload.ready, workload.desired, &workload.message)
            {
                workload.ready = verdict.ready;
                workload.desired = verdict.desired;
                workload.message = verdict.message.clone();
                reporter.workload_progress(
                    &workload.display,
                    verdict.ready,
                    verdict.desired,
                    &verdict.message,
                );
            }
            if verdict.complete {
                let elapsed = started.elapsed();
                workload.done = Some((RolloutState::Complete, elapsed));
                reporter.workload_complete(&workload.display, elapsed);
            } else if let Some(problem) = verdict.problem {
                failures.push((index, problem));
            }
        }

        if !failures.is_empty() {
            let elapsed = started.elapsed();
            for (index, problem) in &failures {
                let workload = &mut tracked[*index];
                workload.done = Some((
                    RolloutState::Failed {
                        reason: problem.reason.clone(),
                        message: problem.message.clone(),
                    },
                    elapsed,
                ));
                reporter.workload_failed(&workload.display, &problem.reason);
            }
            let cards = future::join_all(failures.iter().map(|(index, problem)| {
                diagnosis::failure_card(client, namespace, &tracked[*index].display, problem)
            }))
            .await;
            return Err(WaitError::Failed {
                outcomes: outcomes(&tracked, started),
                cards,
            });
        }
        if tracked.iter().all(|w| w.done.is_some()) {
            return Ok(outcomes(&tracked, started));
        }
    }
}

/// Resolves once `stop` turns `true`; never without one.
async fn stop_requested(stop: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    if let Some(rx) = stop
        && rx.wait_for(|stop| *stop).await.is_ok()
    {
        return;
    }
    future::pending::<()>().await
}

/// One workload's wait, as it stands.
struct Tracked {
    target: WorkloadRef,
    display: String,
    revision: Option<String>,
    ready: i32,
    desired: i32,
    message: String,
    done: Option<(RolloutState, Duration)>,
}

impl Tracked {
    fn new(target: WorkloadRef) -> Self {
        Self {
            display: target.display(),
            target,
            revision: None,
            ready: -1,
            desired: -1,
            message: String::new(),
            done: None,
        }
    }
}

fn outcomes(tracked: &[Tracked], started: Instant) -> Vec<RolloutOutcome> {
    tracked
        .iter()
        .map(|w| {
            let (state, elapsed) = w.done.clone().unwrap_or_else(|| {
                (
                    RolloutState::Progressing {
                        message: w.message.clone(),
                    },
                    started.elapsed(),
                )
            });
            RolloutOutcome {
                workload: w.display.clone(),
                kind: w.target.kind,
                name: w.target.name.clone(),
                revision: w.revision.clone(),
                ready: w.ready.max(0),
                desired: w.desired.max(0),
                elapsed,
                state,
            }
        })
        .collect()
}

/// What the stores say about one workload right now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    complete: bool,
    problem: Option<Problem>,
    message: String,
    ready: i32,
    desired: i32,
    revision: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Deployments,
    StatefulSets,
    ReplicaSets,
    Pods,
    Events,
}

impl Source {
    fn resource(self) -> &'static str {
        match self {
            Source::Deployments => "deployments",
            Source::StatefulSets => "statefulsets",
            Source::ReplicaSets => "replicasets",
            Source::Pods => "pods",
            Source::Events => "events",
        }
    }
}

/// What a watch stream said: its initial list is complete, something
/// changed, or it failed (and will retry).
enum Signal {
    Listed(Source),
    Changed,
    Failed(Source, watcher::Error),
}

/// The namespace's watches and the stores they fill.
struct Watches {
    namespace: String,
    stream: SelectAll<BoxStream<'static, Signal>>,
    listed: BTreeSet<Source>,
    expected: BTreeSet<Source>,
    errors: BTreeMap<Source, u32>,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    replicasets: Store<ReplicaSet>,
    pods: Store<Pod>,
    events: Store<Event>,
}

fn watch<K>(
    client: &kube::Client,
    namespace: &str,
    source: Source,
    config: watcher::Config,
) -> (Store<K>, BoxStream<'static, Signal>)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let stream = watcher(api, config)
        .default_backoff()
        .reflect(writer)
        .map(move |event| match event {
            Ok(watcher::Event::InitDone) => Signal::Listed(source),
            Ok(_) => Signal::Changed,
            Err(error) => Signal::Failed(source, error),
        })
        .boxed();
    (store, stream)
}

impl Watches {
    fn start(client: &kube::Client, namespace: &str, workloads: &[WorkloadRef]) -> Self {
        let wants = |kind| workloads.iter().any(|w| w.kind == kind);
        let config = watcher::Config::default();
        let mut stream = SelectAll::new();
        let mut expected = BTreeSet::new();
        let mut follow = |source, watch: BoxStream<'static, Signal>, wanted: bool| {
            // A stream not followed is dropped here, and never opens its watch.
            if wanted {
                stream.push(watch);
                expected.insert(source);
            }
        };
        let (deployments, s) = watch(client, namespace, Source::Deployments, config.clone());
        follow(Source::Deployments, s, wants(WorkloadKind::Deployment));
        let (replicasets, s) = watch(client, namespace, Source::ReplicaSets, config.clone());
        follow(Source::ReplicaSets, s, wants(WorkloadKind::Deployment));
        let (statefulsets, s) = watch(client, namespace, Source::StatefulSets, config.clone());
        follow(Source::StatefulSets, s, wants(WorkloadKind::StatefulSet));
        let (pods, s) = watch(client, namespace, Source::Pods, config.clone());
        follow(Source::Pods, s, true);
        // Only warnings matter, and every API server supports this field selector on events.
        let (events, s) = watch(
            client,
            namespace,
            Source::Events,
            config.fields("type=Warning"),
        );
        follow(Source::Events, s, true);
        Self {
            namespace: namespace.to_string(),
            stream,
            listed: BTreeSet::new(),
            expected,
            errors: BTreeMap::new(),
            deployments,
            statefulsets,
            replicasets,
            pods,
            events,
        }
    }

    fn record(&mut self, signal: Signal) -> Result<(), WaitError> {
        match signal {
            Signal::Listed(source) => {
                self.listed.insert(source);
                self.errors.remove(&source);
            }
            Signal::Changed => {}
            Signal::Failed(source, error) => {
                let count = self.errors.entry(source).or_default();
                *count += 1;
                if *count >= MAX_CONSECUTIVE_WATCH_ERRORS {
                    return Err(WaitError::Watch {
                        resource: source.resource(),
                        namespace: self.namespace.clone(),
                        source: Box::new(error),
                    });
                }
            }
        }
        Ok(())
    }

    fn all_listed(&self) -> bool {
        self.expected.is_subset(&self.listed)
    }

    fn judge(
        &self,
        target: &WorkloadRef,
        thresholds: &Thresholds,
        started_at: Timestamp,
        now: Timestamp,
    ) -> Verdict {
        match target.kind {
            WorkloadKind::Deployment => match self
                .deployments
                .get(&ObjectRef::new(&target.name).within(&self.namespace))
            {
                Some(deployment) => judge_deployment(
                    &deployment,
                    &self.replicasets.state(),
                    &self.pods.state(),
                    &self.events.state(),
                    thresholds,
                    started_at,
                    now,
                ),
                None => not_found(target),
            },
            WorkloadKind::StatefulSet => match self
                .statefulsets
                .get(&ObjectRef::new(&target.name).within(&self.namespace))
            {
                Some(statefulset) => judge_statefulset(
                    &statefulset,
                    &self.pods.state(),
                    &self.events.state(),
                    thresholds,
                    started_at,
                    now,
                ),
                None => not_found(target),
            },
        }
    }
}

fn not_found(target: &WorkloadRef) -> Verdict {
    Verdict {
        complete: false,
        problem: None,
        message: format!("{} not found", target.display()),
        ready: 0,
        desired: 0,
        revision: None,
    }
}

/// The ReplicaSet of the Deployment's current revision: controlled by it and
/// carrying the same revision annotation.
fn new_replicaset<'a>(
    deployment: &Deployment,
    replicasets: &'a [Arc<ReplicaSet>],
) -> Option<&'a ReplicaSet> {
    let uid = deployment.metadata.uid.as_deref()?;
    let revision = rollout::deployment_revision(deployment)?;
    replicasets.iter().map(Arc::as_ref).find(|rs| {
        controller_uid(rs.metadata.owner_references.as_deref()) == Some(uid)
            && rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(rollout::DEPLOYMENT_REVISION_ANNOTATION))
                == Some(&revision)
    })
}

fn controller_uid(owners: Option<&[OwnerReference]>) -> Option<&str> {
    owners?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// Judge a Deployment: kubectl's rule for completion; for failure, the
/// controller's deadline, then the pods of the new ReplicaSet and the
/// warnings about them.
fn judge_deployment(
    deployment: &Deployment,
    replicasets: &[Arc<ReplicaSet>],
    pods: &[Arc<Pod>],
    warnings: &[Arc<Event>],
    thresholds: &Thresholds,
    started_at: Timestamp,
    now: Timestamp,
) -> Verdict {
    let state = rollout::deployment_state(deployment);
    let (ready, desired) = rollout::deployment_progress(deployment);
    let mut verdict = Verdict {
        complete: state.is_complete(),
        problem: None,
        message: String::new(),
        ready,
        desired,
        revision: rollout::deployment_revision(deployment),
    };
    let deadline = match state {
        RolloutState::Complete => {
            verdict.message = "rolled out".into();
            return verdict;
        }
        RolloutState::Progressing { message } => {
            verdict.message = message;
            None
        }
        RolloutState::Failed { reason, message } => {
            verdict.message = message.clone();
            Some(Problem {
                kind: ProblemKind::ProgressDeadlineExceeded,
                reason,
                message,
                pod: None,
                object: None,
                container: None,
                exit_code: None,
                logs: diagnosis::LogSource::None,
            })
        }
    };
    // Before the controller has seen the new spec, the "new" ReplicaSet is
    // the previous one, whose pods say nothing about this rollout.
    let observed = deployment
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0)
        >= deployment.metadata.generation.unwrap_or(0);
    let replicaset = observed
        .then(|| new_replicaset(deployment, replicasets))
        .flatten();
    // Ready means ready pods of the new ReplicaSet: an old pod still serving
    // is no progress of this rollout (with one replica the bar showed 1/1,
    // full, over a new pod that crashed).
    verdict.ready = replicaset.map_or(0, |rs| {
        let new = rs
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0);
        verdict.ready.min(new)
    });
    let pod_problem = replicaset.and_then(|rs| {
        let uid = rs.metadata.uid.as_deref()?;
        let rs_name = rs.metadata.name.as_deref().unwrap_or("");
        let new_pods: Vec<&Pod> = pods
            .iter()
            .map(Arc::as_ref)
            .filter(|p| controller_uid(p.metadata.owner_references.as_deref()) == Some(uid))
            .collect();
        first_problem(
            &new_pods,
            warnings,
            "ReplicaSet",
            rs_name,
            thresholds,
            started_at,
            now,
        )
    });
    // A pod's own problem explains a missed deadline better than the deadline does.
    verdict.problem = pod_problem.or(deadline);
    verdict
}

/// Judge a StatefulSet: kubectl's rule for completion; for failure, the pods
/// of the update revision and the warnings about them and the set.
fn judge_statefulset(
    statefulset: &StatefulSet,
    pods: &[Arc<Pod>],
    warnings: &[Arc<Event>],
    thresholds: &Thresholds,
    started_at: Timestamp,
    now: Timestamp,
) -> Verdict {
    let state = rollout::statefulset_state(statefulset);
    let (ready, desired) = rollout::statefulset_progress(statefulset);
    let revision = rollout::statefulset_revision(statefulset);
    let mut verdict = Verdict {
        complete: state.is_complete(),
        problem: None,
        message: match &state {
            RolloutState::Complete => "rolled out".into(),
            RolloutState::Progressing { message } | RolloutState::Failed { message, .. } => {
                message.clone()
            }
        },
        ready,
        desired,
        revision: revision.clone(),
    };
    if verdict.complete {
        return verdict;
    }
    let observed = statefulset
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0)
        >= statefulset.metadata.generation.unwrap_or(0);
    let (Some(uid), Some(revision), true) =
        (statefulset.metadata.uid.as_deref(), revision, observed)
    else {
        return verdict;
    };
    let new_pods: Vec<&Pod> = pods
        .iter()
        .map(Arc::as_ref)
        .filter(|p| {
            controller_uid(p.metadata.owner_references.as_deref()) == Some(uid)
                && p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("controller-revision-hash"))
                    == Some(&revision)
        })
        .collect();
    let name = statefulset.metadata.name.as_deref().unwrap_or("");
    verdict.problem = first_problem(
        &new_pods,
        warnings,
        "StatefulSet",
        name,
        thresholds,
        started_at,
        now,
    );
    verdict
}

/// The first problem among the new pods (by name, so the report is stable),
/// then among the warnings: a quota failure of the pods' creator, or
/// repeated readiness failures of a new pod.
fn first_problem(
    new_pods: &[&Pod],
    warnings: &[Arc<Event>],
    creator_kind: &str,
    creator_name: &str,
    thresholds: &Thresholds,
    started_at: Timestamp,
    now: Timestamp,
) -> Option<Problem> {
    let mut pods = new_pods.to_vec();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if let Some(problem) = pods
        .iter()
        .find_map(|p| diagnosis::diagnose_pod(p, thresholds, now))
    {
        return Some(problem);
    }
    let pod_names: BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let recent = |e: &Event| {
        events::last_seen(e)
            .is_none_or(|t| t.as_millisecond() >= started_at.as_millisecond() - EVENT_SLACK_MS)
    };
    warnings
        .iter()
        .map(Arc::as_ref)
        .filter(|e| {
            let object = &e.involved_object;
            let name = object.name.as_deref().unwrap_or("");
            match object.kind.as_deref() {
                Some("Pod") => pod_names.contains(name),
                Some(kind) => kind == creator_kind && name == creator_name && recent(e),
                None => false,
            }
        })
        .filter_map(|e| diagnosis::diagnose_event(e, thresholds))
        .find(|problem| match (&problem.pod, &problem.container) {
            // Readiness failures count once the probe has had its chance.
            (Some(pod), Some(container)) => pods
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(pod))
                .is_some_and(|p| diagnosis::unready_past_probe_allowance(p, container, now)),
            _ => true,
        })
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: &str = "2026-01-01T12:00:00Z";

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn deployment(generation: i64, observed: i64, revision: &str, status: Value) -> Deployment {
        let mut status = status;
        status["observedGeneration"] = json!(observed);
        serde_json::from_value(json!({
            "metadata": {"name": "api-gateway", "namespace": "prod", "uid": "d-uid", "generation": generation,
                         "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    fn replicaset(name: &str, uid: &str, revision: &str) -> Arc<ReplicaSet> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "prod", "uid": uid,
                             "annotations": {"deployment.kubernetes.io/revision": revision},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway",
                                                  "uid": "d-uid", "controller": true}]},
            }))
            .unwrap(),
        )
    }

    fn crashing_pod(name: &str, owner_uid: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "prod",
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                                  "uid": owner_uid, "controller": true}]},
                "status": {"phase": "Running", "containerStatuses": [{
                    "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]},
            }))
            .unwrap(),
        )
    }

    fn judge(
        d: &Deployment,
        rs: &[Arc<ReplicaSet>],
        pods: &[Arc<Pod>],
        events: &[Arc<Event>],
    ) -> Verdict {
        judge_deployment(
            d,
            rs,
            pods,
            events,
            &Thresholds::default(),
            ts("2026-01-01T11:59:00Z"),
            ts(NOW),
        )
    }

    #[test]
    fn only_the_new_replicasets_available_pods_count_as_ready() {
        // One replica: the old pod is the available one, the new one crashed.
        let mut d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}),
        );
        d.spec.as_mut().unwrap().replicas = Some(1);
        let mut old = (*replicaset("api-gateway-old", "rs-old", "1")).clone();
        old.status =
            serde_json::from_value(json!({"replicas": 1, "availableReplicas": 1})).unwrap();
        let mut new = (*replicaset("api-gateway-new", "rs-new", "2")).clone();
        new.status =
            serde_json::from_value(json!({"replicas": 1, "availableReplicas": 0})).unwrap();
        let sets = [Arc::new(old), Arc::new(new.clone())];
        let verdict = judge(
            &d,
            &sets,
            &[crashing_pod("api-gateway-new-a", "rs-new")],
            &[],
        );
        assert_eq!((verdict.ready, verdict.desired), (0, 1));
        assert!(verdict.problem.is_some());
        // Once the new pod is available, it counts.
        new.status =
            serde_json::from_value(json!({"replicas": 1, "availableReplicas": 1})).unwrap();
        let sets = [sets[0].clone(), Arc::new(new)];
        let verdict = judge(&d, &sets, &[], &[]);
        assert_eq!((verdict.ready, verdict.desired), (1, 1));
    }

    #[test]
    fn crash_of_a_new_revision_pod_fails_the_rollout() {
        let d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}),
        );
        let sets = [
            replicaset("api-gateway-old", "rs-old", "1"),
            replicaset("api-gateway-new", "rs-new", "2"),
        ];
        let verdict = judge(
            &d,
            &sets,
            &[crashing_pod("api-gateway-new-a", "rs-new")],
            &[],
        );
        assert!(!verdict.complete);
        let problem = verdict.problem.unwrap();
        assert_eq!(problem.kind, ProblemKind::CrashLoop);
        assert_eq!(problem.pod.as_deref(), Some("api-gateway-new-a"));
        assert_eq!(verdict.revision.as_deref(), Some("2"));
    }

    #[test]
    fn crashing_pods_of_the_old_revision_do_not_fail_the_new_rollout() {
        let d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 1}),
        );
        let sets = [
            replicaset("api-gateway-old", "rs-old", "1"),
            replicaset("api-gateway-new", "rs-new", "2"),
        ];
        let verdict = judge(
            &d,
            &sets,
            &[crashing_pod("api-gateway-old-a", "rs-old")],
            &[],
        );
        assert_eq!(verdict.problem, None);
        assert!(
            verdict.message.contains("1 out of 2 new replicas"),
            "{}",
            verdict.message
        );
    }

    #[test]
    fn pods_are_not_judged_before_the_controller_observed_the_new_spec() {
        // Generation 3 not yet observed: revision "2" is the previous rollout's.
        let d = deployment(
            3,
            2,
            "2",
            json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 0}),
        );
        let sets = [replicaset("api-gateway-new", "rs-new", "2")];
        let verdict = judge(
            &d,
            &sets,
            &[crashing_pod("api-gateway-new-a", "rs-new")],
            &[],
        );
        assert_eq!(verdict.problem, None);
        assert_eq!(
            verdict.message,
            "Waiting for deployment spec update to be observed..."
        );
    }

    #[test]
    fn complete_deployment_has_no_problem() {
        let d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        let verdict = judge(&d, &[], &[], &[]);
        assert!(verdict.complete);
        assert_eq!((verdict.ready, verdict.desired), (2, 2));
    }

    #[test]
    fn progress_deadline_is_a_failure_when_no_pod_explains_it() {
        let d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1,
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                   "message": "ReplicaSet \"api-gateway-new\" has timed out progressing."}]}),
        );
        let verdict = judge(
            &d,
            &[replicaset("api-gateway-new", "rs-new", "2")],
            &[],
            &[],
        );
        assert_eq!(
            verdict.problem.unwrap().kind,
            ProblemKind::ProgressDeadlineExceeded
        );
        let verdict = judge(
            &d,
            &[replicaset("api-gateway-new", "rs-new", "2")],
            &[crashing_pod("api-gateway-new-a", "rs-new")],
            &[],
        );
        assert_eq!(verdict.problem.unwrap().kind, ProblemKind::CrashLoop);
    }

    fn quota_event(object: &str, last: &str) -> Arc<Event> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": format!("{object}.1")},
                "involvedObject": {"kind": "ReplicaSet", "name": object},
                "reason": "FailedCreate", "type": "Warning", "lastTimestamp": last,
                "message": "Error creating: pods \"x\" is forbidden: exceeded quota: compute",
            }))
            .unwrap(),
        )
    }

    #[test]
    fn quota_failure_of_the_new_replicaset_fails_the_rollout() {
        let d = deployment(2, 2, "2", json!({"replicas": 0, "updatedReplicas": 0}));
        let sets = [replicaset("api-gateway-new", "rs-new", "2")];
        let verdict = judge(&d, &sets, &[], &[quota_event("api-gateway-new", NOW)]);
        assert_eq!(verdict.problem.unwrap().kind, ProblemKind::QuotaExceeded);
        // The same failure from long before this rollout started is old news,
        // and another ReplicaSet's failure is not this rollout's.
        let stale = judge(
            &d,
            &sets,
            &[],
            &[quota_event("api-gateway-new", "2026-01-01T10:00:00Z")],
        );
        assert_eq!(stale.problem, None);
        let other = judge(&d, &sets, &[], &[quota_event("api-gateway-old", NOW)]);
        assert_eq!(other.problem, None);
    }

    fn unready_pod(name: &str, owner_uid: &str, started: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "prod",
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                                  "uid": owner_uid, "controller": true}]},
                "spec": {"containers": [{"name": "api", "image": "x",
                                         "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}}]},
                "status": {"phase": "Running", "containerStatuses": [{
                    "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"running": {"startedAt": started}}}]},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn repeated_unhealthy_events_count_once_the_probe_had_its_chance() {
        let d = deployment(
            2,
            2,
            "2",
            json!({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}),
        );
        let sets = [replicaset("api-gateway-new", "rs-new", "2")];
        let unhealthy = Arc::new(
            serde_json::from_value::<Event>(json!({
                "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": "api-gateway-new-a", "fieldPath": "spec.containers{api}"},
                "reason": "Unhealthy", "type": "Warning", "count": 8,
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
            }))
            .unwrap(),
        );
        // Running 20 s: within the default probe's 30 s, so not yet.
        let young = unready_pod("api-gateway-new-a", "rs-new", "2026-01-01T11:59:40Z");
        let verdict = judge(&d, &sets, &[young], std::slice::from_ref(&unhealthy));
        assert_eq!(verdict.problem, None);
        // Running 45 s, still failing: the rollout has failed.
        let older = unready_pod("api-gateway-new-a", "rs-new", "2026-01-01T11:59:15Z");
        let verdict = judge(&d, &sets, &[older], &[unhealthy]);
        assert_eq!(verdict.problem.unwrap().kind, ProblemKind::ReadinessFailing);
    }

    fn statefulset_pod(name: &str, revision: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "prod", "labels": {"controller-revision-hash": revision},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "postgres",
                                                  "uid": "s-uid", "controller": true}]},
                "status": {"phase": "Pending", "containerStatuses": [{
                    "name": "postgres", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn statefulset_pods_of_the_update_revision_are_diagnosed() {
        let s: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "postgres", "namespace": "prod", "uid": "s-uid", "generation": 2},
            "spec": {"replicas": 1, "selector": {}, "template": {}, "serviceName": "postgres"},
            "status": {"replicas": 1, "observedGeneration": 2, "readyReplicas": 0, "updatedReplicas": 0,
                       "currentRevision": "postgres-1", "updateRevision": "postgres-2"},
        }))
        .unwrap();
        let now = ts(NOW);
        let judge =
            |pods: &[Arc<Pod>]| judge_statefulset(&s, pods, &[], &Thresholds::default(), now, now);
        assert_eq!(
            judge(&[statefulset_pod("postgres-0", "postgres-1")]).problem,
            None
        );
        let verdict = judge(&[statefulset_pod("postgres-0", "postgres-2")]);
        assert_eq!(verdict.problem.unwrap().kind, ProblemKind::ImagePull);
        assert_eq!(verdict.revision.as_deref(), Some("postgres-2"));
    }

    #[test]
    fn changed_workloads_are_the_created_or_configured_deployments_and_statefulsets() {
        let object = |kind: &str, name: &str, action| AppliedObject {
            display: format!("{kind}/{name}"),
            kind: kind.into(),
            name: name.into(),
            namespace: Some("prod".into()),
            action,
            generation: Some(1),
        };
        let applied = [
            object("Deployment", "a", Action::Configured),
            object("Deployment", "b", Action::Unchanged),
            object("StatefulSet", "c", Action::Created),
            object("Service", "d", Action::Created),
        ];
        assert_eq!(
            changed_workloads(&applied),
            vec![WorkloadRef::deployment("a"), WorkloadRef::statefulset("c")]
        );
    }

    #[test]
    fn timeout_error_names_what_is_still_pending() {
        let error = WaitError::TimedOut {
            timeout: Duration::from_secs(300),
            outcomes: vec![
                RolloutOutcome {
                    workload: "Deployment/a".into(),
                    kind: WorkloadKind::Deployment,
                    name: "a".into(),
                    revision: Some("2".into()),
                    ready: 1,
                    desired: 2,
                    elapsed: Duration::from_secs(300),
                    state: RolloutState::Progressing {
                        message: "1 of 2 updated replicas are available...".into(),
                    },
                },
                RolloutOutcome {
                    workload: "Deployment/b".into(),
                    kind: WorkloadKind::Deployment,
                    name: "b".into(),
                    revision: Some("1".into()),
                    ready: 1,
                    desired: 1,
                    elapsed: Duration::from_secs(3),
                    state: RolloutState::Complete,
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "timed out after 5m00s; still waiting for Deployment/a (1 of 2 updated replicas are available...)"
        );
        let json = serde_json::to_value(&error.outcomes()[1]).unwrap();
        assert_eq!(json["elapsed"], json!(3.0));
        assert_eq!(json["state"], json!({"state": "complete"}));
    }
}
