//! Thin entry point: parse, resolve the settings, set up output, dispatch,
//! turn errors into exit codes.

use clap::Parser;

use fintechctl::cli::Cli;
use fintechctl::commands;
use fintechctl::exit::ExitStatus;
use fintechctl::settings::{self, ProcessEnv, Settings};
use fintechctl::ui::{Printer, Verbosity};

fn main() {
    let cli = Cli::parse();
    let process = ProcessEnv::capture();
    let status = match settings::resolve(&cli, &process) {
        Err(failure) => {
            let verbosity = if cli.global.quiet {
                Verbosity::Quiet
            } else {
                Verbosity::Normal
            };
            let printer = Printer::new(verbosity, cli.global.color);
            printer.error(&failure.message, &failure.details);
            failure.status
        }
        Ok((common, settings)) => {
            let printer = Printer::new(common.verbosity, common.color);
            printer.redact_with(common.redactor.clone());
            let result = match &settings {
                Settings::Render(s) => commands::render::run(s, &common, &printer),
                Settings::Deploy(s) => commands::deploy::run(s, &common, &printer),
                Settings::History(s) => commands::history::run(s, &common, &printer),
                Settings::Rollback(s) => commands::rollback::run(s, &common, &printer),
                Settings::FinishCanary(s) => commands::canary::run(s, &common, &printer),
                Settings::Diff(s) => commands::diff::run(s, &common, &printer),
                Settings::Migrate(s) => commands::migrate::run(s, &common, &printer),
                Settings::Debug(s) => commands::debug::run(s, &common, &printer),
                Settings::Completions(shell) => commands::completions::run(*shell, &printer),
                Settings::Verify(s) => commands::verify::run(s, &common, &printer),
                Settings::Health(s) => commands::health::run(s, &common, &printer),
                Settings::Backup(s) => commands::backup::run(s, &common, &printer),
                Settings::BackupList(s) => commands::backup::list(s, &common, &printer),
                Settings::BackupVerify(s) => commands::backup::verify(s, &common, &printer),
                Settings::BackupPrune(s) => commands::backup::prune(s, &common, &printer),
                Settings::Restore(s) => commands::restore::run(s, &common, &printer),
            };
            match result {
                Ok(status) => status,
                Err(failure) => {
                    printer.error(&failure.message, &failure.details);
                    failure.status
                }
            }
        }
    };
    std::process::exit(match status {
        ExitStatus::Child(_) => status.code(),
        other => other.code(),
    });
}
