//! Policy checks on a rendered manifest set, in the spirit of kube-score and
//! Polaris: each rule has a stable id and a severity, and says why a set that
//! the API server would accept still fails in production (pods without
//! limits, a rollout that hangs at "exceeded quota", a NetworkPolicy that
//! breaks DNS, an HPA and a VPA fighting over the same pods).
//!
//! The checks read the manifests as JSON, so they work on any set, and they
//! look at the whole set at once: a PodDisruptionBudget, NetworkPolicy or
//! HPA only counts if it is rendered alongside the workload it covers.
//!
//! An object opts out of rules with the annotation
//! `fintechctl.io/policy-skip: "rule-id,rule-id"`, which needs a reason in
//! `fintechctl.io/policy-skip-reason`; a skip without one is ignored and is
//! itself an error (rule `policy-skip`).
//!
//! The rules live beside this file by what they look at: [`pod`] (each
//! workload's pod template), [`pdb`], [`network`], [`autoscaling`] and
//! [`quota`] (the rollout's peak against the ResourceQuota); [`set`] indexes
//! the manifests for them and [`skip`] honours the skip annotations. The
//! Kubernetes quantity parsers they need are in [`crate::render::quantity`]
//! and label selectors in [`crate::render::selector`], re-exported here.

mod autoscaling;
mod network;
mod pdb;
mod pod;
mod quota;
mod set;
mod skip;
#[cfg(test)]
mod tests;

pub use crate::quantity::{QuantityError, parse_cpu_millis, parse_memory_bytes};

use crate::render::Manifest;
use set::Set;

/// How bad a finding is: errors fail the render (exit 2), warnings are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One rule broken by one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule's id, one of [`RULES`].
    pub rule: &'static str,
    pub severity: Severity,
    /// `Kind/name` of the object the finding is about (and that can skip it).
    pub object: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.rule, self.object, self.message
        )
    }
}

/// What differs between environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyOptions {
    /// An unpinned image is an error (production) rather than a warning.
    pub require_pinned_images: bool,
}

impl Default for PolicyOptions {
    /// The strictest options.
    fn default() -> Self {
        Self {
            require_pinned_images: true,
        }
    }
}

/// A policy rule, for `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    /// The severity of its findings (`pinned-images`: when
    /// [`PolicyOptions::require_pinned_images`]; a warning otherwise;
    /// `quota-headroom`: a warning for the peak at the HPA's maxReplicas).
    pub severity: Severity,
    pub summary: &'static str,
}

pub const CONTAINER_RESOURCES: &str = "container-resources";
pub const PROBES: &str = "probes";
pub const POD_SECURITY: &str = "pod-security";
pub const SECCOMP: &str = "seccomp";
pub const PINNED_IMAGES: &str = "pinned-images";
pub const PDB: &str = "pdb";
pub const NETWORK_POLICY: &str = "network-policy";
pub const NETWORK_POLICY_DNS: &str = "network-policy-dns";
pub const HPA_VPA_CONFLICT: &str = "hpa-vpa-conflict";
pub const QUOTA_HEADROOM: &str = "quota-headroom";
pub const POLICY_SKIP: &str = "policy-skip";

/// Every rule, in the order findings are listed for one object.
pub const RULES: &[Rule] = &[
    Rule {
        id: CONTAINER_RESOURCES,
        severity: Severity::Error,
        summary: "every container (init containers too) sets cpu and memory requests and limits, requests not above limits",
    },
    Rule {
        id: PROBES,
        severity: Severity::Error,
        summary: "Deployments and StatefulSets that serve traffic (container ports, or a Service selects them) have liveness and readiness probes",
    },
    Rule {
        id: POD_SECURITY,
        severity: Severity::Error,
        summary: "runAsNonRoot, non-zero runAsUser and runAsGroup, no privilege escalation, read-only root filesystem, capabilities drop ALL, not privileged, no host namespaces",
    },
    Rule {
        id: SECCOMP,
        severity: Severity::Error,
        summary: "seccompProfile RuntimeDefault (or Localhost) for the pod or every container",
    },
    Rule {
        id: PINNED_IMAGES,
        severity: Severity::Error,
        summary: "every image has a tag other than `latest`, or a digest (a warning outside production)",
    },
    Rule {
        id: PDB,
        severity: Severity::Error,
        summary: "a Deployment or StatefulSet with more than one replica (or an HPA minReplicas above one) has a PodDisruptionBudget that selects its pods and allows a disruption",
    },
    Rule {
        id: NETWORK_POLICY,
        severity: Severity::Error,
        summary: "every workload's pods are selected by a NetworkPolicy in their namespace",
    },
    Rule {
        id: NETWORK_POLICY_DNS,
        severity: Severity::Error,
        summary: "pods whose egress a NetworkPolicy restricts may still reach DNS (UDP and TCP port 53)",
    },
    Rule {
        id: HPA_VPA_CONFLICT,
        severity: Severity::Error,
        summary: "a VPA that updates pods does not control cpu or memory of a workload an HPA scales on them",
    },
    Rule {
        id: QUOTA_HEADROOM,
        severity: Severity::Error,
        summary: "the rollout's peak ((replicas + maxSurge) x requests and limits, pods, PVCs) fits the namespace's ResourceQuota; a warning if the peak at the HPA's maxReplicas does not",
    },
    Rule {
        id: POLICY_SKIP,
        severity: Severity::Error,
        summary: "a `fintechctl.io/policy-skip` annotation names known rules and comes with a `fintechctl.io/policy-skip-reason`",
    },
];

/// Annotation listing the rules an object opts out of, comma-separated.
pub const SKIP_ANNOTATION: &str = "fintechctl.io/policy-skip";
/// Annotation saying why; required for the skip to count.
pub const SKIP_REASON_ANNOTATION: &str = "fintechctl.io/policy-skip-reason";

/// Runs every rule over the set. Findings are ordered by the object's place
/// in the set, then by rule (as in [`RULES`]), then as found.
pub fn check(manifests: &[Manifest], opts: &PolicyOptions) -> Vec<Finding> {
    let set = Set::new(manifests);
    let mut raw = Vec::new();
    for workload in &set.workloads {
        pod::container_resources(workload, &mut raw);
        pod::probes(&set, workload, &mut raw);
        pod::pod_security(workload, &mut raw);
        pod::seccomp(workload, &mut raw);
        pod::pinned_images(workload, opts, &mut raw);
        pdb::pdb(&set, workload, &mut raw);
        network::network_policy(&set, workload, &mut raw);
    }
    network::network_policy_dns(&set, &mut raw);
    autoscaling::hpa_vpa_conflict(&set, &mut raw);
    quota::quota_headroom(&set, &mut raw);

    let mut raw = skip::apply_skips(manifests, raw);
    let rank = |rule: &str| {
        RULES
            .iter()
            .position(|r| r.id == rule)
            .unwrap_or(usize::MAX)
    };
    raw.sort_by_key(|f| (f.index, rank(f.rule)));
    raw.into_iter()
        .map(|f| Finding {
            rule: f.rule,
            severity: f.severity,
            object: manifests[f.index].display(),
            message: f.message,
        })
        .collect()
}

/// A finding before it is named: `index` is the object's place in the set.
struct Raw {
    index: usize,
    rule: &'static str,
    severity: Severity,
    message: String,
}

fn error(index: usize, rule: &'static str, message: String) -> Raw {
    Raw {
        index,
        rule,
        severity: Severity::Error,
        message,
    }
}
