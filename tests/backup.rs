//! `fintechctl backup` and `restore` against kube-sim with a real
//! PostgreSQL and a real redis-server behind its exec: the round trip
//! (every table equal by row checksums, Redis keys of every type), the
//! faults (a cut exec stream, a flipped byte, pg_dump failing, an upload
//! failing halfway, Ctrl-C during a restore) and no secret value in the
//! store or the output.

mod common;
mod data_stores;

use std::path::{Path, PathBuf};

use common::{Cluster, SECRETS, cluster, run, text};
use data_stores::{Postgres, Redis, environments, store_contents};
use kube_sim::Behaviors;

const NS: &str = "fintech-ai-local";

struct World {
    c: Cluster,
    pg: Postgres,
    redis: Redis,
    envs: PathBuf,
    store: PathBuf,
    _dir: tempfile::TempDir,
}

fn behaviors(extra_exec_env: &str) -> Behaviors {
    let yaml = format!(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\n\
jobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo upgraded\"]\n\
exec:\n  - pod: \"postgres-*\"\n    env: {{ PGHOST: 127.0.0.1{extra_exec_env} }}\n"
    );
    Behaviors::from_yaml(&yaml).expect("behaviours parse")
}

/// kube-sim with `local` deployed, PostgreSQL seeded with awkward data and
/// Redis with keys of every type behind its exec.
async fn world(recipients: &[String], extra_exec_env: &str, large_rows: usize) -> World {
    let pg = Postgres::start();
    pg.seed(large_rows);
    let redis = Redis::start("test-only-redis-0002");
    redis.seed();
    let c = cluster(behaviors(extra_exec_env)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let envs = environments(dir.path(), pg.port, redis.port, &store, recipients);
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "90s", "--environments-dir"])
        .arg(&envs);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "deploy: {}", text(&out).1);
    World {
        c,
        pg,
        redis,
        envs,
        store,
        _dir: dir,
    }
}

