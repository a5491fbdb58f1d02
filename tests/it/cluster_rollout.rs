//! cluster::wait against kube-sim: rollouts complete by kubectl's rule, and
//! every fail-fast reason ends the wait within seconds with the right card.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fintechctl::cluster::apply::{self, ApplyOptions, NoApplyReport};
use fintechctl::cluster::diagnosis::{ProblemKind, Thresholds};
use fintechctl::cluster::rollout::RolloutState;
use fintechctl::cluster::wait::{
    self, RolloutOutcome, RolloutReporter, WaitError, WaitOptions, WorkloadRef,
};
use fintechctl::render::Manifest;
use kube_sim::{BehaviorKind, Behaviors, ImageBehavior, KubeSim, SimConfig};
use serde_json::{Value, json};

const NS: &str = "fintech-ai-test";

fn behavior(pattern: &str, behavior: BehaviorKind) -> ImageBehavior {
    ImageBehavior {
        pattern: pattern.into(),
        behavior,
        exit_code: None,
        logs: None,
        ready_after: Some("1s".into()),
        run_for: Some("500ms".into()),
    }
}

async fn sim() -> KubeSim {
    let crash = ImageBehavior {
        exit_code: Some(3),
        logs: Some("starting api\nboom: cannot connect to database\n".into()),
        ..behavior("*/crash:*", BehaviorKind::CrashLoop)
    };
    KubeSim::start(SimConfig {
        behaviors: Behaviors {
            images: vec![
                behavior("*/bad-image:*", BehaviorKind::ImagePullError),
                crash,
                behavior("*/oom:*", BehaviorKind::OomKilled),
                behavior("*/never-ready:*", BehaviorKind::NeverReady),
            ],
            ..Behaviors::default()
        },
        time_scale: 0.05,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

use crate::common::sim::client;

fn m(object: Value) -> Manifest {
    Manifest::new("test.yaml", object)
}

fn namespace() -> Manifest {
    m(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
}

fn container(image: &str) -> Value {
    json!({"name": "app", "image": image,
           "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}})
}

fn deployment_with(name: &str, replicas: i64, container: Value) -> Manifest {
    m(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
    }))
}

fn deployment(name: &str, replicas: i64, image: &str) -> Manifest {
    deployment_with(name, replicas, container(image))
}

fn statefulset(name: &str, image: &str) -> Manifest {
    m(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": 2, "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(image)]}},
        },
    }))
}

#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl RolloutReporter for Recorder {
    fn workload_progress(&self, name: &str, ready: i32, desired: i32, message: &str) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("progress {name} {ready}/{desired} {message}"));
    }
    fn workload_complete(&self, name: &str, _elapsed: Duration) {
        self.lines.lock().unwrap().push(format!("complete {name}"));
    }
    fn workload_failed(&self, name: &str, reason: &str) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("failed {name} {reason}"));
    }
}

fn options(timeout: Duration) -> WaitOptions {
    WaitOptions {
        timeout,
        ..WaitOptions::default()
    }
}

/// Apply `set` and wait for its changed workloads.
async fn deploy(
    client: &kube::Client,
    set: &[Manifest],
    opts: &WaitOptions,
    reporter: &Recorder,
) -> Result<Vec<RolloutOutcome>, WaitError> {
    let applied = apply::apply_set(client, set, &ApplyOptions::default(), &NoApplyReport)
        .await
        .unwrap();
    let workloads = wait::changed_workloads(&applied);
    wait::wait_for_rollouts(client, NS, &workloads, opts, reporter).await
}

#[tokio::test]
async fn healthy_deployment_and_statefulset_roll_out() {
    let sim = sim().await;
    let client = client(&sim).await;
    let recorder = Recorder::default();
    let set = [
        namespace(),
        deployment("api-gateway", 2, "registry.example/api:1.0"),
        statefulset("postgres", "registry.example/postgres:16"),
    ];
    let outcomes = deploy(&client, &set, &options(Duration::from_secs(60)), &recorder)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert_eq!(outcome.state, RolloutState::Complete, "{outcome:?}");
        assert_eq!((outcome.ready, outcome.desired), (2, 2), "{outcome:?}");
        assert!(outcome.revision.is_some(), "{outcome:?}");
    }
    let deployment = outcomes
        .iter()
        .find(|o| o.workload == "Deployment/api-gateway")
        .unwrap();
    assert_eq!(deployment.revision.as_deref(), Some("1"));
    let lines = recorder.lines.lock().unwrap().clone();
    assert!(
        lines.contains(&"complete Deployment/api-gateway".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"complete StatefulSet/postgres".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("progress Deployment/api-gateway")),
        "{lines:?}"
    );
    sim.shutdown().await;
}

