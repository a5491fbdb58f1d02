//! The writing half that `deploy` and `rollback` share: plan (with what
//! prune would delete), confirmation, the deploy lock, the release record,
//! the apply in phases with the migration gated before any workload, the
//! rollout watch, prune after success, and on failure the evidence bundle
//! and the automatic rollback.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::cluster::apply::{
    self, AppliedObject, ApplyError, ApplyOptions, PlannedAction, PlannedChange,
};
use crate::cluster::bundle;
use crate::cluster::connect::Connection;
use crate::cluster::diagnosis::{FailureCard, Thresholds};
use crate::cluster::lock::{self, LockError, LockGuard, LockHolder, LockOptions};
use crate::cluster::migration::{self, MigrationOptions, MigrationOutcome};
use crate::cluster::prune::{self, OwnedObject};
use crate::cluster::records::{self, ReleaseRecord, ReleaseStatus};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::render::{Manifest, Phase};
use crate::ui::Printer;
use crate::ui::reporters::{ApplyLines, MigrationLines};

use super::cluster::{api_failure, confirm_action};

/// Environment variable: how long the deploy lock outlives its holder's
/// last renewal, in seconds (default 30).
pub const LOCK_TTL_VAR: &str = "FINTECHCTL_LOCK_TTL";

/// One change to an environment: a release to deploy or a revision to
/// roll back to.
#[derive(Debug, Clone)]
pub struct ReleaseChange {
    pub version: String,
    /// `deploy 1.4.2`, `rollback to revision 3`: for history and prompts.
    pub description: String,
    /// What is planned and applied (the migration Job only when it runs).
    pub manifests: Vec<Manifest>,
    pub migration_job: Option<Manifest>,
    /// The whole rendered set: kept in the release record, and what prune
    /// compares the live objects with.
    pub full_set: Vec<Manifest>,
    /// `--only`: prune looks at these components only.
    pub components: Option<Vec<String>>,
    pub rolled_back_from: Option<u32>,
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub dry_run: bool,
    pub timeout: Duration,
    pub force_conflicts: bool,
    pub skip_kinds: Vec<String>,
    pub prune: bool,
    pub force_unlock: bool,
    pub rollback_on_failure: bool,
    pub bundle_dir: PathBuf,
    /// The command line, for the lock's holder.
    pub command: String,
    /// How long the lock outlives its holder's last renewal.
    pub lock_ttl: Duration,
}

/// The lock's time to live: [`LOCK_TTL_VAR`] in seconds, else the default.
/// Read with the other settings, before anything touches the cluster.
pub fn lock_ttl(lookup: impl Fn(&str) -> Option<String>) -> Result<Duration, Failure> {
    match lookup(LOCK_TTL_VAR) {
        None => Ok(lock::DEFAULT_LEASE_DURATION),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(Failure::invalid(format!(
                "{LOCK_TTL_VAR}: `{v}` is not a number of seconds greater than zero"
            ))),
        },
    }
}

/// Everything a deploy or rollback did, for `-o json` and the summary.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub environment: String,
    pub namespace: String,
    pub version: String,
    pub cluster: String,
    pub dry_run: bool,
    /// planned, unchanged, succeeded, failed, rolled-back, interrupted.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    pub plan: Vec<PlannedChange>,
    /// Live objects the release no longer contains (deleted after success).
    pub prune: Vec<OwnedObject>,
    pub applied: Vec<AppliedObject>,
    pub migration: Option<MigrationOutcome>,
    pub rollouts: Vec<Value>,
    pub failures: Vec<Value>,
    pub pruned: Vec<OwnedObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Box<Report>>,
    /// For a rollback: the revision whose manifests were re-applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<u32>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

/// The environment, the connection and the output a pipeline works with.
pub struct Pipeline<'a> {
    pub global: &'a GlobalArgs,
    pub printer: &'a Printer,
    pub env: &'a Environment,
    pub conn: &'a Connection,
    pub options: PipelineOptions,
}

