//! `network-policy` and `network-policy-dns`: every workload is selected by a
//! NetworkPolicy, and egress policies still let the pods resolve names.

use std::collections::BTreeSet;

use serde_json::Value;

use super::set::{Set, Workload, namespace};
use super::{NETWORK_POLICY, NETWORK_POLICY_DNS, Raw, error};
use crate::render::selector::selector_matches;

pub(super) fn network_policy(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    let covered = set
        .of_kind("NetworkPolicy", workload.namespace)
        .any(|(_, np)| selector_matches(&np.object["spec"]["podSelector"], &workload.labels));
    if !covered {
        out.push(error(
            workload.index,
            NETWORK_POLICY,
            format!(
                "no NetworkPolicy in namespace `{}` selects its pods ({}): they accept traffic from, and send it to, anything",
                workload.namespace,
                workload.labels_text()
            ),
        ));
    }
}

/// Whether a NetworkPolicy restricts egress of the pods it selects.
pub(super) fn isolates_egress(spec: &Value) -> bool {
    match spec["policyTypes"].as_array() {
        Some(types) => types.iter().any(|t| t.as_str() == Some("Egress")),
        // Without policyTypes, egress is isolated when egress rules are given.
        None => !spec["egress"].is_null(),
    }
}

/// Whether an egress rule's ports let traffic out to port 53 over `protocol`.
pub(super) fn opens_port_53(rule: &Value, protocol: &str) -> bool {
    let ports = match rule["ports"].as_array() {
        None => return true,
        Some(ports) if ports.is_empty() => return true,
        Some(ports) => ports,
    };
    ports.iter().any(|port| {
        if port["protocol"].as_str().unwrap_or("TCP") != protocol {
            return false;
        }
        match &port["port"] {
            Value::Null => true,
            Value::Number(n) => {
                let start = n.as_i64().unwrap_or(0);
                let end = port["endPort"].as_i64().unwrap_or(start);
                (start..=end).contains(&53)
            }
            // kube-dns / CoreDNS name their ports `dns` (UDP) and `dns-tcp`.
            Value::String(name) => {
                name == "53" || name == if protocol == "UDP" { "dns" } else { "dns-tcp" }
            }
            _ => false,
        }
    })
}

/// Whether an egress rule of a policy in `namespace` can reach the cluster
/// DNS in kube-system. A peer with only a podSelector selects pods of the
/// policy's own namespace; a namespaceSelector must match kube-system by the
/// one label every namespace is sure to carry.
pub(super) fn reaches_kube_system(rule: &Value, namespace: &str) -> bool {
    let peers = match rule["to"].as_array() {
        None => return true,
        Some(peers) if peers.is_empty() => return true,
        Some(peers) => peers,
    };
    let kube_system = serde_json::json!({"kubernetes.io/metadata.name": "kube-system"});
    let kube_system = kube_system.as_object().expect("an object");
    peers.iter().any(|peer| {
        if peer.get("ipBlock").is_some() {
            return true;
        }
        match peer.get("namespaceSelector") {
            Some(selector) => selector_matches(selector, kube_system),
            None => namespace == "kube-system",
        }
    })
}

pub(super) fn network_policy_dns(set: &Set, out: &mut Vec<Raw>) {
    for (index, policy) in set.manifests.iter().enumerate() {
        if policy.kind() != "NetworkPolicy" || !isolates_egress(&policy.object["spec"]) {
            continue;
        }
        let namespace = namespace(policy);
        let selector = &policy.object["spec"]["podSelector"];
        let mut cut_off: Vec<String> = Vec::new();
        let mut missing_protocols: BTreeSet<&str> = BTreeSet::new();
        let mut wrong_peers = false;
        for workload in set
            .workloads
            .iter()
            .filter(|w| w.namespace == namespace && selector_matches(selector, &w.labels))
        {
            // Policies add up: DNS may be allowed by another policy that
            // selects the same pods.
            let rules: Vec<&Value> = set
                .of_kind("NetworkPolicy", namespace)
                .map(|(_, np)| &np.object["spec"])
                .filter(|spec| {
                    isolates_egress(spec)
                        && selector_matches(&spec["podSelector"], &workload.labels)
                })
                .flat_map(|spec| spec["egress"].as_array().into_iter().flatten())
                .collect();
            // Pods allowed no egress at all (`egress: []`, e.g. a data store)
            // need no DNS either.
            if rules.is_empty() {
                continue;
            }
            let missing: Vec<&str> = ["UDP", "TCP"]
                .into_iter()
                .filter(|protocol| {
                    !rules.iter().any(|rule| {
                        opens_port_53(rule, protocol) && reaches_kube_system(rule, namespace)
                    })
                })
                .collect();
            if !missing.is_empty() {
                wrong_peers |= missing
                    .iter()
                    .any(|protocol| rules.iter().any(|rule| opens_port_53(rule, protocol)));
                cut_off.push(workload.display());
                missing_protocols.extend(missing);
            }
        }
        if !cut_off.is_empty() {
            let missing: Vec<String> = missing_protocols
                .iter()
                .map(|p| format!("{p} 53"))
                .collect();
            let hint = if wrong_peers {
                " (a rule opens port 53, but only to peers outside kube-system: a podSelector alone selects pods in the policy's own namespace; select the namespace with `kubernetes.io/metadata.name: kube-system`)"
            } else {
                ""
            };
            out.push(error(
                index,
                NETWORK_POLICY_DNS,
                format!(
                    "restricts egress of {} but no egress rule allows DNS to kube-system ({}){hint}: the pods cannot resolve any service name; allow UDP and TCP port 53 to kube-dns",
                    cut_off.join(", "),
                    missing.join(", ")
                ),
            ));
        }
    }
}
