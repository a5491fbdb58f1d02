//! `fintechctl promote` and `fintechctl abort` (docs/canary.md): a canary
//! paused after its last step (`manualPromotion`) is finished under the
//! deploy lock, its health checked again first. `promote` rolls the stable
//! Deployments to the canary's version through the ordinary rollout watch,
//! then removes the canary; `abort` removes it (weight 0 first), the stable
//! version untouched. `abort` also removes a canary an interrupted run left.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::canary::analysis::{self, AnalysisSpec, Measurement, Verdict};
use crate::canary::objects;
use crate::canary::run;
use crate::cluster::apply::{self, ApplyOptions};
use crate::cluster::lock::{self, LockHolder, LockOptions};
use crate::cluster::records::{ReleaseHistory, ReleaseStatus};
use crate::cluster::wait::RolloutOutcome;
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::render::Manifest;
use crate::settings::FinishCanarySettings;

use super::connect::connect_for_writing;
use super::shared::ReportError;
use super::{Confirmer, DeployReporter, Question};

/// The `-o json` document of `promote` and `abort`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishReport {
    pub environment: String,
    pub namespace: String,
    /// `promote` or `abort`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The canary's health, checked again before anything changes.
    pub health: Vec<Measurement>,
    pub rollouts: Vec<RolloutOutcome>,
    /// The canary objects removed.
    pub removed: Vec<String>,
    /// `promoted`, `aborted`, `failed`, `refused`, `interrupted`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
}

pub async fn finish(
    settings: &FinishCanarySettings,
    reporter: &dyn DeployReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: Stop,
) -> (FinishReport, Result<ExitStatus, Failure>) {
    let env = &settings.env;
    let mut report = FinishReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        action: if settings.promote { "promote" } else { "abort" }.to_string(),
        ..FinishReport::default()
    };
    let result = locked(settings, reporter, confirmer, redactor, &stop, &mut report).await;
    match &result {
        Ok(_) => {}
        Err(failure) => {
            report.outcome = match failure.status {
                ExitStatus::Refused => "refused",
                ExitStatus::Interrupted => "interrupted",
                _ => "failed",
            }
            .to_string();
            report.error = Some(ReportError {
                exit_code: failure.status.code(),
                message: failure.message.clone(),
                details: failure.details.clone(),
            });
        }
    }
    (report, result)
}

async fn locked(
    settings: &FinishCanarySettings,
    reporter: &dyn DeployReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: &Stop,
    report: &mut FinishReport,
) -> Result<ExitStatus, Failure> {
    let env = &settings.env;
    let (conn, _claim) = connect_for_writing(env, &settings.access, reporter).await?;
    let options = LockOptions {
        lease_duration: settings.lock_ttl,
        force: false,
        on_lost: Some(stop.clone()),
    };
    let holder = LockHolder::current(&settings.identity);
    let guard = lock::acquire(&conn.client, &env.namespace.name, holder, &options).await?;
    let result = finish_under_lock(
        settings,
        &conn.client,
        reporter,
        confirmer,
        redactor,
        stop,
        report,
    )
    .await;
    if let Err(e) = guard.release().await {
        reporter.warn(&format!("releasing the deploy lock: {e}"));
    }
    result
}

