//! `fintechctl health` against kube-sim with real servers behind the
//! port-forward and the service proxy: a real PostgreSQL (initdb + pg_ctl),
//! redis-server and Kafka-protocol broker (tansu), local HTTP services;
//! stopped servers show as down. The stand-in Kafka broker (`common::kafka`)
//! remains for what tansu cannot show or do: the exact requests sent, SASL
//! PLAIN (tansu 0.6.0 offers only SCRAM and OAUTHBEARER) with a refused
//! password, and the SASL_SSL error cases.

use crate::common;

use std::net::SocketAddr;

use common::kafka::Broker;
use common::servers::{self, Mode};
use common::stores::{Postgres, Redis, TestCa, free_port};
use common::tansu::{self, Tansu, TlsFront};
use common::{SECRETS, behaviors_with, cluster, run, text};
use serde_json::Value;

fn secret(name: &str) -> &'static str {
    SECRETS.iter().find(|(k, _)| *k == name).unwrap().1
}

struct Platform {
    c: common::Cluster,
    postgres: Postgres,
    redis: Redis,
    /// The real broker behind the `kafka` pod's 9092 (None: the stand-in).
    kafka: Option<Tansu>,
    /// The stand-in broker there instead ([`KafkaBehind::StandIn`]).
    stand_in: Option<Broker>,
    /// `local` with its monitoring URLs on ports this test owns (nothing
    /// listens there): a developer's own Prometheus on 9090 changes nothing.
    envs: std::path::PathBuf,
}

impl Platform {
    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.c.fintechctl();
        cmd.env("FINTECHCTL_ENVIRONMENTS_DIR", &self.envs);
        cmd
    }
}

/// The embedded `local` with every monitoring URL on a loopback port that
/// was free a moment ago and has nothing listening.
fn local_with_closed_monitoring(dir: &std::path::Path) -> std::path::PathBuf {
    let closed = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let yaml = include_str!("../../environments/local.yaml");
    let mut out = yaml.to_string();
    for url in [
        "http://localhost:9090",
        "http://localhost:3001",
        "http://localhost:16686",
    ] {
        assert!(out.contains(url), "local.yaml changed shape: {url}");
        out = out.replace(url, &format!("http://localhost:{}", closed()));
    }
    let envs = dir.join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(envs.join("local.yaml"), out).unwrap();
    envs
}

/// What answers on the `kafka` pod's port 9092.
#[derive(Clone, Copy, PartialEq)]
enum KafkaBehind {
    /// tansu, no authentication, with the topics documents and predictions.
    Tansu,
    /// tansu with `--authentication` (SASL before anything else, PLAIN not
    /// offered; no topics: its own topic client does not speak SASL).
    TansuSasl,
    /// The stand-in, recording the requests it sees.
    StandIn,
}

async fn platform(ml: Mode) -> Platform {
    platform_with(ml, KafkaBehind::Tansu).await
}

async fn platform_with(ml: Mode, behind: KafkaBehind) -> Platform {
    let (kafka, stand_in) = match behind {
        KafkaBehind::Tansu => (Some(Tansu::start(&["documents", "predictions"])), None),
        KafkaBehind::TansuSasl => (
            Some(Tansu::start_with(tansu::Options {
                authentication: true,
                ..tansu::Options::default()
            })),
            None,
        ),
        KafkaBehind::StandIn => (None, Some(Broker::start(secret("KAFKA_PASSWORD")).await)),
    };
    let kafka_addr = match (&kafka, &stand_in) {
        (Some(t), _) => t.addr,
        (None, Some(b)) => b.addr,
        (None, None) => unreachable!(),
    };
    let postgres = Postgres::start(
        "fintech_ai_user",
        secret("POSTGRES_PASSWORD"),
        "fintech_ai",
        Some("abc123"),
    );
    let redis = Redis::start(secret("REDIS_PASSWORD"));
    let loopback = |port: u16| -> SocketAddr { ([127, 0, 0, 1], port).into() };
    let targets: Vec<(&str, u16, SocketAddr)> = vec![
        ("api-gateway", 8000, servers::http(Mode::Healthy).await),
        ("ml-service", 8001, servers::http(ml).await),
        ("frontend", 3000, servers::http(Mode::Healthy).await),
        ("postgres", 5432, loopback(postgres.port)),
        ("redis", 6379, loopback(redis.port)),
        ("kafka", 9092, kafka_addr),
    ];
    let c = cluster(behaviors_with(
        "",
        "echo ok",
        &servers::ports_yaml(&targets),
    ))
    .await;
    let envs = local_with_closed_monitoring(c.dir.path());
    let mut cmd = c.fintechctl();
    cmd.env("FINTECHCTL_ENVIRONMENTS_DIR", &envs);
    cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "deploy: {}", text(&out).1);
    Platform {
        c,
        postgres,
        redis,
        kafka,
        stand_in,
        envs,
    }
}

