//! One analysis round of a canary step: for each service under canary, the
//! canary track's 5xx share, its P95 latency and its 5xx share compared
//! with the stable track's, each an instant query to Prometheus over the
//! step's window (docs/canary.md#analysis).
//!
//! The series are the ones the rendered `kubernetes-pods` scrape job keeps
//! the pod labels on (templates/monitoring.yaml): `namespace`, `app`,
//! `track` (`fintechctl.io/track`) and `version`. The runbook's static
//! per-Service jobs (`api-gateway`, `ml-service`) scrape through the
//! Service, whichever pod answers, and carry none of these labels, so no
//! query here counts them.
//!
//! A query that returns no series, or NaN (0/0: no requests in the window),
//! is **inconclusive**: never a pass, never an error. So is a query
//! Prometheus could not answer (unreachable, a 4xx/5xx, an answer of
//! another shape, the deadline), with the cause in the note: the
//! orchestrator counts inconclusive rounds against `failureLimit`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::prometheus::{Sample, Unanswered, client, instant_query};

/// The request counter the platform's services export (prometheus_client
/// in api-gateway and ml-service; the runbook's HighErrorRate uses it),
/// with the HTTP status in `status`.
pub const REQUESTS_METRIC: &str = "http_requests_total";

/// The request latency histogram (seconds) the services export; P95 is
/// read from its `_bucket` series.
pub const LATENCY_METRIC: &str = "http_request_duration_seconds";

/// The shortest window a query covers: two scrapes at the rendered
/// config's 15 s `scrape_interval`, so that `rate()` has two samples.
pub const MIN_WINDOW: Duration = Duration::from_secs(30);

/// What one analysis round asks and of whom.
#[derive(Debug, Clone)]
pub struct AnalysisSpec {
    /// The environment's `monitoring.prometheusUrl`.
    pub prometheus_url: String,
    /// The environment's namespace.
    pub namespace: String,
    /// The services under canary, e.g. `["api-gateway", "ml-service"]`.
    pub services: Vec<String>,
    /// The step's interval: the range the queries cover (whole seconds, at
    /// least [`MIN_WINDOW`]).
    pub window: Duration,
    pub thresholds: Thresholds,
    /// Each query's deadline (the whole exchange, body included).
    pub timeout: Duration,
}

/// The limits a canary is judged by. Missing fields take the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Thresholds {
    /// The canary's 5xx share of requests above which it fails (default
    /// 0.1: the runbook's HighErrorRate threshold, taken as a share).
    pub max_error_rate: f64,
    /// The canary's P95 latency above which it fails (default 1 s, as
    /// `verify --bake`'s p95-latency query).
    pub max_p95_latency_seconds: f64,
    /// The canary's 5xx share minus the stable track's, same window, above
    /// which it fails (default 0.05).
    pub max_error_rate_increase: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error_rate: 0.1,
            max_p95_latency_seconds: 1.0,
            max_error_rate_increase: 0.05,
        }
    }
}

impl Thresholds {
    /// Why these thresholds cannot judge anything (named by field, under
    /// `prefix`, e.g. `release.canary.thresholds`), if they cannot.
    pub fn validate(&self, prefix: &str) -> Result<(), String> {
        let share = |field: &str, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "{prefix}.{field}: {v} is not a share of requests (a number from 0 to 1 expected)"
                ))
            }
        };
        share("maxErrorRate", self.max_error_rate)?;
        share("maxErrorRateIncrease", self.max_error_rate_increase)?;
        let p95 = self.max_p95_latency_seconds;
        if !(p95.is_finite() && p95 > 0.0) {
            return Err(format!(
                "{prefix}.maxP95LatencySeconds: {p95} is not a latency (a number of seconds above 0 expected)"
            ));
        }
        Ok(())
    }
}

/// How a measurement, or a round, came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// No data to judge by (no series, no requests) or no answer from
    /// Prometheus: neither a pass nor a failure.
    Inconclusive,
}

