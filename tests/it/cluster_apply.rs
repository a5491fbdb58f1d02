//! cluster::apply against kube-sim: phased server-side apply, created /
//! configured / unchanged, the HPA replicas rule, conflicts, skipped kinds,
//! phase failures and the dry-run plan.

use std::sync::Mutex;

use fintechctl::cluster::apply::{
    self, Action, AppliedObject, ApplyError, ApplyOptions, ApplyReporter, FIELD_MANAGER,
    PlannedAction,
};
use fintechctl::render::{Manifest, Phase};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube_sim::{KubeSim, SimConfig};
use serde_json::{Value, json};

const NS: &str = "fintech-ai-test";

use crate::common::sim::client;

fn m(object: Value) -> Manifest {
    Manifest::new("test.yaml", object)
}

fn namespace() -> Manifest {
    m(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
}

fn config_map(name: &str, value: &str) -> Manifest {
    m(json!({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": name, "namespace": NS}, "data": {"key": value}}))
}

fn deployment(name: &str, replicas: i64, image: &str) -> Manifest {
    m(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }))
}

fn hpa(target: &str) -> Manifest {
    m(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target, "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }))
}

fn base_set() -> Vec<Manifest> {
    vec![
        deployment("api-gateway", 2, "registry.example/api:1.0"),
        m(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api-gateway", "namespace": NS},
                 "spec": {"selector": {"app": "api-gateway"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        ),
        config_map("api-config", "one"),
        m(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": NS}}),
        ),
        hpa("api-gateway"),
        namespace(),
    ]
}

#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl ApplyReporter for Recorder {
    fn phase_started(&self, phase: Phase, objects: usize) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("phase {phase:?} {objects}"));
    }
    fn object_applied(&self, object: &AppliedObject) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{:?} {}", object.action, object.display));
    }
    fn object_failed(&self, display: &str, error: &ApplyError) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("failed {display}: {error}"));
    }
}

impl Recorder {
    fn phases(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("phase "))
            .cloned()
            .collect()
    }
}

fn actions(applied: &[AppliedObject]) -> Vec<(String, Action)> {
    let mut out: Vec<(String, Action)> = applied
        .iter()
        .map(|o| (o.display.clone(), o.action))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn deployment_api(client: &kube::Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"));
    Api::namespaced_with(client.clone(), NS, &ar)
}

fn owns_replicas(object: &Value, manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["manager"] == manager && e["fieldsV1"].pointer("/f:spec/f:replicas").is_some())
}

