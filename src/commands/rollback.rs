//! `fintechctl rollback`: an earlier successful revision re-applied through
//! the same operation as a deploy.

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, RollbackSettings};
use crate::ui::reporters::{TerminalConfirmer, TerminalReporter, summary_table};
use crate::ui::{Printer, emit};

pub fn run(
    settings: &RollbackSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.change.timeout);
        let reporter = TerminalReporter::new(printer);
        let confirmer = TerminalConfirmer {
            yes: settings.change.yes,
        };
        ops::rollback::rollback(settings, &reporter, &confirmer, &common.redactor, stop).await
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
