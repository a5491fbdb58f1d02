//! `fintechctl diff` against kube-sim: nothing after a deploy, a changed
//! image and replica count after a change, never a secret value, and the
//! documented exit codes.

use crate::common;

use common::{behaviors, cluster, run, text};

async fn deployed() -> common::Cluster {
    let c = cluster(behaviors("", "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_changes_right_after_a_deploy() {
    let c = deployed().await;
    let mut cmd = c.fintechctl();
    cmd.args(["diff", "local", "--version", "1.4.2"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(stdout, "");
    assert!(stderr.contains("No changes"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_and_replica_count_show_up_and_exit_1() {
    let c = deployed().await;
    let dir = tempfile::tempdir().unwrap();
    let local = include_str!("../../environments/local.yaml").replacen(
        "    replicas: 1\n",
        "    replicas: 2\n",
        1,
    );
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    let mut cmd = c.fintechctl();
    cmd.args(["diff", "local", "--version", "1.4.3", "--environments-dir"])
        .arg(dir.path());
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("--- live/Deployment/api-gateway"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+++ desired/Deployment/api-gateway"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-        image: fintech-ai/api-gateway:1.4.2")
            || stdout.contains("-      image: fintech-ai/api-gateway:1.4.2")
            || stdout
                .lines()
                .any(|l| l.starts_with('-') && l.contains("fintech-ai/api-gateway:1.4.2")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains("fintech-ai/api-gateway:1.4.3")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains("replicas: 2")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with('-') && l.contains("replicas: 1")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_secret_shows_digests_never_values() {
    let c = deployed().await;
    let mut cmd = c.fintechctl();
    cmd.env("POSTGRES_PASSWORD", "test-only-rotated-0009");
    cmd.args(["diff", "local", "--version", "1.4.2", "-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let diffs: Vec<serde_json::Value> = report["objects"].as_array().cloned().unwrap();
    assert!(
        diffs
            .iter()
            .any(|d| d["object"] == "Secret/fintech-ai-secrets"),
        "{stdout}"
    );
    for value in ["test-only-rotated-0009", "test-only-pg-0001"] {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "a secret value leaked"
        );
    }
    // Base64 of the values must not leak either.
    use base64::Engine;
    for value in ["test-only-rotated-0009", "test-only-pg-0001"] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        assert!(!stdout.contains(&encoded), "a base64 secret value leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_use_the_documented_exit_codes() {
    let c = cluster(behaviors("", "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["diff", "prodution", "--version", "1.4.2"]);
    assert_eq!(run(cmd).await.status.code(), Some(2));
    let mut cmd = c.fintechctl();
    cmd.args(["diff", "local", "--kubeconfig", "/nonexistent/kubeconfig"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing kubeconfig is bad input: {stderr}"
    );
    assert!(stderr.contains("/nonexistent/kubeconfig"), "{stderr}");
    // A cluster that does not answer is exit 3.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let yaml = c
        .sim
        .kubeconfig_yaml()
        .replace(&format!(":{}", c.sim.port()), &format!(":{port}"));
    std::fs::write(&c.kubeconfig, yaml).unwrap();
    let mut cmd = c.fintechctl();
    cmd.args(["diff", "local"]);
    assert_eq!(run(cmd).await.status.code(), Some(3));
}
