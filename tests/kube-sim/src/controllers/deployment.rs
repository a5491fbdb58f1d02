//! The Deployment controller: ReplicaSets per template, rolling update / recreate arithmetic, status and conditions.

use super::*;

pub(crate) fn resolve_int_or_percent(
    v: Option<&Value>,
    total: i64,
    round_up: bool,
    default: &str,
) -> i64 {
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

pub(crate) fn scale_rs(
    st: &mut Store,
    d: &Value,
    rs: &Value,
    to: i64,
    desired: i64,
    surge: i64,
) -> Value {
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

pub(crate) fn deployments(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
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
