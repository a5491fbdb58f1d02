//! The terminal side of the domain modules' reporter traits: indicatif bars
//! on a terminal, one plain line per state change otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use comfy_table::{Table, presets::NOTHING};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity};
use crate::cluster::apply::{
    Action, AppliedObject, ApplyError, ApplyReporter, PlannedAction, PlannedChange,
};
use crate::cluster::diagnosis::FailureCard;
use crate::cluster::migration::MigrationReporter;
use crate::cluster::prune::OwnedObject;
use crate::cluster::wait::{RolloutOutcome, RolloutReporter};
use crate::exit::Failure;
use crate::ops::{Confirmer, DeployReporter, Question};
use crate::render::Phase;

/// Reports applies as one line per object that changed (`-v`: every object).
pub struct ApplyLines<'a> {
    pub printer: &'a Printer,
}

impl ApplyReporter for ApplyLines<'_> {
    fn phase_started(&self, phase: Phase, objects: usize) {
        self.printer
            .detail(format!("phase {}: {objects} object(s)", phase.name()));
    }
    fn object_applied(&self, object: &AppliedObject) {
        let verb = match object.action {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => {
                self.printer.detail(format!("{} unchanged", object.display));
                return;
            }
            Action::Skipped => "skipped",
        };
        self.printer
            .status("Applied", format!("{} {verb}", object.display));
    }
    fn object_failed(&self, _display: &str, error: &ApplyError) {
        // The error names its object already.
        self.printer.warn(error.to_string());
    }
}

/// Streams the migration's output, indented, on stderr.
pub struct MigrationLines<'a> {
    pub printer: &'a Printer,
}

impl MigrationReporter for MigrationLines<'_> {
    fn started(&self, job: &str) {
        self.printer
            .status("Migrating", format!("Job/{job}: alembic upgrade head"));
    }
    fn log_line(&self, line: &str) {
        self.printer.stream_line("    │ ", line);
    }
}

/// Rollout progress: a bar per workload on a terminal, plain lines otherwise.
pub struct RolloutProgress<'a> {
    printer: &'a Printer,
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last: Mutex<HashMap<String, String>>,
}

impl<'a> RolloutProgress<'a> {
    pub fn new(printer: &'a Printer) -> Self {
        let multi = (printer.fancy && printer.verbosity >= Verbosity::Normal)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            printer,
            multi,
            bars: Mutex::default(),
            last: Mutex::default(),
        }
    }

    fn bar(&self, name: &str, desired: u64) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let mut bars = self.bars.lock().unwrap();
        let bar = bars.entry(name.to_string()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(desired));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} {prefix:<28} [{bar:20.cyan/blue}] {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Some(bar.clone())
    }

    /// A workload's state; plain mode prints only when it changed.
    pub fn progress(&self, name: &str, ready: i32, desired: i32, message: &str) {
        if let Some(bar) = self.bar(name, desired.max(0) as u64) {
            bar.set_length(desired.max(0) as u64);
            bar.set_position(ready.max(0) as u64);
            bar.set_message(super::printable(&self.printer.redactor().scrub(message)).into_owned());
            return;
        }
        let line = format!(
            "{name}: {ready}/{desired} ready{}",
            if message.is_empty() {
                String::new()
            } else {
                format!(" ({message})")
            }
        );
        let mut last = self.last.lock().unwrap();
        if last.get(name) != Some(&line) {
            last.insert(name.to_string(), line.clone());
            self.printer.status("Waiting", line);
        }
    }

    pub fn complete(&self, name: &str, elapsed: Duration) {
        if let Some(bar) = self.bars.lock().unwrap().get(name) {
            bar.finish_with_message(format!("ready in {}", short_duration(elapsed)));
            return;
        }
        self.printer
            .status("Ready", format!("{name} in {}", short_duration(elapsed)));
    }

    pub fn failed(&self, name: &str, reason: &str) {
        if let Some(bar) = self.bars.lock().unwrap().get(name) {
            bar.abandon_with_message(format!(
                "failed: {}",
                super::printable(&self.printer.redactor().scrub(reason))
            ));
            return;
        }
        self.printer
            .status_toned(super::Tone::Bad, "Failed", format!("{name}: {reason}"));
    }
}

/// `4.2s`, `1m05s`.
pub fn short_duration(d: Duration) -> String {
    crate::human::duration(d)
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

/// The terminal's side of a deploy or rollback: status lines, the plan,
/// applies, the migration's output, rollout bars and failure cards.
pub struct TerminalReporter<'a> {
    pub printer: &'a Printer,
    progress: RolloutProgress<'a>,
}

impl<'a> TerminalReporter<'a> {
    pub fn new(printer: &'a Printer) -> Self {
        Self {
            printer,
            progress: RolloutProgress::new(printer),
        }
    }
}

impl super::PrintsTo for TerminalReporter<'_> {
    fn printer(&self) -> &super::Printer {
        self.printer
    }
}

