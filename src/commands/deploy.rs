//! `fintechctl deploy`: the release, already resolved and validated with
//! the settings, through the deploy operation; the summary (or the `-o
//! json` report) at the end.

use crate::exit::{ExitStatus, Failure};
use crate::ops;
use crate::settings::{Common, DeploySettings};
use crate::ui::Printer;

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
    super::run_writing(
        printer,
        common,
        settings.change.timeout,
        settings.change.yes,
        |r: &ops::pipeline::DeployReport| &r.rollouts,
        async |reporter, confirmer, stop| {
            ops::deploy::deploy(settings, reporter, confirmer, &common.redactor, stop).await
        },
    )
}
