//! The simulated scheduler and kubelet: pod phases, container states, logs, events.

use crate::resources::{self, ResDef};
use crate::store::{Store, WriteOpts, name_of, ns_of, uid_of};
use crate::{BehaviorKind, Behaviors, ImageBehavior, Shared, util};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn rd(group: &str, plural: &str) -> &'static ResDef {
    resources::RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .expect("known resource")
}

#[derive(Debug, Clone)]
pub enum CState {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: String,
    },
    Terminated {
        exit: i32,
        reason: String,
        started_at: String,
        finished_at: String,
    },
}

/// A container's life in the simulated kubelet. Each step has one transition per
/// behaviour (see `step_pod`):
///
/// ```text
/// Created ─► Pulling ─┬─(image-pull-error)─► PullFailed ─► PullBackOff ─► PullFailed …
///                     └─► Starting ─(config error: stays)─► Running ─► Terminated
/// Terminated ─(restartPolicy says restart)─► CrashBackOff ─► Starting
///            └─(no restart)──────────────────► Done
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Created by the kubelet: the image pull starts next (Pulling event).
    Created,
    /// Pulling the image.
    Pulling,
    /// The pull failed (ErrImagePull); ImagePullBackOff next.
    PullFailed,
    /// ImagePullBackOff: pulling again after the back-off.
    PullBackOff,
    /// Resolving the environment and starting (CreateContainerConfigError retries here).
    Starting,
    /// Running (ready behaviour, never-ready, a command, or crash-loop until runFor).
    Running,
    /// Exited; the restart policy decides.
    Terminated,
    /// CrashLoopBackOff: started again after the back-off.
    CrashBackOff,
    /// Exited for good.
    Done,
}

