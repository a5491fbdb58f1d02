//! The exit-code contract (docs/contracts.md, "Exit codes") and the error type that
//! carries a code up to `main`. Every domain error is classified here, in
//! one `From<…Error> for Failure` each: the domain modules know nothing of
//! exit codes, and a command turns any error into a [`Failure`] with `?`.

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

    /// The one way a stop becomes an exit code: a signal is 130, a lost
    /// API server 3, a timeout or a lost lock 1.
    pub fn of_stop(reason: &crate::interrupt::StopReason) -> Self {
        use crate::interrupt::StopReason;
        match reason {
            StopReason::Signal(_) => ExitStatus::Interrupted,
            StopReason::TimedOut(_) | StopReason::LockLost(_) => ExitStatus::Failed,
            StopReason::ApiLost(_) => ExitStatus::Unreachable,
        }
    }

    /// The status a report recorded as its `exitCode` (the inverse of
    /// [`Self::code`]): a report that kept only the number exits with it.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => ExitStatus::Success,
            1 => ExitStatus::Failed,
            2 => ExitStatus::Invalid,
            3 => ExitStatus::Unreachable,
            4 => ExitStatus::Refused,
            130 => ExitStatus::Interrupted,
            other => ExitStatus::Child(other),
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
    /// Invalid input or configuration, found before anything touched a
    /// cluster or store (2).
    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::new(ExitStatus::Invalid, message.to_string())
    }
    /// A check, a part or a rollout failed; or a run stopped short of its
    /// work (1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Failed, message)
    }
    /// A cluster, store, cloud or peer out of reach, or an API error (3).
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Unreachable, message)
    }
    /// A safety rule said no: no confirmation, a held lock, a missing
    /// prerequisite or permission, a protected environment's rule (4).
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Refused, message)
    }
    /// An API server's error while `doing` something: an API error is 3.
    pub fn api(doing: impl fmt::Display, error: &kube::Error) -> Self {
        Self::unreachable(format!("{doing}: {}", crate::cluster::api_message(error)))
    }
    /// The failure a stopped run ends with, said with where it was (the
    /// status from [`ExitStatus::of_stop`]).
    pub fn stopped(stop: &crate::interrupt::Stop, whereabouts: &str) -> Self {
        let reason = stop
            .reason()
            .unwrap_or(crate::interrupt::StopReason::Signal("interrupt"));
        Self::from_stop(&reason, format!("{reason}; {whereabouts}"))
    }

    /// The failure `reason` ends a command with, in `message`'s words.
    pub fn from_stop(reason: &crate::interrupt::StopReason, message: impl Into<String>) -> Self {
        Self::new(ExitStatus::of_stop(reason), message)
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

use crate::cluster::apply::ApplyError;
use crate::cluster::connect::ConnectError;
use crate::cluster::exec::ExecError;
use crate::cluster::lock::LockError;
use crate::cluster::migration::MigrationError;
use crate::cluster::records::RecordsError;
use crate::environment::EnvironmentError;
use crate::release::ReleaseError;
use crate::secrets::SecretsError;

impl From<EnvironmentError> for Failure {
    fn from(e: EnvironmentError) -> Self {
        Failure::invalid(e)
    }
}

impl From<SecretsError> for Failure {
    fn from(e: SecretsError) -> Self {
        match e {
            SecretsError::Missing(missing) => {
                Failure::invalid("missing secrets; set them in the environment or in --env-file")
                    .with_details(missing)
            }
            other => Failure::invalid(other),
        }
    }
}

impl From<ReleaseError> for Failure {
    fn from(e: ReleaseError) -> Self {
        let details = e.details();
        Failure::new(ExitStatus::Invalid, e.to_string()).with_details(details)
    }
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Self {
        // A kubeconfig that cannot be read or has no such context is bad
        // input; everything else is the cluster or the cloud not answering.
        let status = match e {
            ConnectError::Kubeconfig { .. } => ExitStatus::Invalid,
            _ => ExitStatus::Unreachable,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<ApplyError> for Failure {
    fn from(err: ApplyError) -> Self {
        let conflict = |e: &ApplyError| matches!(e, ApplyError::Conflict { .. });
        let status = match &err {
            ApplyError::Interrupted { .. } => ExitStatus::Interrupted,
            ApplyError::Conflict { .. } => ExitStatus::Failed,
            ApplyError::PhaseFailed { failures, .. } if failures.iter().all(conflict) => {
                ExitStatus::Failed
            }
            _ => ExitStatus::Unreachable,
        };
        match err {
            ApplyError::PhaseFailed {
                phase, failures, ..
            } => Failure::new(
                status,
                format!(
                    "{} object(s) of the {} phase failed to apply; later phases were not started",
                    failures.len(),
                    phase.name()
                ),
            )
            .with_details(failures.iter().map(ToString::to_string).collect()),
            other => Failure::new(status, other.to_string()),
        }
    }
}

impl From<RecordsError> for Failure {
    /// API trouble 3, a revision taken by a concurrent deploy 4, anything else 1.
    fn from(e: RecordsError) -> Self {
        let status = match e {
            RecordsError::Api { .. } => ExitStatus::Unreachable,
            RecordsError::RevisionTaken { .. } | RecordsError::Exhausted { .. } => {
                ExitStatus::Refused
            }
            RecordsError::Corrupt { .. } | RecordsError::Encode { .. } => ExitStatus::Failed,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<crate::migration_lint::MigrationRefusal> for Failure {
    /// A breaking or unchecked migration where the policy refuses it: a safety rule (4).
    fn from(e: crate::migration_lint::MigrationRefusal) -> Self {
        Failure::new(ExitStatus::Refused, e.message).with_details(e.details)
    }
}

impl From<LockError> for Failure {
    /// A held lock is a refusal (4), a lost one a failed run (1), API trouble 3.
    fn from(e: LockError) -> Self {
        let status = match e {
            LockError::Held { .. } => ExitStatus::Refused,
            LockError::Lost { .. } => ExitStatus::Failed,
            LockError::NamespaceMissing { .. } | LockError::Api { .. } => ExitStatus::Unreachable,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<MigrationError> for Failure {
    /// A migration that runs past its deadline is a failed step (1), like a
    /// rollout that does; API trouble is 3.
    fn from(e: MigrationError) -> Self {
        let status = match e {
            MigrationError::Timeout { .. } => ExitStatus::Failed,
            MigrationError::NoName => ExitStatus::Invalid,
            MigrationError::Api { .. } => ExitStatus::Unreachable,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<ExecError> for Failure {
    fn from(e: ExecError) -> Self {
        let status = match e {
            ExecError::NoReadyPod { .. } => ExitStatus::Failed,
            _ => ExitStatus::Unreachable,
        };
        Failure::new(status, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_the_contracts() {
        let codes = [
            (ExitStatus::Success, 0),
            (ExitStatus::Failed, 1),
            (ExitStatus::Invalid, 2),
            (ExitStatus::Unreachable, 3),
            (ExitStatus::Refused, 4),
            (ExitStatus::Interrupted, 130),
            (ExitStatus::Child(0), 1),
            (ExitStatus::Child(7), 7),
            (ExitStatus::Child(300), 255),
        ];
        for (status, code) in codes {
            assert_eq!(status.code(), code, "{status:?}");
        }
    }

    #[test]
    fn a_migration_timeout_is_a_failure_not_an_unreachable_cluster() {
        let f = Failure::from(MigrationError::Timeout {
            job: "db-migrate".into(),
            timeout: std::time::Duration::from_secs(1),
        });
        assert_eq!(f.status, ExitStatus::Failed);
    }
}