async fn health(p: &Platform) -> (Option<i32>, Value, String) {
    let mut cmd = p.cmd();
    cmd.args(["health", "local", "-o", "json", "--check-timeout", "5s"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    for (_, value) in SECRETS {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "a secret leaked"
        );
    }
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}\n{stderr}"));
    (out.status.code(), report, stderr)
}

/// Whether a check's `field` (summary, hint, evidence) holds `text`.
fn says(check: &Value, field: &str, text: &str) -> bool {
    check[field].as_str().unwrap_or("").contains(text)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_platform_is_up_with_real_queries_and_the_report_is_stable() {
    let p = platform(Mode::Healthy).await;
    let (code, report, stderr) = health(&p).await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(report["healthy"], true);
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "pass", "{pg:#}");
    let ev = pg["evidence"].to_string();
    assert!(ev.contains("alembic revision abc123"), "{ev}");
    assert!(ev.contains("SELECT 1 in"), "{ev}");
    assert!(ev.contains("connections used"), "{ev}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "pass", "{redis:#}");
    assert!(redis["evidence"].to_string().contains("role master"));
    assert!(
        redis["evidence"]
            .to_string()
            .contains("of 64.0 MiB maxmemory used")
    );
    assert_eq!(check(&report, "service/api-gateway")["status"], "pass");
    // tansu's answer: its one broker (node 111) advertising kafka:9092, as
    // its own controller, and the two topics the test created.
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "pass", "{kafka:#}");
    assert!(
        kafka["evidence"].to_string().contains(&format!(
            "1 broker(s) ({id} kafka:9092), controller {id}, 2 topic(s)",
            id = tansu::NODE_ID
        )),
        "{kafka:#}"
    );
    insta::with_settings!({filters => vec![
        (r#""elapsed": [0-9.]+"#, r#""elapsed": "[SECS]""#),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[DURATION]"),
        (r#"/tmp/[^`"]+"#, "[TMP]"),
        (r"\d+ of (\d+) connections used \(\d+ %\)", "[N] of $1 connections used ([N] %)"),
        (r"revision abc123, \d+/", "revision abc123, [N]/"),
        (r"\d+(\.\d+)? (B|KiB|MiB) of", "[BYTES] of"),
        (r"\(\d+ %\)", "([N] %)"),
        (r#"GET http://localhost:\d+[^"]*: [^"]*"#, "GET [MONITORING]: [WHY]"),
        (r"http://localhost:\d+ not reachable", "http://localhost:[PORT] not reachable"),
    ]}, {
        insta::assert_json_snapshot!("health_local_healthy", report);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_stores_and_a_503_service_show_as_down() {
    let mut p = platform(Mode::NotReady).await;
    p.redis.stop();
    p.postgres.stop();
    p.kafka.as_mut().unwrap().stop();
    let (code, report, stderr) = health(&p).await;
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["healthy"], false);
    for id in ["postgres", "redis", "kafka", "service/ml-service"] {
        assert_eq!(check(&report, id)["status"], "fail", "{id}: {report:#}");
    }
    assert!(
        check(&report, "service/ml-service")["evidence"]
            .to_string()
            .contains("GET /ready: 503")
    );
    assert_eq!(
        check(&report, "service/api-gateway")["status"],
        "pass",
        "the others are still up"
    );
    assert!(stderr.contains("local is unhealthy:"), "{stderr}");
    assert_eq!(report["checks"][0]["status"], "fail", "worst first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_one_json_document_per_round() {
    let p = platform(Mode::Healthy).await;
    let mut cmd = p.cmd();
    cmd.args([
        "health",
        "local",
        "-o",
        "json",
        "--watch",
        "--interval",
        "300ms",
        "--check-timeout",
        "5s",
    ]);
    let mut capture = std::process::Command::new(assert_cmd::cargo::cargo_bin("fintechctl"));
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => capture.env(k, v),
            None => capture.env_remove(k),
        };
    }
    capture
        .args(cmd.get_args())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = capture.spawn().unwrap();
    let pid = child.id();
    // Two rounds printed, then SIGTERM; the rest is read after it exits.
    let stdout = child.stdout.take().unwrap();
    let (mut lines, reader) = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stdout);
        let mut lines = Vec::new();
        while lines.len() < 2 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line);
        }
        (lines, reader)
    })
    .await
    .unwrap();
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // SAFETY: signalling our own child by its pid.
    unsafe { kill(pid as i32, 15) };
    let (status, rest) = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let rest: Vec<String> = reader.lines().map_while(Result::ok).collect();
        (child.wait().unwrap(), rest)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130), "SIGTERM ends the watch");
    lines.extend(rest);
    let stdout = lines.concat();
    let rounds: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rounds.len() >= 2, "{stdout}");
    assert_eq!(rounds[0]["round"], 1);
    assert_eq!(rounds[1]["round"], 2);
    assert!(rounds.iter().all(|r| r["healthy"] == true));
}

