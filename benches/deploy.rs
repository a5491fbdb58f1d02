//! Deploy benchmark: `fintechctl deploy production` against kube-sim with
//! 20 ms and then 100 ms of latency on every API request, next to the
//! runbook's `kubectl apply --server-side -f` + `kubectl rollout status` of
//! the same rendered manifests, in the same run; a re-deploy that changes one
//! image; the sequential round trips on each one's critical path
//! ((T at 100 ms − T at 20 ms) / 80 ms); and how long fintechctl takes from a
//! bad image's first failing pod status to its exit (at 20 ms).
//!
//! Run with `cargo bench --bench deploy`; a table goes to stdout. The binary
//! measured is the one Cargo builds for the bench (`CARGO_BIN_EXE_fintechctl`,
//! i.e. `target/release/fintechctl` with the bench profile), started as a
//! separate process as a user would. A measurement, not an assertion: these
//! machines are shared and noisy.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube_sim::{Behaviors, KubeSim, SimConfig};
use serde_json::{Value, json};
use tokio::process::Command;

const FINTECHCTL_BUILT: &str = env!("CARGO_BIN_EXE_fintechctl");

/// The binary under test: the one this profile built, or
/// `FINTECHCTL_BENCH_BIN` (e.g. `target/release/fintechctl` while the
/// bench itself and kube-sim run as a dev build: a release build of the
/// whole bench takes far longer than one of the binary).
fn fintechctl_bin() -> String {
    std::env::var("FINTECHCTL_BENCH_BIN").unwrap_or_else(|_| FINTECHCTL_BUILT.to_string())
}
/// The latency of the bad-image scenario; the others run at both of
/// [`LATENCIES`].
const LATENCY: Duration = Duration::from_millis(20);
const LATENCIES: [Duration; 2] = [Duration::from_millis(20), Duration::from_millis(100)];
const RUNS: usize = 3;
const NS: &str = "fintech-ai-prod";

/// Obviously fake values, one per platform secret.
const SECRETS: [(&str, &str); 5] = [
    ("POSTGRES_PASSWORD", "bench-only-pg-0001"),
    ("REDIS_PASSWORD", "bench-only-redis-0002"),
    ("KAFKA_PASSWORD", "bench-only-kafka-0003"),
    ("JWT_SECRET", "bench-only-jwt-0004"),
    ("API_KEY", "bench-only-apikey-0005"),
];

/// A fresh simulator with its kubeconfig, fake TLS files and a scratch dir.
struct Cluster {
    sim: Arc<KubeSim>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// Every image is ready 200 ms after it starts (real time); the migration Job
/// runs `echo upgraded`, and alembic's offline mode (the migration check's
/// Jobs, told apart by `KUBE_SIM_ARGS`) prints an empty migration.
/// `extra_images` come first (first match wins).
fn behaviors(extra_images: &str) -> Behaviors {
    let job = "case $KUBE_SIM_ARGS in 'alembic heads') echo 'ae1027a6acf0 (head)';; *' --sql') printf 'BEGIN;\\n\\nCOMMIT;\\n';; *) echo upgraded;; esac";
    let yaml = format!(
        "images:\n{extra_images}  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\njobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", {job:?}]\n"
    );
    Behaviors::from_yaml(&yaml).expect("bench behaviours parse")
}

async fn cluster(extra_images: &str, latency: Duration) -> Cluster {
    let sim = KubeSim::start(SimConfig {
        behaviors: behaviors(extra_images),
        latency: Some(latency),
        time_scale: 1.0,
        ..SimConfig::default()
    })
    .await
    .expect("kube-sim starts");
    // production's cluster-autoscaler reads its subscription from here.
    sim.create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-autoscaler-azure", "namespace": "kube-system"},
        "stringData": {"SubscriptionID": "00000000-0000-0000-0000-000000000000"}}))
        .expect("kube-system secret");
    // The ingress controller's class, which the platform team installs.
    sim.create(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
    )
    .expect("IngressClass");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    // A real pair: fintechctl checks that the key is the certificate's.
    let pair = rcgen::generate_simple_self_signed(vec!["fintech-ai.example.com".to_string()])
        .expect("test certificate");
    std::fs::write(&cert, pair.cert.pem()).unwrap();
    std::fs::write(&key, pair.signing_key.serialize_pem()).unwrap();
    Cluster {
        sim: Arc::new(sim),
        dir,
        kubeconfig,
        cert,
        key,
    }
}

