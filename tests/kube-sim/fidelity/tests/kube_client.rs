//! kube's own client (kube 5) against kube-sim: Api, watcher, await_condition, exec, portforward.

mod common;
use common::*;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, AttachParams, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, conditions, wait::await_condition, watcher};
use kube::{Client, Config};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn client(sim: &kube_sim::KubeSim) -> Client {
    let cfg = Config::new(sim.url().parse().unwrap());
    Client::try_from(cfg).unwrap()
}

#[tokio::test]
async fn api_crud_and_server_side_apply() {
    let sim = sim().await;
    let c = client(&sim).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "k1", "labels": {"a": "b"}}, "data": {"x": "1"}}),
    )
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert!(created.metadata.uid.is_some());
    let got = cms.get("k1").await.unwrap();
    assert_eq!(got.data.unwrap()["x"], "1");
    let list = cms
        .list(&ListParams::default().labels("a=b"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());
    // a conflict is a typed error
    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "AlreadyExists");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(cms.get_opt("nope").await.unwrap().is_none());

    let deps: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let pp = PatchParams::apply("fintechctl");
    let d = deployment("kd", "nginx:1.25", 2);
    let applied = deps.patch("kd", &pp, &Patch::Apply(&d)).await.unwrap();
    let mf = applied.metadata.managed_fields.unwrap();
    assert!(
        mf.iter().any(|m| m.manager.as_deref() == Some("fintechctl")
            && m.operation.as_deref() == Some("Apply"))
    );
    // another manager changing the image conflicts; force wins
    let mut d2 = d.clone();
    d2["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    let err = deps
        .patch(
            "kd",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&d2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    deps.patch(
        "kd",
        &PatchParams::apply("someone-else").force(),
        &Patch::Apply(&d2),
    )
    .await
    .unwrap();

    // wait for the rollout with await_condition
    let done = tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(deps.clone(), "kd", |d: Option<&Deployment>| {
            d.and_then(|d| {
                let st = d.status.as_ref()?;
                let gen_ok = st.observed_generation? >= d.metadata.generation?;
                Some(
                    gen_ok
                        && st.updated_replicas == Some(2)
                        && st.available_replicas == Some(2)
                        && st.replicas == Some(2),
                )
            })
            .unwrap_or(false)
        }),
    )
    .await
    .expect("rollout timed out")
    .unwrap()
    .unwrap();
    assert_eq!(
        done.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "2"
    );
    deps.delete("kd", &DeleteParams::default()).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_sees_changes_and_survives_dropped_watches() {
    let sim = sim().await;
    let c = client(&sim).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    sim.faults().drop_watches_after(Some(3));
    let stream = watcher(cms.clone(), watcher::Config::default().labels("w=1")).applied_objects();
    let names = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut seen = std::collections::BTreeSet::new();
        while let Ok(Some(Ok(cm))) =
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await
        {
            seen.insert(cm.metadata.name.unwrap());
            if seen.len() == 8 {
                break;
            }
        }
        seen
    });
    for i in 0..8 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("w{i}"), "labels": {"w": "1"}}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let seen = names.await.unwrap();
    assert_eq!(seen.len(), 8, "{seen:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn exec_attached_process_and_status() {
    let sim = sim().await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "postgres-0"}, "spec": {"containers": [{"name": "pg", "image": "postgres:16",
        "env": [{"name": "FROM_POD", "value": "yes"}]}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(pods.clone(), "postgres-0", conditions::is_pod_running()),
    )
    .await
    .unwrap()
    .unwrap();

    let mut ap = pods
        .exec(
            "postgres-0",
            ["sh", "-c", "echo $FROM_POD $PGPORT; echo oops >&2"],
            &AttachParams::default().stderr(true),
        )
        .await
        .unwrap();
    let mut out = String::new();
    ap.stdout().unwrap().read_to_string(&mut out).await.unwrap();
    // (reading kube's stderr half to EOF after stdout hangs inside kube's AttachedProcess;
    // read the bytes we expect instead)
    let mut err = [0u8; 5];
    ap.stderr().unwrap().read_exact(&mut err).await.unwrap();
    let err = String::from_utf8_lossy(&err).to_string();
    let status = ap.take_status().unwrap().await.unwrap();
    assert_eq!(out, "yes 55432\n");
    assert_eq!(err, "oops\n");
    assert_eq!(status.status.as_deref(), Some("Success"));
    ap.join().await.unwrap();

    // exit code 3
    let mut ap = pods
        .exec(
            "postgres-0",
            ["sh", "-c", "exit 3"],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    let status = ap.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.unwrap().causes.unwrap();
    assert_eq!(causes[0].reason.as_deref(), Some("ExitCode"));
    assert_eq!(causes[0].message.as_deref(), Some("3"));
    ap.join().await.unwrap();

    // stdin through cat, closed with the v5 close signal
    let mut ap = pods
        .exec(
            "postgres-0",
            ["cat"],
            &AttachParams::default().stdin(true).stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = ap.stdin().unwrap();
    let mut stdout = ap.stdout().unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let p2 = payload.clone();
    let writer = tokio::spawn(async move {
        stdin.write_all(&p2).await.unwrap();
        stdin.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    stdout.read_to_end(&mut got).await.unwrap();
    writer.await.unwrap();
    assert_eq!(got.len(), payload.len());
    assert!(got == payload);
    let status = ap.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));

    // fault: the stream is cut after N bytes
    sim.faults().cut_exec_after(Some(1000));
    let mut ap = pods
        .exec(
            "postgres-0",
            ["sh", "-c", "head -c 100000 /dev/zero"],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    let mut so = ap.stdout().unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(500), so.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), 1000);
    // the connection was dropped without a status: kube reports an error
    let joined = tokio::time::timeout(Duration::from_secs(5), ap.join())
        .await
        .expect("join");
    assert!(joined.is_err(), "{joined:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn portforward_to_local_target() {
    // a tiny local HTTP server standing in for the pod
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let body = format!("hello from {}", req.lines().next().unwrap_or(""));
                let _ = s.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes()).await;
            });
        }
    });
    let beh = format!(
        "{BEHAVIORS}\nports:\n  - pod: \"api-gateway-*\"\n    port: 8000\n    target: {target}\n"
    );
    let sim = sim_with(|c| c.behaviors = kube_sim::Behaviors::from_yaml(&beh).unwrap()).await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "api-gateway-0", "labels": {"app": "gw"}}, "spec": {"containers": [{"name": "gw", "image": "gw:1", "ports": [{"containerPort": 8000}]}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(pods.clone(), "api-gateway-0", conditions::is_pod_running()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut pf = pods.portforward("api-gateway-0", &[8000]).await.unwrap();
    let mut stream = pf.take_stream(8000).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
    assert!(resp.ends_with("hello from GET /healthz HTTP/1.1"), "{resp}");
    drop(stream);
    pf.abort();

    // the service proxy reaches the same target through a ready endpoint
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw"}, "spec": {"selector": {"app": "gw"}, "ports": [{"name": "http", "port": 80, "targetPort": 8000}]}});
    post(&sim, "/api/v1/namespaces/default/services", &svc).await;
    let mut ok = String::new();
    for _ in 0..200 {
        let r = get(
            &sim,
            "/api/v1/namespaces/default/services/gw:http/proxy/ready?x=1",
        )
        .await;
        if r.status == 200 {
            ok = r.text();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ok, "hello from GET /ready?x=1 HTTP/1.1");
    sim.shutdown().await;
}

#[tokio::test]
async fn discovery_legacy_and_aggregated_and_vpa_switch() {
    use kube::discovery::{Discovery, Scope};
    let sim = sim().await;
    let c = client(&sim).await;
    for aggregated in [false, true] {
        let d = if aggregated {
            Discovery::new(c.clone()).run_aggregated().await.unwrap()
        } else {
            Discovery::new(c.clone()).run().await.unwrap()
        };
        assert!(d.has_group("apps"), "aggregated={aggregated}");
        assert!(d.has_group("autoscaling.k8s.io"));
        let (ar, caps) = d
            .groups()
            .flat_map(|g| g.recommended_resources())
            .find(|(ar, _)| ar.kind == "Deployment")
            .unwrap();
        assert_eq!(ar.plural, "deployments");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(
            caps.subresources
                .iter()
                .any(|(s, _)| s.plural == "deployments/status" || s.plural == "status"),
            "{:?}",
            caps.subresources
        );
        let core = d.get("").expect("core group");
        assert!(
            core.recommended_resources()
                .iter()
                .any(|(ar, _)| ar.kind == "Pod")
        );
    }
    sim.shutdown().await;

    let sim = sim_with(|c| c.vpa_installed = false).await;
    let c = client(&sim).await;
    let d = Discovery::new(c.clone()).run_aggregated().await.unwrap();
    assert!(!d.has_group("autoscaling.k8s.io"));
    assert!(d.has_group("metrics.k8s.io"));
    let d = Discovery::new(c.clone()).run().await.unwrap();
    assert!(!d.has_group("autoscaling.k8s.io"));
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_with_streaming_lists() {
    let sim = sim().await;
    let c = client(&sim).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    for i in 0..3 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("s{i}"), "labels": {"s": "1"}}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let stream = watcher(
        cms.clone(),
        watcher::Config::default().labels("s=1").streaming_lists(),
    );
    let mut stream = std::pin::pin!(stream);
    let mut init = std::collections::BTreeSet::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watcher stalled")
            .unwrap()
            .unwrap()
        {
            watcher::Event::Init => {}
            watcher::Event::InitApply(cm) => {
                init.insert(cm.metadata.name.unwrap());
            }
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(init.len(), 3);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "s9", "labels": {"s": "1"}}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        watcher::Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("s9")),
        other => panic!("unexpected {other:?}"),
    }
    sim.shutdown().await;
}

/// Item 1 through kube-rs: `string_data` is read back as `data` after create, replace and
/// server-side apply; item 5: the self-subject access review kube-rs would send.
#[tokio::test]
async fn secret_string_data_and_access_review() {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    use k8s_openapi::api::core::v1::Secret;
    let sim = sim_with(|c| {
        c.behaviors = kube_sim::Behaviors::from_yaml(
            "deny:\n  - verbs: [get]\n    resources: [secrets]\n    names: [hidden]\n",
        )
        .unwrap()
    })
    .await;
    let c = client(&sim).await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "s"}, "stringData": {"password": "one"}}),
    )
    .unwrap();
    let created = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(
        created.data.as_ref().unwrap()["password"],
        ByteString(b"one".to_vec())
    );
    assert!(created.string_data.is_none());
    let mut changed = secrets.get("s").await.unwrap();
    changed.string_data = Some([("password".to_string(), "two".to_string())].into());
    secrets
        .replace("s", &PostParams::default(), &changed)
        .await
        .unwrap();
    let got = secrets.get("s").await.unwrap();
    assert_eq!(got.data.unwrap()["password"], ByteString(b"two".to_vec()));
    assert!(got.string_data.is_none());
    let pp = PatchParams::apply("fintechctl");
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"password": "three"}});
    secrets
        .patch("s", &pp, &Patch::Apply(&applied))
        .await
        .unwrap();
    let got = secrets.get("s").await.unwrap();
    assert_eq!(got.data.unwrap()["password"], ByteString(b"three".to_vec()));
    assert!(got.string_data.is_none());

    let reviews: Api<SelfSubjectAccessReview> = Api::all(c.clone());
    let ask = |name: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some("default".into()),
                verb: Some("get".into()),
                resource: Some("secrets".into()),
                name: Some(name.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = reviews
        .create(&PostParams::default(), &ask("hidden"))
        .await
        .unwrap();
    assert!(!r.status.unwrap().allowed);
    let r = reviews
        .create(&PostParams::default(), &ask("s"))
        .await
        .unwrap();
    assert!(r.status.unwrap().allowed);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "hidden"}})).unwrap(),
        )
        .await
        .unwrap();
    match secrets.get("hidden").await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert!(
                s.message.contains("cannot get resource \"secrets\""),
                "{}",
                s.message
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    sim.shutdown().await;
}