/// The benchmark: `health`'s wall time on a healthy simulated cluster (real
/// PostgreSQL and Redis behind the port-forward, local HTTP services behind
/// the service proxy), 7 runs of the binary, median / min / max printed.
/// Ignored by default: `cargo nextest run --test it -E 'test(/^health::/)' --run-ignored only --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn bench_health_wall_time_on_a_healthy_cluster() {
    let p = platform(Mode::Healthy).await;
    // Monitoring URLs that refuse at once (nothing listens), as on a laptop
    // without port-forwards to Grafana and Jaeger.
    let mut times = Vec::new();
    for _ in 0..7 {
        let mut cmd = p.cmd();
        cmd.args(["health", "local", "-o", "json"]);
        let started = std::time::Instant::now();
        let out = run(cmd).await;
        times.push(started.elapsed());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    }
    times.sort();
    println!(
        "health local (healthy, 7 runs): median {:?}, min {:?}, max {:?}",
        times[3], times[0], times[6]
    );
    // The target is one screen in under 2 s; a number, not an assertion
    // (these machines are shared and noisy).
    println!(
        "target: median under 2s: {}",
        if times[3] < std::time::Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// `local` with Kafka's SASL PLAIN user `fintech` (the password is the
/// cluster's Secret), in a directory for `--environments-dir`.
fn local_with_kafka_sasl() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let local = include_str!("../../environments/local.yaml").replace(
        "    bootstrapServers: kafka:9092\n",
        "    bootstrapServers: kafka:9092\n    username: fintech\n    saslMechanism: PLAIN\n",
    );
    assert!(
        local.contains("saslMechanism: PLAIN"),
        "local.yaml changed shape"
    );
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    dir
}

/// `health local -o json` with the environments in `dir`.
async fn health_from(p: &Platform, dir: &std::path::Path) -> (Option<i32>, Value, String) {
    let mut cmd = p.cmd();
    cmd.args([
        "health",
        "local",
        "-o",
        "json",
        "--check-timeout",
        "5s",
        "--environments-dir",
    ])
    .arg(dir);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}\n{stderr}"));
    (out.status.code(), report, stderr)
}

