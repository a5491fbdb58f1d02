//! Release records: one Secret per revision of an environment, in the
//! environment's namespace, named `fintechctl.release.<env>.v<N>`, holding a
//! gzip-compressed JSON [`ReleaseRecord`] in `data.release`. They are what
//! `history` lists, what `rollback` re-applies and what the deploy lock's
//! holder writes when a deploy starts and ends.
//!
//! A Secret, not a ConfigMap (as Helm does): RBAC commonly treats Secrets as
//! sensitive, and a record describes the whole platform. It never holds a
//! secret value all the same: [`redact_manifests`] replaces each one with a
//! digest before the record is built, so a rollback takes Secret values from
//! the current settings, never from a record.
//!
//! Every record carries the labels `app.kubernetes.io/managed-by=fintechctl`
//! and `fintechctl.io/environment=<env>`, so the selector of
//! [`labels::owned_selector`] matches it. Anything that deletes what that
//! selector finds (pruning objects a new render no longer contains) must
//! leave records alone: add [`NOT_A_RECORD`] to its selector or test
//! [`is_release_record`].

use super::is_status;
use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::diagnosis::FailureCard;
use crate::cluster::migration::MigrationOutcome;
use crate::redact::{DigestKey, Redactor, SecretMask, mask_secret};
use crate::render::Manifest;
use crate::render::labels;

/// The Secret type of a release record.
pub const RECORD_TYPE: &str = "fintechctl.io/release";
/// The key in the record Secret's `data` that holds the gzipped JSON.
pub const RECORD_KEY: &str = "release";
/// Label: the revision number.
pub const REVISION_LABEL: &str = "fintechctl.io/release-revision";
/// Label: the revision's [`ReleaseStatus`], so `kubectl get secrets -l` can filter.
pub const STATUS_LABEL: &str = "fintechctl.io/release-status";
/// A label selector term that excludes release records (see the module docs).
pub const NOT_A_RECORD: &str = "!fintechctl.io/release-revision";
/// How many revisions per environment [`prune`] keeps unless told otherwise.
pub const DEFAULT_KEEP: usize = 20;
/// A decoded record larger than this is refused (a Secret holds at most
/// 1 MiB compressed; this bounds what a corrupt or hostile one can cost).
const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;

/// The outcome of a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseStatus {
    /// Started, not finished (or the deploy was killed before it could say).
    Deploying,
    /// Rolled out completely; the current revision until a newer one succeeds.
    Succeeded,
    /// The rollout failed (its failure cards are in the record).
    Failed,
    /// Failed, and fintechctl rolled the environment back to an earlier revision.
    RolledBack,
    /// Succeeded once; a newer revision has succeeded since.
    Superseded,
    /// Its run died (crashed, killed) before it could say how it ended; a
    /// later run that took the lock found it still `deploying`.
    Abandoned,
    /// A canary failed its analysis and was removed; the stable version
    /// runs untouched (docs/canary.md).
    Aborted,
    /// A canary passed every step and waits for `promote` or `abort`.
    Paused,
}

impl ReleaseStatus {
    /// The word used in labels, tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Deploying => "deploying",
            ReleaseStatus::Succeeded => "succeeded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::RolledBack => "rolled-back",
            ReleaseStatus::Superseded => "superseded",
            ReleaseStatus::Abandoned => "abandoned",
            ReleaseStatus::Aborted => "aborted",
            ReleaseStatus::Paused => "paused",
        }
    }
}

impl std::fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::identity::CiInfo;

/// Everything fintechctl remembers about one revision of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    pub revision: u32,
    pub environment: String,
    pub namespace: String,
    /// The release version (image tag) deployed.
    pub version: String,
    pub status: ReleaseStatus,
    /// The rendered manifest set, secret values replaced by digests
    /// ([`redact_manifests`]).
    pub manifests: Vec<Value>,
    pub user: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiInfo>,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// The failure cards of a failed rollout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureCard>,
    /// What the migration step did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationOutcome>,
    /// The migration check before the Job ran: findings, and the flag that
    /// overrode it (`--allow-breaking-migration`, `--allow-unchecked-migration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_check: Option<crate::migration_lint::MigrationCheck>,
    /// For a rollback: the revision whose manifests were re-applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<u32>,
    /// One line for `history`: `deploy 1.4.2`, `rollback to 3`, ...
    #[serde(default)]
    pub description: String,
    /// A canary deploy's steps, rounds and outcome (docs/canary.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Value>,
}

