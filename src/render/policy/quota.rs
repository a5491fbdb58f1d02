//! `quota-headroom`: the rollout's peak ((replicas + maxSurge) × requests and
//! limits, pods, claims) against the namespace's ResourceQuota, with
//! LimitRange defaults filled in as the API server does.

use std::collections::BTreeMap;

use serde_json::Value;

use super::pod::RESOURCE_FIELDS;
use super::set::{Set, Workload, namespace};
use super::{QUOTA_HEADROOM, Raw, Severity, error};
use crate::quantity::{format_amount, quantity_for};

/// What a ResourceQuota can cap that a rollout's peak is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tracked {
    RequestsCpu,
    RequestsMemory,
    LimitsCpu,
    LimitsMemory,
    Pods,
    PersistentVolumeClaims,
    RequestsStorage,
}

impl Tracked {
    fn of_key(key: &str) -> Option<Tracked> {
        Some(match key {
            "requests.cpu" | "cpu" => Tracked::RequestsCpu,
            "requests.memory" | "memory" => Tracked::RequestsMemory,
            "limits.cpu" => Tracked::LimitsCpu,
            "limits.memory" => Tracked::LimitsMemory,
            "pods" | "count/pods" => Tracked::Pods,
            "persistentvolumeclaims" | "count/persistentvolumeclaims" => {
                Tracked::PersistentVolumeClaims
            }
            "requests.storage" => Tracked::RequestsStorage,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Tracked::RequestsCpu => "requests.cpu",
            Tracked::RequestsMemory => "requests.memory",
            Tracked::LimitsCpu => "limits.cpu",
            Tracked::LimitsMemory => "limits.memory",
            Tracked::Pods => "pods",
            Tracked::PersistentVolumeClaims => "persistentvolumeclaims",
            Tracked::RequestsStorage => "requests.storage",
        }
    }

    /// The per-pod compute resource, `(bound, resource)`.
    fn pod_field(self) -> Option<(&'static str, &'static str)> {
        match self {
            Tracked::RequestsCpu => Some(("requests", "cpu")),
            Tracked::RequestsMemory => Some(("requests", "memory")),
            Tracked::LimitsCpu => Some(("limits", "cpu")),
            Tracked::LimitsMemory => Some(("limits", "memory")),
            _ => None,
        }
    }
}

/// What one object adds to a namespace's usage at the rollout's peak.
pub(super) struct Load {
    object: String,
    /// How the pod count came about, e.g. `3 replicas + maxSurge 1`.
    why: String,
    pods: i128,
    /// Per-pod amounts of `Tracked::pod_field`s; `Err` names the container
    /// that sets none (after LimitRange defaults).
    per_pod: BTreeMap<Tracked, Result<i128, String>>,
    pvcs: i128,
    storage: i128,
}

impl Load {
    fn amount(&self, tracked: Tracked) -> Result<i128, String> {
        match tracked {
            Tracked::Pods => Ok(self.pods),
            Tracked::PersistentVolumeClaims => Ok(self.pvcs),
            Tracked::RequestsStorage => Ok(self.storage),
            _ if self.pods == 0 => Ok(0),
            _ => match &self.per_pod[&tracked] {
                Ok(per_pod) => Ok(per_pod * self.pods),
                Err(missing) => Err(missing.clone()),
            },
        }
    }

    fn describe(&self, tracked: Tracked) -> String {
        let name = tracked.name();
        match (tracked.pod_field(), self.per_pod.get(&tracked)) {
            (Some(_), Some(Ok(per_pod))) => format!(
                "{} {} × {} = {} ({})",
                self.object,
                self.pods,
                format_amount(name, *per_pod),
                format_amount(name, per_pod * self.pods),
                self.why
            ),
            _ => format!(
                "{} {} ({})",
                self.object,
                format_amount(name, self.amount(tracked).unwrap_or(0)),
                self.why
            ),
        }
    }
}

/// LimitRange defaults for containers in a namespace, per resource.
#[derive(Default)]
pub(super) struct ContainerDefaults {
    limit: BTreeMap<String, Value>,
    request: BTreeMap<String, Value>,
}

impl ContainerDefaults {
    fn of(set: &Set, namespace: &str) -> Self {
        let mut defaults = ContainerDefaults::default();
        for (_, range) in set.of_kind("LimitRange", namespace) {
            for item in range.object["spec"]["limits"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if item["type"].as_str() != Some("Container") {
                    continue;
                }
                for (field, into) in [
                    ("default", &mut defaults.limit),
                    ("defaultRequest", &mut defaults.request),
                ] {
                    for (resource, value) in item[field].as_object().into_iter().flatten() {
                        into.entry(resource.clone())
                            .or_insert_with(|| value.clone());
                    }
                }
            }
        }
        defaults
    }

