//! Everything that writes to the terminal: data to stdout, status and
//! progress to stderr, colour only where a person is looking.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, RwLock};

use console::Style;
use serde::Serialize;

use crate::redact::Redactor;

/// How chatty stderr is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The one object commands write through. Everything it writes, on
/// stdout and stderr, is scrubbed of the secret values it has been told
/// about ([`Printer::redact_with`]).
#[derive(Debug, Clone)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// Colour and progress bars on stderr.
    pub fancy: bool,
    redactor: Arc<RwLock<Redactor>>,
}

impl Printer {
    /// Colour and progress only on a terminal, and never when `NO_COLOR` or
    /// `CI` is set (any value, as <https://no-color.org> says).
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let fancy = colour_wanted(color, std::io::stderr().is_terminal(), |name| {
            std::env::var_os(name)
        });
        console::set_colors_enabled_stderr(fancy);
        console::set_colors_enabled(fancy);
        Self {
            verbosity,
            fancy,
            redactor: Arc::default(),
        }
    }

    /// From here on, scrub these values (and their encodings) from all output.
    pub fn redact_with(&self, redactor: Redactor) {
        *self.redactor.write().unwrap_or_else(|p| p.into_inner()) = redactor;
    }

    /// The redactor in use (for reports and files written elsewhere).
    pub fn redactor(&self) -> Redactor {
        self.redactor
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Scrubbed of secret values, and with every control character a
    /// terminal would act on shown as an escape: what a service's body, a
    /// log line or an event message holds (ESC sequences, NUL, BEL, CR)
    /// never reaches the terminal raw.
    fn clean<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.scrubbed(text) {
            Cow::Borrowed(b) => printable(b),
            Cow::Owned(s) => Cow::Owned(printable(&s).into_owned()),
        }
    }

    fn scrubbed<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let r = self.redactor.read().unwrap_or_else(|p| p.into_inner());
        match r.scrub(text) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(s) => Cow::Owned(s),
        }
    }

    fn style(&self, style: Style) -> Style {
        if self.fancy { style } else { Style::new() }
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        self.status_toned(Tone::Good, verb, message);
    }

    /// A status line whose verb reads as `tone` says: a failure red, a
    /// warning yellow (`verify`'s `fail`/`warn`/`pass`, a failed rollout).
    pub fn status_toned(&self, tone: Tone, verb: &str, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let verb = self.style(tone.style()).apply_to(format!("{verb:>12}"));
            eprintln!("{verb} {}", self.clean(message.as_ref()));
        }
    }

    /// Extra detail with `-v`.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!(
                "{}",
                self.style(Style::new().dim())
                    .apply_to(self.clean(message.as_ref()))
            );
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let label = self.style(Style::new().yellow().bold()).apply_to("warning");
            eprintln!("{label}: {}", self.clean(message.as_ref()));
        }
    }

    /// A line of a command's own output stream on stderr (migration logs),
    /// shown unless `--quiet`.
    pub fn stream_line(&self, prefix: &str, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{prefix}{}", self.clean(line));
        }
    }

    /// An error and its details; always printed, even with `--quiet`.
    pub fn error(&self, message: impl AsRef<str>, details: &[String]) {
        let label = self.style(Style::new().red().bold()).apply_to("error");
        eprintln!("{label}: {}", self.clean(message.as_ref()));
        for detail in details {
            eprintln!("  - {}", self.clean(detail));
        }
    }

    /// An error with an indented block under it (a failure card); always printed.
    pub fn error_block(&self, message: impl AsRef<str>, lines: &[String]) {
        let label = self.style(Style::new().red().bold()).apply_to("error");
        eprintln!("{label}: {}", self.clean(message.as_ref()));
        for line in lines {
            eprintln!("    {}", self.clean(line));
        }
    }

    /// Data on stdout. A closed pipe (`fintechctl render … | head`) ends the
    /// process quietly, as ripgrep and cargo do.
    pub fn data(&self, text: &str) {
        self.write_data(&self.clean(text));
    }

    /// [`Printer::data`] for text with colour of our own: its parts from
    /// elsewhere (names, log lines) were passed through [`printable`] by the
    /// caller, so only scrubbing is left to do here.
    pub fn data_styled(&self, text: &str) {
        self.write_data(&self.scrubbed(text));
    }

    fn write_data(&self, text: &str) {
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

/// Whether output is coloured (and progress drawn): `--color always` or
/// `never` as said; by default only on a terminal, and never when `NO_COLOR`
/// or `CI` is set to anything (as <https://no-color.org> says).
pub fn colour_wanted(
    choice: ColorChoice,
    stderr_is_terminal: bool,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stderr_is_terminal && !set("NO_COLOR") && !set("CI"),
    }
}

