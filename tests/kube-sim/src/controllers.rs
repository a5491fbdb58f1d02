//! Simulated controllers: Deployment, ReplicaSet, Job, StatefulSet, Service endpoints,
//! Namespace, ResourceQuota status, HPA status, PVC binding; metrics and tables.

use crate::Shared;
use crate::kubelet::{self, NODES, emit_event, rd};
use crate::resources::ResDef;
use crate::selectors::LabelSelector;
use crate::store::{Store, WriteOpts, name_of, ns_of, uid_of};
use crate::util;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

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
struct Ctl {
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

fn reconcile(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
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

fn terminating(o: &Value) -> bool {
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

fn i64_at(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(|x| x.as_i64()).unwrap_or(0)
}

fn namespaces(st: &mut Store) {
    let nsrd = rd("", "namespaces");
    for n in st.list_cloned(nsrd, None) {
        let name = name_of(&n);
        if terminating(&n) {
            for r in crate::resources::RESOURCES
                .iter()
                .filter(|r| r.namespaced && !r.readonly)
            {
                for o in st.list_cloned(r, Some(&name)) {
                    st.remove_now(r, &name, &name_of(&o));
                }
            }
            st.remove_now(nsrd, "", &name);
            continue;
        }
        let sa = rd("", "serviceaccounts");
        if st.get(sa, &name, "default").is_none() {
            let _ = st.create(sa, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}), &WriteOpts::manager("kube-controller-manager"));
        }
    }
}

fn template_hash(tmpl: &Value) -> String {
    util::safe_hash(&serde_json::to_string(tmpl).unwrap_or_default())
}

fn strip_hash_label(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
    {
        l.shift_remove("pod-template-hash");
    }
    t
}

fn resolve_int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: &str) -> i64 {
    let v = v.cloned().unwrap_or(json!(default));
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            if let Some(p) = s.strip_suffix('%') {
                let p: f64 = p.parse().unwrap_or(0.0);
                let x = p * total as f64 / 100.0;
                if round_up {
                    x.ceil() as i64
                } else {
                    x.floor() as i64
                }
            } else {
                s.parse().unwrap_or(0)
            }
        }
        _ => 0,
    }
}

fn scale_rs(st: &mut Store, d: &Value, rs: &Value, to: i64, desired: i64, surge: i64) -> Value {
    let rsrd = rd("apps", "replicasets");
    let from = i64_at(rs, "/spec/replicas");
    if from == to {
        return rs.clone();
    }
    let mut n = rs.clone();
    n["spec"]["replicas"] = json!(to);
    if let Some(a) = n
        .pointer_mut("/metadata/annotations")
        .and_then(|a| a.as_object_mut())
    {
        a.insert(
            "deployment.kubernetes.io/desired-replicas".into(),
            json!(desired.to_string()),
        );
        a.insert(
            "deployment.kubernetes.io/max-replicas".into(),
            json!((desired + surge).to_string()),
        );
    }
    let r = st
        .put(rsrd, n, "kube-controller-manager")
        .unwrap_or(rs.clone());
    let dir = if to > from { "up" } else { "down" };
    emit_event(
        st,
        d,
        "Normal",
        "ScalingReplicaSet",
        &format!(
            "Scaled {dir} replica set {} from {from} to {to}",
            name_of(rs)
        ),
        "deployment-controller",
        None,
        None,
    );
    r
}

