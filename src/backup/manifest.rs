//! `manifest.json`, written last: what the backup holds (each part's size
//! and sha256), what it was taken from, and what a restore or a drill
//! compares against.

use serde::{Deserialize, Serialize};

use super::PartKind;

/// The manifest's format; a newer one is refused rather than misread.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub environment: String,
    pub namespace: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
    /// `user@host` (and the CI job when there is one).
    pub created_by: String,
    pub fintechctl_version: String,
    /// The release that was live: revision and version (none on a cluster
    /// fintechctl never deployed to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<LiveRelease>,
    pub parts: Vec<PartEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesFacts>,
    /// Managed Redis: the `az redis export` that is the redis part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_export: Option<super::redis_export::RedisExport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LiveRelease {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    pub version: String,
}

/// One object of the backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PartEntry {
    pub part: PartKind,
    /// The object's name inside the backup's prefix.
    pub file: String,
    /// Bytes stored.
    pub size: u64,
    /// sha256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// Bytes before compression (what the dumper produced).
    pub raw_size: u64,
    /// `zstd`, or `age` for the encrypted Secrets.
    pub encoding: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PostgresFacts {
    pub server_version: String,
    pub database: String,
    /// `alembic_version.version_num` in the dump's snapshot (none: no table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alembic_revision: Option<String>,
    /// Row counts per table, taken in the snapshot pg_dump dumped.
    pub tables: Vec<TableRows>,
    /// How the dump was taken: `exec` into pod/NAME, or a toolbox pod.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct TableRows {
    pub schema: String,
    pub table: String,
    pub rows: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedisFacts {
    pub server_version: String,
    /// Keys per database (`db0` → 12) when the snapshot was taken.
    pub keys: std::collections::BTreeMap<String, u64>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesFacts {
    /// Objects in `resources.yaml.zst` (Secrets not among them).
    pub objects: usize,
    /// Every Secret, by name.
    pub secrets: Vec<String>,
    /// Whether the Secrets are in `secrets.yaml.age`, encrypted to these
    /// age recipients; empty: listed by name only, not kept.
    pub recipients: Vec<String>,
    /// Objects (`ConfigMap/app-config`) in which a Secret's value was
    /// replaced by `<redacted>` before they were stored: a restore does
    /// not put them back over the live ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

impl Manifest {
    pub fn part(&self, kind: PartKind) -> Option<&PartEntry> {
        self.parts.iter().find(|p| p.part == kind)
    }

    /// Total bytes stored.
    pub fn size(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        json
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let version = value["formatVersion"].as_u64().unwrap_or(0);
        if version != u64::from(FORMAT_VERSION) {
            return Err(format!(
                "format version {version}, this fintechctl reads {FORMAT_VERSION}"
            ));
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}
