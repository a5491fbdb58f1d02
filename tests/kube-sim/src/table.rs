//! Server-side `Table` output for kubectl (columns per kind, `-o wide` ones at priority 1).

use crate::controllers::i64_at;
use crate::resources::ResDef;
use crate::store::name_of;
use crate::util;
use serde_json::{Value, json};

pub(crate) fn age(ts: &str) -> String {
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

pub(crate) fn or_none(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

/// `metav1.FormatLabelSelector`: `app=web,tier in (a,b)`.
pub(crate) fn format_selector(sel: Option<&Value>) -> Value {
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
pub(crate) fn template_cells(o: &Value, with_selector: bool) -> Vec<Value> {
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
pub(crate) fn simple_jsonpath<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
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

/// A column of a kind's table: name, type, format, priority (1 = `-o wide` only).
pub struct Column(pub &'static str, pub &'static str, pub &'static str, pub u8);

/// How `kubectl get` shows a kind: its columns and one row per object (the resource
/// table's `printer`).
pub struct Printer {
    pub columns: &'static [Column],
    pub row: fn(&Value) -> Vec<Value>,
}

const fn c(name: &'static str, typ: &'static str, fmt: &'static str) -> Column {
    Column(name, typ, fmt, 0)
}

/// A column kubectl shows only with `-o wide`.
const fn w(name: &'static str) -> Column {
    Column(name, "string", "", 1)
}

/// NAME and AGE: the kinds without a printer of their own.
pub static DEFAULT: Printer = Printer {
    columns: &[c("Name", "string", "name"), c("Age", "string", "")],
    row: default_row,
};

fn default_row(o: &Value) -> Vec<Value> {
    vec![
        json!(name_of(o)),
        json!(age(&util::str_of(o, "metadata.creationTimestamp"))),
    ]
}

fn column_json(c: &Column) -> Value {
    json!({"name": c.0, "type": c.1, "format": c.2, "description": c.0, "priority": c.3})
}

pub fn table(rd_: &ResDef, items: Vec<Value>, meta: Value) -> Value {
    let (cols, f): (Vec<Value>, Box<dyn Fn(&Value) -> Vec<Value>>) = if rd_.custom
        && !rd_.printer_columns.is_empty()
    {
        let pc = rd_.printer_columns;
        let mut cols = vec![column_json(&c("Name", "string", "name"))];
        for (n, t, _) in pc {
            cols.push(json!({"name": n, "type": t, "format": "", "description": n, "priority": 0}));
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
    } else {
        let p = rd_.printer.unwrap_or(&DEFAULT);
        (p.columns.iter().map(column_json).collect(), Box::new(p.row))
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|o| json!({"cells": f(o), "object": o}))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols, "rows": rows})
}

/// pods
pub static PODS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Ready", "string", ""),
        c("Status", "string", ""),
        c("Restarts", "string", ""),
        c("Age", "string", ""),
        w("IP"),
        w("Node"),
        w("Nominated Node"),
        w("Readiness Gates"),
    ],
    row: pods_row,
};

fn pods_row(p: &Value) -> Vec<Value> {
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
}

/// deployments.apps
pub static DEPLOYMENTS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Ready", "string", ""),
        c("Up-to-date", "integer", ""),
        c("Available", "integer", ""),
        c("Age", "string", ""),
        w("Containers"),
        w("Images"),
        w("Selector"),
    ],
    row: deployments_row,
};

fn deployments_row(d: &Value) -> Vec<Value> {
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
}

/// events
pub static EVENTS: Printer = Printer {
    columns: &[
        c("Last Seen", "string", ""),
        c("Type", "string", ""),
        c("Reason", "string", ""),
        c("Object", "string", ""),
        w("Subobject"),
        w("Source"),
        c("Message", "string", ""),
        w("First Seen"),
        w("Count"),
        w("Name"),
    ],
    row: events_row,
};

fn events_row(e: &Value) -> Vec<Value> {
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
}

/// replicasets.apps
pub static REPLICASETS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Desired", "integer", ""),
        c("Current", "integer", ""),
        c("Ready", "integer", ""),
        c("Age", "string", ""),
        w("Containers"),
        w("Images"),
        w("Selector"),
    ],
    row: replicasets_row,
};

