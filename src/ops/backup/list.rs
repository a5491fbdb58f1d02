//! `backup list`, and finding one backup (by id or `latest`) for verify
//! and restore.

use serde::Serialize;

use crate::backup::PartKind;
use crate::backup::id::BackupRef;
use crate::backup::manifest::Manifest;
use crate::backup::store::{Listed, Store};
use crate::exit::Failure;
use crate::settings::BackupListSettings;

use super::store_failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListedStatus {
    Complete,
    Verified,
    Incomplete,
    /// A manifest that cannot be read.
    Corrupt,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedBackup {
    pub id: String,
    /// When it started (RFC 3339).
    pub time: String,
    pub size: u64,
    pub parts: Vec<String>,
    pub status: ListedStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListReport {
    pub environment: String,
    pub store: String,
    pub backups: Vec<ListedBackup>,
}

fn listed(l: &Listed) -> ListedBackup {
    let (status, problem, parts, version) = match &l.manifest {
        None => (
            ListedStatus::Incomplete,
            Some("no manifest: not a backup".to_string()),
            PartKind::ALL
                .iter()
                .filter(|p| l.objects.iter().any(|(n, _)| n == p.file()))
                .map(|p| p.to_string())
                .collect(),
            None,
        ),
        Some(Err(e)) => (
            ListedStatus::Corrupt,
            Some(format!("manifest: {e}")),
            Vec::new(),
            None,
        ),
        Some(Ok(m)) => {
            let mut parts: Vec<String> = m.parts.iter().map(|p| p.part.to_string()).collect();
            parts.dedup();
            (
                if l.verified.is_some() {
                    ListedStatus::Verified
                } else {
                    ListedStatus::Complete
                },
                None,
                parts,
                m.release.as_ref().map(|r| r.version.clone()),
            )
        }
    };
    ListedBackup {
        id: l.id.to_string(),
        time: l.id.time().to_string(),
        size: l.size(),
        parts,
        status,
        version,
        problem,
    }
}

pub async fn list(settings: &BackupListSettings) -> Result<ListReport, Failure> {
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let found = store
        .list(&settings.env.name)
        .await
        .map_err(store_failure)?;
    Ok(ListReport {
        environment: settings.env.name.clone(),
        store: store.display().to_string(),
        backups: found.iter().map(listed).collect(),
    })
}

/// The backup `reference` names, from the store's listing.
pub async fn find(store: &Store, env: &str, reference: &BackupRef) -> Result<Listed, Failure> {
    let found = store.list(env).await.map_err(store_failure)?;
    let hit = match reference {
        BackupRef::Latest => found.into_iter().find(|l| l.complete().is_some()),
        BackupRef::Id(id) => found.into_iter().find(|l| &l.id == id),
    };
    // A well-formed id that names no backup is bad input (2), like an
    // unknown environment; `latest` with nothing complete is a failure (1).
    hit.ok_or_else(|| match reference {
        BackupRef::Latest => Failure::failed(format!(
            "{env} has no complete backup in {}",
            store.display()
        )),
        BackupRef::Id(id) => Failure::invalid(format!(
            "no backup {id} of {env} in {} (see `fintechctl backup list {env}`)",
            store.display()
        )),
    })
}

/// The manifest of a complete backup, or why it is not one.
pub fn require_complete(listed: &Listed) -> Result<Manifest, Failure> {
    match &listed.manifest {
        Some(Ok(m)) => Ok(m.clone()),
        Some(Err(e)) => Err(Failure::failed(format!(
            "backup {}: its manifest cannot be read ({e}); refusing to use it",
            listed.id
        ))),
        None => Err(Failure::failed(format!(
            "backup {} is incomplete (no manifest: it failed or was interrupted); refusing to use it",
            listed.id
        ))),
    }
}
