//! The real kubectl against kube-sim. kubectl is a client nobody here wrote: when these
//! pass, kube-sim speaks the wire protocol well enough for fintechctl's tests to mean
//! something. /usr/bin/kubectl (or $KUBECTL) must exist; a missing kubectl fails loudly.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

struct Kc {
    sim: kube_sim::KubeSim,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn kubectl_path() -> PathBuf {
    let p = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    assert!(
        p.exists(),
        "kubectl not found at {} (CI must install it; set $KUBECTL to use another path). These checks must not be skipped.",
        p.display()
    );
    p
}

async fn setup() -> Kc {
    setup_with(|_| {}).await
}

async fn setup_with(f: impl FnOnce(&mut kube_sim::SimConfig)) -> Kc {
    let sim = sim_with(f).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    Kc {
        sim,
        dir,
        kubeconfig,
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Kc {
    fn cmd(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(kubectl_path());
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }
    async fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, None).await
    }
    async fn run_stdin(&self, args: &[&str], input: Option<Vec<u8>>) -> Out {
        let mut c = self.cmd(args);
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn().expect("spawn kubectl");
        if let Some(data) = input {
            let mut si = child.stdin.take().unwrap();
            tokio::spawn(async move {
                let _ = si.write_all(&data).await;
                let _ = si.shutdown().await;
            });
        }
        let o = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert_eq!(
            o.code, 0,
            "kubectl {args:?} failed: {}\n{}",
            o.stderr, o.stdout
        );
        o.stdout
    }
    fn write(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.to_string_lossy().into_owned()
    }
}

fn file(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_api_resources() {
    let k = setup().await;
    let v: serde_json::Value =
        serde_json::from_str(&k.ok(&["version", "-o", "json"]).await).unwrap();
    assert_eq!(v["serverVersion"]["major"], "1");
    assert_eq!(v["serverVersion"]["minor"], "33");
    let res = k.ok(&["api-resources"]).await;
    for r in [
        "deployments",
        "statefulsets",
        "jobs",
        "horizontalpodautoscalers",
        "poddisruptionbudgets",
        "networkpolicies",
        "leases",
        "endpointslices",
        "verticalpodautoscalers",
        "roles",
    ] {
        assert!(res.contains(r), "api-resources lacks {r}:\n{res}");
    }
    // typed generators send protobuf bodies; kube-sim decodes the simple kinds
    assert_eq!(
        k.ok(&["create", "namespace", "team-a"]).await.trim(),
        "namespace/team-a created"
    );
    assert_eq!(
        k.ok(&["get", "ns", "team-a", "-o", "jsonpath={.status.phase}"])
            .await,
        "Active"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "configmap",
            "c1",
            "-n",
            "team-a",
            "--from-literal=k=v"
        ])
        .await
        .trim(),
        "configmap/c1 created"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "c1",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.k}"
        ])
        .await,
        "v"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "secret",
            "generic",
            "s1",
            "-n",
            "team-a",
            "--from-literal=pw=hunter2"
        ])
        .await
        .trim(),
        "secret/s1 created"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "secret",
            "s1",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.pw} {.type}"
        ])
        .await,
        "aHVudGVyMg== Opaque"
    );
    let nodes = k.ok(&["get", "nodes", "-o", "name"]).await;
    assert_eq!(nodes.lines().count(), 3);
    let ns = k.ok(&["get", "namespaces"]).await;
    assert!(ns.contains("default") && ns.contains("kube-system"));
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_server_side_conflicts_client_side_get_delete() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    let o = k.ok(&["apply", "--server-side", "-f", &f]).await;
    assert_eq!(o.trim(), "deployment.apps/web serverside-applied");
    // another manager changing the image: conflict without --force-conflicts
    let f2 = k.write("d2.yaml", &DEPLOY.replace("nginx:1.25", "nginx:1.26"));
    let o = k
        .run(&["apply", "--server-side", "--field-manager=other", "-f", &f2])
        .await;
    assert_ne!(o.code, 0);
    assert!(
        o.stderr
            .contains("Apply failed with 1 conflict: conflict with \"kubectl\""),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains(".spec.template.spec.containers[name=\"nginx\"].image"),
        "{}",
        o.stderr
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        &f2,
    ])
    .await;
    let img = k
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(img, "nginx:1.26");
    // --dry-run=server leaves the object alone
    let f3 = k.write("d3.yaml", &DEPLOY.replace("replicas: 2", "replicas: 5"));
    let o = k
        .run(&["apply", "--server-side", "--dry-run=server", "-f", &f3])
        .await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("Apply failed with 2 conflicts: conflicts with \"other\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"), "{}", o.stderr);
    k.ok(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "--force-conflicts",
        "-f",
        &f3,
    ])
    .await;
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "2"
    );

    // client-side apply (three-way strategic merge patch)
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"1\"\n  b: \"2\"\n";
    let fc = k.write("cm.yaml", cm);
    assert_eq!(
        k.ok(&["apply", "-f", &fc]).await.trim(),
        "configmap/cfg created"
    );
    let fc2 = k.write("cm2.yaml", &cm.replace("  b: \"2\"\n", "  c: \"3\"\n"));
    assert_eq!(
        k.ok(&["apply", "-f", &fc2]).await.trim(),
        "configmap/cfg configured"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &fc2]).await.trim(),
        "configmap/cfg unchanged"
    );
    let data: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "cm", "cfg", "-o", "json"]).await).unwrap();
    assert_eq!(data["data"], serde_json::json!({"a": "1", "c": "3"}));
    assert!(
        data["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    let y = k.ok(&["get", "deploy", "web", "-o", "yaml"]).await;
    assert!(y.contains("kind: Deployment") && y.contains("resourceVersion:") && y.contains("uid:"));
    // label selectors through kubectl
    assert_eq!(
        k.ok(&["get", "deploy", "-l", "app in (web,api)", "-o", "name"])
            .await
            .trim(),
        "deployment.apps/web"
    );
    // delete waits for the object to go
    assert_eq!(
        k.ok(&["delete", "deploy", "web"]).await.trim(),
        "deployment.apps \"web\" deleted"
    );
    let o = k.run(&["get", "deploy", "web"]).await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("Error from server (NotFound): deployments.apps \"web\" not found"),
        "{}",
        o.stderr
    );
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_wait_logs_events() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    k.ok(&["apply", "-f", &f]).await;
    let o = k
        .ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(
        o.trim_end()
            .ends_with("deployment \"web\" successfully rolled out"),
        "{o}"
    );

    // crash loop past its progress deadline (20s simulated = 1s real)
    let crash = DEPLOY
        .replace("name: web", "name: ml")
        .replace("{app: web}", "{app: ml}")
        .replace("nginx:1.25", "reg.io/x/ml-service:crash-2")
        .replace(
            "  replicas: 2\n",
            "  replicas: 1\n  progressDeadlineSeconds: 20\n",
        );
    let fc = k.write("ml.yaml", &crash);
    k.ok(&["apply", "-f", &fc]).await;
    let o = k
        .run(&["rollout", "status", "deployment/ml", "--timeout=60s"])
        .await;
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("error: deployment \"ml\" exceeded its progress deadline"),
        "{}",
        o.stderr
    );

    // logs and logs --previous of the crashing pod
    let pod = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=ml",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    eventually(20, "a restart", || {
        let p = k.sim.get("v1", "Pod", Some("default"), &pod)?;
        (p["status"]["containerStatuses"][0]["restartCount"].as_i64()? >= 1).then_some(())
    })
    .await;
    let prev = k.ok(&["logs", "--previous", &pod]).await;
    assert_eq!(prev, "ModuleNotFoundError: No module named 'torch'\n");
    let pods = k.ok(&["get", "pods", "-l", "app=ml"]).await;
    assert!(
        pods.contains("CrashLoopBackOff") || pods.contains("Error") || pods.contains("Running"),
        "{pods}"
    );

    // a Job running a local command
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: mig\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: mig\n        image: reg.io/api-gateway:1.0\n";
    let fj = k.write("job.yaml", job);
    k.ok(&["apply", "-f", &fj]).await;
    let o = k
        .ok(&[
            "wait",
            "--for=condition=complete",
            "job/mig",
            "--timeout=60s",
        ])
        .await;
    assert_eq!(o.trim(), "job.batch/mig condition met");
    let logs = k.ok(&["logs", "job/mig"]).await;
    assert!(logs.contains("upgraded"), "{logs}");

    // events
    let ev = k.ok(&["get", "events"]).await;
    for r in [
        "Scheduled",
        "Pulling",
        "Started",
        "BackOff",
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "Completed",
    ] {
        assert!(ev.contains(r), "events lack {r}:\n{ev}");
    }
    let ev = k
        .ok(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={pod}"),
            "-o",
            "json",
        ])
        .await;
    let ev: serde_json::Value = serde_json::from_str(&ev).unwrap();
    assert!(
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["involvedObject"]["name"] == pod.as_str())
    );
    // metrics
    let top = k.ok(&["top", "pods"]).await;
    assert!(top.contains("CPU(cores)") && top.contains("web-"), "{top}");
    let top = k.ok(&["top", "nodes"]).await;
    assert!(top.contains("kube-sim-node-1"), "{top}");
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_streams_exit_codes_and_64mib() {
    let k = setup().await;
    let f = k.write("d.yaml", &DEPLOY.replace("replicas: 2", "replicas: 1"));
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    let pod = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    let o = k
        .run(&[
            "exec",
            &pod,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .await;
    assert_eq!(o.code, 3, "{o:?}", o = (&o.stdout, &o.stderr));
    assert_eq!(o.stdout, "out\n");
    assert!(o.stderr.starts_with("err\n"), "{}", o.stderr);
    let o = k.run(&["exec", &pod, "--", "true"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = k
        .run_stdin(
            &["exec", "-i", &pod, "--", "sh", "-c", "tr a-z A-Z"],
            Some(b"hello\n".to_vec()),
        )
        .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "HELLO\n");

    // 64 MiB through cat, byte-exact
    let mut data = vec![0u8; 64 * 1024 * 1024];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let input = k.write("big.bin", "");
    std::fs::write(&input, &data).unwrap();
    let output = k.dir.path().join("big.out");
    let started = std::time::Instant::now();
    let status = k
        .cmd(&["exec", "-i", &pod, "--", "cat"])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let got = std::fs::read(&output).unwrap();
    assert_eq!(got.len(), data.len(), "byte count");
    assert!(got == data, "64 MiB round trip differs");
    assert!(started.elapsed() < Duration::from_secs(60));
    let _ = file(&output);
    k.sim.shutdown().await;
}

/// A command that ends with the client's stdin unread: the server drains the client's
/// frames, sends the status and closes the websocket politely. Dropping the socket with
/// stdin unread makes the kernel reset the connection and kubectl loses the end of the
/// output (`close 1006 (abnormal closure)`, rc 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_that_ignores_stdin_keeps_all_its_output_and_exit_code() {
    const OUT: u64 = 20_000_000;
    let k = setup().await;
    let f = k.write("d.yaml", &DEPLOY.replace("replicas: 2", "replicas: 1"));
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    let pod = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    // more stdin than the pipes and socket buffers between kubectl and the command hold
    let input = k.dir.path().join("unread.bin");
    std::fs::write(&input, vec![7u8; 16 * 1024 * 1024]).unwrap();
    let output = k.dir.path().join("out.bin");
    let script = format!("head -c {OUT} /dev/zero");
    let mut failures = Vec::new();
    for run in 0..20 {
        let child = k
            .cmd(&["exec", "-i", &pod, "--", "sh", "-c", &script])
            .stdin(std::fs::File::open(&input).unwrap())
            .stdout(std::fs::File::create(&output).unwrap())
            .spawn()
            .unwrap();
        let o = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("run {run}: kubectl exec did not end within 60 s"))
            .unwrap();
        let got = std::fs::metadata(&output).unwrap().len();
        // (kubectl may say its stdin copy found the websocket closed: `close sent`;
        // a reset or a broken pipe is the server dropping the connection)
        let stderr = String::from_utf8_lossy(&o.stderr);
        let dropped = ["reset", "broken pipe", "1006"]
            .iter()
            .any(|w| stderr.contains(w));
        if got != OUT || !o.status.success() || dropped {
            failures.push(format!(
                "run {run}: {got} of {OUT} bytes, {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_is_bounded_and_sees_changes() {
    let k = setup().await;
    // kubectl lists, prints, then watches from the list's resourceVersion: once a seed
    // object is printed, everything created afterwards reaches the watch (no sleeping)
    let cm = |n: &str| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "default"}});
    k.sim.create(cm("zero")).unwrap();
    let mut child = k
        .cmd(&[
            "get",
            "configmaps",
            "-w",
            "-o",
            "name",
            "--request-timeout=30s",
        ])
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.as_deref(), Some("configmap/zero"));
    for n in ["one", "two"] {
        k.sim.create(cm(n)).unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
            Ok(Ok(Some(l))) => seen.push(l),
            other => panic!("watch ended early: {other:?} after {seen:?}"),
        }
    }
    assert_eq!(seen, ["configmap/one", "configmap/two"]);
    child.kill().await.unwrap();

    // human output: watch events carry Table rows, so the columns are the real ones
    let pod = |n: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": "default"},
        "spec": {"containers": [{"name": "a", "image": "nginx:1"}]}})
    };
    k.sim.create(pod("w0")).unwrap();
    let mut child = k
        .cmd(&["get", "pods", "-w", "--request-timeout=30s"])
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut got = Vec::new();
    // the header and the seed pod's row: the watch is on from here
    while !got.iter().any(|l: &String| l.starts_with("w0 ")) {
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(l))) => got.push(l),
            other => panic!("watch ended early: {other:?} after {got:?}"),
        }
    }
    k.sim.create(pod("w1")).unwrap();
    while !got
        .iter()
        .any(|l: &String| l.starts_with("w1 ") && l.contains("Running"))
    {
        match tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
            Ok(Ok(Some(l))) => got.push(l),
            other => panic!("watch ended early: {other:?} after {got:?}"),
        }
    }
    assert!(
        got[0].starts_with("NAME")
            && got[0].contains("READY")
            && got[0].contains("STATUS")
            && got[0].contains("RESTARTS"),
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|l| l.starts_with("NAME")).count(),
        1,
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|l| l.starts_with("w1 ") && l.contains("Pending")),
        "{got:?}"
    );
    child.kill().await.unwrap();
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_restart_undo_follow_logs_delete_pod() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert_eq!(
        k.ok(&["scale", "deployment/web", "--replicas=3"])
            .await
            .trim(),
        "deployment.apps/web scaled"
    );
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.status.readyReplicas}"
        ])
        .await,
        "3"
    );
    let first_rs = k.ok(&["get", "rs", "-o", "name"]).await;
    assert_eq!(
        k.ok(&["rollout", "restart", "deployment/web"]).await.trim(),
        "deployment.apps/web restarted"
    );
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert_eq!(k.ok(&["get", "rs", "-o", "name"]).await.lines().count(), 2);
    let hist = k.ok(&["rollout", "history", "deployment/web"]).await;
    assert!(hist.contains("1 ") && hist.contains("2 "), "{hist}");
    assert_eq!(
        k.ok(&["rollout", "undo", "deployment/web"]).await.trim(),
        "deployment.apps/web rolled back"
    );
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    // the undo reused the first ReplicaSet (now revision 3) instead of creating a third
    assert_eq!(k.ok(&["get", "rs", "-o", "name"]).await.lines().count(), 2);
    let rs1 = first_rs.trim().trim_start_matches("replicaset.apps/");
    assert_eq!(
        k.ok(&[
            "get",
            "rs",
            rs1,
            "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ])
        .await,
        "3"
    );
    assert_eq!(
        k.ok(&["get", "rs", rs1, "-o", "jsonpath={.spec.replicas}"])
            .await,
        "3"
    );

    // logs -f follows a running container until interrupted
    let pod = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    let mut child = k.cmd(&["logs", "-f", &pod]).spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let l = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(l.contains("started"), "{l}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "logs -f must keep following"
    );
    child.kill().await.unwrap();

    // deleting a pod waits for graceful termination; the ReplicaSet replaces it
    assert_eq!(
        k.ok(&["delete", "pod", &pod]).await.trim(),
        format!("pod \"{pod}\" deleted")
    );
    assert!(k.sim.get("v1", "Pod", Some("default"), &pod).is_none());
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    let names = k.ok(&["get", "pods", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(names.lines().count(), 3);
    assert!(!names.contains(&pod));
    k.sim.shutdown().await;
}

async fn local_http_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let first = req.lines().next().unwrap_or("").to_string();
                let body = if first.starts_with("GET /big ") {
                    "x".repeat(3 * 1024 * 1024)
                } else {
                    format!("hello from {first}")
                };
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    addr
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_to_a_local_http_server() {
    let target = local_http_server().await;
    let k = setup().await;
    let mut b = kube_sim::Behaviors::from_yaml(BEHAVIORS).unwrap();
    b.ports.push(kube_sim::PortBehavior {
        pod: "api-gateway-*".into(),
        port: 8000,
        target: target.to_string(),
    });
    k.sim.set_behaviors(b);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-gateway-0\nspec:\n  containers:\n  - name: gw\n    image: gw:1\n    ports:\n    - containerPort: 8000\n";
    let f = k.write("pod.yaml", pod);
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/api-gateway-0",
        "--timeout=60s",
    ])
    .await;
    // kubectl's default (SPDY tunnelled in a websocket) and the legacy SPDY upgrade
    for websockets in ["true", "false"] {
        let mut child = k
            .cmd(&["port-forward", "pod/api-gateway-0", ":8000"])
            .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        // Forwarding from 127.0.0.1:NNNNN -> 8000
        let port: u16 = line
            .strip_prefix("Forwarding from 127.0.0.1:")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected port-forward output {line:?}"));
        let resp = http_get(port, "/healthz").await;
        assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
        assert!(resp.ends_with("hello from GET /healthz HTTP/1.1"), "{resp}");
        let big = http_get(port, "/big").await;
        assert!(
            big.ends_with(&"x".repeat(3 * 1024 * 1024)),
            "websockets={websockets}: {} bytes",
            big.len()
        );
        assert!(child.try_wait().unwrap().is_none(), "port-forward exited");
        child.kill().await.unwrap();
    }
    k.sim.shutdown().await;
}

/// Item 5: `kubectl auth can-i` / `whoami` are answered from the behaviours file's
/// `deny:` list, and the denied request itself is RBAC's 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_whoami_and_rbac_forbidden() {
    let k = setup_with(|c| {
        let extra = r#"
deny:
  - verbs: [delete]
    resources: [secrets]
    namespaces: [default]
  - verbs: ["*"]
    resources: [pods/exec]
  - verbs: [list]
    resources: [nodes]
"#;
        c.behaviors = kube_sim::Behaviors::from_yaml(&format!("{BEHAVIORS}{extra}")).unwrap();
    })
    .await;
    let can = |args: &'static [&'static str]| {
        let k = &k;
        async move {
            let mut a = vec!["auth", "can-i"];
            a.extend_from_slice(args);
            let o = k.run(&a).await;
            (o.code, o.stdout.trim().to_string(), o.stderr)
        }
    };
    assert_eq!(can(&["get", "secrets"]).await.1, "yes");
    let (code, out, err) = can(&["delete", "secrets"]).await;
    assert_eq!((code, out.as_str()), (1, "no"), "{err}");
    assert_eq!(
        can(&["delete", "secrets", "-n", "kube-system"]).await.1,
        "yes"
    );
    assert_eq!(can(&["create", "pods", "--subresource=exec"]).await.1, "no");
    assert_eq!(can(&["create", "pods"]).await.1, "yes");
    assert_eq!(can(&["list", "nodes"]).await.1, "no");
    assert_eq!(can(&["get", "deployments.apps"]).await.1, "yes");

    let who: serde_json::Value =
        serde_json::from_str(&k.ok(&["auth", "whoami", "-o", "json"]).await).unwrap();
    assert_eq!(who["kind"], "SelfSubjectReview");
    assert_eq!(who["status"]["userInfo"]["username"], "kube-sim");
    let who = k.ok(&["auth", "whoami"]).await;
    assert!(who.contains("kube-sim"), "{who}");

    let list = k.ok(&["auth", "can-i", "--list"]).await;
    let secrets_row = list
        .lines()
        .find(|l| l.starts_with("secrets "))
        .unwrap_or_else(|| panic!("{list}"));
    let verbs: Vec<&str> = secrets_row
        .rsplit('[')
        .next()
        .unwrap()
        .trim_end_matches(']')
        .split(' ')
        .collect();
    assert!(
        verbs.contains(&"get") && !verbs.contains(&"delete"),
        "{secrets_row}"
    );

    // the real request is refused with RBAC's message
    k.ok(&["create", "secret", "generic", "s1", "--from-literal=a=b"])
        .await;
    let o = k.run(&["delete", "secret", "s1"]).await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains(
            r#"Error from server (Forbidden): secrets "s1" is forbidden: User "kube-sim" cannot delete resource "secrets" in API group "" in the namespace "default""#
        ),
        "{}",
        o.stderr
    );
    assert!(k.sim.get("v1", "Secret", Some("default"), "s1").is_some());
    let o = k.run(&["get", "nodes"]).await;
    assert!(
        o.stderr.contains(
            r#"nodes is forbidden: User "kube-sim" cannot list resource "nodes" in API group "" at the cluster scope"#
        ),
        "{}",
        o.stderr
    );
    // lifting the rule takes effect at once
    k.sim
        .set_behaviors(kube_sim::Behaviors::from_yaml(BEHAVIORS).unwrap());
    k.ok(&["delete", "secret", "s1"]).await;
    assert_eq!(can(&["delete", "secrets"]).await.1, "yes");
    k.sim.shutdown().await;
}