impl Cluster {
    fn fintechctl(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(fintechctl_bin());
        for var in [
            "FINTECHCTL_ENVIRONMENTS_DIR",
            "FINTECHCTL_TLS_CERT",
            "FINTECHCTL_TLS_KEY",
            "KUBECONFIG",
        ] {
            cmd.env_remove(var);
        }
        for (var, value) in SECRETS {
            cmd.env(var, value);
        }
        cmd.env("NO_COLOR", "1")
            .env("CI", "true")
            .env("FINTECHCTL_CACHE_DIR", self.dir.path().join("cache"))
            .current_dir(self.dir.path())
            .args(args)
            .arg("--tls-cert")
            .arg(&self.cert)
            .arg("--tls-key")
            .arg(&self.key)
            .kill_on_drop(true);
        cmd
    }

    fn deploy(&self, version: &str, extra: &[&str]) -> Command {
        let mut cmd = self.fintechctl(&[
            "deploy",
            "production",
            "--version",
            version,
            "--yes",
            "--timeout",
            "120s",
            // production's file chooses canary releases; the bench times a
            // rolling deploy (a canary's steps wait on its analysis).
            "--strategy",
            "rolling",
        ]);
        cmd.args(extra).arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    fn kubectl(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(std::env::var("KUBECTL").unwrap_or("kubectl".into()));
        cmd.env_remove("KUBECONFIG")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .kill_on_drop(true);
        cmd
    }

    async fn shutdown(self) {
        if let Ok(sim) = Arc::try_unwrap(self.sim) {
            sim.shutdown().await;
        }
    }
}

async fn run(mut cmd: Command) -> Output {
    cmd.output().await.expect("process starts")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn must_succeed(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

fn median(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    t[t.len() / 2]
}

/// A timed run and the API requests it made.
#[derive(Clone, Copy)]
struct Timed {
    took: Duration,
    requests: u64,
}

/// Scenario 1: `fintechctl deploy production --version 1.4.2` on a fresh sim.
async fn fintechctl_deploy(latency: Duration) -> Timed {
    let c = cluster("", latency).await;
    let before = c.sim.faults().requests();
    let start = Instant::now();
    let out = run(c.deploy("1.4.2", &[])).await;
    let took = start.elapsed();
    must_succeed("fintechctl deploy", &out);
    let requests = c.sim.faults().requests() - before;
    c.shutdown().await;
    Timed { took, requests }
}

/// The environment files with production's ml-service image renamed: a
/// re-deploy of the same version that changes exactly one image.
fn environments_with_one_image_changed(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    let target = dir.join("environments");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        if entry.file_name() == "production.yaml" {
            let before = "image: fintech-ai/ml-service\n";
            assert!(text.contains(before), "production's ml-service image moved");
            text = text.replace(before, "image: fintech-ai/ml-service-gpu\n");
        }
        std::fs::write(target.join(entry.file_name()), text).unwrap();
    }
    target
}

/// Scenario 2: 1.4.2 deployed, then deployed again with one image changed
/// (ml-service's): the second deploy is timed.
async fn fintechctl_redeploy(latency: Duration) -> Timed {
    let c = cluster("", latency).await;
    must_succeed(
        "fintechctl deploy 1.4.2",
        &run(c.deploy("1.4.2", &[])).await,
    );
    let environments = environments_with_one_image_changed(c.dir.path());
    let mut cmd = c.deploy("1.4.2", &[]);
    cmd.env("FINTECHCTL_ENVIRONMENTS_DIR", &environments);
    let before = c.sim.faults().requests();
    let start = Instant::now();
    let out = run(cmd).await;
    let took = start.elapsed();
    must_succeed("fintechctl re-deploy with one image changed", &out);
    let said = stderr(&out);
    assert!(
        said.contains("ml-service") && !said.contains("Migrated"),
        "the re-deploy must change ml-service and run no migration:\n{said}"
    );
    let requests = c.sim.faults().requests() - before;
    c.shutdown().await;
    Timed { took, requests }
}

/// (kind, namespace, name) of every Deployment and StatefulSet in a rendered file.
fn workloads(rendered: &str) -> Vec<(String, String, String)> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(rendered).expect("rendered YAML parses");
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
        .map(|d| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&d["kind"]).to_lowercase(),
                s(&d["metadata"]["namespace"]),
                s(&d["metadata"]["name"]),
            )
        })
        .collect()
}