#[tokio::test]
async fn fresh_apply_creates_everything_in_phase_order_and_a_second_changes_nothing() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let recorder = Recorder::default();

    let applied = apply::apply_set(&client, &base_set(), &ApplyOptions::default(), &recorder)
        .await
        .unwrap();
    assert!(
        applied.iter().all(|o| o.action == Action::Created),
        "{applied:?}"
    );
    // Phase order, then manifest order within a phase, whatever order the
    // parallel requests finished in.
    assert_eq!(
        applied
            .iter()
            .map(|o| o.display.as_str())
            .collect::<Vec<_>>(),
        vec![
            "Namespace/fintech-ai-test",
            "ServiceAccount/api",
            "ConfigMap/api-config",
            "Deployment/api-gateway",
            "Service/api-gateway",
            "HorizontalPodAutoscaler/api-gateway",
        ]
    );
    assert_eq!(
        recorder.phases(),
        vec![
            "phase Namespace 1",
            "phase Access 1",
            "phase Config 1",
            "phase Workloads 2",
            "phase Autoscaling 1"
        ]
    );

    // Read back through the API: the rendered fields are there, owned by fintechctl.
    let cm = sim.get("v1", "ConfigMap", Some(NS), "api-config").unwrap();
    assert_eq!(cm["data"]["key"], "one");
    let deployment = sim
        .get("apps/v1", "Deployment", Some(NS), "api-gateway")
        .unwrap();
    // A new Deployment starts with the template's count, even under an HPA.
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/api:1.0"
    );
    assert!(
        deployment["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["manager"] == FIELD_MANAGER && e["operation"] == "Apply")
    );

    let again = apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert!(
        again.iter().all(|o| o.action == Action::Unchanged),
        "{again:?}"
    );

    let plan = apply::plan(&client, &base_set(), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(
        plan.iter().all(|c| c.action == PlannedAction::Unchanged),
        "{plan:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn plan_shows_creates_and_changed_fields_and_writes_nothing() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;

    // Nothing exists: everything is a create, including objects in the
    // namespace the plan cannot dry-run into yet.
    let plan = apply::plan(&client, &base_set(), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(
        plan.iter().all(|c| c.action == PlannedAction::Create),
        "{plan:?}"
    );
    assert!(sim.get("v1", "Namespace", None, NS).is_none());

    apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    let mut changed = base_set();
    changed[2] = config_map("api-config", "two");
    changed[0] = deployment("api-gateway", 2, "registry.example/api:1.1");
    let plan = apply::plan(&client, &changed, &ApplyOptions::default())
        .await
        .unwrap();
    let by_name = |display: &str| plan.iter().find(|c| c.display == display).unwrap();
    assert_eq!(
        by_name("ConfigMap/api-config").action,
        PlannedAction::Change
    );
    assert_eq!(by_name("ConfigMap/api-config").fields, vec![".data.key"]);
    let deployment = by_name("Deployment/api-gateway");
    assert_eq!(deployment.action, PlannedAction::Change);
    assert!(
        deployment
            .fields
            .contains(&".spec.template.spec.containers[0].image".to_string()),
        "{:?}",
        deployment.fields
    );
    assert_eq!(
        by_name("Service/api-gateway").action,
        PlannedAction::Unchanged
    );
    // The plan wrote nothing.
    assert_eq!(
        sim.get("v1", "ConfigMap", Some(NS), "api-config").unwrap()["data"]["key"],
        "one"
    );

    let applied = apply::apply_set(
        &client,
        &changed,
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    let actions = actions(&applied);
    assert!(actions.contains(&("ConfigMap/api-config".into(), Action::Configured)));
    assert!(actions.contains(&("Deployment/api-gateway".into(), Action::Configured)));
    assert!(actions.contains(&("Service/api-gateway".into(), Action::Unchanged)));
    sim.shutdown().await;
}

#[tokio::test]
async fn dry_run_apply_stores_nothing() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let opts = ApplyOptions {
        dry_run: true,
        ..ApplyOptions::default()
    };
    let set = vec![namespace()];
    let applied = apply::apply_set(&client, &set, &opts, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(applied[0].action, Action::Created);
    assert!(sim.get("v1", "Namespace", None, NS).is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn hpa_scaled_deployment_keeps_its_live_replicas_across_deploys() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();

    // Second deploy before the HPA changed anything: fintechctl hands
    // spec.replicas over instead of dropping it (which would reset it to 1).
    apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    let live = sim
        .get("apps/v1", "Deployment", Some(NS), "api-gateway")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
    assert!(
        !owns_replicas(&live, FIELD_MANAGER),
        "{:#}",
        live["metadata"]["managedFields"]
    );

    // The HPA scales up (an update by another manager)...
    let scale = json!({"spec": {"replicas": 5}});
    let params = PatchParams {
        field_manager: Some("kube-controller-manager".into()),
        ..PatchParams::default()
    };
    deployment_api(&client)
        .patch("api-gateway", &params, &Patch::Merge(&scale))
        .await
        .unwrap();

    // ...and a deploy of a new version keeps the HPA's count.
    let mut next = base_set();
    next[0] = deployment("api-gateway", 2, "registry.example/api:1.1");
    let applied = apply::apply_set(
        &client,
        &next,
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert!(actions(&applied).contains(&("Deployment/api-gateway".into(), Action::Configured)));
    let live = sim
        .get("apps/v1", "Deployment", Some(NS), "api-gateway")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 5);
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/api:1.1"
    );
    assert!(!owns_replicas(&live, FIELD_MANAGER));

    // Without an HPA in the set the template's count is applied as usual.
    let mut no_hpa = next.clone();
    no_hpa.retain(|m| m.kind() != "HorizontalPodAutoscaler");
    let opts = ApplyOptions {
        force_conflicts: true,
        ..ApplyOptions::default()
    };
    apply::apply_set(&client, &no_hpa, &opts, &Recorder::default())
        .await
        .unwrap();
    let live = sim
        .get("apps/v1", "Deployment", Some(NS), "api-gateway")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn conflict_names_the_other_manager_and_the_fields() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    apply::apply_set(
        &client,
        &[namespace()],
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    // Someone ran `kubectl apply --server-side` with another value.
    let theirs = config_map("api-config", "by-hand");
    let cm_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    cm_api
        .patch(
            "api-config",
            &PatchParams::apply("kubectl"),
            &Patch::Apply(&theirs.object),
        )
        .await
        .unwrap();

    let set = vec![namespace(), config_map("api-config", "ours")];
    let error = apply::apply_set(
        &client,
        &set,
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    let ApplyError::PhaseFailed {
        phase, failures, ..
    } = error
    else {
        panic!("expected a failed phase, got {error:?}");
    };
    assert_eq!(phase, Phase::Config);
    match &failures[..] {
        [
            ApplyError::Conflict {
                object,
                manager,
                fields,
            },
        ] => {
            assert_eq!(object, "ConfigMap/api-config");
            assert_eq!(manager, "kubectl");
            assert_eq!(fields, &vec![".data.key".to_string()]);
        }
        other => panic!("expected one conflict, got {other:?}"),
    }
    assert_eq!(
        sim.get("v1", "ConfigMap", Some(NS), "api-config").unwrap()["data"]["key"],
        "by-hand"
    );

    // The plan shows the conflict too, before anything is written.
    assert!(matches!(
        apply::plan(&client, &set, &ApplyOptions::default()).await,
        Err(ApplyError::Conflict { .. })
    ));

    let forced = ApplyOptions {
        force_conflicts: true,
        ..ApplyOptions::default()
    };
    let applied = apply::apply_set(&client, &set, &forced, &Recorder::default())
        .await
        .unwrap();
    assert!(actions(&applied).contains(&("ConfigMap/api-config".into(), Action::Configured)));
    assert_eq!(
        sim.get("v1", "ConfigMap", Some(NS), "api-config").unwrap()["data"]["key"],
        "ours"
    );
    sim.shutdown().await;
}

fn vpa() -> Manifest {
    m(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "api-gateway", "namespace": NS},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"},
                 "updatePolicy": {"updateMode": "Off"}},
    }))
}

#[tokio::test]
async fn a_kind_the_server_does_not_serve_fails_before_anything_is_written_unless_skipped() {
    let sim = KubeSim::start(SimConfig {
        vpa_installed: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = client(&sim).await;
    assert!(
        !apply::crd_available(&client, "autoscaling.k8s.io", "v1", "VerticalPodAutoscaler").await
    );
    assert!(apply::crd_available(&client, "apps", "v1", "Deployment").await);

    let mut set = base_set();
    set.push(vpa());
    let error = apply::apply_set(
        &client,
        &set,
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, ApplyError::UnknownKind { kind, .. } if kind == "VerticalPodAutoscaler"),
        "{error:?}"
    );
    assert!(
        sim.get("v1", "Namespace", None, NS).is_none(),
        "nothing may be written"
    );

    let skip = ApplyOptions {
        skip_kinds: vec!["VerticalPodAutoscaler".into()],
        ..ApplyOptions::default()
    };
    let applied = apply::apply_set(&client, &set, &skip, &Recorder::default())
        .await
        .unwrap();
    assert!(
        actions(&applied).contains(&("VerticalPodAutoscaler/api-gateway".into(), Action::Skipped))
    );
    assert!(
        sim.get("apps/v1", "Deployment", Some(NS), "api-gateway")
            .is_some()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn vpa_applies_when_its_crd_is_installed() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    assert!(
        apply::crd_available(&client, "autoscaling.k8s.io", "v1", "VerticalPodAutoscaler").await
    );
    let mut set = base_set();
    set.push(vpa());
    let applied = apply::apply_set(
        &client,
        &set,
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert!(
        actions(&applied).contains(&("VerticalPodAutoscaler/api-gateway".into(), Action::Created))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_phase_reports_every_failure_and_stops_before_the_next_phase() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let in_missing_namespace = |name: &str| {
        m(json!({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": name, "namespace": "does-not-exist"}, "data": {"a": "b"}}))
    };
    let set = vec![
        namespace(),
        in_missing_namespace("one"),
        config_map("fine", "x"),
        in_missing_namespace("two"),
        deployment("api-gateway", 1, "registry.example/api:1.0"),
    ];
    let recorder = Recorder::default();
    let error = apply::apply_set(&client, &set, &ApplyOptions::default(), &recorder)
        .await
        .unwrap_err();
    let ApplyError::PhaseFailed {
        phase,
        failures,
        applied,
    } = &error
    else {
        panic!("expected a failed phase, got {error:?}");
    };
    assert_eq!(*phase, Phase::Config);
    assert_eq!(failures.len(), 2, "{failures:?}");
    // The rest of the phase was applied; the next phase was not started.
    assert_eq!(
        actions(applied),
        vec![
            ("ConfigMap/fine".to_string(), Action::Created),
            ("Namespace/fintech-ai-test".to_string(), Action::Created),
        ]
    );
    assert!(
        sim.get("apps/v1", "Deployment", Some(NS), "api-gateway")
            .is_none()
    );
    assert!(
        error
            .to_string()
            .contains("2 objects of the config phase failed"),
        "{error}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stop_request_ends_the_apply_between_phases() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let (tx, rx) = tokio::sync::watch::channel(true);
    let opts = ApplyOptions {
        stop: Some(rx),
        ..ApplyOptions::default()
    };
    let error = apply::apply_set(&client, &base_set(), &opts, &Recorder::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ApplyError::Interrupted {
                last_phase: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(sim.get("v1", "Namespace", None, NS).is_none());
    drop(tx);
    sim.shutdown().await;
}

#[tokio::test]
async fn api_faults_are_retried_within_bounds_and_the_apply_completes() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    // A third of the requests answer 500: retried by apply itself.
    sim.faults().set_error_rate(0.3, 500);
    let applied = apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert!(
        applied.iter().all(|o| o.action == Action::Created),
        "{applied:?}"
    );

    // 429 with Retry-After: retried by the client, honouring the header.
    sim.faults().set_error_rate(0.2, 429);
    sim.faults().set_retry_after(1);
    let again = apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap();
    assert!(
        again.iter().all(|o| o.action == Action::Unchanged),
        "{again:?}"
    );

    // An API server that keeps failing is reported, not retried forever.
    sim.faults().set_error_rate(1.0, 500);
    let started = std::time::Instant::now();
    let error = apply::apply_set(
        &client,
        &base_set(),
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        matches!(
            error,
            ApplyError::Discovery { .. } | ApplyError::PhaseFailed { .. }
        ),
        "{error:?}"
    );
    sim.faults().clear();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_field_dropped_from_the_manifest_is_removed_which_is_why_replicas_are_handed_over() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let two_keys = m(json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "c", "namespace": NS}, "data": {"a": "1", "b": "2"}}));
    let one_key = m(json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "c", "namespace": NS}, "data": {"a": "1"}}));
    let run = |set: Vec<Manifest>| {
        let client = client.clone();
        async move {
            apply::apply_set(
                &client,
                &set,
                &ApplyOptions::default(),
                &Recorder::default(),
            )
            .await
            .unwrap()
        }
    };
    run(vec![namespace(), two_keys]).await;
    run(vec![namespace(), one_key]).await;
    let live = sim.get("v1", "ConfigMap", Some(NS), "c").unwrap();
    assert_eq!(live["data"], json!({"a": "1"}));

    // Without an HPA in the set, dropping spec.replicas that fintechctl owns
    // resets the count to the default: the hazard the handover avoids.
    run(vec![
        namespace(),
        deployment("worker", 4, "registry.example/api:1.0"),
    ])
    .await;
    let mut without_replicas = deployment("worker", 4, "registry.example/api:1.0");
    without_replicas.object["spec"]
        .as_object_mut()
        .unwrap()
        .remove("replicas");
    run(vec![namespace(), without_replicas]).await;
    let live = sim
        .get("apps/v1", "Deployment", Some(NS), "worker")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_namespaced_object_without_a_namespace_fails_before_anything_is_written() {
    let sim = KubeSim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    let stray = Manifest::new(
        "stray.yaml",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray"}, "data": {}}),
    );
    let error = apply::apply_set(
        &client,
        &[namespace(), stray],
        &ApplyOptions::default(),
        &Recorder::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ConfigMap/stray (from stray.yaml): ConfigMap is namespaced but the object has no metadata.namespace"
    );
    assert!(sim.get("v1", "Namespace", None, NS).is_none());
    sim.shutdown().await;
}