    /// A container's effective `bound` of `resource`, as the API server
    /// fills it in: a missing request defaults to the container's own
    /// limit, then to the LimitRange's defaultRequest, then its default.
    fn effective<'v>(&'v self, container: &'v Value, bound: &str, resource: &str) -> &'v Value {
        let resources = &container["resources"];
        let candidates: [&Value; 3] = if bound == "requests" {
            [
                &resources["requests"][resource],
                &resources["limits"][resource],
                self.request.get(resource).unwrap_or(&Value::Null),
            ]
        } else {
            [&resources["limits"][resource], &Value::Null, &Value::Null]
        };
        candidates
            .into_iter()
            .chain(self.limit.get(resource))
            .find(|v| !v.is_null())
            .unwrap_or(&Value::Null)
    }
}

/// A pod's usage of `(bound, resource)` the way the quota counts it: app
/// containers and sidecars add up, a regular init container runs alone
/// (beside the sidecars started before it), and the pod overhead is added.
pub(super) fn pod_amount(
    workload: &Workload,
    defaults: &ContainerDefaults,
    bound: &str,
    resource: &str,
) -> Result<i128, String> {
    let mut app = 0i128;
    let mut sidecars = 0i128;
    let mut init_peak = 0i128;
    for container in workload.containers() {
        let value = defaults.effective(container.spec, bound, resource);
        let amount = match quantity_for(value, resource) {
            Some(Ok(amount)) => amount,
            Some(Err(error)) => return Err(format!("{}: {error}", container.describe())),
            None => return Err(container.describe()),
        };
        if !container.init {
            app += amount;
        } else if container.is_sidecar() {
            sidecars += amount;
            init_peak = init_peak.max(sidecars);
        } else {
            init_peak = init_peak.max(sidecars + amount);
        }
    }
    let overhead = match quantity_for(&workload.pod["overhead"][resource], resource) {
        Some(Ok(amount)) => amount,
        _ => 0,
    };
    Ok((app + sidecars).max(init_peak) + overhead)
}

/// `maxSurge` (an int or a percentage, rounded up; 25% by default) for a
/// Deployment running `replicas`; 0 for the Recreate strategy.
pub(super) fn max_surge(spec: &Value, replicas: i128) -> (i128, String) {
    let strategy = &spec["strategy"];
    if strategy["type"].as_str() == Some("Recreate") {
        return (0, "Recreate".into());
    }
    let surge = &strategy["rollingUpdate"]["maxSurge"];
    let (amount, text) = match surge {
        Value::Number(n) => (i128::from(n.as_i64().unwrap_or(0)), n.to_string()),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i128>().ok()) {
            Some(percent) => ((replicas * percent + 99) / 100, s.clone()),
            None => (s.parse().unwrap_or(0), s.clone()),
        },
        _ => ((replicas * 25 + 99) / 100, "25% (default)".into()),
    };
    (amount, format!("maxSurge {text}"))
}

/// The loads of a namespace at the rollout's peak; with `at_hpa_max`, the
/// workloads an HPA scales run at its maxReplicas instead of minReplicas.
pub(super) fn peak_loads(set: &Set, namespace: &str, at_hpa_max: bool) -> Vec<Load> {
    let defaults = ContainerDefaults::of(set, namespace);
    let mut loads = Vec::new();
    for workload in set.workloads.iter().filter(|w| w.namespace == namespace) {
        let spec = &workload.manifest.object["spec"];
        let hpa = set.hpa_for(workload);
        let replicas = || -> (i128, String) {
            match hpa {
                Some(hpa) if at_hpa_max => {
                    let max = hpa.object["spec"]["maxReplicas"].as_i64().unwrap_or(1);
                    (max.into(), format!("{} maxReplicas {max}", hpa.display()))
                }
                Some(hpa) => {
                    let min = hpa.object["spec"]["minReplicas"].as_i64().unwrap_or(1);
                    (min.into(), format!("{} minReplicas {min}", hpa.display()))
                }
                None => {
                    let n = spec["replicas"].as_i64().unwrap_or(1);
                    (n.into(), format!("{n} replicas"))
                }
            }
        };
        let job_pods = |job_spec: &Value| -> (i128, String) {
            let parallelism = job_spec["parallelism"].as_i64().unwrap_or(1);
            let pods = match job_spec["completions"].as_i64() {
                Some(completions) => parallelism.min(completions),
                None => parallelism,
            };
            (pods.into(), format!("parallelism {parallelism}"))
        };
        let mut pvcs = 0;
        let mut storage = 0;
        let (pods, why) = match workload.kind {
            "Deployment" => {
                let (replicas, why) = replicas();
                let (surge, surge_why) = max_surge(spec, replicas);
                (replicas + surge, format!("{why} + {surge_why}"))
            }
            "StatefulSet" => {
                let (replicas, why) = replicas();
                let templates = spec["volumeClaimTemplates"]
                    .as_array()
                    .map_or(&[][..], |t| t);
                pvcs = replicas * templates.len() as i128;
                storage = replicas
                    * templates
                        .iter()
                        .filter_map(|t| {
                            quantity_for(&t["spec"]["resources"]["requests"]["storage"], "storage")
                        })
                        .filter_map(Result::ok)
                        .sum::<i128>();
                (replicas, why)
            }
            "Job" => job_pods(spec),
            "CronJob" => job_pods(&spec["jobTemplate"]["spec"]),
            "Pod" => (1, "a bare pod".into()),
            // One pod per node: the node count is not in the set.
            _ => continue,
        };
        let per_pod = RESOURCE_FIELDS
            .iter()
            .map(|(bound, resource)| {
                let tracked = Tracked::of_key(&format!("{bound}.{resource}")).expect("known");
                (tracked, pod_amount(workload, &defaults, bound, resource))
            })
            .collect();
        loads.push(Load {
            object: workload.display(),
            why,
            pods,
            per_pod,
            pvcs,
            storage,
        });
    }
    for (_, claim) in set.of_kind("PersistentVolumeClaim", namespace) {
        let storage = quantity_for(
            &claim.object["spec"]["resources"]["requests"]["storage"],
            "storage",
        );
        loads.push(Load {
            object: claim.display(),
            why: "a claim".into(),
            pods: 0,
            per_pod: BTreeMap::new(),
            pvcs: 1,
            storage: storage.and_then(Result::ok).unwrap_or(0),
        });
    }
    loads
}