/// Item 1: a Secret's `stringData` is merged into base64 `data` and never stored, through
/// client-side apply, server-side apply, dry run, patch, replace and create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_string_data_is_merged_into_data() {
    let k = setup().await;
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let secret = |v: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  keep: {}\nstringData:\n  password: {v}\n",
            b64("kept")
        )
    };
    let get = |name: &'static str| {
        let k = &k;
        async move {
            let v: serde_json::Value =
                serde_json::from_str(&k.ok(&["get", "secret", name, "-o", "json"]).await).unwrap();
            v
        }
    };
    // server dry run answers the converted object and stores nothing
    let f = k.write("s1.yaml", &secret("one"));
    let dry: serde_json::Value = serde_json::from_str(
        &k.ok(&["apply", "-f", &f, "--dry-run=server", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(dry["data"]["password"], b64("one"), "{dry}");
    assert!(dry.get("stringData").is_none(), "{dry}");
    assert!(k.sim.get("v1", "Secret", Some("default"), "app").is_none());
    // client-side apply, then a changed value
    k.ok(&["apply", "-f", &f]).await;
    let live = get("app").await;
    assert_eq!(live["data"]["password"], b64("one"));
    assert_eq!(live["data"]["keep"], b64("kept"));
    assert!(live.get("stringData").is_none(), "{live}");
    let f = k.write("s2.yaml", &secret("two"));
    k.ok(&["apply", "-f", &f]).await;
    let live = get("app").await;
    assert_eq!(live["data"]["password"], b64("two"));
    assert!(live.get("stringData").is_none(), "{live}");
    // patch and replace
    k.ok(&[
        "patch",
        "secret",
        "app",
        "-p",
        r#"{"stringData":{"password":"three"}}"#,
    ])
    .await;
    assert_eq!(get("app").await["data"]["password"], b64("three"));
    let mut l = get("app").await;
    l["stringData"] = serde_json::json!({"extra": "x"});
    let f = k.write("s3.json", &l.to_string());
    k.ok(&["replace", "-f", &f]).await;
    let live = get("app").await;
    assert_eq!(live["data"]["extra"], b64("x"));
    assert!(live.get("stringData").is_none(), "{live}");
    // server-side apply, create and update through the store
    let f = k.write("s4.yaml", &secret("four").replace("name: app", "name: ssa"));
    k.ok(&["apply", "--server-side", "-f", &f]).await;
    let live = get("ssa").await;
    assert_eq!(live["data"]["password"], b64("four"));
    assert!(live.get("stringData").is_none(), "{live}");
    let f = k.write("s5.yaml", &secret("five").replace("name: app", "name: ssa"));
    k.ok(&["apply", "--server-side", "-f", &f]).await;
    assert_eq!(get("ssa").await["data"]["password"], b64("five"));
    let f = k.write(
        "s6.yaml",
        &secret("six").replace("name: app", "name: created"),
    );
    k.ok(&["create", "-f", &f]).await;
    let live = k
        .sim
        .get("v1", "Secret", Some("default"), "created")
        .unwrap();
    assert_eq!(live["data"]["password"], b64("six"));
    assert!(live.get("stringData").is_none(), "{live}");
    k.sim.shutdown().await;
}

/// Item 4: bare pods that run to completion (restartPolicy Never / OnFailure) finish:
/// a ready image completes, a configured command runs, exit 0 is `Completed`, non-zero is
/// `Error` / Failed. Item 10: a command's log is its own output only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_pods_run_to_completion_and_job_logs_are_the_command_output() {
    let k = setup_with(|c| {
        let b = BEHAVIORS.replace(
            "    behavior: ready\n    readyAfter: 300ms\n",
            "    behavior: ready\n    readyAfter: 300ms\n    logs: \"image banner\"\n",
        );
        let b = b.replace(
            "  - match: \"*:broken\"",
            "  - match: \"*/zero:*\"\n    behavior: crash-loop\n    exitCode: 0\n    runFor: 100ms\n  - match: \"*:broken\"",
        );
        c.behaviors = kube_sim::Behaviors::from_yaml(&b).unwrap();
    })
    .await;
    let pod = |name: &str, image: &str, policy: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: {policy}\n  containers:\n  - name: main\n    image: {image}\n"
        )
    };
    for (name, image, policy) in [
        ("ready-never", "nginx:1", "Never"),
        ("ready-onfailure", "nginx:1", "OnFailure"),
        ("cmd-ok", "reg/api-gateway:1", "Never"),
        ("cmd-fail", "reg/failing:1", "Never"),
        ("exit-zero", "reg/zero:1", "Never"),
        ("always", "nginx:1", "Always"),
    ] {
        let f = k.write(&format!("{name}.yaml"), &pod(name, image, policy));
        k.ok(&["apply", "-f", &f]).await;
    }
    for (name, phase) in [
        ("ready-never", "Succeeded"),
        ("ready-onfailure", "Succeeded"),
        ("cmd-ok", "Succeeded"),
        ("cmd-fail", "Failed"),
        ("exit-zero", "Succeeded"),
    ] {
        k.ok(&[
            "wait",
            &format!("--for=jsonpath={{.status.phase}}={phase}"),
            &format!("pod/{name}"),
            "--timeout=30s",
        ])
        .await;
    }
    let table = k.ok(&["get", "pods", "--no-headers"]).await;
    let status = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{table}"))
            .split_whitespace()
            .nth(2)
            .unwrap()
            .to_string()
    };
    assert_eq!(status("ready-never"), "Completed", "{table}");
    assert_eq!(status("cmd-ok"), "Completed", "{table}");
    assert_eq!(status("cmd-fail"), "Error", "{table}");
    assert_eq!(status("exit-zero"), "Completed", "{table}");
    assert_eq!(status("always"), "Running", "{table}");
    let p: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "cmd-fail", "-o", "json"]).await).unwrap();
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        4
    );
    assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 0);
    // a configured command's log is its output, without the image rule's `logs:`
    assert_eq!(k.ok(&["logs", "cmd-ok"]).await, "upgraded\nto-stderr\n");
    assert_eq!(k.ok(&["logs", "cmd-fail"]).await, "boom\n");
    assert_eq!(k.ok(&["logs", "always"]).await, "image banner\n");
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: reg/api-gateway:2\n";
    let f = k.write("job.yaml", job);
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/migrate",
        "--timeout=30s",
    ])
    .await;
    assert_eq!(
        k.ok(&["logs", "job/migrate"]).await,
        "upgraded\nto-stderr\n"
    );
    k.sim.shutdown().await;
}

