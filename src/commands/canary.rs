//! `fintechctl promote` and `fintechctl abort`: a paused canary finished.

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, FinishCanarySettings};
use crate::ui::reporters::{TerminalConfirmer, TerminalReporter, summary_table};
use crate::ui::{Printer, emit};

pub fn run(
    settings: &FinishCanarySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime().map_err(|e| Failure::failed(e.to_string()))?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.timeout);
        let reporter = TerminalReporter::new(printer);
        let confirmer = TerminalConfirmer { yes: settings.yes };
        ops::canary::finish(settings, &reporter, &confirmer, &common.redactor, stop).await
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
