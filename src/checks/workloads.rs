//! `release`, `rollout`, `pods` and `endpoints`: pure functions on what was
//! read from the cluster ([`Live`]) and the release history.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::live::{Live, name_of, pod_ready};
use super::{CheckId, CheckResult, Findings, count};
use crate::cluster::diagnosis::{Thresholds, diagnose_pod};
use crate::cluster::records::{History, ReleaseRecord, ReleaseStatus};
use crate::cluster::rollout::{self, RolloutState};
use crate::render::labels;

/// How recent a restart must be to count against `pods`.
pub const RECENT_RESTART: std::time::Duration = std::time::Duration::from_secs(600);

/// The tag of an image reference (`repo/name:tag@digest` → `tag`).
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, tag)| tag)
}

fn containers_of(template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>) -> &[Container] {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
}

fn template_version(
    template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>,
) -> Option<&str> {
    template?
        .metadata
        .as_ref()?
        .labels
        .as_ref()?
        .get(labels::VERSION)
        .map(String::as_str)
}

fn describe_record(r: &ReleaseRecord) -> String {
    let when = r
        .finished_at
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let who =
        r.ci.as_ref()
            .map(|ci| format!("{} ({})", r.user, ci.provider))
            .unwrap_or_else(|| r.user.clone());
    format!(
        "revision {}: {} → {}, by {who}{when}",
        r.revision,
        if r.description.is_empty() {
            format!("deploy {}", r.version)
        } else {
            r.description.clone()
        },
        r.status
    )
}

/// `release`: the newest record succeeded and the live application
/// workloads run its version (image tags and the version label); `wanted`
/// (`--version`) must be that version.
pub fn release(
    live: &Live,
    history: &History,
    wanted: Option<&str>,
    services: &[&str],
) -> CheckResult {
    let mut f = Findings::default();
    let env = &live.environment;
    for bad in &history.unreadable {
        f.warn(format!(
            "record {} (revision {}) cannot be read: {}",
            bad.name, bad.revision, bad.reason
        ));
    }
    if let Some(aborted) = history
        .records
        .first()
        .filter(|r| r.status == ReleaseStatus::Aborted)
    {
        f.warn(format!(
            "newest revision {} ({}) is an aborted canary: the stable version was left running; {}",
            aborted.revision,
            aborted.version,
            describe_record(aborted)
        ));
    }
    let newest = history.running();
    let expected: Option<String> = match newest {
        None => {
            f.fail(format!(
                "no release record for {env} in namespace {}",
                live.namespace
            ));
            f.hint(format!(
                "deploy with `fintechctl deploy {env} --version TAG` (it records each revision)"
            ));
            wanted.map(str::to_string)
        }
        Some(record) => {
            let line = describe_record(record);
            if record.status == ReleaseStatus::Succeeded {
                f.pass(line);
            } else {
                f.fail(line);
                f.hint(format!(
                    "`fintechctl history {env}` shows what happened; deploy again or `fintechctl rollback {env}`"
                ));
            }
            if let Some(w) = wanted
                && w != record.version
            {
                f.fail(format!(
                    "--version {w}: the newest revision deployed {}",
                    record.version
                ));
                f.hint(format!(
                    "deploy it: `fintechctl deploy {env} --version {w}`"
                ));
            }
            Some(wanted.unwrap_or(&record.version).to_string())
        }
    };
    if let Some(expected) = &expected {
        for service in services {
            let Some(d) = live
                .deployments
                .iter()
                .find(|d| name_of(&d.metadata) == *service)
            else {
                f.fail(format!("Deployment/{service} does not exist"));
                continue;
            };
            let template = d.spec.as_ref().map(|s| &s.template);
            let mut wrong = Vec::new();
            let mut images = Vec::new();
            for c in containers_of(template) {
                let image = c.image.as_deref().unwrap_or("");
                images.push(image.to_string());
                if image_tag(image) != Some(expected.as_str()) {
                    wrong.push(format!("container {} runs {image}", c.name));
                }
            }
            let version = template_version(template);
            if version != Some(expected.as_str()) {
                wrong.push(format!(
                    "version label {}",
                    version.map_or("missing".to_string(), |v| format!("`{v}`"))
                ));
            }
            if wrong.is_empty() {
                f.pass(format!(
                    "Deployment/{service}: {}, version label {expected}",
                    images.join(", ")
                ));
            } else {
                f.fail(format!(
                    "Deployment/{service}: {} (expected {expected})",
                    wrong.join("; ")
                ));
                f.hint(
                    "someone changed the workload outside fintechctl, or a deploy did not finish: see the `drift` check and `fintechctl history`",
                );
            }
        }
    }
    let summary = match (newest, expected) {
        (Some(r), Some(v)) if f.status() == super::Status::Pass => {
            format!("revision {} ({v}) is live", r.revision)
        }
        (Some(r), _) => format!(
            "newest revision {} ({}) is {}",
            r.revision, r.version, r.status
        ),
        (None, _) => "no release recorded".to_string(),
    };
    let summary = if f.status() == super::Status::Fail && newest.is_some() {
        let failed: Vec<&str> = f.lines(super::Status::Fail);
        format!("{summary}; {}", failed.first().copied().unwrap_or_default())
    } else {
        summary
    };
    f.finish(CheckId::Release, summary)
}

