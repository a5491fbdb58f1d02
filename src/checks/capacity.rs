//! `autoscaling` and `quota`: whether the platform can still grow, drain a
//! node and roll out the next release.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::live::{Live, name_of};
use super::{CheckId, CheckResult, Findings, Status, count};
use crate::quantity::{parse_cpu_millis, parse_memory_bytes};

/// A VPA recommendation this far from the request (either way) warns.
pub const VPA_FACTOR: f64 = 2.0;
/// Quota usage at or above this share warns.
pub const QUOTA_WARN: f64 = 0.8;

/// The `autoscaling` check: HPAs active and not pinned at max, PDBs that
/// allow a disruption, VPA recommendations near the requests. `vpas` are
/// the live VPA objects (`Ok(None)`: the CRD is not installed; `Err`: they
/// could not be read, which is never taken for "not installed").
pub fn autoscaling(live: &Live, vpas: Result<Option<&[Value]>, &str>) -> CheckResult {
    let mut f = Findings::default();
    for hpa in &live.hpas {
        let name = name_of(&hpa.metadata);
        let spec = hpa.spec.as_ref();
        let max = spec.map(|s| s.max_replicas).unwrap_or(0);
        let status = hpa.status.clone().unwrap_or_default();
        let current = status.current_replicas.unwrap_or(0);
        let conditions = status.conditions.unwrap_or_default();
        let condition = |t: &str| conditions.iter().find(|c| c.type_ == t);
        let metrics: Vec<String> = status
            .current_metrics
            .iter()
            .flatten()
            .filter_map(|m| {
                let r = m.resource.as_ref()?;
                let now = r.current.average_utilization?;
                let target = spec?
                    .metrics
                    .iter()
                    .flatten()
                    .filter_map(|m| m.resource.as_ref())
                    .find(|t| t.name == r.name)
                    .and_then(|t| t.target.average_utilization)
                    .map(|t| format!(" (target {t}%)"))
                    .unwrap_or_default();
                Some(format!("{} {now}%{target}", r.name))
            })
            .collect();
        let metrics = if metrics.is_empty() {
            "no current metrics".to_string()
        } else {
            metrics.join(", ")
        };
        match condition("ScalingActive") {
            Some(c) if c.status == "True" => {}
            Some(c) => {
                f.fail(format!(
                    "HPA/{name}: ScalingActive {}: {}: {}",
                    c.status,
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ));
                f.hint(format!("an HPA without metrics does not scale: is metrics-server running (`fintechctl debug top {}`)?", live.environment));
                continue;
            }
            None => {
                f.fail(format!(
                    "HPA/{name}: no ScalingActive condition yet ({metrics})"
                ));
                f.hint(format!("an HPA without metrics does not scale: is metrics-server running (`fintechctl debug top {}`)?", live.environment));
                continue;
            }
        }
        if max > 0 && current >= max {
            f.warn(format!(
                "HPA/{name}: pinned at maxReplicas {max} ({metrics})"
            ));
            f.hint("at its maximum the HPA cannot absorb more load: raise autoscaling.maxReplicas in the environment file or find what drives the load");
        } else {
            f.pass(format!(
                "HPA/{name}: {current} replica(s) of max {max}, {metrics}"
            ));
        }
    }
    for pdb in &live.pdbs {
        let name = name_of(&pdb.metadata);
        let Some(status) = &pdb.status else {
            f.warn(format!("PDB/{name}: no status yet"));
            continue;
        };
        if status.disruptions_allowed < 1 {
            f.warn(format!(
                "PDB/{name}: allows 0 disruptions ({} healthy, {} required)",
                status.current_healthy, status.desired_healthy
            ));
            f.hint("a PDB that allows no disruption blocks every node drain and cluster upgrade: more replicas, or a lower minAvailable");
        } else {
            f.pass(format!(
                "PDB/{name}: allows {} disruption(s) ({} healthy, {} required)",
                status.disruptions_allowed, status.current_healthy, status.desired_healthy
            ));
        }
    }
    match vpas {
        Ok(None) => {
            f.pass("VerticalPodAutoscaler CRD not installed: no recommendations to compare")
        }
        Err(why) => {
            f.warn(format!(
                "VerticalPodAutoscalers could not be read ({why}): recommendations not compared"
            ));
        }
        Ok(Some(vpas)) => {
            for vpa in vpas {
                vpa_findings(live, vpa, &mut f);
            }
        }
    }
    let summary = match f.status() {
        Status::Pass | Status::Skipped => format!(
            "{} and {} healthy",
            count(live.hpas.len(), "HPA", "HPAs"),
            count(live.pdbs.len(), "PDB", "PDBs")
        ),
        _ => {
            let worst = f.lines(f.status());
            format!(
                "{}{}",
                worst.first().copied().unwrap_or_default(),
                if worst.len() > 1 {
                    format!(" (+{} more)", worst.len() - 1)
                } else {
                    String::new()
                }
            )
        }
    };
    f.finish(CheckId::Autoscaling, summary)
}

