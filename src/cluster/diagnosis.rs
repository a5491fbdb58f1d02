//! Fail-fast diagnosis: recognising, from a pod's status and the namespace's
//! warning events, that a rollout will not succeed — long before the 600 s
//! progress deadline — and gathering the evidence on-call needs into a
//! [`FailureCard`].
//!
//! The recognisers are pure functions on API objects (unit-tested on
//! hand-written JSON); only [`failure_card`] talks to the cluster.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Event, Pod};
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{events, logs};

/// How long and how often something may go wrong before it counts as failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// A container that restarted this often has failed, crash loop or not.
    pub max_restarts: i32,
    /// How long a running container may stay unready.
    pub readiness_grace: Duration,
    /// How many failed readiness probes (the kubelet's `Unhealthy` events) a pod may have.
    pub max_unhealthy_probes: i32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            readiness_grace: Duration::from_secs(60),
            // Six failures at the default 10 s probe period: the same minute.
            max_unhealthy_probes: 6,
        }
    }
}

/// The kinds of failure a rollout is stopped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// ErrImagePull, ImagePullBackOff, InvalidImageName.
    ImagePull,
    /// CrashLoopBackOff.
    CrashLoop,
    /// Restarted at least `max_restarts` times.
    RepeatedRestarts,
    /// CreateContainerConfigError: a missing ConfigMap/Secret or key.
    CreateContainerConfig,
    /// CreateContainerError / RunContainerError.
    CreateContainer,
    /// The kernel killed the container for exceeding its memory limit.
    OomKilled,
    /// The scheduler found no node.
    Unschedulable,
    /// Running, but the readiness probe keeps failing.
    ReadinessFailing,
    /// The ReplicaSet cannot create pods: a ResourceQuota is exhausted.
    QuotaExceeded,
    /// The deployment controller gave up (`spec.progressDeadlineSeconds`).
    ProgressDeadlineExceeded,
    /// The workload does not exist (triage: a component never deployed or deleted).
    Missing,
    /// Fewer pods ready than wanted, without a cause on the pods themselves
    /// (triage: a node gone NotReady, pods still starting or Pending).
    Unavailable,
}

/// Which container's logs tell the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogSource {
    /// The container never ran (image, config, scheduling problems).
    None,
    /// The running (or just terminated) container.
    Current,
    /// The previous, crashed instance of the container.
    Previous,
}

/// One reason a workload's rollout cannot succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: ProblemKind,
    /// Kubernetes' own word for it: `ImagePullBackOff`, `OOMKilled`, `FailedCreate`...
    pub reason: String,
    /// The kubelet's (or controller's) message, verbatim.
    pub message: String,
    /// The pod it was seen on; `None` for workload-level problems.
    pub pod: Option<String>,
    /// For a problem not seen on a pod: the object it was seen on as
    /// `Kind/name` (the ReplicaSet that cannot create pods), whose events
    /// the card shows.
    pub object: Option<String>,
    pub container: Option<String>,
    pub exit_code: Option<i32>,
    pub logs: LogSource,
}

