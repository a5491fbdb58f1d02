//! `restore <env> ID`: a backup's checksums verified before anything is
//! touched (and its Secrets decrypted), the plan shown, the typed
//! confirmation on a protected environment, the deploy lock taken (a deploy
//! during a restore is refused, and vice versa), the writers (api-gateway,
//! ml-service) scaled to zero, the parts restored — PostgreSQL with
//! `pg_restore --clean --if-exists --single-transaction` through exec
//! stdin, Redis from its RDB, the objects with server-side apply — and the
//! writers put back to their previous counts, also on failure and on
//! Ctrl-C. Afterwards the restored alembic revision is compared with the
//! one the deployed version runs on.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::Serialize;

use crate::backup::id::BackupId;
use crate::backup::manifest::Manifest;
use crate::backup::store::Store;
use crate::backup::{PartKind, SECRETS_FILE, postgres, redis, redis_export, resources, stream};
use crate::cluster::connect::Connection;
use crate::cluster::lock::{self, LockError, LockHolder, LockOptions};
use crate::cluster::records::{ReleaseHistory, ReleaseRecord, ReleaseStatus};
use crate::environment::{Environment, Placement};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::{Stop, StopReason};
use crate::redact::Redactor;
use crate::settings::RestoreSettings;

use super::backup::{
    BackupReporter, PartOutcome, PartStatus, check_parts, database, find, finish_toolbox,
    in_cluster_target, learn_secrets, require_complete, start_toolbox, store_failure,
    toolbox_deadline,
};
use super::connect::connect_for_writing;
use super::shared::ReportError;
use super::{Confirmer, Question};

/// The Deployments that write to the data stores: scaled to zero while
/// their data is replaced.
pub const WRITERS: [&str; 2] = ["api-gateway", "ml-service"];

