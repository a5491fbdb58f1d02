//! Prune: finding the objects fintechctl created for an environment that the
//! new render no longer contains, and deleting them (after a successful
//! rollout, never before — the caller decides when).
//!
//! Ownership is the two labels every rendered object carries
//! (`app.kubernetes.io/managed-by=fintechctl`, `fintechctl.io/environment`).
//! The label selector narrows the lists; the labels are checked again on
//! every listed object, and once more right before a delete, so an object
//! fintechctl does not own is never touched even when a server (or a
//! simulator) ignores part of a selector.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Preconditions};
use kube::core::ApiResource;

use super::kinds::ServedKinds;
use kube::discovery::{ApiCapabilities, Scope};
use serde::Serialize;

use crate::cluster::{lock, records};
use crate::render::schema::KNOWN_KINDS;
use crate::render::{Manifest, Phase, labels};

/// Lists in flight at once.
const MAX_IN_FLIGHT: usize = 64;

/// An object fintechctl manages for an environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// `app.kubernetes.io/component`.
    pub component: Option<String>,
}

impl OwnedObject {
    /// `Kind/name`, the way kubectl names an object.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// `Kind/name in namespace`, for messages where the namespace matters.
    fn located(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} in {ns}", self.display()),
            None => self.display(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(
        "discovering the kinds of {api_version}: {}",
        crate::cluster::api_message(source)
    )]
    Discovery {
        api_version: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "listing the {kind} objects of environment {environment} in {scope}: {}",
        crate::cluster::api_message(source)
    )]
    List {
        kind: String,
        environment: String,
        /// `namespace fintech-ai-prod` or `the cluster`.
        scope: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Some objects could not be deleted; the others were.
    #[error(
        "{} of {} objects could not be pruned: {}",
        failures.len(),
        failures.len() + deleted.len(),
        failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Delete {
        deleted: Vec<OwnedObject>,
        failures: Vec<DeleteFailure>,
    },
}

