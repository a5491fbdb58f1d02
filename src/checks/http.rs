//! HTTP checks through the API server's service proxy
//! (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`): no kubectl, no
//! local port, the same credentials as every other call. Each request has
//! its own deadline; the answer's status, latency and first body lines are
//! the evidence.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{CheckId, CheckResult, Findings, Status, first_lines};

/// One GET the checks make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub service: String,
    pub port: u16,
    pub path: String,
    /// The body must be Prometheus text exposition format.
    pub metrics: bool,
}

impl Probe {
    pub fn new(service: &str, port: u16, path: &str) -> Self {
        Self {
            service: service.to_string(),
            port,
            path: path.to_string(),
            metrics: false,
        }
    }

    /// `api-gateway:8000/health`.
    pub fn display(&self) -> String {
        format!("{}:{}{}", self.service, self.port, self.path)
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// `None` when no answer came (timeout, transport error).
    pub status: Option<u16>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub latency: Duration,
    #[serde(skip)]
    pub content_type: Option<String>,
    #[serde(skip)]
    pub body: String,
    /// Why there was no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `200 in 12ms`, `503 in 8ms`, `no answer within 2s`.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => format!("{status} in {}", crate::human::duration(self.latency)),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".to_string(),
        }
    }
}

/// GET `probe` through the service proxy within `deadline` (the whole
/// exchange, body included).
pub async fn get(
    client: &kube::Client,
    namespace: &str,
    probe: &Probe,
    deadline: Duration,
) -> Answer {
    let path = format!(
        "/api/v1/namespaces/{namespace}/services/{}:{}/proxy{}",
        probe.service, probe.port, probe.path
    );
    let started = Instant::now();
    let exchange = async {
        let request = http::Request::get(&path)
            .header(http::header::ACCEPT, "*/*")
            .body(kube::client::Body::empty())
            .map_err(|e| e.to_string())?;
        let response = client
            .send(request)
            .await
            .map_err(|e| crate::cluster::connect::describe_error(&e))?;
        let status = response.status().as_u16();
        let latency = started.elapsed();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| format!("reading the body: {e}"))?;
        Ok::<_, String>((status, latency, content_type, body))
    };
    match tokio::time::timeout(deadline, exchange).await {
        Ok(Ok((status, latency, content_type, body))) => Answer {
            status: Some(status),
            latency,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
            error: None,
        },
        Ok(Err(e)) => Answer {
            status: None,
            latency: started.elapsed(),
            content_type: None,
            body: String::new(),
            error: Some(e),
        },
        Err(_) => Answer {
            status: None,
            latency: deadline,
            content_type: None,
            body: String::new(),
            error: Some(format!(
                "no answer within {}",
                crate::human::duration(deadline)
            )),
        },
    }
}

/// Whether `body` is Prometheus text exposition format: every line a
/// comment (`# HELP`, `# TYPE`, …) or `name[{labels}] value [timestamp]`,
/// and at least one sample. The reason when it is not.
pub fn prometheus_text(body: &str) -> Result<usize, String> {
    let mut samples = 0;
    for (i, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name_part, rest) = match line.find('{') {
            Some(open) => {
                let close = line
                    .rfind('}')
                    .ok_or_else(|| format!("line {}: `{{` without `}}`", i + 1))?;
                (&line[..open], line[close + 1..].trim())
            }
            None => match line.split_once(char::is_whitespace) {
                Some((n, r)) => (n, r.trim()),
                None => return Err(format!("line {}: no value: `{line}`", i + 1)),
            },
        };
        let valid_name = !name_part.is_empty()
            && name_part.chars().enumerate().all(|(j, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (j > 0 && c.is_ascii_digit())
            });
        if !valid_name {
            return Err(format!("line {}: not a metric name: `{name_part}`", i + 1));
        }
        let value = rest.split_whitespace().next().unwrap_or("");
        let numeric =
            value.parse::<f64>().is_ok() || matches!(value, "NaN" | "+Inf" | "-Inf" | "Inf");
        if !numeric {
            return Err(format!("line {}: not a sample value: `{value}`", i + 1));
        }
        samples += 1;
    }
    if samples == 0 {
        return Err("no samples".to_string());
    }
    Ok(samples)
}

/// The `http` check: every probe 2xx within the deadline; a metrics probe
/// must also serve Prometheus text.
pub fn judge(env: &str, results: &[(Probe, Answer)], deadline: Duration) -> CheckResult {
    let mut f = Findings::default();
    for (probe, answer) in results {
        let target = format!("GET {}", probe.display());
        if answer.ok() {
            if probe.metrics {
                match prometheus_text(&answer.body) {
                    Ok(samples) => f.pass(format!(
                        "{target}: {}, Prometheus text format ({samples} sample(s))",
                        answer.describe()
                    )),
                    Err(why) => {
                        f.fail(format!(
                            "{target}: {} but not Prometheus text format: {why}",
                            answer.describe()
                        ));
                        f.hint("/metrics must serve the Prometheus exposition format (prometheus_client's generate_latest)");
                    }
                }
            } else {
                f.pass(format!("{target}: {}", answer.describe()));
            }
            continue;
        }
        match answer.status {
            Some(status) => {
                let head = first_lines(&answer.body, 3);
                f.fail(format!(
                    "{target}: {}{}",
                    answer.describe(),
                    if head.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", head.join(" ⏎ "))
                    }
                ));
                f.hint(format!(
                    "`fintechctl debug logs {env} {}` shows why it answers {status}",
                    probe.service
                ));
            }
            None => {
                f.fail(format!("{target}: {}", answer.describe()));
                f.hint(format!(
                    "each request must answer within {}: a hung worker or a dependency it waits on (database, Redis) is the usual cause",
                    crate::human::duration(deadline)
                ));
            }
        }
    }
    let failed = f.lines(Status::Fail).len();
    let summary = if failed == 0 {
        let slowest = results
            .iter()
            .map(|(_, a)| a.latency)
            .max()
            .unwrap_or_default();
        format!(
            "{} endpoints answer 2xx (slowest {})",
            results.len(),
            crate::human::duration(slowest)
        )
    } else {
        format!("{failed} of {} endpoints do not answer 2xx", results.len())
    };
    f.finish(CheckId::Http, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_is_recognised() {
        let ok = "# HELP http_requests_total Requests\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",status=\"200\"} 1027 1395066363000\nup 1\nx_bucket{le=\"+Inf\"} +Inf\n";
        assert_eq!(prometheus_text(ok), Ok(3));
        assert!(prometheus_text("{\"status\": \"ok\"}").is_err());
        assert!(prometheus_text("<html>").is_err());
        assert!(prometheus_text("# only comments\n").is_err());
    }
}
