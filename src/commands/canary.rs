//! `fintechctl promote` and `fintechctl abort`: a paused canary finished.

use crate::exit::{ExitStatus, Failure};
use crate::ops;
use crate::settings::{Common, FinishCanarySettings};
use crate::ui::Printer;

pub fn run(
    settings: &FinishCanarySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    super::run_writing(
        printer,
        common,
        settings.timeout,
        settings.yes,
        |r: &ops::canary::FinishReport| &r.rollouts,
        async |reporter, confirmer, stop| {
            ops::canary::finish(settings, reporter, confirmer, &common.redactor, stop).await
        },
    )
}
