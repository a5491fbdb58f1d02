//! Prune against kube-sim: which objects are found as no longer rendered,
//! which are never touched, and deletion (issue 5, "Prune").

use fintechctl::cluster::prune::{OwnedObject, PruneError, find_prunable, prune};
use fintechctl::render::Manifest;
use serde_json::{Value, json};

const ENV: &str = "staging";
const NS: &str = "fintech-ai-staging";

async fn sim(vpa_installed: bool) -> (kube_sim::KubeSim, kube::Client) {
    crate::common::sim::start(kube_sim::SimConfig {
        vpa_installed,
        ..Default::default()
    })
    .await
}

fn owned_labels(environment: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "fintechctl",
        "fintechctl.io/environment": environment,
        "app.kubernetes.io/component": component,
    })
}

fn config_map(namespace: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": {"k": "v"}})
}

fn namespaces() -> Vec<String> {
    vec![NS.to_string(), "kube-system".to_string()]
}

/// A staging environment with objects of every interesting sort; returns
/// what the "new render" contains.
fn seed(sim: &kube_sim::KubeSim) -> Vec<Manifest> {
    let create = |object: Value| {
        sim.create(object.clone())
            .unwrap_or_else(|e| panic!("seeding {object}: {e:?}"));
    };
    create(json!({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": NS, "labels": owned_labels(ENV, "platform")}}));
    if sim.get("v1", "Namespace", None, "kube-system").is_none() {
        create(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
        );
    }
    let rendered = config_map(NS, "api-gateway-config", owned_labels(ENV, "api-gateway"));
    create(rendered.clone());
    create(config_map(
        NS,
        "old-api-config",
        owned_labels(ENV, "api-gateway"),
    ));
    create(config_map(NS, "someone-elses", json!({"team": "data"})));
    create(config_map(
        NS,
        "half-labelled",
        json!({"app.kubernetes.io/managed-by": "fintechctl"}),
    ));
    create(config_map(
        NS,
        "production-copy",
        owned_labels("production", "api-gateway"),
    ));
    create(config_map(
        "kube-system",
        "old-autoscaler-status",
        owned_labels(ENV, "cluster-autoscaler"),
    ));
    let mut record_labels = owned_labels(ENV, "release");
    record_labels["fintechctl.io/release-revision"] = json!("1");
    create(
        json!({"apiVersion": "v1", "kind": "Secret", "type": "fintechctl.io/release",
                  "metadata": {"name": "fintechctl-release-1", "namespace": NS, "labels": record_labels},
                  "data": {"release": "e30="}}),
    );
    create(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": "fintech-ai-staging-old-reader",
                               "labels": owned_labels(ENV, "cluster-autoscaler")},
                  "rules": []}),
    );
    vec![
        Manifest::new(
            "namespace.yaml",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        ),
        Manifest::new("api-gateway.yaml", rendered),
    ]
}

fn names(objects: &[OwnedObject]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{}:{}", o.namespace.as_deref().unwrap_or("-"), o.display()))
        .collect()
}

#[tokio::test]
async fn finds_only_owned_objects_of_the_environment_that_are_no_longer_rendered() {
    let (sim, client) = sim(true).await;
    let rendered = seed(&sim);

    let found = find_prunable(&client, ENV, &namespaces(), &rendered, None)
        .await
        .unwrap();
    assert_eq!(
        names(&found),
        vec![
            "-:ClusterRole/fintech-ai-staging-old-reader",
            "fintech-ai-staging:ConfigMap/old-api-config",
            "kube-system:ConfigMap/old-autoscaler-status",
        ]
    );
    let old = found.iter().find(|o| o.name == "old-api-config").unwrap();
    assert_eq!(old.api_version, "v1");
    assert_eq!(old.component.as_deref(), Some("api-gateway"));

    // A namespace that does not exist yet (a first deploy) has nothing to prune.
    let first = find_prunable(
        &client,
        ENV,
        &["fintech-ai-nowhere".to_string()],
        &rendered,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        names(&first),
        vec!["-:ClusterRole/fintech-ai-staging-old-reader"]
    );

    // Another environment's objects are its own.
    let production = find_prunable(&client, "production", &namespaces(), &[], None)
        .await
        .unwrap();
    assert_eq!(
        names(&production),
        vec!["fintech-ai-staging:ConfigMap/production-copy"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn only_deploys_prune_only_their_components() {
    let (sim, client) = sim(true).await;
    let rendered = seed(&sim);

    let only = vec!["cluster-autoscaler".to_string()];
    let found = find_prunable(&client, ENV, &namespaces(), &rendered, Some(&only))
        .await
        .unwrap();
    assert_eq!(
        names(&found),
        vec![
            "-:ClusterRole/fintech-ai-staging-old-reader",
            "kube-system:ConfigMap/old-autoscaler-status",
        ]
    );
    let only = vec!["ml-service".to_string()];
    let found = find_prunable(&client, ENV, &namespaces(), &rendered, Some(&only))
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn prune_deletes_what_was_found_and_nothing_else() {
    let (sim, client) = sim(false).await;
    let rendered = seed(&sim);

    let found = find_prunable(&client, ENV, &namespaces(), &rendered, None)
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    let deleted = prune(&client, &found).await.unwrap();
    assert_eq!(deleted.len(), 3);

    assert!(
        sim.get("v1", "ConfigMap", Some(NS), "old-api-config")
            .is_none()
    );
    assert!(
        sim.get(
            "v1",
            "ConfigMap",
            Some("kube-system"),
            "old-autoscaler-status"
        )
        .is_none()
    );
    assert!(
        sim.get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "fintech-ai-staging-old-reader"
        )
        .is_none()
    );
    for kept in [
        "api-gateway-config",
        "someone-elses",
        "half-labelled",
        "production-copy",
    ] {
        assert!(
            sim.get("v1", "ConfigMap", Some(NS), kept).is_some(),
            "{kept} was deleted"
        );
    }
    assert!(
        sim.get("v1", "Secret", Some(NS), "fintechctl-release-1")
            .is_some()
    );
    assert!(sim.get("v1", "Namespace", None, NS).is_some());

    // Already gone counts as deleted; nothing is left to find.
    assert_eq!(prune(&client, &found).await.unwrap().len(), 3);
    let again = find_prunable(&client, ENV, &namespaces(), &rendered, None)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn prune_leaves_an_object_that_lost_its_ownership_label_and_reports_it() {
    let (sim, client) = sim(true).await;
    seed(&sim);
    let stale = OwnedObject {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "someone-elses".into(),
        namespace: Some(NS.into()),
        component: None,
    };
    let old = OwnedObject {
        name: "old-api-config".into(),
        ..stale.clone()
    };
    let unserved = OwnedObject {
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        ..old.clone()
    };
    let error = prune(&client, &[stale, old, unserved]).await.unwrap_err();
    let PruneError::Delete { deleted, failures } = &error else {
        panic!("expected a delete failure, got {error}");
    };
    assert_eq!(
        names(deleted),
        vec!["fintech-ai-staging:ConfigMap/old-api-config"]
    );
    assert_eq!(failures.len(), 2);
    let message = error.to_string();
    assert!(
        message.contains("ConfigMap/someone-elses in fintech-ai-staging"),
        "{message}"
    );
    assert!(message.contains("left in place"), "{message}");
    assert!(message.contains("Widget"), "{message}");
    assert!(
        sim.get("v1", "ConfigMap", Some(NS), "someone-elses")
            .is_some()
    );
    sim.shutdown().await;
}
