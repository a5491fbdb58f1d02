//! What a deploy would change, object by object: the server-side dry run
//! against the live objects, as unified diffs with secret values shown only
//! as keyed digests.

use serde::Serialize;

use crate::cluster::apply::{self, ApplyOptions, PlannedAction};
use crate::cluster::kinds::ServedKinds;
use crate::exit::Failure;
use crate::render::{Manifest, diff};
use crate::settings::DiffSettings;

use super::Reporter;
use super::connect::connect_reporting;
use super::shared::{environment_key, skipped_kinds};

/// One object that would change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDiff {
    pub object: String,
    pub action: PlannedAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The `-o json` document of `diff`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    pub environment: String,
    pub namespace: String,
    pub version: String,
    /// Objects that would be created or changed (skipped kinds are listed
    /// with action `skip` and do not count).
    pub changed: usize,
    pub objects: Vec<ObjectDiff>,
}

pub async fn diff(settings: &DiffSettings, reporter: &dyn Reporter) -> Result<DiffReport, Failure> {
    let env = &settings.release.env;
    let conn = connect_reporting(env, &settings.access, reporter).await?;
    let kinds = ServedKinds::new(&conn.client);
    let (key, _) = environment_key(&conn.client, &env.namespace.name).await?;
    let mut release = settings.release.clone();
    release.key_digests(&key);
    let selected: Vec<Manifest> = settings
        .selected
        .iter()
        .filter_map(|s| {
            release
                .manifests
                .iter()
                .find(|m| m.display() == s.display() && m.namespace() == s.namespace())
                .cloned()
        })
        .collect();
    let skip_kinds = skipped_kinds(&kinds, &selected, reporter).await;
    let options = ApplyOptions {
        dry_run: true,
        skip_kinds,
        kinds: Some(kinds),
        ..ApplyOptions::default()
    };
    let plan = apply::plan(&conn.client, &selected, &options).await?;
    let objects: Vec<ObjectDiff> = plan
        .iter()
        .filter(|c| c.action != PlannedAction::Unchanged)
        .map(|c| ObjectDiff {
            object: c.display.clone(),
            action: c.action,
            diff: diff::object_diff(&c.display, c.live.as_ref(), c.desired.as_ref(), &key),
        })
        .collect();
    Ok(DiffReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        version: release.version.clone(),
        changed: objects
            .iter()
            .filter(|d| d.action != PlannedAction::Skip)
            .count(),
        objects,
    })
}