/// The replica count a writer goes back to, kept on the Deployment while a
/// restore holds it at zero: a retry after a killed restore puts the
/// writers back to it, not "back to 0".
pub const RESTORE_REPLICAS: &str = "fintechctl.io/restore-replicas";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreOutcome {
    /// A dry run: verified and planned.
    #[default]
    Planned,
    Restored,
    Failed,
    Interrupted,
    Refused,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterScale {
    pub name: String,
    pub previous: i32,
    /// Whether it was put back to `previous`.
    pub restored: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlembicCheck {
    /// In the backup's manifest.
    pub backup: Option<String>,
    /// What the live database had before the restore (the deployed version's).
    pub before: Option<String>,
    /// What it has after.
    pub after: Option<String>,
    pub migrate_needed: bool,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub environment: String,
    pub namespace: String,
    pub store: String,
    pub id: String,
    pub dry_run: bool,
    pub outcome: RestoreOutcome,
    /// The checksums of the parts, checked before anything was touched.
    pub checked: Vec<PartOutcome>,
    pub parts: Vec<PartOutcome>,
    pub writers: Vec<WriterScale>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alembic: Option<AlembicCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The release record written when the restore changed the
    /// application's version (`restore <id>` in `history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

fn outcome_of(status: ExitStatus) -> RestoreOutcome {
    match status {
        ExitStatus::Interrupted => RestoreOutcome::Interrupted,
        ExitStatus::Refused => RestoreOutcome::Refused,
        _ => RestoreOutcome::Failed,
    }
}

fn stop_failure(stop: &Stop, whereabouts: &str) -> Failure {
    Failure::stopped(stop, whereabouts)
}

pub async fn restore(
    settings: &RestoreSettings,
    reporter: &dyn BackupReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: Stop,
) -> (RestoreReport, Result<ExitStatus, Failure>) {
    let started = Instant::now();
    let env = &settings.env;
    let mut report = RestoreReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        store: settings.store.location.to_string(),
        id: settings.backup.to_string(),
        dry_run: settings.dry_run,
        ..RestoreReport::default()
    };
    let result = run(settings, reporter, confirmer, redactor, &stop, &mut report).await;
    report.elapsed = started.elapsed();
    match &result {
        Ok(_) if settings.dry_run => report.outcome = RestoreOutcome::Planned,
        Ok(_) => report.outcome = RestoreOutcome::Restored,
        Err(f) => {
            report.outcome = outcome_of(f.status);
            report.error = Some(ReportError::from(f));
        }
    }
    (report, result)
}

async fn run(
    settings: &RestoreSettings,
    reporter: &dyn BackupReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: &Stop,
    report: &mut RestoreReport,
) -> Result<ExitStatus, Failure> {
    let env = &settings.env;
    let ns = &env.namespace.name;
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let listed = find(&store, &env.name, &settings.backup).await?;
    report.id = listed.id.to_string();
    let manifest = require_complete(&listed)?;
    let id = listed.id.clone();
    // Another environment's backup (copied into this one's store) replaces
    // this environment's data with that one's: only when asked by name.
    let foreign = manifest.environment != env.name;
    if foreign && settings.from_environment.as_deref() != Some(manifest.environment.as_str()) {
        return Err(Failure::refused(format!(
                "backup {id} was taken of environment `{}` (namespace {}), not `{}`: restoring it replaces {}'s data with {}'s; nothing was changed",
                manifest.environment, manifest.namespace, env.name, env.name, manifest.environment
            ),
        )
        .with_details(vec![format!(
            "to do it, pass --from-environment {}",
            manifest.environment
        )]));
    }
    if let Some(from) = &settings.from_environment
        && !foreign
    {
        return Err(Failure::invalid(format!(
            "--from-environment {from}: backup {id} was taken of `{}` itself",
            env.name
        )));
    }
    let in_backup: Vec<PartKind> = {
        let mut p: Vec<PartKind> = manifest.parts.iter().map(|e| e.part).collect();
        p.dedup();
        p
    };
    let parts: Vec<PartKind> = if settings.only.is_empty() {
        in_backup.clone()
    } else {
        for p in &settings.only {
            if !in_backup.contains(p) {
                return Err(Failure::failed(format!(
                    "backup {id} has no {p} part (it has: {})",
                    names(&in_backup)
                )));
            }
        }
        settings.only.clone()
    };
    // Objects carry their environment's namespace and labels: never
    // restored across environments.
    let parts: Vec<PartKind> = if foreign && parts.contains(&PartKind::Resources) {
        if settings.only.contains(&PartKind::Resources) {
            return Err(Failure::invalid(format!(
                "--only resources: the objects of `{}`'s backup are never restored into `{}` (deploy `{}` instead)",
                manifest.environment, env.name, env.name
            )));
        }
        report.notes.push(format!(
            "the resources part is not restored: its objects are `{}`'s",
            manifest.environment
        ));
        parts
            .into_iter()
            .filter(|p| *p != PartKind::Resources)
            .collect()
    } else {
        parts
    };

    // A managed Redis export (`az redis export`) is not imported by
    // fintechctl: refused when asked for alone, else left out with the
    // command that imports it in the plan.
    let mut parts = parts;
    if parts.contains(&PartKind::Redis)
        && manifest
            .part(PartKind::Redis)
            .is_some_and(|e| e.file == redis_export::EXPORT_FILE)
    {
        let hint = manifest
            .redis_export
            .as_ref()
            .map(redis_export::import_hint)
            .unwrap_or_else(|| "az redis import".to_string());
        if settings.only.contains(&PartKind::Redis) || parts == [PartKind::Redis] {
            return Err(Failure::failed(format!(
                "backup {id}'s redis part is an `az redis export` of managed Redis, which fintechctl does not import; nothing was changed. Import it with: {hint}"
            )));
        }
        parts.retain(|p| *p != PartKind::Redis);
        report.notes.push(format!(
            "redis is not restored: the backup holds an `az redis export` of managed Redis, which fintechctl does not import; import it with: {hint}"
        ));
    }

    // 1. Nothing is touched before every selected part reads back whole.
    reporter.status(
        "Checking",
        &format!("{id}: the checksums of {}", names(&parts)),
    );
    let checked = tokio::select! {
        c = check_parts(&store, &env.name, &id, &manifest, &parts, reporter) => c,
        _ = stop.stopped() => return Err(stop_failure(stop, "nothing was changed")),
    };
    report.checked = checked;
    let bad: Vec<String> = report
        .checked
        .iter()
        .filter(|p| p.status == PartStatus::Failed)
        .filter_map(|p| p.message.clone())
        .collect();
    if !bad.is_empty() {
        return Err(Failure::failed(format!(
            "backup {id} is damaged; refusing to restore from it, nothing was changed"
        ))
        .with_details(bad));
    }
    // The Secrets decrypt now, or the plan says they will not be restored.
    let mut secrets: Option<Vec<serde_json::Value>> = None;
    if parts.contains(&PartKind::Resources) && manifest.parts.iter().any(|p| p.file == SECRETS_FILE)
    {
        match &settings.identities {
            Some(identities) => {
                let sealed = store
                    .read_small(&env.name, &id, SECRETS_FILE)
                    .await
                    .map_err(store_failure)?;
                let plain = identities.decrypt(&sealed).map_err(|e| {
                    Failure::invalid(format!(
                        "--identity cannot decrypt the backup's Secrets ({SECRETS_FILE}): {e}"
                    ))
                })?;
                let parsed = resources::from_yaml(&String::from_utf8_lossy(&plain))
                    .map_err(|e| Failure::failed(format!("{SECRETS_FILE}: {e}")))?;
                let mut r = redactor.clone();
                for s in &parsed {
                    r.learn_secret(s);
                }
                reporter.learn(&r);
                secrets = Some(parsed);
            }
            None => report.notes.push(format!(
                "the backup's Secrets are encrypted: without --identity they are not restored ({})",
                manifest
                    .resources
                    .as_ref()
                    .map(|r| r.secrets.join(", "))
                    .unwrap_or_default()
            )),
        }
    }

    let (conn, _) = connect_for_writing(env, &settings.access, reporter).await?;
    let mut redactor = redactor.clone();
    learn_secrets(&conn, ns, &mut redactor, reporter).await;

    // 2. The plan.
    let deployments: Api<Deployment> = Api::namespaced(conn.client.clone(), ns);
    let mut writers = Vec::new();
    for name in WRITERS {
        match deployments.get_opt(name).await {
            Ok(Some(d)) => {
                let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let remembered = d
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(RESTORE_REPLICAS))
                    .and_then(|v| v.parse::<i32>().ok())
                    .filter(|n| *n >= 0);
                let previous = match remembered {
                    Some(n) if replicas == 0 => {
                        report.notes.push(format!(
                            "Deployment/{name} is at 0, where an interrupted restore left it: it goes back to {n} ({RESTORE_REPLICAS})"
                        ));
                        n
                    }
                    _ => replicas,
                };
                writers.push(WriterScale {
                    name: name.to_string(),
                    previous,
                    restored: false,
                });
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Failure::api(format!("reading Deployment/{name}"), &e));
            }
        }
    }
    reporter.status(
        "Plan",
        &format!(
            "restore {id} ({}, taken {}{}) into {} ({ns})",
            names(&parts),
            manifest.started_at,
            manifest
                .release
                .as_ref()
                .map(|r| format!(" from version {}", r.version))
                .unwrap_or_default(),
            env.name
        ),
    );
    for p in &parts {
        let what = match p {
            PartKind::Postgres => format!(
                "PostgreSQL database {}: replaced (pg_restore --clean --if-exists --single-transaction)",
                env.data.postgres.database
            ),
            PartKind::Redis => {
                "Redis: every key replaced by the RDB snapshot (the server restarts)".to_string()
            }
            PartKind::Resources => format!(
                "objects re-applied with server-side apply{}",
                if secrets.is_some() {
                    ", Secrets included"
                } else {
                    ", Secrets not included"
                }
            ),
        };
        reporter.status("  restore", &what);
    }
    for w in &writers {
        reporter.status(
            "  scale",
            &format!(
                "Deployment/{} to 0 during the restore, then back to {}",
                w.name, w.previous
            ),
        );
    }
    // The resources part re-applies the backup's Deployments, images and
    // version label included: the plan says when that changes the version.
    let mut version_change: Option<String> = None;
    if parts.contains(&PartKind::Resources)
        && let Some(backup_version) = manifest.release.as_ref().map(|r| r.version.clone())
    {
        let live = super::shared::live_version(&conn.client, ns).await?;
        if let Some(live) = live.filter(|l| *l != backup_version) {
            report.notes.push(format!(
                "the application goes from version {live} (live) to {backup_version} (the backup's): the resources part re-applies the backup's Deployments; a release record `restore {id}` at {backup_version} is written to `fintechctl history {}`",
                env.name
            ));
            version_change = Some(backup_version);
        }
    }
    for note in &report.notes {
        reporter.warn(note);
    }
    report.writers = writers.clone();
    if settings.dry_run {
        reporter.status("Dry run", &format!("{id} verified; nothing was changed"));
        return Ok(ExitStatus::Success);
    }

    // 3. Confirmation (a restore replaces data: every environment asks),
    // then the lock.
    if !settings.yes {
        let action = format!(
            "restore backup {id} ({}), replacing the live data",
            names(&parts)
        );
        confirmer.confirm(&if env.release.protected {
            Question::TypeName {
                environment: env.name.clone(),
                namespace: ns.clone(),
                action,
            }
        } else {
            Question::YesNo {
                question: format!("{action} of {} ({ns})?", env.name),
                unattended: format!(
                    "refusing to restore into {}: no terminal to confirm on; pass --yes to confirm non-interactively",
                    env.name
                ),
                declined: format!("restore into {} not confirmed; nothing was changed", env.name),
            }
        })?;
    }
    let holder = LockHolder::current(&settings.identity);
    let options = LockOptions {
        lease_duration: settings.lock_ttl,
        force: false,
        on_lost: Some(stop.clone()),
    };
    let guard = lock::acquire(&conn.client, ns, holder, &options)
        .await
        .map_err(|e| match e {
            // restore has no --force-unlock: never suggest it.
            LockError::Held {
                namespace,
                holder,
                expires_in,
            } => Failure::refused(format!(
                    "namespace {namespace} is locked by {holder} (a deploy or restore in progress); nothing was changed. The lock expires in {}s unless its holder renews it: restore again once it is free",
                    expires_in.as_secs()
                ),
            ),
            other => Failure::from(other),
        })?;
    if let Some(expired) = guard.expired() {
        reporter.warn(&format!("took over an expired deploy lock of {expired}"));
    }

    let result = restore_locked(
        &conn,
        env,
        &store,
        &id,
        &manifest,
        &parts,
        secrets,
        &mut writers,
        settings.timeout,
        reporter,
        stop,
        report,
    )
    .await;

    // 4. Writers back, whatever happened.
    for w in writers.iter_mut() {
        match scale(&deployments, &w.name, w.previous).await {
            Ok(()) => {
                w.restored = true;
                if let Err(e) = remember_replicas(&deployments, &w.name, None).await {
                    reporter.warn(&format!(
                        "removing {RESTORE_REPLICAS} from Deployment/{}: {e}",
                        w.name
                    ));
                }
                reporter.status("Scaled", &format!("Deployment/{} back to {}", w.name, w.previous));
            }
            Err(e) => reporter.warn(&format!(
                "scaling Deployment/{} back to {}: {e}; do it by hand: kubectl -n {ns} scale deployment/{} --replicas={}",
                w.name, w.previous, w.name, w.previous
            )),
        }
    }
    report.writers = writers;
    // 5. A restore that put back another version of the application is a
    // release: recorded under the lock, like a deploy's.
    if let Ok(Restored {
        objects: Some(objects),
    }) = &result
        && let Some(version) = &version_change
    {
        match record_restore(&conn, env, &id, objects, version, settings, &redactor).await {
            Ok((revision, warning)) => {
                reporter.status(
                    "Recorded",
                    &format!("revision {revision}: restore {id} (version {version})"),
                );
                if let Some(w) = warning {
                    reporter.warn(&w);
                }
                report.revision = Some(revision);
            }
            Err(f) => reporter.warn(&format!(
                "the restore is done, but its release record was not written ({}): `fintechctl history {}` does not show that version {version} runs now",
                f.message, env.name
            )),
        }
    }
    match guard.release().await {
        Ok(()) => {}
        Err(LockError::Lost { .. }) if matches!(stop.reason(), Some(StopReason::LockLost(_))) => {}
        Err(e) => reporter.warn(&format!("releasing the deploy lock: {e}")),
    }
    result.map(|_| ExitStatus::Success)
}

