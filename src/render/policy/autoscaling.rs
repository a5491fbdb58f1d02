//! `hpa-vpa-conflict`: a VPA that updates pods must not fight an HPA over the
//! same resources.

use std::collections::BTreeSet;

use serde_json::Value;

use super::set::{Set, Workload, namespace};
use super::{HPA_VPA_CONFLICT, Raw, error};

pub(super) const AUTOSCALED_RESOURCES: [&str; 2] = ["cpu", "memory"];

pub(super) fn hpa_vpa_conflict(set: &Set, out: &mut Vec<Raw>) {
    for (index, vpa) in set.manifests.iter().enumerate() {
        if vpa.kind() != "VerticalPodAutoscaler" {
            continue;
        }
        let spec = &vpa.object["spec"];
        // The VPA's default mode updates pods.
        let mode = spec["updatePolicy"]["updateMode"]
            .as_str()
            .unwrap_or("Auto");
        if mode == "Off" {
            continue;
        }
        let namespace = namespace(vpa);
        let reference = &spec["targetRef"];
        let workload = set.target(reference, namespace);
        let controlled = vpa_controlled_resources(spec, workload);
        for (_, hpa) in set.of_kind("HorizontalPodAutoscaler", namespace) {
            let target = &hpa.object["spec"]["scaleTargetRef"];
            if target["kind"] != reference["kind"] || target["name"] != reference["name"] {
                continue;
            }
            let scaled = hpa_resources(&hpa.object["spec"]);
            let fought: Vec<&str> = scaled.intersection(&controlled).copied().collect();
            if !fought.is_empty() {
                out.push(error(
                    index,
                    HPA_VPA_CONFLICT,
                    format!(
                        "updateMode `{mode}` changes the {} requests of {}/{} while {} scales it on {}: each reacts to the other and the replica count and requests oscillate; use updateMode `Off` (recommendations only) or controlledResources without {}",
                        fought.join(" and "),
                        reference["kind"].as_str().unwrap_or(""),
                        reference["name"].as_str().unwrap_or(""),
                        hpa.display(),
                        fought.join(" and "),
                        fought.join(" and "),
                    ),
                ));
            }
        }
    }
}

/// The resources an HPA scales on, of cpu and memory. An autoscaling/v2 HPA
/// without metrics scales on CPU.
pub(super) fn hpa_resources(spec: &Value) -> BTreeSet<&'static str> {
    let metrics = spec["metrics"].as_array().filter(|m| !m.is_empty());
    let Some(metrics) = metrics else {
        return BTreeSet::from(["cpu"]);
    };
    metrics
        .iter()
        .filter_map(|metric| match metric["type"].as_str() {
            Some("Resource") => metric["resource"]["name"].as_str(),
            Some("ContainerResource") => metric["containerResource"]["name"].as_str(),
            _ => None,
        })
        .filter_map(|name| AUTOSCALED_RESOURCES.into_iter().find(|r| *r == name))
        .collect()
}

/// The resources a VPA changes. Each container follows the policy naming
/// it, else the `*` policy, else the defaults (cpu and memory); `mode: Off`
/// leaves a container alone.
pub(super) fn vpa_controlled_resources(
    spec: &Value,
    workload: Option<&Workload>,
) -> BTreeSet<&'static str> {
    let policies: Vec<&Value> = spec["resourcePolicy"]["containerPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let policy_for = |name: &str| {
        policies
            .iter()
            .find(|p| p["containerName"].as_str() == Some(name))
            .or_else(|| {
                policies
                    .iter()
                    .find(|p| p["containerName"].as_str() == Some("*"))
            })
            .copied()
    };
    let controlled_by = |policy: Option<&Value>| -> Vec<&'static str> {
        match policy {
            Some(p) if p["mode"].as_str() == Some("Off") => Vec::new(),
            Some(p) if p["controlledResources"].is_array() => AUTOSCALED_RESOURCES
                .into_iter()
                .filter(|r| {
                    p["controlledResources"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(r)))
                })
                .collect(),
            _ => AUTOSCALED_RESOURCES.to_vec(),
        }
    };
    match workload {
        Some(workload) => workload
            .containers()
            .iter()
            .filter(|c| !c.init)
            .flat_map(|c| controlled_by(policy_for(c.name)))
            .collect(),
        // The target is not in the set: assume containers the policies do
        // not name exist.
        None => {
            let mut controlled: BTreeSet<&'static str> = policies
                .iter()
                .flat_map(|p| controlled_by(Some(p)))
                .collect();
            if policy_for("").is_none() {
                controlled.extend(AUTOSCALED_RESOURCES);
            }
            controlled
        }
    }
}
