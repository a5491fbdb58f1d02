//! `fintechctl debug`: the triage (exit 0 when everything is healthy, 1
//! when something is not) and the on-call tools.

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, DebugAction, DebugSettings};
use crate::ui::{Printer, debug as ui, emit, emit_styled};

pub fn run(
    settings: &DebugSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let reporter = ui::reporter(printer);
    let result = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        match &settings.action {
            DebugAction::Triage { component } => {
                let (triage, _) = ops::debug::triage(
                    settings,
                    component.as_deref(),
                    &reporter,
                    &common.redactor,
                    stop,
                )
                .await?;
                let now = k8s_openapi::jiff::Timestamp::now();
                emit(printer, common.output, &triage, |t| ui::triage_text(t, now));
                Ok(if triage.healthy {
                    ExitStatus::Success
                } else {
                    ExitStatus::Failed
                })
            }
            DebugAction::Logs(logs) => {
                let reporter = ui::LogLines::new(printer, common.output);
                let report =
                    ops::debug::logs::logs(settings, logs, &reporter, &common.redactor, stop)
                        .await?;
                if report.pods.is_empty() {
                    printer.warn("no pods found for these components");
                }
                Ok(ExitStatus::Success)
            }
            DebugAction::Top => {
                let report =
                    ops::debug::top::top(settings, &reporter, &common.redactor, stop).await?;
                emit_styled(printer, common.output, &report, |r| {
                    ui::top_text(
                        r,
                        printer.fancy && std::io::IsTerminal::is_terminal(&std::io::stdout()),
                    )
                });
                Ok(ExitStatus::Success)
            }
            DebugAction::Bundle { to } => {
                let report = ops::debug::bundle::bundle(
                    settings,
                    to.as_deref(),
                    &reporter,
                    &common.redactor,
                    stop,
                )
                .await?;
                printer.status(
                    "Written",
                    format!(
                        "{} ({} files, secrets redacted, readable by you only)",
                        report.path.display(),
                        report.files.len()
                    ),
                );
                emit(printer, common.output, &report, |r| {
                    format!("{}\n", r.path.display())
                });
                Ok(ExitStatus::Success)
            }
            DebugAction::PortForward(forward) => {
                // Bound before connecting: a busy port fails at once.
                let listeners = ops::debug::port_forward::bind(forward).await?;
                let report = ops::debug::port_forward::port_forward(
                    settings,
                    forward,
                    listeners,
                    &reporter,
                    &common.redactor,
                    stop,
                )
                .await?;
                printer.status(
                    "Stopped",
                    format!("{} connection(s) forwarded", report.connections),
                );
                emit(printer, common.output, &report, |_| String::new());
                Ok(ExitStatus::Success)
            }
            DebugAction::Shell(shell) => {
                use std::io::IsTerminal;
                let tty = settings.interactive && std::io::stdout().is_terminal();
                let session = ops::debug::shell::open(
                    settings,
                    shell,
                    tty,
                    &reporter,
                    &common.redactor,
                    stop,
                )
                .await?;
                let code = crate::ui::shell::attach(session).await?;
                Ok(match code {
                    0 => ExitStatus::Success,
                    code => ExitStatus::Child(code),
                })
            }
        }
    });
    // A shell's stdin reader may still be blocked on the terminal: do not
    // wait for it.
    runtime.shutdown_background();
    result
}
