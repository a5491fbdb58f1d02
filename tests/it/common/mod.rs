//! Shared by the cluster tests: a kube-sim on a free port, a kubeconfig
//! pointing at it, and the `fintechctl` binary with test secrets.
#![allow(dead_code)]

pub mod kafka;
pub mod prometheus;
pub mod servers;
pub mod sim;
pub mod stores;
pub mod tansu;

use std::path::PathBuf;

use assert_cmd::Command;
use kube_sim::{Behaviors, KubeSim, SimConfig};

/// Obviously fake values, one per platform secret.
pub const SECRETS: [(&str, &str); 5] = [
    ("POSTGRES_PASSWORD", "test-only-pg-0001"),
    ("REDIS_PASSWORD", "test-only-redis-0002"),
    ("KAFKA_PASSWORD", "test-only-kafka-0003"),
    ("JWT_SECRET", "test-only-jwt-0004"),
    ("API_KEY", "test-only-apikey-0005"),
];

pub struct Cluster {
    pub sim: KubeSim,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// Images become ready quickly; Job pods run `job_command` (alembic's
/// offline mode answered by [`alembic_job`]).
pub fn behaviors(extra_images: &str, job_command: &str) -> Behaviors {
    behaviors_with(extra_images, job_command, "")
}

/// The live schema revision the simulated api-gateway images report.
pub const ALEMBIC_HEAD: &str = "ae1027a6acf0";

/// A Job command that answers alembic's offline mode as an image with no
/// breaking migration would (`alembic heads`: [`ALEMBIC_HEAD`];
/// `upgrade … --sql`: an empty transaction) and runs `migration` otherwise.
/// A command that looks at `KUBE_SIM_ARGS` itself is left as it is.
pub fn alembic_job(migration: &str) -> String {
    if migration.contains("KUBE_SIM_ARGS") {
        return migration.to_string();
    }
    format!(
        "case $KUBE_SIM_ARGS in 'alembic heads') echo '{ALEMBIC_HEAD} (head)';; *' --sql') printf 'BEGIN;\\n\\nCOMMIT;\\n';; *) {migration}\n;; esac"
    )
}

/// [`behaviors`] with more top-level sections (`ports:`, `exec:`).
pub fn behaviors_with(extra_images: &str, job_command: &str, sections: &str) -> Behaviors {
    let job_command = alembic_job(job_command);
    let yaml = format!(
        "images:\n{extra_images}  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\njobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", {job_command:?}]\n{sections}"
    );
    Behaviors::from_yaml(&yaml).expect("test behaviours parse")
}

pub async fn cluster(behaviors: Behaviors) -> Cluster {
    let cfg = SimConfig {
        behaviors,
        time_scale: 0.05,
        ..SimConfig::default()
    };
    let sim = KubeSim::start(cfg).await.expect("kube-sim starts");
    // What the platform team installs with the ingress controller; deploy
    // refuses without it (a prerequisite outside the release).
    sim.create(
        serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
    )
    .expect("IngressClass nginx");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    Cluster {
        sim,
        dir,
        kubeconfig,
    }
}

impl Cluster {
    /// `fintechctl` pointed at this cluster, with the test secrets set.
    pub fn fintechctl(&self) -> Command {
        let mut cmd = Command::cargo_bin("fintechctl").unwrap();
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
        cmd.env("NO_COLOR", "1").env("CI", "true");
        cmd.env("FINTECHCTL_CACHE_DIR", self.dir.path().join("cache"));
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Option<serde_json::Value> {
        self.sim.get(api_version, kind, Some(ns), name)
    }
}

/// Runs a blocking command (the binary) without stalling kube-sim's runtime.
pub async fn run(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

pub fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A throwaway self-signed certificate for the environments' ingress
/// hosts and its key (fintechctl checks that the two belong together).
pub fn fake_tls(c: &Cluster) -> (PathBuf, PathBuf) {
    tls_pair(c.dir.path())
}

/// [`fake_tls`] into any directory.
pub fn tls_pair(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let pair = rcgen::generate_simple_self_signed(vec![
        "fintech-ai.example.com".to_string(),
        "staging.fintech-ai.example.com".to_string(),
    ])
    .unwrap();
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    std::fs::write(&cert, pair.cert.pem()).unwrap();
    std::fs::write(&key, pair.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

/// The Secret the AKS cluster-autoscaler reads its subscription id from
/// (the platform team creates it; staging and production need it).
pub fn seed_autoscaler_secret(c: &Cluster) {
    c.sim
        .create(serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cluster-autoscaler-azure", "namespace": "kube-system"},
            "stringData": {"SubscriptionID": "00000000-0000-0000-0000-000000000000"}}))
        .expect("kube-system secret");
}

/// Starts `cmd` (built with [`Cluster::fintechctl`]) as a background
/// process, for tests that signal or race it; stdout is discarded.
pub fn spawn(
    cmd: &Command,
    extra_env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> std::process::Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("fintechctl"));
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => child.env(k, v),
            None => child.env_remove(k),
        };
    }
    child.envs(extra_env.iter().copied());
    child
        .args(cmd.get_args())
        .stdout(std::process::Stdio::null())
        .stderr(stderr);
    child.spawn().expect("fintechctl starts")
}

/// Every file of a debug bundle (`.tar.gz`) by its path below the bundle's
/// own directory, and the archive's entry modes.
pub fn bundle_files(path: &std::path::Path) -> std::collections::BTreeMap<String, (String, u32)> {
    use std::io::Read;
    let file = std::fs::File::open(path).expect("bundle readable");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = std::collections::BTreeMap::new();
    for entry in archive.entries().expect("a tar.gz") {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mode = entry.header().mode().unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let inner = name
            .split_once('/')
            .map(|(_, i)| i.to_string())
            .unwrap_or(name);
        files.insert(inner, (text, mode));
    }
    files
}

/// All of a bundle's files as one text.
pub fn bundle_text(path: &std::path::Path) -> String {
    bundle_files(path)
        .into_iter()
        .map(|(name, (text, _))| format!("== {name}\n{text}\n"))
        .collect()
}

/// Deploys `local` 1.4.2 from the environment files in `envs` (a test's own
/// `--environments-dir`) and asserts it succeeded.
#[allow(dead_code)]
pub async fn deploy_local_from(c: &Cluster, envs: &std::path::Path) {
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "90s"])
        .arg("--environments-dir")
        .arg(envs);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "deploy: {}", text(&out).1);
}

/// Waits until the deploy lock's Lease in `ns` has expired (`renewTime +
/// leaseDurationSeconds` passed on this machine's clock, the rule the lock
/// itself keeps), at most `within`; panics otherwise.
pub async fn until_lease_expired(c: &Cluster, ns: &str, within: std::time::Duration) {
    let started = std::time::Instant::now();
    loop {
        let lease = c.get("coordination.k8s.io/v1", "Lease", ns, "fintechctl-lock");
        let expires = lease.as_ref().and_then(|l| {
            let renewed: k8s_openapi::jiff::Timestamp =
                l["spec"]["renewTime"].as_str()?.parse().ok()?;
            let ttl = l["spec"]["leaseDurationSeconds"].as_i64()?;
            Some(renewed + k8s_openapi::jiff::SignedDuration::from_secs(ttl))
        });
        match expires {
            None => return,
            Some(at) if k8s_openapi::jiff::Timestamp::now() > at => return,
            Some(_) => {}
        }
        assert!(
            started.elapsed() < within,
            "the lock in {ns} did not expire within {within:?}: {lease:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
