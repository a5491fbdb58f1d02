//! Defaulting, validation and admission (ResourceQuota) like the apiserver's.

use crate::error::ApiError;
use crate::resources::{self, ResDef};
use crate::store::{Store, name_of, ns_of};
use crate::util;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn set_default(obj: &mut Value, key: &str, v: Value) {
    if let Some(o) = obj.as_object_mut()
        && o.get(key).is_none_or(|x| x.is_null())
    {
        o.insert(key.into(), v);
    }
}

fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut() {
                let image = util::str_of(c, "image");
                let tag_latest = {
                    let last = image.rsplit('/').next().unwrap_or("");
                    !last.contains(':') || last.ends_with(":latest")
                } && !image.contains('@');
                set_default(
                    c,
                    "imagePullPolicy",
                    json!(if tag_latest { "Always" } else { "IfNotPresent" }),
                );
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                set_default(c, "resources", json!({}));
                // requests default to limits
                if let Some(lim) = c.pointer("/resources/limits").cloned()
                    && let Some(res) = c.get_mut("resources")
                {
                    set_default(res, "requests", json!({}));
                    if let (Some(req), Some(l)) = (
                        res.get_mut("requests").and_then(|r| r.as_object_mut()),
                        lim.as_object(),
                    ) {
                        for (k, v) in l {
                            req.entry(k.clone()).or_insert(v.clone());
                        }
                    }
                }
                if let Some(Value::Array(ps)) = c.get_mut("ports") {
                    for p in ps.iter_mut() {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

fn default_template(obj: &mut Value) {
    if let Some(spec) = obj.pointer_mut("/spec/template/spec") {
        default_pod_spec(spec);
    }
}

/// Typed apiserver storage drops `null` map values (omitempty pointers such as the
/// `creationTimestamp: null` that kubectl sends inside pod templates).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            for x in m.values_mut() {
                strip_nulls(x);
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                strip_nulls(x);
            }
        }
        _ => {}
    }
}

pub fn default_object(rd: &ResDef, obj: &mut Value, store: &mut Store) {
    if let Some(o) = obj.as_object_mut() {
        for (k, v) in o.iter_mut() {
            if k != "status" {
                strip_nulls(v);
            }
        }
    }
    if let Some(f) = rd.defaults {
        f(obj, store);
    }
}

/// Defaulting for pods (the apiserver's SetDefaults_* and strategy).
pub fn default_pod(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    if let Some(spec) = obj.get_mut("spec") {
        default_pod_spec(spec);
        set_default(spec, "serviceAccountName", json!("default"));
        set_default(spec, "serviceAccount", json!("default"));
        set_default(spec, "enableServiceLinks", json!(true));
        set_default(spec, "priority", json!(0));
    }
    if obj.get("status").is_none_or(|s| s.get("phase").is_none()) {
        let qos = qos_class(obj);
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
    }
}

