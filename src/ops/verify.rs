//! Verifying an environment: connect, read the namespace once, run the
//! selected checks in parallel (each bounded), then optionally bake —
//! query the alert expressions for a while and fail the moment one
//! crosses. Returns the typed report; the verdict is its exit status.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use serde::Serialize;
use serde_json::Value;

use crate::checks::live::Live;
use crate::checks::prometheus::{self, BakeReport};
use crate::checks::{CheckId, CheckResult, Status, capacity, drift, http, tls, workloads};
use crate::cluster::apply::{self, ApplyOptions};
use crate::cluster::connect::Connection;
use crate::cluster::kinds::ServedKinds;
use crate::cluster::records::{History, ReleaseHistory};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::render::engine::{self, RenderInput};
use crate::render::policy::PolicyOptions;
use crate::render::{Manifest, Phase};
use crate::secrets::{PLATFORM_SECRETS, SecretString, SecretValues, TlsFiles};
use crate::settings::VerifySettings;

use super::Reporter;
use super::connect::connect_reporting;
use super::shared::ReportError;
use super::shared::{environment_key, skipped_kinds};

/// The Secret the platform's credentials live in.
pub const PLATFORM_SECRET: &str = "fintech-ai-secrets";

/// What `verify` reports as it goes.
pub trait VerifyReporter: Reporter {
    /// Secret values read from the cluster: scrub them from everything
    /// shown from now on.
    fn learned_secrets(&self, redactor: &Redactor);
    /// A check finished.
    fn check_done(&self, result: &CheckResult);
    /// One round of `--bake`: how far, and what the queries said.
    fn bake_round(&self, elapsed: Duration, total: Duration, round: &prometheus::BakeRound);
}

/// The `-o json` document of `verify`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub environment: String,
    pub namespace: String,
    pub cluster: String,
    /// The version that must be live: `--version`, else the newest record's.
    pub version: Option<String>,
    /// The worst result (skipped counts as nothing).
    pub outcome: Option<Status>,
    pub strict: bool,
    /// Worst first.
    pub checks: Vec<CheckResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake: Option<BakeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

/// The exit status a set of results earns.
pub fn verdict(outcome: Status, strict: bool) -> ExitStatus {
    match outcome {
        Status::Fail => ExitStatus::Failed,
        Status::Warn if strict => ExitStatus::Failed,
        _ => ExitStatus::Success,
    }
}

/// The Secrets the checks need from the namespace (as JSON; `None` when
/// absent or not readable).
#[derive(Debug, Clone, Default)]
pub struct LiveSecrets {
    pub platform: Option<Value>,
    pub tls: Option<Value>,
}

impl LiveSecrets {
    /// Reads them; a Secret that does not exist or may not be read is
    /// `None` (with the reason as a warning).
    pub async fn read(
        client: &kube::Client,
        env: &Environment,
        deadline: Duration,
        reporter: &dyn Reporter,
    ) -> LiveSecrets {
        let api: Api<Secret> = Api::namespaced(client.clone(), &env.namespace.name);
        let get = |name: String| {
            let api = api.clone();
            async move {
                match tokio::time::timeout(deadline, api.get_opt(&name)).await {
                    Ok(Ok(found)) => found.and_then(|s| serde_json::to_value(s).ok()),
                    Ok(Err(e)) => {
                        reporter.warn(&format!(
                            "reading Secret/{name}: {}",
                            crate::cluster::api_message(&e)
                        ));
                        None
                    }
                    Err(_) => {
                        reporter.warn(&format!("reading Secret/{name}: no answer in time"));
                        None
                    }
                }
            }
        };
        let tls_name = env
            .ingress
            .tls
            .as_ref()
            .filter(|_| env.ingress.enabled)
            .map(|t| t.secret_name.clone());
        let (platform, tls) = tokio::join!(get(PLATFORM_SECRET.to_string()), async {
            match tls_name {
                Some(name) => get(name).await,
                None => None,
            }
        });
        LiveSecrets { platform, tls }
    }