/// The Pod's problem, if it has one that will not go away by waiting.
///
/// Order matters: scheduling first (nothing else can be true before it),
/// then each container (init containers first, as the kubelet runs them),
/// then readiness, which only counts once every container runs.
pub fn diagnose_pod(pod: &Pod, thresholds: &Thresholds, now: Timestamp) -> Option<Problem> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let conditions = status.conditions.as_deref().unwrap_or_default();

    if let Some(unscheduled) = conditions.iter().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    }) {
        return Some(Problem {
            kind: ProblemKind::Unschedulable,
            reason: "Unschedulable".into(),
            message: unscheduled.message.clone().unwrap_or_default(),
            pod: Some(pod_name),
            object: None,
            container: None,
            exit_code: None,
            logs: LogSource::None,
        });
    }

    let init = status
        .init_container_statuses
        .as_deref()
        .unwrap_or_default();
    let main = status.container_statuses.as_deref().unwrap_or_default();
    for container in init.iter().chain(main) {
        if let Some(mut problem) = diagnose_container(container, thresholds) {
            problem.pod = Some(pod_name);
            return Some(problem);
        }
    }

    if status.phase.as_deref() != Some("Running") {
        return None;
    }
    let ready = conditions.iter().find(|c| c.type_ == "Ready");
    if ready.is_some_and(|c| c.status == "True") {
        return None;
    }
    let unready_since = ready
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    for container in main {
        let Some(started_at) = running_since(container) else {
            continue;
        };
        // A startup probe still running holds readiness back by design.
        if container.ready || container.started == Some(false) {
            continue;
        }
        // The container may have (re)started after the pod turned unready.
        let since = unready_since.map_or(started_at, |t| t.max(started_at));
        let unready_ms = now.as_millisecond() - since.as_millisecond();
        let grace = thresholds
            .readiness_grace
            .max(probe_allowance(pod, &container.name));
        if unready_ms >= grace.as_millis() as i64 {
            let detail = ready.and_then(|c| c.message.clone()).unwrap_or_default();
            return Some(Problem {
                kind: ProblemKind::ReadinessFailing,
                reason: "NotReady".into(),
                message: format!(
                    "container {:?} has been running for {}s without passing its readiness probe{}{}",
                    container.name,
                    unready_ms / 1000,
                    if detail.is_empty() { "" } else { ": " },
                    detail
                ),
                pod: Some(pod_name),
                object: None,
                container: Some(container.name.clone()),
                exit_code: None,
                logs: LogSource::Current,
            });
        }
    }
    None
}

/// Whether the pod's `container` is unready although it has been running for
/// longer than its readiness probe allows: the condition under which
/// repeated `Unhealthy` events count as failure (so a probe configured for a
/// slow start is not judged by its early failures).
pub fn unready_past_probe_allowance(pod: &Pod, container: &str, now: Timestamp) -> bool {
    let Some(status) = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == container))
    else {
        return false;
    };
    if status.ready || status.started == Some(false) {
        return false;
    }
    let Some(started_at) = running_since(status) else {
        return false;
    };
    let running_ms = now.as_millisecond() - started_at.as_millisecond();
    running_ms >= probe_allowance(pod, container).as_millis() as i64
}

/// How long the container's own readiness probe may take to pass at the
/// earliest (`initialDelaySeconds + periodSeconds × failureThreshold`), so a
/// probe configured for a slow start is not judged by a shorter default.
fn probe_allowance(pod: &Pod, container: &str) -> Duration {
    let probe = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.containers.iter().find(|c| c.name == container))
        .and_then(|c| c.readiness_probe.as_ref());
    let Some(probe) = probe else {
        return Duration::ZERO;
    };
    let delay = probe.initial_delay_seconds.unwrap_or(0).max(0) as u64;
    let period = probe.period_seconds.unwrap_or(10).max(1) as u64;
    let failures = probe.failure_threshold.unwrap_or(3).max(1) as u64;
    Duration::from_secs(delay + period * failures)
}