fn set_condition(
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

fn deployments(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
    let drd = rd("apps", "deployments");
    let rsrd = rd("apps", "replicasets");
    for d in st.list_cloned(drd, None) {
        if terminating(&d) {
            continue;
        }
        let ns = ns_of(&d);
        let uid = uid_of(&d);
        let desired = i64_at(&d, "/spec/replicas");
        let tmpl = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let recreate = util::str_of(&d, "spec.strategy.type") == "Recreate";
        let ru = d.pointer("/spec/strategy/rollingUpdate");
        let mut surge = if recreate {
            0
        } else {
            resolve_int_or_percent(ru.and_then(|r| r.get("maxSurge")), desired, true, "25%")
        };
        let mut unavail = if recreate {
            desired
        } else {
            resolve_int_or_percent(
                ru.and_then(|r| r.get("maxUnavailable")),
                desired,
                false,
                "25%",
            )
        };
        if surge == 0 && unavail == 0 {
            unavail = 1;
        }
        unavail = unavail.min(desired);
        surge = surge.max(0);
        let mut rss: Vec<Value> = st
            .list(rsrd, Some(&ns))
            .into_iter()
            .filter(|r| owned_by(r, &uid) && !terminating(r))
            .cloned()
            .collect();
        rss.sort_by_key(|r| util::str_of(r, "metadata.creationTimestamp"));
        let rev = |r: &Value| -> i64 {
            r.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let max_rev = rss.iter().map(rev).max().unwrap_or(0);
        let new_idx = rss.iter().position(|r| {
            strip_hash_label(r.pointer("/spec/template").unwrap_or(&Value::Null)) == tmpl
        });
        let now_s = util::now_rfc3339();
        let mut conds: Vec<Value> = d
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        let paused = d
            .pointer("/spec/paused")
            .and_then(|p| p.as_bool())
            .unwrap_or(false);
        let was_paused = conds.iter().any(|c| {
            util::str_of(c, "type") == "Progressing"
                && util::str_of(c, "reason") == "DeploymentPaused"
        });
        if paused {
            // a paused deployment is not rolled out (nor scaled, in kube-sim)
            set_condition(
                &mut conds,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                &now_s,
            );
            let mut status = d.get("status").cloned().unwrap_or(json!({}));
            status["observedGeneration"] = json!(i64_at(&d, "/metadata/generation"));
            status["conditions"] = Value::Array(conds);
            if !same_ignoring_times(d.get("status").unwrap_or(&Value::Null), &status) {
                st.set_status(drd, &d, status, "kube-controller-manager");
            }
            ctl.progress.insert(uid.clone(), Instant::now());
            continue;
        } else if was_paused {
            set_condition(
                &mut conds,
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed",
                &now_s,
            );
            ctl.progress.insert(uid.clone(), Instant::now());
        }
        let mut created_new = None;
        let new_rs = match new_idx {
            Some(i) => {
                let r = rss.remove(i);
                if rev(&r) < max_rev {
                    let mut n = r.clone();
                    n["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!((max_rev + 1).to_string());
                    st.put(rsrd, n, "kube-controller-manager").unwrap_or(r)
                } else {
                    r
                }
            }
            None => {
                let hash = template_hash(&tmpl);
                let rs_name = format!("{}-{}", name_of(&d), hash);
                let mut t = tmpl.clone();
                if t.get("metadata").is_none_or(|m| !m.is_object()) {
                    t["metadata"] = json!({});
                }
                if t["metadata"].get("labels").is_none_or(|m| !m.is_object()) {
                    t["metadata"]["labels"] = json!({});
                }
                t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                let mut sel = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                if sel.get("matchLabels").is_none_or(|m| !m.is_object()) {
                    sel["matchLabels"] = json!({});
                }
                sel["matchLabels"]["pod-template-hash"] = json!(hash);
                let old_total: i64 = rss.iter().map(|r| i64_at(r, "/spec/replicas")).sum();
                let initial = if recreate {
                    if old_total > 0 { 0 } else { desired }
                } else if old_total == 0 {
                    desired
                } else {
                    (desired + surge - old_total).clamp(0, desired)
                };
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": rs_name, "namespace": ns, "labels": t["metadata"]["labels"].clone(),
                        "annotations": {"deployment.kubernetes.io/revision": (max_rev + 1).to_string(),
                            "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                            "deployment.kubernetes.io/max-replicas": (desired + surge).to_string()},
                        "ownerReferences": [owner_ref(&d)]},
                    "spec": {"replicas": initial, "selector": sel, "template": t, "minReadySeconds": d.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0))},
                });
                match st.create(rsrd, rs, &WriteOpts::manager("kube-controller-manager")) {
                    Ok(r) => {
                        if initial > 0 {
                            emit_event(
                                st,
                                &d,
                                "Normal",
                                "ScalingReplicaSet",
                                &format!("Scaled up replica set {rs_name} from 0 to {initial}"),
                                "deployment-controller",
                                None,
                                None,
                            );
                        }
                        set_condition(
                            &mut conds,
                            "Progressing",
                            "True",
                            "NewReplicaSetCreated",
                            &format!("Created new replica set \"{rs_name}\""),
                            &now_s,
                        );
                        ctl.progress.insert(uid.clone(), Instant::now());
                        created_new = Some(r.clone());
                        r
                    }
                    Err(_) => continue,
                }
            }
        };
        let mut new_rs = new_rs;
        let mut olds = rss;
        if created_new.is_none() {
            if recreate {
                let old_active: i64 = olds.iter().map(|r| i64_at(r, "/spec/replicas")).sum();
                if old_active > 0 {
                    for o in olds.iter_mut() {
                        *o = scale_rs(st, &d, o, 0, desired, surge);
                    }
                } else {
                    let old_pods = st
                        .list(rd("", "pods"), Some(&ns))
                        .into_iter()
                        .filter(|p| olds.iter().any(|o| owned_by(p, &uid_of(o))))
                        .count();
                    if old_pods == 0 {
                        new_rs = scale_rs(st, &d, &new_rs, desired, desired, surge);
                    }
                }
            } else {
                let new_spec = i64_at(&new_rs, "/spec/replicas");
                let all_spec: i64 = new_spec
                    + olds
                        .iter()
                        .map(|r| i64_at(r, "/spec/replicas"))
                        .sum::<i64>();
                if new_spec > desired {
                    new_rs = scale_rs(st, &d, &new_rs, desired, desired, surge);
                } else if new_spec < desired {
                    let room = (desired + surge - all_spec).max(0);
                    let target = desired.min(new_spec + room);
                    if target > new_spec {
                        new_rs = scale_rs(st, &d, &new_rs, target, desired, surge);
                    }
                }
                // scale down old replica sets
                let min_available = desired - unavail;
                let new_spec = i64_at(&new_rs, "/spec/replicas");
                let new_unavailable = new_spec - i64_at(&new_rs, "/status/availableReplicas");
                let all_spec: i64 = new_spec
                    + olds
                        .iter()
                        .map(|r| i64_at(r, "/spec/replicas"))
                        .sum::<i64>();
                let mut max_down = all_spec - min_available - new_unavailable;
                if max_down > 0 {
                    for o in olds.iter_mut() {
                        let spec = i64_at(o, "/spec/replicas");
                        let unhealthy = spec - i64_at(o, "/status/availableReplicas");
                        if unhealthy > 0 && max_down > 0 {
                            let n = unhealthy.min(max_down);
                            *o = scale_rs(st, &d, o, spec - n, desired, surge);
                            max_down -= n;
                        }
                    }
                    let available: i64 = i64_at(&new_rs, "/status/availableReplicas")
                        + olds
                            .iter()
                            .map(|r| i64_at(r, "/status/availableReplicas"))
                            .sum::<i64>();
                    let mut total_down = (available - min_available).min(max_down);
                    for o in olds.iter_mut() {
                        if total_down <= 0 {
                            break;
                        }
                        let spec = i64_at(o, "/spec/replicas");
                        let n = spec.min(total_down);
                        if n > 0 {
                            *o = scale_rs(st, &d, o, spec - n, desired, surge);
                            total_down -= n;
                        }
                    }
                }
            }
        }
        // status
        let all: Vec<&Value> = std::iter::once(&new_rs).chain(olds.iter()).collect();
        let sum = |p: &str| -> i64 { all.iter().map(|r| i64_at(r, p)).sum() };
        let replicas = sum("/status/replicas");
        let updated = i64_at(&new_rs, "/status/replicas");
        let ready = sum("/status/readyReplicas");
        let available = sum("/status/availableReplicas");
        let total_spec = sum("/spec/replicas");
        let unavailable = (total_spec - available).max(0);
        let generation = i64_at(&d, "/metadata/generation");
        let old_status = d.get("status").cloned().unwrap_or(json!({}));
        if available >= desired - unavail {
            set_condition(
                &mut conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now_s,
            );
        } else {
            set_condition(
                &mut conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now_s,
            );
        }
        let rs_name = name_of(&new_rs);
        let complete = updated == desired && replicas == desired && available == desired;
        let old_replicas_now = replicas - updated;
        let old_replicas_before =
            i64_at(&old_status, "/replicas") - i64_at(&old_status, "/updatedReplicas");
        let progressing = updated > i64_at(&old_status, "/updatedReplicas")
            || old_replicas_now < old_replicas_before
            || ready > i64_at(&old_status, "/readyReplicas")
            || available > i64_at(&old_status, "/availableReplicas")
            || i64_at(&old_status, "/observedGeneration") < generation;
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(|v| v.as_i64());
        let cur_reason = conds
            .iter()
            .find(|c| util::str_of(c, "type") == "Progressing")
            .map(|c| util::str_of(c, "reason"))
            .unwrap_or_default();
        if complete {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                &now_s,
            );
            ctl.progress.insert(uid.clone(), Instant::now());
        } else if progressing && created_new.is_none() {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                &now_s,
            );
            ctl.progress.insert(uid.clone(), Instant::now());
        } else if let Some(secs) = deadline {
            let since = *ctl.progress.entry(uid.clone()).or_insert_with(Instant::now);
            let at = since + sh.scaled(Duration::from_secs(secs.max(0) as u64));
            if cur_reason != "ProgressDeadlineExceeded" && Instant::now() <= at {
                ctl.due_at(at + Duration::from_millis(1));
            }
            if cur_reason != "ProgressDeadlineExceeded" && Instant::now() > at {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                    &now_s,
                );
            }
        }
        // ReplicaFailure moves up from the ReplicaSets (the new one first)
        let failure = all.iter().find_map(|r| {
            r.pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .and_then(|a| {
                    a.iter()
                        .find(|c| util::str_of(c, "type") == "ReplicaFailure")
                        .cloned()
                })
        });
        match failure {
            Some(f) => set_condition(
                &mut conds,
                "ReplicaFailure",
                &util::str_of(&f, "status"),
                &util::str_of(&f, "reason"),
                &util::str_of(&f, "message"),
                &now_s,
            ),
            None => conds.retain(|c| util::str_of(c, "type") != "ReplicaFailure"),
        }
        // Available first, then Progressing (as the controller writes them)
        conds.sort_by_key(|c| {
            if util::str_of(c, "type") == "Available" {
                0
            } else {
                1
            }
        });
        let mut status = Map::new();
        status.insert("observedGeneration".into(), json!(generation));
        for (k, v) in [
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", unavailable),
        ] {
            if v != 0 {
                status.insert(k.into(), json!(v));
            }
        }
        status.insert("conditions".into(), Value::Array(conds));
        if let Some(cc) = old_status.get("collisionCount") {
            status.insert("collisionCount".into(), cc.clone());
        }
        let status = Value::Object(status);
        if !same_ignoring_times(&old_status, &status)
            && let Some(cur) = st.get(drd, &ns, &name_of(&d)).cloned()
        {
            st.set_status(drd, &cur, status, "kube-controller-manager");
        }
        // old ReplicaSets beyond revisionHistoryLimit are deleted (oldest revision first)
        let limit = d
            .pointer("/spec/revisionHistoryLimit")
            .and_then(|v| v.as_i64())
            .unwrap_or(10)
            .max(0) as usize;
        let mut idle: Vec<&Value> = olds
            .iter()
            .filter(|r| i64_at(r, "/spec/replicas") == 0 && i64_at(r, "/status/replicas") == 0)
            .collect();
        if idle.len() > limit {
            idle.sort_by_key(|r| rev(r));
            let victims: Vec<String> = idle[..idle.len() - limit]
                .iter()
                .map(|r| name_of(r))
                .collect();
            for v in victims {
                let _ = st.delete(rsrd, &ns, &v, &WriteOpts::default());
            }
        }
        // revision annotation on the deployment
        let new_rev = new_rs
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .cloned();
        if let Some(cur) = st.get(drd, &ns, &name_of(&d)).cloned()
            && cur.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                != new_rev.as_ref()
            && let Some(r) = new_rev
        {
            let mut n = cur.clone();
            if n["metadata"]
                .get("annotations")
                .is_none_or(|a| !a.is_object())
            {
                n["metadata"]["annotations"] = json!({});
            }
            n["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = r;
            st.put(drd, n, "kube-controller-manager");
        }
    }
}

