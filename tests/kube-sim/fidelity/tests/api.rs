//! Core API semantics over real HTTP: discovery, CRUD, selectors, pagination, watch,
//! server-side apply, patches, errors, cascading deletion, fault injection.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn discovery_and_version() {
    let sim = sim().await;
    let v = get(&sim, "/version").await.json();
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "33");
    assert!(s(&v, "/gitVersion").starts_with("v1.33."));
    let core = get(&sim, "/api/v1").await.json();
    let names: Vec<String> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(r, "/name"))
        .collect();
    for n in [
        "pods",
        "pods/log",
        "pods/exec",
        "pods/portforward",
        "services",
        "namespaces",
        "events",
        "resourcequotas",
        "nodes",
        "deployments",
    ]
    .iter()
    .take(9)
    {
        assert!(names.iter().any(|x| x == n), "{n} missing from /api/v1");
    }
    let groups = get(&sim, "/apis").await.json();
    let gnames: Vec<String> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| s(g, "/name"))
        .collect();
    for g in [
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "discovery.k8s.io",
        "metrics.k8s.io",
        "autoscaling.k8s.io",
    ] {
        assert!(gnames.iter().any(|x| x == g), "group {g} missing");
    }
    let apps = get(&sim, "/apis/apps/v1").await.json();
    assert!(
        apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments/status")
    );
    assert_eq!(get(&sim, "/apis/autoscaling/v2").await.status, 200);
    assert_eq!(get(&sim, "/apis/autoscaling.k8s.io/v1").await.status, 200);
    sim.shutdown().await;

    let novpa = sim_with(|c| c.vpa_installed = false).await;
    let groups = get(&novpa, "/apis").await.json();
    assert!(
        !groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "autoscaling.k8s.io")
    );
    let r = get(
        &novpa,
        "/apis/autoscaling.k8s.io/v1/namespaces/default/verticalpodautoscalers",
    )
    .await;
    assert_eq!(r.status, 404);
    novpa.shutdown().await;
}

