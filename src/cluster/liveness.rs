//! A watchdog for the API server while a long operation works: watch
//! streams on a frozen server just go quiet, and a killed one makes every
//! request fail, so the operation would only find out at its next request
//! (or its timeout). The watchdog reads the environment's Namespace (a
//! resource request: an API server whose storage is stuck answers
//! `/version` but not this) every couple of seconds
//! with a short deadline and, when nothing has answered for
//! [`LOST_AFTER`] and several probes in a row failed, stops the operation
//! with "lost the API server at URL while …" — about ten seconds after the
//! loss.

use std::time::{Duration, Instant};

use crate::interrupt::{Stop, StopReason};

/// How long without a successful probe before the server counts as lost
/// (and at least [`FAILED_PROBES`] probes in a row failed: a server that is
/// merely slow under load is not lost).
pub const LOST_AFTER: Duration = Duration::from_secs(10);
const FAILED_PROBES: u32 = 2;
const PROBE_EVERY: Duration = Duration::from_secs(2);
const PROBE_AGAIN: Duration = Duration::from_secs(1);
const PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// One read of the namespace within `deadline`: `Ok` when the API server
/// answered at all (an error status included: the server is alive), else
/// why not, in words.
async fn probe(
    namespaces: &kube::Api<k8s_openapi::api::core::v1::Namespace>,
    namespace: &str,
    deadline: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(deadline, namespaces.get_opt(namespace)).await {
        Ok(Ok(_)) | Ok(Err(kube::Error::Api(_))) => Ok(()),
        Ok(Err(e)) => Err(super::connect::describe_error(&e)),
        Err(_) => Err(format!(
            "no answer within {}",
            crate::human::duration(deadline)
        )),
    }
}

/// Whether the API server answers the watchdog's probe once, within
/// `deadline` (for an operation that asks after the fact, like verify).
pub async fn answers(client: &kube::Client, namespace: &str, deadline: Duration) -> bool {
    let namespaces = kube::Api::all(client.clone());
    probe(&namespaces, namespace, deadline).await.is_ok()
}

/// Starts the watchdog; abort the handle when the operation ends.
/// `doing` says what the operation is doing at the moment.
pub fn watch(
    client: kube::Client,
    server: String,
    namespace: String,
    stop: Stop,
    doing: impl Fn() -> String + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    tokio::spawn(async move {
        let mut last_ok = Instant::now();
        let mut last_error = String::new();
        let mut failures = 0u32;
        loop {
            tokio::time::sleep(if failures == 0 {
                PROBE_EVERY
            } else {
                PROBE_AGAIN
            })
            .await;
            if stop.is_stopped() {
                return;
            }
            match probe(&namespaces, &namespace, PROBE_DEADLINE).await {
                Ok(()) => {
                    last_ok = Instant::now();
                    failures = 0;
                }
                Err(why) => {
                    failures += 1;
                    last_error = why;
                }
            }
            if failures >= FAILED_PROBES && last_ok.elapsed() >= LOST_AFTER {
                stop.stop(StopReason::ApiLost(format!(
                    "lost the API server at {server} while {} ({last_error} for {})",
                    doing(),
                    crate::human::duration(last_ok.elapsed())
                )));
                return;
            }
        }
    })
}