fn same_ignoring_times(a: &Value, b: &Value) -> bool {
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

fn new_pod_from_template(
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

fn replicasets(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
    let rsrd = rd("apps", "replicasets");
    let prd = rd("", "pods");
    let now = Instant::now();
    for rs in st.list_cloned(rsrd, None) {
        if terminating(&rs) {
            continue;
        }
        let ns = ns_of(&rs);
        let uid = uid_of(&rs);
        let want = i64_at(&rs, "/spec/replicas");
        let mut pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| {
                owned_by(p, &uid)
                    && !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .cloned()
            .collect();
        let have = pods.len() as i64;
        // Some(Some(msg)): pod creation failed in this pass; Some(None): the replicas were
        // managed without error; None: nothing was attempted (back-off)
        let mut manage_err: Option<Option<String>> = None;
        if have >= want {
            manage_err = Some(None);
        }
        if have < want
            && let Some(t) = ctl.rs_next.get(&uid).copied()
            && now < t
        {
            ctl.due_at(t);
        }
        if have < want && ctl.rs_next.get(&uid).is_none_or(|t| now >= *t) {
            let tmpl = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
            manage_err = Some(None);
            for _ in 0..(want - have) {
                let pod = new_pod_from_template(
                    &rs,
                    &tmpl,
                    None,
                    Some(format!("{}-", name_of(&rs))),
                    &[],
                );
                match st.create(prd, pod, &WriteOpts::manager("kube-controller-manager")) {
                    Ok(p) => {
                        emit_event(
                            st,
                            &rs,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("Created pod: {}", name_of(&p)),
                            "replicaset-controller",
                            None,
                            None,
                        );
                        pods.push(p);
                    }
                    Err(e) => {
                        emit_event(
                            st,
                            &rs,
                            "Warning",
                            "FailedCreate",
                            &format!("Error creating: {}", e.message),
                            "replicaset-controller",
                            None,
                            None,
                        );
                        manage_err = Some(Some(e.message.clone()));
                        ctl.rs_next
                            .insert(uid.clone(), now + sh.scaled(Duration::from_secs(2)));
                        break;
                    }
                }
            }
        } else if have > want {
            pods.sort_by_key(|p| {
                (
                    pod_ready(p),
                    std::cmp::Reverse(util::str_of(p, "metadata.creationTimestamp")),
                )
            });
            for p in pods
                .iter()
                .take((have - want) as usize)
                .cloned()
                .collect::<Vec<_>>()
            {
                let _ = st.delete(prd, &ns, &name_of(&p), &WriteOpts::default());
                emit_event(
                    st,
                    &rs,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name_of(&p)),
                    "replicaset-controller",
                    None,
                    None,
                );
                pods.retain(|x| name_of(x) != name_of(&p));
            }
        }
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| {
                owned_by(p, &uid)
                    && !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .cloned()
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        // available = ready for at least minReadySeconds (scaled)
        let min_ready = sh.scaled(Duration::from_secs(
            rs.pointer("/spec/minReadySeconds")
                .and_then(|m| m.as_u64())
                .unwrap_or(0),
        ));
        let available = if min_ready.is_zero() {
            ready
        } else {
            let k = sh.kubelet.lock().unwrap_or_else(|e| e.into_inner());
            let mut n = 0;
            for p in pods.iter().filter(|p| pod_ready(p)) {
                match k.pods.get(&uid_of(p)).and_then(|ps| ps.ready_since) {
                    Some(t) if now.duration_since(t) >= min_ready => n += 1,
                    Some(t) => ctl.due_at(t + min_ready),
                    None => ctl.due_at(now + Duration::from_millis(20)),
                }
            }
            n
        };
        let mut status = json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready, "availableReplicas": available, "observedGeneration": i64_at(&rs, "/metadata/generation")});
        if let Some(o) = status.as_object_mut() {
            o.retain(|k, v| k == "replicas" || v.as_i64() != Some(0));
        }
        // the controller's ReplicaFailure condition: set when creating pods fails, removed
        // once the replicas are managed without error
        let mut conds: Vec<Value> = rs
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        match &manage_err {
            Some(Some(msg))
                if !conds
                    .iter()
                    .any(|c| util::str_of(c, "type") == "ReplicaFailure") =>
            {
                conds.push(json!({"type": "ReplicaFailure", "status": "True",
                    "lastTransitionTime": util::now_rfc3339(), "reason": "FailedCreate", "message": msg}));
            }
            Some(Some(_)) => {}
            Some(None) => conds.retain(|c| util::str_of(c, "type") != "ReplicaFailure"),
            None => {}
        }
        if !conds.is_empty() {
            status["conditions"] = Value::Array(conds);
        }
        if let Some(cur) = st.get(rsrd, &ns, &name_of(&rs)).cloned() {
            st.set_status(rsrd, &cur, status, "kube-controller-manager");
        }
    }
}

fn statefulsets(st: &mut Store) {
    let srd = rd("apps", "statefulsets");
    let prd = rd("", "pods");
    for s in st.list_cloned(srd, None) {
        if terminating(&s) {
            continue;
        }
        let ns = ns_of(&s);
        let name = name_of(&s);
        let uid = uid_of(&s);
        let want = i64_at(&s, "/spec/replicas");
        let tmpl = s.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let rev = format!("{}-{}", name, template_hash(&tmpl));
        let ordered = util::str_of(&s, "spec.podManagementPolicy") != "Parallel";
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid))
            .cloned()
            .collect();
        let by_ord = |i: i64| pods.iter().find(|p| name_of(p) == format!("{name}-{i}"));
        let mut busy = false;
        for i in 0..want {
            match by_ord(i) {
                None => {
                    if busy {
                        break;
                    }
                    let pname = format!("{name}-{i}");
                    // volume claim templates
                    if let Some(vcts) = s
                        .pointer("/spec/volumeClaimTemplates")
                        .and_then(|v| v.as_array())
                    {
                        let pvc_rd = rd("", "persistentvolumeclaims");
                        for v in vcts {
                            let cname = format!("{}-{}", name_of(v), pname);
                            if st.get(pvc_rd, &ns, &cname).is_none() {
                                let mut pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": cname, "namespace": ns,
                                    "labels": tmpl.pointer("/metadata/labels").cloned().unwrap_or(json!({}))}, "spec": v.get("spec").cloned().unwrap_or(json!({}))});
                                pvc["metadata"]["labels"]["app.kubernetes.io/managed-by-statefulset"] =
                                    json!(name);
                                let _ = st.create(
                                    pvc_rd,
                                    pvc,
                                    &WriteOpts::manager("kube-controller-manager"),
                                );
                            }
                        }
                    }
                    let mut pod = new_pod_from_template(
                        &s,
                        &tmpl,
                        Some(pname.clone()),
                        None,
                        &[
                            ("controller-revision-hash", rev.clone()),
                            ("statefulset.kubernetes.io/pod-name", pname.clone()),
                            ("apps.kubernetes.io/pod-index", i.to_string()),
                        ],
                    );
                    pod["spec"]["hostname"] = json!(pname);
                    let svc = util::str_of(&s, "spec.serviceName");
                    if !svc.is_empty() {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    if let Some(vcts) = s
                        .pointer("/spec/volumeClaimTemplates")
                        .and_then(|v| v.as_array())
                    {
                        let vols = pod["spec"]
                            .get("volumes")
                            .and_then(|v| v.as_array())
                            .cloned()
                            .unwrap_or_default();
                        let mut vols = vols;
                        for v in vcts {
                            vols.push(json!({"name": name_of(v), "persistentVolumeClaim": {"claimName": format!("{}-{}", name_of(v), pname)}}));
                        }
                        pod["spec"]["volumes"] = Value::Array(vols);
                    }
                    match st.create(prd, pod, &WriteOpts::manager("kube-controller-manager")) {
                        Ok(_) => emit_event(
                            st,
                            &s,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("create Pod {pname} in StatefulSet {name} successful"),
                            "statefulset-controller",
                            None,
                            None,
                        ),
                        Err(e) => emit_event(
                            st,
                            &s,
                            "Warning",
                            "FailedCreate",
                            &format!(
                                "create Pod {pname} in StatefulSet {name} failed error: {}",
                                e.message
                            ),
                            "statefulset-controller",
                            None,
                            None,
                        ),
                    }
                    if ordered {
                        busy = true;
                    }
                }
                Some(p) => {
                    if ordered && (!pod_ready(p) || terminating(p)) {
                        busy = true;
                    }
                }
            }
        }
        // scale down: highest ordinal first
        let mut extra: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                name_of(p)
                    .rsplit('-')
                    .next()
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|i| i >= want)
                    && !terminating(p)
            })
            .collect();
        extra.sort_by_key(|p| {
            std::cmp::Reverse(
                name_of(p)
                    .rsplit('-')
                    .next()
                    .and_then(|x| x.parse::<i64>().ok())
                    .unwrap_or(0),
            )
        });
        let extra: Vec<Value> = extra.into_iter().cloned().collect();
        for p in extra.iter().take(if ordered { 1 } else { usize::MAX }) {
            let _ = st.delete(prd, &ns, &name_of(p), &WriteOpts::default());
            emit_event(
                st,
                &s,
                "Normal",
                "SuccessfulDelete",
                &format!("delete Pod {} in StatefulSet {name} successful", name_of(p)),
                "statefulset-controller",
                None,
                None,
            );
        }
        // rolling update: replace the highest-ordinal outdated pod once all are ready
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid) && !terminating(p))
            .cloned()
            .collect();
        let all_ready = pods.len() as i64 == want && pods.iter().all(pod_ready);
        let outdated: Vec<&Value> = pods
            .iter()
            .filter(|p| util::str_of(p, "metadata.labels.controller-revision-hash") != rev)
            .collect();
        if all_ready
            && util::str_of(&s, "spec.updateStrategy.type") != "OnDelete"
            && let Some(p) = outdated.iter().max_by_key(|p| {
                name_of(p)
                    .rsplit('-')
                    .next()
                    .and_then(|x| x.parse::<i64>().ok())
                    .unwrap_or(0)
            })
        {
            let _ = st.delete(prd, &ns, &name_of(p), &WriteOpts::default());
        }
        let updated = pods
            .iter()
            .filter(|p| util::str_of(p, "metadata.labels.controller-revision-hash") == rev)
            .count() as i64;
        let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let cur_rev = if updated == want && ready == want {
            rev.clone()
        } else {
            s.pointer("/status/currentRevision")
                .and_then(|v| v.as_str())
                .map(String::from)
                .unwrap_or(rev.clone())
        };
        let current = pods
            .iter()
            .filter(|p| util::str_of(p, "metadata.labels.controller-revision-hash") == cur_rev)
            .count() as i64;
        let mut status = json!({"observedGeneration": i64_at(&s, "/metadata/generation"), "replicas": pods.len(), "readyReplicas": ready,
            "currentReplicas": current, "updatedReplicas": updated, "availableReplicas": ready, "currentRevision": cur_rev, "updateRevision": rev, "collisionCount": 0});
        if let Some(o) = status.as_object_mut() {
            o.retain(|k, v| {
                k == "replicas"
                    || k == "availableReplicas"
                    || k == "collisionCount"
                    || v.as_i64() != Some(0)
            });
        }
        if let Some(cur) = st.get(srd, &ns, &name).cloned() {
            st.set_status(srd, &cur, status, "kube-controller-manager");
        }
    }
}