/// Scenario 3: the runbook's way. Returns (render, apply + rollout status).
async fn kubectl_deploy(latency: Duration) -> (Duration, Duration) {
    let c = cluster("", latency).await;
    let file = c.dir.path().join("production.yaml");
    let start = Instant::now();
    let out = run(c.fintechctl(&["render", "production", "--version", "1.4.2"])).await;
    let render = start.elapsed();
    must_succeed("fintechctl render", &out);
    std::fs::write(&file, &out.stdout).unwrap();
    let rendered = String::from_utf8(out.stdout).unwrap();
    let workloads = workloads(&rendered);
    assert!(!workloads.is_empty(), "no workloads rendered");

    let start = Instant::now();
    let file_arg = file.to_str().unwrap();
    let out = run(c.kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        file_arg,
    ]))
    .await;
    must_succeed("kubectl apply", &out);
    // The same work as fintechctl: the migration Job must complete (kubectl
    // applies it with everything else; here it is at least waited for).
    let job = rendered
        .split("\n---")
        .find(|doc| doc.contains("kind: Job"))
        .and_then(|doc| {
            doc.lines()
                .find_map(|l| l.trim().strip_prefix("name: "))
                .map(str::to_string)
        })
        .expect("the migration Job is rendered");
    let out = run(c.kubectl(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{job}"),
        "-n",
        "fintech-ai-prod",
        "--timeout=120s",
    ]))
    .await;
    must_succeed("kubectl wait job", &out);
    for (kind, ns, name) in &workloads {
        let target = format!("{kind}/{name}");
        let out = run(c.kubectl(&["rollout", "status", &target, "-n", ns, "--timeout=120s"])).await;
        must_succeed(&format!("kubectl rollout status {target}"), &out);
    }
    let took = start.elapsed();
    c.shutdown().await;
    (render, took)
}

/// Whether a pod of the bad release shows an image pull failure.
fn pull_failing(pod: &Value, image_suffix: &str) -> bool {
    let image_matches = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["image"].as_str().unwrap_or("").ends_with(image_suffix));
    image_matches
        && pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| {
                matches!(
                    s["state"]["waiting"]["reason"].as_str(),
                    Some("ErrImagePull" | "ImagePullBackOff")
                )
            })
}

struct Failure {
    /// First failing pod status seen → fintechctl's exit.
    to_exit: Duration,
    /// The whole failed deploy, start to exit.
    total: Duration,
    stderr: String,
    /// `kubectl rollout status --timeout=5s` on the stuck Deployment (last run).
    kubectl: Option<(Duration, String)>,
}

/// Scenario 4: 1.4.2 deploys, then 1.5.0's ml-service image cannot be pulled.
async fn time_to_failure(with_kubectl: bool) -> Failure {
    let c = cluster(
        "  - match: \"*/ml-service:1.5.0\"\n    behavior: image-pull-error\n",
        LATENCY,
    )
    .await;
    let out = run(c.deploy("1.4.2", &[])).await;
    must_succeed("fintechctl deploy 1.4.2", &out);

    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let sim = c.sim.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                let pods = sim.list("v1", "Pod", Some(NS));
                if pods.iter().any(|p| pull_failing(p, "/ml-service:1.5.0")) {
                    return Some(Instant::now());
                }
            }
            None
        })
    };
    let start = Instant::now();
    // No automatic rollback (production's default) inside the measurement.
    let out = run(c.deploy("1.5.0", &["--rollback-on-failure", "false"])).await;
    let exited = Instant::now();
    done.store(true, Ordering::Relaxed);
    let first_failure = watcher
        .await
        .unwrap()
        .expect("a failing ml-service pod was seen before fintechctl exited");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the bad release must fail:\n{}",
        stderr(&out)
    );

    let kubectl = if with_kubectl {
        let start = Instant::now();
        let out = run(c.kubectl(&[
            "rollout",
            "status",
            "deployment/ml-service",
            "-n",
            NS,
            "--timeout=5s",
        ]))
        .await;
        let text = format!(
            "{}{}(exit code {})",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out),
            out.status.code().unwrap_or(-1)
        );
        Some((start.elapsed(), text))
    } else {
        None
    };
    let failure = Failure {
        to_exit: exited.saturating_duration_since(first_failure),
        total: exited - start,
        stderr: stderr(&out),
        kubectl,
    };
    c.shutdown().await;
    failure
}

