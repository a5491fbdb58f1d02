//! `fintechctl diff`: what a deploy would change, as a unified diff of the
//! live object against the server's dry-run result. Exit 0 when nothing
//! would change and 1 when something would, as `kubectl diff`.

use crate::exit::{ExitStatus, Failure};
use crate::ops;
use crate::settings::{Common, DiffSettings};
use crate::ui::reporters::TerminalReporter;
use crate::ui::{Printer, emit};

pub fn run(
    settings: &DiffSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let reporter = TerminalReporter::new(printer);
    let report = runtime.block_on(ops::diff::diff(settings, &reporter))?;
    emit(printer, common.output, &report, |r| {
        r.objects.iter().filter_map(|d| d.diff.clone()).collect()
    });
    if report.changed == 0 {
        printer.status(
            "No changes",
            format!("{} matches the rendered release", report.environment),
        );
        Ok(ExitStatus::Success)
    } else {
        printer.status(
            "Differs",
            format!("{} object(s) would change", report.changed),
        );
        Ok(ExitStatus::Failed)
    }
}
