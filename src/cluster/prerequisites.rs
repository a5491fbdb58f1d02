//! What must be true before a deploy writes anything: every object the
//! release refers to but does not create exists in the cluster (a Secret
//! the cluster-autoscaler reads, an image-pull Secret, an IngressClass…),
//! and these credentials may do everything the deploy will do. Both are
//! found out in the plan, so a deploy that would fail half-way refuses
//! before its first write, naming each missing object or permission.

use std::collections::BTreeSet;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::is_status;
use super::kinds::ServedKinds;
use crate::render::Manifest;

/// An object the release needs and the cluster lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingObject {
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    /// The key a reference needs in it (`secretKeyRef.key`).
    pub key: Option<String>,
    /// `Deployment/cluster-autoscaler`.
    pub needed_by: String,
}

impl std::fmt::Display for MissingObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .namespace
            .as_ref()
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default();
        write!(f, "{} {at}{}", self.kind, self.name)?;
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        write!(f, ", needed by {}: {}", self.needed_by, self.hint())
    }
}

impl MissingObject {
    /// How to create it.
    pub fn hint(&self) -> String {
        let ns = self.namespace.as_deref().unwrap_or("default");
        let key = self.key.as_deref().unwrap_or("KEY");
        match self.kind {
            "Secret" => format!(
                "create it with `kubectl -n {ns} create secret generic {} --from-literal={key}=…`",
                self.name
            ),
            "image pull Secret" => format!(
                "create it with `kubectl -n {ns} create secret docker-registry {} --docker-server=… --docker-username=… --docker-password=…`",
                self.name
            ),
            "ConfigMap" => format!(
                "create it with `kubectl -n {ns} create configmap {} --from-literal={key}=…`",
                self.name
            ),
            "ServiceAccount" => format!(
                "create it with `kubectl -n {ns} create serviceaccount {}`",
                self.name
            ),
            "IngressClass" => format!(
                "install the ingress controller that provides IngressClass `{}` (e.g. ingress-nginx), or change the environment's `ingress.className`",
                self.name
            ),
            "StorageClass" => format!(
                "create StorageClass `{}` (or use one `kubectl get storageclass` lists)",
                self.name
            ),
            _ => "create it first".to_string(),
        }
    }
}

/// A reference found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Reference {
    kind: &'static str,
    namespace: Option<String>,
    name: String,
    key: Option<String>,
    needed_by: String,
}

