//! Release records against kube-sim: revisions numbered per environment,
//! stored compressed in typed and labelled Secrets without secret values,
//! listed newest first, superseded, found for rollback and pruned
//! (issue 5, "Release records").

use std::io::Read;

use fintechctl::cluster::records::{self, RECORD_TYPE, RecordsError, ReleaseRecord, ReleaseStatus};
use fintechctl::render::Manifest;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;

const NS: &str = "fintech-ai-staging";
const ENV: &str = "staging";
/// Obviously fake; must never appear in a stored record.
const FIXTURE_SECRET: &str = "test-only-pg-0001";

async fn sim() -> (kube_sim::KubeSim, kube::Client) {
    let sim = kube_sim::KubeSim::start(kube_sim::SimConfig::default())
        .await
        .expect("kube-sim starts");
    let client = kube::Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NS.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
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

async fn deploy(client: &kube::Client, version: &str, outcome: ReleaseStatus) -> ReleaseRecord {
    let revision = records::next_revision(client, NS, ENV).await.unwrap();
    let mut record = ReleaseRecord::begin(
        revision,
        ENV,
        NS,
        version,
        &manifests(version),
        format!("deploy {version}"),
    );
    records::create(client, NS, &record).await.unwrap();
    records::finish(client, NS, &mut record, outcome, &[])
        .await
        .unwrap();
    record
}

#[tokio::test]
async fn two_deploys_make_two_revisions_newest_first() {
    let (_sim, client) = sim().await;
    assert_eq!(records::next_revision(&client, NS, ENV).await.unwrap(), 1);
    assert!(records::list(&client, NS, ENV).await.unwrap().is_empty());

    deploy(&client, "1.0.0", ReleaseStatus::Succeeded).await;
    let second = deploy(&client, "1.1.0", ReleaseStatus::Succeeded).await;
    assert_eq!(second.revision, 2);

    let history = records::list(&client, NS, ENV).await.unwrap();
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
    assert!(json.contains("sha256:"), "{json}");
}

#[tokio::test]
async fn a_revision_is_never_recorded_twice() {
    let (_sim, client) = sim().await;
    let record = ReleaseRecord::begin(1, ENV, NS, "1.0.0", &manifests("1.0.0"), "deploy 1.0.0");
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
    let revision = records::next_revision(&client, NS, ENV).await.unwrap();
    let mut rollback =
        ReleaseRecord::begin(revision, ENV, NS, &current.version, &[], "rollback to 2");
    rollback.manifests = current.manifests.clone();
    rollback.rolled_back_from = Some(current.revision);
    records::create(&client, NS, &rollback).await.unwrap();
    let superseded = records::finish(&client, NS, &mut rollback, ReleaseStatus::Succeeded, &[])
        .await
        .unwrap();
    assert_eq!(superseded, vec![2]);
    let statuses: Vec<(u32, ReleaseStatus)> = records::list(&client, NS, ENV)
        .await
        .unwrap()
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
    let mut record = ReleaseRecord::begin(1, ENV, NS, "2.0.0", &manifests("2.0.0"), "deploy 2.0.0");
    record.migration = Some(json!({"ran": true, "exitCode": 0}));
    records::create(&client, NS, &record).await.unwrap();
    let card = FailureCard {
        workload: "Deployment/api-gateway".into(),
        kind: ProblemKind::ImagePull,
        pod: Some("api-gateway-7d9f-abcde".into()),
        container: Some("api".into()),
        reason: "ImagePullBackOff".into(),
        message: "Back-off pulling image \"registry.example/api-gateway:2.0.0\"".into(),
        exit_code: None,
        logs: Vec::new(),
        events: vec!["Warning Failed: ErrImagePull".into()],
        missing: Vec::new(),
    };
    records::finish(&client, NS, &mut record, ReleaseStatus::Failed, &[card])
        .await
        .unwrap();
    let stored = records::get(&client, NS, ENV, 1).await.unwrap().unwrap();
    assert_eq!(stored.status, ReleaseStatus::Failed);
    assert_eq!(stored.failures.len(), 1);
    assert_eq!(stored.failures[0]["reason"], "ImagePullBackOff");
    assert_eq!(stored.failures[0]["workload"], "Deployment/api-gateway");
    assert_eq!(stored.migration, Some(json!({"ran": true, "exitCode": 0})));
    // A failed revision is no rollback target.
    assert!(
        records::latest_successful(&client, NS, ENV, None)
            .await
            .unwrap()
            .is_none()
    );
}
