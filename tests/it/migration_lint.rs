//! Issue 19 items 6 and 7 against kube-sim: the migration's SQL from
//! alembic's offline mode (Jobs whose kube-sim command prints alembic-style
//! output, told apart by `KUBE_SIM_ARGS`), linted before the migration Job
//! is created; breaking statements refuse protected deploys (exit 4) and
//! warn elsewhere; an SQL that cannot be had is "not checked".

use crate::common;

use common::{ALEMBIC_HEAD, Cluster, cluster, run, text};
use kube_sim::Behaviors;

const PROD_NS: &str = "fintech-ai-prod";

/// `offline_exit` for an offline SQL Job that takes two minutes.
const SLOW: i32 = -1;

/// Behaviours whose api-gateway Jobs answer `alembic heads` with
/// [`ALEMBIC_HEAD`], `upgrade … --sql` with the file `sql` (or fail with
/// `offline_exit` > 0, or first sleep with [`SLOW`]), and the migration
/// itself with an echo.
fn behaviors(sql: &std::path::Path, offline_exit: i32) -> Behaviors {
    let script = format!(
        "case $KUBE_SIM_ARGS in \
         'alembic heads') echo 'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.'; echo '{ALEMBIC_HEAD} (head)';; \
         *' --sql') if [ {offline_exit} -eq {SLOW} ]; then sleep 120; fi; if [ {offline_exit} -gt 0 ]; then echo 'FAILED: This operation cannot be run in --sql mode'; exit {offline_exit}; fi; \
         echo 'INFO  [alembic.runtime.migration] Generating static SQL'; cat '{}';; \
         *) echo \"migrating: $KUBE_SIM_ARGS\";; esac",
        sql.display()
    );
    common::behaviors("", &script)
}

/// alembic's offline output around `body`.
fn offline_sql(body: &str) -> String {
    format!(
        "BEGIN;\n\n-- Running upgrade {ALEMBIC_HEAD} -> 5f6a7b8c9d0e\n\n{body}\n\nUPDATE alembic_version SET version_num='5f6a7b8c9d0e' WHERE alembic_version.version_num = '{ALEMBIC_HEAD}';\n\nCOMMIT;\n"
    )
}

