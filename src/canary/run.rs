//! A canary deploy's run, called from the deploy pipeline once everything
//! but the application Deployments is applied (and the migration ran):
//! whether a canary applies at all ([`decide`]), the steps — weight and
//! replicas set, the canary's pods waited for through the ordinary rollout
//! watch, one interval, the analysis and the pods' health — and the
//! removal of every canary object ([`remove`]), which an abort, a promotion
//! and a stopped run all end with.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde::Serialize;

use super::CanaryPlan;
use super::analysis::{self, AnalysisSpec, Measurement, Round, Verdict};
use super::objects::{self, BEHIND_INGRESS, TRACK};
use crate::cluster::apply::{self, ApplyOptions};
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::ops::DeployReporter;
use crate::render::Manifest;

/// How a canary ended, for `-o json` and the release record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CanaryOutcome {
    /// Decided, not run (a dry run, or the run stopped before it).
    #[default]
    Planned,
    Promoted,
    Aborted,
    Paused,
    Interrupted,
}

/// One step: its weight, each service's effective share, every round.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub weight: u32,
    /// Percent of each service's traffic the canary takes.
    pub shares: BTreeMap<String, f64>,
    pub rounds: Vec<Round>,
}

/// The `canary` part of a deploy's report.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CanaryReport {
    /// The services with a canary (their image changes).
    pub services: Vec<String>,
    pub steps: Vec<StepReport>,
    pub outcome: CanaryOutcome,
    /// Live stable replicas per service when the canary started.
    #[serde(skip)]
    pub stable_replicas: BTreeMap<String, u32>,
}

/// Whether a deploy runs a canary.
pub enum Decision {
    Canary(CanaryReport),
    /// A rolling deploy, and why the canary does not apply.
    Rolling(String),
}

fn api_failure(what: &str, e: &kube::Error) -> Failure {
    Failure::unreachable(format!("{what}: {}", crate::cluster::api_message(e)))
}

/// Whether the canary applies to `manifests` (the deploy's objects): not on
/// a first install, not when no image changes, not without an application
/// Deployment (`--only`). Refuses (exit 4) when the live stable pods do not
/// carry `fintechctl.io/track: stable` yet.
pub async fn decide(
    client: &kube::Client,
    namespace: &str,
    manifests: &[Manifest],
) -> Result<Decision, Failure> {
    let candidates: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| objects::is_app_deployment(m))
        .collect();
    if candidates.is_empty() {
        return Ok(Decision::Rolling(
            "no application service is deployed (--only)".into(),
        ));
    }
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let live = futures::future::join_all(candidates.iter().map(|m| api.get_opt(m.name()))).await;
    let mut report = CanaryReport::default();
    let mut unlabelled = Vec::new();
    for (m, live) in candidates.iter().zip(live) {
        let live =
            live.map_err(|e| api_failure(&format!("reading Deployment/{}", m.name()), &e))?;
        let Some(live) = live else {
            return Ok(Decision::Rolling(format!(
                "first install: Deployment/{} has no stable version yet",
                m.name()
            )));
        };
        let live_json = serde_json::to_value(&live).unwrap_or_default();
        let template = &live_json["spec"]["template"];
        let live_image = template["spec"]["containers"][0]["image"].as_str();
        let new_image = m.object["spec"]["template"]["spec"]["containers"][0]["image"].as_str();
        if live_image == new_image {
            continue;
        }
        if template["metadata"]["labels"][TRACK].as_str() != Some(objects::STABLE) {
            unlabelled.push(m.name().to_string());
        }
        report.services.push(m.name().to_string());
        let replicas = live_json["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
        report
            .stable_replicas
            .insert(m.name().to_string(), replicas.max(1));
    }
    if report.services.is_empty() {
        return Ok(Decision::Rolling(
            "the version is unchanged: no image changes".into(),
        ));
    }
    if !unlabelled.is_empty() {
        return Err(Failure::refused(format!(
                "refusing a canary: the live pods of {} do not carry `{TRACK}: stable` (deployed before canaries existed), so the Services could not tell them from the canary's; nothing was written",
                unlabelled.join(", ")
            ),
        )
        .with_details(vec![
            "hint: deploy once with `--strategy rolling` (it labels the stable pods), then canary the next version".into(),
        ]));
    }
    Ok(Decision::Canary(report))
}

