//! `fintechctl deploy`: settings first (release rendered and validated,
//! secrets present, cluster reached), then the plan, the confirmation, the
//! apply in phases with the migration gated before any workload changes,
//! and the rollout watch that fails fast with the cause.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde::Serialize;

use crate::cli::{DeployArgs, GlobalArgs, OutputFormat};
use crate::cluster::apply::{
    self, Action, AppliedObject, ApplyError, ApplyOptions, PlannedAction, PlannedChange,
};
use crate::cluster::connect::{self, AccessFlags, Connection};
use crate::cluster::diagnosis::Thresholds;
use crate::cluster::migration::{self, MigrationOptions, MigrationOutcome};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::release::{Release, describe_finding};
use crate::render::{Manifest, Phase, labels};
use crate::ui::Printer;
use crate::ui::reporters::{ApplyLines, MigrationLines};

pub fn run(global: &GlobalArgs, args: &DeployArgs, printer: &Printer) -> Result<ExitStatus> {
    let release = super::resolve_release(global, &args.release)?;
    for finding in &release.warnings {
        printer.warn(describe_finding(finding));
    }
    let selected: Vec<Manifest> = release
        .select(&args.only)
        .map_err(Failure::invalid)?
        .into_iter()
        .cloned()
        .collect();
    require_secrets(&release, &selected)?;
    if !args.dry_run {
        confirmation_possible(&release.env, global.yes)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(deploy(global, args, printer, &release, selected))
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
    let mut missing = if needs_platform {
        release.secrets.missing()
    } else {
        Vec::new()
    };
    if needs_tls && release.secrets.tls_cert.is_none() {
        missing
            .push("--tls-cert and --tls-key (or FINTECHCTL_TLS_CERT / FINTECHCTL_TLS_KEY)".into());
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(
        Failure::invalid("missing secrets; set them in the environment or in --env-file")
            .with_details(missing),
    )
}

/// A protected environment needs a terminal to ask on, or `--yes`: refuse
/// before touching the cluster when neither is there.
pub fn confirmation_possible(env: &Environment, yes: bool) -> Result<(), Failure> {
    if env.release.protected && !yes && !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            ExitStatus::Refused,
            format!(
                "refusing to change {}: no terminal to confirm on; pass --yes to confirm non-interactively",
                env.name
            ),
        ));
    }
    Ok(())
}

/// Asks for the environment's name to be typed, on protected environments
/// without `--yes`.
pub fn confirm_action(env: &Environment, action: &str, yes: bool) -> Result<(), Failure> {
    if !env.release.protected || yes {
        return Ok(());
    }
    let prompt = format!(
        "About to {action} in {} ({}). Type `{}` to confirm",
        env.name, env.namespace.name, env.name
    );
    let typed: String = dialoguer::Input::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
        .map_err(|e| Failure::new(ExitStatus::Refused, format!("no confirmation: {e}")))?;
    if typed.trim() != env.name {
        return Err(Failure::new(
            ExitStatus::Refused,
            format!(
                "not confirmed (typed `{}`, expected `{}`)",
                typed.trim(),
                env.name
            ),
        ));
    }
    Ok(())
}

pub fn access_flags(global: &GlobalArgs) -> AccessFlags {
    AccessFlags {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
    }
}

pub async fn connect_or_fail(
    env: &Environment,
    global: &GlobalArgs,
    printer: &Printer,
) -> Result<Connection, Failure> {
    let conn = connect::connect(env, &access_flags(global))
        .await
        .map_err(|e| {
            // A kubeconfig that cannot be read or has no such context is bad
            // input; everything else is the cluster or the cloud not answering.
            let status = match e {
                connect::ConnectError::Kubeconfig { .. } => ExitStatus::Invalid,
                _ => ExitStatus::Unreachable,
            };
            Failure::new(status, e.to_string())
        })?;
    printer.status(
        "Connected",
        format!("{} (Kubernetes {})", conn.source, conn.server_version),
    );
    Ok(conn)
}