/// Deploy `set`, expect the wait to fail fast, and return the single card.
async fn failed_card(
    set: &[Manifest],
    opts: WaitOptions,
) -> fintechctl::cluster::diagnosis::FailureCard {
    let sim = sim().await;
    let client = client(&sim).await;
    let started = Instant::now();
    let error = deploy(&client, set, &opts, &Recorder::default())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the failure must be found long before the timeout, took {:?}",
        started.elapsed()
    );
    let WaitError::Failed { cards, outcomes } = error else {
        panic!("expected a failed rollout, got {error}");
    };
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o.state, RolloutState::Failed { .. })),
        "{outcomes:?}"
    );
    assert_eq!(cards.len(), 1, "{cards:?}");
    sim.shutdown().await;
    cards.into_iter().next().unwrap()
}

#[tokio::test]
async fn bad_image_fails_fast_with_the_kubelets_message() {
    let card = failed_card(
        &[
            namespace(),
            deployment("api-gateway", 2, "registry.example/bad-image:1.0"),
        ],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.kind, ProblemKind::ImagePull);
    assert!(
        ["ErrImagePull", "ImagePullBackOff"].contains(&card.reason.as_str()),
        "{card:?}"
    );
    assert_eq!(card.workload, "Deployment/api-gateway");
    assert!(
        card.pod.as_deref().unwrap().starts_with("api-gateway-"),
        "{card:?}"
    );
    assert_eq!(card.container.as_deref(), Some("app"));
    assert!(card.message.contains("bad-image"), "{card:?}");
    assert!(card.logs.is_empty());
    assert!(
        card.events.iter().any(|e| e.starts_with("Failed:")),
        "{card:?}"
    );
}

#[tokio::test]
async fn crash_loop_card_has_the_exit_code_and_the_crashed_containers_logs() {
    let card = failed_card(
        &[
            namespace(),
            deployment("api-gateway", 1, "registry.example/crash:1.0"),
        ],
        options(Duration::from_secs(120)),
    )
    .await;
    assert!(
        matches!(
            card.kind,
            ProblemKind::CrashLoop | ProblemKind::RepeatedRestarts
        ),
        "{card:?}"
    );
    assert_eq!(card.exit_code, Some(3), "{card:?}");
    assert!(
        card.logs
            .iter()
            .any(|l| l.contains("boom: cannot connect to database")),
        "{card:?}"
    );
}

#[tokio::test]
async fn oom_kill_is_reported_with_exit_code_137() {
    let card = failed_card(
        &[
            namespace(),
            deployment("api-gateway", 1, "registry.example/oom:1.0"),
        ],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.kind, ProblemKind::OomKilled, "{card:?}");
    assert_eq!(card.reason, "OOMKilled");
    assert_eq!(card.exit_code, Some(137));
}

#[tokio::test]
async fn missing_secret_key_is_a_create_container_config_error() {
    let mut c = container("registry.example/api:1.0");
    c["env"] = json!([{"name": "DATABASE_URL",
                       "valueFrom": {"secretKeyRef": {"name": "api-secrets", "key": "DATABASE_URL"}}}]);
    let secret = m(json!({"apiVersion": "v1", "kind": "Secret",
                          "metadata": {"name": "api-secrets", "namespace": NS},
                          "stringData": {"OTHER": "x"}}));
    let card = failed_card(
        &[namespace(), secret, deployment_with("api-gateway", 1, c)],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.kind, ProblemKind::CreateContainerConfig, "{card:?}");
    assert!(card.message.contains("DATABASE_URL"), "{card:?}");
}

#[tokio::test]
async fn readiness_failing_beyond_the_threshold_fails_the_rollout() {
    let opts = WaitOptions {
        timeout: Duration::from_secs(120),
        thresholds: Thresholds {
            readiness_grace: Duration::from_secs(2),
            ..Thresholds::default()
        },
        stop: None,
    };
    let card = failed_card(
        &[
            namespace(),
            deployment("api-gateway", 1, "registry.example/never-ready:1.0"),
        ],
        opts,
    )
    .await;
    assert_eq!(card.kind, ProblemKind::ReadinessFailing, "{card:?}");
    assert!(
        card.events
            .iter()
            .any(|e| e.contains("Readiness probe failed")),
        "{card:?}"
    );
}

#[tokio::test]
async fn unschedulable_pod_fails_the_rollout() {
    let mut c = container("registry.example/api:1.0");
    c["resources"] = json!({"requests": {"cpu": "500", "memory": "128Mi"}});
    let card = failed_card(
        &[namespace(), deployment_with("api-gateway", 1, c)],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.kind, ProblemKind::Unschedulable, "{card:?}");
    assert!(!card.message.is_empty());
}