/// One object [`prune`] did not delete, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", object.located())]
pub struct DeleteFailure {
    pub object: OwnedObject,
    #[source]
    pub reason: DeleteFailureReason,
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteFailureReason {
    #[error("the API server does not serve {api_version} {kind}")]
    NotServed { api_version: String, kind: String },
    /// One discovery failure, shared by every object of its apiVersion.
    #[error("discovering {api_version}: {}", crate::cluster::api_message(source))]
    Discovery {
        api_version: String,
        #[source]
        source: Arc<kube::Error>,
    },
    /// Relabelled or adopted since it was listed: left alone.
    #[error("no longer managed by fintechctl alone ({0}); left in place")]
    NoLongerOwned(String),
    #[error("{action}: {}", crate::cluster::api_message(source))]
    Api {
        /// `reading the live object`, `deleting`.
        action: &'static str,
        #[source]
        source: Box<kube::Error>,
    },
}

/// The resources of one apiVersion, or why they could not be discovered.
type Discovered = Result<Vec<(ApiResource, ApiCapabilities)>, Arc<kube::Error>>;

/// A kind the API server serves, and how to address it.
#[derive(Debug, Clone)]
struct ServedKind {
    api_version: String,
    resource: ApiResource,
    namespaced: bool,
}

/// The objects labelled as fintechctl's for `environment` in `namespaces`
/// (namespaced kinds) and in the cluster (cluster-scoped kinds) that
/// `rendered` no longer contains, sorted by namespace, kind and name.
///
/// With `components` (a `--only` deploy) only objects of those components
/// are candidates: the rest of the environment was not rendered.
///
/// Never returned: the Namespace, objects being deleted, objects owned by
/// another object (their owner's deletion takes them), release records and
/// the deploy lock.
pub async fn find_prunable(
    client: &kube::Client,
    environment: &str,
    namespaces: &[String],
    rendered: &[Manifest],
    components: Option<&[String]>,
) -> Result<Vec<OwnedObject>, PruneError> {
    find_prunable_in(
        &ServedKinds::new(client),
        client,
        environment,
        namespaces,
        rendered,
        components,
    )
    .await
}

/// [`find_prunable`] with the run's discovery cache.
pub async fn find_prunable_in(
    served: &ServedKinds,
    client: &kube::Client,
    environment: &str,
    namespaces: &[String],
    rendered: &[Manifest],
    components: Option<&[String]>,
) -> Result<Vec<OwnedObject>, PruneError> {
    let kinds = served_kinds(served).await?;
    let selector = labels::owned_selector(environment);

    // One list per (kind, namespace), or per kind for cluster-scoped kinds.
    let mut lists: Vec<(ServedKind, Option<String>)> = Vec::new();
    for kind in kinds {
        if kind.namespaced {
            let mut seen = BTreeSet::new();
            for ns in namespaces.iter().filter(|ns| seen.insert(ns.as_str())) {
                lists.push((kind.clone(), Some(ns.clone())));
            }
        } else {
            lists.push((kind, None));
        }
    }
    let results: Vec<Result<Vec<DynamicObject>, PruneError>> = futures::stream::iter(lists)
        .map(|(kind, namespace)| {
            let client = client.clone();
            let params = ListParams::default().labels(&selector);
            async move {
                let api: Api<DynamicObject> = match &namespace {
                    Some(ns) => Api::namespaced_with(client, ns, &kind.resource),
                    None => Api::all_with(client, &kind.resource),
                };
                let listed = api.list(&params).await.map_err(|source| PruneError::List {
                    kind: kind.resource.kind.clone(),
                    environment: environment.to_string(),
                    scope: match &namespace {
                        Some(ns) => format!("namespace {ns}"),
                        None => "the cluster".to_string(),
                    },
                    source: Box::new(source),
                })?;
                Ok(listed
                    .items
                    .into_iter()
                    .map(|mut object| {
                        // Lists leave apiVersion/kind out of the items.
                        object.types = Some(kube::core::TypeMeta {
                            api_version: kind.api_version.clone(),
                            kind: kind.resource.kind.clone(),
                        });
                        if !kind.namespaced {
                            object.metadata.namespace = None;
                        }
                        object
                    })
                    .collect())
            }
        })
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await;

    let rendered_keys: HashSet<ObjectKey> = rendered
        .iter()
        .map(|m| {
            ObjectKey::new(
                m.api_version(),
                m.kind(),
                m.namespace().filter(|_| !is_cluster_scoped(m.kind())),
                m.name(),
            )
        })
        .collect();

    let mut prunable = BTreeSet::new();
    for listed in results {
        for object in listed? {
            let Some(candidate) = candidate(&object, environment, components) else {
                continue;
            };
            let key = ObjectKey::new(
                &candidate.api_version,
                &candidate.kind,
                candidate.namespace.as_deref(),
                &candidate.name,
            );
            if !rendered_keys.contains(&key) {
                prunable.insert(candidate);
            }
        }
    }
    Ok(prunable.into_iter().collect())
}

/// Delete `objects` (background propagation), the last apply phase first so
/// nothing is left referring to a deleted object. An object already gone
/// counts as deleted. Every object is tried; all failures are reported at
/// once in [`PruneError::Delete`]. Returns the deleted objects.
pub async fn prune(
    client: &kube::Client,
    objects: &[OwnedObject],
) -> Result<Vec<OwnedObject>, PruneError> {
    prune_in(&ServedKinds::new(client), client, objects).await
}

/// [`prune`] with the run's discovery cache.
pub async fn prune_in(
    served: &ServedKinds,
    client: &kube::Client,
    objects: &[OwnedObject],
) -> Result<Vec<OwnedObject>, PruneError> {
    let api_versions: BTreeSet<&str> = objects.iter().map(|o| o.api_version.as_str()).collect();
    let mut discovered: BTreeMap<String, Discovered> = BTreeMap::new();
    for api_version in api_versions {
        discovered.insert(
            api_version.to_string(),
            served
                .resources(api_version)
                .await
                .map(Option::unwrap_or_default)
                .map_err(Arc::new),
        );
    }

    let mut ordered: Vec<&OwnedObject> = objects.iter().collect();
    ordered.sort_by_key(|o| std::cmp::Reverse(Phase::of_kind(&o.kind)));

    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for object in ordered {
        let resource = match &discovered[&object.api_version] {
            Err(e) => Err(DeleteFailureReason::Discovery {
                api_version: object.api_version.clone(),
                source: e.clone(),
            }),
            Ok(resources) => resources
                .iter()
                .find(|(ar, _)| ar.kind == object.kind)
                .map(|(ar, caps)| (ar.clone(), matches!(caps.scope, Scope::Namespaced)))
                .ok_or_else(|| DeleteFailureReason::NotServed {
                    api_version: object.api_version.clone(),
                    kind: object.kind.clone(),
                }),
        };
        let outcome = match resource {
            Ok((resource, namespaced)) => {
                let api: Api<DynamicObject> = match (&object.namespace, namespaced) {
                    (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &resource),
                    _ => Api::all_with(client.clone(), &resource),
                };
                delete_owned(&api, &object.name).await
            }
            Err(reason) => Err(reason),
        };
        match outcome {
            Ok(()) => deleted.push(object.clone()),
            Err(reason) => failures.push(DeleteFailure {
                object: object.clone(),
                reason,
            }),
        }
    }
    if failures.is_empty() {
        Ok(deleted)
    } else {
        Err(PruneError::Delete { deleted, failures })
    }
}

/// Delete one object if it is still fintechctl's: read it, check the
/// ownership label and owner references again, then delete exactly that
/// object (uid precondition), so an object replaced in the meantime by
/// someone else's is never deleted.
async fn delete_owned(api: &Api<DynamicObject>, name: &str) -> Result<(), DeleteFailureReason> {
    let live = api
        .get_opt(name)
        .await
        .map_err(|source| DeleteFailureReason::Api {
            action: "reading the live object",
            source: Box::new(source),
        })?;
    let Some(live) = live else {
        return Ok(());
    };
    if let Some(why) = not_owned_reason(&live) {
        return Err(DeleteFailureReason::NoLongerOwned(why));
    }
    let mut params = DeleteParams::background();
    params.preconditions = live.metadata.uid.clone().map(|uid| Preconditions {
        uid: Some(uid),
        resource_version: None,
    });
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(DeleteFailureReason::Api {
            action: "deleting",
            source: Box::new(source),
        }),
    }
}