fn vpa_findings(live: &Live, vpa: &Value, f: &mut Findings) {
    let name = vpa["metadata"]["name"].as_str().unwrap_or("");
    let target = vpa["spec"]["targetRef"]["name"].as_str().unwrap_or("");
    let recommendations = vpa["status"]["recommendation"]["containerRecommendations"].as_array();
    let Some(recommendations) = recommendations else {
        f.pass(format!("VPA/{name}: no recommendation yet"));
        return;
    };
    let Some(deployment) = live
        .deployments
        .iter()
        .find(|d| name_of(&d.metadata) == target)
    else {
        return;
    };
    for rec in recommendations {
        let container = rec["containerName"].as_str().unwrap_or("");
        let requests = requests_of(deployment, Some(container));
        for (resource, parse) in [("cpu", cpu as fn(&str) -> Option<f64>), ("memory", memory)] {
            let Some(recommended) = rec["target"][resource].as_str().and_then(parse) else {
                continue;
            };
            let Some(requested) = requests.get(resource).copied() else {
                continue;
            };
            if requested <= 0.0 || recommended <= 0.0 {
                continue;
            }
            let ratio = recommended / requested;
            let line = format!(
                "VPA/{name}: {container} {resource} recommendation {} vs request {}",
                rec["target"][resource].as_str().unwrap_or(""),
                show(resource, requested)
            );
            if !(1.0 / VPA_FACTOR..=VPA_FACTOR).contains(&ratio) {
                f.warn(format!("{line} ({ratio:.1}x)"));
                f.hint("requests far from what the pods use waste the quota or starve the pods: adjust services.*.resources in the environment file");
            } else {
                f.pass(line);
            }
        }
    }
}

fn cpu(s: &str) -> Option<f64> {
    parse_cpu_millis(s).ok().map(|m| m as f64)
}

fn memory(s: &str) -> Option<f64> {
    parse_memory_bytes(s).ok().map(|b| b as f64)
}

fn show(resource: &str, value: f64) -> String {
    if resource.contains("memory") {
        crate::human::bytes(value.max(0.0) as u64)
    } else if resource.contains("cpu") {
        format!("{}m", value.round() as i64)
    } else {
        format!("{}", value.round() as i64)
    }
}

/// Per-pod requests and limits of a Deployment's template (all containers,
/// or one), keyed as a ResourceQuota names them: `requests.cpu`, `cpu`,
/// `limits.memory`, … in millicores and bytes.
fn requests_of(d: &Deployment, only: Option<&str>) -> BTreeMap<&'static str, f64> {
    let mut sums: BTreeMap<&'static str, f64> = BTreeMap::new();
    let containers = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    for c in containers
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
    {
        let r = c.resources.clone().unwrap_or_default();
        let get = |m: &Option<BTreeMap<String, Quantity>>, k: &str| {
            m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone())
        };
        for (key, value) in [
            ("cpu", get(&r.requests, "cpu").and_then(|q| cpu(&q))),
            (
                "memory",
                get(&r.requests, "memory").and_then(|q| memory(&q)),
            ),
            (
                "requests.cpu",
                get(&r.requests, "cpu").and_then(|q| cpu(&q)),
            ),
            (
                "requests.memory",
                get(&r.requests, "memory").and_then(|q| memory(&q)),
            ),
            ("limits.cpu", get(&r.limits, "cpu").and_then(|q| cpu(&q))),
            (
                "limits.memory",
                get(&r.limits, "memory").and_then(|q| memory(&q)),
            ),
        ] {
            if let Some(v) = value {
                *sums.entry(key).or_default() += v;
            }
        }
    }
    sums.insert("pods", 1.0);
    sums.insert("count/pods", 1.0);
    sums
}