/// Defaulting for namespaces (the apiserver's SetDefaults_* and strategy).
pub fn default_namespace(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    let name = name_of(obj);
    if let Some(m) = obj.get_mut("metadata") {
        set_default(m, "labels", json!({}));
        if let Some(l) = m.get_mut("labels").and_then(|l| l.as_object_mut()) {
            l.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    set_default(obj, "spec", json!({"finalizers": ["kubernetes"]}));
    if obj.pointer("/metadata/deletionTimestamp").is_none() {
        obj["status"] = json!({"phase": "Active"});
    }
}

/// Defaulting for services (the apiserver's SetDefaults_* and strategy).
pub fn default_service(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let headless = spec.get("clusterIP").and_then(|c| c.as_str()) == Some("None");
    if spec.get("type").and_then(|t| t.as_str()) != Some("ExternalName") {
        if spec.get("clusterIP").is_none_or(|c| c.as_str() == Some("")) {
            store.next_cluster_ip += 1;
            let n = store.next_cluster_ip;
            spec["clusterIP"] = json!(format!("10.96.{}.{}", n / 250, n % 250));
        }
        let ip = spec["clusterIP"].clone();
        set_default(spec, "clusterIPs", json!([ip]));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    let _ = headless;
    if let Some(Value::Array(ps)) = spec.get_mut("ports") {
        for p in ps.iter_mut() {
            set_default(p, "protocol", json!("TCP"));
            let port = p.get("port").cloned().unwrap_or(Value::Null);
            set_default(p, "targetPort", port);
        }
    }
    set_default(obj, "status", json!({"loadBalancer": {}}));
}

/// Defaulting for deployments.apps (the apiserver's SetDefaults_* and strategy).
pub fn default_deployment(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    set_default(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    );
    if let Some(st) = spec.get_mut("strategy")
        && st
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("RollingUpdate")
            == "RollingUpdate"
    {
        set_default(st, "type", json!("RollingUpdate"));
        set_default(st, "rollingUpdate", json!({}));
        let ru = st.get_mut("rollingUpdate").unwrap();
        set_default(ru, "maxUnavailable", json!("25%"));
        set_default(ru, "maxSurge", json!("25%"));
    }
    default_template(obj);
}

/// Defaulting for daemonsets.apps (the apiserver's SetDefaults_* and strategy).
pub fn default_daemonset(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    );
    default_template(obj);
}

/// Defaulting for replicasets.apps (the apiserver's SetDefaults_* and strategy).
pub fn default_replicaset(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    set_default(obj.get_mut("spec").unwrap(), "replicas", json!(1));
    default_template(obj);
}

/// Defaulting for statefulsets.apps (the apiserver's SetDefaults_* and strategy).
pub fn default_statefulset(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    );
    default_template(obj);
}

/// Defaulting for jobs.batch (the apiserver's SetDefaults_* and strategy).
pub fn default_job(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    let uid = util::str_of(obj, "metadata.uid");
    let name = name_of(obj);
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completions", json!(1));
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    if spec.get("selector").is_none() && !uid.is_empty() {
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        if let Some(t) = spec.get_mut("template") {
            set_default(t, "metadata", json!({}));
            let m = t.get_mut("metadata").unwrap();
            set_default(m, "labels", json!({}));
            if let Some(l) = m.get_mut("labels").and_then(|l| l.as_object_mut()) {
                l.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
                l.insert("batch.kubernetes.io/job-name".into(), json!(name));
                l.insert("controller-uid".into(), json!(uid));
                l.insert("job-name".into(), json!(name));
            }
        }
    }
    default_template(obj);
}

/// Defaulting for cronjobs.batch (SetDefaults_CronJob, and the pod template's).
pub fn default_cronjob(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    set_default(obj, "spec", json!({}));
    let spec = obj.get_mut("spec").unwrap();
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(jt) = spec.get_mut("jobTemplate") {
        default_template(jt);
    }
}

/// Defaulting for customresourcedefinitions.apiextensions.k8s.io (the apiserver's SetDefaults_* and strategy).
pub fn default_crd(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    // established at once, names accepted as given
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter(|v| v.get("storage").and_then(|s| s.as_bool()) == Some(true))
                .map(|v| json!(util::str_of(v, "name")))
                .collect()
        })
        .unwrap_or_default();
    let now = util::now_rfc3339();
    let prev = |t: &str| {
        obj.pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .and_then(|a| a.iter().find(|c| util::str_of(c, "type") == t))
            .map(|c| util::str_of(c, "lastTransitionTime"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| now.clone())
    };
    obj["status"] = json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": prev("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": prev("Established")}
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    });
}

/// Defaulting for secrets (the apiserver's SetDefaults_* and strategy).
pub fn default_secret(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    if obj
        .get("type")
        .and_then(|t| t.as_str())
        .is_none_or(|t| t.is_empty())
    {
        obj["type"] = json!("Opaque");
    }
    merge_string_data(obj);
}

/// Defaulting for persistentvolumeclaims (the apiserver's SetDefaults_* and strategy).
pub fn default_pvc(obj: &mut Value, store: &mut Store) {
    let _ = &store;
    if obj.get("status").is_none() {
        obj["status"] = json!({"phase": "Pending"});
    }
    if let Some(spec) = obj.get_mut("spec") {
        set_default(spec, "volumeMode", json!("Filesystem"));
        set_default(spec, "storageClassName", json!("standard"));
    }
}

