//! Gathering the evidence: the failing workloads' pods for a deploy, the
//! whole namespace for `debug bundle`. Never fails; every request is
//! bounded so a slow API server cannot hold up the rollback.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

use super::describe::{describe_pod, event_line};
use super::{
    BUNDLE_EVENTS, BUNDLE_LOG_LINES, ContainerLogs, DebugBundle, NEWEST_PODS, ObjectList,
    PodEvidence, mask_object,
};
use crate::cluster::diagnosis::FailureCard;
use crate::cluster::{events, logs};

/// Collect the evidence of `failures` in `namespace`. Never fails.
pub async fn collect(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    version: &str,
    revision: Option<u32>,
    failures: &[FailureCard],
) -> DebugBundle {
    let now = Timestamp::now();
    let created_at = Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string();
    let mut missing = Vec::new();

    // The pods named in the cards, then each pod-less card's newest pods.
    let mut pod_names: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for card in failures {
        let names = match &card.pod {
            Some(pod) => vec![pod.clone()],
            None => match newest_pods(client, namespace, &card.workload).await {
                Ok(names) => names,
                Err(why) => {
                    missing.push(format!("pods of {}: {why}", card.workload));
                    Vec::new()
                }
            },
        };
        pod_names.extend(names.into_iter().filter(|n| seen.insert(n.clone())));
    }

    let pods = futures::future::join_all(
        pod_names
            .iter()
            .map(|name| pod_evidence(client, namespace, name)),
    )
    .await;
    let mut evidence = Vec::new();
    for (pod, pod_missing) in pods {
        evidence.push(pod);
        missing.extend(pod_missing);
    }

    let mut workload_events = Vec::new();
    let workloads: BTreeSet<&str> = failures.iter().map(|c| c.workload.as_str()).collect();
    for workload in workloads {
        match workload_event_lines(client, namespace, workload).await {
            Ok(lines) => workload_events.extend(lines),
            Err(why) => missing.push(format!("events of {workload}: {why}")),
        }
    }

    DebugBundle {
        environment: environment.to_string(),
        namespace: namespace.to_string(),
        created_at,
        revision,
        version: version.to_string(),
        failures: failures.to_vec(),
        pods: evidence,
        workload_events,
        missing,
        ..DebugBundle::default()
    }
}

/// The resources `debug bundle` lists: (group, version, kind, plural,
/// namespaced).
const RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("apps", "v1", "Deployment", "deployments", true),
    ("apps", "v1", "StatefulSet", "statefulsets", true),
    ("apps", "v1", "ReplicaSet", "replicasets", true),
    ("batch", "v1", "Job", "jobs", true),
    ("", "v1", "Service", "services", true),
    ("", "v1", "Endpoints", "endpoints", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("", "v1", "ResourceQuota", "resourcequotas", true),
    ("", "v1", "LimitRange", "limitranges", true),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("", "v1", "Node", "nodes", false),
];

/// Everything `debug bundle` collects from the cluster: the pods matching
/// `selectors` (namespace, label selector) with their describe text, logs
/// (current and previous) and events; the namespace's events and objects.
/// Never fails: what cannot be fetched is listed in `missing`.
pub async fn collect_environment(
    client: &kube::Client,
    environment: &str,
    namespace: &str,
    selectors: &[(String, String)],
) -> DebugBundle {
    let now = Timestamp::now();
    let mut bundle = DebugBundle {
        environment: environment.to_string(),
        namespace: namespace.to_string(),
        created_at: Timestamp::from_second(now.as_second())
            .unwrap_or(now)
            .to_string(),
        ..DebugBundle::default()
    };
    let mut pods: Vec<(String, String)> = Vec::new();
    for (ns, selector) in selectors {
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        match bounded(api.list(&ListParams::default().labels(selector))).await {
            Ok(list) => pods.extend(
                list.items
                    .into_iter()
                    .filter_map(|p| p.metadata.name)
                    .map(|name| (ns.clone(), name)),
            ),
            Err(e) => bundle.missing.push(format!("pods {selector} in {ns}: {e}")),
        }
    }
    let evidence =
        futures::future::join_all(pods.iter().map(|(ns, name)| pod_evidence(client, ns, name)))
            .await;
    for (pod, missing) in evidence {
        bundle.pods.push(pod);
        bundle.missing.extend(missing);
    }
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    match bounded(events.list(&ListParams::default())).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(events::last_seen);
            bundle.events = items
                .iter()
                .map(|e| {
                    format!(
                        "{}/{} {}",
                        e.involved_object.kind.as_deref().unwrap_or(""),
                        e.involved_object.name.as_deref().unwrap_or(""),
                        event_line(e)
                    )
                })
                .collect();
        }
        Err(e) => bundle.missing.push(format!("events of {namespace}: {e}")),
    }
    let lists = futures::future::join_all(RESOURCES.iter().map(
        |&(group, version, kind, plural, namespaced)| async move {
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(client.clone(), namespace, &resource)
            } else {
                Api::all_with(client.clone(), &resource)
            };
            (
                plural,
                resource,
                bounded(api.list(&ListParams::default())).await,
            )
        },
    ))
    .await;
    for (plural, resource, listed) in lists {
        match listed {
            Ok(list) => {
                let items: Vec<Value> = list
                    .items
                    .into_iter()
                    .map(|item| {
                        let mut value = serde_json::to_value(&item).unwrap_or(Value::Null);
                        if let Some(map) = value.as_object_mut() {
                            // List items come without their kind: masking needs it.
                            map.insert("apiVersion".into(), resource.api_version.clone().into());
                            map.insert("kind".into(), resource.kind.clone().into());
                        }
                        mask_object(&mut value);
                        value
                    })
                    .collect();
                bundle.objects.push(ObjectList {
                    resource: plural.to_string(),
                    list: serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}),
                });
            }
            Err(e) => bundle.missing.push(format!("{plural}: {e}")),
        }
    }
    bundle
}