impl ReleaseRecord {
    /// A record of a deploy starting now: status [`ReleaseStatus::Deploying`],
    /// the manifests redacted, who and where from `identity`. Its revision
    /// is given when it is stored ([`ReleaseHistory::create`]).
    pub fn begin(
        environment: &str,
        namespace: &str,
        version: &str,
        manifests: &[Manifest],
        description: impl Into<String>,
        identity: &crate::identity::Identity,
        key: &DigestKey,
    ) -> Self {
        Self {
            revision: 0,
            environment: environment.to_string(),
            namespace: namespace.to_string(),
            version: version.to_string(),
            status: ReleaseStatus::Deploying,
            manifests: redact_manifests(manifests, key),
            user: identity.user.clone(),
            host: identity.host.clone(),
            ci: identity.ci.clone(),
            started_at: Timestamp::now(),
            finished_at: None,
            duration_secs: None,
            failures: Vec::new(),
            migration: None,
            migration_check: None,
            rolled_back_from: None,
            description: description.into(),
            canary: None,
        }
    }

    /// The Secret's name: `fintechctl.release.<env>.v<revision>`.
    pub fn name(&self) -> String {
        record_name(&self.environment, self.revision)
    }

    /// Set the outcome, the end time and the duration.
    pub fn finish(&mut self, status: ReleaseStatus, finished_at: Timestamp) {
        self.status = status;
        self.finished_at = Some(finished_at);
        let millis = finished_at.as_millisecond() - self.started_at.as_millisecond();
        self.duration_secs = Some(millis.max(0) as f64 / 1000.0);
    }

    /// Keep `cards` as the record's failures.
    pub fn set_failures(&mut self, cards: &[FailureCard]) {
        self.failures = cards.to_vec();
    }

    /// Scrubs every secret value `redactor` knows from the free text the
    /// record keeps (failure cards, migration output, description).
    pub fn scrub(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        for card in &mut self.failures {
            card.message = redactor.scrub(&card.message).into_owned();
            redactor.scrub_lines(&mut card.logs);
            redactor.scrub_lines(&mut card.events);
            redactor.scrub_lines(&mut card.missing);
        }
        if let Some(m) = &mut self.migration {
            redactor.scrub_lines(&mut m.last_lines);
            if let Some(message) = &mut m.message {
                *message = redactor.scrub(message).into_owned();
            }
        }
        if let Some(check) = &mut self.migration_check {
            // A failed offline Job's reason quotes its last log line; a
            // finding quotes a statement (a literal may hold a value).
            if let Some(reason) = &mut check.reason {
                *reason = redactor.scrub(reason).into_owned();
            }
            for finding in &mut check.findings {
                finding.statement = redactor.scrub(&finding.statement).into_owned();
            }
        }
        self.description = redactor.scrub(&self.description).into_owned();
        for manifest in &mut self.manifests {
            redactor.scrub_json(manifest);
        }
    }
}

/// Revisions newer than `target` whose migration actually ran: the
/// database schema is ahead of `target`'s version by these.
pub fn migrations_since(list: &[ReleaseRecord], target: u32) -> Vec<u32> {
    let mut revisions: Vec<u32> = list
        .iter()
        .filter(|r| r.revision > target)
        .filter(|r| {
            r.migration
                .as_ref()
                .is_some_and(|m| m.succeeded && !m.already_done)
        })
        .map(|r| r.revision)
        .collect();
    revisions.sort();
    revisions
}

/// `fintechctl.release.<env>.v<revision>`.
pub fn record_name(environment: &str, revision: u32) -> String {
    format!("fintechctl.release.{environment}.v{revision}")
}

/// The label selector of an environment's records.
pub fn record_selector(environment: &str) -> String {
    format!("{},{REVISION_LABEL}", labels::owned_selector(environment))
}

/// Whether an object with these labels is a release record.
pub fn is_release_record(object_labels: &BTreeMap<String, String>) -> bool {
    object_labels.contains_key(REVISION_LABEL)
}

/// The manifest set as JSON, every v1 Secret's `data` and `stringData`
/// values replaced by a keyed digest of the (decoded) value
/// ([`crate::redact::mask_secret`]): stable, different for different
/// values, never the value, and useless for guessing it offline.
pub fn redact_manifests(manifests: &[Manifest], key: &DigestKey) -> Vec<Value> {
    manifests
        .iter()
        .map(|manifest| {
            let mut object = manifest.object.clone();
            mask_secret(&mut object, SecretMask::Digest(key));
            object
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error(
        "release records of {environment} in namespace {namespace}: {action}: {}",
        crate::cluster::api_message(source)
    )]
    Api {
        environment: String,
        namespace: String,
        /// `listing`, `creating fintechctl.release.production.v3`, ...
        action: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "release record {name} in namespace {namespace} already exists: another deploy recorded revision {revision} first"
    )]
    RevisionTaken {
        name: String,
        namespace: String,
        revision: u32,
    },
    #[error("release record {name} in namespace {namespace} cannot be read: {message}")]
    Corrupt {
        name: String,
        namespace: String,
        message: String,
    },
    #[error("release record {name} cannot be encoded: {message}")]
    Encode { name: String, message: String },
    #[error(
        "environment {environment} has used every revision number (the newest is {newest}); delete old release records (`kubectl delete secret -l fintechctl.io/environment={environment},fintechctl.io/release-revision`) to start again from 1"
    )]
    Exhausted { environment: String, newest: u32 },
}

