//! `fintechctl verify`: the checks, a table worst first (or one `-o json`
//! document), and the verdict as the exit status.

use std::time::Duration;

use crate::checks::prometheus::BakeRound;
use crate::checks::{CheckResult, Status};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops::verify::{self, VerifyReport, VerifyReporter};
use crate::redact::Redactor;
use crate::settings::{Common, VerifySettings};
use crate::ui::{Printer, emit};

/// Status lines on stderr as checks finish.
pub struct VerifyLines<'a> {
    pub printer: &'a Printer,
}

impl crate::ui::PrintsTo for VerifyLines<'_> {
    fn printer(&self) -> &crate::ui::Printer {
        self.printer
    }
}

impl VerifyReporter for VerifyLines<'_> {
    fn learned_secrets(&self, redactor: &Redactor) {
        self.printer.redact_with(redactor.clone());
    }
    fn check_done(&self, result: &CheckResult) {
        self.printer.status_toned(
            crate::ui::Tone::of(result.status),
            result.status.as_str(),
            format!("{}: {}", result.id, result.summary),
        );
        for line in &result.evidence {
            self.printer.detail(format!("    {line}"));
        }
    }
    fn bake_round(&self, elapsed: Duration, total: Duration, round: &BakeRound) {
        let state = if !round.crossed.is_empty() {
            format!("crossed: {}", round.crossed.join("; "))
        } else if !round.errors.is_empty() {
            format!("query failed: {}", round.errors.join("; "))
        } else {
            "all below threshold".to_string()
        };
        self.printer.status(
            "Baking",
            format!(
                "{} of {}: {state}",
                crate::human::duration(elapsed),
                crate::human::duration(total)
            ),
        );
    }
}

pub fn run(
    settings: &VerifySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        let reporter = VerifyLines { printer };
        verify::verify(settings, &reporter, &common.redactor, stop).await
    });
    emit(printer, common.output, &report, table);
    match result {
        Ok(ExitStatus::Failed) => {
            printer.error(failure_line(&report), &[]);
            Ok(ExitStatus::Failed)
        }
        other => other,
    }
}

fn failure_line(report: &VerifyReport) -> String {
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail || (report.strict && c.status == Status::Warn))
        .map(|c| c.id.as_str())
        .collect();
    let bake = report
        .bake
        .as_ref()
        .filter(|b| b.failed())
        .map(|b| format!("; bake failed: {}", b.summary))
        .unwrap_or_default();
    if failed.is_empty() {
        format!("verify {} failed{bake}", report.environment)
    } else {
        format!(
            "verify {}: {} did not pass{}{bake}",
            report.environment,
            failed.join(", "),
            if report.strict { " (--strict)" } else { "" }
        )
    }
}

/// The table: check, result, time, summary; under it the evidence and
/// hint of each check that did not pass.
pub fn table(report: &VerifyReport) -> String {
    if report.checks.is_empty() {
        return String::new();
    }
    let mut t = crate::ui::table(&["CHECK", "RESULT", "TIME", "SUMMARY"], &[3], None);
    for c in &report.checks {
        t.add_row([
            c.id.clone(),
            c.status.as_str().to_uppercase(),
            if c.status == Status::Skipped {
                "-".to_string()
            } else {
                crate::human::duration(c.elapsed)
            },
            c.summary.clone(),
        ]);
    }
    let mut out = format!("{t}\n");
    for c in report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
    {
        out.push_str(&format!("\n{} ({}):\n", c.id, c.status.as_str()));
        for line in &c.evidence {
            out.push_str(&format!("  • {line}\n"));
        }
        if let Some(hint) = &c.hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
    }
    if let Some(bake) = &report.bake {
        out.push_str(&format!(
            "\nbake ({}): {}\n",
            bake.status.as_str(),
            bake.summary
        ));
        for line in &bake.evidence {
            out.push_str(&format!("  • {line}\n"));
        }
    }
    out
}
