//! Node health as the node lifecycle controller and the taint-eviction controller keep it:
//! the Ready condition decides the `node.kubernetes.io/not-ready` / `unreachable` taints,
//! pods on a node that is not Ready are marked not ready, and pods that do not tolerate a
//! NoExecute taint (or whose `tolerationSeconds` ran out) are evicted.

use crate::Shared;
use crate::kubelet::{emit_event, rd};
use crate::store::{Store, WriteOpts, name_of, ns_of, uid_of};
use crate::util;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The status of a node's Ready condition ("True", "False", "Unknown").
pub fn ready_status(node: &Value) -> String {
    node.pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .and_then(|a| a.iter().find(|c| util::str_of(c, "type") == "Ready"))
        .map(|c| util::str_of(c, "status"))
        .unwrap_or_else(|| "Unknown".into())
}

pub fn is_ready(node: &Value) -> bool {
    ready_status(node) == "True"
}

/// Ready / NotReady readiness of every node, by name.
pub fn readiness(st: &Store) -> HashMap<String, bool> {
    st.list(rd("", "nodes"), None)
        .into_iter()
        .map(|n| (name_of(n), is_ready(n)))
        .collect()
}

/// The conditions a node reports: healthy (the kubelet's), or all Unknown as the node
/// lifecycle controller writes them when the kubelet stops posting status.
pub fn conditions(ready: bool, old: &Value) -> Value {
    let now = util::now_rfc3339();
    let prev = |t: &str| {
        old.pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .and_then(|a| a.iter().find(|c| util::str_of(c, "type") == t))
            .cloned()
    };
    let healthy = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    let conds: Vec<Value> = healthy
        .iter()
        .map(|(t, s, r, m)| {
            let (s, r, m) = if ready {
                (*s, *r, m.to_string())
            } else {
                (
                    "Unknown",
                    "NodeStatusUnknown",
                    "Kubelet stopped posting node status.".to_string(),
                )
            };
            let p = prev(t);
            let heartbeat = if ready {
                now.clone()
            } else {
                p.as_ref()
                    .map(|p| util::str_of(p, "lastHeartbeatTime"))
                    .unwrap_or_else(|| now.clone())
            };
            let transition = match &p {
                Some(p) if util::str_of(p, "status") == s => util::str_of(p, "lastTransitionTime"),
                _ => now.clone(),
            };
            json!({"type": t, "status": s, "reason": r, "message": m,
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition})
        })
        .collect();
    Value::Array(conds)
}

/// Set a node's Ready condition (true: the kubelet posts ready status again; false: it
/// stopped posting, every condition Unknown / NodeStatusUnknown). False if no such node.
pub fn set_ready(st: &mut Store, name: &str, ready: bool) -> bool {
    let nrd = rd("", "nodes");
    let Some(node) = st.get(nrd, "", name).cloned() else {
        return false;
    };
    let mut status = node.get("status").cloned().unwrap_or(json!({}));
    status["conditions"] = conditions(ready, &node);
    let manager = if ready {
        "kubelet"
    } else {
        "kube-controller-manager"
    };
    st.set_status(nrd, &node, status, manager);
    true
}