/// A record Secret that could not be read, left out of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadableRecord {
    pub revision: u32,
    pub name: String,
    pub reason: String,
}

/// An environment's records, newest first, and the ones that could not be read.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub records: Vec<ReleaseRecord>,
    pub unreadable: Vec<UnreadableRecord>,
}

impl History {
    /// The revision the environment runs: the newest, unless it is an
    /// aborted canary (an abort leaves the stable Deployments untouched, so
    /// the revision before it still runs).
    pub fn running(&self) -> Option<&ReleaseRecord> {
        self.records
            .iter()
            .find(|r| r.status != ReleaseStatus::Aborted)
    }
}

/// gzip(JSON) of `record`.
pub fn encode(record: &ReleaseRecord) -> Result<Vec<u8>, RecordsError> {
    let err = |message: String| RecordsError::Encode {
        name: record.name(),
        message,
    };
    let json = serde_json::to_vec(record).map_err(|e| err(e.to_string()))?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&json).map_err(|e| err(e.to_string()))?;
    encoder.finish().map_err(|e| err(e.to_string()))
}

/// The record in `bytes` (gzip(JSON), as [`encode`] writes it). The error
/// message is the cause only; callers add which record.
pub fn decode(bytes: &[u8]) -> Result<ReleaseRecord, String> {
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    if json.len() as u64 > MAX_DECODED_BYTES {
        return Err(format!(
            "larger than {MAX_DECODED_BYTES} bytes uncompressed"
        ));
    }
    serde_json::from_slice(&json).map_err(|e| format!("not a release record: {e}"))
}

/// The Secret that stores `record`.
pub fn to_secret(record: &ReleaseRecord) -> Result<Secret, RecordsError> {
    let labels = BTreeMap::from([
        (labels::MANAGED_BY.to_string(), labels::MANAGER.to_string()),
        (labels::ENVIRONMENT.to_string(), record.environment.clone()),
        (REVISION_LABEL.to_string(), record.revision.to_string()),
        (STATUS_LABEL.to_string(), record.status.as_str().to_string()),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(record.name()),
            namespace: Some(record.namespace.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some(RECORD_TYPE.to_string()),
        data: Some(BTreeMap::from([(
            RECORD_KEY.to_string(),
            ByteString(encode(record)?),
        )])),
        ..Secret::default()
    })
}

/// The record a Secret stores.
pub fn from_secret(secret: &Secret) -> Result<ReleaseRecord, RecordsError> {
    let corrupt = |message: String| RecordsError::Corrupt {
        name: secret.metadata.name.clone().unwrap_or_default(),
        namespace: secret.metadata.namespace.clone().unwrap_or_default(),
        message,
    };
    if secret.type_.as_deref() != Some(RECORD_TYPE) {
        return Err(corrupt(format!(
            "its type is {:?}, not {RECORD_TYPE:?}",
            secret.type_.as_deref().unwrap_or("")
        )));
    }
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(RECORD_KEY))
        .ok_or_else(|| corrupt(format!("it has no data.{RECORD_KEY}")))?;
    decode(&bytes.0).map_err(corrupt)
}

fn api_error(
    environment: &str,
    namespace: &str,
    action: impl Into<String>,
) -> impl FnOnce(kube::Error) -> RecordsError {
    let environment = environment.to_string();
    let namespace = namespace.to_string();
    let action = action.into();
    move |source| RecordsError::Api {
        environment,
        namespace,
        action,
        source: Box::new(source),
    }
}

/// The environment's record Secrets with their revision numbers, unordered.
/// Only Secrets of [`RECORD_TYPE`] with a readable revision count.
async fn record_secrets(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
) -> Result<Vec<(u32, Secret)>, RecordsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&record_selector(environment)))
        .await
        .map_err(api_error(environment, namespace, "listing"))?;
    Ok(list
        .items
        .into_iter()
        .filter(|s| s.type_.as_deref() == Some(RECORD_TYPE))
        .filter_map(|s| {
            let revision = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                .and_then(|r| r.parse::<u32>().ok())?;
            Some((revision, s))
        })
        .collect())
}

/// The revision number the next deploy records: one more than the highest
/// recorded, 1 for the first (also when the namespace does not exist yet).
pub async fn next_revision(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
) -> Result<u32, RecordsError> {
    let secrets = match record_secrets(client, namespace, environment).await {
        Ok(secrets) => secrets,
        Err(RecordsError::Api { source, .. }) if is_status(&source, 404) => Vec::new(),
        Err(other) => return Err(other),
    };
    let newest = secrets.iter().map(|(r, _)| *r).max().unwrap_or(0);
    newest
        .checked_add(1)
        .ok_or_else(|| RecordsError::Exhausted {
            environment: environment.to_string(),
            newest,
        })
}