    /// A value of a Secret's `data`, decoded.
    pub fn data(secret: &Value, key: &str) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let encoded = secret["data"][key].as_str()?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
    }

    /// The secret values given on this machine, completed with the
    /// cluster's own (so a render of the live release has the same digests).
    pub fn merged(&self, given: &SecretValues) -> SecretValues {
        let platform = self.platform.clone().unwrap_or(Value::Null);
        let live_value = |secret_key: &str| {
            Self::data(&platform, secret_key).and_then(|b| String::from_utf8(b).ok())
        };
        let mut merged = SecretValues::collect(None, &TlsFiles::default(), |var| {
            let spec = PLATFORM_SECRETS.iter().find(|s| s.env_var == var)?;
            given
                .get(spec.template_key)
                .map(|v| v.expose().to_string())
                .or_else(|| live_value(spec.secret_key))
        })
        .unwrap_or_default();
        let tls = self.tls.clone().unwrap_or(Value::Null);
        let text = |key: &str| {
            Self::data(&tls, key)
                .and_then(|b| String::from_utf8(b).ok())
                .map(SecretString::new)
        };
        merged.tls_cert = given.tls_cert.clone().or_else(|| text("tls.crt"));
        merged.tls_key = given.tls_key.clone().or_else(|| text("tls.key"));
        merged
    }

    /// A redactor that also knows these Secrets' values.
    pub fn learn(&self, redactor: &Redactor) -> Redactor {
        let mut learned = redactor.clone();
        if let Some(s) = &self.platform {
            learned.learn_secret(s);
        }
        if let Some(s) = &self.tls {
            // The certificate is public; the key is not.
            if let Some(key) = Self::data(s, "tls.key").and_then(|b| String::from_utf8(b).ok()) {
                learned.extend([key.as_str()]);
            }
        }
        learned
    }
}

/// Verifies `settings.env` and returns the report with the verdict.
pub async fn verify(
    settings: &VerifySettings,
    reporter: &dyn VerifyReporter,
    redactor: &Redactor,
    stop: Stop,
) -> (VerifyReport, Result<ExitStatus, Failure>) {
    let started = Instant::now();
    let env = &settings.env;
    let mut report = VerifyReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        version: settings.version.clone(),
        strict: settings.strict,
        ..VerifyReport::default()
    };
    let result = tokio::select! {
        r = run(settings, reporter, redactor, &mut report, &stop) => r,
        reason = stop.stopped() => Err(Failure::from_stop(
            &reason,
            format!("verify {}: {reason}", env.name),
        )),
    };
    report.elapsed = started.elapsed();
    if let Err(failure) = &result {
        report.error = Some(ReportError::from(failure));
    }
    (report, result)
}

type Checks<'a> = Pin<Box<dyn Future<Output = Vec<CheckResult>> + Send + 'a>>;

/// Runs `fut` (the checks `ids`), timing it; past `deadline` each id fails.
fn timed<'a>(
    ids: Vec<CheckId>,
    deadline: Duration,
    fut: impl Future<Output = Vec<CheckResult>> + Send + 'a,
) -> Checks<'a> {
    Box::pin(async move {
        let started = Instant::now();
        match tokio::time::timeout(deadline, fut).await {
            Ok(mut results) => {
                let elapsed = started.elapsed();
                for r in &mut results {
                    r.elapsed = elapsed;
                }
                results
            }
            Err(_) => ids
                .into_iter()
                .map(|id| CheckResult {
                    elapsed: deadline,
                    ..CheckResult::failed(
                        id.as_str(),
                        format!(
                            "did not finish within {} (--timeout)",
                            crate::human::duration(deadline)
                        ),
                        Some("the API server or a service is too slow to answer: run again with -v, or a longer --timeout".into()),
                    )
                })
                .collect(),
        }
    })
}

/// What every check may look at.
struct Context<'a> {
    settings: &'a VerifySettings,
    conn: Connection,
    live: Live,
    history: History,
    secrets: LiveSecrets,
    version: Option<String>,
    reporter: &'a dyn VerifyReporter,
}

