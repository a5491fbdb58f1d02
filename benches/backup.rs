//! Backup benchmark: `fintechctl backup local --only postgres` of a real
//! PostgreSQL holding about 100 MiB and 1 GiB (pg_dump's uncompressed
//! custom-format size), streamed out through kube-sim's exec (the command
//! runs on this machine, as in the tests), compressed and written to a
//! local store — next to the runbook's way, `pg_dump -Fc | zstd > file`,
//! run locally against the same server in the same run. Peak RSS of the
//! fintechctl process comes from `/usr/bin/time -f %M`.
//!
//! Run with `cargo bench --bench backup` (set BACKUP_BENCH_SIZES=100 to
//! skip the 1 GiB one). A measurement, not an assertion: shared machines.

#[path = "../tests/it/common/stores.rs"]
mod stores;

use std::path::Path;
use std::time::{Duration, Instant};

use kube_sim::{Behaviors, KubeSim, SimConfig};

const FINTECHCTL: &str = env!("CARGO_BIN_EXE_fintechctl");
const SECRETS: [(&str, &str); 5] = [
    ("POSTGRES_PASSWORD", "bench-only-pg-0001"),
    ("REDIS_PASSWORD", "bench-only-redis-0002"),
    ("KAFKA_PASSWORD", "bench-only-kafka-0003"),
    ("JWT_SECRET", "bench-only-jwt-0004"),
    ("API_KEY", "bench-only-apikey-0005"),
];

fn sh(script: &str) -> (Duration, String) {
    let started = Instant::now();
    let out = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<u64> = std::env::var("BACKUP_BENCH_SIZES")
        .unwrap_or_else(|_| "100,1024".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| dump (pg_dump -Fc -Z0) | fintechctl backup | rate | peak RSS | stored | pg_dump -Fc \\| zstd | rate | pg_dump -Fc -Z0 \\| zstd | rate | fintechctl ÷ -Fc\\|zstd |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for target_mib in sizes {
        let pg = stores::Postgres::start_trusting();
        // ~ 100 bytes a row in the dump: two md5 strings and a few numbers.
        let rows = target_mib * 1024 * 1024 / 100;
        pg.psql(&format!(
            "CREATE TABLE ledger (id bigint PRIMARY KEY, account bigint, amount numeric(18, 2), at timestamptz, memo text);\n\
             INSERT INTO ledger SELECT g, g % 97, (g::bigint * 7919 % 100000) / 100.0, timestamptz '2025-01-01' + g * interval '1 second', \
             md5(g::text) || md5((g * 31)::text) FROM generate_series(1, {rows}) g;\nCREATE TABLE alembic_version (version_num text); INSERT INTO alembic_version VALUES ('bench');"
        ));
        let dir = tempfile::tempdir().unwrap();
        let conn = format!(
            "-h 127.0.0.1 -p {} -U {} -d {}",
            pg.port,
            stores::PG_USER,
            stores::PG_DB
        );
        let raw_file = dir.path().join("raw.dump");
        sh(&format!("pg_dump -Fc -Z0 {conn} > {}", raw_file.display()));
        let raw = size_of(&raw_file);
        std::fs::remove_file(&raw_file).unwrap();

        // The runbook's way, locally.
        let base_file = dir.path().join("base.dump.zst");
        let (base, _) = sh(&format!(
            "pg_dump -Fc {conn} | zstd -q -3 > {}",
            base_file.display()
        ));
        let base0_file = dir.path().join("base0.dump.zst");
        let (base0, _) = sh(&format!(
            "pg_dump -Fc -Z0 {conn} | zstd -q -3 > {}",
            base0_file.display()
        ));

        // fintechctl through kube-sim's exec.
        let sim = KubeSim::start(SimConfig {
            behaviors: Behaviors::from_yaml(
                "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 100ms\njobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo upgraded\"]\nexec:\n  - pod: \"postgres-*\"\n    env: { PGHOST: 127.0.0.1 }\n",
            )
            .unwrap(),
            time_scale: 0.05,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        sim.create(
            serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
        )
        .unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let store = dir.path().join("store");
        let envs = stores::environments(dir.path(), pg.port, 6379, &store, &[]);
        let run = |args: &[&str], timed: bool| {
            let mut cmd = if timed {
                let mut c = std::process::Command::new("/usr/bin/time");
                c.args(["-f", "%M"]).arg(FINTECHCTL);
                c
            } else {
                std::process::Command::new(FINTECHCTL)
            };
            cmd.args(["--kubeconfig"])
                .arg(&kubeconfig)
                .args(args)
                .arg("--environments-dir")
                .arg(&envs);
            cmd.env("CI", "1").env("NO_COLOR", "1");
            for (k, v) in SECRETS {
                cmd.env(k, v);
            }
            cmd
        };
        let mut deploy = run(
            &["deploy", "local", "--version", "1.4.2", "--timeout", "120s"],
            false,
        );
        let out = tokio::task::spawn_blocking(move || deploy.output().unwrap())
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "deploy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut backup = run(
            &[
                "backup",
                "local",
                "--only",
                "postgres",
                "--timeout",
                "30m",
                "-q",
            ],
            true,
        );
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || backup.output().unwrap())
            .await
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "backup: {stderr}");
        let rss_kib: u64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        let stored: u64 = std::fs::read_dir(store.join("local"))
            .unwrap()
            .flatten()
            .map(|e| size_of(&e.path().join("postgres.dump.zst")))
            .sum();
        sim.shutdown().await;
        let rate = |d: Duration| format!("{:.0} MiB/s", mib(raw) / d.as_secs_f64());
        println!(
            "| {:.0} MiB | {:.2} s | {} | {:.1} MiB | {:.1} MiB | {:.2} s ({:.1} MiB) | {} | {:.2} s ({:.1} MiB) | {} | {:.2}× |",
            mib(raw),
            took.as_secs_f64(),
            rate(took),
            rss_kib as f64 / 1024.0,
            mib(stored),
            base.as_secs_f64(),
            mib(size_of(&base_file)),
            rate(base),
            base0.as_secs_f64(),
            mib(size_of(&base0_file)),
            rate(base0),
            base.as_secs_f64() / took.as_secs_f64(),
        );
    }
}
