//! `alerts` and `--bake`: Prometheus over its HTTP API (the environment's
//! `monitoring.prometheusUrl`), with reqwest and rustls (ring).
//!
//! `alerts` lists what fires for the namespace (`/api/v1/alerts`). The bake
//! queries the runbook's alert expressions (`/api/v1/query`) every interval
//! for a duration and fails the moment one returns a series — a canary
//! analysis like Argo Rollouts' or Flagger's, not a sleep.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{CheckId, CheckResult, Findings, Status};
use crate::environment::Environment;
use crate::interrupt::Stop;

/// An HTTP client for the monitoring endpoints: rustls with ring, no
/// system proxy, every request bounded by `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // reqwest is built without a bundled crypto provider (no aws-lc): ring
    // becomes the process default once (a second install is refused, fine).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

/// The cause of a failed request in plain words.
pub fn describe(e: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = e.to_string();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::TimedOut => return "connection timed out".into(),
                _ => {}
            }
        }
        innermost = c.to_string();
        cause = c.source();
    }
    if e.is_timeout() {
        return "no answer in time".to_string();
    }
    if e.is_connect() {
        return format!("cannot connect: {innermost}");
    }
    innermost
}

/// GET `base` + `path` as JSON, `status: success` required; the `data`.
async fn api(client: &reqwest::Client, base: &str, path: &str) -> Result<Value, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let response = client.get(&url).send().await.map_err(|e| describe(&e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| describe(&e))?;
    let json: Value = serde_json::from_str(&body).map_err(|_| {
        format!(
            "{status}: not the Prometheus API: {}",
            super::first_lines(&body, 1).join("")
        )
    })?;
    if json["status"] != "success" {
        return Err(format!(
            "{status}: {}",
            json["error"].as_str().unwrap_or("the query failed")
        ));
    }
    Ok(json["data"].clone())
}

/// Whether an alert is about this environment's namespace or services.
fn concerns(labels: &Value, env: &Environment) -> bool {
    let ns = env.namespace.name.as_str();
    let label = |k: &str| labels[k].as_str().unwrap_or("");
    label("namespace") == ns
        || label("kubernetes_namespace") == ns
        || env.services.iter().any(|(name, _)| label("job") == name)
        || label("instance").contains(&format!(".{ns}.svc"))
}

/// The `alerts` check: nothing firing for the namespace. An unreachable
/// Prometheus warns (fails under `--strict`).
pub async fn alerts(
    _kube: &kube::Client,
    env: &Environment,
    timeout: Duration,
    strict: bool,
) -> CheckResult {
    let base = &env.monitoring.prometheus_url;
    let unreachable = |why: String| {
        let result = if strict {
            CheckResult::failed
        } else {
            CheckResult::warned
        };
        CheckResult {
            evidence: vec![format!("GET {base}/api/v1/alerts: {why}")],
            ..result(
                CheckId::Alerts.as_str(),
                format!("Prometheus at {base} cannot be asked: {why}"),
                Some("without Prometheus nobody sees alerts: check monitoring.prometheusUrl and that Prometheus runs".into()),
            )
        }
    };
    let client = match client(timeout) {
        Ok(c) => c,
        Err(e) => return unreachable(e),
    };
    let data = match api(&client, base, "/api/v1/alerts").await {
        Ok(d) => d,
        Err(e) => return unreachable(e),
    };
    let mut f = Findings::default();
    let mut firing = 0;
    let mut pending = 0;
    for alert in data["alerts"].as_array().into_iter().flatten() {
        let labels = &alert["labels"];
        if !concerns(labels, env) {
            continue;
        }
        let name = labels["alertname"].as_str().unwrap_or("unnamed");
        let severity = labels["severity"].as_str().unwrap_or("none");
        let summary = alert["annotations"]["summary"].as_str().unwrap_or("");
        let since = alert["activeAt"].as_str().unwrap_or("");
        let what = format!(
            "{name} ({severity}){}{}, value {}, active since {since}",
            if summary.is_empty() { "" } else { ": " },
            summary,
            alert["value"].as_str().unwrap_or("?")
        );
        match alert["state"].as_str() {
            Some("firing") => {
                firing += 1;
                f.fail(format!("firing: {what}"));
                f.hint("the alert's own runbook entry says what to do; Grafana's dashboard shows since when");
            }
            Some("pending") => {
                pending += 1;
                f.warn(format!("pending: {what}"));
                f.hint("a pending alert fires once its `for:` passes: look at it now");
            }
            _ => {}
        }
    }
    if firing == 0 && pending == 0 {
        f.pass(format!(
            "no alert firing or pending for {} ({base})",
            env.namespace.name
        ));
    }
    let summary = match (firing, pending) {
        (0, 0) => "no alert firing".to_string(),
        (0, p) => format!("{p} alert(s) pending"),
        (n, _) => format!("{n} alert(s) firing"),
    };
    f.finish(CheckId::Alerts, summary)
}

/// One expression the bake watches: a series in its result means it crossed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BakeQuery {
    pub name: &'static str,
    pub expr: &'static str,
}

