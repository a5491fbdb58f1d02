//! Operations: what a command does, apart from how it reads its flags and
//! shows its result (cargo's `commands/` → `ops/` split). An operation
//! takes its settings, a [`Reporter`] for progress and a [`Confirmer`] for
//! questions, and returns a typed result; it never prints and never reads
//! a flag or an environment variable. The terminal implements the traits in
//! `ui`; tests implement them by recording and by answering.

pub mod backup;
pub mod canary;
pub mod connect;
pub mod debug;
pub mod deploy;
pub mod diff;
pub mod health;
pub mod migrate;
pub mod migration_check;
pub mod pipeline;
pub mod restore;
pub mod rollback;
pub mod rollouts;
pub mod shared;
pub mod verify;

use crate::cluster::apply::{ApplyReporter, PlannedChange};
use crate::cluster::diagnosis::FailureCard;
use crate::cluster::migration::MigrationReporter;
use crate::cluster::prune::OwnedObject;
use crate::cluster::wait::RolloutReporter;
use crate::exit::Failure;

/// Progress of an operation, in words.
pub trait Reporter: Send + Sync {
    /// A step done or begun: `Connected`, `Applied`, `Deployed`.
    fn status(&self, verb: &str, message: &str);
    fn warn(&self, message: &str);
    /// Detail shown with `-v`.
    fn detail(&self, message: &str);
}

/// Everything a deploy or rollback reports.
pub trait DeployReporter: Reporter + ApplyReporter + MigrationReporter + RolloutReporter {
    /// The plan: what is created, changed, left alone, pruned (with each
    /// change's diff, secret values already masked).
    fn plan(&self, plan: &[PlannedChange], prune: &[OwnedObject]);
    /// A failed workload's card.
    fn failure_card(&self, card: &FailureCard);
}

/// A question an operation needs answered before it changes something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A protected environment: the environment's name must be typed.
    TypeName {
        environment: String,
        namespace: String,
        action: String,
    },
    /// Yes or no, default no.
    YesNo {
        question: String,
        /// The refusal when nobody can answer (no terminal, no `--yes`).
        unattended: String,
        /// The refusal when the answer is no.
        declined: String,
    },
}

/// Answers [`Question`]s: a prompt on the terminal, `--yes`, or a test's
/// canned answer. A refusal is a [`Failure`] (exit 4).
pub trait Confirmer: Send + Sync {
    fn confirm(&self, question: &Question) -> Result<(), Failure>;
}

/// Answers yes to everything (`--yes`).
pub struct AlwaysYes;

impl Confirmer for AlwaysYes {
    fn confirm(&self, _: &Question) -> Result<(), Failure> {
        Ok(())
    }
}
