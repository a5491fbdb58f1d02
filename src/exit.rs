//! The exit-code contract (DESIGN.md) and the error type that carries a code
//! from wherever a failure is classified up to `main`.

use std::fmt;

/// Process exit codes every command keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// A check or a rollout failed.
    Failed,
    /// Invalid input or configuration, found before anything touches a cluster.
    Invalid,
    /// Cluster or cloud unreachable, or an API error.
    Unreachable,
    /// Refused: no confirmation, lock held, safety rule.
    Refused,
    Interrupted,
    /// A command's own exit code passed through (`migrate` exits with the
    /// migration's), clamped to 1..=255.
    Child(i32),
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Invalid => 2,
            ExitStatus::Unreachable => 3,
            ExitStatus::Refused => 4,
            ExitStatus::Interrupted => 130,
            ExitStatus::Child(code) => code.clamp(1, 255),
        }
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
        Self {
            status,
            message: message.into(),
            details: Vec::new(),
        }
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
