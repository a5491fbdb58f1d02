//! The `-o json` document of every cluster command, snapshot-tested: one
//! shape (camelCase keys, typed values) for tooling to rely on. Times,
//! durations, ports, paths, hashes and digests are filtered to placeholders.

use crate::common;

use common::{behaviors, cluster, run, text};

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r#""pod": "([a-z0-9-]+?)-[a-z0-9]{5}""#,
            r#""pod": "$1-[POD]""#,
        ),
        (r#""elapsed": [0-9.]+"#, r#""elapsed": "[SECS]""#),
        (r#""durationSecs": [0-9.]+"#, r#""durationSecs": "[SECS]""#),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"/tmp/[^`\x22 ]+", "[TMP]"),
        (
            r"db-migrate-1-4-(\d)-[0-9a-f]{6}",
            "db-migrate-1-4-$1-[HASH]",
        ),
        (r"hmac:[0-9a-f]{32}", "hmac:[DIGEST]"),
        (r#""host": "[^"]*""#, r#""host": "[HOST]""#),
        (r#""user": "[^"]*""#, r#""user": "[USER]""#),
        (r#""revision": "\d+""#, r#""revision": "[N]""#),
        (
            r#""revision": "([a-z-]+)-[0-9a-f]{7,10}""#,
            r#""revision": "$1-[REV]""#,
        ),
    ]
}

macro_rules! snapshot {
    ($name:expr, $json:expr) => {
        insta::with_settings!({filters => filters(), sort_maps => false}, {
            insta::assert_snapshot!($name, serde_json::to_string_pretty(&$json).unwrap());
        });
    };
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cluster_command_prints_one_camel_case_document() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    let cmd = |args: &[&str]| {
        let mut cmd = c.fintechctl();
        cmd.args(args).args(["-o", "json"]);
        cmd
    };

    // A dry run without secret values: the Secret's change is unknown.
    let mut dry = cmd(&["deploy", "local", "--version", "1.4.2", "--dry-run"]);
    for (var, _) in common::SECRETS {
        dry.env_remove(var);
    }
    let out = run(dry).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut dry = json(&stdout);
    assert!(
        dry["plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["display"] == "Secret/fintech-ai-secrets" && c["action"] == "unknown"),
        "{dry}"
    );
    // The plan's order within a phase follows completion; keep only counts.
    let plan_len = dry["plan"].as_array().unwrap().len();
    dry["plan"] = serde_json::json!(format!("[{plan_len} changes]"));
    snapshot!("deploy_dry_run", dry);

    let out = run(cmd(&[
        "deploy",
        "local",
        "--version",
        "1.4.2",
        "--timeout",
        "60s",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut deployed = json(&stdout);
    for key in ["plan", "applied"] {
        let n = deployed[key].as_array().unwrap().len();
        deployed[key] = serde_json::json!(format!("[{n} objects]"));
    }
    if let Some(rollouts) = deployed["rollouts"].as_array_mut() {
        rollouts.sort_by_key(|r| r["workload"].as_str().unwrap_or_default().to_string());
    }
    snapshot!("deploy", deployed);

    let out = run(cmd(&["diff", "local", "--version", "1.4.3"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let mut diff = json(&stdout);
    for object in diff["objects"].as_array_mut().unwrap() {
        object["diff"] = serde_json::json!("[DIFF]");
    }
    snapshot!("diff", diff);

    let out = run(cmd(&["migrate", "local", "--version", "1.4.2"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    snapshot!("migrate", json(&stdout));

    let out = run(cmd(&["history", "local"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    snapshot!("history", json(&stdout));

    // A second release, then back to the first.
    let out = run(cmd(&[
        "deploy",
        "local",
        "--version",
        "1.4.3",
        "--timeout",
        "60s",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let out = run(cmd(&["rollback", "local", "--yes", "--timeout", "60s"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut rolled = json(&stdout);
    for key in ["plan", "applied"] {
        if let Some(n) = rolled[key].as_array().map(Vec::len) {
            rolled[key] = serde_json::json!(format!("[{n} objects]"));
        }
    }
    if let Some(rollouts) = rolled["rollouts"].as_array_mut() {
        rollouts.sort_by_key(|r| r["workload"].as_str().unwrap_or_default().to_string());
    }
    snapshot!("rollback", rolled);
}
