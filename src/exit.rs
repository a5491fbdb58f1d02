//! The exit-code contract (DESIGN.md) and the error type that carries a code
//! from wherever a failure is classified up to `main`.

use std::fmt;

/// Process exit codes every command keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    /// A check or a rollout failed.
    Failed = 1,
    /// Invalid input or configuration, found before anything touches a cluster.
    Invalid = 2,
    /// Cluster or cloud unreachable, or an API error.
    Unreachable = 3,
    /// Refused: no confirmation, lock held, safety rule.
    Refused = 4,
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error with its exit status and, optionally, one line per detail
/// (every violation, every missing secret) so nothing is reported one at a time.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub message: String,
    pub details: Vec<String>,
}

impl Failure {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), details: Vec::new() }
    }
    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::new(ExitStatus::Invalid, message.to_string())
    }
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The status an error maps to: a [`Failure`]'s own, else "unexpected" (1).
pub fn status_of(err: &anyhow::Error) -> ExitStatus {
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map(|f| f.status)
        .unwrap_or(ExitStatus::Failed)
}
