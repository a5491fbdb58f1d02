//! `fintechctl debug` against kube-sim: the triage's cards name the right
//! cause with its logs and events, healthy components are one line, the
//! cluster-level causes (quota, an unready node) are listed, and no secret
//! value reaches the output — not even one only the cluster knows.

use crate::common;

use common::{Cluster, SECRETS, behaviors, cluster, run, text};
use serde_json::{Value, json};

const NS: &str = "fintech-ai-local";

/// A value only the cluster's Secret holds: the debug runs below do not
/// have it in their environment, so only learning the live Secrets can
/// scrub it.
const PLANTED: &str = "planted-pg-Zq8v3XkW";

/// `fintechctl` without any secret value in its environment.
fn debug_cmd(c: &Cluster) -> assert_cmd::Command {
    let mut cmd = c.fintechctl();
    for (var, _) in SECRETS {
        cmd.env_remove(var);
    }
    cmd
}

/// Deploys local 1.4.2 with the planted postgres password; `ok` says
/// whether the deploy is expected to succeed.
async fn deploy_local(c: &Cluster, ok: bool) {
    let mut cmd = c.fintechctl();
    cmd.env("POSTGRES_PASSWORD", PLANTED);
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.success(), ok, "deploy:\n{stderr}");
}

fn client(c: &Cluster) -> kube::Client {
    kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap()
}

fn assert_no_secret(output: &str) {
    assert!(
        !output.contains(PLANTED),
        "planted secret leaked:\n{output}"
    );
    for (_, value) in SECRETS {
        assert!(!output.contains(value), "secret leaked:\n{output}");
    }
}