/// The runbook's alert expressions (templates/monitoring.yaml: HighErrorRate,
/// ServiceDown) and its P95 latency, each with its threshold in the
/// expression: a result means the threshold is crossed now.
pub const BAKE_QUERIES: [BakeQuery; 3] = [
    BakeQuery {
        name: "error-rate",
        expr: r#"rate(http_requests_total{status=~"5.."}[5m]) > 0.1"#,
    },
    BakeQuery {
        name: "service-up",
        expr: "up == 0",
    },
    BakeQuery {
        name: "p95-latency",
        expr: "histogram_quantile(0.95, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m]))) > 1",
    },
];

/// What one round of queries found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BakeRound {
    /// `error-rate: {job="api-gateway",status="500"} = 2.5`
    pub crossed: Vec<String>,
    /// Queries that could not be answered.
    pub errors: Vec<String>,
}

/// How the bake went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BakeReport {
    pub status: Status,
    pub summary: String,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub duration: Duration,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
    pub rounds: u32,
    pub queries: Vec<BakeQuery>,
    /// What crossed (the round that failed), or why rounds failed.
    pub evidence: Vec<String>,
}

impl BakeReport {
    pub fn not_started(duration: Duration, why: &str) -> Self {
        BakeReport {
            status: Status::Skipped,
            summary: format!("not started: {why}"),
            duration,
            elapsed: Duration::ZERO,
            rounds: 0,
            queries: BAKE_QUERIES.to_vec(),
            evidence: Vec::new(),
        }
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

fn series(metric: &Value) -> String {
    let labels: Vec<String> = metric
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect();
    format!("{{{}}}", labels.join(","))
}

/// One round: every query at once.
pub async fn bake_round(client: &reqwest::Client, base: &str) -> BakeRound {
    let answers = futures::future::join_all(BAKE_QUERIES.iter().map(|q| async move {
        let path = format!("/api/v1/query?query={}", percent_encode(q.expr));
        (q, api(client, base, &path).await)
    }))
    .await;
    let mut round = BakeRound::default();
    for (q, answer) in answers {
        match answer {
            Ok(data) => {
                for sample in data["result"].as_array().into_iter().flatten() {
                    round.crossed.push(format!(
                        "{}: {} = {}",
                        q.name,
                        series(&sample["metric"]),
                        sample["value"][1].as_str().unwrap_or("?")
                    ));
                }
            }
            Err(e) => round.errors.push(format!("{}: {e}", q.name)),
        }
    }
    round
}

/// Rounds in a row that may fail to query before the bake fails.
pub const MAX_FAILED_ROUNDS: u32 = 3;

/// Queries [`BAKE_QUERIES`] every `interval` for `duration`; fails the
/// moment one crosses, or when Prometheus cannot answer
/// [`MAX_FAILED_ROUNDS`] rounds in a row.
pub async fn bake(
    _kube: &kube::Client,
    env: &Environment,
    duration: Duration,
    interval: Duration,
    timeout: Duration,
    stop: &Stop,
    on_round: &(dyn Fn(Duration, &BakeRound) + Send + Sync),
) -> BakeReport {
    let base = env.monitoring.prometheus_url.clone();
    let started = Instant::now();
    let mut report = BakeReport {
        status: Status::Pass,
        summary: String::new(),
        duration,
        elapsed: Duration::ZERO,
        rounds: 0,
        queries: BAKE_QUERIES.to_vec(),
        evidence: Vec::new(),
    };
    let client = match client(timeout) {
        Ok(c) => c,
        Err(e) => {
            report.status = Status::Fail;
            report.summary = e;
            return report;
        }
    };
    let mut failed_rounds = 0;
    loop {
        let round = bake_round(&client, &base).await;
        report.rounds += 1;
        let elapsed = started.elapsed();
        on_round(elapsed, &round);
        if !round.crossed.is_empty() {
            report.status = Status::Fail;
            report.summary = format!(
                "crossed after {}: {}",
                crate::human::duration(elapsed),
                round.crossed[0]
            );
            report.evidence = round.crossed;
            report.elapsed = elapsed;
            return report;
        }
        if round.errors.is_empty() {
            failed_rounds = 0;
        } else {
            failed_rounds += 1;
            if failed_rounds >= MAX_FAILED_ROUNDS {
                report.status = Status::Fail;
                report.summary = format!(
                    "Prometheus at {base} did not answer {failed_rounds} rounds in a row: the bake cannot judge"
                );
                report.evidence = round.errors;
                report.elapsed = elapsed;
                return report;
            }
        }
        if elapsed >= duration {
            break;
        }
        let wait = interval.min(duration - elapsed);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.stopped() => {
                report.status = Status::Fail;
                report.summary = "interrupted".into();
                report.elapsed = started.elapsed();
                return report;
            }
        }
    }
    report.elapsed = started.elapsed();
    report.summary = format!(
        "{} rounds over {}: no threshold crossed",
        report.rounds,
        crate::human::duration(report.elapsed)
    );
    report
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(percent_encode("up == 0"), "up%20%3D%3D%200");
        assert_eq!(percent_encode(r#"{a=~"5.."}"#), "%7Ba%3D~%225..%22%7D");
    }
}
