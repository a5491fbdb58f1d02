//! One module per command: each takes its resolved settings (see
//! [`crate::settings`]), runs its operation (see [`crate::ops`]) with the
//! terminal's reporter and confirmer, and presents the result through the
//! [`Printer`](crate::ui::Printer).

pub mod backup;
pub mod canary;
pub mod completions;
pub mod debug;
pub mod deploy;
pub mod diff;
pub mod health;
pub mod history;
pub mod migrate;
pub mod render;
pub mod restore;
pub mod rollback;
pub mod verify;

use std::time::Duration;

use crate::cluster::wait::RolloutOutcome;
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::settings::Common;
use crate::ui::reporters::{TerminalConfirmer, TerminalReporter, summary_table};
use crate::ui::{Printer, emit};

/// Runs one writing operation on the terminal (deploy, rollback, promote,
/// abort): Ctrl-C, SIGTERM and `timeout` stop it, the terminal's reporter
/// and confirmer (`yes` answers), then its report — `-o json`, or the
/// rollouts (`rollouts` of the report) as a table.
pub fn run_writing<R: serde::Serialize>(
    printer: &Printer,
    common: &Common,
    timeout: Duration,
    yes: bool,
    rollouts: impl Fn(&R) -> &[RolloutOutcome],
    op: impl AsyncFnOnce(
        &TerminalReporter<'_>,
        &TerminalConfirmer,
        Stop,
    ) -> (R, Result<ExitStatus, Failure>),
) -> Result<ExitStatus, Failure> {
    let runtime = runtime()?;
    let (report, result) = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(timeout);
        let reporter = TerminalReporter::new(printer);
        let confirmer = TerminalConfirmer { yes };
        op(&reporter, &confirmer, stop).await
    });
    emit(printer, common.output, &report, |r| {
        let rollouts = rollouts(r);
        if rollouts.is_empty() {
            String::new()
        } else {
            summary_table(rollouts)
        }
    });
    result
}

/// A multi-threaded runtime for one command. Signals are not wired here:
/// a command that can be stopped calls `Stop::on_signals` inside it.
pub fn runtime() -> Result<tokio::runtime::Runtime, crate::exit::Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::exit::Failure::failed(format!("starting the async runtime: {e}")))
}
