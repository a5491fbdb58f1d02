//! Canary deploys against kube-sim (docs/canary.md): a healthy canary is
//! promoted, a failing one aborted with the stable version untouched, a
//! silent one (no requests) fails as inconclusive, SIGTERM mid-step leaves
//! no canary taking traffic. The analysis asks a real Prometheus scraping
//! one test exporter per service and track (labelled as the rendered
//! kubernetes-pods job labels a pod's series), whose load the test sets.

use crate::common;

use std::time::{Duration, Instant};

use common::prometheus::{Load, Prometheus, Target, Traffic};
use common::{behaviors, cluster, run, text};
use serde_json::{Value, json};

const NS: &str = "fintech-ai-prod";
const APPS: [&str; 3] = ["api-gateway", "ml-service", "frontend"];

/// No 5xx, 50 ms.
fn healthy() -> Load {
    Load::of(0, 0.05)
}

/// Half the requests 5xx.
fn failing() -> Load {
    Load::of(50, 0.05)
}

/// No request at all: the series stay at 0, every share is 0/0.
fn silent() -> Load {
    Load {
        requests: 0,
        errors: 0,
        latency: Some(0.05),
    }
}

/// Prometheus and the exporters of both tracks of every app.
struct Metrics {
    prom: Prometheus,
    _canary: Vec<Traffic>,
    _stable: Vec<Traffic>,
}

impl Metrics {
    /// The canary exporters answer `canary` from the start, so every
    /// analysis window holds only that load.
    async fn start(canary_load: Load) -> Metrics {
        let mut targets = Vec::new();
        let (mut canary, mut stable) = (Vec::new(), Vec::new());
        for app in APPS {
            for (track, version) in [("canary", "1.5.0"), ("stable", "1.4.2")] {
                let load = if track == "canary" {
                    canary_load
                } else {
                    healthy()
                };
                let (traffic, addr) = Traffic::start(load).await;
                targets.push(Target::pod(addr, NS, app, track, version));
                if track == "canary" {
                    canary.push(traffic);
                } else {
                    stable.push(traffic);
                }
            }
        }
        let prom = Prometheus::start_targets(&targets).await;
        Metrics {
            prom,
            _canary: canary,
            _stable: stable,
        }
    }

    /// Waits until every target was scraped a few times.
    async fn scraped(&self) {
        self.prom
            .wait_until(
                "min(count_over_time(up[1m])) >= 3 and count(up) == 6",
                Duration::from_secs(90),
            )
            .await;
    }
}

struct Setup {
    c: common::Cluster,
    envs: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    metrics: Metrics,
}

/// kube-sim with production's prerequisites, production's environment file
/// pointing at the stand-in Prometheus (failureLimit 2), and 1.4.2 deployed
/// (a first install: rolling).
async fn setup(canary_load: Load) -> Setup {
    setup_with(|yaml| yaml, canary_load).await
}

