//! The deploy lock against kube-sim: one holder at a time, expiry of a
//! crashed holder, forced takeover, release that never deletes someone
//! else's lock, and a first deploy's missing namespace (issue 5, "Lock").

use std::time::Duration;

use fintechctl::cluster::lock::{
    self, LEASE_NAME, LockError, LockHolder, LockOptions, acquire, acquire_creating_namespace,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

const NS: &str = "fintech-ai-staging";

async fn sim() -> (kube_sim::KubeSim, kube::Client) {
    crate::common::sim::start(kube_sim::SimConfig::default()).await
}

use crate::common::sim::create_namespace;

fn holder(user: &str, pid: u32) -> LockHolder {
    LockHolder {
        user: user.into(),
        host: "ci-runner-1".into(),
        pid,
        command: format!("deploy staging --version 1.{pid}.0"),
        since: k8s_openapi::jiff::Timestamp::now(),
    }
}

fn short() -> LockOptions {
    LockOptions {
        lease_duration: Duration::from_secs(2),
        force: false,
        on_lost: None,
    }
}

async fn lease(client: &kube::Client) -> Option<Lease> {
    Api::<Lease>::namespaced(client.clone(), NS)
        .get_opt(LEASE_NAME)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_lease_names_its_holder_and_release_deletes_it() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let guard = acquire(&client, NS, holder("alice", 11), &short())
        .await
        .unwrap();
    assert!(guard.broken().is_none() && guard.expired().is_none());

    let stored = lease(&client).await.expect("the Lease exists");
    let spec = stored.spec.as_ref().unwrap();
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some("alice@ci-runner-1:11")
    );
    assert_eq!(spec.lease_duration_seconds, Some(2));
    assert!(spec.renew_time.is_some() && spec.acquire_time.is_some());
    let labels = stored.metadata.labels.clone().unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "fintechctl");
    let annotations = stored.metadata.annotations.clone().unwrap();
    assert_eq!(
        annotations[lock::COMMAND_ANNOTATION],
        "deploy staging --version 1.11.0"
    );
    assert!(annotations.contains_key(lock::SINCE_ANNOTATION));

    guard.release().await.unwrap();
    assert!(lease(&client).await.is_none(), "release deletes the Lease");
}

#[tokio::test]
async fn a_held_lock_is_refused_naming_the_holder() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let first = acquire(&client, NS, holder("alice", 11), &LockOptions::default())
        .await
        .unwrap();
    let err = acquire(&client, NS, holder("bob", 22), &LockOptions::default())
        .await
        .unwrap_err();
    match &err {
        LockError::Held {
            holder, expires_in, ..
        } => {
            assert_eq!((holder.user.as_str(), holder.pid), ("alice", 11));
            assert_eq!(holder.command, "deploy staging --version 1.11.0");
            assert!(
                *expires_in <= Duration::from_secs(30) && *expires_in > Duration::from_secs(20)
            );
        }
        other => panic!("expected Held, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("alice@ci-runner-1") && text.contains("pid 11"),
        "{text}"
    );
    first.release().await.unwrap();
    acquire(&client, NS, holder("bob", 22), &LockOptions::default())
        .await
        .expect("free after release")
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn of_two_concurrent_acquirers_exactly_one_wins() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    for round in 0..5 {
        let task = |user: &'static str, pid: u32| {
            let client = client.clone();
            tokio::spawn(async move { acquire(&client, NS, holder(user, pid), &short()).await })
        };
        let (a, b) = (task("alice", 100 + round), task("bob", 200 + round));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (winner, loser) = match (a, b) {
            (Ok(g), Err(e)) | (Err(e), Ok(g)) => (g, e),
            (Ok(_), Ok(_)) => panic!("round {round}: both acquired the lock"),
            (Err(a), Err(b)) => panic!("round {round}: neither acquired: {a}; {b}"),
        };
        match loser {
            LockError::Held { holder, .. } => assert_eq!(holder, *winner.holder()),
            other => panic!("round {round}: expected Held, got {other:?}"),
        }
        winner.release().await.unwrap();
    }
}

#[tokio::test]
async fn renewal_keeps_the_lock_past_its_duration() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let guard = acquire(&client, NS, holder("alice", 11), &short())
        .await
        .unwrap();
    let first_renew = lease(&client)
        .await
        .unwrap()
        .spec
        .unwrap()
        .renew_time
        .unwrap()
        .0;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later_renew = lease(&client)
        .await
        .unwrap()
        .spec
        .unwrap()
        .renew_time
        .unwrap()
        .0;
    assert!(later_renew > first_renew, "renewTime moves on");
    assert!(matches!(
        acquire(&client, NS, holder("bob", 22), &short()).await,
        Err(LockError::Held { .. })
    ));
    assert!(!guard.lost());
    guard.release().await.unwrap();
}

