//! Managed PostgreSQL through the toolbox pod, against kube-sim with a real
//! PostgreSQL behind it (the toolbox's exec runs pg_dump / pg_restore /
//! psql on this machine, with the pod's environment: `PGHOST` and `PGPORT`
//! lead to the test's server): the round trip, the drill, the pod's spec
//! (restricted, no password literal), the pod and its NetworkPolicy gone
//! after success, failure and Ctrl-C, a crashed run's leftover swept. And
//! managed Redis through a fake `az` first on PATH.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::stores::{PG_DB, PG_USER, Postgres, store_contents};
use common::{Cluster, SECRETS, cluster, run, text};
use kube_sim::Behaviors;

const NS: &str = "fintech-ai-local";
const TOOLBOX_LABEL: &str = "fintechctl.io/toolbox";
/// The run id of the "crashed" run's toolbox a test plants.
const LEFTOVER: &str = "fintechctl-toolbox-deadbeef";
const SAS: &str = "test-only-sas-0007";

fn behaviors(exec_env: &str) -> Behaviors {
    let yaml = format!(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\n\
jobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo upgraded\"]\n  - match: \"postgres:*\"\n    command: [\"sleep\", \"3600\"]\n\
exec:\n  - pod: \"fintechctl-toolbox-*\"\n    env: {{ FINTECHCTL_TEST: toolbox{exec_env} }}\n"
    );
    Behaviors::from_yaml(&yaml).expect("behaviours parse")
}

/// `environments/local.yaml` with `data.postgres` managed (at the test's
/// server: `localhost`, its port) and, when asked, `data.redis` managed.
fn environments(dir: &Path, pg_port: u16, store: &Path, redis_managed: bool) -> PathBuf {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/local.yaml"),
    )
    .unwrap();
    let block = |from: &str, to: &str| {
        let start = src.find(from).expect("local.yaml changed shape");
        let end = start + src[start..].find(to).expect("local.yaml changed shape");
        (start, end)
    };
    let (pg_start, pg_end) = block("  postgres:\n    placement: in-cluster", "  redis:\n");
    let (redis_start, redis_end) = block("  redis:\n    placement: in-cluster", "  kafka:\n");
    let postgres = format!(
        "  postgres:\n    placement: managed\n    host: localhost\n    port: {pg_port}\n    database: {PG_DB}\n    user: {PG_USER}\n    sslMode: disable\n    toolboxImage: postgres:15-alpine\n"
    );
    let redis = if redis_managed {
        "  redis:\n    placement: managed\n    host: fintech-ai-redis-test.redis.cache.windows.net\n    port: 6380\n    tls: true\n    resourceGroup: fintech-ai-test-rg\n".to_string()
    } else {
        src[redis_start..redis_end].to_string()
    };
    let out = format!("{}{postgres}{redis}{}", &src[..pg_start], &src[redis_end..]);
    assert!(pg_end <= redis_start);
    let out = out.replace(
        "  path: ./backups\n",
        &format!("  path: {}\n", store.display()),
    );
    let envs = dir.join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(envs.join("local.yaml"), out).unwrap();
    envs
}

struct World {
    c: Cluster,
    pg: Postgres,
    envs: PathBuf,
    store: PathBuf,
    _dir: tempfile::TempDir,
}

