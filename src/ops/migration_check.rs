//! The migration check of a deploy (issue 19, items 6 and 7): before the
//! migration Job is created, get its SQL from alembic's offline mode
//! ([`crate::cluster::migration_sql`]), lint it
//! ([`crate::migration_lint`]) and apply the policy — in canary deploys and
//! protected environments a breaking statement refuses the deploy (exit 4),
//! in a protected environment so does a migration that could not be
//! checked; elsewhere they are warnings.

use super::Reporter;
use crate::cluster::migration_sql::{self, OfflineError};
use crate::environment::Environment;
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::migration_lint::{self, CheckFlags, CheckStatus, MigrationCheck};
use crate::render::Manifest;

/// What the pipeline hands the check.
pub struct CheckInput<'a> {
    pub env: &'a Environment,
    /// The release's migration Job (the migration would run).
    pub job: &'a Manifest,
    /// The namespace does not exist yet (a first deploy).
    pub namespace_missing: bool,
    /// A canary deploy (`--strategy canary`): breaking statements refuse
    /// in every environment.
    pub canary: bool,
    pub flags: CheckFlags,
}

/// Runs the check; the check (for the report and the release record) and
/// whether the deploy may go on.
pub async fn run(
    client: &kube::Client,
    input: CheckInput<'_>,
    stop: &Stop,
    reporter: &dyn Reporter,
) -> (Option<MigrationCheck>, Result<(), Failure>) {
    let env = input.env;
    let mut check = match find_sql(client, &input, stop, reporter).await {
        Ok(check) => check,
        Err(failure) => return (None, Err(failure)),
    };
    let verdict = migration_lint::apply_policy(
        &mut check,
        &env.name,
        env.release.protected,
        input.canary,
        input.flags,
    );
    match verdict {
        Ok(warnings) => {
            for w in warnings {
                reporter.warn(&w);
            }
            match check.status {
                CheckStatus::Passed => reporter.status(
                    "Checked",
                    &format!(
                        "the migration from revision {}: no breaking statement",
                        check.from_revision.as_deref().unwrap_or("?")
                    ),
                ),
                CheckStatus::Skipped => reporter.detail(&format!(
                    "migration not checked: {}",
                    check.reason.as_deref().unwrap_or_default()
                )),
                _ => {}
            }
            (Some(check), Ok(()))
        }
        Err(refusal) => (Some(check), Err(Failure::from(refusal))),
    }
}

async fn find_sql(
    client: &kube::Client,
    input: &CheckInput<'_>,
    stop: &Stop,
    reporter: &dyn Reporter,
) -> Result<MigrationCheck, Failure> {
    let namespace = &input.env.namespace.name;
    let skipped = |reason: &str| MigrationCheck {
        status: CheckStatus::Skipped,
        from_revision: None,
        reason: Some(reason.to_string()),
        findings: Vec::new(),
        enforced: false,
        overridden_by: None,
    };
    if input.namespace_missing {
        return Ok(skipped(
            "a first deploy: no version runs against the schema yet",
        ));
    }
    let Some(live_image) = live_image(client, namespace).await? else {
        return Ok(skipped(
            "no live api-gateway: no version runs against the schema",
        ));
    };
    reporter.detail(&format!(
        "checking the migration: alembic heads in {live_image}, then upgrade --sql in the new image (Jobs {}-heads-… and -sql-…)",
        input.job.name()
    ));
    match migration_sql::offline_sql(client, namespace, input.job, &live_image, stop).await {
        Ok(offline) => {
            let findings = migration_lint::lint(&offline.sql);
            Ok(MigrationCheck {
                status: if findings.is_empty() {
                    CheckStatus::Passed
                } else {
                    CheckStatus::Breaking
                },
                from_revision: Some(offline.from),
                reason: None,
                findings,
                enforced: false,
                overridden_by: None,
            })
        }
        Err(OfflineError::NotChecked(reason)) => Ok(MigrationCheck {
            status: CheckStatus::NotChecked,
            reason: Some(reason),
            ..skipped("")
        }),
        Err(e @ OfflineError::Stopped(_)) => Err(Failure::stopped(
            stop,
            &format!("{e} (checking the migration); nothing was migrated"),
        )),
    }
}

/// The live api-gateway's image (its `api-gateway` container, else the first).
async fn live_image(client: &kube::Client, namespace: &str) -> Result<Option<String>, Failure> {
    let live = super::shared::live_api_gateway(client, namespace).await?;
    let containers = live
        .and_then(|d| d.spec)
        .and_then(|s| s.template.spec)
        .map(|s| s.containers)
        .unwrap_or_default();
    Ok(containers
        .iter()
        .find(|c| c.name == "api-gateway")
        .or(containers.first())
        .and_then(|c| c.image.clone()))
}