/// The images of a workload's pod template in a record's manifests.
fn recorded_images(record: &ReleaseRecord, kind: &str, name: &str) -> Option<Vec<String>> {
    let m = record
        .manifests
        .iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)?;
    Some(
        m.pointer("/spec/template/spec/containers")?
            .as_array()?
            .iter()
            .map(|c| c["image"].as_str().unwrap_or("").to_string())
            .collect(),
    )
}

/// `rollout`: every managed Deployment and StatefulSet rolled out by
/// kubectl's rule, with the pod template of the newest recorded revision.
pub fn rollout(live: &Live, newest: Option<&ReleaseRecord>) -> CheckResult {
    let mut f = Findings::default();
    let mut workloads = 0;
    let mut check = |kind: &str,
                     name: &str,
                     state: RolloutState,
                     revision: Option<String>,
                     (ready, desired): (i32, i32),
                     images: Vec<String>| {
        workloads += 1;
        let display = format!("{kind}/{name}");
        let rev = revision
            .map(|r| format!(", revision {r}"))
            .unwrap_or_default();
        match state {
            RolloutState::Complete => {
                f.pass(format!("{display}: complete{rev}, {ready}/{desired} ready"))
            }
            RolloutState::Progressing { message } => {
                f.fail(format!("{display}: not rolled out{rev}: {message}"));
                f.hint(format!("wait for it, or see the `pods` check (`fintechctl debug {} {name}`) for why it is stuck", live.environment));
            }
            RolloutState::Failed { reason, message } => {
                f.fail(format!("{display}: {reason}: {message}"));
                f.hint(
                    "the controller gave up: see the `pods` check, then deploy again or roll back",
                );
            }
        }
        if let Some(record) = newest
            && let Some(recorded) = recorded_images(record, kind, name)
            && recorded != images
        {
            f.fail(format!(
                "{display}: runs {} but revision {} recorded {}",
                images.join(", "),
                record.revision,
                recorded.join(", ")
            ));
            f.hint("the live pod template is not the recorded release's: see the `drift` check");
        }
    };
    for d in live.managed_deployments() {
        let images = containers_of(d.spec.as_ref().map(|s| &s.template))
            .iter()
            .map(|c| c.image.clone().unwrap_or_default())
            .collect();
        check(
            "Deployment",
            name_of(&d.metadata),
            rollout::deployment_state(d),
            rollout::deployment_revision(d),
            rollout::deployment_progress(d),
            images,
        );
    }
    for s in live.managed_statefulsets() {
        let images = containers_of(s.spec.as_ref().map(|s| &s.template))
            .iter()
            .map(|c| c.image.clone().unwrap_or_default())
            .collect();
        check(
            "StatefulSet",
            name_of(&s.metadata),
            rollout::statefulset_state(s),
            rollout::statefulset_revision(s),
            rollout::statefulset_progress(s),
            images,
        );
    }
    let failing = f.lines(super::Status::Fail).len();
    let summary = if workloads == 0 {
        f.fail(format!(
            "no Deployment or StatefulSet managed by fintechctl in namespace {}",
            live.namespace
        ));
        "nothing deployed".to_string()
    } else if failing == 0 {
        format!("{} rolled out", count(workloads, "workload", "workloads"))
    } else {
        format!(
            "{} of {} not rolled out as recorded",
            failing,
            count(workloads, "workload", "workloads")
        )
    };
    f.finish(CheckId::Rollout, summary)
}

