//! The terminal side of `fintechctl debug`: the triage as text (deploy's
//! failure cards, from the same `card_lines`, with the triage's additions),
//! and the reporter the debug operations talk to.

use comfy_table::{Table, presets::NOTHING};
use k8s_openapi::jiff::Timestamp;

use super::Printer;
use super::reporters::{TerminalReporter, card_lines};
use crate::cluster::metrics;
use crate::cluster::triage::{Triage, TriageCard};
use crate::ops::debug::DebugReporter;
use crate::redact::Redactor;

impl DebugReporter for TerminalReporter<'_> {
    fn secrets_learned(&self, redactor: &Redactor) {
        self.printer.redact_with(redactor.clone());
    }
}

/// A terminal reporter for debug operations (status lines on stderr).
pub fn reporter(printer: &Printer) -> TerminalReporter<'_> {
    TerminalReporter::new(printer)
}

/// `3m12s` since `at` (RFC 3339), `-` when unknown.
pub fn age(at: Option<&str>, now: Timestamp) -> String {
    at.and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| {
            let ms = (now.as_millisecond() - t.as_millisecond()).max(0) as u64;
            crate::human::duration(std::time::Duration::from_secs(ms / 1000))
        })
        .unwrap_or_else(|| "-".into())
}

/// The triage: a card per unhealthy component, worst first, one line per
/// healthy one, then the cluster-level causes.
pub fn triage_text(triage: &Triage, now: Timestamp) -> String {
    let mut out = String::new();
    let unhealthy = triage.components.iter().filter(|c| !c.healthy).count();
    out.push_str(&format!(
        "{} ({}): {}\n",
        triage.environment,
        triage.namespace,
        if unhealthy == 0 {
            format!("all {} components healthy", triage.components.len())
        } else {
            format!(
                "{unhealthy} of {} components unhealthy",
                triage.components.len()
            )
        }
    ));
    for c in &triage.components {
        if let Some(card) = &c.card {
            out.push('\n');
            out.push_str(&card_text(card, now));
        }
    }
    let healthy: Vec<_> = triage.components.iter().filter(|c| c.healthy).collect();
    if !healthy.is_empty() {
        out.push('\n');
    }
    for c in healthy {
        out.push_str(&format!(
            "✓ {}: {}/{} ready{}\n",
            c.workload,
            c.ready,
            c.desired,
            c.version
                .as_ref()
                .map(|v| format!(", version {v}"))
                .unwrap_or_default()
        ));
    }
    if !triage.causes.is_empty() {
        out.push_str("\ncluster-level causes:\n");
        for cause in &triage.causes {
            out.push_str(&format!("  • {}: {}\n", cause.object, cause.message));
        }
    }
    if let Some(r) = &triage.revision {
        out.push_str(&format!(
            "\nlast deploy: revision {}, version {}, {} by {} at {}\n",
            r.revision, r.version, r.status, r.who, r.started_at
        ));
    }
    if !triage.canary.is_empty() {
        out.push_str(&format!(
            "\ncanary in progress: {} (not drift; `fintechctl promote {env}` or `fintechctl abort {env}` finishes a paused one)\n",
            triage.canary.join(", "),
            env = triage.environment
        ));
    }
    for missing in &triage.missing {
        out.push_str(&format!("(could not read {missing})\n"));
    }
    out
}

/// One triage card: deploy's card lines with the pods table, the last
/// termination, resource use and the recent change added.
pub fn card_text(card: &TriageCard, now: Timestamp) -> String {
    let (title, base) = card_lines(&card.failure);
    let mut lines = Vec::new();
    // Deploy's lines up to the logs, then the triage's, then the evidence.
    let evidence_at = base
        .iter()
        .position(|l| l.starts_with("last ") || l.starts_with("recent warning events"))
        .unwrap_or(base.len());
    lines.extend_from_slice(&base[..evidence_at]);
    if let Some(t) = &card.last_termination {
        lines.push(format!(
            "last termination: container {} exited {}{}{}{}",
            t.container,
            t.exit_code,
            t.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            t.signal
                .map(|s| format!(", signal {s}"))
                .unwrap_or_default(),
            t.finished_at
                .as_deref()
                .map(|f| format!(", {} ago", age(Some(f), now)))
                .unwrap_or_default(),
        ));
    }
    if !card.pods.is_empty() {
        lines.push("pods:".into());
        let mut table = Table::new();
        table.load_style(NOTHING).set_header([
            "NAME", "PHASE", "READY", "RESTARTS", "AGE", "NODE", "REASON",
        ]);
        for p in &card.pods {
            table.add_row([
                p.name.clone(),
                p.phase.clone(),
                p.ready.clone(),
                p.restarts.to_string(),
                age(p.created_at.as_deref(), now),
                p.node.clone().unwrap_or_else(|| "-".into()),
                p.reason.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        for row in table.to_string().lines() {
            lines.push(format!(
                "  {}",
                row.strip_prefix(' ').unwrap_or(row).trim_end()
            ));
        }
    }
    if !card.usage.is_empty() {
        lines.push("resource use:".into());
        for u in &card.usage {
            lines.push(format!(
                "  {}: cpu {}, memory {}",
                u.container,
                metrics::describe(u.cpu_millis, u.cpu_request_millis, u.cpu_limit_millis, true),
                metrics::describe(
                    u.memory_bytes,
                    u.memory_request_bytes,
                    u.memory_limit_bytes,
                    false
                ),
            ));
        }
    }
    lines.extend_from_slice(&base[evidence_at..]);
    if let Some(r) = &card.recent_change {
        lines.push(format!(
            "last change: revision {}, version {}, {} by {} at {}",
            r.revision, r.version, r.status, r.who, r.started_at
        ));
        for d in &r.drift {
            lines.push(format!("  drift: {d}"));
        }
    }
    let mut out = format!("✗ {title}\n");
    for line in lines {
        out.push_str(&format!("    {line}\n"));
    }
    out
}

/// `debug logs` on the terminal: each line on stdout with its
/// `[pod/container]` prefix (coloured per pod on a terminal), or one JSON
/// object per line with `-o json`.
pub struct LogLines<'a> {
    pub inner: TerminalReporter<'a>,
    pub printer: &'a Printer,
    pub json: bool,
    pub colour: bool,
}

impl<'a> LogLines<'a> {
    pub fn new(printer: &'a Printer, output: super::OutputFormat) -> Self {
        use std::io::IsTerminal;
        Self {
            inner: TerminalReporter::new(printer),
            printer,
            json: output == super::OutputFormat::Json,
            colour: printer.fancy && std::io::stdout().is_terminal(),
        }
    }
}

impl super::PrintsTo for LogLines<'_> {
    fn printer(&self) -> &super::Printer {
        self.printer
    }
}

impl DebugReporter for LogLines<'_> {
    fn secrets_learned(&self, redactor: &Redactor) {
        self.printer.redact_with(redactor.clone());
    }
}

