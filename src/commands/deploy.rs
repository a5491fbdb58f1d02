//! `fintechctl deploy`: settings first (release rendered and validated,
//! secrets present, cluster reached), then the plan, the confirmation, the
//! apply in phases with the migration gated before any workload changes,
//! and the rollout watch that fails fast with the cause.

use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use crate::cli::{DeployArgs, GlobalArgs};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::release::{Release, describe_finding};
use crate::render::{Manifest, Phase, labels};
use crate::secrets::SecretsError;
use crate::ui::Printer;

use super::cluster::{command_line, confirmation_possible, connect_or_fail, skipped_kinds};
use super::pipeline::{Pipeline, PipelineOptions, ReleaseChange, lock_ttl};

pub fn run(global: &GlobalArgs, args: &DeployArgs, printer: &Printer) -> Result<ExitStatus> {
    let release = super::resolve_release(global, &args.release)?;
    for finding in &release.warnings {
        printer.warn(describe_finding(finding));
    }
    let selected = super::select_owned(&release, &args.only)?;
    require_secrets(&release, &selected)?;
    if !args.dry_run {
        confirmation_possible(&release.env, global.yes)?;
    }
    let lock_ttl = lock_ttl(|k| std::env::var(k).ok())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(deploy(global, args, printer, &release, selected, lock_ttl))
}

/// Every secret the selected objects hold must be set: all missing ones are
/// listed at once.
fn require_secrets(release: &Release, selected: &[Manifest]) -> Result<(), Failure> {
    let needs_platform = selected
        .iter()
        .any(|m| m.is_secret() && m.name() == "fintech-ai-secrets");
    let needs_tls = selected
        .iter()
        .any(|m| m.is_secret() && m.object["type"] == "kubernetes.io/tls");
    release
        .secrets
        .require(needs_platform, needs_tls)
        .map_err(|e| match e {
            SecretsError::Missing(missing) => {
                Failure::invalid("missing secrets; set them in the environment or in --env-file")
                    .with_details(missing)
            }
            other => Failure::invalid(other),
        })
}

async fn deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    printer: &Printer,
    release: &Release,
    selected: Vec<Manifest>,
    lock_ttl: std::time::Duration,
) -> Result<ExitStatus> {
    let env = &release.env;
    let conn = connect_or_fail(env, global, printer).await?;
    let client = &conn.client;
    let skip_kinds = skipped_kinds(client, &selected, printer).await;
    let migration_job =
        migration_to_run(client, release, &selected, args.skip_migrations, printer).await?;
    // The Job runs when it is due, even under `--only api-gateway`: the
    // new images must not start on the old schema.
    let manifests: Vec<Manifest> = selected
        .into_iter()
        .filter(|m| m.phase() != Phase::Migration)
        .chain(migration_job.clone())
        .collect();
    let change = ReleaseChange {
        version: release.version.clone(),
        description: format!("deploy {}", release.version),
        manifests,
        migration_job,
        full_set: release.manifests.clone(),
        components: (!args.only.is_empty()).then(|| args.only.clone()),
        rolled_back_from: None,
    };
    let pipeline = Pipeline {
        global,
        printer,
        env,
        conn: &conn,
        options: PipelineOptions {
            dry_run: args.dry_run,
            timeout: args.timeout,
            force_conflicts: args.force_conflicts,
            skip_kinds,
            prune: !args.no_prune,
            force_unlock: args.force_unlock,
            rollback_on_failure: rollback_wanted(args, env),
            bundle_dir: args.bundle_dir.clone(),
            command: command_line(),
            lock_ttl,
        },
    };
    Ok(pipeline.run(change).await?)
}

/// `--no-rollback-on-failure` wins, then `--rollback-on-failure[=BOOL]`,
/// then the environment's `release.rollbackOnFailure`.
fn rollback_wanted(args: &DeployArgs, env: &Environment) -> bool {
    !args.no_rollback_on_failure
        && args
            .rollback_on_failure
            .unwrap_or(env.release.rollback_on_failure)
}

/// The migration Job to run, if any: when the release's version differs from
/// the live api-gateway's (or it does not exist yet), unless skipped.
async fn migration_to_run(
    client: &kube::Client,
    release: &Release,
    selected: &[Manifest],
    skip: bool,
    printer: &Printer,
) -> Result<Option<Manifest>, Failure> {
    let Some(job) = release
        .manifests
        .iter()
        .find(|m| m.phase() == Phase::Migration)
    else {
        return Ok(None);
    };
    let job_selected = selected.iter().any(|m| m.phase() == Phase::Migration);
    let rolls_an_app = selected.iter().any(|m| {
        m.kind() == "Deployment"
            && release
                .env
                .services
                .iter()
                .any(|(name, _)| name == m.name())
    });
    if !job_selected && !rolls_an_app {
        return Ok(None);
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &release.env.namespace.name);
    let live = deployments.get_opt("api-gateway").await.map_err(|e| {
        Failure::new(
            ExitStatus::Unreachable,
            format!(
                "reading Deployment/api-gateway: {}",
                crate::cluster::api_message(&e)
            ),
        )
    })?;
    let live_version = live.as_ref().and_then(|d| {
        d.spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .labels
            .as_ref()?
            .get(labels::VERSION)
            .cloned()
    });
    if live_version.as_deref() == Some(release.version.as_str()) {
        printer.detail(format!(
            "api-gateway already runs {}: no migration",
            release.version
        ));
        return Ok(None);
    }
    if skip {
        printer.warn(format!(
            "--skip-migrations: not running Job/{} although the version changes ({} → {})",
            job.name(),
            live_version.as_deref().unwrap_or("none"),
            release.version
        ));
        return Ok(None);
    }
    Ok(Some(job.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn wanted(env: &str, flags: &[&str]) -> bool {
        let mut argv = vec!["fintechctl", "deploy", env, "--version", "1.4.2"];
        argv.extend_from_slice(flags);
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Deploy(args) = cli.command else {
            unreachable!()
        };
        let env = crate::environment::EnvironmentSource::Embedded
            .load(env)
            .unwrap();
        rollback_wanted(&args, &env)
    }

    #[test]
    fn rollback_on_failure_follows_flags_then_the_environment() {
        assert!(wanted("production", &[]), "on by default for production");
        assert!(!wanted("staging", &[]), "off by default elsewhere");
        assert!(!wanted("production", &["--no-rollback-on-failure"]));
        assert!(!wanted("production", &["--rollback-on-failure", "false"]));
        assert!(wanted("staging", &["--rollback-on-failure"]));
        assert!(wanted("staging", &["--rollback-on-failure=true"]));
        assert!(!wanted(
            "staging",
            &["--rollback-on-failure", "--no-rollback-on-failure"]
        ));
    }
}