fn daemonsets(st: &mut Store) {
    let drd = rd("apps", "daemonsets");
    let prd = rd("", "pods");
    for ds in st.list_cloned(drd, None) {
        if terminating(&ds) {
            continue;
        }
        let ns = ns_of(&ds);
        let name = name_of(&ds);
        let uid = uid_of(&ds);
        let tmpl = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tmpl);
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid))
            .cloned()
            .collect();
        let live: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
        // one pod per node
        for (node, _) in NODES {
            if !live
                .iter()
                .any(|p| util::str_of(p, "spec.nodeName") == node)
            {
                let mut pod = new_pod_from_template(
                    &ds,
                    &tmpl,
                    None,
                    Some(format!("{name}-")),
                    &[
                        ("controller-revision-hash", hash.clone()),
                        (
                            "pod-template-generation",
                            i64_at(&ds, "/metadata/generation").to_string(),
                        ),
                    ],
                );
                pod["spec"]["nodeName"] = json!(node);
                match st.create(prd, pod, &WriteOpts::manager("kube-controller-manager")) {
                    Ok(p) => emit_event(
                        st,
                        &ds,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {}", name_of(&p)),
                        "daemonset-controller",
                        None,
                        None,
                    ),
                    Err(e) => emit_event(
                        st,
                        &ds,
                        "Warning",
                        "FailedCreate",
                        &format!("Error creating: {}", e.message),
                        "daemonset-controller",
                        None,
                        None,
                    ),
                }
            }
        }
        // rolling update: replace one outdated pod at a time once all pods are ready
        let all_ready = live.len() == NODES.len() && live.iter().all(|p| pod_ready(p));
        if all_ready
            && util::str_of(&ds, "spec.updateStrategy.type") != "OnDelete"
            && let Some(p) = live
                .iter()
                .find(|p| util::str_of(p, "metadata.labels.controller-revision-hash") != hash)
        {
            let _ = st.delete(prd, &ns, &name_of(p), &WriteOpts::default());
            emit_event(
                st,
                &ds,
                "Normal",
                "SuccessfulDelete",
                &format!("Deleted pod: {}", name_of(p)),
                "daemonset-controller",
                None,
                None,
            );
        }
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid) && !terminating(p))
            .cloned()
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let updated = pods
            .iter()
            .filter(|p| util::str_of(p, "metadata.labels.controller-revision-hash") == hash)
            .count() as i64;
        let desired = NODES.len() as i64;
        let mut status = json!({"currentNumberScheduled": pods.len(), "desiredNumberScheduled": desired, "numberMisscheduled": 0,
            "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
            "observedGeneration": i64_at(&ds, "/metadata/generation")});
        if desired - ready > 0 {
            status["numberUnavailable"] = json!(desired - ready);
        }
        if let Some(o) = status.as_object_mut() {
            o.retain(|k, v| {
                matches!(
                    k.as_str(),
                    "currentNumberScheduled"
                        | "desiredNumberScheduled"
                        | "numberMisscheduled"
                        | "numberReady"
                ) || v.as_i64() != Some(0)
            });
        }
        if let Some(cur) = st.get(drd, &ns, &name).cloned() {
            st.set_status(drd, &cur, status, "kube-controller-manager");
        }
    }
}

fn pdbs(st: &mut Store) {
    let brd = rd("policy", "poddisruptionbudgets");
    let prd = rd("", "pods");
    for b in st.list_cloned(brd, None) {
        let ns = ns_of(&b);
        let sel = LabelSelector::from_selector(b.pointer("/spec/selector").unwrap_or(&Value::Null));
        let pods: Vec<&Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| {
                sel.matches(p)
                    && !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .collect();
        let expected = pods.len() as i64;
        let healthy = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let desired = if let Some(m) = b.pointer("/spec/minAvailable") {
            resolve_int_or_percent(Some(m), expected, true, "0")
        } else if let Some(m) = b.pointer("/spec/maxUnavailable") {
            (expected - resolve_int_or_percent(Some(m), expected, true, "0")).max(0)
        } else {
            expected
        };
        let allowed = (healthy - desired).max(0);
        let now = util::now_rfc3339();
        let status = json!({"observedGeneration": i64_at(&b, "/metadata/generation"), "currentHealthy": healthy, "desiredHealthy": desired,
            "expectedPods": expected, "disruptionsAllowed": allowed,
            "conditions": [{"type": "DisruptionAllowed", "status": if allowed > 0 { "True" } else { "False" },
                "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" }, "message": "", "lastTransitionTime": now, "observedGeneration": i64_at(&b, "/metadata/generation")}]});
        if !same_ignoring_times(b.get("status").unwrap_or(&Value::Null), &status) {
            st.set_status(brd, &b, status, "controllermanager");
        }
    }
}

