//! The execution: the apply in phases (data stores ready before the
//! migration, the migration before any workload), the rollout watch,
//! prune after success.

use super::*;

impl Pipeline<'_> {
    /// Time left before the command's deadline.
    pub(super) fn remaining(&self, started: Instant) -> Duration {
        self.settings
            .timeout
            .checked_sub(started.elapsed())
            .unwrap_or(Duration::from_millis(1))
            .max(Duration::from_millis(1))
    }

    /// Applies the phases up to the data stores and waits for those, runs
    /// the migration, applies the rest, and waits for the workloads that
    /// changed.
    pub(super) async fn execute(
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
                .map(|c| {
                    (
                        (c.display.clone(), c.namespace.clone()),
                        apply::Planned::of(c),
                    )
                })
                .collect(),
        ));
        // The lock lives in the namespace: it exists.
        options.namespaces_exist = true;
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
            let outcome = self
                .migrate(&report.plan, job, &change.version, started)
                .await?;
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
        // While the rollouts are waited for, the new Deployments an HPA
        // scales get their replica count co-owned for the handover, so the
        // next deploy can leave it out without one (docs/deploy.md).
        let co_own = apply::co_own_created_replicas(self.client(), &after, &applied);
        let (waited, not_co_owned) = tokio::join!(self.wait(&applied, started, report), co_own);
        if !not_co_owned.is_empty() {
            self.reporter.detail(&format!(
                "spec.replicas of {} not handed over yet; the next deploy does it",
                not_co_owned.join(", ")
            ));
        }
        waited?;
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
    pub(super) async fn data_stores_not_ready(&self, manifests: &[Manifest]) -> Vec<AppliedObject> {
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

    pub(super) async fn wait(
        &self,
        applied: &[AppliedObject],
        started: Instant,
        report: &mut DeployReport,
    ) -> Result<(), Trouble> {
        let waited = crate::ops::rollouts::wait(
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

    pub(super) async fn apply_stage(
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

    pub(super) async fn migrate(
        &self,
        plan: &[PlannedChange],
        job: &Manifest,
        version: &str,
        started: Instant,
    ) -> Result<MigrationOutcome, Trouble> {
        let opts = MigrationOptions {
            known_absent: known_absent(plan, job),
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
    pub(super) async fn prune_after_success(&self, report: &mut DeployReport) {
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

    pub(super) async fn prune_history(&self) {
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

/// Whether the plan (made under the lock) found no live object for `job`.
fn known_absent(plan: &[PlannedChange], job: &Manifest) -> bool {
    plan.iter().any(|c| {
        c.display == job.display()
            && c.namespace.as_deref() == job.namespace()
            && c.action == PlannedAction::Create
    })
}