/// How the notes of an empty answer start (no series; 0/0).
const NO_SERIES: &str = "no series";
const NO_REQUESTS: &str = "NaN";

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// Fail if any fails; else inconclusive if any is (or if there is
    /// none: nothing measured is not a pass); else pass.
    pub fn fold(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut any = false;
        let mut inconclusive = false;
        for v in verdicts {
            any = true;
            match v {
                Verdict::Fail => return Verdict::Fail,
                Verdict::Inconclusive => inconclusive = true,
                Verdict::Pass => {}
            }
        }
        if inconclusive || !any {
            Verdict::Inconclusive
        } else {
            Verdict::Pass
        }
    }
}

/// The three checks, as named in [`Measurement::check`].
pub const ERROR_RATE: &str = "error-rate";
pub const P95_LATENCY: &str = "p95-latency";
pub const ERROR_RATE_VS_STABLE: &str = "error-rate-vs-stable";

/// One query's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub service: String,
    /// `error-rate`, `p95-latency` or `error-rate-vs-stable`.
    pub check: String,
    /// The PromQL sent, exactly.
    pub query: String,
    /// `None` when there is no value to judge: no series, NaN (no
    /// requests), no answer, or +Inf (P95 above the largest bucket; JSON
    /// has no infinity, the note says so).
    pub value: Option<f64>,
    pub threshold: f64,
    pub verdict: Verdict,
    /// Why inconclusive, what was compared, or what was not judged.
    pub note: Option<String>,
}

/// One analysis round.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Round {
    pub measurements: Vec<Measurement>,
    /// [`Verdict::fold`] of the measurements'.
    pub verdict: Verdict,
}

/// The whole seconds a query covers: `window` rounded up, at least
/// [`MIN_WINDOW`].
pub fn window_secs(window: Duration) -> u64 {
    let secs = window.as_secs() + u64::from(window.subsec_nanos() > 0);
    secs.max(MIN_WINDOW.as_secs())
}

/// A PromQL string literal.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{namespace="ns",app="svc",track…}`: `track` is a full matcher
/// (`track="canary"`, `track=~"canary|stable"`), `extra` more matchers.
fn selector(namespace: &str, service: &str, track: &str, extra: &str) -> String {
    format!(
        "{{namespace={},app={},{track}{extra}}}",
        quoted(namespace),
        quoted(service)
    )
}

/// The canary's 5xx share of requests over the last `secs`: NaN when it
/// had no requests, no series when nothing of it is scraped. A service
/// that never answered a 5xx has no 5xx series: `or vector(0)` makes
/// that a 0 (the denominator still needs series).
pub fn error_rate_query(namespace: &str, service: &str, secs: u64) -> String {
    let errors = selector(namespace, service, "track=\"canary\"", ",status=~\"5..\"");
    let all = selector(namespace, service, "track=\"canary\"", "");
    format!(
        "(sum(rate({REQUESTS_METRIC}{errors}[{secs}s])) or vector(0)) / sum(rate({REQUESTS_METRIC}{all}[{secs}s]))"
    )
}

/// The canary's P95 latency over the last `secs`, from the histogram.
pub fn p95_query(namespace: &str, service: &str, secs: u64) -> String {
    let canary = selector(namespace, service, "track=\"canary\"", "");
    format!(
        "histogram_quantile(0.95, sum by (le) (rate({LATENCY_METRIC}_bucket{canary}[{secs}s])))"
    )
}

/// Each track's 5xx share over the last `secs`, one series per track
/// (`track="canary"`, `track="stable"`); a track without 5xx series has
/// its request rate times 0 instead.
pub fn error_rate_by_track_query(namespace: &str, service: &str, secs: u64) -> String {
    let tracks = "track=~\"canary|stable\"";
    let errors = selector(namespace, service, tracks, ",status=~\"5..\"");
    let all = selector(namespace, service, tracks, "");
    format!(
        "(sum by (track) (rate({REQUESTS_METRIC}{errors}[{secs}s])) or sum by (track) (rate({REQUESTS_METRIC}{all}[{secs}s])) * 0) / sum by (track) (rate({REQUESTS_METRIC}{all}[{secs}s]))"
    )
}