impl Step {
    /// The container exists in the runtime (imageID / containerID are reported).
    pub fn created(self, restarts: u32) -> bool {
        match self {
            Step::Running | Step::Terminated | Step::CrashBackOff | Step::Done => true,
            Step::Starting => restarts > 0,
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
pub struct ProcOut {
    pub out: Vec<u8>,
    pub exit: Option<i32>,
}

#[derive(Debug)]
pub struct CSim {
    pub name: String,
    pub image: String,
    pub behavior: ImageBehavior,
    pub job_cmd: Option<Vec<String>>,
    pub restarts: u32,
    pub state: CState,
    pub last_terminated: Option<Value>,
    /// Where the container is in its life.
    pub step: Step,
    pub next_at: Instant,
    pub log: Vec<u8>,
    /// (byte offset in `log`, when those bytes were written) for timestamps / sinceSeconds.
    pub log_marks: Vec<(usize, std::time::SystemTime)>,
    pub prev_log_marks: Vec<(usize, std::time::SystemTime)>,
    pub prev_log: Vec<u8>,
    pub proc: Option<Arc<Mutex<ProcOut>>>,
    /// The task owning a Job command's process (aborting it kills the process).
    pub proc_task: Option<tokio::task::AbortHandle>,
    /// Bytes of the process output already copied into `log`.
    pub proc_seen: usize,
    pub ready: bool,
    pub ready_at: Option<Instant>,
    pub backoff: Duration,
    pub container_id: String,
}

impl Drop for CSim {
    fn drop(&mut self) {
        // a deleted pod (or a stopped simulator) kills its Job process
        if let Some(t) = self.proc_task.take() {
            t.abort();
        }
    }
}

#[derive(Debug)]
pub struct PodSim {
    pub ns: String,
    pub name: String,
    pub uid: String,
    pub node: Option<String>,
    pub ip: String,
    pub host_ip: String,
    pub start_time: String,
    pub containers: Vec<CSim>,
    pub deleting_since: Option<Instant>,
    pub cond_times: HashMap<String, (String, String)>,
    pub next_sched_try: Instant,
    pub is_job: bool,
    pub restart_policy: String,
    pub phase_final: Option<String>,
    /// When the pod last became Ready (for minReadySeconds).
    pub ready_since: Option<Instant>,
    /// Its node is not Ready: the kubelet posts nothing until it is again.
    pub frozen: bool,
}

#[derive(Debug, Default)]
pub struct Kubelet {
    pub pods: HashMap<String, PodSim>,
    pub ip_counter: u32,
}

impl Kubelet {
    pub fn kill_all(&mut self) {
        self.pods.clear();
    }
}

pub const NODES: [(&str, &str); 3] = [
    ("kube-sim-node-1", "172.18.0.2"),
    ("kube-sim-node-2", "172.18.0.3"),
    ("kube-sim-node-3", "172.18.0.4"),
];

/// Emit (or bump the count of) a core/v1 Event about `obj`.
pub fn emit_event(
    st: &mut Store,
    obj: &Value,
    typ: &str,
    reason: &str,
    message: &str,
    component: &str,
    host: Option<&str>,
    field_path: Option<&str>,
) {
    let erd = rd("", "events");
    let ns = {
        let n = ns_of(obj);
        if n.is_empty() {
            "default".to_string()
        } else {
            n
        }
    };
    let uid = uid_of(obj);
    let now = util::now_rfc3339();
    // client-go's EventAggregator: after 10 distinct messages of similar events within
    // 10 minutes, further ones are folded into one "(combined from similar events)" event
    let similar_key = format!("{uid}\x00{component}\x00{typ}\x00{reason}");
    let message = {
        let window = Duration::from_secs(600);
        let e = st
            .event_similar
            .entry(similar_key)
            .or_insert_with(|| (Default::default(), Instant::now()));
        if e.1.elapsed() > window {
            *e = (Default::default(), Instant::now());
        }
        if e.0.len() >= 10 && !e.0.contains(message) {
            format!("(combined from similar events): {message}")
        } else {
            e.0.insert(message.to_string());
            message.to_string()
        }
    };
    let combined = message.starts_with("(combined from similar events): ");
    let message = message.as_str();
    let existing = st
        .list(erd, Some(&ns))
        .into_iter()
        .find(|e| {
            util::str_of(e, "involvedObject.uid") == uid
                && util::str_of(e, "reason") == reason
                && util::str_of(e, "type") == typ
                && (util::str_of(e, "message") == message
                    || (combined
                        && util::str_of(e, "message")
                            .starts_with("(combined from similar events): ")))
                && util::str_of(e, "source.component") == component
        })
        .cloned();
    if let Some(mut e) = existing {
        let c = e.get("count").and_then(|c| c.as_i64()).unwrap_or(1);
        e["count"] = json!(c + 1);
        e["lastTimestamp"] = json!(now);
        e["message"] = json!(message);
        st.put(erd, e, component);
        return;
    }
    let mut involved = json!({
        "kind": util::str_of(obj, "kind"),
        "namespace": ns_of(obj),
        "name": name_of(obj),
        "uid": uid,
        "apiVersion": util::str_of(obj, "apiVersion"),
        "resourceVersion": util::str_of(obj, "metadata.resourceVersion"),
    });
    if let Some(fp) = field_path {
        involved["fieldPath"] = json!(fp);
    }
    let mut source = json!({"component": component});
    if let Some(h) = host {
        source["host"] = json!(h);
    }
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{:016x}", name_of(obj), util::rand_u64()), "namespace": ns},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": typ,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": host.unwrap_or(""),
    });
    let _ = st.create(erd, ev, &WriteOpts::manager(component));
}

/// Resolve a container's environment like the kubelet (value, secretKeyRef,
/// configMapKeyRef, fieldRef, envFrom). Errors carry the kubelet's message.
pub fn resolve_env(st: &Store, pod: &Value, c: &Value) -> Result<Vec<(String, String)>, String> {
    let ns = ns_of(pod);
    let mut out: Vec<(String, String)> = Vec::new();
    let get_data = |kind: &str, name: &str| -> Result<Value, String> {
        let (r, label) = if kind == "Secret" {
            (rd("", "secrets"), "secret")
        } else {
            (rd("", "configmaps"), "configmap")
        };
        st.get(r, &ns, name)
            .cloned()
            .ok_or_else(|| format!("{label} \"{name}\" not found"))
    };
    let lookup = |obj: &Value, kind: &str, key: &str| -> Option<String> {
        if kind == "Secret" {
            obj.get("data")
                .and_then(|d| d.get(key))
                .and_then(|v| v.as_str())
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            obj.get("data")
                .and_then(|d| d.get(key))
                .and_then(|v| v.as_str())
                .map(String::from)
                .or_else(|| {
                    obj.get("binaryData")
                        .and_then(|d| d.get(key))
                        .and_then(|v| v.as_str())
                        .map(String::from)
                })
        }
    };
    if let Some(ef) = c.get("envFrom").and_then(|e| e.as_array()) {
        for src in ef {
            let prefix = util::str_of(src, "prefix");
            for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                if let Some(r) = src.get(field) {
                    let name = util::str_of(r, "name");
                    let optional = r.get("optional").and_then(|o| o.as_bool()).unwrap_or(false);
                    match get_data(kind, &name) {
                        Ok(obj) => {
                            let keys: Vec<String> = obj
                                .get("data")
                                .and_then(|d| d.as_object())
                                .map(|m| m.keys().cloned().collect())
                                .unwrap_or_default();
                            for k in keys {
                                if let Some(v) = lookup(&obj, kind, &k) {
                                    out.push((format!("{prefix}{k}"), v));
                                }
                            }
                        }
                        Err(e) if !optional => return Err(e),
                        Err(_) => {}
                    }
                }
            }
        }
    }
    if let Some(env) = c.get("env").and_then(|e| e.as_array()) {
        for e in env {
            let name = util::str_of(e, "name");
            if let Some(v) = e.get("value").and_then(|v| v.as_str()) {
                // $(VAR) expansion from earlier variables
                let mut val = v.to_string();
                for (k, kv) in out.iter() {
                    val = val.replace(&format!("$({k})"), kv);
                }
                out.push((name, val));
                continue;
            }
            let Some(vf) = e.get("valueFrom") else {
                out.push((name, String::new()));
                continue;
            };
            for (kind, field) in [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")] {
                if let Some(r) = vf.get(field) {
                    let oname = util::str_of(r, "name");
                    let key = util::str_of(r, "key");
                    let optional = r.get("optional").and_then(|o| o.as_bool()).unwrap_or(false);
                    match get_data(kind, &oname) {
                        Ok(obj) => match lookup(&obj, kind, &key) {
                            Some(v) => out.push((name.clone(), v)),
                            None if optional => {}
                            None => {
                                return Err(format!(
                                    "couldn't find key {key} in {kind} {ns}/{oname}"
                                ));
                            }
                        },
                        Err(_) if optional => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if let Some(fr) = vf.get("fieldRef") {
                let fp = util::str_of(fr, "fieldPath");
                let v = match fp.as_str() {
                    "metadata.name" => name_of(pod),
                    "metadata.namespace" => ns_of(pod),
                    "metadata.uid" => uid_of(pod),
                    "spec.nodeName" => util::str_of(pod, "spec.nodeName"),
                    "spec.serviceAccountName" => util::str_of(pod, "spec.serviceAccountName"),
                    "status.podIP" => util::str_of(pod, "status.podIP"),
                    "status.hostIP" => util::str_of(pod, "status.hostIP"),
                    other => {
                        if let Some(l) = other
                            .strip_prefix("metadata.labels['")
                            .and_then(|s| s.strip_suffix("']"))
                        {
                            pod.pointer("/metadata/labels")
                                .and_then(|m| m.get(l))
                                .and_then(|v| v.as_str())
                                .unwrap_or("")
                                .to_string()
                        } else {
                            String::new()
                        }
                    }
                };
                out.push((name.clone(), v));
            }
            if vf.get("resourceFieldRef").is_some() {
                out.push((name.clone(), "0".into()));
            }
        }
    }
    Ok(out)
}

fn default_behavior() -> ImageBehavior {
    ImageBehavior {
        pattern: "*".into(),
        behavior: BehaviorKind::Ready,
        exit_code: None,
        logs: None,
        ready_after: Some("500ms".into()),
        run_for: None,
    }
}

fn container_id() -> String {
    format!(
        "containerd://{:016x}{:016x}{:016x}{:016x}",
        util::rand_u64(),
        util::rand_u64(),
        util::rand_u64(),
        util::rand_u64()
    )
}

fn new_psim(k: &mut Kubelet, pod: &Value, beh: &Behaviors, now: Instant) -> PodSim {
    k.ip_counter += 1;
    let n = k.ip_counter;
    let is_job = pod
        .pointer("/metadata/ownerReferences")
        .and_then(|r| r.as_array())
        .is_some_and(|a| a.iter().any(|r| util::str_of(r, "kind") == "Job"));
    let runs_to_completion = util::str_of(pod, "spec.restartPolicy") != "Always";
    let containers = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let image = util::str_of(c, "image");
            CSim {
                name: util::str_of(c, "name"),
                behavior: beh
                    .for_image(&image)
                    .cloned()
                    .unwrap_or_else(default_behavior),
                job_cmd: if is_job || runs_to_completion {
                    beh.job_command(&image).filter(|c| !c.is_empty())
                } else {
                    None
                },
                image,
                restarts: 0,
                state: CState::Waiting {
                    reason: "ContainerCreating".into(),
                    message: String::new(),
                },
                last_terminated: None,
                step: Step::Created,
                next_at: now,
                log: Vec::new(),
                log_marks: Vec::new(),
                prev_log_marks: Vec::new(),
                prev_log: Vec::new(),
                proc: None,
                proc_task: None,
                proc_seen: 0,
                ready: false,
                ready_at: None,
                backoff: Duration::from_secs(10),
                container_id: container_id(),
            }
        })
        .collect();
    PodSim {
        ns: ns_of(pod),
        name: name_of(pod),
        uid: uid_of(pod),
        node: None,
        ip: format!("10.244.{}.{}", (n / 250) % 250, n % 250 + 2),
        host_ip: String::new(),
        start_time: String::new(),
        containers,
        deleting_since: None,
        cond_times: HashMap::new(),
        next_sched_try: now,
        is_job,
        restart_policy: util::str_of(pod, "spec.restartPolicy"),
        phase_final: None,
        ready_since: None,
        frozen: false,
    }
}

fn pod_requests(pod: &Value) -> (i128, i128) {
    let u = crate::admission::pod_usage(pod);
    (
        u.get("requests.cpu").copied().unwrap_or(0),
        u.get("requests.memory").copied().unwrap_or(0),
    )
}

fn schedule(st: &Store, pod: &Value) -> Result<(String, String), String> {
    let (cpu, mem) = pod_requests(pod);
    let prd = rd("", "pods");
    let nrd = rd("", "nodes");
    let selector = pod
        .pointer("/spec/nodeSelector")
        .and_then(|s| s.as_object())
        .cloned()
        .unwrap_or_default();
    let mut best: Option<(i128, &str, &str)> = None;
    let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut resource_only = true;
    for (node, ip) in NODES {
        let nobj = st.get(nrd, "", node);
        if nobj
            .and_then(|n| n.pointer("/spec/unschedulable"))
            .and_then(|u| u.as_bool())
            == Some(true)
        {
            *reasons
                .entry("node(s) were unschedulable".into())
                .or_default() += 1;
            resource_only = false;
            continue;
        }
        if let Some(t) = nobj.and_then(|n| crate::nodes::untolerated_taint(pod, n)) {
            *reasons
                .entry(format!("node(s) had untolerated taint {t}"))
                .or_default() += 1;
            resource_only = false;
            continue;
        }
        let labels = nobj
            .and_then(|n| n.pointer("/metadata/labels"))
            .cloned()
            .unwrap_or(Value::Null);
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            *reasons
                .entry("node(s) didn't match Pod's node affinity/selector".into())
                .or_default() += 1;
            resource_only = false;
            continue;
        }
        let (mut used_cpu, mut used_mem) = (0i128, 0i128);
        for p in st.list(prd, None) {
            if util::str_of(p, "spec.nodeName") == node
                && !matches!(
                    util::str_of(p, "status.phase").as_str(),
                    "Succeeded" | "Failed"
                )
            {
                let (c, m) = pod_requests(p);
                used_cpu += c;
                used_mem += m;
            }
        }
        let cpu_ok = used_cpu + cpu <= 4000;
        let mem_ok = used_mem + mem <= 16 * 1024 * 1024 * 1024 * 1000;
        if !cpu_ok {
            *reasons.entry("Insufficient cpu".into()).or_default() += 1;
        }
        if !mem_ok {
            *reasons.entry("Insufficient memory".into()).or_default() += 1;
        }
        if cpu_ok && mem_ok && best.is_none_or(|b| used_cpu < b.0) {
            best = Some((used_cpu, node, ip));
        }
    }
    if let Some((_, n, ip)) = best {
        return Ok((n.to_string(), ip.to_string()));
    }
    let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let preemption = if resource_only {
        "3 No preemption victims found for incoming pod."
    } else {
        "3 Preemption is not helpful for scheduling."
    };
    Err(format!(
        "0/3 nodes are available: {}. preemption: 0/3 nodes are available: {preemption}",
        parts.join(", ")
    ))
}