/// B: a NotReady node looks like one (Ready Unknown / NodeStatusUnknown, the unreachable
/// taints, `kubectl get nodes` NotReady), gets no new pods, marks its pods not ready and
/// evicts them after their tolerationSeconds; Ready again undoes it. A status patch of
/// the Ready condition (KubeletNotReady) is honoured too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_not_ready_taints_unschedulable_and_evicts() {
    let k = setup().await;
    let pinned = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pinned\nspec:\n  nodeSelector: {kubernetes.io/hostname: kube-sim-node-1}\n  tolerations:\n  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 20}\n  containers:\n  - name: a\n    image: nginx:1\n";
    let f = k.write("pinned.yaml", pinned);
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/pinned",
        "--timeout=30s",
    ])
    .await;
    assert!(k.sim.set_node_ready("kube-sim-node-1", false));
    assert!(!k.sim.set_node_ready("no-such-node", false));
    let nodes = k.ok(&["get", "nodes", "--no-headers"]).await;
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("kube-sim-node-1 ") && l.contains(" NotReady ")),
        "{nodes}"
    );
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("kube-sim-node-2 ") && l.contains(" Ready ")),
        "{nodes}"
    );
    let node: serde_json::Value = serde_json::from_str(
        &k.ok(&["get", "node", "kube-sim-node-1", "-o", "json"])
            .await,
    )
    .unwrap();
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    let taints = node["spec"]["taints"].as_array().unwrap();
    for effect in ["NoSchedule", "NoExecute"] {
        assert!(
            taints
                .iter()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == effect),
            "{taints:?}"
        );
    }
    // its pod goes not ready, then is evicted (and stays Terminating: nobody confirms)
    k.ok(&[
        "wait",
        "--for=condition=Ready=false",
        "pod/pinned",
        "--timeout=30s",
    ])
    .await;
    let mut evicted = false;
    for _ in 0..100 {
        let p = k.sim.get("v1", "Pod", Some("default"), "pinned").unwrap();
        if p["metadata"]["deletionTimestamp"].is_string() {
            evicted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(evicted, "pinned was not evicted");
    let events = k
        .ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=pinned",
        ])
        .await;
    assert!(events.contains("NodeNotReady"), "{events}");
    assert!(events.contains("TaintManagerEviction"), "{events}");
    // no new pod lands there
    let f = k.write(
        "pinned2.yaml",
        &pinned.replace("name: pinned", "name: pinned2"),
    );
    k.ok(&["apply", "-f", &f]).await;
    let mut msg = String::new();
    for _ in 0..100 {
        let p = k.sim.get("v1", "Pod", Some("default"), "pinned2").unwrap();
        msg = p["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if !msg.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        msg.contains("1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
        "{msg}"
    );
    // Ready again: the taints go, the evicted pod finishes terminating, the new one runs
    k.sim.set_node_ready("kube-sim-node-1", true);
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/pinned2",
        "--timeout=30s",
    ])
    .await;
    k.ok(&["wait", "--for=delete", "pod/pinned", "--timeout=30s"])
        .await;
    let node = k.sim.get("v1", "Node", None, "kube-sim-node-1").unwrap();
    assert!(node["spec"].get("taints").is_none(), "{node}");
    // a status patch of the Ready condition, as a kubelet reporting a runtime failure
    k.ok(&[
        "patch",
        "node",
        "kube-sim-node-2",
        "--subresource=status",
        "--type=strategic",
        "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"container runtime network not ready"}]}}"#,
    ])
    .await;
    let mut tainted = false;
    for _ in 0..100 {
        let n = k.sim.get("v1", "Node", None, "kube-sim-node-2").unwrap();
        if n["spec"]["taints"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["key"] == "node.kubernetes.io/not-ready"))
        {
            tainted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tainted);
    let nodes = k.ok(&["get", "nodes", "--no-headers"]).await;
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("kube-sim-node-2 ") && l.contains(" NotReady ")),
        "{nodes}"
    );
    k.sim.shutdown().await;
}

