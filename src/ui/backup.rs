//! The terminal side of backup, verify and restore: status lines, a byte
//! counter with the rate on a terminal (indicatif), a plain progress line
//! every few seconds otherwise, and the summary tables.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use comfy_table::{Table, presets::NOTHING};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity};
use crate::backup::{PartKind, Progress};
use crate::human;
use crate::ops::backup::{BackupReporter, ListReport, PartOutcome, PartStatus};
use crate::redact::Redactor;

/// Plain mode prints progress at most this often.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub struct BackupTerminal<'a> {
    printer: &'a Printer,
    bar: Mutex<Option<(String, ProgressBar)>>,
    last_plain: Mutex<Option<Instant>>,
}

impl<'a> BackupTerminal<'a> {
    pub fn new(printer: &'a Printer) -> Self {
        Self {
            printer,
            bar: Mutex::new(None),
            last_plain: Mutex::new(None),
        }
    }

    fn clear_bar(&self) {
        if let Some((_, bar)) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

impl super::PrintsTo for BackupTerminal<'_> {
    fn printer(&self) -> &super::Printer {
        self.printer
    }
}

fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 0.05 {
        return String::new();
    }
    format!(", {}/s", human::bytes((bytes as f64 / secs) as u64))
}

impl Progress for BackupTerminal<'_> {
    fn progress(&self, part: &str, read: u64, written: u64, elapsed: Duration) {
        if self.printer.verbosity < Verbosity::Normal {
            return;
        }
        let shown = if read > 0 { read } else { written };
        if self.printer.fancy {
            let mut slot = self.bar.lock().unwrap_or_else(|p| p.into_inner());
            if slot.as_ref().is_none_or(|(p, _)| p != part) {
                if let Some((_, old)) = slot.take() {
                    old.finish_and_clear();
                }
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner:.green} {prefix:>12} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(part.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                *slot = Some((part.to_string(), bar));
            }
            if let Some((_, bar)) = slot.as_ref() {
                bar.set_message(format!("{}{}", human::bytes(shown), rate(shown, elapsed)));
            }
            return;
        }
        let mut last = self.last_plain.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) && elapsed >= PLAIN_EVERY {
            *last = Some(Instant::now());
            self.printer.status(
                "Progress",
                format!("{part}: {}{}", human::bytes(shown), rate(shown, elapsed)),
            );
        }
    }
}

impl BackupReporter for BackupTerminal<'_> {
    fn part_started(&self, part: PartKind, what: &str) {
        self.printer.status("Starting", format!("{part}: {what}"));
    }
    fn part_finished(&self, outcome: &PartOutcome) {
        self.clear_bar();
        let part = outcome.part;
        match outcome.status {
            PartStatus::Done => self.printer.status(
                "Done",
                format!(
                    "{part}: {}{} in {}{}",
                    outcome.file.as_deref().unwrap_or(""),
                    if outcome.size > 0 {
                        format!(" ({})", human::bytes(outcome.size))
                    } else {
                        String::new()
                    },
                    human::duration(outcome.elapsed),
                    rate(outcome.raw_size, outcome.elapsed)
                ),
            ),
            PartStatus::Skipped => self.printer.status(
                "Skipped",
                format!("{part}: {}", outcome.message.as_deref().unwrap_or("")),
            ),
            PartStatus::Failed => self.printer.error(
                format!("{part}: {}", outcome.message.as_deref().unwrap_or("failed")),
                &outcome.details,
            ),
        }
    }
    fn learn(&self, redactor: &Redactor) {
        self.printer.redact_with(redactor.clone());
    }
}

/// PART, STATUS, FILE, SIZE, TIME, RATE.
pub fn parts_table(parts: &[PartOutcome]) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["PART", "STATUS", "FILE", "SIZE", "TIME", "RATE"]);
    for p in parts {
        let status = match p.status {
            PartStatus::Done => "done",
            PartStatus::Failed => "failed",
            PartStatus::Skipped => "skipped",
        };
        table.add_row([
            p.part.to_string(),
            status.to_string(),
            p.file.clone().unwrap_or_else(|| "-".into()),
            if p.size > 0 {
                human::bytes(p.size)
            } else {
                "-".into()
            },
            human::duration(p.elapsed),
            if p.bytes_per_second > 0 {
                format!("{}/s", human::bytes(p.bytes_per_second))
            } else {
                "-".into()
            },
        ]);
    }
    format!("{table}\n")
}

/// ID, TIME, SIZE, PARTS, STATUS, VERSION.
pub fn list_table(report: &ListReport) -> String {
    if report.backups.is_empty() {
        return format!("no backups of {} in {}\n", report.environment, report.store);
    }
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["ID", "TIME", "SIZE", "PARTS", "STATUS", "VERSION"]);
    for b in &report.backups {
        let status = match b.status {
            crate::ops::backup::ListedStatus::Complete => "complete",
            crate::ops::backup::ListedStatus::Verified => "verified",
            crate::ops::backup::ListedStatus::Incomplete => "incomplete",
            crate::ops::backup::ListedStatus::Corrupt => "corrupt",
        };
        table.add_row([
            b.id.clone(),
            b.time.clone(),
            human::bytes(b.size),
            b.parts.join(","),
            status.to_string(),
            b.version.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    format!("{table}\n")
}
