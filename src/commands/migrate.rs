//! `fintechctl migrate`: the migration on demand, as the release's Job (run
//! again even if it ran before) or with `--exec` inside a running
//! api-gateway pod. The exit code is the migration's own.

use anyhow::Result;
use serde_json::json;

use crate::cli::{GlobalArgs, MigrateArgs, OutputFormat};
use crate::cluster::diagnosis::Thresholds;
use crate::cluster::exec::{self, Stream};
use crate::cluster::migration::MigrationReporter;
use crate::cluster::migration::{self, MigrationOptions};
use crate::exit::{ExitStatus, Failure};
use crate::render::Phase;
use crate::ui::Printer;
use crate::ui::reporters::MigrationLines;

use super::cluster::{confirmation_possible, connect_or_fail};

/// The command alembic runs, as the runbook has it.
pub const MIGRATION_COMMAND: [&str; 3] = ["alembic", "upgrade", "head"];

pub fn run(global: &GlobalArgs, args: &MigrateArgs, printer: &Printer) -> Result<ExitStatus> {
    let release = super::resolve_release(global, &args.release)?;
    let job = release
        .manifests
        .iter()
        .find(|m| m.phase() == Phase::Migration)
        .cloned()
        .ok_or_else(|| Failure::invalid("the templates render no migration Job"))?;
    confirmation_possible(&release.env, global.yes)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let status = runtime.block_on(async {
        let conn = connect_or_fail(&release.env, global, printer).await?;
        super::cluster::confirm_action(&release.env, &format!("run the database migration of {}", release.version), global.yes)?;
        let namespace = &release.env.namespace.name;
        let (code, document) = if args.exec {
            let pod = exec::ready_pod(&conn.client, namespace, "app=api-gateway")
                .await
                .map_err(|e| Failure::new(ExitStatus::Unreachable, e.to_string()))?;
            printer.status("Migrating", format!("exec in pod/{pod}: {}", MIGRATION_COMMAND.join(" ")));
            let lines = MigrationLines { printer };
            let on_line = |_: Stream, line: &str| lines.log_line(line);
            let run = exec::run(&conn.client, namespace, &pod, Some("api-gateway"), &MIGRATION_COMMAND, &on_line);
            let code = tokio::select! {
                code = run => code.map_err(|e| Failure::new(ExitStatus::Unreachable, e.to_string()))?,
                _ = tokio::signal::ctrl_c() => {
                    return Err(Failure::new(ExitStatus::Interrupted, format!("interrupted; the migration may still be running in pod/{pod}")));
                }
            };
            (code, json!({"mode": "exec", "pod": pod, "exitCode": code, "succeeded": code == 0}))
        } else {
            let opts = MigrationOptions { rerun: true, timeout: args.timeout, thresholds: Thresholds::default() };
            let lines = MigrationLines { printer };
            let run = migration::run_job(&conn.client, namespace, &job, &opts, &lines);
            let outcome = tokio::select! {
                outcome = run => outcome.map_err(|e| Failure::new(ExitStatus::Unreachable, e.to_string()))?,
                _ = tokio::signal::ctrl_c() => {
                    return Err(Failure::new(ExitStatus::Interrupted, format!("interrupted; Job/{} keeps running in the cluster", job.name())));
                }
            };
            let code = match (outcome.succeeded, outcome.exit_code) {
                (true, _) => 0,
                (false, Some(code)) if code != 0 => code,
                (false, _) => 1,
            };
            if !outcome.succeeded {
                let reason = outcome.reason.clone().unwrap_or_default();
                let message = outcome.message.clone().map(|m| format!(": {m}")).unwrap_or_default();
                printer.error(
                    format!("migration Job/{} failed ({reason}{message}), exit code {}", outcome.job,
                        outcome.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "none".into())),
                    &outcome.last_lines,
                );
            }
            (code, json!({"mode": "job", "job": outcome.job, "exitCode": outcome.exit_code, "succeeded": outcome.succeeded, "reason": outcome.reason, "lastLines": outcome.last_lines}))
        };
        if global.output == OutputFormat::Json {
            printer.data(&(serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"));
        }
        if code == 0 {
            printer.status("Migrated", format!("{} in {namespace}", release.version));
            Ok(ExitStatus::Success)
        } else {
            if args.exec {
                printer.error(format!("`{}` exited with {code}", MIGRATION_COMMAND.join(" ")), &[]);
            }
            Ok::<_, Failure>(ExitStatus::Child(code))
        }
    })?;
    Ok(status)
}
