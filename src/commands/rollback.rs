//! `fintechctl rollback`: re-applies an earlier successful revision with the
//! same plan, confirmation, lock, wait and fail-fast as a deploy, and
//! records a new revision. Migrations never run backwards: when the schema
//! moved on since that revision, the plan says so and asks.

use anyhow::Result;

use crate::cli::{GlobalArgs, RollbackArgs};
use crate::cluster::records::{self, ReleaseRecord, ReleaseStatus};
use crate::exit::{ExitStatus, Failure};
use crate::ui::Printer;

use super::cluster::{command_line, confirmation_possible, connect_or_fail, skipped_kinds};
use super::pipeline::{Pipeline, PipelineOptions, lock_ttl, rollback_change};

pub fn run(global: &GlobalArgs, args: &RollbackArgs, printer: &Printer) -> Result<ExitStatus> {
    let env = super::environment_source(global)
        .load(&args.environment)
        .map_err(Failure::invalid)?;
    if !args.dry_run {
        confirmation_possible(&env, global.yes)?;
    }
    let lock_ttl = lock_ttl(|k| std::env::var(k).ok())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let status =
        runtime.block_on(async {
            let conn = connect_or_fail(&env, global, printer).await?;
            let list = records::list(&conn.client, &env.namespace.name, &env.name)
                .await
                .map_err(|e| Failure::new(e.exit_status(), e.to_string()))?;
            let target = choose_target(&list, args.revision)?;
            printer.status(
                "Target",
                format!(
                    "revision {} (version {}, {})",
                    target.revision, target.version, target.status
                ),
            );
            let moved = migrations_since(&list, target.revision);
            if !moved.is_empty() {
                printer.warn(format!(
                "the database schema moved on since revision {}: migrations ran in revision(s) {}; \
                 rolling back re-applies the old workloads but never runs migrations backwards",
                target.revision,
                moved.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ));
                if !args.dry_run {
                    confirm_schema(global.yes)?;
                }
            }
            let change = rollback_change(target, None);
            let skip_kinds = skipped_kinds(&conn.client, &change.manifests, printer).await;
            let pipeline = Pipeline {
                global,
                printer,
                env: &env,
                conn: &conn,
                options: PipelineOptions {
                    dry_run: args.dry_run,
                    timeout: args.timeout,
                    force_conflicts: false,
                    skip_kinds,
                    prune: !args.no_prune,
                    force_unlock: args.force_unlock,
                    rollback_on_failure: false,
                    bundle_dir: ".".into(),
                    command: command_line(),
                    lock_ttl,
                },
            };
            pipeline.run(change).await
        })?;
    Ok(status)
}

/// The revision to return to: the one asked for (which must have
/// succeeded), else the last successful one before the current.
fn choose_target(list: &[ReleaseRecord], asked: Option<u32>) -> Result<&ReleaseRecord, Failure> {
    let successful = |r: &&ReleaseRecord| {
        matches!(
            r.status,
            ReleaseStatus::Succeeded | ReleaseStatus::Superseded
        )
    };
    if let Some(revision) = asked {
        let record = list
            .iter()
            .find(|r| r.revision == revision)
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "REVISION: there is no revision {revision}; revisions: {}",
                    list.iter()
                        .map(|r| r.revision.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !successful(&record) {
            return Err(Failure::invalid(format!(
                "REVISION: revision {revision} {}; only a revision that rolled out successfully can be rolled back to",
                record.status
            )));
        }
        return Ok(record);
    }
    let current = list.iter().find(|r| r.status == ReleaseStatus::Succeeded).ok_or_else(|| {
        Failure::invalid("no successful revision is recorded for this environment: nothing to roll back from")
    })?;
    list.iter()
        .filter(|r| r.revision < current.revision)
        .find(successful)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "no successful revision before the current one ({}): nothing to roll back to",
                current.revision
            ))
        })
}

/// Revisions newer than `target` whose migration actually ran.
fn migrations_since(list: &[ReleaseRecord], target: u32) -> Vec<u32> {
    let mut revisions: Vec<u32> = list
        .iter()
        .filter(|r| r.revision > target)
        .filter(|r| {
            r.migration.as_ref().is_some_and(|m| {
                m["succeeded"].as_bool() == Some(true) && m["already_done"].as_bool() != Some(true)
            })
        })
        .map(|r| r.revision)
        .collect();
    revisions.sort();
    revisions
}

fn confirm_schema(yes: bool) -> Result<(), Failure> {
    crate::ui::prompt::yes_no(
        yes,
        "Roll back the workloads onto the newer schema?",
        "the schema moved on since that revision; pass --yes to roll back the workloads anyway",
        "rollback not confirmed",
    )
}
