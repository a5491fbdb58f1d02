//! The debug bundle against kube-sim: the evidence of a crash-looping
//! Deployment (previous container's log, BackOff event, describe text) is
//! collected and written atomically as a .tar.gz, without secret values
//! (issue 5, "deploy --rollback-on-failure"; issue 13, the format shared
//! with `debug bundle`).

use crate::common;

use std::time::Duration;

use fintechctl::cluster::bundle::{self, DebugBundle};
use fintechctl::cluster::diagnosis::{FailureCard, ProblemKind};
use serde_json::{Value, json};

const NS: &str = "fintech-ai-prod";

async fn crash_looping_cluster() -> (kube_sim::KubeSim, kube::Client) {
    let sim = kube_sim::KubeSim::start(kube_sim::SimConfig {
        behaviors: kube_sim::Behaviors::from_yaml(
            "images:\n  - match: \"*\"\n    behavior: crash-loop\n    exitCode: 1\n    logs: \"boom\"\n",
        )
        .unwrap(),
        time_scale: 0.05,
        ..Default::default()
    })
    .await
    .expect("kube-sim starts");
    let client = kube::Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap();
    (sim, client)
}

fn deploy_api_gateway(sim: &kube_sim::KubeSim) {
    sim.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    sim.create(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api-gateway", "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "api-gateway"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "api-gateway"}},
                "spec": {"containers": [{
                    "name": "api", "image": "registry.example/api-gateway:1.4.2",
                    "env": [{"name": "JWT_SECRET", "value": "test-only-jwt-0004"},
                            {"name": "LOG_LEVEL", "value": "info"}],
                }]},
            },
        },
    }))
    .unwrap();
}

/// The pod once its container crashed and was restarted at least once.
async fn restarted_pod(sim: &kube_sim::KubeSim) -> String {
    for _ in 0..200 {
        for pod in sim.list("v1", "Pod", Some(NS)) {
            let restarts = pod
                .pointer("/status/containerStatuses/0/restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if restarts >= 1 {
                return pod["metadata"]["name"].as_str().unwrap().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no pod restarted within 20 s");
}

fn card(pod: Option<&str>) -> FailureCard {
    FailureCard {
        workload: "Deployment/api-gateway".into(),
        kind: ProblemKind::CrashLoop,
        pod: pod.map(str::to_string),
        container: Some("api".into()),
        reason: "CrashLoopBackOff".into(),
        message: "back-off restarting failed container".into(),
        exit_code: Some(1),
        logs: vec!["boom".into()],
        events: vec![],
        missing: vec![],
    }
}

fn assert_crash_evidence(bundle: &DebugBundle, pod_name: &str) {
    let pod = bundle
        .pods
        .iter()
        .find(|p| p.name == pod_name)
        .unwrap_or_else(|| panic!("no evidence of {pod_name}: {bundle:#?}"));
    let api = pod.logs.iter().find(|l| l.container == "api").unwrap();
    let previous = api.previous.as_deref().unwrap_or_else(|| {
        panic!("no previous log: {:?}", bundle.missing);
    });
    assert!(previous.contains("boom"), "previous log: {previous:?}");
    assert!(
        pod.events.iter().any(|e| e.contains("Warning BackOff")),
        "pod events: {:#?}",
        pod.events
    );
    assert!(pod.describe.contains("Restart Count:"), "{}", pod.describe);
    assert!(
        pod.describe
            .contains("Image:          registry.example/api-gateway:1.4.2")
    );
    assert_eq!(pod.object["metadata"]["name"], pod_name);
    assert!(pod.object["metadata"].get("managedFields").is_none());
}

#[tokio::test]
async fn bundle_of_a_crash_loop_keeps_the_previous_log_and_the_backoff_event() {
    let (sim, client) = crash_looping_cluster().await;
    deploy_api_gateway(&sim);
    let pod_name = restarted_pod(&sim).await;

    let failures = vec![card(Some(&pod_name))];
    let collected = bundle::collect(&client, NS, "production", "1.4.2", Some(3), &failures).await;
    assert_eq!(collected.environment, "production");
    assert_eq!(collected.namespace, NS);
    assert_eq!(collected.revision, Some(3));
    assert_eq!(collected.version, "1.4.2");
    assert_eq!(collected.failures, failures);
    assert_crash_evidence(&collected, &pod_name);
    assert!(
        collected
            .workload_events
            .iter()
            .any(|e| e.starts_with("Deployment/api-gateway ") || e.starts_with("ReplicaSet/")),
        "workload events: {:#?}",
        collected.workload_events
    );

    let dir = tempfile::tempdir().unwrap();
    let path = bundle::write(
        &collected,
        &dir.path().join("bundles"),
        &fintechctl::redact::Redactor::default(),
    )
    .unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("fintechctl-debug-production-") && name.ends_with("Z.tar.gz"),
        "{name}"
    );
    let files = common::bundle_files(&path);
    let previous = &files[&format!("pods/{pod_name}/logs/api.previous.log")].0;
    assert!(previous.contains("boom"), "{previous}");
    assert!(
        files[&format!("pods/{pod_name}/events.txt")]
            .0
            .contains("BackOff")
    );
    assert!(
        files[&format!("pods/{pod_name}/describe.txt")]
            .0
            .contains("Restart Count:")
    );
    let text = common::bundle_text(&path);
    assert!(
        !text.contains("test-only-jwt-0004"),
        "a secret value reached the bundle"
    );
    let read: Value = serde_json::from_str(&files["failures.json"].0).unwrap();
    assert_eq!(read[0]["workload"], "Deployment/api-gateway");
    assert!(files.values().all(|(_, mode)| *mode == 0o600));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the bundle is its owner's only");
    }
    // Only the bundle itself is left in the directory: no temp file.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_card_without_a_pod_collects_the_workloads_newest_pods() {
    let (sim, client) = crash_looping_cluster().await;
    deploy_api_gateway(&sim);
    let pod_name = restarted_pod(&sim).await;

    let collected = bundle::collect(&client, NS, "production", "1.4.2", None, &[card(None)]).await;
    assert_crash_evidence(&collected, &pod_name);
    sim.shutdown().await;
}

#[tokio::test]
async fn what_cannot_be_fetched_is_written_down() {
    let (sim, client) = crash_looping_cluster().await;
    sim.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    let gone = FailureCard {
        workload: "Deployment/ml-service".into(),
        ..card(Some("ml-service-7c-gone"))
    };
    let no_workload = FailureCard {
        workload: "StatefulSet/postgres".into(),
        ..card(None)
    };
    let collected = bundle::collect(
        &client,
        NS,
        "production",
        "1.4.2",
        None,
        &[gone, no_workload],
    )
    .await;
    assert_eq!(collected.pods.len(), 1);
    assert!(collected.pods[0].object.is_null());
    let missing = collected.missing.join("\n");
    assert!(
        missing.contains("pod ml-service-7c-gone: not found"),
        "{missing}"
    );
    assert!(
        missing.contains("pods of StatefulSet/postgres"),
        "{missing}"
    );
    sim.shutdown().await;
}