pub fn api_failure(err: ApplyError) -> Failure {
    let status = match &err {
        ApplyError::Interrupted { .. } => ExitStatus::Interrupted,
        ApplyError::Conflict { .. } => ExitStatus::Failed,
        ApplyError::PhaseFailed { failures, .. }
            if failures
                .iter()
                .all(|f| matches!(f, ApplyError::Conflict { .. })) =>
        {
            ExitStatus::Failed
        }
        _ => ExitStatus::Unreachable,
    };
    let details = match &err {
        ApplyError::PhaseFailed { failures, .. } => {
            failures.iter().map(ToString::to_string).collect()
        }
        _ => Vec::new(),
    };
    let message = match &err {
        ApplyError::PhaseFailed {
            phase, failures, ..
        } => format!(
            "{} object(s) of the {phase:?} phase failed to apply; later phases were not started",
            failures.len()
        ),
        other => other.to_string(),
    };
    Failure::new(status, message).with_details(details)
}

/// The whole report of a deploy, for `-o json` and the summary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeployReport<'a> {
    environment: &'a str,
    namespace: &'a str,
    version: &'a str,
    cluster: String,
    dry_run: bool,
    outcome: &'static str,
    plan: Vec<PlannedChange>,
    applied: Vec<AppliedObject>,
    migration: Option<MigrationOutcome>,
    rollouts: Vec<serde_json::Value>,
    failures: Vec<serde_json::Value>,
    #[serde(serialize_with = "secs")]
    elapsed: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

async fn deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    printer: &Printer,
    release: &Release,
    selected: Vec<Manifest>,
) -> Result<ExitStatus> {
    let started = Instant::now();
    let env = &release.env;
    let conn = connect_or_fail(env, global, printer).await?;
    let client = &conn.client;

    let skip_kinds = skipped_kinds(client, &selected, printer).await;

    let migration_job =
        migration_to_run(client, release, &selected, args.skip_migrations, printer).await?;
    let to_apply: Vec<Manifest> = selected
        .into_iter()
        .filter(|m| {
            m.phase() != Phase::Migration
                || migration_job.as_ref().is_some_and(|j| j.name() == m.name())
        })
        .collect();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let options = ApplyOptions {
        dry_run: false,
        force_conflicts: args.force_conflicts,
        skip_kinds,
        stop: Some(stop_rx),
    };
    let plan = apply::plan(
        client,
        &to_apply,
        &ApplyOptions {
            dry_run: true,
            stop: None,
            ..options.clone()
        },
    )
    .await
    .map_err(api_failure)?;
    print_plan(printer, &plan);

    let mut report = DeployReport {
        environment: &env.name,
        namespace: &env.namespace.name,
        version: &release.version,
        cluster: conn.source.clone(),
        dry_run: args.dry_run,
        outcome: "planned",
        plan,
        applied: Vec::new(),
        migration: None,
        rollouts: Vec::new(),
        failures: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let changes = report
        .plan
        .iter()
        .filter(|c| matches!(c.action, PlannedAction::Create | PlannedAction::Change))
        .count();
    if args.dry_run {
        report.elapsed = started.elapsed();
        emit(global, printer, &report);
        printer.status(
            "Dry run",
            format!("{changes} object(s) would change; nothing was written"),
        );
        return Ok(ExitStatus::Success);
    }
    if changes == 0 {
        report.outcome = "unchanged";
        report.elapsed = started.elapsed();
        emit(global, printer, &report);
        printer.status(
            "Unchanged",
            format!("{} is already at this configuration", env.name),
        );
        return Ok(ExitStatus::Success);
    }
    confirm_action(env, &format!("deploy {}", release.version), global.yes)?;

    // Ctrl-C: the apply finishes the phase in progress and stops; waits stop at once.
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let run = DeployRun {
        args,
        printer,
        release,
        client,
        options: &options,
    };
    let result = run
        .apply_migrate_wait(&to_apply, migration_job.as_ref(), &mut report)
        .await;
    ctrl_c.abort();
    report.elapsed = started.elapsed();
    let status = match result {
        Ok(status) => status,
        Err(failure) => {
            report.outcome = match failure.status {
                ExitStatus::Interrupted => "interrupted",
                _ => "failed",
            };
            emit(global, printer, &report);
            return Err(failure.into());
        }
    };
    emit(global, printer, &report);
    Ok(status)
}

/// What the writing part of a deploy works with.
struct DeployRun<'a> {
    args: &'a DeployArgs,
    printer: &'a Printer,
    release: &'a Release,
    client: &'a kube::Client,
    options: &'a ApplyOptions,
}