/// One kubelet / scheduler pass over all pods.
/// `due` is lowered to the next instant a simulated transition is pending.
pub fn tick(sh: &Shared, st: &mut Store, due: &mut Instant) {
    let now = Instant::now();
    let prd = rd("", "pods");
    let pods = st.list_cloned(prd, None);
    let beh = sh.behaviors.read().unwrap().clone();
    let mut k = sh.kubelet.lock().unwrap_or_else(|e| e.into_inner());
    // forget pods that are gone
    let live: std::collections::HashSet<String> = pods.iter().map(uid_of).collect();
    k.pods.retain(|uid, _| live.contains(uid));
    let ready_nodes = crate::nodes::readiness(st);
    for pod in pods {
        let uid = uid_of(&pod);
        if !k.pods.contains_key(&uid) {
            let ps = new_psim(&mut k, &pod, &beh, now);
            k.pods.insert(uid.clone(), ps);
        }
        let ps = k.pods.get_mut(&uid).unwrap();
        let node = util::str_of(&pod, "spec.nodeName");
        if ps.node.is_some() && ready_nodes.get(&node) == Some(&false) {
            // the node's kubelet is not posting: nothing moves (deletion waits too)
            ps.frozen = true;
            continue;
        }
        if std::mem::take(&mut ps.frozen) && ps.phase_final.is_none() {
            write_status(st, &pod, ps);
        }
        step_pod(sh, st, &pod, ps, &beh, now, due);
    }
}

