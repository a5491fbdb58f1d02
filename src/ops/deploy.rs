//! Deploying a release: connect, key the secret digests with the
//! environment's key, decide what the change contains, and run it through
//! the [`Pipeline`].

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::render::{Manifest, Phase};
use crate::settings::DeploySettings;

use super::connect::{check_cluster, connect_reporting};
use super::pipeline::{DeployReport, MigrationPolicy, Pipeline, ReleaseChange};
use super::shared::{ReportError, environment_key, vpa_missing, warn_skipped};
use super::{Confirmer, DeployReporter};
use crate::cluster::kinds::ServedKinds;

/// Deploys `settings.release` and returns the report with how it ended.
pub async fn deploy(
    settings: &DeploySettings,
    reporter: &dyn DeployReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: Stop,
) -> (DeployReport, Result<ExitStatus, Failure>) {
    let env = &settings.release.env;
    let conn = match connect_reporting(env, &settings.access, reporter).await {
        Ok(conn) => conn,
        Err(failure) => return failed_before_start(settings, failure),
    };
    // Connect's follow-ups are reads that do not depend on each other: the
    // cluster's claim, the digest key, whether the namespace exists and
    // discovery (every group/version the release uses, the optional VPA's
    // among them) go at once. Their
    // words come in the order they always did: the claim's, then the VPA's.
    let kinds = ServedKinds::new(&conn.client);
    let (checked, skip_vpa, key, namespace_missing) = tokio::join!(
        check_cluster(&conn, env, settings.access.allow_other_cluster, reporter),
        async {
            let _ = kinds
                .prefetch(
                    settings
                        .selected
                        .iter()
                        .chain(
                            settings
                                .release
                                .manifests
                                .iter()
                                .filter(|m| m.phase() == Phase::Migration),
                        )
                        .map(Manifest::api_version),
                )
                .await;
            vpa_missing(&kinds, &settings.selected).await
        },
        environment_key(&conn.client, &env.namespace.name),
        namespace_missing(&conn.client, &env.namespace.name),
    );
    let pending_claim = match checked {
        Ok(pending) => pending,
        Err(failure) => return failed_before_start(settings, failure),
    };
    let skip_kinds = warn_skipped(skip_vpa, reporter);
    let (key, key_stored) = match key {
        Ok(found) => found,
        Err(failure) => return failed_before_start(settings, failure),
    };
    let mut release = settings.release.clone();
    release.key_digests(&key);
    let selected: Vec<Manifest> = match release.select(&settings.only) {
        Ok(selected) => selected.into_iter().cloned().collect(),
        Err(message) => return failed_before_start(settings, Failure::invalid(message)),
    };
    let job = release
        .manifests
        .iter()
        .find(|m| m.phase() == Phase::Migration)
        .cloned();
    // The Job runs when it is due, even under `--only api-gateway`: the new
    // images must not start on the old schema.
    let rolls_an_app = selected
        .iter()
        .any(|m| m.kind() == "Deployment" && env.services.iter().any(|(name, _)| name == m.name()));
    let job_selected = selected.iter().any(|m| m.phase() == Phase::Migration);
    let migration = match job {
        Some(job) if job_selected || rolls_an_app => MigrationPolicy::WhenVersionChanges {
            job,
            skip: settings.skip_migrations,
            check: settings.migration_check,
        },
        _ => MigrationPolicy::Never,
    };
    // A dry run without secret values: their Secrets are shown as unknown.
    let missing = release.secrets.missing();
    let (unknown_secrets, manifests): (Vec<Manifest>, Vec<Manifest>) = selected
        .into_iter()
        .filter(|m| m.phase() != Phase::Migration)
        .partition(|m| {
            settings.change.dry_run && m.is_secret() && m.object.to_string().contains("<unset: ")
        });
    if !unknown_secrets.is_empty() && !missing.is_empty() {
        reporter.warn(&format!(
            "secret values not given ({}): the plan cannot tell whether {} change",
            missing.join(", "),
            unknown_secrets
                .iter()
                .map(Manifest::display)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let change = ReleaseChange {
        version: release.version.clone(),
        description: format!("deploy {}", release.version),
        manifests,
        migration,
        full_set: release.manifests.clone(),
        components: (!settings.only.is_empty()).then(|| settings.only.clone()),
        rolled_back_from: None,
        unknown_secrets,
        canary: settings.canary.clone(),
    };
    let pipeline = Pipeline {
        held: Default::default(),
        pending_claim,
        namespace_missing,
        env,
        conn: &conn,
        settings: &settings.change,
        force_conflicts: settings.force_conflicts,
        skip_kinds,
        key,
        key_stored,
        kinds,
        redactor: redactor.clone(),
        reporter,
        confirmer,
        stop,
    };
    pipeline.run(change).await
}

fn failed_before_start(
    settings: &DeploySettings,
    failure: Failure,
) -> (DeployReport, Result<ExitStatus, Failure>) {
    let report = DeployReport {
        environment: settings.release.env.name.clone(),
        namespace: settings.release.env.namespace.name.clone(),
        version: settings.release.version.clone(),
        dry_run: settings.change.dry_run,
        outcome: super::pipeline::outcome_of(failure.status),
        error: Some(ReportError::from(&failure)),
        ..DeployReport::default()
    };
    (report, Err(failure))
}

/// Whether `namespace` is known not to exist (a first deploy). Any
/// failure to find out (e.g. no right to read namespaces) counts as no.
async fn namespace_missing(client: &kube::Client, namespace: &str) -> bool {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    matches!(namespaces.get_opt(namespace).await, Ok(None))
}