/// The events about `kind`/`name` (any kind when empty), oldest first, at
/// most the last [`BUNDLE_EVENTS`].
async fn event_lines(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<String>, FetchError> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let mut listed = bounded(api.list(&params)).await?.items;
    listed.retain(|e| {
        e.involved_object.name.as_deref() == Some(name)
            && (kind.is_empty() || e.involved_object.kind.as_deref() == Some(kind))
    });
    listed.sort_by_key(events::last_seen);
    let skip = listed.len().saturating_sub(BUNDLE_EVENTS);
    Ok(listed.iter().skip(skip).map(event_line).collect())
}

/// One pod's evidence, and what could not be fetched of it.
async fn pod_evidence(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> (PodEvidence, Vec<String>) {
    let mut missing = Vec::new();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = match bounded(api.get_opt(name)).await {
        Ok(Some(pod)) => Some(pod),
        Ok(None) => {
            missing.push(format!(
                "pod {name}: not found (deleted before the bundle was collected)"
            ));
            None
        }
        Err(e) => {
            missing.push(format!("pod {name}: reading it: {e}"));
            None
        }
    };

    let mut container_logs = Vec::new();
    if let Some(pod) = &pod {
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let containers = spec
            .into_iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers));
        let statuses: Vec<&ContainerStatus> = status
            .into_iter()
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .collect();
        for container in containers {
            let cname = container.name.as_str();
            let status = statuses.iter().find(|s| s.name == cname);
            let current = match bounded(logs::last_lines(
                client,
                namespace,
                name,
                Some(cname),
                false,
                BUNDLE_LOG_LINES,
            ))
            .await
            {
                Ok(lines) => Some(lines.join("\n")),
                Err(e) => {
                    missing.push(format!("pod {name}: log of container {cname}: {e}"));
                    None
                }
            };
            let restarted = status.is_some_and(|s| {
                s.restart_count > 0
                    || s.last_state
                        .as_ref()
                        .is_some_and(|l| l.terminated.is_some())
            });
            let previous = if restarted {
                match bounded(logs::last_lines(
                    client,
                    namespace,
                    name,
                    Some(cname),
                    true,
                    BUNDLE_LOG_LINES,
                ))
                .await
                {
                    Ok(lines) => Some(lines.join("\n")),
                    Err(e) => {
                        missing.push(format!(
                            "pod {name}: previous log of container {cname}: {e}"
                        ));
                        None
                    }
                }
            } else {
                None
            };
            container_logs.push(ContainerLogs {
                container: cname.to_string(),
                current,
                previous,
            });
        }
    }

    let pod_events = match event_lines(client, namespace, "Pod", name).await {
        Ok(lines) => lines,
        Err(e) => {
            missing.push(format!("pod {name}: events: {e}"));
            Vec::new()
        }
    };

    let (object, describe) = match &pod {
        Some(pod) => {
            let mut object = serde_json::to_value(pod).unwrap_or(Value::Null);
            if let Some(map) = object.as_object_mut() {
                map.entry("apiVersion").or_insert_with(|| "v1".into());
                map.entry("kind").or_insert_with(|| "Pod".into());
            }
            mask_object(&mut object);
            (object, describe_pod(pod))
        }
        None => (Value::Null, String::new()),
    };
    (
        PodEvidence {
            name: name.to_string(),
            object,
            describe,
            logs: container_logs,
            events: pod_events,
        },
        missing,
    )
}