/// What a status word says, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Done, passed, ready: bold green.
    Good,
    /// Worth a look: bold yellow.
    Warning,
    /// Failed: bold red.
    Bad,
    /// Not run: dim.
    Quiet,
}

impl Tone {
    /// The tone of a check's result.
    pub fn of(status: crate::checks::Status) -> Tone {
        match status {
            crate::checks::Status::Pass => Tone::Good,
            crate::checks::Status::Warn => Tone::Warning,
            crate::checks::Status::Fail => Tone::Bad,
            crate::checks::Status::Skipped => Tone::Quiet,
        }
    }

    pub fn style(self) -> Style {
        match self {
            Tone::Good => Style::new().green().bold(),
            Tone::Warning => Style::new().yellow().bold(),
            Tone::Bad => Style::new().red().bold(),
            Tone::Quiet => Style::new().dim(),
        }
    }
}

/// A table as commands print them: no borders, and no wider than the
/// terminal (when stdout is one) or `width`: the columns in `wrap` (free
/// text: a summary, a description) wrap between words, the others keep
/// their content's width, so an id, a status or a time is never broken. In
/// a pipe, without `width`, nothing wraps.
pub fn table(header: &[&str], wrap: &[usize], width: Option<u16>) -> comfy_table::Table {
    use comfy_table::{ColumnConstraint, ContentArrangement, presets::NOTHING};
    let mut table = comfy_table::Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    if let Some(width) = width {
        table.set_width(width);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        if !wrap.contains(&i) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// `text` with the characters a terminal acts on — C0 controls but newline
/// and tab, DEL, C1 controls — written as visible escapes (`\x1b`, `\x00`,
/// `\u{9b}`), so nothing from a cluster or a service can move the cursor,
/// retitle the window, clear the screen or hide a line.
pub fn printable(text: &str) -> Cow<'_, str> {
    let acts = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !acts(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// Prints a command's result on stdout in the format asked for: `-o json`
/// (one pretty document), `-o yaml`, or the text `text` makes of it. Every
/// command emits through this, so every document has the same shape.
pub fn emit<T: Serialize>(
    printer: &Printer,
    format: OutputFormat,
    document: &T,
    text: impl FnOnce(&T) -> String,
) {
    match format {
        OutputFormat::Json => match serde_json::to_string_pretty(document) {
            Ok(json) => printer.data(&(json + "\n")),
            Err(e) => printer.error(format!("cannot encode the result as JSON: {e}"), &[]),
        },
        OutputFormat::Yaml => match serde_saphyr::to_string(document) {
            Ok(yaml) => printer.data(&yaml),
            Err(e) => printer.error(format!("cannot encode the result as YAML: {e}"), &[]),
        },
        OutputFormat::Text => {
            let text = text(document);
            if !text.is_empty() {
                printer.data(&text);
            }
        }
    }
}

/// [`emit`] for text with colour of our own (see [`Printer::data_styled`]).
pub fn emit_styled<T: Serialize>(
    printer: &Printer,
    format: OutputFormat,
    document: &T,
    text: impl FnOnce(&T) -> String,
) {
    match format {
        OutputFormat::Text => {
            let text = text(document);
            if !text.is_empty() {
                printer.data_styled(&text);
            }
        }
        other => emit(printer, other, document, |_| String::new()),
    }
}

/// What `-o` asks for: text for a person, or one JSON or YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
/// A terminal reporter whose status lines, warnings and details go
/// straight to its [`Printer`]: implementing this gives it
/// [`crate::ops::Reporter`] (one forwarder instead of one per reporter).
pub trait PrintsTo {
    fn printer(&self) -> &Printer;
}

impl<T: PrintsTo + Send + Sync> crate::ops::Reporter for T {
    fn status(&self, verb: &str, message: &str) {
        self.printer().status(verb, message);
    }
    fn warn(&self, message: &str) {
        self.printer().warn(message);
    }
    fn detail(&self, message: &str) {
        self.printer().detail(message);
    }
}

pub mod backup;
pub mod debug;
pub mod prompt;
pub mod reporters;
pub mod shell;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;

    fn shown(status: Status, word: &str) -> String {
        Tone::of(status)
            .style()
            .force_styling(true)
            .apply_to(word)
            .to_string()
    }

    #[test]
    fn failures_read_red_warnings_yellow_passes_green() {
        // SGR 31 red, 33 yellow, 32 green; 1 bold; 2 dim.
        assert_eq!(
            shown(Status::Fail, "fail"),
            "\u{1b}[31m\u{1b}[1mfail\u{1b}[0m"
        );
        assert_eq!(
            shown(Status::Warn, "warn"),
            "\u{1b}[33m\u{1b}[1mwarn\u{1b}[0m"
        );
        assert_eq!(
            shown(Status::Pass, "pass"),
            "\u{1b}[32m\u{1b}[1mpass\u{1b}[0m"
        );
        assert_eq!(
            shown(Status::Skipped, "skipped"),
            "\u{1b}[2mskipped\u{1b}[0m"
        );
        assert_ne!(Tone::Bad.style(), Tone::Good.style());
    }

    #[test]
    fn colour_only_on_a_terminal_and_never_under_no_color_or_ci() {
        let none = |_: &str| None;
        let with = |set: &'static str, value: &'static str| {
            move |name: &str| (name == set).then(|| std::ffi::OsString::from(value))
        };
        assert!(colour_wanted(ColorChoice::Auto, true, none));
        assert!(!colour_wanted(ColorChoice::Auto, false, none));
        assert!(!colour_wanted(
            ColorChoice::Auto,
            true,
            with("NO_COLOR", "1")
        ));
        assert!(!colour_wanted(ColorChoice::Auto, true, with("CI", "true")));
        // Set but empty counts as not set (no-color.org).
        assert!(colour_wanted(ColorChoice::Auto, true, with("NO_COLOR", "")));
        assert!(!colour_wanted(ColorChoice::Never, true, none));
        assert!(colour_wanted(
            ColorChoice::Always,
            false,
            with("NO_COLOR", "1")
        ));
    }

    #[test]
    fn tables_fit_the_width_wrapping_free_text_between_words() {
        let summary = "endpoints of ml-service have no ready address since the last rollout replaced every pod";
        let build = |width| {
            let mut t = table(&["CHECK", "RESULT", "TIME", "SUMMARY"], &[3], width);
            t.add_row(["autoscaling", "FAIL", "1.2s", summary]);
            t.add_row(["endpoints", "PASS", "15ms", "ok"]);
            t.to_string()
        };
        let fitted = build(Some(60));
        let lines: Vec<&str> = fitted.lines().collect();
        assert!(lines.len() > 3, "wrapped:\n{fitted}");
        for line in &lines {
            assert!(line.chars().count() <= 60, "{line:?} in\n{fitted}");
        }
        // The fixed columns are whole on their line; every word of the
        // summary is whole on some line, in order.
        assert!(
            lines[1].contains("autoscaling") && lines[1].contains("FAIL"),
            "{fitted}"
        );
        let wrapped: Vec<&str> = lines[1..lines.len() - 1]
            .iter()
            .flat_map(|l| l.split_whitespace())
            .filter(|w| !["autoscaling", "FAIL", "1.2s"].contains(w))
            .collect();
        assert_eq!(wrapped.join(" "), summary, "{fitted}");
        // Not on a terminal and no width: one line per row, as before.
        assert_eq!(build(None).lines().count(), 3);
    }

    #[test]
    fn control_characters_are_shown_not_acted_on() {
        assert_eq!(printable("ok\tline\nnext"), Cow::Borrowed("ok\tline\nnext"));
        assert_eq!(
            printable("a\u{1b}]0;owned\u{7}b\u{1b}[2Jc\0d\re\u{7f}f\u{9b}31mg"),
            "a\\x1b]0;owned\\x07b\\x1b[2Jc\\x00d\\x0de\\x7ff\\u{9b}31mg"
        );
    }
}