/// Item 11: the admission chain adds the service-account token volume and the default
/// not-ready / unreachable tolerations to a new pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_get_the_token_volume_and_default_tolerations() {
    let k = setup().await;
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n  - name: b\n    image: nginx:1\n";
    let f = k.write("p.yaml", pod);
    k.ok(&["create", "-f", &f]).await;
    let p: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "p", "-o", "json"]).await).unwrap();
    let vols = p["spec"]["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1, "{vols:?}");
    let vname = vols[0]["name"].as_str().unwrap();
    assert!(vname.starts_with("kube-api-access-"), "{vname}");
    assert_eq!(
        vols[0]["projected"]["sources"][0]["serviceAccountToken"]["path"],
        "token"
    );
    for c in p["spec"]["containers"].as_array().unwrap() {
        assert_eq!(
            c["volumeMounts"][0],
            serde_json::json!({"name": vname, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        );
    }
    let tols = p["spec"]["tolerations"].as_array().unwrap();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        assert!(
            tols.contains(&serde_json::json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})),
            "{tols:?}"
        );
    }
    // opting out on the pod
    let f = k.write(
        "q.yaml",
        &pod.replace("name: p\n", "name: q\n")
            .replace("spec:\n", "spec:\n  automountServiceAccountToken: false\n"),
    );
    k.ok(&["create", "-f", &f]).await;
    let q = k.sim.get("v1", "Pod", Some("default"), "q").unwrap();
    assert!(q["spec"].get("volumes").is_none(), "{q}");
    assert!(q["spec"]["containers"][0].get("volumeMounts").is_none());
    k.sim.shutdown().await;
}