/// The canary objects of `environment` left in the cluster, as `Kind/name`.
pub async fn leftovers(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
) -> Result<Vec<String>, kube::Error> {
    let lp = ListParams::default().labels(&objects::selector(environment));
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let (i, d, s) = tokio::join!(
        ingresses.list(&lp),
        deployments.list(&lp),
        services.list(&lp)
    );
    let name = |kind: &str, meta: &kube::api::ObjectMeta| {
        format!("{kind}/{}", meta.name.clone().unwrap_or_default())
    };
    let mut out: Vec<String> = i?
        .items
        .iter()
        .map(|o| name("Ingress", &o.metadata))
        .collect();
    out.extend(d?.items.iter().map(|o| name("Deployment", &o.metadata)));
    out.extend(s?.items.iter().map(|o| name("Service", &o.metadata)));
    Ok(out)
}

/// Takes the canary out: every canary Ingress to weight 0 first, then the
/// canary Ingresses, Deployments and Services deleted, then the main
/// Services select every pod of their app again. Found by label, so it
/// cleans what any earlier run left.
pub async fn remove(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
) -> Result<Vec<String>, String> {
    let lp = ListParams::default().labels(&objects::selector(environment));
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let said = |what: &str, e: kube::Error| format!("{what}: {}", crate::cluster::api_message(&e));
    let mut removed = Vec::new();
    let listed = ingresses
        .list(&lp)
        .await
        .map_err(|e| said("listing the canary Ingresses", e))?;
    let names: Vec<String> = listed
        .items
        .into_iter()
        .filter_map(|i| i.metadata.name)
        .collect();
    let zero = Patch::Merge(objects::weight_patch(0));
    for name in &names {
        ingresses
            .patch(name, &PatchParams::default(), &zero)
            .await
            .map_err(|e| said(&format!("setting Ingress/{name}'s canary weight to 0"), e))?;
    }
    for name in &names {
        delete(&ingresses, name)
            .await
            .map_err(|e| said(&format!("deleting Ingress/{name}"), e))?;
        removed.push(format!("Ingress/{name}"));
    }
    let listed = deployments
        .list(&lp)
        .await
        .map_err(|e| said("listing the canary Deployments", e))?;
    for name in listed.items.into_iter().filter_map(|i| i.metadata.name) {
        delete(&deployments, &name)
            .await
            .map_err(|e| said(&format!("deleting Deployment/{name}"), e))?;
        removed.push(format!("Deployment/{name}"));
    }
    let listed = services
        .list(&lp)
        .await
        .map_err(|e| said("listing the canary Services", e))?;
    for name in listed.items.into_iter().filter_map(|i| i.metadata.name) {
        delete(&services, &name)
            .await
            .map_err(|e| said(&format!("deleting Service/{name}"), e))?;
        removed.push(format!("Service/{name}"));
    }
    set_stable_selectors(client, namespace, false)
        .await
        .map_err(|e| said("restoring the Services' selectors", e))?;
    Ok(removed)
}

async fn delete<K>(api: &Api<K>, name: &str) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let dp = DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        Err(e) if crate::cluster::is_status(&e, 404) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The main Services behind the ingress select only the stable pods
/// (`true`) or every pod of their app (`false`); a missing Service or one
/// already so is left alone.
async fn set_stable_selectors(
    client: &kube::Client,
    namespace: &str,
    only_stable: bool,
) -> Result<(), kube::Error> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    for name in BEHIND_INGRESS {
        let Some(live) = services.get_opt(name).await? else {
            continue;
        };
        let has = live
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .is_some_and(|s| s.contains_key(TRACK));
        if has == only_stable {
            continue;
        }
        let patch = Patch::Merge(objects::stable_selector_patch(only_stable));
        services
            .patch(name, &PatchParams::default(), &patch)
            .await?;
    }
    Ok(())
}

/// Whether Prometheus scrapes the pods of `service` (its rendered pod
/// template says `prometheus.io/scrape: "true"`).
pub fn scraped(release: &[Manifest], service: &str) -> bool {
    release
        .iter()
        .find(|m| m.kind() == "Deployment" && m.name() == service)
        .is_some_and(|m| {
            m.object["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"]
                == "true"
        })
}

/// How a run's steps ended.
pub enum Ending {
    /// Every step passed: promote.
    Promote,
    /// Every step passed and the environment wants a person to promote.
    Paused,
    /// A step failed; the canary is already removed.
    Aborted(Failure),
    /// Stopped (signal, timeout, lost lock or API server) or an API error:
    /// the canary is removed when the API server answered.
    Stopped(Failure),
}