fn scaled(sh: &Shared, d: Duration) -> Duration {
    sh.scaled(d)
}

fn append_log(c: &mut CSim, s: &str) {
    c.log_marks
        .push((c.log.len(), std::time::SystemTime::now()));
    c.log.extend_from_slice(s.as_bytes());
    if !s.ends_with('\n') && !s.is_empty() {
        c.log.push(b'\n');
    }
}

fn step_pod(
    sh: &Shared,
    st: &mut Store,
    pod: &Value,
    ps: &mut PodSim,
    beh: &Behaviors,
    now: Instant,
    due: &mut Instant,
) {
    let name = ps.name.clone();
    let ns = ps.ns.clone();
    let prd = rd("", "pods");
    // graceful deletion
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        if ps.deleting_since.is_none() {
            ps.deleting_since = Some(now);
            if ps.node.is_some() {
                for c in &ps.containers {
                    if matches!(c.state, CState::Running { .. }) {
                        emit_event(
                            st,
                            pod,
                            "Normal",
                            "Killing",
                            &format!("Stopping container {}", c.name),
                            "kubelet",
                            ps.node.as_deref(),
                            Some(&format!("spec.containers{{{}}}", c.name)),
                        );
                    }
                }
            }
            for c in ps.containers.iter_mut() {
                if let Some(p) = &c.proc {
                    let _ = p;
                }
            }
        }
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(|g| g.as_i64())
            .unwrap_or(30);
        let wait = scaled(sh, Duration::from_millis(500))
            .min(scaled(sh, Duration::from_secs(grace.max(0) as u64)));
        let at = ps.deleting_since.unwrap() + wait;
        let finalizers = pod
            .pointer("/metadata/finalizers")
            .and_then(|f| f.as_array())
            .is_some_and(|a| !a.is_empty());
        if now >= at && !finalizers {
            st.remove_now(prd, &ns, &name);
        } else if now >= at {
            // the kubelet is done; the apiserver keeps the pod until its finalizers go
            // (the next write — removing them — wakes this up again)
        } else {
            *due = (*due).min(at);
        }
        return;
    }
    // scheduling
    if ps.node.is_none() {
        let node_name = util::str_of(pod, "spec.nodeName");
        if !node_name.is_empty() {
            let ip = NODES
                .iter()
                .find(|n| n.0 == node_name)
                .map(|n| n.1)
                .unwrap_or("172.18.0.2");
            ps.node = Some(node_name.clone());
            ps.host_ip = ip.to_string();
        } else {
            if now < ps.next_sched_try {
                *due = (*due).min(ps.next_sched_try);
                return;
            }
            match schedule(st, pod) {
                Ok((node, ip)) => {
                    let mut p = pod.clone();
                    p["spec"]["nodeName"] = json!(node);
                    ps.node = Some(node.clone());
                    ps.host_ip = ip;
                    ps.start_time = util::now_rfc3339();
                    let t = util::now_rfc3339();
                    ps.cond_times
                        .insert("PodScheduled".into(), ("True".into(), t));
                    st.put(prd, p, "kube-scheduler");
                    let pod = st.get(prd, &ns, &name).cloned().unwrap_or(pod.clone());
                    emit_event(
                        st,
                        &pod,
                        "Normal",
                        "Scheduled",
                        &format!("Successfully assigned {ns}/{name} to {node}"),
                        "default-scheduler",
                        None,
                        None,
                    );
                    write_status(st, &pod, ps);
                }
                Err(msg) => {
                    ps.next_sched_try = now + scaled(sh, Duration::from_secs(5));
                    *due = (*due).min(ps.next_sched_try);
                    let t = util::now_rfc3339();
                    let entry = ps
                        .cond_times
                        .entry("PodScheduled".into())
                        .or_insert(("False".into(), t));
                    entry.0 = "False".into();
                    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
                    status["phase"] = json!("Pending");
                    status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                        "lastTransitionTime": entry.1, "reason": "Unschedulable", "message": msg}]);
                    st.set_status(prd, pod, status, "kube-scheduler");
                    emit_event(
                        st,
                        pod,
                        "Warning",
                        "FailedScheduling",
                        &msg,
                        "default-scheduler",
                        None,
                        None,
                    );
                }
            }
            return;
        }
        if ps.start_time.is_empty() {
            ps.start_time = util::now_rfc3339();
        }
    }
    if ps.phase_final.is_some() {
        return;
    }
    let node = ps.node.clone();
    let host = node.as_deref();
    // config errors (missing secret / configmap keys)
    let specs: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for (i, c) in ps.containers.iter_mut().enumerate() {
        if now < c.next_at {
            continue;
        }
        let turn = Turn {
            sh,
            pod,
            beh,
            now,
            host,
            fp: format!("spec.containers{{{}}}", c.name),
            spec: specs.get(i).cloned().unwrap_or(json!({})),
            pod_ip: ps.ip.clone(),
            pod_name: ps.name.clone(),
            pod_ns: ps.ns.clone(),
            pod_uid: ps.uid.clone(),
            is_job: ps.is_job,
            restart_policy: ps.restart_policy.clone(),
        };
        changed |= match (c.step, c.behavior.behavior) {
            (Step::Created, _) => pull(&turn, st, c),
            (Step::Pulling | Step::PullBackOff, BehaviorKind::ImagePullError) => {
                pull_fails(&turn, st, c)
            }
            (Step::PullFailed, _) => pull_back_off(&turn, st, c),
            (Step::Pulling | Step::Starting, _) => start(&turn, st, c),
            (Step::Running, kind) => run(&turn, st, c, kind),
            (Step::Terminated, _) => exited(&turn, st, c),
            (Step::CrashBackOff, _) => restart(&turn, st, c),
            (Step::PullBackOff, _) | (Step::Done, _) => false,
        };
    }
    for c in &ps.containers {
        let pending = match (c.step, c.behavior.behavior) {
            (Step::Done, _) => false,
            (Step::Running, _) if c.proc.is_some() => true,
            (Step::Running, BehaviorKind::Ready) => !c.ready,
            _ => true,
        };
        if pending {
            let at = if c.proc.is_some() {
                now + Duration::from_millis(20)
            } else {
                c.next_at.max(now + Duration::from_millis(1))
            };
            *due = (*due).min(at);
        }
    }
    if changed || pod.pointer("/status/containerStatuses").is_none() {
        write_status(st, pod, ps);
    }
}

