//! A watchdog for the API server while a long operation works: watch
//! streams on a frozen server just go quiet, and a killed one makes every
//! request fail, so the operation would only find out at its next request
//! (or its timeout). The watchdog asks `/version` every couple of seconds
//! with a short deadline and, when nothing has answered for
//! [`LOST_AFTER`], stops the operation with "lost the API server at URL
//! while …" — within about ten seconds of the loss.

use std::time::{Duration, Instant};

use crate::interrupt::{Stop, StopReason};

/// How long without a successful probe before the server counts as lost.
pub const LOST_AFTER: Duration = Duration::from_secs(8);
const PROBE_EVERY: Duration = Duration::from_secs(2);
const PROBE_DEADLINE: Duration = Duration::from_secs(3);

/// Starts the watchdog; abort the handle when the operation ends.
/// `doing` says what the operation is doing at the moment.
pub fn watch(
    client: kube::Client,
    server: String,
    stop: Stop,
    doing: impl Fn() -> String + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_ok = Instant::now();
        let mut last_error = String::new();
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            if stop.is_stopped() {
                return;
            }
            match tokio::time::timeout(PROBE_DEADLINE, client.apiserver_version()).await {
                Ok(Ok(_)) => last_ok = Instant::now(),
                Ok(Err(e)) => last_error = super::connect::describe_error(&e),
                Err(_) => {
                    last_error = format!(
                        "no answer within {}",
                        crate::human::duration(PROBE_DEADLINE)
                    )
                }
            }
            if last_ok.elapsed() >= LOST_AFTER {
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
