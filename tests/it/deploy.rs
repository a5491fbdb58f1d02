//! `fintechctl deploy` and `migrate` against kube-sim: the phases, the gated
//! migration, fail-fast diagnosis with the cause, the safety rules and the
//! exit codes.

use crate::common;

use common::{SECRETS, behaviors, cluster, run, text};

const NS: &str = "fintech-ai-local";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_applies_migrates_and_waits() {
    let c = cluster(behaviors("", "echo migrating; echo upgraded to head")).await;
    let mut cmd = c.fintechctl();
    cmd.args([
        "deploy",
        "local",
        "--version",
        "1.4.2",
        "-o",
        "json",
        "--timeout",
        "60s",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["version"], "1.4.2");
    assert_eq!(report["migration"]["succeeded"], true);
    assert!(
        stderr.contains("upgraded to head"),
        "migration logs are streamed: {stderr}"
    );

    let d = c
        .get("apps/v1", "Deployment", NS, "api-gateway")
        .expect("api-gateway deployed");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "fintech-ai/api-gateway:1.4.2"
    );
    assert_eq!(d["status"]["readyReplicas"], 1);
    let secret = c
        .get("v1", "Secret", NS, "fintech-ai-secrets")
        .expect("secret applied");
    assert!(secret.to_string().len() > 10);
    for (_, value) in SECRETS {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "secret leaked"
        );
    }
    let rollouts = report["rollouts"].as_array().unwrap();
    assert!(
        rollouts
            .iter()
            .any(|r| r["workload"].as_str().unwrap_or("").contains("api-gateway")),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_error_fails_fast_with_the_cause() {
    let extra = "  - match: \"*/ml-service:*\"\n    behavior: image-pull-error\n";
    let c = cluster(behaviors(extra, "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "120s"]);
    let started = std::time::Instant::now();
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("ml-service"), "{stderr}");
    assert!(
        stderr.contains("ImagePullBackOff") || stderr.contains("ErrImagePull"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_card_shows_the_crashed_containers_logs() {
    let extra = "  - match: \"*/ml-service:*\"\n    behavior: crash-loop\n    exitCode: 1\n    logs: \"ModuleNotFoundError: No module named 'torch'\"\n";
    let c = cluster(behaviors(extra, "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "120s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("No module named 'torch'"), "{stderr}");
    assert!(
        stderr.contains("CrashLoopBackOff") || stderr.contains("restart"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_migration_stops_before_any_workload_changes() {
    let c = cluster(behaviors(
        "",
        "echo 'alembic: revision abc123 failed'; exit 3",
    ))
    .await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("exit code: 3"), "{stderr}");
    assert!(stderr.contains("revision abc123 failed"), "{stderr}");
    assert!(
        c.get("apps/v1", "Deployment", NS, "api-gateway").is_none(),
        "no workload may be created"
    );
    assert!(
        c.get("v1", "Secret", NS, "fintech-ai-secrets").is_some(),
        "config is applied before the migration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeploy_keeps_the_hpa_managed_replica_count() {
    let c = cluster(behaviors("", "echo ok")).await;
    // staging has an HPA on api-gateway (2-4) and needs TLS; its
    // cluster-autoscaler reads the subscription from the platform team's Secret.
    let (cert, key) = common::fake_tls(&c);
    common::seed_autoscaler_secret(&c);
    let deploy = |version: &str| {
        let mut cmd = c.fintechctl();
        cmd.args([
            "deploy",
            "staging",
            "--version",
            version,
            "--timeout",
            "60s",
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
        cmd
    };
    let out = run(deploy("1.4.2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let ns = "fintech-ai-staging";
    let d = c.get("apps/v1", "Deployment", ns, "api-gateway").unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    // Created with the template's count, which the handover's manager
    // co-owns by the time the deploy ends: the next deploy can leave it out.
    let owners: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fieldsV1"]["f:spec"].get("f:replicas").is_some())
        .filter_map(|f| f["manager"].as_str())
        .collect();
    assert!(
        owners.contains(&"fintechctl") && owners.contains(&"fintechctl-replicas-handover"),
        "{owners:?}"
    );
    // The HPA scales up (as the autoscaler would, with its own field manager).
    let mut scaled = d.clone();
    scaled["spec"]["replicas"] = serde_json::json!(4);
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(client, ns);
    api.patch(
        "api-gateway",
        &kube::api::PatchParams::apply("horizontal-pod-autoscaler").force(),
        &kube::api::Patch::Apply(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-gateway"}, "spec": {"replicas": 4}})),
    )
    .await
    .unwrap();
    let out = run(deploy("1.4.3")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let d = c.get("apps/v1", "Deployment", ns, "api-gateway").unwrap();
    assert_eq!(
        d["spec"]["replicas"], 4,
        "re-deploying must not scale back to the template's count"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "fintech-ai/api-gateway:1.4.3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_without_terminal_or_yes_is_refused_before_any_write() {
    let c = cluster(behaviors("", "echo ok")).await;
    let (cert, key) = common::fake_tls(&c);
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "production", "--version", "1.4.2", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(
        c.sim
            .get("v1", "Namespace", None, "fintech-ai-prod")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_writes_nothing() {
    let c = cluster(behaviors("", "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args([
        "deploy",
        "local",
        "--version",
        "1.4.2",
        "--dry-run",
        "-o",
        "json",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "planned");
    let plan = report["plan"].as_array().unwrap();
    assert!(
        plan.iter()
            .any(|p| p["display"] == "Deployment/api-gateway" && p["action"] == "create"),
        "{report}"
    );
    assert!(
        c.sim.get("v1", "Namespace", None, NS).is_none(),
        "dry run wrote the namespace"
    );
    assert!(c.get("apps/v1", "Deployment", NS, "api-gateway").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_are_listed_at_once_with_exit_2() {
    let c = cluster(behaviors("", "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.env_remove("JWT_SECRET").env_remove("API_KEY");
    cmd.args(["deploy", "local", "--version", "1.4.2"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("JWT_SECRET") && stderr.contains("API_KEY"),
        "{stderr}"
    );
    assert!(c.sim.get("v1", "Namespace", None, NS).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_is_exit_3() {
    let c = cluster(behaviors("", "echo ok")).await;
    // A kubeconfig pointing at a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let yaml = c
        .sim
        .kubeconfig_yaml()
        .replace(&format!(":{}", c.sim.port()), &format!(":{port}"));
    std::fs::write(&c.kubeconfig, yaml).unwrap();
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot reach the cluster"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_runs_the_job_again_and_exits_with_its_code() {
    let c = cluster(behaviors("", "echo 'first run'")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    // The same release's Job already completed; `migrate` runs it again.
    c.sim
        .set_behaviors(behaviors("", "echo 'running migration'; exit 5"));
    let mut cmd = c.fintechctl();
    cmd.args(["migrate", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("running migration"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_exec_runs_alembic_in_a_ready_pod_and_exits_with_its_status() {
    let c = cluster(behaviors("", "echo ok")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    // kube-sim runs exec'd commands as local processes: a stand-in alembic.
    let bin = c.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let alembic = bin.join("alembic");
    std::fs::write(
        &alembic,
        "#!/bin/sh\necho \"INFO  Running upgrade $1 $2 on $POSTGRES_HOST\"\necho 'boom' >&2\nexit 3\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&alembic, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = format!(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\nexec:\n  - pod: \"api-gateway-*\"\n    env: {{ PATH: \"{}:/usr/bin:/bin\" }}\n",
        bin.display()
    );
    c.sim
        .set_behaviors(kube_sim::Behaviors::from_yaml(&yaml).unwrap());

    let mut cmd = c.fintechctl();
    cmd.args([
        "migrate",
        "local",
        "--version",
        "1.4.2",
        "--exec",
        "-o",
        "json",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("Running upgrade upgrade head on postgres"),
        "output streamed, pod env resolved: {stderr}"
    );
    assert!(stderr.contains("boom"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["mode"], "exec");
    assert_eq!(doc["exitCode"], 3);
    assert!(doc["pod"].as_str().unwrap().starts_with("api-gateway-"));
}

/// Every field of `rendered` is in `live` with the same value (the server
/// may add defaults; lists must match element by element).
fn assert_subset(rendered: &serde_json::Value, live: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (rendered, live) {
        (Value::Object(r), Value::Object(l)) => {
            for (key, value) in r {
                let child = format!("{path}.{key}");
                let Some(live_value) = l.get(key) else {
                    panic!("{child} is rendered but not live");
                };
                assert_subset(value, live_value, &child);
            }
        }
        (Value::Array(r), Value::Array(l)) => {
            assert_eq!(r.len(), l.len(), "{path}: list lengths differ");
            for (i, (a, b)) in r.iter().zip(l).enumerate() {
                assert_subset(a, b, &format!("{path}[{i}]"));
            }
        }
        // Rendered without the cluster, the secret digest is a placeholder;
        // the deploy keys it with the environment's key.
        (Value::String(r), Value::String(l)) if r == fintechctl::render::engine::UNKEYED_DIGEST => {
            assert!(
                l.len() == 16 && l.chars().all(|c| c.is_ascii_hexdigit()),
                "{path}: {l}"
            );
        }
        (r, l) => assert_eq!(r, l, "{path}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_deploy_of_every_environment_creates_every_rendered_object() {
    for env in ["local", "staging", "production"] {
        let c = cluster(behaviors("", "echo ok")).await;
        common::seed_autoscaler_secret(&c);
        let (cert, key) = common::fake_tls(&c);
        let tls = |cmd: &mut assert_cmd::Command| {
            cmd.arg("--tls-cert").arg(&cert).arg("--tls-key").arg(&key);
        };
        let mut cmd = c.fintechctl();
        cmd.args([
            "deploy",
            env,
            "--version",
            "1.4.2",
            "--yes",
            "--timeout",
            "60s",
        ]);
        tls(&mut cmd);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{env}: {}", text(&out).1);

        let mut cmd = c.fintechctl();
        cmd.args(["render", env, "--version", "1.4.2", "-o", "json"]);
        tls(&mut cmd);
        let out = run(cmd).await;
        let rendered: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(rendered.len() > 30, "{env}: {} objects", rendered.len());
        for object in &rendered {
            let kind = object["kind"].as_str().unwrap();
            let name = object["metadata"]["name"].as_str().unwrap();
            let ns = object["metadata"]["namespace"].as_str();
            let live = c
                .sim
                .get(object["apiVersion"].as_str().unwrap(), kind, ns, name)
                .unwrap_or_else(|| panic!("{env}: {kind}/{name} was not created"));
            let mut expected = object.clone();
            if kind == "Secret" {
                // Values are redacted in render's output; the keys must be there.
                let keys: Vec<&String> =
                    expected["stringData"].as_object().unwrap().keys().collect();
                for key in keys {
                    assert!(
                        live["stringData"]
                            .get(key)
                            .or(live["data"].get(key))
                            .is_some(),
                        "{env}: Secret/{name} lacks {key}"
                    );
                }
                expected.as_object_mut().unwrap().remove("stringData");
            }
            assert_subset(&expected, &live, &format!("{env}: {kind}/{name}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeploying_the_same_version_changes_nothing_and_a_new_one_migrates_once() {
    let c = cluster(behaviors("", "echo migrated")).await;
    let deploy = |version: &str| {
        let mut cmd = c.fintechctl();
        cmd.args([
            "deploy",
            "local",
            "--version",
            version,
            "--timeout",
            "60s",
            "-o",
            "json",
        ]);
        cmd
    };
    let out = run(deploy("1.4.2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let out = run(deploy("1.4.2")).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Unchanged"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "unchanged");
    assert!(report["applied"].as_array().unwrap().is_empty());

    let out = run(deploy("1.4.3")).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let job = fintechctl::render::engine::migration_job_name("1.4.3");
    assert!(job.starts_with("db-migrate-1-4-3-"), "{job}");
    assert_eq!(report["migration"]["job"], job.as_str());
    assert_eq!(report["migration"]["alreadyDone"], false);
    let rolled: Vec<&str> = report["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    for w in [
        "Deployment/api-gateway",
        "Deployment/ml-service",
        "Deployment/frontend",
    ] {
        assert!(rolled.contains(&w), "{w} rolled: {rolled:?}");
    }
    let job_pods = c
        .sim
        .list("v1", "Pod", Some(NS))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["job-name"] == job.as_str())
        .count();
    assert_eq!(job_pods, 1, "the migration ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_are_retried_and_the_deploy_completes() {
    let c = cluster(behaviors("", "echo ok")).await;
    let faults = c.sim.faults();
    faults.set_error_rate(0.05, 500);
    faults.drop_watches_after(Some(5));
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "90s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    faults.clear();
    faults.set_error_rate(0.05, 429);
    faults.set_retry_after(1);
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.3", "--timeout", "90s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(
        c.get("apps/v1", "Deployment", NS, "api-gateway").unwrap()["spec"]["template"]["spec"]["containers"]
            [0]["image"],
        "fintech-ai/api-gateway:1.4.3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_kubeconfig_is_exit_2_with_nothing_written() {
    let c = cluster(behaviors("", "echo ok")).await;
    std::fs::write(
        &c.kubeconfig,
        "apiVersion: v1\nclusters: [ this is not a kubeconfig\n",
    )
    .unwrap();
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&c.kubeconfig.display().to_string()),
        "{stderr}"
    );
    assert!(c.sim.get("v1", "Namespace", None, NS).is_none());
    // A context that does not exist is bad input too.
    c.sim.write_kubeconfig(&c.kubeconfig).unwrap();
    let mut cmd = c.fintechctl();
    cmd.args([
        "deploy",
        "local",
        "--version",
        "1.4.2",
        "--context",
        "no-such-context",
    ]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-context"), "{stderr}");
    assert!(c.sim.get("v1", "Namespace", None, NS).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_waiting_says_where_rollouts_stand_and_exits_130() {
    let c = cluster(behaviors(
        "  - match: \"*:1.4.2\"\n    behavior: ready\n    readyAfter: 1h\n",
        "echo ok",
    ))
    .await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "120s"]);
    let child = common::spawn(&cmd, &[], std::process::Stdio::piped());
    // Wait until the workloads are applied and being waited for.
    for _ in 0..400 {
        if c.get("apps/v1", "Deployment", NS, "frontend").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Stopped") && stderr.contains("Deployment/api-gateway"),
        "{stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let history = c
        .get("v1", "Secret", NS, "fintechctl.release.local.v1")
        .expect("the revision is recorded");
    assert_eq!(
        history["metadata"]["labels"]["fintechctl.io/release-status"],
        "failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_component_still_runs_a_due_migration_first() {
    let c = cluster(behaviors("", "echo migrated")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let mut cmd = c.fintechctl();
    cmd.args([
        "deploy",
        "local",
        "--version",
        "1.4.3",
        "--only",
        "api-gateway",
        "-o",
        "json",
        "--timeout",
        "60s",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["migration"]["job"],
        fintechctl::render::engine::migration_job_name("1.4.3").as_str(),
        "{report}"
    );
    let image = |name: &str| {
        c.get("apps/v1", "Deployment", NS, name).unwrap()["spec"]["template"]["spec"]["containers"]
            [0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(image("api-gateway"), "fintech-ai/api-gateway:1.4.3");
    assert_eq!(
        image("frontend"),
        "fintech-ai/frontend:1.4.2",
        "--only leaves the others alone"
    );
}

/// Issue 16 item 1: a kubeconfig pointing at another environment's cluster
/// must not let a deploy (or any writing command) change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_claimed_by_another_environment_is_refused_before_any_write() {
    let c = cluster(behaviors("", "echo ok")).await;
    common::seed_autoscaler_secret(&c);
    let (cert, key) = common::fake_tls(&c);
    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let claim = c
        .get("v1", "ConfigMap", "kube-system", "fintechctl-cluster")
        .expect("the first deploy claims the cluster");
    assert_eq!(claim["data"]["environments"], "local", "{claim}");

    let staging = |extra: &[&str]| {
        let mut cmd = c.fintechctl();
        cmd.args(["deploy", "staging", "--version", "1.4.2", "--yes"])
            .args(["--timeout", "60s"])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(extra);
        cmd
    };
    let out = run(staging(&[])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("belongs to environment `local`") && stderr.contains("not `staging`"),
        "names both environments: {stderr}"
    );
    assert!(stderr.contains("--allow-other-cluster"), "{stderr}");
    assert!(
        c.sim
            .get("v1", "Namespace", None, "fintech-ai-staging")
            .is_none(),
        "nothing of staging was written"
    );
    assert!(
        c.get("apps/v1", "Deployment", "kube-system", "cluster-autoscaler")
            .is_none(),
        "no cluster-scoped or kube-system object was written"
    );

    // The other writing commands keep the same rule.
    let mut cmd = c.fintechctl();
    cmd.args(["migrate", "staging", "--version", "1.4.2", "--yes"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(4), "migrate: {}", text(&out).1);
    let mut cmd = c.fintechctl();
    cmd.args(["rollback", "staging", "--yes"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(4), "rollback: {}", text(&out).1);

    // The rare intended case, said loudly; the claim then names both.
    let out = run(staging(&["--allow-other-cluster"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--allow-other-cluster: the cluster at"),
        "{stderr}"
    );
    let claim = c
        .get("v1", "ConfigMap", "kube-system", "fintechctl-cluster")
        .unwrap();
    assert_eq!(claim["data"]["environments"], "local,staging", "{claim}");
    let mut cmd = c.fintechctl();
    cmd.args(["migrate", "staging", "--version", "1.4.2", "--yes"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "now claimed: {}", text(&out).1);
}

/// Issue 16 item 1: an environment that pins its cluster's identity
/// refuses any other cluster, claimed or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_pinned_to_another_cluster_uid_is_refused() {
    let c = cluster(behaviors("", "echo ok")).await;
    let envs = c.dir.path().join("envs");
    std::fs::create_dir_all(&envs).unwrap();
    let local = include_str!("../../environments/local.yaml").replace(
        "  context: kind-fintech-ai\n",
        "  context: kind-fintech-ai\n  uid: 0b7d2c4e-1f3a-4c5d-8e9f-a0b1c2d3e4f5\n",
    );
    std::fs::write(envs.join("local.yaml"), local).unwrap();
    let mut cmd = c.fintechctl();
    cmd.arg("--environments-dir").arg(&envs).args([
        "deploy",
        "local",
        "--version",
        "1.4.2",
        "--timeout",
        "60s",
    ]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("0b7d2c4e-1f3a-4c5d-8e9f-a0b1c2d3e4f5") && stderr.contains("cluster.uid"),
        "{stderr}"
    );
    assert!(
        c.sim.get("v1", "Namespace", None, NS).is_none(),
        "nothing was written"
    );
}

/// Issue 16 item 3: `migrate` without `--version` runs the live version's
/// migration (and says so), never the `latest` image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_without_a_version_runs_the_live_api_gateway_version() {
    let c = cluster(behaviors("", "echo migrated")).await;
    let mut cmd = c.fintechctl();
    cmd.args(["migrate", "local", "--timeout", "60s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "nothing live: {stderr}");
    assert!(stderr.contains("pass --version"), "{stderr}");

    let mut cmd = c.fintechctl();
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let mut cmd = c.fintechctl();
    cmd.args(["migrate", "local", "--timeout", "60s", "-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1.4.2, the live api-gateway's"),
        "says which: {stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["version"], "1.4.2");
    let job = doc["job"].as_str().unwrap();
    assert!(job.starts_with("db-migrate-1-4-2-"), "{job}");
    let live = c.get("batch/v1", "Job", NS, job).unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "fintech-ai/api-gateway:1.4.2"
    );
}
