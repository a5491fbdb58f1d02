//! HorizontalPodAutoscaler status.

use super::*;

pub(crate) fn hpas(st: &mut Store) {
    let hrd = rd("autoscaling", "horizontalpodautoscalers");
    for h in st.list_cloned(hrd, None) {
        let ns = ns_of(&h);
        let kind = util::str_of(&h, "spec.scaleTargetRef.kind");
        let tname = util::str_of(&h, "spec.scaleTargetRef.name");
        let trd = match kind.as_str() {
            "Deployment" => rd("apps", "deployments"),
            "StatefulSet" => rd("apps", "statefulsets"),
            "ReplicaSet" => rd("apps", "replicasets"),
            _ => rd("apps", "deployments"),
        };
        let min = h
            .pointer("/spec/minReplicas")
            .and_then(|v| v.as_i64())
            .unwrap_or(1);
        let max = h
            .pointer("/spec/maxReplicas")
            .and_then(|v| v.as_i64())
            .unwrap_or(1);
        let now = util::now_rfc3339();
        let status = match st.get(trd, &ns, &tname) {
            None => json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
                {"type": "AbleToScale", "status": "False", "lastTransitionTime": now, "reason": "FailedGetScale",
                 "message": format!("the HPA controller was unable to get the target's current scale: {}.apps \"{tname}\" not found", kind.to_lowercase() + "s")}]}),
            Some(t) => {
                let cur = t
                    .pointer("/status/replicas")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                let desired = cur.clamp(min, max);
                let metrics: Vec<Value> = h.pointer("/spec/metrics").and_then(|m| m.as_array()).cloned().unwrap_or_default().iter().filter(|m| util::str_of(m, "type") == "Resource").map(|m| {
                    let name = util::str_of(m, "resource.name");
                    let v = if name == "cpu" { "5m" } else { "32Mi" };
                    json!({"type": "Resource", "resource": {"name": name, "current": {"averageUtilization": 10, "averageValue": v}}})
                }).collect();
                let mut s = json!({"currentReplicas": cur, "desiredReplicas": desired, "conditions": [
                    {"type": "AbleToScale", "status": "True", "lastTransitionTime": now, "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                    {"type": "ScalingActive", "status": "True", "lastTransitionTime": now, "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                    {"type": "ScalingLimited", "status": if cur != desired { "True" } else { "False" }, "lastTransitionTime": now, "reason": if cur != desired { "TooFewReplicas" } else { "DesiredWithinRange" }, "message": "the desired count is within the acceptable range"}]});
                if !metrics.is_empty() {
                    s["currentMetrics"] = json!(metrics);
                }
                s
            }
        };
        if !same_ignoring_times(h.get("status").unwrap_or(&Value::Null), &status) {
            st.set_status(hrd, &h, status, "horizontal-pod-autoscaler");
        }
    }
}