struct Setup {
    c: Cluster,
    sql: std::path::PathBuf,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

/// A cluster with production (or staging) at 1.4.2 and the next migration's SQL set to `body`.
async fn live_at_1_4_2(env: &str, body: &str, offline_exit: i32) -> Setup {
    let files = tempfile::tempdir().unwrap().keep();
    let sql = files.join("offline.sql");
    std::fs::write(&sql, offline_sql(body)).unwrap();
    let c = cluster(behaviors(&sql, offline_exit)).await;
    common::seed_autoscaler_secret(&c);
    let (cert, key) = common::fake_tls(&c);
    let setup = Setup { c, sql, cert, key };
    let out = run(setup.deploy(env, "1.4.2", &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    setup
}

impl Setup {
    fn deploy(&self, env: &str, version: &str, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.c.fintechctl();
        cmd.args(["deploy", env, "--yes", "--version", version])
            // Not about canaries: production's canary strategy aside.
            .args(["--strategy", "rolling"])
            .args(["--timeout", "120s", "--tls-cert"])
            .arg(&self.cert)
            .arg("--tls-key")
            .arg(&self.key)
            .args(extra);
        cmd
    }

    /// Nothing of the migration Job of `version` ever existed: no Job, no
    /// pod, no event about either.
    fn no_migration_job_ever(&self, ns: &str, version: &str) {
        let job = fintechctl::render::engine::migration_job_name(version);
        assert!(
            self.c.get("batch/v1", "Job", ns, &job).is_none(),
            "Job/{job} exists"
        );
        let pods = self.c.sim.list("v1", "Pod", Some(ns));
        assert!(
            !pods
                .iter()
                .any(|p| p["metadata"]["labels"]["job-name"] == job.as_str()),
            "a pod of Job/{job}"
        );
        let events = self.c.sim.list("v1", "Event", Some(ns));
        assert!(
            !events.iter().any(|e| e["involvedObject"]["name"]
                .as_str()
                .is_some_and(|n| n == job || is_pod_of(n, &job))),
            "an event about Job/{job} or its pods"
        );
    }

    /// The offline Jobs (`<job>-heads-<id>`, `<job>-sql-<id>`) are deleted after the check.
    fn offline_jobs_gone(&self, ns: &str, version: &str) {
        let job = fintechctl::render::engine::migration_job_name(version);
        let left = self.offline_jobs(ns, &job);
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    fn offline_jobs(&self, ns: &str, job: &str) -> Vec<String> {
        self.c
            .sim
            .list("batch/v1", "Job", Some(ns))
            .iter()
            .filter_map(|j| j["metadata"]["name"].as_str().map(str::to_string))
            .filter(|n| {
                n.starts_with(&format!("{job}-heads-")) || n.starts_with(&format!("{job}-sql-"))
            })
            .collect()
    }

    fn record(
        &self,
        ns: &str,
        env: &str,
        revision: u32,
    ) -> fintechctl::cluster::records::ReleaseRecord {
        let secret = self
            .c
            .get(
                "v1",
                "Secret",
                ns,
                &format!("fintechctl.release.{env}.v{revision}"),
            )
            .unwrap_or_else(|| panic!("record {revision}"));
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(secret).unwrap();
        fintechctl::cluster::records::from_secret(&secret).unwrap()
    }

    fn image(&self, ns: &str) -> String {
        self.c
            .get("apps/v1", "Deployment", ns, "api-gateway")
            .unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// `<job>-<5 characters>`: a pod of the Job (not an offline Job, `<job>-heads`/`<job>-sql…`).
fn is_pod_of(name: &str, job: &str) -> bool {
    name.strip_prefix(job)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| rest.len() == 5 && rest != "heads" && !rest.contains('-'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_column_refuses_a_production_deploy_before_the_migration_job() {
    let s = live_at_1_4_2(
        "production",
        "ALTER TABLE accounts DROP COLUMN legacy_code;",
        0,
    )
    .await;
    let out = run(s.deploy("production", "1.5.0", &[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("1 breaking statement"), "{stderr}");
    assert!(
        stderr.contains("ALTER TABLE accounts DROP COLUMN legacy_code"),
        "the statement is named: {stderr}"
    );
    assert!(stderr.contains("drop-column"), "the rule: {stderr}");
    assert!(
        stderr.contains("drop it in a later release"),
        "the alternative: {stderr}"
    );
    assert!(stderr.contains("--allow-breaking-migration"), "{stderr}");
    assert!(
        !stderr.contains("migrating:"),
        "the migration ran: {stderr}"
    );
    s.no_migration_job_ever(PROD_NS, "1.5.0");
    s.offline_jobs_gone(PROD_NS, "1.5.0");
    assert_eq!(s.image(PROD_NS), "fintech-ai/api-gateway:1.4.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_nullable_column_passes_and_the_migration_runs() {
    let s = live_at_1_4_2(
        "production",
        "ALTER TABLE accounts ADD COLUMN nickname VARCHAR(64) NULL;",
        0,
    )
    .await;
    let mut cmd = s.deploy("production", "1.5.0", &[]);
    cmd.args(["-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["migrationCheck"]["status"], "passed", "{report}");
    assert_eq!(report["migrationCheck"]["fromRevision"], ALEMBIC_HEAD);
    assert_eq!(report["migration"]["succeeded"], true);
    assert!(
        stderr.contains("migrating: alembic upgrade head"),
        "the migration ran: {stderr}"
    );
    s.offline_jobs_gone(PROD_NS, "1.5.0");
    assert_eq!(s.image(PROD_NS), "fintech-ai/api-gateway:1.5.0");
    let record = s.record(PROD_NS, "production", 2);
    let check = record.migration_check.expect("the check is recorded");
    assert_eq!(check.overridden_by, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_breaking_migration_proceeds_and_the_release_record_says_so() {
    let s = live_at_1_4_2("production", "DROP TABLE legacy_statements;", 0).await;
    let out = run(s.deploy("production", "1.5.0", &["--allow-breaking-migration"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--allow-breaking-migration: deploying a migration with 1 breaking"),
        "{stderr}"
    );
    assert!(
        stderr.contains("migrating: alembic upgrade head"),
        "{stderr}"
    );
    let record = s.record(PROD_NS, "production", 2);
    let check = record.migration_check.expect("the check is recorded");
    assert_eq!(
        check.overridden_by.as_deref(),
        Some("--allow-breaking-migration")
    );
    assert_eq!(check.findings.len(), 1);
    assert_eq!(check.findings[0].rule, "drop-table");
    assert_eq!(check.findings[0].statement, "DROP TABLE legacy_statements");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_warns_about_a_breaking_migration_and_proceeds() {
    let s = live_at_1_4_2(
        "staging",
        "ALTER TABLE accounts RENAME COLUMN email TO email_address;",
        0,
    )
    .await;
    let out = run(s.deploy("staging", "1.5.0", &[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 breaking statement"), "{stderr}");
    assert!(stderr.contains("rename-column"), "{stderr}");
    assert!(
        stderr.contains("migrating: alembic upgrade head"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_offline_job_is_not_checked_and_production_needs_the_flag() {
    let s = live_at_1_4_2("production", "SELECT 1;", 2).await;
    let out = run(s.deploy("production", "1.5.0", &[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("migration not checked"), "{stderr}");
    assert!(stderr.contains("exit code 2"), "the reason: {stderr}");
    assert!(stderr.contains("--allow-unchecked-migration"), "{stderr}");
    s.no_migration_job_ever(PROD_NS, "1.5.0");
    s.offline_jobs_gone(PROD_NS, "1.5.0");

    let out = run(s.deploy("production", "1.5.0", &["--allow-unchecked-migration"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("migration not checked"), "{stderr}");
    assert!(
        stderr.contains("migrating: alembic upgrade head"),
        "{stderr}"
    );
    let record = s.record(PROD_NS, "production", 2);
    assert_eq!(
        record.migration_check.unwrap().overridden_by.as_deref(),
        Some("--allow-unchecked-migration")
    );
    let _ = &s.sql;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refusal_as_json() {
    let s = live_at_1_4_2(
        "production",
        "ALTER TABLE accounts DROP COLUMN legacy_code;\n\nALTER TABLE accounts ALTER COLUMN balance TYPE NUMERIC(20, 4);\n\nCREATE INDEX ix_accounts_email ON accounts (email);\n\nALTER TABLE accounts ADD COLUMN nickname VARCHAR(64);",
        0,
    )
    .await;
    let mut cmd = s.deploy("production", "1.5.0", &[]);
    cmd.args(["-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let mut doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // The plan's objects are the deploy's own snapshot's business: counted here.
    let planned = doc["plan"].as_array().map(Vec::len).unwrap_or_default();
    assert!(planned > 0, "{doc}");
    doc["plan"] = serde_json::json!(format!("[{planned} objects]"));
    insta::with_settings!({filters => vec![
        (r#""elapsed": [0-9.]+"#, r#""elapsed": "[SECS]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"/tmp/[^`\x22 ]+", "[TMP]"),
        (r"db-migrate-1-4-2-[0-9a-f]{6}", "db-migrate-1-4-2-[HASH]"),
        (r"\[\d+ objects\]", "[N objects]"),
    ], sort_maps => false}, {
        insta::assert_snapshot!("migration_refused", serde_json::to_string_pretty(&doc).unwrap());
    });
}

/// A dry run refuses exactly as the deploy would: the offline Jobs run (and
/// are deleted), nothing else is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_refuses_as_the_deploy_would() {
    let s = live_at_1_4_2(
        "production",
        "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;",
        0,
    )
    .await;
    let out = run(s.deploy("production", "1.5.0", &["--dry-run"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("set-not-null"), "{stderr}");
    s.no_migration_job_ever(PROD_NS, "1.5.0");
    s.offline_jobs_gone(PROD_NS, "1.5.0");
    assert_eq!(s.image(PROD_NS), "fintech-ai/api-gateway:1.4.2");
    assert!(
        s.c.get("v1", "Secret", PROD_NS, "fintechctl.release.production.v2")
            .is_none(),
        "a dry run writes no release record"
    );
}

/// SIGTERM while the offline Job runs: the run stops (130), the offline
/// Job is deleted, no migration Job was created, the lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_the_check_deletes_the_offline_job() {
    let s = live_at_1_4_2("production", "SELECT 1;", SLOW).await;
    let cmd = s.deploy("production", "1.5.0", &[]);
    let child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    let job = fintechctl::render::engine::migration_job_name("1.5.0");
    let started = std::time::Instant::now();
    while !s
        .offline_jobs(PROD_NS, &job)
        .iter()
        .any(|n| n.starts_with(&format!("{job}-sql-")))
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the offline SQL Job was never created"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
    assert!(stderr.contains("checking the migration"), "{stderr}");
    s.offline_jobs_gone(PROD_NS, "1.5.0");
    s.no_migration_job_ever(PROD_NS, "1.5.0");
    let holder =
        s.c.get(
            "coordination.k8s.io/v1",
            "Lease",
            PROD_NS,
            "fintechctl-lock",
        )
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        .filter(|h| !h.is_empty());
    assert_eq!(holder, None, "the lock was released");
}
