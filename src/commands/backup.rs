//! `fintechctl backup <env>`, `backup list|verify|prune`: the settings
//! resolved already, the operation run with the terminal's reporter, the
//! summary (or `-o json`) at the end. Exit 1 when a part failed (and then
//! there is no manifest).

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops;
use crate::settings::{
    BackupListSettings, BackupPruneSettings, BackupSettings, BackupVerifySettings, Common,
};
use crate::ui::backup::{BackupTerminal, list_table, parts_table};
use crate::ui::{Printer, emit};

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    super::runtime()
}

pub fn run(
    settings: &BackupSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let report = runtime()?.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.timeout);
        let reporter = BackupTerminal::new(printer);
        ops::backup::backup(settings, &reporter, &common.redactor, stop).await
    });
    emit(printer, common.output, &report, |r| parts_table(&r.parts));
    match &report.error {
        Some(e) => {
            Err(Failure::new(report.status(), e.message.clone()).with_details(e.details.clone()))
        }
        None => Ok(report.status()),
    }
}

pub fn list(
    settings: &BackupListSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let report = runtime()?.block_on(ops::backup::list(settings))?;
    emit(printer, common.output, &report, list_table);
    Ok(ExitStatus::Success)
}

pub fn verify(
    settings: &BackupVerifySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let (report, result) = runtime()?.block_on(async {
        let stop = Stop::new();
        stop.on_signals();
        stop.deadline(settings.timeout);
        let reporter = BackupTerminal::new(printer);
        ops::backup::verify(settings, &reporter, &common.redactor, stop).await
    });
    emit(printer, common.output, &report, |r| parts_table(&r.parts));
    result
}

pub fn prune(
    settings: &BackupPruneSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let report = runtime()?.block_on(ops::backup::prune(settings))?;
    let verb = if report.dry_run {
        "Would delete"
    } else {
        "Deleted"
    };
    for id in &report.deleted {
        printer.status(verb, id);
    }
    if report.deleted.is_empty() {
        printer.status(
            "Kept",
            format!(
                "every backup of {} (retention {} day(s), the newest complete one always kept)",
                report.environment, report.retention_days
            ),
        );
    }
    emit(printer, common.output, &report, |_| String::new());
    Ok(ExitStatus::Success)
}