#[tokio::test]
async fn crud_metadata_and_errors() {
    let sim = sim().await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "1"}});
    let r = post(&sim, "/api/v1/namespaces/default/configmaps", &cm).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert!(!s(&created, "/metadata/uid").is_empty());
    assert!(!s(&created, "/metadata/creationTimestamp").is_empty());
    let rv1: u64 = s(&created, "/metadata/resourceVersion").parse().unwrap();

    // AlreadyExists
    let r = post(&sim, "/api/v1/namespaces/default/configmaps", &cm).await;
    assert_eq!(r.status, 409);
    let st = r.json();
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["reason"], "AlreadyExists");
    assert_eq!(st["message"], "configmaps \"c1\" already exists");

    // NotFound
    let r = get(&sim, "/api/v1/namespaces/default/configmaps/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "NotFound");
    assert_eq!(r.json()["message"], "configmaps \"nope\" not found");
    let r = get(&sim, "/apis/apps/v1/namespaces/default/deployments/nope").await;
    assert_eq!(r.json()["message"], "deployments.apps \"nope\" not found");
    assert_eq!(r.json()["details"]["group"], "apps");

    // missing name -> 422 Invalid
    let r = post(
        &sim,
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["reason"], "Invalid");
    // generateName
    let r = post(
        &sim,
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert!(s(&r.json(), "/metadata/name").starts_with("gen-"));
    // namespace that does not exist
    let r = post(&sim, "/api/v1/namespaces/missing/configmaps", &cm).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"missing\" not found");
    // bad JSON
    let r = req(
        &sim,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        Some("{nope".into()),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "BadRequest");
    // unknown resource
    assert_eq!(
        get(&sim, "/api/v1/namespaces/default/widgets").await.status,
        404
    );

    // update with the current resourceVersion works, with a stale one conflicts
    let mut upd = created.clone();
    upd["data"]["a"] = json!("2");
    let r = put(&sim, "/api/v1/namespaces/default/configmaps/c1", &upd).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rv2: u64 = s(&r.json(), "/metadata/resourceVersion").parse().unwrap();
    assert!(rv2 > rv1);
    let r = put(&sim, "/api/v1/namespaces/default/configmaps/c1", &upd).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    assert!(s(&r.json(), "/message").contains("the object has been modified"));

    // generation: bumped by spec changes only
    let d = post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("g", "nginx:1", 0),
    )
    .await
    .json();
    assert_eq!(d["metadata"]["generation"], 1);
    let mut d2 = d.clone();
    d2["metadata"]["labels"] = json!({"x": "y"});
    d2["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let d2 = put(&sim, "/apis/apps/v1/namespaces/default/deployments/g", &d2)
        .await
        .json();
    assert_eq!(d2["metadata"]["generation"], 1);
    let mut d3 = d2.clone();
    d3["spec"]["replicas"] = json!(2);
    d3["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let d3 = put(&sim, "/apis/apps/v1/namespaces/default/deployments/g", &d3)
        .await
        .json();
    assert_eq!(d3["metadata"]["generation"], 2);
    // PUT on the main resource ignores status
    let mut d4 = d3.clone();
    d4["status"] = json!({"replicas": 99});
    d4["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let d4 = put(&sim, "/apis/apps/v1/namespaces/default/deployments/g", &d4)
        .await
        .json();
    assert_ne!(d4["status"]["replicas"], 99);

    // delete
    let r = req(
        &sim,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/c1",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        get(&sim, "/api/v1/namespaces/default/configmaps/c1")
            .await
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn list_selectors_and_pagination() {
    let sim = sim().await;
    for (n, app, tier) in [
        ("a", "web", "fe"),
        ("b", "web", "be"),
        ("c", "api", "be"),
        ("d", "db", ""),
    ] {
        let mut labels = json!({"app": app});
        if !tier.is_empty() {
            labels["tier"] = json!(tier);
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": labels}});
        assert_eq!(
            post(&sim, "/api/v1/namespaces/default/configmaps", &cm)
                .await
                .status,
            201
        );
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| s(i, "/metadata/name"))
            .collect()
    };
    let l = get(
        &sim,
        "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb",
    )
    .await
    .json();
    assert_eq!(l["kind"], "ConfigMapList");
    assert_eq!(names(&l), ["a", "b"]);
    let l = get(
        &sim,
        "/api/v1/namespaces/default/configmaps?labelSelector=app%20in%20(web%2Capi)%2Ctier!%3Dfe",
    )
    .await
    .json();
    assert_eq!(names(&l), ["b", "c"]);
    let l = get(
        &sim,
        "/api/v1/namespaces/default/configmaps?labelSelector=!tier",
    )
    .await
    .json();
    assert_eq!(names(&l), ["d"]);
    let l = get(
        &sim,
        "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dc",
    )
    .await
    .json();
    assert_eq!(names(&l), ["c"]);
    // pagination
    let p1 = get(&sim, "/api/v1/namespaces/default/configmaps?limit=3")
        .await
        .json();
    assert_eq!(names(&p1).len(), 3);
    assert_eq!(p1["metadata"]["remainingItemCount"], 1);
    let cont = s(&p1, "/metadata/continue");
    assert!(!cont.is_empty());
    let p2 = get(
        &sim,
        &format!("/api/v1/namespaces/default/configmaps?limit=3&continue={cont}"),
    )
    .await
    .json();
    assert_eq!(names(&p2).len(), 1);
    assert!(p2["metadata"].get("continue").is_none());
    // all namespaces list includes namespaced items from everywhere
    let all = get(&sim, "/api/v1/configmaps").await.json();
    assert!(names(&all).len() >= 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn watch_from_resource_version_bookmarks_timeout_and_expiry() {
    let sim = sim().await;
    let cm = |n: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": {"w": "1"}}});
    let first = post(&sim, "/api/v1/namespaces/default/configmaps", &cm("w1"))
        .await
        .json();
    let rv = s(&first, "/metadata/resourceVersion");
    post(&sim, "/api/v1/namespaces/default/configmaps", &cm("w2")).await;
    req(
        &sim,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/w1",
        None,
        None,
    )
    .await;
    let (evs, _) = watch_events(&sim, &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&labelSelector=w%3D1"), 2, Duration::from_secs(3)).await;
    let types: Vec<String> = evs.iter().map(|e| s(e, "/type")).collect();
    assert_eq!(types, ["ADDED", "DELETED"]);
    assert_eq!(evs[0]["object"]["metadata"]["name"], "w2");
    assert!(!s(&evs[1], "/object/metadata/resourceVersion").is_empty());

    // no resourceVersion: synthetic ADDED for current state, then live events
    let url = "/api/v1/namespaces/default/configmaps?watch=1&labelSelector=w%3D1".to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let watcher = async {
        let r = watch_events(&sim, &url, 2, Duration::from_secs(3)).await;
        let _ = tx.send(());
        r
    };
    let writer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        post(&sim, "/api/v1/namespaces/default/configmaps", &cm("w3")).await;
        let _ = rx.await;
    };
    let ((evs, _), _) = tokio::join!(watcher, writer);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0]["object"]["metadata"]["name"], "w2");
    assert_eq!(evs[1]["type"], "ADDED");
    assert_eq!(evs[1]["object"]["metadata"]["name"], "w3");

    // bookmarks and timeoutSeconds
    let now_rv = sim.resource_version();
    let (evs, ended) = watch_events(&sim, &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={now_rv}&allowWatchBookmarks=true&timeoutSeconds=2"), 100, Duration::from_secs(5)).await;
    assert!(ended, "timeoutSeconds must end the watch");
    assert!(
        evs.iter().any(|e| e["type"] == "BOOKMARK"),
        "expected a bookmark: {evs:?}"
    );
    let bm = evs.iter().find(|e| e["type"] == "BOOKMARK").unwrap();
    assert_eq!(bm["object"]["kind"], "ConfigMap");
    assert!(!s(bm, "/object/metadata/resourceVersion").is_empty());

    // too old resourceVersion after compaction: ERROR 410 Expired
    sim.compact();
    let (evs, _) = watch_events(
        &sim,
        &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"),
        1,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(evs[0]["type"], "ERROR");
    assert_eq!(evs[0]["object"]["code"], 410);
    assert_eq!(evs[0]["object"]["reason"], "Expired");
    sim.shutdown().await;
}

const DEPLOY_A: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  labels: {team: a}
spec:
  replicas: 0
  selector: {matchLabels: {app: ssa}}
  template:
    metadata: {labels: {app: ssa}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - containerPort: 80
"#;

#[tokio::test]
async fn server_side_apply() {
    let sim = sim().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/ssa";
    let r = apply(&sim, path, "alice", DEPLOY_A, false).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let obj = r.json();
    let mf = obj["metadata"]["managedFields"].as_array().unwrap();
    let alice = mf.iter().find(|m| m["manager"] == "alice").unwrap();
    assert_eq!(alice["operation"], "Apply");
    assert_eq!(alice["fieldsType"], "FieldsV1");
    assert!(
        alice["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]
            ["f:image"]
            .is_object()
    );
    assert!(
        alice["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]
            ["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]
            .is_object()
    );

    // idempotent re-apply: no new resourceVersion (let the controllers settle first)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cur = get(&sim, path).await.json();
    let again = apply(&sim, path, "alice", DEPLOY_A, false).await.json();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        cur["metadata"]["resourceVersion"]
    );

    // bob adds a container (merged by key) and a label; no conflict
    let bob = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"ssa","labels":{"owner":"bob"}},
      "spec":{"selector":{"matchLabels":{"app":"ssa"}},"template":{"metadata":{"labels":{"app":"ssa"}},"spec":{"containers":[{"name":"sidecar","image":"busybox:1"}]}}}}"#;
    let r = apply(&sim, path, "bob", bob, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = r.json();
    let cs = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!(o["metadata"]["labels"]["team"], "a");
    assert_eq!(o["metadata"]["labels"]["owner"], "bob");

    // bob changes alice's image: 409 with FieldManagerConflict
    let bob2 = DEPLOY_A.replace("nginx:1.25", "nginx:1.26");
    let r = apply(&sim, path, "bob", &bob2, false).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let st = r.json();
    assert_eq!(st["reason"], "Conflict");
    let causes = st["details"]["causes"].as_array().unwrap();
    assert!(
        causes.iter().any(|c| c["reason"] == "FieldManagerConflict"
            && s(c, "/field") == ".spec.template.spec.containers[name=\"app\"].image"),
        "{causes:?}"
    );
    assert!(s(&st, "/message").contains("conflict with \"alice\""));
    // same value: shared ownership, no conflict
    let r = apply(&sim, path, "carol", DEPLOY_A, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // force takes over
    let r = apply(&sim, path, "bob", &bob2, true).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = r.json();
    assert_eq!(
        o["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    assert_eq!(o["metadata"]["generation"], 3);
    // bob no longer applies the sidecar: it is gone
    assert_eq!(
        o["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // alice stops applying env B and her label: removed (nobody else owns them) ...
    let rm_path = "/apis/apps/v1/namespaces/default/deployments/ssa-rm";
    let doc = DEPLOY_A.replace("name: ssa\n", "name: ssa-rm\n");
    assert_eq!(apply(&sim, rm_path, "alice", &doc, false).await.status, 201);
    let alice2 = doc
        .replace("        - {name: B, value: \"2\"}\n", "")
        .replace("  labels: {team: a}\n", "");
    let r = apply(&sim, rm_path, "alice", &alice2, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = r.json();
    let env = o["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert_eq!(env.len(), 1, "{env:?}");
    assert!(
        o["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("team").is_none())
    );
    // ... but stay when another manager also applied them
    let r = apply(
        &sim,
        path,
        "alice",
        &DEPLOY_A
            .replace("        - {name: B, value: \"2\"}\n", "")
            .replace("nginx:1.25", "nginx:1.26"),
        false,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // dryRun=All does not persist
    let dry = DEPLOY_A.replace("replicas: 0", "replicas: 0\n  minReadySeconds: 7");
    let r = apply(&sim, &format!("{path}?dryRun=All"), "alice", &dry, true).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["spec"]["minReadySeconds"], 7);
    let live = sim
        .get("apps/v1", "Deployment", Some("default"), "ssa")
        .unwrap();
    assert!(live["spec"].get("minReadySeconds").is_none());
    // dryRun create does not persist either
    let r = apply(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments/ssa2?dryRun=All",
        "alice",
        &DEPLOY_A.replace("name: ssa\n", "name: ssa2\n"),
        false,
    )
    .await;
    assert_eq!(r.status, 201);
    assert!(
        sim.get("apps/v1", "Deployment", Some("default"), "ssa2")
            .is_none()
    );
    // apply without fieldManager is a 400
    let r = req(
        &sim,
        "PATCH",
        path,
        Some("application/apply-patch+yaml"),
        Some(DEPLOY_A.into()),
    )
    .await;
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn merge_strategic_and_json_patches() {
    let sim = sim().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/p";
    post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("p", "nginx:1", 0),
    )
    .await;
    let r = req(
        &sim,
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        Some(r#"{"metadata":{"labels":{"x":"1"}}}"#.into()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["labels"]["x"], "1");
    let smp =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}"#;
    let r = req(
        &sim,
        "PATCH",
        path,
        Some("application/strategic-merge-patch+json"),
        Some(smp.into()),
    )
    .await;
    assert_eq!(
        r.json()["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let smp =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}"#;
    let r = req(
        &sim,
        "PATCH",
        path,
        Some("application/strategic-merge-patch+json"),
        Some(smp.into()),
    )
    .await;
    assert_eq!(
        r.json()["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let jp = r#"[{"op":"replace","path":"/spec/replicas","value":0},{"op":"add","path":"/metadata/annotations","value":{"k":"v"}}]"#;
    let r = req(
        &sim,
        "PATCH",
        path,
        Some("application/json-patch+json"),
        Some(jp.into()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"]["annotations"]["k"], "v");
    let r = req(&sim, "PATCH", path, Some("text/plain"), Some("x".into())).await;
    assert_eq!(r.status, 415);
    // status subresource
    let r = req(
        &sim,
        "PATCH",
        &format!("{path}/status"),
        Some("application/merge-patch+json"),
        Some(r#"{"status":{"observedGeneration":42}}"#.into()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"]["observedGeneration"], 42);
    sim.shutdown().await;
}

#[tokio::test]
async fn cascade_delete_and_finalizers() {
    let sim = sim().await;
    post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("casc", "nginx:1", 2),
    )
    .await;
    eventually(10, "2 pods", || {
        (sim.list("v1", "Pod", Some("default")).len() == 2).then_some(())
    })
    .await;
    assert_eq!(sim.list("apps/v1", "ReplicaSet", Some("default")).len(), 1);
    let r = req(
        &sim,
        "DELETE",
        "/apis/apps/v1/namespaces/default/deployments/casc",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        sim.list("apps/v1", "ReplicaSet", Some("default"))
            .is_empty()
    );
    eventually(10, "pods gone", || {
        sim.list("v1", "Pod", Some("default"))
            .is_empty()
            .then_some(())
    })
    .await;

    // finalizers: deletionTimestamp, removed once the finalizer goes
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fin", "finalizers": ["example.com/x"]}});
    post(&sim, "/api/v1/namespaces/default/configmaps", &cm).await;
    let r = req(
        &sim,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/fin",
        None,
        None,
    )
    .await
    .json();
    assert!(!s(&r, "/metadata/deletionTimestamp").is_empty());
    assert!(sim.get("v1", "ConfigMap", Some("default"), "fin").is_some());
    let r = req(
        &sim,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/fin",
        Some("application/merge-patch+json"),
        Some(r#"{"metadata":{"finalizers":null}}"#.into()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(sim.get("v1", "ConfigMap", Some("default"), "fin").is_none());

    // orphan propagation keeps dependents without ownerReferences
    post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("orph", "nginx:1", 0),
    )
    .await;
    eventually(10, "rs", || {
        (!sim
            .list("apps/v1", "ReplicaSet", Some("default"))
            .is_empty())
        .then_some(())
    })
    .await;
    req(
        &sim,
        "DELETE",
        "/apis/apps/v1/namespaces/default/deployments/orph",
        Some("application/json"),
        Some(r#"{"propagationPolicy":"Orphan"}"#.into()),
    )
    .await;
    let rss = sim.list("apps/v1", "ReplicaSet", Some("default"));
    assert_eq!(rss.len(), 1);
    assert!(rss[0]["metadata"].get("ownerReferences").is_none());

    // namespace deletion removes its content
    post(
        &sim,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}}),
    )
    .await;
    let ns = sim.get("v1", "Namespace", None, "tmp").unwrap();
    assert_eq!(ns["status"]["phase"], "Active");
    post(
        &sim,
        "/api/v1/namespaces/tmp/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .await;
    req(&sim, "DELETE", "/api/v1/namespaces/tmp", None, None).await;
    eventually(10, "namespace gone", || {
        sim.get("v1", "Namespace", None, "tmp")
            .is_none()
            .then_some(())
    })
    .await;
    assert!(sim.get("v1", "ConfigMap", Some("tmp"), "x").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn fault_injection() {
    let sim = sim().await;
    let f = sim.faults();
    f.set_error_rate(1.0, 429);
    f.set_retry_after(3);
    let r = get(&sim, "/api/v1/namespaces/default/configmaps").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers.get("retry-after").unwrap(), "3");
    assert_eq!(r.json()["reason"], "TooManyRequests");
    // discovery is not affected
    assert_eq!(get(&sim, "/version").await.status, 200);
    f.set_error_rate(1.0, 500);
    assert_eq!(get(&sim, "/api/v1/namespaces").await.status, 500);
    f.set_error_rate(0.5, 500);
    let mut fails = 0;
    for _ in 0..40 {
        if get(&sim, "/api/v1/namespaces").await.status == 500 {
            fails += 1;
        }
    }
    assert!(
        (8..=32).contains(&fails),
        "about half should fail, got {fails}"
    );
    f.clear();
    // latency
    f.set_latency(Some(Duration::from_millis(300)));
    let t = std::time::Instant::now();
    assert_eq!(get(&sim, "/api/v1/namespaces").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    f.clear();
    // watches dropped after N events
    for i in 0..5 {
        post(&sim, "/api/v1/namespaces/default/configmaps", &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("f{i}")}})).await;
    }
    f.drop_watches_after(Some(2));
    let (evs, ended) = watch_events(
        &sim,
        "/api/v1/namespaces/default/configmaps?watch=true",
        100,
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(evs.len(), 2);
    assert!(ended);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_objects_are_rejected_and_the_sim_survives() {
    let sim = sim().await;
    let r = post(&sim, "/apis/apps/v1/namespaces/default/deployments", &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"}, "spec": "nope"})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(
        &sim,
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &sim,
        "/api/v1/namespaces/default/configmaps",
        &json!(["not", "an", "object"]),
    )
    .await;
    assert_eq!(r.status, 400);
    // wrong kind for the endpoint
    let r = post(
        &sim,
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
    )
    .await;
    assert_eq!(r.status, 400);
    // still serving and reconciling
    post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("ok", "nginx:1", 1),
    )
    .await;
    eventually(20, "ok ready", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "ok")?;
        (d["status"]["readyReplicas"] == 1).then_some(())
    })
    .await;
    sim.shutdown().await;
}