pub(super) fn quota_headroom(set: &Set, out: &mut Vec<Raw>) {
    for (index, quota) in set.manifests.iter().enumerate() {
        if quota.kind() != "ResourceQuota" {
            continue;
        }
        let namespace = namespace(quota);
        let hard: Vec<(Tracked, i128)> = quota.object["spec"]["hard"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| {
                let tracked = Tracked::of_key(key)?;
                let amount = quantity_for(value, tracked.name())?.ok()?;
                Some((tracked, amount))
            })
            .collect();
        if hard.is_empty() {
            continue;
        }
        let at_min = peak_loads(set, namespace, false);
        let has_hpa = set
            .workloads
            .iter()
            .any(|w| w.namespace == namespace && set.hpa_for(w).is_some());
        let at_max = has_hpa.then(|| peak_loads(set, namespace, true));
        for (tracked, allowed) in hard {
            let name = tracked.name();
            let rejected: Vec<String> = at_min
                .iter()
                .filter_map(|load| {
                    let missing = load.amount(tracked).err()?;
                    Some(format!("{} ({missing})", load.object))
                })
                .collect();
            if !rejected.is_empty() {
                out.push(error(
                    index,
                    QUOTA_HEADROOM,
                    format!(
                        "the quota caps {name}, but {} set(s) no {name} and no LimitRange gives a default: the API server rejects those pods",
                        rejected.join(", ")
                    ),
                ));
                continue;
            }
            let Some(excess) = overflow(&at_min, tracked, allowed) else {
                let Some(excess) = at_max.as_ref().and_then(|l| overflow(l, tracked, allowed))
                else {
                    continue;
                };
                out.push(Raw {
                    index,
                    rule: QUOTA_HEADROOM,
                    severity: Severity::Warning,
                    message: format!(
                        "{name}: with the HPAs at maxReplicas the rollout peak needs {} but the quota allows {} in namespace `{namespace}`; biggest: {}; the HPAs cannot scale that far during a rollout",
                        format_amount(name, excess.needed),
                        format_amount(name, allowed),
                        excess.biggest.join(", ")
                    ),
                });
                continue;
            };
            out.push(error(
                index,
                QUOTA_HEADROOM,
                format!(
                    "{name}: the rollout peak needs {} but the quota allows {} in namespace `{namespace}`; biggest: {}; pods would hang at \"exceeded quota\" halfway through the rollout",
                    format_amount(name, excess.needed),
                    format_amount(name, allowed),
                    excess.biggest.join(", ")
                ),
            ));
        }
    }
}

pub(super) struct Overflow {
    needed: i128,
    /// The three biggest contributors, described.
    biggest: Vec<String>,
}

pub(super) fn overflow(loads: &[Load], tracked: Tracked, allowed: i128) -> Option<Overflow> {
    let mut amounts: Vec<(i128, &Load)> = loads
        .iter()
        .filter_map(|load| Some((load.amount(tracked).ok()?, load)))
        .filter(|(amount, _)| *amount > 0)
        .collect();
    let needed: i128 = amounts.iter().map(|(amount, _)| amount).sum();
    if needed <= allowed {
        return None;
    }
    amounts.sort_by_key(|(amount, _)| std::cmp::Reverse(*amount));
    Some(Overflow {
        needed,
        biggest: amounts
            .iter()
            .take(3)
            .map(|(_, load)| load.describe(tracked))
            .collect(),
    })
}