impl Pipeline<'_> {
    fn client(&self) -> &kube::Client {
        &self.conn.client
    }

    fn namespaces(&self) -> Vec<String> {
        vec![self.env.namespace.name.clone(), "kube-system".to_string()]
    }

    fn apply_options(
        &self,
        dry_run: bool,
        stop: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> ApplyOptions {
        ApplyOptions {
            dry_run,
            force_conflicts: self.options.force_conflicts,
            skip_kinds: self.options.skip_kinds.clone(),
            stop,
        }
    }

    fn new_report(&self, version: &str) -> Report {
        Report {
            environment: self.env.name.clone(),
            namespace: self.env.namespace.name.clone(),
            version: version.to_string(),
            cluster: self.conn.source.clone(),
            dry_run: self.options.dry_run,
            outcome: "planned".into(),
            ..Report::default()
        }
    }

    /// Plans, confirms, locks, records, applies, waits; on a failed rollout
    /// keeps the evidence and rolls back when asked to. Emits the report.
    pub async fn run(&self, change: ReleaseChange) -> Result<ExitStatus, Failure> {
        let started = Instant::now();
        let mut report = self.new_report(&change.version);
        let result = self.run_inner(&change, &mut report).await;
        report.elapsed = started.elapsed();
        match &result {
            Ok(_) => {}
            Err(failure) if report.outcome == "planned" => {
                report.outcome = outcome_word(failure.status).into();
            }
            Err(_) => {}
        }
        self.emit(&report);
        result
    }

    async fn run_inner(
        &self,
        change: &ReleaseChange,
        report: &mut Report,
    ) -> Result<ExitStatus, Failure> {
        // The lock comes first, so the plan cannot go stale under another
        // run; a dry run writes nothing and takes none. On a first deploy
        // the namespace (where the lock lives) does not exist yet: the lock
        // is then taken, creating it, once the plan is confirmed.
        let mut guard = if self.options.dry_run {
            None
        } else {
            self.take_lock(false).await?
        };
        let result = self.plan_and_execute(change, report, &mut guard).await;
        if let Some(guard) = guard
            && let Err(e) = guard.release().await
        {
            self.printer.warn(format!("releasing the deploy lock: {e}"));
        }
        result
    }

    async fn plan_and_execute(
        &self,
        change: &ReleaseChange,
        report: &mut Report,
        guard: &mut Option<LockGuard>,
    ) -> Result<ExitStatus, Failure> {
        let client = self.client();
        let plan = apply::plan(client, &change.manifests, &self.apply_options(true, None))
            .await
            .map_err(api_failure)?;
        let prunable = if self.options.prune {
            prune::find_prunable(
                client,
                &self.env.name,
                &self.namespaces(),
                &change.full_set,
                change.components.as_deref(),
            )
            .await
            .map_err(|e| Failure::new(ExitStatus::Unreachable, e.to_string()))?
        } else {
            Vec::new()
        };
        print_plan(self.printer, &plan, &prunable);
        report.plan = plan;
        report.prune = prunable;

        let changes = report
            .plan
            .iter()
            .filter(|c| matches!(c.action, PlannedAction::Create | PlannedAction::Change))
            .count();
        if self.options.dry_run {
            self.printer.status(
                "Dry run",
                format!(
                    "{changes} object(s) would change, {} would be pruned; nothing was written",
                    report.prune.len()
                ),
            );
            return Ok(ExitStatus::Success);
        }
        if changes == 0 && report.prune.is_empty() && change.migration_job.is_none() {
            report.outcome = "unchanged".into();
            self.printer.status(
                "Unchanged",
                format!("{} is already at this configuration", self.env.name),
            );
            return Ok(ExitStatus::Success);
        }
        confirm_action(self.env, &change.description, self.global.yes)?;
        if guard.is_none() {
            *guard = self.take_lock(true).await?;
        }
        self.execute_with_rollback(change, report).await
    }

    /// The deploy lock; `--force-unlock` breaks a held one after saying
    /// whose it is and asking. `None` when the namespace does not exist and
    /// `create_namespace` is false.
    async fn take_lock(&self, create_namespace: bool) -> Result<Option<LockGuard>, Failure> {
        let ttl = self.options.lock_ttl;
        let holder = LockHolder::current(self.options.command.clone());
        let options = LockOptions {
            lease_duration: ttl,
            force: false,
        };
        let ns = &self.env.namespace.name;
        let lock_failure = |e: LockError| Failure::new(e.exit_status(), e.to_string());
        let attempt = if create_namespace {
            lock::acquire_creating_namespace(self.client(), ns, holder.clone(), &options).await
        } else {
            lock::acquire(self.client(), ns, holder.clone(), &options).await
        };
        let guard = match attempt {
            Ok(guard) => guard,
            Err(LockError::NamespaceMissing { .. }) if !create_namespace => return Ok(None),
            Err(LockError::Held { holder: other, .. }) if self.options.force_unlock => {
                self.printer.warn(format!(
                    "--force-unlock: breaking the deploy lock held by {other}"
                ));
                confirm_break(self.global.yes, &other)?;
                let options = LockOptions {
                    force: true,
                    ..options
                };
                lock::acquire(self.client(), ns, holder, &options)
                    .await
                    .map_err(lock_failure)?
            }
            Err(e) => return Err(lock_failure(e)),
        };
        if let Some(expired) = guard.expired() {
            self.printer
                .warn(format!("took over an expired deploy lock of {expired}"));
        }
        Ok(Some(guard))
    }

    async fn execute_with_rollback(
        &self,
        change: &ReleaseChange,
        report: &mut Report,
    ) -> Result<ExitStatus, Failure> {
        let client = self.client();
        let ns = &self.env.namespace.name;
        let record_failure =
            |e: records::RecordsError| Failure::new(e.exit_status(), e.to_string());
        let mut record = self.begin_record(change).await?;
        let revision = record.revision;
        report.revision = Some(revision);

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = stop_tx.send(true);
            }
        });
        let result = self.execute(change, report, stop_rx).await;
        ctrl_c.abort();

        record.migration = report
            .migration
            .as_ref()
            .and_then(|m| serde_json::to_value(m).ok());
        let cards = match &result {
            Err(Outcome::RolloutFailed { cards, .. }) => cards.clone(),
            _ => Vec::new(),
        };
        match result {
            Ok(()) => {
                report.outcome = "succeeded".into();
                self.prune_after_success(report).await;
                records::finish(client, ns, &mut record, ReleaseStatus::Succeeded, &[])
                    .await
                    .map_err(record_failure)?;
                self.prune_history().await;
                Ok(ExitStatus::Success)
            }
            Err(Outcome::Failed(failure)) => {
                report.outcome = outcome_word(failure.status).into();
                if failure.status == ExitStatus::Interrupted {
                    record.description = format!("{} (interrupted)", record.description);
                }
                records::finish(client, ns, &mut record, ReleaseStatus::Failed, &[])
                    .await
                    .map_err(record_failure)?;
                Err(failure)
            }
            Err(Outcome::RolloutFailed { failure, .. }) => {
                report.outcome = "failed".into();
                if !self.options.rollback_on_failure {
                    records::finish(client, ns, &mut record, ReleaseStatus::Failed, &cards)
                        .await
                        .map_err(record_failure)?;
                    return Err(failure);
                }
                // Evidence first: a rollback replaces the failing pods.
                if let Some(path) = self.write_evidence(&change.version, revision, &cards).await {
                    report.bundle = Some(path);
                }
                records::finish(client, ns, &mut record, ReleaseStatus::Failed, &cards)
                    .await
                    .map_err(record_failure)?;
                let rollback = self.roll_back_after_failure(revision).await;
                let (rollback_report, rollback_ok) = match rollback {
                    Ok(Some(r)) => {
                        let ok = r.outcome == "succeeded";
                        (Some(r), ok)
                    }
                    Ok(None) => (None, false),
                    Err(f) => {
                        self.printer.warn(format!("the rollback failed: {f}"));
                        (None, false)
                    }
                };
                if rollback_ok {
                    let _ = records::update_status(
                        client,
                        ns,
                        &self.env.name,
                        revision,
                        ReleaseStatus::RolledBack,
                    )
                    .await;
                    report.outcome = "rolled-back".into();
                }
                let rollback_words = match &rollback_report {
                    Some(r) if rollback_ok => format!(
                        "rolled back to revision {} (version {}), running again as revision {}",
                        r.rolled_back_from
                            .map(|r| r.to_string())
                            .unwrap_or_default(),
                        r.version,
                        r.revision.map(|r| r.to_string()).unwrap_or_default(),
                    ),
                    Some(r) => format!(
                        "the rollback to version {} failed too ({})",
                        r.version, r.outcome
                    ),
                    None => "no earlier successful revision to roll back to".to_string(),
                };
                report.rollback = rollback_report.map(Box::new);
                Err(Failure::new(
                    ExitStatus::Failed,
                    format!("{}; {rollback_words}", failure.message),
                )
                .with_details(failure.details))
            }
        }
    }

    /// The release record of a change about to be applied: the next
    /// revision, status deploying, stored before anything is written.
    async fn begin_record(&self, change: &ReleaseChange) -> Result<ReleaseRecord, Failure> {
        let client = self.client();
        let ns = &self.env.namespace.name;
        let to_failure = |e: records::RecordsError| Failure::new(e.exit_status(), e.to_string());
        let revision = records::next_revision(client, ns, &self.env.name)
            .await
            .map_err(to_failure)?;
        let mut record = ReleaseRecord::begin(
            revision,
            &self.env.name,
            ns,
            &change.version,
            &change.full_set,
            change.description.clone(),
        );
        record.rolled_back_from = change.rolled_back_from;
        records::create(client, ns, &record)
            .await
            .map_err(to_failure)?;
        Ok(record)
    }

    /// The debug bundle of a failed rollout, written before anything (a
    /// rollback) replaces the failing pods. A failure to write is a warning:
    /// the rollback matters more.
    async fn write_evidence(
        &self,
        version: &str,
        revision: u32,
        cards: &[FailureCard],
    ) -> Option<String> {
        let ns = &self.env.namespace.name;
        let evidence = bundle::collect(
            self.client(),
            ns,
            &self.env.name,
            version,
            Some(revision),
            cards,
        )
        .await;
        match bundle::write(&evidence, &self.options.bundle_dir) {
            Ok(path) => {
                self.printer.status(
                    "Evidence",
                    format!("debug bundle written to {}", path.display()),
                );
                Some(path.display().to_string())
            }
            Err(e) => {
                self.printer
                    .warn(format!("could not write the debug bundle: {e}"));
                None
            }
        }
    }

    /// Re-applies the last successful revision before `failed`, as a new
    /// revision, without migrations and without asking again.
    async fn roll_back_after_failure(&self, failed: u32) -> Result<Option<Report>, Failure> {
        let client = self.client();
        let ns = &self.env.namespace.name;
        let target = records::latest_successful(client, ns, &self.env.name, Some(failed))
            .await
            .map_err(|e| Failure::new(e.exit_status(), e.to_string()))?;
        let Some(target) = target else {
            self.printer
                .warn("no earlier successful revision: nothing to roll back to");
            return Ok(None);
        };
        self.printer.status(
            "Rolling back",
            format!(
                "to revision {} (version {})",
                target.revision, target.version
            ),
        );
        let change = rollback_change(&target, None);
        let mut report = self.new_report(&change.version);
        report.rolled_back_from = Some(target.revision);
        let mut record = self.begin_record(&change).await?;
        report.revision = Some(record.revision);
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let result = self.execute(&change, &mut report, stop_rx).await;
        let (status, cards) = match result {
            Ok(()) => {
                report.outcome = "succeeded".into();
                (ReleaseStatus::Succeeded, Vec::new())
            }
            Err(Outcome::RolloutFailed { cards, .. }) => {
                report.outcome = "failed".into();
                (ReleaseStatus::Failed, cards)
            }
            Err(Outcome::Failed(f)) => {
                report.outcome = outcome_word(f.status).into();
                (ReleaseStatus::Failed, Vec::new())
            }
        };
        records::finish(client, ns, &mut record, status, &cards)
            .await
            .map_err(|e| Failure::new(e.exit_status(), e.to_string()))?;
        Ok(Some(report))
    }

    /// Applies the phases before the migration, runs it, applies the rest,
    /// and waits for the workloads that changed.
    async fn execute(
        &self,
        change: &ReleaseChange,
        report: &mut Report,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), Outcome> {
        let client = self.client();
        let options = self.apply_options(false, Some(stop.clone()));
        let reporter = ApplyLines {
            printer: self.printer,
        };
        let (before, after): (Vec<Manifest>, Vec<Manifest>) = change
            .manifests
            .iter()
            .filter(|m| m.phase() != Phase::Migration)
            .cloned()
            .partition(|m| m.phase() < Phase::Migration);

        self.apply_stage(&before, &options, &reporter, report)
            .await?;
        if let Some(job) = &change.migration_job {
            let outcome = self.migrate(job, &change.version, stop.clone()).await?;
            report.migration = Some(outcome.clone());
            if !outcome.succeeded {
                return Err(Outcome::Failed(migration_failure(&outcome)));
            }
        }
        let applied = self
            .apply_stage(&after, &options, &reporter, report)
            .await?;
        let waited = super::rollouts::wait(
            client,
            &self.env.namespace.name,
            &applied,
            self.options.timeout,
            Some(stop),
            self.printer,
        )
        .await;
        report.rollouts = waited.rollouts;
        report.failures = waited.failures;
        match waited.failure {
            None => {
                self.printer.status(
                    "Deployed",
                    format!(
                        "{} to {} ({})",
                        change.version, self.env.name, self.env.namespace.name
                    ),
                );
                Ok(())
            }
            Some(failure) if !waited.cards.is_empty() || failure.status == ExitStatus::Failed => {
                Err(Outcome::RolloutFailed {
                    failure,
                    cards: waited.cards,
                })
            }
            Some(failure) => Err(Outcome::Failed(failure)),
        }
    }

    async fn apply_stage(
        &self,
        manifests: &[Manifest],
        options: &ApplyOptions,
        reporter: &ApplyLines<'_>,
        report: &mut Report,
    ) -> Result<Vec<AppliedObject>, Outcome> {
        if manifests.is_empty() {
            return Ok(Vec::new());
        }
        match apply::apply_set(self.client(), manifests, options, reporter).await {
            Ok(applied) => {
                report.applied.extend(applied.iter().cloned());
                Ok(applied)
            }
            Err(err) => {
                if let ApplyError::PhaseFailed { applied, .. }
                | ApplyError::Interrupted { applied, .. } = &err
                {
                    report.applied.extend(applied.iter().cloned());
                }
                Err(Outcome::Failed(api_failure(err)))
            }
        }
    }

    async fn migrate(
        &self,
        job: &Manifest,
        version: &str,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<MigrationOutcome, Outcome> {
        let opts = MigrationOptions {
            rerun: false,
            timeout: self.options.timeout,
            thresholds: Thresholds::default(),
        };
        let lines = MigrationLines {
            printer: self.printer,
        };
        let run = migration::run_job(self.client(), &self.env.namespace.name, job, &opts, &lines);
        let outcome = tokio::select! {
            outcome = run => outcome.map_err(|e| Outcome::Failed(Failure::new(ExitStatus::Unreachable, e.to_string())))?,
            _ = stop.wait_for(|stopped| *stopped) => {
                return Err(Outcome::Failed(Failure::new(ExitStatus::Interrupted, format!(
                    "interrupted while Job/{} was running; it keeps running in the cluster, no workload was changed",
                    job.name()
                ))));
            }
        };
        if outcome.succeeded {
            self.printer.status(
                "Migrated",
                if outcome.already_done {
                    format!("Job/{} already completed for {version}", outcome.job)
                } else {
                    format!("Job/{} succeeded", outcome.job)
                },
            );
        }
        Ok(outcome)
    }

    /// Deletes what the release no longer contains; only after a successful
    /// rollout, and a failure here is a warning (the release is live).
    async fn prune_after_success(&self, report: &mut Report) {
        if report.prune.is_empty() {
            return;
        }
        match prune::prune(self.client(), &report.prune).await {
            Ok(deleted) => {
                for object in &deleted {
                    self.printer.status("Pruned", object.display());
                }
                report.pruned = deleted;
            }
            Err(e) => self.printer.warn(format!("pruning: {e}")),
        }
    }

    async fn prune_history(&self) {
        let keep = self.env.release.history_limit;
        match records::prune(
            self.client(),
            &self.env.namespace.name,
            &self.env.name,
            keep,
        )
        .await
        {
            Ok(deleted) if !deleted.is_empty() => {
                self.printer.detail(format!(
                    "deleted release records of revisions {deleted:?} (keeping {keep})"
                ));
            }
            Ok(_) => {}
            Err(e) => self
                .printer
                .warn(format!("pruning the release history: {e}")),
        }
    }

    fn emit(&self, report: &Report) {
        match self.global.output {
            OutputFormat::Json => self
                .printer
                .data(&(serde_json::to_string_pretty(report).unwrap_or_default() + "\n")),
            OutputFormat::Yaml => self
                .printer
                .data(&serde_saphyr::to_string(report).unwrap_or_default()),
            OutputFormat::Text => {
                if !report.rollouts.is_empty() {
                    self.printer
                        .data(&super::rollouts::summary_table(&report.rollouts));
                }
            }
        }
    }
}