/// The mutating admission plugins that change a new pod: ServiceAccount (the projected
/// `kube-api-access-*` token volume mounted at /var/run/secrets/kubernetes.io/serviceaccount
/// in every container, unless automountServiceAccountToken is false on the pod or its
/// ServiceAccount) and DefaultTolerationSeconds (not-ready / unreachable NoExecute for 300 s).
pub fn mutate_pod_on_create(rd: &ResDef, obj: &mut Value, store: &Store) {
    if !rd.group.is_empty() || rd.plural != "pods" {
        return;
    }
    let ns = ns_of(obj);
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let sa_name = util::str_of(spec, "serviceAccountName");
    let sa = store
        .get(resources::builtin("", "serviceaccounts"), &ns, &sa_name)
        .cloned();
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(|a| a.as_bool())
        .or_else(|| {
            sa.as_ref()
                .and_then(|s| s.get("automountServiceAccountToken"))
                .and_then(|a| a.as_bool())
        })
        .unwrap_or(true);
    const MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let has_mount = |c: &Value| {
        c.get("volumeMounts")
            .and_then(|m| m.as_array())
            .is_some_and(|a| a.iter().any(|m| util::str_of(m, "mountPath") == MOUNT))
    };
    if automount {
        let vol_name = format!("kube-api-access-{}", util::rand_suffix(5));
        let mut mounted = false;
        for list in ["initContainers", "containers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(list) {
                for c in cs.iter_mut() {
                    if has_mount(c) || !c.is_object() {
                        continue;
                    }
                    set_default(c, "volumeMounts", json!([]));
                    if let Some(m) = c.get_mut("volumeMounts").and_then(|m| m.as_array_mut()) {
                        m.push(json!({"name": vol_name, "readOnly": true, "mountPath": MOUNT}));
                        mounted = true;
                    }
                }
            }
        }
        if mounted {
            set_default(spec, "volumes", json!([]));
            if let Some(v) = spec.get_mut("volumes").and_then(|v| v.as_array_mut()) {
                v.push(json!({"name": vol_name, "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ], "defaultMode": 420}}));
            }
        }
    }
    set_default(spec, "tolerations", json!([]));
    if let Some(t) = spec.get_mut("tolerations").and_then(|t| t.as_array_mut()) {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let covered = t.iter().any(|x| {
                let k = util::str_of(x, "key");
                let e = util::str_of(x, "effect");
                (k == key || (k.is_empty() && util::str_of(x, "operator") == "Exists"))
                    && (e.is_empty() || e == "NoExecute")
            });
            if !covered {
                t.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
}

/// The v1 → internal Secret conversion: every `stringData` entry is written into `data`
/// (base64, overriding a `data` key of the same name) and `stringData` is dropped, so it
/// is never stored or returned.
fn merge_string_data(obj: &mut Value) {
    use base64::Engine;
    let Some(o) = obj.as_object_mut() else { return };
    let Some(sd) = o.shift_remove("stringData") else {
        return;
    };
    let Value::Object(sd) = sd else { return };
    if sd.is_empty() {
        return;
    }
    let data = o.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    let d = data.as_object_mut().unwrap();
    for (k, v) in sd {
        let s = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        d.insert(
            k,
            json!(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())),
        );
    }
}

pub fn qos_class(pod: &Value) -> &'static str {
    let cs = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = !cs.is_empty();
    for c in &cs {
        let req = c.pointer("/resources/requests");
        let lim = c.pointer("/resources/limits");
        if req.is_some_and(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            || lim.is_some_and(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        {
            any = true;
        }
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|l| l.get(r));
            let q = req.and_then(|q| q.get(r)).or(l);
            if l.is_none()
                || q.and_then(util::parse_quantity_milli) != l.and_then(util::parse_quantity_milli)
            {
                guaranteed = false;
            }
        }
    }
    if guaranteed {
        "Guaranteed"
    } else if any {
        "Burstable"
    } else {
        "BestEffort"
    }
}

fn selector_matches_labels(sel: &Value, labels: &Value) -> bool {
    let Some(ml) = sel.get("matchLabels").and_then(|m| m.as_object()) else {
        return true;
    };
    ml.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Field errors: (field, reason, message).
pub type Causes = Vec<(String, &'static str, String)>;

/// The checks every kind gets, then the kind's own (`ResDef::validate`).
pub fn validate(rd: &ResDef, obj: &Value) -> Result<(), ApiError> {
    let name = name_of(obj);
    for k in ["metadata", "spec", "status"] {
        if obj.get(k).is_some_and(|v| !v.is_object()) {
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: json: cannot unmarshal into Go struct field {}.{k}",
                rd.kind, rd.version, rd.kind, rd.kind
            )));
        }
    }
    let mut causes: Causes = Vec::new();
    if let Some(f) = rd.validate {
        f(obj, &mut causes);
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rd, &name, causes))
    }
}

