//! The README's Quick start against `kube-sim playground`: the binary is
//! started as a newcomer starts it, its printed `export` lines are the only
//! way fintechctl learns about it, and `deploy local`, `verify local`,
//! `health local`, `backup local` and `debug local` succeed. SIGTERM stops
//! it and removes its directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The kube-sim binary beside fintechctl, built (or found fresh) by cargo:
/// a test of the root package does not get the binaries of another one.
///
/// It asks for what `cargo nextest run --workspace` (and `cargo test
/// --workspace`) built: every test target of the workspace, whose
/// integration tests of kube-sim need its binary, in the profile tests are
/// built with. After such a build this is a freshness check of a fraction
/// of a second. `-p kube-sim` alone would resolve the dependencies'
/// features for kube-sim only, and build tokio, hyper and the rest a second
/// time inside this test (a minute and a half of CI under load); `--profile
/// dev` would build kube-sim itself again.
fn kube_sim() -> PathBuf {
    let fintechctl = Path::new(env!("CARGO_BIN_EXE_fintechctl"));
    let profile_dir = fintechctl.parent().unwrap();
    // target/debug holds the dev and test profiles, target/release the
    // release and bench ones (`cargo test --release` builds with bench).
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "test".to_string(),
        Some("release") => "bench".to_string(),
        Some(other) => other.to_string(),
    };
    let mut cargo = Command::new(env!("CARGO"));
    // What cargo sets for a test's process describes this package, not the
    // build: ring's build script reruns when CARGO_MANIFEST_DIR changes, so
    // inheriting it rebuilt ring and everything above it here, and again in
    // the next ordinary build.
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        if var.starts_with("CARGO_MANIFEST_")
            || var.starts_with("CARGO_PKG_")
            || var.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&var.as_ref())
        {
            cargo.env_remove(var.as_ref());
        }
    }
    let status = cargo
        .args(["build", "--quiet", "--workspace", "--tests"])
        .args(["--profile", &profile])
        .arg("--target-dir")
        .arg(profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --workspace --tests failed");
    profile_dir.join("kube-sim")
}

struct Playground {
    child: Child,
    exports: BTreeMap<String, String>,
    banner: String,
}

impl Playground {
    /// Starts `kube-sim playground` and reads what it prints up to its last line.
    fn start() -> Playground {
        let mut child = Command::new(kube_sim())
            .arg("playground")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kube-sim starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    panic!("the playground did not finish its banner ({e}):\n{banner}");
                }
            };
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("The secret values are fake") {
                break;
            }
        }
        let exports = banner
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Playground {
            child,
            exports,
            banner,
        }
    }

    /// fintechctl with only the exports the playground printed.
    fn fintechctl(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fintechctl"));
        for (var, _) in std::env::vars() {
            if var == "KUBECONFIG" || var.starts_with("FINTECHCTL_") {
                cmd.env_remove(var);
            }
        }
        let home = Path::new(&self.exports["KUBECONFIG"]).parent().unwrap();
        cmd.envs(&self.exports)
            .env("FINTECHCTL_CACHE_DIR", home.join("cache"))
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str], expected: i32) -> serde_json::Value {
        let out = self.fintechctl(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{args:?}:\n{stderr}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: one JSON document ({e}):\n{stderr}"))
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn statuses(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

// Slow on purpose (about 10 s): it is the whole Quick start, command by
// command (render, deploy, verify, health, backup, restore, debug), each a
// process against a real-time playground.
#[test]
fn the_quick_start_runs_against_the_playground() {
    let mut p = Playground::start();
    for var in [
        "KUBECONFIG",
        "FINTECHCTL_ENVIRONMENTS_DIR",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "KAFKA_PASSWORD",
        "JWT_SECRET",
        "API_KEY",
        "FINTECHCTL_TLS_CERT",
        "FINTECHCTL_TLS_KEY",
    ] {
        assert!(
            p.exports.contains_key(var),
            "no `export {var}=` in:\n{}",
            p.banner
        );
    }
    for (var, value) in &p.exports {
        if !var.ends_with("PASSWORD") && !["JWT_SECRET", "API_KEY"].contains(&var.as_str()) {
            continue;
        }
        assert!(value.starts_with("playground-only-"), "{var}={value}");
    }
    assert!(
        !p.banner.contains("not installed"),
        "the playground needs PostgreSQL and redis-server here (.ci/install.d/40-postgres.sh, 41-redis.sh):\n{}",
        p.banner
    );

    let deploy = p.json(&["deploy", "local", "--version", "1.4.2", "-o", "json"], 0);
    assert_eq!(deploy["outcome"], "succeeded", "{deploy:#}");

    let verify = statuses(&p.json(&["verify", "local", "-o", "json"], 0));
    for id in ["release", "rollout", "pods", "endpoints", "http", "drift"] {
        assert_eq!(verify[id], "pass", "verify {id}: {verify:?}");
    }

    let health = p.json(
        &["health", "local", "-o", "json", "--check-timeout", "5s"],
        0,
    );
    let health = statuses(&health);
    for id in [
        "postgres",
        "redis",
        "kafka",
        "service/api-gateway",
        "service/ml-service",
        "service/frontend",
    ] {
        assert_eq!(
            health.get(id).map(String::as_str),
            Some("pass"),
            "health {id}: {health:?}"
        );
    }

    let backup = p.json(&["backup", "local", "-o", "json"], 0);
    let parts: Vec<&str> = backup["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|part| part["status"] == "done")
        .filter_map(|part| part["part"].as_str())
        .collect();
    assert_eq!(parts, ["postgres", "redis", "resources"], "{backup:#}");

    let triage = p.json(&["debug", "local", "-o", "json"], 0);
    assert_eq!(triage["healthy"], true, "{triage:#}");

    // SIGTERM stops it cleanly and removes everything it made.
    let home = PathBuf::from(&p.exports["KUBECONFIG"])
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(home.exists());
    // SAFETY: kill with a child's pid and a valid signal.
    unsafe { libc::kill(p.child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the playground did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    assert!(!home.exists(), "{} is left behind", home.display());
}