impl DeployRun<'_> {
    /// Applies everything before the migration, runs it, applies the rest and
    /// waits for the changed workloads.
    async fn apply_migrate_wait(
        &self,
        to_apply: &[Manifest],
        migration_job: Option<&Manifest>,
        report: &mut DeployReport<'_>,
    ) -> Result<ExitStatus, Failure> {
        let DeployRun {
            args,
            printer,
            release,
            client,
            options,
        } = *self;
        let reporter = ApplyLines { printer };
        let (before, after): (Vec<Manifest>, Vec<Manifest>) = to_apply
            .iter()
            .filter(|m| m.phase() != Phase::Migration)
            .cloned()
            .partition(|m| m.phase() < Phase::Migration);

        let applied = apply_stage(client, &before, options, &reporter, report).await?;
        report.applied.extend(applied);

        if let Some(job) = migration_job {
            let opts = MigrationOptions {
                rerun: false,
                timeout: args.timeout,
                thresholds: Thresholds::default(),
            };
            let mut stop = options.stop.clone().expect("deploy sets a stop channel");
            let lines = MigrationLines { printer };
            let run = migration::run_job(client, &release.env.namespace.name, job, &opts, &lines);
            let outcome = tokio::select! {
                outcome = run => outcome.map_err(|e| Failure::new(ExitStatus::Unreachable, e.to_string()))?,
                _ = stop.wait_for(|stopped| *stopped) => {
                    return Err(Failure::new(ExitStatus::Interrupted, format!(
                        "interrupted while Job/{} was running; it keeps running in the cluster, no workload was changed",
                        job.name()
                    )));
                }
            };
            let failed = !outcome.succeeded;
            report.migration = Some(outcome.clone());
            if failed {
                let mut details = vec![format!(
                    "exit code: {}",
                    outcome
                        .exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "none (the container never ran)".into())
                )];
                if let Some(reason) = &outcome.reason {
                    details.push(format!(
                        "reason: {reason}{}",
                        outcome
                            .message
                            .as_ref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ));
                }
                details.extend(outcome.last_lines.iter().map(|l| format!("log: {l}")));
                return Err(Failure::new(
                    ExitStatus::Failed,
                    format!(
                        "the migration Job/{} failed; no workload was changed",
                        outcome.job
                    ),
                )
                .with_details(details));
            }
            printer.status(
                "Migrated",
                if outcome.already_done {
                    format!(
                        "Job/{} already completed for {}",
                        outcome.job, release.version
                    )
                } else {
                    format!("Job/{} succeeded", outcome.job)
                },
            );
        }

        let applied = apply_stage(client, &after, options, &reporter, report).await?;
        let workloads: Vec<AppliedObject> = applied
            .iter()
            .filter(|o| {
                matches!(o.kind.as_str(), "Deployment" | "StatefulSet")
                    && matches!(o.action, Action::Created | Action::Configured)
            })
            .cloned()
            .collect();
        report.applied.extend(applied);
        let waited = super::rollouts::wait(
            client,
            &release.env.namespace.name,
            &workloads,
            args.timeout,
            options.stop.clone(),
            printer,
        )
        .await;
        report.rollouts = waited.rollouts;
        report.failures = waited.failures;
        match waited.failure {
            None => {
                report.outcome = "succeeded";
                printer.status(
                    "Deployed",
                    format!(
                        "{} to {} ({})",
                        release.version, release.env.name, release.env.namespace.name
                    ),
                );
                Ok(ExitStatus::Success)
            }
            Some(failure) => Err(failure),
        }
    }
}