/// Taints, pod readiness and NoExecute evictions for every node.
pub fn reconcile(
    sh: &Shared,
    st: &mut Store,
    no_execute_since: &mut HashMap<(String, String), Instant>,
    due: &mut Option<Instant>,
) {
    let nrd = rd("", "nodes");
    let prd = rd("", "pods");
    let now = Instant::now();
    for node in st.list_cloned(nrd, None) {
        let name = name_of(&node);
        let status = ready_status(&node);
        let want: Option<&str> = match status.as_str() {
            "True" => None,
            "False" => Some(NOT_READY),
            _ => Some(UNREACHABLE),
        };
        let taints: Vec<Value> = node
            .pointer("/spec/taints")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default();
        let mut new: Vec<Value> = taints
            .iter()
            .filter(|t| {
                let k = util::str_of(t, "key");
                (k != NOT_READY && k != UNREACHABLE) || Some(k.as_str()) == want
            })
            .cloned()
            .collect();
        if let Some(key) = want {
            for effect in ["NoSchedule", "NoExecute"] {
                if !new
                    .iter()
                    .any(|t| util::str_of(t, "key") == key && util::str_of(t, "effect") == effect)
                {
                    let mut t = json!({"key": key, "effect": effect});
                    if effect == "NoExecute" {
                        t["timeAdded"] = json!(util::now_rfc3339());
                    }
                    new.push(t);
                }
            }
        }
        if new != taints {
            let mut n = node.clone();
            if new.is_empty() {
                if let Some(s) = n.get_mut("spec").and_then(|s| s.as_object_mut()) {
                    s.shift_remove("taints");
                }
            } else {
                n["spec"]["taints"] = Value::Array(new.clone());
            }
            st.put(nrd, n, "kube-controller-manager");
            let reason = if want.is_some() {
                "NodeNotReady"
            } else {
                "NodeReady"
            };
            let msg = format!("Node {name} status is now: {reason}");
            let node_now = st.get(nrd, "", &name).cloned().unwrap_or(node.clone());
            emit_event(
                st,
                &node_now,
                "Normal",
                reason,
                &msg,
                "node-controller",
                None,
                None,
            );
        }
        // NoExecute taints: evict pods that do not tolerate them (in time)
        let no_exec: Vec<Value> = new
            .iter()
            .filter(|t| util::str_of(t, "effect") == "NoExecute")
            .cloned()
            .collect();
        no_execute_since
            .retain(|(n, k), _| *n != name || no_exec.iter().any(|t| util::str_of(t, "key") == *k));
        for t in &no_exec {
            no_execute_since
                .entry((name.clone(), util::str_of(t, "key")))
                .or_insert(now);
        }
        for pod in st.list_cloned(prd, None) {
            if util::str_of(&pod, "spec.nodeName") != name
                || pod.pointer("/metadata/deletionTimestamp").is_some()
            {
                continue;
            }
            if matches!(
                util::str_of(&pod, "status.phase").as_str(),
                "Succeeded" | "Failed"
            ) {
                continue;
            }
            // the node lifecycle controller marks pods on a node that is not Ready
            if status != "True" {
                mark_not_ready(st, &pod);
            }
            let mut evict_at: Option<Instant> = None;
            for t in &no_exec {
                let key = util::str_of(t, "key");
                let since = no_execute_since[&(name.clone(), key.clone())];
                match toleration_for(&pod, t) {
                    None => evict_at = Some(now),
                    Some(None) => {}
                    Some(Some(secs)) => {
                        let at = since + sh.scaled(Duration::from_secs(secs.max(0) as u64));
                        evict_at = Some(evict_at.map_or(at, |e: Instant| e.min(at)));
                    }
                }
            }
            if let Some(at) = evict_at {
                if at <= now {
                    let ns = ns_of(&pod);
                    let pname = name_of(&pod);
                    emit_event(
                        st,
                        &pod,
                        "Normal",
                        "TaintManagerEviction",
                        &format!("Marking for deletion Pod {ns}/{pname}"),
                        "taint-eviction-controller",
                        None,
                        None,
                    );
                    let _ = st.delete(
                        prd,
                        &ns,
                        &pname,
                        &WriteOpts::manager("taint-eviction-controller"),
                    );
                } else {
                    *due = Some(due.map_or(at, |d| d.min(at)));
                }
            }
        }
    }
}

fn mark_not_ready(st: &mut Store, pod: &Value) {
    let Some(conds) = pod.pointer("/status/conditions").and_then(|c| c.as_array()) else {
        return;
    };
    if !conds
        .iter()
        .any(|c| util::str_of(c, "type") == "Ready" && util::str_of(c, "status") == "True")
    {
        return;
    }
    let now = util::now_rfc3339();
    let new: Vec<Value> = conds
        .iter()
        .map(|c| {
            if util::str_of(c, "type") == "Ready" {
                let mut c = c.clone();
                c["status"] = json!("False");
                c["lastTransitionTime"] = json!(now);
                c
            } else {
                c.clone()
            }
        })
        .collect();
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    status["conditions"] = Value::Array(new);
    let _ = uid_of(pod);
    st.set_status(rd("", "pods"), pod, status, "node-controller");
    emit_event(
        st,
        pod,
        "Warning",
        "NodeNotReady",
        "Node is not ready",
        "node-controller",
        None,
        None,
    );
}

/// Does `pod` tolerate `taint`? None: no; Some(None): forever; Some(Some(s)): for s seconds.
pub fn toleration_for(pod: &Value, taint: &Value) -> Option<Option<i64>> {
    let key = util::str_of(taint, "key");
    let value = util::str_of(taint, "value");
    let effect = util::str_of(taint, "effect");
    let tols = pod
        .pointer("/spec/tolerations")
        .and_then(|t| t.as_array())?;
    let mut best: Option<Option<i64>> = None;
    for t in tols {
        let tk = util::str_of(t, "key");
        let op = util::str_of(t, "operator");
        let te = util::str_of(t, "effect");
        let key_ok = if tk.is_empty() {
            op == "Exists"
        } else {
            tk == key
        };
        let val_ok = op == "Exists" || util::str_of(t, "value") == value;
        let eff_ok = te.is_empty() || te == effect;
        if key_ok && val_ok && eff_ok {
            let secs = if effect == "NoExecute" {
                t.get("tolerationSeconds").and_then(|s| s.as_i64())
            } else {
                None
            };
            best = match (best, secs) {
                (Some(None), _) | (_, None) => Some(None),
                (Some(Some(a)), Some(b)) => Some(Some(a.max(b))),
                (None, Some(b)) => Some(Some(b)),
            };
        }
    }
    best
}

/// The scheduler's TaintToleration filter: the first NoSchedule / NoExecute taint the pod
/// does not tolerate, formatted as the scheduler does (`{key: value}`).
pub fn untolerated_taint(pod: &Value, node: &Value) -> Option<String> {
    node.pointer("/spec/taints")
        .and_then(|t| t.as_array())?
        .iter()
        .filter(|t| {
            matches!(
                util::str_of(t, "effect").as_str(),
                "NoSchedule" | "NoExecute"
            )
        })
        .find(|t| toleration_for(pod, t).is_none())
        .map(|t| {
            format!(
                "{{{}: {}}}",
                util::str_of(t, "key"),
                util::str_of(t, "value")
            )
        })
}