fn required(causes: &mut Causes, field: String) {
    causes.push((field, "FieldValueRequired", "Required value".into()));
}

fn check_containers(spec: Option<&Value>, prefix: &str, causes: &mut Causes) {
    match spec
        .and_then(|s| s.get("containers"))
        .and_then(|c| c.as_array())
    {
        None => required(causes, format!("{prefix}.containers")),
        Some(cs) if cs.is_empty() => required(causes, format!("{prefix}.containers")),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                if util::str_of(c, "name").is_empty() {
                    required(causes, format!("{prefix}.containers[{i}].name"));
                }
                if util::str_of(c, "image").is_empty() {
                    required(causes, format!("{prefix}.containers[{i}].image"));
                }
            }
        }
    }
}

/// Pods: containers with names and images.
pub fn validate_pod(obj: &Value, causes: &mut Causes) {
    check_containers(obj.get("spec"), "spec", causes);
}

/// Deployments, ReplicaSets, StatefulSets, DaemonSets: a selector matching the template.
pub fn validate_workload(obj: &Value, causes: &mut Causes) {
    match obj.pointer("/spec/selector") {
        None => required(causes, "spec.selector".into()),
        Some(sel) => {
            let labels = obj
                .pointer("/spec/template/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            if !selector_matches_labels(sel, &labels) {
                causes.push((
                    "spec.template.metadata.labels".into(),
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {}: `selector` does not match template `labels`",
                        go_map(&labels)
                    ),
                ));
            }
        }
    }
    check_containers(
        obj.pointer("/spec/template/spec"),
        "spec.template.spec",
        causes,
    );
}

/// Jobs: containers, and a restartPolicy a Job may have.
pub fn validate_job(obj: &Value, causes: &mut Causes) {
    check_containers(
        obj.pointer("/spec/template/spec"),
        "spec.template.spec",
        causes,
    );
    if util::str_of(obj, "spec.template.spec.restartPolicy") == "Always" {
        causes.push((
            "spec.template.spec.restartPolicy".into(),
            "FieldValueNotSupported",
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"".into(),
        ));
    }
}

/// Ingresses: a `Prefix` or `Exact` path is absolute.
pub fn validate_ingress(obj: &Value, causes: &mut Causes) {
    let rules = obj
        .pointer("/spec/rules")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        let paths = rule
            .pointer("/http/paths")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default();
        for (j, p) in paths.iter().enumerate() {
            let path = util::str_of(p, "path");
            let typed = matches!(util::str_of(p, "pathType").as_str(), "Prefix" | "Exact");
            if typed && !path.starts_with('/') {
                causes.push((
                    format!("spec.rules[{i}].http.paths[{j}].path"),
                    "FieldValueInvalid",
                    format!("Invalid value: \"{path}\": must be an absolute path"),
                ));
            }
        }
    }
}

/// CronJobs: a schedule the cron parser reads, and a job template a Job may have.
pub fn validate_cronjob(obj: &Value, causes: &mut Causes) {
    let schedule = util::str_of(obj, "spec.schedule");
    if schedule.is_empty() {
        required(causes, "spec.schedule".into());
    } else if let Err(e) = parse_cron(&schedule) {
        causes.push((
            "spec.schedule".into(),
            "FieldValueInvalid",
            format!("Invalid value: \"{schedule}\": {e}"),
        ));
    }
    let prefix = "spec.jobTemplate.spec.template.spec";
    check_containers(
        obj.pointer("/spec/jobTemplate/spec/template/spec"),
        prefix,
        causes,
    );
    if util::str_of(obj, &format!("{prefix}.restartPolicy")) == "Always" {
        causes.push((
            format!("{prefix}.restartPolicy"),
            "FieldValueNotSupported",
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"".into(),
        ));
    }
}

