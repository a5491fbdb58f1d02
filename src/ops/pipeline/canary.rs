//! The pipeline's canary steps (docs/canary.md): what an earlier run left
//! is removed before anything else, whether this deploy runs a canary is
//! said with the plan, and the run itself between the migration and the
//! promotion. The canary's own logic is in `crate::canary`.

use std::time::Instant;

use super::{DeployReport, Doing, Pipeline, ReleaseChange, Trouble};
use crate::canary::objects;
use crate::canary::run::{self, CanaryOutcome, Decision, Ending, Run};
use crate::cluster::apply::ApplyOptions;
use crate::cluster::records::ReleaseStatus;
use crate::exit::Failure;
use crate::render::Manifest;

impl Pipeline<'_> {
    /// What [`Self::canary_first`] judges, read alongside the plan: the
    /// canary objects an earlier run left, and whether this deploy runs one.
    pub(super) async fn canary_reads(
        &self,
        change: &ReleaseChange,
    ) -> Result<(Vec<String>, Option<Decision>), Failure> {
        let ns = self.namespace();
        let left = async {
            run::leftovers(self.client(), ns, &self.env.name)
                .await
                .map_err(|e| Failure::api(format!("looking for a canary left in {ns}"), &e))
        };
        let decision = async {
            match &change.canary {
                Some(_) => run::decide(self.client(), ns, &change.manifests)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (left, decision) = tokio::join!(left, decision);
        Ok((left?, decision?))
    }

    /// Before the first write: a canary left in the cluster (a run that
    /// was stopped without reaching the API server) is removed — unless it
    /// is paused for `promote`/`abort`, which refuses the deploy. Then the
    /// decision: canary or rolling, and why.
    pub(super) async fn canary_first(
        &self,
        change: &ReleaseChange,
        (left, decision): (Vec<String>, Option<Decision>),
        report: &mut DeployReport,
        locked: bool,
    ) -> Result<(), Failure> {
        let ns = self.namespace();
        if !left.is_empty() {
            let paused = match self.history().list().await {
                Ok(listing) => listing
                    .records
                    .iter()
                    .max_by_key(|r| r.revision)
                    .filter(|r| r.status == ReleaseStatus::Paused)
                    .map(|r| (r.revision, r.version.clone())),
                Err(_) => None,
            };
            if let Some((revision, version)) = paused {
                return Err(Failure::refused(format!(
                    "refusing: the canary of {version} (revision {revision}) is paused in {}; finish it first with `fintechctl promote {env}` or `fintechctl abort {env}`; nothing was written",
                    self.env.name,
                    env = self.env.name
                )));
            }
            if self.settings.dry_run || !locked {
                self.reporter.warn(&format!(
                    "a canary left by an earlier run is in the cluster ({}); the deploy removes it first",
                    left.join(", ")
                ));
            } else {
                self.reporter.warn(&format!(
                    "a canary left by an earlier run is in the cluster ({}): removing it first",
                    left.join(", ")
                ));
                let removed = run::remove(self.client(), ns, &self.env.name)
                    .await
                    .map_err(|e| {
                        Failure::unreachable(format!(
                            "removing the canary left by an earlier run: {e}"
                        ))
                    })?;
                self.reporter.status(
                    "Canary removed",
                    &format!("weight 0, then {}", removed.join(", ")),
                );
            }
        }
        let (Some(plan), Some(decision)) = (&change.canary, decision) else {
            return Ok(());
        };
        match decision {
            Decision::Rolling(why) => {
                self.reporter
                    .status("Strategy", &format!("rolling: no canary ({why})"));
            }
            Decision::Canary(canary) => {
                self.reporter.status(
                    "Strategy",
                    &format!(
                        "canary for {}: steps {} every {}, then {}",
                        canary.services.join(", "),
                        plan.steps
                            .iter()
                            .map(|s| format!("{s}%"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        humantime::format_duration(plan.interval),
                        if plan.manual_promotion {
                            "pause for `fintechctl promote`"
                        } else {
                            "promote"
                        }
                    ),
                );
                report.canary = Some(canary);
            }
        }
        Ok(())
    }

    /// Everything but the canary's application Deployments the ordinary
    /// way, then the canary's steps; all passed → the stable Deployments
    /// roll to the new version through the ordinary rollout watch, then the
    /// canary is removed.
    pub(super) async fn execute_canary(
        &self,
        change: &ReleaseChange,
        after: Vec<Manifest>,
        options: &ApplyOptions,
        report: &mut DeployReport,
        doing: &Doing,
        started: Instant,
    ) -> Result<(), Trouble> {
        let Some(mut canary) = report.canary.take() else {
            return Ok(());
        };
        let (apps, rest): (Vec<Manifest>, Vec<Manifest>) = after.into_iter().partition(|m| {
            objects::is_app_deployment(m) && canary.services.iter().any(|s| s == m.name())
        });
        doing.set("applying everything but the application Deployments");
        let applied = self.apply_stage(&rest, options, report).await;
        let applied = match applied {
            Ok(applied) => applied,
            Err(trouble) => {
                report.canary = Some(canary);
                return Err(trouble);
            }
        };
        if let Err(trouble) = self.wait(&applied, started, report).await {
            report.canary = Some(canary);
            return Err(trouble);
        }
        if let Err(failure) = self.ensure_lock("the canary").await {
            report.canary = Some(canary);
            return Err(Trouble::Failed(failure));
        }
        let plan = change.canary.as_ref().expect("a canary has its plan");
        doing.set("running the canary");
        let mut apply = self.apply_options(false);
        apply.planned = None;
        let canary_run = Run {
            client: self.client(),
            namespace: self.namespace(),
            environment: &self.env.name,
            plan,
            release: &change.full_set,
            prometheus_url: &self.env.monitoring.prometheus_url,
            apply,
            reporter: self.reporter,
            stop: &self.stop,
            timeout: self.remaining(started),
        };
        let ending = canary_run.run(&mut canary).await;
        let result = match ending {
            Ending::Aborted(failure) => Err(Trouble::Aborted(failure)),
            // Already said with the stop's reason (`Failure::stopped`).
            Ending::Stopped(failure) => Err(Trouble::Failed(failure)),
            Ending::Paused => {
                self.reporter.status(
                    "Paused",
                    &format!(
                        "the canary of {} passed every step and keeps running; finish with `fintechctl promote {env}` or `fintechctl abort {env}`",
                        change.version,
                        env = self.env.name
                    ),
                );
                Err(Trouble::Paused)
            }
            Ending::Promote => {
                doing.set("promoting the canary");
                self.reporter.status(
                    "Promoting",
                    &format!(
                        "every step passed: the stable Deployments roll to {}",
                        change.version
                    ),
                );
                // With their HPAs: the stable replica counts stay the HPAs'.
                let promote: Vec<Manifest> = apps
                    .iter()
                    .cloned()
                    .chain(
                        objects::hpas_of(&change.manifests, &apps)
                            .into_iter()
                            .cloned(),
                    )
                    .collect();
                let promoted = match self.apply_stage(&promote, options, report).await {
                    Ok(applied) => self.wait(&applied, started, report).await,
                    Err(trouble) => Err(trouble),
                };
                // Weight 0 and the canary gone, whichever way the stable
                // rollout went (a failed one is rolled back as any other).
                canary_run.take_out().await;
                match promoted {
                    Ok(()) => {
                        canary.outcome = CanaryOutcome::Promoted;
                        match self.ensure_lock("declaring the release deployed").await {
                            Ok(()) => {
                                self.reporter.status(
                                    "Deployed",
                                    &format!(
                                        "{} to {} ({}), promoted from the canary",
                                        change.version,
                                        self.env.name,
                                        self.namespace()
                                    ),
                                );
                                Ok(())
                            }
                            Err(failure) => Err(Trouble::Failed(failure)),
                        }
                    }
                    Err(trouble) => Err(trouble),
                }
            }
        };
        report.canary = Some(canary);
        result
    }
}