/// A real broker requiring SASL (tansu `--authentication`) closes the
/// connection on a request before SASL, and on SASL PLAIN: tansu 0.6.0 is
/// built without rsasl's PLAIN (it offers SCRAM-SHA-256/512 and OAUTHBEARER)
/// and drops the connection instead of answering UnsupportedSaslMechanism.
/// Either way the check fails, naming the request. PLAIN that succeeds, and
/// a refused password, are the stand-in's
/// (`kafka_requests_on_the_wire_are_metadata_v4_after_sasl_v1_v0`,
/// `a_managed_kafka_is_asked_over_sasl_ssl`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_broker_requiring_sasl_without_plain_fails_the_check() {
    let p = platform_with(Mode::Healthy, KafkaBehind::TansuSasl).await;
    let tansu = p.kafka.as_ref().unwrap();

    // Without SASL configured: Metadata first, which it refuses.
    let (code, report, _) = health(&p).await;
    assert_eq!(code, Some(1), "{report:#}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "fail", "{kafka:#}");
    assert!(
        says(kafka, "summary", "reading the Metadata response"),
        "{kafka:#}\n{}",
        tansu.log_tail()
    );

    // SASL PLAIN configured: the handshake is where it ends.
    let dir = local_with_kafka_sasl();
    let (code, report, _) = health_from(&p, dir.path()).await;
    assert_eq!(code, Some(1), "{report:#}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "fail", "{kafka:#}");
    assert!(
        says(kafka, "summary", "reading the SaslHandshake response"),
        "{kafka:#}\n{}",
        tansu.log_tail()
    );
    assert_eq!(
        check(&report, "redis")["status"],
        "pass",
        "others unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_requests_on_the_wire_are_metadata_v4_after_sasl_v1_v0() {
    let p = platform_with(Mode::Healthy, KafkaBehind::StandIn).await;
    let broker = p.stand_in.as_ref().unwrap();
    let (code, report, stderr) = health(&p).await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let kafka = check(&report, "kafka");
    assert!(
        kafka["evidence"]
            .to_string()
            .contains("1 broker(s) (1 kafka:9092), controller 1, 2 topic(s)"),
        "{kafka:#}"
    );
    assert_eq!(broker.seen(), vec!["Metadata v4 all topics=true"]);

    broker.seen.0.lock().unwrap().clear();
    let dir = local_with_kafka_sasl();
    let (code, report, stderr) = health_from(&p, dir.path()).await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "pass", "{kafka:#}");
    assert!(
        kafka["evidence"]
            .to_string()
            .contains("SASL PLAIN authenticated")
    );
    assert_eq!(
        broker.seen(),
        vec![
            "SaslHandshake v1 PLAIN",
            "SaslAuthenticate v0 user=fintech ok=true",
            "Metadata v4 all topics=true"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_store_out_of_reach_is_said_plainly_and_fails_nothing_else() {
    let p = platform(Mode::Healthy).await;
    // PostgreSQL "managed" at a loopback port nothing listens on: what an
    // Azure database behind its firewall looks like from a laptop.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let original = include_str!("../../environments/local.yaml");
    let (start, end) = (
        original.find("  postgres:\n").unwrap(),
        original.find("  redis:\n").unwrap(),
    );
    let local = format!(
        "{}  postgres:\n    placement: managed\n    host: 127.0.0.1\n    port: {closed}\n    database: fintech_ai\n    user: fintech_ai_user\n    sslMode: disable\n{}",
        &original[..start],
        &original[end..]
    );
    assert!(local.contains("placement: managed"));
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    let mut cmd = p.cmd();
    cmd.args([
        "health",
        "local",
        "-o",
        "json",
        "--check-timeout",
        "5s",
        "--environments-dir",
    ])
    .arg(dir.path());
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a store out of reach is not a failure: {stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "warn", "{pg:#}");
    assert_eq!(
        pg["summary"],
        format!("127.0.0.1:{closed} not reachable from here")
    );
    assert_eq!(check(&report, "redis")["status"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_screen_lists_what_is_down_first_with_its_evidence() {
    let mut p = platform(Mode::Healthy).await;
    p.redis.stop();
    let mut cmd = p.cmd();
    cmd.args(["health", "local", "--check-timeout", "5s"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("WHAT") && lines[0].contains("STATE"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("redis") && lines[1].contains("DOWN"),
        "worst first:\n{stdout}"
    );
    assert!(
        stdout.contains("\nredis:\n  • pod redis-0:6379 (port-forward):"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error: local is unhealthy: redis"),
        "{stderr}"
    );
}

/// `local` with PostgreSQL "managed" at 127.0.0.1:`port` with `ssl_mode`.
fn managed_postgres_env(port: u16, ssl_mode: &str) -> tempfile::TempDir {
    let original = include_str!("../../environments/local.yaml");
    let (start, end) = (
        original.find("  postgres:\n").unwrap(),
        original.find("  redis:\n").unwrap(),
    );
    let local = format!(
        "{}  postgres:\n    placement: managed\n    host: 127.0.0.1\n    port: {port}\n    database: fintech_ai\n    user: fintech_ai_user\n    sslMode: {ssl_mode}\n{}",
        &original[..start],
        &original[end..]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_postgres_is_queried_over_tls_as_its_ssl_mode_says() {
    let p = platform(Mode::Healthy).await;
    let tls = Postgres::start_with(
        "fintech_ai_user",
        secret("POSTGRES_PASSWORD"),
        "fintech_ai",
        Some("def456"),
        true,
    );
    let health_with = |dir: &tempfile::TempDir| {
        let mut cmd = p.cmd();
        cmd.args([
            "health",
            "local",
            "-o",
            "json",
            "--check-timeout",
            "5s",
            "--environments-dir",
        ])
        .arg(dir.path());
        cmd
    };
    // require: encrypted, the certificate not checked (libpq's meaning).
    let dir = managed_postgres_env(tls.port, "require");
    let out = run(health_with(&dir)).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "pass", "{pg:#}");
    let ev = pg["evidence"].to_string();
    assert!(ev.contains("over TLS (sslMode require)"), "{ev}");
    assert!(ev.contains("alembic revision def456"), "{ev}");
    // verify-full: a self-signed certificate is refused.
    let dir = managed_postgres_env(tls.port, "verify-full");
    let out = run(health_with(&dir)).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "fail", "{pg:#}");
    assert!(
        pg["summary"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{pg:#}"
    );
}

/// `local` with the `data.<store>` section (up to the next one) replaced by `yaml`.
fn env_with_store(store: &str, next: &str, yaml: &str) -> tempfile::TempDir {
    let original = include_str!("../../environments/local.yaml");
    let (start, end) = (
        original.find(&format!("  {store}:\n")).unwrap(),
        original.find(next).unwrap(),
    );
    let local = format!("{}{yaml}{}", &original[..start], &original[end..]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.yaml"), local).unwrap();
    dir
}

/// Redis "managed" (TLS only, as Azure Cache for Redis) at `host`:`port`.
fn managed_redis_env(host: &str, port: u16) -> tempfile::TempDir {
    env_with_store(
        "redis",
        "  kafka:\n",
        &format!(
            "  redis:\n    placement: managed\n    host: {host}\n    port: {port}\n    tls: true\n"
        ),
    )
}

/// Kafka "managed" (SASL_SSL with PLAIN, as Event Hubs) at `host`:`port`.
fn managed_kafka_env(host: &str, port: u16) -> tempfile::TempDir {
    env_with_store(
        "kafka",
        "backup:\n",
        &format!(
            "  kafka:\n    placement: managed\n    bootstrapServers: {host}:{port}\n    username: $ConnectionString\n    saslMechanism: PLAIN\n"
        ),
    )
}

/// `health` with the environments in `dir`, trusting the roots in
/// `ca_file` (SSL_CERT_FILE) when given; no test password in the output.
async fn health_in(
    c: &common::Cluster,
    dir: &tempfile::TempDir,
    ca_file: Option<&std::path::Path>,
    check_timeout: &str,
) -> (Option<i32>, Value, String) {
    let mut cmd = c.fintechctl();
    cmd.args([
        "health",
        "local",
        "-o",
        "json",
        "--check-timeout",
        check_timeout,
        "--environments-dir",
    ])
    .arg(dir.path());
    cmd.env_remove("SSL_CERT_DIR");
    match ca_file {
        Some(file) => cmd.env("SSL_CERT_FILE", file),
        None => cmd.env_remove("SSL_CERT_FILE"),
    };
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    for value in SECRETS.iter().map(|(_, v)| *v).chain([OTHER_PASSWORD]) {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "a secret leaked:\n{stdout}\n{stderr}"
        );
    }
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}\n{stderr}"));
    (out.status.code(), report, stderr)
}

/// A password the stores are given that fintechctl does not know.
const OTHER_PASSWORD: &str = "test-only-other-0009";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_redis_is_asked_over_tls_with_its_certificate_verified() {
    let p = platform(Mode::Healthy).await;
    let ca = TestCa::new("fintechctl test CA");
    let leaf = ca.leaf(&["localhost"]);
    let managed = Redis::start_tls(secret("REDIS_PASSWORD"), &leaf, &ca);

    // Trusted, for the host asked: PING and INFO over TLS.
    let dir = managed_redis_env("localhost", managed.port);
    let (code, report, stderr) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "pass", "{redis:#}");
    let ev = redis["evidence"].to_string();
    assert!(ev.contains("certificate verified for localhost"), "{ev}");
    assert!(ev.contains("PONG in") && ev.contains("over TLS"), "{ev}");
    assert!(ev.contains("role master"), "{ev}");
    assert!(ev.contains("of 64.0 MiB maxmemory used"), "{ev}");
    assert!(says(redis, "summary", ", TLS), master"), "{redis:#}");

    // A certificate from the trusted CA that names another host.
    let elsewhere = Redis::start_tls(
        secret("REDIS_PASSWORD"),
        &ca.leaf(&["redis.example.net"]),
        &ca,
    );
    let dir = managed_redis_env("localhost", elsewhere.port);
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "fail", "{redis:#}");
    assert!(
        says(
            redis,
            "summary",
            "certificate does not cover host localhost (it is for redis.example.net)"
        ),
        "{redis:#}"
    );
    assert!(
        redis["hint"]
            .as_str()
            .unwrap_or("")
            .contains("SSL_CERT_FILE"),
        "{redis:#}"
    );
    assert_eq!(
        check(&report, "postgres")["status"],
        "pass",
        "others unaffected"
    );

    // Signed by a CA this machine does not trust.
    let stranger = TestCa::new("some other CA");
    let dir = managed_redis_env("localhost", managed.port);
    let (code, report, _) = health_in(&p.c, &dir, Some(&stranger.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "fail", "{redis:#}");
    assert!(
        says(redis, "summary", "certificate for localhost is not trusted"),
        "{redis:#}"
    );
    assert_eq!(
        check(&report, "kafka")["status"],
        "pass",
        "others unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_redis_with_another_password_out_of_reach_or_silent_is_said_plainly() {
    let p = platform(Mode::Healthy).await;
    let ca = TestCa::new("fintechctl test CA");
    let leaf = ca.leaf(&["localhost"]);
    let managed = Redis::start_tls(OTHER_PASSWORD, &leaf, &ca);

    // The password fintechctl has (the cluster's Secret) is not this one.
    let dir = managed_redis_env("localhost", managed.port);
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "fail", "{redis:#}");
    let summary = redis["summary"].as_str().unwrap();
    assert!(summary.contains("authentication refused"), "{redis:#}");
    assert!(
        redis["hint"]
            .as_str()
            .unwrap_or("")
            .contains("redis-password"),
        "{redis:#}"
    );

    // A plain (non-TLS) Redis where TLS is expected (it waits for a line
    // that a ClientHello never ends): said plainly.
    let dir = managed_redis_env("localhost", p.redis.port);
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "2s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "fail", "{redis:#}");
    assert!(
        says(redis, "summary", "is this port the store's TLS port?"),
        "{redis:#}"
    );

    // Nothing listens: not reachable from here, a warning.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = managed_redis_env("localhost", closed);
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(0), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "warn", "{redis:#}");
    assert_eq!(
        redis["summary"],
        format!("localhost:{closed} not reachable from here")
    );

    // Accepts the connection but never answers the handshake: bounded by
    // --check-timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = managed_redis_env("localhost", port);
    let started = std::time::Instant::now();
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "1s").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1), "{report:#}");
    let redis = check(&report, "redis");
    assert_eq!(redis["status"], "fail", "{redis:#}");
    assert!(
        says(
            redis,
            "summary",
            "no TLS handshake from localhost within 1s"
        ),
        "{redis:#}"
    );
    drop(silent);
}

/// SASL_SSL as Event Hubs, on the stand-in: the one place a successful
/// SASL PLAIN over TLS can be shown (tansu 0.6.0 offers no PLAIN and serves
/// no TLS), and the error cases a real broker cannot be made to produce or
/// show: a refused password, nothing sent to an untrusted certificate, a
/// listener that never answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_kafka_is_asked_over_sasl_ssl() {
    let p = platform(Mode::Healthy).await;
    let ca = TestCa::new("fintechctl test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let broker = Broker::start_tls(secret("KAFKA_PASSWORD"), &leaf).await;
    let dir = managed_kafka_env("localhost", broker.addr.port());
    let (code, report, stderr) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "pass", "{kafka:#}");
    let ev = kafka["evidence"].to_string();
    assert!(ev.contains("certificate verified for localhost"), "{ev}");
    assert!(ev.contains("SASL PLAIN authenticated"), "{ev}");
    assert!(
        ev.contains("1 broker(s) (1 kafka:9092), controller 1, 2 topic(s)"),
        "{ev}"
    );
    assert_eq!(
        broker.seen(),
        vec![
            "SaslHandshake v1 PLAIN",
            "SaslAuthenticate v0 user=$ConnectionString ok=true",
            "Metadata v4 all topics=true"
        ]
    );

    // The broker takes another password: the SASL error, no password.
    let other = Broker::start_tls(OTHER_PASSWORD, &leaf).await;
    let dir = managed_kafka_env("localhost", other.addr.port());
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "fail", "{kafka:#}");
    assert!(
        says(kafka, "summary", "SASL authentication failed (error 58)"),
        "{kafka:#}"
    );
    assert!(
        kafka["hint"]
            .as_str()
            .unwrap_or("")
            .contains("kafka-password"),
        "{kafka:#}"
    );
    assert_eq!(
        check(&report, "redis")["status"],
        "pass",
        "others unaffected"
    );

    // Its certificate is not trusted here: no SASL exchange at all.
    let stranger = TestCa::new("some other CA");
    let before = broker.seen().len();
    let dir = managed_kafka_env("localhost", broker.addr.port());
    let (code, report, _) = health_in(&p.c, &dir, Some(&stranger.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let kafka = check(&report, "kafka");
    assert!(
        says(kafka, "summary", "certificate for localhost is not trusted"),
        "{kafka:#}"
    );
    assert_eq!(broker.seen().len(), before, "nothing sent before the check");

    // A listener that never answers the handshake: --check-timeout bounds
    // connect, handshake and exchange together.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = managed_kafka_env("localhost", silent.local_addr().unwrap().port());
    let started = std::time::Instant::now();
    let (code, report, _) = health_in(&p.c, &dir, Some(&ca.file), "1s").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1), "{report:#}");
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "fail", "{kafka:#}");
    assert!(
        says(
            kafka,
            "summary",
            "no TLS handshake from localhost within 1s"
        ),
        "{kafka:#}"
    );
    drop(silent);
}

/// A managed Kafka over TLS without SASL: a real broker (tansu, advertising
/// its TLS address, with two topics) behind a TLS listener with a
/// certificate from the test CA. tansu 0.6.0 takes `--cert`/`--key` but
/// never serves TLS (see [`TlsFront`]), and offers no SASL PLAIN, so
/// SASL_SSL itself is the stand-in's (`a_managed_kafka_is_asked_over_sasl_ssl`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_kafka_over_tls_answers_with_the_real_brokers_metadata() {
    let p = platform(Mode::Healthy).await;
    let ca = TestCa::new("fintechctl test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let port = free_port();
    let advertised = format!("localhost:{port}");
    let broker = Tansu::start_with(tansu::Options {
        advertised: Some(&advertised),
        topics: &["documents", "predictions"],
        ..tansu::Options::default()
    });
    let _front = TlsFront::start(port, &leaf, broker.addr).await;
    let dir = env_with_store(
        "kafka",
        "backup:\n",
        &format!("  kafka:\n    placement: managed\n    bootstrapServers: localhost:{port}\n"),
    );
    let (code, report, stderr) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}\n{}", broker.log_tail());
    let kafka = check(&report, "kafka");
    assert_eq!(kafka["status"], "pass", "{kafka:#}");
    let ev = kafka["evidence"].to_string();
    assert!(ev.contains("certificate verified for localhost"), "{ev}");
    assert!(!ev.contains("SASL"), "{ev}");
    assert!(
        ev.contains(&format!(
            "1 broker(s) ({id} localhost:{port}), controller {id}, 2 topic(s)",
            id = tansu::NODE_ID
        )),
        "{ev}"
    );
    assert!(
        says(kafka, "summary", ", TLS), 1 broker(s), 2 topic(s)"),
        "{kafka:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_postgres_with_verify_full_trusts_a_ca_from_ssl_cert_file() {
    let p = platform(Mode::Healthy).await;
    let ca = TestCa::new("fintechctl test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let tls = Postgres::start_tls(
        "fintech_ai_user",
        secret("POSTGRES_PASSWORD"),
        "fintech_ai",
        Some("def456"),
        Some(Some(&leaf)),
    );
    let dir = env_with_store(
        "postgres",
        "  redis:\n",
        &format!(
            "  postgres:\n    placement: managed\n    host: localhost\n    port: {}\n    database: fintech_ai\n    user: fintech_ai_user\n    sslMode: verify-full\n",
            tls.port
        ),
    );
    let (code, report, stderr) = health_in(&p.c, &dir, Some(&ca.file), "5s").await;
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "pass", "{pg:#}");
    assert!(
        pg["evidence"]
            .to_string()
            .contains("over TLS (sslMode verify-full)"),
        "{pg:#}"
    );
    // Another CA: the certificate is not trusted, said plainly.
    let stranger = TestCa::new("some other CA");
    let (code, report, _) = health_in(&p.c, &dir, Some(&stranger.file), "5s").await;
    assert_eq!(code, Some(1), "{report:#}");
    let pg = check(&report, "postgres");
    assert_eq!(pg["status"], "fail", "{pg:#}");
    assert!(
        says(pg, "summary", "certificate for localhost is not trusted"),
        "{pg:#}"
    );
    assert!(
        pg["hint"].as_str().unwrap_or("").contains("SSL_CERT_FILE"),
        "{pg:#}"
    );
}

fn tmux(socket: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux is missing: .ci/install.d/40-tmux.sh installs it (apt-get install tmux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--watch` on a terminal redraws one screen in place: after several
/// rounds the terminal shows the newest round once, not a scroll of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_terminal_redraws_the_screen_in_place() {
    let p = platform(Mode::Healthy).await;
    let socket = p.c.dir.path().join("tmux.sock");
    let cmd = p.cmd();
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    // The test's command line, typed into a shell on a 160x60 terminal
    // (NO_COLOR and CI left out: they would turn the terminal mode off).
    let mut line = String::from("env -u NO_COLOR -u CI");
    for (k, v) in cmd.get_envs() {
        let k = k.to_string_lossy();
        if let Some(v) = v
            && k != "NO_COLOR"
            && k != "CI"
        {
            line.push_str(&format!(" {}={}", k, quote(&v.to_string_lossy())));
        }
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
    line.push_str(" health local --watch --interval 1s");
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "health",
            "-x",
            "160",
            "-y",
            "60",
            "sh",
            "-c",
            &line,
        ],
    );
    let mut screen = String::new();
    for _ in 0..300 {
        screen = tmux(&socket, &["capture-pane", "-p", "-t", "health"]);
        if screen.contains("local round 3 ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tmux(&socket, &["kill-server"]);
    assert!(
        screen.contains("local round 3 "),
        "no third round:\n{screen}"
    );
    assert_eq!(
        screen.matches(" round ").count(),
        1,
        "one screen, redrawn:\n{screen}"
    );
    assert!(!screen.contains("local round 1 "), "{screen}");
    assert!(screen.contains("postgres"), "{screen}");
}
