//! A real Prometheus (Debian's 2.42: no kubernetes_sd_configs, so a static
//! scrape config) scraping local test exporters every second: one exporter
//! with the rendered alert rules (`for:` shortened to 1s) loaded, or
//! several, each with its own labels (`app`, `track`, `namespace`,
//! `version`: what the rendered kubernetes-pods job puts on a pod's series).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        let served = exporter.clone();
        let addr = serve_metrics(move || {
            format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{method=\"GET\",status=\"200\"}} {}\nhttp_requests_total{{method=\"GET\",status=\"500\"}} {}\n",
                served.ok.load(Ordering::SeqCst),
                served.errors.load(Ordering::SeqCst)
            )
        })
        .await;
        (exporter, addr)
    }
}

/// The buckets of prometheus_client's default histogram (seconds).
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// What a [`Traffic`] exporter's service answers every 100 ms.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Requests per tick (0: no traffic, the series stay at 0).
    pub requests: u64,
    /// Of those, answered 5xx.
    pub errors: u64,
    /// Each request's latency, observed into `http_request_duration_seconds`;
    /// `None`: the service exports no histogram.
    pub latency: Option<f64>,
}

impl Load {
    /// 100 requests a tick, `errors` of them 5xx, each taking `latency` s.
    pub fn of(errors: u64, latency: f64) -> Load {
        Load {
            requests: 100,
            errors,
            latency: Some(latency),
        }
    }
}

#[derive(Default)]
struct Counts {
    ok: u64,
    errors: u64,
    /// Cumulative, one per [`BUCKETS`] entry, then `+Inf`.
    buckets: [u64; 15],
    sum: f64,
}

/// An exporter of `http_requests_total` (by `status`; the 5xx series only
/// once a 5xx happened, as prometheus_client does) and the
/// `http_request_duration_seconds` histogram, its load set by the test.
#[derive(Clone)]
pub struct Traffic {
    load: Arc<Mutex<Load>>,
    counts: Arc<Mutex<Counts>>,
}

impl Traffic {
    pub async fn start(load: Load) -> (Traffic, SocketAddr) {
        let traffic = Traffic {
            load: Arc::new(Mutex::new(load)),
            counts: Arc::default(),
        };
        let ticker = traffic.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let load = *ticker.load.lock().unwrap();
                let mut c = ticker.counts.lock().unwrap();
                c.ok += load.requests - load.errors;
                c.errors += load.errors;
                if let Some(latency) = load.latency {
                    for (i, le) in BUCKETS.iter().enumerate() {
                        if latency <= *le {
                            c.buckets[i] += load.requests;
                        }
                    }
                    c.buckets[BUCKETS.len()] += load.requests;
                    c.sum += latency * load.requests as f64;
                }
            }
        });
        let served = traffic.clone();
        let addr = serve_metrics(move || served.exposition()).await;
        (traffic, addr)
    }

    pub fn set(&self, load: Load) {
        *self.load.lock().unwrap() = load;
    }

    fn exposition(&self) -> String {
        let with_histogram = self.load.lock().unwrap().latency.is_some();
        let c = self.counts.lock().unwrap();
        let mut body = format!(
            "# TYPE http_requests_total counter\nhttp_requests_total{{method=\"GET\",status=\"200\"}} {}\n",
            c.ok
        );
        if c.errors > 0 {
            body.push_str(&format!(
                "http_requests_total{{method=\"GET\",status=\"500\"}} {}\n",
                c.errors
            ));
        }
        if with_histogram {
            body.push_str("# TYPE http_request_duration_seconds histogram\n");
            for (i, le) in BUCKETS.iter().enumerate() {
                body.push_str(&format!(
                    "http_request_duration_seconds_bucket{{le=\"{le}\"}} {}\n",
                    c.buckets[i]
                ));
            }
            let count = c.buckets[BUCKETS.len()];
            body.push_str(&format!(
                "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nhttp_request_duration_seconds_sum {}\nhttp_request_duration_seconds_count {count}\n",
                c.sum
            ));
        }
        body
    }
}

/// Serves `body()` as Prometheus text on every request, on a free port.
async fn serve_metrics(body: impl Fn() -> String + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = body();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

/// A scrape target and the labels its series get (static_configs
/// `labels:`).
pub struct Target {
    pub addr: SocketAddr,
    pub labels: Vec<(&'static str, String)>,
}

impl Target {
    /// A pod of `app` on `track` in `namespace`, as the rendered
    /// kubernetes-pods job labels its series.
    pub fn pod(addr: SocketAddr, namespace: &str, app: &str, track: &str, version: &str) -> Target {
        Target {
            addr,
            labels: vec![
                ("namespace", namespace.to_string()),
                ("app", app.to_string()),
                ("track", track.to_string()),
                ("version", version.to_string()),
            ],
        }
    }
}

/// An address nothing listens on (a pod that is not there).
pub fn nobody() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
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
        let shortened = rules
            .replace("for: 5m", "for: 1s")
            .replace("for: 2m", "for: 1s")
            .replace("for: 1m", "for: 1s");
        Self::launch(
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - alert_rules.yml\nscrape_configs:\n  - job_name: api-gateway\n    static_configs:\n      - targets: ['{target}']\n"
            ),
            Some(&shortened),
        )
        .await
    }

    /// Starts Prometheus scraping each of `targets` every second with its
    /// own labels (one job, `pods`); returns once it is ready.
    pub async fn start_targets(targets: &[Target]) -> Prometheus {
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pods\n    static_configs:\n",
        );
        for t in targets {
            config.push_str(&format!(
                "      - targets: ['{}']\n        labels:\n",
                t.addr
            ));
            for (k, v) in &t.labels {
                config.push_str(&format!("          {k}: {v:?}\n"));
            }
        }
        Self::launch(&config, None).await
    }

    /// Starts Prometheus with `config` as its prometheus.yml (JSON is YAML);
    /// returns once it is ready.
    pub async fn start_config(config: &str) -> Prometheus {
        Self::launch(config, None).await
    }

    async fn launch(config: &str, rules: Option<&str>) -> Prometheus {
        let program = std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join("prometheus")).find(|f| f.exists()))
            .unwrap_or_else(|| panic!("`prometheus` not found: the alerts/--bake/canary analysis tests need a real Prometheus; .ci/install.d/41-prometheus.sh installs it (`apt-get install prometheus`)"));
        let dir = tempfile::tempdir().unwrap();
        if let Some(rules) = rules {
            std::fs::write(dir.path().join("alert_rules.yml"), rules).unwrap();
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
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

    /// Waits until `query` returns a series, polling, for at most `deadline`.
    pub async fn wait_until(&self, query: &str, deadline: Duration) {
        let started = Instant::now();
        while started.elapsed() < deadline {
            if self.query(query).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("`{query}` returned no series within {deadline:?}");
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
