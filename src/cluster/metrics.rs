//! Resource use from `metrics.k8s.io` (what `kubectl top` reads), set
//! against each container's requests and limits: what the triage cards and
//! `debug top` show.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::Serialize;

use crate::quantity::{parse_cpu_millis, parse_memory_bytes};

/// Use at or above this share of a limit is "near the limit".
pub const NEAR_LIMIT: f64 = 0.9;

/// One container's use, requests and limits (millicores, bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerUsage {
    pub pod: String,
    pub container: String,
    /// `None` when metrics.k8s.io has no sample for it.
    pub cpu_millis: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub cpu_request_millis: Option<i64>,
    pub cpu_limit_millis: Option<i64>,
    pub memory_request_bytes: Option<i64>,
    pub memory_limit_bytes: Option<i64>,
}

impl ContainerUsage {
    /// Memory use as a share of the limit (OOM risk).
    pub fn memory_of_limit(&self) -> Option<f64> {
        share(self.memory_bytes, self.memory_limit_bytes)
    }
    /// CPU use as a share of the limit (throttling).
    pub fn cpu_of_limit(&self) -> Option<f64> {
        share(self.cpu_millis, self.cpu_limit_millis)
    }
    /// Memory near its limit: the kernel's OOM killer is close.
    pub fn oom_risk(&self) -> bool {
        self.memory_of_limit().is_some_and(|s| s >= NEAR_LIMIT)
    }
    /// CPU near its limit: the container is (or will be) throttled.
    pub fn throttling_candidate(&self) -> bool {
        self.cpu_of_limit().is_some_and(|s| s >= NEAR_LIMIT)
    }
    /// The larger of the two shares, for sorting.
    pub fn pressure(&self) -> f64 {
        self.memory_of_limit()
            .unwrap_or(0.0)
            .max(self.cpu_of_limit().unwrap_or(0.0))
    }
}

fn share(used: Option<i64>, limit: Option<i64>) -> Option<f64> {
    match (used, limit) {
        (Some(u), Some(l)) if l > 0 => Some(u as f64 / l as f64),
        _ => None,
    }
}

/// Samples by (pod, container): (millicores, bytes).
pub type Samples = BTreeMap<(String, String), (i64, i64)>;

/// The PodMetrics of `namespace`, per container.
pub async fn pod_samples(client: &kube::Client, namespace: &str) -> Result<Samples, kube::Error> {
    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "pods");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let list = api.list(&ListParams::default()).await?;
    let mut samples = Samples::new();
    for item in list.items {
        let pod = item.metadata.name.clone().unwrap_or_default();
        let containers = item.data["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in containers {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let cpu = c["usage"]["cpu"]
                .as_str()
                .and_then(|q| parse_cpu_millis(q).ok())
                .unwrap_or(0);
            let memory = c["usage"]["memory"]
                .as_str()
                .and_then(|q| parse_memory_bytes(q).ok())
                .and_then(|b| i64::try_from(b).ok())
                .unwrap_or(0);
            samples.insert((pod.clone(), name), (cpu, memory));
        }
    }
    Ok(samples)
}

/// Every container of `pod` with its use (if sampled), requests and limits.
pub fn usage_of(pod: &Pod, samples: &Samples) -> Vec<ContainerUsage> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .map(|c| {
            let resources = c.resources.as_ref();
            let get =
                |map: Option<
                    &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
                >,
                 key: &str| map.and_then(|m| m.get(key)).map(|q| q.0.clone());
            let requests = resources.and_then(|r| r.requests.as_ref());
            let limits = resources.and_then(|r| r.limits.as_ref());
            let cpu = |q: Option<String>| q.and_then(|q| parse_cpu_millis(&q).ok());
            let mem = |q: Option<String>| {
                q.and_then(|q| parse_memory_bytes(&q).ok())
                    .and_then(|b| i64::try_from(b).ok())
            };
            let sample = samples.get(&(name.clone(), c.name.clone()));
            ContainerUsage {
                pod: name.clone(),
                container: c.name.clone(),
                cpu_millis: sample.map(|s| s.0),
                memory_bytes: sample.map(|s| s.1),
                cpu_request_millis: cpu(get(requests, "cpu")),
                cpu_limit_millis: cpu(get(limits, "cpu")),
                memory_request_bytes: mem(get(requests, "memory")),
                memory_limit_bytes: mem(get(limits, "memory")),
            }
        })
        .collect()
}

/// `120m/250m req/500m lim`-style text of one resource.
pub fn describe(used: Option<i64>, request: Option<i64>, limit: Option<i64>, cpu: bool) -> String {
    let show = |v: Option<i64>| match v {
        None => "-".to_string(),
        Some(v) if cpu => format!("{v}m"),
        Some(v) => mebibytes(v),
    };
    let mut text = format!(
        "{} (request {}, limit {}",
        show(used),
        show(request),
        show(limit)
    );
    if let (Some(u), Some(l)) = (used, limit)
        && l > 0
    {
        text.push_str(&format!(", {:.0}% of limit", u as f64 * 100.0 / l as f64));
    }
    text.push(')');
    text
}

/// `256Mi`, rounded to whole mebibytes.
pub fn mebibytes(bytes: i64) -> String {
    format!("{}Mi", (bytes + (1 << 19)) >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn use_is_set_against_requests_and_limits() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi"}}}]}
        }))
        .unwrap();
        let mut samples = Samples::new();
        samples.insert(("p".into(), "c".into()), (480, 500 << 20));
        let usage = usage_of(&pod, &samples);
        assert_eq!(usage[0].cpu_limit_millis, Some(500));
        assert_eq!(usage[0].memory_request_bytes, Some(256 << 20));
        assert!(usage[0].oom_risk());
        assert!(usage[0].throttling_candidate());
        assert_eq!(
            describe(
                usage[0].memory_bytes,
                usage[0].memory_request_bytes,
                usage[0].memory_limit_bytes,
                false
            ),
            "500Mi (request 256Mi, limit 512Mi, 98% of limit)"
        );
        let unsampled = usage_of(&pod, &Samples::new());
        assert!(!unsampled[0].oom_risk());
        assert_eq!(
            describe(None, Some(250), None, true),
            "- (request 250m, limit -)"
        );
    }
}