impl crate::ops::debug::logs::LogsReporter for LogLines<'_> {
    fn line(&self, line: &crate::ops::debug::logs::LogLine) {
        if self.json {
            if let Ok(text) = serde_json::to_string(line) {
                self.printer.data(&(text + "\n"));
            }
            return;
        }
        let prefix = match &line.last_run {
            Some(reason) => format!("[{}/{} last run, {reason}]", line.pod, line.container),
            None => format!("[{}/{}]", line.pod, line.container),
        };
        let prefix = super::printable(&prefix).into_owned();
        let prefix = if self.colour {
            const COLOURS: [console::Color; 6] = [
                console::Color::Cyan,
                console::Color::Green,
                console::Color::Magenta,
                console::Color::Yellow,
                console::Color::Blue,
                console::Color::Red,
            ];
            let hash = line
                .pod
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            console::Style::new()
                .fg(COLOURS[hash % COLOURS.len()])
                .force_styling(true)
                .apply_to(prefix)
                .to_string()
        } else {
            prefix
        };
        // Coloured here, so the line itself is made printable here.
        self.printer
            .data_styled(&format!("{prefix} {}\n", super::printable(&line.line)));
    }

    fn waiting(&self, waiting: &crate::ops::debug::logs::Waiting) {
        let restarts = match waiting.restarts {
            0 => String::new(),
            1 => ", restarted once".to_string(),
            n => format!(", restarted {n} times"),
        };
        let shown = if waiting.last_run_shown {
            "; its last run's output follows, marked `last run`"
        } else {
            "; no output yet"
        };
        self.printer.warn(format!(
            "pod/{} container {} is waiting ({}{restarts}){shown}",
            waiting.pod, waiting.container, waiting.reason
        ));
    }
}

/// `debug top` as a table, closest to a limit first, with the warnings.
pub fn top_text(report: &crate::ops::debug::top::TopReport, fancy: bool) -> String {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header([
        "POD",
        "CONTAINER",
        "CPU",
        "REQ",
        "LIM",
        "%LIM",
        "MEMORY",
        "REQ",
        "LIM",
        "%LIM",
        "",
    ]);
    let cpu = |v: Option<i64>| v.map(|v| format!("{v}m")).unwrap_or_else(|| "-".into());
    let mem = |v: Option<i64>| v.map(metrics::mebibytes).unwrap_or_else(|| "-".into());
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.0}%", v * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    for row in &report.containers {
        let u = &row.usage;
        let mut flags = Vec::new();
        if row.oom_risk {
            flags.push("OOM risk");
        }
        if row.throttling_candidate {
            flags.push("throttling");
        }
        let flag = flags.join(", ");
        let flag = if fancy && !flag.is_empty() {
            console::Style::new()
                .red()
                .bold()
                .force_styling(true)
                .apply_to(flag)
                .to_string()
        } else {
            flag
        };
        table.add_row([
            super::printable(&u.pod).into_owned(),
            super::printable(&u.container).into_owned(),
            cpu(u.cpu_millis),
            cpu(u.cpu_request_millis),
            cpu(u.cpu_limit_millis),
            pct(u.cpu_of_limit()),
            mem(u.memory_bytes),
            mem(u.memory_request_bytes),
            mem(u.memory_limit_bytes),
            pct(u.memory_of_limit()),
            flag,
        ]);
    }
    let mut out: String = table
        .to_string()
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l).trim_end()))
        .collect();
    let near: Vec<&str> = report
        .containers
        .iter()
        .filter(|r| r.oom_risk || r.throttling_candidate)
        .map(|r| r.usage.pod.as_str())
        .collect();
    if !near.is_empty() {
        out.push_str(&format!(
            "\n{} container(s) at 90% or more of a limit: memory → OOMKilled next, cpu → throttled\n",
            near.len()
        ));
    }
    out
}
