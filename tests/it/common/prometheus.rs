//! A real Prometheus (Debian's 2.42: no kubernetes_sd_configs, so a static
//! scrape config) scraping a local test exporter every second, with the
//! rendered alert rules (`for:` shortened to 1s) loaded.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An exporter of `http_requests_total`: 200s rise steadily; once
/// `failing` is set, 500s rise by 20 per second too.
#[derive(Clone, Default)]
pub struct Exporter {
    pub failing: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
}

impl Exporter {
    pub async fn start() -> (Exporter, SocketAddr) {
        let exporter = Exporter::default();
        let ticker = exporter.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                ticker.ok.fetch_add(1, Ordering::SeqCst);
                if ticker.failing.load(Ordering::SeqCst) {
                    ticker.errors.fetch_add(2, Ordering::SeqCst);
                }
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = exporter.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let e = served.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let body = format!(
                        "# TYPE http_requests_total counter\nhttp_requests_total{{method=\"GET\",status=\"200\"}} {}\nhttp_requests_total{{method=\"GET\",status=\"500\"}} {}\n",
                        e.ok.load(Ordering::SeqCst),
                        e.errors.load(Ordering::SeqCst)
                    );
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        (exporter, addr)
    }
}

pub struct Prometheus {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` as job `api-gateway`, with
    /// `rules` (the rendered alert_rules.yml); returns once it is ready.
    pub async fn start(target: SocketAddr, rules: &str) -> Prometheus {
        let program = std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join("prometheus")).find(|f| f.exists()))
            .unwrap_or_else(|| panic!("`prometheus` not found: the alerts/--bake tests need a real Prometheus; .ci/install.d/41-prometheus.sh installs it (`apt-get install prometheus`)"));
        let dir = tempfile::tempdir().unwrap();
        let shortened = rules
            .replace("for: 5m", "for: 1s")
            .replace("for: 2m", "for: 1s")
            .replace("for: 1m", "for: 1s");
        std::fs::write(dir.path().join("alert_rules.yml"), shortened).unwrap();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - alert_rules.yml\nscrape_configs:\n  - job_name: api-gateway\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let p = Prometheus {
            url,
            child,
            _dir: dir,
        };
        for _ in 0..150 {
            if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n").await;
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer).await;
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return p;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("Prometheus did not become ready");
    }

    /// Waits until `query` returns a series (`want`) or none (`!want`).
    pub async fn wait_for(&self, query: &str, want: bool) {
        for _ in 0..200 {
            let found = self.query(query).await;
            if found == want {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("`{query}` never became {want}");
    }

    async fn query(&self, query: &str) -> bool {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.url,
            fintechctl::checks::prometheus::percent_encode(query)
        );
        let addr = self.url.trim_start_matches("http://").to_string();
        let path = url.trim_start_matches(&self.url).to_string();
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            return false;
        };
        let _ = s
            .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await;
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer).await;
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        json["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
