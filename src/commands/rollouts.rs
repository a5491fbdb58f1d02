//! Waiting for rollouts from a command: the cluster's watch, the terminal's
//! progress, the failure cards and the summary table.

use std::collections::BTreeMap;
use std::time::Duration;

use comfy_table::{Table, presets::NOTHING};
use serde_json::Value;

use crate::cluster::apply::AppliedObject;
use crate::cluster::diagnosis::{FailureCard, Thresholds};
use crate::cluster::rollout::RolloutState;
use crate::cluster::wait::{self, RolloutOutcome, RolloutReporter, WaitError, WaitOptions};
use crate::exit::{ExitStatus, Failure};
use crate::ui::Printer;
use crate::ui::reporters::{RolloutProgress, short_duration};

/// What a wait found, for the report and the exit status.
pub struct WaitResult {
    pub rollouts: Vec<Value>,
    pub failures: Vec<Value>,
    /// The failure cards, for the debug bundle and the release record.
    pub cards: Vec<FailureCard>,
    /// `None` when every rollout completed.
    pub failure: Option<Failure>,
}

impl RolloutReporter for RolloutProgress<'_> {
    fn workload_progress(&self, name: &str, ready: i32, desired: i32, message: &str) {
        self.progress(name, ready, desired, message);
    }
    fn workload_complete(&self, name: &str, elapsed: Duration) {
        self.complete(name, elapsed);
    }
    fn workload_failed(&self, name: &str, reason: &str) {
        self.failed(name, reason);
    }
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
    printer: &Printer,
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
    let progress = RolloutProgress::new(printer);
    let waits = groups.iter().map(|(ns, objects)| {
        let workloads = wait::changed_workloads(objects);
        let options = WaitOptions {
            timeout,
            thresholds: Thresholds::default(),
            stop: Some(stop_rx.clone()),
        };
        let progress = &progress;
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
    drop(progress);
    combine(results, printer)
}

/// One result from the per-namespace waits: a real failure wins over the
/// interruptions it caused in the other namespaces.
fn combine(results: Vec<Result<Vec<RolloutOutcome>, WaitError>>, printer: &Printer) -> WaitResult {
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
            print_card(printer, card);
        }
        let names: Vec<&str> = cards.iter().map(|c| c.workload.as_str()).collect();
        Some(Failure::new(
            ExitStatus::Failed,
            format!("rollout failed: {}", names.join(", ")),
        ))
    } else if let Some(message) = watch_error {
        Some(Failure::new(ExitStatus::Unreachable, message))
    } else if let Some(message) = timed_out {
        Some(Failure::new(ExitStatus::Failed, message))
    } else if interrupted {
        for o in &outcomes {
            printer.status(
                "Stopped",
                format!(
                    "{} at {}/{} ready ({})",
                    o.workload,
                    o.ready,
                    o.desired,
                    state_word(&o.state)
                ),
            );
        }
        Some(Failure::new(
            ExitStatus::Interrupted,
            "interrupted while waiting; everything was applied and the rollouts continue in the cluster",
        ))
    } else {
        None
    };
    let failures = cards
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .collect();
    WaitResult {
        rollouts: to_values(&outcomes),
        failures,
        cards,
        failure,
    }
}

fn to_values(outcomes: &[RolloutOutcome]) -> Vec<Value> {
    outcomes
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .collect()
}

fn state_word(state: &RolloutState) -> String {
    match state {
        RolloutState::Complete => "complete".into(),
        RolloutState::Progressing { message } => format!("progressing: {message}"),
        RolloutState::Failed { reason, message } => format!("failed: {reason}: {message}"),
    }
}

/// One failure card on stderr: what failed, where, why, and the evidence.
pub fn print_card(printer: &Printer, card: &FailureCard) {
    let mut details = Vec::new();
    if let Some(pod) = &card.pod {
        details.push(format!(
            "pod: {pod}{}",
            card.container
                .as_ref()
                .map(|c| format!(", container: {c}"))
                .unwrap_or_default()
        ));
    }
    details.push(format!("reason: {}", card.reason));
    if !card.message.is_empty() {
        details.push(format!("message: {}", card.message));
    }
    if let Some(code) = card.exit_code {
        details.push(format!("exit code: {code}"));
    }
    if !card.logs.is_empty() {
        details.push(format!("last {} log lines:", card.logs.len()));
        details.extend(card.logs.iter().map(|l| format!("  │ {l}")));
    }
    if !card.events.is_empty() {
        details.push("recent warning events:".into());
        details.extend(card.events.iter().map(|e| format!("  • {e}")));
    }
    for missing in &card.missing {
        details.push(format!("(could not fetch {missing})"));
    }
    printer.error_block(
        format!("{} failed: {}", card.workload, card.reason),
        &details,
    );
}

/// The summary table: workload, revision, ready/desired, time taken.
pub fn summary_table(rollouts: &[Value]) -> String {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["WORKLOAD", "REVISION", "READY", "STATE", "TIME"]);
    for r in rollouts {
        // RolloutState serializes as {"state": "complete", ...}.
        let state = r["state"]["state"].as_str().unwrap_or("-").to_string();
        let elapsed = Duration::from_secs_f64(r["elapsed"].as_f64().unwrap_or(0.0));
        table.add_row([
            r["workload"].as_str().unwrap_or_default().to_string(),
            r["revision"].as_str().unwrap_or("-").to_string(),
            format!("{}/{}", r["ready"], r["desired"]),
            state,
            short_duration(elapsed),
        ]);
    }
    format!("{table}\n")
}
