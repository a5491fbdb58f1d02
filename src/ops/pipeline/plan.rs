//! The plan: under the lock, the migration decided, the plan with what
//! prune would delete, the prerequisites and permissions checked, the
//! confirmation, the cluster's claim and the release record before the
//! first write.

use super::*;

impl Pipeline<'_> {
    pub(super) async fn plan_and_execute(
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
        // Under a lock held since before the plan, the history is read
        // alongside it (the next revision, a dead run's `deploying` ones).
        let history = self.history();
        let numbering = async {
            if guard.is_some() && !self.settings.dry_run {
                Some(history.numbering().await)
            } else {
                None
            }
        };
        let (plan, prunable, prerequisites, canary, numbering) = tokio::join!(
            apply::plan(self.client(), &planned, &options),
            prunable,
            self.check_prerequisites(&whole),
            self.canary_reads(change),
            numbering
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
            let input = crate::ops::migration_check::CheckInput {
                env: self.env,
                job,
                namespace_missing: self.namespace_missing,
                // A canary decided above (not one that fell back to rolling).
                canary: report.canary.is_some(),
                flags: *check,
            };
            let (checked, verdict) =
                crate::ops::migration_check::run(self.client(), input, &self.stop, self.reporter)
                    .await;
            report.migration_check = checked;
            verdict?;
        }

        let changes = report
            .plan
            .iter()
            .filter(|c| matches!(c.action, PlannedAction::Create | PlannedAction::Change))
            .count();
        if self.settings.dry_run {
            // The migration check's offline Jobs are the one thing a dry run
            // runs in the cluster (deleted again): said, not hidden.
            let checked = report
                .migration_check
                .as_ref()
                .is_some_and(|c| c.status != crate::migration_lint::CheckStatus::Skipped);
            self.reporter.status(
                "Dry run",
                &format!(
                    "{changes} object(s) would change, {} would be pruned; nothing of the release was written{}",
                    report.prune.len(),
                    if checked {
                        " (the migration check's offline Jobs ran and were deleted)"
                    } else {
                        ""
                    }
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
        // A lock taken only now (a first deploy): the migration is decided
        // again under it.
        let decide_again = guard.is_none();
        if guard.is_none() {
            doing.set("taking the deploy lock");
            if self.stop.is_stopped() {
                return Err(self.stop_failure("before anything was written"));
            }
            // A first deploy: the namespace is created and the lock taken
            // while the cluster's claim is written (in kube-system; it
            // depends on neither). The migration is decided again under
            // the lock, below.
            let claim = async {
                match &pending_claim {
                    Some(pending) => self.record_claim(pending).await,
                    None => Ok(()),
                }
            };
            let (taken, claimed) = tokio::join!(self.take_lock(true), claim);
            *guard = taken?;
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
                    Failure::api(
                        format!("storing the digest key Secret {}", digest_key::SECRET_NAME),
                        &e,
                    )
                })
        };
        let listed = async {
            let numbering = match numbering {
                Some(read) => read?,
                None => history.numbering().await?,
            };
            let abandoned = history.abandon(numbering.deploying.clone()).await?;
            Ok::<_, records::RecordsError>((abandoned, numbering))
        };
        // Decided again under the lock taken only now (a first deploy),
        // alongside the key and the history.
        let decided = async {
            if decide_again {
                Some(self.decide_migration(change).await)
            } else {
                None
            }
        };
        let (stored, listed, decided) = tokio::join!(store_key, listed, decided);
        if let Some(decided) = decided {
            migration_job = decided?;
        }
        let numbering = match listed {
            Ok((abandoned, numbering)) => {
                if !abandoned.is_empty() {
                    self.reporter.warn(&format!(
                        "revision(s) {} were left `deploying` by a run that died; marked abandoned",
                        join(&abandoned)
                    ));
                    report.abandoned = abandoned;
                }
                Some(numbering)
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
        self.execute_with_rollback(change, migration_job, report, doing, numbering)
            .await
    }

    /// Records that the cluster is this environment's. A claim changed by
    /// another run since it was read is read and judged again; any other
    /// failure to write it is warned about (the deploy itself is allowed).
    pub(super) async fn record_claim(
        &self,
        pending: &crate::ops::connect::PendingClaim,
    ) -> Result<(), Failure> {
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
    pub(super) async fn decide_migration(
        &self,
        change: &ReleaseChange,
    ) -> Result<Option<Manifest>, Failure> {
        let MigrationPolicy::WhenVersionChanges { job, skip, .. } = &change.migration else {
            return Ok(None);
        };
        let live = crate::ops::shared::live_version(self.client(), self.namespace()).await?;
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

    pub(super) async fn check_prerequisites(&self, planned: &[Manifest]) -> Result<(), Failure> {
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
    pub(super) async fn check_permissions(&self, planned: &[Manifest]) -> Result<(), Failure> {
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
}