async fn world(exec_env: &str, redis_managed: bool, rows: usize) -> World {
    let pg = Postgres::start_trusting();
    pg.seed(rows);
    let c = cluster(behaviors(exec_env)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let envs = environments(dir.path(), pg.port, &store, redis_managed);
    common::deploy_local_from(&c, &envs).await;
    World {
        c,
        pg,
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

    /// Toolbox pods and NetworkPolicies in the namespace, by name.
    fn toolboxes(&self) -> (Vec<String>, Vec<String>) {
        let names = |kind_api: (&str, &str)| -> Vec<String> {
            self.c
                .sim
                .list(kind_api.0, kind_api.1, Some(NS))
                .iter()
                .filter(|o| o["metadata"]["labels"][TOOLBOX_LABEL].is_string())
                .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        };
        (
            names(("v1", "Pod")),
            names(("networking.k8s.io/v1", "NetworkPolicy")),
        )
    }

    fn assert_no_toolbox(&self, after: &str) {
        let (pods, policies) = self.toolboxes();
        assert!(
            pods.is_empty() && policies.is_empty(),
            "after {after}: toolbox pods {pods:?}, NetworkPolicies {policies:?} left"
        );
    }

    /// Runs `cmd` while watching the namespace: the toolbox pod and
    /// NetworkPolicy this run created (not the planted leftover), as seen.
    async fn run_watching(
        &self,
        cmd: assert_cmd::Command,
    ) -> (
        std::process::Output,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
    ) {
        let fut = run(cmd);
        tokio::pin!(fut);
        let (mut pod, mut policy) = (None, None);
        let ours = |o: &serde_json::Value| {
            o["metadata"]["labels"][TOOLBOX_LABEL].is_string() && o["metadata"]["name"] != LEFTOVER
        };
        loop {
            tokio::select! {
                out = &mut fut => return (out, pod, policy),
                _ = tokio::time::sleep(Duration::from_millis(10)) => {
                    if let Some(p) = self.c.sim.list("v1", "Pod", Some(NS)).into_iter().find(ours) {
                        pod = Some(p);
                    }
                    if let Some(p) = self
                        .c
                        .sim
                        .list("networking.k8s.io/v1", "NetworkPolicy", Some(NS))
                        .into_iter()
                        .find(ours)
                    {
                        policy = Some(p);
                    }
                }
            }
        }
    }

    /// A toolbox a crashed run left: labelled, heartbeat an hour old.
    fn plant_leftover(&self) {
        let labels = serde_json::json!({
            "app.kubernetes.io/managed-by": "fintechctl",
            "fintechctl.io/environment": "local",
            TOOLBOX_LABEL: "postgres",
            "fintechctl.io/run-id": "deadbeef",
        });
        let hour_ago = k8s_openapi::jiff::Timestamp::now()
            .checked_sub(k8s_openapi::jiff::SignedDuration::from_hours(1))
            .unwrap()
            .to_string();
        self.c
            .sim
            .create(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": LEFTOVER, "namespace": NS, "labels": labels,
                    "annotations": {"fintechctl.io/toolbox-heartbeat": hour_ago,
                        "fintechctl.io/toolbox-purpose": "backup (crashed)"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "toolbox",
                    "image": "postgres:15-alpine", "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi"}}}]}}))
            .expect("leftover pod");
        self.c
            .sim
            .create(
                serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": LEFTOVER, "namespace": NS, "labels": labels},
                "spec": {"podSelector": {"matchLabels": {"fintechctl.io/run-id": "deadbeef"}},
                    "policyTypes": ["Egress"]}}),
            )
            .expect("leftover NetworkPolicy");
    }
}

/// The planted values (the test secrets, the SAS) in every form they could leak in.
fn assert_no_secret(what: &str, haystack: &[u8]) {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(haystack);
    for value in SECRETS.iter().map(|(_, v)| *v).chain([SAS]) {
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

/// A fake `name` in a fresh directory, for the toolbox's PATH.
fn fake_bin(name: &str, script: &str) -> (tempfile::TempDir, String) {
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join(name);
    std::fs::write(&fake, script).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        ", PATH: \"{}:/usr/local/bin:/usr/bin:/bin\"",
        bin.path().display()
    );
    (bin, path)
}

fn real(program: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "{program} is not installed");
    path
}