/// Every object the manifests refer to but do not contain.
fn references(manifests: &[Manifest]) -> Vec<Reference> {
    let present: BTreeSet<(String, Option<String>, String)> = manifests
        .iter()
        .map(|m| {
            (
                m.kind().to_string(),
                m.namespace().map(str::to_string),
                m.name().to_string(),
            )
        })
        .collect();
    let mut found = BTreeSet::new();
    for m in manifests {
        let ns = m.namespace().map(str::to_string);
        let by = m.display();
        let mut add = |kind: &'static str, namespaced: bool, name: &str, key: Option<&str>| {
            if name.is_empty() {
                return;
            }
            let namespace = if namespaced { ns.clone() } else { None };
            let store_kind = if kind == "image pull Secret" {
                "Secret"
            } else {
                kind
            };
            if present.contains(&(store_kind.to_string(), namespace.clone(), name.to_string())) {
                return;
            }
            found.insert(Reference {
                kind,
                namespace,
                name: name.to_string(),
                key: key.map(str::to_string),
                needed_by: by.clone(),
            });
        };
        let pod_spec = match m.kind() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
                Some(&m.object["spec"]["template"]["spec"])
            }
            "CronJob" => Some(&m.object["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
            "Pod" => Some(&m.object["spec"]),
            _ => None,
        };
        if let Some(spec) = pod_spec {
            if let Some(sa) = spec["serviceAccountName"].as_str()
                && sa != "default"
            {
                add("ServiceAccount", true, sa, None);
            }
            for secret in spec["imagePullSecrets"].as_array().into_iter().flatten() {
                add(
                    "image pull Secret",
                    true,
                    secret["name"].as_str().unwrap_or(""),
                    None,
                );
            }
            let containers = ["containers", "initContainers"]
                .iter()
                .flat_map(|c| spec[*c].as_array().into_iter().flatten());
            for container in containers {
                for env in container["env"].as_array().into_iter().flatten() {
                    for (field, kind) in
                        [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")]
                    {
                        let r = &env["valueFrom"][field];
                        if r.is_object() && r["optional"] != Value::Bool(true) {
                            add(
                                kind,
                                true,
                                r["name"].as_str().unwrap_or(""),
                                r["key"].as_str(),
                            );
                        }
                    }
                }
                for from in container["envFrom"].as_array().into_iter().flatten() {
                    for (field, kind) in [("secretRef", "Secret"), ("configMapRef", "ConfigMap")] {
                        let r = &from[field];
                        if r.is_object() && r["optional"] != Value::Bool(true) {
                            add(kind, true, r["name"].as_str().unwrap_or(""), None);
                        }
                    }
                }
            }
            for volume in spec["volumes"].as_array().into_iter().flatten() {
                let s = &volume["secret"];
                if s.is_object() && s["optional"] != Value::Bool(true) {
                    add("Secret", true, s["secretName"].as_str().unwrap_or(""), None);
                }
                let c = &volume["configMap"];
                if c.is_object() && c["optional"] != Value::Bool(true) {
                    add("ConfigMap", true, c["name"].as_str().unwrap_or(""), None);
                }
            }
        }
        if m.kind() == "Ingress" {
            if let Some(class) = m.object["spec"]["ingressClassName"].as_str() {
                add("IngressClass", false, class, None);
            }
            for tls in m.object["spec"]["tls"].as_array().into_iter().flatten() {
                add(
                    "Secret",
                    true,
                    tls["secretName"].as_str().unwrap_or(""),
                    None,
                );
            }
        }
        let claims: Vec<&Value> = match m.kind() {
            "PersistentVolumeClaim" => vec![&m.object["spec"]],
            "StatefulSet" => m.object["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| &t["spec"])
                .collect(),
            _ => Vec::new(),
        };
        for claim in claims {
            if let Some(class) = claim["storageClassName"].as_str()
                && !class.is_empty()
            {
                add("StorageClass", false, class, None);
            }
        }
    }
    found.into_iter().collect()
}

fn resource_of(kind: &str) -> ApiResource {
    let (group, version, kind) = match kind {
        "IngressClass" => ("networking.k8s.io", "v1", "IngressClass"),
        "StorageClass" => ("storage.k8s.io", "v1", "StorageClass"),
        "image pull Secret" => ("", "v1", "Secret"),
        other => ("", "v1", other),
    };
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// The referenced objects (and Secret / ConfigMap keys) the cluster does
/// not have. Objects of `skip_kinds` are not looked at.
pub async fn missing(
    client: &kube::Client,
    manifests: &[Manifest],
    skip_kinds: &[String],
) -> Result<Vec<MissingObject>, String> {
    let considered: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !skip_kinds.iter().any(|k| k == m.kind()))
        .cloned()
        .collect();
    let refs = references(&considered);
    let checks = refs.iter().map(|r| async move {
        let ar = resource_of(r.kind);
        let api: Api<DynamicObject> = match &r.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        match api.get_opt(&r.name).await {
            Ok(Some(object)) => {
                let has_key = match &r.key {
                    None => true,
                    Some(key) => ["data", "stringData", "binaryData"]
                        .iter()
                        .any(|f| object.data[*f].get(key).is_some()),
                };
                Ok((!has_key).then(|| r.clone()))
            }
            Ok(None) => Ok(Some(r.clone())),
            // A namespace that does not exist yet holds nothing.
            Err(e) if is_status(&e, 404) => Ok(Some(r.clone())),
            Err(e) => Err(format!(
                "checking {} {}: {}",
                r.kind,
                r.name,
                super::api_message(&e)
            )),
        }
    });
    // One line per missing object (and key), naming everything that needs it.
    let mut missing: Vec<MissingObject> = Vec::new();
    for result in futures::future::join_all(checks).await {
        if let Some(r) = result? {
            match missing.iter_mut().find(|m| {
                m.kind == r.kind && m.namespace == r.namespace && m.name == r.name && m.key == r.key
            }) {
                Some(m) => {
                    m.needed_by.push_str(", ");
                    m.needed_by.push_str(&r.needed_by);
                }
                None => missing.push(MissingObject {
                    kind: r.kind,
                    namespace: r.namespace,
                    name: r.name,
                    key: r.key,
                    needed_by: r.needed_by,
                }),
            }
        }
    }
    Ok(missing)
}

/// What the permission check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionCheck {
    Allowed,
    /// One line per missing permission: `create deployments.apps in fintech-ai-prod`.
    Denied(Vec<String>),
    /// The cluster cannot tell (no SelfSubjectAccessReview API).
    Unknown(String),
}

/// One permission: a verb on a resource, in a namespace or cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Permission {
    verb: &'static str,
    group: String,
    resource: String,
    subresource: Option<&'static str>,
    namespace: Option<String>,
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resource = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        let sub = self
            .subresource
            .map(|s| format!("/{s}"))
            .unwrap_or_default();
        match &self.namespace {
            Some(ns) => write!(f, "{} {resource}{sub} in namespace {ns}", self.verb),
            None => write!(f, "{} {resource}{sub} (cluster-wide)", self.verb),
        }
    }
}