/// What a container's transition needs to know about its pod and the kubelet.
struct Turn<'a> {
    sh: &'a Shared,
    pod: &'a Value,
    beh: &'a Behaviors,
    now: Instant,
    host: Option<&'a str>,
    /// `spec.containers{NAME}`, the events' fieldPath
    fp: String,
    /// the container's spec
    spec: Value,
    pod_ip: String,
    pod_name: String,
    pod_ns: String,
    pod_uid: String,
    is_job: bool,
    restart_policy: String,
}

/// Created: start pulling the image (Pulling event).
fn pull(t: &Turn, st: &mut Store, c: &mut CSim) -> bool {
    let (sh, pod, now, host) = (t.sh, t.pod, t.now, t.host);
    let fp = &t.fp;
    emit_event(
        st,
        pod,
        "Normal",
        "Pulling",
        &format!("Pulling image \"{}\"", c.image),
        "kubelet",
        host,
        Some(fp),
    );
    c.step = Step::Pulling;
    c.next_at = now + scaled(sh, Duration::from_millis(100));
    true
}

/// image-pull-error: the pull fails (Failed events, ErrImagePull).
fn pull_fails(t: &Turn, st: &mut Store, c: &mut CSim) -> bool {
    let (sh, pod, now, host) = (t.sh, t.pod, t.now, t.host);
    let fp = &t.fp;
    if c.step == Step::PullBackOff {
        emit_event(
            st,
            pod,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{}\"", c.image),
            "kubelet",
            host,
            Some(fp),
        );
    }
    let msg = format!(
        "Failed to pull image \"{0}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{0}\": failed to resolve reference \"{0}\": {0}: not found",
        c.image
    );
    emit_event(
        st,
        pod,
        "Warning",
        "Failed",
        &msg,
        "kubelet",
        host,
        Some(fp),
    );
    emit_event(
        st,
        pod,
        "Warning",
        "Failed",
        "Error: ErrImagePull",
        "kubelet",
        host,
        Some(fp),
    );
    c.state = CState::Waiting {
        reason: "ErrImagePull".into(),
        message: msg,
    };
    c.step = Step::PullFailed;
    c.next_at = now + scaled(sh, Duration::from_secs(1));
    true
}

