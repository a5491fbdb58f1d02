//! The release lifecycle against kube-sim: revisions and history, rollback,
//! rollback on failure with the evidence kept, prune, and the deploy lock.

use crate::common;

use std::time::Duration;

use common::{behaviors, cluster, run, text};

const NS: &str = "fintech-ai-local";

fn deploy_cmd(c: &common::Cluster, version: &str) -> assert_cmd::Command {
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", version, "--timeout", "60s"]);
    cmd
}

fn image(c: &common::Cluster, ns: &str, name: &str) -> String {
    let d = c
        .get("apps/v1", "Deployment", ns, name)
        .unwrap_or_else(|| panic!("Deployment/{name}"));
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn history(c: &common::Cluster, env: &str) -> Vec<serde_json::Value> {
    let mut cmd = c.fintechctl();
    cmd.args(["history", env, "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["revisions"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_make_revisions_and_rollback_restores_the_earlier_one() {
    let c = cluster(behaviors("", "echo migrated")).await;
    for version in ["1.4.2", "1.4.3"] {
        let out = run(deploy_cmd(&c, version)).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    }
    let revisions = history(&c, "local").await;
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[0]["version"], "1.4.3");
    assert_eq!(revisions[0]["status"], "succeeded");
    assert_eq!(revisions[1]["revision"], 1);
    assert_eq!(revisions[1]["version"], "1.4.2");
    assert_eq!(revisions[1]["status"], "superseded");
    assert!(revisions[0]["durationSecs"].as_f64().unwrap() > 0.0);
    assert!(revisions[0]["user"].as_str().is_some_and(|u| !u.is_empty()));
    assert_eq!(
        revisions[0]["migration"]["succeeded"], true,
        "{:?}",
        revisions[0]
    );

    // The text table names them too.
    let mut cmd = c.fintechctl();
    cmd.args(["history", "local"]);
    let out = run(cmd).await;
    let (table, _) = text(&out);
    assert!(
        table.contains("REVISION") && table.contains("1.4.3") && table.contains("superseded"),
        "{table}"
    );

    // Migrations ran since revision 1: without --yes and a terminal the rollback asks, so it is refused.
    let mut cmd = c.fintechctl();
    cmd.args(["rollback", "local", "--timeout", "60s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("schema moved on"), "{stderr}");
    assert_eq!(image(&c, NS, "api-gateway"), "fintech-ai/api-gateway:1.4.3");

    let mut cmd = c.fintechctl();
    cmd.args(["rollback", "local", "--yes", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(image(&c, NS, "api-gateway"), "fintech-ai/api-gateway:1.4.2");
    assert_eq!(image(&c, NS, "ml-service"), "fintech-ai/ml-service:1.4.2");
    let revisions = history(&c, "local").await;
    assert_eq!(revisions.len(), 3);
    assert_eq!(revisions[0]["revision"], 3);
    assert_eq!(revisions[0]["version"], "1.4.2");
    assert_eq!(revisions[0]["rolledBackFrom"], 1);
    assert_eq!(revisions[0]["status"], "succeeded");
    // The secrets were not touched by the rollback (records hold only digests).
    let secret = c.get("v1", "Secret", NS, "fintech-ai-secrets").unwrap();
    assert!(!secret.to_string().contains("sha256:"), "{secret}");

    // A failed or unknown revision is refused as bad input.
    let mut cmd = c.fintechctl();
    cmd.args(["rollback", "local", "9", "--yes"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_production_deploy_keeps_evidence_and_rolls_back() {
    let c = cluster(behaviors("", "echo migrated")).await;
    common::seed_autoscaler_secret(&c);
    let (cert, key) = common::fake_tls(&c);
    let bundle_dir = c.dir.path().join("bundles");
    let deploy = |version: &str| {
        let mut cmd = c.fintechctl();
        cmd.args([
            "deploy",
            "production",
            "--yes",
            "--version",
            version,
            "--timeout",
            "60s",
            // Not about canaries: production's canary strategy aside.
            "--strategy",
            "rolling",
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--bundle-dir")
        .arg(&bundle_dir);
        cmd
    };
    let out = run(deploy("1.4.2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    c.sim.set_behaviors(behaviors(
        "  - match: \"*/ml-service:1.5.0\"\n    behavior: crash-loop\n    exitCode: 1\n    logs: \"ModuleNotFoundError: No module named 'torch'\"\n",
        "echo migrated",
    ));
    let mut cmd = deploy("1.5.0");
    cmd.args(["-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ml-service"), "{stderr}");
    assert!(
        stderr.contains("rolled back to revision 1"),
        "both the failure and the rollback are named: {stderr}"
    );
    // Issue 16 item 4: 1.5.0's migration ran; going back to 1.4.2 leaves
    // the schema ahead, and the result says so (text and JSON).
    assert!(
        stderr.contains(
            "the database schema stays ahead of version 1.4.2: migrations ran in revision(s) 2"
        ),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        doc["rollback"]["schemaAhead"]
            .as_str()
            .is_some_and(|s| s.contains("revision(s) 2")),
        "{doc}"
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|s| s.contains("schema stays ahead")),
        "{doc}"
    );

    // The evidence: a bundle with the failing pod's logs and events.
    let bundles: Vec<_> = std::fs::read_dir(&bundle_dir)
        .expect("bundle dir")
        .flatten()
        .collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let path = bundles[0].path();
    let content = common::bundle_text(&path);
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("fintechctl-debug-production-")
    );
    assert!(
        content.contains("No module named 'torch'"),
        "logs in the bundle"
    );
    assert!(content.contains("BackOff"), "events in the bundle");
    for (_, value) in common::SECRETS {
        assert!(!content.contains(value), "a secret value in the bundle");
    }

    // The previous revision runs again.
    let ns = "fintech-ai-prod";
    assert_eq!(image(&c, ns, "ml-service"), "fintech-ai/ml-service:1.4.2");
    assert_eq!(image(&c, ns, "api-gateway"), "fintech-ai/api-gateway:1.4.2");
    let revisions = history(&c, "production").await;
    assert_eq!(revisions[0]["revision"], 3);
    assert_eq!(revisions[0]["rolledBackFrom"], 1);
    assert_eq!(revisions[0]["status"], "succeeded");
    assert_eq!(revisions[1]["revision"], 2);
    assert_eq!(revisions[1]["status"], "rolled-back");
    assert!(revisions[1]["failures"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_objects_are_pruned_after_success_only_and_foreign_objects_survive() {
    let c = cluster(behaviors("", "echo migrated")).await;
    let out = run(deploy_cmd(&c, "1.4.2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(
        c.get("networking.k8s.io/v1", "Ingress", NS, "fintech-ai")
            .is_some()
            || !c
                .sim
                .list("networking.k8s.io/v1", "Ingress", Some(NS))
                .is_empty()
    );
    let ingress_name =
        c.sim.list("networking.k8s.io/v1", "Ingress", Some(NS))[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
    // Someone else's object in the namespace, without fintechctl's labels.
    c.sim
        .create(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "team-notes", "namespace": NS, "labels": {"app.kubernetes.io/component": "monitoring"}},
            "data": {"a": "b"}}))
        .unwrap();

    // The ingress is no longer rendered.
    let dir = tempfile::tempdir().unwrap();
    let local = include_str!("../../environments/local.yaml")
        .replace("ingress:\n  enabled: true", "ingress:\n  enabled: false");
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();

    // A failed rollout prunes nothing.
    c.sim.set_behaviors(behaviors(
        "  - match: \"*/frontend:1.4.3\"\n    behavior: image-pull-error\n",
        "echo migrated",
    ));
    let mut cmd = deploy_cmd(&c, "1.4.3");
    cmd.arg("--environments-dir").arg(dir.path());
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("prune"),
        "the plan lists what would be pruned: {stderr}"
    );
    assert!(
        c.get("networking.k8s.io/v1", "Ingress", NS, &ingress_name)
            .is_some(),
        "kept after a failed rollout"
    );

    // A successful one prunes it; the foreign ConfigMap survives.
    c.sim.set_behaviors(behaviors("", "echo migrated"));
    let mut cmd = deploy_cmd(&c, "1.4.4");
    cmd.arg("--environments-dir").arg(dir.path());
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        c.get("networking.k8s.io/v1", "Ingress", NS, &ingress_name)
            .is_none(),
        "pruned after success: {stderr}"
    );
    assert!(
        c.get("v1", "ConfigMap", NS, "team-notes").is_some(),
        "objects without fintechctl's labels are never touched"
    );
    assert!(c.get("v1", "ConfigMap", NS, "prometheus-config").is_some());
    // --no-prune keeps objects.
    let mut cmd = deploy_cmd(&c, "1.4.5");
    cmd.arg("--no-prune");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_one_proceeds_the_other_is_refused_with_the_holder() {
    // Slow readiness keeps the first deploy holding the lock for a while.
    let c = cluster(behaviors(
        "  - match: \"*:1.4.2\"\n    behavior: ready\n    readyAfter: 40s\n",
        "echo migrated",
    ))
    .await;
    let mut first = common::spawn(&deploy_cmd(&c, "1.4.2"), &[], std::process::Stdio::piped());
    wait_for_lease(&c).await;

    let out = run(deploy_cmd(&c, "1.4.2")).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("locked by"), "{stderr}");
    assert!(
        stderr.contains("deploy local --version 1.4.2"),
        "the holder's command is named: {stderr}"
    );

    let status = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_deploys_lock_expires_and_the_next_deploy_proceeds() {
    let c = cluster(behaviors(
        "  - match: \"*:1.4.2\"\n    behavior: ready\n    readyAfter: 1h\n",
        "echo migrated",
    ))
    .await;
    let mut first = common::spawn(
        &deploy_cmd(&c, "1.4.2"),
        &[("FINTECHCTL_LOCK_TTL", "2")],
        std::process::Stdio::null(),
    );
    wait_for_lease(&c).await;
    first.kill().unwrap(); // SIGKILL: no chance to release the lock
    first.wait().unwrap();

    common::until_lease_expired(&c, "fintech-ai-local", Duration::from_secs(30)).await;
    c.sim.set_behaviors(behaviors("", "echo migrated"));
    let out = run(deploy_cmd(&c, "1.4.3")).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("expired deploy lock"), "{stderr}");
}

async fn wait_for_lease(c: &common::Cluster) {
    for _ in 0..200 {
        if c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock")
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the first deploy never took the lock");
}
