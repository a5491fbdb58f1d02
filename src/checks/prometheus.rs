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

/// The most read from one Prometheus answer: a few thousand alerts or
/// series are a few MiB; more is not an answer to these queries.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The body of `response`, at most `limit` bytes: a larger answer is an
/// error (`answer larger than 16 MiB`), read no further.
pub async fn capped_text(mut response: reqwest::Response, limit: usize) -> Result<String, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!(
            "answer larger than {}",
            crate::human::bytes(limit as u64)
        ));
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(format!(
                "answer larger than {}",
                crate::human::bytes(limit as u64)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The JSON type of `v`, for messages about an answer's shape.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `field` is missing or is not what the documented answer holds.
fn shape(field: &str, v: &Value, expected: &str) -> String {
    if v.is_null() {
        format!("not the Prometheus API's answer: no `{field}` ({expected} expected)")
    } else {
        format!(
            "not the Prometheus API's answer: `{field}` is {}, {expected} expected",
            kind(v)
        )
    }
}

/// Why a request to Prometheus gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unanswered {
    /// No HTTP answer at all: refused, no route, no answer within the
    /// deadline, a body cut off.
    Unreachable(String),
    /// An HTTP answer that is not a result: a 4xx/5xx, an `error` status
    /// (a bad query), a body of another shape (a proxy's page).
    Unusable(String),
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unanswered::Unreachable(why) | Unanswered::Unusable(why) => f.write_str(why),
        }
    }
}

/// GET `base` + `path` as JSON in the documented envelope
/// (`{"status":"success","data":{…}}`); the `data` object. Anything else,
/// an `error` answer included, is an error: never "nothing found".
async fn api(client: &reqwest::Client, base: &str, path: &str) -> Result<Value, Unanswered> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| Unanswered::Unreachable(describe(&e)))?;
    let status = response.status();
    let body = capped_text(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| Unanswered::Unreachable(format!("{status}: {e}")))?;
    let json: Value = serde_json::from_str(&body).map_err(|_| {
        Unanswered::Unusable(format!(
            "{status}: not the Prometheus API: {}",
            super::first_lines(&body, 1).join("")
        ))
    })?;
    envelope(json).map_err(|e| Unanswered::Unusable(format!("{status}: {e}")))
}

/// One series of an instant query's answer: its labels and its value
/// (`NaN` and `±Inf` as Prometheus says them).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: serde_json::Map<String, Value>,
    pub value: f64,
}

/// An instant query (`/api/v1/query`, evaluated now): each series of the
/// vector it returns. No series is `Ok(vec![])`, never an error; an answer
/// of another shape, or a value that is not a number, is [`Unanswered`].
pub async fn instant_query(
    client: &reqwest::Client,
    base: &str,
    expr: &str,
) -> Result<Vec<Sample>, Unanswered> {
    let path = format!("/api/v1/query?query={}", percent_encode(expr));
    let data = api(client, base, &path).await?;
    samples(&data).map_err(Unanswered::Unusable)
}

/// The series of an instant query's `data`, values parsed.
fn samples(data: &Value) -> Result<Vec<Sample>, String> {
    series_list(data)?
        .into_iter()
        .enumerate()
        .map(|(i, (metric, value))| {
            let value = sample_value(&value).ok_or_else(|| {
                format!(
                    "not the Prometheus API's answer: `data.result[{i}]`'s value is `{value}`, a number expected"
                )
            })?;
            Ok(Sample {
                labels: metric.as_object().cloned().unwrap_or_default(),
                value,
            })
        })
        .collect()
}

/// A sample value as the API writes it: `"0.25"`, `"1e-05"`, `"NaN"`,
/// `"+Inf"`, `"-Inf"`.
fn sample_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// The `data` of an answer, or why the answer is not one.
fn envelope(mut json: Value) -> Result<Value, String> {
    if !json.is_object() {
        return Err(format!(
            "not the Prometheus API's answer: the answer is {}, an object expected",
            kind(&json)
        ));
    }
    match json["status"].as_str() {
        Some("success") => {}
        Some("error") => {
            return Err(json["error"]
                .as_str()
                .unwrap_or("the query failed")
                .to_string());
        }
        Some(other) => {
            return Err(format!(
                "not the Prometheus API's answer: `status` is `{other}`, `success` or `error` expected"
            ));
        }
        None => return Err(shape("status", &json["status"], "a string")),
    }
    let data = json["data"].take();
    if !data.is_object() {
        return Err(shape("data", &data, "an object"));
    }
    Ok(data)
}