async fn run(
    settings: &VerifySettings,
    reporter: &dyn VerifyReporter,
    redactor: &Redactor,
    report: &mut VerifyReport,
    stop: &Stop,
) -> Result<ExitStatus, Failure> {
    let env = &settings.env;
    let conn = connect_reporting(env, &settings.access, reporter).await?;
    report.cluster = conn.source.clone();
    let client = conn.client.clone();
    let ns = env.namespace.name.clone();
    let deadline = settings.access.request_timeout;
    let records = ReleaseHistory::new(&client, &ns, &env.name, redactor.clone());
    let (live, history, secrets) = tokio::join!(
        Live::read(&client, &ns, &env.name, deadline),
        tokio::time::timeout(deadline, records.list()),
        LiveSecrets::read(&client, env, deadline, reporter),
    );
    let live = live.map_err(|e| Failure::unreachable(e.to_string()))?;
    let history = match history {
        Ok(h) => h?,
        Err(_) => {
            return Err(Failure::unreachable(format!(
                "listing the release records of {}: no answer in time",
                env.name
            )));
        }
    };
    reporter.learned_secrets(&secrets.learn(redactor));
    let version = settings
        .version
        .clone()
        .or_else(|| history.running().map(|r| r.version.clone()));
    report.version = version.clone();
    reporter.status(
        "Verifying",
        &format!(
            "{} in {} ({}): {}",
            env.name,
            ns,
            version
                .as_deref()
                .map_or("no release recorded".to_string(), |v| format!(
                    "version {v}"
                )),
            settings
                .checks
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let cx = Context {
        settings,
        conn,
        live,
        history,
        secrets,
        version,
        reporter,
    };
    let mut results = run_checks(&cx).await;
    for id in &settings.skipped {
        results.push(CheckResult::skipped(
            id.as_str(),
            "not selected (--only / --skip)",
        ));
    }
    crate::checks::worst_first(&mut results);
    let outcome = results
        .iter()
        .fold(Status::Skipped, |acc, r| acc.worst(r.status));
    report.checks = results;
    report.outcome = Some(outcome);
    // Checks that failed because the API server stopped answering (frozen
    // mid-run) are not the release's fault: say so, and exit 3.
    if outcome == Status::Fail
        && !crate::cluster::liveness::answers(
            &cx.conn.client,
            &ns,
            deadline.min(std::time::Duration::from_secs(3)),
        )
        .await
    {
        return Err(Failure::unreachable(format!(
            "lost the API server at {} while verifying; the failed checks may be its doing, not the release's",
            cx.conn.server
        )));
    }

    // The bake: only after the checks pass (warnings allowed unless --strict).
    if let Some(duration) = settings.bake {
        if verdict(outcome, settings.strict) != ExitStatus::Success {
            reporter.warn("not baking: the checks did not pass");
            report.bake = Some(BakeReport::not_started(duration, "the checks did not pass"));
        } else {
            let bake = prometheus::bake(
                &cx.conn.client,
                env,
                duration,
                settings.bake_interval,
                settings.http_timeout,
                stop,
                &|elapsed, round| reporter.bake_round(elapsed, duration, round),
            )
            .await;
            let failed = bake.failed();
            report.bake = Some(bake);
            if failed {
                report.outcome = Some(Status::Fail);
                return Ok(ExitStatus::Failed);
            }
        }
    }
    Ok(verdict(outcome, settings.strict))
}

async fn run_checks(cx: &Context<'_>) -> Vec<CheckResult> {
    let s = cx.settings;
    let selected = |id: CheckId| s.checks.contains(&id);
    let deadline = s.timeout;
    let mut pending: FuturesUnordered<Checks<'_>> = FuturesUnordered::new();
    let services: Vec<&str> = s.env.services.iter().map(|(n, _)| n).collect();
    if selected(CheckId::Release) {
        let services = services.clone();
        pending.push(timed(vec![CheckId::Release], deadline, async move {
            vec![workloads::release(
                &cx.live,
                &cx.history,
                s.version.as_deref(),
                &services,
            )]
        }));
    }
    if selected(CheckId::Rollout) {
        pending.push(timed(vec![CheckId::Rollout], deadline, async move {
            vec![workloads::rollout(&cx.live, cx.history.running())]
        }));
    }
    if selected(CheckId::Pods) {
        pending.push(timed(vec![CheckId::Pods], deadline, async move {
            vec![workloads::pods(&cx.live, Timestamp::now())]
        }));
    }
    if selected(CheckId::Endpoints) {
        pending.push(timed(vec![CheckId::Endpoints], deadline, async move {
            vec![workloads::endpoints(&cx.live)]
        }));
    }
    if selected(CheckId::Http) {
        pending.push(timed(vec![CheckId::Http], deadline, http_check(cx)));
    }
    let drift_ids: Vec<CheckId> = [CheckId::Drift, CheckId::Policy]
        .into_iter()
        .filter(|c| selected(*c))
        .collect();
    if !drift_ids.is_empty() {
        pending.push(timed(
            drift_ids.clone(),
            deadline,
            drift_and_policy(cx, drift_ids),
        ));
    }
    if selected(CheckId::Autoscaling) {
        pending.push(timed(vec![CheckId::Autoscaling], deadline, async move {
            let vpas = list_vpas(cx).await;
            vec![capacity::autoscaling(
                &cx.live,
                match &vpas {
                    Ok(found) => Ok(found.as_deref()),
                    Err(why) => Err(why.as_str()),
                },
            )]
        }));
    }
    if selected(CheckId::Quota) {
        pending.push(timed(vec![CheckId::Quota], deadline, async move {
            vec![capacity::quota(&cx.live)]
        }));
    }
    if selected(CheckId::Tls) {
        pending.push(timed(vec![CheckId::Tls], deadline, async move {
            vec![tls_check(cx)]
        }));
    }
    if selected(CheckId::Alerts) {
        pending.push(timed(vec![CheckId::Alerts], deadline, async move {
            vec![prometheus::alerts(&cx.conn.client, &s.env, s.http_timeout, s.strict).await]
        }));
    }
    let mut results = Vec::new();
    while let Some(done) = pending.next().await {
        for r in &done {
            cx.reporter.check_done(r);
        }
        results.extend(done);
    }
    results
}

/// The HTTP endpoints `http` probes: /health and /ready of api-gateway and
/// ml-service, api-gateway's /metrics, frontend's /.
pub fn http_probes(env: &Environment) -> Vec<http::Probe> {
    let mut probes = Vec::new();
    for (name, service) in env.services.iter() {
        if name == "frontend" {
            probes.push(http::Probe::new(name, service.port, "/"));
            continue;
        }
        probes.push(http::Probe::new(name, service.port, "/health"));
        probes.push(http::Probe::new(name, service.port, "/ready"));
        if name == "api-gateway" {
            probes.push(http::Probe {
                metrics: true,
                ..http::Probe::new(name, service.port, "/metrics")
            });
        }
    }
    probes
}

async fn http_check(cx: &Context<'_>) -> Vec<CheckResult> {
    let s = cx.settings;
    let ns = &s.env.namespace.name;
    let probes = http_probes(&s.env);
    let answers = futures::future::join_all(
        probes
            .iter()
            .map(|p| http::get(&cx.conn.client, ns, p, s.http_timeout)),
    )
    .await;
    let results: Vec<(http::Probe, http::Answer)> = probes.into_iter().zip(answers).collect();
    vec![http::judge(&s.env.name, &results, s.http_timeout)]
}

/// The release of `version` rendered with the given secret values,
/// completed with the cluster's, and digested with the environment's key.
async fn render_live_release(cx: &Context<'_>, version: &str) -> Result<Vec<Manifest>, String> {
    let env = &cx.settings.env;
    let secrets = cx.secrets.merged(&cx.settings.secrets);
    let mut manifests = engine::render(&RenderInput {
        env,
        version,
        secrets: &secrets,
        digest_key: None,
    })
    .map_err(|e| format!("rendering {} {version}: {e}", env.name))?;
    let (key, stored) = environment_key(&cx.conn.client, &env.namespace.name)
        .await
        .map_err(|f| f.message)?;
    if !stored {
        cx.reporter.warn(
            "no digest key in the namespace (never deployed by fintechctl?): pod templates' secret digests will differ",
        );
    }
    engine::annotate_secret_digests(&mut manifests, Some(&key));
    Ok(manifests)
}

async fn drift_and_policy(cx: &Context<'_>, ids: Vec<CheckId>) -> Vec<CheckResult> {
    let all_fail = |summary: String, hint: Option<String>| -> Vec<CheckResult> {
        ids.iter()
            .map(|id| CheckResult::failed(id.as_str(), summary.clone(), hint.clone()))
            .collect()
    };
    let Some(version) = cx.version.clone() else {
        return ids
            .iter()
            .map(|id| {
                CheckResult::skipped(
                    id.as_str(),
                    "no release recorded and no --version: nothing to compare the live objects with",
                )
            })
            .collect();
    };
    let rendered = match render_live_release(cx, &version).await {
        Ok(m) => m,
        Err(e) => return all_fail(e, None),
    };
    let planned: Vec<Manifest> = rendered
        .iter()
        .filter(|m| m.phase() != Phase::Migration)
        .cloned()
        .collect();
    let kinds = ServedKinds::new(&cx.conn.client);
    let skip_kinds = skipped_kinds(&kinds, &planned, cx.reporter).await;
    let options = ApplyOptions {
        dry_run: true,
        // Fields another manager took over show as changes (with that
        // manager named) instead of stopping the plan at the first conflict.
        force_conflicts: true,
        skip_kinds,
        kinds: Some(kinds),
        stop: None,
        planned: None,
        namespaces_exist: false,
    };
    let plan = match apply::plan(&cx.conn.client, &planned, &options).await {
        Ok(p) => p,
        Err(e) => {
            return all_fail(
                format!("server-side dry run of release {version}: {e}"),
                Some(
                    "the API server refused the dry run: `fintechctl diff` shows the same error"
                        .into(),
                ),
            );
        }
    };
    let mut results = Vec::new();
    if ids.contains(&CheckId::Drift) {
        let env = &cx.settings.env.name;
        match crate::canary::run::leftovers(&cx.conn.client, &cx.settings.env.namespace.name, env)
            .await
        {
            Ok(canary) if !canary.is_empty() => {
                results.push(drift::canary_in_progress(env, &canary));
            }
            _ => results.push(drift::drift(&plan, &version)),
        }
    }
    if ids.contains(&CheckId::Policy) {
        let options = PolicyOptions {
            require_pinned_images: cx.settings.env.release.require_version,
        };
        results.push(drift::policy_on_live(&plan, &rendered, &options));
    }
    results
}

/// The live VerticalPodAutoscalers; `Ok(None)` when the CRD is not served,
/// `Err` when discovery or the list failed (not the same thing).
async fn list_vpas(cx: &Context<'_>) -> Result<Option<Vec<Value>>, String> {
    let kinds = ServedKinds::new(&cx.conn.client);
    let Some(found) = kinds
        .find("autoscaling.k8s.io/v1", "VerticalPodAutoscaler")
        .await
        .map_err(|e| format!("discovery: {e}"))?
    else {
        return Ok(None);
    };
    let api: Api<kube::api::DynamicObject> =
        Api::namespaced_with(cx.conn.client.clone(), &cx.live.namespace, &found.resource);
    let list = api
        .list(&Default::default())
        .await
        .map_err(|e| crate::cluster::api_message(&e))?;
    Ok(Some(
        list.items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect(),
    ))
}

fn tls_check(cx: &Context<'_>) -> CheckResult {
    let env = &cx.settings.env;
    let Some(tls_conf) = env.ingress.tls.as_ref().filter(|_| env.ingress.enabled) else {
        return CheckResult::skipped(
            CheckId::Tls.as_str(),
            format!("the ingress of {} has no TLS", env.name),
        );
    };
    let secret = cx.secrets.tls.clone().unwrap_or(Value::Null);
    let crt = LiveSecrets::data(&secret, "tls.crt");
    let ca = LiveSecrets::data(&secret, "ca.crt");
    tls::check(
        &tls_conf.secret_name,
        &env.ingress.host,
        crt.as_deref(),
        ca.as_deref(),
        Timestamp::now(),
    )
}
