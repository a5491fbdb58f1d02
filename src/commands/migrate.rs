//! `fintechctl migrate`: the migration on demand, as the release's Job or
//! with `--exec` inside a running api-gateway pod. The exit code is the
//! migration's own.

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{Common, MigrateSettings};
use crate::ui::reporters::{TerminalConfirmer, TerminalReporter};
use crate::ui::{Printer, emit};

pub fn run(
    settings: &MigrateSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.timeout);
        let reporter = TerminalReporter::new(printer);
        let confirmer = TerminalConfirmer { yes: settings.yes };
        ops::migrate::migrate(settings, &reporter, &confirmer, stop).await
    })?;
    emit(printer, common.output, &report, |_| String::new());
    let what = match (&report.job, &report.pod) {
        (Some(job), _) => format!("Job/{job}"),
        (None, Some(pod)) => format!(
            "`{}` in pod/{pod}",
            ops::migrate::MIGRATION_COMMAND.join(" ")
        ),
        (None, None) => "the migration".to_string(),
    };
    if report.succeeded {
        printer.status(
            "Migrated",
            format!("{} in {}", report.version, report.namespace),
        );
    } else {
        let reason = report
            .reason
            .as_ref()
            .map(|r| {
                format!(
                    " ({r}{})",
                    report
                        .message
                        .as_ref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        printer.error(
            format!(
                "{what} failed{reason}, exit code {}",
                report
                    .exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none".into())
            ),
            &report.last_lines,
        );
    }
    Ok(report.status())
}
