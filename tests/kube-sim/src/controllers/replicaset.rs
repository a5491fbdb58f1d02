//! The ReplicaSet controller: pods for the replicas, status, the ReplicaFailure condition.

use super::*;

pub(crate) fn replicasets(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
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
