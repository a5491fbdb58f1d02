//! `fintechctl rollback`: an earlier successful revision re-applied through
//! the same operation as a deploy.

use crate::exit::{ExitStatus, Failure};
use crate::ops;
use crate::settings::{Common, RollbackSettings};
use crate::ui::Printer;

pub fn run(
    settings: &RollbackSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    super::run_writing(
        printer,
        common,
        settings.change.timeout,
        settings.change.yes,
        |r: &ops::pipeline::DeployReport| &r.rollouts,
        async |reporter, confirmer, stop| {
            ops::rollback::rollback(settings, reporter, confirmer, &common.redactor, stop).await
        },
    )
}
