//! `debug logs`: every container of every pod of the components,
//! interleaved line by line (like stern). With `--follow` the pods are
//! watched: a new pod is picked up when its container starts, a restarted
//! container's new instance is streamed from its first line, and an
//! instance that ran and ended between two looks is read once with
//! `previous` — each container instance (by container ID) exactly once, so
//! no line is lost or repeated when a pod restarts or a rollout replaces it.
//!
//! Every selected pod is shown: a container waiting in back-off
//! (CrashLoopBackOff) has no current output, so its last run's is shown,
//! labelled (the crash is what on-call is looking for); with `--follow` it
//! is replayed the same way before following. A container with no output
//! at all (still being created, its image not pulled) is named, with why.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{DebugReporter, connect, interrupted};
use crate::cluster::triage::{Component, components};
use crate::exit::Failure;
use crate::interrupt::{Stop, StopReason};
use crate::redact::Redactor;
use crate::settings::{DebugSettings, LogsSettings};

/// One log line and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub pod: String,
    pub container: String,
    pub line: String,
    /// Set for the output of a container's last run, shown because the
    /// container waits in back-off: why it waits (`CrashLoopBackOff`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
}

/// A container that has no current output, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub pod: String,
    pub container: String,
    /// The waiting reason (`CrashLoopBackOff`, `ImagePullBackOff`, …).
    pub reason: String,
    pub restarts: i32,
    /// Its last run's output is shown instead (lines with `last_run` set).
    pub last_run_shown: bool,
}

/// What `debug logs` reports: the lines, as they come.
pub trait LogsReporter: DebugReporter {
    fn line(&self, line: &LogLine);
    /// A selected container is waiting (once per container, at the start).
    fn waiting(&self, waiting: &Waiting);
}

/// How a logs run ended.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsReport {
    pub environment: String,
    pub pods: Vec<String>,
    /// Containers that were waiting when the run started.
    pub waiting: Vec<Waiting>,
    pub lines: usize,
    /// Streams that could not be read, and why.
    pub errors: Vec<String>,
}

/// Runs `debug logs` until every stream ended (or, with `--follow`, until
/// told to stop: Ctrl-C ends following normally).
pub async fn logs(
    settings: &DebugSettings,
    logs: &LogsSettings,
    reporter: &dyn LogsReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<LogsReport, Failure> {
    let (conn, _) = tokio::select! {
        c = connect(settings, reporter, redactor) => c?,
        reason = stop.stopped() => return Err(interrupted(reason)),
    };
    let wanted: Vec<Component> = components(&settings.env)
        .into_iter()
        .filter(|c| logs.components.is_empty() || logs.components.contains(&c.name))
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let state = Shared::default();
    let mut tasks = tokio::task::JoinSet::new();
    for component in &wanted {
        let api: Api<Pod> = Api::namespaced(conn.client.clone(), &component.namespace);
        let initial = api
            .list(&ListParams::default().labels(&component.selector()))
            .await
            .map_err(|e| Failure::api(format!("listing the pods of {}", component.name), &e))?
            .items;
        for pod in &initial {
            start_streams(&api, pod, logs, true, &state, &tx, &mut tasks);
        }
        if logs.follow {
            let api = api.clone();
            let selector = component.selector();
            let logs = logs.clone();
            let state = state.clone();
            let tx = tx.clone();
            tasks.spawn(async move {
                let config = watcher::Config::default().labels(&selector);
                let mut events = watcher(api.clone(), config).applied_objects().boxed();
                let mut streams = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        next = events.try_next() => match next {
                            Ok(Some(pod)) => start_streams(&api, &pod, &logs, false, &state, &tx, &mut streams),
                            Ok(None) => break,
                            Err(e) => {
                                let _ = tx.send(Event::Error(format!("watching pods {selector}: {e}")));
                                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            }
                        },
                        Some(_) = streams.join_next() => {}
                    }
                }
            });
        }
    }
    drop(tx);
    let mut report = LogsReport {
        environment: settings.env.name.clone(),
        ..LogsReport::default()
    };
    let stopped = stop.stopped();
    tokio::pin!(stopped);
    let mut reason: Option<StopReason> = None;
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(Event::Line(line)) => {
                    if logs.grep.as_ref().is_none_or(|re| re.is_match(&line.line)) {
                        report.lines += 1;
                        reporter.line(&line);
                    }
                }
                Some(Event::Error(message)) => {
                    reporter.warn(&message);
                    report.errors.push(message);
                }
                Some(Event::Waiting(waiting)) => {
                    reporter.waiting(&waiting);
                    report.waiting.push(waiting);
                }
                None => break,
            },
            r = &mut stopped => { reason = Some(r); break; }
        }
    }
    tasks.abort_all();
    report.pods = state
        .pods
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect();
    report.pods.sort();
    match reason {
        // Ctrl-C is how following ends.
        Some(StopReason::Signal(_)) | None => Ok(report),
        Some(other) => Err(interrupted(other)),
    }
}

enum Event {
    Line(LogLine),
    Error(String),
    Waiting(Waiting),
}

#[derive(Clone, Default)]
struct Shared {
    /// Container instances (pod/container/containerID) already read.
    seen: Arc<Mutex<HashSet<String>>>,
    pods: Arc<Mutex<HashSet<String>>>,
}

impl Shared {
    /// Whether this instance is new (and now taken).
    fn take(&self, key: String) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
    }
}

