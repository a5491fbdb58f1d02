//! Simulated controllers, one module per controller; `reconcile` runs them in order after
//! every write and at the next due simulated transition. Shared helpers live here.

mod daemonset;
mod deployment;
mod endpoints;
mod hpa;
mod job;
mod namespace;
mod pdb;
mod pvc;
mod quota;
mod replicaset;
mod statefulset;

use daemonset::daemonsets;
use deployment::deployments;
use endpoints::endpoints;
use hpa::hpas;
use job::jobs;
use namespace::namespaces;
use pdb::pdbs;
use pvc::pvcs;
use quota::quotas;
use replicaset::replicasets;
use statefulset::statefulsets;

pub(crate) use crate::Shared;
pub(crate) use crate::kubelet::{self, NODES, emit_event, rd};
pub(crate) use crate::selectors::LabelSelector;
pub(crate) use crate::store::{Store, WriteOpts, name_of, ns_of, uid_of};
pub(crate) use crate::util;
pub(crate) use serde_json::{Map, Value, json};
pub(crate) use std::collections::HashMap;
pub(crate) use std::sync::Arc;
pub(crate) use std::time::{Duration, Instant};
pub(crate) use tokio::sync::watch;

pub fn bootstrap(st: &mut Store) {
    let nsrd = rd("", "namespaces");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let _ = st.create(
            nsrd,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &WriteOpts::manager("kube-apiserver"),
        );
    }
    let nrd = rd("", "nodes");
    for (name, ip) in NODES {
        let now = util::now_rfc3339();
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "kube-sim"}},
            "spec": {"podCIDR": "10.244.0.0/24"},
            "status": {
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}
                ],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "kubeProxyVersion": "", "containerRuntimeVersion": "containerd://2.1.1",
                    "operatingSystem": "linux", "architecture": "amd64", "osImage": "kube-sim", "kernelVersion": "6.1.0",
                    "machineID": "", "systemUUID": "", "bootID": ""}
            }
        });
        let _ = st.create(nrd, node, &WriteOpts::manager("kubelet"));
    }
    let srd = rd("", "services");
    let _ = st.create(srd, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default",
        "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}), &WriteOpts::manager("kube-apiserver"));
}

#[derive(Default)]
pub(crate) struct Ctl {
    /// Next instant a time-based transition is due (reconcile then even without writes).
    due: Option<Instant>,
    progress: HashMap<String, Instant>,
    job_next: HashMap<String, Instant>,
    job_failed_seen: HashMap<String, i64>,
    job_started: HashMap<String, Instant>,
    job_finished: HashMap<String, Instant>,
    rs_next: HashMap<String, Instant>,
    /// (node, taint key) → when the NoExecute taint was first seen.
    no_execute_since: HashMap<(String, String), Instant>,
}

pub async fn run(sh: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut ctl = Ctl::default();
    let mut last_rv = 0u64;
    let mut next_due = Instant::now();
    loop {
        let wait = next_due
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        tokio::select! {
            _ = sh.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|v| *v) => break,
        }
        let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if st.rv == last_rv && now < next_due {
            continue;
        }
        next_due = now + Duration::from_secs(1);
        for _ in 0..4 {
            let before = st.rv;
            ctl.due = None;
            // a bug in one controller must not stop the simulator
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                reconcile(&sh, &mut st, &mut ctl)
            }));
            if r.is_err() {
                eprintln!("kube-sim: a controller panicked; continuing");
            }
            if let Some(d) = ctl.due {
                next_due = next_due.min(d);
            }
            if st.rv == before {
                break;
            }
        }
        last_rv = st.rv;
    }
}

impl Ctl {
    fn due_at(&mut self, t: Instant) {
        self.due = Some(self.due.map_or(t, |d| d.min(t)));
    }
}

pub(crate) fn reconcile(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
    st.foreground_gc();
    namespaces(st);
    deployments(sh, st, ctl);
    replicasets(sh, st, ctl);
    statefulsets(st);
    daemonsets(st);
    pdbs(st);
    jobs(sh, st, ctl);
    let mut node_due = None;
    crate::nodes::reconcile(sh, st, &mut ctl.no_execute_since, &mut node_due);
    if let Some(d) = node_due {
        ctl.due_at(d);
    }
    let mut due = Instant::now() + Duration::from_secs(3600);
    kubelet::tick(sh, st, &mut due);
    ctl.due_at(due);
    endpoints(st);
    quotas(st);
    pvcs(st);
    hpas(st);
}

pub fn owner_ref(o: &Value) -> Value {
    json!({"apiVersion": util::str_of(o, "apiVersion"), "kind": util::str_of(o, "kind"), "name": name_of(o),
        "uid": uid_of(o), "controller": true, "blockOwnerDeletion": true})
}

pub fn owned_by(o: &Value, uid: &str) -> bool {
    o.pointer("/metadata/ownerReferences")
        .and_then(|r| r.as_array())
        .is_some_and(|a| a.iter().any(|r| util::str_of(r, "uid") == uid))
}

pub(crate) fn terminating(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp").is_some()
}

pub fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|a| {
            a.iter()
                .any(|c| util::str_of(c, "type") == "Ready" && util::str_of(c, "status") == "True")
        })
}

pub(crate) fn i64_at(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(|x| x.as_i64()).unwrap_or(0)
}

pub(crate) fn template_hash(tmpl: &Value) -> String {
    util::safe_hash(&serde_json::to_string(tmpl).unwrap_or_default())
}

pub(crate) fn strip_hash_label(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
    {
        l.shift_remove("pod-template-hash");
    }
    t
}

pub(crate) fn set_condition(
    conds: &mut Vec<Value>,
    typ: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    if let Some(c) = conds.iter_mut().find(|c| util::str_of(c, "type") == typ) {
        if util::str_of(c, "status") != status {
            c["lastTransitionTime"] = json!(now);
        }
        if util::str_of(c, "reason") != reason
            || util::str_of(c, "message") != message
            || util::str_of(c, "status") != status
        {
            c["lastUpdateTime"] = json!(now);
        }
        c["status"] = json!(status);
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    } else {
        conds.push(json!({"type": typ, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message}));
    }
}

pub(crate) fn new_pod_from_template(
    owner: &Value,
    tmpl: &Value,
    name: Option<String>,
    generate: Option<String>,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut meta = json!({"namespace": ns_of(owner), "ownerReferences": [owner_ref(owner)]});
    if let Some(n) = name {
        meta["name"] = json!(n);
    }
    if let Some(g) = generate {
        meta["generateName"] = json!(g);
    }
    let mut labels = tmpl
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    for (k, v) in extra_labels {
        labels[*k] = json!(v);
    }
    meta["labels"] = labels;
    if let Some(a) = tmpl.pointer("/metadata/annotations") {
        meta["annotations"] = a.clone();
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl.get("spec").cloned().unwrap_or(json!({}))})
}

pub(crate) fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        k.as_str() != "lastUpdateTime" && k.as_str() != "lastTransitionTime"
                    })
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            o => o.clone(),
        }
    }
    strip(a) == strip(b)
}
