//! Release records against kube-sim: revisions numbered per environment,
//! stored compressed in typed and labelled Secrets without secret values,
//! listed newest first, superseded, found for rollback and pruned
//! (issue 5, "Release records").

use std::io::Read;

use fintechctl::cluster::migration::MigrationOutcome;
use fintechctl::cluster::records::{
    self, RECORD_TYPE, RecordsError, ReleaseHistory, ReleaseRecord, ReleaseStatus,
};
use fintechctl::identity::Identity;
use fintechctl::redact::{DigestKey, Redactor};
use fintechctl::render::Manifest;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;

const NS: &str = "fintech-ai-staging";
const ENV: &str = "staging";
/// Obviously fake; must never appear in a stored record.
const FIXTURE_SECRET: &str = "test-only-pg-0001";

async fn sim() -> (kube_sim::KubeSim, kube::Client) {
    let (sim, client) = crate::common::sim::start(kube_sim::SimConfig::default()).await;
    crate::common::sim::create_namespace(&client, NS).await;
    (sim, client)
}

fn manifests(version: &str) -> Vec<Manifest> {
    use base64::Engine as _;
    vec![
        Manifest::new(
            "secrets.yaml",
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "fintech-ai-secrets", "namespace": NS},
                   "data": {"postgres-password": base64::engine::general_purpose::STANDARD.encode(FIXTURE_SECRET)},
                   "stringData": {"api-key": FIXTURE_SECRET}}),
        ),
        Manifest::new(
            "api-gateway.yaml",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "api-gateway", "namespace": NS},
                   "spec": {"template": {"spec": {"containers": [
                       {"name": "api", "image": format!("registry.example/api-gateway:{version}")}]}}}}),
        ),
    ]
}

fn key() -> DigestKey {
    DigestKey::from_bytes([4; 32])
}

fn begin(version: &str, manifests: &[Manifest], description: &str) -> ReleaseRecord {
    ReleaseRecord::begin(
        ENV,
        NS,
        version,
        manifests,
        description,
        &Identity::fixed("ci", "runner-1", "deploy staging"),
        &key(),
    )
}

fn history(client: &kube::Client) -> ReleaseHistory {
    ReleaseHistory::new(client, NS, ENV, Redactor::new([FIXTURE_SECRET]))
}

fn migration() -> MigrationOutcome {
    MigrationOutcome {
        job: "db-migrate-2-0-0".into(),
        pod: None,
        succeeded: true,
        exit_code: Some(0),
        reason: None,
        message: None,
        last_lines: vec!["upgraded".into()],
        elapsed: std::time::Duration::from_secs(1),
        already_done: false,
    }
}

async fn deploy(client: &kube::Client, version: &str, outcome: ReleaseStatus) -> ReleaseRecord {
    let h = history(client);
    let mut record = begin(version, &manifests(version), &format!("deploy {version}"));
    h.create(&mut record).await.unwrap();
    h.finish(&mut record, outcome, &[]).await.unwrap();
    record
}

#[tokio::test]
async fn two_deploys_make_two_revisions_newest_first() {
    let (_sim, client) = sim().await;
    assert_eq!(records::next_revision(&client, NS, ENV).await.unwrap(), 1);
    assert!(
        records::list(&client, NS, ENV)
            .await
            .unwrap()
            .records
            .is_empty()
    );

    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    let second = deploy(&client, "1.1.0", ReleaseStatus::Succeeded).await;
    assert_eq!(second.revision, 2);

    let history = records::list(&client, NS, ENV).await.unwrap().records;
    let facts: Vec<(u32, &str, ReleaseStatus)> = history
        .iter()
        .map(|r| (r.revision, r.version.as_str(), r.status))
        .collect();
    assert_eq!(
        facts,
        vec![
            (2, "1.1.0", ReleaseStatus::Succeeded),
            (1, "1.0.0", ReleaseStatus::Superseded),
        ]
    );
    let newest = &history[0];
    assert!(newest.finished_at.is_some() && newest.duration_secs.is_some());
    assert!(!newest.user.is_empty() && !newest.host.is_empty());
    assert_eq!(newest.manifests.len(), 2);
    assert_eq!(
        records::get(&client, NS, ENV, 1)
            .await
            .unwrap()
            .unwrap()
            .version,
        "1.0.0"
    );
    assert!(records::get(&client, NS, ENV, 9).await.unwrap().is_none());
    assert_eq!(records::next_revision(&client, NS, ENV).await.unwrap(), 3);
    // Another environment's history is separate.
    assert_eq!(
        records::next_revision(&client, NS, "production")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn the_stored_secret_is_typed_labelled_compressed_and_free_of_secret_values() {
    let (_sim, client) = sim().await;
    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let stored = secrets.get("fintechctl.release.staging.v1").await.unwrap();
    assert_eq!(stored.type_.as_deref(), Some(RECORD_TYPE));
    let labels = stored.metadata.labels.clone().unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "fintechctl");
    assert_eq!(labels["fintechctl.io/environment"], "staging");
    assert_eq!(labels["fintechctl.io/release-revision"], "1");
    assert_eq!(labels["fintechctl.io/release-status"], "succeeded");

    let gz = &stored.data.as_ref().unwrap()["release"].0;
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut json)
        .expect("gzip");
    assert!(!json.contains(FIXTURE_SECRET), "a secret value was stored");
    assert!(json.contains("<redacted hmac:"), "{json}");
    assert!(!json.contains("sha256:"), "digests are keyed: {json}");
}