fn diagnose_container(container: &ContainerStatus, thresholds: &Thresholds) -> Option<Problem> {
    let problem = |kind, reason: &str, message: Option<&String>, exit_code, logs| Problem {
        kind,
        reason: reason.to_string(),
        message: message.cloned().unwrap_or_default(),
        pod: None,
        object: None,
        container: Some(container.name.clone()),
        exit_code,
        logs,
    };
    let state = container.state.as_ref();
    let last_terminated = container
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref());

    if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
        let reason = waiting.reason.as_deref().unwrap_or("");
        let kind = match reason {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => {
                Some(ProblemKind::ImagePull)
            }
            "CreateContainerConfigError" => Some(ProblemKind::CreateContainerConfig),
            "CreateContainerError" | "RunContainerError" => Some(ProblemKind::CreateContainer),
            _ => None,
        };
        if let Some(kind) = kind {
            return Some(problem(
                kind,
                reason,
                waiting.message.as_ref(),
                None,
                LogSource::None,
            ));
        }
    }

    // An OOM kill explains a crash loop better than "back-off restarting", so it comes first.
    let terminated_now = state.and_then(|s| s.terminated.as_ref());
    for (terminated, logs) in [
        (terminated_now, LogSource::Current),
        (last_terminated, LogSource::Previous),
    ] {
        if let Some(t) = terminated
            && t.reason.as_deref() == Some("OOMKilled")
        {
            let message = t.message.clone().unwrap_or_else(|| {
                "the container was killed for exceeding its memory limit".to_string()
            });
            return Some(problem(
                ProblemKind::OomKilled,
                "OOMKilled",
                Some(&message),
                Some(t.exit_code),
                logs,
            ));
        }
    }

    let exit_code = last_terminated.map(|t| t.exit_code);
    if let Some(waiting) = state.and_then(|s| s.waiting.as_ref())
        && waiting.reason.as_deref() == Some("CrashLoopBackOff")
    {
        return Some(problem(
            ProblemKind::CrashLoop,
            "CrashLoopBackOff",
            waiting.message.as_ref(),
            exit_code,
            LogSource::Previous,
        ));
    }
    if container.restart_count >= thresholds.max_restarts {
        let message = format!(
            "container {:?} restarted {} times{}",
            container.name,
            container.restart_count,
            describe_termination(last_terminated)
        );
        return Some(problem(
            ProblemKind::RepeatedRestarts,
            "RepeatedRestarts",
            Some(&message),
            exit_code,
            LogSource::Previous,
        ));
    }
    None
}

fn describe_termination(
    terminated: Option<&k8s_openapi::api::core::v1::ContainerStateTerminated>,
) -> String {
    match terminated {
        Some(t) => format!(
            "; last exit code {} ({})",
            t.exit_code,
            t.reason.as_deref().unwrap_or("unknown reason")
        ),
        None => String::new(),
    }
}

fn running_since(container: &ContainerStatus) -> Option<Timestamp> {
    let ContainerState { running, .. } = container.state.as_ref()?;
    Some(running.as_ref()?.started_at.as_ref()?.0)
}

/// A warning event that dooms the rollout of the workload it names: a
/// ReplicaSet that cannot create pods because a quota is exhausted, or a
/// pod whose readiness probe failed more often than allowed.
///
/// The caller decides which objects count (the new ReplicaSet, pods of the
/// new revision); this only reads the event.
pub fn diagnose_event(event: &Event, thresholds: &Thresholds) -> Option<Problem> {
    let reason = event.reason.as_deref().unwrap_or("");
    let message = event.message.clone().unwrap_or_default();
    let object = &event.involved_object;
    match (object.kind.as_deref(), reason) {
        (Some("ReplicaSet" | "StatefulSet"), "FailedCreate")
            if message.contains("exceeded quota") =>
        {
            Some(Problem {
                kind: ProblemKind::QuotaExceeded,
                reason: reason.to_string(),
                message,
                pod: None,
                object: Some(format!(
                    "{}/{}",
                    object.kind.as_deref().unwrap_or(""),
                    object.name.as_deref().unwrap_or("")
                )),
                container: None,
                exit_code: None,
                logs: LogSource::None,
            })
        }
        (Some("Pod"), "Unhealthy")
            if message.starts_with("Readiness probe failed")
                && events::occurrences(event) >= thresholds.max_unhealthy_probes =>
        {
            Some(Problem {
                kind: ProblemKind::ReadinessFailing,
                reason: reason.to_string(),
                message: format!("{message} ({} times)", events::occurrences(event)),
                pod: object.name.clone(),
                object: None,
                container: container_of_field_path(object.field_path.as_deref()),
                exit_code: None,
                logs: LogSource::Current,
            })
        }
        _ => None,
    }
}

