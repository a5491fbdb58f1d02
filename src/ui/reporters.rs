//! The terminal side of the domain modules' reporter traits: indicatif bars
//! on a terminal, one plain line per state change otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity};
use crate::cluster::apply::{Action, AppliedObject, ApplyError, ApplyReporter};
use crate::cluster::migration::MigrationReporter;
use crate::render::Phase;

/// Reports applies as one line per object that changed (`-v`: every object).
pub struct ApplyLines<'a> {
    pub printer: &'a Printer,
}

impl ApplyReporter for ApplyLines<'_> {
    fn phase_started(&self, phase: Phase, objects: usize) {
        self.printer
            .detail(format!("phase {phase:?}: {objects} object(s)"));
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
    fn object_failed(&self, display: &str, error: &ApplyError) {
        self.printer.warn(format!("{display}: {error}"));
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
        if self.printer.verbosity >= Verbosity::Normal {
            eprintln!("    │ {line}");
        }
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
            bar.set_message(message.to_string());
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
            bar.abandon_with_message(format!("failed: {reason}"));
            return;
        }
        self.printer.status("Failed", format!("{name}: {reason}"));
    }
}

/// `4.2s`, `1m05s`.
pub fn short_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
