#![allow(dead_code)]
//! Helpers shared by the kube-sim integration tests.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use kube_sim::{Behaviors, KubeSim, SimConfig};
use serde_json::Value;
use std::time::Duration;

pub const BEHAVIORS: &str = r#"
images:
  - match: "*:broken"
    behavior: image-pull-error
  - match: "*/ml-service:crash*"
    behavior: crash-loop
    exitCode: 1
    logs: "ModuleNotFoundError: No module named 'torch'"
    runFor: 200ms
  - match: "*:slow"
    behavior: never-ready
  - match: "*:oom"
    behavior: oom-killed
    runFor: 200ms
  - match: "*"
    behavior: ready
    readyAfter: 300ms
exec:
  - pod: "postgres-*"
    env: { PGHOST: 127.0.0.1, PGPORT: "55432" }
jobs:
  - match: "*/api-gateway:*"
    command: ["sh", "-c", "echo upgraded; echo to-stderr >&2"]
  - match: "*/failing:*"
    command: ["sh", "-c", "echo boom; exit 4"]
"#;

pub async fn sim() -> KubeSim {
    sim_with(|_| {}).await
}

pub async fn sim_with(f: impl FnOnce(&mut SimConfig)) -> KubeSim {
    let mut cfg = SimConfig {
        behaviors: Behaviors::from_yaml(BEHAVIORS).unwrap(),
        time_scale: 0.05,
        ..Default::default()
    };
    f(&mut cfg);
    KubeSim::start(cfg).await.unwrap()
}

pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(
    sim: &KubeSim,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: Option<String>,
) -> hyper::Response<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", sim.port()))
        .await
        .unwrap();
    let (mut tx, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("user-agent", "kube-sim-tests/1.0");
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    let req = b
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    tx.send_request(req).await.unwrap()
}

/// One HTTP request; the whole body.
pub async fn req(
    sim: &KubeSim,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: Option<String>,
) -> Resp {
    let r = send(sim, method, path, ct, body).await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body,
    }
}

pub async fn get(sim: &KubeSim, path: &str) -> Resp {
    req(sim, "GET", path, None, None).await
}

pub async fn post(sim: &KubeSim, path: &str, v: &Value) -> Resp {
    req(
        sim,
        "POST",
        path,
        Some("application/json"),
        Some(v.to_string()),
    )
    .await
}

pub async fn put(sim: &KubeSim, path: &str, v: &Value) -> Resp {
    req(
        sim,
        "PUT",
        path,
        Some("application/json"),
        Some(v.to_string()),
    )
    .await
}

pub async fn apply(sim: &KubeSim, path: &str, manager: &str, yaml: &str, force: bool) -> Resp {
    let sep = if path.contains('?') { '&' } else { '?' };
    let p = format!(
        "{path}{sep}fieldManager={manager}{}",
        if force { "&force=true" } else { "" }
    );
    req(
        sim,
        "PATCH",
        &p,
        Some("application/apply-patch+yaml"),
        Some(yaml.to_string()),
    )
    .await
}

/// Read a watch stream for at most `max` events or `dur`, whichever first.
pub async fn watch_events(
    sim: &KubeSim,
    path: &str,
    max: usize,
    dur: Duration,
) -> (Vec<Value>, bool) {
    let r = send(sim, "GET", path, None, None).await;
    assert_eq!(r.status().as_u16(), 200);
    let mut body = r.into_body();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + dur;
    let mut ended = false;
    while out.len() < max {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => break,
            Ok(None) => {
                ended = true;
                break;
            }
            Ok(Some(Err(_))) => {
                ended = true;
                break;
            }
            Ok(Some(Ok(f))) => {
                if let Ok(d) = f.into_data() {
                    buf.extend_from_slice(&d);
                    while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=i).collect();
                        out.push(serde_json::from_slice(&line).unwrap());
                    }
                }
            }
        }
    }
    (out, ended)
}

/// Poll until `f` returns Some, or panic after `secs`.
pub async fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn s(v: &Value, p: &str) -> String {
    match v.pointer(p) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(o) => o.to_string(),
    }
}

pub fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}}
    })
}