/// Why a live object is not (or no longer) fintechctl's to delete.
fn not_owned_reason(object: &DynamicObject) -> Option<String> {
    let labels = object.metadata.labels.as_ref();
    if labels
        .and_then(|l| l.get(labels::MANAGED_BY))
        .map(String::as_str)
        != Some(labels::MANAGER)
    {
        return Some(format!(
            "label {} is not {}",
            labels::MANAGED_BY,
            labels::MANAGER
        ));
    }
    if let Some(owner) = object.metadata.owner_references.iter().flatten().next() {
        return Some(format!("owned by {}/{}", owner.kind, owner.name));
    }
    None
}

/// Every kind fintechctl renders that the server serves, except the
/// Namespace (pruning it would delete everything in it).
async fn served_kinds(served: &ServedKinds) -> Result<Vec<ServedKind>, PruneError> {
    served
        .prefetch(KNOWN_KINDS.iter().map(|(v, _)| *v))
        .await
        .map_err(|(api_version, source)| PruneError::Discovery {
            api_version,
            source: Box::new(source),
        })?;
    let mut kinds = Vec::new();
    for (api_version, kind) in KNOWN_KINDS.iter().filter(|(_, kind)| *kind != "Namespace") {
        if let Ok(Some(found)) = served.find(api_version, kind).await {
            kinds.push(ServedKind {
                api_version: api_version.to_string(),
                resource: found.resource,
                namespaced: found.namespaced,
            });
        }
    }
    Ok(kinds)
}

/// Cluster-scoped kinds among those fintechctl renders (a rendered manifest
/// of these kinds may still carry a stray `metadata.namespace`).
fn is_cluster_scoped(kind: &str) -> bool {
    matches!(kind, "Namespace" | "ClusterRole" | "ClusterRoleBinding")
}