fn jobs(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
    let jrd = rd("batch", "jobs");
    let prd = rd("", "pods");
    let now = Instant::now();
    for j in st.list_cloned(jrd, None) {
        if terminating(&j) {
            continue;
        }
        let ns = ns_of(&j);
        let uid = uid_of(&j);
        let name = name_of(&j);
        let conds: Vec<Value> = j
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        let finished = conds.iter().any(|c| {
            matches!(util::str_of(c, "type").as_str(), "Complete" | "Failed")
                && util::str_of(c, "status") == "True"
        });
        if finished
            && let Some(ttl) = j
                .pointer("/spec/ttlSecondsAfterFinished")
                .and_then(|t| t.as_u64())
        {
            let done_at = *ctl
                .job_finished
                .entry(uid.clone())
                .or_insert_with(Instant::now);
            let at = done_at + sh.scaled(Duration::from_secs(ttl));
            if now >= at {
                let _ = st.delete(jrd, &ns, &name_of(&j), &WriteOpts::default());
                continue;
            }
            ctl.due_at(at);
        }
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid))
            .cloned()
            .collect();
        let succeeded = pods
            .iter()
            .filter(|p| util::str_of(p, "status.phase") == "Succeeded")
            .count() as i64;
        let failed = pods
            .iter()
            .filter(|p| util::str_of(p, "status.phase") == "Failed")
            .count() as i64;
        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .collect();
        let ready = active.iter().filter(|p| pod_ready(p)).count() as i64;
        let completions = j
            .pointer("/spec/completions")
            .and_then(|c| c.as_i64())
            .unwrap_or(1);
        let parallelism = j
            .pointer("/spec/parallelism")
            .and_then(|c| c.as_i64())
            .unwrap_or(1);
        let backoff_limit = j
            .pointer("/spec/backoffLimit")
            .and_then(|c| c.as_i64())
            .unwrap_or(6);
        let suspended = j
            .pointer("/spec/suspend")
            .and_then(|c| c.as_bool())
            .unwrap_or(false);
        let now_s = util::now_rfc3339();
        let mut status = j.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        if status.get("startTime").is_none() && !suspended {
            status["startTime"] = json!(now_s);
        }
        let mut conds = conds;
        let mut active_n = active.len() as i64;
        if !finished {
            let seen = ctl.job_failed_seen.entry(uid.clone()).or_insert(0);
            if failed > *seen {
                *seen = failed;
                let exp = (failed - 1).clamp(0, 6) as u32;
                ctl.job_next.insert(
                    uid.clone(),
                    now + sh.scaled(Duration::from_secs(10 * 2u64.pow(exp))),
                );
            }
            let started = *ctl.job_started.entry(uid.clone()).or_insert(now);
            let deadline = j
                .pointer("/spec/activeDeadlineSeconds")
                .and_then(|d| d.as_u64())
                .map(|d| started + sh.scaled(Duration::from_secs(d)));
            if let Some(at) = deadline
                && now < at
                && succeeded < completions
            {
                ctl.due_at(at);
            }
            if succeeded < completions && deadline.is_some_and(|at| now >= at) {
                conds.push(json!({"type": "FailureTarget", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}));
                conds.push(json!({"type": "Failed", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}));
                for p in &active {
                    let _ = st.delete(
                        prd,
                        &ns,
                        &name_of(p),
                        &WriteOpts {
                            grace_seconds: Some(0),
                            ..Default::default()
                        },
                    );
                }
                active_n = 0;
                emit_event(
                    st,
                    &j,
                    "Warning",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    "job-controller",
                    None,
                    None,
                );
            } else if succeeded >= completions {
                conds.push(json!({"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}));
                conds.push(json!({"type": "Complete", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}));
                status["completionTime"] = json!(now_s);
                emit_event(
                    st,
                    &j,
                    "Normal",
                    "Completed",
                    "Job completed",
                    "job-controller",
                    None,
                    None,
                );
            } else if failed > backoff_limit {
                conds.push(json!({"type": "FailureTarget", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}));
                conds.push(json!({"type": "Failed", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}));
                for p in &active {
                    let _ = st.delete(
                        prd,
                        &ns,
                        &name_of(p),
                        &WriteOpts {
                            grace_seconds: Some(0),
                            ..Default::default()
                        },
                    );
                }
                active_n = 0;
                emit_event(
                    st,
                    &j,
                    "Warning",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    "job-controller",
                    None,
                    None,
                );
            } else if !suspended {
                let need = parallelism.min(completions - succeeded) - active_n;
                if need > 0
                    && let Some(t) = ctl.job_next.get(&uid).copied()
                    && now < t
                {
                    ctl.due_at(t);
                }
                if need > 0 && ctl.job_next.get(&uid).is_none_or(|t| now >= *t) {
                    let tmpl = j.pointer("/spec/template").cloned().unwrap_or(json!({}));
                    for _ in 0..need {
                        let pod = new_pod_from_template(
                            &j,
                            &tmpl,
                            None,
                            Some(format!("{name}-")),
                            &[
                                ("batch.kubernetes.io/controller-uid", uid.clone()),
                                ("batch.kubernetes.io/job-name", name.clone()),
                                ("controller-uid", uid.clone()),
                                ("job-name", name.clone()),
                            ],
                        );
                        match st.create(prd, pod, &WriteOpts::manager("kube-controller-manager")) {
                            Ok(p) => {
                                active_n += 1;
                                emit_event(
                                    st,
                                    &j,
                                    "Normal",
                                    "SuccessfulCreate",
                                    &format!("Created pod: {}", name_of(&p)),
                                    "job-controller",
                                    None,
                                    None,
                                );
                            }
                            Err(e) => {
                                emit_event(
                                    st,
                                    &j,
                                    "Warning",
                                    "FailedCreate",
                                    &format!("Error creating: {}", e.message),
                                    "job-controller",
                                    None,
                                    None,
                                );
                                ctl.job_next
                                    .insert(uid.clone(), now + sh.scaled(Duration::from_secs(2)));
                                break;
                            }
                        }
                    }
                }
            }
        }
        let o = status.as_object_mut().unwrap();
        if active_n > 0 {
            o.insert("active".into(), json!(active_n));
        } else {
            o.shift_remove("active");
        }
        for (k, v) in [("succeeded", succeeded), ("failed", failed)] {
            if v > 0 {
                o.insert(k.into(), json!(v));
            } else {
                o.shift_remove(k);
            }
        }
        o.insert("ready".into(), json!(ready));
        o.insert("terminating".into(), json!(0));
        o.insert("uncountedTerminatedPods".into(), json!({}));
        if !conds.is_empty() {
            o.insert("conditions".into(), Value::Array(conds));
        }
        if let Some(cur) = st.get(jrd, &ns, &name).cloned() {
            st.set_status(jrd, &cur, status, "kube-controller-manager");
        }
    }
}

fn resolve_target_port(pod: &Value, tp: &Value) -> Option<i64> {
    match tp {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            if let Ok(n) = s.parse() {
                return Some(n);
            }
            pod.pointer("/spec/containers")?
                .as_array()?
                .iter()
                .find_map(|c| {
                    c.get("ports")?
                        .as_array()?
                        .iter()
                        .find(|p| util::str_of(p, "name") == *s)
                        .and_then(|p| p.get("containerPort")?.as_i64())
                })
        }
        _ => None,
    }
}

