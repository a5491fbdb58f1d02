//! `fintechctl verify` against kube-sim with real HTTP servers behind the
//! service proxy: a fresh deploy passes, each broken thing fails its own
//! check with its evidence, and the exit code is the verdict.

use crate::common;

use std::net::SocketAddr;

use common::servers::{self, Mode};
use common::{SECRETS, behaviors_with, cluster, run, text};
use serde_json::Value;

const NS: &str = "fintech-ai-local";

/// A cluster whose api-gateway, ml-service and frontend ports lead to
/// local servers in these modes, with release 1.4.2 deployed.
async fn deployed(api: Mode, ml: Mode, frontend: Mode) -> common::Cluster {
    let targets: Vec<(&str, u16, SocketAddr)> = vec![
        ("api-gateway", 8000, servers::http(api).await),
        ("ml-service", 8001, servers::http(ml).await),
        ("frontend", 3000, servers::http(frontend).await),
    ];
    let c = cluster(behaviors_with(
        "",
        "echo ok",
        &servers::ports_yaml(&targets),
    ))
    .await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "deploy: {}", text(&out).1);
    c
}

/// Runs `cmd`, calls `act` once a stderr line contains `needle` (the run is
/// then past that step), and returns all of stderr and the exit status.
async fn run_acting_on(
    cmd: &assert_cmd::Command,
    needle: &'static str,
    act: impl FnOnce() + Send + 'static,
) -> (String, std::process::ExitStatus) {
    let mut child = common::spawn(cmd, &[], std::process::Stdio::piped());
    let stderr = child.stderr.take().unwrap();
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        let mut lines = std::io::BufReader::new(stderr).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                act();
                break;
            }
        }
        seen.extend(lines.map_while(Result::ok));
        (seen.join("\n"), child.wait().unwrap())
    })
    .await
    .unwrap()
}