/// Why the pods of a workload could not be found.
type Why = String;

/// The newest pods of `workload` (`Deployment/api-gateway`), found through
/// its selector.
async fn newest_pods(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
) -> Result<Vec<String>, Why> {
    let (kind, name) = workload
        .split_once('/')
        .ok_or_else(|| format!("`{workload}` is not Kind/name"))?;
    let selector = workload_selector(client, namespace, kind, name).await?;
    let selector = selector_string(&selector);
    if selector.is_empty() {
        return Err(format!("{workload} has an empty selector"));
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut pods = bounded(api.list(&ListParams::default().labels(&selector)))
        .await
        .map_err(|e| format!("listing pods with selector {selector}: {e}"))?
        .items;
    pods.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.clone()));
    Ok(pods
        .into_iter()
        .take(NEWEST_PODS)
        .filter_map(|p| p.metadata.name)
        .collect())
}

async fn workload_selector(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<LabelSelector, Why> {
    let read = |e: FetchError| format!("reading {kind}/{name}: {e}");
    let selector = match kind {
        "Deployment" => bounded(Api::<Deployment>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .map(|s| s.selector),
        "StatefulSet" => {
            bounded(Api::<StatefulSet>::namespaced(client.clone(), namespace).get(name))
                .await
                .map_err(read)?
                .spec
                .map(|s| s.selector)
        }
        "DaemonSet" => bounded(Api::<DaemonSet>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .map(|s| s.selector),
        "Job" => bounded(Api::<Job>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .and_then(|s| s.selector),
        other => return Err(format!("pods of a {other} are not looked up")),
    };
    selector.ok_or_else(|| format!("{kind}/{name} has no selector"))
}

/// How long one request for evidence may take: a slow API server must not
/// hold up the rollback the bundle is collected for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why one piece of evidence could not be fetched.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Api(#[from] kube::Error),
    #[error("no answer within {} s", REQUEST_TIMEOUT.as_secs())]
    TimedOut,
}

/// `request`, given up after [`REQUEST_TIMEOUT`].
async fn bounded<T>(
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, FetchError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(FetchError::TimedOut),
    }
}

/// A LabelSelector as the `labelSelector` query string.
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut terms: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.clone().unwrap_or_default().join(",");
        terms.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            _ => continue,
        });
    }
    terms.join(",")
}

/// The events of `workload`, and of a Deployment's ReplicaSets (where
/// FailedCreate, e.g. an exhausted quota, is reported).
async fn workload_event_lines(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
) -> Result<Vec<String>, Why> {
    let (kind, name) = workload
        .split_once('/')
        .ok_or_else(|| format!("`{workload}` is not Kind/name"))?;
    let mut objects = vec![(kind.to_string(), name.to_string())];
    if kind == "Deployment" {
        // Best effort: the Deployment's own events are still worth having.
        if let Ok(selector) = workload_selector(client, namespace, kind, name).await {
            let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
            if let Ok(list) =
                bounded(api.list(&ListParams::default().labels(&selector_string(&selector)))).await
            {
                let mut sets: Vec<ReplicaSet> = list
                    .items
                    .into_iter()
                    .filter(|rs| {
                        rs.metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|o| o.kind == "Deployment" && o.name == name)
                    })
                    .collect();
                sets.sort_by_key(|rs| std::cmp::Reverse(rs.metadata.creation_timestamp.clone()));
                objects.extend(
                    sets.into_iter()
                        .take(2)
                        .filter_map(|rs| rs.metadata.name)
                        .map(|n| ("ReplicaSet".to_string(), n)),
                );
            }
        }
    }
    let mut lines = Vec::new();
    for (kind, name) in objects {
        let found = event_lines(client, namespace, &kind, &name)
            .await
            .map_err(|e| format!("listing the events of {kind}/{name}: {e}"))?;
        lines.extend(
            found
                .into_iter()
                .map(|line| format!("{kind}/{name} {line}")),
        );
    }
    Ok(lines)
}