/// [`setup`] with production's environment file changed by `edit`.
async fn setup_with(edit: impl Fn(String) -> String, canary_load: Load) -> Setup {
    let c = cluster(behaviors("", "echo migrated")).await;
    common::seed_autoscaler_secret(&c);
    let (cert, key) = common::fake_tls(&c);
    let metrics = Metrics::start(canary_load).await;
    let url = metrics.prom.url.clone();
    let envs = tempfile::tempdir().unwrap();
    let production = include_str!("../../environments/production.yaml")
        .replace(
            "prometheusUrl: https://prometheus.fintech-ai-platform.com",
            &format!("prometheusUrl: {url}"),
        )
        .replace("    failureLimit: 3\n", "    failureLimit: 2\n");
    let production = edit(production);
    assert!(production.contains(&url) && production.contains("failureLimit: 2"));
    std::fs::write(envs.path().join("production.yaml"), production).unwrap();
    let s = Setup {
        c,
        envs,
        cert,
        key,
        metrics,
    };
    let out = run(s.deploy("1.4.2", &[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("rolling: no canary (first install"),
        "a first install cannot canary: {stderr}"
    );
    s
}

impl Setup {
    fn deploy(&self, version: &str, extra: &[&str]) -> assert_cmd::Command {
        self.deploy_every(version, "1s", extra)
    }

    fn deploy_every(&self, version: &str, interval: &str, extra: &[&str]) -> assert_cmd::Command {
        self.deploy_within(version, interval, "120s", extra)
    }

    fn deploy_within(
        &self,
        version: &str,
        interval: &str,
        timeout: &str,
        extra: &[&str],
    ) -> assert_cmd::Command {
        let mut cmd = self.c.fintechctl();
        cmd.args([
            "deploy",
            "production",
            "--yes",
            "--version",
            version,
            "--timeout",
            timeout,
            "--canary-interval",
            interval,
            "--environments-dir",
        ])
        .arg(self.envs.path())
        .arg("--tls-cert")
        .arg(&self.cert)
        .arg("--tls-key")
        .arg(&self.key)
        .args(extra);
        cmd
    }

    /// Each app's image and replica count.
    fn stable(&self) -> Vec<(String, Value)> {
        APPS.iter()
            .map(|name| {
                let d = self
                    .c
                    .get("apps/v1", "Deployment", NS, name)
                    .unwrap_or_else(|| panic!("Deployment/{name}"));
                (
                    d["spec"]["template"]["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    d["spec"]["replicas"].clone(),
                )
            })
            .collect()
    }

    /// The canary objects still in the cluster.
    fn canary_objects(&self) -> Vec<String> {
        let mut left = Vec::new();
        for name in APPS {
            let canary = format!("{name}-canary");
            if self.c.get("apps/v1", "Deployment", NS, &canary).is_some() {
                left.push(format!("Deployment/{canary}"));
            }
            if self.c.get("v1", "Service", NS, &canary).is_some() {
                left.push(format!("Service/{canary}"));
            }
        }
        if self
            .c
            .get("networking.k8s.io/v1", "Ingress", NS, "fintech-ai-canary")
            .is_some()
        {
            left.push("Ingress/fintech-ai-canary".into());
        }
        left
    }

    /// The main Services select every pod of their app again.
    fn assert_selectors_restored(&self) {
        for name in ["api-gateway", "frontend"] {
            let svc = self.c.get("v1", "Service", NS, name).unwrap();
            assert_eq!(svc["spec"]["selector"], json!({"app": name}), "{name}");
        }
    }

    fn finish(&self, action: &str) -> assert_cmd::Command {
        let mut cmd = self.c.fintechctl();
        cmd.args([
            action,
            "production",
            "--yes",
            "--timeout",
            "120s",
            "-o",
            "json",
        ])
        .arg("--environments-dir")
        .arg(self.envs.path());
        cmd
    }

    async fn history(&self) -> Vec<Value> {
        let mut cmd = self.c.fintechctl();
        cmd.args(["history", "production", "-o", "json", "--environments-dir"])
            .arg(self.envs.path());
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["revisions"].as_array().cloned().unwrap_or_default()
    }
}

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r#""elapsed": [0-9.]+"#, r#""elapsed": "[SECS]""#),
    ]
}

/// The parts of a deploy's `-o json` document a canary adds or decides.
fn canary_document(doc: &Value) -> Value {
    json!({
        "outcome": doc["outcome"],
        "revision": doc["revision"],
        "canary": doc["canary"],
        "error": doc["error"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_is_promoted() {
    let s = setup(healthy()).await;
    // The HPA scaled api-gateway to 5 (as the controller would, through
    // the scale subresource): the promotion keeps the HPA's count.
    let client = kube::Client::try_from(kube::Config::new(s.c.sim.url().parse().unwrap())).unwrap();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, NS);
    deployments
        .patch_scale(
            "api-gateway",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    s.metrics.scraped().await;
    let out = run(s.deploy("1.5.0", &["-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Strategy"), "{stderr}");
    assert!(
        stderr.contains("canary for api-gateway, frontend, ml-service"),
        "{stderr}"
    );
    assert!(
        stderr.contains("10%: pass"),
        "every round is said: {stderr}"
    );
    assert!(stderr.contains("50%: pass"), "{stderr}");
    assert!(stderr.contains("Promoting"), "{stderr}");
    assert!(
        stderr.contains("frontend: pods not scraped by Prometheus"),
        "the frontend's pods carry no prometheus.io/scrape: judged by its pods: {stderr}"
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["outcome"], "succeeded");
    assert_eq!(doc["canary"]["outcome"], "promoted");
    let steps = doc["canary"]["steps"].as_array().unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| s["weight"].clone())
            .collect::<Vec<_>>(),
        [json!(10), json!(50)]
    );
    // The stable Deployments run the new version; nothing of the canary is left.
    for (image, _) in s.stable() {
        assert!(image.ends_with(":1.5.0"), "{image}");
    }
    assert_eq!(s.stable()[0].1, 5, "the HPA's replica count is kept");
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    let revisions = s.history().await;
    assert_eq!(revisions[0]["version"], "1.5.0");
    assert_eq!(revisions[0]["status"], "succeeded");
    assert_eq!(
        revisions[0]["canary"]["outcome"], "promoted",
        "{:?}",
        revisions[0]
    );
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("canary_promoted", serde_json::to_string_pretty(&canary_document(&doc)).unwrap());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_is_aborted_with_stable_untouched() {
    let s = setup(failing()).await;
    let before = s.stable();
    s.metrics.scraped().await;
    let out = run(s.deploy("1.5.0", &["-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the canary failed at 10%") && stderr.contains("is 0.5 (threshold 0.1)"),
        "the failing value and threshold: {stderr}"
    );
    assert!(stderr.contains("query: "), "the failing query: {stderr}");
    assert!(stderr.contains("Canary removed"), "{stderr}");
    // Stable untouched: the same images, the same replica counts.
    assert_eq!(s.stable(), before);
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["outcome"], "aborted");
    assert_eq!(doc["canary"]["outcome"], "aborted");
    let revisions = s.history().await;
    assert_eq!(revisions[0]["version"], "1.5.0");
    assert_eq!(revisions[0]["status"], "aborted");
    assert_eq!(
        revisions[1]["status"], "succeeded",
        "1.4.2 is still the release"
    );
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("canary_aborted", serde_json::to_string_pretty(&canary_document(&doc)).unwrap());
    });
}

/// After an aborted canary the stable version still runs: verify judges
/// the environment by the stable revision (release, rollout and drift
/// pass) and says the newest revision was an aborted canary, instead of
/// failing drift and rollout against the version that never went live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_after_an_aborted_canary_judges_the_stable_revision() {
    let s = setup(failing()).await;
    s.metrics.scraped().await;
    let out = run(s.deploy("1.5.0", &[])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let mut cmd = s.c.fintechctl();
    cmd.args([
        "verify",
        "production",
        "--only",
        "release,rollout,drift",
        "-o",
        "json",
    ])
    .arg("--environments-dir")
    .arg(s.envs.path());
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(doc["version"], "1.4.2", "{doc:#}");
    for check in doc["checks"].as_array().unwrap() {
        assert_ne!(check["status"], "fail", "{check:#}");
    }
    let release = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "release")
        .unwrap();
    assert_eq!(release["status"], "warn", "{release:#}");
    assert!(
        release.to_string().contains("aborted canary"),
        "{release:#}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_canary_fails_as_inconclusive() {
    let s = setup(silent()).await;
    let before = s.stable();
    s.metrics.scraped().await;
    let out = run(s.deploy("1.5.0", &["-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no traffic reached the canary"),
        "no series is not a pass: {stderr}"
    );
    assert!(stderr.contains("10%: inconclusive"), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let rounds = doc["canary"]["steps"][0]["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2, "failureLimit 2: {doc:#}");
    assert!(rounds.iter().all(|r| r["verdict"] == "inconclusive"));
    assert_eq!(s.stable(), before);
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    assert_eq!(s.history().await[0]["status"], "aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_step_leaves_no_canary_taking_traffic() {
    let s = setup(healthy()).await;
    let before = s.stable();
    // A step that lasts: the signal comes while the canary takes traffic.
    let cmd = s.deploy_every("1.5.0", "10m", &[]);
    let child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    let started = Instant::now();
    while s
        .c
        .get("networking.k8s.io/v1", "Ingress", NS, "fintech-ai-canary")
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the canary Ingress never appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Canary removed"), "{stderr}");
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    assert_eq!(s.stable(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_canary_flags_exit_2_naming_the_flag() {
    for (flag, value, words) in [
        ("--canary-steps", "50,10", "strictly ascending"),
        ("--canary-steps", "10,100", "1 to 99"),
        ("--canary-interval", "500ms", "from 1s to 1h"),
        ("--strategy", "blue-green", "blue-green"),
    ] {
        let mut cmd = assert_cmd::Command::cargo_bin("fintechctl").unwrap();
        cmd.args([
            "deploy",
            "staging",
            "--version",
            "1.4.2",
            "--dry-run",
            flag,
            value,
        ]);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains(words), "{stderr}");
    }
}

fn manual(yaml: String) -> String {
    let edited = yaml.replace(
        "    manualPromotion: false\n",
        "    manualPromotion: true\n",
    );
    assert_ne!(edited, yaml, "production's manualPromotion moved");
    edited
}

/// A paused canary: exit 0, canary kept, stable at 1.4.2, record paused.
async fn paused(s: &Setup) {
    let out = run(s.deploy("1.5.0", &["-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("fintechctl promote production"), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["outcome"], "paused");
    assert_eq!(doc["canary"]["outcome"], "paused");
    assert!(
        s.canary_objects()
            .contains(&"Ingress/fintech-ai-canary".to_string()),
        "the canary is kept: {:?}",
        s.canary_objects()
    );
    for (image, _) in s.stable() {
        assert!(image.ends_with(":1.4.2"), "{image}");
    }
    let revisions = s.history().await;
    assert_eq!(revisions[0]["status"], "paused");
    assert_eq!(
        s.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock")
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
            .filter(|h| !h.is_empty()),
        None,
        "the lock is released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_promotion_pauses_then_promote_finishes() {
    let s = setup_with(manual, healthy()).await;
    s.metrics.scraped().await;
    paused(&s).await;
    // verify and debug say a canary is in progress, not drift.
    let mut cmd = s.c.fintechctl();
    cmd.args(["verify", "production", "--only", "drift", "-o", "json"])
        .arg("--environments-dir")
        .arg(s.envs.path());
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let drift = &doc["checks"][0];
    assert_eq!(drift["id"], "drift", "{doc:#}");
    assert_eq!(drift["status"], "warn", "{doc:#}");
    assert!(
        drift["summary"]
            .as_str()
            .is_some_and(|t| t.contains("a canary is in progress")),
        "{doc:#}"
    );
    let mut cmd = s.c.fintechctl();
    cmd.args(["debug", "production"])
        .arg("--environments-dir")
        .arg(s.envs.path());
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("canary in progress: ") && !stdout.contains("is not in revision"),
        "{stdout}\n{stderr}"
    );
    // Another deploy is refused while the canary waits.
    let out = run(s.deploy("1.5.1", &[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("fintechctl promote production")
            && stderr.contains("fintechctl abort production"),
        "{stderr}"
    );

    let out = run(s.finish("promote")).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["outcome"], "promoted", "{doc:#}");
    assert!(
        doc["health"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["check"] == "pods"),
        "the canary's health is checked first: {doc:#}"
    );
    for (image, _) in s.stable() {
        assert!(image.ends_with(":1.5.0"), "{image}");
    }
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    let revisions = s.history().await;
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[0]["status"], "succeeded");
    assert_eq!(revisions[0]["canary"]["outcome"], "promoted");
    assert_eq!(revisions[1]["status"], "superseded");

    // Nothing left to promote.
    let out = run(s.finish("promote")).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_removes_a_paused_canary_and_leaves_stable_untouched() {
    let s = setup_with(manual, healthy()).await;
    let before = s.stable();
    s.metrics.scraped().await;
    paused(&s).await;
    let out = run(s.finish("abort")).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["outcome"], "aborted", "{doc:#}");
    assert_eq!(s.stable(), before);
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    let revisions = s.history().await;
    assert_eq!(revisions[0]["status"], "aborted");
    assert_eq!(revisions[1]["status"], "succeeded");
}

/// A canary a run left behind (its API server was gone when it stopped)
/// is removed by the next deploy before anything else, found by its label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_deploy_removes_a_left_canary_first() {
    let s = setup(healthy()).await;
    let labels = json!({"fintechctl.io/canary": "production"});
    s.c.sim
        .create(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "fintech-ai-canary", "namespace": NS, "labels": labels,
                "annotations": {"nginx.ingress.kubernetes.io/canary": "true",
                                "nginx.ingress.kubernetes.io/canary-weight": "10"}},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "app.fintech-ai-platform.com",
                "http": {"paths": [{"path": "/api", "pathType": "Prefix",
                    "backend": {"service": {"name": "api-gateway-canary", "port": {"number": 8000}}}}]}}]}}))
        .unwrap();
    s.c.sim
        .create(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "api-gateway-canary", "namespace": NS, "labels": labels},
            "spec": {"selector": {"app": "api-gateway", "fintechctl.io/track": "canary"},
                     "ports": [{"port": 8000}]}}))
        .unwrap();
    assert_eq!(s.canary_objects().len(), 2);
    let out = run(s.deploy("1.4.2", &["--strategy", "rolling"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("a canary left by an earlier run is in the cluster")
            && stderr.contains("Canary removed"),
        "{stderr}"
    );
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
}

/// Waits for a spawned deploy's canary Ingress (the canary takes traffic).
async fn until_canary_ingress(s: &Setup) {
    let started = Instant::now();
    while s
        .c
        .get("networking.k8s.io/v1", "Ingress", NS, "fintech-ai-canary")
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the canary Ingress never appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Slow on purpose (about 40 s): the deploy must reach its first canary
// step before `--timeout` ends it there, with room for a loaded machine;
// a shorter timeout could end it before the canary exists.
/// `--timeout` mid-step stops the canary at once and removes it (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_mid_step_removes_the_canary() {
    let s = setup(healthy()).await;
    let before = s.stable();
    let cmd = s.deploy_within("1.5.0", "10m", "40s", &[]);
    let child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    until_canary_ingress(&s).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Canary removed"), "{stderr}");
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
    assert_eq!(s.stable(), before);
}

// Slow on purpose (about 25 s): the watchdog calls the API server lost
// only after ten silent seconds, then a second deploy runs.
/// An API server that stops answering mid-step: the run ends (exit 3)
/// saying the canary could not be removed; the next deploy removes it
/// before anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_left_by_a_lost_api_server_is_removed_by_the_next_deploy() {
    let s = setup(healthy()).await;
    let child = common::spawn(
        &s.deploy_every("1.5.0", "10m", &[]),
        &[],
        std::process::Stdio::piped(),
    );
    until_canary_ingress(&s).await;
    s.c.sim
        .faults()
        .set_latency(Some(Duration::from_secs(3600)));
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    s.c.sim.faults().clear();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the next deploy or rollback removes it first"),
        "{stderr}"
    );
    assert!(
        s.canary_objects()
            .contains(&"Ingress/fintech-ai-canary".to_string()),
        "left for the next run: {:?}",
        s.canary_objects()
    );
    // The lost run's lock is still there: broken, as an operator would.
    let out = run(s.deploy("1.5.0", &["--strategy", "rolling", "--force-unlock"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("a canary left by an earlier run is in the cluster"),
        "{stderr}"
    );
    assert_eq!(s.canary_objects(), Vec::<String>::new());
    s.assert_selectors_restored();
}