async fn verify(c: &common::Cluster, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut cmd = c.fintechctl();
    cmd.args(["verify", "local", "-o", "json"]).args(args);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    for (_, secret) in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret leaked:\n{stdout}\n{stderr}"
        );
    }
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (out.status.code(), report, stderr)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn evidence(check: &Value) -> String {
    check["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_deploy_passes_every_check_and_the_report_is_stable() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    let (code, report, stderr) = verify(&c, &["--skip", "alerts"]).await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    for id in [
        "release",
        "rollout",
        "pods",
        "endpoints",
        "http",
        "drift",
        "policy",
        "autoscaling",
        "quota",
    ] {
        assert_eq!(
            check(&report, id)["status"],
            "pass",
            "{id}: {:#}",
            check(&report, id)
        );
    }
    assert_eq!(check(&report, "tls")["status"], "skipped");
    assert_eq!(check(&report, "alerts")["status"], "skipped");
    assert!(evidence(check(&report, "http")).contains("GET api-gateway:8000/metrics: 200"));
    insta::with_settings!({filters => vec![
        (r#""elapsed": [0-9.]+"#, r#""elapsed": "[SECS]""#),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[DURATION]"),
        (r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]"),
        (r#"by [^\n"]+? at "#, "by [USER] at "),
        (r"revision (\w+)-[0-9a-f]{8,10}\b", "revision $1-[HASH]"),
        (r#"/tmp/[^`"]+"#, "[TMP]"),
        (r"-[a-z0-9]{8,10}-[a-z0-9]{5}\b", "-[POD]"),
        (r"-0\b", "-0"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d+ live objects", "[N] live objects"),
        (r"\d+ objects equal", "[N] objects equal"),
    ]}, {
        insta::assert_json_snapshot!("verify_local_healthy", report);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_answering_503_on_ready_fails_http_with_its_body() {
    let c = deployed(Mode::Healthy, Mode::NotReady, Mode::Healthy).await;
    let (code, report, stderr) = verify(&c, &["--only", "http,pods"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    let http = check(&report, "http");
    assert_eq!(http["status"], "fail");
    let ev = evidence(http);
    assert!(ev.contains("GET ml-service:8001/ready: 503"), "{ev}");
    assert!(
        ev.contains("connection refused"),
        "the body's first lines: {ev}"
    );
    assert!(ev.contains("GET ml-service:8001/health: 200"), "{ev}");
    assert!(
        http["hint"]
            .as_str()
            .unwrap()
            .contains("`fintechctl debug logs local ml-service` shows why it answers 503")
    );
    assert_eq!(check(&report, "pods")["status"], "pass");
    assert_eq!(check(&report, "release")["status"], "skipped");
    assert_eq!(report["checks"][0]["id"], "http", "worst first");
    assert!(stderr.contains("http did not pass"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_hangs_fails_http_at_its_deadline() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Hangs).await;
    let started = std::time::Instant::now();
    let (code, report, _) = verify(&c, &["--only", "http", "--http-timeout", "1s"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let ev = evidence(check(&report, "http"));
    assert!(
        ev.contains("GET frontend:3000/: no answer within 1s"),
        "{ev}"
    );
    assert!(
        ev.contains("GET api-gateway:8000/health: 200"),
        "the others still answer: {ev}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_by_another_field_manager_names_the_fields_and_the_manager() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(client, NS);
    let params = kube::api::PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    api.patch(
        "frontend",
        &params,
        &kube::api::Patch::Merge(serde_json::json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    let (code, report, _) = verify(&c, &["--only", "drift,release"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    let drift = check(&report, "drift");
    assert_eq!(drift["status"], "fail");
    let ev = evidence(drift);
    assert!(
        ev.contains("Deployment/frontend: .spec.replicas (changed by kubectl-edit)"),
        "{ev}"
    );
    assert!(
        !ev.contains("Deployment/api-gateway"),
        "only what changed: {ev}"
    );
    assert_eq!(check(&report, "release")["status"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdb_allowing_no_disruption_warns_and_fails_only_under_strict() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    c.sim
        .create(
            serde_json::json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "frontend-pdb", "namespace": NS},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "frontend"}}}}),
        )
        .unwrap();
    // The controller computes the budget's status.
    let mut status = Value::Null;
    for _ in 0..50 {
        status = c
            .get("policy/v1", "PodDisruptionBudget", NS, "frontend-pdb")
            .unwrap()["status"]
            .clone();
        if status["currentHealthy"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status["disruptionsAllowed"], 0, "{status}");
    let (code, report, _) = verify(&c, &["--only", "autoscaling"]).await;
    assert_eq!(code, Some(0), "a warning alone passes: {report:#}");
    let autoscaling = check(&report, "autoscaling");
    assert_eq!(autoscaling["status"], "warn");
    assert!(
        evidence(autoscaling)
            .contains("PDB/frontend-pdb: allows 0 disruptions (1 healthy, 1 required)")
    );
    assert!(autoscaling["hint"].as_str().unwrap().contains("node drain"));
    let (code, report, _) = verify(&c, &["--only", "autoscaling", "--strict"]).await;
    assert_eq!(code, Some(1), "--strict fails on warnings: {report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_version_than_the_live_one_fails_release() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    let (code, report, _) = verify(&c, &["--only", "release", "--version", "1.4.3"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    let ev = evidence(check(&report, "release"));
    assert!(
        ev.contains("--version 1.4.3: the newest revision deployed 1.4.2"),
        "{ev}"
    );
    assert!(
        ev.contains(
            "Deployment/api-gateway: container api-gateway runs fintech-ai/api-gateway:1.4.2"
        ),
        "{ev}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_namespace_fails_without_a_release_record() {
    let c = cluster(behaviors_with("", "echo ok", "")).await;
    let (code, report, _) = verify(&c, &["--only", "release,rollout,drift"]).await;
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(check(&report, "release")["summary"], "no release recorded");
    assert_eq!(check(&report, "drift")["status"], "skipped");
    assert_eq!(check(&report, "rollout")["status"], "fail");
}

#[test]
fn unknown_check_ids_are_refused_with_the_known_ones() {
    let out = assert_cmd::Command::cargo_bin("fintechctl")
        .unwrap()
        .args(["verify", "local", "--skip", "pods,htpp"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--skip: unknown check `htpp`"), "{stderr}");
    assert!(stderr.contains("release, rollout, pods, endpoints, http, drift, policy, autoscaling, quota, tls, alerts"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(&kubeconfig, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\ncontexts:\n- name: x\n  context: {{cluster: x, user: x}}\ncurrent-context: x\nusers:\n- name: x\n  user: {{token: t}}\n")).unwrap();
    let out = assert_cmd::Command::cargo_bin("fintechctl")
        .unwrap()
        .args([
            "verify",
            "local",
            "--request-timeout",
            "2s",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["exitCode"], 3);
}

/// Certificates made here with rcgen, judged by the `tls` check at a fixed "now".
mod tls {
    use fintechctl::checks::Status;
    use fintechctl::checks::tls::check;
    use k8s_openapi::jiff::Timestamp;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd,
    };

    const HOST: &str = "app.fintech-ai-platform.com";

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    struct Ca {
        pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    fn ca() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Test Root CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = date_time_ymd(2025, 1, 1);
        params.not_after = date_time_ymd(2035, 1, 1);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `names`, valid until `y-m-d`, signed by `ca`.
    fn leaf(ca: &Ca, names: &[&str], until: (i32, u8, u8)) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.not_before = date_time_ymd(2026, 1, 1);
        params.not_after = date_time_ymd(until.0, until.1, until.2);
        params.signed_by(&key, &ca.issuer).unwrap().pem()
    }

    fn judge(bundle: &str) -> fintechctl::checks::CheckResult {
        check("fintech-ai-tls", HOST, Some(bundle.as_bytes()), None, now())
    }

    #[test]
    fn a_valid_chain_for_the_host_passes() {
        let ca = ca();
        let bundle = format!("{}{}", leaf(&ca, &[HOST], (2026, 12, 1)), ca.pem);
        let r = judge(&bundle);
        assert_eq!(r.status, Status::Pass, "{r:#?}");
        let ev = r.evidence.join("\n");
        assert!(ev.contains("covers app.fintech-ai-platform.com"), "{ev}");
        assert!(ev.contains("is signed by `CN=Test Root CA`"), "{ev}");
        assert!(
            ev.contains("valid until 2026-12-01 00:00 UTC (183 days)"),
            "{ev}"
        );
    }

    #[test]
    fn a_wildcard_covers_the_host() {
        let ca = ca();
        let r = judge(&format!(
            "{}{}",
            leaf(&ca, &["*.fintech-ai-platform.com"], (2027, 1, 1)),
            ca.pem
        ));
        assert_eq!(r.status, Status::Pass, "{r:#?}");
    }

    #[test]
    fn an_expired_certificate_fails() {
        let ca = ca();
        let r = judge(&format!("{}{}", leaf(&ca, &[HOST], (2026, 5, 1)), ca.pem));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.summary
                .contains("expired on 2026-05-01 00:00 UTC (31 days ago)"),
            "{}",
            r.summary
        );
        assert!(r.hint.unwrap().contains("renew"));
    }

    #[test]
    fn a_certificate_expiring_within_14_days_warns() {
        let ca = ca();
        let r = judge(&format!("{}{}", leaf(&ca, &[HOST], (2026, 6, 6)), ca.pem));
        assert_eq!(r.status, Status::Warn, "{r:#?}");
        assert!(
            r.summary
                .contains("expires on 2026-06-06 00:00 UTC (in 5 days)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_certificate_for_another_host_fails() {
        let ca = ca();
        let r = judge(&format!(
            "{}{}",
            leaf(&ca, &["other.example.com"], (2027, 1, 1)),
            ca.pem
        ));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.summary.contains("does not cover app.fintech-ai-platform.com (subject alternative names: other.example.com)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_leaf_without_its_issuer_warns_and_one_signed_by_another_ca_fails() {
        let ca1 = ca();
        let ca2 = ca();
        let r = judge(&leaf(&ca1, &[HOST], (2027, 1, 1)));
        assert_eq!(r.status, Status::Warn, "{r:#?}");
        assert!(
            r.summary.contains("the issuer `CN=Test Root CA` of"),
            "{}",
            r.summary
        );
        // Same name, other key: the signature does not verify.
        let r = judge(&format!("{}{}", leaf(&ca1, &[HOST], (2027, 1, 1)), ca2.pem));
        assert_eq!(r.status, Status::Fail, "{r:#?}");
        assert!(
            r.summary.contains("is not signed by the next certificate"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_missing_secret_or_garbage_fails() {
        let r = check("fintech-ai-tls", HOST, None, None, now());
        assert_eq!(r.status, Status::Fail);
        assert!(r.evidence[0].contains("Secret/fintech-ai-tls does not exist"));
        let r = judge("-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n");
        assert_eq!(r.status, Status::Fail);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpa_recommendation_far_from_the_request_warns() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    c.sim
        .create(serde_json::json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "metadata": {"name": "frontend-vpa", "namespace": NS},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend"},
                "updatePolicy": {"updateMode": "Off"}}}))
        .unwrap();
    // What the recommender would write: far above the 100m cpu request,
    // equal to the 128Mi memory request.
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler"),
        "verticalpodautoscalers",
    );
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client, NS, &resource);
    api.patch_status(
        "frontend-vpa",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            serde_json::json!({"status": {"recommendation": {"containerRecommendations": [
            {"containerName": "frontend", "target": {"cpu": "1", "memory": "128Mi"}}]}}}),
        ),
    )
    .await
    .unwrap();
    let (code, report, _) = verify(&c, &["--only", "autoscaling"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    let autoscaling = check(&report, "autoscaling");
    assert_eq!(autoscaling["status"], "warn", "{autoscaling:#}");
    let ev = evidence(autoscaling);
    assert!(
        ev.contains("VPA/frontend-vpa: frontend cpu recommendation 1 vs request 100m (10.0x)"),
        "{ev}"
    );
    assert!(
        ev.contains("VPA/frontend-vpa: frontend memory recommendation 128Mi vs request 128.0 MiB"),
        "{ev}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_table_puts_failures_first_with_evidence_and_hint() {
    let c = deployed(Mode::Healthy, Mode::NotReady, Mode::Healthy).await;
    let mut cmd = c.fintechctl();
    cmd.args(["verify", "local", "--only", "http,pods,endpoints"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].trim_start().starts_with("CHECK"), "{stdout}");
    assert!(
        lines[1].trim_start().starts_with("http") && lines[1].contains("FAIL"),
        "worst first:\n{stdout}"
    );
    assert!(
        stdout.contains("\nhttp (fail):\n  • GET ml-service:8001/ready: 503"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  hint: `fintechctl debug logs local ml-service`"),
        "{stdout}"
    );
    assert!(
        stderr.contains("pass") && stderr.contains("pods: "),
        "progress on stderr: {stderr}"
    );
    // Not a terminal: no colour at all.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");

    // With colour: a failure reads red, a pass green (`fail` was green too).
    let mut cmd = c.fintechctl();
    cmd.args([
        "verify",
        "local",
        "--only",
        "http,pods",
        "--color",
        "always",
    ]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\u{1b}[31m\u{1b}[1m        fail\u{1b}[0m http: "),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("\u{1b}[32m\u{1b}[1m        pass\u{1b}[0m pods: "),
        "{stderr:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_verify_waiting_on_a_hung_service_with_130() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Hangs).await;
    let mut cmd = c.fintechctl();
    cmd.args(["verify", "local", "--only", "http", "--http-timeout", "60s"]);
    let mut child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    // Once connected, the only check left is the hung service's.
    let stderr = child.stderr.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let connected = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("Connected"));
        assert!(connected, "verify never connected");
        lines
    })
    .await
    .unwrap();
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // SAFETY: signalling our own child by its pid.
    unsafe { kill(child.id() as i32, 2) };
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(lines);
}

/// Issue 21 item 9: an API server that freezes while the checks run is
/// named (exit 3), not blamed on the release as a failed check (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_frozen_mid_run_is_named_not_blamed_on_the_release() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Hangs).await;
    let mut cmd = c.fintechctl();
    cmd.args([
        "verify",
        "local",
        "--http-timeout",
        "5s",
        "--request-timeout",
        "2s",
    ]);
    let sim_faults = c.sim.faults();
    let (stderr, status) = run_acting_on(&cmd, "Verifying", move || {
        // Everything read; the checks are running: freeze.
        sim_faults.set_latency(Some(std::time::Duration::from_secs(3600)))
    })
    .await;
    c.sim.faults().clear();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lost the API server at"), "{stderr}");
}

/// Issue 21 item 9: the API server's own 500s on the service proxy (a
/// `Status` body, not the service's answer) are tried again instead of
/// failing the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_servers_own_proxy_errors_are_retried_not_blamed_on_the_service() {
    let c = deployed(Mode::Healthy, Mode::Healthy, Mode::Healthy).await;
    let mut cmd = c.fintechctl();
    cmd.args(["verify", "local", "--only", "http", "--http-timeout", "10s"]);
    let faults = c.sim.faults();
    let (stderr, status) = run_acting_on(&cmd, "Verifying", move || {
        // Everything read; the http check is about to ask: half of the
        // proxy requests now get the API server's own 500.
        faults.set_error_rate(0.5, 500)
    })
    .await;
    c.sim.faults().clear();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("pass http"), "{stderr}");
}

/// A server whose `/health` answers 200 with a 100 MB body (streamed);
/// every other path `{"status": "ok"}`.
async fn huge_health() -> SocketAddr {
    servers::serve(|path| match path {
        "/health" => servers::Reply::Huge(100 << 20),
        _ => servers::Reply::Json("{\"status\": \"ok\"}".to_string()),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_health_body_fails_http_without_being_held_in_memory() {
    let targets: Vec<(&str, u16, SocketAddr)> = vec![
        ("api-gateway", 8000, huge_health().await),
        ("ml-service", 8001, servers::http(Mode::Healthy).await),
        ("frontend", 3000, servers::http(Mode::Healthy).await),
    ];
    let c = cluster(behaviors_with(
        "",
        "echo ok",
        &servers::ports_yaml(&targets),
    ))
    .await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "deploy: {}", text(&out).1);

    let (code, report, stderr) = verify(&c, &["--only", "http", "--http-timeout", "30s"]).await;
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    let ev = evidence(check(&report, "http"));
    assert!(
        ev.contains("GET api-gateway:8000/health: 200 in")
            && ev.contains("answer larger than 4.0 MiB"),
        "{ev}"
    );
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let rss = usage.ru_maxrss as u64 * 1024;
    assert!(
        rss < 200 << 20,
        "verify held the body in memory: {} MiB",
        rss >> 20
    );
}