/// Store a new record. Fails with [`RecordsError::RevisionTaken`] when the
/// revision exists already: two deploys never share a revision, even
/// without the lock.
pub async fn create(
    client: &kube::Client,
    namespace: &str,
    record: &ReleaseRecord,
) -> Result<(), RecordsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = to_secret(record)?;
    let result = super::create_or_find(&api, &record.name(), &secret).await;
    let taken = || RecordsError::RevisionTaken {
        name: record.name(),
        namespace: namespace.to_string(),
        revision: record.revision,
    };
    match result {
        Ok(super::Created::Created(_)) => Ok(()),
        // Stored before the error answer, with this run's content.
        Ok(super::Created::Found(stored)) if stored.data == secret.data => Ok(()),
        Ok(super::Created::Found(_)) => Err(taken()),
        Err(e) if is_status(&e, 409) => Err(taken()),
        Err(e) => Err(api_error(
            &record.environment,
            namespace,
            format!("creating {}", record.name()),
        )(e)),
    }
}

/// Store `record` whole (creating it when missing), with server-side apply:
/// the status label follows the status.
pub async fn save(
    client: &kube::Client,
    namespace: &str,
    record: &ReleaseRecord,
) -> Result<(), RecordsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    // Server-side apply needs the type information in the body.
    let mut body = serde_json::to_value(to_secret(record)?).map_err(|e| RecordsError::Encode {
        name: record.name(),
        message: e.to_string(),
    })?;
    body["apiVersion"] = Value::String("v1".into());
    body["kind"] = Value::String("Secret".into());
    api.patch(
        &record.name(),
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(api_error(
        &record.environment,
        namespace,
        format!("saving {}", record.name()),
    ))?;
    Ok(())
}

/// Set the status of a stored revision (e.g. [`ReleaseStatus::RolledBack`]
/// on the failed revision a rollback replaced). `Ok(None)` when it does not exist.
pub async fn update_status(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    revision: u32,
    status: ReleaseStatus,
) -> Result<Option<ReleaseRecord>, RecordsError> {
    let Some(mut record) = get(client, namespace, environment, revision).await? else {
        return Ok(None);
    };
    record.status = status;
    save(client, namespace, &record).await?;
    Ok(Some(record))
}

/// Every record of the environment, newest first. A record that cannot be
/// read (bad gzip or JSON, missing data) is left out and named in
/// `unreadable`: one damaged Secret never hides the others.
pub async fn list(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
) -> Result<History, RecordsError> {
    let secrets = match record_secrets(client, namespace, environment).await {
        Ok(secrets) => secrets,
        Err(RecordsError::Api { source, .. }) if is_status(&source, 404) => Vec::new(),
        Err(other) => return Err(other),
    };
    Ok(history_of(secrets))
}

/// The records of a listing, newest first (see [`list`]).
fn history_of(mut secrets: Vec<(u32, Secret)>) -> History {
    secrets.sort_by_key(|(revision, _)| std::cmp::Reverse(*revision));
    let mut history = History::default();
    for (revision, secret) in &secrets {
        match from_secret(secret) {
            Ok(record) => history.records.push(record),
            Err(e) => history.unreadable.push(UnreadableRecord {
                revision: *revision,
                name: secret.metadata.name.clone().unwrap_or_default(),
                reason: match e {
                    RecordsError::Corrupt { message, .. } => message,
                    other => other.to_string(),
                },
            }),
        }
    }
    history
}

/// One revision's record; `Ok(None)` when there is none.
pub async fn get(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    revision: u32,
) -> Result<Option<ReleaseRecord>, RecordsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let name = record_name(environment, revision);
    let secret = api.get_opt(&name).await.map_err(api_error(
        environment,
        namespace,
        format!("reading {name}"),
    ))?;
    secret.as_ref().map(from_secret).transpose()
}

/// The newest revision that succeeded (or succeeded and was superseded
/// since: it was running once, so it can run again), older than `before`
/// when given. What `rollback` goes back to by default.
pub async fn latest_successful(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    before: Option<u32>,
) -> Result<Option<ReleaseRecord>, RecordsError> {
    let history = list(client, namespace, environment).await?;
    Ok(pick_latest_successful(history.records, before))
}

fn pick_latest_successful(
    records: Vec<ReleaseRecord>,
    before: Option<u32>,
) -> Option<ReleaseRecord> {
    records.into_iter().find(|r| {
        matches!(
            r.status,
            ReleaseStatus::Succeeded | ReleaseStatus::Superseded
        ) && before.is_none_or(|b| r.revision < b)
    })
}