/// Waits until `check` holds for the simulator's pods of `NS`.
async fn wait_pods(c: &Cluster, what: &str, check: impl Fn(&[Value]) -> bool) {
    for _ in 0..300 {
        if check(&c.sim.list("v1", "Pod", Some(NS))) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until `check` holds, polling; panics naming `what` after 30 s.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn pods_of<'a>(pods: &'a [Value], app: &str) -> Vec<&'a Value> {
    pods.iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

fn restarted(p: &Value) -> bool {
    p.pointer("/status/containerStatuses/0/restartCount")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        >= 1
}

/// Replaces the volatile parts of the triage text: ages, times, pod and
/// ReplicaSet hashes, user@host; runs of spaces (table columns) as two.
fn stable(text: &str) -> String {
    regex::Regex::new(r" {2,}")
        .unwrap()
        .replace_all(&stable_json(text), "  ")
        .into_owned()
}

/// [`stable`] keeping the indentation.
fn stable_json(text: &str) -> String {
    let filters = [
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"\b\d+(\.\d+)?(ms|s|m\d\ds|h\d\dm)\b", "[AGE]"),
        (r"-[a-z0-9]{8,10}-[a-z0-9]{5}\b", "-[HASH]-[POD]"),
        (
            r"(api-gateway|ml-service|frontend)-[a-z0-9]{6,10}\b",
            "$1-[HASH]",
        ),
        (r" \(x\d+\)", " (xN)"),
        // kube-sim, like the event recorder, folds repeats after a while.
        (r"\(combined from similar events\): ", ""),
        (r"by \S+@\S+ at", "by [WHO] at"),
        (r"kube-sim-node-\d", "[NODE]"),
    ];
    let mut out = text.to_string();
    for (re, with) in filters {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_environment_is_one_line_per_component_and_exit_0() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("all 6 components healthy"),
        "{stdout}\n{stderr}"
    );
    for workload in [
        "Deployment/api-gateway",
        "Deployment/ml-service",
        "Deployment/frontend",
        "StatefulSet/postgres",
        "StatefulSet/redis",
        "StatefulSet/kafka",
    ] {
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(workload)).collect();
        assert_eq!(lines.len(), 1, "{workload}: one line each\n{stdout}");
        assert!(lines[0].starts_with("✓ "), "{stdout}");
    }
    assert!(stdout.contains("last deploy: revision 1, version 1.4.2, succeeded"));
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_card_names_the_cause_with_its_logs_and_events() {
    let images = format!(
        "  - match: \"*/ml-service:*\"\n    behavior: crash-loop\n    exitCode: 1\n    runFor: 1s\n    logs: \"ModuleNotFoundError: No module named 'torch' (db password {PLANTED})\"\n  - match: \"*/frontend:*\"\n    behavior: oom-killed\n    runFor: 1s\n    logs: \"allocating the bundle cache\"\n"
    );
    let c = cluster(behaviors(&images, "echo upgraded")).await;
    deploy_local(&c, false).await;
    // redis's image disappears from the registry; its pod is recreated.
    c.sim.set_behaviors(behaviors(
        &format!("{images}  - match: \"*redis:*\"\n    behavior: image-pull-error\n"),
        "echo upgraded",
    ));
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client(&c), NS);
    pods.delete("redis-0", &Default::default()).await.unwrap();
    // Every failing pod has crashed at least once (the previous logs exist).
    wait_pods(&c, "ml-service and frontend restarts", |pods| {
        pods_of(pods, "ml-service").iter().any(|p| restarted(p))
            && pods_of(pods, "frontend").iter().any(|p| restarted(p))
            && pods_of(pods, "redis").iter().any(|p| {
                p.pointer("/status/containerStatuses/0/state/waiting/reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.contains("Image"))
            })
    })
    .await;

    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);

    // Worst first: the cards, then one line per healthy component.
    let card = |workload: &str| {
        let start = stdout
            .find(&format!("✗ {workload} failed"))
            .unwrap_or_else(|| panic!("no card for {workload}:\n{stdout}"));
        let rest = &stdout[start..];
        let end = rest["✗".len()..]
            .find("\n✗ ")
            .map(|i| i + "✗".len())
            .or(rest.find("\n✓ "))
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let ml = card("Deployment/ml-service");
    // Whichever moment of its crash loop the pod is in when debug reads it
    // (in back-off, restarted and running for a moment, or just exited: the
    // last two are short, but not under load), the card names the crash.
    assert!(
        ml.contains("failed: CrashLoopBackOff")
            || ml.contains("failed: RepeatedRestarts")
            || ml.contains("failed: Error\n"),
        "{ml}"
    );
    assert!(
        ml.contains("No module named 'torch' (db password <redacted>)"),
        "previous container's log: {ml}"
    );
    assert!(
        ml.contains("last termination: container ml-service exited 1 (Error)"),
        "{ml}"
    );
    assert!(ml.contains("BackOff"), "warning events: {ml}");
    assert!(ml.contains("pods:") && ml.contains("RESTARTS"), "{ml}");
    assert!(
        ml.contains("resource use:") && ml.contains("request 500m"),
        "{ml}"
    );
    assert!(
        ml.contains("last change: revision 1, version 1.4.2, failed"),
        "{ml}"
    );

    let fe = card("Deployment/frontend");
    assert!(fe.contains("failed: OOMKilled"), "{fe}");
    assert!(fe.contains("exited 137 (OOMKilled), signal 9"), "{fe}");
    assert!(fe.contains("allocating the bundle cache"), "{fe}");

    let redis = card("StatefulSet/redis");
    assert!(
        redis.contains("failed: ErrImagePull") || redis.contains("failed: ImagePullBackOff"),
        "{redis}"
    );
    assert!(
        redis.contains("Failed to pull image"),
        "kubelet message: {redis}"
    );

    for healthy in [
        "Deployment/api-gateway",
        "StatefulSet/postgres",
        "StatefulSet/kafka",
    ] {
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(healthy)).collect();
        assert_eq!(lines.len(), 1, "{healthy}:\n{stdout}");
        assert!(
            lines[0].starts_with(&format!("✓ {healthy}: 1/1 ready")),
            "{stdout}"
        );
    }
    let first_healthy = stdout.find("✓ ").unwrap();
    assert!(
        stdout.rfind("✗ ").unwrap() < first_healthy,
        "cards come first:\n{stdout}"
    );

    // The same verdict for tools.
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local", "-o", "json"]);
    let out = run(cmd).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret(&stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["healthy"], false);
    let components = report["components"].as_array().unwrap();
    assert_eq!(components.len(), 6);
    let by_name = |n: &str| components.iter().find(|c| c["component"] == n).unwrap();
    assert_eq!(by_name("frontend")["card"]["kind"], "oom-killed");
    assert_eq!(
        by_name("frontend")["card"]["lastTermination"]["exitCode"],
        137
    );
    assert_eq!(by_name("redis")["card"]["kind"], "image-pull");
    assert_eq!(by_name("api-gateway")["healthy"], true);
    assert!(by_name("api-gateway")["card"].is_null());

    // One component only.
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local", "api-gateway"]);
    let out = run(cmd).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("all 1 components healthy"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_container_running_again_between_back_offs_is_a_crash_card() {
    // A slow crash (30 s of work before it fails, 1.5 s at the suite's time
    // scale): between back-offs the container is Running again, not ready,
    // its pod's REASON `-`. The triage read it as "0 of 1 pods ready"
    // without a cause (each_card_names_the_cause_… failed so under load).
    let c = cluster(behaviors(
        &format!(
            "  - match: \"*/ml-service:*\"\n    behavior: crash-loop\n    exitCode: 1\n    runFor: 30s\n    logs: \"ModuleNotFoundError: No module named 'torch' (db password {PLANTED})\"\n"
        ),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, false).await;
    wait_pods(&c, "ml-service running again after a crash", |pods| {
        pods_of(pods, "ml-service").iter().any(|p| {
            restarted(p)
                && p.pointer("/status/containerStatuses/0/state/running")
                    .is_some()
        })
    })
    .await;
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local", "ml-service"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // Read while running (`Error`, the last termination's reason) or, on a
    // slow machine, already in the next back-off: a crash either way.
    assert!(
        stdout.contains("✗ Deployment/ml-service failed: Error\n")
            || stdout.contains("✗ Deployment/ml-service failed: CrashLoopBackOff\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("No module named 'torch' (db password <redacted>)"),
        "the crashed instance's log: {stdout}"
    );
    assert!(
        stdout.contains("last termination: container ml-service exited 1 (Error)"),
        "{stdout}"
    );
    assert_no_secret(&stdout);
}

/// Scales ml-service past the local quota and waits for the refusal.
async fn exceed_the_quota(c: &Cluster) {
    use kube::api::{Api, Patch, PatchParams};
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(client(c), NS);
    deployments
        .patch(
            "ml-service",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 40}})),
        )
        .await
        .unwrap();
    for _ in 0..100 {
        let events = c.sim.list("v1", "Event", Some(NS));
        if events.iter().any(|e| e["reason"] == "FailedCreate") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no FailedCreate for the quota");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_refusal_is_a_card_and_a_cluster_level_cause() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    exceed_the_quota(&c).await;
    // The ReplicaSet has created what the quota allows (in the pass that
    // was refused); wait until those pods run and are ready and the
    // Deployment carries the refusal, which is what the snapshot shows.
    wait_until("ml-service settled on what the quota allows", || {
        let pods = c.sim.list("v1", "Pod", Some(NS));
        let ml = pods_of(&pods, "ml-service");
        let deployments = c.sim.list("apps/v1", "Deployment", Some(NS));
        let refused = deployments
            .iter()
            .filter(|d| d["metadata"]["name"] == "ml-service")
            .flat_map(|d| {
                d["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .any(|c| c["type"] == "ReplicaFailure" && c["status"] == "True");
        refused
            && ml.len() > 1
            && ml.iter().all(|p| {
                p["status"]["phase"] == "Running"
                    && p.pointer("/status/containerStatuses/0/ready") == Some(&json!(true))
            })
    })
    .await;

    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("✗ Deployment/ml-service failed: FailedCreate"),
        "{stdout}"
    );
    let causes = &stdout[stdout
        .find("cluster-level causes:")
        .unwrap_or_else(|| panic!("{stdout}"))..];
    assert!(causes.contains("exceeded quota: local-quota"), "{causes}");
    insta::assert_snapshot!("triage_quota", stable(&stdout));

    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local", "-o", "json"]);
    let out = run(cmd).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["causes"][0]["kind"], "quota");
    insta::assert_snapshot!("triage_quota_json", stable_json(&stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unready_node_explains_the_pods_on_it() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    let frontend_node = {
        let pods = c.sim.list("v1", "Pod", Some(NS));
        pods_of(&pods, "frontend")[0]["spec"]["nodeName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(c.sim.set_node_ready(&frontend_node, false));
    wait_pods(&c, "the frontend pod marked unready", |pods| {
        pods_of(pods, "frontend").iter().any(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "False")
        })
    })
    .await;

    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "local"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let causes = &stdout[stdout
        .find("cluster-level causes:")
        .unwrap_or_else(|| panic!("{stdout}"))..];
    assert!(
        causes.contains(&format!("Node/{frontend_node}: not ready")),
        "{causes}"
    );
    assert!(
        stdout.contains(&format!(
            "message: Deployment/frontend: node {frontend_node} is not ready"
        )),
        "the frontend card names the node:\n{stdout}"
    );
    assert!(stdout.contains("NodeNotReady"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_debug_input_is_exit_2_naming_the_flag() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    for (args, expected) in [
        (
            vec!["debug", "local", "ml-servce"],
            "unknown component `ml-servce` (did you mean `ml-service`?); components of local: api-gateway, ml-service, frontend",
        ),
        (
            vec!["debug", "logs", "local", "--since", "ten"],
            "--since: `ten`",
        ),
        (
            vec!["debug", "logs", "local", "--grep", "("],
            "--grep: `(` is not a regular expression",
        ),
        (
            vec!["debug", "port-forward", "local", "api-gateway", "8000:"],
            "port `8000:`",
        ),
        (
            vec![
                "debug",
                "port-forward",
                "local",
                "api-gateway",
                "70000:8000",
            ],
            "the local port is out of range",
        ),
        (
            vec!["debug", "shell", "local", "nope"],
            "unknown component `nope`",
        ),
    ] {
        let mut cmd = debug_cmd(&c);
        cmd.args(&args);
        let out = run(cmd).await;
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// Starts `cmd` in the background with stdout going to a file.
fn spawn_to_file(cmd: &assert_cmd::Command, out: &std::path::Path) -> std::process::Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("fintechctl"));
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => child.env(k, v),
            None => child.env_remove(k),
        };
    }
    child
        .args(cmd.get_args())
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(std::fs::File::create(out.with_extension("err")).unwrap());
    child.spawn().expect("fintechctl starts")
}

async fn wait_for_text(path: &std::path::Path, what: &str) -> String {
    for _ in 0..300 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(what) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "no {what:?} in {}:\n{}\nstderr:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default(),
        std::fs::read_to_string(path.with_extension("err")).unwrap_or_default()
    );
}

/// Rolls ml-service to a new pod template (a new ReplicaSet).
async fn roll_ml_service(c: &Cluster, n: u32) {
    use kube::api::{Api, Patch, PatchParams};
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(client(c), NS);
    deployments
        .patch(
            "ml-service",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {"test/roll": n.to_string()}}}}})),
        )
        .await
        .unwrap();
}

