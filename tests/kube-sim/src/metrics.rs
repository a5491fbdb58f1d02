//! metrics.k8s.io: PodMetrics and NodeMetrics computed from the pods' requests.

use crate::kubelet::{NODES, rd};
use crate::resources::ResDef;
use crate::store::{Store, name_of, ns_of};
use crate::{Shared, util};
use serde_json::{Value, json};

pub(crate) fn pod_metrics(p: &Value) -> Value {
    let containers: Vec<Value> = p.pointer("/spec/containers").and_then(|c| c.as_array()).cloned().unwrap_or_default().iter().map(|c| {
        let cpu_req = c.pointer("/resources/requests/cpu").and_then(util::parse_quantity_milli).unwrap_or(50_000);
        let mem_req = c.pointer("/resources/requests/memory").and_then(util::parse_quantity_milli).unwrap_or(64 * 1024 * 1024 * 1000);
        let cpu = (cpu_req / 10 / 1000).max(1);
        let mem = (mem_req / 2 / 1000 / 1024).max(1024);
        json!({"name": util::str_of(c, "name"), "usage": {"cpu": format!("{}n", cpu * 1_000_000), "memory": format!("{mem}Ki")}})
    }).collect();
    json!({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name_of(p), "namespace": ns_of(p), "labels": p.pointer("/metadata/labels").cloned().unwrap_or(json!({})), "creationTimestamp": util::now_rfc3339()},
        "timestamp": util::now_rfc3339(), "window": "10.5s", "containers": containers})
}

pub(crate) fn node_metrics(st: &Store, node: &str) -> Value {
    let mut cpu: i128 = 100;
    let mut mem: i128 = 1024 * 1024;
    for p in st.list(rd("", "pods"), None) {
        if util::str_of(p, "spec.nodeName") == node && util::str_of(p, "status.phase") == "Running"
        {
            for c in pod_metrics(p)["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                cpu += util::parse_quantity_milli(&c["usage"]["cpu"]).unwrap_or(0);
                mem += util::parse_quantity_milli(&c["usage"]["memory"]).unwrap_or(0) / 1000 / 1024;
            }
        }
    }
    json!({"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}, "creationTimestamp": util::now_rfc3339()},
        "timestamp": util::now_rfc3339(), "window": "20.03s", "usage": {"cpu": format!("{}n", cpu * 1_000_000), "memory": format!("{mem}Ki")}})
}

pub fn metrics_list(sh: &Shared, rd_: &ResDef, ns: Option<&str>) -> Vec<Value> {
    let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
    if rd_.kind == "PodMetrics" {
        st.list(rd("", "pods"), ns)
            .into_iter()
            .filter(|p| util::str_of(p, "status.phase") == "Running")
            .map(pod_metrics)
            .collect()
    } else {
        NODES.iter().map(|(n, _)| node_metrics(&st, n)).collect()
    }
}

pub fn metrics_get(sh: &Shared, rd_: &ResDef, ns: &str, name: &str) -> Option<Value> {
    metrics_list(sh, rd_, if rd_.namespaced { Some(ns) } else { None })
        .into_iter()
        .find(|m| name_of(m) == name)
}
