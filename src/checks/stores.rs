//! The data stores as the application reaches them. In-cluster StatefulSets
//! are reached through a port-forward to their pod (kube-rs's websocket
//! port-forward behind a loopback listener, as `kubectl port-forward`
//! does), then asked with their native clients — a query, not a TCP
//! connect: tokio-postgres (`SELECT 1`, the alembic revision, connections
//! against `max_connections`) and the redis crate (`PING`, memory against
//! `maxmemory`, role). Managed stores are tried directly; when they cannot
//! be reached from this machine the check says so instead of failing.
//! Stores that speak TLS only (Azure Cache for Redis on 6380, the Event Hubs
//! Kafka endpoint on 9093) are asked over a tokio-rustls session whose
//! certificate is verified ([`super::storetls`]): Redis with a few RESP
//! commands ([`super::resp`]), Kafka with the same SASL PLAIN and Metadata
//! exchange as in-cluster ([`super::kafka::metadata`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::TcpListener;

use super::{CheckResult, Findings, Status};

/// Connections used at or above this share of `max_connections` warn.
pub const CONNECTIONS_WARN: f64 = 0.8;
/// Memory used at or above this share of `maxmemory` warns.
pub const MEMORY_WARN: f64 = 0.9;

/// A loopback port whose connections are forwarded to `pod`:`port`; the
/// forwarding ends when the returned task is aborted.
pub async fn forward(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding a loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pod.to_string();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let api = api.clone();
            let pod = pod.clone();
            tokio::spawn(async move {
                let Ok(mut forwarder) = api.portforward(&pod, &[port]).await else {
                    return;
                };
                let Some(mut upstream) = forwarder.take_stream(port) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                drop(upstream);
                let _ = forwarder.join().await;
            });
        }
    });
    Ok((addr, task))
}

/// Where a store is asked.
#[derive(Debug, Clone)]
pub enum Route {
    /// Through a port-forward to this pod (in-cluster).
    Pod { pod: String, port: u16 },
    /// Directly (a managed service).
    Direct { host: String, port: u16 },
}

impl Route {
    pub fn describe(&self) -> String {
        match self {
            Route::Pod { pod, port } => format!("pod {pod}:{port} (port-forward)"),
            Route::Direct { host, port } => format!("{host}:{port}"),
        }
    }
}

/// Opens the route: a loopback address to connect to (and the forwarding
/// task to stop afterwards), or why not. A managed store that cannot be
/// reached gives `Err(None)`: "not reachable from here".
async fn open(
    client: &kube::Client,
    namespace: &str,
    route: &Route,
    deadline: Duration,
) -> Result<(String, u16, Option<tokio::task::JoinHandle<()>>), Option<String>> {
    match route {
        Route::Pod { pod, port } => {
            let (addr, task) = forward(client, namespace, pod, *port).await.map_err(Some)?;
            Ok((addr.ip().to_string(), addr.port(), Some(task)))
        }
        Route::Direct { host, port } => {
            let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
            match tokio::time::timeout(deadline, connect).await {
                Ok(Ok(_)) => Ok((host.clone(), *port, None)),
                _ => Err(None),
            }
        }
    }
}

/// A TCP connection along the route (through the port-forward for a pod),
/// for the stores asked over TLS; the forwarding task to stop afterwards.
/// A managed store that cannot be reached gives `Err(None)`, as [`open`].
async fn open_stream(
    client: &kube::Client,
    namespace: &str,
    route: &Route,
    deadline: Duration,
) -> Result<(tokio::net::TcpStream, Option<tokio::task::JoinHandle<()>>), Option<String>> {
    let (host, port, task) = match route {
        Route::Pod { pod, port } => {
            let (addr, task) = forward(client, namespace, pod, *port).await.map_err(Some)?;
            (addr.ip().to_string(), addr.port(), Some(task))
        }
        Route::Direct { host, port } => (host.clone(), *port, None),
    };
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(deadline, connect).await {
        Ok(Ok(stream)) => Ok((stream, task)),
        _ if task.is_none() => Err(None),
        outcome => {
            if let Some(t) = task {
                t.abort();
            }
            Err(Some(match outcome {
                Ok(Err(e)) => format!("connecting through the port-forward: {e}"),
                _ => format!(
                    "no connection through the port-forward within {}",
                    crate::human::duration(deadline)
                ),
            }))
        }
    }
}

