//! The canary analysis (src/canary/analysis.rs) against a real Prometheus
//! scraping test exporters, one per pod, each labelled as the rendered
//! kubernetes-pods job labels a pod's series (`namespace`, `app`, `track`,
//! `version`), whose 5xx share and latency each test sets per track.

use crate::common;

use std::time::Duration;

use common::prometheus::{Load, Prometheus, Target, Traffic, nobody};
use fintechctl::canary::analysis::{
    AnalysisSpec, Measurement, Round, Thresholds, Verdict, analyse, error_rate_by_track_query,
    error_rate_query, p95_query,
};
use serde_json::Value;

const NS: &str = "fintech-ai-prod";

fn spec(url: &str, services: &[&str]) -> AnalysisSpec {
    AnalysisSpec {
        prometheus_url: url.to_string(),
        namespace: NS.to_string(),
        services: services.iter().map(|s| s.to_string()).collect(),
        window: Duration::from_secs(30),
        thresholds: Thresholds::default(),
        timeout: Duration::from_secs(10),
    }
}

/// A pod of `app` on `track` in [`NS`] under `load`: its exporter and target.
async fn pod(app: &str, track: &str, load: Load) -> (Traffic, Target) {
    let (traffic, addr) = Traffic::start(load).await;
    let version = if track == "canary" { "1.5.0" } else { "1.4.2" };
    (traffic, Target::pod(addr, NS, app, track, version))
}

/// Prometheus scraping `targets`, returned once each has been scraped three
/// times (so `rate()` over the window has samples): polled, with a deadline.
async fn scraping(targets: &[Target]) -> Prometheus {
    let prom = Prometheus::start_targets(targets).await;
    prom.wait_until(
        &format!(
            "min(count_over_time(up[1m])) >= 3 and count(up) == {}",
            targets.len()
        ),
        Duration::from_secs(90),
    )
    .await;
    prom
}

fn find<'a>(round: &'a Round, service: &str, check: &str) -> &'a Measurement {
    round
        .measurements
        .iter()
        .find(|m| m.service == service && m.check == check)
        .unwrap_or_else(|| panic!("no {service} {check} in {round:#?}"))
}