/// Delete all but the newest `keep` revisions of the environment, never the
/// newest succeeded one (the revision running now, which a rollback may
/// need) nor one still deploying. Returns the revisions deleted, oldest first.
pub async fn prune(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    keep: usize,
) -> Result<Vec<u32>, RecordsError> {
    let secrets = record_secrets(client, namespace, environment).await?;
    let facts: Vec<(u32, Option<ReleaseStatus>)> = secrets
        .iter()
        .map(|(revision, secret)| (*revision, status_label(secret)))
        .collect();
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut deleted = Vec::new();
    for revision in revisions_to_prune(&facts, keep) {
        let name = record_name(environment, revision);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => deleted.push(revision),
            // Pruned concurrently: the outcome is the same.
            Err(e) if is_status(&e, 404) => {}
            Err(e) => {
                return Err(api_error(
                    environment,
                    namespace,
                    format!("deleting {name}"),
                )(e));
            }
        }
    }
    Ok(deleted)
}

fn status_label(secret: &Secret) -> Option<ReleaseStatus> {
    let value = secret.metadata.labels.as_ref()?.get(STATUS_LABEL)?;
    serde_json::from_value(Value::String(value.clone())).ok()
}

/// Which revisions [`prune`] deletes, oldest first, from each revision's
/// status label.
fn revisions_to_prune(facts: &[(u32, Option<ReleaseStatus>)], keep: usize) -> Vec<u32> {
    let mut newest_first: Vec<(u32, Option<ReleaseStatus>)> = facts.to_vec();
    newest_first.sort_by_key(|(revision, _)| std::cmp::Reverse(*revision));
    let current = newest_first
        .iter()
        .find(|(_, s)| *s == Some(ReleaseStatus::Succeeded))
        .map(|(r, _)| *r);
    let mut doomed: Vec<u32> = newest_first
        .iter()
        .skip(keep)
        .filter(|(r, s)| Some(*r) != current && *s != Some(ReleaseStatus::Deploying))
        .map(|(r, _)| *r)
        .collect();
    doomed.sort_unstable();
    doomed
}

/// One environment's release history in the cluster: what deploy,
/// rollback, history and verify use. Every record it stores is scrubbed
/// of the secret values its redactor knows first.
#[derive(Clone)]
pub struct ReleaseHistory {
    client: kube::Client,
    namespace: String,
    environment: String,
    redactor: Redactor,
}

impl ReleaseHistory {
    pub fn new(
        client: &kube::Client,
        namespace: &str,
        environment: &str,
        redactor: Redactor,
    ) -> Self {
        Self {
            client: client.clone(),
            namespace: namespace.to_string(),
            environment: environment.to_string(),
            redactor,
        }
    }

    /// Every readable record, newest first, and the unreadable ones named.
    pub async fn list(&self) -> Result<History, RecordsError> {
        list(&self.client, &self.namespace, &self.environment).await
    }

    pub async fn get(&self, revision: u32) -> Result<Option<ReleaseRecord>, RecordsError> {
        get(&self.client, &self.namespace, &self.environment, revision).await
    }

    /// The newest successful revision older than `before` (when given).
    pub async fn latest_successful(
        &self,
        before: Option<u32>,
    ) -> Result<Option<ReleaseRecord>, RecordsError> {
        let history = self.list().await?;
        Ok(pick_latest_successful(history.records, before))
    }

    /// Stores a new record at the next revision (a concurrent writer that
    /// takes the same number makes this fail, never overwrite).
    pub async fn create(&self, record: &mut ReleaseRecord) -> Result<(), RecordsError> {
        record.revision = next_revision(&self.client, &self.namespace, &self.environment).await?;
        record.scrub(&self.redactor);
        create(&self.client, &self.namespace, record).await
    }

    /// [`Self::create`] at `revision`, numbered by
    /// [`Self::numbering`] (a concurrent writer that took
    /// it makes this fail, never overwrite).
    pub async fn create_at(
        &self,
        record: &mut ReleaseRecord,
        revision: u32,
    ) -> Result<(), RecordsError> {
        record.revision = revision;
        record.scrub(&self.redactor);
        create(&self.client, &self.namespace, record).await
    }

    /// Stores `record` as it is now.
    pub async fn save(&self, record: &mut ReleaseRecord) -> Result<(), RecordsError> {
        record.scrub(&self.redactor);
        save(&self.client, &self.namespace, record).await
    }