/// The failure card: from `error: Deployment/ml-service failed` to the end of
/// that block (the next blank line after it, or the end of stderr).
fn failure_card(stderr: &str) -> String {
    let Some(at) = stderr.find("error: Deployment/ml-service failed") else {
        return stderr.to_string();
    };
    stderr[at..].trim_end().to_string()
}

fn row(scenario: &str, times: &[Duration]) {
    let min = times.iter().min().unwrap();
    let max = times.iter().max().unwrap();
    println!(
        "| {scenario:<58} | {:>9.2?} | {:>4} | {:>9.2?} | {:>9.2?} |",
        median(times),
        times.len(),
        min,
        max
    );
}

/// `kubectl version --client`'s words, when there is a kubectl.
fn kubectl_version() -> Option<String> {
    let kubectl = std::env::var("KUBECTL").unwrap_or("kubectl".into());
    std::process::Command::new(kubectl)
        .args(["version", "--client"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// Sequential round trips: the time a run's critical path gains per
/// millisecond of latency, i.e. (T at 100 ms − T at 20 ms) / 80 ms.
fn round_trips(fast: Duration, slow: Duration) -> f64 {
    let gained = slow.as_secs_f64() - fast.as_secs_f64();
    let added = (LATENCIES[1] - LATENCIES[0]).as_secs_f64();
    gained / added
}

/// What one latency measured.
struct AtLatency {
    latency: Duration,
    deploys: Vec<Timed>,
    redeploys: Vec<Timed>,
    renders: Vec<Duration>,
    kubectls: Vec<Duration>,
}

fn times(timed: &[Timed]) -> Vec<Duration> {
    timed.iter().map(|t| t.took).collect()
}

fn median_requests(timed: &[Timed]) -> u64 {
    let mut r: Vec<u64> = timed.iter().map(|t| t.requests).collect();
    r.sort_unstable();
    r[r.len() / 2]
}

async fn at_latency(latency: Duration, kubectl: bool) -> AtLatency {
    eprintln!("latency {latency:?} per request:");
    let mut deploys = Vec::new();
    for i in 0..RUNS {
        let t = fintechctl_deploy(latency).await;
        eprintln!(
            "  fintechctl deploy (first install) run {}: {:.2?}, {} requests",
            i + 1,
            t.took,
            t.requests
        );
        deploys.push(t);
    }
    let mut redeploys = Vec::new();
    for i in 0..RUNS {
        let t = fintechctl_redeploy(latency).await;
        eprintln!(
            "  fintechctl re-deploy (one image) run {}: {:.2?}, {} requests",
            i + 1,
            t.took,
            t.requests
        );
        redeploys.push(t);
    }
    let mut renders = Vec::new();
    let mut kubectls = Vec::new();
    if kubectl {
        for i in 0..RUNS {
            let (render, t) = kubectl_deploy(latency).await;
            eprintln!(
                "  kubectl apply + rollout status run {}: {t:.2?} (render {render:.2?})",
                i + 1
            );
            renders.push(render);
            kubectls.push(t);
        }
    }
    AtLatency {
        latency,
        deploys,
        redeploys,
        renders,
        kubectls,
    }
}

fn header() {
    println!(
        "| {:<58} | {:>9} | {:>4} | {:>9} | {:>9} |",
        "scenario", "median", "runs", "min", "max"
    );
    println!(
        "|{:-<60}|{:->11}|{:->6}|{:->11}|{:->11}|",
        "", "", "", "", ""
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to filter here.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let bin = fintechctl_bin();
    assert!(
        Path::new(&bin).exists(),
        "{bin} is missing: run `cargo bench --bench deploy`, which builds it (or set FINTECHCTL_BENCH_BIN)"
    );
    let kubectl = kubectl_version();
    let started = Instant::now();
    eprintln!("deploy bench: fintechctl = {bin}");
    if kubectl.is_none() {
        eprintln!("  kubectl not found: the baseline is skipped");
    }

    let mut measured = Vec::new();
    for latency in LATENCIES {
        measured.push(at_latency(latency, kubectl.is_some()).await);
    }

    let mut to_exit = Vec::new();
    let mut totals = Vec::new();
    let mut last = None;
    eprintln!("latency {LATENCY:?} per request:");
    for i in 0..RUNS {
        let f = time_to_failure(kubectl.is_some() && i + 1 == RUNS).await;
        eprintln!(
            "  bad image run {}: first failing pod status → exit {:.2?} (deploy {:.2?})",
            i + 1,
            f.to_exit,
            f.total
        );
        to_exit.push(f.to_exit);
        totals.push(f.total);
        last = Some(f);
    }
    let last = last.expect("at least one run");

    println!();
    println!("fintechctl: {}", fintechctl_bin());
    match &kubectl {
        Some(version) => println!("kubectl version --client: {version}"),
        None => println!("kubectl: not found, no baseline"),
    }
    for m in &measured {
        println!();
        println!(
            "deploy production 1.4.2 to kube-sim, {:?} latency per API request, readiness 200 ms",
            m.latency
        );
        println!();
        header();
        row(
            "fintechctl deploy, first install (plan … rollouts)",
            &times(&m.deploys),
        );
        row(
            "fintechctl re-deploy of 1.4.2, one image changed",
            &times(&m.redeploys),
        );
        if kubectl.is_some() {
            row(
                "kubectl apply --server-side + rollout status (sequential)",
                &m.kubectls,
            );
            row(
                "  (fintechctl render to a file, before kubectl)",
                &m.renders,
            );
        }
        println!();
        println!(
            "API requests (median): first install {}, re-deploy {}",
            median_requests(&m.deploys),
            median_requests(&m.redeploys)
        );
        if kubectl.is_some() {
            println!(
                "ratio fintechctl / kubectl (first install, medians): {:.2}x",
                median(&times(&m.deploys)).as_secs_f64() / median(&m.kubectls).as_secs_f64()
            );
        }
    }
    let (fast, slow) = (&measured[0], &measured[1]);
    println!();
    println!(
        "sequential round trips on the critical path, (T at {:?} - T at {:?}) / {:?}, medians:",
        slow.latency,
        fast.latency,
        slow.latency - fast.latency
    );
    println!(
        "  fintechctl deploy, first install: {:.1}",
        round_trips(median(&times(&fast.deploys)), median(&times(&slow.deploys)))
    );
    println!(
        "  fintechctl re-deploy, one image:  {:.1}",
        round_trips(
            median(&times(&fast.redeploys)),
            median(&times(&slow.redeploys))
        )
    );
    if kubectl.is_some() {
        println!(
            "  kubectl apply + wait + rollout status: {:.1}",
            round_trips(median(&fast.kubectls), median(&slow.kubectls))
        );
    }

    println!();
    println!("bad image 1.5.0 at {LATENCY:?} latency per API request");
    println!();
    header();
    row(
        "bad image 1.5.0: whole fintechctl deploy until exit 1",
        &totals,
    );
    row(
        "bad image 1.5.0: first ErrImagePull status -> exit",
        &to_exit,
    );
    if let Some((took, _)) = &last.kubectl {
        row(
            "bad image 1.5.0: kubectl rollout status --timeout=5s",
            &[*took],
        );
    }
    println!();
    println!("kubectl rollout status does not name the cause; without --timeout it would wait for");
    println!("progressDeadlineSeconds (600 s) and then report ProgressDeadlineExceeded.");
    if let Some((_, text)) = &last.kubectl {
        println!();
        println!("kubectl rollout status deployment/ml-service --timeout=5s said:");
        for line in text.lines() {
            println!("    {line}");
        }
    }
    println!();
    println!("fintechctl's failure card (stderr of the failed deploy, last run):");
    println!();
    for line in failure_card(&last.stderr).lines() {
        println!("    {line}");
    }
    println!();
    println!("bench took {:.1?}", started.elapsed());
}