/// `pods`: every serving pod ready, no container waiting, no restart in
/// the last ten minutes (the restart count and last termination as evidence).
pub fn pods(live: &Live, now: Timestamp) -> CheckResult {
    let mut f = Findings::default();
    let mut total = 0;
    let mut bad = 0;
    for pod in live.serving_pods() {
        total += 1;
        let before = f.lines(super::Status::Fail).len();
        pod_findings(pod, &live.environment, now, &mut f);
        if f.lines(super::Status::Fail).len() > before {
            bad += 1;
        }
    }
    let summary = if total == 0 {
        f.fail(format!("no pods in namespace {}", live.namespace));
        "no pods".to_string()
    } else if bad == 0 {
        format!(
            "{} ready, none restarted recently",
            count(total, "pod", "pods")
        )
    } else {
        format!("{bad} of {} in trouble", count(total, "pod", "pods"))
    };
    f.finish(CheckId::Pods, summary)
}

fn pod_findings(pod: &Pod, env: &str, now: Timestamp, f: &mut Findings) {
    let name = name_of(&pod.metadata);
    // The component: fintechctl's debug tools take its name (the `app` label).
    let component = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app"))
        .cloned()
        .unwrap_or_else(|| "COMPONENT".into());
    let status = pod.status.clone().unwrap_or_default();
    let mut troubled = false;
    for c in status.container_statuses.iter().flatten() {
        if let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            troubled = true;
            f.fail(format!(
                "pod {name} container {}: waiting: {}{}",
                c.name,
                waiting.reason.as_deref().unwrap_or("unknown reason"),
                waiting
                    .message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
        if c.restart_count > 0 {
            let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let finished = last.and_then(|t| t.finished_at.as_ref()).map(|t| t.0);
            let recent = finished.is_none_or(|t| {
                now.as_millisecond() - t.as_millisecond() < RECENT_RESTART.as_millis() as i64
            });
            let line = format!(
                "pod {name} container {}: {} restart(s){}{}",
                c.name,
                c.restart_count,
                last.map(|t| format!(
                    ", last terminated: {} (exit code {})",
                    t.reason.as_deref().unwrap_or("unknown"),
                    t.exit_code
                ))
                .unwrap_or_default(),
                finished.map(|t| format!(" at {t}")).unwrap_or_default(),
            );
            if recent {
                troubled = true;
                f.fail(format!("{line}, within the last 10 minutes"));
                f.hint(format!(
                    "`fintechctl debug logs {env} {component} --previous` shows why it exited"
                ));
            } else {
                f.pass(line);
            }
        }
    }
    if !pod_ready(pod) {
        troubled = true;
        let why = diagnose_pod(pod, &Thresholds::default(), now)
            .map(|p| format!("{}: {}", p.reason, p.message))
            .unwrap_or_else(|| {
                format!(
                    "phase {}",
                    status.phase.clone().unwrap_or_else(|| "unknown".into())
                )
            });
        f.fail(format!("pod {name}: not ready ({why})"));
        f.hint(format!(
            "`fintechctl debug {env} {component}` shows its events and why"
        ));
    }
    if !troubled {
        f.pass(format!("pod {name}: ready"));
    }
}

/// `endpoints`: every managed Service with a selector has ready endpoints
/// in its EndpointSlices, as many as the ready pods it selects.
pub fn endpoints(live: &Live) -> CheckResult {
    let mut f = Findings::default();
    let mut services = 0;
    let mut empty = 0;
    for svc in live.managed_services() {
        let name = name_of(&svc.metadata);
        let selector: BTreeMap<String, String> = svc
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        if selector.is_empty() {
            continue;
        }
        services += 1;
        let ready_endpoints: usize = live
            .slices
            .iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .is_some_and(|n| n == name)
            })
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| {
                !e.addresses.is_empty()
                    && e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
            })
            .count();
        let ready_pods = live
            .pods_matching(&selector)
            .filter(|p| pod_ready(p))
            .count();
        if ready_endpoints == 0 {
            empty += 1;
            f.fail(format!(
                "Service/{name}: no ready endpoints ({ready_pods} ready pod(s) match its selector)"
            ));
            f.hint("no traffic reaches a Service without ready endpoints: see the `pods` check");
        } else if ready_endpoints != ready_pods {
            f.warn(format!(
                "Service/{name}: {ready_endpoints} ready endpoint(s) but {ready_pods} ready pod(s) match its selector"
            ));
            f.hint("EndpointSlices lag behind the pods: look again in a few seconds; if it persists, check the Service's selector and ports");
        } else {
            f.pass(format!(
                "Service/{name}: {ready_endpoints} ready endpoint(s) = ready pods"
            ));
        }
    }
    let summary = if services == 0 {
        "no Services with a selector".to_string()
    } else if empty == 0 {
        format!(
            "{} with ready endpoints",
            count(services, "Service", "Services")
        )
    } else {
        format!(
            "{empty} of {} without ready endpoints",
            count(services, "Service", "Services")
        )
    };
    f.finish(CheckId::Endpoints, summary)
}

