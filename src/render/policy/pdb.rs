//! `pdb`: replicated workloads have a PodDisruptionBudget that allows an eviction.

use serde_json::Value;

use super::set::{Set, Workload};
use super::{PDB, Raw, error};
use crate::render::Manifest;
use crate::render::selector::selector_matches;

pub(super) fn pdb(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(workload.kind, "Deployment" | "StatefulSet") {
        return;
    }
    let spec = &workload.manifest.object["spec"];
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let hpa = set.hpa_for(workload);
    let hpa_min = hpa.map(|h| h.object["spec"]["minReplicas"].as_i64().unwrap_or(1));
    let count = hpa_min.unwrap_or(replicas);
    if replicas <= 1 && hpa_min.is_none_or(|min| min <= 1) {
        return;
    }
    let replicas_text = match (hpa, hpa_min) {
        (Some(hpa), Some(min)) => format!("at least {min} replicas ({})", hpa.display()),
        _ => format!("{replicas} replicas"),
    };
    // policy/v1: a null selector selects no pods, an empty one selects all.
    let budgets: Vec<&Manifest> = set
        .of_kind("PodDisruptionBudget", workload.namespace)
        .map(|(_, m)| m)
        .filter(|pdb| {
            let selector = &pdb.object["spec"]["selector"];
            !selector.is_null() && selector_matches(selector, &workload.labels)
        })
        .collect();
    if budgets.is_empty() {
        out.push(error(
            workload.index,
            PDB,
            format!(
                "{replicas_text} but no PodDisruptionBudget selects its pods ({}): a node drain may evict them all at once",
                workload.labels_text()
            ),
        ));
        return;
    }
    for budget in budgets {
        if let Some(why) = blocks_every_eviction(&budget.object["spec"], count) {
            out.push(error(
                workload.index,
                PDB,
                format!(
                    "{} allows no voluntary disruption with {replicas_text} ({why}): node drains and cluster upgrades hang",
                    budget.display()
                ),
            ));
        }
    }
}

/// Why a PDB spec allows no eviction of a workload with `count` pods, if so.
pub(super) fn blocks_every_eviction(spec: &Value, count: i64) -> Option<String> {
    let amount = |value: &Value| -> Option<i64> {
        match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .map(|percent| (count * percent + 99) / 100),
            _ => None,
        }
    };
    if let Some(min) = amount(&spec["minAvailable"])
        && min >= count
    {
        return Some(format!("minAvailable {} of {count}", spec["minAvailable"]));
    }
    if amount(&spec["maxUnavailable"]) == Some(0) {
        return Some(format!("maxUnavailable {}", spec["maxUnavailable"]));
    }
    None
}