/// How the writing part of a change ended, when it did not succeed.
enum Outcome {
    /// Before or outside the rollout: apply, migration, interruption.
    Failed(Failure),
    /// The rollout failed with these cards: what a rollback answers.
    RolloutFailed {
        failure: Failure,
        cards: Vec<FailureCard>,
    },
}

fn outcome_word(status: ExitStatus) -> &'static str {
    match status {
        ExitStatus::Interrupted => "interrupted",
        ExitStatus::Refused => "refused",
        _ => "failed",
    }
}

fn migration_failure(outcome: &MigrationOutcome) -> Failure {
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
    Failure::new(
        ExitStatus::Failed,
        format!(
            "the migration Job/{} failed; no workload was changed",
            outcome.job
        ),
    )
    .with_details(details)
}

fn confirm_break(yes: bool, holder: &LockHolder) -> Result<(), Failure> {
    crate::ui::prompt::yes_no(
        yes,
        &format!("Break the deploy lock of {holder}?"),
        &format!(
            "refusing to break the lock of {holder} without confirmation; pass --yes with --force-unlock"
        ),
        "the lock was not broken",
    )
}

/// The change that re-applies `target`'s manifests: everything but its
/// Secrets (a record keeps only their digests, so the current secrets stay)
/// and its migration Job (migrations never run backwards).
pub fn rollback_change(target: &ReleaseRecord, components: Option<Vec<String>>) -> ReleaseChange {
    let origin = format!("revision {}", target.revision);
    let full_set: Vec<Manifest> = target
        .manifests
        .iter()
        .map(|v| Manifest::new(origin.clone(), v.clone()))
        .collect();
    let manifests = full_set
        .iter()
        .filter(|m| !m.is_secret() && m.phase() != Phase::Migration)
        .cloned()
        .collect();
    ReleaseChange {
        version: target.version.clone(),
        description: format!(
            "rollback to revision {} ({})",
            target.revision, target.version
        ),
        manifests,
        migration_job: None,
        full_set,
        components,
        rolled_back_from: Some(target.revision),
    }
}