/// Item 6: a kind that is not installed is kubectl's `no matches for kind … ensure CRDs are
/// installed first`; the VPA is a CRD that can be deleted and applied again; any CRD is
/// served, with its printer columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_missing_kinds_and_printer_columns() {
    let vpa = "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  updatePolicy: {updateMode: \"Off\"}\n";
    let k = setup_with(|c| c.vpa_installed = false).await;
    let f = k.write("vpa.yaml", vpa);
    for args in [
        vec!["apply", "-f", &f],
        vec!["apply", "--server-side", "-f", &f],
        vec!["create", "-f", &f],
    ] {
        let o = k.run(&args).await;
        assert_eq!(o.code, 1, "{args:?}");
        assert!(
            o.stderr.contains(
                r#"no matches for kind "VerticalPodAutoscaler" in version "autoscaling.k8s.io/v1""#
            ) && o.stderr.contains("ensure CRDs are installed first"),
            "{args:?}: {}",
            o.stderr
        );
    }
    assert_eq!(k.ok(&["get", "crd", "-o", "name"]).await, "");
    k.sim.shutdown().await;

    let k = setup().await;
    let f = k.write("vpa.yaml", vpa);
    let crds = k.ok(&["get", "crd"]).await;
    assert!(
        crds.contains("verticalpodautoscalers.autoscaling.k8s.io"),
        "{crds}"
    );
    k.ok(&["apply", "-f", &f]).await;
    let table = k.ok(&["get", "vpa"]).await;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "MODE", "CPU", "MEM", "PROVIDED", "AGE"],
        "{table}"
    );
    assert!(lines.next().unwrap().starts_with("web "), "{table}");
    k.ok(&["delete", "crd", "verticalpodautoscalers.autoscaling.k8s.io"])
        .await;
    assert!(
        k.sim
            .get(
                "autoscaling.k8s.io/v1",
                "VerticalPodAutoscaler",
                Some("default"),
                "web"
            )
            .is_none()
    );
    // kubectl's discovery cache would still name the deleted kind (as on a real cluster,
    // until its TTL expires): start from a fresh cache
    let _ = std::fs::remove_dir_all(k.dir.path().join("cache"));
    let o = k.run(&["apply", "-f", &f]).await;
    assert!(
        o.stderr.contains("ensure CRDs are installed first"),
        "{}",
        o.stderr
    );
    let crd = k.write("crd.json", &kube_sim::vpa_crd().to_string());
    k.ok(&["apply", "-f", &crd]).await;
    k.ok(&[
        "wait",
        "--for=condition=established",
        "crd/verticalpodautoscalers.autoscaling.k8s.io",
        "--timeout=10s",
    ])
    .await;
    k.ok(&["apply", "-f", &f]).await;
    // any CRD: cluster-scoped, several versions, shortNames
    let widget_crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