#[tokio::test]
async fn exceeded_quota_fails_the_rollout() {
    let quota = m(json!({"apiVersion": "v1", "kind": "ResourceQuota",
                         "metadata": {"name": "pods", "namespace": NS},
                         "spec": {"hard": {"pods": "1"}}}));
    let card = failed_card(
        &[
            namespace(),
            quota,
            deployment("api-gateway", 3, "registry.example/api:1.0"),
        ],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.kind, ProblemKind::QuotaExceeded, "{card:?}");
    assert_eq!(card.reason, "FailedCreate");
    assert!(card.message.contains("exceeded quota"), "{card:?}");
    assert!(
        card.events.iter().any(|e| e.contains("exceeded quota")),
        "{card:?}"
    );
}

#[tokio::test]
async fn every_failed_workload_gets_a_card() {
    let sim = sim().await;
    let client = client(&sim).await;
    let set = [
        namespace(),
        deployment("api-gateway", 1, "registry.example/bad-image:1.0"),
        deployment("worker", 1, "registry.example/bad-image:1.0"),
    ];
    let error = deploy(
        &client,
        &set,
        &options(Duration::from_secs(60)),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    let WaitError::Failed { mut cards, .. } = error else {
        panic!("expected failure, got {error}");
    };
    // The wait ends at the first failure; whatever else has failed by then
    // gets its own card, never a duplicate.
    cards.sort_by(|a, b| a.workload.cmp(&b.workload));
    assert!(!cards.is_empty());
    assert!(cards.iter().all(|c| c.kind == ProblemKind::ImagePull));
    let mut workloads: Vec<&str> = cards.iter().map(|c| c.workload.as_str()).collect();
    workloads.dedup();
    assert_eq!(workloads.len(), cards.len(), "{cards:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_broken_new_version_fails_while_the_old_pods_keep_running() {
    let sim = sim().await;
    let client = client(&sim).await;
    let v1 = [
        namespace(),
        deployment("api-gateway", 2, "registry.example/api:1.0"),
    ];
    deploy(
        &client,
        &v1,
        &options(Duration::from_secs(60)),
        &Recorder::default(),
    )
    .await
    .unwrap();

    let v2 = [
        namespace(),
        deployment("api-gateway", 2, "registry.example/crash:2.0"),
    ];
    let error = deploy(
        &client,
        &v2,
        &options(Duration::from_secs(120)),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    let WaitError::Failed { cards, outcomes } = error else {
        panic!("expected failure, got {error}");
    };
    assert_eq!(outcomes[0].revision.as_deref(), Some("2"));
    let pod = cards[0].pod.clone().unwrap();
    let live = sim.get("v1", "Pod", Some(NS), &pod).unwrap();
    assert_eq!(
        live["spec"]["containers"][0]["image"], "registry.example/crash:2.0",
        "the card must be about a pod of the new revision"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn progress_deadline_exceeded_fails_the_rollout() {
    let mut d = deployment("api-gateway", 1, "registry.example/never-ready:1.0");
    // 20 s of simulated time: 1 s at the test's time scale.
    d.object["spec"]["progressDeadlineSeconds"] = json!(20);
    let opts = WaitOptions {
        timeout: Duration::from_secs(60),
        thresholds: Thresholds {
            readiness_grace: Duration::from_secs(3600),
            max_unhealthy_probes: i32::MAX,
            ..Thresholds::default()
        },
        stop: None,
    };
    let card = failed_card(&[namespace(), d], opts).await;
    assert_eq!(card.kind, ProblemKind::ProgressDeadlineExceeded, "{card:?}");
    assert!(
        card.message.contains("has timed out progressing"),
        "{card:?}"
    );
}

#[tokio::test]
async fn timeout_names_what_is_still_pending() {
    let sim = sim().await;
    let client = client(&sim).await;
    let opts = WaitOptions {
        timeout: Duration::from_secs(3),
        thresholds: Thresholds {
            readiness_grace: Duration::from_secs(3600),
            max_unhealthy_probes: i32::MAX,
            ..Thresholds::default()
        },
        stop: None,
    };
    let set = [
        namespace(),
        deployment("api-gateway", 1, "registry.example/never-ready:1.0"),
    ];
    let error = deploy(&client, &set, &opts, &Recorder::default())
        .await
        .unwrap_err();
    let WaitError::TimedOut { outcomes, .. } = &error else {
        panic!("expected a timeout, got {error}");
    };
    assert!(matches!(
        outcomes[0].state,
        RolloutState::Progressing { .. }
    ));
    let message = error.to_string();
    assert!(message.starts_with("timed out after 3s"), "{message}");
    assert!(message.contains("Deployment/api-gateway ("), "{message}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stop_request_ends_the_wait_with_the_current_states() {
    let sim = sim().await;
    let client = client(&sim).await;
    let set = [
        namespace(),
        deployment("api-gateway", 1, "registry.example/api:1.0"),
    ];
    apply::apply_set(&client, &set, &ApplyOptions::default(), &NoApplyReport)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = WaitOptions {
        timeout: Duration::from_secs(60),
        stop: Some(rx),
        ..WaitOptions::default()
    };
    tx.send(true).unwrap();
    let workloads = [WorkloadRef::deployment("api-gateway")];
    let error = wait::wait_for_rollouts(&client, NS, &workloads, &opts, &Recorder::default())
        .await
        .unwrap_err();
    let WaitError::Interrupted { outcomes } = error else {
        panic!("expected an interruption, got {error}");
    };
    assert_eq!(outcomes[0].workload, "Deployment/api-gateway");

    // Dropping the future mid-wait (Ctrl-C in a select!) is just as safe.
    let never = [WorkloadRef::deployment("does-not-exist")];
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        wait::wait_for_rollouts(
            &client,
            NS,
            &never,
            &options(Duration::from_secs(60)),
            &Recorder::default(),
        ),
    )
    .await;
    assert!(dropped.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn dropped_watches_are_resumed_and_the_rollout_still_completes() {
    let sim = sim().await;
    let client = client(&sim).await;
    sim.faults().drop_watches_after(Some(2));
    let set = [
        namespace(),
        deployment("api-gateway", 2, "registry.example/api:1.0"),
    ];
    let outcomes = deploy(
        &client,
        &set,
        &options(Duration::from_secs(60)),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcomes[0].state, RolloutState::Complete);
    sim.shutdown().await;
}

#[tokio::test]
async fn api_errors_during_the_wait_are_retried_and_the_rollout_still_completes() {
    let sim = sim().await;
    let client = client(&sim).await;
    let set = [
        namespace(),
        deployment("api-gateway", 2, "registry.example/api:1.0"),
    ];
    let applied = apply::apply_set(&client, &set, &ApplyOptions::default(), &NoApplyReport)
        .await
        .unwrap();
    sim.faults().set_error_rate(0.2, 500);
    let outcomes = wait::wait_for_rollouts(
        &client,
        NS,
        &wait::changed_workloads(&applied),
        &options(Duration::from_secs(60)),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcomes[0].state, RolloutState::Complete);
    sim.shutdown().await;
}

/// `kubectl rollout status --watch=false` for `resource`, or `None` without
/// kubectl. Async: the simulator answers on this test's runtime.
async fn kubectl_rollout_status(sim: &KubeSim, resource: &str) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let output = tokio::process::Command::new("kubectl")
        .args(["rollout", "status", resource, "--watch=false", "-n", NS])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    Some((output.status.success(), text))
}

#[tokio::test]
async fn complete_means_what_kubectl_rollout_status_means() {
    let sim = sim().await;
    let client = client(&sim).await;
    let set = [
        namespace(),
        deployment("api-gateway", 3, "registry.example/api:1.0"),
        statefulset("postgres", "registry.example/postgres:16"),
    ];
    deploy(
        &client,
        &set,
        &options(Duration::from_secs(60)),
        &Recorder::default(),
    )
    .await
    .unwrap();
    for resource in ["deployment/api-gateway", "statefulset/postgres"] {
        let Some((ok, text)) = kubectl_rollout_status(&sim, resource).await else {
            eprintln!("kubectl not found; skipping the comparison");
            return;
        };
        assert!(ok, "kubectl disagrees about {resource}: {text}");
        assert!(
            text.contains("successfully rolled out") || text.contains("complete"),
            "{resource}: {text}"
        );
    }

    // A new version that is still rolling is not complete for either.
    let v2 = [
        namespace(),
        deployment("api-gateway", 3, "registry.example/never-ready:2.0"),
    ];
    let opts = WaitOptions {
        timeout: Duration::from_secs(2),
        thresholds: Thresholds {
            readiness_grace: Duration::from_secs(3600),
            max_unhealthy_probes: i32::MAX,
            ..Thresholds::default()
        },
        stop: None,
    };
    let error = deploy(&client, &v2, &opts, &Recorder::default())
        .await
        .unwrap_err();
    assert!(matches!(error, WaitError::TimedOut { .. }), "{error}");
    if let Some((_, text)) = kubectl_rollout_status(&sim, "deployment/api-gateway").await {
        assert!(text.contains("Waiting for deployment"), "{text}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn statefulset_with_a_bad_image_fails_fast() {
    let card = failed_card(
        &[
            namespace(),
            statefulset("postgres", "registry.example/bad-image:16"),
        ],
        options(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(card.workload, "StatefulSet/postgres");
    assert_eq!(card.kind, ProblemKind::ImagePull, "{card:?}");
    assert_eq!(card.pod.as_deref(), Some("postgres-0"));
}