fn replicasets_row(r: &Value) -> Vec<Value> {
    let mut v = vec![
        json!(name_of(r)),
        json!(i64_at(r, "/spec/replicas")),
        json!(i64_at(r, "/status/replicas")),
        json!(i64_at(r, "/status/readyReplicas")),
        json!(age(&util::str_of(r, "metadata.creationTimestamp"))),
    ];
    v.extend(template_cells(r, true));
    v
}

/// statefulsets.apps
pub static STATEFULSETS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Ready", "string", ""),
        c("Age", "string", ""),
        w("Containers"),
        w("Images"),
    ],
    row: statefulsets_row,
};

fn statefulsets_row(r: &Value) -> Vec<Value> {
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
}

/// jobs.batch
pub static JOBS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Status", "string", ""),
        c("Completions", "string", ""),
        c("Age", "string", ""),
        w("Containers"),
        w("Images"),
        w("Selector"),
    ],
    row: jobs_row,
};

fn jobs_row(j: &Value) -> Vec<Value> {
    let conds = j
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let has = |t: &str| {
        conds
            .iter()
            .any(|c| util::str_of(c, "type") == t && util::str_of(c, "status") == "True")
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
}

/// services
pub static SERVICES: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Type", "string", ""),
        c("Cluster-IP", "string", ""),
        c("External-IP", "string", ""),
        c("Port(s)", "string", ""),
        c("Age", "string", ""),
        w("Selector"),
    ],
    row: services_row,
};

fn services_row(s: &Value) -> Vec<Value> {
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
}

/// configmaps
pub static CONFIGMAPS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Data", "integer", ""),
        c("Age", "string", ""),
    ],
    row: configmaps_row,
};

fn configmaps_row(o: &Value) -> Vec<Value> {
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
}

/// secrets
pub static SECRETS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Type", "string", ""),
        c("Data", "integer", ""),
        c("Age", "string", ""),
    ],
    row: secrets_row,
};

fn secrets_row(o: &Value) -> Vec<Value> {
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
}

/// persistentvolumeclaims
pub static PVCS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Status", "string", ""),
        c("Volume", "string", ""),
        c("Capacity", "string", ""),
        c("Access Modes", "string", ""),
        c("StorageClass", "string", ""),
        c("Age", "string", ""),
    ],
    row: pvcs_row,
};

fn pvcs_row(o: &Value) -> Vec<Value> {
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
}

/// horizontalpodautoscalers.autoscaling
pub static HPAS: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Reference", "string", ""),
        c("Targets", "string", ""),
        c("MinPods", "string", ""),
        c("MaxPods", "integer", ""),
        c("Replicas", "integer", ""),
        c("Age", "string", ""),
    ],
    row: hpas_row,
};

fn hpas_row(o: &Value) -> Vec<Value> {
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
}

/// customresourcedefinitions.apiextensions.k8s.io
pub static CRDS: Printer = Printer {
    columns: &[c("Name", "string", "name"), c("Created At", "date", "")],
    row: crds_row,
};

fn crds_row(o: &Value) -> Vec<Value> {
    vec![
        json!(name_of(o)),
        json!(util::str_of(o, "metadata.creationTimestamp")),
    ]
}

/// namespaces
pub static NAMESPACES: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Status", "string", ""),
        c("Age", "string", ""),
    ],
    row: namespaces_row,
};

fn namespaces_row(n: &Value) -> Vec<Value> {
    vec![
        json!(name_of(n)),
        json!(util::str_of(n, "status.phase")),
        json!(age(&util::str_of(n, "metadata.creationTimestamp"))),
    ]
}

/// nodes
pub static NODES: Printer = Printer {
    columns: &[
        c("Name", "string", "name"),
        c("Status", "string", ""),
        c("Roles", "string", ""),
        c("Age", "string", ""),
        c("Version", "string", ""),
        w("Internal-IP"),
        w("External-IP"),
        w("OS-Image"),
        w("Kernel-Version"),
        w("Container-Runtime"),
    ],
    row: nodes_row,
};

fn nodes_row(n: &Value) -> Vec<Value> {
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
}