impl World {
    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.c.fintechctl();
        cmd.args(args).arg("--environments-dir").arg(&self.envs);
        cmd
    }

    async fn backup(&self, extra: &[&str]) -> (serde_json::Value, String, std::process::Output) {
        let mut args = vec!["backup", "local", "-o", "json", "--timeout", "100s"];
        args.extend_from_slice(extra);
        let out = run(self.cmd(&args)).await;
        let (stdout, stderr) = text(&out);
        let report: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}\n{stderr}"));
        (report, stderr, out)
    }

    async fn list(&self) -> serde_json::Value {
        let out = run(self.cmd(&["backup", "list", "local", "-o", "json"])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn replicas(&self, name: &str) -> i64 {
        self.c
            .get("apps/v1", "Deployment", NS, name)
            .and_then(|d| d["spec"]["replicas"].as_i64())
            .unwrap_or(-1)
    }

    fn part_file(&self, id: &str, file: &str) -> PathBuf {
        self.store.join("local").join(id).join(file)
    }
}

/// The planted values (the test secrets) in every form they could leak in.
fn assert_no_secret(what: &str, haystack: &[u8]) {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(haystack);
    for (_, value) in SECRETS {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        assert!(!text.contains(value), "{what} holds the secret value {value}");
        assert!(!text.contains(&b64[..b64.len() - 4]), "{what} holds {value} in base64");
    }
}

fn age_identity(dir: &Path) -> (String, PathBuf) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join("backup.agekey");
    std::fs::write(&path, format!("# test key\n{}\n", id.to_string().expose_secret())).unwrap();
    (id.to_public().to_string(), path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_every_table_and_every_redis_key_after_the_data_was_damaged() {
    let keys = tempfile::tempdir().unwrap();
    let (recipient, identity) = age_identity(keys.path());
    let w = world(&[recipient], "", 20_000).await;
    let tables = w.pg.checksums();
    let redis_keys = w.redis.snapshot();
    assert!(tables.len() >= 4, "{tables:?}");
    assert!(redis_keys.iter().any(|k| k.contains(" stream ")), "{redis_keys:?}");

    let (report, stderr, out) = w.backup(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(report["outcome"], "complete", "{report}");
    assert_eq!(report["manifest"], true);
    let id = report["id"].as_str().unwrap().to_string();
    let statuses: Vec<(String, String)> = report["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["part"].as_str().unwrap().into(), p["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        statuses,
        [("postgres".into(), "done".into()), ("redis".into(), "done".into()), ("resources".into(), "done".into())]
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.part_file(&id, "manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["postgres"]["alembicRevision"], "a1b2c3d4e5f6");
    let ledger = manifest["postgres"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "ledger")
        .unwrap();
    assert_eq!(ledger["rows"], 20_000);
    assert_eq!(manifest["release"]["version"], "1.4.2");
    assert_eq!(manifest["redis"]["keys"]["db0"], 7);
    assert!(w.part_file(&id, "secrets.yaml.age").exists());
    // No secret value in the store (parts decompressed), the output or the logs.
    for (path, bytes) in store_contents(&w.store) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);

    let list = w.list().await;
    assert_eq!(list["backups"][0]["id"], id.as_str());
    assert_eq!(list["backups"][0]["status"], "complete");
    let out = run(w.cmd(&["backup", "verify", "local", &id, "--timeout", "100s"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(text(&out).1.contains("pg_restore --list read"), "{}", text(&out).1);
    assert_eq!(w.list().await["backups"][0]["status"], "verified");

    // Damage everything, then restore.
    w.pg.psql(
        "DELETE FROM ledger WHERE id % 2 = 0; UPDATE accounts SET owner = 'mallory'; \
         DROP SCHEMA \"Ünïcode schema\" CASCADE; UPDATE alembic_version SET version_num = 'ffffffffffff';",
    );
    w.redis.cli(&["FLUSHALL"]);
    w.redis.cli(&["SET", "intruder", "1"]);
    assert_ne!(w.pg.checksums(), tables);

    let identity = identity.display().to_string();
    let restore = w.cmd(&[
        "restore", "local", &id, "--yes", "-o", "json", "--timeout", "100s", "--identity", &identity,
    ]);
    let out = run(restore).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "restored", "{report}");
    assert_eq!(w.pg.checksums(), tables, "every table equal after the restore");
    assert_eq!(w.redis.snapshot(), redis_keys, "every Redis key back");
    assert_eq!(report["alembic"]["after"], "a1b2c3d4e5f6");
    assert_eq!(report["alembic"]["before"], "ffffffffffff");
    assert_eq!(report["alembic"]["migrateNeeded"], true);
    assert!(stderr.contains("fintechctl migrate local"), "{stderr}");
    for writer in ["api-gateway", "ml-service"] {
        assert_eq!(w.replicas(writer), 1, "{writer} back to its previous count");
    }
    let writers = report["writers"].as_array().unwrap();
    assert!(writers.iter().all(|w| w["restored"] == true), "{report}");
    assert!(stderr.contains("Deployment/api-gateway to 0"), "{stderr}");
    assert!(
        w.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock").is_none(),
        "the deploy lock is released"
    );
    assert_no_secret("restore stdout", &out.stdout);
    assert_no_secret("restore stderr", &out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_exec_stream_is_a_failed_backup_that_list_shows_incomplete_and_restore_refuses() {
    let w = world(&[], "", 20_000).await;
    w.c.sim.faults().cut_exec_after(Some(64 * 1024));
    let (report, stderr, out) = w.backup(&["--only", "postgres", "--stall-timeout", "3s"]).await;
    w.c.sim.faults().cut_exec_after(None);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["manifest"], false);
    assert!(stderr.contains("the exec stream was lost"), "{stderr}");
    assert!(stderr.contains("no manifest was written"), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    assert!(!w.part_file(&id, "manifest.json").exists());
    assert!(!w.part_file(&id, "postgres.dump.zst").exists(), "no part under its own name");

    let list = w.list().await;
    assert_eq!(list["backups"][0]["id"], id.as_str());
    assert_eq!(list["backups"][0]["status"], "incomplete");
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("is incomplete"), "{}", text(&out).1);
    let out = run(w.cmd(&["backup", "verify", "local", &id])).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_is_named_by_verify_and_restore_refuses_before_touching_anything() {
    let w = world(&[], "", 5_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    let path = w.part_file(&id, "postgres.dump.zst");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    w.pg.psql("INSERT INTO accounts (owner) VALUES ('after the backup')");

    let out = run(w.cmd(&["backup", "verify", "local", &id])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the postgres part (postgres.dump.zst) does not match"), "{stderr}");

    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is damaged; refusing to restore"), "{stderr}");
    assert!(stderr.contains("postgres.dump.zst"), "{stderr}");
    assert!(!stderr.contains("to 0"), "no writer was scaled: {stderr}");
    assert_eq!(w.pg.psql("SELECT count(*) FROM accounts WHERE owner = 'after the backup'").trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_exiting_non_zero_fails_the_backup_with_its_stderr() {
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_dump");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf 'PGDMP-partial'\necho 'pg_dump: error: query failed: ERROR:  permission denied for table ledger' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"", bin.path().display());
    let w = world(&[], &path, 100).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pg_dump exited with code 1"), "{stderr}");
    assert!(stderr.contains("permission denied for table ledger"), "{stderr}");
    assert_eq!(report["manifest"], false);
    let id = report["id"].as_str().unwrap();
    assert!(!w.part_file(id, "manifest.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_failing_halfway_leaves_no_manifest() {
    let w = world(&[], "", 40_000).await;
    // A file-size limit: the store's writes fail part-way (EFBIG).
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "trap '' XFSZ; exec prlimit --fsize=200000 \"$@\"", "sh"])
        .arg(assert_cmd::cargo::cargo_bin("fintechctl"));
    let base = w.cmd(&["backup", "local", "--only", "postgres", "-o", "json"]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(base.get_args());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], false, "{report}");
    let id = report["id"].as_str().unwrap();
    assert!(!w.part_file(id, "manifest.json").exists());
    assert_eq!(w.list().await["backups"][0]["status"], "incomplete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_restore_puts_the_writers_back() {
    // pg_restore waits before it starts: the signal lands mid-restore.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_restore");
    std::fs::write(&fake, "#!/bin/sh\nsleep 30\nexec /usr/bin/pg_restore \"$@\"\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"", bin.path().display());
    let w = world(&[], &path, 1_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();

    let cmd = w.cmd(&["restore", "local", &id, "--yes"]);
    let mut child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let seen = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        let mut signalled = false;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if !signalled && line.contains("Starting") && line.contains("postgres") {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
                signalled = true;
            }
            lines.push(line);
        }
        (lines.join("\n"), child.wait().unwrap())
    })
    .await
    .unwrap();
    let (stderr, status) = seen;
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (SIGINT)"), "{stderr}");
    for writer in ["api-gateway", "ml-service"] {
        assert_eq!(w.replicas(writer), 1, "{writer} back after Ctrl-C: {stderr}");
    }
    assert!(
        w.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock").is_none(),
        "the deploy lock is released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_during_a_held_deploy_lock_is_refused() {
    let w = world(&[], "", 100).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    w.c.sim
        .create(serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "fintechctl-lock", "namespace": NS,
                "annotations": {"fintechctl.io/lock-command": "deploy local --version 1.5.0"}},
            "spec": {"holderIdentity": "ci@runner:42", "leaseDurationSeconds": 3600,
                "renewTime": k8s_openapi::jiff::Timestamp::now().to_string()}}))
        .unwrap();
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("locked by ci@runner"), "{stderr}");
    assert_eq!(w.replicas("api-gateway"), 1);
}