/// Asks the API server (SelfSubjectAccessReview) whether these credentials
/// may do everything a deploy of `manifests` does: apply every kind (and
/// delete it, when `prune`), run and watch the migration and the rollouts,
/// keep the lock and the release records.
pub async fn permissions(
    client: &kube::Client,
    kinds: &ServedKinds,
    namespace: &str,
    manifests: &[Manifest],
    prune: bool,
    skip_kinds: &[String],
) -> PermissionCheck {
    let mut wanted: BTreeSet<Permission> = BTreeSet::new();
    let mut want = |verbs: &[&'static str],
                    group: &str,
                    resource: &str,
                    sub: Option<&'static str>,
                    ns: Option<&str>| {
        for verb in verbs {
            wanted.insert(Permission {
                verb,
                group: group.to_string(),
                resource: resource.to_string(),
                subresource: sub,
                namespace: ns.map(str::to_string),
            });
        }
    };
    let verbs: &[&'static str] = if prune {
        &["get", "create", "patch", "delete"]
    } else {
        &["get", "create", "patch"]
    };
    for m in manifests
        .iter()
        .filter(|m| !skip_kinds.iter().any(|k| k == m.kind()))
    {
        if let Ok(Some(found)) = kinds.find(m.api_version(), m.kind()).await {
            let ns = if found.namespaced {
                m.namespace()
            } else {
                None
            };
            want(
                verbs,
                &found.resource.group,
                &found.resource.plural,
                None,
                ns,
            );
        }
    }
    let ns = Some(namespace);
    want(
        &["get", "create", "update", "delete"],
        "coordination.k8s.io",
        "leases",
        None,
        ns,
    );
    want(
        &["get", "list", "create", "patch", "delete"],
        "",
        "secrets",
        None,
        ns,
    );
    want(
        &["get", "create", "patch", "delete"],
        "batch",
        "jobs",
        None,
        ns,
    );
    want(&["get", "list", "watch"], "", "pods", None, ns);
    want(&["get"], "", "pods", Some("log"), ns);
    want(&["list", "watch"], "", "events", None, ns);
    want(&["list", "watch"], "apps", "deployments", None, ns);
    want(&["list", "watch"], "apps", "statefulsets", None, ns);
    want(&["list", "watch"], "apps", "replicasets", None, ns);

    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let asks = wanted.iter().map(|p| {
        let reviews = reviews.clone();
        async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(p.verb.to_string()),
                        group: Some(p.group.clone()),
                        resource: Some(p.resource.clone()),
                        subresource: p.subresource.map(str::to_string),
                        namespace: p.namespace.clone(),
                        ..ResourceAttributes::default()
                    }),
                    ..SelfSubjectAccessReviewSpec::default()
                },
                ..SelfSubjectAccessReview::default()
            };
            (p, reviews.create(&PostParams::default(), &review).await)
        }
    });
    let mut denied = Vec::new();
    for (permission, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(review) => {
                let status = review.status.unwrap_or_default();
                if !status.allowed {
                    let why = status
                        .reason
                        .filter(|r| !r.is_empty())
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    denied.push(format!("{permission}{why}"));
                }
            }
            Err(e) if is_status(&e, 404) || is_status(&e, 405) => {
                return PermissionCheck::Unknown(
                    "the API server does not serve SelfSubjectAccessReview".to_string(),
                );
            }
            Err(e) => {
                return PermissionCheck::Unknown(format!(
                    "asking the API server: {}",
                    super::api_message(&e)
                ));
            }
        }
    }
    if denied.is_empty() {
        PermissionCheck::Allowed
    } else {
        PermissionCheck::Denied(denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_outside_the_set_are_found_and_inside_ignored() {
        let set = vec![
            Manifest::new(
                "s.yaml",
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app", "namespace": "ns"}}),
            ),
            Manifest::new(
                "d.yaml",
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
                "spec": {"template": {"spec": {
                    "serviceAccountName": "runner",
                    "imagePullSecrets": [{"name": "regcred"}],
                    "containers": [{"name": "c", "env": [
                        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "app", "key": "a"}}},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "outside", "key": "b"}}},
                        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "opt", "key": "c", "optional": true}}}
                    ]}]}}}}),
            ),
            Manifest::new(
                "i.yaml",
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "ns"},
                "spec": {"ingressClassName": "nginx", "tls": [{"secretName": "app"}]}}),
            ),
        ];
        let refs: Vec<String> = references(&set)
            .iter()
            .map(|r| format!("{} {:?} {} {:?}", r.kind, r.namespace, r.name, r.key))
            .collect();
        assert_eq!(
            refs,
            [
                "IngressClass None nginx None",
                "Secret Some(\"ns\") outside Some(\"b\")",
                "ServiceAccount Some(\"ns\") runner None",
                "image pull Secret Some(\"ns\") regcred None",
            ]
        );
    }

    #[test]
    fn a_missing_object_says_how_to_create_it() {
        let m = MissingObject {
            kind: "Secret",
            namespace: Some("kube-system".into()),
            name: "cluster-autoscaler-azure".into(),
            key: Some("SubscriptionID".into()),
            needed_by: "Deployment/cluster-autoscaler".into(),
        };
        assert_eq!(
            m.to_string(),
            "Secret kube-system/cluster-autoscaler-azure (key `SubscriptionID`), needed by Deployment/cluster-autoscaler: \
             create it with `kubectl -n kube-system create secret generic cluster-autoscaler-azure --from-literal=SubscriptionID=…`"
        );
    }
}
