//! The DaemonSet controller: one pod per node, rolling replacement.

use super::*;

pub(crate) fn daemonsets(st: &mut Store) {
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