/// After a failed pull: ImagePullBackOff, pulling again after the back-off.
fn pull_back_off(t: &Turn, st: &mut Store, c: &mut CSim) -> bool {
    let (sh, pod, now, host) = (t.sh, t.pod, t.now, t.host);
    let fp = &t.fp;
    let msg = format!("Back-off pulling image \"{}\"", c.image);
    emit_event(
        st,
        pod,
        "Normal",
        "BackOff",
        &msg,
        "kubelet",
        host,
        Some(fp),
    );
    emit_event(
        st,
        pod,
        "Warning",
        "Failed",
        "Error: ImagePullBackOff",
        "kubelet",
        host,
        Some(fp),
    );
    c.state = CState::Waiting {
        reason: "ImagePullBackOff".into(),
        message: msg,
    };
    c.step = Step::PullBackOff;
    c.next_at = now + scaled(sh, c.backoff);
    c.backoff = (c.backoff * 2).min(Duration::from_secs(300));
    true
}

/// Pulled (or restarting): resolve the environment (CreateContainerConfigError while it fails), then start.
fn start(t: &Turn, st: &mut Store, c: &mut CSim) -> bool {
    let (sh, pod, beh, now, host) = (t.sh, t.pod, t.beh, t.now, t.host);
    let fp = &t.fp;
    let spec = &t.spec;
    // config check before creating the container
    match resolve_env(st, pod, spec) {
        Err(msg) => {
            emit_event(
                st,
                pod,
                "Warning",
                "Failed",
                &format!("Error: {msg}"),
                "kubelet",
                host,
                Some(fp),
            );
            c.state = CState::Waiting {
                reason: "CreateContainerConfigError".into(),
                message: msg,
            };
            c.step = Step::Starting;
            c.next_at = now + scaled(sh, Duration::from_secs(2));
            return true;
        }
        Ok(env) => {
            if c.step == Step::Pulling || c.restarts == 0 {
                emit_event(
                    st,
                    pod,
                    "Normal",
                    "Pulled",
                    &format!(
                        "Successfully pulled image \"{}\" in 312ms (312ms including waiting). Image size: 52428800 bytes.",
                        c.image
                    ),
                    "kubelet",
                    host,
                    Some(fp),
                );
            }
            start_container(sh, st, pod, c, &env, beh, host, fp, now, &t.pod_ip);
        }
    }
    true
}

/// Running: one transition per behaviour (a command's exit, ready, never-ready, crash-loop / oom-killed).
fn run(t: &Turn, st: &mut Store, c: &mut CSim, kind: BehaviorKind) -> bool {
    let (sh, pod, now, host) = (t.sh, t.pod, t.now, t.host);
    let fp = &t.fp;
    let mut changed = false;
    // running
    if let Some(p) = c.proc.clone() {
        let g = p.lock().unwrap();
        if g.out.len() > c.proc_seen {
            c.log_marks
                .push((c.log.len(), std::time::SystemTime::now()));
            let from = c.proc_seen;
            c.log.extend_from_slice(&g.out[from..]);
            c.proc_seen = g.out.len();
        }
        if let Some(code) = g.exit {
            drop(g);
            terminate(c, code, if code == 0 { "Completed" } else { "Error" });
            changed = true;
        }
        return changed;
    }
    match kind {
        BehaviorKind::Ready => {
            if !c.ready && c.ready_at.is_some_and(|t| now >= t) {
                if t.is_job || t.restart_policy != "Always" {
                    terminate(c, 0, "Completed");
                } else {
                    c.ready = true;
                }
                changed = true;
            }
            c.next_at = c
                .ready_at
                .unwrap_or(now)
                .max(now + Duration::from_millis(1));
        }
        BehaviorKind::NeverReady => {
            emit_event(
                st,
                pod,
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                "kubelet",
                host,
                Some(fp),
            );
            c.next_at = now + scaled(sh, Duration::from_secs(10));
            changed = true;
        }
        BehaviorKind::CrashLoop | BehaviorKind::OomKilled => {
            let oom = kind == BehaviorKind::OomKilled;
            let code = if oom {
                137
            } else {
                c.behavior.exit_code.unwrap_or(1)
            };
            let reason = match (oom, code) {
                (true, _) => "OOMKilled",
                (false, 0) => "Completed",
                _ => "Error",
            };
            terminate(c, code, reason);
            changed = true;
        }
        BehaviorKind::ImagePullError => {}
    }
    changed
}

/// Exited: the restart policy decides between Done and CrashLoopBackOff.
fn exited(t: &Turn, st: &mut Store, c: &mut CSim) -> bool {
    let (sh, pod, now, host) = (t.sh, t.pod, t.now, t.host);
    let fp = &t.fp;
    // terminated: restart?
    let CState::Terminated { exit, .. } = c.state.clone() else {
        return false;
    };
    let restart = match t.restart_policy.as_str() {
        "Never" => false,
        "OnFailure" => exit != 0 && !t.is_job,
        _ => true,
    };
    if !restart {
        c.step = Step::Done;
        return true;
    }
    c.restarts += 1;
    c.last_terminated = Some(state_json(&c.state, &c.container_id));
    let msg = format!(
        "back-off {} restarting failed container={} pod={}_{}({})",
        util::go_duration(c.backoff),
        c.name,
        t.pod_name,
        t.pod_ns,
        t.pod_uid
    );
    emit_event(
        st,
        pod,
        "Warning",
        "BackOff",
        &format!(
            "Back-off restarting failed container {} in pod {}_{}({})",
            c.name, t.pod_name, t.pod_ns, t.pod_uid
        ),
        "kubelet",
        host,
        Some(fp),
    );
    c.state = CState::Waiting {
        reason: "CrashLoopBackOff".into(),
        message: msg,
    };
    c.step = Step::CrashBackOff;
    c.next_at = now + scaled(sh, c.backoff);
    c.backoff = (c.backoff * 2).min(Duration::from_secs(300));
    true
}