/// The hint for a store that answered but failed: the certificate, the
/// managed service's key, or the pod's logs.
fn failure_hint(
    why: &str,
    route: &Route,
    host: &str,
    pod_hint: &str,
    managed_hint: &str,
) -> String {
    if super::storetls::is_certificate_problem(why) {
        format!(
            "the certificate must name {host} and chain to a root this machine trusts; for a private CA, point SSL_CERT_FILE at a PEM bundle that holds it (it replaces the system's roots)"
        )
    } else if matches!(route, Route::Direct { .. }) {
        managed_hint.to_string()
    } else {
        pod_hint.to_string()
    }
}

/// Why [`open`] / [`open_stream`] gave no connection, as the check's
/// result: a managed store out of reach warns, anything else fails.
fn not_opened(id: &str, route: &Route, why: Option<String>) -> CheckResult {
    match why {
        None => unreachable_from_here(id, route),
        Some(why) => CheckResult::failed(id, format!("{}: {why}", route.describe()), None),
    }
}

fn unreachable_from_here(id: &str, route: &Route) -> CheckResult {
    CheckResult {
        evidence: vec![format!("{}: no connection from this machine", route.describe())],
        ..CheckResult::warned(
            id,
            format!("{} not reachable from here", route.describe()),
            Some("managed stores often accept only the cluster's network: check from a pod (`fintechctl debug shell ENV api-gateway`), or allow this address in the store's firewall".into()),
        )
    }
}

/// PostgreSQL credentials and database.
#[derive(Debug, Clone)]
pub struct PostgresTarget {
    pub route: Route,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    /// libpq's `sslMode`: `disable`, `require` (encrypted), `verify-ca` /
    /// `verify-full` (the certificate checked too).
    pub ssl_mode: String,
    /// The host the certificate must cover (the environment's `host`).
    pub server_name: String,
}

/// The `postgres` health check.
pub async fn postgres(
    client: &kube::Client,
    namespace: &str,
    target: &PostgresTarget,
    deadline: Duration,
) -> CheckResult {
    let started = Instant::now();
    let (host, port, task) = match open(client, namespace, &target.route, deadline).await {
        Ok(opened) => opened,
        Err(why) => return not_opened("postgres", &target.route, why),
    };
    let result =
        tokio::time::timeout(deadline, postgres_queries(&host, port, target, deadline)).await;
    if let Some(t) = task {
        t.abort();
    }
    let mut f = Findings::default();
    let summary = match result {
        Err(_) => {
            f.fail(format!(
                "{}: no answer within {}",
                target.route.describe(),
                crate::human::duration(deadline)
            ));
            format!("no answer within {}", crate::human::duration(deadline))
        }
        Ok(Err(e)) => {
            f.fail(format!("{}: {e}", target.route.describe()));
            f.hint(failure_hint(
                &e,
                &target.route,
                &target.server_name,
                "`fintechctl debug logs ENV postgres`, and the password in Secret fintech-ai-secrets (postgres-password)",
                "the password in Secret fintech-ai-secrets (postgres-password), and the server's firewall and `sslMode`",
            ));
            format!("down: {e}")
        }
        Ok(Ok(facts)) => {
            f.pass(format!(
                "SELECT 1 in {} as {} on {}{}",
                crate::human::duration(facts.latency),
                target.user,
                target.database,
                match facts.tls {
                    Some(true) => format!(", over TLS (sslMode {})", target.ssl_mode),
                    Some(false) => ", not encrypted".to_string(),
                    None => String::new(),
                }
            ));
            match &facts.alembic {
                Some(rev) => f.pass(format!("alembic revision {rev}")),
                None => {
                    f.warn("no alembic_version table: the migrations never ran");
                    f.hint("`fintechctl migrate ENV` runs them");
                }
            }
            let share = facts.connections as f64 / facts.max_connections.max(1) as f64;
            let line = format!(
                "{} of {} connections used ({:.0} %)",
                facts.connections,
                facts.max_connections,
                share * 100.0
            );
            if share >= CONNECTIONS_WARN {
                f.warn(line);
                f.hint("close to max_connections new clients are refused: a connection pool (PgBouncer) or a higher limit");
            } else {
                f.pass(line);
            }
            format!(
                "up ({}), revision {}, {}/{} connections",
                crate::human::duration(facts.latency),
                facts.alembic.as_deref().unwrap_or("none"),
                facts.connections,
                facts.max_connections
            )
        }
    };
    let mut r = f.finish_as("postgres", summary);
    r.elapsed = started.elapsed();
    r
}

