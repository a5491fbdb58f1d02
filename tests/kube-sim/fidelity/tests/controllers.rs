//! Simulated controllers and kubelet behaviours, observed through the store and HTTP.

mod common;
use common::*;
use serde_json::{Value, json};

fn pods_of(sim: &kube_sim::KubeSim, app: &str) -> Vec<Value> {
    sim.list("v1", "Pod", Some("default"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

fn events_for(sim: &kube_sim::KubeSim, name_prefix: &str) -> Vec<(String, String, String)> {
    sim.list("v1", "Event", Some("default"))
        .into_iter()
        .filter(|e| s(e, "/involvedObject/name").starts_with(name_prefix))
        .map(|e| (s(&e, "/type"), s(&e, "/reason"), s(&e, "/message")))
        .collect()
}

fn cond<'a>(obj: &'a Value, typ: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == typ)
}

#[tokio::test]
async fn deployment_rollout_status_like_the_controller() {
    let sim = sim().await;
    let mut d = deployment("web", "nginx:1.25", 4);
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    assert_eq!(
        post(&sim, "/apis/apps/v1/namespaces/default/deployments", &d)
            .await
            .status,
        201
    );
    let done = |sim: &kube_sim::KubeSim| {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "web")?;
        (cond(&d, "Progressing").map(|c| s(c, "/reason")) == Some("NewReplicaSetAvailable".into())
            && d["status"]["observedGeneration"] == d["metadata"]["generation"])
            .then_some(d)
    };
    let d = eventually(20, "rollout 1", || done(&sim)).await;
    let st = &d["status"];
    assert_eq!(st["replicas"], 4);
    assert_eq!(st["updatedReplicas"], 4);
    assert_eq!(st["readyReplicas"], 4);
    assert_eq!(st["availableReplicas"], 4);
    assert!(st.get("unavailableReplicas").is_none());
    assert_eq!(st["observedGeneration"], 1);
    let avail = cond(&d, "Available").unwrap();
    assert_eq!(avail["status"], "True");
    assert_eq!(avail["reason"], "MinimumReplicasAvailable");
    let rs = sim.list("apps/v1", "ReplicaSet", Some("default"));
    assert_eq!(rs.len(), 1);
    let hash = s(&rs[0], "/metadata/labels/pod-template-hash");
    assert!(!hash.is_empty());
    assert_eq!(s(&rs[0], "/metadata/name"), format!("web-{hash}"));
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    for p in pods_of(&sim, "web") {
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash.as_str());
        assert_eq!(p["status"]["phase"], "Running");
        assert!(!s(&p, "/status/podIP").is_empty());
        assert!(!s(&p, "/spec/nodeName").is_empty());
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    }
    let evs = events_for(&sim, "web");
    assert!(
        evs.iter().any(|e| e.1 == "ScalingReplicaSet"
            && e.2 == format!("Scaled up replica set web-{hash} from 0 to 4")),
        "{evs:?}"
    );
    assert!(
        evs.iter()
            .any(|e| e.1 == "SuccessfulCreate" && e.2.starts_with("Created pod: web-"))
    );
    for r in ["Scheduled", "Pulling", "Pulled", "Created", "Started"] {
        assert!(evs.iter().any(|e| e.1 == r), "missing {r} event");
    }

    // rolling update with maxSurge 1 / maxUnavailable 0: never more than 5 pods, never fewer than 4 ready
    let r = req(&sim, "PATCH", "/apis/apps/v1/namespaces/default/deployments/web", Some("application/strategic-merge-patch+json"),
        Some(r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.26"}]}}}}"#.into())).await;
    assert_eq!(r.status, 200);
    let mut max_pods = 0;
    let mut min_ready = usize::MAX;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pods: Vec<Value> = pods_of(&sim, "web")
            .into_iter()
            .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
            .collect();
        max_pods = max_pods.max(pods.len());
        let ready = pods
            .iter()
            .filter(|p| cond(p, "Ready").is_some_and(|c| c["status"] == "True"))
            .count();
        min_ready = min_ready.min(ready);
        if let Some(d) = done(&sim)
            && d["metadata"]["generation"] == 2
            && d["status"]["updatedReplicas"] == 4
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rollout 2 did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(max_pods <= 5, "maxSurge 1 exceeded: {max_pods} pods");
    assert!(
        min_ready >= 4,
        "maxUnavailable 0 violated: {min_ready} ready"
    );
    let d = sim
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(sim.list("apps/v1", "ReplicaSet", Some("default")).len(), 2);
    let evs = events_for(&sim, "web");
    assert!(
        evs.iter()
            .any(|e| e.1 == "ScalingReplicaSet" && e.2.starts_with("Scaled down replica set web-"))
    );
    assert!(evs.iter().any(|e| e.1 == "Killing"));
    sim.shutdown().await;
}

#[tokio::test]
async fn progress_deadline_and_crash_loop() {
    let sim = sim().await;
    let mut d = deployment("ml", "reg.io/x/ml-service:crash-1", 1);
    d["spec"]["progressDeadlineSeconds"] = json!(20); // 1s at time_scale 0.05
    post(&sim, "/apis/apps/v1/namespaces/default/deployments", &d).await;
    let d = eventually(20, "ProgressDeadlineExceeded", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "ml")?;
        let c = cond(&d, "Progressing")?;
        (c["reason"] == "ProgressDeadlineExceeded").then_some(d)
    })
    .await;
    let c = cond(&d, "Progressing").unwrap();
    assert_eq!(c["status"], "False");
    assert!(s(c, "/message").ends_with("has timed out progressing."));
    assert_eq!(cond(&d, "Available").unwrap()["status"], "False");
    assert_eq!(d["status"]["unavailableReplicas"], 1);

    let pod = eventually(20, "restartCount >= 2", || {
        let p = pods_of(&sim, "ml").pop()?;
        (p["status"]["containerStatuses"][0]["restartCount"].as_i64()? >= 2).then_some(p)
    })
    .await;
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    let name = s(&pod, "/metadata/name");
    let w = eventually(20, "CrashLoopBackOff", || {
        let p = sim.get("v1", "Pod", Some("default"), &name)?;
        let w = p
            .pointer("/status/containerStatuses/0/state/waiting")?
            .clone();
        (w["reason"] == "CrashLoopBackOff").then_some(w)
    })
    .await;
    assert!(s(&w, "/message").starts_with("back-off "), "{w}");
    let evs = events_for(&sim, &name);
    assert!(evs.iter().any(|e| {
        e.0 == "Warning"
            && e.1 == "BackOff"
            && e.2
                .starts_with("Back-off restarting failed container app in pod")
    }));
    // logs and previous logs
    let r = get(
        &sim,
        &format!("/api/v1/namespaces/default/pods/{name}/log?previous=true"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ModuleNotFoundError: No module named 'torch'\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn image_pull_error_never_ready_oom() {
    let sim = sim().await;
    for (n, img) in [
        ("bad", "nginx:broken"),
        ("slow", "nginx:slow"),
        ("oom", "nginx:oom"),
    ] {
        post(
            &sim,
            "/apis/apps/v1/namespaces/default/deployments",
            &deployment(n, img, 1),
        )
        .await;
    }
    let p = eventually(20, "ImagePullBackOff", || {
        let p = pods_of(&sim, "bad").pop()?;
        (p.pointer("/status/containerStatuses/0/state/waiting/reason")? == "ImagePullBackOff")
            .then_some(p)
    })
    .await;
    assert_eq!(p["status"]["phase"], "Pending");
    let evs = events_for(&sim, &s(&p, "/metadata/name"));
    assert!(
        evs.iter()
            .any(|e| e.1 == "Failed" && e.2 == "Error: ErrImagePull")
    );
    assert!(
        evs.iter()
            .any(|e| e.1 == "Failed" && e.2.starts_with("Failed to pull image \"nginx:broken\""))
    );
    assert!(
        evs.iter()
            .any(|e| e.1 == "BackOff" && e.2 == "Back-off pulling image \"nginx:broken\"")
    );
    let r = get(
        &sim,
        &format!(
            "/api/v1/namespaces/default/pods/{}/log",
            s(&p, "/metadata/name")
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("is waiting to start"));

    let p = eventually(20, "Unhealthy", || {
        let p = pods_of(&sim, "slow").pop()?;
        let evs = events_for(&sim, &s(&p, "/metadata/name"));
        evs.iter()
            .any(|e| e.1 == "Unhealthy" && e.0 == "Warning")
            .then_some(p)
    })
    .await;
    let p = sim
        .get("v1", "Pod", Some("default"), &s(&p, "/metadata/name"))
        .unwrap();
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(p["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(cond(&p, "Ready").unwrap()["status"], "False");
    assert_eq!(cond(&p, "Ready").unwrap()["reason"], "ContainersNotReady");

    let p = eventually(20, "OOMKilled", || {
        let p = pods_of(&sim, "oom").pop()?;
        (p.pointer("/status/containerStatuses/0/lastState/terminated/reason")? == "OOMKilled")
            .then_some(p)
    })
    .await;
    assert_eq!(
        p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        137
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_secret_key_is_a_create_container_config_error() {
    let sim = sim().await;
    post(&sim, "/api/v1/namespaces/default/secrets", &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"user": "YWRtaW4="}})).await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cfgerr"}, "spec": {"containers": [{"name": "app", "image": "nginx:1",
        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}});
    assert_eq!(
        post(&sim, "/api/v1/namespaces/default/pods", &pod)
            .await
            .status,
        201
    );
    let w = eventually(20, "CreateContainerConfigError", || {
        let p = sim.get("v1", "Pod", Some("default"), "cfgerr")?;
        let w = p
            .pointer("/status/containerStatuses/0/state/waiting")?
            .clone();
        (w["reason"] == "CreateContainerConfigError").then_some(w)
    })
    .await;
    assert_eq!(
        w["message"],
        "couldn't find key password in Secret default/db"
    );
    let evs = events_for(&sim, "cfgerr");
    assert!(evs.iter().any(|e| e.0 == "Warning"
        && e.1 == "Failed"
        && e.2 == "Error: couldn't find key password in Secret default/db"));
    // fixing the secret lets the container start
    let r = req(
        &sim,
        "PATCH",
        "/api/v1/namespaces/default/secrets/db",
        Some("application/merge-patch+json"),
        Some(r#"{"data":{"password":"cw=="}}"#.into()),
    )
    .await;
    assert_eq!(r.status, 200);
    eventually(20, "running after fix", || {
        let p = sim.get("v1", "Pod", Some("default"), "cfgerr")?;
        (p["status"]["phase"] == "Running").then_some(())
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn resource_quota_and_unschedulable() {
    let sim = sim().await;
    let q = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"}, "spec": {"hard": {"limits.cpu": "1", "limits.memory": "1Gi", "pods": "10"}}});
    assert_eq!(
        post(&sim, "/api/v1/namespaces/default/resourcequotas", &q)
            .await
            .status,
        201
    );
    let mut d = deployment("big", "nginx:1", 1);
    d["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "2", "memory": "512Mi"}});
    post(&sim, "/apis/apps/v1/namespaces/default/deployments", &d).await;
    let ev = eventually(20, "FailedCreate", || {
        sim.list("v1", "Event", Some("default"))
            .into_iter()
            .find(|e| e["reason"] == "FailedCreate" && e["involvedObject"]["kind"] == "ReplicaSet")
    })
    .await;
    let msg = s(&ev, "/message");
    assert!(msg.starts_with("Error creating: pods \"big-"), "{msg}");
    assert!(msg.ends_with("is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=0, limited: limits.cpu=1"), "{msg}");
    assert_eq!(ev["type"], "Warning");
    // direct pod creation gets the same 403
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"}, "spec": {"containers": [{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "3", "memory": "2Gi"}}}]}});
    let r = post(&sim, "/api/v1/namespaces/default/pods", &pod).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["reason"], "Forbidden");
    assert_eq!(
        s(&r.json(), "/message"),
        "pods \"p1\" is forbidden: exceeded quota: compute, requested: limits.cpu=3,limits.memory=2Gi, used: limits.cpu=0,limits.memory=0, limited: limits.cpu=1,limits.memory=1Gi"
    );
    let quota = eventually(10, "quota status", || {
        let q = sim.get("v1", "ResourceQuota", Some("default"), "compute")?;
        q.pointer("/status/used").is_some().then_some(q)
    })
    .await;
    assert_eq!(quota["status"]["hard"]["limits.cpu"], "1");
    sim.shutdown().await;

    // unschedulable: nodes have 4 CPU each
    let sim = common::sim().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"}, "spec": {"containers": [{"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "8"}}}]}});
    assert_eq!(
        post(&sim, "/api/v1/namespaces/default/pods", &pod)
            .await
            .status,
        201
    );
    let p = eventually(10, "Unschedulable", || {
        let p = sim.get("v1", "Pod", Some("default"), "huge")?;
        cond(&p, "PodScheduled")
            .is_some_and(|c| c["reason"] == "Unschedulable")
            .then_some(p)
    })
    .await;
    assert_eq!(p["status"]["phase"], "Pending");
    let c = cond(&p, "PodScheduled").unwrap();
    assert_eq!(c["status"], "False");
    assert!(s(c, "/message").starts_with("0/3 nodes are available: 3 Insufficient cpu."));
    assert!(
        events_for(&sim, "huge")
            .iter()
            .any(|e| e.0 == "Warning" && e.1 == "FailedScheduling")
    );
    sim.shutdown().await;
}