/// CrashLoopBackOff over: start again (the old log becomes --previous).
fn restart(_: &Turn, _: &mut Store, c: &mut CSim) -> bool {
    // restart after back-off
    c.prev_log = std::mem::take(&mut c.log);
    c.prev_log_marks = std::mem::take(&mut c.log_marks);
    c.step = Step::Starting;
    true
}

#[allow(clippy::too_many_arguments)]
fn start_container(
    sh: &Shared,
    st: &mut Store,
    pod: &Value,
    c: &mut CSim,
    env: &[(String, String)],
    beh: &Behaviors,
    host: Option<&str>,
    fp: &str,
    now: Instant,
    pod_ip: &str,
) {
    emit_event(
        st,
        pod,
        "Normal",
        "Created",
        &format!("Created container: {}", c.name),
        "kubelet",
        host,
        Some(fp),
    );
    emit_event(
        st,
        pod,
        "Normal",
        "Started",
        &format!("Started container {}", c.name),
        "kubelet",
        host,
        Some(fp),
    );
    c.state = CState::Running {
        started_at: util::now_rfc3339(),
    };
    c.container_id = container_id();
    c.step = Step::Running;
    c.ready = false;
    let ready_after = c
        .behavior
        .ready_after
        .as_deref()
        .and_then(util::parse_duration)
        .unwrap_or(Duration::from_millis(500));
    c.ready_at = Some(now + scaled(sh, ready_after));
    match c.behavior.behavior {
        BehaviorKind::CrashLoop | BehaviorKind::OomKilled => {
            let run_for = c
                .behavior
                .run_for
                .as_deref()
                .and_then(util::parse_duration)
                .unwrap_or(Duration::from_secs(1));
            c.next_at = now + scaled(sh, run_for);
        }
        BehaviorKind::NeverReady => c.next_at = now + scaled(sh, Duration::from_secs(1)),
        _ => c.next_at = now,
    }
    if c.job_cmd.is_some() {
        // a configured command's output is the whole log
    } else if let Some(l) = &c.behavior.logs {
        let l = l.clone();
        append_log(c, &l);
    } else {
        append_log(
            c,
            &format!("kube-sim: container {} started (image {})", c.name, c.image),
        );
    }
    if let Some(cmd) = c.job_cmd.clone()
        && !cmd.is_empty()
    {
        let out = Arc::new(Mutex::new(ProcOut::default()));
        c.proc = Some(out.clone());
        let mut env = env.to_vec();
        env.extend(beh.exec_env(&name_of(pod)));
        env.push(("POD_IP".into(), pod_ip.to_string()));
        env.push(("HOSTNAME".into(), name_of(pod)));
        env.push((
            "KUBE_SIM_ARGS".into(),
            container_argv(pod, &c.name).join(" "),
        ));
        c.proc_task = Some(tokio::spawn(run_process(cmd, env, out)).abort_handle());
    }
}

