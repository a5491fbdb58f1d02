//! The deploy lock as the run holds it: taken (creating the namespace on
//! a first deploy), checked before every write, and what a stop becomes.

use super::*;

impl Pipeline<'_> {
    /// The deploy lock; `--force-unlock` breaks a held one after saying
    /// whose it is and asking. `None` when the namespace does not exist and
    /// `create_namespace` is false; `create_namespace` is only asked for
    /// once the namespace was seen missing, so it is created straight away.
    pub(super) async fn take_lock(
        &self,
        create_namespace: bool,
    ) -> Result<Option<LockGuard>, Failure> {
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
    pub(super) fn stop_failure(&self, whereabouts: &str) -> Failure {
        Failure::stopped(&self.stop, whereabouts)
    }

    /// Before a write: is the lock still ours? When another run took it, the
    /// run is stopped and this says so (never a write on a lost lock).
    pub(super) async fn ensure_lock(&self, before: &str) -> Result<(), Failure> {
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
    pub(super) fn stopped_or(&self, failure: Failure) -> Failure {
        match self.stop.reason() {
            Some(StopReason::ApiLost(_) | StopReason::LockLost(_)) => self
                .stop_failure(&failure.message)
                .with_details(failure.details),
            _ => failure,
        }
    }
}