/// A: `AttachParams::interactive_tty()` runs the command on a pseudo-terminal: a resize
/// sets the window size `stty size` reports, output (stderr too) arrives on stdout, and
/// the exit code comes back on the status channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_with_a_tty_resizes_and_propagates_the_exit_code() {
    use futures::SinkExt;
    use kube::api::TerminalSize;
    let sim = sim().await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "toolbox"}, "spec": {"containers": [{"name": "t", "image": "busybox:1"}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(pods.clone(), "toolbox", conditions::is_pod_running()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut ap = pods
        .exec("toolbox", ["sh"], &AttachParams::interactive_tty())
        .await
        .unwrap();
    let mut resize = ap.terminal_size().expect("a tty exec has a resize channel");
    resize
        .send(TerminalSize {
            width: 123,
            height: 45,
        })
        .await
        .unwrap();
    let mut stdin = ap.stdin().unwrap();
    let mut stdout = ap.stdout().unwrap();
    assert!(ap.stderr().is_none());
    let status = ap.take_status().unwrap();
    // the resize and stdin travel separately: ask until the new size is in effect
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    'outer: loop {
        stdin
            .write_all(b"stty size; tty; echo to-stderr >&2\n")
            .await
            .unwrap();
        let round = tokio::time::Instant::now() + Duration::from_millis(500);
        while tokio::time::Instant::now() < round {
            if let Ok(r) =
                tokio::time::timeout(Duration::from_millis(100), stdout.read(&mut buf)).await
            {
                out.extend_from_slice(&buf[..r.unwrap()]);
                let s = String::from_utf8_lossy(&out);
                if s.contains("45 123")
                    && s.contains("/dev/pts/")
                    && s.matches("to-stderr").count() >= 2
                {
                    break 'outer;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
    stdin.write_all(b"exit 7\n").await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), status)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.reason.as_deref(),
        Some("NonZeroExitCode"),
        "{status:?}"
    );
    assert_eq!(
        status.details.unwrap().causes.unwrap()[0]
            .message
            .as_deref(),
        Some("7")
    );
    // a clean exit
    let mut ap = pods
        .exec(
            "toolbox",
            ["sh", "-c", "stty size"],
            &AttachParams::interactive_tty(),
        )
        .await
        .unwrap();
    let mut out = String::new();
    ap.stdout().unwrap().read_to_string(&mut out).await.unwrap();
    assert_eq!(out.trim(), "24 80");
    let status = ap.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    // the session ends with the command, even if a process it left holds the terminal
    let started = std::time::Instant::now();
    let mut ap = pods
        .exec(
            "toolbox",
            ["sh", "-c", "setsid sleep 5 & echo bg; exit 2"],
            &AttachParams::interactive_tty(),
        )
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(4), ap.take_status().unwrap())
        .await
        .expect("the exec ends when its command does")
        .unwrap();
    assert_eq!(
        status.details.unwrap().causes.unwrap()[0]
            .message
            .as_deref(),
        Some("2")
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    sim.shutdown().await;
}

/// C: what the product's pg_dump / pg_restore through `exec:` need — a large binary stdout
/// streamed with back-pressure, byte-exact, and a large stdin streamed in. Tens of MiB
/// each way are a thousand times the buffers between the command and the client (a
/// pipe's 64 KiB, a websocket frame); 256 MiB took 15–25 s of CPU and proved no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_streams_tens_of_mib_out_and_stdin_in() {
    let sim = sim().await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "postgres-0"}, "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(pods.clone(), "postgres-0", conditions::is_pod_running()),
    )
    .await
    .unwrap()
    .unwrap();
    // 64 MiB of a non-text byte, compared on the client's side
    const MIB: usize = 64;
    let mut ap = pods
        .exec(
            "postgres-0",
            [
                "sh",
                "-c",
                &format!("head -c {} /dev/zero | tr '\\000' '\\377'", MIB << 20),
            ],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    let mut so = ap.stdout().unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    let ones = vec![0xffu8; 1 << 20];
    let started = std::time::Instant::now();
    loop {
        let n = so.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n] == ones[..n]);
        total += n;
    }
    assert_eq!(total, MIB << 20);
    let status = ap.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    eprintln!("{MIB} MiB out in {:?}", started.elapsed());
    // stdin: 32 MiB in, counted by the command
    let mut ap = pods
        .exec(
            "postgres-0",
            ["wc", "-c"],
            &AttachParams::default().stdin(true),
        )
        .await
        .unwrap();
    let mut si = ap.stdin().unwrap();
    let writer = tokio::spawn(async move {
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..32 {
            si.write_all(&chunk).await.unwrap();
        }
        si.shutdown().await.unwrap();
    });
    let mut out = String::new();
    ap.stdout().unwrap().read_to_string(&mut out).await.unwrap();
    writer.await.unwrap();
    assert_eq!(out.trim(), (32usize << 20).to_string());
    sim.shutdown().await;
}