fn endpoints(st: &mut Store) {
    let srd = rd("", "services");
    let erd = rd("", "endpoints");
    let esrd = rd("discovery.k8s.io", "endpointslices");
    let prd = rd("", "pods");
    for s in st.list_cloned(srd, None) {
        let Some(sel) = s
            .pointer("/spec/selector")
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        else {
            continue;
        };
        let ls = LabelSelector::from_map(sel);
        let ns = ns_of(&s);
        let name = name_of(&s);
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| {
                ls.matches(p)
                    && !util::str_of(p, "status.podIP").is_empty()
                    && !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .cloned()
            .collect();
        let sports: Vec<Value> = s
            .pointer("/spec/ports")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default();
        let ports: Vec<Value> = sports
            .iter()
            .map(|sp| {
                let tp = sp
                    .get("targetPort")
                    .cloned()
                    .unwrap_or(sp.get("port").cloned().unwrap_or(json!(0)));
                let port = pods
                    .first()
                    .and_then(|p| resolve_target_port(p, &tp))
                    .or_else(|| tp.as_i64())
                    .unwrap_or(0);
                let mut p = json!({"port": port, "protocol": util::str_of(sp, "protocol")});
                let n = util::str_of(sp, "name");
                if !n.is_empty() {
                    p["name"] = json!(n);
                }
                p
            })
            .collect();
        let addr = |p: &Value| {
            json!({"ip": util::str_of(p, "status.podIP"), "nodeName": util::str_of(p, "spec.nodeName"),
            "targetRef": {"kind": "Pod", "namespace": ns, "name": name_of(p), "uid": uid_of(p)}})
        };
        let ready: Vec<Value> = pods.iter().filter(|p| pod_ready(p)).map(addr).collect();
        let not_ready: Vec<Value> = pods.iter().filter(|p| !pod_ready(p)).map(addr).collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if pods.is_empty() {
            json!(null)
        } else {
            json!([subset])
        };
        let mut ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}});
        if let Some(l) = s.pointer("/metadata/labels") {
            ep["metadata"]["labels"] = l.clone();
        }
        if !subsets.is_null() {
            ep["subsets"] = subsets;
        }
        match st.get(erd, &ns, &name).cloned() {
            None => {
                let _ = st.create(erd, ep, &WriteOpts::manager("endpoint-controller"));
            }
            Some(cur) => {
                if cur.get("subsets") != ep.get("subsets") {
                    let mut n = cur.clone();
                    match ep.get("subsets") {
                        Some(x) => n["subsets"] = x.clone(),
                        None => {
                            n.as_object_mut().unwrap().shift_remove("subsets");
                        }
                    }
                    st.put(erd, n, "endpoint-controller");
                }
            }
        }
        let slice_name = format!("{name}-{}", &util::safe_hash(&name)[..5]);
        let eps: Vec<Value> = pods.iter().map(|p| {
            let r = pod_ready(p);
            json!({"addresses": [util::str_of(p, "status.podIP")], "conditions": {"ready": r, "serving": r, "terminating": false},
                "nodeName": util::str_of(p, "spec.nodeName"), "targetRef": {"kind": "Pod", "namespace": ns, "name": name_of(p), "uid": uid_of(p)}})
        }).collect();
        let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name, "namespace": ns, "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                "ownerReferences": [owner_ref(&s)]},
            "addressType": "IPv4", "endpoints": eps, "ports": ports});
        match st.get(esrd, &ns, &slice_name).cloned() {
            None => {
                let _ = st.create(esrd, slice, &WriteOpts::manager("endpointslice-controller"));
            }
            Some(cur) => {
                if cur.get("endpoints") != slice.get("endpoints")
                    || cur.get("ports") != slice.get("ports")
                {
                    let mut n = cur.clone();
                    n["endpoints"] = slice["endpoints"].clone();
                    n["ports"] = slice["ports"].clone();
                    st.put(esrd, n, "endpointslice-controller");
                }
            }
        }
    }
}

fn quotas(st: &mut Store) {
    let qrd = rd("", "resourcequotas");
    for q in st.list_cloned(qrd, None) {
        let Some(hard) = q.pointer("/spec/hard").and_then(|h| h.as_object()).cloned() else {
            continue;
        };
        let used = crate::admission::namespace_usage(st, &ns_of(&q), &hard);
        let used_json: Map<String, Value> = used
            .iter()
            .map(|(k, v)| (k.clone(), json!(util::fmt_quantity(k, *v))))
            .collect();
        let status = json!({"hard": hard, "used": used_json});
        st.set_status(qrd, &q, status, "resourcequota-controller");
    }
}

fn pvcs(st: &mut Store) {
    let prd = rd("", "persistentvolumeclaims");
    for p in st.list_cloned(prd, None) {
        if util::str_of(&p, "status.phase") == "Bound" {
            continue;
        }
        let status = json!({"phase": "Bound", "accessModes": p.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": {"storage": p.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"))}});
        let mut n = p.clone();
        n["spec"]["volumeName"] = json!(format!("pvc-{}", uid_of(&p)));
        if let Some(r) = st.put(prd, n, "persistentvolume-controller") {
            st.set_status(prd, &r, status, "persistentvolume-controller");
        }
    }
}

fn hpas(st: &mut Store) {
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

// ---------------------------------------------------------------------------
// metrics.k8s.io

fn pod_metrics(p: &Value) -> Value {
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

fn node_metrics(st: &Store, node: &str) -> Value {
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

// ---------------------------------------------------------------------------
// Table output for kubectl get

fn age(ts: &str) -> String {
    // parse RFC3339 seconds precision
    let parse = |s: &str| -> Option<i64> {
        let (d, t) = s.split_once('T')?;
        let mut dp = d.split('-').map(|x| x.parse::<i64>().ok());
        let (y, m, dd) = (dp.next()??, dp.next()??, dp.next()??);
        let t = t.trim_end_matches('Z');
        let t = t.split('.').next()?;
        let mut tp = t.split(':').map(|x| x.parse::<i64>().ok());
        let (h, mi, se) = (tp.next()??, tp.next()??, tp.next()??);
        let y2 = if m <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + dd - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146097 + doe - 719468;
        Some(days * 86400 + h * 3600 + mi * 60 + se)
    };
    let Some(t) = parse(ts) else {
        return "<unknown>".into();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let s = (now - t).max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 600 {
        format!("{}m{}s", s / 60, s % 60)
    } else if s < 3 * 3600 {
        format!("{}m", s / 60)
    } else if s < 48 * 3600 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86400)
    }
}

fn col(name: &str, typ: &str, fmt: &str) -> Value {
    json!({"name": name, "type": typ, "format": fmt, "description": name, "priority": 0})
}

/// A column kubectl shows only with `-o wide`.
fn wide(name: &str) -> Value {
    json!({"name": name, "type": "string", "format": "", "description": name, "priority": 1})
}

fn or_none(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

/// `metav1.FormatLabelSelector`: `app=web,tier in (a,b)`.
fn format_selector(sel: Option<&Value>) -> Value {
    let Some(sel) = sel else {
        return json!("<none>");
    };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    for e in sel
        .get("matchExpressions")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let key = util::str_of(&e, "key");
        let vals: Vec<String> = e
            .get("values")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        parts.push(match util::str_of(&e, "operator").as_str() {
            "In" => format!("{key} in ({})", vals.join(",")),
            "NotIn" => format!("{key} notin ({})", vals.join(",")),
            "Exists" => key,
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        });
    }
    if parts.is_empty() {
        json!("<none>")
    } else {
        json!(parts.join(","))
    }
}

/// CONTAINERS, IMAGES (and SELECTOR) of a workload's pod template.
fn template_cells(o: &Value, with_selector: bool) -> Vec<Value> {
    let cs = o
        .pointer("/spec/template/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = cs.iter().map(|c| util::str_of(c, "name")).collect();
    let images: Vec<String> = cs.iter().map(|c| util::str_of(c, "image")).collect();
    let mut v = vec![json!(names.join(",")), json!(images.join(","))];
    if with_selector {
        v.push(format_selector(o.pointer("/spec/selector")));
    }
    v
}

/// A CRD printer column's JSONPath: `.a.b`, `[N]`, `[?(@.k=='v')]`.
fn simple_jsonpath<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    let mut rest = path.trim_start_matches('{').trim_end_matches('}');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(f) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, want) = f.split_once("==")?;
                let want = want.trim_matches(|c| c == '\'' || c == '"');
                cur = cur
                    .as_array()?
                    .iter()
                    .find(|x| x.get(k).and_then(|y| y.as_str()) == Some(want))?;
            } else {
                cur = cur.get(inner.parse::<usize>().ok()?)?;
            }
        } else {
            return None;
        }
    }
    Some(cur)
}

