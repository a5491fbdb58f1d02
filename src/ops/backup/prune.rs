//! `backup prune`: which backups retention deletes, and deleting them.

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::backup::id::BackupId;
use crate::backup::store::{Listed, Store, StoreError};
use crate::environment::Environment;
use crate::exit::Failure;
use crate::settings::BackupPruneSettings;

use super::store_failure;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub environment: String,
    pub store: String,
    pub dry_run: bool,
    pub retention_days: u32,
    pub deleted: Vec<String>,
    pub kept: Vec<String>,
}

/// Which backups prune deletes at `now`: complete ones older than
/// `retention_days`, incomplete ones older than a day — never the newest
/// complete one.
pub fn expired(found: &[Listed], retention_days: u32, now: Timestamp) -> Vec<BackupId> {
    let newest_complete = found
        .iter()
        .filter(|l| l.complete().is_some())
        .map(|l| l.id.clone())
        .max();
    let age = |l: &Listed| now.as_second() - l.id.time().as_second();
    found
        .iter()
        .filter(|l| Some(&l.id) != newest_complete.as_ref())
        .filter(|l| {
            if l.complete().is_some() {
                age(l) > i64::from(retention_days) * 86_400
            } else {
                age(l) > 86_400
            }
        })
        .map(|l| l.id.clone())
        .collect()
}

pub(super) async fn prune_store(
    store: &Store,
    env: &Environment,
    dry_run: bool,
) -> Result<Vec<String>, StoreError> {
    let found = store.list(&env.name).await?;
    let doomed = expired(&found, env.backup.retention_days, Timestamp::now());
    let mut deleted = Vec::new();
    for id in doomed {
        if !dry_run {
            store.delete(&env.name, &id).await?;
        }
        deleted.push(id.to_string());
    }
    Ok(deleted)
}

pub async fn prune(settings: &BackupPruneSettings) -> Result<PruneReport, Failure> {
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let deleted = prune_store(&store, &settings.env, settings.dry_run)
        .await
        .map_err(store_failure)?;
    let kept = store
        .list(&settings.env.name)
        .await
        .map_err(store_failure)?
        .into_iter()
        .map(|l| l.id.to_string())
        .filter(|id| !deleted.contains(id) || settings.dry_run && !deleted.contains(id))
        .collect();
    Ok(PruneReport {
        environment: settings.env.name.clone(),
        store: store.display().to_string(),
        dry_run: settings.dry_run,
        retention_days: settings.env.backup.retention_days,
        deleted,
        kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::Manifest;

    fn listed(id: &str, complete: bool) -> Listed {
        Listed {
            id: BackupId::parse(id).unwrap(),
            objects: Vec::new(),
            manifest: complete.then(|| {
                Ok(Manifest {
                    format_version: 1,
                    id: id.into(),
                    environment: "local".into(),
                    namespace: "ns".into(),
                    started_at: String::new(),
                    finished_at: String::new(),
                    duration_seconds: 0.0,
                    created_by: String::new(),
                    fintechctl_version: String::new(),
                    release: None,
                    parts: Vec::new(),
                    postgres: None,
                    redis: None,
                    resources: None,
                    redis_export: None,
                })
            }),
            verified: None,
        }
    }

    #[test]
    fn prune_never_deletes_the_newest_complete_backup() {
        let now: Timestamp = "2026-12-31T00:00:00Z".parse().unwrap();
        let found = vec![
            listed("20261230T000000Z-000003", false), // incomplete, 1 day old: kept
            listed("20261201T000000Z-000002", true),  // newest complete, 30 days: kept
            listed("20261101T000000Z-000001", true),  // old complete: deleted
            listed("20261020T000000Z-000004", false), // old incomplete: deleted
        ];
        let doomed: Vec<String> = expired(&found, 7, now)
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            doomed,
            ["20261101T000000Z-000001", "20261020T000000Z-000004"]
        );
        // Only incomplete ones besides the newest complete: that one stays.
        let found = vec![listed("20250101T000000Z-000001", true)];
        assert!(expired(&found, 1, now).is_empty());
    }
}
