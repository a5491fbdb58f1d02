//! `fintechctl health`: one screen of what is up and what is down.

use crate::exit::{ExitStatus, Failure};
use crate::settings::{Common, HealthSettings};
use crate::ui::Printer;

pub fn run(
    _settings: &HealthSettings,
    _common: &Common,
    _printer: &Printer,
) -> Result<ExitStatus, Failure> {
    Err(Failure::invalid("health: not implemented yet"))
}