fn ml_rule(behavior: &str, logs: &str) -> String {
    format!(
        "  - match: \"*/ml-service:*\"\n    behavior: {behavior}\n    exitCode: 1\n    runFor: 1s\n    logs: \"{logs} {PLANTED}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_every_instance_once_across_restarts_and_a_rollout() {
    let c = cluster(behaviors(
        &ml_rule("ready", "ml v1 serving"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, true).await;
    let out = c.dir.path().join("logs.out");
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "logs", "local", "ml-service", "-f"]);
    let mut child = spawn_to_file(&cmd, &out);
    wait_for_text(&out, "ml v1 serving").await;

    // A rollout to a crash-looping image: the new pod restarts while we follow.
    c.sim.set_behaviors(behaviors(
        &ml_rule("crash-loop", "ml v2 crashed"),
        "echo upgraded",
    ));
    roll_ml_service(&c, 2).await;
    let mut crashing = (String::new(), 0);
    for _ in 0..300 {
        let pods = c.sim.list("v1", "Pod", Some(NS));
        if let Some(p) = pods_of(&pods, "ml-service").into_iter().find(|p| {
            p.pointer("/status/containerStatuses/0/restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                >= 3
                && p.pointer("/status/containerStatuses/0/state/waiting/reason")
                    == Some(&json!("CrashLoopBackOff"))
        }) {
            crashing = (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p.pointer("/status/containerStatuses/0/restartCount")
                    .and_then(Value::as_i64)
                    .unwrap(),
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (crash_pod, restarts) = crashing;
    assert!(!crash_pod.is_empty(), "no pod crash-looped");
    assert!(restarts >= 3);
    // One line per instance: the follower catches up with every instance
    // (restarts + 1 of them) and never prints one twice. The file is read
    // before the restart count, so more lines than instances is a duplicate.
    let restarts_of = |name: &str| {
        pods_of(&c.sim.list("v1", "Pod", Some(NS)), "ml-service")
            .iter()
            .find(|p| p["metadata"]["name"] == name)
            .and_then(|p| p.pointer("/status/containerStatuses/0/restartCount"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&out).unwrap();
        let crash_lines = text
            .lines()
            .filter(|l| l.starts_with(&format!("[{crash_pod}/ml-service] ml v2 crashed")))
            .count() as i64;
        let restarts = restarts_of(&crash_pod);
        let detail = || {
            format!(
                "{crash_lines} lines for {crash_pod} (restarted {restarts} times):\n{text}\n{}",
                std::fs::read_to_string(out.with_extension("err")).unwrap()
            )
        };
        assert!(
            crash_lines <= restarts + 1,
            "an instance twice: {}",
            detail()
        );
        if crash_lines == restarts + 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower missed an instance: {}",
            detail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A rollout that replaces the pods: the new one is picked up.
    c.sim.set_behaviors(behaviors(
        &ml_rule("ready", "ml v3 serving"),
        "echo upgraded",
    ));
    roll_ml_service(&c, 3).await;
    let text = wait_for_text(&out, "ml v3 serving").await;
    assert_eq!(text.matches("ml v1 serving").count(), 1, "{text}");
    assert_eq!(text.matches("ml v3 serving").count(), 1, "{text}");
    assert_no_secret(&text);
    assert!(text.contains("<redacted>"), "{text}");

    // Ctrl-C ends following normally.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_previous_and_grep_select_lines() {
    let c = cluster(behaviors(
        &ml_rule("crash-loop", "Traceback: boom"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, false).await;
    wait_pods(&c, "an ml-service restart", |pods| {
        pods_of(pods, "ml-service").iter().any(|p| restarted(p))
    })
    .await;
    let mut cmd = debug_cmd(&c);
    cmd.args([
        "debug",
        "logs",
        "local",
        "ml-service",
        "--previous",
        "--grep",
        "Trace(back)?",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("[ml-service-"), "{stdout}");
    assert!(
        stdout.contains("/ml-service] Traceback: boom <redacted>"),
        "{stdout}"
    );

    let mut cmd = debug_cmd(&c);
    cmd.args([
        "debug",
        "logs",
        "local",
        "ml-service",
        "api-gateway",
        "--grep",
        "nothing-matches-this",
    ]);
    let out = run(cmd).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_holds_the_evidence_and_no_secret_value() {
    let c = cluster(behaviors(
        &ml_rule("crash-loop", "Traceback: db auth"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, false).await;
    wait_pods(&c, "an ml-service restart", |pods| {
        pods_of(pods, "ml-service").iter().any(|p| restarted(p))
    })
    .await;
    let to = c.dir.path().join("incident.tar.gz");
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "bundle", "local", "--to"]).arg(&to);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim(), to.display().to_string());
    assert!(stderr.contains("Written"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let files = common::bundle_files(&to);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for expected in [
        "README.txt",
        "summary.json",
        "failures.json",
        "triage.json",
        "events.txt",
        "objects/deployments.json",
        "objects/secrets.json",
        "objects/configmaps.json",
        "objects/nodes.json",
        "history.json",
        "release/manifests.json",
        "drift.txt",
        "top.json",
        "pods/postgres-0/pod.json",
        "pods/postgres-0/describe.txt",
        "pods/postgres-0/logs/postgres.log",
    ] {
        assert!(names.contains(&expected), "no {expected} in {names:#?}");
    }
    let ml_pod = names
        .iter()
        .find(|n| n.starts_with("pods/ml-service-") && n.ends_with("/logs/ml-service.previous.log"))
        .unwrap_or_else(|| panic!("no previous log of ml-service: {names:#?}"));
    assert!(
        files[*ml_pod].0.contains("Traceback: db auth <redacted>"),
        "{}",
        files[*ml_pod].0
    );
    assert!(files["events.txt"].0.contains("BackOff"));
    assert!(
        files["drift.txt"].0.contains("no drift"),
        "{}",
        files["drift.txt"].0
    );
    let secrets: Value = serde_json::from_str(&files["objects/secrets.json"].0).unwrap();
    let platform = secrets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"]["name"] == "fintech-ai-secrets")
        .expect("the platform Secret is listed");
    assert_eq!(platform["data"]["postgres-password"], "<redacted>");
    let history: Value = serde_json::from_str(&files["history.json"].0).unwrap();
    assert_eq!(history["revisions"][0]["version"], "1.4.2");
    assert!(history["revisions"][0].get("manifests").is_none());
    let triage: Value = serde_json::from_str(&files["triage.json"].0).unwrap();
    assert_eq!(triage["healthy"], false);
    // The planted value appears in no file, in any form the redactor knows.
    for (name, (text, mode)) in &files {
        assert!(!text.contains(PLANTED), "{name} holds the planted secret");
        for (_, value) in SECRETS {
            assert!(!text.contains(value), "{name} holds a secret value");
        }
        assert_eq!(*mode, 0o600, "{name}");
    }
    assert_no_secret(&stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_use_against_requests_and_limits() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "top", "local"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let header = stdout.lines().next().unwrap();
    for column in ["POD", "CONTAINER", "CPU", "REQ", "LIM", "%LIM", "MEMORY"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ml-service-") && l.contains("500m") && l.contains("1024Mi")),
        "{stdout}"
    );
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "top", "local", "-o", "json"]);
    let out = run(cmd).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["containers"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "{report:#}");
    let pressure = |r: &Value| {
        let m = r["memoryBytes"].as_f64().unwrap() / r["memoryLimitBytes"].as_f64().unwrap();
        let c = r["cpuMillis"].as_f64().unwrap() / r["cpuLimitMillis"].as_f64().unwrap();
        m.max(c)
    };
    for pair in rows.windows(2) {
        assert!(
            pressure(&pair[0]) >= pressure(&pair[1]),
            "sorted: {report:#}"
        );
    }
    assert_eq!(rows[0]["oomRisk"], false);
}

/// A local HTTP server standing in for api-gateway: answers every request
/// with its own name and a counter.
async fn http_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = format!("{{\"status\":\"healthy\",\"n\":{n}}}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, served)
}

/// `GET /health` through `port`; the response body.
async fn get_health(port: u16) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(out)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), work).await {
        Ok(r) => r,
        Err(_) => Err("no answer within 10 s".into()),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_serves_parallel_requests_and_survives_the_pod_being_replaced() {
    let (backend, served) = http_server().await;
    let yaml = format!(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 200ms\njobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \"echo upgraded\"]\nports:\n  - pod: \"api-gateway-*\"\n    port: 8000\n    target: 127.0.0.1:{backend}\n"
    );
    let c = cluster(kube_sim::Behaviors::from_yaml(&yaml).unwrap()).await;
    deploy_local(&c, true).await;
    let local = free_port();
    let out = c.dir.path().join("pf.out");
    let mut cmd = debug_cmd(&c);
    cmd.args([
        "debug",
        "port-forward",
        "local",
        "api-gateway",
        &format!("{local}:8000"),
    ]);
    let mut child = spawn_to_file(&cmd, &out);
    wait_for_text(&out.with_extension("err"), "Forwarding").await;

    let requests = (0..8).map(|_| get_health(local));
    for result in futures::future::join_all(requests).await {
        let response = result.expect("a response through the forward");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.contains("\"status\":\"healthy\""), "{response}");
    }
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 8);

    // A busy local port is a clear error, before touching the cluster.
    let mut busy = debug_cmd(&c);
    busy.args([
        "debug",
        "port-forward",
        "local",
        "api-gateway",
        &format!("{local}:8000"),
    ]);
    let busy_out = run(busy).await;
    let (_, stderr) = text(&busy_out);
    assert_eq!(busy_out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("local port 127.0.0.1:{local} is already in use")),
        "{stderr}"
    );

    // The pod is replaced by a rollout: new connections go to the new one.
    let old_pod = pods_of(&c.sim.list("v1", "Pod", Some(NS)), "api-gateway")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    {
        use kube::api::{Api, Patch, PatchParams};
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client(&c), NS);
        deployments
            .patch(
                "api-gateway",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {"test/roll": "2"}}}}})),
            )
            .await
            .unwrap();
    }
    wait_pods(&c, "the old api-gateway pod gone", |pods| {
        let gateway = pods_of(pods, "api-gateway");
        !gateway
            .iter()
            .any(|p| p["metadata"]["name"] == old_pod.as_str())
            && gateway.iter().any(|p| {
                p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
    .await;
    let requests = (0..4).map(|_| get_health(local));
    for result in futures::future::join_all(requests).await {
        let response = result.expect("a response after the pod was replaced");
        assert!(response.contains("\"status\":\"healthy\""), "{response}");
    }
    let stderr = std::fs::read_to_string(out.with_extension("err")).unwrap();
    assert!(stderr.contains("Re-picked"), "{stderr}");

    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends forwarding normally");
}

/// tmux, which the shell test drives a real terminal with.
fn tmux() -> &'static str {
    let found = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "tmux is missing: .ci/install.d/40-tmux.sh installs it (apt-get install tmux)"
    );
    "tmux"
}

fn tmux_run(socket: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(tmux())
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn wait_for_screen(socket: &std::path::Path, what: &str) -> String {
    let mut screen = String::new();
    for _ in 0..200 {
        screen = tmux_run(socket, &["capture-pane", "-p", "-t", "debug"]);
        if screen.contains(what) {
            return screen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {what:?} on the screen:\n{screen}");
}

/// Waits until the remote shell has written something (its prompt) on a
/// line below fintechctl's `Exec` line.
async fn wait_for_prompt(socket: &std::path::Path) {
    let mut screen = String::new();
    for _ in 0..200 {
        screen = tmux_run(socket, &["capture-pane", "-p", "-t", "debug"]);
        let below_exec = screen
            .lines()
            .skip_while(|l| !l.contains("Exec"))
            .skip(1)
            .any(|l| !l.trim().is_empty());
        if below_exec {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no prompt below the Exec line:\n{screen}");
}

/// A shell-quoted word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_runs_in_a_real_terminal_with_resize_and_the_remote_exit_code() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    let socket = c.dir.path().join("tmux.sock");
    let status_file = c.dir.path().join("exit-status");
    let cmd = debug_cmd(&c);
    // The same command line the test's other runs use, typed into a shell
    // on a 100x30 terminal; the exit status lands in a file.
    let mut line = String::from("env");
    for (k, v) in cmd.get_envs() {
        if let (Some(v), k) = (v, k.to_string_lossy()) {
            line.push_str(&format!(" {}={}", k, quote(&v.to_string_lossy())));
        }
    }
    for var in ["NO_COLOR", "CI"] {
        line = line.replace(&format!(" {var}="), &format!(" IGNORED_{var}="));
    }
    line.push(' ');
    line.push_str(&quote(
        &assert_cmd::cargo::cargo_bin("fintechctl")
            .display()
            .to_string(),
    ));
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line.push_str(" debug shell local api-gateway -- bash --norc --noprofile");
    line.push_str(&format!(
        "; echo $? > {}",
        quote(&status_file.display().to_string())
    ));
    tmux_run(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "debug",
            "-x",
            "100",
            "-y",
            "30",
            "sh",
            "-c",
            &line,
        ],
    );

    // Type a command once the remote shell shows its prompt (then the
    // terminal is in raw mode and what is typed goes to the pod), read its
    // output.
    wait_for_screen(&socket, "Exec").await;
    wait_for_prompt(&socket).await;
    tmux_run(
        &socket,
        &["send-keys", "-t", "debug", "echo answer-$((6*7))", "Enter"],
    );
    wait_for_screen(&socket, "answer-42").await;
    // A TTY: the remote side sees a terminal of our size…
    tmux_run(
        &socket,
        &[
            "send-keys",
            "-t",
            "debug",
            "stty size; tty -s && echo is-$((1))-tty",
            "Enter",
        ],
    );
    let screen = wait_for_screen(&socket, "is-1-tty").await;
    assert!(screen.contains("30 100"), "{screen}");
    // …and follows a resize.
    tmux_run(
        &socket,
        &["resize-window", "-t", "debug", "-x", "120", "-y", "40"],
    );
    // The new size travels as a signal to fintechctl and a message to the
    // pod: ask the remote terminal until it has arrived.
    let mut screen = String::new();
    for attempt in 0..100 {
        tmux_run(
            &socket,
            &[
                "send-keys",
                "-t",
                "debug",
                &format!("clear; stty size; echo resized-$(({attempt}))"),
                "Enter",
            ],
        );
        screen = wait_for_screen(&socket, &format!("resized-{attempt}")).await;
        if screen.contains("40 120") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(screen.contains("40 120"), "{screen}");
    // The pod's secrets are scrubbed from what the terminal shows.
    tmux_run(
        &socket,
        &[
            "send-keys",
            "-t",
            "debug",
            "echo pw=$POSTGRES_PASSWORD; echo done-$((2+2))",
            "Enter",
        ],
    );
    let screen = wait_for_screen(&socket, "done-4").await;
    assert!(!screen.contains(PLANTED), "{screen}");
    assert!(screen.contains("pw=<redacted>"), "{screen}");
    // The remote exit code is ours.
    tmux_run(&socket, &["send-keys", "-t", "debug", "exit 7", "Enter"]);
    let mut status = String::new();
    for _ in 0..100 {
        status = std::fs::read_to_string(&status_file).unwrap_or_default();
        if !status.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tmux_run(&socket, &["kill-server"]);
    assert_eq!(status.trim(), "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_without_a_terminal_runs_the_command_and_lists_pods_to_choose_from() {
    let c = cluster(behaviors("", "echo upgraded")).await;
    deploy_local(&c, true).await;
    let mut cmd = debug_cmd(&c);
    cmd.args([
        "debug",
        "shell",
        "local",
        "api-gateway",
        "--",
        "sh",
        "-c",
        "echo in-the-pod; exit 5",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stdout.contains("in-the-pod"), "{stdout}");

    {
        use kube::api::{Api, Patch, PatchParams};
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client(&c), NS);
        deployments
            .patch(
                "api-gateway",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 2}})),
            )
            .await
            .unwrap();
    }
    wait_pods(&c, "two api-gateway pods running", |pods| {
        pods_of(pods, "api-gateway")
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count()
            == 2
    })
    .await;
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "shell", "local", "api-gateway", "--", "true"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("2 pods of api-gateway are running; choose one with --pod NAME"),
        "{stderr}"
    );
    let listed: Vec<String> = pods_of(&c.sim.list("v1", "Pod", Some(NS)), "api-gateway")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for pod in &listed {
        assert!(stderr.contains(pod.as_str()), "{pod} listed: {stderr}");
    }
    let mut cmd = debug_cmd(&c);
    cmd.args([
        "debug",
        "shell",
        "local",
        "api-gateway",
        "--pod",
        &listed[1],
        "--",
        "sh",
        "-c",
        "exit 0",
    ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_since_leaves_out_older_lines() {
    let c = cluster(behaviors(
        &ml_rule("ready", "ml v1 serving"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, true).await;
    // `--since 1s` leaves out lines older than a second: wait until the
    // line is (by the time kube-sim stamped it), rather than a guessed time.
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client(&c), NS);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut newest: Option<k8s_openapi::jiff::Timestamp> = None;
        for pod in pods_of(&c.sim.list("v1", "Pod", Some(NS)), "ml-service") {
            let name = pod["metadata"]["name"].as_str().unwrap();
            let params = kube::api::LogParams {
                timestamps: true,
                ..Default::default()
            };
            let text = pods.logs(name, &params).await.unwrap_or_default();
            for line in text.lines().filter(|l| l.contains("ml v1 serving")) {
                let at = line.split(' ').next().and_then(|t| t.parse().ok());
                newest = newest.max(at);
            }
        }
        let old_enough = newest.is_some_and(|at| {
            k8s_openapi::jiff::Timestamp::now().duration_since(at)
                > k8s_openapi::jiff::SignedDuration::from_secs(1)
        });
        if old_enough {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `ml v1 serving` line older than a second: {newest:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let logs = |since: &'static str| {
        let mut cmd = debug_cmd(&c);
        cmd.args(["debug", "logs", "local", "ml-service", "--since", since]);
        cmd
    };
    let out = run(logs("1h")).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("ml v1 serving <redacted>"), "{stdout}");
    let out = run(logs("1s")).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout.contains("ml v1 serving"), "older than 1s: {stdout}");
}

// ---- `-o json` shapes of logs, top and bundle (insta) ----------------------

/// The `-o json` documents of `debug logs` (one object per line), `debug
/// top` and `debug bundle`, with times, hashes and paths replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_top_and_bundle_json_keep_their_shape() {
    let c = cluster(behaviors(
        &ml_rule("ready", "ml v1 serving"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, true).await;

    // The pods log when they start: wait for ml-service's line.
    let mut logs = String::new();
    for _ in 0..300 {
        let mut cmd = debug_cmd(&c);
        cmd.args(["debug", "logs", "local", "ml-service", "-o", "json"]);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        logs = text(&out).0;
        if logs.contains("ml v1 serving") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("one JSON object per line ({e}): {line}"));
    }
    assert_no_secret(&logs);
    insta::assert_snapshot!("logs_json", stable_json(&logs));

    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "top", "local", "-o", "json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    insta::assert_snapshot!("top_json", stable_json(&stdout));

    let to = c.dir.path().join("incident.tar.gz");
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "bundle", "local", "-o", "json", "--to"])
        .arg(&to);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_no_secret(&stdout);
    let dir = c.dir.path().display().to_string();
    insta::assert_snapshot!("bundle_json", stable_json(&stdout.replace(&dir, "[TMP]")));
    assert!(!report.to_string().is_empty());
}

/// The ml-service pod waiting in CrashLoopBackOff with at least `restarts`
/// restarts: (name, restart count), once there is one.
async fn wait_crash_looping(c: &Cluster, restarts: i64) -> (String, i64) {
    for _ in 0..300 {
        if let Some(found) = crash_looping(c, restarts) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no ml-service pod crash-looped {restarts} times");
}

fn crash_looping(c: &Cluster, restarts: i64) -> Option<(String, i64)> {
    let pods = c.sim.list("v1", "Pod", Some(NS));
    pods_of(&pods, "ml-service").into_iter().find_map(|p| {
        let count = p
            .pointer("/status/containerStatuses/0/restartCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let waiting = p.pointer("/status/containerStatuses/0/state/waiting/reason")
            == Some(&json!("CrashLoopBackOff"));
        (waiting && count >= restarts)
            .then(|| (p["metadata"]["name"].as_str().unwrap().to_string(), count))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_show_the_crash_looping_pod_beside_the_healthy_one() {
    // The healthy old pod keeps serving while the new one crash-loops: both
    // are shown, the crash-looping one with its last run's output, labelled.
    let c = cluster(behaviors(
        &ml_rule("ready", "ml v1 serving"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, true).await;
    c.sim.set_behaviors(behaviors(
        &ml_rule("crash-loop", "ml v2 Traceback"),
        "echo upgraded",
    ));
    roll_ml_service(&c, 2).await;
    let mut checked = false;
    for _ in 0..5 {
        // Back-offs grow (0.5 s, 1 s, 2 s, 4 s… at the suite's time scale):
        // after three restarts the pod waits long enough to be read waiting.
        let (crash_pod, restarts) = wait_crash_looping(&c, 3).await;
        let mut cmd = debug_cmd(&c);
        cmd.args(["debug", "logs", "local", "ml-service"]);
        let out = run(cmd).await;
        let (stdout, stderr) = text(&out);
        // It restarted meanwhile: what was read was not the waiting state.
        if crash_looping(&c, restarts) != Some((crash_pod.clone(), restarts)) {
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stdout.contains("ml v1 serving <redacted>"), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "[{crash_pod}/ml-service last run, CrashLoopBackOff] ml v2 Traceback <redacted>"
            )),
            "{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "pod/{crash_pod} container ml-service is waiting (CrashLoopBackOff, restarted {restarts} times)"
            )),
            "{stderr}"
        );
        assert_no_secret(&stdout);

        // `-o json`: the same lines, the last run's marked.
        let mut cmd = debug_cmd(&c);
        cmd.args(["debug", "logs", "local", "ml-service", "-o", "json"]);
        let out = run(cmd).await;
        let (stdout, _) = text(&out);
        if crash_looping(&c, restarts) != Some((crash_pod.clone(), restarts)) {
            continue;
        }
        let marked: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["pod"] == crash_pod.as_str())
            .collect();
        assert!(!marked.is_empty(), "{stdout}");
        assert!(
            marked.iter().all(|l| l["lastRun"] == "CrashLoopBackOff"),
            "{stdout}"
        );
        checked = true;
        break;
    }
    assert!(
        checked,
        "the crash-looping pod never stayed waiting long enough"
    );

    // `-f` replays the last run first, then follows the next instance (at
    // four restarts the back-off is 4 s: longer than starting to follow).
    let (crash_pod, _) = wait_crash_looping(&c, 4).await;
    let out = c.dir.path().join("follow.out");
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "logs", "local", "ml-service", "-f"]);
    let mut child = spawn_to_file(&cmd, &out);
    wait_for_text(
        &out,
        &format!("[{crash_pod}/ml-service last run, CrashLoopBackOff] ml v2 Traceback"),
    )
    .await;
    // The healthy pod too: the pods are followed side by side, so its line
    // may come before or after the replay (asserted at once, it failed once).
    wait_for_text(&out, "ml v1 serving").await;
    // Its next run is followed as it comes (unlabelled).
    wait_for_text(&out, &format!("[{crash_pod}/ml-service] ml v2 Traceback")).await;
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_no_secret(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_logs_are_shown_escaped_not_sent_to_the_terminal() {
    // A log line that would retitle the window, clear the screen and carry a NUL.
    let c = cluster(behaviors(
        &ml_rule("ready", r"evil \x1b]0;owned\x07 \x1b[2J nul \0 end"),
        "echo upgraded",
    ))
    .await;
    deploy_local(&c, true).await;
    let mut cmd = debug_cmd(&c);
    cmd.args(["debug", "logs", "local", "ml-service"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(r"evil \x1b]0;owned\x07 \x1b[2J nul \x00 end <redacted>"),
        "{stdout:?}"
    );
    for raw in ['\u{1b}', '\u{7}', '\0'] {
        assert!(!stdout.contains(raw), "{raw:?} reached stdout: {stdout:?}");
        assert!(!stderr.contains(raw), "{raw:?} reached stderr: {stderr:?}");
    }
}
