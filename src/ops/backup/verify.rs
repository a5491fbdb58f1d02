//! `backup verify`: every stored part against its size and sha256, the
//! PostgreSQL dump read back with `pg_restore --list`, and the restore
//! drill into a scratch database when asked.

use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::backup::exec::Target;
use crate::backup::id::BackupId;
use crate::backup::manifest::{Manifest, PartEntry};
use crate::backup::store::Store;
use crate::backup::stream;
use crate::backup::{PartKind, VERIFIED_FILE, postgres};
use crate::environment::{Environment, Placement};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops::connect::connect_for_writing;
use crate::ops::shared::ReportError;
use crate::redact::Redactor;
use crate::settings::BackupVerifySettings;

use super::{
    BackupReporter, NoProgressReporter, PartOutcome, PartStatus, database, find, finish_toolbox,
    in_cluster_target, learn_secrets, require_complete, start_toolbox, stopped_failure,
    store_failure, toolbox_deadline,
};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub environment: String,
    pub store: String,
    pub id: String,
    pub verified: bool,
    pub parts: Vec<PartOutcome>,
    /// Entries `pg_restore --list` read from the dump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_entries: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillReport {
    pub database: String,
    pub tables: usize,
    pub alembic_revision: Option<String>,
    pub mismatches: Vec<String>,
    pub dropped: bool,
}

