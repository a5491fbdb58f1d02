//! Stopping a command part-way, one way for every cause: Ctrl-C, SIGTERM (a
//! cancelled CI job), the command's `--timeout`, or the deploy lock taken
//! over by someone else. Whatever the cause, work in progress sees the same
//! signal, finishes the step it is in (never half a phase), releases what
//! it holds and says where things stand.
//!
//! A second Ctrl-C or SIGTERM ends the process at once (exit 130), for a
//! person who does not want to wait for the cleanup.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// Why a command was told to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// SIGINT (Ctrl-C) or SIGTERM.
    Signal(&'static str),
    /// The command's `--timeout` passed.
    TimedOut(Duration),
    /// Another run took the deploy lock over.
    LockLost(String),
    /// The API server stopped answering.
    ApiLost(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Signal(name) => write!(f, "interrupted ({name})"),
            StopReason::TimedOut(d) => {
                write!(
                    f,
                    "timed out after {} (--timeout)",
                    crate::human::duration(*d)
                )
            }
            StopReason::LockLost(holder) => {
                write!(f, "the deploy lock was taken over by {holder}")
            }
            StopReason::ApiLost(what) => f.write_str(what),
        }
    }
}

/// The stop signal of one command: cheap to clone, shared by every task.
#[derive(Clone, Debug)]
pub struct Stop {
    tx: Arc<watch::Sender<bool>>,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// A stop signal nothing triggers yet.
    pub fn new() -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            reason: Arc::new(Mutex::new(None)),
        }
    }

    /// Stop for `reason`; the first reason given is the one kept.
    pub fn stop(&self, reason: StopReason) {
        let mut slot = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(reason);
        }
        drop(slot);
        self.tx.send_replace(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.tx.borrow()
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A receiver that turns `true` when the command is told to stop (what
    /// the apply, wait and migration options take).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// Resolves when the command is told to stop, with the reason.
    pub async fn stopped(&self) -> StopReason {
        let mut rx = self.subscribe();
        let _ = rx.wait_for(|s| *s).await;
        self.reason().unwrap_or(StopReason::Signal("stop"))
    }

    /// Stops with [`StopReason::TimedOut`] once `after` has passed. The
    /// timer ends with the runtime.
    pub fn deadline(&self, after: Duration) {
        let stop = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            stop.stop(StopReason::TimedOut(after));
        });
    }

    /// Listens for SIGINT and SIGTERM: the first one stops the command, a
    /// second one ends the process at once with 130. Call inside the runtime.
    pub fn on_signals(&self) {
        let stop = self.clone();
        tokio::spawn(async move {
            let mut count = 0;
            loop {
                let name = next_signal().await;
                count += 1;
                if count > 1 {
                    eprintln!("error: {name} again: exiting now");
                    std::process::exit(130);
                }
                stop.stop(StopReason::Signal(name));
            }
        });
    }
}

#[cfg(unix)]
async fn next_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn next_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_every_subscriber_sees_it() {
        let stop = Stop::new();
        let mut rx = stop.subscribe();
        assert!(!stop.is_stopped());
        stop.stop(StopReason::Signal("SIGTERM"));
        stop.stop(StopReason::TimedOut(Duration::from_secs(1)));
        rx.wait_for(|s| *s).await.unwrap();
        assert_eq!(stop.stopped().await, StopReason::Signal("SIGTERM"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_stops_with_timed_out() {
        let stop = Stop::new();
        stop.deadline(Duration::from_secs(60));
        let reason = stop.stopped().await;
        assert_eq!(reason, StopReason::TimedOut(Duration::from_secs(60)));
        assert_eq!(reason.to_string(), "timed out after 1m00s (--timeout)");
    }
}
