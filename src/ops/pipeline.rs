//! The writing half that `deploy` and `rollback` share: the deploy lock
//! first, the migration decided under it, the plan (with what prune would
//! delete, the prerequisites and the permissions checked), the confirmation,
//! the release record, the apply in phases — data stores ready before the
//! migration, the migration before any workload — the rollout watch, prune
//! after success, and on failure the evidence bundle and the automatic
//! rollback through this same path.
//!
//! Bounded: the whole run stops at `--timeout`, on Ctrl-C or SIGTERM, when
//! another run takes the lock over, or when the API server stops answering
//! (a watchdog probes it while the run works); each way it finishes the
//! step it is in, releases the lock, records the outcome and says where
//! every object and rollout stands.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cluster::apply::{
    self, AppliedObject, ApplyError, ApplyOptions, PlannedAction, PlannedChange,
};
use crate::cluster::bundle;
use crate::cluster::connect::Connection;
use crate::cluster::diagnosis::{FailureCard, Thresholds};
use crate::cluster::kinds::ServedKinds;
use crate::cluster::lock::{self, LockError, LockGuard, LockHolder, LockOptions};
use crate::cluster::migration::{self, MigrationOptions, MigrationOutcome};
use crate::cluster::prerequisites;
use crate::cluster::prune::{self, OwnedObject};
use crate::cluster::records::{self, ReleaseHistory, ReleaseRecord, ReleaseStatus};
use crate::cluster::wait::RolloutOutcome;
use crate::cluster::{digest_key, liveness, target};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::{Stop, StopReason};
use crate::redact::{DigestKey, Redactor};
use crate::render::{Manifest, Phase, diff};
use crate::settings::ChangeSettings;

pub use super::shared::ReportError;
use super::{Confirmer, DeployReporter, Question};

mod canary;

/// One change to an environment: a release to deploy or a revision to
/// roll back to.
#[derive(Debug, Clone)]
pub struct ReleaseChange {
    pub version: String,
    /// `deploy 1.4.2`, `rollback to revision 3`: for history and prompts.
    pub description: String,
    /// What is planned and applied, without the migration Job.
    pub manifests: Vec<Manifest>,
    /// The migration Job, when the change may need it; whether it runs is
    /// decided under the lock ([`MigrationPolicy`]).
    pub migration: MigrationPolicy,
    /// The whole rendered set: kept in the release record, and what prune
    /// compares the live objects with.
    pub full_set: Vec<Manifest>,
    /// `--only`: prune looks at these components only.
    pub components: Option<Vec<String>>,
    pub rolled_back_from: Option<u32>,
    /// Secrets left out of a dry run because their values were not given.
    pub unknown_secrets: Vec<Manifest>,
    /// A canary deploy's settings (docs/canary.md); `None`: rolling.
    pub canary: Option<crate::canary::CanaryPlan>,
}

/// Whether a change runs the migration Job.
#[derive(Debug, Clone)]
pub enum MigrationPolicy {
    /// Never (rollbacks: migrations never run backwards).
    Never,
    /// When the live api-gateway runs another version than `version` (or
    /// none); `skip` (`--skip-migrations`) only warns; `check`: the flags
    /// of the migration check ([`super::migration_check`]).
    WhenVersionChanges {
        job: Manifest,
        skip: bool,
        check: crate::migration_lint::CheckFlags,
    },
}

/// How a deploy or rollback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A dry run: planned, nothing written.
    #[default]
    Planned,
    Unchanged,
    Succeeded,
    Failed,
    /// Failed, and the environment was rolled back.
    RolledBack,
    Interrupted,
    Refused,
    /// A canary failed its analysis and was removed; stable untouched.
    Aborted,
    /// A canary passed every step and waits for `promote` or `abort`.
    Paused,
}

/// Everything a deploy or rollback did: the `-o json` document and the
/// summary's source.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    pub environment: String,
    pub namespace: String,
    pub version: String,
    pub cluster: String,
    pub dry_run: bool,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    pub plan: Vec<PlannedChange>,
    /// Live objects the release no longer contains (deleted after success).
    pub prune: Vec<OwnedObject>,
    pub applied: Vec<AppliedObject>,
    pub migration: Option<MigrationOutcome>,
    /// The migration's SQL checked before the Job ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_check: Option<crate::migration_lint::MigrationCheck>,
    pub rollouts: Vec<RolloutOutcome>,
    pub failures: Vec<FailureCard>,
    pub pruned: Vec<OwnedObject>,
    /// Revisions a crashed run left `deploying`, marked abandoned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub abandoned: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Box<DeployReport>>,
    /// For a rollback: the revision whose manifests were re-applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<u32>,
    /// For a rollback: the database schema is ahead of the version rolled
    /// back to (migrations ran since and never run backwards), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_ahead: Option<String>,
    /// A canary deploy's steps, rounds and outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::run::CanaryReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

/// What a pipeline works with.
pub struct Pipeline<'a> {
    /// Set when the lock is taken: checked before every write.
    pub held: HeldLock,
    /// The cluster's claim for this environment, recorded before the first
    /// write when it is not there yet (the wrong-cluster rule).
    pub pending_claim: Option<super::connect::PendingClaim>,
    /// The namespace was read and found missing (a first deploy): the
    /// lock is taken, creating it, once the plan is confirmed, without a
    /// try before the plan that could only find it missing again.
    pub namespace_missing: bool,
    pub env: &'a Environment,
    pub conn: &'a Connection,
    pub settings: &'a ChangeSettings,
    pub force_conflicts: bool,
    /// Kinds the cluster does not serve (an optional CRD): skipped.
    pub skip_kinds: Vec<String>,
    /// The environment's digest key, and whether it is stored yet.
    pub key: DigestKey,
    pub key_stored: bool,
    /// The run's discovery cache.
    pub kinds: ServedKinds,
    pub redactor: Redactor,
    pub reporter: &'a dyn DeployReporter,
    pub confirmer: &'a dyn Confirmer,
    pub stop: Stop,
}