/// What of the toolbox's pod and NetworkPolicy matters, the run id and
/// the server's port replaced.
fn toolbox_shape(pod: &serde_json::Value, policy: &serde_json::Value, pg_port: u16) -> String {
    let run = pod["metadata"]["labels"]["fintechctl.io/run-id"]
        .as_str()
        .unwrap()
        .to_string();
    let shape = serde_json::json!({
        "pod": {
            "labels": pod["metadata"]["labels"],
            "annotations": pod["metadata"]["annotations"].as_object().map(|a| a.keys().cloned().collect::<Vec<_>>()),
            "restartPolicy": pod["spec"]["restartPolicy"],
            "activeDeadlineSeconds": pod["spec"]["activeDeadlineSeconds"],
            "automountServiceAccountToken": pod["spec"]["automountServiceAccountToken"],
            "securityContext": pod["spec"]["securityContext"],
            "image": pod["spec"]["containers"][0]["image"],
            "command": pod["spec"]["containers"][0]["command"],
            "env": pod["spec"]["containers"][0]["env"],
            "resources": pod["spec"]["containers"][0]["resources"],
            "containerSecurityContext": pod["spec"]["containers"][0]["securityContext"],
            "volumeMounts": pod["spec"]["containers"][0]["volumeMounts"],
            "volumes": pod["spec"]["volumes"],
        },
        "networkPolicy": {"labels": policy["metadata"]["labels"], "spec": policy["spec"]},
    });
    serde_json::to_string_pretty(&shape)
        .unwrap()
        .replace(&run, "[RUN]")
        .replace(&format!("\"{pg_port}\""), "\"[PORT]\"")
        .replace(&format!(": {pg_port}"), ": \"[PORT]\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_postgres_round_trips_through_a_toolbox_pod_that_is_removed_afterwards() {
    let w = world("", false, 5_000).await;
    let tables = w.pg.checksums();
    w.plant_leftover();

    // Backup: the leftover swept, the dump taken through the toolbox.
    let cmd = w.cmd(&[
        "backup",
        "local",
        "--only",
        "postgres",
        "-o",
        "json",
        "--timeout",
        "100s",
    ]);
    let (out, pod, policy) = w.run_watching(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("removed a leftover toolbox pod/{LEFTOVER}")),
        "{stderr}"
    );
    w.assert_no_toolbox("a backup");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], true, "{report}");
    let id = report["id"].as_str().unwrap().to_string();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.store.join("local").join(&id).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let source = manifest["postgres"]["source"].as_str().unwrap();
    assert!(
        source.starts_with("toolbox pod/fintechctl-toolbox-")
            && source.contains("postgres:15-alpine"),
        "{source}"
    );
    assert_eq!(manifest["postgres"]["alembicRevision"], "a1b2c3d4e5f6");

    // The pod as it was while it ran: restricted, no password literal.
    let pod = pod.expect("the toolbox pod was seen while the backup ran");
    let policy = policy.expect("the toolbox NetworkPolicy was seen");
    let spec = &pod["spec"];
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(spec["securityContext"]["runAsUser"], 70);
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &spec["containers"][0]["securityContext"];
    assert_eq!(c["allowPrivilegeEscalation"], false);
    assert_eq!(c["readOnlyRootFilesystem"], true);
    assert_eq!(c["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let password = spec["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "PGPASSWORD")
        .unwrap();
    assert_eq!(
        password["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "fintech-ai-secrets", "key": "postgres-password"})
    );
    assert_no_secret("the toolbox pod", pod.to_string().as_bytes());
    insta::assert_snapshot!(
        "toolbox_pod_and_network_policy",
        toolbox_shape(&pod, &policy, w.pg.port)
    );

    // The data damaged, then restored through a new toolbox.
    w.pg.psql(
        "DROP TABLE ledger; DELETE FROM accounts; DROP SCHEMA \"Ünïcode schema\" CASCADE; \
         UPDATE alembic_version SET version_num = 'ffffffffffff';",
    );
    assert_ne!(w.pg.checksums(), tables);
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
    let (rstdout, rstderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{rstderr}");
    let restored: serde_json::Value = serde_json::from_str(&rstdout).unwrap();
    assert_eq!(restored["outcome"], "restored", "{restored}");
    assert_eq!(
        w.pg.checksums(),
        tables,
        "every table equal after the restore"
    );
    assert_eq!(restored["alembic"]["after"], "a1b2c3d4e5f6");
    w.assert_no_toolbox("a restore");
    assert!(rstderr.contains("Removed"), "{rstderr}");

    // The drill through a third toolbox.
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
    let (vstdout, vstderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{vstderr}");
    let verified: serde_json::Value = serde_json::from_str(&vstdout).unwrap();
    assert_eq!(verified["verified"], true);
    assert!(
        verified["archiveEntries"].as_u64().unwrap() > 4,
        "{verified}"
    );
    assert_eq!(verified["drill"]["mismatches"], serde_json::json!([]));
    assert_eq!(verified["drill"]["dropped"], true);
    w.assert_no_toolbox("a drill");

    for (what, bytes) in [
        ("backup stdout", out_bytes(&stdout)),
        ("backup stderr", out_bytes(&stderr)),
        ("restore stdout", out_bytes(&rstdout)),
        ("restore stderr", out_bytes(&rstderr)),
        ("verify stdout", out_bytes(&vstdout)),
        ("verify stderr", out_bytes(&vstderr)),
    ] {
        assert_no_secret(what, &bytes);
    }
    for (path, bytes) in store_contents(&w.store) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

fn out_bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_failing_in_the_toolbox_fails_the_backup_and_removes_the_toolbox() {
    let (_bin, path) = fake_bin(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {} --version; fi\nprintf 'PGDMP-partial'\necho 'pg_dump: error: query failed: ERROR:  permission denied for table ledger' >&2\nexit 1\n",
            real("pg_dump")
        ),
    );
    let w = world(&path, false, 100).await;
    let out = run(w.cmd(&["backup", "local", "--only", "postgres", "-o", "json"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pg_dump exited with code 1"), "{stderr}");
    assert!(
        stderr.contains("permission denied for table ledger"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], false);
    w.assert_no_toolbox("a failed pg_dump");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toolbox_client_older_than_the_server_is_refused_clearly_and_removed() {
    let (_bin, path) = fake_bin(
        "pg_dump",
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 12.9'; exit 0; fi\nexit 99\n",
    );
    let w = world(&path, false, 100).await;
    let out = run(w.cmd(&["backup", "local", "--only", "postgres"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the toolbox's pg_dump is PostgreSQL 12, the server is PostgreSQL 15")
            && stderr.contains("data.postgres.toolboxImage"),
        "{stderr}"
    );
    w.assert_no_toolbox("a refused toolbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_dump_through_the_toolbox_removes_it() {
    let (_bin, path) = fake_bin(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {} --version; fi\nsleep 30\nexec {} \"$@\"\n",
            real("pg_dump"),
            real("pg_dump")
        ),
    );
    let w = world(&path, false, 100).await;
    let cmd = w.cmd(&["backup", "local", "--only", "postgres"]);
    let mut child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let (stderr, status) = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        let mut signalled = false;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !signalled && line.contains("Starting") && line.contains("postgres") {
                std::thread::sleep(Duration::from_millis(500));
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
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (SIGINT)"), "{stderr}");
    assert!(stderr.contains("Removed"), "{stderr}");
    w.assert_no_toolbox("Ctrl-C");
}

// ---- managed Redis: `az redis export` -------------------------------------

/// A fake `az` that records its arguments (one a line) in `$AZ_ARGS` and
/// fails, with the SAS in its message, when `$AZ_FAIL` is set.
const FAKE_AZ: &str = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$AZ_ARGS\"\n\
if [ -n \"$AZ_FAIL\" ]; then\n  echo \"ERROR: (AuthorizationFailure) This request is not authorized: ${10}\" >&2\n  exit 1\nfi\n\
echo '{\"status\": \"Succeeded\"}'\n";

fn sas_url() -> String {
    format!(
        "https://fintechbackups.blob.core.windows.net/database-backups?sv=2022-11-02&sp=acw&sig={SAS}"
    )
}

async fn export_backup(w: &World, fail: bool) -> (std::process::Output, Vec<String>) {
    let bin = tempfile::tempdir().unwrap();
    std::fs::write(bin.path().join("az"), FAKE_AZ).unwrap();
    std::fs::set_permissions(
        bin.path().join("az"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let args_file = bin.path().join("args");
    let mut cmd = w.cmd(&["backup", "local", "--only", "redis", "-o", "json"]);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env("AZ_ARGS", &args_file)
        .env("FINTECHCTL_REDIS_EXPORT_SAS_URL", sas_url());
    if fail {
        cmd.env("AZ_FAIL", "1");
    }
    let out = run(cmd).await;
    let args = std::fs::read_to_string(&args_file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (out, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_redis_is_backed_up_by_az_redis_export_with_its_result_in_the_manifest() {
    let w = world("", true, 10).await;
    let (out, args) = export_backup(&w, false).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], true, "{report}");
    assert_eq!(report["parts"][0]["status"], "done", "{report}");
    let id = report["id"].as_str().unwrap().to_string();
    let prefix = format!("local/{id}/redis");
    assert_eq!(
        args,
        [
            "redis",
            "export",
            "--name",
            "fintech-ai-redis-test",
            "--resource-group",
            "fintech-ai-test-rg",
            "--prefix",
            prefix.as_str(),
            "--container",
            sas_url().as_str(),
            "--file-format",
            "RDB",
            "--only-show-errors"
        ]
    );
    let dir = w.store.join("local").join(&id);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let export = &manifest["redisExport"];
    assert_eq!(export["exitCode"], 0, "{manifest}");
    assert_eq!(export["name"], "fintech-ai-redis-test");
    assert_eq!(
        export["container"],
        "https://fintechbackups.blob.core.windows.net/database-backups"
    );
    assert_eq!(export["prefix"], prefix.as_str());
    assert_eq!(manifest["parts"][0]["file"], "redis.export.json");
    assert!(dir.join("redis.export.json").exists());
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
    for (path, bytes) in store_contents(&w.store) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }

    // verify checks the record; restore refuses to import, naming az redis import.
    let out = run(w.cmd(&["backup", "verify", "local", &id])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let out = run(w.cmd(&["restore", "local", &id, "--only", "redis", "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("az redis import --name fintech-ai-redis-test"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    // The whole backup (only the export in it): refused the same way.
    let out = run(w.cmd(&["restore", "local", &id, "--yes"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("az redis import"), "{stderr}");
    assert!(!stderr.contains("to 0"), "no writer was scaled: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_az_redis_export_fails_the_part_and_writes_no_manifest() {
    let w = world("", true, 10).await;
    let (out, args) = export_backup(&w, true).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(args[..2], ["redis", "export"]);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["manifest"], false, "{report}");
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["parts"][0]["status"], "failed");
    assert!(
        stderr.contains("az redis export exited with code 1"),
        "{stderr}"
    );
    assert!(stderr.contains("AuthorizationFailure"), "{stderr}");
    let id = report["id"].as_str().unwrap();
    assert!(
        !w.store
            .join("local")
            .join(id)
            .join("manifest.json")
            .exists()
    );
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toolbox_that_does_not_fit_the_quota_is_refused_before_anything_is_created() {
    let w = world("", false, 10).await;
    // A second quota with no memory left for the toolbox's requests.
    w.c.sim
        .create(
            serde_json::json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "tight", "namespace": NS},
            "spec": {"hard": {"requests.memory": "1Mi"}}}),
        )
        .expect("quota");
    // kube-sim fills in status.used when it reconciles the quota.
    let started = std::time::Instant::now();
    while w
        .c
        .get("v1", "ResourceQuota", NS, "tight")
        .is_some_and(|q| q["status"]["used"].is_null())
    {
        assert!(started.elapsed() < Duration::from_secs(10), "quota status");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = run(w.cmd(&["backup", "local", "--only", "postgres"])).await;
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the toolbox pod does not fit the namespace's quota")
            && stderr.contains("ResourceQuota/tight: requests.memory"),
        "{stderr}"
    );
    w.assert_no_toolbox("a quota refusal");
}

#[test]
fn bad_managed_redis_input_is_exit_2_naming_the_field_before_any_cluster_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let envs = environments(dir.path(), 5432, &store, true);
    let local = envs.join("local.yaml");
    let managed = std::fs::read_to_string(&local).unwrap();
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        // A host that names no Azure cache, and no data.redis.name.
        (
            managed.replace(
                "fintech-ai-redis-test.redis.cache.windows.net",
                "redis.example.com",
            ),
            vec![],
            "data.redis.name: is required for `az redis export`",
        ),
        (
            managed.replace(
                "    resourceGroup: fintech-ai-test-rg\n",
                "    resourceGroup: fintech-ai-test-rg\n    name: \"bad name!\"\n",
            ),
            vec![],
            "data.redis.name",
        ),
        (
            managed.clone(),
            vec![(
                "FINTECHCTL_REDIS_EXPORT_SAS_URL",
                "https://acct.blob.core.windows.net/c?sv=1",
            )],
            "FINTECHCTL_REDIS_EXPORT_SAS_URL: has no signature",
        ),
    ];
    for (yaml, vars, expected) in cases {
        std::fs::write(&local, &yaml).unwrap();
        let out = assert_cmd::Command::cargo_bin("fintechctl")
            .unwrap()
            .args(["backup", "local", "--only", "redis", "--environments-dir"])
            .arg(&envs)
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .envs(vars)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}
