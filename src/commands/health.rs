//! `fintechctl health`: one screen of what is up and what is down; with
//! `--watch` the screen is redrawn in place on a terminal (one JSON
//! document per line and round with `-o json`).

use crate::checks::Status;
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops::health::{self, HealthReport, HealthReporter};
use crate::redact::Redactor;
use crate::settings::{Common, HealthSettings};
use crate::ui::OutputFormat;
use crate::ui::{Printer, emit};

struct HealthScreen<'a> {
    printer: &'a Printer,
    output: OutputFormat,
    watch: bool,
}

impl crate::ui::PrintsTo for HealthScreen<'_> {
    fn printer(&self) -> &crate::ui::Printer {
        self.printer
    }
}

impl HealthReporter for HealthScreen<'_> {
    fn learned_secrets(&self, redactor: &Redactor) {
        self.printer.redact_with(redactor.clone());
    }
    fn round(&self, report: &HealthReport) {
        if !self.watch {
            return;
        }
        match self.output {
            OutputFormat::Json => match serde_json::to_string(report) {
                Ok(line) => self.printer.data(&(line + "\n")),
                Err(e) => self
                    .printer
                    .error(format!("cannot encode the result: {e}"), &[]),
            },
            OutputFormat::Yaml => emit(self.printer, self.output, report, |_| String::new()),
            OutputFormat::Text => {
                // On a terminal the screen is redrawn in place; in a pipe each
                // round follows the last.
                let clear = if self.printer.fancy {
                    "\x1b[H\x1b[2J"
                } else {
                    ""
                };
                // The screen's own escape, then the round made printable.
                let round = format!(
                    "{} round {} ({})\n{}",
                    report.environment,
                    report.round,
                    k8s_openapi::jiff::Timestamp::now().strftime("%H:%M:%S"),
                    table(report)
                );
                self.printer
                    .data_styled(&format!("{clear}{}", crate::ui::printable(&round)));
            }
        }
    }
}

pub fn run(
    settings: &HealthSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let watch = settings.watch.is_some();
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        let reporter = HealthScreen {
            printer,
            output: common.output,
            watch,
        };
        health::health(settings, &reporter, &common.redactor, stop).await
    });
    if !watch && !report.checks.is_empty() {
        emit(printer, common.output, &report, table);
    }
    match result {
        Ok(ExitStatus::Failed) => {
            let down: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.id.as_str())
                .collect();
            printer.error(
                format!("{} is unhealthy: {}", report.environment, down.join(", ")),
                &[],
            );
            Ok(ExitStatus::Failed)
        }
        other => other,
    }
}

/// What, state, how long, and the summary; the evidence of what is not up below.
pub fn table(report: &HealthReport) -> String {
    let mut t = crate::ui::table(&["WHAT", "STATE", "TIME", "DETAIL"], &[3], None);
    for c in &report.checks {
        let state = match c.status {
            Status::Pass => "up",
            Status::Warn => "degraded",
            Status::Fail => "DOWN",
            Status::Skipped => "-",
        };
        t.add_row([
            c.id.clone(),
            state.to_string(),
            crate::human::duration(c.elapsed),
            c.summary.clone(),
        ]);
    }
    let mut out = format!("{t}\n");
    for c in report.checks.iter().filter(|c| c.status == Status::Fail) {
        out.push_str(&format!("\n{}:\n", c.id));
        for line in &c.evidence {
            out.push_str(&format!("  • {line}\n"));
        }
        if let Some(hint) = &c.hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
    }
    out
}