/// A record's manifest of `kind`/`name`, if it has one.
pub fn recorded_manifest<'a>(
    record: &'a ReleaseRecord,
    kind: &str,
    name: &str,
) -> Option<&'a Value> {
    record
        .manifests
        .iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_ignore_registry_ports_and_digests() {
        assert_eq!(image_tag("fintech-ai/api-gateway:1.4.2"), Some("1.4.2"));
        assert_eq!(image_tag("registry:5000/x/y:2.0"), Some("2.0"));
        assert_eq!(image_tag("registry:5000/x/y"), None);
        assert_eq!(image_tag("x/y:3@sha256:abc"), Some("3"));
    }

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_recent_restart_fails_an_old_one_does_not() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let with_restart = |finished: &str| {
            pod(serde_json::json!({
                "metadata": {"name": "api-1", "labels": {"app": "api-gateway"}},
                "status": {"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "api", "ready": true, "restartCount": 2, "image": "x", "imageID": "",
                        "state": {"running": {"startedAt": "2026-01-01T11:00:00Z"}},
                        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": finished}}}]}
            }))
        };
        let mut f = Findings::default();
        pod_findings(
            &with_restart("2026-01-01T11:55:00Z"),
            "staging",
            now,
            &mut f,
        );
        let r = f.finish(CheckId::Pods, "");
        assert_eq!(r.status, super::super::Status::Fail);
        assert!(
            r.evidence[0].contains("2 restart(s), last terminated: OOMKilled (exit code 137)"),
            "{r:?}"
        );
        // The hint names fintechctl's own tool, for this environment and component.
        let hint = r.hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains("`fintechctl debug logs staging api-gateway --previous`"),
            "{hint}"
        );
        assert!(!hint.contains("kubectl "), "{hint}");
        let mut f = Findings::default();
        pod_findings(
            &with_restart("2026-01-01T11:00:00Z"),
            "staging",
            now,
            &mut f,
        );
        assert_eq!(f.status(), super::super::Status::Pass);
    }
}