    /// Finishes `record` with `status` now and saves it; a success marks
    /// older successful revisions superseded (best effort: a failure there
    /// is returned as a warning, the deploy itself succeeded).
    pub async fn finish(
        &self,
        record: &mut ReleaseRecord,
        status: ReleaseStatus,
        failures: &[FailureCard],
    ) -> Result<Option<String>, RecordsError> {
        record.finish(status, Timestamp::now());
        if !failures.is_empty() {
            record.set_failures(failures);
        }
        if status != ReleaseStatus::Succeeded {
            self.save(record).await?;
            return Ok(None);
        }
        // The older revisions are listed while this one is saved: the
        // listing looks only at revisions before it.
        record.scrub(&self.redactor);
        let (saved, older) = tokio::join!(
            save(&self.client, &self.namespace, record),
            list(&self.client, &self.namespace, &self.environment)
        );
        saved?;
        let superseded = async { self.supersede(older?.records, record.revision).await };
        Ok(superseded
            .await
            .err()
            .map(|e| format!("marking older revisions superseded: {e}")))
    }

    /// [`Self::finish`] as a success, with the succeeded revisions the
    /// run's own listing under the lock found ([`Numbering::succeeded`]):
    /// they are marked superseded while this one is saved.
    pub async fn finish_succeeded(
        &self,
        record: &mut ReleaseRecord,
        succeeded: Vec<ReleaseRecord>,
    ) -> Result<Option<String>, RecordsError> {
        record.finish(ReleaseStatus::Succeeded, Timestamp::now());
        record.scrub(&self.redactor);
        let (saved, superseded) = tokio::join!(
            save(&self.client, &self.namespace, record),
            self.supersede(succeeded, record.revision)
        );
        saved?;
        Ok(superseded
            .err()
            .map(|e| format!("marking older revisions superseded: {e}")))
    }

    /// Marks the succeeded revisions of `older` before `current` superseded, at once.
    async fn supersede(&self, older: Vec<ReleaseRecord>, current: u32) -> Result<(), RecordsError> {
        let saves = older
            .into_iter()
            .filter(|old| old.revision < current && old.status == ReleaseStatus::Succeeded)
            .map(|mut old| async move {
                old.status = ReleaseStatus::Superseded;
                save(&self.client, &self.namespace, &old).await
            });
        futures::future::try_join_all(saves).await.map(|_| ())
    }

    pub async fn update_status(
        &self,
        revision: u32,
        status: ReleaseStatus,
    ) -> Result<Option<ReleaseRecord>, RecordsError> {
        update_status(
            &self.client,
            &self.namespace,
            &self.environment,
            revision,
            status,
        )
        .await
    }

    /// Marks every record still `deploying` abandoned: called by a run that
    /// holds the deploy lock, so no live run owns them. Returns their revisions.
    pub async fn abandon_deploying(&self) -> Result<Vec<u32>, RecordsError> {
        let numbering = self.numbering().await?;
        self.abandon(numbering.deploying).await
    }

    /// One listing, read under the deploy lock: the revision the next
    /// record takes, the revisions a dead run left `deploying`, and the
    /// succeeded ones a success supersedes.
    pub async fn numbering(&self) -> Result<Numbering, RecordsError> {
        let secrets = match record_secrets(&self.client, &self.namespace, &self.environment).await {
            Ok(secrets) => secrets,
            Err(RecordsError::Api { source, .. }) if is_status(&source, 404) => Vec::new(),
            Err(other) => return Err(other),
        };
        let next = secrets
            .iter()
            .map(|(r, _)| *r)
            .max()
            .unwrap_or(0)
            .checked_add(1);
        let history = history_of(secrets);
        let (deploying, rest): (Vec<ReleaseRecord>, Vec<ReleaseRecord>) = history
            .records
            .into_iter()
            .partition(|r| r.status == ReleaseStatus::Deploying);
        Ok(Numbering {
            next,
            deploying,
            succeeded: rest
                .into_iter()
                .filter(|r| r.status == ReleaseStatus::Succeeded)
                .collect(),
        })
    }

    /// Marks `records` (left `deploying` by a run that died) abandoned, at
    /// once; returns their revisions in order.
    pub async fn abandon(&self, records: Vec<ReleaseRecord>) -> Result<Vec<u32>, RecordsError> {
        let saves = records.into_iter().map(|mut record| async move {
            record.status = ReleaseStatus::Abandoned;
            save(&self.client, &self.namespace, &record)
                .await
                .map(|()| record.revision)
        });
        let mut abandoned = futures::future::try_join_all(saves).await?;
        abandoned.sort_unstable();
        Ok(abandoned)
    }

    pub async fn prune(&self, keep: usize) -> Result<Vec<u32>, RecordsError> {
        prune(&self.client, &self.namespace, &self.environment, keep).await
    }
}

