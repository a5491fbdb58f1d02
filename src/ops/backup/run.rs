//! `backup <env>`: the parts taken one after another, each streamed into
//! the store under a temporary name and committed only when whole, the
//! manifest written last and only when every part asked for succeeded.

use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::backup::exec::Target;
use crate::backup::id::BackupId;
use crate::backup::manifest::{FORMAT_VERSION, LiveRelease, Manifest, PartEntry, ResourcesFacts};
use crate::backup::redis_export::{self, RedisExport};
use crate::backup::store::{Location, Store};
use crate::backup::stream::{self, StreamError};
use crate::backup::{
    MANIFEST_FILE, PartKind, SECRETS_FILE, STARTED_FILE, postgres, redis, resources,
};
use crate::cluster::connect::Connection;
use crate::cluster::records::ReleaseHistory;
use crate::environment::{Environment, Placement};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::ops::connect::connect_for_writing;
use crate::ops::shared::ReportError;
use crate::redact::Redactor;
use crate::settings::BackupSettings;

use super::{
    BackupReporter, PartOutcome, PartStatus, database, finish_toolbox, in_cluster_target,
    learn_secrets, start_toolbox, stopped_failure, store_failure, toolbox_deadline,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackupOutcome {
    #[default]
    Complete,
    Failed,
    Interrupted,
}

/// The `-o json` document of `backup <env>`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub environment: String,
    pub namespace: String,
    pub store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the backup's objects are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub outcome: BackupOutcome,
    pub parts: Vec<PartOutcome>,
    /// Whether `manifest.json` was written (the backup is complete).
    pub manifest: bool,
    /// Backups `prune` deleted afterwards.
    pub pruned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
}

impl BackupReport {
    pub fn status(&self) -> ExitStatus {
        match self.outcome {
            BackupOutcome::Complete => ExitStatus::Success,
            // The failure's own status: bad input 2, a store or cluster out
            // of reach 3, a failed part 1 (the same contract as every command).
            BackupOutcome::Failed => self
                .error
                .as_ref()
                .map(|e| ExitStatus::from_code(e.exit_code))
                .unwrap_or(ExitStatus::Failed),
            BackupOutcome::Interrupted => ExitStatus::Interrupted,
        }
    }
}