/// What happened to each part when a restore stopped: `postgres: restored
/// (committed); redis: nothing was replaced …; resources: not restored;
/// the writers are scaled back`.
fn whereabouts(
    parts: &[PartKind],
    done: &[PartKind],
    current: Option<(PartKind, String)>,
) -> String {
    let mut said: Vec<String> = parts
        .iter()
        .map(|p| {
            let state = if done.contains(p) {
                match p {
                    PartKind::Postgres => "restored (committed)".to_string(),
                    _ => "restored".to_string(),
                }
            } else {
                match &current {
                    Some((c, state)) if c == p => state.clone(),
                    _ => "not restored (untouched)".to_string(),
                }
            };
            format!("{p}: {state}")
        })
        .collect();
    said.push("the writers are scaled back".to_string());
    said.join("; ")
}

fn names(parts: &[PartKind]) -> String {
    parts
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps (or with `None` removes) the count a writer goes back to.
async fn remember_replicas(
    api: &Api<Deployment>,
    name: &str,
    replicas: Option<i32>,
) -> Result<(), String> {
    let patch = serde_json::json!({"metadata": {"annotations": {
        RESTORE_REPLICAS: replicas.map(|n| n.to_string())
    }}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| crate::cluster::api_message(&e))
}

async fn scale(api: &Api<Deployment>, name: &str, replicas: i32) -> Result<(), String> {
    let patch = serde_json::json!({"spec": {"replicas": replicas}});
    api.patch_scale(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| crate::cluster::api_message(&e))
}

/// Waits until the writers have no pods left (bounded: a pod stuck
/// terminating is warned about, not waited for forever).
async fn wait_scaled_down(conn: &Connection, ns: &str, reporter: &dyn BackupReporter) {
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), ns);
    let selector = format!("app in ({})", WRITERS.join(","));
    let started = Instant::now();
    loop {
        let left = pods
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
            .map(|l| l.items.len())
            .unwrap_or(0);
        if left == 0 {
            return;
        }
        if started.elapsed() > Duration::from_secs(120) {
            reporter.warn(&format!(
                "{left} writer pod(s) still terminating; restoring anyway"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn restore_locked(
    conn: &Connection,
    env: &Environment,
    store: &Store,
    id: &BackupId,
    manifest: &Manifest,
    parts: &[PartKind],
    secrets: Option<Vec<serde_json::Value>>,
    writers: &mut [WriterScale],
    timeout: Duration,
    reporter: &dyn BackupReporter,
    stop: &Stop,
    report: &mut RestoreReport,
) -> Result<Restored, Failure> {
    let ns = &env.namespace.name;
    // Managed PostgreSQL through a toolbox pod, started before anything
    // changes and removed whatever happens (Ctrl-C included: the parts
    // below are raced against the stop and return here).
    let (pg_target, toolbox) = if parts.contains(&PartKind::Postgres) {
        match env.data.postgres.placement {
            Placement::InCluster => (Some(in_cluster_target(conn, ns, "postgres").await?), None),
            Placement::Managed => {
                let t = start_toolbox(
                    conn,
                    env,
                    &format!("restore {id}"),
                    toolbox_deadline(timeout),
                    reporter,
                    stop,
                )
                .await
                .map_err(|f| {
                    let message = format!("{}; nothing was changed", f.message);
                    Failure { message, ..f }
                })?;
                (Some(t.target()), Some(t))
            }
        }
    } else {
        (None, None)
    };
    let result = restore_parts(
        conn, env, store, id, manifest, parts, secrets, writers, pg_target, reporter, stop, report,
    )
    .await;
    if let Some(t) = toolbox {
        finish_toolbox(t, ns, reporter).await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn restore_parts(
    conn: &Connection,
    env: &Environment,
    store: &Store,
    id: &BackupId,
    manifest: &Manifest,
    parts: &[PartKind],
    secrets: Option<Vec<serde_json::Value>>,
    writers: &mut [WriterScale],
    pg_target: Option<crate::backup::exec::Target>,
    reporter: &dyn BackupReporter,
    stop: &Stop,
    report: &mut RestoreReport,
) -> Result<Restored, Failure> {
    let ns = &env.namespace.name;
    let db = database(env);
    let before = match &pg_target {
        Some(t) => postgres::facts(t, &db, None)
            .await
            .ok()
            .and_then(|(a, _)| a),
        None => None,
    };
    let deployments: Api<Deployment> = Api::namespaced(conn.client.clone(), ns);
    for w in writers.iter() {
        remember_replicas(&deployments, &w.name, Some(w.previous))
            .await
            .map_err(|e| {
                Failure::unreachable(format!(
                    "annotating Deployment/{} with {RESTORE_REPLICAS}: {e}",
                    w.name
                ))
            })?;
        scale(&deployments, &w.name, 0).await.map_err(|e| {
            Failure::unreachable(format!("scaling Deployment/{} to 0: {e}", w.name))
        })?;
        reporter.status(
            "Scaled",
            &format!("Deployment/{} to 0 (was {})", w.name, w.previous),
        );
    }
    wait_scaled_down(conn, ns, reporter).await;

    // What happened to each part, for the message after a stop.
    let mut done: Vec<PartKind> = Vec::new();
    let mut restored = Restored::default();
    for part in parts {
        if stop.is_stopped() {
            return Err(stop_failure(stop, &whereabouts(parts, &done, None)));
        }
        let started = Instant::now();
        let entry = manifest.part(*part).cloned();
        let Some(entry) = entry else { continue };
        reporter.part_started(*part, &format!("from {}", entry.file));
        let work = async {
            match part {
                PartKind::Postgres => {
                    let target = pg_target.as_ref().expect("resolved above");
                    let restored = postgres::restore(
                        target, &db, None, true, store, &env.name, id, &entry, reporter,
                    )
                    .await;
                    // Lost after the whole dump was sent: pg_restore may
                    // have committed. Once no pg_restore session is left,
                    // the row counts below tell which.
                    let lost = match restored {
                        Ok(_) => None,
                        Err(postgres::PgError::LostAfterFeed { pod, message }) => {
                            let lost = format!(
                                "pod/{pod}: {message} after the whole dump was sent to pg_restore"
                            );
                            reporter.warn(&format!(
                                "{lost}; waiting for pg_restore to end in the database, then the row counts say whether it committed"
                            ));
                            settle_pg_restore(target, &db, stop).await?;
                            Some(lost)
                        }
                        Err(e) => {
                            return Err(Failure::failed(format!("restoring PostgreSQL: {e}"))
                                .with_details(e.details()));
                        }
                    };
                    let (after, tables) =
                        postgres::facts(target, &db, None).await.map_err(|e| {
                            Failure::failed(format!("reading the restored database: {e}"))
                                .with_details(e.details())
                        })?;
                    let expected = manifest.postgres.clone().unwrap_or_default();
                    let mismatches = postgres::compare_tables(&expected.tables, &tables);
                    let migrate_needed = after.is_some() && before.is_some() && after != before;
                    report.alembic = Some(AlembicCheck {
                        backup: expected.alembic_revision.clone(),
                        before: before.clone(),
                        after: after.clone(),
                        migrate_needed,
                    });
                    if !mismatches.is_empty() {
                        return Err(Failure::failed(match &lost {
                                Some(lost) => format!(
                                    "{lost}, and the database does not match the backup's row counts: pg_restore, in one transaction, did not commit"
                                ),
                                None => {
                                    "the restored database does not match the backup's row counts"
                                        .to_string()
                                }
                            },
                        )
                        .with_details(mismatches));
                    }
                    if lost.is_some() {
                        reporter.status(
                            "Committed",
                            "pg_restore ended and every table's row count matches the backup: the restore committed",
                        );
                    }
                    Ok(entry.raw_size)
                }
                PartKind::Redis => {
                    if env.data.redis.placement == Placement::Managed {
                        return Err(Failure::failed(
                            "managed Redis cannot be restored by this fintechctl (`az redis import`)",
                        ));
                    }
                    let target = in_cluster_target(conn, ns, "redis").await?;
                    let keys = redis::restore(
                        &target,
                        env.data.redis.port,
                        store,
                        &env.name,
                        id,
                        &entry,
                        Duration::from_secs(180),
                        reporter,
                        stop,
                    )
                    .await
                    .map_err(|e| match e {
                        redis::RedisError::Stopped(state) => stop_failure(
                            stop,
                            &whereabouts(parts, &done, Some((PartKind::Redis, state))),
                        ),
                        e => Failure::failed(format!("restoring Redis: {e}"))
                            .with_details(e.details()),
                    })?;
                    let expected = manifest.redis.clone().unwrap_or_default().keys;
                    if keys != expected {
                        return Err(Failure::failed(format!(
                            "Redis holds {keys:?} key(s) after the restore, the backup {expected:?}"
                        )));
                    }
                    Ok(entry.raw_size)
                }
                PartKind::Resources => {
                    let bytes = read_all(store, &env.name, id, &entry).await?;
                    let mut objects = resources::from_yaml(&String::from_utf8_lossy(&bytes))
                        .map_err(|e| Failure::failed(format!("{}: {e}", entry.file)))?;
                    restored.objects = Some(objects.clone());
                    // The writers stay at zero until the end; their counts come back then.
                    for o in objects.iter_mut() {
                        if o["kind"] == "Deployment"
                            && WRITERS.contains(&o["metadata"]["name"].as_str().unwrap_or(""))
                            && let Some(spec) = o.get_mut("spec").and_then(|s| s.as_object_mut())
                        {
                            spec.insert("replicas".into(), serde_json::json!(0));
                        }
                    }
                    // An object stored with secret values redacted is not put
                    // back over the live one (it would carry `<redacted>`);
                    // one that is gone is re-created, with a warning.
                    let redacted = manifest
                        .resources
                        .as_ref()
                        .map(|r| r.redacted.clone())
                        .unwrap_or_default();
                    let mut kept = Vec::new();
                    for o in std::mem::take(&mut objects) {
                        let name = resources::display(&o);
                        if !redacted.contains(&name) {
                            kept.push(o);
                            continue;
                        }
                        match resources::exists(&conn.client, ns, &o).await {
                            Ok(true) => reporter.warn(&format!(
                                "{name} is not re-applied: the backup holds it with secret values redacted; the live one is kept"
                            )),
                            _ => {
                                reporter.warn(&format!(
                                    "{name} is re-created from the backup with secret values redacted (`<redacted>`): put the real values back"
                                ));
                                kept.push(o);
                            }
                        }
                    }
                    objects = kept;
                    if let Some(s) = &secrets {
                        objects.extend(s.iter().cloned());
                    }
                    let applied = resources::apply(&conn.client, ns, &objects).await.map_err(
                        |(what, e)| {
                            Failure::failed(format!(
                                "applying {what}: {}",
                                crate::cluster::api_message(&e)
                            ))
                        },
                    )?;
                    reporter.status(
                        "Applied",
                        &format!("{} object(s) with server-side apply", applied.len()),
                    );
                    Ok(entry.raw_size)
                }
            }
        };
        let result = if *part == PartKind::Redis {
            // Redis's restore answers a stop itself: cut short, it could
            // leave the server half switched over.
            work.await
        } else {
            let in_progress = match part {
                PartKind::Postgres => {
                    "rolled back (pg_restore runs in one transaction: the database is as it was)"
                }
                _ => "cut short: some objects may have been re-applied, the others not",
            };
            tokio::select! {
                r = work => r,
                _ = stop.stopped() => Err(stop_failure(
                    stop,
                    &whereabouts(parts, &done, Some((*part, in_progress.to_string()))),
                )),
            }
        };
        match result {
            Ok(raw) => {
                let outcome = PartOutcome {
                    file: Some(entry.file.clone()),
                    size: entry.size,
                    raw_size: raw,
                    sha256: Some(entry.sha256.clone()),
                    ..PartOutcome::new(*part, PartStatus::Done)
                };
                let mut outcome = outcome;
                outcome.elapsed = started.elapsed();
                reporter.part_finished(&outcome);
                report.parts.push(outcome);
                done.push(*part);
            }
            Err(failure) => {
                let mut outcome = PartOutcome::new(*part, PartStatus::Failed);
                outcome.file = Some(entry.file.clone());
                outcome.message = Some(failure.message.clone());
                outcome.details = failure.details.clone();
                outcome.elapsed = started.elapsed();
                reporter.part_finished(&outcome);
                report.parts.push(outcome);
                return Err(failure);
            }
        }
    }
    if let Some(a) = &report.alembic {
        if a.migrate_needed {
            reporter.warn(&format!(
                "the restored database is at alembic revision {}, the deployed version ran on {}: run `fintechctl migrate {}` before traffic returns",
                a.after.as_deref().unwrap_or("none"),
                a.before.as_deref().unwrap_or("none"),
                env.name
            ));
        } else {
            reporter.status(
                "Schema",
                &format!(
                    "alembic revision {} matches the deployed version's; no migration needed",
                    a.after.as_deref().unwrap_or("none")
                ),
            );
        }
    }
    reporter.status("Restored", &format!("{id} into {} ({ns})", env.name));
    Ok(restored)
}

/// What a restore that completed hands back: the resources part's objects
/// as the backup holds them (their replica counts untouched), when it ran.
#[derive(Default)]
struct Restored {
    objects: Option<Vec<serde_json::Value>>,
}

/// Waits, polling every second for at most [`SETTLE_WITHIN`], until no
/// pg_restore session is left in the database (one whose client
/// connection was lost runs on to its commit or rollback).
async fn settle_pg_restore(
    target: &crate::backup::exec::Target,
    db: &postgres::Database,
    stop: &Stop,
) -> Result<(), Failure> {
    let started = Instant::now();
    loop {
        let sessions = postgres::restore_sessions(target, db, None)
            .await
            .map_err(|e| {
                Failure::failed(format!("after the connection to pg_restore was lost, asking the database whether it still runs: {e}; the restore's outcome is unknown, check the database"),
                )
            })?;
        if sessions == 0 {
            return Ok(());
        }
        if started.elapsed() >= SETTLE_WITHIN || stop.is_stopped() {
            return Err(Failure::failed(format!(
                "pg_restore still runs in the database {} after its connection was lost: the restore's outcome is unknown until it ends; check its row counts against the backup",
                crate::human::duration(started.elapsed())
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long a restore waits for a pg_restore whose connection was lost.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// Writes the release record of a restore that changed the application's
/// version: `restore <id>` at the backup's version, succeeded, with the
/// backup's objects as its manifests (so `history` shows what runs, and
/// `rollback` can return to it or past it). Returns the revision and a
/// warning when older revisions could not be marked superseded.
async fn record_restore(
    conn: &Connection,
    env: &Environment,
    id: &BackupId,
    objects: &[serde_json::Value],
    version: &str,
    settings: &RestoreSettings,
    redactor: &Redactor,
) -> Result<(u32, Option<String>), Failure> {
    let ns = &env.namespace.name;
    let (key, stored) = super::shared::environment_key(&conn.client, ns).await?;
    if !stored {
        crate::cluster::digest_key::store(&conn.client, ns, &key)
            .await
            .map_err(|e| {
                Failure::api(
                    format!(
                        "storing the digest key Secret {}",
                        crate::cluster::digest_key::SECRET_NAME
                    ),
                    &e,
                )
            })?;
    }
    let origin = format!("backup {id}");
    let manifests: Vec<crate::render::Manifest> = objects
        .iter()
        .map(|o| crate::render::Manifest::new(origin.clone(), o.clone()))
        .collect();
    let mut record = ReleaseRecord::begin(
        &env.name,
        ns,
        version,
        &manifests,
        format!("restore {id}"),
        &settings.identity,
        &key,
    );
    let history = ReleaseHistory::new(&conn.client, ns, &env.name, redactor.clone());
    history.create(&mut record).await?;
    let warning = history
        .finish(&mut record, ReleaseStatus::Succeeded, &[])
        .await?;
    Ok((record.revision, warning))
}

async fn read_all(
    store: &Store,
    env: &str,
    id: &BackupId,
    entry: &crate::backup::manifest::PartEntry,
) -> Result<Vec<u8>, Failure> {
    let stream_in = store
        .read_stream(env, id, &entry.file)
        .await
        .map_err(store_failure)?;
    let mut out: Vec<u8> = Vec::new();
    stream::decompress_into(
        stream_in,
        &mut out,
        &entry.file,
        entry.size,
        &entry.sha256,
        &super::backup::NoProgressReporter,
    )
    .await
    .map_err(|e| Failure::failed(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_says_what_happened_to_each_part() {
        let all = [PartKind::Postgres, PartKind::Redis, PartKind::Resources];
        // PostgreSQL committed, then stopped while Redis was staged.
        let said = whereabouts(
            &all,
            &[PartKind::Postgres],
            Some((PartKind::Redis, "nothing was replaced".to_string())),
        );
        assert_eq!(
            said,
            "postgres: restored (committed); redis: nothing was replaced; resources: not restored (untouched); the writers are scaled back"
        );
        assert!(!said.contains("rolled back"));
        // `--only redis`: no word of PostgreSQL.
        let said = whereabouts(
            &[PartKind::Redis],
            &[],
            Some((PartKind::Redis, "nothing was replaced".to_string())),
        );
        assert!(!said.contains("postgres"), "{said}");
    }
}