/// What one listing of the history says for the next record
/// ([`ReleaseHistory::numbering`]).
#[derive(Debug, Default, Clone)]
pub struct Numbering {
    /// `None` when the listing cannot number it.
    pub next: Option<u32>,
    /// Left `deploying` by a run that died.
    pub deploying: Vec<ReleaseRecord>,
    /// Succeeded: superseded when this run succeeds.
    pub succeeded: Vec<ReleaseRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_checks_reason_and_statements_are_scrubbed() {
        use crate::migration_lint::{CheckStatus, Finding, MigrationCheck};
        let mut r = record(2, ReleaseStatus::Succeeded);
        r.migration_check = Some(MigrationCheck {
            status: CheckStatus::Breaking,
            from_revision: Some("1a2b".into()),
            reason: Some("Job/x failed (exit code 1): password s3cr3t-value".into()),
            findings: vec![Finding {
                rule: "drop-column".into(),
                statement: "ALTER TABLE t DROP COLUMN s3cr3t-value".into(),
                problem: String::new(),
                alternative: String::new(),
            }],
            enforced: true,
            overridden_by: Some("--allow-breaking-migration".into()),
        });
        r.scrub(&Redactor::new(["s3cr3t-value"]));
        let check = r.migration_check.unwrap();
        assert_eq!(
            check.reason.as_deref(),
            Some("Job/x failed (exit code 1): password <redacted>")
        );
        assert_eq!(
            check.findings[0].statement,
            "ALTER TABLE t DROP COLUMN <redacted>"
        );
        assert_eq!(
            check.overridden_by.as_deref(),
            Some("--allow-breaking-migration")
        );
    }
    use serde_json::json;