/// Starts a reader for every container instance of `pod` not read yet:
/// the current one (followed when `--follow`), and a finished previous one.
fn start_streams(
    api: &Api<Pod>,
    pod: &Pod,
    logs: &LogsSettings,
    initial: bool,
    state: &Shared,
    tx: &mpsc::UnboundedSender<Event>,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    let Some(name) = pod.metadata.name.clone() else {
        return;
    };
    if initial {
        // Every selected pod is shown, whether it has output or not.
        state
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone());
    }
    let statuses: Vec<ContainerStatus> = pod
        .status
        .as_ref()
        .map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for status in statuses {
        let state_now = status.state.as_ref();
        let current_started =
            state_now.is_some_and(|s| s.running.is_some() || s.terminated.is_some());
        // Instances are numbered by restarts: a running (or just ended) one
        // is `restartCount` and `lastState` the one before it; while the
        // container waits to be restarted, `lastState` is instance
        // `restartCount` itself (the kubelet counts a restart when it starts one).
        let current = status.restart_count;
        let waiting = state_now.is_some_and(|s| s.waiting.is_some());
        let previous = status
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .map(|_| {
                if waiting {
                    status.restart_count
                } else {
                    status.restart_count - 1
                }
            });
        let instance = |n: i32| format!("{name}/{}/{n}", status.name);
        let waiting_reason = state_now
            .and_then(|s| s.waiting.as_ref())
            .map(|w| w.reason.clone().unwrap_or_else(|| "Waiting".into()));

        if logs.previous {
            // `--previous`: the crashed instance of each container, once.
            if let Some(n) = previous
                && state.take(instance(n))
            {
                spawn_reader(
                    api,
                    &name,
                    &status.name,
                    Read::Previous { last_run: None },
                    logs,
                    initial,
                    state,
                    tx,
                    tasks,
                );
            }
            continue;
        }
        if initial {
            if let (Some(reason), Some(n)) = (&waiting_reason, previous) {
                // Waiting in back-off: no current output; the last run's is
                // why on-call is here (the traceback), so it is shown,
                // labelled, and with `--follow` replayed before following.
                state.take(instance(n));
                let _ = tx.send(Event::Waiting(Waiting {
                    pod: name.clone(),
                    container: status.name.clone(),
                    reason: reason.clone(),
                    restarts: status.restart_count,
                    last_run_shown: true,
                }));
                spawn_reader(
                    api,
                    &name,
                    &status.name,
                    Read::Previous {
                        last_run: Some(reason.clone()),
                    },
                    logs,
                    true,
                    state,
                    tx,
                    tasks,
                );
                continue;
            }
            if let Some(reason) = &waiting_reason {
                let _ = tx.send(Event::Waiting(Waiting {
                    pod: name.clone(),
                    container: status.name.clone(),
                    reason: reason.clone(),
                    restarts: status.restart_count,
                    last_run_shown: false,
                }));
            }
            // What ran before we started looking is not ours to replay.
            if let Some(n) = previous {
                state.take(instance(n));
            }
        } else if let Some(n) = previous
            && state.take(instance(n))
        {
            // A previous instance that ran and ended between two looks.
            spawn_reader(
                api,
                &name,
                &status.name,
                Read::Previous { last_run: None },
                logs,
                false,
                state,
                tx,
                tasks,
            );
        }
        if current_started && state.take(instance(current)) {
            spawn_reader(
                api,
                &name,
                &status.name,
                Read::Current {
                    follow: logs.follow,
                },
                logs,
                initial,
                state,
                tx,
                tasks,
            );
        }
    }
}

/// Which instance of a container to read.
enum Read {
    /// The running (or just ended) one, followed or not.
    Current { follow: bool },
    /// The one before; `last_run`: shown because the container waits (why).
    Previous { last_run: Option<String> },
}

#[allow(clippy::too_many_arguments)]
fn spawn_reader(
    api: &Api<Pod>,
    pod: &str,
    container: &str,
    read: Read,
    logs: &LogsSettings,
    initial: bool,
    state: &Shared,
    tx: &mpsc::UnboundedSender<Event>,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    state
        .pods
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(pod.to_string());
    let (previous, follow, last_run) = match read {
        Read::Current { follow } => (false, follow, None),
        Read::Previous { last_run } => (true, false, last_run),
    };
    // Instances that start while we follow are read from their first line;
    // `--since` and `--tail` shape only what was there when we started.
    let params = LogParams {
        container: Some(container.to_string()),
        previous,
        follow,
        since_seconds: if initial {
            logs.since.map(|d| d.as_secs().max(1) as i64)
        } else {
            None
        },
        tail_lines: if initial {
            logs.tail.or(if logs.follow { Some(10) } else { None })
        } else {
            None
        },
        ..LogParams::default()
    };
    let api = api.clone();
    let pod = pod.to_string();
    let container = container.to_string();
    let tx = tx.clone();
    tasks.spawn(async move {
        let stream = match api.log_stream(&pod, &params).await {
            Ok(stream) => stream,
            Err(e) => {
                // A container still waiting has no log yet: not an error.
                if !crate::cluster::is_status(&e, 400) {
                    let _ = tx.send(Event::Error(format!(
                        "logs of {pod}/{container}: {}",
                        crate::cluster::api_message(&e)
                    )));
                }
                return;
            }
        };
        let mut lines = stream.lines();
        while let Some(line) = lines.next().await {
            match line {
                Ok(line) => {
                    let sent = tx.send(Event::Line(LogLine {
                        pod: pod.clone(),
                        container: container.clone(),
                        line,
                        last_run: last_run.clone(),
                    }));
                    if sent.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Event::Error(format!("logs of {pod}/{container}: {e}")));
                    return;
                }
            }
        }
    });
}
