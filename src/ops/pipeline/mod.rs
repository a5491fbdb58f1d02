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
mod execute;
mod guard;
mod outcome;
mod plan;

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
            namespaces_exist: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(manifests: Vec<serde_json::Value>) -> ReleaseRecord {
        serde_json::from_value(json!({
            "revision": 3, "environment": "local", "namespace": "fintech-ai-local",
            "version": "1.4.2", "status": "succeeded", "manifests": manifests,
            "user": "u", "host": "h", "startedAt": "2026-12-06T00:00:00Z",
            "description": "deploy 1.4.2"
        }))
        .unwrap()
    }

    #[test]
    fn a_rollback_re_applies_all_but_the_secrets_and_the_migration_job() {
        let target = record(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"k": "sha256:digest"}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "db-migrate-1-4-2"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-gateway"}}),
        ]);
        let change = rollback_change(&target, Some(vec!["api-gateway".into()]));
        let names: Vec<&str> = change.manifests.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["c", "api-gateway"]);
        assert_eq!(
            change.full_set.len(),
            4,
            "prune compares with the whole set"
        );
        assert!(matches!(change.migration, MigrationPolicy::Never));
        assert_eq!(change.rolled_back_from, Some(3));
        assert_eq!(change.version, "1.4.2");
        assert_eq!(change.description, "rollback to revision 3 (1.4.2)");
        assert_eq!(change.components, Some(vec!["api-gateway".to_string()]));
    }

    #[test]
    fn a_stop_or_a_refusal_keeps_its_outcome_anything_else_failed() {
        assert_eq!(outcome_of(ExitStatus::Interrupted), Outcome::Interrupted);
        assert_eq!(outcome_of(ExitStatus::Refused), Outcome::Refused);
        for status in [
            ExitStatus::Failed,
            ExitStatus::Unreachable,
            ExitStatus::Invalid,
            ExitStatus::Child(7),
        ] {
            assert_eq!(outcome_of(status), Outcome::Failed, "{status:?}");
        }
    }

    #[test]
    fn a_failed_migration_names_its_job_exit_code_reason_and_last_lines() {
        let outcome: MigrationOutcome = serde_json::from_value(json!({
            "job": "db-migrate-1-4-2-abc", "succeeded": false, "exitCode": 3,
            "reason": "Error", "message": "boom", "lastLines": ["Traceback", "KeyError"],
            "elapsed": 1.5
        }))
        .unwrap();
        let failure = migration_failure(&outcome);
        assert_eq!(failure.status, ExitStatus::Failed);
        assert!(
            failure.message.contains("Job/db-migrate-1-4-2-abc failed"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("no workload was changed"));
        assert_eq!(
            failure.details,
            [
                "exit code: 3",
                "reason: Error: boom",
                "log: Traceback",
                "log: KeyError"
            ]
        );
        let never_ran: MigrationOutcome = serde_json::from_value(json!({
            "job": "j", "succeeded": false, "elapsed": 0.0
        }))
        .unwrap();
        assert_eq!(
            migration_failure(&never_ran).details,
            ["exit code: none (the container never ran)"]
        );
        assert_eq!(join(&[1, 2, 3]), "1, 2, 3");
    }
}