/// What a canary run works with.
pub struct Run<'a> {
    pub client: &'a kube::Client,
    pub namespace: &'a str,
    pub environment: &'a str,
    pub plan: &'a CanaryPlan,
    /// The rendered release (the canary objects are derived from it).
    pub release: &'a [Manifest],
    pub prometheus_url: &'a str,
    pub apply: ApplyOptions,
    pub reporter: &'a dyn DeployReporter,
    pub stop: &'a Stop,
    /// Time left for the rollout watch of the canary's pods.
    pub timeout: Duration,
}

impl Run<'_> {
    /// Runs every step. On a failing step the canary is removed before this
    /// returns; on a stop it is removed when the API server answers.
    pub async fn run(&self, report: &mut CanaryReport) -> Ending {
        let ending = self.steps(report).await;
        match ending {
            Ending::Aborted(failure) => {
                report.outcome = CanaryOutcome::Aborted;
                self.take_out().await;
                Ending::Aborted(failure)
            }
            Ending::Stopped(failure) => {
                report.outcome = CanaryOutcome::Interrupted;
                self.take_out().await;
                Ending::Stopped(failure)
            }
            Ending::Paused => {
                report.outcome = CanaryOutcome::Paused;
                Ending::Paused
            }
            Ending::Promote => Ending::Promote,
        }
    }

    /// [`remove`], said; bounded (a short try when the API server is lost:
    /// the next deploy or abort removes what is left).
    pub async fn take_out(&self) {
        let budget = match self.stop.reason() {
            Some(crate::interrupt::StopReason::ApiLost(_)) => Duration::from_secs(2),
            _ => Duration::from_secs(30),
        };
        match tokio::time::timeout(
            budget,
            remove(self.client, self.namespace, self.environment),
        )
        .await
        {
            Ok(Ok(removed)) => self.reporter.status(
                "Canary removed",
                &format!("weight 0, then {}", removed.join(", ")),
            ),
            Ok(Err(e)) => self.reporter.warn(&format!(
                "the canary could not be removed ({e}); the next deploy or rollback removes it first"
            )),
            Err(_) => self.reporter.warn(
                "the canary could not be removed (no answer in time); the next deploy or rollback removes it first",
            ),
        }
    }

    fn stopped(&self, whereabouts: &str) -> Ending {
        Ending::Stopped(Failure::stopped(self.stop, whereabouts))
    }

    /// Whether the canary's pods at its largest step fit the namespace's
    /// quota: an `exceeded quota` would only show as pods that never come.
    async fn quota_shortfalls(&self, report: &CanaryReport) -> Result<Vec<String>, Failure> {
        use k8s_openapi::api::core::v1::ResourceQuota;
        let api: Api<ResourceQuota> = Api::namespaced(self.client.clone(), self.namespace);
        let quotas = api
            .list(&ListParams::default())
            .await
            .map_err(|e| api_failure("reading the ResourceQuotas", &e))?
            .items;
        let last = self.plan.steps.last().copied().unwrap_or(1);
        let deployments: Vec<(String, Deployment, u32)> = self
            .release
            .iter()
            .filter(|m| {
                objects::is_app_deployment(m) && report.services.iter().any(|s| s == m.name())
            })
            .filter_map(|m| {
                let d: Deployment = serde_json::from_value(m.object.clone()).ok()?;
                let stable = report.stable_replicas.get(m.name()).copied().unwrap_or(1);
                let pods = objects::canary_replicas(m.name(), stable, last).0;
                Some((m.name().to_string(), d, pods))
            })
            .collect();
        let needs: Vec<(String, &Deployment, u32)> = deployments
            .iter()
            .map(|(n, d, p)| (n.clone(), d, *p))
            .collect();
        Ok(crate::checks::capacity::headroom_shortfalls(
            &quotas, &needs,
        ))
    }

    async fn steps(&self, report: &mut CanaryReport) -> Ending {
        let unscraped: Vec<&String> = report
            .services
            .iter()
            .filter(|s| !scraped(self.release, s))
            .collect();
        if !unscraped.is_empty() {
            self.reporter.status(
                "Canary",
                &format!(
                    "{}: pods not scraped by Prometheus (no prometheus.io/scrape annotation), judged by their readiness and restarts only",
                    unscraped
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        match self.quota_shortfalls(report).await {
            Ok(short) if !short.is_empty() => {
                return Ending::Stopped(
                    Failure::refused("refusing the canary: its pods do not fit the namespace's quota; no canary object was created",
                    )
                    .with_details(short.into_iter().chain(["hint: raise quota.hard in the environment file, or deploy with --strategy rolling".to_string()]).collect()),
                );
            }
            Ok(_) => {}
            Err(failure) => return Ending::Stopped(failure),
        }
        if let Err(e) = set_stable_selectors(self.client, self.namespace, true).await {
            return Ending::Stopped(api_failure("pointing the Services at the stable pods", &e));
        }
        for (index, &weight) in self.plan.steps.iter().enumerate() {
            let replicas = report.stable_replicas.clone();
            let derived = objects::derive(
                self.release,
                &report.services,
                self.environment,
                weight,
                &|name| replicas.get(name).copied().unwrap_or(1),
            );
            let shares: BTreeMap<String, f64> = report
                .services
                .iter()
                .map(|s| {
                    let stable = replicas.get(s).copied().unwrap_or(1);
                    (s.clone(), objects::canary_replicas(s, stable, weight).1)
                })
                .collect();
            self.reporter.status(
                "Canary",
                &format!(
                    "step {}/{}: {weight}% ({})",
                    index + 1,
                    self.plan.steps.len(),
                    shares
                        .iter()
                        .map(|(s, share)| format!("{s} {share}%"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            report.steps.push(StepReport {
                weight,
                shares,
                rounds: Vec::new(),
            });
            if self.stop.is_stopped() {
                return self.stopped(&format!("before the canary's step to {weight}%"));
            }
            let manifests: Vec<Manifest> = derived.all().cloned().collect();
            let applied =
                match apply::apply_set(self.client, &manifests, &self.apply, self.reporter).await {
                    Ok(applied) => applied,
                    Err(_) if self.stop.is_stopped() => {
                        return self.stopped(&format!("while setting the canary to {weight}%"));
                    }
                    Err(e) => return Ending::Stopped(Failure::from(e)),
                };
            let waited = crate::ops::rollouts::wait(
                self.client,
                self.namespace,
                &applied,
                self.timeout,
                Some(self.stop.subscribe()),
                self.reporter,
            )
            .await;
            if self.stop.is_stopped() {
                return self.stopped(&format!("while the canary's pods started at {weight}%"));
            }
            if let Some(failure) = waited.failure {
                for card in &waited.cards {
                    self.reporter.failure_card(card);
                }
                return Ending::Aborted(Failure::failed(format!(
                        "the canary's pods did not become ready at {weight}% ({}); the canary was aborted, the stable version is untouched",
                        failure.message
                    ),
                ).with_details(failure.details));
            }
            let mut inconclusive = 0;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.plan.interval) => {}
                    _ = self.stop.stopped() => {
                        return self.stopped(&format!("during the canary's step at {weight}%"));
                    }
                }
                let round = tokio::select! {
                    round = self.round(&report.services) => round,
                    _ = self.stop.stopped() => {
                        return self.stopped(&format!("during the canary's analysis at {weight}%"));
                    }
                };
                self.say(weight, &round);
                let verdict = round.verdict;
                let failing = round
                    .measurements
                    .iter()
                    .find(|m| m.verdict == Verdict::Fail)
                    .cloned();
                // Why the round could not be judged: no traffic, in the
                // issue's words, or what kept Prometheus from answering.
                let inconclusive_because = round
                    .measurements
                    .iter()
                    .find(|m| m.verdict == Verdict::Inconclusive)
                    .map(|m| match &m.note {
                        Some(note) if !m.no_traffic() => note.clone(),
                        _ => "no traffic reached the canary".to_string(),
                    });
                if let Some(step) = report.steps.last_mut() {
                    step.rounds.push(round);
                }
                match verdict {
                    Verdict::Pass => break,
                    Verdict::Fail => {
                        let m = failing.expect("a failing round has a failing measurement");
                        return Ending::Aborted(
                            Failure::failed(format!(
                                    "the canary failed at {weight}%: {} {} is {} (threshold {}); aborted, the stable version is untouched",
                                    m.service,
                                    m.check,
                                    value_text(m.value),
                                    m.threshold
                                ),
                            )
                            .with_details(vec![format!("query: {}", m.query)]),
                        );
                    }
                    Verdict::Inconclusive => {
                        inconclusive += 1;
                        if inconclusive >= self.plan.failure_limit {
                            return Ending::Aborted(Failure::failed(format!(
                                "the canary failed at {weight}%: {} ({inconclusive} inconclusive round(s), failureLimit {}); aborted, the stable version is untouched",
                                inconclusive_because
                                    .as_deref()
                                    .unwrap_or("no traffic reached the canary"),
                                self.plan.failure_limit
                            )));
                        }
                    }
                }
            }
        }
        if self.plan.manual_promotion {
            Ending::Paused
        } else {
            Ending::Promote
        }
    }

    /// One round: the analysis and the canary pods' health, at once.
    async fn round(&self, services: &[String]) -> Round {
        // Services whose pods Prometheus does not scrape would only ever
        // be inconclusive: they are judged by their pods (said at the start).
        let analysed: Vec<String> = services
            .iter()
            .filter(|s| scraped(self.release, s))
            .cloned()
            .collect();
        let spec = AnalysisSpec {
            prometheus_url: self.prometheus_url.to_string(),
            namespace: self.namespace.to_string(),
            services: analysed.clone(),
            window: self.plan.interval,
            thresholds: self.plan.thresholds,
            timeout: Duration::from_secs(10),
        };
        let analysis = async {
            if analysed.is_empty() {
                None
            } else {
                Some(analysis::analyse(&spec).await)
            }
        };
        let (analysis, pods) = tokio::join!(analysis, self.pods());
        let judged_pods = !pods.is_empty();
        let (mut measurements, verdict) = match analysis {
            Some(round) => (round.measurements, round.verdict),
            None if judged_pods => (Vec::new(), Verdict::Pass),
            None => (Vec::new(), Verdict::Inconclusive),
        };
        measurements.extend(pods);
        let verdict = if measurements.iter().any(|m| m.verdict == Verdict::Fail) {
            Verdict::Fail
        } else {
            verdict
        };
        Round {
            measurements,
            verdict,
        }
    }

    async fn pods(&self) -> Vec<Measurement> {
        canary_pods(self.client, self.namespace).await
    }

    /// One line a round: every value against its threshold, then each
    /// distinct reason a value is missing or not judged, once.
    fn say(&self, weight: u32, round: &Round) {
        let values: Vec<String> = round
            .measurements
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} (threshold {})",
                    m.service,
                    m.check,
                    value_text(m.value),
                    m.threshold
                )
            })
            .collect();
        let mut notes: Vec<&str> = Vec::new();
        for note in round.measurements.iter().filter_map(|m| m.note.as_deref()) {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" — {}", notes.join("; "))
        };
        self.reporter.status(
            "Analysis",
            &format!(
                "{weight}%: {} — {}{notes}",
                round.verdict.as_str(),
                values.join("; ")
            ),
        );
    }
}

