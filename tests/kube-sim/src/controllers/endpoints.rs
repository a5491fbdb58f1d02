//! Service → Endpoints and EndpointSlice.

use super::*;

pub(crate) fn resolve_target_port(pod: &Value, tp: &Value) -> Option<i64> {
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

pub(crate) fn endpoints(st: &mut Store) {
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
        // a slice's port names are pointers the endpoint-slice controller always sets:
        // `name: ""` for an unnamed Service port (kubectl's describe dereferences it)
        let slice_ports: Vec<Value> = ports
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if p.get("name").is_none() {
                    p["name"] = json!("");
                }
                p
            })
            .collect();
        let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name, "namespace": ns, "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                "ownerReferences": [owner_ref(&s)]},
            "addressType": "IPv4", "endpoints": eps, "ports": slice_ports});
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
