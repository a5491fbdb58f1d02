//! Health: is the platform serving right now, and if not, what is down.
//! One round asks everything at once — each service's /health and /ready
//! through the service proxy with its ready pods, PostgreSQL and Redis
//! with a real query, the monitoring URLs — each with its own short
//! deadline, so a round takes about the slowest answer, not the sum.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde::Serialize;

use crate::checks::http::{self, Probe};
use crate::checks::kafka::Plain;
use crate::checks::stores::{self, KafkaTarget, PostgresTarget, RedisTarget, Route};
use crate::checks::{CheckResult, Findings, Status, prometheus};
use crate::cluster::connect::Connection;
use crate::environment::{Environment, Placement};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::HealthSettings;

use super::Reporter;
use super::connect::connect_reporting;
use super::verify::LiveSecrets;

/// What `health` reports as it goes.
pub trait HealthReporter: Reporter {
    /// Secret values read from the cluster: scrub them from now on.
    fn learned_secrets(&self, redactor: &Redactor);
    /// A round is done (`--watch` shows each).
    fn round(&self, report: &HealthReport);
}

/// One round's `-o json` document.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub environment: String,
    pub namespace: String,
    pub cluster: String,
    /// 1, 2, … with `--watch`.
    pub round: u32,
    pub healthy: bool,
    /// Worst first.
    pub checks: Vec<CheckResult>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

/// Checks once (or every `settings.watch` until stopped); returns the last
/// round's report and the verdict.
pub async fn health(
    settings: &HealthSettings,
    reporter: &dyn HealthReporter,
    redactor: &Redactor,
    stop: Stop,
) -> (HealthReport, Result<ExitStatus, Failure>) {
    let env = &settings.env;
    let mut last = HealthReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        ..HealthReport::default()
    };
    let conn = tokio::select! {
        c = connect_reporting(env, &settings.access, reporter) => c,
        reason = stop.stopped() => Err(Failure::from_stop(&reason, reason.to_string())),
    };
    let conn = match conn {
        Ok(c) => c,
        Err(f) => return (last, Err(f)),
    };
    last.cluster = conn.source.clone();
    let mut round = 0;
    loop {
        round += 1;
        let report = tokio::select! {
            r = one_round(settings, &conn, reporter, redactor, round) => r,
            reason = stop.stopped() => {
                return (last, Err(Failure::from_stop(&reason, reason.to_string())));
            }
        };
        reporter.round(&report);
        last = report;
        let Some(interval) = settings.watch else {
            break;
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            reason = stop.stopped() => {
                // Watching ends with Ctrl-C: 130, as every interrupted command.
                return (last, Ok(ExitStatus::of_stop(&reason)));
            }
        }
    }
    let status = if last.healthy {
        ExitStatus::Success
    } else {
        ExitStatus::Failed
    };
    (last, Ok(status))
}

async fn one_round(
    settings: &HealthSettings,
    conn: &Connection,
    reporter: &dyn HealthReporter,
    redactor: &Redactor,
    round: u32,
) -> HealthReport {
    let started = Instant::now();
    let env = &settings.env;
    let ns = env.namespace.name.as_str();
    let client = &conn.client;
    let deadline = settings.check_timeout;
    // The passwords the application uses: the cluster's Secret, else the
    // values given here.
    let secrets = LiveSecrets::read(
        client,
        env,
        deadline.max(settings.access.request_timeout),
        reporter,
    )
    .await;
    reporter.learned_secrets(&secrets.learn(redactor));
    let password = |secret_key: &str, template_key: &str| {
        secrets
            .platform
            .as_ref()
            .and_then(|s| LiveSecrets::data(s, secret_key))
            .and_then(|b| String::from_utf8(b).ok())
            .or_else(|| {
                settings
                    .secrets
                    .get(template_key)
                    .map(|v| v.expose().to_string())
            })
    };
    let services =
        futures::future::join_all(env.services.iter().map(|(name, service)| {
            service_check(client, ns, &env.name, name, service.port, deadline)
        }));
    let pg = env.data.postgres.clone();
    let postgres_target = PostgresTarget {
        route: match pg.placement {
            Placement::InCluster => Route::Pod {
                pod: format!("{}-0", first_label(&pg.host)),
                port: pg.port,
            },
            Placement::Managed => Route::Direct {
                host: pg.host.clone(),
                port: pg.port,
            },
        },
        user: pg.user.clone(),
        password: password("postgres-password", "postgres_password"),
        database: pg.database.clone(),
        ssl_mode: pg.ssl_mode.clone(),
        server_name: pg.host.clone(),
    };
    let rd = env.data.redis.clone();
    let redis_target = RedisTarget {
        route: match rd.placement {
            Placement::InCluster => Route::Pod {
                pod: format!("{}-0", first_label(&rd.host)),
                port: rd.port,
            },
            Placement::Managed => Route::Direct {
                host: rd.host.clone(),
                port: rd.port,
            },
        },
        password: password("redis-password", "redis_password"),
        tls: rd.tls,
        server_name: rd.host.clone(),
    };
    let kf = env.data.kafka.clone();
    let (kafka_host, kafka_port) = first_server(&kf.bootstrap_servers);
    let kafka_target = KafkaTarget {
        route: match kf.placement {
            Placement::InCluster => Route::Pod {
                pod: format!("{}-0", first_label(&kafka_host)),
                port: kafka_port,
            },
            Placement::Managed => Route::Direct {
                host: kafka_host.clone(),
                port: kafka_port,
            },
        },
        plain: kf
            .sasl_mechanism
            .as_deref()
            .filter(|m| m.eq_ignore_ascii_case("PLAIN"))
            .map(|_| Plain {
                username: kf.username.clone().unwrap_or_default(),
                password: password("kafka-password", "kafka_password").unwrap_or_default(),
            }),
        tls: kf.placement == Placement::Managed,
        server_name: kafka_host.clone(),
    };
    let (services, postgres, redis, kafka, monitoring) = tokio::join!(
        services,
        stores::postgres(client, ns, &postgres_target, deadline),
        stores::redis(client, ns, &redis_target, deadline),
        stores::kafka(client, ns, &kafka_target, deadline),
        monitoring(env, deadline),
    );
    let mut checks: Vec<CheckResult> = services;
    checks.push(postgres);
    checks.push(redis);
    checks.push(kafka);
    checks.extend(monitoring);
    crate::checks::worst_first(&mut checks);
    let healthy = !checks.iter().any(|c| c.status == Status::Fail);
    HealthReport {
        environment: env.name.clone(),
        namespace: ns.to_string(),
        cluster: conn.source.clone(),
        round,
        healthy,
        checks,
        elapsed: started.elapsed(),
    }
}

