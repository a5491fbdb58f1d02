//! What the operations share: the error a report ends with, the
//! environment's digest key, the optional kinds a cluster does not serve,
//! the live version, and the cluster's Secret values learned into the
//! redactor. (Connecting and the wrong-cluster rule are in
//! [`super::connect`].)

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::cluster::digest_key;
use crate::cluster::kinds::ServedKinds;
use crate::exit::Failure;
use crate::redact::{DigestKey, Redactor};
use crate::render::{Manifest, labels};

use super::Reporter;

/// The error a report ends with, for `-o json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportError {
    pub exit_code: i32,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl From<&Failure> for ReportError {
    fn from(failure: &Failure) -> Self {
        ReportError {
            exit_code: failure.status.code(),
            message: failure.message.clone(),
            details: failure.details.clone(),
        }
    }
}

impl From<Failure> for ReportError {
    fn from(failure: Failure) -> Self {
        ReportError {
            exit_code: failure.status.code(),
            message: failure.message,
            details: failure.details,
        }
    }
}

/// Teaches `redactor` the values of every Secret in `namespace` but
/// fintechctl's own records (their values are digests already).
pub async fn learn_secrets(
    client: &kube::Client,
    namespace: &str,
    redactor: &mut Redactor,
) -> Result<usize, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secrets = api.list(&ListParams::default()).await?.items;
    let mut learned = 0;
    for secret in secrets {
        if secret.type_.as_deref() == Some("fintechctl.io/release") {
            continue;
        }
        if let Ok(value) = serde_json::to_value(&secret) {
            redactor.learn_secret(&value);
            learned += 1;
        }
    }
    Ok(learned)
}

/// The environment's digest key and whether it is stored; a new one is
/// generated (and stored by the first write) when there is none.
pub async fn environment_key(
    client: &kube::Client,
    namespace: &str,
) -> Result<(DigestKey, bool), Failure> {
    match digest_key::read(client, namespace).await {
        Ok(Some(key)) => Ok((key, true)),
        Ok(None) => Ok((DigestKey::generate(), false)),
        Err(e) => Err(Failure::api(
            format!("reading the digest key Secret {}", digest_key::SECRET_NAME),
            &e,
        )),
    }
}

/// Kinds of optional CRDs the cluster does not serve (the VPA): warned
/// about and skipped.
pub async fn skipped_kinds(
    kinds: &ServedKinds,
    manifests: &[Manifest],
    reporter: &dyn Reporter,
) -> Vec<String> {
    warn_skipped(vpa_missing(kinds, manifests).await, reporter)
}

/// Whether `manifests` hold a VerticalPodAutoscaler the cluster does not serve.
pub(super) async fn vpa_missing(kinds: &ServedKinds, manifests: &[Manifest]) -> bool {
    manifests
        .iter()
        .any(|m| m.kind() == "VerticalPodAutoscaler")
        && !kinds
            .serves("autoscaling.k8s.io/v1", "VerticalPodAutoscaler")
            .await
}

/// [`skipped_kinds`]' warning and list, once it is known whether the VPA is missing.
pub(super) fn warn_skipped(vpa_missing: bool, reporter: &dyn Reporter) -> Vec<String> {
    let mut skip = Vec::new();
    if vpa_missing {
        reporter.warn(
            "the VerticalPodAutoscaler CRD is not installed in this cluster: skipping the VPA objects",
        );
        skip.push("VerticalPodAutoscaler".to_string());
    }
    skip
}

/// The live api-gateway Deployment; `None` when it does not exist. What
/// runs against the schema: its version and its image are read from it.
pub async fn live_api_gateway(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<Deployment>, Failure> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    deployments
        .get_opt("api-gateway")
        .await
        .map_err(|e| Failure::api("reading Deployment/api-gateway", &e))
}

/// The version label of the live api-gateway's pod template; `None` when
/// it does not exist.
pub async fn live_version(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<String>, Failure> {
    Ok(live_api_gateway(client, namespace).await?.and_then(|d| {
        d.spec?
            .template
            .metadata?
            .labels?
            .get(labels::VERSION)
            .cloned()
    }))
}