/// `/api/v1/alerts`'s `data.alerts`, each checked: an object with a
/// `labels` object and a `state` string.
fn alert_list(data: &Value) -> Result<&Vec<Value>, String> {
    let alerts = data["alerts"]
        .as_array()
        .ok_or_else(|| shape("data.alerts", &data["alerts"], "an array"))?;
    for (i, alert) in alerts.iter().enumerate() {
        if !alert.is_object() {
            return Err(shape(&format!("data.alerts[{i}]"), alert, "an object"));
        }
        if !alert["labels"].is_object() {
            return Err(shape(
                &format!("data.alerts[{i}].labels"),
                &alert["labels"],
                "an object",
            ));
        }
        if !alert["state"].is_string() {
            return Err(shape(
                &format!("data.alerts[{i}].state"),
                &alert["state"],
                "a string",
            ));
        }
    }
    Ok(alerts)
}

/// `/api/v1/query`'s series: `data.resultType` `vector` (or `matrix`) and
/// `data.result` an array of objects with a `metric` object and a `value`
/// (`values`) array; `(metric, value)` for each.
fn series_list(data: &Value) -> Result<Vec<(&Value, String)>, String> {
    let result_type = data["resultType"]
        .as_str()
        .ok_or_else(|| shape("data.resultType", &data["resultType"], "a string"))?;
    let sample_field = match result_type {
        "vector" => "value",
        "matrix" => "values",
        other => {
            return Err(format!(
                "not the Prometheus API's answer: `data.resultType` is `{other}`, `vector` expected for these queries"
            ));
        }
    };
    let result = data["result"]
        .as_array()
        .ok_or_else(|| shape("data.result", &data["result"], "an array"))?;
    let mut out = Vec::with_capacity(result.len());
    for (i, sample) in result.iter().enumerate() {
        if !sample.is_object() {
            return Err(shape(&format!("data.result[{i}]"), sample, "an object"));
        }
        if !sample["metric"].is_object() {
            return Err(shape(
                &format!("data.result[{i}].metric"),
                &sample["metric"],
                "an object",
            ));
        }
        let values = &sample[sample_field];
        let Some(values) = values.as_array() else {
            return Err(shape(
                &format!("data.result[{i}].{sample_field}"),
                values,
                "an array",
            ));
        };
        // A vector's `value` is `[time, "v"]`; a matrix's `values` a list of them.
        let last = if result_type == "vector" {
            values.get(1)
        } else {
            values.last().and_then(|v| v.get(1))
        };
        let value = last.and_then(Value::as_str).unwrap_or("?").to_string();
        out.push((&sample["metric"], value));
    }
    Ok(out)
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
    // No answer, or an answer that is not the documented shape (which says
    // nothing about what fires): never "no alert firing"; a warning, a
    // failure under --strict.
    let not_judged = |summary: String, why: String, hint: &str| {
        let result = if strict {
            CheckResult::failed
        } else {
            CheckResult::warned
        };
        CheckResult {
            evidence: vec![format!("GET {base}/api/v1/alerts: {why}")],
            ..result(CheckId::Alerts.as_str(), summary, Some(hint.to_string()))
        }
    };
    let unreachable = |why: String| {
        not_judged(
            format!("Prometheus at {base} cannot be asked: {why}"),
            why,
            "without Prometheus nobody sees alerts: check monitoring.prometheusUrl and that Prometheus runs",
        )
    };
    let misshapen = |why: String| {
        not_judged(
            format!("Prometheus at {base} gave an answer that cannot be judged: {why}"),
            why,
            "monitoring.prometheusUrl must lead to Prometheus's own HTTP API (not a proxy's or another service's page)",
        )
    };
    let client = match client(timeout) {
        Ok(c) => c,
        Err(e) => return unreachable(e),
    };
    let data = match api(&client, base, "/api/v1/alerts").await {
        Ok(d) => d,
        Err(e) => return unreachable(e.to_string()),
    };
    let alerts = match alert_list(&data) {
        Ok(a) => a,
        Err(e) => return misshapen(e),
    };
    let mut f = Findings::default();
    let mut firing = 0;
    let mut pending = 0;
    for alert in alerts {
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

fn series(labels: &serde_json::Map<String, Value>) -> String {
    let labels: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect();
    format!("{{{}}}", labels.join(","))
}

/// One round: every query at once.
pub async fn bake_round(client: &reqwest::Client, base: &str) -> BakeRound {
    let answers = futures::future::join_all(
        BAKE_QUERIES
            .iter()
            .map(|q| async move { (q, instant_query(client, base, q.expr).await) }),
    )
    .await;
    let mut round = BakeRound::default();
    for (q, answer) in answers {
        match answer {
            Ok(found) => {
                for sample in found {
                    round.crossed.push(format!(
                        "{}: {} = {}",
                        q.name,
                        series(&sample.labels),
                        sample.value
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
                    "Prometheus at {base} gave no usable answer {failed_rounds} rounds in a row: the bake cannot judge"
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
    fn only_the_documented_shapes_are_answers() {
        use serde_json::json;
        let data = |v: Value| envelope(v).unwrap();
        // An empty `data`, or a mistyped field, is not "nothing firing".
        let empty = data(json!({"status": "success", "data": {}}));
        assert!(
            alert_list(&empty)
                .unwrap_err()
                .contains("no `data.alerts` (an array expected)")
        );
        let nope = data(json!({"status": "success", "data": {"alerts": "nope"}}));
        assert!(
            alert_list(&nope)
                .unwrap_err()
                .contains("`data.alerts` is a string, an array expected")
        );
        let odd = data(json!({"status": "success", "data": {"alerts": [{"labels": {}}]}}));
        assert!(
            alert_list(&odd)
                .unwrap_err()
                .contains("data.alerts[0].state")
        );
        let none = data(json!({"status": "success", "data": {"alerts": []}}));
        assert_eq!(alert_list(&none).unwrap().len(), 0);

        let object =
            data(json!({"status": "success", "data": {"resultType": "vector", "result": {}}}));
        assert!(
            series_list(&object)
                .unwrap_err()
                .contains("`data.result` is an object, an array expected")
        );
        assert!(series_list(&empty).unwrap_err().contains("data.resultType"));
        let scalar = data(
            json!({"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}),
        );
        assert!(series_list(&scalar).unwrap_err().contains("`scalar`"));
        let one = data(json!({"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": {"job": "api"}, "value": [1, "2.5"]}]}}));
        assert_eq!(series_list(&one).unwrap()[0].1, "2.5");
        let quiet =
            data(json!({"status": "success", "data": {"resultType": "vector", "result": []}}));
        assert!(series_list(&quiet).unwrap().is_empty());

        assert!(
            envelope(json!({"status": "success"}))
                .unwrap_err()
                .contains("`data`")
        );
        assert!(envelope(json!([1])).unwrap_err().contains("is an array"));
        assert_eq!(
            envelope(json!({"status": "error", "error": "bad query"})).unwrap_err(),
            "bad query"
        );
        assert!(
            envelope(json!({"data": {}}))
                .unwrap_err()
                .contains("`status`")
        );
    }

    #[test]
    fn sample_values_are_numbers_nan_and_infinities() {
        use serde_json::json;
        let data = |result: Value| {
            envelope(
                json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
            )
            .unwrap()
        };
        let found = samples(&data(json!([
            {"metric": {"track": "canary"}, "value": [1, "0.25"]},
            {"metric": {}, "value": [1, "NaN"]},
            {"metric": {}, "value": [1, "+Inf"]},
            {"metric": {}, "value": [1, "1e-05"]},
        ])))
        .unwrap();
        assert_eq!(found[0].value, 0.25);
        assert_eq!(found[0].labels["track"], "canary");
        assert!(found[1].value.is_nan());
        assert_eq!(found[2].value, f64::INFINITY);
        assert_eq!(found[3].value, 0.00001);
        // A value that is not a number is not an answer (never "0").
        for bad in [
            json!([1, "fast"]),
            json!([1]),
            json!([1, 0.5]),
            json!([1, "inf"]),
        ] {
            let err = samples(&data(json!([{"metric": {}, "value": bad}]))).unwrap_err();
            assert!(err.contains("a number expected"), "{bad}: {err}");
        }
        assert!(samples(&data(json!([]))).unwrap().is_empty());
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(percent_encode("up == 0"), "up%20%3D%3D%200");
        assert_eq!(percent_encode(r#"{a=~"5.."}"#), "%7Ba%3D~%225..%22%7D");
    }
}