/// The container's own `command` and `args`, as the image would run them.
fn container_argv(pod: &Value, container: &str) -> Vec<String> {
    let spec = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .and_then(|cs| cs.iter().find(|c| util::str_of(c, "name") == container));
    let Some(spec) = spec else {
        return Vec::new();
    };
    ["command", "args"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

async fn run_process(cmd: Vec<String>, env: Vec<(String, String)>, out: Arc<Mutex<ProcOut>>) {
    use tokio::io::AsyncReadExt;
    let fail = |e: std::io::Error| {
        let mut g = out.lock().unwrap();
        g.out
            .extend_from_slice(format!("exec: \"{}\": {e}\n", cmd[0]).as_bytes());
        g.exit = Some(127);
    };
    // stdout and stderr share one pipe, so the log keeps the order they were written in
    let (reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    let mut command = tokio::process::Command::new(&cmd[0]);
    command
        .args(&cmd[1..])
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .kill_on_drop(true);
    let spawned = command.spawn();
    // the parent's copies of the write end must close, or the reader never sees EOF
    drop(command);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut rx = match tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let o1 = out.clone();
    let t1 = tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = rx.read(&mut buf).await {
            if n == 0 {
                break;
            }
            o1.lock().unwrap().out.extend_from_slice(&buf[..n]);
        }
    });
    let status = child.wait().await;
    let _ = t1.await;
    let code = status.ok().and_then(|s| s.code()).unwrap_or(1);
    out.lock().unwrap().exit = Some(code);
}

fn terminate(c: &mut CSim, code: i32, reason: &str) {
    let started = match &c.state {
        CState::Running { started_at } => started_at.clone(),
        _ => util::now_rfc3339(),
    };
    c.state = CState::Terminated {
        exit: code,
        reason: reason.into(),
        started_at: started,
        finished_at: util::now_rfc3339(),
    };
    c.ready = false;
    c.step = Step::Terminated;
    c.next_at = Instant::now();
}

fn state_json(s: &CState, cid: &str) -> Value {
    match s {
        CState::Waiting { reason, message } => {
            let mut w = json!({"reason": reason});
            if !message.is_empty() {
                w["message"] = json!(message);
            }
            json!({"waiting": w})
        }
        CState::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        CState::Terminated {
            exit,
            reason,
            started_at,
            finished_at,
        } => json!({"terminated": {
            "exitCode": exit, "reason": reason, "startedAt": started_at, "finishedAt": finished_at, "containerID": cid}}),
    }
}

fn write_status(st: &mut Store, pod: &Value, ps: &mut PodSim) {
    let prd = rd("", "pods");
    let Some(cur) = st.get(prd, &ps.ns, &ps.name).cloned() else {
        return;
    };
    let all_ready = ps.containers.iter().all(|c| c.ready);
    if all_ready && ps.ready_since.is_none() {
        ps.ready_since = Some(Instant::now());
    } else if !all_ready {
        ps.ready_since = None;
    }
    let any_running = ps
        .containers
        .iter()
        .any(|c| matches!(c.state, CState::Running { .. }));
    let all_term = ps.containers.iter().all(|c| {
        matches!(c.state, CState::Terminated { .. })
            && (c.step == Step::Done || ps.restart_policy == "Never" || ps.is_job)
    });
    let phase = if all_term && !ps.containers.is_empty() {
        let ok = ps
            .containers
            .iter()
            .all(|c| matches!(c.state, CState::Terminated { exit: 0, .. }));
        if ok { "Succeeded" } else { "Failed" }
    } else if any_running
        || ps
            .containers
            .iter()
            .any(|c| c.restarts > 0 || matches!(c.state, CState::Terminated { .. }))
    {
        "Running"
    } else {
        "Pending"
    };
    if matches!(phase, "Succeeded" | "Failed") {
        ps.phase_final = Some(phase.to_string());
    }
    let now = util::now_rfc3339();
    let mut cond = |t: &str, ok: bool| -> (String, String) {
        let s = if ok { "True" } else { "False" };
        let e = ps
            .cond_times
            .entry(t.to_string())
            .or_insert((s.into(), now.clone()));
        if e.0 != s {
            *e = (s.into(), now.clone());
        }
        (e.0.clone(), e.1.clone())
    };
    let unready: Vec<String> = ps
        .containers
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.clone())
        .collect();
    let terminal = matches!(phase, "Succeeded" | "Failed");
    let mk = |t: &str, (s, lt): (String, String), reason: Option<&str>, msg: Option<String>| {
        let mut c =
            json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": lt});
        if s == "False"
            && let Some(r) = reason
        {
            c["reason"] = json!(r);
            if let Some(m) = msg {
                c["message"] = json!(m);
            }
        }
        c
    };
    let ready_reason = if terminal {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let ready_msg = if terminal {
        None
    } else {
        Some(format!(
            "containers with unready status: [{}]",
            unready.join(" ")
        ))
    };
    let conds = vec![
        mk(
            "PodReadyToStartContainers",
            cond("PodReadyToStartContainers", !terminal),
            None,
            None,
        ),
        mk("Initialized", cond("Initialized", true), None, None),
        mk(
            "Ready",
            cond("Ready", all_ready && !terminal),
            Some(ready_reason),
            ready_msg.clone(),
        ),
        mk(
            "ContainersReady",
            cond("ContainersReady", all_ready && !terminal),
            Some(ready_reason),
            ready_msg,
        ),
        mk("PodScheduled", cond("PodScheduled", true), None, None),
    ];
    let statuses: Vec<Value> = ps
        .containers
        .iter()
        .map(|c| {
            let image = if c.image.contains(':') || c.image.contains('@') { c.image.clone() } else { format!("{}:latest", c.image) };
            let mut s = json!({
                "name": c.name,
                "state": state_json(&c.state, &c.container_id),
                "lastState": c.last_terminated.clone().unwrap_or(json!({})),
                "ready": c.ready,
                "restartCount": c.restarts,
                "image": image,
                "imageID": if c.step.created(c.restarts) { format!("{}@sha256:{:016x}{:016x}{:016x}{:016x}", c.image.split(':').next().unwrap_or(""), 1u64, 2u64, 3u64, 4u64) } else { String::new() },
                "started": matches!(c.state, CState::Running { .. }),
            });
            if c.step.created(c.restarts) {
                s["containerID"] = json!(c.container_id);
            }
            s
        })
        .collect();
    let mut status = json!({
        "phase": phase,
        "conditions": conds,
        "hostIP": ps.host_ip,
        "hostIPs": [{"ip": ps.host_ip}],
        "podIP": ps.ip,
        "podIPs": [{"ip": ps.ip}],
        "startTime": ps.start_time,
        "containerStatuses": statuses,
        "qosClass": crate::admission::qos_class(pod),
    });
    if terminal {
        // a finished pod keeps its IP in the real world too; fine
        status["conditions"][0]["status"] = json!("False");
    }
    // ephemeral containers' statuses are kept as the ephemeralcontainers subresource and
    // their attach wrote them
    if let Some(e) = cur.pointer("/status/ephemeralContainerStatuses") {
        status["ephemeralContainerStatuses"] = e.clone();
    }
    st.set_status(prd, &cur, status, "kubelet");
}

/// Log lines with the time they were written (the time of the write that started them).
pub fn timed_lines(
    log: &[u8],
    marks: &[(usize, std::time::SystemTime)],
) -> Vec<(std::time::SystemTime, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    for line in log.split_inclusive(|b| *b == b'\n') {
        let t = marks
            .iter()
            .rev()
            .find(|(o, _)| *o <= off)
            .map(|(_, t)| *t)
            .unwrap_or(std::time::UNIX_EPOCH);
        out.push((t, line.to_vec()));
        off += line.len();
    }
    out
}
