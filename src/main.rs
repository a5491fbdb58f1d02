//! Thin entry point: parse, set up output, dispatch, turn errors into exit codes.

use clap::Parser;

use fintechctl::cli::{Cli, Command};
use fintechctl::commands;
use fintechctl::exit::{Failure, status_of};
use fintechctl::ui::{Printer, Verbosity};

fn main() {
    let cli = Cli::parse();
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if cli.global.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let printer = Printer::new(verbosity, cli.global.color);

    let result = match &cli.command {
        Command::Render(args) => commands::render::run(&cli.global, args, &printer),
        Command::Deploy(args) => commands::deploy::run(&cli.global, args, &printer),
        Command::History(args) => commands::history::run(&cli.global, args, &printer),
        Command::Rollback(args) => commands::rollback::run(&cli.global, args, &printer),
        Command::Diff(args) => commands::diff::run(&cli.global, args, &printer),
        Command::Migrate(args) => commands::migrate::run(&cli.global, args, &printer),
        Command::Completions(args) => commands::completions::run(args, &printer),
    };
    let status = match result {
        Ok(status) => status,
        Err(err) => {
            let status = status_of(&err);
            match err.chain().find_map(|e| e.downcast_ref::<Failure>()) {
                Some(failure) => printer.error(&failure.message, &failure.details),
                None => printer.error(format!("{err:#}"), &[]),
            }
            status
        }
    };
    std::process::exit(status.code());
}