async fn apply_stage(
    client: &kube::Client,
    manifests: &[Manifest],
    options: &ApplyOptions,
    reporter: &ApplyLines<'_>,
    report: &mut DeployReport<'_>,
) -> Result<Vec<AppliedObject>, Failure> {
    if manifests.is_empty() {
        return Ok(Vec::new());
    }
    match apply::apply_set(client, manifests, options, reporter).await {
        Ok(applied) => Ok(applied),
        Err(err) => {
            if let ApplyError::PhaseFailed { applied, .. }
            | ApplyError::Interrupted { applied, .. } = &err
            {
                report.applied.extend(applied.iter().cloned());
            }
            Err(api_failure(err))
        }
    }
}

/// Kinds of optional CRDs the cluster does not serve (the VPA): warned
/// about and skipped.
pub async fn skipped_kinds(
    client: &kube::Client,
    manifests: &[Manifest],
    printer: &Printer,
) -> Vec<String> {
    let mut skip = Vec::new();
    if manifests
        .iter()
        .any(|m| m.kind() == "VerticalPodAutoscaler")
        && !apply::crd_available(client, "autoscaling.k8s.io", "v1", "VerticalPodAutoscaler").await
    {
        printer.warn("the VerticalPodAutoscaler CRD is not installed in this cluster: skipping the VPA objects");
        skip.push("VerticalPodAutoscaler".to_string());
    }
    skip
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
    let Some(job) = selected.iter().find(|m| m.phase() == Phase::Migration) else {
        return Ok(None);
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &release.env.namespace.name);
    let live = deployments.get_opt("api-gateway").await.map_err(|e| {
        Failure::new(
            ExitStatus::Unreachable,
            format!("reading Deployment/api-gateway: {e}"),
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

fn print_plan(printer: &Printer, plan: &[PlannedChange]) {
    let count = |a: PlannedAction| plan.iter().filter(|c| c.action == a).count();
    printer.status(
        "Plan",
        format!(
            "{} to create, {} to change, {} unchanged{}",
            count(PlannedAction::Create),
            count(PlannedAction::Change),
            count(PlannedAction::Unchanged),
            match count(PlannedAction::Skip) {
                0 => String::new(),
                n => format!(", {n} skipped"),
            }
        ),
    );
    for change in plan {
        match change.action {
            PlannedAction::Create => printer.status("+ create", &change.display),
            PlannedAction::Change => {
                let fields = if change.fields.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", change.fields.join(", "))
                };
                printer.status("~ change", format!("{}{fields}", change.display));
                // `-v`: the same diff `fintechctl diff` prints, secrets masked.
                if let Some(diff) = crate::render::diff::object_diff(
                    &change.display,
                    change.live.as_ref(),
                    change.desired.as_ref(),
                ) {
                    printer.detail(diff.trim_end());
                }
            }
            PlannedAction::Skip => printer.status("- skip", &change.display),
            PlannedAction::Unchanged => printer.detail(format!("  unchanged {}", change.display)),
        }
    }
}

fn emit(global: &GlobalArgs, printer: &Printer, report: &DeployReport<'_>) {
    match global.output {
        OutputFormat::Json => {
            printer.data(&(serde_json::to_string_pretty(report).unwrap_or_default() + "\n"))
        }
        OutputFormat::Yaml => printer.data(&serde_saphyr::to_string(report).unwrap_or_default()),
        OutputFormat::Text => {
            if !report.rollouts.is_empty() {
                printer.data(&super::rollouts::summary_table(&report.rollouts));
            }
        }
    }
}
