//! The namespace's objects, as `kubectl get` shows them, with what the
//! server manages stripped (uid, resourceVersion, managedFields, status,
//! cluster IPs…) so they can be applied again. Secrets never go in plain
//! text: they are encrypted together with age to `backup.recipients`, or
//! left out and listed by name only.

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::render::labels;

/// The kinds a backup keeps, in the order a restore applies them.
pub const KINDS: &[(&str, &str, &str)] = &[
    ("v1", "ServiceAccount", "serviceaccounts"),
    ("rbac.authorization.k8s.io/v1", "Role", "roles"),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
    ),
    ("v1", "ResourceQuota", "resourcequotas"),
    ("v1", "LimitRange", "limitranges"),
    ("v1", "ConfigMap", "configmaps"),
    ("v1", "Secret", "secrets"),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("v1", "Service", "services"),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    ("apps/v1", "StatefulSet", "statefulsets"),
    ("apps/v1", "Deployment", "deployments"),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("networking.k8s.io/v1", "Ingress", "ingresses"),
    (
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
    ),
];

fn resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// The namespace's objects, stripped: (everything but Secrets, Secrets).
pub async fn collect(
    client: &kube::Client,
    namespace: &str,
) -> Result<(Vec<Value>, Vec<Value>), kube::Error> {
    let mut objects = Vec::new();
    let mut secrets = Vec::new();
    for (api_version, kind, plural) in KINDS {
        let ar = resource(api_version, kind, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let list = match api.list(&ListParams::default()).await {
            Ok(list) => list,
            // A kind this cluster does not serve.
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(e),
        };
        for item in list.items {
            let mut value = serde_json::to_value(&item).unwrap_or(Value::Null);
            value["apiVersion"] = Value::String(api_version.to_string());
            value["kind"] = Value::String(kind.to_string());
            if skipped(&value) {
                continue;
            }
            strip(&mut value);
            if *kind == "Secret" {
                secrets.push(value);
            } else {
                objects.push(value);
            }
        }
    }
    Ok((objects, secrets))
}

/// What the cluster makes on its own: the default ServiceAccount, the
/// root CA ConfigMap, service-account tokens.
fn skipped(v: &Value) -> bool {
    let name = v["metadata"]["name"].as_str().unwrap_or("");
    // A toolbox (and its NetworkPolicy) of a run going on: not the environment's.
    if v["metadata"]["labels"][super::toolbox::TOOLBOX_LABEL].is_string() {
        return true;
    }
    match v["kind"].as_str() {
        Some("ServiceAccount") => name == "default",
        Some("ConfigMap") => name == "kube-root-ca.crt",
        Some("Secret") => v["type"] == "kubernetes.io/service-account-token",
        _ => false,
    }
}

/// Drops the fields the server sets.
pub fn strip(v: &mut Value) {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "ownerReferences",
        ] {
            meta.remove(field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.retain(|k, _| {
                k != "kubectl.kubernetes.io/last-applied-configuration"
                    && k != "deployment.kubernetes.io/revision"
                    && !k.starts_with("pv.kubernetes.io/")
                    && !k.starts_with("volume.kubernetes.io/")
                    && !k.starts_with("volume.beta.kubernetes.io/")
            });
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
    }
    match v["kind"].as_str() {
        Some("Service") => {
            if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
                // A headless Service keeps `None`.
                if spec.get("clusterIP").and_then(Value::as_str) != Some("None") {
                    spec.remove("clusterIP");
                    spec.remove("clusterIPs");
                }
            }
        }
        Some("PersistentVolumeClaim") => {
            if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("volumeName");
            }
        }
        _ => {}
    }
}

/// Replaces every value `redactor` knows (the cluster's Secrets) in
/// `objects` — a ConfigMap's data, annotations, env values, keys — with
/// `<redacted>`. Returns the objects that held one (`Kind/name`).
pub fn scrub(objects: &mut [Value], redactor: &crate::redact::Redactor) -> Vec<String> {
    let mut redacted = Vec::new();
    if redactor.is_empty() {
        return redacted;
    }
    for object in objects.iter_mut() {
        let before = object.clone();
        redactor.scrub_json(object);
        if *object != before {
            redacted.push(display(object));
        }
    }
    redacted
}

/// Whether `object` (`kind`, `metadata.name`) exists in `namespace`.
pub async fn exists(
    client: &kube::Client,
    namespace: &str,
    object: &Value,
) -> Result<bool, kube::Error> {
    let kind = object["kind"].as_str().unwrap_or("");
    let Some((api_version, _, plural)) = KINDS.iter().find(|(_, k, _)| *k == kind) else {
        return Ok(false);
    };
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource(api_version, kind, plural),
    );
    Ok(api
        .get_opt(object["metadata"]["name"].as_str().unwrap_or(""))
        .await?
        .is_some())
}

/// Multi-document YAML.
pub fn to_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_saphyr::to_string(o).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Parses what [`to_yaml`] wrote.
pub fn from_yaml(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line == "---" {
            if !current.trim().is_empty() {
                let doc: Value = serde_saphyr::from_str(&current).map_err(|e| e.to_string())?;
                if !doc.is_null() {
                    docs.push(doc);
                }
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    Ok(docs)
}

/// `Kind/name`.
pub fn display(v: &Value) -> String {
    format!(
        "{}/{}",
        v["kind"].as_str().unwrap_or("?"),
        v["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Applies `objects` with server-side apply (field manager fintechctl,
/// taking over conflicts: the backup is what the operator asked for), in
/// [`KINDS`] order. Returns the objects applied.
pub async fn apply(
    client: &kube::Client,
    namespace: &str,
    objects: &[Value],
) -> Result<Vec<String>, (String, kube::Error)> {
    let mut ordered: Vec<&Value> = objects.iter().collect();
    let rank = |v: &Value| {
        KINDS
            .iter()
            .position(|(_, k, _)| Some(*k) == v["kind"].as_str())
            .unwrap_or(usize::MAX)
    };
    ordered.sort_by_key(|v| rank(v));
    let mut applied = Vec::new();
    for object in ordered {
        let kind = object["kind"].as_str().unwrap_or("");
        let Some((api_version, _, plural)) = KINDS.iter().find(|(_, k, _)| *k == kind) else {
            continue;
        };
        let ar = resource(api_version, kind, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let mut object = object.clone();
        object["metadata"]["namespace"] = Value::String(namespace.to_string());
        let params = PatchParams::apply(labels::MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| (display(&object), e))?;
        applied.push(display(&object));
    }
    Ok(applied)
}