"#;
    let f = k.write("widget-crd.yaml", widget_crd);
    k.ok(&["apply", "-f", &f]).await;
    let f = k.write(
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: big\nspec:\n  size: 7\n",
    );
    k.ok(&["apply", "-f", &f]).await;
    let table = k.ok(&["get", "wd"]).await;
    assert!(
        table.starts_with("NAME") && table.contains("SIZE"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["big", "7"]),
        "{table}"
    );
    let v: serde_json::Value = serde_json::from_str(
        &k.ok(&["get", "widgets.v1beta1.example.com", "big", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(v["spec"]["size"], 7);
    let bad = k.write(
        "bad-crd.yaml",
        &widget_crd.replace("name: widgets.example.com", "name: gadgets.example.com"),
    );
    let o = k.run(&["apply", "-f", &bad]).await;
    assert!(
        o.stderr
            .contains("must be spec.names.plural+\".\"+spec.group"),
        "{}",
        o.stderr
    );
    k.sim.shutdown().await;
}

/// Item 9: an unsupported field selector is the apiserver's 400 naming the field; the
/// supported ones (per resource) work, including defaulted booleans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_field_selectors_are_400() {
    let k = setup().await;
    let o = k
        .run(&["get", "pods", "--field-selector", "spec.foo=bar"])
        .await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("(BadRequest)")
            && o.stderr.contains("field label not supported: spec.foo"),
        "{}",
        o.stderr
    );
    let o = k
        .run(&["get", "configmaps", "--field-selector", "data.x=1"])
        .await;
    assert!(
        o.stderr.contains("field label not supported: data.x"),
        "{}",
        o.stderr
    );
    let o = k
        .run(&["get", "pods", "-w", "--field-selector", "spec.containers=1"])
        .await;
    assert!(
        o.stderr
            .contains("field label not supported: spec.containers"),
        "{}",
        o.stderr
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n";
    let f = k.write("p.yaml", pod);
    k.ok(&["apply", "-f", &f]).await;
    let out = k
        .ok(&[
            "get",
            "pods",
            "--field-selector",
            "spec.hostNetwork=false,spec.restartPolicy=Always",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out, "pod/p\n");
    let out = k
        .ok(&[
            "get",
            "nodes",
            "--field-selector",
            "spec.unschedulable=false",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.lines().count(), 3, "{out}");
    let out = k
        .ok(&[
            "get",
            "secrets",
            "-A",
            "--field-selector",
            "type=kubernetes.io/tls",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out, "");
    k.sim.shutdown().await;
}

/// Item 8: pod creation refused by a quota sets the ReplicaSet's ReplicaFailure condition
/// (FailedCreate with the admission message), which the Deployment shows too; once pods
/// can be created again it is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_failure_condition_on_quota() {
    let k = setup().await;
    let q = k.write(
        "q.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\nspec:\n  hard: {pods: \"1\"}\n",
    );
    k.ok(&["apply", "-f", &q]).await;
    let f = k.write("d.yaml", &DEPLOY.replace("replicas: 2", "replicas: 3"));
    k.ok(&["apply", "-f", &f]).await;
    let cond = |obj: &serde_json::Value| {
        obj["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == "ReplicaFailure").cloned())
    };
    let mut found = None;
    for _ in 0..200 {
        if let Some(rs) = k.sim.list("apps/v1", "ReplicaSet", Some("default")).first()
            && let Some(c) = cond(rs)
        {
            found = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = found.expect("ReplicaFailure on the ReplicaSet");
    assert_eq!(c["status"], "True");
    assert_eq!(c["reason"], "FailedCreate");
    let msg = c["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "is forbidden: exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1"
        ),
        "{msg}"
    );
    k.ok(&[
        "wait",
        "--for=condition=ReplicaFailure",
        "deployment/web",
        "--timeout=20s",
    ])
    .await;
    let d: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "deployment", "web", "-o", "json"]).await).unwrap();
    assert_eq!(cond(&d).unwrap()["reason"], "FailedCreate");
    // room again: the replicas come and the condition goes
    k.ok(&[
        "patch",
        "resourcequota",
        "pods",
        "-p",
        r#"{"spec":{"hard":{"pods":"10"}}}"#,
    ])
    .await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    let mut cleared = false;
    for _ in 0..100 {
        let d = k
            .sim
            .get("apps/v1", "Deployment", Some("default"), "web")
            .unwrap();
        let rs = k.sim.list("apps/v1", "ReplicaSet", Some("default"));
        if cond(&d).is_none() && cond(&rs[0]).is_none() {
            cleared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cleared);
    k.sim.shutdown().await;
}

/// Item 7: `-o wide` columns for pods, deployments, services and nodes; repeated events are
/// aggregated into one Event with a count (`kubectl events` shows `(xN over …)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_columns_and_aggregated_events() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    k.ok(&["apply", "-f", &f]).await;
    let svc = k.write(
        "s.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    );
    k.ok(&["apply", "-f", &svc]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    let header = |out: &str| -> Vec<String> {
        out.lines()
            .next()
            .unwrap()
            .split("  ")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let pods = k.ok(&["get", "pods", "-o", "wide"]).await;
    assert_eq!(
        header(&pods),
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ],
        "{pods}"
    );
    let row = pods.lines().nth(1).unwrap();
    assert!(
        row.contains(" 10.244.")
            && row.contains(" kube-sim-node-")
            && row.trim_end().ends_with("<none>"),
        "{row}"
    );
    let plain = k.ok(&["get", "pods"]).await;
    assert_eq!(
        header(&plain),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let deps = k.ok(&["get", "deployments", "-o", "wide"]).await;
    assert_eq!(
        header(&deps),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{deps}"
    );
    let row: Vec<&str> = deps.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[5..], ["nginx", "nginx:1.25", "app=web"], "{deps}");
    let svcs = k.ok(&["get", "services", "web", "-o", "wide"]).await;
    assert!(
        header(&svcs).ends_with(&["AGE".to_string(), "SELECTOR".to_string()]),
        "{svcs}"
    );
    assert!(
        svcs.lines().nth(1).unwrap().trim_end().ends_with("app=web"),
        "{svcs}"
    );
    let nodes = k.ok(&["get", "nodes", "-o", "wide"]).await;
    assert_eq!(
        header(&nodes),
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ],
        "{nodes}"
    );
    assert!(
        nodes.contains("172.18.0.2") && nodes.contains("containerd://2.1.1"),
        "{nodes}"
    );

    // a quota makes the ReplicaSet fail over and over: one aggregated event, not dozens
    let q = k.write(
        "q.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\nspec:\n  hard: {pods: \"2\"}\n",
    );
    k.ok(&["apply", "-f", &q]).await;
    k.ok(&["scale", "deployment/web", "--replicas=4"]).await;
    let rs = || {
        k.sim
            .list("apps/v1", "ReplicaSet", Some("default"))
            .into_iter()
            .next()
            .unwrap()
    };
    let failed = || {
        let uid = rs()["metadata"]["uid"].clone();
        k.sim
            .list("v1", "Event", Some("default"))
            .into_iter()
            .filter(|e| e["involvedObject"]["uid"] == uid && e["reason"] == "FailedCreate")
            .collect::<Vec<_>>()
    };
    let mut combined = None;
    for _ in 0..300 {
        if let Some(e) = failed().into_iter().find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("(combined from similar events): Error creating: pods ")
                && e["count"].as_i64().unwrap() >= 3
        }) {
            combined = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let combined = combined.expect("an aggregated FailedCreate event");
    assert!(failed().len() <= 11, "{:?}", failed().len());
    let name = rs()["metadata"]["name"].as_str().unwrap().to_string();
    let events = k
        .ok(&["events", "--for", &format!("replicaset/{name}")])
        .await;
    assert!(
        events.lines().any(|l| l.contains("FailedCreate")
            && l.contains(" (x")
            && l.contains("(combined from similar events)")),
        "{events}\n{combined}"
    );
    k.sim.shutdown().await;
}

/// Item 3: `--cascade=foreground`: the Deployment stays (deletionTimestamp, the
/// foregroundDeletion finalizer) until its ReplicaSet and pods are gone, so `--wait`
/// returns only then; a dependent without blockOwnerDeletion does not hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_waits_for_dependents() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    // a finalizer holds one pod, so the cascade cannot finish before we look
    let pod = k.sim.list("v1", "Pod", Some("default"))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    k.ok(&[
        "patch",
        "pod",
        &pod,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ])
    .await;
    // without waiting: the owner is still there, marked for foreground deletion
    k.ok(&[
        "delete",
        "deployment",
        "web",
        "--cascade=foreground",
        "--wait=false",
    ])
    .await;
    let d = k.sim.get("apps/v1", "Deployment", Some("default"), "web");
    if let Some(d) = d {
        assert!(d["metadata"]["deletionTimestamp"].is_string(), "{d}");
        assert_eq!(
            d["metadata"]["finalizers"],
            serde_json::json!(["foregroundDeletion"])
        );
    } else {
        panic!("the Deployment went before its dependents");
    }
    // the pod with the finalizer is terminating, and holds the ReplicaSet and the Deployment
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = k.sim.get("v1", "Pod", Some("default"), &pod).unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    assert!(
        k.sim
            .get("apps/v1", "Deployment", Some("default"), "web")
            .is_some()
    );
    assert_eq!(
        k.sim.list("apps/v1", "ReplicaSet", Some("default")).len(),
        1
    );
    k.ok(&[
        "patch",
        "pod",
        &pod,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    k.ok(&["wait", "--for=delete", "deployment/web", "--timeout=30s"])
        .await;
    assert!(
        k.sim
            .list("apps/v1", "ReplicaSet", Some("default"))
            .is_empty()
    );
    assert!(k.sim.list("v1", "Pod", Some("default")).is_empty());

    // --wait (kubectl's default) returns only when everything is gone
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    k.ok(&["delete", "deployment", "web", "--cascade=foreground"])
        .await;
    assert!(
        k.sim
            .get("apps/v1", "Deployment", Some("default"), "web")
            .is_none()
    );
    assert!(
        k.sim
            .list("apps/v1", "ReplicaSet", Some("default"))
            .is_empty()
    );
    assert!(k.sim.list("v1", "Pod", Some("default")).is_empty());

    // a dependent that does not block: the owner goes at once, the dependent after it
    let owner = k.sim.create(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner", "namespace": "default"}})).unwrap();
    let uid = owner["metadata"]["uid"].as_str().unwrap().to_string();
    k.sim.create(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dep", "namespace": "default",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "blockOwnerDeletion": false}],
        "finalizers": ["example.com/hold"]}})).unwrap();
    k.ok(&[
        "delete",
        "configmap",
        "owner",
        "--cascade=foreground",
        "--timeout=20s",
    ])
    .await;
    let dep = k
        .sim
        .get("v1", "ConfigMap", Some("default"), "dep")
        .unwrap();
    assert!(dep["metadata"]["deletionTimestamp"].is_string(), "{dep}");
    k.sim.shutdown().await;
}

/// Item 2: kubectl's typed generators send protobuf bodies; every built-in kind is decoded
/// (zero values Go's marshaller writes are not stored), and a client that asks for
/// protobuf gets protobuf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_from_kubectl_generators() {
    let k = setup().await;
    for args in [
        vec![
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "--replicas=2",
            "--port=80",
        ],
        vec!["create", "job", "migrate", "--image=reg/api-gateway:1"],
        vec![
            "autoscale",
            "deployment",
            "web",
            "--min=2",
            "--max=5",
            "--cpu-percent=80",
        ],
        vec![
            "expose",
            "deployment",
            "web",
            "--port=80",
            "--target-port=80",
        ],
        vec![
            "create",
            "cronjob",
            "cj",
            "--image=busybox:1",
            "--schedule=*/5 * * * *",
        ],
        vec!["create", "role", "r", "--verb=get", "--resource=pods"],
        vec!["create", "rolebinding", "rb", "--role=r", "--user=jane"],
        vec![
            "create",
            "clusterrole",
            "cr",
            "--verb=get",
            "--resource=nodes",
        ],
        vec![
            "create",
            "pdb",
            "pdb",
            "--selector=app=web",
            "--min-available=1",
        ],
        vec!["create", "ingress", "ing", "--rule=foo.example/bar=web:80"],
        vec!["create", "quota", "q", "--hard=pods=20"],
        vec!["create", "serviceaccount", "sa1"],
        vec!["create", "priorityclass", "never-served", "--value=5"],
        vec![
            "run",
            "toolbox",
            "--image=busybox:1",
            "--restart=Never",
            "--",
            "sleep",
            "1",
        ],
    ] {
        let o = k.run(&args).await;
        if args[1] == "priorityclass" {
            // a kind kube-sim does not serve
            assert_ne!(o.code, 0);
            continue;
        }
        assert_eq!(o.code, 0, "kubectl {args:?}: {}", o.stderr);
    }
    let d = k
        .sim
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.25");
    assert_eq!(
        c["ports"],
        serde_json::json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert!(
        c.get("stdin").is_none() && c.get("workingDir").is_none(),
        "{c}"
    );
    assert!(d["metadata"].get("generateName").is_none(), "{d}");
    let hpa = k
        .sim
        .get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("default"),
            "web",
        )
        .unwrap();
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    let svc = k.sim.get("v1", "Service", Some("default"), "web").unwrap();
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
    assert_eq!(svc["spec"]["selector"], serde_json::json!({"app": "web"}));
    let ing = k
        .sim
        .get("networking.k8s.io/v1", "Ingress", Some("default"), "ing")
        .unwrap();
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"],
        80
    );
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/migrate",
        "--timeout=30s",
    ])
    .await;
    assert_eq!(
        k.ok(&["logs", "job/migrate"]).await,
        "upgraded\nto-stderr\n"
    );
    let token = k.ok(&["create", "token", "sa1"]).await;
    assert!(
        token.starts_with("eyJ") && token.matches('.').count() == 2,
        "{token}"
    );
    // eviction (protobuf Eviction body) through drain
    let o = k
        .run(&[
            "drain",
            "kube-sim-node-1",
            "--ignore-daemonsets",
            "--timeout=30s",
        ])
        .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    k.ok(&["uncordon", "kube-sim-node-1"]).await;

    // answers in protobuf when asked
    let raw = |path: &str| {
        let port = k.sim.port();
        let path = path.to_string();
        async move {
            use tokio::io::AsyncReadExt;
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.kubernetes.protobuf, application/json\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await.unwrap();
            buf
        }
    };
    let resp = raw("/apis/apps/v1/namespaces/default/deployments/web").await;
    let text = String::from_utf8_lossy(&resp).to_string();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_lowercase()
            .contains("content-type: application/vnd.kubernetes.protobuf"),
        "{text}"
    );
    let body_at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(resp[body_at..].starts_with(b"k8s\0"), "{text}");
    assert!(text.contains("nginx:1.25"));
    let resp = raw("/api/v1/namespaces/default/pods").await;
    let text = String::from_utf8_lossy(&resp).to_string();
    assert!(text.contains("PodList"), "{text}");
    let resp = raw("/api/v1/namespaces/default/configmaps/nope").await;
    let text = String::from_utf8_lossy(&resp).to_string();
    assert!(
        text.starts_with("HTTP/1.1 404")
            && text.contains("k8s\0")
            && text.contains("configmaps \"nope\" not found"),
        "{text}"
    );
    k.sim.shutdown().await;
}

