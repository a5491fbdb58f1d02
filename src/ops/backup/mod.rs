//! `backup`, `backup list`, `backup verify`, `backup prune`: the parts
//! taken one after another, each streamed into the store under a temporary
//! name and committed only when whole, the manifest written last and only
//! when every part asked for succeeded; a backup that failed is visibly
//! not a backup (no manifest: `list` shows it incomplete, `restore` refuses
//! it, `prune` deletes it after a day).
//!
//! One file per command: `run.rs` (take a backup), `list.rs` (list, and
//! finding a backup by id or `latest`), `verify.rs` (check the stored
//! parts, and the restore drill), `prune.rs` (retention). This file holds
//! what they and `restore` share: the reporter, a part's outcome, the exec
//! target of a data store, the toolbox pod, learning the cluster's secrets.

mod list;
mod prune;
mod run;
mod verify;

pub use list::{ListReport, ListedBackup, ListedStatus, find, list, require_complete};
pub use prune::{PruneReport, expired, prune};
pub use run::{BackupOutcome, BackupReport, backup};
pub use verify::{DrillReport, VerifyReport, check_parts, verify};

use std::time::Duration;

use serde::Serialize;

use crate::backup::exec::Target;
use crate::backup::store::StoreError;
use crate::backup::toolbox::{self, Toolbox, ToolboxError};
use crate::backup::{PartKind, Progress, postgres};
use crate::cluster::connect::Connection;
use crate::cluster::exec::ExecError;
use crate::environment::Environment;
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::redact::Redactor;

use super::Reporter;

/// What a backup, verify or restore reports: words, progress, and the
/// secret values it learns (to scrub from everything shown from then on).
pub trait BackupReporter: Reporter + Progress {
    fn part_started(&self, part: PartKind, what: &str);
    fn part_finished(&self, outcome: &PartOutcome);
    /// Secret values read from the cluster: scrub them from all output.
    fn learn(&self, redactor: &Redactor);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartStatus {
    Done,
    Failed,
    Skipped,
}

/// One part of a backup, a verification or a restore.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartOutcome {
    pub part: PartKind,
    pub status: PartStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Bytes stored.
    pub size: u64,
    /// Bytes before compression.
    pub raw_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
    /// Raw bytes per second.
    pub bytes_per_second: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl PartOutcome {
    pub fn new(part: PartKind, status: PartStatus) -> Self {
        Self {
            part,
            status,
            file: None,
            size: 0,
            raw_size: 0,
            sha256: None,
            elapsed: Duration::ZERO,
            bytes_per_second: 0,
            message: None,
            details: Vec::new(),
        }
    }

    fn failed(part: PartKind, message: impl Into<String>, details: Vec<String>) -> Self {
        Self {
            message: Some(message.into()),
            details,
            ..Self::new(part, PartStatus::Failed)
        }
    }

    fn timed(mut self, elapsed: Duration) -> Self {
        self.elapsed = elapsed;
        let secs = elapsed.as_secs_f64().max(0.001);
        self.bytes_per_second = (self.raw_size as f64 / secs) as u64;
        self
    }
}

pub fn store_failure(e: StoreError) -> Failure {
    Failure::unreachable(e.to_string())
}

/// The exec target of the in-cluster data store `app` (container `app`).
pub async fn in_cluster_target(
    conn: &Connection,
    namespace: &str,
    app: &str,
) -> Result<Target, ExecError> {
    let pod =
        crate::cluster::exec::ready_pod(&conn.client, namespace, &format!("app={app}")).await?;
    Ok(Target {
        client: conn.client.clone(),
        namespace: namespace.to_string(),
        pod,
        container: Some(app.to_string()),
    })
}

pub fn database(env: &Environment) -> postgres::Database {
    postgres::Database {
        user: env.data.postgres.user.clone(),
        database: env.data.postgres.database.clone(),
    }
}

/// How long a toolbox pod may live (`activeDeadlineSeconds`): the
/// command's timeout and some room for the cleanup, within bounds.
pub fn toolbox_deadline(timeout: Duration) -> Duration {
    (timeout + Duration::from_secs(300))
        .clamp(Duration::from_secs(600), Duration::from_secs(86_400))
}

/// Starts the toolbox pod managed PostgreSQL is reached through: the
/// leftovers of crashed runs swept first (said on stderr), then the pod
/// and its NetworkPolicy, running and version-checked.
pub async fn start_toolbox(
    conn: &Connection,
    env: &Environment,
    purpose: &str,
    deadline: Duration,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> Result<Toolbox, Failure> {
    let ns = &env.namespace.name;
    let fail = |e: ToolboxError| match e {
        ToolboxError::Stopped { .. } => stopped_failure(stop, "the toolbox pod was removed"),
        e => Failure::failed(e.to_string()).with_details(e.details()),
    };
    match toolbox::sweep(&conn.client, ns).await {
        Ok(removed) => {
            for l in removed {
                reporter.warn(&format!(
                    "removed a leftover toolbox {} of an earlier run (run {}{}): {}",
                    if l.pod.starts_with('(') {
                        l.pod.clone()
                    } else {
                        format!("pod/{}", l.pod)
                    },
                    l.run_id,
                    if l.purpose.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", l.purpose)
                    },
                    l.why
                ));
            }
        }
        Err(e) => return Err(fail(e)),
    }
    let plan = toolbox::Plan::new(env, purpose, deadline);
    reporter.status(
        "Toolbox",
        &format!(
            "starting pod/{} ({}) for managed PostgreSQL {}:{}",
            plan.pod_name(),
            plan.image,
            env.data.postgres.host,
            env.data.postgres.port
        ),
    );
    let started = toolbox::start(&conn.client, env, &plan, stop)
        .await
        .map_err(fail)?;
    reporter.status(
        "Toolbox",
        &format!(
            "pod/{} running: pg_dump {}, server {}",
            started.pod,
            started.client_major,
            toolbox::server_major(started.server_version_num)
        ),
    );
    Ok(started)
}

/// Removes a toolbox pod and its NetworkPolicy, saying so (or what to do
/// by hand when it cannot).
pub async fn finish_toolbox(toolbox: Toolbox, namespace: &str, reporter: &dyn BackupReporter) {
    let pod = toolbox.pod.clone();
    match toolbox.remove().await {
        Ok(()) => reporter.status("Removed", &format!("toolbox pod/{pod} and its NetworkPolicy")),
        Err(e) => reporter.warn(&format!(
            "removing the toolbox: {e}; delete it by hand: kubectl -n {namespace} delete pod,networkpolicy -l {}",
            toolbox::TOOLBOX_LABEL
        )),
    }
}

/// Learns every Secret value of the namespace into `redactor` and hands
/// it to the reporter: dumps' stderr and API errors are shown scrubbed.
pub async fn learn_secrets(
    conn: &Connection,
    namespace: &str,
    redactor: &mut Redactor,
    reporter: &dyn BackupReporter,
) {
    if super::shared::learn_secrets(&conn.client, namespace, redactor)
        .await
        .is_ok()
    {
        reporter.learn(redactor);
    }
}

fn stopped_failure(stop: &Stop, whereabouts: &str) -> Failure {
    Failure::stopped(stop, whereabouts)
}

/// Progress nobody watches (a listing read through pg_restore).
pub struct NoProgressReporter;

impl Progress for NoProgressReporter {
    fn progress(&self, _: &str, _: u64, _: u64, _: Duration) {}
}