async fn finish_under_lock(
    settings: &FinishCanarySettings,
    client: &kube::Client,
    reporter: &dyn DeployReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: &Stop,
    report: &mut FinishReport,
) -> Result<ExitStatus, Failure> {
    let started = Instant::now();
    let env = &settings.env;
    let ns = env.namespace.name.as_str();
    let history = ReleaseHistory::new(client, ns, &env.name, redactor.clone());
    let listing = history.list().await?;
    let latest = listing.records.iter().max_by_key(|r| r.revision).cloned();
    let paused = latest.clone().filter(|r| r.status == ReleaseStatus::Paused);
    let left = run::leftovers(client, ns, &env.name)
        .await
        .map_err(|e| Failure::api(format!("looking for the canary in {ns}"), &e))?;
    let what = if settings.promote { "promote" } else { "abort" };
    if paused.is_none() && (settings.promote || left.is_empty()) {
        return Err(Failure::refused(format!(
            "no paused canary to {what} in {}{}",
            env.name,
            latest
                .map(|r| format!(
                    " (the latest revision, {}, is {} {})",
                    r.revision, r.version, r.status
                ))
                .unwrap_or_default()
        )));
    }
    if let Some(record) = &paused {
        report.revision = Some(record.revision);
        report.version = Some(record.version.clone());
        reporter.status(
            "Canary",
            &format!(
                "revision {} (version {}), paused; in the cluster: {}",
                record.revision,
                record.version,
                if left.is_empty() {
                    "nothing".to_string()
                } else {
                    left.join(", ")
                }
            ),
        );
    }
    // The canary's health again: its pods, and for a promotion one round
    // of the analysis.
    let services: Vec<String> = left
        .iter()
        .filter_map(|o| o.strip_prefix("Deployment/"))
        .filter_map(|n| n.strip_suffix("-canary"))
        .map(str::to_string)
        .collect();
    let mut health = run::canary_pods(client, ns).await;
    if settings.promote {
        if services.is_empty() {
            return Err(Failure::refused(format!(
                "the paused canary's Deployments are gone from {ns}: nothing to judge, so nothing is promoted; `fintechctl abort {}` closes the revision",
                env.name
            )));
        }
        let policy = &env.release.canary;
        let release: Vec<Manifest> = paused
            .iter()
            .flat_map(|r| r.manifests.iter())
            .map(|v| Manifest::new("record", v.clone()))
            .collect();
        let spec = AnalysisSpec {
            prometheus_url: env.monitoring.prometheus_url.clone(),
            namespace: ns.to_string(),
            services: services
                .iter()
                .filter(|s| run::scraped(&release, s))
                .cloned()
                .collect(),
            window: crate::canary::parse_interval(&policy.interval)
                .unwrap_or(Duration::from_secs(60)),
            thresholds: policy.analysis,
            timeout: Duration::from_secs(10),
        };
        let round = tokio::select! {
            round = async {
                if spec.services.is_empty() {
                    analysis::Round { measurements: Vec::new(), verdict: Verdict::Pass }
                } else {
                    analysis::analyse(&spec).await
                }
            } => round,
            _ = stop.stopped() => return Err(Failure::stopped(stop, "while checking the canary; nothing was changed")),
        };
        health.extend(round.measurements);
    }
    for m in &health {
        reporter.status(
            "Health",
            &format!(
                "{} {}: {} ({}){}",
                m.service,
                m.check,
                m.value.map(|v| v.to_string()).unwrap_or("no data".into()),
                match m.verdict {
                    Verdict::Pass => "pass",
                    Verdict::Fail => "fail",
                    Verdict::Inconclusive => "inconclusive",
                },
                m.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        );
    }
    report.health = health.clone();
    if settings.promote
        && let Some(bad) = health.iter().find(|m| m.verdict == Verdict::Fail)
    {
        return Err(Failure::failed(format!(
            "the canary is not healthy now ({} {}: {}); not promoted; `fintechctl abort {}` removes it",
            bad.service,
            bad.check,
            bad.value.map(|v| v.to_string()).unwrap_or("no data".into()),
            env.name
        )));
    }
    if env.release.protected && !settings.yes {
        confirmer.confirm(&Question::TypeName {
            environment: env.name.clone(),
            namespace: ns.to_string(),
            action: match &paused {
                Some(r) => format!("{what} the canary of {}", r.version),
                None => format!("{what} the canary left in the cluster"),
            },
        })?;
    }
    if stop.is_stopped() {
        return Err(Failure::stopped(stop, "before anything was changed"));
    }
    if settings.promote {
        let record = paused.clone().expect("checked above");
        let recorded: Vec<Manifest> = record
            .manifests
            .iter()
            .map(|v| Manifest::new(format!("revision {}", record.revision), v.clone()))
            .collect();
        let deployments: Vec<Manifest> = recorded
            .iter()
            .filter(|m| objects::is_app_deployment(m) && services.iter().any(|s| s == m.name()))
            .cloned()
            .collect();
        // With their HPAs: the stable replica counts stay the HPAs'.
        let apps: Vec<Manifest> = deployments
            .iter()
            .cloned()
            .chain(
                objects::hpas_of(&recorded, &deployments)
                    .into_iter()
                    .cloned(),
            )
            .collect();
        reporter.status(
            "Promoting",
            &format!("the stable Deployments roll to {}", record.version),
        );
        let options = ApplyOptions {
            stop: Some(stop.subscribe()),
            ..ApplyOptions::default()
        };
        let applied = apply::apply_set(client, &apps, &options, reporter)
            .await
            .map_err(Failure::from)?;
        let remaining = settings
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1));
        let waited = super::rollouts::wait(
            client,
            ns,
            &applied,
            remaining,
            Some(stop.subscribe()),
            reporter,
        )
        .await;
        report.rollouts = waited.rollouts;
        for card in &waited.cards {
            reporter.failure_card(card);
        }
        if let Some(failure) = waited.failure {
            // The canary stays: the stable rollout is what failed.
            return Err(Failure::new(
                failure.status,
                format!(
                    "{}; the canary still runs, `fintechctl rollback {env}` returns the stable Deployments to the last successful revision and `fintechctl abort {env}` removes the canary",
                    failure.message,
                    env = env.name
                ),
            )
            .with_details(failure.details));
        }
    }
    report.removed = run::remove(client, ns, &env.name)
        .await
        .map_err(Failure::unreachable)?;
    reporter.status(
        "Canary removed",
        &format!("weight 0, then {}", report.removed.join(", ")),
    );
    if let Some(mut record) = paused {
        let status = if settings.promote {
            ReleaseStatus::Succeeded
        } else {
            ReleaseStatus::Aborted
        };
        if let Some(canary) = record.canary.as_mut() {
            canary["outcome"] = serde_json::json!(if settings.promote {
                "promoted"
            } else {
                "aborted"
            });
        }
        match history.finish(&mut record, status, &[]).await {
            Ok(Some(warning)) => reporter.warn(&warning),
            Ok(None) => {}
            Err(e) => reporter.warn(&format!(
                "revision {} could not be recorded as {status}: {e}",
                record.revision
            )),
        }
    }
    report.outcome = if settings.promote {
        "promoted"
    } else {
        "aborted"
    }
    .to_string();
    reporter.status(
        if settings.promote {
            "Promoted"
        } else {
            "Aborted"
        },
        &match (&report.version, settings.promote) {
            (Some(v), true) => format!("{v} runs in {} ({ns})", env.name),
            (Some(v), false) => {
                format!("the canary of {v} is gone; the stable version runs untouched")
            }
            (None, _) => "the canary left in the cluster is gone".to_string(),
        },
    );
    Ok(ExitStatus::Success)
}