#[tokio::test]
async fn a_revision_is_never_recorded_twice() {
    let (_sim, client) = sim().await;
    let mut record = begin("1.0.0", &manifests("1.0.0"), "deploy 1.0.0");
    record.revision = 1;
    records::create(&client, NS, &record).await.unwrap();
    let err = records::create(&client, NS, &record).await.unwrap_err();
    assert!(
        matches!(err, RecordsError::RevisionTaken { revision: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn rollback_target_is_the_last_success_before_the_current() {
    let (_sim, client) = sim().await;
    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    deploy(&client, "1.1.0", ReleaseStatus::Succeeded).await;
    let failed = deploy(&client, "1.2.0", ReleaseStatus::Failed).await;
    let current = records::latest_successful(&client, NS, ENV, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.revision, 2);
    let previous = records::latest_successful(&client, NS, ENV, Some(current.revision))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(previous.revision, 1);

    // A rollback of the failed revision to the current one.
    let marked =
        records::update_status(&client, NS, ENV, failed.revision, ReleaseStatus::RolledBack)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(marked.status, ReleaseStatus::RolledBack);
    let mut rollback = begin(&current.version, &[], "rollback to 2");
    rollback.manifests = current.manifests.clone();
    rollback.rolled_back_from = Some(current.revision);
    let h = history(&client);
    h.create(&mut rollback).await.unwrap();
    assert_eq!(rollback.revision, 4);
    let warning = h
        .finish(&mut rollback, ReleaseStatus::Succeeded, &[])
        .await
        .unwrap();
    assert_eq!(warning, None);
    let statuses: Vec<(u32, ReleaseStatus)> = records::list(&client, NS, ENV)
        .await
        .unwrap()
        .records
        .iter()
        .map(|r| (r.revision, r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (4, ReleaseStatus::Succeeded),
            (3, ReleaseStatus::RolledBack),
            (2, ReleaseStatus::Superseded),
            (1, ReleaseStatus::Superseded),
        ]
    );
}

#[tokio::test]
async fn prune_keeps_the_newest_revisions() {
    let (_sim, client) = sim().await;
    for minor in 0..5 {
        deploy(&client, &format!("1.{minor}.0"), ReleaseStatus::Succeeded).await;
    }
    let deleted = records::prune(&client, NS, ENV, 3).await.unwrap();
    assert_eq!(deleted, vec![1, 2]);
    let left: Vec<u32> = records::list(&client, NS, ENV)
        .await
        .unwrap()
        .records
        .iter()
        .map(|r| r.revision)
        .collect();
    assert_eq!(left, vec![5, 4, 3]);
    assert_eq!(records::next_revision(&client, NS, ENV).await.unwrap(), 6);
    assert!(
        records::prune(&client, NS, ENV, 3)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_deploy_keeps_its_failure_cards_and_migration() {
    use fintechctl::cluster::diagnosis::{FailureCard, ProblemKind};
    let (_sim, client) = sim().await;
    let mut record = begin("2.0.0", &manifests("2.0.0"), "deploy 2.0.0");
    record.migration = Some(migration());
    let h = history(&client);
    h.create(&mut record).await.unwrap();
    let card = FailureCard {
        workload: "Deployment/api-gateway".into(),
        kind: ProblemKind::ImagePull,
        pod: Some("api-gateway-7d9f-abcde".into()),
        container: Some("api".into()),
        reason: "ImagePullBackOff".into(),
        message: "Back-off pulling image \"registry.example/api-gateway:2.0.0\"".into(),
        exit_code: None,
        logs: vec![format!("connecting with password {FIXTURE_SECRET}")],
        events: vec!["Warning Failed: ErrImagePull".into()],
        missing: Vec::new(),
    };
    h.finish(&mut record, ReleaseStatus::Failed, &[card])
        .await
        .unwrap();
    let stored = records::get(&client, NS, ENV, 1).await.unwrap().unwrap();
    assert_eq!(stored.status, ReleaseStatus::Failed);
    assert_eq!(stored.failures.len(), 1);
    assert_eq!(stored.failures[0].reason, "ImagePullBackOff");
    assert_eq!(stored.failures[0].workload, "Deployment/api-gateway");
    // A secret value a log line carried is scrubbed before it is stored.
    assert_eq!(
        stored.failures[0].logs,
        ["connecting with password <redacted>"]
    );
    assert_eq!(stored.migration, Some(migration()));
    // A failed revision is no rollback target.
    assert!(
        records::latest_successful(&client, NS, ENV, None)
            .await
            .unwrap()
            .is_none()
    );
}

/// Issue 8, item 9: one damaged record is skipped and named; the others
/// still list, and a rollback target is still found.
#[tokio::test]
async fn an_unreadable_record_is_named_and_never_hides_the_others() {
    let (_sim, client) = sim().await;
    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    deploy(&client, "1.1.0", ReleaseStatus::Succeeded).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let mut bad = secrets.get("fintechctl.release.staging.v2").await.unwrap();
    bad.data.as_mut().unwrap().insert(
        "release".into(),
        k8s_openapi::ByteString(b"not gzip at all".to_vec()),
    );
    bad.metadata.managed_fields = None;
    secrets
        .replace(
            "fintechctl.release.staging.v2",
            &PostParams::default(),
            &bad,
        )
        .await
        .unwrap();
    let listing = records::list(&client, NS, ENV).await.unwrap();
    assert_eq!(listing.records.len(), 1);
    assert_eq!(listing.records[0].revision, 1);
    assert_eq!(listing.unreadable.len(), 1);
    assert_eq!(listing.unreadable[0].revision, 2);
    assert!(
        listing.unreadable[0].reason.contains("gzip"),
        "{:?}",
        listing.unreadable
    );
    assert_eq!(
        history(&client)
            .latest_successful(None)
            .await
            .unwrap()
            .map(|r| r.revision),
        Some(1)
    );
}

/// Issue 8, item 11: the revision number never wraps around to v0.
#[tokio::test]
async fn the_last_revision_number_is_refused_not_wrapped() {
    let (_sim, client) = sim().await;
    let mut record = begin("1.0.0", &[], "deploy 1.0.0");
    record.revision = u32::MAX;
    records::create(&client, NS, &record).await.unwrap();
    let err = records::next_revision(&client, NS, ENV).await.unwrap_err();
    assert!(
        matches!(
            err,
            RecordsError::Exhausted {
                newest: u32::MAX,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("every revision number"), "{err}");
    let failure = fintechctl::exit::Failure::from(err);
    assert_eq!(failure.status.code(), 4);
}

/// Issue 8, item 8: a run that takes the lock marks a dead run's
/// `deploying` record abandoned, and prune may then delete it.
#[tokio::test]
async fn deploying_records_left_by_a_dead_run_are_abandoned() {
    let (_sim, client) = sim().await;
    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    let h = history(&client);
    let mut dead = begin("1.1.0", &manifests("1.1.0"), "deploy 1.1.0");
    h.create(&mut dead).await.unwrap();
    assert_eq!(h.abandon_deploying().await.unwrap(), vec![2]);
    let stored = h.get(2).await.unwrap().unwrap();
    assert_eq!(stored.status, ReleaseStatus::Abandoned);
    assert_eq!(h.abandon_deploying().await.unwrap(), Vec::<u32>::new());
    deploy(&client, "1.2.0", ReleaseStatus::Succeeded).await;
    // A `deploying` record is never pruned; an abandoned one is.
    assert_eq!(h.prune(1).await.unwrap(), vec![1, 2]);
}

/// Records written by earlier versions (snake_case migration and cards)
/// still load.
#[test]
fn records_of_earlier_versions_still_load() {
    let old = json!({
        "revision": 3, "environment": "staging", "namespace": NS, "version": "1.3.0",
        "status": "failed", "manifests": [], "user": "u", "host": "h",
        "startedAt": "2026-11-26T10:00:00Z",
        "failures": [{"workload": "Deployment/x", "kind": "crash-loop", "pod": null,
            "container": null, "reason": "CrashLoopBackOff", "message": "m", "exit_code": 1,
            "logs": [], "events": [], "missing": []}],
        "migration": {"job": "db-migrate", "pod": null, "succeeded": true, "exit_code": 0,
            "reason": null, "message": null, "last_lines": ["ok"], "elapsed": 1.5, "already_done": true},
        "description": "deploy 1.3.0"
    });
    let record: ReleaseRecord = serde_json::from_value(old).unwrap();
    assert_eq!(record.failures[0].exit_code, Some(1));
    let m = record.migration.unwrap();
    assert!(m.already_done);
    assert_eq!(m.last_lines, ["ok"]);
}
