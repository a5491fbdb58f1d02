//! `fintechctl restore <env> ID`: checksums, plan, confirmation, lock,
//! writers down and back, the parts restored; the summary (or `-o json`).

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, RestoreSettings};
use crate::ui::backup::{BackupTerminal, parts_table};
use crate::ui::reporters::TerminalConfirmer;
use crate::ui::{Printer, emit};

pub fn run(
    settings: &RestoreSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.timeout);
        let reporter = BackupTerminal::new(printer);
        let confirmer = TerminalConfirmer { yes: settings.yes };
        ops::restore::restore(settings, &reporter, &confirmer, &common.redactor, stop).await
    });
    emit(printer, common.output, &report, |r| parts_table(&r.parts));
    result
}