pub fn print_plan(printer: &Printer, plan: &[PlannedChange], prunable: &[OwnedObject]) {
    let count = |a: PlannedAction| plan.iter().filter(|c| c.action == a).count();
    printer.status(
        "Plan",
        format!(
            "{} to create, {} to change, {} unchanged{}{}",
            count(PlannedAction::Create),
            count(PlannedAction::Change),
            count(PlannedAction::Unchanged),
            match count(PlannedAction::Skip) {
                0 => String::new(),
                n => format!(", {n} skipped"),
            },
            match prunable.len() {
                0 => String::new(),
                n => format!(", {n} to prune after the rollout"),
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
    for object in prunable {
        printer.status("- prune", object.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ttl_is_validated_with_the_settings() {
        assert_eq!(lock_ttl(|_| None).unwrap(), lock::DEFAULT_LEASE_DURATION);
        assert_eq!(
            lock_ttl(|_| Some("2".into())).unwrap(),
            Duration::from_secs(2)
        );
        for bad in ["0", "abc", "-1", ""] {
            let err = lock_ttl(|_| Some(bad.into())).unwrap_err();
            assert_eq!(err.status, ExitStatus::Invalid, "{bad}");
            assert!(err.message.contains(LOCK_TTL_VAR), "{}", err.message);
        }
    }
}