/// robfig/cron's standard parser (what the apiserver validates with): five fields or a
/// descriptor, with its error texts.
fn parse_cron(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if let Some(d) = spec.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {spec}")),
        };
    }
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(u32, u32, &[&str], u32); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, &MONTHS, 1),
        (0, 6, &DAYS, 0),
    ];
    for (field, (min, max, names, base)) in fields.iter().zip(bounds) {
        for expr in field.split(',') {
            let (range, step) = match expr.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (expr, None),
            };
            let num = |x: &str| -> Result<u32, String> {
                if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(x)) {
                    return Ok(i as u32 + base);
                }
                x.parse::<u32>().map_err(|_| {
                    format!("failed to parse int from {x}: strconv.Atoi: parsing \"{x}\": invalid syntax")
                })
            };
            let (lo, hi) = if range == "*" || range == "?" {
                (min, max)
            } else if let Some((a, b)) = range.split_once('-') {
                (num(a)?, num(b)?)
            } else {
                let v = num(range)?;
                (v, v)
            };
            if let Some(st) = step {
                let n = st.parse::<u32>().map_err(|_| {
                    format!("failed to parse int from {st}: strconv.Atoi: parsing \"{st}\": invalid syntax")
                })?;
                if n == 0 {
                    return Err(format!("step of range should be a positive number: {expr}"));
                }
            }
            if lo < min {
                return Err(format!(
                    "beginning of range ({lo}) below minimum ({min}): {expr}"
                ));
            }
            if hi > max {
                return Err(format!("end of range ({hi}) above maximum ({max}): {expr}"));
            }
            if lo > hi {
                return Err(format!(
                    "beginning of range ({lo}) beyond end of range ({hi}): {expr}"
                ));
            }
        }
    }
    Ok(())
}

/// ConfigMaps and Secrets: `data` is a map.
pub fn validate_data(obj: &Value, causes: &mut Causes) {
    if let Some(d) = obj.get("data").filter(|d| !d.is_null())
        && !d.is_object()
    {
        causes.push((
            "data".into(),
            "FieldValueInvalid",
            "Invalid value: must be a map".into(),
        ));
    }
}

/// CustomResourceDefinitions: named `plural.group`, with a kind.
pub fn validate_crd(obj: &Value, causes: &mut Causes) {
    let name = name_of(obj);
    let plural = util::str_of(obj, "spec.names.plural");
    let group = util::str_of(obj, "spec.group");
    if name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".into(),
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if util::str_of(obj, "spec.names.kind").is_empty() {
        required(causes, "spec.names.kind".into());
    }
}

fn go_map(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k:?}:{}", v)).collect())
        .unwrap_or_default();
    format!("map[string]string{{{}}}", parts.join(", "))
}

/// Sum of a pod's container requests/limits, keyed like quota resources.
pub fn pod_usage(pod: &Value) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    out.insert("pods".to_string(), 1000);
    out.insert("count/pods".to_string(), 1000);
    if let Some(cs) = pod.pointer("/spec/containers").and_then(|c| c.as_array()) {
        for c in cs {
            for (kind, key) in [("requests", "requests"), ("limits", "limits")] {
                let limits = c.pointer("/resources/limits");
                let src = c.pointer(&format!("/resources/{kind}"));
                for r in ["cpu", "memory", "ephemeral-storage"] {
                    let q = src
                        .and_then(|s| s.get(r))
                        .or_else(|| {
                            if kind == "requests" {
                                limits.and_then(|l| l.get(r))
                            } else {
                                None
                            }
                        })
                        .and_then(util::parse_quantity_milli);
                    if let Some(q) = q {
                        *out.entry(format!("{key}.{r}")).or_insert(0) += q;
                        if kind == "requests" {
                            *out.entry(r.to_string()).or_insert(0) += q;
                        }
                    }
                }
            }
        }
    }
    out
}

fn pvc_usage(pvc: &Value) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    out.insert("persistentvolumeclaims".to_string(), 1000);
    out.insert("count/persistentvolumeclaims".to_string(), 1000);
    if let Some(q) = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(util::parse_quantity_milli)
    {
        out.insert("requests.storage".to_string(), q);
    }
    out
}

fn count_usage(rd: &ResDef) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    out.insert(format!("count/{}", rd.qualified()), 1000);
    if rd.group.is_empty() {
        out.insert(rd.plural.to_string(), 1000);
    }
    out
}

pub fn usage_of(rd: &ResDef, obj: &Value) -> BTreeMap<String, i128> {
    match (rd.group, rd.plural) {
        ("", "pods") => {
            if matches!(
                util::str_of(obj, "status.phase").as_str(),
                "Succeeded" | "Failed"
            ) {
                BTreeMap::new()
            } else {
                pod_usage(obj)
            }
        }
        ("", "persistentvolumeclaims") => pvc_usage(obj),
        _ => count_usage(rd),
    }
}