/// `spec.containers{api}` → `api`, the way the kubelet names a container in events.
fn container_of_field_path(field_path: Option<&str>) -> Option<String> {
    let path = field_path?;
    let start = path.find('{')? + 1;
    let end = path[start..].find('}')? + start;
    Some(path[start..end].to_string())
}

/// Everything on-call needs to see about one failed workload, gathered
/// before anything (a rollback, a retry) destroys the evidence. (Release
/// records written before the camelCase keys still load: `exit_code`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureCard {
    /// `Deployment/api-gateway`.
    pub workload: String,
    pub kind: ProblemKind,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub reason: String,
    /// The kubelet's or controller's message, verbatim.
    pub message: String,
    #[serde(alias = "exit_code")]
    pub exit_code: Option<i32>,
    /// The last log lines (of the crashed instance for a crash loop).
    #[serde(default)]
    pub logs: Vec<String>,
    /// Recent warning events of the pod (without a pod: of the object the
    /// problem was seen on, else of the workload).
    #[serde(default)]
    pub events: Vec<String>,
    /// Evidence that could not be fetched, and why (the card is still useful).
    #[serde(default)]
    pub missing: Vec<String>,
}

/// How many log lines and events a card keeps.
pub const CARD_LOG_LINES: i64 = 20;
pub const CARD_EVENTS: usize = 10;

/// Build the card for `problem` of `workload` (e.g. `Deployment/api-gateway`,
/// whose events are shown when the problem has no pod). Never fails and never
/// hangs: what cannot be fetched in time is listed in `missing`.
pub async fn failure_card(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
    problem: &Problem,
) -> FailureCard {
    failure_card_with(client, namespace, workload, problem, CARD_LOG_LINES).await
}

/// [`failure_card`] keeping `log_lines` log lines (the triage keeps 30).
pub async fn failure_card_with(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
    problem: &Problem,
    log_lines: i64,
) -> FailureCard {
    let logs = async {
        match (&problem.pod, problem.logs) {
            (Some(pod), source @ (LogSource::Current | LogSource::Previous)) => {
                let previous = source == LogSource::Previous;
                let container = problem.container.as_deref();
                evidence(logs::last_lines(
                    client, namespace, pod, container, previous, log_lines,
                ))
                .await
            }
            _ => Ok(Vec::new()),
        }
    };
    let (event_kind, event_object) = match (&problem.pod, &problem.object) {
        (Some(pod), _) => ("Pod", pod.as_str()),
        (None, Some(object)) => object.split_once('/').unwrap_or(("", object)),
        (None, None) => workload.split_once('/').unwrap_or(("", workload)),
    };
    let events = evidence(events::warnings_for(
        client,
        namespace,
        event_kind,
        event_object,
        CARD_EVENTS,
    ));
    let (logs, events) = tokio::join!(logs, events);
    let mut missing = Vec::new();
    let mut keep = |what: &str, found: Result<Vec<String>, String>| {
        found.unwrap_or_else(|why| {
            missing.push(format!("{what}: {why}"));
            Vec::new()
        })
    };
    let (log_lines, warnings) = (keep("logs", logs), keep("events", events));
    FailureCard {
        workload: workload.to_string(),
        kind: problem.kind,
        pod: problem.pod.clone(),
        container: problem.container.clone(),
        reason: problem.reason.clone(),
        message: problem.message.clone(),
        exit_code: problem.exit_code,
        logs: log_lines,
        events: warnings,
        missing,
    }
}

/// How long a card waits for each piece of evidence: a failure report must
/// not hang on an API server that has stopped answering.
pub const EVIDENCE_TIMEOUT: Duration = Duration::from_secs(10);