struct PostgresFacts {
    latency: Duration,
    /// `pg_stat_ssl.ssl` of this connection (`None`: not readable).
    tls: Option<bool>,
    alembic: Option<String>,
    connections: i64,
    max_connections: i64,
}

async fn postgres_queries(
    host: &str,
    port: u16,
    target: &PostgresTarget,
    deadline: Duration,
) -> Result<PostgresFacts, String> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(host)
        .port(port)
        .user(&target.user)
        .dbname(&target.database)
        .application_name("fintechctl-health")
        .connect_timeout(deadline);
    if let Some(p) = &target.password {
        config.password(p);
    }
    let started = Instant::now();
    let client = if target.ssl_mode == "disable" {
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| describe_pg(&e))?;
        tokio::spawn(connection);
        client
    } else {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
        let tls = super::pgtls::Rustls::for_mode(&target.ssl_mode)?;
        let (client, connection) = config.connect(tls).await.map_err(|e| describe_pg(&e))?;
        tokio::spawn(connection);
        client
    };
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .map_err(|e| describe_pg(&e))?
        .get(0);
    let latency = started.elapsed();
    if one != 1 {
        return Err(format!("SELECT 1 returned {one}"));
    }
    let alembic = match client
        .query_opt("SELECT version_num FROM alembic_version LIMIT 1", &[])
        .await
    {
        Ok(row) => row.map(|r| r.get::<_, String>(0)),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => None,
        Err(e) => return Err(describe_pg(&e)),
    };
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_stat_activity), current_setting('max_connections')::bigint",
            &[],
        )
        .await
        .map_err(|e| describe_pg(&e))?;
    let tls = client
        .query_opt(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get::<_, bool>(0));
    Ok(PostgresFacts {
        tls,
        latency,
        alembic,
        connections: row.get(0),
        max_connections: row.get(1),
    })
}

fn describe_pg(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut text = e.to_string();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".into();
        }
        text = c.to_string();
        cause = c.source();
    }
    text
}

/// Redis credentials.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    pub route: Route,
    pub password: Option<String>,
    /// Managed Redis speaks TLS only (6380).
    pub tls: bool,
    /// The host the certificate must cover (the environment's `host`).
    pub server_name: String,
}