/// Current usage of a namespace for the given quota resources.
pub fn namespace_usage(
    store: &Store,
    ns: &str,
    hard: &serde_json::Map<String, Value>,
) -> BTreeMap<String, i128> {
    let mut used: BTreeMap<String, i128> = hard.keys().map(|k| (k.clone(), 0)).collect();
    for rd in resources::RESOURCES {
        if !rd.namespaced || rd.readonly {
            continue;
        }
        let relevant = hard.keys().any(|k| {
            k == &format!("count/{}", rd.qualified())
                || (rd.group.is_empty() && k == rd.plural)
                || (rd.plural == "pods"
                    && rd.group.is_empty()
                    && (k.contains("cpu") || k.contains("memory") || k.contains("ephemeral")))
                || (rd.plural == "persistentvolumeclaims" && k == "requests.storage")
        });
        if !relevant {
            continue;
        }
        for o in store.list(rd, Some(ns)) {
            for (k, v) in usage_of(rd, o) {
                if let Some(u) = used.get_mut(&k) {
                    *u += v;
                }
            }
        }
    }
    used
}

pub fn admit_create(rd: &ResDef, obj: &Value, store: &Store) -> Result<(), ApiError> {
    if !rd.namespaced {
        return Ok(());
    }
    let ns = ns_of(obj);
    let qrd = resources::builtin("", "resourcequotas");
    let quotas: Vec<Value> = store.list_cloned(qrd, Some(&ns));
    if quotas.is_empty() {
        return Ok(());
    }
    let req = usage_of(rd, obj);
    let name = name_of(obj);
    for q in quotas {
        let qname = name_of(&q);
        let Some(hard) = q.pointer("/spec/hard").and_then(|h| h.as_object()) else {
            continue;
        };
        // must specify: every container names each of cpu / memory the quota limits
        // (the quota evaluator's message: `must specify limits.cpu for: a,b; requests.memory for: a`)
        if rd.plural == "pods" && rd.group.is_empty() {
            let required: Vec<&str> = hard
                .keys()
                .map(String::as_str)
                .filter(|k| {
                    matches!(
                        *k,
                        "requests.cpu"
                            | "requests.memory"
                            | "limits.cpu"
                            | "limits.memory"
                            | "cpu"
                            | "memory"
                    )
                })
                .collect();
            let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for list in ["initContainers", "containers"] {
                let cs = obj
                    .pointer(&format!("/spec/{list}"))
                    .and_then(|c| c.as_array())
                    .cloned()
                    .unwrap_or_default();
                for c in &cs {
                    let has = |what: &str, r: &str| {
                        c.pointer(&format!("/resources/{what}/{r}")).is_some()
                    };
                    for k in &required {
                        let named = match *k {
                            "cpu" | "requests.cpu" => has("requests", "cpu"),
                            "memory" | "requests.memory" => has("requests", "memory"),
                            "limits.cpu" => has("limits", "cpu"),
                            _ => has("limits", "memory"),
                        };
                        if !named {
                            let names = missing.entry(k).or_default();
                            names.push(util::str_of(c, "name"));
                            names.sort();
                            names.dedup();
                        }
                    }
                }
            }
            if !missing.is_empty() {
                let what: Vec<String> = missing
                    .iter()
                    .map(|(k, names)| format!("{k} for: {}", names.join(",")))
                    .collect();
                let mut e = ApiError::forbidden(
                    rd,
                    &name,
                    &format!("failed quota: {qname}: must specify {}", what.join("; ")),
                );
                e.reason = "Forbidden";
                return Err(e);
            }
        }
        let used = namespace_usage(store, &ns, hard);
        let mut exceeded: Vec<(String, i128, i128, i128)> = Vec::new();
        for (k, hv) in hard {
            let Some(r) = req.get(k) else { continue };
            let Some(h) = util::parse_quantity_milli(hv) else {
                continue;
            };
            let u = used.get(k).copied().unwrap_or(0);
            if u + r > h {
                exceeded.push((k.clone(), *r, u, h));
            }
        }
        if !exceeded.is_empty() {
            let f = |sel: fn(&(String, i128, i128, i128)) -> i128| -> String {
                exceeded
                    .iter()
                    .map(|e| format!("{}={}", e.0, util::fmt_quantity(&e.0, sel(e))))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let msg = format!(
                "exceeded quota: {qname}, requested: {}, used: {}, limited: {}",
                f(|e| e.1),
                f(|e| e.2),
                f(|e| e.3)
            );
            return Err(ApiError::forbidden(rd, &name, &msg));
        }
    }
    Ok(())
}

/// LimitRanger admission for pods: default limits (`default`) and requests
/// (`defaultRequest`, else `default`) per container, then `max` / `min` checks.
pub fn limit_ranger(rd: &ResDef, obj: &mut Value, store: &Store) -> Result<(), ApiError> {
    if !rd.group.is_empty() || rd.plural != "pods" {
        return Ok(());
    }
    let ns = ns_of(obj);
    let lrd = resources::builtin("", "limitranges");
    let items: Vec<Value> = store
        .list(lrd, Some(&ns))
        .into_iter()
        .flat_map(|lr| {
            lr.pointer("/spec/limits")
                .and_then(|l| l.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter(|i| util::str_of(i, "type") == "Container")
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let name = name_of(obj);
    let mut notes_req: Vec<String> = Vec::new();
    let mut notes_lim: Vec<String> = Vec::new();
    let Some(cs) = obj
        .pointer_mut("/spec/containers")
        .and_then(|c| c.as_array_mut())
    else {
        return Ok(());
    };
    for c in cs.iter_mut() {
        let cname = util::str_of(c, "name");
        if c.get("resources").is_none_or(|r| !r.is_object()) {
            c["resources"] = json!({});
        }
        let res = c.get_mut("resources").unwrap();
        let mut set_req = Vec::new();
        let mut set_lim = Vec::new();
        for item in &items {
            let default = item
                .get("default")
                .and_then(|d| d.as_object())
                .cloned()
                .unwrap_or_default();
            let default_req = item
                .get("defaultRequest")
                .and_then(|d| d.as_object())
                .cloned()
                .unwrap_or_else(|| default.clone());
            for (r, v) in &default {
                if res.pointer(&format!("/limits/{r}")).is_none() {
                    if res.get("limits").is_none_or(|l| !l.is_object()) {
                        res["limits"] = json!({});
                    }
                    res["limits"][r.as_str()] = v.clone();
                    set_lim.push(r.clone());
                }
            }
            for (r, v) in &default_req {
                if res.pointer(&format!("/requests/{r}")).is_none() {
                    if res.get("requests").is_none_or(|l| !l.is_object()) {
                        res["requests"] = json!({});
                    }
                    res["requests"][r.as_str()] = v.clone();
                    set_req.push(r.clone());
                }
            }
            for (bound, cmp_max) in [("max", true), ("min", false)] {
                let Some(b) = item.get(bound).and_then(|m| m.as_object()) else {
                    continue;
                };
                for (r, bv) in b {
                    let Some(bq) = util::parse_quantity_milli(bv) else {
                        continue;
                    };
                    for kind in ["limits", "requests"] {
                        if cmp_max && kind == "requests" {
                            continue;
                        }
                        if !cmp_max && kind == "limits" {
                            continue;
                        }
                        let Some(q) = res
                            .pointer(&format!("/{kind}/{r}"))
                            .and_then(util::parse_quantity_milli)
                        else {
                            continue;
                        };
                        let bad = if cmp_max { q > bq } else { q < bq };
                        if bad {
                            let word = if cmp_max { "maximum" } else { "minimum" };
                            let what = if cmp_max { "limit" } else { "request" };
                            return Err(ApiError::forbidden(
                                rd,
                                &name,
                                &format!(
                                    "{word} {r} usage per Container is {}, but {what} is {}",
                                    util::fmt_quantity(r, bq),
                                    util::fmt_quantity(r, q)
                                ),
                            ));
                        }
                    }
                }
            }
        }
        if !set_req.is_empty() {
            notes_req.push(format!(
                "{} request for container {cname}",
                set_req.join(", ")
            ));
        }
        if !set_lim.is_empty() {
            notes_lim.push(format!(
                "{} limit for container {cname}",
                set_lim.join(", ")
            ));
        }
    }
    let notes: Vec<String> = notes_req.into_iter().chain(notes_lim).collect();
    if !notes.is_empty() {
        if obj["metadata"]
            .get("annotations")
            .is_none_or(|a| !a.is_object())
        {
            obj["metadata"]["annotations"] = json!({});
        }
        obj["metadata"]["annotations"]["kubernetes.io/limit-ranger"] =
            json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
        let qos = qos_class(obj);
        if let Some(st) = obj.get_mut("status").and_then(|s| s.as_object_mut()) {
            st.insert("qosClass".into(), json!(qos));
        }
    }
    Ok(())
}