/// What identifies an object across API versions of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ObjectKey {
    group: String,
    kind: String,
    namespace: String,
    name: String,
}

impl ObjectKey {
    fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        let group = api_version
            .rsplit_once('/')
            .map(|(group, _)| group)
            .unwrap_or("");
        Self {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.unwrap_or("").to_string(),
            name: name.to_string(),
        }
    }
}

/// The listed object as a prune candidate, or `None` when it must never be
/// pruned: not labelled for this environment, outside `components`, being
/// deleted, owned by another object, a release record or the deploy lock.
fn candidate(
    object: &DynamicObject,
    environment: &str,
    components: Option<&[String]>,
) -> Option<OwnedObject> {
    let types = object.types.as_ref()?;
    let meta = &object.metadata;
    let name = meta.name.clone()?;
    let labels = meta.labels.as_ref()?;
    let label = |key: &str| labels.get(key).map(String::as_str);
    if label(labels::MANAGED_BY) != Some(labels::MANAGER)
        || label(labels::ENVIRONMENT) != Some(environment)
    {
        return None;
    }
    let component = label(labels::COMPONENT).map(str::to_string);
    if let Some(components) = components
        && !component
            .as_ref()
            .is_some_and(|c| components.iter().any(|wanted| wanted == c))
    {
        return None;
    }
    if types.kind == "Namespace"
        || meta.deletion_timestamp.is_some()
        || meta
            .owner_references
            .as_ref()
            .is_some_and(|o| !o.is_empty())
    {
        return None;
    }
    // Release records are Secrets today; the label marks one of any kind.
    let is_record = labels.contains_key(records::REVISION_LABEL)
        || (types.kind == "Secret" && object.data["type"].as_str() == Some(records::RECORD_TYPE));
    let is_lock = types.kind == "Lease" && name == lock::LEASE_NAME;
    // A backup's or restore's toolbox pod and NetworkPolicy: removed by the
    // run that created it (or swept by the next one), never by a deploy.
    let is_toolbox = labels.contains_key(crate::render::labels::TOOLBOX);
    // A canary's objects: removed by its run, `abort` or the next deploy.
    let is_canary = labels.contains_key(crate::canary::objects::CANARY_LABEL);
    if is_record || is_lock || is_toolbox || is_canary {
        return None;
    }
    Some(OwnedObject {
        api_version: types.api_version.clone(),
        kind: types.kind.clone(),
        name,
        namespace: meta.namespace.clone(),
        component,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ENV: &str = "staging";

    fn object(value: Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    fn owned_labels(component: &str) -> Value {
        json!({
            labels::MANAGED_BY: labels::MANAGER,
            labels::ENVIRONMENT: ENV,
            labels::COMPONENT: component,
        })
    }

    fn config_map(name: &str, labels: Value) -> DynamicObject {
        object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "fintech-ai-staging", "labels": labels},
        }))
    }

    #[test]
    fn only_objects_with_both_labels_for_the_environment_are_candidates() {
        let owned = candidate(&config_map("a", owned_labels("api")), ENV, None).unwrap();
        assert_eq!(owned.display(), "ConfigMap/a");
        assert_eq!(owned.component.as_deref(), Some("api"));
        assert_eq!(owned.namespace.as_deref(), Some("fintech-ai-staging"));

        let no_manager = json!({labels::ENVIRONMENT: ENV});
        assert!(candidate(&config_map("b", no_manager), ENV, None).is_none());
        let no_env = json!({labels::MANAGED_BY: labels::MANAGER});
        assert!(candidate(&config_map("c", no_env), ENV, None).is_none());
        let other_env =
            json!({labels::MANAGED_BY: labels::MANAGER, labels::ENVIRONMENT: "production"});
        assert!(candidate(&config_map("d", other_env), ENV, None).is_none());
        let other_manager = json!({labels::MANAGED_BY: "helm", labels::ENVIRONMENT: ENV});
        assert!(candidate(&config_map("e", other_manager), ENV, None).is_none());
        let unlabelled =
            object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f"}}));
        assert!(candidate(&unlabelled, ENV, None).is_none());
    }

    #[test]
    fn components_limit_the_candidates() {
        let api = config_map("a", owned_labels("api"));
        let only = ["ml".to_string()];
        assert!(candidate(&api, ENV, Some(&only)).is_none());
        let only = ["ml".to_string(), "api".to_string()];
        assert!(candidate(&api, ENV, Some(&only)).is_some());
        let no_component = config_map(
            "b",
            json!({labels::MANAGED_BY: labels::MANAGER, labels::ENVIRONMENT: ENV}),
        );
        assert!(candidate(&no_component, ENV, Some(&only)).is_none());
        assert!(candidate(&no_component, ENV, None).is_some());
    }

    #[test]
    fn namespace_deleting_owned_records_and_lock_are_never_candidates() {
        let labels = owned_labels("platform");
        let namespace = object(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "fintech-ai-staging", "labels": labels}}));
        assert!(candidate(&namespace, ENV, None).is_none());

        let deleting = object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "n", "labels": labels,
                         "deletionTimestamp": "2026-01-01T00:00:00Z"}}));
        assert!(candidate(&deleting, ENV, None).is_none());

        let replica_set = object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "api-5d9", "namespace": "n", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "api", "uid": "u1"}]}}));
        assert!(candidate(&replica_set, ENV, None).is_none());
        assert_eq!(
            not_owned_reason(&replica_set).as_deref(),
            Some("owned by Deployment/api")
        );

        let mut record_labels = labels.clone();
        record_labels[records::REVISION_LABEL] = json!("3");
        let record = object(
            json!({"apiVersion": "v1", "kind": "Secret", "type": records::RECORD_TYPE,
            "metadata": {"name": "fintechctl-release-3", "namespace": "n", "labels": record_labels}}),
        );
        assert!(candidate(&record, ENV, None).is_none());
        let typed_record = object(
            json!({"apiVersion": "v1", "kind": "Secret", "type": records::RECORD_TYPE,
            "metadata": {"name": "r", "namespace": "n", "labels": labels}}),
        );
        assert!(candidate(&typed_record, ENV, None).is_none());
        let plain_secret = object(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "old-creds", "namespace": "n", "labels": labels}}),
        );
        assert!(candidate(&plain_secret, ENV, None).is_some());

        let lease = object(
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": lock::LEASE_NAME, "namespace": "n", "labels": labels}}),
        );
        assert!(candidate(&lease, ENV, None).is_none());
    }

    #[test]
    fn keys_match_across_versions_of_a_group_but_not_across_groups() {
        let a = ObjectKey::new("autoscaling/v2", "HorizontalPodAutoscaler", Some("n"), "x");
        let b = ObjectKey::new("autoscaling/v1", "HorizontalPodAutoscaler", Some("n"), "x");
        assert_eq!(a, b);
        let c = ObjectKey::new(
            "autoscaling.k8s.io/v1",
            "HorizontalPodAutoscaler",
            Some("n"),
            "x",
        );
        assert_ne!(a, c);
        assert_eq!(ObjectKey::new("v1", "ConfigMap", None, "x").group, "");
        assert_ne!(
            ObjectKey::new("v1", "ConfigMap", Some("a"), "x"),
            ObjectKey::new("v1", "ConfigMap", Some("b"), "x")
        );
    }

    #[test]
    fn a_delete_failure_names_the_object_and_its_namespace() {
        let error = PruneError::Delete {
            deleted: vec![],
            failures: vec![DeleteFailure {
                object: OwnedObject {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: "old".into(),
                    namespace: Some("fintech-ai-prod".into()),
                    component: None,
                },
                reason: DeleteFailureReason::NoLongerOwned("label x is not y".into()),
            }],
        };
        assert_eq!(
            error.to_string(),
            "1 of 1 objects could not be pruned: ConfigMap/old in fintech-ai-prod: no longer managed by fintechctl alone (label x is not y); left in place"
        );
    }
}
