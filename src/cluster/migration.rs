//! The database migration as a Job: applied, its pod's logs streamed live,
//! its outcome taken from the container's exit status (never guessed from
//! the log text), and failures diagnosed the way rollouts are.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, LogParams, Patch, PatchParams, PropagationPolicy};
use kube::runtime::{WatchStreamExt, watcher};
use serde::{Deserialize, Serialize};

use super::diagnosis::{self, Thresholds};
use crate::render::Manifest;

/// How many of the migration's last log lines an outcome keeps.
pub const LAST_LINES: usize = 20;

/// The annotation the migration Job records its exact version in.
pub const VERSION_ANNOTATION: &str = "fintechctl.io/version";

/// Watch errors in a row the migration survives (the watcher backs off
/// between them, 0.8 s doubling: about 25 s of an API server that keeps failing).
const MAX_CONSECUTIVE_WATCH_ERRORS: u32 = 6;

/// How often the migration's pods are listed besides the watch.
const RELIST_EVERY: Duration = Duration::from_secs(3);

/// Receives the migration's progress; the terminal UI prints it, tests record it.
pub trait MigrationReporter: Send + Sync {
    /// The Job was created (or found already complete for this release).
    fn started(&self, job: &str);
    /// One line of the migration's output, as it arrives.
    fn log_line(&self, line: &str);
}

/// What one migration run did. (Release records written before the
/// camelCase keys still load: `exit_code`, `last_lines`, `already_done`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationOutcome {
    pub job: String,
    #[serde(default)]
    pub pod: Option<String>,
    pub succeeded: bool,
    /// The migration container's exit code, from its terminated state.
    #[serde(default, alias = "exit_code")]
    pub exit_code: Option<i32>,
    /// Why it failed, in Kubernetes' words (`Error`, `ImagePullBackOff`, ...).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, alias = "last_lines")]
    pub last_lines: Vec<String>,
    #[serde(
        default,
        serialize_with = "super::serialize_secs",
        deserialize_with = "super::deserialize_secs"
    )]
    pub elapsed: Duration,
    /// The Job had already completed for this release and was not run again.
    #[serde(default, alias = "already_done")]
    pub already_done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the migration Job manifest has no name")]
    NoName,
    #[error("{action} Job/{job}: {}", crate::cluster::api_message(source))]
    Api {
        action: &'static str,
        job: String,
        #[source]
        source: kube::Error,
    },
    #[error("Job/{job} did not finish within {}", crate::human::duration(*timeout))]
    Timeout { job: String, timeout: Duration },
}

/// Options of one migration run.
#[derive(Debug, Clone)]
pub struct MigrationOptions {
    /// Delete a finished Job of the same name first and run again (`fintechctl migrate`).
    pub rerun: bool,
    pub timeout: Duration,
    pub thresholds: Thresholds,
    /// A plan made under the deploy lock found no Job of this name: it is
    /// created without reading it first (one round trip fewer).
    pub known_absent: bool,
}

