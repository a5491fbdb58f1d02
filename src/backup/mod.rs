//! Backups of an environment's data: PostgreSQL (`pg_dump` streamed out
//! through the exec API, compressed on the fly), Redis (the RDB snapshot)
//! and the namespace's objects (Secrets age-encrypted or named only), as
//! parts in an object store (`store`), committed under their final names
//! only when whole, and a `manifest.json` written last (`manifest`): a
//! prefix without a manifest is not a backup.
//!
//! Nothing here prints: the operations in `ops::backup` / `ops::restore`
//! drive these pieces and report through their reporter.

pub mod crypt;
pub mod exec;
pub mod id;
pub mod manifest;
pub mod postgres;
pub mod redis;
pub mod redis_export;
pub mod resources;
pub mod store;
pub mod stream;
pub mod toolbox;

use serde::{Deserialize, Serialize};

/// The parts a backup can hold, in the order they are taken and restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    Postgres,
    Redis,
    Resources,
}

impl PartKind {
    pub const ALL: [PartKind; 3] = [PartKind::Postgres, PartKind::Redis, PartKind::Resources];

    pub fn name(self) -> &'static str {
        match self {
            PartKind::Postgres => "postgres",
            PartKind::Redis => "redis",
            PartKind::Resources => "resources",
        }
    }

    /// The object's name inside the backup's prefix.
    pub fn file(self) -> &'static str {
        match self {
            PartKind::Postgres => "postgres.dump.zst",
            PartKind::Redis => "redis.rdb.zst",
            PartKind::Resources => "resources.yaml.zst",
        }
    }

    pub fn parse(s: &str) -> Option<PartKind> {
        Self::ALL.into_iter().find(|p| p.name() == s.trim())
    }
}

impl std::fmt::Display for PartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The file of the age-encrypted Secrets, beside the resources part.
pub const SECRETS_FILE: &str = "secrets.yaml.age";
/// Written first: who started the backup, when.
pub const STARTED_FILE: &str = "started.json";
/// Written last: its presence makes a prefix a backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Written by `backup verify` after a successful check.
pub const VERIFIED_FILE: &str = "verified.json";

/// Progress of a streamed part: what came in, what went out, since when.
pub trait Progress: Send + Sync {
    fn progress(&self, part: &str, read: u64, written: u64, elapsed: std::time::Duration);
}

/// Ignores progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn progress(&self, _: &str, _: u64, _: u64, _: std::time::Duration) {}
}