async fn evidence<F>(fetch: F) -> Result<Vec<String>, String>
where
    F: Future<Output = Result<Vec<String>, kube::Error>>,
{
    match tokio::time::timeout(EVIDENCE_TIMEOUT, fetch).await {
        Ok(Ok(lines)) => Ok(lines),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {}s", EVIDENCE_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: &str = "2026-01-01T12:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-gateway-7d9f-x2k4p", "namespace": "fintech-ai-prod"},
            "spec": {"containers": [{"name": "api", "image": "registry/api:1.4.2"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn running_pod(container_statuses: Value) -> Pod {
        pod(json!({
            "phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "lastTransitionTime": "2026-01-01T11:59:50Z"}],
            "containerStatuses": container_statuses,
        }))
    }

    fn diagnose(pod: &Pod) -> Option<Problem> {
        diagnose_pod(pod, &Thresholds::default(), now())
    }

    fn waiting(reason: &str, message: &str) -> Value {
        json!([{"name": "api", "image": "registry/api:1.4.2", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}])
    }

    #[test]
    fn healthy_running_pod_has_no_problem() {
        let p = pod(json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "api", "image": "", "imageID": "", "ready": true, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-01-01T11:00:00Z"}}}],
        }));
        assert_eq!(diagnose(&p), None);
    }

    #[test]
    fn pending_pod_without_statuses_has_no_problem_yet() {
        assert_eq!(diagnose(&pod(json!({"phase": "Pending"}))), None);
        let mut no_status = pod(json!({}));
        no_status.status = None;
        assert_eq!(diagnose(&no_status), None);
    }

    #[test]
    fn image_pull_errors_are_recognised() {
        for reason in ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"] {
            let message = "Back-off pulling image \"registry/api:1.4.3\"";
            let problem = diagnose(&pod(
                json!({"phase": "Pending", "containerStatuses": waiting(reason, message)}),
            ))
            .unwrap();
            assert_eq!(problem.kind, ProblemKind::ImagePull);
            assert_eq!(problem.reason, reason);
            assert_eq!(problem.message, message);
            assert_eq!(problem.pod.as_deref(), Some("api-gateway-7d9f-x2k4p"));
            assert_eq!(problem.container.as_deref(), Some("api"));
            assert_eq!(problem.logs, LogSource::None);
        }
    }

    #[test]
    fn missing_secret_key_is_a_create_container_config_error() {
        let message = "couldn't find key DATABASE_URL in Secret fintech-ai-prod/api-secrets";
        let problem = diagnose(&pod(json!({
            "phase": "Pending",
            "containerStatuses": waiting("CreateContainerConfigError", message),
        })))
        .unwrap();
        assert_eq!(problem.kind, ProblemKind::CreateContainerConfig);
        assert_eq!(problem.message, message);
    }

    #[test]
    fn create_container_error_is_recognised() {
        let problem = diagnose(&pod(json!({
            "phase": "Pending",
            "containerStatuses": waiting("CreateContainerError", "executable file not found in $PATH"),
        })))
        .unwrap();
        assert_eq!(problem.kind, ProblemKind::CreateContainer);
    }

    #[test]
    fn crash_loop_reports_the_last_exit_code_and_the_previous_logs() {
        let p = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 2,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": "back-off 20s restarting failed container=api pod=api-gateway-7d9f-x2k4p"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        }]));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::CrashLoop);
        assert_eq!(problem.reason, "CrashLoopBackOff");
        assert_eq!(problem.exit_code, Some(1));
        assert_eq!(problem.logs, LogSource::Previous);
        assert!(problem.message.starts_with("back-off 20s"));
    }

    #[test]
    fn crash_looping_init_container_is_recognised() {
        let p = pod(json!({
            "phase": "Pending",
            "initContainerStatuses": [{
                "name": "wait-for-db", "image": "", "imageID": "", "ready": false, "restartCount": 1,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
            }],
            "containerStatuses": waiting("PodInitializing", ""),
        }));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::CrashLoop);
        assert_eq!(problem.container.as_deref(), Some("wait-for-db"));
        assert_eq!(problem.exit_code, Some(2));
    }

    #[test]
    fn repeated_restarts_count_even_while_running() {
        let p = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"running": {"startedAt": "2026-01-01T11:59:58Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "Error"}},
        }]));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::RepeatedRestarts);
        assert_eq!(problem.exit_code, Some(137));
        assert!(
            problem.message.contains("restarted 3 times"),
            "{}",
            problem.message
        );

        let below = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 2,
            "state": {"running": {"startedAt": "2026-01-01T11:59:58Z"}},
        }]));
        assert_eq!(diagnose(&below), None);
    }

    #[test]
    fn oom_kill_wins_over_the_crash_loop_it_causes() {
        let p = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 1,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
        }]));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::OomKilled);
        assert_eq!(problem.reason, "OOMKilled");
        assert_eq!(problem.exit_code, Some(137));
        assert_eq!(problem.logs, LogSource::Previous);
    }

    #[test]
    fn oom_kill_of_the_current_container_is_recognised() {
        let p = pod(json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
            }],
        }));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::OomKilled);
        assert_eq!(problem.logs, LogSource::Current);
    }

    #[test]
    fn unschedulable_pod_reports_the_scheduler_message() {
        let message = "0/3 nodes are available: 3 Insufficient memory.";
        let p = pod(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
        }));
        let problem = diagnose(&p).unwrap();
        assert_eq!(problem.kind, ProblemKind::Unschedulable);
        assert_eq!(problem.message, message);
        assert_eq!(problem.container, None);
    }

    #[test]
    fn readiness_failing_beyond_the_grace_period() {
        let unready = |started: &str| {
            running_pod(json!([{
                "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"running": {"startedAt": started}},
            }]))
        };
        // Running 30 s, unready since its start: still within the 60 s grace.
        assert_eq!(diagnose(&unready("2026-01-01T11:59:30Z")), None);
        // Running 90 s; the Ready condition flipped 10 s ago but the container
        // started 90 s ago: the later of the two counts.
        let p = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-01-01T11:58:30Z"}},
        }]));
        assert_eq!(diagnose(&p), None);
        let mut long = p.clone();
        long.status.as_mut().unwrap().conditions.as_mut().unwrap()[1].last_transition_time =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                "2026-01-01T11:58:00Z".parse().unwrap(),
            ));
        let problem = diagnose(&long).unwrap();
        assert_eq!(problem.kind, ProblemKind::ReadinessFailing);
        assert_eq!(problem.container.as_deref(), Some("api"));
        assert!(problem.message.contains("90s"), "{}", problem.message);
    }

    #[test]
    fn readiness_waits_for_the_startup_probe_and_a_slow_readiness_probe() {
        let running_long = json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0, "started": false,
            "state": {"running": {"startedAt": "2026-01-01T11:50:00Z"}},
        }]);
        let mut p = running_pod(running_long);
        p.status.as_mut().unwrap().conditions.as_mut().unwrap()[1].last_transition_time = None;
        // The startup probe has not passed yet: not a readiness failure.
        assert_eq!(diagnose(&p), None);

        // Started, unready for 10 minutes, but the probe allows 5 + 60 × 10 s.
        let status = p.status.as_mut().unwrap();
        status.container_statuses.as_mut().unwrap()[0].started = Some(true);
        let mut slow = p.clone();
        slow.spec.as_mut().unwrap().containers[0].readiness_probe = Some(
            serde_json::from_value(
                json!({"initialDelaySeconds": 5, "periodSeconds": 60, "failureThreshold": 10}),
            )
            .unwrap(),
        );
        assert_eq!(diagnose(&slow), None);
        assert_eq!(
            diagnose(&p).map(|p| p.kind),
            Some(ProblemKind::ReadinessFailing)
        );
    }

    #[test]
    fn unhealthy_events_count_only_past_the_probes_allowance() {
        let p = |probe: Value| {
            let mut pod = running_pod(json!([{
                "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T11:59:00Z"}},
            }]));
            pod.spec.as_mut().unwrap().containers[0].readiness_probe =
                serde_json::from_value(probe).unwrap();
            pod
        };
        // Running 60 s; a probe with the defaults allows 30 s, one every 5 s 15 s,
        // one every 30 s 90 s.
        assert!(unready_past_probe_allowance(
            &p(json!({"tcpSocket": {"port": 80}})),
            "api",
            now()
        ));
        assert!(!unready_past_probe_allowance(
            &p(json!({"periodSeconds": 30})),
            "api",
            now()
        ));
        assert!(unready_past_probe_allowance(
            &p(json!({"periodSeconds": 5})),
            "api",
            now()
        ));
        // A probe that waits 90 s before its first check.
        assert!(!unready_past_probe_allowance(
            &p(json!({"initialDelaySeconds": 90})),
            "api",
            now()
        ));
        assert!(!unready_past_probe_allowance(
            &p(Value::Null),
            "other",
            now()
        ));
    }

    #[test]
    fn readiness_threshold_is_configurable() {
        let p = running_pod(json!([{
            "name": "api", "image": "", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-01-01T11:59:40Z"}},
        }]));
        let strict = Thresholds {
            readiness_grace: Duration::from_secs(5),
            ..Thresholds::default()
        };
        assert_eq!(
            diagnose_pod(&p, &strict, now()).map(|p| p.kind),
            Some(ProblemKind::ReadinessFailing)
        );
    }

    fn event(value: Value) -> Event {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn quota_exceeded_failed_create_on_a_replicaset() {
        let message = "Error creating: pods \"api-gateway-7d9f-abcde\" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8";
        let e = event(json!({
            "metadata": {"name": "api-gateway-7d9f.1"},
            "involvedObject": {"kind": "ReplicaSet", "name": "api-gateway-7d9f"},
            "reason": "FailedCreate", "type": "Warning", "message": message,
        }));
        let problem = diagnose_event(&e, &Thresholds::default()).unwrap();
        assert_eq!(problem.kind, ProblemKind::QuotaExceeded);
        assert_eq!(problem.reason, "FailedCreate");
        assert_eq!(problem.message, message);
        assert_eq!(problem.pod, None);

        let other = event(json!({
            "metadata": {"name": "x"},
            "involvedObject": {"kind": "ReplicaSet", "name": "api-gateway-7d9f"},
            "reason": "FailedCreate", "type": "Warning", "message": "Error creating: something transient",
        }));
        assert_eq!(diagnose_event(&other, &Thresholds::default()), None);
    }

    #[test]
    fn repeated_readiness_probe_failures_from_events() {
        let unhealthy = |count: i32, message: &str| {
            event(json!({
                "metadata": {"name": "p.1"},
                "involvedObject": {"kind": "Pod", "name": "api-gateway-7d9f-x2k4p",
                                   "fieldPath": "spec.containers{api}"},
                "reason": "Unhealthy", "type": "Warning", "count": count, "message": message,
            }))
        };
        let probe = "Readiness probe failed: HTTP probe failed with statuscode: 503";
        assert_eq!(
            diagnose_event(&unhealthy(5, probe), &Thresholds::default()),
            None
        );
        let problem = diagnose_event(&unhealthy(6, probe), &Thresholds::default()).unwrap();
        assert_eq!(problem.kind, ProblemKind::ReadinessFailing);
        assert_eq!(problem.pod.as_deref(), Some("api-gateway-7d9f-x2k4p"));
        assert_eq!(problem.container.as_deref(), Some("api"));
        // Liveness failures end in restarts, which are diagnosed from the pod.
        assert_eq!(
            diagnose_event(
                &unhealthy(9, "Liveness probe failed: timeout"),
                &Thresholds::default()
            ),
            None
        );
    }

    #[test]
    fn field_path_names_the_container() {
        assert_eq!(
            container_of_field_path(Some("spec.containers{api}")).as_deref(),
            Some("api")
        );
        assert_eq!(container_of_field_path(Some("spec.containers")), None);
        assert_eq!(container_of_field_path(None), None);
    }
}
