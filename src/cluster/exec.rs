//! Running a command inside a pod through the exec API, its output streamed
//! line by line and its exit code taken from the Status the kubelet writes
//! on the status channel — never guessed from the stream: `kubectl exec`
//! can lose the end of a stream and still exit 0.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams, ListParams};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, ReadHalf, SimplexStream};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no running and ready pod matches `{selector}` in namespace {namespace}")]
    NoReadyPod { selector: String, namespace: String },
    #[error("{action} pod/{pod}: {}", crate::cluster::api_message(source))]
    Api {
        action: &'static str,
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the exec stream of pod/{pod} ended without the command's exit status; the outcome is unknown"
    )]
    NoStatus { pod: String },
    #[error("pod/{pod}: exec failed: {message}")]
    Failed { pod: String, message: String },
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A running, ready pod matching `selector`, preferring the newest.
pub async fn ready_pod(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Result<String, ExecError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|source| ExecError::Api {
            action: "listing",
            pod: selector.into(),
            source,
        })?;
    let mut ready: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.phase.as_deref() == Some("Running")
                    && s.conditions
                        .as_ref()
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
        })
        .collect();
    ready.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.clone()));
    ready
        .first()
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| ExecError::NoReadyPod {
            selector: selector.into(),
            namespace: namespace.into(),
        })
}

/// Runs `command` in `pod` (container `container`), calling `on_line` for
/// every output line, and returns the command's exit code.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    command: &[&str],
    on_line: &(dyn Fn(Stream, &str) + Send + Sync),
) -> Result<i32, ExecError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut params = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true);
    if let Some(c) = container {
        params = params.container(c);
    }
    let mut process = pods
        .exec(pod, command.iter().copied(), &params)
        .await
        .map_err(|source| ExecError::Api {
            action: "exec in",
            pod: pod.into(),
            source,
        })?;
    let status = process.take_status();
    let stdout = process.stdout().map(|s| BufReader::new(s).lines());
    let stderr = process.stderr().map(|s| BufReader::new(s).lines());
    let pump = |lines: Option<Lines<BufReader<ReadHalf<SimplexStream>>>>, which: Stream| async move {
        if let Some(mut lines) = lines {
            while let Ok(Some(line)) = lines.next_line().await {
                on_line(which, &line);
            }
        }
    };
    futures::join!(pump(stdout, Stream::Stdout), pump(stderr, Stream::Stderr));
    let status = match status {
        Some(status) => status.await,
        None => None,
    };
    let _ = process.join().await;
    exit_code(pod, status)
}

/// The exit code in the kubelet's Status: `Success` → 0; `Failure` with
/// reason `NonZeroExitCode` carries the code in the `ExitCode` cause.
pub fn exit_code(pod: &str, status: Option<Status>) -> Result<i32, ExecError> {
    let Some(status) = status else {
        return Err(ExecError::NoStatus { pod: pod.into() });
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse::<i32>().ok());
        if let Some(code) = code {
            return Ok(code);
        }
    }
    Err(ExecError::Failed {
        pod: pod.into(),
        message: status.message.unwrap_or_else(|| "unknown error".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> Option<Status> {
        Some(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn exit_codes_come_from_the_status_channel() {
        assert_eq!(
            exit_code("p", status(serde_json::json!({"status": "Success"}))).unwrap(),
            0
        );
        let failed = status(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }));
        assert_eq!(exit_code("p", failed).unwrap(), 3);
        let err = exit_code("p", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("without the command's exit status"),
            "{err}"
        );
        let internal = status(
            serde_json::json!({"status": "Failure", "reason": "InternalError", "message": "container not found"}),
        );
        assert!(
            exit_code("p", internal)
                .unwrap_err()
                .to_string()
                .contains("container not found")
        );
    }
}