impl ApplyReporter for TerminalReporter<'_> {
    fn phase_started(&self, phase: Phase, objects: usize) {
        ApplyLines {
            printer: self.printer,
        }
        .phase_started(phase, objects);
    }
    fn object_applied(&self, object: &AppliedObject) {
        ApplyLines {
            printer: self.printer,
        }
        .object_applied(object);
    }
    fn object_failed(&self, display: &str, error: &ApplyError) {
        ApplyLines {
            printer: self.printer,
        }
        .object_failed(display, error);
    }
}

impl MigrationReporter for TerminalReporter<'_> {
    fn started(&self, job: &str) {
        MigrationLines {
            printer: self.printer,
        }
        .started(job);
    }
    fn log_line(&self, line: &str) {
        MigrationLines {
            printer: self.printer,
        }
        .log_line(line);
    }
}

impl RolloutReporter for TerminalReporter<'_> {
    fn workload_progress(&self, name: &str, ready: i32, desired: i32, message: &str) {
        self.progress.progress(name, ready, desired, message);
    }
    fn workload_complete(&self, name: &str, elapsed: Duration) {
        self.progress.complete(name, elapsed);
    }
    fn workload_failed(&self, name: &str, reason: &str) {
        self.progress.failed(name, reason);
    }
}

impl DeployReporter for TerminalReporter<'_> {
    fn plan(&self, plan: &[PlannedChange], prune: &[OwnedObject]) {
        print_plan(self.printer, plan, prune);
    }
    fn failure_card(&self, card: &FailureCard) {
        print_card(self.printer, card);
    }
}

/// Questions asked at the terminal (dialoguer); `--yes` answers them all.
pub struct TerminalConfirmer {
    pub yes: bool,
}

impl Confirmer for TerminalConfirmer {
    fn confirm(&self, question: &Question) -> Result<(), Failure> {
        if self.yes {
            return Ok(());
        }
        match question {
            Question::TypeName {
                environment,
                namespace,
                action,
            } => super::prompt::type_to_confirm(
                &format!(
                    "About to {action} in {environment} ({namespace}). Type `{environment}` to confirm"
                ),
                environment,
            ),
            Question::YesNo {
                question,
                unattended,
                declined,
            } => super::prompt::yes_no(false, question, unattended, declined),
        }
    }
}

/// The plan on stderr: counts, then one line per change (`-v`: the diffs).
pub fn print_plan(printer: &Printer, plan: &[PlannedChange], prunable: &[OwnedObject]) {
    let count = |a: PlannedAction| plan.iter().filter(|c| c.action == a).count();
    let optional = |n: usize, words: &str| match n {
        0 => String::new(),
        n => format!(", {n} {words}"),
    };
    printer.status(
        "Plan",
        format!(
            "{} to create, {} to change, {} unchanged{}{}{}",
            count(PlannedAction::Create),
            count(PlannedAction::Change),
            count(PlannedAction::Unchanged),
            optional(count(PlannedAction::Skip), "skipped"),
            optional(
                count(PlannedAction::Unknown),
                "unknown (secret values not given)"
            ),
            optional(prunable.len(), "to prune after the rollout"),
        ),
    );
    for change in plan {
        match change.action {
            PlannedAction::Create => printer.status("+ create", &change.display),
            PlannedAction::Change => {
                let fields = if change.fields.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", change.fields.join(", "))
                };
                printer.status("~ change", format!("{}{fields}", change.display));
                if let Some(diff) = &change.diff {
                    printer.detail(diff.trim_end());
                }
            }
            PlannedAction::Skip => printer.status("- skip", &change.display),
            PlannedAction::Unknown => printer.status(
                "? unknown",
                format!("{} (secret values not given)", change.display),
            ),
            PlannedAction::Unchanged => printer.detail(format!("  unchanged {}", change.display)),
        }
    }
    for object in prunable {
        printer.status("- prune", object.display());
    }
}

/// The summary table: workload, revision, ready/desired, state, time taken.
pub fn summary_table(rollouts: &[RolloutOutcome]) -> String {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["WORKLOAD", "REVISION", "READY", "STATE", "TIME"]);
    for r in rollouts {
        let state = match &r.state {
            crate::cluster::rollout::RolloutState::Complete => "complete",
            crate::cluster::rollout::RolloutState::Progressing { .. } => "progressing",
            crate::cluster::rollout::RolloutState::Failed { .. } => "failed",
        };
        table.add_row([
            r.workload.clone(),
            r.revision.clone().unwrap_or_else(|| "-".into()),
            format!("{}/{}", r.ready, r.desired),
            state.to_string(),
            short_duration(r.elapsed),
        ]);
    }
    format!("{table}\n")
}

/// One failure card on stderr: what failed, where, why, and the evidence.
pub fn print_card(printer: &Printer, card: &FailureCard) {
    let (title, details) = card_lines(card);
    printer.error_block(title, &details);
}

/// A failure card's title and its indented lines: what `print_card` shows
/// and what the triage builds on.
pub fn card_lines(card: &FailureCard) -> (String, Vec<String>) {
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
    (
        format!("{} failed: {}", card.workload, card.reason),
        details,
    )
}
