//! Local servers the simulated pods' ports lead to (kube-sim's `ports:`):
//! an HTTP service that is healthy, one that answers 503 on /ready with a
//! JSON body, one that never answers.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Healthy,
    /// 503 with a JSON body on /ready, 200 elsewhere.
    NotReady,
    /// Accepts, reads the request, never answers.
    Hangs,
}

pub const METRICS: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",status=\"200\"} 42\n";
pub const NOT_READY_BODY: &str =
    "{\"status\": \"not ready\", \"database\": \"connection refused\"}";

/// Starts a server on a free loopback port; it ends with the runtime.
pub async fn http(mode: Mode) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                loop {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                let request = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                if mode == Mode::Hangs {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    return;
                }
                let (status, content_type, body) = match path.as_str() {
                    "/ready" if mode == Mode::NotReady => (
                        "503 Service Unavailable",
                        "application/json",
                        NOT_READY_BODY.to_string(),
                    ),
                    "/metrics" => ("200 OK", "text/plain; version=0.0.4", METRICS.to_string()),
                    "/" => (
                        "200 OK",
                        "text/html",
                        "<!doctype html><title>FinTech AI</title>".to_string(),
                    ),
                    _ => (
                        "200 OK",
                        "application/json",
                        "{\"status\": \"ok\"}".to_string(),
                    ),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// kube-sim's `ports:` entries sending each application service's
/// container port to `addr`.
pub fn ports_yaml(targets: &[(&str, u16, SocketAddr)]) -> String {
    let mut yaml = String::from("ports:\n");
    for (pod, port, addr) in targets {
        yaml.push_str(&format!(
            "  - pod: \"{pod}-*\"\n    port: {port}\n    target: {addr}\n"
        ));
    }
    yaml
}

/// What [`serve`] answers on a path.
pub enum Reply {
    /// 200 with this JSON body.
    Json(String),
    /// 200 with this many bytes of spaces, streamed (a body too large to hold).
    Huge(usize),
}

/// A stand-in HTTP server on a free loopback port: each request's path gets
/// `reply(path)`, then the connection closes. It ends with the runtime.
pub async fn serve(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = std::sync::Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&head).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (length, body) = match reply(path) {
                    Reply::Json(body) => (body.len(), Some(body)),
                    Reply::Huge(size) => (size, None),
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                match body {
                    Some(body) => {
                        let _ = socket.write_all(body.as_bytes()).await;
                    }
                    None => {
                        let chunk = vec![b' '; 64 * 1024];
                        let mut sent = 0;
                        while sent < length {
                            let n = chunk.len().min(length - sent);
                            if socket.write_all(&chunk[..n]).await.is_err() {
                                return;
                            }
                            sent += n;
                        }
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}
