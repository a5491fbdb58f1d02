//! `verify`'s `alerts` check and `--bake` against a real Prometheus with
//! the rendered alert rules, scraping a test exporter whose error rate the
//! test raises.

use crate::common;

use std::sync::atomic::Ordering;

use common::prometheus::{Exporter, Prometheus};
use common::{behaviors_with, cluster, run, text};
use serde_json::Value;

/// The rendered prometheus-config's alert_rules.yml of `local`.
async fn rendered_rules(c: &common::Cluster) -> String {
    let mut cmd = c.fintechctl();
    cmd.args(["render", "local", "--only", "monitoring", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let objects: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let config = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "prometheus-config")
        .expect("prometheus-config rendered");
    config["data"]["alert_rules.yml"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The environments dir with `local` pointing its prometheusUrl at `url`.
fn environments(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let local = include_str!("../../environments/local.yaml").replace(
        "prometheusUrl: http://localhost:9090",
        &format!("prometheusUrl: {url}"),
    );
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    dir
}

async fn verify(
    c: &common::Cluster,
    envs: &tempfile::TempDir,
    args: &[&str],
) -> (Option<i32>, Value, String) {
    let mut cmd = c.fintechctl();
    cmd.args(["verify", "local", "-o", "json", "--environments-dir"])
        .arg(envs.path())
        .args(args);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON ({e}):\n{stdout}\n{stderr}"));
    (out.status.code(), report, stderr)
}

fn alerts(report: &Value) -> &Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "alerts")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alert_fails_and_a_silent_prometheus_passes() {
    let c = cluster(behaviors_with("", "echo ok", "")).await;
    let (exporter, target) = Exporter::start().await;
    let prom = Prometheus::start(target, &rendered_rules(&c).await).await;
    let envs = environments(&prom.url);
    prom.wait_for("up == 1", true).await;
    let (code, report, stderr) = verify(&c, &envs, &["--only", "alerts"]).await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(alerts(&report)["status"], "pass", "{report:#}");

    exporter.failing.store(true, Ordering::SeqCst);
    prom.wait_for(
        "ALERTS{alertname=\"HighErrorRate\",alertstate=\"firing\"}",
        true,
    )
    .await;
    let (code, report, _) = verify(&c, &envs, &["--only", "alerts"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    let check = alerts(&report);
    assert_eq!(check["status"], "fail");
    let evidence = check["evidence"].to_string();
    assert!(
        evidence.contains("firing: HighErrorRate (critical): High error rate detected"),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_prometheus_warns_and_fails_under_strict() {
    let c = cluster(behaviors_with("", "echo ok", "")).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let envs = environments(&format!("http://127.0.0.1:{port}"));
    let (code, report, _) = verify(&c, &envs, &["--only", "alerts"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(alerts(&report)["status"], "warn");
    assert!(
        alerts(&report)["summary"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{report:#}"
    );
    let (code, report, _) = verify(&c, &envs, &["--only", "alerts", "--strict"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(alerts(&report)["status"], "fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bake_passes_while_quiet_and_fails_when_the_error_rate_rises_mid_bake() {
    let c = cluster(behaviors_with("", "echo ok", "")).await;
    let (exporter, target) = Exporter::start().await;
    let prom = Prometheus::start(target, &rendered_rules(&c).await).await;
    let envs = environments(&prom.url);
    prom.wait_for("up == 1", true).await;

    let (code, report, stderr) = verify(
        &c,
        &envs,
        &[
            "--only",
            "alerts",
            "--bake",
            "2s",
            "--bake-interval",
            "500ms",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(report["bake"]["status"], "pass", "{report:#}");
    assert!(
        report["bake"]["rounds"].as_u64().unwrap() >= 3,
        "{report:#}"
    );

    let failing = exporter.failing.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        failing.store(true, Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let (code, report, stderr) = verify(
        &c,
        &envs,
        &[
            "--only",
            "alerts",
            "--bake",
            "60s",
            "--bake-interval",
            "500ms",
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "fails the moment it crosses, not after 60s: {:?}",
        started.elapsed()
    );
    assert_eq!(report["bake"]["status"], "fail");
    let summary = report["bake"]["summary"].as_str().unwrap();
    assert!(summary.contains("error-rate: {"), "{summary}");
    assert!(summary.contains("status=\"500\""), "{summary}");
    assert!(stderr.contains("bake failed"), "{stderr}");
}

/// A stand-in for Prometheus on a free port: `/api/v1/alerts` answers
/// `alerts`, `/api/v1/query` answers `query`, both 200 JSON. Its URL.
async fn answering(alerts: &'static str, query: &'static str) -> String {
    use common::servers::{Reply, serve};
    let addr = serve(move |path| {
        Reply::Json(
            if path.starts_with("/api/v1/alerts") {
                alerts
            } else {
                query
            }
            .to_string(),
        )
    })
    .await;
    format!("http://{addr}")
}

const NO_ALERTS: &str = r#"{"status":"success","data":{"alerts":[]}}"#;
const NO_SERIES: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_prometheus_answer_warns_fails_under_strict_and_fails_the_bake() {
    let c = cluster(behaviors_with("", "echo ok", "")).await;
    // The documented quiet answers pass: the stand-in is a fair Prometheus.
    let envs = environments(&answering(NO_ALERTS, NO_SERIES).await);
    let (code, report, stderr) = verify(
        &c,
        &envs,
        &[
            "--only",
            "alerts",
            "--bake",
            "1s",
            "--bake-interval",
            "200ms",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(alerts(&report)["status"], "pass", "{report:#}");
    assert_eq!(report["bake"]["status"], "pass", "{report:#}");

    for (body, why) in [
        (
            r#"{"status":"success","data":{}}"#,
            "no `data.alerts` (an array expected)",
        ),
        (
            r#"{"status":"success","data":{"alerts":"nope"}}"#,
            "`data.alerts` is a string, an array expected",
        ),
        (r#"{"status":"success"}"#, "no `data` (an object expected)"),
        (
            r#"{"status":"success","data":{"alerts":[{"state":"firing"}]}}"#,
            "no `data.alerts[0].labels`",
        ),
    ] {
        let envs = environments(&answering(body, NO_SERIES).await);
        let (code, report, stderr) = verify(&c, &envs, &["--only", "alerts"]).await;
        assert_eq!(code, Some(0), "{body}: {report:#}\n{stderr}");
        let check = alerts(&report);
        assert_eq!(check["status"], "warn", "{body}: {report:#}");
        assert!(
            check["summary"].as_str().unwrap().contains(why),
            "{body}: {report:#}"
        );
        let (code, report, _) = verify(&c, &envs, &["--only", "alerts", "--strict"]).await;
        assert_eq!(code, Some(1), "{body}: {report:#}");
        assert_eq!(alerts(&report)["status"], "fail", "{body}: {report:#}");
    }

    // A query result that is an object is not "no threshold crossed": the
    // bake fails once its allowance of failed rounds is spent.
    let envs = environments(
        &answering(
            NO_ALERTS,
            r#"{"status":"success","data":{"resultType":"vector","result":{}}}"#,
        )
        .await,
    );
    let (code, report, stderr) = verify(
        &c,
        &envs,
        &[
            "--only",
            "alerts",
            "--bake",
            "20s",
            "--bake-interval",
            "100ms",
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    assert_eq!(report["bake"]["status"], "fail", "{report:#}");
    let summary = report["bake"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("no usable answer 3 rounds in a row"),
        "{summary}"
    );
    assert!(
        report["bake"]["evidence"]
            .to_string()
            .contains("`data.result` is an object, an array expected"),
        "{report:#}"
    );
}
