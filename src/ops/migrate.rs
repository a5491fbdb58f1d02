//! The migration on demand: the release's Job (run again even if it ran
//! before) or `alembic upgrade head` inside a running api-gateway pod. The
//! outcome carries the migration's own exit code, from the container's
//! status or the exec Status channel, never inferred from its output.

use serde::Serialize;

use crate::cluster::diagnosis::Thresholds;
use crate::cluster::exec::{self, Stream};
use crate::cluster::migration::{self, MigrationOptions, MigrationReporter};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::settings::MigrateSettings;

use super::connect::connect_for_writing;
use super::{Confirmer, Question, Reporter};

/// The command alembic runs, as the runbook has it.
pub const MIGRATION_COMMAND: [&str; 3] = ["alembic", "upgrade", "head"];

/// How the migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrateMode {
    Job,
    Exec,
}

/// The `-o json` document of `migrate`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateReport {
    pub environment: String,
    pub namespace: String,
    pub version: String,
    pub mode: MigrateMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    pub succeeded: bool,
    /// The migration's own exit code (`None`: its container never ran).
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub last_lines: Vec<String>,
}

impl MigrateReport {
    /// The exit status: the migration's own code when it failed.
    pub fn status(&self) -> ExitStatus {
        match (self.succeeded, self.exit_code) {
            (true, _) => ExitStatus::Success,
            (false, Some(code)) if code != 0 => ExitStatus::Child(code),
            (false, _) => ExitStatus::Failed,
        }
    }
}

pub async fn migrate<R: Reporter + MigrationReporter>(
    settings: &MigrateSettings,
    reporter: &R,
    confirmer: &dyn Confirmer,
    stop: Stop,
) -> Result<MigrateReport, Failure> {
    let env = &settings.release.env;
    let (conn, _) = connect_for_writing(env, &settings.access, reporter).await?;
    // Without --version: the version the live api-gateway runs, never the
    // environment's default (`latest` would migrate with another image).
    let live_release;
    let (release, job) = if settings.version_given {
        (&settings.release, settings.job.clone())
    } else {
        let live = super::shared::live_version(&conn.client, &env.namespace.name)
            .await?
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "no api-gateway is deployed in {} to take the version from: pass --version",
                    env.name
                ))
            })?;
        live_release = settings.release.for_version(&live).map_err(|e| {
            Failure::invalid(format!(
                "the live api-gateway's version `{live}` cannot be migrated to: {e}"
            ))
        })?;
        let job = live_release
            .manifests
            .iter()
            .find(|m| m.phase() == crate::render::Phase::Migration)
            .cloned()
            .ok_or_else(|| Failure::invalid("the templates render no migration Job"))?;
        reporter.status(
            "Version",
            &format!("{live}, the live api-gateway's (no --version given)"),
        );
        (&live_release, job)
    };
    if env.release.protected && !settings.yes {
        confirmer.confirm(&Question::TypeName {
            environment: env.name.clone(),
            namespace: env.namespace.name.clone(),
            action: format!("run the database migration of {}", release.version),
        })?;
    }
    let namespace = &env.namespace.name;
    let mut report = MigrateReport {
        environment: env.name.clone(),
        namespace: namespace.clone(),
        version: release.version.clone(),
        mode: if settings.exec {
            MigrateMode::Exec
        } else {
            MigrateMode::Job
        },
        job: None,
        pod: None,
        succeeded: false,
        exit_code: None,
        reason: None,
        message: None,
        last_lines: Vec::new(),
    };
    let interrupted = |what: String| Failure::stopped(&stop, &what);
    if settings.exec {
        let pod = exec::ready_pod(&conn.client, namespace, "app=api-gateway").await?;
        reporter.status(
            "Migrating",
            &format!("exec in pod/{pod}: {}", MIGRATION_COMMAND.join(" ")),
        );
        let tail = std::sync::Mutex::new(std::collections::VecDeque::new());
        let on_line = |_: Stream, line: &str| {
            reporter.log_line(line);
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            t.push_back(line.to_string());
            if t.len() > migration::LAST_LINES {
                t.pop_front();
            }
        };
        let run = exec::run(
            &conn.client,
            namespace,
            &pod,
            Some("api-gateway"),
            &MIGRATION_COMMAND,
            &on_line,
        );
        let code = tokio::select! {
            code = run => code?,
            _ = stop.stopped() => {
                return Err(interrupted(format!("the migration may still be running in pod/{pod}")));
            }
        };
        report.pod = Some(pod);
        report.exit_code = Some(code);
        report.succeeded = code == 0;
        report.last_lines = tail
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .collect();
    } else {
        let opts = MigrationOptions {
            known_absent: false,
            rerun: true,
            timeout: settings.timeout,
            thresholds: Thresholds::default(),
        };
        let run = migration::run_job(&conn.client, namespace, &job, &opts, reporter);
        let outcome = tokio::select! {
            outcome = run => outcome?,
            _ = stop.stopped() => {
                return Err(interrupted(format!("Job/{} keeps running in the cluster", job.name())));
            }
        };
        report.job = Some(outcome.job);
        report.pod = outcome.pod;
        report.exit_code = outcome.exit_code;
        report.succeeded = outcome.succeeded;
        report.reason = outcome.reason;
        report.message = outcome.message;
        report.last_lines = outcome.last_lines;
    }
    Ok(report)
}
