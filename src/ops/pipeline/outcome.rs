//! How a run ends: the execution recorded, the evidence of a failure
//! kept, the automatic rollback, and the record and lock when the API
//! server is gone.

use super::*;

impl Pipeline<'_> {
    pub(super) async fn execute_with_rollback(
        &self,
        change: &ReleaseChange,
        migration_job: Option<Manifest>,
        report: &mut DeployReport,
        doing: &Doing,
        numbering: Option<records::Numbering>,
    ) -> Result<ExitStatus, Failure> {
        let history = self.history();
        let next_revision = numbering.as_ref().and_then(|n| n.next);
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
                // The succeeded revisions the run's listing found are
                // marked superseded while this one is saved.
                let finish = async {
                    match numbering {
                        Some(n) => history.finish_succeeded(&mut record, n.succeeded).await,
                        None => {
                            history
                                .finish(&mut record, ReleaseStatus::Succeeded, &[])
                                .await
                        }
                    }
                };
                let finished = tokio::select! {
                    r = finish => Some(r),
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
    pub(super) async fn execute_recorded(
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
    pub(super) async fn note_api_gone(&self, what_failed: &str) {
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
    pub(super) fn api_lost_grace(&self) -> Option<std::time::Duration> {
        matches!(self.stop.reason(), Some(StopReason::ApiLost(_)))
            .then_some(std::time::Duration::from_secs(2))
    }

    /// Finishes a record of a run that did not succeed; a failure to save
    /// it is a warning (the run's own failure is what matters).
    pub(super) async fn finish_quietly(
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
    pub(super) async fn write_evidence(
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
    pub(super) async fn roll_back_after_failure(
        &self,
        failed: u32,
        doing: &Doing,
    ) -> Option<DeployReport> {
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
}
