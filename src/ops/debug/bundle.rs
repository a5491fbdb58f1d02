//! `debug bundle`: everything the triage and the tools show, as one
//! `.tar.gz` for an incident, written by the same code as deploy's evidence.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use super::{DebugReporter, connect, interrupted, latest_revision};
use crate::cluster::{bundle, metrics, triage};
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::DebugSettings;

/// Where the bundle went and what is in it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleReport {
    pub environment: String,
    pub path: PathBuf,
    /// The bundle's files, below its directory.
    pub files: Vec<String>,
    /// What could not be collected, and why.
    pub missing: Vec<String>,
}

pub async fn bundle(
    settings: &DebugSettings,
    to: Option<&Path>,
    reporter: &dyn DebugReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<BundleReport, Failure> {
    // A target that cannot hold a bundle is bad input, said before connecting.
    if let Some(path) = to {
        bundle::check_target(path)
            .map_err(|reason| Failure::invalid(format!("--to {}: {reason}", path.display())))?;
    }
    let work = async {
        let (conn, redactor) = connect(settings, reporter, redactor).await?;
        let env = &settings.env;
        let latest = latest_revision(&conn, settings, &redactor, reporter).await;
        reporter.status(
            "Collecting",
            &format!("the evidence of {}", env.namespace.name),
        );
        let components = triage::components(env);
        let selectors: Vec<(String, String)> = components
            .iter()
            .map(|c| (c.namespace.clone(), c.selector()))
            .collect();
        let (found, mut collected, samples) = tokio::join!(
            triage::triage(
                &conn.client,
                env,
                None,
                latest.as_ref(),
                k8s_openapi::jiff::Timestamp::now()
            ),
            bundle::collect_environment(&conn.client, &env.name, &env.namespace.name, &selectors),
            metrics::pod_samples(&conn.client, &env.namespace.name),
        );
        match found {
            Ok(found) => {
                collected.failures = found
                    .components
                    .iter()
                    .filter_map(|c| c.card.as_ref().map(|card| card.failure.clone()))
                    .collect();
                collected.drift = found
                    .components
                    .iter()
                    .flat_map(|c| c.drift.iter().map(|d| format!("{}: {d}", c.workload)))
                    .collect();
                collected.version = found
                    .components
                    .iter()
                    .find_map(|c| c.version.clone())
                    .unwrap_or_default();
                collected.triage = serde_json::to_value(&found).ok();
            }
            Err(e) => collected
                .missing
                .push(format!("triage: {}", crate::cluster::api_message(&e))),
        }
        match samples {
            Ok(samples) => {
                collected.usage = collected
                    .pods
                    .iter()
                    .filter_map(|p| serde_json::from_value::<Pod>(p.object.clone()).ok())
                    .flat_map(|p| metrics::usage_of(&p, &samples))
                    .collect();
            }
            Err(e) => collected.missing.push(format!(
                "resource use (metrics.k8s.io): {}",
                crate::cluster::api_message(&e)
            )),
        }
        if let Some(record) = &latest {
            collected.revision = Some(record.revision);
            collected.release = Some(serde_json::Value::Array(record.manifests.clone()));
        }
        match crate::cluster::records::list(&conn.client, &env.namespace.name, &env.name).await {
            Ok(history) => {
                let revisions: Vec<serde_json::Value> = history
                    .records
                    .iter()
                    .map(|r| {
                        let mut v = serde_json::to_value(r).unwrap_or_default();
                        if let Some(map) = v.as_object_mut() {
                            map.remove("manifests");
                        }
                        v
                    })
                    .collect();
                collected.history = Some(serde_json::json!({
                    "revisions": revisions,
                    "unreadable": history.unreadable,
                }));
            }
            Err(e) => collected.missing.push(format!("release history: {e}")),
        }
        let files = bundle::layout(&collected, &redactor)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        let written = match to {
            Some(path) => bundle::write_to(&collected, path, &redactor),
            None => bundle::write(&collected, Path::new("."), &redactor),
        }
        .map_err(|e| Failure::failed(e.to_string()))?;
        for missing in &collected.missing {
            reporter.warn(&format!("not in the bundle: {missing}"));
        }
        Ok::<_, Failure>(BundleReport {
            environment: env.name.clone(),
            path: written,
            files,
            missing: collected.missing.clone(),
        })
    };
    tokio::select! {
        result = work => result,
        reason = stop.stopped() => Err(interrupted(reason)),
    }
}