fn close(value: Option<f64>, want: f64) -> bool {
    value.is_some_and(|v| (v - want).abs() < 0.005)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_passes() {
    let (_a, api_canary) = pod("api-gateway", "canary", Load::of(0, 0.05)).await;
    let (_b, api_stable) = pod("api-gateway", "stable", Load::of(0, 0.05)).await;
    let (_c, ml_canary) = pod("ml-service", "canary", Load::of(0, 0.2)).await;
    let (_d, ml_stable) = pod("ml-service", "stable", Load::of(0, 0.2)).await;
    // Another environment's failing, slow canary of the same app: not ours.
    let (_e, addr) = Traffic::start(Load::of(100, 5.0)).await;
    let elsewhere = Target::pod(addr, "fintech-ai-staging", "api-gateway", "canary", "1.5.0");
    let prom = scraping(&[api_canary, api_stable, ml_canary, ml_stable, elsewhere]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway", "ml-service"])).await;
    assert_eq!(round.verdict, Verdict::Pass, "{round:#?}");
    assert_eq!(round.measurements.len(), 6, "{round:#?}");
    assert_eq!(round.summary(), "pass: 6 checks within thresholds");
    for m in &round.measurements {
        assert_eq!(m.verdict, Verdict::Pass, "{m:#?}");
        assert!(m.value.is_some(), "{m:#?}");
    }
    let rate = find(&round, "api-gateway", "error-rate");
    assert_eq!(
        rate.value,
        Some(0.0),
        "no 5xx series is a 0 share: {rate:#?}"
    );
    assert_eq!(rate.query, error_rate_query(NS, "api-gateway", 30));
    assert_eq!(rate.threshold, 0.1);
    let p95 = find(&round, "api-gateway", "p95-latency");
    assert!(p95.value.unwrap() <= 0.05, "{p95:#?}");
    assert_eq!(p95.query, p95_query(NS, "api-gateway", 30));
    let ml = find(&round, "ml-service", "p95-latency");
    assert!(
        ml.value.unwrap() > 0.1 && ml.value.unwrap() <= 0.25,
        "{ml:#?}"
    );
    let vs = find(&round, "ml-service", "error-rate-vs-stable");
    assert_eq!(vs.value, Some(0.0), "{vs:#?}");
    assert_eq!(vs.query, error_rate_by_track_query(NS, "ml-service", 30));
    assert_eq!(vs.note.as_deref(), Some("canary 0 − stable 0"));
}

/// The round as JSON with values rounded (rates are computed from scrape
/// times), for the snapshot.
fn rounded(round: &Round) -> Value {
    let mut json = serde_json::to_value(round).unwrap();
    for m in json["measurements"].as_array_mut().unwrap() {
        if let Some(v) = m["value"].as_f64() {
            m["value"] = serde_json::json!((v * 1000.0).round() / 1000.0);
        }
    }
    json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_above_the_error_share_fails_with_query_value_and_threshold() {
    let (_a, canary) = pod("api-gateway", "canary", Load::of(25, 0.05)).await;
    let (_b, stable) = pod("api-gateway", "stable", Load::of(0, 0.05)).await;
    let prom = scraping(&[canary, stable]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway"])).await;
    assert_eq!(round.verdict, Verdict::Fail, "{round:#?}");
    let rate = find(&round, "api-gateway", "error-rate");
    assert_eq!(rate.verdict, Verdict::Fail);
    assert!(close(rate.value, 0.25), "{rate:#?}");
    assert_eq!(rate.threshold, 0.1);
    let query = error_rate_query(NS, "api-gateway", 30);
    assert_eq!(rate.query, query);
    assert_eq!(
        rate.describe(),
        format!("api-gateway error-rate 0.25 > 0.1 (query {query})")
    );
    assert!(
        round
            .summary()
            .starts_with(&format!("fail: {}", rate.describe())),
        "{}",
        round.summary()
    );
    // Latency is fine; the canary is also worse than stable.
    assert_eq!(
        find(&round, "api-gateway", "p95-latency").verdict,
        Verdict::Pass
    );
    assert_eq!(
        find(&round, "api-gateway", "error-rate-vs-stable").verdict,
        Verdict::Fail
    );
    insta::assert_json_snapshot!("failing_round", rounded(&round));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_worse_than_stable_by_more_than_the_increase_fails() {
    // 8% of api-gateway's canary requests fail, 1% of stable's: under the
    // 0.1 share, 0.07 worse than stable (more than 0.05).
    let (_a, api_canary) = pod("api-gateway", "canary", Load::of(8, 0.05)).await;
    let (_b, api_stable) = pod("api-gateway", "stable", Load::of(1, 0.05)).await;
    // ml-service's stable pods export nothing: compared with 0.
    let (_c, ml_canary) = pod("ml-service", "canary", Load::of(8, 0.05)).await;
    let prom = scraping(&[api_canary, api_stable, ml_canary]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway", "ml-service"])).await;
    assert_eq!(round.verdict, Verdict::Fail, "{round:#?}");
    let rate = find(&round, "api-gateway", "error-rate");
    assert_eq!(rate.verdict, Verdict::Pass, "{rate:#?}");
    assert!(close(rate.value, 0.08), "{rate:#?}");
    let vs = find(&round, "api-gateway", "error-rate-vs-stable");
    assert_eq!(vs.verdict, Verdict::Fail, "{vs:#?}");
    assert!(close(vs.value, 0.07), "{vs:#?}");
    assert_eq!(vs.threshold, 0.05);
    assert_eq!(vs.note.as_deref(), Some("canary 0.08 − stable 0.01"));
    let described = vs.describe();
    assert!(
        described.starts_with("api-gateway error-rate-vs-stable 0.07 > 0.05"),
        "{described}"
    );
    assert!(
        described.contains(&error_rate_by_track_query(NS, "api-gateway", 30)),
        "{described}"
    );

    let alone = find(&round, "ml-service", "error-rate-vs-stable");
    assert_eq!(alone.verdict, Verdict::Fail, "{alone:#?}");
    assert!(close(alone.value, 0.08), "{alone:#?}");
    assert_eq!(
        alone.note.as_deref(),
        Some("canary 0.08 − 0: the stable track has no series, compared with 0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_without_series_or_without_requests_is_inconclusive() {
    // api-gateway's canary pod is not there (nothing answers the scrape);
    // ml-service's canary is scraped but gets no requests (0/0 = NaN).
    let api_canary = Target::pod(nobody(), NS, "api-gateway", "canary", "1.5.0");
    let (_b, api_stable) = pod("api-gateway", "stable", Load::of(0, 0.05)).await;
    let idle = Load {
        requests: 0,
        errors: 0,
        latency: Some(0.05),
    };
    let (_c, ml_canary) = pod("ml-service", "canary", idle).await;
    let (_d, ml_stable) = pod("ml-service", "stable", Load::of(0, 0.05)).await;
    let prom = scraping(&[api_canary, api_stable, ml_canary, ml_stable]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway", "ml-service"])).await;
    assert_eq!(round.verdict, Verdict::Inconclusive, "{round:#?}");
    for m in &round.measurements {
        assert_eq!(m.verdict, Verdict::Inconclusive, "{m:#?}");
        assert_eq!(m.value, None, "{m:#?}");
    }
    let rate = find(&round, "api-gateway", "error-rate");
    assert_eq!(
        rate.note.as_deref(),
        Some("no series: no traffic reached the canary")
    );
    assert!(
        round.summary().starts_with(
            "inconclusive: api-gateway error-rate inconclusive: no series: no traffic reached the canary (query "
        ),
        "{}",
        round.summary()
    );
    assert!(
        round.summary().ends_with("(and 5 more)"),
        "{}",
        round.summary()
    );
    let latency = find(&round, "api-gateway", "p95-latency");
    assert_eq!(
        latency.note.as_deref(),
        Some(
            "no series: no http_request_duration_seconds histogram and no traffic reached the canary"
        )
    );
    let idle = find(&round, "ml-service", "error-rate");
    assert_eq!(
        idle.note.as_deref(),
        Some("NaN: no requests reached the canary in the last 30s"),
        "{idle:#?}"
    );
    assert_eq!(
        find(&round, "ml-service", "p95-latency").note.as_deref(),
        Some("NaN: no requests reached the canary in the last 30s")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_canary_fails_on_p95_latency() {
    let (_a, canary) = pod("api-gateway", "canary", Load::of(0, 2.0)).await;
    let (_b, stable) = pod("api-gateway", "stable", Load::of(0, 0.05)).await;
    let prom = scraping(&[canary, stable]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway"])).await;
    assert_eq!(round.verdict, Verdict::Fail, "{round:#?}");
    let p95 = find(&round, "api-gateway", "p95-latency");
    assert_eq!(p95.verdict, Verdict::Fail, "{p95:#?}");
    // Every request in the (1, 2.5] bucket: P95 interpolates to 2.425.
    assert!(close(p95.value, 2.425), "{p95:#?}");
    assert_eq!(p95.threshold, 1.0);
    assert_eq!(
        p95.describe(),
        format!(
            "api-gateway p95-latency 2.425s > 1s (query {})",
            p95_query(NS, "api-gateway", 30)
        )
    );
    assert_eq!(
        find(&round, "api-gateway", "error-rate").verdict,
        Verdict::Pass
    );
    assert!(
        round
            .summary()
            .starts_with("fail: api-gateway p95-latency 2.425s > 1s"),
        "{}",
        round.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_without_a_latency_histogram_is_judged_on_its_error_rate_only() {
    let plain = Load {
        requests: 100,
        errors: 0,
        latency: None,
    };
    let (_a, canary) = pod("api-gateway", "canary", plain).await;
    let (_b, stable) = pod("api-gateway", "stable", plain).await;
    let prom = scraping(&[canary, stable]).await;

    let round = analyse(&spec(&prom.url, &["api-gateway"])).await;
    assert_eq!(round.verdict, Verdict::Pass, "{round:#?}");
    let p95 = find(&round, "api-gateway", "p95-latency");
    assert_eq!(p95.value, None);
    assert_eq!(
        p95.note.as_deref(),
        Some(
            "not judged: the canary exports no http_request_duration_seconds histogram (its error rate was measured)"
        )
    );
    assert_eq!(
        round.summary(),
        "pass: 3 checks within thresholds (1 not judged: no data of that kind exported)"
    );
}

/// A server on a free port answering every request with `status` and a
/// plain `body`.
async fn answering(status: &'static str, body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_unusable_prometheus_is_inconclusive_naming_the_cause() {
    let every = |round: &Round, note: &dyn Fn(&str) -> bool| {
        assert_eq!(round.verdict, Verdict::Inconclusive, "{round:#?}");
        assert_eq!(round.measurements.len(), 3, "{round:#?}");
        for m in &round.measurements {
            assert_eq!(m.verdict, Verdict::Inconclusive, "{m:#?}");
            assert_eq!(m.value, None, "{m:#?}");
            assert!(note(m.note.as_deref().unwrap_or("")), "{m:#?}");
        }
    };
    let refused = analyse(&spec(&format!("http://{}", nobody()), &["api-gateway"])).await;
    every(&refused, &|n| {
        n == "Prometheus unreachable: connection refused"
    });
    assert!(
        refused
            .summary()
            .starts_with("inconclusive: api-gateway error-rate inconclusive: Prometheus unreachable: connection refused"),
        "{}",
        refused.summary()
    );

    // Never answers: each query ends at its deadline.
    let hangs = common::servers::http(common::servers::Mode::Hangs).await;
    let mut slow = spec(&format!("http://{hangs}"), &["api-gateway"]);
    slow.timeout = Duration::from_millis(500);
    every(&analyse(&slow).await, &|n| {
        n == "Prometheus unreachable: no answer in time"
    });

    let overloaded = answering("503 Service Unavailable", "upstream overloaded").await;
    every(&analyse(&spec(&overloaded, &["api-gateway"])).await, &|n| {
        n == "Prometheus gave no usable answer: 503 Service Unavailable: not the Prometheus API: upstream overloaded"
    });

    let refusing = answering(
        "400 Bad Request",
        r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
    )
    .await;
    every(&analyse(&spec(&refusing, &["api-gateway"])).await, &|n| {
        n == "Prometheus gave no usable answer: 400 Bad Request: parse error"
    });

    let misshapen = answering(
        "200 OK",
        r#"{"status":"success","data":{"resultType":"vector","result":{}}}"#,
    )
    .await;
    every(&analyse(&spec(&misshapen, &["api-gateway"])).await, &|n| {
        n == "Prometheus gave no usable answer: not the Prometheus API's answer: `data.result` is an object, an array expected"
    });
}

/// The rendered prometheus.yml's `kubernetes-pods` job.
fn rendered_pods_job() -> Value {
    let out = assert_cmd::Command::cargo_bin("fintechctl")
        .unwrap()
        .args(["render", "production", "--version", "1.4.2"])
        .args(["--only", "monitoring", "-o", "json"])
        .env("NO_COLOR", "1")
        .env_remove("FINTECHCTL_ENVIRONMENTS_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let config = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "prometheus-config")
        .expect("prometheus-config rendered");
    let yml = config["data"]["prometheus.yml"].as_str().unwrap();
    let prometheus: Value = serde_saphyr::from_str(yml).unwrap();
    prometheus["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_name"] == "kubernetes-pods")
        .expect("a kubernetes-pods job")
        .clone()
}

/// The rendered kubernetes-pods job's relabelling, run by Prometheus on a
/// target with the `__meta_kubernetes_*` labels its pod discovery gives a
/// canary pod (Debian's Prometheus has no kubernetes_sd_configs): the series
/// carry the labels the analysis filters on, and the analysis finds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_pod_relabelling_gives_the_series_the_analysis_reads() {
    let job = rendered_pods_job();
    let (_a, canary) = Traffic::start(Load::of(25, 0.05)).await;
    let (_b, stable) = Traffic::start(Load::of(0, 0.05)).await;
    let discovered = |addr: std::net::SocketAddr, track: &str, version: &str| {
        serde_json::json!({
            // What the pod role discovers: the pod IP with the container
            // port, the annotations and labels of the pod template.
            "targets": [format!("{}:9", addr.ip())],
            "labels": {
                "__meta_kubernetes_namespace": NS,
                "__meta_kubernetes_pod_name": format!("api-gateway-{track}-7d9f"),
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
                "__meta_kubernetes_pod_annotation_prometheus_io_port": addr.port().to_string(),
                "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
                "__meta_kubernetes_pod_label_app": "api-gateway",
                "__meta_kubernetes_pod_label_app_kubernetes_io_name": "api-gateway",
                "__meta_kubernetes_pod_label_app_kubernetes_io_version": version,
                "__meta_kubernetes_pod_label_fintechctl_io_track": track,
            }
        })
    };
    let config = serde_json::json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "kubernetes-pods",
            "static_configs": [discovered(canary, "canary", "1.5.0"), discovered(stable, "stable", "1.4.2")],
            "relabel_configs": job["relabel_configs"],
        }]
    });
    let prom = Prometheus::start_config(&config.to_string()).await;
    prom.wait_until(
        &format!(
            "count_over_time(up{{namespace=\"{NS}\",app=\"api-gateway\",track=\"canary\",version=\"1.5.0\",kubernetes_pod_name=\"api-gateway-canary-7d9f\"}}[1m]) >= 3 and on() count_over_time(up{{track=\"stable\",version=\"1.4.2\"}}[1m]) >= 3"
        ),
        Duration::from_secs(90),
    )
    .await;

    let round = analyse(&spec(&prom.url, &["api-gateway"])).await;
    assert_eq!(round.verdict, Verdict::Fail, "{round:#?}");
    let rate = find(&round, "api-gateway", "error-rate");
    assert!(close(rate.value, 0.25), "{rate:#?}");
    let vs = find(&round, "api-gateway", "error-rate-vs-stable");
    assert_eq!(
        vs.note.as_deref(),
        Some("canary 0.25 − stable 0"),
        "{vs:#?}"
    );
}