/// The first `host:port` of a bootstrap list (`kafka:9092,kafka-2:9092`).
fn first_server(list: &str) -> (String, u16) {
    let first = list.split(',').next().unwrap_or("").trim();
    match first.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(9092)),
        None => (first.to_string(), 9092),
    }
}

/// `postgres.fintech-ai-local.svc` → `postgres`.
fn first_label(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// A service: /health and /ready (frontend: /) through the service proxy,
/// and its Deployment's ready pods against desired.
async fn service_check(
    client: &kube::Client,
    ns: &str,
    env_name: &str,
    name: &str,
    port: u16,
    deadline: Duration,
) -> CheckResult {
    let started = Instant::now();
    let paths: &[&str] = if name == "frontend" {
        &["/"]
    } else {
        &["/health", "/ready"]
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let probes: Vec<Probe> = paths.iter().map(|p| Probe::new(name, port, p)).collect();
    let (answers, deployment) = tokio::join!(
        futures::future::join_all(probes.iter().map(|p| http::get(client, ns, p, deadline))),
        tokio::time::timeout(deadline, deployments.get_opt(name)),
    );
    let mut f = Findings::default();
    let mut parts = Vec::new();
    for (probe, answer) in probes.iter().zip(&answers) {
        let line = format!("GET {}: {}", probe.path, answer.describe());
        parts.push(format!(
            "{} {}",
            probe.path,
            answer.status.map_or("-".to_string(), |s| s.to_string())
        ));
        if answer.ok() {
            f.pass(line);
        } else {
            let head = crate::checks::first_lines(&answer.body, 2);
            f.fail(if head.is_empty() {
                line
            } else {
                format!("{line}: {}", head.join(" ⏎ "))
            });
            f.hint(format!(
                "`fintechctl debug logs {env_name} {name}` shows why"
            ));
        }
    }
    let pods = match deployment {
        Ok(Ok(Some(d))) => {
            let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let ready = d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            let line = format!("{ready}/{desired} pods ready");
            if ready == 0 {
                f.fail(line.clone());
            } else if ready < desired {
                f.warn(line.clone());
            } else {
                f.pass(line.clone());
            }
            line
        }
        Ok(Ok(None)) => {
            f.fail(format!("Deployment/{name} does not exist"));
            "not deployed".to_string()
        }
        Ok(Err(e)) => {
            f.fail(format!(
                "reading Deployment/{name}: {}",
                crate::cluster::api_message(&e)
            ));
            "unknown".to_string()
        }
        Err(_) => {
            f.fail(format!("reading Deployment/{name}: no answer in time"));
            "unknown".to_string()
        }
    };
    let latency = answers.iter().map(|a| a.latency).max().unwrap_or_default();
    let summary = format!(
        "{}, {pods}, {}",
        parts.join(", "),
        crate::human::duration(latency)
    );
    let mut r = f.finish(crate::checks::CheckId::Http, summary);
    r.id = format!("service/{name}");
    r.elapsed = started.elapsed();
    r
}

/// Prometheus, Grafana and Jaeger: whether each URL answers. Not answering
/// warns (it may only be reachable from the cluster's network).
async fn monitoring(env: &Environment, deadline: Duration) -> Vec<CheckResult> {
    let targets = [
        (
            "prometheus",
            env.monitoring.prometheus_url.clone(),
            "/-/healthy",
        ),
        ("grafana", env.monitoring.grafana_url.clone(), "/api/health"),
        ("jaeger", env.monitoring.jaeger_url.clone(), "/"),
    ];
    let client = match prometheus::client(deadline) {
        Ok(c) => c,
        Err(e) => {
            return targets
                .iter()
                .map(|(id, _, _)| CheckResult::warned(*id, e.clone(), None))
                .collect();
        }
    };
    futures::future::join_all(targets.iter().map(|(id, base, path)| {
        let client = client.clone();
        async move {
            let url = format!("{}{path}", base.trim_end_matches('/'));
            let started = Instant::now();
            let mut r = match client.get(&url).send().await {
                Ok(response) => {
                    let code = response.status().as_u16();
                    let latency = started.elapsed();
                    let status = stores::monitoring_status(code);
                    let mut f = Findings::default();
                    f.push(status, format!("GET {url}: {code} in {}", crate::human::duration(latency)));
                    f.finish(crate::checks::CheckId::Alerts, format!("{base} answers {code}"))
                }
                Err(e) => CheckResult {
                    evidence: vec![format!("GET {url}: {}", prometheus::describe(&e))],
                    ..CheckResult::warned(
                        *id,
                        format!("{base} not reachable from here"),
                        Some("check monitoring.*Url in the environment file, or whether it is only reachable inside the cluster's network".into()),
                    )
                },
            };
            r.id = id.to_string();
            r.elapsed = started.elapsed();
            r
        }
    }))
    .await
}
