//! Everything that talks to a Kubernetes API server: apply, rollout watching
//! and diagnosis. Every function takes a `kube::Client`, so tests point it at
//! kube-sim.

pub mod apply;
pub mod bundle;
pub mod connect;
pub mod diagnosis;
pub mod digest_key;
pub mod events;
pub mod exec;
pub mod kinds;
pub mod liveness;
pub mod lock;
pub mod logs;
pub mod metrics;
pub mod migration;
pub mod migration_sql;
pub mod prerequisites;
pub mod prune;
pub mod records;
pub mod rollout;
pub mod target;
pub mod triage;
pub mod wait;

/// A client error as a person reads it: for an API error, the server's
/// message with its code and reason, not the Rust debug dump of the Status.
///
/// An error answer that is not a Kubernetes `Status` (kube-rs says "Failed
/// to parse error data") comes from something that is not an API server —
/// a web server, a proxy, a wrong port or path: said in those words, with
/// the start of what it answered.
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.reason == NOT_A_STATUS => {
            let body: String = status
                .message
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim()
                .chars()
                .take(120)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let answered = if body.is_empty() {
                String::new()
            } else {
                format!(" (it answered `{body}`)")
            };
            format!(
                "HTTP {} from a server that is not a Kubernetes API server{answered}: \
                 is the cluster's server URL (and port and path) right?",
                status.code
            )
        }
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(", {}", status.reason)
            };
            format!("{} ({}{reason})", status.message, status.code)
        }
        other => connect::describe_error(other),
    }
}

/// kube-rs's reason for an error answer whose body is not a `Status`.
const NOT_A_STATUS: &str = "Failed to parse error data";

/// Whether the API server answered with this HTTP status.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// What [`create_or_find`] did.
#[derive(Debug)]
pub enum Created<K> {
    /// The API server created the object (this is its answer).
    Created(K),
    /// A create was answered 500, 502 or 504, and reading back found an
    /// object by that name: this run's, stored before the error, or
    /// another's. The caller judges which.
    Found(K),
}

/// Creates `object` (named `name`). A create answered 500, 502 or 504 may
/// or may not have been stored, and the client never sends a POST again on
/// its own (`connect`'s retry policy): the object is read back, and sent
/// again (twice at most, backing off) only when it is not there. Any other
/// answer, a 409 among them, is the caller's.
pub(crate) async fn create_or_find<K>(
    api: &kube::Api<K>,
    name: &str,
    object: &K,
) -> Result<Created<K>, kube::Error>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let params = kube::api::PostParams::default();
    let mut result = api.create(&params, object).await;
    for attempt in 1..=2u64 {
        let ambiguous =
            matches!(&result, Err(e) if [500, 502, 504].iter().any(|c| is_status(e, *c)));
        if !ambiguous {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
        match api.get_opt(name).await {
            Ok(Some(found)) => return Ok(Created::Found(found)),
            Ok(None) => result = api.create(&params, object).await,
            // Unread: the create's own error stands.
            Err(_) => {}
        }
    }
    result.map(Created::Created)
}

/// Reads a duration written by [`serialize_secs`] (seconds, fractional).
pub fn deserialize_secs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::time::Duration, D::Error> {
    let secs: f64 = serde::Deserialize::deserialize(d)?;
    Ok(std::time::Duration::from_secs_f64(secs.max(0.0)))
}

/// Serializes a duration as seconds with one decimal, as every report shows it.
pub fn serialize_secs<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A web server that answers 404 to everything, as a wrong URL does.
    async fn not_an_api_server(body: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let answer = format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn a_404_from_something_that_is_not_an_api_server_says_so() {
        for body in ["404 page not found\n", ""] {
            let url = not_an_api_server(body).await;
            let config = kube::Config::new(url.parse().unwrap());
            let client = kube::Client::try_from(config).unwrap();
            let error = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                client.apiserver_version(),
            )
            .await
            .expect("answers at once")
            .expect_err("a 404");
            for message in [api_message(&error), connect::describe_error(&error)] {
                assert!(
                    message
                        .starts_with("HTTP 404 from a server that is not a Kubernetes API server"),
                    "{message}"
                );
                assert!(!message.contains("Failed to parse"), "{message}");
                assert_eq!(
                    message.contains("(it answered `404 page not found`)"),
                    !body.is_empty(),
                    "{message}"
                );
            }
        }
        // A real API server's error keeps its own words.
        let status = kube::core::Status::failure("pods \"x\" not found", "NotFound").with_code(404);
        assert_eq!(
            api_message(&kube::Error::Api(status.boxed())),
            "pods \"x\" not found (404, NotFound)"
        );
    }
}