/// Issue 18 item 2: EndpointSlices carry `name: ""` for an unnamed Service port, as the
/// endpoint-slice controller writes it; without it `kubectl describe svc|ingress` crashes
/// (nil pointer in formatEndpointSlices).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_service_and_ingress_with_an_unnamed_port() {
    let k = setup().await;
    let f = k.write("d.yaml", &DEPLOY.replace("replicas: 2", "replicas: 1"));
    k.ok(&["apply", "-f", &f]).await;
    let svc = k.write(
        "s.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  rules:\n  - http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service: {name: web, port: {number: 80}}\n",
    );
    k.ok(&["apply", "-f", &svc]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    let slices = k
        .ok(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "json",
        ])
        .await;
    let slices: serde_json::Value = serde_json::from_str(&slices).unwrap();
    assert_eq!(
        slices["items"][0]["ports"][0]["name"],
        serde_json::json!(""),
        "{slices}"
    );
    let o = k.run(&["describe", "svc", "web"]).await;
    assert_eq!(o.code, 0, "{}\n{}", o.stderr, o.stdout);
    assert!(o.stdout.contains("Endpoints:"), "{}", o.stdout);
    let o = k.run(&["describe", "ingress", "web"]).await;
    assert_eq!(o.code, 0, "{}\n{}", o.stderr, o.stdout);
    assert!(o.stdout.contains("web:80"), "{}", o.stdout);
    k.sim.shutdown().await;
}

/// Issue 18 item 5: `kubectl scale` writes through the scale subresource, and the
/// managedFields entry says so (`subresource: scale`), as does the conflict message a
/// later server-side apply of the replicas gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_is_recorded_as_the_scale_subresource() {
    let k = setup().await;
    let f = k.write("d.yaml", DEPLOY);
    k.ok(&["apply", "--server-side", "-f", &f]).await;
    k.ok(&["scale", "deployment/web", "--replicas=3"]).await;
    let d = k
        .ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await;
    let d: serde_json::Value = serde_json::from_str(&d).unwrap();
    let entries = d["metadata"]["managedFields"].as_array().unwrap();
    let scale = entries
        .iter()
        .find(|e| e["operation"] == "Update" && e["fieldsV1"]["f:spec"]["f:replicas"].is_object())
        .unwrap_or_else(|| panic!("no Update entry owns spec.replicas: {entries:#?}"));
    assert_eq!(scale["subresource"], "scale", "{scale}");
    let manager = scale["manager"].as_str().unwrap().to_string();
    let o = k.run(&["apply", "--server-side", "-f", &f]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    let want = format!("conflict with \"{manager}\" with subresource \"scale\" using apps/v1");
    assert!(o.stderr.contains(&want), "want `{want}` in:\n{}", o.stderr);
    k.sim.shutdown().await;
}

/// Issue 18 item 6: validation a real server does — an Ingress path that is not absolute,
/// a CronJob's schedule and restartPolicy — and a CronJob's defaults; the quota message for
/// containers without resources; `sendInitialEvents` without `resourceVersionMatch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_cronjob_quota_and_watch_options_are_validated() {
    let k = setup().await;
    let ing = k.write(
        "i.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: rel\nspec:\n  rules:\n  - http:\n      paths:\n      - path: api\n        pathType: Prefix\n        backend:\n          service: {name: web, port: {number: 80}}\n",
    );
    let o = k.run(&["apply", "-f", &ing]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr.contains(
            "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path"
        ),
        "{}",
        o.stderr
    );
    let cron = |schedule: &str, policy: &str| {
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: \"{schedule}\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: {policy}\n          containers:\n          - name: c\n            image: busybox:1\n"
        )
    };
    let bad = k.write("c1.yaml", &cron("not valid", "OnFailure"));
    let o = k.run(&["apply", "-f", &bad]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr.contains(
            "spec.schedule: Invalid value: \"not valid\": expected exactly 5 fields, found 2: [not valid]"
        ),
        "{}",
        o.stderr
    );
    let bad = k.write("c2.yaml", &cron("61 * * * *", "OnFailure"));
    let o = k.run(&["apply", "-f", &bad]).await;
    assert!(
        o.stderr
            .contains("end of range (61) above maximum (59): 61"),
        "{}",
        o.stderr
    );
    let bad = k.write("c3.yaml", &cron("0 3 * * *", "Always"));
    let o = k.run(&["apply", "-f", &bad]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr.contains("spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""),
        "{}",
        o.stderr
    );
    let good = k.write("c4.yaml", &cron("0 3 * * *", "OnFailure"));
    k.ok(&["apply", "-f", &good]).await;
    let cj = k.ok(&["get", "cronjob", "nightly", "-o", "json"]).await;
    let cj: serde_json::Value = serde_json::from_str(&cj).unwrap();
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow", "{cj}");
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"],
        "/dev/termination-log",
        "{cj}"
    );

    let quota = k.write(
        "q.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: compute\nspec:\n  hard:\n    limits.cpu: \"4\"\n    limits.memory: 4Gi\n    requests.cpu: \"2\"\n",
    );
    k.ok(&["apply", "-f", &quota]).await;
    let pod = k.write(
        "p.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bare\nspec:\n  containers:\n  - name: b\n    image: busybox:1\n    resources:\n      requests: {cpu: 100m}\n  - name: a\n    image: busybox:1\n",
    );
    let o = k.run(&["apply", "-f", &pod]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr.contains("failed quota: compute: must specify limits.cpu for: a,b; limits.memory for: a,b; requests.cpu for: a"),
        "{}",
        o.stderr
    );

    let o = k
        .run(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
        ])
        .await;
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stderr
            .contains("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
        "{}",
        o.stderr
    );
    k.sim.shutdown().await;
}