    fn b64(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn secret_manifest(data: Value, string_data: Value) -> Manifest {
        Manifest::new(
            "secrets.yaml",
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "fintech-ai-secrets", "namespace": "fintech-ai-staging"},
                   "data": data, "stringData": string_data}),
        )
    }

    fn record(revision: u32, status: ReleaseStatus) -> ReleaseRecord {
        ReleaseRecord {
            revision,
            environment: "staging".into(),
            namespace: "fintech-ai-staging".into(),
            version: format!("1.{revision}.0"),
            status,
            manifests: vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            ],
            user: "fixture-user".into(),
            host: "fixture-host".into(),
            ci: None,
            started_at: "2026-11-26T10:00:00Z".parse().unwrap(),
            finished_at: None,
            duration_secs: None,
            failures: Vec::new(),
            migration: None,
            migration_check: None,
            rolled_back_from: None,
            description: format!("deploy 1.{revision}.0"),
            canary: None,
        }
    }

    #[test]
    fn redaction_leaves_no_secret_value_and_digests_are_stable_and_distinct() {
        let values = ["fixture-pg-value", "fixture-redis-value"];
        let set = [
            secret_manifest(
                json!({"postgres-password": b64(values[0]), "redis-password": b64(values[1])}),
                json!({"jwt-secret": "fixture-jwt-value"}),
            ),
            Manifest::new(
                "config.yaml",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"LOG_LEVEL": "info"}}),
            ),
        ];
        let key = DigestKey::from_bytes([5; 32]);
        let redacted = redact_manifests(&set, &key);
        let shown = serde_json::to_string(&redacted).unwrap();
        for value in values.iter().copied().chain(["fixture-jwt-value"]) {
            assert!(!shown.contains(value), "{value} survived: {shown}");
            assert!(
                !shown.contains(&b64(value)),
                "{value} (base64) survived: {shown}"
            );
        }
        let pg = redacted[0]["data"]["postgres-password"].as_str().unwrap();
        let redis = redacted[0]["data"]["redis-password"].as_str().unwrap();
        assert!(
            pg.starts_with("<redacted hmac:") && pg.len() == "<redacted hmac:>".len() + 32,
            "{pg}"
        );
        assert_ne!(pg, redis);
        // Stable: the same input gives the same digests.
        assert_eq!(redact_manifests(&set, &key), redacted);
        // The digest is of the content, however it was sent.
        let as_string_data = secret_manifest(json!({}), json!({"postgres-password": values[0]}));
        assert_eq!(
            redact_manifests(&[as_string_data], &key)[0]["stringData"]["postgres-password"],
            json!(pg)
        );
        // Other kinds are kept as rendered.
        assert_eq!(redacted[1], set[1].object);
    }

    #[test]
    fn records_survive_encoding() {
        let mut original = record(3, ReleaseStatus::Deploying);
        original.ci = Some(CiInfo {
            provider: "gitlab-ci".into(),
            job: Some("42".into()),
            url: None,
        });
        original.migration = Some(MigrationOutcome {
            job: "db-migrate-1-3-0".into(),
            pod: Some("db-migrate-1-3-0-abcde".into()),
            succeeded: true,
            exit_code: Some(0),
            reason: None,
            message: None,
            last_lines: vec!["upgraded".into()],
            elapsed: std::time::Duration::from_millis(1500),
            already_done: false,
        });
        original.finish(
            ReleaseStatus::Failed,
            "2026-11-26T10:01:30.500Z".parse().unwrap(),
        );
        let bytes = encode(&original).unwrap();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip magic");
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded, original);
        assert_eq!(decoded.duration_secs, Some(90.5));
        assert!(decode(b"not gzip").unwrap_err().contains("not gzip"));
    }

    #[test]
    fn the_secret_is_named_typed_and_labelled() {
        let r = record(7, ReleaseStatus::Succeeded);
        let secret = to_secret(&r).unwrap();
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("fintechctl.release.staging.v7")
        );
        assert_eq!(secret.type_.as_deref(), Some(RECORD_TYPE));
        let l = secret.metadata.labels.clone().unwrap();
        assert_eq!(l[labels::MANAGED_BY], "fintechctl");
        assert_eq!(l[labels::ENVIRONMENT], "staging");
        assert_eq!(l[REVISION_LABEL], "7");
        assert_eq!(l[STATUS_LABEL], "succeeded");
        assert!(is_release_record(&l));
        assert_eq!(status_label(&secret), Some(ReleaseStatus::Succeeded));
        assert_eq!(from_secret(&secret).unwrap(), r);

        let mut wrong_type = secret.clone();
        wrong_type.type_ = Some("Opaque".into());
        let err = from_secret(&wrong_type).unwrap_err().to_string();
        assert!(
            err.contains("fintechctl.release.staging.v7") && err.contains("Opaque"),
            "{err}"
        );
    }

    #[test]
    fn status_words_match_serde() {
        for status in [
            ReleaseStatus::Deploying,
            ReleaseStatus::Succeeded,
            ReleaseStatus::Failed,
            ReleaseStatus::RolledBack,
            ReleaseStatus::Superseded,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
        }
    }

    #[test]
    fn prune_keeps_the_newest_the_current_and_the_running() {
        use ReleaseStatus::*;
        let facts: Vec<(u32, Option<ReleaseStatus>)> = vec![
            (1, Some(Superseded)),
            (2, Some(Deploying)), // killed mid-deploy long ago: still never pruned
            (3, Some(Succeeded)), // the current revision
            (4, Some(Failed)),
            (5, Some(Failed)),
            (6, Some(Failed)),
        ];
        assert_eq!(revisions_to_prune(&facts, 2), vec![1, 4]);
        assert_eq!(revisions_to_prune(&facts, 6), Vec::<u32>::new());
        assert_eq!(revisions_to_prune(&facts, 0), vec![1, 4, 5, 6]);
        let plain: Vec<(u32, Option<ReleaseStatus>)> =
            (1..=25).map(|r| (r, Some(Superseded))).collect();
        assert_eq!(
            revisions_to_prune(&plain, DEFAULT_KEEP),
            vec![1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn latest_successful_skips_failures_and_respects_before() {
        use ReleaseStatus::*;
        let newest_first = || {
            vec![
                record(5, Failed),
                record(4, Succeeded),
                record(3, RolledBack),
                record(2, Superseded),
                record(1, Superseded),
            ]
        };
        assert_eq!(
            pick_latest_successful(newest_first(), None)
                .unwrap()
                .revision,
            4
        );
        assert_eq!(
            pick_latest_successful(newest_first(), Some(4))
                .unwrap()
                .revision,
            2
        );
        assert!(pick_latest_successful(newest_first(), Some(1)).is_none());
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn ci_is_detected_from_provider_variables() {
        assert_eq!(CiInfo::detect(env(&[])), None);
        assert_eq!(CiInfo::detect(env(&[("CI", "false")])), None);
        assert_eq!(
            CiInfo::detect(env(&[
                ("CI", "true"),
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_RUN_ID", "123"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "example/platform"),
            ])),
            Some(CiInfo {
                provider: "github-actions".into(),
                job: Some("123".into()),
                url: Some("https://github.com/example/platform/actions/runs/123".into()),
            })
        );
        assert_eq!(
            CiInfo::detect(env(&[
                ("CI", "true"),
                ("GITLAB_CI", "true"),
                ("CI_JOB_ID", "77"),
                ("CI_JOB_URL", "https://gitlab.example/p/-/jobs/77"),
            ])),
            Some(CiInfo {
                provider: "gitlab-ci".into(),
                job: Some("77".into()),
                url: Some("https://gitlab.example/p/-/jobs/77".into()),
            })
        );
        let jenkins = CiInfo::detect(env(&[
            ("JENKINS_URL", "https://jenkins.example/"),
            ("BUILD_ID", "9"),
        ]))
        .unwrap();
        assert_eq!(
            (jenkins.provider.as_str(), jenkins.job.as_deref()),
            ("jenkins", Some("9"))
        );
        let generic = CiInfo::detect(env(&[("CI", "1"), ("BUILD_ID", "b-1")])).unwrap();
        assert_eq!(
            (generic.provider.as_str(), generic.job.as_deref()),
            ("ci", Some("b-1"))
        );
    }
}