/// Pods a rolling update adds on top of `replicas` (maxSurge, 25% by default).
fn surge_pods(d: &Deployment) -> i32 {
    let spec = d.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
    let strategy = spec.and_then(|s| s.strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return 0;
    }
    let surge = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_surge.clone())
        .unwrap_or(IntOrString::String("25%".into()));
    match surge {
        IntOrString::Int(n) => n,
        IntOrString::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(25.0);
            ((replicas as f64) * pct / 100.0).ceil() as i32
        }
    }
}

fn quantity(resource: &str, q: &str) -> Option<f64> {
    if resource.contains("memory") || resource.contains("storage") {
        memory(q)
    } else if resource.contains("cpu") {
        cpu(q)
    } else {
        q.parse().ok()
    }
}

/// The `quota` check: usage against every hard limit (warn at 80 %), and
/// whether the largest rolling-update surge still fits.
pub fn quota(live: &Live) -> CheckResult {
    let mut f = Findings::default();
    if live.quotas.is_empty() {
        f.pass(format!("no ResourceQuota in namespace {}", live.namespace));
        return f.finish(CheckId::Quota, "no ResourceQuota");
    }
    // The surge of the workload whose next rolling update needs the most.
    let surges: Vec<(String, BTreeMap<&'static str, f64>)> = live
        .managed_deployments()
        .map(|d| {
            let pods = surge_pods(d) as f64;
            let per_pod = requests_of(d, None);
            (
                format!("Deployment/{}", name_of(&d.metadata)),
                per_pod.into_iter().map(|(k, v)| (k, v * pods)).collect(),
            )
        })
        .collect();
    let mut tightest: Option<(f64, String)> = None;
    for q in &live.quotas {
        let qname = name_of(&q.metadata);
        let status = q.status.clone().unwrap_or_default();
        let hard = status.hard.unwrap_or_default();
        let used = status.used.unwrap_or_default();
        for (resource, limit) in &hard {
            let Some(limit_v) = quantity(resource, &limit.0) else {
                continue;
            };
            let used_v = used
                .get(resource)
                .and_then(|u| quantity(resource, &u.0))
                .unwrap_or(0.0);
            let share = if limit_v > 0.0 { used_v / limit_v } else { 1.0 };
            let line = format!(
                "ResourceQuota/{qname} {resource}: {} of {} used ({:.0} %)",
                show(resource, used_v),
                show(resource, limit_v),
                share * 100.0
            );
            if share > 1.0 {
                f.fail(line);
                f.hint("usage above the hard limit (the quota was lowered): no new pod is admitted until usage drops");
            } else if share >= QUOTA_WARN {
                f.warn(line);
                f.hint("raise the quota in the environment file (quota.hard) before the next scale-up or deploy needs it");
            } else {
                f.pass(line);
            }
            if tightest.as_ref().is_none_or(|(s, _)| share > *s) {
                tightest = Some((share, format!("{resource} {:.0} %", share * 100.0)));
            }
            for (workload, needs) in &surges {
                let Some(extra) = needs.get(resource.as_str()).copied() else {
                    continue;
                };
                if extra > 0.0 && used_v + extra > limit_v {
                    f.warn(format!(
                        "ResourceQuota/{qname} {resource}: the next rolling update of {workload} needs {} more, {} left",
                        show(resource, extra),
                        show(resource, (limit_v - used_v).max(0.0))
                    ));
                    f.hint("a rolling update's surge pods are refused with `exceeded quota` and the deploy hangs: raise quota.hard or lower maxSurge");
                }
            }
        }
    }
    let summary = match f.status() {
        Status::Fail | Status::Warn => {
            let lines = f.lines(f.status());
            format!(
                "{}{}",
                lines.first().copied().unwrap_or_default(),
                if lines.len() > 1 {
                    format!(" (+{} more)", lines.len() - 1)
                } else {
                    String::new()
                }
            )
        }
        _ => format!(
            "within quota, a rolling update fits (highest: {})",
            tightest.map(|(_, t)| t).unwrap_or_default()
        ),
    };
    f.finish(CheckId::Quota, summary)
}

/// What `pods` more pods of `d`'s template need of each quota, against
/// what `quotas` leave: one line per hard limit they would exceed. For a
/// canary (docs/canary.md), checked before its pods are created.
pub fn headroom_shortfalls(
    quotas: &[k8s_openapi::api::core::v1::ResourceQuota],
    needs: &[(String, &Deployment, u32)],
) -> Vec<String> {
    let mut total: BTreeMap<&'static str, f64> = BTreeMap::new();
    for (_, d, pods) in needs {
        for (k, v) in requests_of(d, None) {
            *total.entry(k).or_default() += v * f64::from(*pods);
        }
    }
    let mut out = Vec::new();
    for q in quotas {
        let qname = name_of(&q.metadata);
        let status = q.status.clone().unwrap_or_default();
        let hard = status
            .hard
            .or_else(|| q.spec.clone().and_then(|s| s.hard))
            .unwrap_or_default();
        let used = status.used.unwrap_or_default();
        for (resource, limit) in &hard {
            let (Some(limit_v), Some(extra)) = (
                quantity(resource, &limit.0),
                total.get(resource.as_str()).copied(),
            ) else {
                continue;
            };
            let used_v = used
                .get(resource)
                .and_then(|u| quantity(resource, &u.0))
                .unwrap_or(0.0);
            if extra > 0.0 && used_v + extra > limit_v {
                out.push(format!(
                    "ResourceQuota/{qname} {resource}: the canary's pods need {} more, {} left",
                    show(resource, extra),
                    show(resource, (limit_v - used_v).max(0.0))
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_pods_beyond_the_quota_are_named() {
        let quota: k8s_openapi::api::core::v1::ResourceQuota =
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "q"},
                "status": {"hard": {"requests.cpu": "1", "requests.memory": "8Gi"},
                           "used": {"requests.cpu": "600m", "requests.memory": "1Gi"}}
            }))
            .unwrap();
        let d = deployment(3, serde_json::json!(1));
        let one = headroom_shortfalls(std::slice::from_ref(&quota), &[("api".into(), &d, 1)]);
        assert!(one.is_empty(), "250m of 400m left fits: {one:?}");
        let two = headroom_shortfalls(std::slice::from_ref(&quota), &[("api".into(), &d, 2)]);
        assert_eq!(
            two,
            ["ResourceQuota/q requests.cpu: the canary's pods need 500m more, 400m left"]
        );
    }

    fn deployment(replicas: i32, surge: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api"},
            "spec": {"replicas": replicas, "selector": {},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge}},
                "template": {"spec": {"containers": [{"name": "api", "resources": {
                    "requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}}]}}}
        }))
        .unwrap()
    }

    #[test]
    fn surges_count_ints_and_round_percentages_up() {
        assert_eq!(surge_pods(&deployment(3, serde_json::json!(1))), 1);
        assert_eq!(surge_pods(&deployment(3, serde_json::json!("25%"))), 1);
        assert_eq!(surge_pods(&deployment(10, serde_json::json!("25%"))), 3);
        let r = requests_of(&deployment(1, serde_json::json!(1)), None);
        assert_eq!(r["requests.cpu"], 250.0);
        assert_eq!(r["limits.memory"], 1024.0 * 1024.0 * 1024.0);
    }

    /// Issue 21 item 9: VPAs that could not be listed are not "the CRD is
    /// not installed".
    #[test]
    fn unreadable_vpas_warn_instead_of_passing_as_not_installed() {
        let live = Live::default();
        let not_installed = autoscaling(&live, Ok(None));
        assert_eq!(not_installed.status, crate::checks::Status::Pass);
        let unreadable = autoscaling(&live, Err("the server is unable to answer (500)"));
        assert_eq!(
            unreadable.status,
            crate::checks::Status::Warn,
            "{unreadable:?}"
        );
        let text = format!("{unreadable:?}");
        assert!(
            text.contains("could not be read") && !text.contains("not installed"),
            "{text}"
        );
    }
}
