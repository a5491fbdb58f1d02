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

/// The most of a body read: a health or metrics answer is a few KiB (a
/// large /metrics a few hundred); beyond this the answer is not judged.
pub const MAX_BODY_BYTES: usize = 4 << 20;

impl Answer {
    /// 2xx with the whole body read.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s)) && self.error.is_none()
    }

    /// `200 in 12ms`, `503 in 8ms`, `no answer within 2s`, `200 in 9ms,
    /// answer larger than 4 MiB`.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), Some(e)) => {
                format!("{status} in {}, {e}", crate::human::duration(self.latency))
            }
            (Some(status), None) => {
                format!("{status} in {}", crate::human::duration(self.latency))
            }
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".to_string(),
        }
    }
}

/// GET `probe` through the service proxy within `deadline` (every try,
/// bodies included). The API server's own refusal of the proxy request (a
/// 429, 500 or 503 whose body is a Kubernetes `Status`, not the service's
/// answer) is tried again, backing off, while the deadline allows; when it
/// persists the answer says the service was not reached instead of blaming it.
pub async fn get(
    client: &kube::Client,
    namespace: &str,
    probe: &Probe,
    deadline: Duration,
) -> Answer {
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let mut answer = get_once(client, namespace, probe, left, deadline).await;
        let Some(refusal) = api_server_refusal(&answer) else {
            return answer;
        };
        if started.elapsed() + delay >= deadline {
            answer.error = Some(format!(
                "the API server answered the proxy request itself ({refusal}); the service was not reached"
            ));
            answer.status = None;
            answer.body.clear();
            answer.latency = started.elapsed();
            return answer;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// `Some(words)` when an answer is the API server's own error about the
/// proxy request (429, 500 or 503 with a `Status` body), not the service's.
fn api_server_refusal(answer: &Answer) -> Option<String> {
    let status = answer.status.filter(|s| matches!(s, 429 | 500 | 503))?;
    let body: serde_json::Value = serde_json::from_str(answer.body.trim()).ok()?;
    if body["kind"] != "Status" || body["apiVersion"] != "v1" {
        return None;
    }
    let message = body["message"].as_str().unwrap_or_default();
    Some(format!("{status}: {message}"))
}

/// One GET of `probe` through the service proxy within `deadline` (the
/// whole exchange, body included); a timeout is said as `said`, the
/// deadline of all the tries.
async fn get_once(
    client: &kube::Client,
    namespace: &str,
    probe: &Probe,
    deadline: Duration,
    said: Duration,
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
        // Read frame by frame, at most MAX_BODY_BYTES: a huge answer is
        // said, not held in memory.
        let mut body = response.into_body();
        let mut bytes: Vec<u8> = Vec::new();
        let mut too_large = false;
        while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
            let frame = frame.map_err(|e| format!("reading the body: {e}"))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > MAX_BODY_BYTES {
                    too_large = true;
                    break;
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok::<_, String>((status, latency, content_type, bytes, too_large))
    };
    match tokio::time::timeout(deadline, exchange).await {
        Ok(Ok((status, latency, content_type, body, too_large))) => Answer {
            status: Some(status),
            latency,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
            error: too_large.then(|| {
                format!(
                    "answer larger than {}",
                    crate::human::bytes(MAX_BODY_BYTES as u64)
                )
            }),
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
            error: Some(format!("no answer within {}", crate::human::duration(said))),
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
            Some(_) if answer.error.is_some() => {
                f.fail(format!("{target}: {} (read no further)", answer.describe()));
                f.hint(format!(
                    "{} must answer a small body: `kubectl logs -l app={}` shows what it serves",
                    probe.path, probe.service
                ));
            }
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
    fn only_a_status_body_is_the_api_servers_own_refusal() {
        let answer = |status: u16, body: &str| Answer {
            status: Some(status),
            latency: Duration::ZERO,
            content_type: None,
            body: body.to_string(),
            error: None,
        };
        let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server is currently unable to handle the request","code":503}"#;
        assert_eq!(
            api_server_refusal(&answer(503, status)).as_deref(),
            Some("503: the server is currently unable to handle the request")
        );
        // The service's own answers are its answers.
        assert_eq!(
            api_server_refusal(&answer(500, "Internal Server Error")),
            None
        );
        assert_eq!(
            api_server_refusal(&answer(503, r#"{"ready": false}"#)),
            None
        );
        assert_eq!(api_server_refusal(&answer(200, status)), None);
    }

    #[test]
    fn prometheus_text_is_recognised() {
        let ok = "# HELP http_requests_total Requests\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",status=\"200\"} 1027 1395066363000\nup 1\nx_bucket{le=\"+Inf\"} +Inf\n";
        assert_eq!(prometheus_text(ok), Ok(3));
        assert!(prometheus_text("{\"status\": \"ok\"}").is_err());
        assert!(prometheus_text("<html>").is_err());
        assert!(prometheus_text("# only comments\n").is_err());
    }
}
