//! TEMPORARY STUB of helper A's analysis (branch `analysis`), written to the
//! agreed interface so the canary run compiles and its tests run against a
//! Prometheus-shaped stub. A's version replaces this file on merge.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a canary round is judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSpec {
    pub prometheus_url: String,
    pub namespace: String,
    pub services: Vec<String>,
    pub window: Duration,
    pub thresholds: Thresholds,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Thresholds {
    pub max_error_rate: f64,
    pub max_p95_latency_seconds: f64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub service: String,
    pub check: String,
    pub query: String,
    pub value: Option<f64>,
    pub threshold: f64,
    pub verdict: Verdict,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Round {
    pub measurements: Vec<Measurement>,
    pub verdict: Verdict,
}

/// The canary track's 5xx share per service: no series is inconclusive.
pub async fn analyse(spec: &AnalysisSpec) -> Round {
    let client = crate::checks::prometheus::client(spec.timeout);
    let mut measurements = Vec::new();
    for service in &spec.services {
        let window = format!("{}s", spec.window.as_secs().max(1));
        let query = format!(
            "sum(rate(http_requests_total{{namespace=\"{ns}\",service=\"{service}\",track=\"canary\",status=~\"5..\"}}[{window}])) / sum(rate(http_requests_total{{namespace=\"{ns}\",service=\"{service}\",track=\"canary\"}}[{window}]))",
            ns = spec.namespace
        );
        let threshold = spec.thresholds.max_error_rate;
        let (value, note) = match &client {
            Ok(client) => match query_value(client, &spec.prometheus_url, &query).await {
                Ok(v) => (v, None),
                Err(e) => (None, Some(e)),
            },
            Err(e) => (None, Some(e.clone())),
        };
        let verdict = match value {
            Some(v) if v > threshold => Verdict::Fail,
            Some(_) => Verdict::Pass,
            None => Verdict::Inconclusive,
        };
        let note = note.or_else(|| {
            value
                .is_none()
                .then(|| "no series: no traffic reached the canary".to_string())
        });
        measurements.push(Measurement {
            service: service.clone(),
            check: "error-rate".into(),
            query,
            value,
            threshold,
            verdict,
            note,
        });
    }
    let verdict = if measurements.iter().any(|m| m.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if measurements.is_empty()
        || measurements
            .iter()
            .any(|m| m.verdict == Verdict::Inconclusive)
    {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    Round {
        measurements,
        verdict,
    }
}

async fn query_value(
    client: &reqwest::Client,
    base: &str,
    query: &str,
) -> Result<Option<f64>, String> {
    let url = format!(
        "{}/api/v1/query?query={}",
        base.trim_end_matches('/'),
        crate::checks::prometheus::percent_encode(query)
    );
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| crate::checks::prometheus::describe(&e))?;
    let body = crate::checks::prometheus::capped_text(response, 1 << 20).await?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| "not the Prometheus API".to_string())?;
    let result = json["data"]["result"]
        .as_array()
        .ok_or_else(|| "not the Prometheus API's answer".to_string())?;
    Ok(result
        .first()
        .and_then(|s| s["value"].get(1))
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite()))
}
