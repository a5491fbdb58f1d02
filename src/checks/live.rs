//! What the checks look at, read once per run: the namespace's workloads,
//! pods, Services, EndpointSlices, autoscalers, budgets and quotas, all
//! lists in parallel, each with the request deadline.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, ResourceQuota, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use crate::render::labels;

/// An API read that failed, naming what was read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("listing {what} in namespace {namespace}: {message}")]
    Api {
        what: &'static str,
        namespace: String,
        message: String,
    },
    #[error("listing {what} in namespace {namespace}: no answer within {}", crate::human::duration(*.after))]
    Timeout {
        what: &'static str,
        namespace: String,
        after: Duration,
    },
}

/// The namespace as the checks see it.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub namespace: String,
    pub environment: String,
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub slices: Vec<EndpointSlice>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub quotas: Vec<ResourceQuota>,
}

async fn list<K>(
    client: &kube::Client,
    namespace: &str,
    what: &'static str,
    deadline: Duration,
) -> Result<Vec<K>, LiveError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match tokio::time::timeout(deadline, api.list(&ListParams::default())).await {
        Ok(Ok(list)) => Ok(list.items),
        Ok(Err(e)) => Err(LiveError::Api {
            what,
            namespace: namespace.to_string(),
            message: crate::cluster::connect::describe_error(&e),
        }),
        Err(_) => Err(LiveError::Timeout {
            what,
            namespace: namespace.to_string(),
            after: deadline,
        }),
    }
}

impl Live {
    /// Reads everything at once; the first failure is returned.
    pub async fn read(
        client: &kube::Client,
        namespace: &str,
        environment: &str,
        deadline: Duration,
    ) -> Result<Live, LiveError> {
        let ns = namespace;
        let (deployments, statefulsets, pods, services, slices, hpas, pdbs, quotas) = tokio::try_join!(
            list::<Deployment>(client, ns, "Deployments", deadline),
            list::<StatefulSet>(client, ns, "StatefulSets", deadline),
            list::<Pod>(client, ns, "Pods", deadline),
            list::<Service>(client, ns, "Services", deadline),
            list::<EndpointSlice>(client, ns, "EndpointSlices", deadline),
            list::<HorizontalPodAutoscaler>(client, ns, "HorizontalPodAutoscalers", deadline),
            list::<PodDisruptionBudget>(client, ns, "PodDisruptionBudgets", deadline),
            list::<ResourceQuota>(client, ns, "ResourceQuotas", deadline),
        )?;
        Ok(Live {
            namespace: namespace.to_string(),
            environment: environment.to_string(),
            deployments,
            statefulsets,
            pods,
            services,
            slices,
            hpas,
            pdbs,
            quotas,
        })
    }

    /// Whether an object's labels say fintechctl manages it for this environment.
    pub fn managed(&self, meta: &kube::api::ObjectMeta) -> bool {
        let labels = meta.labels.as_ref();
        let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
        get(labels::MANAGED_BY) == Some(labels::MANAGER)
            && get(labels::ENVIRONMENT) == Some(self.environment.as_str())
    }

    pub fn managed_deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments
            .iter()
            .filter(|d| self.managed(&d.metadata))
    }

    pub fn managed_statefulsets(&self) -> impl Iterator<Item = &StatefulSet> {
        self.statefulsets
            .iter()
            .filter(|s| self.managed(&s.metadata))
    }

    pub fn managed_services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(|s| self.managed(&s.metadata))
    }

    /// Pods of long-running workloads: not those of Jobs or bare pods that
    /// run to completion (the migration).
    pub fn serving_pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.iter().filter(|p| {
            let owned_by_job = p
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "Job");
            let restart = p
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.as_deref())
                .unwrap_or("Always");
            !owned_by_job && restart == "Always" && p.metadata.deletion_timestamp.is_none()
        })
    }

    /// Pods whose labels match `selector` (a workload's or a Service's).
    pub fn pods_matching<'a>(
        &'a self,
        selector: &'a std::collections::BTreeMap<String, String>,
    ) -> impl Iterator<Item = &'a Pod> + 'a {
        self.serving_pods().filter(move |p| {
            !selector.is_empty()
                && selector.iter().all(|(k, v)| {
                    p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(k))
                        .is_some_and(|x| x == v)
                })
        })
    }
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn name_of(meta: &kube::api::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}
