//! `fintechctl deploy`: the release, already resolved and validated with
//! the settings, through the deploy operation; the summary (or the `-o
//! json` report) at the end.

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, DeploySettings};
use crate::ui::reporters::{TerminalConfirmer, TerminalReporter, summary_table};
use crate::ui::{Printer, emit};

pub fn run(
    settings: &DeploySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    for note in &settings.release.notes {
        printer.status("Note", note);
    }
    for finding in &settings.release.warnings {
        printer.warn(crate::release::describe_finding(finding));
    }
    let runtime = super::runtime()?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.change.timeout);
        let reporter = TerminalReporter::new(printer);
        let confirmer = TerminalConfirmer {
            yes: settings.change.yes,
        };
        ops::deploy::deploy(settings, &reporter, &confirmer, &common.redactor, stop).await
    });
    emit(printer, common.output, &report, |r| {
        if r.rollouts.is_empty() {
            String::new()
        } else {
            summary_table(&r.rollouts)
        }
    });
    result
}