/// Item 6 through kube-rs: the VPA is a real CRD object; deleting it removes the group
/// from discovery and its objects, creating it again brings it back.
#[tokio::test]
async fn vpa_crd_can_be_removed_and_added() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::discovery::Discovery;
    let sim = sim().await;
    let c = client(&sim).await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
    let vpa = crds
        .get("verticalpodautoscalers.autoscaling.k8s.io")
        .await
        .unwrap();
    let established = vpa
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established);
    let vpas: Api<kube::api::DynamicObject> = Api::namespaced_with(
        c.clone(),
        "default",
        &kube::api::ApiResource {
            group: "autoscaling.k8s.io".into(),
            version: "v1".into(),
            api_version: "autoscaling.k8s.io/v1".into(),
            kind: "VerticalPodAutoscaler".into(),
            plural: "verticalpodautoscalers".into(),
        },
    );
    let obj: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "web"}, "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}))
    .unwrap();
    let created = vpas.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    crds.delete(
        "verticalpodautoscalers.autoscaling.k8s.io",
        &DeleteParams::default(),
    )
    .await
    .unwrap();
    let d = Discovery::new(c.clone()).run_aggregated().await.unwrap();
    assert!(!d.has_group("autoscaling.k8s.io"));
    assert!(
        sim.list("autoscaling.k8s.io/v1", "VerticalPodAutoscaler", None)
            .is_empty()
    );
    match vpas.list(&ListParams::default()).await.unwrap_err() {
        kube::Error::Api(s) => assert_eq!(s.code, 404),
        other => panic!("unexpected {other:?}"),
    }
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(kube_sim::vpa_crd()).unwrap(),
    )
    .await
    .unwrap();
    let d = Discovery::new(c.clone()).run().await.unwrap();
    assert!(d.has_group("autoscaling.k8s.io"));
    assert!(
        vpas.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    vpas.create(&PostParams::default(), &obj).await.unwrap();
    sim.shutdown().await;
}

/// A resourceVersion in a server-side apply's body is a precondition, as
/// on a real API server: the apply goes through at that version and is
/// refused with 409 Conflict once the object moved on.
#[tokio::test]
async fn an_apply_carrying_a_resource_version_is_conditional() {
    let sim = sim().await;
    let c = client(&sim).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let pp = PatchParams::apply("fintechctl");
    let first = cms
        .patch(
            "rv",
            &pp,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "rv"}, "data": {"x": "1"}})),
        )
        .await
        .unwrap();
    let rv = first.metadata.resource_version.clone().unwrap();
    let at = |value: &str, rv: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "rv", "resourceVersion": rv}, "data": {"x": value}})
    };
    let second = cms
        .patch("rv", &pp, &Patch::Apply(at("2", &rv)))
        .await
        .unwrap();
    assert_eq!(second.data.unwrap()["x"], "2");
    assert_ne!(second.metadata.resource_version.as_ref(), Some(&rv));
    let stale = cms
        .patch("rv", &pp, &Patch::Apply(at("3", &rv)))
        .await
        .unwrap_err();
    assert!(
        matches!(stale, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{stale:?}"
    );
    assert_eq!(cms.get("rv").await.unwrap().data.unwrap()["x"], "2");
}