/// Checks every stored object of `manifest` against its size and sha256.
pub async fn check_parts(
    store: &Store,
    env: &str,
    id: &BackupId,
    manifest: &Manifest,
    only: &[PartKind],
    reporter: &dyn BackupReporter,
) -> Vec<PartOutcome> {
    let mut out = Vec::new();
    for entry in &manifest.parts {
        if !only.is_empty() && !only.contains(&entry.part) {
            continue;
        }
        let started = Instant::now();
        let checked = match store.read_stream(env, id, &entry.file).await {
            Ok(stream) => stream::check(stream, &entry.file, entry.size, &entry.sha256, reporter)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let outcome = match checked {
            Ok(()) => PartOutcome {
                file: Some(entry.file.clone()),
                size: entry.size,
                raw_size: entry.size,
                sha256: Some(entry.sha256.clone()),
                ..PartOutcome::new(entry.part, PartStatus::Done)
            },
            Err(message) => PartOutcome {
                file: Some(entry.file.clone()),
                message: Some(format!(
                    "the {} part ({}) does not match the manifest: {message}",
                    entry.part, entry.file
                )),
                ..PartOutcome::new(entry.part, PartStatus::Failed)
            },
        }
        .timed(started.elapsed());
        reporter.part_finished(&outcome);
        out.push(outcome);
    }
    out
}

pub async fn verify(
    settings: &BackupVerifySettings,
    reporter: &dyn BackupReporter,
    redactor: &Redactor,
    stop: Stop,
) -> (VerifyReport, Result<ExitStatus, Failure>) {
    let started = Instant::now();
    let env = &settings.env;
    let mut report = VerifyReport {
        environment: env.name.clone(),
        store: settings.store.location.to_string(),
        id: settings.backup.to_string(),
        ..VerifyReport::default()
    };
    let result = verify_inner(settings, reporter, redactor, &stop, &mut report).await;
    report.elapsed = started.elapsed();
    if let Err(f) = &result {
        report.error = Some(ReportError::from(f));
    }
    (report, result)
}

async fn verify_inner(
    settings: &BackupVerifySettings,
    reporter: &dyn BackupReporter,
    redactor: &Redactor,
    stop: &Stop,
    report: &mut VerifyReport,
) -> Result<ExitStatus, Failure> {
    let env = &settings.env;
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let listed = find(&store, &env.name, &settings.backup).await?;
    report.id = listed.id.to_string();
    let manifest = require_complete(&listed)?;
    let id = listed.id.clone();
    reporter.status(
        "Verifying",
        &format!("{id} in {}", store.describe(&env.name, &id)),
    );
    let checks = tokio::select! {
        c = check_parts(&store, &env.name, &id, &manifest, &[], reporter) => c,
        _ = stop.stopped() => return Err(stopped_failure(stop, "nothing was changed")),
    };
    report.parts = checks;
    let bad: Vec<String> = report
        .parts
        .iter()
        .filter(|p| p.status == PartStatus::Failed)
        .filter_map(|p| p.message.clone())
        .collect();
    if !bad.is_empty() {
        return Err(Failure::failed(format!(
            "backup {id} is damaged: {} object(s) do not match the manifest",
            bad.len()
        ))
        .with_details(bad));
    }
    if let Some(entry) = manifest.part(PartKind::Postgres) {
        let (conn, _) = connect_for_writing(env, &settings.access, reporter).await?;
        let mut redactor = redactor.clone();
        learn_secrets(&conn, &env.namespace.name, &mut redactor, reporter).await;
        let (target, toolbox) = match env.data.postgres.placement {
            Placement::InCluster => (
                in_cluster_target(&conn, &env.namespace.name, "postgres").await?,
                None,
            ),
            Placement::Managed => {
                let t = start_toolbox(
                    &conn,
                    env,
                    &format!("verify {id}"),
                    toolbox_deadline(settings.timeout),
                    reporter,
                    stop,
                )
                .await?;
                (t.target(), Some(t))
            }
        };
        let checked = verify_postgres(
            &target, settings, &store, &id, &manifest, entry, reporter, stop, report,
        )
        .await;
        if let Some(t) = toolbox {
            finish_toolbox(t, &env.namespace.name, reporter).await;
        }
        checked?;
    }
    report.verified = true;
    let marker = serde_json::json!({
        "verifiedAt": Timestamp::now().to_string(),
        "drill": settings.drill,
    });
    if let Err(e) = store
        .put_small(
            &env.name,
            &id,
            VERIFIED_FILE,
            serde_json::to_vec_pretty(&marker).unwrap_or_default(),
        )
        .await
    {
        reporter.warn(&format!("recording the verification: {e}"));
    }
    reporter.status(
        "Verified",
        &format!("{id}: every part matches its manifest"),
    );
    Ok(ExitStatus::Success)
}

/// `pg_restore --list` of the dump in `target`, and the drill when asked.
#[allow(clippy::too_many_arguments)]
async fn verify_postgres(
    target: &Target,
    settings: &BackupVerifySettings,
    store: &Store,
    id: &BackupId,
    manifest: &Manifest,
    entry: &PartEntry,
    reporter: &dyn BackupReporter,
    stop: &Stop,
    report: &mut VerifyReport,
) -> Result<(), Failure> {
    let env = &settings.env;
    let listed = tokio::select! {
        n = postgres::list_archive(target, store, &env.name, id, entry, &NoProgressReporter) => n,
        _ = stop.stopped() => return Err(stopped_failure(stop, "nothing was changed")),
    };
    let n = listed.map_err(|e| {
        Failure::failed(format!("pg_restore --list of {}: {e}", entry.file))
            .with_details(e.details())
    })?;
    reporter.status(
        "Checked",
        &format!("pg_restore --list read {n} entries of {}", entry.file),
    );
    report.archive_entries = Some(n);
    if settings.drill {
        let drill = drill(target, env, store, id, manifest, entry, reporter, stop).await?;
        let mismatches = drill.mismatches.clone();
        report.drill = Some(drill);
        if !mismatches.is_empty() {
            return Err(Failure::failed(format!(
                "the restore drill of {id} does not match its manifest"
            ))
            .with_details(mismatches));
        }
    }
    Ok(())
}
#[allow(clippy::too_many_arguments)]
async fn drill(
    target: &Target,
    env: &Environment,
    store: &Store,
    id: &BackupId,
    manifest: &Manifest,
    entry: &PartEntry,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> Result<DrillReport, Failure> {
    let db = database(env);
    let scratch = format!("fintechctl_drill_{}", &id.as_str()[17..]);
    let mut report = DrillReport {
        database: scratch.clone(),
        ..DrillReport::default()
    };
    let pg_fail = |what: &str, e: postgres::PgError| {
        Failure::failed(format!("{what}: {e}")).with_details(e.details())
    };
    reporter.status(
        "Drilling",
        &format!("restoring {} into scratch database {scratch}", entry.file),
    );
    let _ = postgres::admin(
        target,
        &db,
        &format!("DROP DATABASE IF EXISTS \"{scratch}\""),
    )
    .await;
    postgres::admin(target, &db, &format!("CREATE DATABASE \"{scratch}\""))
        .await
        .map_err(|e| pg_fail("creating the scratch database", e))?;
    let restored = async {
        postgres::restore(
            target,
            &db,
            Some(&scratch),
            false,
            store,
            &env.name,
            id,
            entry,
            reporter,
        )
        .await
        .map_err(|e| pg_fail("restoring into the scratch database", e))?;
        postgres::facts(target, &db, Some(&scratch))
            .await
            .map_err(|e| pg_fail("counting the scratch database's rows", e))
    };
    let result = tokio::select! {
        r = restored => Some(r),
        _ = stop.stopped() => None,
    };
    report.dropped = postgres::admin(
        target,
        &db,
        &format!("DROP DATABASE IF EXISTS \"{scratch}\""),
    )
    .await
    .is_ok();
    if !report.dropped {
        reporter.warn(&format!(
            "the scratch database {scratch} could not be dropped; drop it by hand"
        ));
    }
    let (alembic, tables) = match result {
        None => return Err(stopped_failure(stop, "the scratch database was dropped")),
        Some(r) => r?,
    };
    let facts = manifest.postgres.clone().unwrap_or_default();
    report.tables = tables.len();
    report.mismatches = postgres::compare_tables(&facts.tables, &tables);
    if alembic != facts.alembic_revision {
        report.mismatches.push(format!(
            "alembic revision {} in the backup, {} restored",
            facts.alembic_revision.as_deref().unwrap_or("none"),
            alembic.as_deref().unwrap_or("none")
        ));
    }
    report.alembic_revision = alembic;
    if report.mismatches.is_empty() {
        reporter.status(
            "Drilled",
            &format!(
                "{} table(s) and the alembic revision match the manifest; {scratch} dropped",
                report.tables
            ),
        );
    }
    Ok(report)
}