/// What one query answered, as something to judge: a value, or why there
/// is none.
enum Reading {
    Value(f64),
    /// The query returned no series.
    NoSeries,
    /// NaN: 0/0, no requests in the window.
    NaN,
    /// Prometheus gave no usable answer; the note.
    Unanswered(String),
}

fn unanswered(e: &Unanswered) -> String {
    match e {
        Unanswered::Unreachable(why) => format!("Prometheus unreachable: {why}"),
        Unanswered::Unusable(why) => format!("Prometheus gave no usable answer: {why}"),
    }
}

fn reading(value: f64) -> Reading {
    if value.is_nan() {
        Reading::NaN
    } else {
        Reading::Value(value)
    }
}

/// The one series a `sum(…)` query returns, read.
fn single(answer: &Result<Vec<Sample>, Unanswered>) -> Reading {
    match answer {
        Err(e) => Reading::Unanswered(unanswered(e)),
        Ok(samples) => match samples.as_slice() {
            [] => Reading::NoSeries,
            [one] => reading(one.value),
            more => Reading::Unanswered(format!(
                "Prometheus gave no usable answer: {} series where one was expected",
                more.len()
            )),
        },
    }
}

/// The series of `track` in a by-track answer, read.
fn of_track(samples: &[Sample], track: &str) -> Reading {
    match samples
        .iter()
        .find(|s| s.labels.get("track").and_then(|t| t.as_str()) == Some(track))
    {
        None => Reading::NoSeries,
        Some(s) => reading(s.value),
    }
}

/// Compact number: at most 4 decimals, trailing zeros dropped.
fn number(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if (s == "0" || s == "-0") && v != 0.0 {
        format!("{v:.1e}")
    } else {
        s.to_string()
    }
}

struct Judge<'a> {
    service: &'a str,
    secs: u64,
}