pub fn table(rd_: &ResDef, items: Vec<Value>, meta: Value) -> Value {
    let (cols, f): (Vec<Value>, Box<dyn Fn(&Value) -> Vec<Value>>) = match (rd_.group, rd_.plural) {
        _ if rd_.custom && !rd_.printer_columns.is_empty() => {
            let pc = rd_.printer_columns;
            let mut cols = vec![col("Name", "string", "name")];
            for (n, t, _) in pc {
                let t = if *t == "date" { "date" } else { t };
                cols.push(col(n, t, ""));
            }
            (
                cols,
                Box::new(move |o: &Value| {
                    let mut cells = vec![json!(name_of(o))];
                    for (_, t, p) in pc {
                        let v = simple_jsonpath(o, p);
                        cells.push(match (v, *t) {
                            (Some(Value::String(s)), "date") => json!(age(s)),
                            (Some(Value::String(s)), _) => json!(s),
                            (Some(Value::Null) | None, _) => Value::Null,
                            (Some(x), _) => x.clone(),
                        });
                    }
                    cells
                }),
            )
        }
        ("", "pods") => (
            vec![
                col("Name", "string", "name"),
                col("Ready", "string", ""),
                col("Status", "string", ""),
                col("Restarts", "string", ""),
                col("Age", "string", ""),
                wide("IP"),
                wide("Node"),
                wide("Nominated Node"),
                wide("Readiness Gates"),
            ],
            Box::new(|p: &Value| {
                let cs = p
                    .pointer("/status/containerStatuses")
                    .and_then(|c| c.as_array())
                    .cloned()
                    .unwrap_or_default();
                let total = p
                    .pointer("/spec/containers")
                    .and_then(|c| c.as_array())
                    .map(|a| a.len())
                    .unwrap_or(0);
                let ready = cs
                    .iter()
                    .filter(|c| c.get("ready") == Some(&json!(true)))
                    .count();
                let restarts: i64 = cs.iter().map(|c| i64_at(c, "/restartCount")).sum();
                let mut status = util::str_of(p, "status.phase");
                for c in &cs {
                    if let Some(r) = c.pointer("/state/waiting/reason").and_then(|r| r.as_str()) {
                        status = r.to_string();
                    } else if let Some(r) = c
                        .pointer("/state/terminated/reason")
                        .and_then(|r| r.as_str())
                    {
                        status = r.to_string();
                    }
                }
                if p.pointer("/metadata/deletionTimestamp").is_some() {
                    status = "Terminating".into();
                }
                let gates = p
                    .pointer("/spec/readinessGates")
                    .and_then(|g| g.as_array())
                    .cloned()
                    .unwrap_or_default();
                let gates_cell = if gates.is_empty() {
                    json!("<none>")
                } else {
                    let conds = p
                        .pointer("/status/conditions")
                        .and_then(|c| c.as_array())
                        .cloned()
                        .unwrap_or_default();
                    let ok = gates
                        .iter()
                        .filter(|g| {
                            conds.iter().any(|c| {
                                util::str_of(c, "type") == util::str_of(g, "conditionType")
                                    && util::str_of(c, "status") == "True"
                            })
                        })
                        .count();
                    json!(format!("{ok}/{}", gates.len()))
                };
                vec![
                    json!(name_of(p)),
                    json!(format!("{ready}/{total}")),
                    json!(status),
                    json!(restarts.to_string()),
                    json!(age(&util::str_of(p, "metadata.creationTimestamp"))),
                    or_none(util::str_of(p, "status.podIP")),
                    or_none(util::str_of(p, "spec.nodeName")),
                    or_none(util::str_of(p, "status.nominatedNodeName")),
                    gates_cell,
                ]
            }),
        ),
        ("apps", "deployments") => (
            vec![
                col("Name", "string", "name"),
                col("Ready", "string", ""),
                col("Up-to-date", "integer", ""),
                col("Available", "integer", ""),
                col("Age", "string", ""),
                wide("Containers"),
                wide("Images"),
                wide("Selector"),
            ],
            Box::new(|d: &Value| {
                let mut v = vec![
                    json!(name_of(d)),
                    json!(format!(
                        "{}/{}",
                        i64_at(d, "/status/readyReplicas"),
                        i64_at(d, "/spec/replicas")
                    )),
                    json!(i64_at(d, "/status/updatedReplicas")),
                    json!(i64_at(d, "/status/availableReplicas")),
                    json!(age(&util::str_of(d, "metadata.creationTimestamp"))),
                ];
                v.extend(template_cells(d, true));
                v
            }),
        ),
        ("", "events") => (
            vec![
                col("Last Seen", "string", ""),
                col("Type", "string", ""),
                col("Reason", "string", ""),
                col("Object", "string", ""),
                wide("Subobject"),
                wide("Source"),
                col("Message", "string", ""),
                wide("First Seen"),
                wide("Count"),
                wide("Name"),
            ],
            Box::new(|e: &Value| {
                let source = {
                    let c = util::str_of(e, "source.component");
                    let h = util::str_of(e, "source.host");
                    if h.is_empty() { c } else { format!("{c}, {h}") }
                };
                vec![
                    json!(age(&util::str_of(e, "lastTimestamp"))),
                    json!(util::str_of(e, "type")),
                    json!(util::str_of(e, "reason")),
                    json!(format!(
                        "{}/{}",
                        util::str_of(e, "involvedObject.kind").to_lowercase(),
                        util::str_of(e, "involvedObject.name")
                    )),
                    json!(util::str_of(e, "involvedObject.fieldPath")),
                    json!(source),
                    json!(util::str_of(e, "message").trim()),
                    json!(age(&util::str_of(e, "firstTimestamp"))),
                    json!(e.get("count").and_then(|c| c.as_i64()).unwrap_or(1)),
                    json!(name_of(e)),
                ]
            }),
        ),
        ("apps", "replicasets") => (
            vec![
                col("Name", "string", "name"),
                col("Desired", "integer", ""),
                col("Current", "integer", ""),
                col("Ready", "integer", ""),
                col("Age", "string", ""),
                wide("Containers"),
                wide("Images"),
                wide("Selector"),
            ],
            Box::new(|r: &Value| {
                let mut v = vec![
                    json!(name_of(r)),
                    json!(i64_at(r, "/spec/replicas")),
                    json!(i64_at(r, "/status/replicas")),
                    json!(i64_at(r, "/status/readyReplicas")),
                    json!(age(&util::str_of(r, "metadata.creationTimestamp"))),
                ];
                v.extend(template_cells(r, true));
                v
            }),
        ),
        ("apps", "statefulsets") => (
            vec![
                col("Name", "string", "name"),
                col("Ready", "string", ""),
                col("Age", "string", ""),
                wide("Containers"),
                wide("Images"),
            ],
            Box::new(|r: &Value| {
                let mut v = vec![
                    json!(name_of(r)),
                    json!(format!(
                        "{}/{}",
                        i64_at(r, "/status/readyReplicas"),
                        i64_at(r, "/spec/replicas")
                    )),
                    json!(age(&util::str_of(r, "metadata.creationTimestamp"))),
                ];
                v.extend(template_cells(r, false));
                v
            }),
        ),
        ("batch", "jobs") => (
            vec![
                col("Name", "string", "name"),
                col("Status", "string", ""),
                col("Completions", "string", ""),
                col("Age", "string", ""),
                wide("Containers"),
                wide("Images"),
                wide("Selector"),
            ],
            Box::new(|j: &Value| {
                let conds = j
                    .pointer("/status/conditions")
                    .and_then(|c| c.as_array())
                    .cloned()
                    .unwrap_or_default();
                let has = |t: &str| {
                    conds.iter().any(|c| {
                        util::str_of(c, "type") == t && util::str_of(c, "status") == "True"
                    })
                };
                let status = if has("Complete") {
                    "Complete"
                } else if has("Failed") {
                    "Failed"
                } else {
                    "Running"
                };
                vec![
                    json!(name_of(j)),
                    json!(status),
                    json!(format!(
                        "{}/{}",
                        i64_at(j, "/status/succeeded"),
                        j.pointer("/spec/completions")
                            .and_then(|c| c.as_i64())
                            .unwrap_or(1)
                    )),
                    json!(age(&util::str_of(j, "metadata.creationTimestamp"))),
                    template_cells(j, true)[0].clone(),
                    template_cells(j, true)[1].clone(),
                    template_cells(j, true)[2].clone(),
                ]
            }),
        ),
        ("", "services") => (
            vec![
                col("Name", "string", "name"),
                col("Type", "string", ""),
                col("Cluster-IP", "string", ""),
                col("External-IP", "string", ""),
                col("Port(s)", "string", ""),
                col("Age", "string", ""),
                wide("Selector"),
            ],
            Box::new(|s: &Value| {
                let ports: Vec<String> = s
                    .pointer("/spec/ports")
                    .and_then(|p| p.as_array())
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        format!(
                            "{}/{}",
                            util::str_of(p, "port"),
                            util::str_of(p, "protocol")
                        )
                    })
                    .collect();
                vec![
                    json!(name_of(s)),
                    json!(util::str_of(s, "spec.type")),
                    json!(util::str_of(s, "spec.clusterIP")),
                    json!("<none>"),
                    json!(if ports.is_empty() {
                        "<none>".to_string()
                    } else {
                        ports.join(",")
                    }),
                    json!(age(&util::str_of(s, "metadata.creationTimestamp"))),
                    format_selector(
                        s.pointer("/spec/selector")
                            .map(|m| json!({"matchLabels": m}))
                            .as_ref(),
                    ),
                ]
            }),
        ),
        ("", "configmaps") => (
            vec![
                col("Name", "string", "name"),
                col("Data", "integer", ""),
                col("Age", "string", ""),
            ],
            Box::new(|o: &Value| {
                let n = o
                    .get("data")
                    .and_then(|d| d.as_object())
                    .map_or(0, |d| d.len())
                    + o.get("binaryData")
                        .and_then(|d| d.as_object())
                        .map_or(0, |d| d.len());
                vec![
                    json!(name_of(o)),
                    json!(n),
                    json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
                ]
            }),
        ),
        ("", "secrets") => (
            vec![
                col("Name", "string", "name"),
                col("Type", "string", ""),
                col("Data", "integer", ""),
                col("Age", "string", ""),
            ],
            Box::new(|o: &Value| {
                let n = o
                    .get("data")
                    .and_then(|d| d.as_object())
                    .map_or(0, |d| d.len());
                vec![
                    json!(name_of(o)),
                    json!(util::str_of(o, "type")),
                    json!(n),
                    json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
                ]
            }),
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                col("Name", "string", "name"),
                col("Status", "string", ""),
                col("Volume", "string", ""),
                col("Capacity", "string", ""),
                col("Access Modes", "string", ""),
                col("StorageClass", "string", ""),
                col("Age", "string", ""),
            ],
            Box::new(|o: &Value| {
                let modes: Vec<String> = o
                    .pointer("/status/accessModes")
                    .and_then(|m| m.as_array())
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| {
                        match m.as_str().unwrap_or("") {
                            "ReadWriteOnce" => "RWO",
                            "ReadOnlyMany" => "ROX",
                            "ReadWriteMany" => "RWX",
                            "ReadWriteOncePod" => "RWOP",
                            x => x,
                        }
                        .to_string()
                    })
                    .collect();
                vec![
                    json!(name_of(o)),
                    json!(util::str_of(o, "status.phase")),
                    json!(util::str_of(o, "spec.volumeName")),
                    json!(util::str_of(o, "status.capacity.storage")),
                    json!(modes.join(",")),
                    json!(util::str_of(o, "spec.storageClassName")),
                    json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
                ]
            }),
        ),
        ("autoscaling", "horizontalpodautoscalers") => (
            vec![
                col("Name", "string", "name"),
                col("Reference", "string", ""),
                col("Targets", "string", ""),
                col("MinPods", "string", ""),
                col("MaxPods", "integer", ""),
                col("Replicas", "integer", ""),
                col("Age", "string", ""),
            ],
            Box::new(|o: &Value| {
                let target = format!(
                    "{}/{}",
                    util::str_of(o, "spec.scaleTargetRef.kind"),
                    util::str_of(o, "spec.scaleTargetRef.name")
                );
                let metrics: Vec<String> = o
                    .pointer("/spec/metrics")
                    .and_then(|m| m.as_array())
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter(|m| util::str_of(m, "type") == "Resource")
                    .map(|m| {
                        format!(
                            "{}: {}%/{}%",
                            util::str_of(m, "resource.name"),
                            10,
                            util::str_of(m, "resource.target.averageUtilization")
                        )
                    })
                    .collect();
                vec![
                    json!(name_of(o)),
                    json!(target),
                    json!(if metrics.is_empty() {
                        "<none>".to_string()
                    } else {
                        metrics.join(", ")
                    }),
                    json!(
                        o.pointer("/spec/minReplicas")
                            .and_then(|v| v.as_i64())
                            .unwrap_or(1)
                            .to_string()
                    ),
                    json!(i64_at(o, "/spec/maxReplicas")),
                    json!(i64_at(o, "/status/currentReplicas")),
                    json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
                ]
            }),
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (
            vec![col("Name", "string", "name"), col("Created At", "date", "")],
            Box::new(|o: &Value| {
                vec![
                    json!(name_of(o)),
                    json!(util::str_of(o, "metadata.creationTimestamp")),
                ]
            }),
        ),
        ("", "namespaces") => (
            vec![
                col("Name", "string", "name"),
                col("Status", "string", ""),
                col("Age", "string", ""),
            ],
            Box::new(|n: &Value| {
                vec![
                    json!(name_of(n)),
                    json!(util::str_of(n, "status.phase")),
                    json!(age(&util::str_of(n, "metadata.creationTimestamp"))),
                ]
            }),
        ),
        ("", "nodes") => (
            vec![
                col("Name", "string", "name"),
                col("Status", "string", ""),
                col("Roles", "string", ""),
                col("Age", "string", ""),
                col("Version", "string", ""),
                wide("Internal-IP"),
                wide("External-IP"),
                wide("OS-Image"),
                wide("Kernel-Version"),
                wide("Container-Runtime"),
            ],
            Box::new(|n: &Value| {
                let mut status = if crate::nodes::is_ready(n) {
                    "Ready".to_string()
                } else {
                    "NotReady".to_string()
                };
                if n.pointer("/spec/unschedulable").and_then(|u| u.as_bool()) == Some(true) {
                    status.push_str(",SchedulingDisabled");
                }
                let addr = |t: &str| {
                    or_none(
                        n.pointer("/status/addresses")
                            .and_then(|a| a.as_array())
                            .and_then(|a| a.iter().find(|x| util::str_of(x, "type") == t))
                            .map(|x| util::str_of(x, "address"))
                            .unwrap_or_default(),
                    )
                };
                vec![
                    json!(name_of(n)),
                    json!(status),
                    json!("<none>"),
                    json!(age(&util::str_of(n, "metadata.creationTimestamp"))),
                    json!(util::str_of(n, "status.nodeInfo.kubeletVersion")),
                    addr("InternalIP"),
                    addr("ExternalIP"),
                    json!(util::str_of(n, "status.nodeInfo.osImage")),
                    json!(util::str_of(n, "status.nodeInfo.kernelVersion")),
                    json!(util::str_of(n, "status.nodeInfo.containerRuntimeVersion")),
                ]
            }),
        ),
        _ => (
            vec![col("Name", "string", "name"), col("Age", "string", "")],
            Box::new(|o: &Value| {
                vec![
                    json!(name_of(o)),
                    json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
                ]
            }),
        ),
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|o| json!({"cells": f(o), "object": o}))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols, "rows": rows})
}