#[tokio::test]
async fn a_crashed_holders_lock_expires_and_is_taken_over() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let crashed = acquire(&client, NS, holder("alice", 11), &short())
        .await
        .unwrap();
    // The crash: no release, no more renewals.
    drop(crashed);
    assert!(matches!(
        acquire(&client, NS, holder("bob", 22), &short()).await,
        Err(LockError::Held { .. })
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let next = acquire(&client, NS, holder("bob", 22), &short())
        .await
        .expect("an expired lock is taken over");
    assert_eq!(next.expired().map(|h| h.user.as_str()), Some("alice"));
    assert!(next.broken().is_none());
    let spec = lease(&client).await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("bob@ci-runner-1:22"));
    assert_eq!(spec.lease_transitions, Some(1));
    next.release().await.unwrap();
}

#[tokio::test]
async fn force_breaks_a_live_lock_and_the_old_holder_notices() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let old = acquire(&client, NS, holder("alice", 11), &short())
        .await
        .unwrap();
    let forced = LockOptions {
        force: true,
        ..short()
    };
    let new = acquire(&client, NS, holder("bob", 22), &forced)
        .await
        .unwrap();
    assert_eq!(new.broken().map(|h| h.user.as_str()), Some("alice"));

    // The old holder's renewal (every 2/3 s) finds the lock gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !old.lost() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(old.lost(), "the old holder knows it lost the lock");
    // Its release must not delete the new holder's lock.
    let err = old.release().await.unwrap_err();
    assert!(matches!(err, LockError::Lost { .. }), "{err:?}");
    assert!(err.to_string().contains("bob@ci-runner-1"), "{err}");
    let spec = lease(&client).await.expect("still there").spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("bob@ci-runner-1:22"));
    new.release().await.unwrap();
}

#[tokio::test]
async fn a_missing_namespace_is_reported_or_created() {
    let (_sim, client) = sim().await;
    let err = acquire(&client, "fintech-ai-prod", holder("alice", 11), &short())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LockError::NamespaceMissing { namespace } if namespace == "fintech-ai-prod"),
        "{err:?}"
    );
    let guard =
        acquire_creating_namespace(&client, "fintech-ai-prod", holder("alice", 11), &short())
            .await
            .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(
        namespaces
            .get_opt("fintech-ai-prod")
            .await
            .unwrap()
            .is_some()
    );
    guard.release().await.unwrap();
}

#[tokio::test]
async fn release_survives_an_unrelated_write_to_the_lease() {
    let (_sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let guard = acquire(&client, NS, holder("alice", 11), &LockOptions::default())
        .await
        .unwrap();
    // Someone labels the Lease (kubectl label): a new resourceVersion, same lock.
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let patch = serde_json::json!({"metadata": {"labels": {"team": "payments"}}});
    leases
        .patch(
            LEASE_NAME,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    guard.release().await.expect("still ours, so released");
    assert!(lease(&client).await.is_none());
}

/// A renewal whose read of the Lease never answers (an API server frozen
/// mid-run) must not keep the lock alive in the holder's eyes: once a
/// whole lease duration passed without a renewal, another run may hold it,
/// and the holder is told so — within about that duration, not after the
/// stuck request (which here never ends).
#[tokio::test]
async fn a_renewal_stuck_on_a_frozen_api_server_loses_the_lock_after_its_duration() {
    let (sim, client) = sim().await;
    create_namespace(&client, NS).await;
    let stop = fintechctl::interrupt::Stop::new();
    let options = LockOptions {
        on_lost: Some(stop.clone()),
        ..short()
    };
    let held = acquire(&client, NS, holder("alice", 11), &options)
        .await
        .unwrap();
    sim.faults()
        .freeze_on("GET", &format!("/leases/{LEASE_NAME}"));
    let stopped = tokio::time::timeout(Duration::from_secs(6), stop.stopped()).await;
    sim.faults().clear();
    let reason = stopped.expect("told to stop within three times the lease duration");
    assert!(held.lost(), "the holder knows it lost the lock");
    let said = format!("{reason}");
    assert!(said.contains("did not take a renewal"), "{said}");
}