/// The `redis` health check.
pub async fn redis(
    client: &kube::Client,
    namespace: &str,
    target: &RedisTarget,
    deadline: Duration,
) -> CheckResult {
    let started = Instant::now();
    let result = if target.tls {
        let (stream, task) = match open_stream(client, namespace, &target.route, deadline).await {
            Ok(opened) => opened,
            Err(why) => return not_opened("redis", &target.route, why),
        };
        // Connect, handshake and commands within the one deadline.
        let until = tokio::time::Instant::from_std(started) + deadline;
        let result = tokio::time::timeout_at(
            until,
            redis_over_tls(stream, target, started, until, deadline),
        )
        .await;
        if let Some(t) = task {
            t.abort();
        }
        result
    } else {
        let (host, port, task) = match open(client, namespace, &target.route, deadline).await {
            Ok(opened) => opened,
            Err(why) => return not_opened("redis", &target.route, why),
        };
        let result = tokio::time::timeout(deadline, redis_queries(&host, port, target)).await;
        if let Some(t) = task {
            t.abort();
        }
        result
    };
    let mut f = Findings::default();
    let summary = match result {
        Err(_) => {
            f.fail(format!(
                "{}: no answer within {}",
                target.route.describe(),
                crate::human::duration(deadline)
            ));
            format!("no answer within {}", crate::human::duration(deadline))
        }
        Ok(Err(e)) => {
            f.fail(format!("{}: {e}", target.route.describe()));
            f.hint(failure_hint(
                &e,
                &target.route,
                &target.server_name,
                "`fintechctl debug logs ENV redis`, and the password in Secret fintech-ai-secrets (redis-password)",
                "the access key in Secret fintech-ai-secrets (redis-password) against the cache's keys (`az redis list-keys`)",
            ));
            format!("down: {e}")
        }
        Ok(Ok(facts)) => {
            match &facts.tls {
                Some(line) => {
                    f.pass(line.clone());
                    f.pass(format!(
                        "PONG in {} over TLS",
                        crate::human::duration(facts.latency)
                    ));
                }
                None => f.pass(format!("PONG in {}", crate::human::duration(facts.latency))),
            }
            f.pass(format!("role {}", facts.role));
            let memory = if facts.maxmemory == 0 {
                f.pass(format!(
                    "{} used, no maxmemory",
                    crate::human::bytes(facts.used_memory)
                ));
                format!("{} used", crate::human::bytes(facts.used_memory))
            } else {
                let share = facts.used_memory as f64 / facts.maxmemory as f64;
                let line = format!(
                    "{} of {} maxmemory used ({:.0} %)",
                    crate::human::bytes(facts.used_memory),
                    crate::human::bytes(facts.maxmemory),
                    share * 100.0
                );
                if share >= MEMORY_WARN {
                    f.warn(line.clone());
                    f.hint("at maxmemory Redis evicts keys or refuses writes (maxmemory-policy)");
                } else {
                    f.pass(line.clone());
                }
                line
            };
            format!(
                "up ({}{}), {}, {memory}",
                crate::human::duration(facts.latency),
                if facts.tls.is_some() { ", TLS" } else { "" },
                facts.role
            )
        }
    };
    let mut r = f.finish_as("redis", summary);
    r.elapsed = started.elapsed();
    r
}

struct RedisFacts {
    latency: Duration,
    /// What the TLS handshake verified (`None`: not encrypted).
    tls: Option<String>,
    role: String,
    used_memory: u64,
    maxmemory: u64,
}

impl RedisFacts {
    fn from_info(latency: Duration, tls: Option<String>, memory: &str, replication: &str) -> Self {
        RedisFacts {
            latency,
            tls,
            role: info_field(replication, "role").unwrap_or_else(|| "unknown".into()),
            used_memory: info_field(memory, "used_memory")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            maxmemory: info_field(memory, "maxmemory")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }
    }
}

/// TLS (verified for `target.server_name`), then AUTH, PING, INFO in RESP;
/// the latency counts from `started` (the TCP connect) to PONG.
async fn redis_over_tls(
    stream: tokio::net::TcpStream,
    target: &RedisTarget,
    started: Instant,
    until: tokio::time::Instant,
    deadline: Duration,
) -> Result<RedisFacts, String> {
    let (tls, verified) =
        super::storetls::connect_by(stream, &target.server_name, until, deadline).await?;
    let answers = super::resp::ask(tls, target.password.as_deref()).await?;
    let latency = answers.pong_at.saturating_duration_since(started);
    Ok(RedisFacts::from_info(
        latency,
        Some(verified),
        &answers.memory,
        &answers.replication,
    ))
}

fn info_field(info: &str, key: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

async fn redis_queries(host: &str, port: u16, target: &RedisTarget) -> Result<RedisFacts, String> {
    let info = redis::ConnectionInfo {
        addr: redis::ConnectionAddr::Tcp(host.to_string(), port),
        redis: redis::RedisConnectionInfo {
            password: target.password.clone(),
            ..Default::default()
        },
    };
    let client = redis::Client::open(info).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| describe_redis(&e))?;
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| describe_redis(&e))?;
    let latency = started.elapsed();
    if pong != "PONG" {
        return Err(format!("PING answered {pong}"));
    }
    let memory: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .map_err(|e| describe_redis(&e))?;
    let replication: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut conn)
        .await
        .map_err(|e| describe_redis(&e))?;
    Ok(RedisFacts::from_info(latency, None, &memory, &replication))
}

