//! `debug top`: every container of the environment's pods, its CPU and
//! memory use (metrics.k8s.io) against its requests and limits, those
//! closest to a limit first.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::{DebugReporter, connect, interrupted};
use crate::cluster::metrics::{self, ContainerUsage};
use crate::cluster::triage;
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::DebugSettings;

/// One container's row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopRow {
    pub component: String,
    #[serde(flatten)]
    pub usage: ContainerUsage,
    /// Memory at or above 90% of its limit.
    pub oom_risk: bool,
    /// CPU at or above 90% of its limit.
    pub throttling_candidate: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopReport {
    pub environment: String,
    pub namespace: String,
    /// Closest to a limit first.
    pub containers: Vec<TopRow>,
}

pub async fn top(
    settings: &DebugSettings,
    reporter: &dyn DebugReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<TopReport, Failure> {
    let work = async {
        let (conn, _) = connect(settings, reporter, redactor).await?;
        let env = &settings.env;
        let mut rows = Vec::new();
        for component in triage::components(env) {
            let api: Api<Pod> = Api::namespaced(conn.client.clone(), &component.namespace);
            let api_error = |e: kube::Error| {
                Failure::api(
                    format!("reading {} in {}", component.name, component.namespace),
                    &e,
                )
            };
            let pods = api
                .list(&ListParams::default().labels(&component.selector()))
                .await
                .map_err(api_error)?
                .items;
            if pods.is_empty() {
                continue;
            }
            let samples = metrics::pod_samples(&conn.client, &component.namespace)
                .await
                .map_err(|e| {
                    Failure::unreachable(format!(
                        "metrics.k8s.io does not answer ({}): is metrics-server installed?",
                        crate::cluster::api_message(&e)
                    ))
                })?;
            for pod in &pods {
                for usage in metrics::usage_of(pod, &samples) {
                    rows.push(TopRow {
                        component: component.name.clone(),
                        oom_risk: usage.oom_risk(),
                        throttling_candidate: usage.throttling_candidate(),
                        usage,
                    });
                }
            }
        }
        rows.sort_by(|a, b| {
            b.usage
                .pressure()
                .total_cmp(&a.usage.pressure())
                .then_with(|| a.usage.pod.cmp(&b.usage.pod))
                .then_with(|| a.usage.container.cmp(&b.usage.container))
        });
        Ok::<_, Failure>(TopReport {
            environment: env.name.clone(),
            namespace: env.namespace.name.clone(),
            containers: rows,
        })
    };
    tokio::select! {
        result = work => result,
        reason = stop.stopped() => Err(interrupted(reason)),
    }
}