/// The parts this environment has, or the ones asked for.
fn wanted(
    env: &Environment,
    only: &[PartKind],
    reporter: &dyn BackupReporter,
) -> Vec<(PartKind, bool)> {
    if only.is_empty() {
        PartKind::ALL.iter().map(|p| (*p, false)).collect()
    } else {
        let _ = (env, reporter);
        only.iter().map(|p| (*p, true)).collect()
    }
}
/// Takes a backup of `settings.env`.
pub async fn backup(
    settings: &BackupSettings,
    reporter: &dyn BackupReporter,
    redactor: &Redactor,
    stop: Stop,
) -> BackupReport {
    let started = Instant::now();
    let env = &settings.env;
    let namespace = env.namespace.name.clone();
    let mut report = BackupReport {
        environment: env.name.clone(),
        namespace: namespace.clone(),
        store: settings.store.location.to_string(),
        ..BackupReport::default()
    };
    let fail = |report: &mut BackupReport, failure: Failure| {
        report.outcome = if failure.status == ExitStatus::Interrupted {
            BackupOutcome::Interrupted
        } else {
            BackupOutcome::Failed
        };
        report.error = Some(ReportError::from(failure));
    };
    let store = match Store::open(&settings.store) {
        Ok(store) => store,
        Err(e) => {
            fail(&mut report, store_failure(e));
            return report;
        }
    };
    // Managed Redis: what `az redis export` needs, checked before anything.
    if env.data.redis.placement == Placement::Managed
        && (settings.only.is_empty() || settings.only.contains(&PartKind::Redis))
        && let Err(e) = redis_export::preflight(env)
    {
        fail(&mut report, Failure::invalid(e.to_string()));
        return report;
    }
    let conn = match connect_for_writing(env, &settings.access, reporter).await {
        Ok((conn, _)) => conn,
        Err(failure) => {
            fail(&mut report, failure);
            return report;
        }
    };
    let mut redactor = redactor.clone();
    learn_secrets(&conn, &namespace, &mut redactor, reporter).await;
    let at = Timestamp::now();
    let id = BackupId::new(at);
    report.id = Some(id.to_string());
    report.location = Some(store.describe(&env.name, &id));
    reporter.status(
        "Backing up",
        &format!("{} to {}", env.name, store.describe(&env.name, &id)),
    );

    let release = match ReleaseHistory::new(&conn.client, &namespace, &env.name, redactor.clone())
        .latest_successful(None)
        .await
    {
        Ok(Some(record)) => Some(LiveRelease {
            revision: Some(record.revision),
            version: record.version,
        }),
        Ok(None) => None,
        Err(e) => {
            reporter.warn(&format!("reading the release history: {e}"));
            None
        }
    };
    // A marker first: a backup that dies before its first part is still
    // listed (incomplete) and pruned after a day.
    let marker = serde_json::json!({"startedAt": at.to_string(), "by": settings.identity.user});
    if let Err(e) = store
        .put_small(
            &env.name,
            &id,
            STARTED_FILE,
            serde_json::to_vec(&marker).unwrap_or_default(),
        )
        .await
    {
        fail(&mut report, store_failure(e));
        report.elapsed = started.elapsed();
        return report;
    }
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        id: id.to_string(),
        environment: env.name.clone(),
        namespace: namespace.clone(),
        started_at: at.to_string(),
        finished_at: String::new(),
        duration_seconds: 0.0,
        created_by: {
            let who = &settings.identity;
            match &who.ci {
                Some(ci) => format!(
                    "{}@{} ({}{})",
                    who.user,
                    who.host,
                    ci.provider,
                    ci.job
                        .as_ref()
                        .map(|j| format!(" job {j}"))
                        .unwrap_or_default()
                ),
                None => format!("{}@{}", who.user, who.host),
            }
        },
        fintechctl_version: env!("CARGO_PKG_VERSION").to_string(),
        release,
        parts: Vec::new(),
        postgres: None,
        redis: None,
        resources: None,
        redis_export: None,
    };

    for (part, asked) in wanted(env, &settings.only, reporter) {
        if stop.is_stopped() {
            break;
        }
        let part_started = Instant::now();
        let outcome = match part {
            PartKind::Postgres => {
                backup_postgres(
                    &conn,
                    env,
                    &store,
                    &id,
                    &mut manifest,
                    settings.stall_timeout,
                    toolbox_deadline(settings.timeout),
                    reporter,
                    &stop,
                )
                .await
            }
            PartKind::Redis => {
                backup_redis(
                    &conn,
                    settings,
                    &store,
                    &id,
                    &mut manifest,
                    asked,
                    &mut redactor,
                    reporter,
                    &stop,
                )
                .await
            }
            PartKind::Resources => {
                backup_resources(
                    &conn,
                    settings,
                    &store,
                    &id,
                    &mut manifest,
                    &mut redactor,
                    reporter,
                    &stop,
                )
                .await
            }
        };
        let mut outcome = outcome.timed(part_started.elapsed());
        if let Some(m) = outcome.message.take() {
            outcome.message = Some(redactor.scrub(&m).into_owned());
        }
        redactor.scrub_lines(&mut outcome.details);
        reporter.part_finished(&outcome);
        report.parts.push(outcome);
    }
    let failed: Vec<String> = report
        .parts
        .iter()
        .filter(|p| p.status == PartStatus::Failed)
        .map(|p| p.part.to_string())
        .collect();
    if stop.is_stopped() {
        fail(
            &mut report,
            stopped_failure(&stop, "no manifest was written: this is not a backup"),
        );
    } else if !failed.is_empty() {
        fail(
            &mut report,
            Failure::failed(format!(
                "the {} part{} failed; no manifest was written: {} is not a backup",
                failed.join(", "),
                if failed.len() == 1 { "" } else { "s" },
                id
            )),
        );
    } else {
        let finished = Timestamp::now();
        manifest.finished_at = finished.to_string();
        manifest.duration_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        match store
            .put_small(&env.name, &id, MANIFEST_FILE, manifest.to_json())
            .await
        {
            Ok(()) => {
                report.manifest = true;
                reporter.status(
                    "Backed up",
                    &format!(
                        "{} ({}, {} part(s)) to {}",
                        id,
                        crate::human::bytes(manifest.size()),
                        manifest.parts.len(),
                        store.describe(&env.name, &id)
                    ),
                );
            }
            Err(e) => fail(
                &mut report,
                Failure::failed(format!("writing the manifest: {e}; {id} is not a backup")),
            ),
        }
        if report.manifest && settings.prune {
            match super::prune::prune_store(&store, env, false).await {
                Ok(deleted) => {
                    for d in &deleted {
                        reporter.status("Pruned", d);
                    }
                    report.pruned = deleted;
                }
                Err(e) => reporter.warn(&format!("pruning old backups: {e}")),
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Runs one part's upload: `work` streams into the upload; committed on
/// success, aborted on failure or stop.
macro_rules! with_upload {
    ($store:expr, $env:expr, $id:expr, $part:expr, $stop:expr, |$upload:ident| $work:expr) => {{
        match $store.upload($env, $id, $part.file()).await {
            Err(e) => Err(PartOutcome::failed($part, e.to_string(), Vec::new())),
            Ok(mut $upload) => {
                let result = tokio::select! {
                    r = $work => Some(r),
                    _ = $stop.stopped() => None,
                };
                match result {
                    None => {
                        $upload.abort().await;
                        Err(PartOutcome::failed(
                            $part,
                            format!(
                                "stopped: {}",
                                $stop.reason().map(|r| r.to_string()).unwrap_or_default()
                            ),
                            Vec::new(),
                        ))
                    }
                    Some(Err((message, details))) => {
                        $upload.abort().await;
                        Err(PartOutcome::failed($part, message, details))
                    }
                    Some(Ok(value)) => match $upload.commit().await {
                        Ok(()) => Ok(value),
                        Err(e) => Err(PartOutcome::failed($part, e.to_string(), Vec::new())),
                    },
                }
            }
        }
    }};
}

fn entry(part: PartKind, file: &str, written: &stream::Written, encoding: &str) -> PartEntry {
    PartEntry {
        part,
        file: file.to_string(),
        size: written.size,
        sha256: written.sha256.clone(),
        raw_size: written.raw,
        encoding: encoding.to_string(),
    }
}

fn done(part: PartKind, e: &PartEntry) -> PartOutcome {
    PartOutcome {
        file: Some(e.file.clone()),
        size: e.size,
        raw_size: e.raw_size,
        sha256: Some(e.sha256.clone()),
        ..PartOutcome::new(part, PartStatus::Done)
    }
}

#[allow(clippy::too_many_arguments)]
async fn backup_postgres(
    conn: &Connection,
    env: &Environment,
    store: &Store,
    id: &BackupId,
    manifest: &mut Manifest,
    stall: Duration,
    deadline: Duration,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> PartOutcome {
    let part = PartKind::Postgres;
    let ns = &env.namespace.name;
    match env.data.postgres.placement {
        Placement::InCluster => match in_cluster_target(conn, ns, "postgres").await {
            Ok(target) => {
                dump_postgres(
                    &target, None, env, store, id, manifest, stall, reporter, stop,
                )
                .await
            }
            Err(e) => PartOutcome::failed(part, e.to_string(), Vec::new()),
        },
        Placement::Managed => {
            let toolbox =
                match start_toolbox(conn, env, &format!("backup {id}"), deadline, reporter, stop)
                    .await
                {
                    Ok(t) => t,
                    Err(f) => return PartOutcome::failed(part, f.message, f.details),
                };
            let source = format!(
                "{} to {}:{}",
                toolbox.describe(),
                env.data.postgres.host,
                env.data.postgres.port
            );
            let outcome = dump_postgres(
                &toolbox.target(),
                Some(source),
                env,
                store,
                id,
                manifest,
                stall,
                reporter,
                stop,
            )
            .await;
            finish_toolbox(toolbox, ns, reporter).await;
            outcome
        }
    }
}

/// pg_dump in `target` into the store; `source` (a toolbox) replaces the
/// manifest's `exec in pod/…`.
#[allow(clippy::too_many_arguments)]
async fn dump_postgres(
    target: &Target,
    source: Option<String>,
    env: &Environment,
    store: &Store,
    id: &BackupId,
    manifest: &mut Manifest,
    stall: Duration,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> PartOutcome {
    let part = PartKind::Postgres;
    reporter.part_started(part, &format!("pg_dump in pod/{}", target.pod));
    let db = database(env);
    let result = with_upload!(store, &env.name, id, part, stop, |upload| async {
        postgres::dump(target, &db, &mut upload, stall, reporter)
            .await
            .map_err(|e| (format!("{e}"), e.details()))
    });
    match result {
        Ok((written, mut facts)) => {
            if let Some(source) = source {
                facts.source = source;
            }
            let e = entry(part, part.file(), &written, "zstd");
            let outcome = done(part, &e);
            manifest.parts.push(e);
            manifest.postgres = Some(facts);
            outcome
        }
        Err(outcome) => outcome,
    }
}

#[allow(clippy::too_many_arguments)]
async fn backup_redis(
    conn: &Connection,
    settings: &BackupSettings,
    store: &Store,
    id: &BackupId,
    manifest: &mut Manifest,
    asked: bool,
    redactor: &mut Redactor,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> PartOutcome {
    let part = PartKind::Redis;
    let (env, stall, location) = (
        &settings.env,
        settings.stall_timeout,
        &settings.store.location,
    );
    let ns = &env.namespace.name;
    let target = match env.data.redis.placement {
        Placement::InCluster => match in_cluster_target(conn, ns, "redis").await {
            Ok(t) => t,
            Err(e) => return PartOutcome::failed(part, e.to_string(), Vec::new()),
        },
        Placement::Managed => {
            return export_redis(
                env,
                settings.redis_export_container.as_ref(),
                store,
                location,
                id,
                manifest,
                asked,
                redactor,
                reporter,
                stop,
            )
            .await;
        }
    };
    reporter.part_started(part, &format!("redis-cli --rdb in pod/{}", target.pod));
    let port = env.data.redis.port;
    let result = with_upload!(store, &env.name, id, part, stop, |upload| async {
        redis::dump(&target, port, &mut upload, stall, reporter)
            .await
            .map_err(|e| (format!("{e}"), e.details()))
    });
    match result {
        Ok((written, facts)) => {
            let e = entry(part, part.file(), &written, "zstd");
            let outcome = done(part, &e);
            manifest.parts.push(e);
            manifest.redis = Some(facts);
            outcome
        }
        Err(outcome) => outcome,
    }
}

/// Managed Redis: `az redis export` into a blob container (the SAS URL
/// of `FINTECHCTL_REDIS_EXPORT_SAS_URL`, else of the Azure store's own
/// container), its result recorded in the manifest and in
/// `redis.export.json`. Without a container to export to, the part is
/// skipped with a warning, or fails when it was asked for.
#[allow(clippy::too_many_arguments)]
async fn export_redis(
    env: &Environment,
    given: Option<&redis_export::Container>,
    store: &Store,
    location: &Location,
    id: &BackupId,
    manifest: &mut Manifest,
    asked: bool,
    redactor: &mut Redactor,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> PartOutcome {
    let part = PartKind::Redis;
    let container = match given {
        Some(container) => Ok(container.clone()),
        None => match location {
            Location::Azure {
                account: Some(account),
                container,
                ..
            } => redis_export::generate_sas(account, container).await,
            _ => Err(redis_export::ExportError::NoContainer(format!(
                "managed Redis ({}) is exported by Azure (`az redis export`) into a blob container, and the backup store {} is not one: set {} to a container SAS URL",
                env.data.redis.host,
                store.display(),
                redis_export::SAS_URL_VAR
            ))),
        },
    };
    let container = match container {
        Ok(c) => c,
        Err(redis_export::ExportError::NoContainer(message)) if !asked => {
            reporter.warn(&format!("{message}; the redis part is skipped"));
            return PartOutcome {
                message: Some(message),
                ..PartOutcome::new(part, PartStatus::Skipped)
            };
        }
        Err(e) => return PartOutcome::failed(part, e.to_string(), e.details()),
    };
    // The SAS is a credential: scrubbed from everything shown from now on.
    redactor.extend([container.sas.as_str(), container.sas_url().as_str()]);
    if let Some(sig) = container
        .sas
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
    {
        redactor.extend([sig]);
    }
    reporter.learn(redactor);
    let prefix = store.object_path(&env.name, id, "redis");
    reporter.part_started(
        part,
        &format!(
            "az redis export of {} to {}/{prefix}",
            env.data.redis.host, container.url
        ),
    );
    let ran = tokio::select! {
        r = redis_export::export(env, &container, &prefix, redis_export::EXPORT_TIMEOUT) => Some(r),
        _ = stop.stopped() => None,
    };
    let mut record: RedisExport = match ran {
        None => {
            return PartOutcome::failed(
                part,
                format!(
                    "stopped: {}; `az redis export` was killed (an export Azure already accepted may still complete)",
                    stop.reason().map(|r| r.to_string()).unwrap_or_default()
                ),
                Vec::new(),
            );
        }
        Some(Err(e)) => return PartOutcome::failed(part, e.to_string(), e.details()),
        Some(Ok(r)) => r,
    };
    redactor.scrub_lines(&mut record.stderr);
    redactor.scrub_lines(&mut record.command);
    if record.exit_code != Some(0) {
        return PartOutcome::failed(
            part,
            match record.exit_code {
                Some(code) => format!("az redis export exited with code {code}"),
                None => "az redis export did not finish".to_string(),
            },
            record.stderr.clone(),
        );
    }
    let mut json = serde_json::to_vec_pretty(&record).unwrap_or_default();
    json.push(b'\n');
    let sha = {
        use sha2::Digest;
        stream::hex(&sha2::Sha256::digest(&json))
    };
    let size = json.len() as u64;
    if let Err(e) = store
        .put_small(&env.name, id, redis_export::EXPORT_FILE, json)
        .await
    {
        return PartOutcome::failed(part, e.to_string(), Vec::new());
    }
    let e = PartEntry {
        part,
        file: redis_export::EXPORT_FILE.to_string(),
        size,
        sha256: sha,
        raw_size: size,
        encoding: "json".to_string(),
    };
    let mut outcome = done(part, &e);
    outcome.message = Some(format!("exported by Azure to {}/{prefix}", container.url));
    manifest.parts.push(e);
    manifest.redis_export = Some(record);
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn backup_resources(
    conn: &Connection,
    settings: &BackupSettings,
    store: &Store,
    id: &BackupId,
    manifest: &mut Manifest,
    redactor: &mut Redactor,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> PartOutcome {
    let part = PartKind::Resources;
    let env = &settings.env;
    reporter.part_started(
        part,
        &format!("the objects of namespace {}", env.namespace.name),
    );
    let (objects, secrets) = match resources::collect(&conn.client, &env.namespace.name).await {
        Ok(found) => found,
        Err(e) => {
            return PartOutcome::failed(
                part,
                format!(
                    "listing the namespace's objects: {}",
                    crate::cluster::api_message(&e)
                ),
                Vec::new(),
            );
        }
    };
    // No Secret's value is stored in plain text: not in a ConfigMap's data,
    // an annotation or an env value either.
    for s in &secrets {
        redactor.learn_secret(s);
    }
    let mut objects = objects;
    let redacted = resources::scrub(&mut objects, redactor);
    if !redacted.is_empty() {
        reporter.warn(&format!(
            "secret values redacted from {} (kept in plain text they would be readable by anyone with the backup): {}",
            if redacted.len() == 1 { "an object" } else { "objects" },
            redacted.join(", ")
        ));
    }
    let yaml = resources::to_yaml(&objects);
    let result = with_upload!(store, &env.name, id, part, stop, |upload| async {
        stream::compress_into(
            yaml.as_bytes(),
            &mut upload,
            "resources",
            settings.stall_timeout,
            reporter,
        )
        .await
        .map_err(|e: StreamError| (e.to_string(), Vec::new()))
    });
    let written = match result {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    let e = entry(part, part.file(), &written, "zstd");
    let mut outcome = done(part, &e);
    manifest.parts.push(e);
    let names: Vec<String> = secrets
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    if !secrets.is_empty() {
        if settings.recipients.is_empty() {
            reporter.warn(&format!(
                "no backup.recipients: the {} Secret(s) are listed by name only, not kept ({})",
                names.len(),
                names.join(", ")
            ));
        } else {
            let plain = resources::to_yaml(&secrets);
            let sealed = match settings.recipients.encrypt(plain.as_bytes()) {
                Ok(s) => s,
                Err(e) => {
                    return PartOutcome::failed(
                        part,
                        format!("encrypting the Secrets: {e}"),
                        Vec::new(),
                    );
                }
            };
            drop(plain);
            let sha = {
                use sha2::Digest;
                stream::hex(&sha2::Sha256::digest(&sealed))
            };
            let size = sealed.len() as u64;
            if let Err(e) = store.put_small(&env.name, id, SECRETS_FILE, sealed).await {
                return PartOutcome::failed(part, e.to_string(), Vec::new());
            }
            manifest.parts.push(PartEntry {
                part,
                file: SECRETS_FILE.to_string(),
                size,
                sha256: sha,
                raw_size: size,
                encoding: "age".to_string(),
            });
            outcome.size += size;
        }
    }
    manifest.resources = Some(ResourcesFacts {
        objects: objects.len(),
        secrets: names,
        recipients: settings.recipients.keys(),
        redacted,
    });
    outcome
}