/// Runs the migration Job rendered in `job` and reports its outcome.
pub async fn run_job(
    client: &kube::Client,
    namespace: &str,
    job: &Manifest,
    options: &MigrationOptions,
    reporter: &dyn MigrationReporter,
) -> Result<MigrationOutcome, MigrationError> {
    let started = Instant::now();
    let name = job.name().to_string();
    if name.is_empty() {
        return Err(MigrationError::NoName);
    }
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let api_err = |action: &'static str| {
        let job = name.clone();
        move |source| MigrationError::Api {
            action,
            job,
            source,
        }
    };

    let existing = if options.known_absent {
        None
    } else {
        jobs.get_opt(&name).await.map_err(api_err("reading"))?
    };
    if let Some(existing) = existing {
        let finished = job_finished(&existing);
        // A completed Job counts only if it ran this exact version.
        let same_version = existing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(VERSION_ANNOTATION))
            == job.object["metadata"]["annotations"][VERSION_ANNOTATION]
                .as_str()
                .map(str::to_string)
                .as_ref();
        if finished == Some(true) && !options.rerun && same_version {
            reporter.started(&name);
            return Ok(MigrationOutcome {
                job: name,
                pod: None,
                succeeded: true,
                exit_code: Some(0),
                reason: None,
                message: Some("already completed for this release".into()),
                last_lines: Vec::new(),
                elapsed: started.elapsed(),
                already_done: true,
            });
        }
        if finished.is_some() || !same_version {
            // A finished Job cannot run again: its pod template is immutable.
            delete_and_wait(&jobs, &name, options.timeout).await?;
        }
    }

    let params = PatchParams::apply(crate::render::labels::MANAGER).force();
    jobs.patch(&name, &params, &Patch::Apply(&job.object))
        .await
        .map_err(api_err("creating"))?;
    reporter.started(&name);

    let deadline = tokio::time::sleep(options.timeout);
    tokio::pin!(deadline);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector = format!("job-name={name}");
    // The watcher backs off between retries (a cut watch must not turn
    // into hundreds of requests a second); a few errors in a row are
    // survived, more end the run.
    let mut pod_events = watcher(pods.clone(), watcher::Config::default().labels(&selector))
        .default_backoff()
        .applied_objects()
        .boxed();
    let mut consecutive_errors = 0u32;
    let mut logs: Option<tokio::task::JoinHandle<VecDeque<String>>> = None;
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // The watch resumes from its last resourceVersion; when watches keep
    // being cut mid-event it would replay the same cut event forever and
    // never see the pod finish. A list every few seconds (what an
    // informer's resync does) sees the pod as it is, whatever the watch does.
    let mut relist =
        tokio::time::interval_at(tokio::time::Instant::now() + RELIST_EVERY, RELIST_EVERY);
    relist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listed: VecDeque<Pod> = VecDeque::new();

    let outcome = loop {
        let pod = if let Some(pod) = listed.pop_front() {
            pod
        } else {
            tokio::select! {
                _ = &mut deadline => {
                    if let Some(task) = logs.take() { task.abort(); }
                    return Err(MigrationError::Timeout { job: name, timeout: options.timeout });
                }
                Some(line) = line_rx.recv() => {
                    reporter.log_line(&line);
                    continue;
                }
                _ = relist.tick() => {
                    if let Ok(list) = pods.list(&kube::api::ListParams::default().labels(&selector)).await {
                        listed.extend(list.items);
                    }
                    continue;
                }
                event = pod_events.try_next() => match event {
                    Ok(Some(pod)) => {
                        consecutive_errors = 0;
                        pod
                    }
                    Ok(None) => {
                        // The stream ended (it should not): start again, later.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        pod_events = watcher(pods.clone(), watcher::Config::default().labels(&selector))
                            .default_backoff()
                            .applied_objects()
                            .boxed();
                        continue;
                    }
                    Err(e) => {
                        consecutive_errors += 1;
                        if consecutive_errors > MAX_CONSECUTIVE_WATCH_ERRORS {
                            return Err(MigrationError::Api { action: "watching pods of", job: name, source: kube::Error::Service(Box::new(e)) });
                        }
                        continue;
                    }
                },
            }
        };
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        if logs.is_none() && container_started(&pod) {
            logs = Some(tokio::spawn(follow_logs(
                pods.clone(),
                pod_name.clone(),
                line_tx.clone(),
            )));
        }
        if let Some((exit_code, reason, message)) = terminated(&pod) {
            let lines = finish_logs(logs.take(), &mut line_rx, reporter).await;
            break MigrationOutcome {
                job: name.clone(),
                pod: Some(pod_name),
                succeeded: exit_code == 0,
                exit_code: Some(exit_code),
                reason: (exit_code != 0).then_some(reason),
                message,
                last_lines: lines,
                elapsed: started.elapsed(),
                already_done: false,
            };
        }
        // Only problems that waiting cannot fix end the run early:
        // the pod never starts (image, config, scheduling, quota).
        if let Some(problem) = diagnosis::diagnose_pod(&pod, &options.thresholds, Timestamp::now())
            && problem.logs == diagnosis::LogSource::None
        {
            if let Some(task) = logs.take() {
                task.abort();
            }
            break MigrationOutcome {
                job: name.clone(),
                pod: Some(pod_name),
                succeeded: false,
                exit_code: None,
                reason: Some(problem.reason),
                message: Some(problem.message),
                last_lines: Vec::new(),
                elapsed: started.elapsed(),
                already_done: false,
            };
        }
    };
    Ok(outcome)
}

/// `Some(true)` complete, `Some(false)` failed, `None` still running.
fn job_finished(job: &Job) -> Option<bool> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    for c in conditions {
        if c.status == "True" {
            match c.type_.as_str() {
                "Complete" => return Some(true),
                "Failed" => return Some(false),
                _ => {}
            }
        }
    }
    None
}

async fn delete_and_wait(
    jobs: &Api<Job>,
    name: &str,
    timeout: Duration,
) -> Result<(), MigrationError> {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    match jobs.delete(name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(source) => {
            return Err(MigrationError::Api {
                action: "deleting",
                job: name.into(),
                source,
            });
        }
    }
    let gone = kube::runtime::wait::await_condition(
        jobs.clone(),
        name,
        kube::runtime::wait::conditions::is_deleted(""),
    );
    // `is_deleted("")` matches any uid: the object is gone.
    match tokio::time::timeout(timeout, gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(MigrationError::Api {
            action: "waiting for the deletion of",
            job: name.into(),
            source: kube::Error::Service(Box::new(e)),
        }),
        Err(_) => Err(MigrationError::Timeout {
            job: name.into(),
            timeout,
        }),
    }
}

fn container_started(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.state
                    .as_ref()
                    .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
            })
        })
}

/// The first container's exit: code, reason, message.
fn terminated(pod: &Pod) -> Option<(i32, String, Option<String>)> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let t = statuses.first()?.state.as_ref()?.terminated.as_ref()?;
    Some((
        t.exit_code,
        t.reason.clone().unwrap_or_else(|| "Error".into()),
        t.message.clone(),
    ))
}

async fn follow_logs(
    pods: Api<Pod>,
    pod: String,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
) -> VecDeque<String> {
    let mut last = VecDeque::with_capacity(LAST_LINES);
    let params = LogParams {
        follow: true,
        ..Default::default()
    };
    let Ok(stream) = pods.log_stream(&pod, &params).await else {
        return last;
    };
    let mut lines = stream.lines();
    while let Some(Ok(line)) = lines.next().await {
        if last.len() == LAST_LINES {
            last.pop_front();
        }
        last.push_back(line.clone());
        let _ = tx.send(line);
    }
    last
}

/// Waits briefly for the log stream to drain after the container exited,
/// reporting what is still queued.
async fn finish_logs(
    task: Option<tokio::task::JoinHandle<VecDeque<String>>>,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    reporter: &dyn MigrationReporter,
) -> Vec<String> {
    let lines = match task {
        Some(mut task) => match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
            Ok(Ok(lines)) => lines.into_iter().collect(),
            _ => {
                task.abort();
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    while let Ok(line) = rx.try_recv() {
        reporter.log_line(&line);
    }
    lines
}
