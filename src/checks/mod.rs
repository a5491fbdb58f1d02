//! The checks behind `fintechctl verify` and `fintechctl health`: each has
//! a stable id, a result (pass / warn / fail / skipped), the evidence it
//! saw and a hint saying what to do. The checks are pure functions on what
//! was read from the cluster (see [`live::Live`]) where they can be, and
//! every network call they make has its own deadline; they never print.

pub mod capacity;
pub mod drift;
pub mod http;
pub mod kafka;
pub mod live;
pub mod pgtls;
pub mod prometheus;
pub mod resp;
pub mod stores;
pub mod storetls;
pub mod tls;
pub mod workloads;

use std::time::Duration;

use serde::Serialize;

/// The checks of `verify`, in the order they are listed by `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    Release,
    Rollout,
    Pods,
    Endpoints,
    Http,
    Drift,
    Policy,
    Autoscaling,
    Quota,
    Tls,
    Alerts,
}

impl CheckId {
    pub const ALL: [CheckId; 11] = [
        CheckId::Release,
        CheckId::Rollout,
        CheckId::Pods,
        CheckId::Endpoints,
        CheckId::Http,
        CheckId::Drift,
        CheckId::Policy,
        CheckId::Autoscaling,
        CheckId::Quota,
        CheckId::Tls,
        CheckId::Alerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Release => "release",
            CheckId::Rollout => "rollout",
            CheckId::Pods => "pods",
            CheckId::Endpoints => "endpoints",
            CheckId::Http => "http",
            CheckId::Drift => "drift",
            CheckId::Policy => "policy",
            CheckId::Autoscaling => "autoscaling",
            CheckId::Quota => "quota",
            CheckId::Tls => "tls",
            CheckId::Alerts => "alerts",
        }
    }

    pub fn parse(s: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The ids, comma-separated, for messages.
    pub fn known() -> String {
        CheckId::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a check came out. Ordered from worst to best, so sorting puts the
/// failures first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Fail,
    Warn,
    Pass,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Pass => "pass",
            Status::Skipped => "skipped",
        }
    }

    /// The worse of two.
    pub fn worst(self, other: Status) -> Status {
        // Skipped counts as nothing: pass and skipped make pass.
        match (self, other) {
            (Status::Skipped, o) => o,
            (s, Status::Skipped) => s,
            (a, b) => a.min(b),
        }
    }
}

/// One finding of a check: a status with the line of evidence that earned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub line: String,
}

/// Collects findings and builds the [`CheckResult`].
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
    hints: Vec<String>,
}

impl Findings {
    pub fn pass(&mut self, line: impl Into<String>) {
        self.push(Status::Pass, line);
    }
    pub fn warn(&mut self, line: impl Into<String>) {
        self.push(Status::Warn, line);
    }
    pub fn fail(&mut self, line: impl Into<String>) {
        self.push(Status::Fail, line);
    }
    pub fn push(&mut self, status: Status, line: impl Into<String>) {
        self.items.push(Finding {
            status,
            line: line.into(),
        });
    }
    /// A hint, shown when the check does not pass (kept once).
    pub fn hint(&mut self, hint: impl Into<String>) {
        let hint = hint.into();
        if !self.hints.contains(&hint) {
            self.hints.push(hint);
        }
    }

    pub fn status(&self) -> Status {
        self.items
            .iter()
            .fold(Status::Skipped, |acc, f| acc.worst(f.status))
    }

    /// The result: `summary` says it in one line; evidence lists the worst
    /// findings first.
    pub fn finish(self, id: CheckId, summary: impl Into<String>) -> CheckResult {
        self.finish_as(id.as_str(), summary)
    }

    /// [`finish`](Self::finish) for a check outside verify's ids (health's
    /// `postgres`, `redis`, `kafka`).
    pub fn finish_as(mut self, id: &str, summary: impl Into<String>) -> CheckResult {
        let status = match self.status() {
            // A check that looked and found nothing to look at passed.
            Status::Skipped => Status::Pass,
            s => s,
        };
        self.items.sort_by_key(|f| f.status);
        CheckResult {
            id: id.to_string(),
            status,
            summary: summary.into(),
            evidence: self.items.into_iter().map(|f| f.line).collect(),
            hint: (status != Status::Pass && !self.hints.is_empty()).then(|| self.hints.join(" ")),
            elapsed: Duration::ZERO,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The lines of findings with this status.
    pub fn lines(&self, status: Status) -> Vec<&str> {
        self.items
            .iter()
            .filter(|f| f.status == status)
            .map(|f| f.line.as_str())
            .collect()
    }
}

/// One check's outcome, as `-o json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The stable id (`release`, `http`, … for verify; `service/api-gateway`,
    /// `postgres`, … for health).
    pub id: String,
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// Numbers, object names, the failing response's status and first lines.
    pub evidence: Vec<String>,
    /// What to do about it (not for a pass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

impl CheckResult {
    /// A check that did not run, and why.
    pub fn skipped(id: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckResult {
            id: id.into(),
            status: Status::Skipped,
            summary: reason.into(),
            evidence: Vec::new(),
            hint: None,
            elapsed: Duration::ZERO,
        }
    }

    /// A check that could not finish (no answer in time, an API error).
    pub fn failed(id: impl Into<String>, summary: impl Into<String>, hint: Option<String>) -> Self {
        CheckResult {
            id: id.into(),
            status: Status::Fail,
            summary: summary.into(),
            evidence: Vec::new(),
            hint,
            elapsed: Duration::ZERO,
        }
    }

    pub fn warned(id: impl Into<String>, summary: impl Into<String>, hint: Option<String>) -> Self {
        CheckResult {
            status: Status::Warn,
            ..CheckResult::failed(id, summary, hint)
        }
    }
}

/// Sorts results worst first, then by id (a stable table and document).
pub fn worst_first(results: &mut [CheckResult]) {
    results.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| a.id.cmp(&b.id)));
}

/// `n thing(s)` in words.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The first `lines` lines of a body, each cut at 200 characters, for evidence.
pub fn first_lines(body: &str, lines: usize) -> Vec<String> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .map(|l| {
            let l = l.trim_end();
            if l.chars().count() > 200 {
                format!("{}…", l.chars().take(200).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_decides_and_comes_first() {
        let mut f = Findings::default();
        f.pass("a fine");
        f.warn("b so-so");
        f.fail("c broken");
        f.hint("fix c");
        let r = f.finish(CheckId::Pods, "1 broken");
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.evidence[0], "c broken");
        assert_eq!(r.hint.as_deref(), Some("fix c"));
    }

    #[test]
    fn a_pass_has_no_hint_and_nothing_to_look_at_is_a_pass() {
        let mut f = Findings::default();
        f.hint("unused");
        let r = f.finish(CheckId::Quota, "no quota");
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.hint, None);
    }

    #[test]
    fn ids_parse_and_skipped_counts_as_nothing() {
        for id in CheckId::ALL {
            assert_eq!(CheckId::parse(id.as_str()), Some(id));
        }
        assert_eq!(CheckId::parse("nope"), None);
        assert_eq!(Status::Skipped.worst(Status::Pass), Status::Pass);
        assert_eq!(Status::Warn.worst(Status::Fail), Status::Fail);
    }
}
