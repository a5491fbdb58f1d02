//! The StatefulSet controller: ordinal pods, volumeClaimTemplates, rolling update from the highest ordinal.

use super::*;

pub(crate) fn statefulsets(st: &mut Store) {
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
        let hash = template_hash(&tmpl);
        let rev = format!("{name}-{hash}");
        let ordered = util::str_of(&s, "spec.podManagementPolicy") != "Parallel";
        let partition = s
            .pointer("/spec/updateStrategy/rollingUpdate/partition")
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
            .max(0);
        let revisions = record_revision(st, &s, &tmpl, &rev, &hash);
        // pods below the partition are (re)created at the current revision
        let current_name = s
            .pointer("/status/currentRevision")
            .and_then(|v| v.as_str())
            .unwrap_or(&rev)
            .to_string();
        let current_tmpl = revisions
            .iter()
            .find(|r| name_of(r) == current_name && current_name != rev)
            .and_then(|r| r.pointer("/data/spec/template").cloned())
            .map(|mut t| {
                if let Some(o) = t.as_object_mut() {
                    o.shift_remove("$patch");
                }
                t
            });
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
                    let (tmpl, rev) = match &current_tmpl {
                        Some(t) if i < partition => (t, &current_name),
                        _ => (&tmpl, &rev),
                    };
                    let mut pod = new_pod_from_template(
                        &s,
                        tmpl,
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
        let ordinal = |p: &Value| {
            name_of(p)
                .rsplit('-')
                .next()
                .and_then(|x| x.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let outdated: Vec<&Value> = pods
            .iter()
            .filter(|p| util::str_of(p, "metadata.labels.controller-revision-hash") != rev)
            .filter(|p| ordinal(p) >= partition)
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

/// Every template the StatefulSet had, as a ControllerRevision owned by it (named
/// `NAME-HASH`, `data` the patch that restores the template, `revision` counting up); a
/// template that comes back (an undo) gets the next revision number. Returns the
/// StatefulSet's revisions.
fn record_revision(st: &mut Store, s: &Value, tmpl: &Value, rev: &str, hash: &str) -> Vec<Value> {
    let crd = rd("apps", "controllerrevisions");
    let ns = ns_of(s);
    let uid = uid_of(s);
    let mut revisions: Vec<Value> = st
        .list(crd, Some(&ns))
        .into_iter()
        .filter(|r| owned_by(r, &uid))
        .cloned()
        .collect();
    let number = |r: &Value| r.get("revision").and_then(|v| v.as_i64()).unwrap_or(0);
    let newest = revisions.iter().map(number).max().unwrap_or(0);
    match revisions.iter().position(|r| name_of(r) == rev) {
        None => {
            let mut labels = tmpl
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            labels["controller.kubernetes.io/hash"] = json!(hash);
            let mut data_tmpl = tmpl.clone();
            data_tmpl["$patch"] = json!("replace");
            let cr = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": rev, "namespace": ns, "labels": labels, "ownerReferences": [owner_ref(s)]},
                "data": {"spec": {"template": data_tmpl}}, "revision": newest + 1});
            if let Ok(created) = st.create(crd, cr, &WriteOpts::manager("kube-controller-manager"))
            {
                revisions.push(created);
            }
        }
        Some(i) if number(&revisions[i]) < newest => {
            let mut n = revisions[i].clone();
            n["revision"] = json!(newest + 1);
            if let Some(updated) = st.put(crd, n, "kube-controller-manager") {
                revisions[i] = updated;
            }
        }
        Some(_) => {}
    }
    revisions
}
