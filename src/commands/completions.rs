//! `fintechctl completions SHELL`: the completion script on stdout.

use crate::exit::{ExitStatus, Failure};
use crate::ui::Printer;

pub fn run(shell: clap_complete::Shell, printer: &Printer) -> Result<ExitStatus, Failure> {
    printer.data(&String::from_utf8_lossy(&script(shell)));
    Ok(ExitStatus::Success)
}

/// The completion script for `shell`, as committed under `completions/`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "fintechctl", &mut buf);
    buf
}

/// The file name under `completions/` for each shell.
pub fn file_name(shell: clap_complete::Shell) -> &'static str {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => "fintechctl.bash",
        Shell::Zsh => "_fintechctl",
        Shell::Fish => "fintechctl.fish",
        Shell::PowerShell => "_fintechctl.ps1",
        Shell::Elvish => "fintechctl.elv",
        _ => "fintechctl.unknown",
    }
}
