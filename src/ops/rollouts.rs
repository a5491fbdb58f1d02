//! Waiting for the rollouts of what an apply changed: one watch per
//! namespace (the cluster-autoscaler lives in kube-system), all ended as
//! soon as one of them fails, with the failure cards and each workload's
//! state for the report.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cluster::apply::AppliedObject;
use crate::cluster::diagnosis::{FailureCard, Thresholds};
use crate::cluster::rollout::RolloutState;
use crate::cluster::wait::{self, RolloutOutcome, WaitError, WaitOptions};
use crate::exit::Failure;

use super::DeployReporter;

/// What a wait found, for the report and the exit status.
pub struct WaitResult {
    pub rollouts: Vec<RolloutOutcome>,
    /// The failure cards, for the report, the debug bundle and the release record.
    pub cards: Vec<FailureCard>,
    /// `None` when every rollout completed.
    pub failure: Option<Failure>,
}

/// Waits for the created or changed workloads among `applied`, one watch
/// per namespace (the cluster-autoscaler lives in kube-system), all ended as
/// soon as one of them fails.
pub async fn wait(
    client: &kube::Client,
    namespace: &str,
    applied: &[AppliedObject],
    timeout: Duration,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    reporter: &dyn DeployReporter,
) -> WaitResult {
    let mut groups: BTreeMap<String, Vec<AppliedObject>> = BTreeMap::new();
    for object in applied {
        let ns = object
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_string());
        groups.entry(ns).or_default().push(object.clone());
    }
    // One stop for every group: the user's Ctrl-C, or another group's failure.
    let (stop_all, stop_rx) = tokio::sync::watch::channel(false);
    let forward = stop.map(|mut user| {
        let stop_all = stop_all.clone();
        tokio::spawn(async move {
            if user.wait_for(|stopped| *stopped).await.is_ok() {
                let _ = stop_all.send(true);
            }
        })
    });
    let progress = reporter;
    let waits = groups.iter().map(|(ns, objects)| {
        let workloads = wait::changed_workloads(objects);
        let options = WaitOptions {
            timeout,
            thresholds: Thresholds::default(),
            stop: Some(stop_rx.clone()),
        };
        let stop_all = &stop_all;
        async move {
            let result = wait::wait_for_rollouts(client, ns, &workloads, &options, progress).await;
            if matches!(
                result,
                Err(WaitError::Failed { .. }
                    | WaitError::Watch { .. }
                    | WaitError::TimedOut { .. })
            ) {
                let _ = stop_all.send(true);
            }
            result
        }
    });
    let results = futures::future::join_all(waits).await;
    if let Some(task) = forward {
        task.abort();
    }
    combine(results, reporter)
}

/// One result from the per-namespace waits: a real failure wins over the
/// interruptions it caused in the other namespaces.
fn combine(
    results: Vec<Result<Vec<RolloutOutcome>, WaitError>>,
    reporter: &dyn DeployReporter,
) -> WaitResult {
    let mut outcomes: Vec<RolloutOutcome> = Vec::new();
    let mut cards: Vec<FailureCard> = Vec::new();
    let mut watch_error = None;
    let mut timed_out = None;
    let mut interrupted = false;
    for result in results {
        match result {
            Ok(done) => outcomes.extend(done),
            Err(err) => {
                outcomes.extend(err.outcomes().iter().cloned());
                match err {
                    WaitError::Failed { cards: c, .. } => cards.extend(c),
                    WaitError::Watch { .. } => watch_error = Some(err.to_string()),
                    WaitError::TimedOut { .. } => timed_out = Some(err.to_string()),
                    WaitError::Interrupted { .. } => interrupted = true,
                }
            }
        }
    }
    let failure = if !cards.is_empty() {
        for card in &cards {
            reporter.failure_card(card);
        }
        let names: Vec<&str> = cards.iter().map(|c| c.workload.as_str()).collect();
        Some(Failure::failed(format!(
            "rollout failed: {}",
            names.join(", ")
        )))
    } else if let Some(message) = watch_error {
        Some(Failure::unreachable(message))
    } else if let Some(message) = timed_out {
        Some(Failure::failed(message))
    } else if interrupted {
        for o in &outcomes {
            reporter.status(
                "Stopped",
                &format!(
                    "{} at {}/{} ready ({})",
                    o.workload,
                    o.ready,
                    o.desired,
                    state_word(&o.state)
                ),
            );
        }
        Some(Failure::from_stop(
            &crate::interrupt::StopReason::Signal("interrupt"),
            "interrupted while waiting; everything was applied and the rollouts continue in the cluster",
        ))
    } else {
        None
    };
    WaitResult {
        rollouts: outcomes,
        cards,
        failure,
    }
}

/// `complete`, `progressing: …`, `failed: reason: …`.
pub fn state_word(state: &RolloutState) -> String {
    match state {
        RolloutState::Complete => "complete".into(),
        RolloutState::Progressing { message } => format!("progressing: {message}"),
        RolloutState::Failed { reason, message } => format!("failed: {reason}: {message}"),
    }
}
