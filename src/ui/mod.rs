//! Everything that writes to the terminal: data to stdout, status and
//! progress to stderr, colour only where a person is looking.

use std::io::{IsTerminal, Write};

use console::Style;

/// How chatty stderr is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The one object commands write through.
#[derive(Debug, Clone)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// Colour and progress bars on stderr.
    pub fancy: bool,
}

impl Printer {
    /// Colour and progress only on a terminal, and never when `NO_COLOR` or
    /// `CI` is set (any value, as <https://no-color.org> says).
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let env_forbids = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let fancy = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && !env_forbids,
        };
        console::set_colors_enabled_stderr(fancy);
        console::set_colors_enabled(fancy);
        Self { verbosity, fancy }
    }

    fn style(&self, style: Style) -> Style {
        if self.fancy { style } else { Style::new() }
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let verb = self
                .style(Style::new().green().bold())
                .apply_to(format!("{verb:>12}"));
            eprintln!("{verb} {}", message.as_ref());
        }
    }

    /// Extra detail with `-v`.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!(
                "{}",
                self.style(Style::new().dim()).apply_to(message.as_ref())
            );
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let label = self.style(Style::new().yellow().bold()).apply_to("warning");
            eprintln!("{label}: {}", message.as_ref());
        }
    }

    /// An error and its details; always printed, even with `--quiet`.
    pub fn error(&self, message: impl AsRef<str>, details: &[String]) {
        let label = self.style(Style::new().red().bold()).apply_to("error");
        eprintln!("{label}: {}", message.as_ref());
        for detail in details {
            eprintln!("  - {detail}");
        }
    }

    /// An error with an indented block under it (a failure card); always printed.
    pub fn error_block(&self, message: impl AsRef<str>, lines: &[String]) {
        let label = self.style(Style::new().red().bold()).apply_to("error");
        eprintln!("{label}: {}", message.as_ref());
        for line in lines {
            eprintln!("    {line}");
        }
    }

    /// Data on stdout. A closed pipe (`fintechctl render … | head`) ends the
    /// process quietly, as ripgrep and cargo do.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        if let Err(e) = result {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
pub mod prompt;
pub mod reporters;