impl Judge<'_> {
    fn measurement(
        &self,
        check: &str,
        query: &str,
        value: Option<f64>,
        threshold: f64,
        verdict: Verdict,
        note: Option<String>,
    ) -> Measurement {
        Measurement {
            service: self.service.to_string(),
            check: check.to_string(),
            query: query.to_string(),
            value,
            threshold,
            verdict,
            note,
        }
    }

    fn no_series(&self) -> String {
        format!("{NO_SERIES}: no traffic reached the canary")
    }

    fn no_requests(&self) -> String {
        format!(
            "{NO_REQUESTS}: no requests reached the canary in the last {}s",
            self.secs
        )
    }

    /// `value > threshold` fails; otherwise passes.
    fn threshold(v: f64, threshold: f64) -> Verdict {
        if v > threshold {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    fn error_rate(
        &self,
        query: &str,
        answer: &Result<Vec<Sample>, Unanswered>,
        max: f64,
    ) -> Measurement {
        let inconclusive = |note: String| {
            self.measurement(
                ERROR_RATE,
                query,
                None,
                max,
                Verdict::Inconclusive,
                Some(note),
            )
        };
        match single(answer) {
            Reading::Value(v) => self.measurement(
                ERROR_RATE,
                query,
                Some(v),
                max,
                Self::threshold(v, max),
                None,
            ),
            Reading::NoSeries => inconclusive(self.no_series()),
            Reading::NaN => inconclusive(self.no_requests()),
            Reading::Unanswered(note) => inconclusive(note),
        }
    }

    /// `traffic`: the error-rate query found requests to the canary. A
    /// service without a latency histogram then passes this check, not
    /// judged (the note says so); with no traffic either, inconclusive.
    fn p95(
        &self,
        query: &str,
        answer: &Result<Vec<Sample>, Unanswered>,
        max: f64,
        traffic: bool,
    ) -> Measurement {
        let inconclusive = |note: String| {
            self.measurement(
                P95_LATENCY,
                query,
                None,
                max,
                Verdict::Inconclusive,
                Some(note),
            )
        };
        match single(answer) {
            Reading::Value(v) if v.is_infinite() => self.measurement(
                P95_LATENCY,
                query,
                None,
                max,
                Self::threshold(v, max),
                Some(format!(
                    "{}: above the largest bucket of {LATENCY_METRIC}",
                    number(v)
                )),
            ),
            Reading::Value(v) => {
                self.measurement(P95_LATENCY, query, Some(v), max, Self::threshold(v, max), None)
            }
            Reading::NoSeries if traffic => self.measurement(
                P95_LATENCY,
                query,
                None,
                max,
                Verdict::Pass,
                Some(format!(
                    "not judged: the canary exports no {LATENCY_METRIC} histogram (its error rate was measured)"
                )),
            ),
            Reading::NoSeries => inconclusive(format!(
                "no series: no {LATENCY_METRIC} histogram and no traffic reached the canary"
            )),
            Reading::NaN => inconclusive(self.no_requests()),
            Reading::Unanswered(note) => inconclusive(note),
        }
    }

    fn vs_stable(
        &self,
        query: &str,
        answer: &Result<Vec<Sample>, Unanswered>,
        max: f64,
    ) -> Measurement {
        let inconclusive = |note: String| {
            self.measurement(
                ERROR_RATE_VS_STABLE,
                query,
                None,
                max,
                Verdict::Inconclusive,
                Some(note),
            )
        };
        let samples = match answer {
            Ok(samples) => samples,
            Err(e) => return inconclusive(unanswered(e)),
        };
        let canary = match of_track(samples, "canary") {
            Reading::Value(v) => v,
            Reading::NoSeries => return inconclusive(self.no_series()),
            Reading::NaN => return inconclusive(self.no_requests()),
            Reading::Unanswered(note) => return inconclusive(note),
        };
        let (stable, note) = match of_track(samples, "stable") {
            Reading::Value(v) => (
                v,
                format!("canary {} − stable {}", number(canary), number(v)),
            ),
            Reading::NoSeries => (
                0.0,
                format!(
                    "canary {} − 0: the stable track has no series, compared with 0",
                    number(canary)
                ),
            ),
            Reading::NaN | Reading::Unanswered(_) => (
                0.0,
                format!(
                    "canary {} − 0: no requests reached the stable track in the last {}s, compared with 0",
                    number(canary),
                    self.secs
                ),
            ),
        };
        let increase = canary - stable;
        self.measurement(
            ERROR_RATE_VS_STABLE,
            query,
            Some(increase),
            max,
            Self::threshold(increase, max),
            Some(note),
        )
    }
}

/// One round: every query of every service at once, each within
/// `spec.timeout`. Never fails: what cannot be measured is inconclusive.
pub async fn analyse(spec: &AnalysisSpec) -> Round {
    let secs = window_secs(spec.window);
    let ns = spec.namespace.as_str();
    let http = client(spec.timeout);
    let base = spec.prometheus_url.as_str();
    let ask = |expr: String| {
        let http = &http;
        async move {
            let answer = match http {
                Err(e) => Err(Unanswered::Unreachable(e.clone())),
                // reqwest's timeout covers the whole exchange; this one
                // bounds what it does not (resolving, the body cap loop).
                Ok(c) => match tokio::time::timeout(
                    spec.timeout + Duration::from_millis(100),
                    instant_query(c, base, &expr),
                )
                .await
                {
                    Ok(answer) => answer,
                    Err(_) => Err(Unanswered::Unreachable(format!(
                        "no answer within {}",
                        crate::human::duration(spec.timeout)
                    ))),
                },
            };
            (expr, answer)
        }
    };
    let per_service = spec.services.iter().map(|service| {
        let ask = &ask;
        async move {
            let (rate, latency, by_track) = futures::join!(
                ask(error_rate_query(ns, service, secs)),
                ask(p95_query(ns, service, secs)),
                ask(error_rate_by_track_query(ns, service, secs)),
            );
            let judge = Judge { service, secs };
            let rate = judge.error_rate(&rate.0, &rate.1, spec.thresholds.max_error_rate);
            let traffic = rate.value.is_some();
            let latency = judge.p95(
                &latency.0,
                &latency.1,
                spec.thresholds.max_p95_latency_seconds,
                traffic,
            );
            let vs = judge.vs_stable(
                &by_track.0,
                &by_track.1,
                spec.thresholds.max_error_rate_increase,
            );
            [rate, latency, vs]
        }
    });
    let measurements: Vec<Measurement> = futures::future::join_all(per_service)
        .await
        .into_iter()
        .flatten()
        .collect();
    Round::new(measurements)
}

impl Round {
    pub fn new(measurements: Vec<Measurement>) -> Round {
        let verdict = Verdict::fold(measurements.iter().map(|m| m.verdict));
        Round {
            measurements,
            verdict,
        }
    }

    /// One line for progress output: `pass: 6 checks within thresholds`,
    /// `fail: api-gateway error-rate 0.23 > 0.1 (query …)`,
    /// `inconclusive: ml-service error-rate: no series: … (and 2 more)`.
    pub fn summary(&self) -> String {
        let with = |verdict: Verdict| {
            self.measurements
                .iter()
                .filter(move |m| m.verdict == verdict)
        };
        match self.verdict {
            Verdict::Pass => {
                let not_judged = with(Verdict::Pass).filter(|m| m.value.is_none()).count();
                format!(
                    "pass: {} checks within thresholds{}",
                    self.measurements.len(),
                    if not_judged > 0 {
                        format!(" ({not_judged} not judged: no data of that kind exported)")
                    } else {
                        String::new()
                    }
                )
            }
            verdict if self.measurements.is_empty() => {
                format!("{}: no service to analyse", verdict.as_str())
            }
            verdict => {
                let mut those = with(verdict);
                let first = those.next().map(Measurement::describe).unwrap_or_default();
                let more = those.count();
                format!(
                    "{}: {first}{}",
                    verdict.as_str(),
                    if more > 0 {
                        format!(" (and {more} more)")
                    } else {
                        String::new()
                    }
                )
            }
        }
    }
}

impl Measurement {
    fn shown(&self, v: f64) -> String {
        if self.check == P95_LATENCY {
            format!("{}s", number(v))
        } else {
            number(v)
        }
    }

    /// `api-gateway error-rate 0.23 > 0.1 (query …)`,
    /// `api-gateway p95-latency 0.05s ≤ 1s`,
    /// `ml-service error-rate inconclusive: no series: … (query …)`.
    /// Inconclusive because the canary had no traffic (no series, or no
    /// requests in the window), not because Prometheus could not answer.
    pub fn no_traffic(&self) -> bool {
        self.verdict == Verdict::Inconclusive
            && self
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with(NO_SERIES) || n.starts_with(NO_REQUESTS))
    }

    pub fn describe(&self) -> String {
        let head = format!("{} {}", self.service, self.check);
        let note = self
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let threshold = self.shown(self.threshold);
        match (self.verdict, self.value) {
            (Verdict::Pass, Some(v)) => format!("{head} {} ≤ {threshold}{note}", self.shown(v)),
            (Verdict::Pass, None) => {
                format!("{head} {}", self.note.as_deref().unwrap_or("not judged"))
            }
            (Verdict::Fail, Some(v)) => format!(
                "{head} {} > {threshold}{note} (query {})",
                self.shown(v),
                self.query
            ),
            (Verdict::Fail, None) => format!(
                "{head} {} > {threshold} (query {})",
                self.note.as_deref().unwrap_or("?"),
                self.query
            ),
            (Verdict::Inconclusive, _) => format!(
                "{head} inconclusive: {} (query {})",
                self.note.as_deref().unwrap_or("no value"),
                self.query
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_traffic_is_told_apart_from_a_prometheus_that_did_not_answer() {
        let inconclusive = |note: String| Measurement {
            service: "api-gateway".into(),
            check: ERROR_RATE.into(),
            query: "q".into(),
            value: None,
            threshold: 0.1,
            verdict: Verdict::Inconclusive,
            note: Some(note),
        };
        let probe = Judge {
            service: "api-gateway",
            secs: 30,
        };
        assert!(inconclusive(probe.no_series()).no_traffic());
        assert!(inconclusive(probe.no_requests()).no_traffic());
        assert!(!inconclusive("Prometheus unreachable: connection refused".into()).no_traffic());
        let mut failed = inconclusive(probe.no_series());
        failed.verdict = Verdict::Fail;
        assert!(
            !failed.no_traffic(),
            "only an inconclusive value lacks traffic"
        );
    }
    use serde_json::json;

    fn sample(track: Option<&str>, value: f64) -> Sample {
        let mut labels = serde_json::Map::new();
        if let Some(t) = track {
            labels.insert("track".into(), json!(t));
        }
        Sample { labels, value }
    }

    fn judge() -> Judge<'static> {
        Judge {
            service: "api-gateway",
            secs: 60,
        }
    }

    #[test]
    fn verdicts_fold_fail_first_then_inconclusive_then_pass() {
        use Verdict::*;
        assert_eq!(Verdict::fold([Pass, Pass]), Pass);
        assert_eq!(Verdict::fold([Pass, Inconclusive, Pass]), Inconclusive);
        assert_eq!(Verdict::fold([Inconclusive, Fail, Pass]), Fail);
        assert_eq!(Verdict::fold([Pass, Fail]), Fail);
        // Nothing measured is not a pass.
        assert_eq!(Verdict::fold([]), Inconclusive);
        let round = Round::new(vec![]);
        assert_eq!(round.verdict, Inconclusive);
        assert_eq!(round.summary(), "inconclusive: no service to analyse");
    }

    #[test]
    fn nan_and_no_series_are_inconclusive_never_a_pass() {
        let j = judge();
        let nan = j.error_rate("q", &Ok(vec![sample(None, f64::NAN)]), 0.1);
        assert_eq!(nan.verdict, Verdict::Inconclusive);
        assert_eq!(nan.value, None);
        assert_eq!(
            nan.note.as_deref(),
            Some("NaN: no requests reached the canary in the last 60s")
        );
        let none = j.error_rate("q", &Ok(vec![]), 0.1);
        assert_eq!(none.verdict, Verdict::Inconclusive);
        assert_eq!(
            none.note.as_deref(),
            Some("no series: no traffic reached the canary")
        );
        let p95 = j.p95("q", &Ok(vec![sample(None, f64::NAN)]), 1.0, true);
        assert_eq!(p95.verdict, Verdict::Inconclusive);
        let vs = j.vs_stable(
            "q",
            &Ok(vec![
                sample(Some("canary"), f64::NAN),
                sample(Some("stable"), 0.0),
            ]),
            0.05,
        );
        assert_eq!(vs.verdict, Verdict::Inconclusive);
        assert_eq!(vs.value, None);
        let unreachable = j.error_rate(
            "q",
            &Err(Unanswered::Unreachable("connection refused".into())),
            0.1,
        );
        assert_eq!(unreachable.verdict, Verdict::Inconclusive);
        assert_eq!(
            unreachable.note.as_deref(),
            Some("Prometheus unreachable: connection refused")
        );
        let two = j.error_rate("q", &Ok(vec![sample(None, 0.0), sample(None, 0.5)]), 0.1);
        assert_eq!(two.verdict, Verdict::Inconclusive);
        let round = Round::new(vec![
            j.error_rate("q", &Ok(vec![sample(None, 0.01)]), 0.1),
            nan,
        ]);
        assert_eq!(round.verdict, Verdict::Inconclusive);
        assert!(
            round
                .summary()
                .starts_with("inconclusive: api-gateway error-rate inconclusive: NaN"),
            "{}",
            round.summary()
        );
    }

    #[test]
    fn thresholds_are_exceeded_strictly() {
        let j = judge();
        let at = j.error_rate("q", &Ok(vec![sample(None, 0.1)]), 0.1);
        assert_eq!(at.verdict, Verdict::Pass);
        let above = j.error_rate("q", &Ok(vec![sample(None, 0.2333)]), 0.1);
        assert_eq!(above.verdict, Verdict::Fail);
        assert_eq!(
            above.describe(),
            "api-gateway error-rate 0.2333 > 0.1 (query q)"
        );
        // P95 beyond the largest bucket is +Inf: a failure, said in the note.
        let inf = j.p95("q", &Ok(vec![sample(None, f64::INFINITY)]), 1.0, true);
        assert_eq!(inf.verdict, Verdict::Fail);
        assert!(inf.note.as_deref().unwrap().contains("largest bucket"));
        let slow = j.p95("q", &Ok(vec![sample(None, 2.425)]), 1.0, true);
        assert_eq!(
            slow.describe(),
            "api-gateway p95-latency 2.425s > 1s (query q)"
        );
    }

    #[test]
    fn a_missing_histogram_is_not_judged_only_when_the_canary_has_traffic() {
        let j = judge();
        let with_traffic = j.p95("q", &Ok(vec![]), 1.0, true);
        assert_eq!(with_traffic.verdict, Verdict::Pass);
        assert!(
            with_traffic
                .note
                .as_deref()
                .unwrap()
                .starts_with("not judged")
        );
        let silent = j.p95("q", &Ok(vec![]), 1.0, false);
        assert_eq!(silent.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn the_stable_track_without_series_is_compared_with_zero() {
        let j = judge();
        let alone = j.vs_stable("q", &Ok(vec![sample(Some("canary"), 0.08)]), 0.05);
        assert_eq!(alone.verdict, Verdict::Fail);
        assert_eq!(alone.value, Some(0.08));
        assert!(
            alone.note.as_deref().unwrap().contains("compared with 0"),
            "{alone:?}"
        );
        let both = j.vs_stable(
            "q",
            &Ok(vec![
                sample(Some("stable"), 0.05),
                sample(Some("canary"), 0.08),
            ]),
            0.05,
        );
        assert_eq!(both.verdict, Verdict::Pass);
        assert!((both.value.unwrap() - 0.03).abs() < 1e-9);
        let no_canary = j.vs_stable("q", &Ok(vec![sample(Some("stable"), 0.0)]), 0.05);
        assert_eq!(no_canary.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn queries_filter_on_namespace_app_and_track_over_whole_seconds() {
        assert_eq!(window_secs(Duration::from_secs(5)), 30);
        assert_eq!(window_secs(Duration::from_millis(60_500)), 61);
        assert_eq!(
            error_rate_query("fintech-prod", "api-gateway", 60),
            r#"(sum(rate(http_requests_total{namespace="fintech-prod",app="api-gateway",track="canary",status=~"5.."}[60s])) or vector(0)) / sum(rate(http_requests_total{namespace="fintech-prod",app="api-gateway",track="canary"}[60s]))"#
        );
        assert_eq!(
            p95_query("ns", "ml-service", 30),
            r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="ns",app="ml-service",track="canary"}[30s])))"#
        );
        assert!(error_rate_query("a\"b", "s", 30).contains(r#"namespace="a\"b""#));
    }

    #[test]
    fn thresholds_default_and_validate_by_field() {
        let t: Thresholds = serde_json::from_value(json!({"maxErrorRate": 0.2})).unwrap();
        assert_eq!(t.max_error_rate, 0.2);
        assert_eq!(t.max_p95_latency_seconds, 1.0);
        assert_eq!(t.max_error_rate_increase, 0.05);
        assert!(Thresholds::default().validate("x").is_ok());
        let bad = Thresholds {
            max_error_rate: 1.5,
            ..Thresholds::default()
        };
        assert!(
            bad.validate("release.canary.thresholds")
                .unwrap_err()
                .starts_with("release.canary.thresholds.maxErrorRate: 1.5")
        );
        let bad = Thresholds {
            max_p95_latency_seconds: 0.0,
            ..Thresholds::default()
        };
        assert!(
            bad.validate("t")
                .unwrap_err()
                .contains("maxP95LatencySeconds")
        );
    }
}