/// Issue 18 item 7: the kubelet's back-off message writes its duration as Go does
/// (`1m20s`, not `80s`); exec into a pod no node runs says `does not have a host assigned`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_off_durations_and_exec_into_an_unscheduled_pod_read_as_a_real_cluster() {
    let k = setup().await;
    let pod = k.write(
        "p.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crashy\nspec:\n  containers:\n  - name: ml\n    image: fintech-ai/ml-service:crash1\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: nowhere\nspec:\n  nodeSelector: {kube-sim/none: \"true\"}\n  containers:\n  - name: c\n    image: busybox:1\n",
    );
    k.ok(&["apply", "-f", &pod]).await;
    let o = k.run(&["exec", "nowhere", "--", "true"]).await;
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr
            .contains("pod nowhere does not have a host assigned"),
        "{}",
        o.stderr
    );
    // back-offs of 10 s, 20 s, 40 s, then 80 s (scaled by the test's time scale)
    let message = eventually(60, "a back-off of 80 s", || {
        let p = k.sim.get("v1", "Pod", Some("default"), "crashy")?;
        let m = s(&p, "/status/containerStatuses/0/state/waiting/message");
        (m.contains("back-off 1m20s") || m.contains("back-off 80s")).then_some(m)
    })
    .await;
    assert!(
        message.starts_with("back-off 1m20s restarting failed container=ml pod=crashy_default("),
        "{message}"
    );
    k.sim.shutdown().await;
}

/// Issue 18 item 4: a StatefulSet's `rollingUpdate.partition` keeps the pods below it at
/// the current revision, and every template is kept as a ControllerRevision, so
/// `kubectl rollout history|undo sts/…` work as on a real cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_partition_history_and_undo() {
    let k = setup().await;
    let sts = k.write(
        "sts.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  replicas: 3\n  serviceName: db\n  selector:\n    matchLabels: {app: db}\n  template:\n    metadata:\n      labels: {app: db}\n    spec:\n      containers:\n      - name: pg\n        image: postgres:16.1\n",
    );
    k.ok(&["apply", "-f", &sts]).await;
    k.ok(&["rollout", "status", "sts/db", "--timeout=60s"])
        .await;
    let image = |i: usize| {
        k.sim
            .get("v1", "Pod", Some("default"), &format!("db-{i}"))
            .map(|p| s(&p, "/spec/containers/0/image"))
            .unwrap_or_default()
    };
    // partition 2: only db-2 moves to the new template
    k.ok(&[
        "patch",
        "sts",
        "db",
        "-p",
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}"#,
    ])
    .await;
    k.ok(&["set", "image", "sts/db", "pg=postgres:16.2"]).await;
    let out = k
        .ok(&["rollout", "status", "sts/db", "--timeout=60s"])
        .await;
    assert!(out.contains("partitioned roll out complete"), "{out}");
    eventually(30, "db-2 on the new template, three ready pods", || {
        let sts = k.sim.get("apps/v1", "StatefulSet", Some("default"), "db")?;
        (image(2) == "postgres:16.2" && s(&sts, "/status/readyReplicas") == "3").then_some(())
    })
    .await;
    let sts_now = k
        .sim
        .get("apps/v1", "StatefulSet", Some("default"), "db")
        .unwrap();
    assert_eq!(s(&sts_now, "/status/updatedReplicas"), "1", "{sts_now}");
    assert_ne!(
        s(&sts_now, "/status/currentRevision"),
        s(&sts_now, "/status/updateRevision")
    );
    assert_eq!(
        (image(0), image(1)),
        ("postgres:16.1".into(), "postgres:16.1".into())
    );

    let history = k.ok(&["rollout", "history", "sts/db"]).await;
    let revisions: Vec<&str> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    let first = k
        .ok(&["rollout", "history", "sts/db", "--revision=1"])
        .await;
    assert!(first.contains("postgres:16.1"), "{first}");

    // partition 0: the rest follow; then undo goes back to revision 1's template
    k.ok(&[
        "patch",
        "sts",
        "db",
        "-p",
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}"#,
    ])
    .await;
    k.ok(&["rollout", "status", "sts/db", "--timeout=60s"])
        .await;
    assert_eq!(
        (image(0), image(1), image(2)),
        (
            "postgres:16.2".into(),
            "postgres:16.2".into(),
            "postgres:16.2".into()
        )
    );
    let undo = k.ok(&["rollout", "undo", "sts/db"]).await;
    assert!(undo.contains("rolled back"), "{undo}");
    k.ok(&["rollout", "status", "sts/db", "--timeout=60s"])
        .await;
    eventually(30, "every pod back on postgres:16.1", || {
        (0..3).all(|i| image(i) == "postgres:16.1").then_some(())
    })
    .await;
    // the template of revision 1 is now the newest revision: 3
    let history = k.ok(&["rollout", "history", "sts/db"]).await;
    let revisions: Vec<&str> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
    k.sim.shutdown().await;
}

/// Issue 18 item 7: an Update's managedFields own the maps the write added, written
/// `.: {}` beside their fields, as a real server records them (`f:annotations: {.: {},
/// f:kubectl.kubernetes.io/last-applied-configuration: {}}` after a client-side apply).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_managed_fields_own_the_maps_they_add() {
    let k = setup().await;
    let cm = k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
    );
    k.ok(&["apply", "-f", &cm]).await;
    k.ok(&["label", "configmap", "settings", "tier=backend"])
        .await;
    let out = k
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entry = |manager: &str| {
        v["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .unwrap_or_else(|| panic!("no entry of {manager}: {v}"))["fieldsV1"]
            .clone()
    };
    let applied = entry("kubectl-client-side-apply");
    assert_eq!(
        applied["f:metadata"]["f:annotations"],
        serde_json::json!({".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}),
        "{applied}"
    );
    assert_eq!(
        applied["f:data"],
        serde_json::json!({".": {}, "f:a": {}}),
        "{applied}"
    );
    let labelled = entry("kubectl-label");
    assert_eq!(
        labelled,
        serde_json::json!({"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}),
        "{labelled}"
    );
    k.sim.shutdown().await;
}

/// Issue 18 item 3: every 404 carries a Status `details`, as a real server's do (kubectl
/// dereferences them); `kubectl debug -i --target` adds an ephemeral container through
/// `pods/NAME/ephemeralcontainers`, attaches to it, and its command runs and ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_carries_details_and_kubectl_debug_runs_an_ephemeral_container() {
    let k = setup().await;
    let f = k.write("d.yaml", &DEPLOY.replace("replicas: 2", "replicas: 1"));
    k.ok(&["apply", "-f", &f]).await;
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    let pod = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    let o = k
        .run(&[
            "debug",
            "-i",
            &pod,
            "--image=busybox:1",
            "--target=nginx",
            "--container=dbg",
            "--",
            "sh",
            "-c",
            "echo from-the-debugger; exit 0",
        ])
        .await;
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("from-the-debugger"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    let exit = eventually(20, "the ephemeral container terminated", || {
        let p = k.sim.get("v1", "Pod", Some("default"), &pod)?;
        let code = s(
            &p,
            "/status/ephemeralContainerStatuses/0/state/terminated/exitCode",
        );
        (!code.is_empty()).then_some(code)
    })
    .await;
    assert_eq!(exit, "0");
    let p = k.sim.get("v1", "Pod", Some("default"), &pod).unwrap();
    assert_eq!(
        s(&p, "/spec/ephemeralContainers/0/targetContainerName"),
        "nginx"
    );
    // a copy of the pod with a debugging container: attach runs its command
    let o = k
        .run(&[
            "debug",
            "-i",
            &pod,
            "--copy-to=web-copy",
            "--container=dbg",
            "--image=busybox:1",
            "--",
            "sh",
            "-c",
            "echo from-the-copy; exit 0",
        ])
        .await;
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("from-the-copy"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    for path in [
        "/api/v1/nothing-here",
        "/api/v1/namespaces/default/pods/nope",
        "/api/v1/namespaces/default/pods/nope/ephemeralcontainers",
    ] {
        let r = get(&k.sim, path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.json()["details"].is_object(), "{path}: {}", r.json());
    }
    k.sim.shutdown().await;
}