/// The held lock's checker, set once the lock is taken.
type HeldLock = std::sync::Mutex<Option<lock::LockCheck>>;

/// What the run is doing now, for "lost the API server … while …".
#[derive(Clone, Default)]
struct Doing(Arc<Mutex<String>>);

impl Doing {
    fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = what.into();
    }
    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// How the writing part of a change ended, when it did not succeed.
enum Trouble {
    /// Before or outside the rollout: apply, migration, interruption.
    Failed(Failure),
    /// The rollout failed with these cards: what a rollback answers.
    RolloutFailed {
        failure: Failure,
        cards: Vec<FailureCard>,
    },
    /// A canary failed its analysis; it was removed, stable untouched.
    Aborted(Failure),
    /// A canary passed every step and waits for a person (`manualPromotion`).
    Paused,
}

impl Pipeline<'_> {
    fn client(&self) -> &kube::Client {
        &self.conn.client
    }

    fn namespace(&self) -> &str {
        &self.env.namespace.name
    }

    fn history(&self) -> ReleaseHistory {
        ReleaseHistory::new(
            self.client(),
            self.namespace(),
            &self.env.name,
            self.redactor.clone(),
        )
    }

    fn new_report(&self, version: &str) -> DeployReport {
        DeployReport {
            environment: self.env.name.clone(),
            namespace: self.namespace().to_string(),
            version: version.to_string(),
            cluster: self.conn.source.clone(),
            dry_run: self.settings.dry_run,
            ..DeployReport::default()
        }
    }

    fn apply_options(&self, dry_run: bool) -> ApplyOptions {
        ApplyOptions {
            dry_run,
            force_conflicts: self.force_conflicts,
            skip_kinds: self.skip_kinds.clone(),
            stop: Some(self.stop.subscribe()),
            kinds: Some(self.kinds.clone()),
            planned: None,
        }
    }

    /// Locks, plans, confirms, records, applies, waits; on a failed rollout
    /// keeps the evidence and rolls back when asked to. Returns the report
    /// and how it ended.
    pub async fn run(
        mut self,
        change: ReleaseChange,
    ) -> (DeployReport, Result<ExitStatus, Failure>) {
        let started = Instant::now();
        let mut report = self.new_report(&change.version);
        let doing = Doing::default();
        doing.set("connecting");
        let watchdog = liveness::watch(
            self.client().clone(),
            self.conn.server.clone(),
            self.namespace().to_string(),
            self.stop.clone(),
            {
                let doing = doing.clone();
                move || doing.get()
            },
        );
        let result = self.run_inner(&change, &mut report, &doing).await;
        watchdog.abort();
        report.elapsed = started.elapsed();
        if let Err(failure) = &result {
            if report.outcome == Outcome::Planned || report.outcome == Outcome::Unchanged {
                report.outcome = outcome_of(failure.status);
            }
            report.error = Some(ReportError::from(failure));
        }
        (report, result)
    }

    async fn run_inner(
        &mut self,
        change: &ReleaseChange,
        report: &mut DeployReport,
        doing: &Doing,
    ) -> Result<ExitStatus, Failure> {
        // The lock comes first, so neither the migration decision nor the
        // plan can go stale under another run; a dry run writes nothing and
        // takes none. On a first deploy the namespace (where the lock lives)
        // does not exist yet: the lock is then taken, creating it, once the
        // plan is confirmed.
        doing.set("taking the deploy lock");
        let mut guard = if self.settings.dry_run || self.namespace_missing {
            None
        } else {
            self.take_lock(false).await?
        };
        let result = self
            .plan_and_execute(change, report, &mut guard, doing)
            .await;
        // After a success, the release history beyond its limit is pruned
        // while the lock is released: neither waits for the other.
        let prune_history = async {
            if result.is_ok()
                && report.outcome == Outcome::Succeeded
                && self.api_lost_grace().is_none()
            {
                self.prune_history().await;
            }
        };
        if let Some(guard) = guard {
            let grace = self.api_lost_grace();
            let release = async {
                match grace {
                    // The API server is gone: one short try, then the Lease's
                    // TTL frees the lock (never a wait on a dead server).
                    Some(grace) => tokio::time::timeout(grace, guard.release()).await.ok(),
                    None => Some(guard.release().await),
                }
            };
            let (released, ()) = tokio::join!(release, prune_history);
            let Some(released) = released else {
                self.reporter.warn(
                    "the deploy lock was not released (no API server); it expires after its TTL",
                );
                return result;
            };
            match released {
                Ok(()) => {}
                // Already reported as the reason the run stopped.
                Err(LockError::Lost { .. })
                    if matches!(self.stop.reason(), Some(StopReason::LockLost(_))) => {}
                Err(e) => self
                    .reporter
                    .warn(&format!("releasing the deploy lock: {e}")),
            }
        } else {
            prune_history.await;
        }
        result
    }

    async fn plan_and_execute(
        &mut self,
        change: &ReleaseChange,
        report: &mut DeployReport,
        guard: &mut Option<LockGuard>,
        doing: &Doing,
    ) -> Result<ExitStatus, Failure> {
        // What these credentials may do is checked before anything else
        // asks the API server to do it (the plan's dry run too), alongside
        // the migration decision; then the plan, what prune would delete and
        // the prerequisites, at once.
        doing.set("checking permissions");
        let candidates: Vec<Manifest> = change
            .manifests
            .iter()
            .cloned()
            .chain(match &change.migration {
                MigrationPolicy::WhenVersionChanges { job, .. } => Some(job.clone()),
                MigrationPolicy::Never => None,
            })
            .collect();
        let (decided, permitted) = tokio::join!(
            self.decide_migration(change),
            self.check_permissions(&candidates)
        );
        permitted?;
        let mut migration_job = decided?;
        let planned: Vec<Manifest> = change
            .manifests
            .iter()
            .cloned()
            .chain(migration_job.clone())
            .collect();
        let whole: Vec<Manifest> = planned
            .iter()
            .chain(&change.unknown_secrets)
            .cloned()
            .collect();
        doing.set("planning");
        let namespaces = [self.namespace().to_string(), "kube-system".to_string()];
        let prunable = async {
            if self.settings.prune {
                prune::find_prunable_in(
                    &self.kinds,
                    self.client(),
                    &self.env.name,
                    &namespaces,
                    &change.full_set,
                    change.components.as_deref(),
                )
                .await
                .map_err(|e| Failure::unreachable(e.to_string()))
            } else {
                Ok(Vec::new())
            }
        };
        let options = self.apply_options(true);
        let (plan, prunable, prerequisites, canary) = tokio::join!(
            apply::plan(self.client(), &planned, &options),
            prunable,
            self.check_prerequisites(&whole),
            self.canary_reads(change)
        );
        let plan = plan.map_err(|e| self.stopped_or(Failure::from(e)))?;
        let prunable = prunable?;
        report.plan = plan
            .into_iter()
            .map(|mut c| {
                if c.action == PlannedAction::Change || c.action == PlannedAction::Create {
                    c.diff = diff::object_diff(
                        &c.display,
                        c.live.as_ref(),
                        c.desired.as_ref(),
                        &self.key,
                    );
                }
                c
            })
            .chain(change.unknown_secrets.iter().map(|m| PlannedChange {
                display: m.display(),
                kind: m.kind().to_string(),
                name: m.name().to_string(),
                namespace: m.namespace().map(str::to_string),
                action: PlannedAction::Unknown,
                fields: Vec::new(),
                live: None,
                desired: None,
                diff: None,
            }))
            .collect();
        report.prune = prunable;
        self.reporter.plan(&report.plan, &report.prune);
        // Everything the cluster must already have: checked before the first write.
        prerequisites?;
        // A canary left by an earlier run goes first; then whether this
        // deploy runs one (said with the plan).
        self.canary_first(change, canary?, report, guard.is_some())
            .await?;
        if let (Some(job), MigrationPolicy::WhenVersionChanges { check, .. }) =
            (&migration_job, &change.migration)
        {
            doing.set("checking the migration's SQL");
            let input = super::migration_check::CheckInput {
                env: self.env,
                job,
                namespace_missing: self.namespace_missing,
                // A canary decided above (not one that fell back to rolling).
                canary: report.canary.is_some(),
                flags: *check,
            };
            let (checked, verdict) =
                super::migration_check::run(self.client(), input, &self.stop, self.reporter).await;
            report.migration_check = checked;
            verdict?;
        }

        let changes = report
            .plan
            .iter()
            .filter(|c| matches!(c.action, PlannedAction::Create | PlannedAction::Change))
            .count();
        if self.settings.dry_run {
            self.reporter.status(
                "Dry run",
                &format!(
                    "{changes} object(s) would change, {} would be pruned; nothing was written",
                    report.prune.len()
                ),
            );
            return Ok(ExitStatus::Success);
        }
        if changes == 0 && report.prune.is_empty() && migration_job.is_none() {
            report.outcome = Outcome::Unchanged;
            self.reporter.status(
                "Unchanged",
                &format!("{} is already at this configuration", self.env.name),
            );
            return Ok(ExitStatus::Success);
        }
        if self.env.release.protected && !self.settings.yes {
            self.confirmer.confirm(&Question::TypeName {
                environment: self.env.name.clone(),
                namespace: self.namespace().to_string(),
                action: change.description.clone(),
            })?;
        }
        let pending_claim = self.pending_claim.take();
        if guard.is_none() {
            doing.set("taking the deploy lock");
            *guard = self.take_lock(true).await?;
            // Taken only now (a first deploy): decide again under it. The
            // claim is written meanwhile: it does not depend on the decision.
            let claim = async {
                if self.stop.is_stopped() {
                    return Err(self.stop_failure("before anything was written"));
                }
                match &pending_claim {
                    Some(pending) => self.record_claim(pending).await,
                    None => Ok(()),
                }
            };
            let (decided, claimed) = tokio::join!(self.decide_migration(change), claim);
            migration_job = decided?;
            claimed?;
        } else {
            // Held since before the plan: a `--force-unlock` may have taken
            // it meanwhile, and a run that lost its lock writes nothing —
            // not even a record (it would mark the new holder's revision
            // abandoned).
            self.ensure_lock("its first write; nothing was written")
                .await?;
            if self.stop.is_stopped() {
                return Err(self.stop_failure("before anything was written"));
            }
            if let Some(pending) = &pending_claim {
                self.record_claim(pending).await?;
            }
        }
        // The digest key and the history's abandoned revisions (whose
        // listing also numbers the new revision) do not wait for each other.
        let store_key = async {
            if self.key_stored {
                return Ok(None);
            }
            digest_key::store(self.client(), self.namespace(), &self.key)
                .await
                .map(Some)
                .map_err(|e| {
                    Failure::unreachable(format!(
                        "storing the digest key Secret {}: {}",
                        digest_key::SECRET_NAME,
                        crate::cluster::api_message(&e)
                    ))
                })
        };
        let history = self.history();
        let (stored, abandoned) = tokio::join!(store_key, history.abandon_deploying_numbering());
        let next_revision = match abandoned {
            Ok((abandoned, next)) => {
                if !abandoned.is_empty() {
                    self.reporter.warn(&format!(
                        "revision(s) {} were left `deploying` by a run that died; marked abandoned",
                        join(&abandoned)
                    ));
                    report.abandoned = abandoned;
                }
                next
            }
            // A failed key store ends the run below; it is what is said.
            Err(_) if stored.is_err() => None,
            Err(e) => {
                self.reporter
                    .warn(&format!("checking for abandoned revisions: {e}"));
                None
            }
        };
        // Said after: the revisions were marked even when the key was not stored.
        if let Some(key) = stored? {
            self.key = key;
            self.key_stored = true;
        }
        self.execute_with_rollback(change, migration_job, report, doing, next_revision)
            .await
    }

    /// Records that the cluster is this environment's. A claim changed by
    /// another run since it was read is read and judged again; any other
    /// failure to write it is warned about (the deploy itself is allowed).
    async fn record_claim(&self, pending: &super::connect::PendingClaim) -> Result<(), Failure> {
        let by = format!(
            "{}@{}",
            self.settings.identity.user, self.settings.identity.host
        );
        let result = target::claim(
            self.client(),
            pending.seen.as_ref(),
            &self.env.name,
            &by,
            &self.conn.server,
        )
        .await;
        match result {
            Ok(()) => {
                self.reporter.status(
                    "Claimed",
                    &format!(
                        "the cluster at {} for `{}` ({}/ConfigMap {})",
                        self.conn.server,
                        self.env.name,
                        target::CLAIM_NAMESPACE,
                        target::CLAIM_NAME
                    ),
                );
                Ok(())
            }
            Err(e) if crate::cluster::is_status(&e, 409) => {
                // Claimed by another run while this one planned: judged again.
                let now = target::read_claim(self.client()).await.ok().flatten();
                match now {
                    Some(c) if c.environments.contains(&self.env.name) => Ok(()),
                    // `--allow-other-cluster` (the claim named others already).
                    Some(_)
                        if pending
                            .seen
                            .as_ref()
                            .is_some_and(|c| !c.environments.is_empty()) =>
                    {
                        self.reporter.warn(&format!(
                            "the cluster's claim changed while this run planned; `{}` is not recorded in it",
                            self.env.name
                        ));
                        Ok(())
                    }
                    Some(c) => Err(Failure::refused(format!(
                        "refusing to change `{}`: the cluster at {} was claimed for {} while this run planned; nothing was written",
                        self.env.name,
                        self.conn.server,
                        c.environments.join(", ")
                    ))),
                    None => Ok(()),
                }
            }
            Err(e) => {
                self.reporter.warn(&format!(
                    "cannot record the cluster's claim for `{}` ({}/ConfigMap {}): {}",
                    self.env.name,
                    target::CLAIM_NAMESPACE,
                    target::CLAIM_NAME,
                    crate::cluster::api_message(&e)
                ));
                Ok(())
            }
        }
    }

    /// The migration Job to run, if any: when the live api-gateway runs
    /// another version (or does not exist), unless `--skip-migrations`.
    async fn decide_migration(&self, change: &ReleaseChange) -> Result<Option<Manifest>, Failure> {
        let MigrationPolicy::WhenVersionChanges { job, skip, .. } = &change.migration else {
            return Ok(None);
        };
        let live = super::shared::live_version(self.client(), self.namespace()).await?;
        if live.as_deref() == Some(change.version.as_str()) {
            self.reporter.detail(&format!(
                "api-gateway already runs {}: no migration",
                change.version
            ));
            return Ok(None);
        }
        if *skip {
            self.reporter.warn(&format!(
                "--skip-migrations: not running Job/{} although the version changes ({} → {})",
                job.name(),
                live.as_deref().unwrap_or("none"),
                change.version
            ));
            return Ok(None);
        }
        Ok(Some(job.clone()))
    }

    async fn check_prerequisites(&self, planned: &[Manifest]) -> Result<(), Failure> {
        let missing = prerequisites::missing(self.client(), planned, &self.skip_kinds)
            .await
            .map_err(Failure::unreachable)?;
        if !missing.is_empty() {
            return Err(Failure::refused(format!(
                "{} object(s) the release needs are not in the cluster; nothing was written",
                missing.len()
            ))
            .with_details(missing.iter().map(ToString::to_string).collect()));
        }
        Ok(())
    }

    /// Every verb on every resource the run needs, asked of the API server
    /// (prune's deletes too, for the kinds the release manages).
    async fn check_permissions(&self, planned: &[Manifest]) -> Result<(), Failure> {
        let check = prerequisites::permissions(
            self.client(),
            &self.kinds,
            self.namespace(),
            planned,
            self.settings.prune,
            &self.skip_kinds,
        )
        .await;
        match check {
            prerequisites::PermissionCheck::Allowed => Ok(()),
            prerequisites::PermissionCheck::Unknown(why) => {
                self.reporter
                    .detail(&format!("permissions not checked in advance: {why}"));
                Ok(())
            }
            prerequisites::PermissionCheck::Denied(denied) => Err(Failure::refused(format!(
                "these credentials may not do {} thing(s) the deploy needs; nothing was written",
                denied.len()
            ))
            .with_details(denied)),
        }
    }

    /// The deploy lock; `--force-unlock` breaks a held one after saying
    /// whose it is and asking. `None` when the namespace does not exist and
    /// `create_namespace` is false; `create_namespace` is only asked for
    /// once the namespace was seen missing, so it is created straight away.
    async fn take_lock(&self, create_namespace: bool) -> Result<Option<LockGuard>, Failure> {
        let holder = LockHolder::current(&self.settings.identity);
        let options = LockOptions {
            lease_duration: self.settings.lock_ttl,
            force: false,
            on_lost: Some(self.stop.clone()),
        };
        let ns = self.namespace();
        let attempt = if create_namespace {
            lock::acquire_in_new_namespace(self.client(), ns, holder.clone(), &options).await
        } else {
            lock::acquire(self.client(), ns, holder.clone(), &options).await
        };
        let guard = match attempt {
            Ok(guard) => guard,
            Err(LockError::NamespaceMissing { .. }) if !create_namespace => return Ok(None),
            Err(LockError::Held { holder: other, .. }) if self.settings.force_unlock => {
                self.reporter.warn(&format!(
                    "--force-unlock: breaking the deploy lock held by {other}"
                ));
                if !self.settings.yes {
                    self.confirmer.confirm(&Question::YesNo {
                        question: format!("Break the deploy lock of {other}?"),
                        unattended: format!(
                            "refusing to break the lock of {other} without confirmation; pass --yes with --force-unlock"
                        ),
                        declined: "the lock was not broken".to_string(),
                    })?;
                }
                let options = LockOptions {
                    force: true,
                    ..options
                };
                lock::acquire(self.client(), ns, holder, &options).await?
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(expired) = guard.expired() {
            self.reporter
                .warn(&format!("took over an expired deploy lock of {expired}"));
        }
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(guard.checker(Some(self.stop.clone())));
        Ok(Some(guard))
    }

    /// The failure a stop (signal, timeout, lost lock or API server) means,
    /// said with where the run was.
    fn stop_failure(&self, whereabouts: &str) -> Failure {
        Failure::stopped(&self.stop, whereabouts)
    }

    /// Before a write: is the lock still ours? When another run took it, the
    /// run is stopped and this says so (never a write on a lost lock).
    async fn ensure_lock(&self, before: &str) -> Result<(), Failure> {
        // A run the watchdog (a lost API server) or the lock's renewal
        // already stopped does not wait out another request deadline.
        if matches!(
            self.stop.reason(),
            Some(StopReason::ApiLost(_) | StopReason::LockLost(_))
        ) {
            return Err(self.stop_failure(&format!("stopped before {before}")));
        }
        let check = self.held.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(check) = check {
            let held = tokio::select! {
                held = check.still_held() => held.is_ok(),
                reason = self.stop.stopped() => !matches!(
                    reason,
                    StopReason::ApiLost(_) | StopReason::LockLost(_)
                ),
            };
            if !held {
                return Err(self.stop_failure(&format!("stopped before {before}")));
            }
        }
        Ok(())
    }

    /// `failure`, unless the run was stopped: then the stop says why.
    fn stopped_or(&self, failure: Failure) -> Failure {
        match self.stop.reason() {
            Some(StopReason::ApiLost(_) | StopReason::LockLost(_)) => self
                .stop_failure(&failure.message)
                .with_details(failure.details),
            _ => failure,
        }
    }

    async fn execute_with_rollback(
        &self,
        change: &ReleaseChange,
        migration_job: Option<Manifest>,
        report: &mut DeployReport,
        doing: &Doing,
        next_revision: Option<u32>,
    ) -> Result<ExitStatus, Failure> {
        let history = self.history();
        let (mut record, result) = self
            .execute_recorded(change, migration_job.as_ref(), report, doing, next_revision)
            .await?;
        let revision = record.revision;
        // A successful execution checked the lock as its last step
        // ("declaring the release deployed"): pruning and recording follow
        // at once, without asking the API server again.
        match result {
            Ok(()) => {
                report.outcome = Outcome::Succeeded;
                self.prune_after_success(report).await;
                // The release is live: trouble recording it is a warning,
                // never a failed deploy.
                // Raced with the watchdog: an API server that froze right
                // after the rollout is not waited for to the full deadline.
                // (A signal now does not cut the record short: it is the
                // last short step of a release that is live.)
                let api_lost = async {
                    match self.stop.stopped().await {
                        StopReason::ApiLost(_) => {}
                        _ => std::future::pending().await,
                    }
                };
                let finished = tokio::select! {
                    r = history.finish(&mut record, ReleaseStatus::Succeeded, &[]) => Some(r),
                    () = api_lost => None,
                };
                match finished {
                    Some(Ok(Some(warning))) => self.reporter.warn(&warning),
                    Some(Ok(None)) => {}
                    Some(Err(e)) => {
                        self.reporter.warn(&format!(
                            "the deploy succeeded but its release record could not be saved: {e}"
                        ));
                        self.note_api_gone(&e.to_string()).await;
                    }
                    None => self.reporter.warn(&format!(
                        "the deploy succeeded but revision {} could not be recorded as succeeded ({}); the next deploy marks it abandoned",
                        record.revision,
                        self.stop
                            .reason()
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| "stopped".into())
                    )),
                }
                // The old records are pruned alongside the lock's release
                // (`run_inner`): nothing waits for them.
                Ok(ExitStatus::Success)
            }
            Err(Trouble::Aborted(failure)) => {
                report.outcome = Outcome::Aborted;
                self.finish_quietly(&mut record, ReleaseStatus::Aborted, &[])
                    .await;
                Err(failure)
            }
            Err(Trouble::Paused) => {
                report.outcome = Outcome::Paused;
                self.finish_quietly(&mut record, ReleaseStatus::Paused, &[])
                    .await;
                Ok(ExitStatus::Success)
            }
            Err(Trouble::Failed(failure)) => {
                report.outcome = outcome_of(failure.status);
                if failure.status == ExitStatus::Interrupted {
                    record.description = format!("{} (interrupted)", record.description);
                }
                self.finish_quietly(&mut record, ReleaseStatus::Failed, &[])
                    .await;
                Err(failure)
            }
            Err(Trouble::RolloutFailed { failure, cards }) => {
                report.outcome = Outcome::Failed;
                if !self.settings.rollback_on_failure || self.stop.is_stopped() {
                    self.finish_quietly(&mut record, ReleaseStatus::Failed, &cards)
                        .await;
                    return Err(failure);
                }
                // Evidence first: a rollback replaces the failing pods.
                report.bundle = self.write_evidence(&change.version, revision, &cards).await;
                self.finish_quietly(&mut record, ReleaseStatus::Failed, &cards)
                    .await;
                let rollback = self.roll_back_after_failure(revision, doing).await;
                let rollback_ok = rollback
                    .as_ref()
                    .is_some_and(|r| r.outcome == Outcome::Succeeded);
                if rollback_ok {
                    if let Err(e) = history
                        .update_status(revision, ReleaseStatus::RolledBack)
                        .await
                    {
                        self.reporter
                            .warn(&format!("marking revision {revision} rolled back: {e}"));
                    }
                    report.outcome = Outcome::RolledBack;
                }
                let words = match &rollback {
                    Some(r) if rollback_ok => format!(
                        "rolled back to revision {} (version {}), running again as revision {}{}",
                        r.rolled_back_from
                            .map(|r| r.to_string())
                            .unwrap_or_default(),
                        r.version,
                        r.revision.map(|r| r.to_string()).unwrap_or_default(),
                        r.schema_ahead
                            .as_ref()
                            .map(|s| format!("; {s}"))
                            .unwrap_or_default(),
                    ),
                    Some(r) => format!(
                        "the rollback to version {} failed too ({})",
                        r.version,
                        r.error
                            .as_ref()
                            .map(|e| e.message.clone())
                            .unwrap_or_else(|| format!("{:?}", r.outcome))
                    ),
                    None => "no earlier successful revision to roll back to".to_string(),
                };
                report.rollback = rollback.map(Box::new);
                Err(Failure::failed(format!("{}; {words}", failure.message))
                    .with_details(failure.details))
            }
        }
    }

    /// Begins the change's release record, executes the change, and
    /// returns the record (not yet finished) with how the execution went.
    async fn execute_recorded(
        &self,
        change: &ReleaseChange,
        migration_job: Option<&Manifest>,
        report: &mut DeployReport,
        doing: &Doing,
        next_revision: Option<u32>,
    ) -> Result<(ReleaseRecord, Result<(), Trouble>), Failure> {
        let mut record = ReleaseRecord::begin(
            &self.env.name,
            self.namespace(),
            &change.version,
            &change.full_set,
            change.description.clone(),
            &self.settings.identity,
            &self.key,
        );
        record.rolled_back_from = change.rolled_back_from;
        record.migration_check = report.migration_check.clone();
        match next_revision {
            Some(revision) => self.history().create_at(&mut record, revision).await?,
            None => self.history().create(&mut record).await?,
        }
        report.revision = Some(record.revision);
        let result = self.execute(change, migration_job, report, doing).await;
        record.migration = report.migration.clone();
        record.canary = report
            .canary
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok());
        Ok((record, result))
    }

    /// A cleanup write failed after the release went live: when the API
    /// server does not answer a short probe either, the run counts it as
    /// lost (the watchdog's reason), so the lock's release gets one short
    /// try and the history is not pruned, instead of a full request
    /// deadline each. The release itself stays a success.
    async fn note_api_gone(&self, what_failed: &str) {
        if self.stop.is_stopped()
            || liveness::answers(
                self.client(),
                self.namespace(),
                std::time::Duration::from_secs(2),
            )
            .await
        {
            return;
        }
        self.stop.stop(StopReason::ApiLost(format!(
            "lost the API server at {} after the rollout ({what_failed})",
            self.conn.server
        )));
    }

    /// After the API server was lost, cleanup writes (the record, the
    /// lock) get one short try instead of the full request deadline.
    fn api_lost_grace(&self) -> Option<std::time::Duration> {
        matches!(self.stop.reason(), Some(StopReason::ApiLost(_)))
            .then_some(std::time::Duration::from_secs(2))
    }

    /// Finishes a record of a run that did not succeed; a failure to save
    /// it is a warning (the run's own failure is what matters).
    async fn finish_quietly(
        &self,
        record: &mut ReleaseRecord,
        status: ReleaseStatus,
        cards: &[FailureCard],
    ) {
        // The lock's new holder owns the history now: it marks this
        // revision abandoned; writing it here could overwrite its work.
        if matches!(self.stop.reason(), Some(StopReason::LockLost(_))) {
            self.reporter.warn(&format!(
                "revision {} is left `deploying`: the deploy lock was taken over, and the next deploy marks it abandoned",
                record.revision
            ));
            return;
        }
        let finished = match self.api_lost_grace() {
            Some(grace) => {
                match tokio::time::timeout(grace, self.history().finish(record, status, cards))
                    .await
                {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err("no answer".to_string()),
                }
            }
            None => self
                .history()
                .finish(record, status, cards)
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = finished {
            if matches!(self.stop.reason(), Some(StopReason::ApiLost(_))) {
                self.reporter.warn(&format!(
                    "revision {} could not be recorded as {status} (no API server); the next deploy marks it abandoned",
                    record.revision
                ));
            } else {
                self.reporter.warn(&format!(
                    "could not record the outcome of revision {}: {e}",
                    record.revision
                ));
            }
        }
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
        let evidence = bundle::collect(
            self.client(),
            self.namespace(),
            &self.env.name,
            version,
            Some(revision),
            cards,
        )
        .await;
        match bundle::write(&evidence, &self.settings.bundle_dir, &self.redactor) {
            Ok(path) => {
                self.reporter.status(
                    "Evidence",
                    &format!("debug bundle written to {}", path.display()),
                );
                Some(path.display().to_string())
            }
            Err(e) => {
                self.reporter
                    .warn(&format!("could not write the debug bundle: {e}"));
                None
            }
        }
    }

    /// Re-applies the last successful revision before `failed`, as a new
    /// revision, without migrations and without asking again: the same
    /// record-execute-finish path as any change.
    async fn roll_back_after_failure(&self, failed: u32, doing: &Doing) -> Option<DeployReport> {
        let target = match self.history().latest_successful(Some(failed)).await {
            Ok(Some(target)) => target,
            Ok(None) => {
                self.reporter
                    .warn("no earlier successful revision: nothing to roll back to");
                return None;
            }
            Err(e) => {
                self.reporter
                    .warn(&format!("the rollback failed: reading the history: {e}"));
                return None;
            }
        };
        self.reporter.status(
            "Rolling back",
            &format!(
                "to revision {} (version {})",
                target.revision, target.version
            ),
        );
        let change = rollback_change(&target, None);
        let mut report = self.new_report(&change.version);
        report.rolled_back_from = Some(target.revision);
        // Migrations never run backwards: say when the old version goes
        // back onto a newer schema (a manual rollback asks first).
        match self.history().list().await {
            Ok(listing) => {
                let moved = records::migrations_since(&listing.records, target.revision);
                if !moved.is_empty() {
                    let words = format!(
                        "the database schema stays ahead of version {}: migrations ran in revision(s) {} and are not undone",
                        target.version,
                        join(&moved)
                    );
                    self.reporter.warn(&words);
                    report.schema_ahead = Some(words);
                }
            }
            Err(e) => self.reporter.warn(&format!(
                "cannot tell whether migrations ran since revision {}: {e}",
                target.revision
            )),
        }
        let (mut record, result) = match self
            .execute_recorded(&change, None, &mut report, doing, None)
            .await
        {
            Ok(done) => done,
            Err(failure) => {
                report.outcome = outcome_of(failure.status);
                report.error = Some(ReportError::from(failure));
                return Some(report);
            }
        };
        let (status, cards) = match result {
            Ok(()) => {
                report.outcome = Outcome::Succeeded;
                (ReleaseStatus::Succeeded, Vec::new())
            }
            Err(Trouble::RolloutFailed { cards, failure }) => {
                report.outcome = Outcome::Failed;
                report.error = Some(ReportError::from(failure));
                (ReleaseStatus::Failed, cards)
            }
            Err(Trouble::Failed(failure) | Trouble::Aborted(failure)) => {
                report.outcome = outcome_of(failure.status);
                report.error = Some(ReportError::from(failure));
                (ReleaseStatus::Failed, Vec::new())
            }
            // A rollback runs no canary.
            Err(Trouble::Paused) => (ReleaseStatus::Failed, Vec::new()),
        };
        self.finish_quietly(&mut record, status, &cards).await;
        Some(report)
    }

    /// Time left before the command's deadline.
    fn remaining(&self, started: Instant) -> Duration {
        self.settings
            .timeout
            .checked_sub(started.elapsed())
            .unwrap_or(Duration::from_millis(1))
            .max(Duration::from_millis(1))
    }

    /// Applies the phases up to the data stores and waits for those, runs
    /// the migration, applies the rest, and waits for the workloads that
    /// changed.
    async fn execute(
        &self,
        change: &ReleaseChange,
        migration_job: Option<&Manifest>,
        report: &mut DeployReport,
        doing: &Doing,
    ) -> Result<(), Trouble> {
        let started = Instant::now();
        let mut options = self.apply_options(false);
        options.planned = Some(std::sync::Arc::new(
            report
                .plan
                .iter()
                .map(|c| ((c.display.clone(), c.namespace.clone()), c.action))
                .collect(),
        ));
        let (before, after): (Vec<Manifest>, Vec<Manifest>) = change
            .manifests
            .iter()
            .filter(|m| m.phase() != Phase::Migration)
            .cloned()
            .partition(|m| m.phase() < Phase::Migration);

        doing.set("applying the phases before the migration");
        let applied_before = self.apply_stage(&before, &options, report).await?;
        if let Some(job) = migration_job {
            // The migration connects to the data stores: they must be up.
            let stores: Vec<AppliedObject> = applied_before
                .iter()
                .filter(|o| o.kind == "StatefulSet")
                .filter(|o| {
                    before
                        .iter()
                        .any(|m| m.name() == o.name && m.phase() == Phase::DataStores)
                })
                .cloned()
                .collect();
            let pending = self.data_stores_not_ready(&before).await;
            let to_wait: Vec<AppliedObject> =
                stores
                    .into_iter()
                    .chain(pending)
                    .fold(Vec::new(), |mut acc, o| {
                        if !acc.iter().any(|a: &AppliedObject| a.name == o.name) {
                            acc.push(o);
                        }
                        acc
                    });
            if !to_wait.is_empty() {
                doing.set("waiting for the data stores");
                self.wait(&to_wait, started, report).await?;
            }
            self.ensure_lock("the migration")
                .await
                .map_err(Trouble::Failed)?;
            doing.set(format!("running the migration Job/{}", job.name()));
            let outcome = self.migrate(job, &change.version, started).await?;
            report.migration = Some(outcome.clone());
            if !outcome.succeeded {
                return Err(Trouble::Failed(migration_failure(&outcome)));
            }
        }
        if report.canary.is_some() {
            return self
                .execute_canary(change, after, &options, report, doing, started)
                .await;
        }
        doing.set("applying the workloads");
        let applied = self.apply_stage(&after, &options, report).await?;
        doing.set("waiting for the rollouts");
        self.wait(&applied, started, report).await?;
        self.ensure_lock("declaring the release deployed")
            .await
            .map_err(Trouble::Failed)?;
        self.reporter.status(
            "Deployed",
            &format!(
                "{} to {} ({})",
                change.version,
                self.env.name,
                self.namespace()
            ),
        );
        Ok(())
    }

    /// The data-store StatefulSets of `manifests` that exist but are not
    /// rolled out (applied unchanged, yet not ready: the migration must
    /// wait for them all the same).
    async fn data_stores_not_ready(&self, manifests: &[Manifest]) -> Vec<AppliedObject> {
        use k8s_openapi::api::apps::v1::StatefulSet;
        let api: kube::Api<StatefulSet> =
            kube::Api::namespaced(self.client().clone(), self.namespace());
        let stores: Vec<&Manifest> = manifests
            .iter()
            .filter(|m| m.phase() == Phase::DataStores && m.kind() == "StatefulSet")
            .collect();
        // Read at once, judged in manifest order.
        let live = futures::future::join_all(stores.iter().map(|m| api.get_opt(m.name()))).await;
        let mut pending = Vec::new();
        for (m, live) in stores.into_iter().zip(live) {
            if let Ok(Some(sts)) = live
                && !crate::cluster::rollout::statefulset_state(&sts).is_complete()
            {
                pending.push(AppliedObject {
                    display: m.display(),
                    kind: "StatefulSet".into(),
                    name: m.name().to_string(),
                    namespace: Some(self.namespace().to_string()),
                    action: apply::Action::Configured,
                    generation: sts.metadata.generation,
                });
            }
        }
        pending
    }

    async fn wait(
        &self,
        applied: &[AppliedObject],
        started: Instant,
        report: &mut DeployReport,
    ) -> Result<(), Trouble> {
        let waited = super::rollouts::wait(
            self.client(),
            self.namespace(),
            applied,
            self.remaining(started),
            Some(self.stop.subscribe()),
            self.reporter,
        )
        .await;
        for r in waited.rollouts {
            match report
                .rollouts
                .iter_mut()
                .find(|o| o.workload == r.workload)
            {
                Some(existing) => *existing = r,
                None => report.rollouts.push(r),
            }
        }
        report.failures.extend(waited.cards.iter().cloned());
        match waited.failure {
            None => Ok(()),
            Some(failure) if !waited.cards.is_empty() => Err(Trouble::RolloutFailed {
                failure,
                cards: waited.cards,
            }),
            Some(failure) if self.stop.is_stopped() => Err(Trouble::Failed(
                self.stop_failure("everything was applied; the rollouts continue in the cluster")
                    .with_details(failure.details),
            )),
            Some(failure) if failure.status == ExitStatus::Failed => Err(Trouble::RolloutFailed {
                failure,
                cards: Vec::new(),
            }),
            Some(failure) => Err(Trouble::Failed(self.stopped_or(failure))),
        }
    }

    async fn apply_stage(
        &self,
        manifests: &[Manifest],
        options: &ApplyOptions,
        report: &mut DeployReport,
    ) -> Result<Vec<AppliedObject>, Trouble> {
        if manifests.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_lock("applying")
            .await
            .map_err(Trouble::Failed)?;
        if self.stop.is_stopped() {
            return Err(Trouble::Failed(self.stop_failure(&format!(
                "{} object(s) applied so far",
                report.applied.len()
            ))));
        }
        match apply::apply_set(self.client(), manifests, options, self.reporter).await {
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
                if self.stop.is_stopped() {
                    let last = match &err {
                        ApplyError::Interrupted {
                            last_phase: Some(p),
                            ..
                        } => format!("after the {} phase", p.name()),
                        ApplyError::Interrupted { .. } => "before the first phase".to_string(),
                        other => other.to_string(),
                    };
                    return Err(Trouble::Failed(self.stop_failure(&format!(
                        "stopped {last}, never half a phase; {} object(s) applied",
                        report.applied.len()
                    ))));
                }
                Err(Trouble::Failed(self.stopped_or(Failure::from(err))))
            }
        }
    }

    async fn migrate(
        &self,
        job: &Manifest,
        version: &str,
        started: Instant,
    ) -> Result<MigrationOutcome, Trouble> {
        let opts = MigrationOptions {
            rerun: false,
            timeout: self.remaining(started),
            thresholds: Thresholds::default(),
        };
        let run = migration::run_job(self.client(), self.namespace(), job, &opts, self.reporter);
        let outcome = tokio::select! {
            outcome = run => outcome.map_err(|e| Trouble::Failed(self.stopped_or(Failure::from(e))))?,
            _ = self.stop.stopped() => {
                return Err(Trouble::Failed(self.stop_failure(&format!(
                    "while Job/{} was running; it keeps running in the cluster, no workload was changed",
                    job.name()
                ))));
            }
        };
        if outcome.succeeded {
            self.reporter.status(
                "Migrated",
                &if outcome.already_done {
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
    async fn prune_after_success(&self, report: &mut DeployReport) {
        if report.prune.is_empty() {
            return;
        }
        match prune::prune_in(&self.kinds, self.client(), &report.prune).await {
            Ok(deleted) => {
                for object in &deleted {
                    self.reporter.status("Pruned", &object.display());
                }
                report.pruned = deleted;
            }
            Err(e) => self.reporter.warn(&format!("pruning: {e}")),
        }
    }

    async fn prune_history(&self) {
        let keep = self.env.release.history_limit;
        match self.history().prune(keep).await {
            Ok(deleted) if !deleted.is_empty() => {
                self.reporter.detail(&format!(
                    "deleted release records of revisions {} (keeping {keep})",
                    join(&deleted)
                ));
            }
            Ok(_) => {}
            Err(e) => self
                .reporter
                .warn(&format!("pruning the release history: {e}")),
        }
    }
}

fn join(numbers: &[u32]) -> String {
    numbers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn outcome_of(status: ExitStatus) -> Outcome {
    match status {
        ExitStatus::Interrupted => Outcome::Interrupted,
        ExitStatus::Refused => Outcome::Refused,
        _ => Outcome::Failed,
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
    Failure::failed(format!(
        "the migration Job/{} failed; no workload was changed",
        outcome.job
    ))
    .with_details(details)
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
        migration: MigrationPolicy::Never,
        full_set,
        components,
        rolled_back_from: Some(target.revision),
        unknown_secrets: Vec::new(),
        canary: None,
    }
}