/// The behaviour's command sees the container's own command and args in
/// `KUBE_SIM_ARGS` (space-joined), so one image's rule can answer
/// `alembic heads` and `alembic upgrade … --sql` differently.
#[tokio::test]
async fn a_job_command_sees_the_container_command_and_args() {
    let sim = sim_with(|cfg| {
        cfg.behaviors = kube_sim::Behaviors::from_yaml(
            "jobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo \\\"args=[$KUBE_SIM_ARGS]\\\"\"]\n",
        )
        .unwrap();
    })
    .await;
    let job = |name: &str, container: Value| {
        let mut c = json!({"name": "main", "image": "reg.io/api-gateway:2"});
        c.as_object_mut()
            .unwrap()
            .extend(container.as_object().unwrap().clone());
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [c]}}}})
    };
    for (name, container) in [
        (
            "sql",
            json!({"command": ["alembic", "upgrade"], "args": ["1a2b:head", "--sql"]}),
        ),
        ("bare", json!({})),
    ] {
        let created = post(
            &sim,
            "/apis/batch/v1/namespaces/default/jobs",
            &job(name, container),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    for (name, expected) in [
        ("sql", "args=[alembic upgrade 1a2b:head --sql]\n"),
        ("bare", "args=[]\n"),
    ] {
        eventually(20, "job complete", || {
            let j = sim.get("batch/v1", "Job", Some("default"), name)?;
            cond(&j, "Complete")
                .is_some_and(|c| c["status"] == "True")
                .then_some(j)
        })
        .await;
        let pod = sim
            .list("v1", "Pod", Some("default"))
            .into_iter()
            .find(|p| p["metadata"]["labels"]["job-name"] == name)
            .unwrap();
        let logs = get(
            &sim,
            &format!(
                "/api/v1/namespaces/default/pods/{}/log",
                s(&pod, "/metadata/name")
            ),
        )
        .await
        .text();
        assert_eq!(logs, expected);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn jobs_run_local_commands() {
    let sim = sim().await;
    let job = |name: &str, image: &str, backoff: i64| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": backoff, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}})
    };
    assert_eq!(
        post(
            &sim,
            "/apis/batch/v1/namespaces/default/jobs",
            &job("mig", "reg.io/api-gateway:2", 6)
        )
        .await
        .status,
        201
    );
    let j = eventually(20, "job complete", || {
        let j = sim.get("batch/v1", "Job", Some("default"), "mig")?;
        cond(&j, "Complete")
            .is_some_and(|c| c["status"] == "True")
            .then_some(j)
    })
    .await;
    assert_eq!(j["status"]["succeeded"], 1);
    assert!(j["status"].get("failed").is_none());
    assert!(!s(&j, "/status/completionTime").is_empty());
    let pod = sim
        .list("v1", "Pod", Some("default"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["job-name"] == "mig")
        .unwrap();
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    let logs = get(
        &sim,
        &format!(
            "/api/v1/namespaces/default/pods/{}/log",
            s(&pod, "/metadata/name")
        ),
    )
    .await
    .text();
    assert!(
        logs.contains("upgraded\n") && logs.contains("to-stderr\n"),
        "{logs:?}"
    );
    let stamped = get(
        &sim,
        &format!(
            "/api/v1/namespaces/default/pods/{}/log?timestamps=true",
            s(&pod, "/metadata/name")
        ),
    )
    .await
    .text();
    let first = stamped.lines().next().unwrap();
    let (ts, rest) = first.split_once(' ').unwrap();
    assert!(
        ts.len() == 30 && ts.ends_with('Z') && ts.contains('T'),
        "{first}"
    );
    assert!(rest == "upgraded" || rest == "to-stderr", "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let recent = get(
        &sim,
        &format!(
            "/api/v1/namespaces/default/pods/{}/log?sinceSeconds=1",
            s(&pod, "/metadata/name")
        ),
    )
    .await
    .text();
    assert_eq!(recent, "");

    assert_eq!(
        post(
            &sim,
            "/apis/batch/v1/namespaces/default/jobs",
            &job("bad", "reg.io/failing:1", 1)
        )
        .await
        .status,
        201
    );
    let j = eventually(30, "job failed", || {
        let j = sim.get("batch/v1", "Job", Some("default"), "bad")?;
        cond(&j, "Failed")
            .is_some_and(|c| c["status"] == "True")
            .then_some(j)
    })
    .await;
    assert_eq!(j["status"]["failed"], 2);
    assert_eq!(
        cond(&j, "Failed").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    let failed: Vec<Value> = sim
        .list("v1", "Pod", Some("default"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["job-name"] == "bad")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|p| p["status"]["phase"] == "Failed"
        && p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 4));
    sim.shutdown().await;
}

#[tokio::test]
async fn statefulset_service_endpoints_metrics_hpa() {
    let sim = sim().await;
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres"}, "spec": {"replicas": 2, "serviceName": "postgres",
        "selector": {"matchLabels": {"app": "postgres"}}, "template": {"metadata": {"labels": {"app": "postgres"}},
        "spec": {"containers": [{"name": "pg", "image": "postgres:16", "ports": [{"name": "pg", "containerPort": 5432}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
    assert_eq!(
        post(&sim, "/apis/apps/v1/namespaces/default/statefulsets", &sts)
            .await
            .status,
        201
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "postgres"}, "spec": {"selector": {"app": "postgres"}, "ports": [{"name": "pg", "port": 5432, "targetPort": "pg"}]}});
    let svc = post(&sim, "/api/v1/namespaces/default/services", &svc)
        .await
        .json();
    assert!(s(&svc, "/spec/clusterIP").starts_with("10.96."));
    let st = eventually(20, "sts ready", || {
        let s = sim.get("apps/v1", "StatefulSet", Some("default"), "postgres")?;
        (s["status"]["readyReplicas"] == 2).then_some(s)
    })
    .await;
    assert_eq!(
        st["status"]["currentRevision"],
        st["status"]["updateRevision"]
    );
    let mut names: Vec<String> = pods_of(&sim, "postgres")
        .iter()
        .map(|p| s(p, "/metadata/name"))
        .collect();
    names.sort();
    assert_eq!(names, ["postgres-0", "postgres-1"]);
    assert!(
        sim.get(
            "v1",
            "PersistentVolumeClaim",
            Some("default"),
            "data-postgres-0"
        )
        .is_some()
    );
    let ep = eventually(10, "endpoints", || {
        let e = sim.get("v1", "Endpoints", Some("default"), "postgres")?;
        (e.pointer("/subsets/0/addresses")?.as_array()?.len() == 2).then_some(e)
    })
    .await;
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 5432);
    let slices: Vec<Value> = sim
        .list("discovery.k8s.io/v1", "EndpointSlice", Some("default"))
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == "postgres")
        .collect();
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0]["endpoints"].as_array().unwrap().len(), 2);

    let m = get(&sim, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
        .await
        .json();
    assert_eq!(m["kind"], "PodMetricsList");
    assert_eq!(m["items"].as_array().unwrap().len(), 2);
    assert!(!s(&m, "/items/0/containers/0/usage/cpu").is_empty());
    let nm = get(&sim, "/apis/metrics.k8s.io/v1beta1/nodes").await.json();
    assert_eq!(nm["items"].as_array().unwrap().len(), 3);

    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "pg"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "postgres"}, "minReplicas": 1, "maxReplicas": 5,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}});
    assert_eq!(
        post(
            &sim,
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            &hpa
        )
        .await
        .status,
        201
    );
    let h = eventually(10, "hpa status", || {
        let h = sim.get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("default"),
            "pg",
        )?;
        h.pointer("/status/currentReplicas").is_some().then_some(h)
    })
    .await;
    assert_eq!(h["status"]["currentReplicas"], 2);
    assert_eq!(h["status"]["desiredReplicas"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn min_ready_seconds_and_revision_history_limit() {
    let sim = sim().await;
    let mut d = deployment("mr", "nginx:1", 1);
    d["spec"]["minReadySeconds"] = json!(20); // 1s real at time_scale 0.05
    d["spec"]["revisionHistoryLimit"] = json!(1);
    post(&sim, "/apis/apps/v1/namespaces/default/deployments", &d).await;
    let t0 = std::time::Instant::now();
    eventually(20, "ready", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "mr")?;
        (d["status"]["readyReplicas"] == 1).then_some(())
    })
    .await;
    let d1 = sim
        .get("apps/v1", "Deployment", Some("default"), "mr")
        .unwrap();
    assert!(
        d1["status"].get("availableReplicas").is_none(),
        "available before minReadySeconds: {}",
        d1["status"]
    );
    eventually(20, "available", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "mr")?;
        (d["status"]["availableReplicas"] == 1).then_some(())
    })
    .await;
    assert!(t0.elapsed() >= std::time::Duration::from_millis(900));
    for img in ["nginx:2", "nginx:3", "nginx:4"] {
        let p = format!(
            r#"{{"spec":{{"minReadySeconds":0,"template":{{"spec":{{"containers":[{{"name":"app","image":"{img}"}}]}}}}}}}}"#
        );
        req(
            &sim,
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/mr",
            Some("application/strategic-merge-patch+json"),
            Some(p),
        )
        .await;
        eventually(20, "rolled", || {
            let d = sim.get("apps/v1", "Deployment", Some("default"), "mr")?;
            (d["status"]["observedGeneration"] == d["metadata"]["generation"]
                && cond(&d, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
                && d["status"]["updatedReplicas"] == 1
                && d["status"]["replicas"] == 1)
                .then_some(())
        })
        .await;
    }
    let rss = eventually(10, "history trimmed", || {
        let rss = sim.list("apps/v1", "ReplicaSet", Some("default"));
        (rss.len() == 2).then_some(rss)
    })
    .await;
    let mut revs: Vec<String> = rss
        .iter()
        .map(|r| {
            s(
                r,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            )
        })
        .collect();
    revs.sort();
    assert_eq!(revs, ["3", "4"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn daemonset_pdb_and_paused_deployment() {
    let sim = sim().await;
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}});
    assert_eq!(
        post(&sim, "/apis/apps/v1/namespaces/default/daemonsets", &ds)
            .await
            .status,
        201
    );
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "agent"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "agent"}}}});
    assert_eq!(
        post(
            &sim,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            &pdb
        )
        .await
        .status,
        201
    );
    let d = eventually(20, "daemonset ready", || {
        let d = sim.get("apps/v1", "DaemonSet", Some("default"), "agent")?;
        (d["status"]["numberReady"] == 3 && d["status"]["updatedNumberScheduled"] == 3).then_some(d)
    })
    .await;
    assert_eq!(d["status"]["desiredNumberScheduled"], 3);
    let mut nodes: Vec<String> = pods_of(&sim, "agent")
        .iter()
        .map(|p| s(p, "/spec/nodeName"))
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        ["kube-sim-node-1", "kube-sim-node-2", "kube-sim-node-3"]
    );
    let p = eventually(10, "pdb status", || {
        let p = sim.get("policy/v1", "PodDisruptionBudget", Some("default"), "agent")?;
        (p["status"]["currentHealthy"] == 3).then_some(p)
    })
    .await;
    assert_eq!(p["status"]["desiredHealthy"], 2);
    assert_eq!(p["status"]["disruptionsAllowed"], 1);

    // a paused deployment does not roll out until resumed
    post(
        &sim,
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("pz", "nginx:1", 1),
    )
    .await;
    eventually(20, "ready", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "pz")?;
        (d["status"]["availableReplicas"] == 1).then_some(())
    })
    .await;
    let patch = |p: &'static str| {
        req(
            &sim,
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/pz",
            Some("application/strategic-merge-patch+json"),
            Some(p.into()),
        )
    };
    patch(r#"{"spec":{"paused":true,"template":{"spec":{"containers":[{"name":"app","image":"nginx:2"}]}}}}"#).await;
    let d = eventually(10, "paused", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "pz")?;
        cond(&d, "Progressing")
            .is_some_and(|c| c["reason"] == "DeploymentPaused")
            .then_some(d)
    })
    .await;
    assert_eq!(cond(&d, "Progressing").unwrap()["status"], "Unknown");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        sim.list("apps/v1", "ReplicaSet", Some("default"))
            .iter()
            .filter(|r| r["metadata"]["name"].as_str().unwrap().starts_with("pz-"))
            .count(),
        1
    );
    patch(r#"{"spec":{"paused":false}}"#).await;
    eventually(20, "rolled out after resume", || {
        let d = sim.get("apps/v1", "Deployment", Some("default"), "pz")?;
        (cond(&d, "Progressing")?["reason"] == "NewReplicaSetAvailable"
            && d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
            .then_some(())
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn deleting_a_job_kills_its_local_process() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let beh = format!(
        "{BEHAVIORS}\n  - match: \"*/sleeper:*\"\n    command: [\"sh\", \"-c\", \"echo $$ > {}; exec sleep 30\"]\n",
        pidfile.display()
    );
    let sim = sim_with(|c| c.behaviors = kube_sim::Behaviors::from_yaml(&beh).unwrap()).await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "sl"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "reg.io/sleeper:1"}]}}}});
    assert_eq!(
        post(&sim, "/apis/batch/v1/namespaces/default/jobs", &job)
            .await
            .status,
        201
    );
    let pid = eventually(20, "process started", || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    })
    .await;
    let alive = |pid: u32| std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive(pid));
    let j = sim.get("batch/v1", "Job", Some("default"), "sl").unwrap();
    assert!(j["status"].get("succeeded").is_none());
    req(
        &sim,
        "DELETE",
        "/apis/batch/v1/namespaces/default/jobs/sl",
        None,
        None,
    )
    .await;
    eventually(20, "process killed", || {
        (!alive(pid)
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(" Z ")))
        .then_some(())
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_range_defaults_satisfy_the_quota() {
    let sim = sim().await;
    let q = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"}, "spec": {"hard": {"requests.cpu": "4", "limits.cpu": "8", "requests.memory": "8Gi", "limits.memory": "16Gi"}}});
    assert_eq!(
        post(&sim, "/api/v1/namespaces/default/resourcequotas", &q)
            .await
            .status,
        201
    );
    // without a LimitRange a pod with no resources is refused
    let bare = |n: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n}, "spec": {"containers": [{"name": "a", "image": "x:1"}]}});
    let r = post(&sim, "/api/v1/namespaces/default/pods", &bare("p0")).await;
    assert_eq!(r.status, 403);
    assert!(
        s(&r.json(), "/message").contains("failed quota: compute: must specify"),
        "{}",
        r.text()
    );
    let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"}, "spec": {"limits": [{"type": "Container",
        "default": {"cpu": "500m", "memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"}, "max": {"cpu": "2"}}]}});
    assert_eq!(
        post(&sim, "/api/v1/namespaces/default/limitranges", &lr)
            .await
            .status,
        201
    );
    let r = post(&sim, "/api/v1/namespaces/default/pods", &bare("p1")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    assert_eq!(
        p["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a"
    );
    assert_eq!(p["status"]["qosClass"], "Burstable");
    // max is enforced
    let mut big = bare("p2");
    big["spec"]["containers"][0]["resources"] = json!({"limits": {"cpu": "3"}});
    let r = post(&sim, "/api/v1/namespaces/default/pods", &big).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        s(&r.json(), "/message"),
        "pods \"p2\" is forbidden: maximum cpu usage per Container is 2, but limit is 3"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn job_active_deadline_and_ttl_after_finished() {
    let beh =
        format!("{BEHAVIORS}\n  - match: \"*/sleeper:*\"\n    command: [\"sleep\", \"30\"]\n");
    let sim = sim_with(|c| c.behaviors = kube_sim::Behaviors::from_yaml(&beh).unwrap()).await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "slow"},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 20, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "reg.io/sleeper:1"}]}}}});
    assert_eq!(
        post(&sim, "/apis/batch/v1/namespaces/default/jobs", &job)
            .await
            .status,
        201
    );
    let j = eventually(20, "deadline exceeded", || {
        let j = sim.get("batch/v1", "Job", Some("default"), "slow")?;
        cond(&j, "Failed")
            .is_some_and(|c| c["status"] == "True")
            .then_some(j)
    })
    .await;
    assert_eq!(cond(&j, "Failed").unwrap()["reason"], "DeadlineExceeded");
    assert_eq!(
        cond(&j, "Failed").unwrap()["message"],
        "Job was active longer than specified deadline"
    );
    assert!(
        events_for(&sim, "slow")
            .iter()
            .any(|e| e.1 == "DeadlineExceeded")
    );
    eventually(10, "pods gone", || {
        sim.list("v1", "Pod", Some("default"))
            .is_empty()
            .then_some(())
    })
    .await;

    let done = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "quick"},
        "spec": {"ttlSecondsAfterFinished": 20, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "reg.io/api-gateway:1"}]}}}});
    assert_eq!(
        post(&sim, "/apis/batch/v1/namespaces/default/jobs", &done)
            .await
            .status,
        201
    );
    eventually(20, "complete", || {
        let j = sim.get("batch/v1", "Job", Some("default"), "quick")?;
        cond(&j, "Complete").is_some().then_some(())
    })
    .await;
    eventually(20, "deleted by ttl", || {
        sim.get("batch/v1", "Job", Some("default"), "quick")
            .is_none()
            .then_some(())
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn node_selector_and_cordon_are_respected() {
    let sim = sim().await;
    let pod = |n: &str, sel: serde_json::Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n},
        "spec": {"nodeSelector": sel, "containers": [{"name": "a", "image": "x:1"}]}})
    };
    post(
        &sim,
        "/api/v1/namespaces/default/pods",
        &pod("gpu", json!({"pool": "gpu"})),
    )
    .await;
    let p = eventually(10, "unschedulable", || {
        let p = sim.get("v1", "Pod", Some("default"), "gpu")?;
        cond(&p, "PodScheduled")
            .is_some_and(|c| c["reason"] == "Unschedulable")
            .then_some(p)
    })
    .await;
    assert_eq!(
        s(cond(&p, "PodScheduled").unwrap(), "/message"),
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    // cordon two nodes: a new pod lands on the third
    for n in ["kube-sim-node-1", "kube-sim-node-2"] {
        let r = req(
            &sim,
            "PATCH",
            &format!("/api/v1/nodes/{n}"),
            Some("application/merge-patch+json"),
            Some(r#"{"spec":{"unschedulable":true}}"#.into()),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    post(
        &sim,
        "/api/v1/namespaces/default/pods",
        &pod("linux", json!({"kubernetes.io/os": "linux"})),
    )
    .await;
    let p = eventually(10, "scheduled", || {
        let p = sim.get("v1", "Pod", Some("default"), "linux")?;
        p.pointer("/spec/nodeName").is_some().then_some(p)
    })
    .await;
    assert_eq!(p["spec"]["nodeName"], "kube-sim-node-3");
    sim.shutdown().await;
}