fn value_text(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v}"),
        None => "no data".into(),
    }
}

/// The canary's pods, per service: any not ready, or restarted, fails.
pub async fn canary_pods(client: &kube::Client, namespace: &str) -> Vec<Measurement> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().labels(&format!("{TRACK}={}", objects::CANARY));
    let query = format!("pods {TRACK}={} not ready or restarted", objects::CANARY);
    let pods = match api.list(&lp).await {
        Ok(list) => list.items,
        Err(e) => {
            return vec![Measurement {
                service: "*".into(),
                check: "pods".into(),
                query,
                value: None,
                threshold: 0.0,
                verdict: Verdict::Inconclusive,
                note: Some(crate::cluster::api_message(&e)),
            }];
        }
    };
    let mut by_service: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for pod in &pods {
        let app = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .cloned()
            .unwrap_or_default();
        let status = pod.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let restarts: i32 = status
            .and_then(|s| s.container_statuses.as_ref())
            .map(|c| c.iter().map(|c| c.restart_count).sum())
            .unwrap_or(0);
        let entry = by_service.entry(app).or_default();
        entry.0 += 1;
        if !ready || restarts > 0 {
            entry.1 += 1;
        }
    }
    by_service
        .into_iter()
        .map(|(service, (_, bad))| Measurement {
            service,
            check: "pods".into(),
            query: query.clone(),
            value: Some(f64::from(bad)),
            threshold: 0.0,
            verdict: if bad > 0 {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            note: (bad > 0).then(|| format!("{bad} canary pod(s) not ready or restarted")),
        })
        .collect()
}