fn describe_redis(e: &redis::RedisError) -> String {
    if e.is_connection_refusal() {
        return "connection refused".into();
    }
    e.to_string()
}

/// A health result's status from an HTTP answer to a monitoring URL:
/// anything that answers is up (a login redirect included).
pub fn monitoring_status(code: u16) -> Status {
    if code < 500 {
        Status::Pass
    } else {
        Status::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read() {
        let info = "# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\n";
        assert_eq!(info_field(info, "used_memory").as_deref(), Some("1024"));
        assert_eq!(info_field(info, "maxmemory").as_deref(), Some("0"));
        assert_eq!(info_field(info, "role"), None);
    }
}

/// Kafka's first bootstrap server and credentials.
#[derive(Debug, Clone)]
pub struct KafkaTarget {
    pub route: Route,
    pub plain: Option<super::kafka::Plain>,
    /// Managed Kafka (Event Hubs) speaks TLS only.
    pub tls: bool,
    /// The host the certificate must cover (the first bootstrap server's).
    pub server_name: String,
}

/// The `kafka` health check: broker metadata (brokers, topic count).
pub async fn kafka(
    client: &kube::Client,
    namespace: &str,
    target: &KafkaTarget,
    deadline: Duration,
) -> CheckResult {
    let started = Instant::now();
    let answer = if target.tls {
        let (stream, task) = match open_stream(client, namespace, &target.route, deadline).await {
            Ok(opened) => opened,
            Err(why) => return not_opened("kafka", &target.route, why),
        };
        // Connect, handshake and exchange within the one deadline.
        let until = tokio::time::Instant::from_std(started) + deadline;
        let answer = async {
            let (mut tls, verified) =
                super::storetls::connect_by(stream, &target.server_name, until, deadline).await?;
            let exchange = super::kafka::metadata(&mut tls, target.plain.as_ref());
            match tokio::time::timeout_at(until, exchange).await {
                Ok(meta) => Ok((meta?, started.elapsed(), Some(verified))),
                Err(_) => Err(format!(
                    "no answer within {}",
                    crate::human::duration(deadline)
                )),
            }
        }
        .await;
        if let Some(t) = task {
            t.abort();
        }
        answer
    } else {
        let (host, port, task) = match open(client, namespace, &target.route, deadline).await {
            Ok(opened) => opened,
            Err(why) => return not_opened("kafka", &target.route, why),
        };
        let answer = super::kafka::ask(&host, port, target.plain.as_ref(), deadline).await;
        if let Some(t) = task {
            t.abort();
        }
        answer.map(|(meta, latency)| (meta, latency, None))
    };
    let mut f = Findings::default();
    let summary = match answer {
        Ok((meta, latency, tls)) => {
            if let Some(verified) = &tls {
                f.pass(verified.clone());
            }
            if target.plain.is_some() {
                f.pass("SASL PLAIN authenticated");
            }
            f.pass(format!(
                "metadata in {}: {} broker(s) ({}), controller {}, {} topic(s)",
                crate::human::duration(latency),
                meta.brokers.len(),
                meta.brokers.join(", "),
                meta.controller,
                meta.topics
            ));
            if meta.brokers.is_empty() {
                f.fail("the metadata lists no broker");
            }
            format!(
                "up ({}{}), {} broker(s), {} topic(s)",
                crate::human::duration(latency),
                if tls.is_some() { ", TLS" } else { "" },
                meta.brokers.len(),
                meta.topics
            )
        }
        Err(e) => {
            f.fail(format!("{}: {e}", target.route.describe()));
            f.hint(failure_hint(
                &e,
                &target.route,
                &target.server_name,
                "`fintechctl debug logs ENV kafka`; with SASL, the password in Secret fintech-ai-secrets (kafka-password)",
                "with SASL PLAIN, the password in Secret fintech-ai-secrets (kafka-password): for Event Hubs the namespace's connection string, with the user `$ConnectionString`",
            ));
            format!("down: {e}")
        }
    };
    let mut r = f.finish_as("kafka", summary);
    r.elapsed = started.elapsed();
    r
}
