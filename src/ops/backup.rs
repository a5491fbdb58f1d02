//! `backup`, `backup list`, `backup verify`, `backup prune`: the parts
//! taken one after another, each streamed into the store under a temporary
//! name and committed only when whole, the manifest written last and only
//! when every part asked for succeeded; a backup that failed is visibly
//! not a backup (no manifest: `list` shows it incomplete, `restore` refuses
//! it, `prune` deletes it after a day).

use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::backup::exec::Target;
use crate::backup::id::{BackupId, BackupRef};
use crate::backup::manifest::{FORMAT_VERSION, LiveRelease, Manifest, PartEntry, ResourcesFacts};
use crate::backup::redis_export::{self, RedisExport};
use crate::backup::store::{Listed, Location, Store, StoreError};
use crate::backup::stream::{self, StreamError};
use crate::backup::toolbox::{self, Toolbox, ToolboxError};
use crate::backup::{
    MANIFEST_FILE, PartKind, Progress, SECRETS_FILE, STARTED_FILE, VERIFIED_FILE, postgres, redis,
    resources,
};
use crate::cluster::connect::Connection;
use crate::cluster::exec::ExecError;
use crate::cluster::records::ReleaseHistory;
use crate::environment::{Environment, Placement};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::{
    BackupListSettings, BackupPruneSettings, BackupSettings, BackupVerifySettings,
};

use super::Reporter;
use super::connect::connect_for_writing;
use super::pipeline::ReportError;

/// What a backup, verify or restore reports: words, progress, and the
/// secret values it learns (to scrub from everything shown from then on).
pub trait BackupReporter: Reporter + Progress {
    fn part_started(&self, part: PartKind, what: &str);
    fn part_finished(&self, outcome: &PartOutcome);
    /// Secret values read from the cluster: scrub them from all output.
    fn learn(&self, redactor: &Redactor);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartStatus {
    Done,
    Failed,
    Skipped,
}

/// One part of a backup, a verification or a restore.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartOutcome {
    pub part: PartKind,
    pub status: PartStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Bytes stored.
    pub size: u64,
    /// Bytes before compression.
    pub raw_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(serialize_with = "crate::cluster::serialize_secs")]
    pub elapsed: Duration,
    /// Raw bytes per second.
    pub bytes_per_second: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl PartOutcome {
    pub fn new(part: PartKind, status: PartStatus) -> Self {
        Self {
            part,
            status,
            file: None,
            size: 0,
            raw_size: 0,
            sha256: None,
            elapsed: Duration::ZERO,
            bytes_per_second: 0,
            message: None,
            details: Vec::new(),
        }
    }

    fn failed(part: PartKind, message: impl Into<String>, details: Vec<String>) -> Self {
        Self {
            message: Some(message.into()),
            details,
            ..Self::new(part, PartStatus::Failed)
        }
    }

    fn timed(mut self, elapsed: Duration) -> Self {
        self.elapsed = elapsed;
        let secs = elapsed.as_secs_f64().max(0.001);
        self.bytes_per_second = (self.raw_size as f64 / secs) as u64;
        self
    }
}

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

pub fn store_failure(e: StoreError) -> Failure {
    Failure::new(ExitStatus::Unreachable, e.to_string())
}

/// The exec target of the in-cluster data store `app` (container `app`).
pub async fn in_cluster_target(
    conn: &Connection,
    namespace: &str,
    app: &str,
) -> Result<Target, ExecError> {
    let pod =
        crate::cluster::exec::ready_pod(&conn.client, namespace, &format!("app={app}")).await?;
    Ok(Target {
        client: conn.client.clone(),
        namespace: namespace.to_string(),
        pod,
        container: Some(app.to_string()),
    })
}

pub fn database(env: &Environment) -> postgres::Database {
    postgres::Database {
        user: env.data.postgres.user.clone(),
        database: env.data.postgres.database.clone(),
    }
}

/// How long a toolbox pod may live (`activeDeadlineSeconds`): the
/// command's timeout and some room for the cleanup, within bounds.
pub fn toolbox_deadline(timeout: Duration) -> Duration {
    (timeout + Duration::from_secs(300))
        .clamp(Duration::from_secs(600), Duration::from_secs(86_400))
}

/// Starts the toolbox pod managed PostgreSQL is reached through: the
/// leftovers of crashed runs swept first (said on stderr), then the pod
/// and its NetworkPolicy, running and version-checked.
pub async fn start_toolbox(
    conn: &Connection,
    env: &Environment,
    purpose: &str,
    deadline: Duration,
    reporter: &dyn BackupReporter,
    stop: &Stop,
) -> Result<Toolbox, Failure> {
    let ns = &env.namespace.name;
    let fail = |e: ToolboxError| match e {
        ToolboxError::Stopped { .. } => stopped_failure(stop, "the toolbox pod was removed"),
        e => Failure::new(ExitStatus::Failed, e.to_string()).with_details(e.details()),
    };
    match toolbox::sweep(&conn.client, ns).await {
        Ok(removed) => {
            for l in removed {
                reporter.warn(&format!(
                    "removed a leftover toolbox {} of an earlier run (run {}{}): {}",
                    if l.pod.starts_with('(') {
                        l.pod.clone()
                    } else {
                        format!("pod/{}", l.pod)
                    },
                    l.run_id,
                    if l.purpose.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", l.purpose)
                    },
                    l.why
                ));
            }
        }
        Err(e) => return Err(fail(e)),
    }
    let plan = toolbox::Plan::new(env, purpose, deadline);
    reporter.status(
        "Toolbox",
        &format!(
            "starting pod/{} ({}) for managed PostgreSQL {}:{}",
            plan.pod_name(),
            plan.image,
            env.data.postgres.host,
            env.data.postgres.port
        ),
    );
    let started = toolbox::start(&conn.client, env, &plan, stop)
        .await
        .map_err(fail)?;
    reporter.status(
        "Toolbox",
        &format!(
            "pod/{} running: pg_dump {}, server {}",
            started.pod,
            started.client_major,
            toolbox::server_major(started.server_version_num)
        ),
    );
    Ok(started)
}

/// Removes a toolbox pod and its NetworkPolicy, saying so (or what to do
/// by hand when it cannot).
pub async fn finish_toolbox(toolbox: Toolbox, namespace: &str, reporter: &dyn BackupReporter) {
    let pod = toolbox.pod.clone();
    match toolbox.remove().await {
        Ok(()) => reporter.status("Removed", &format!("toolbox pod/{pod} and its NetworkPolicy")),
        Err(e) => reporter.warn(&format!(
            "removing the toolbox: {e}; delete it by hand: kubectl -n {namespace} delete pod,networkpolicy -l {}",
            toolbox::TOOLBOX_LABEL
        )),
    }
}

/// Learns every Secret value of the namespace into `redactor` and hands
/// it to the reporter: dumps' stderr and API errors are shown scrubbed.
pub async fn learn_secrets(
    conn: &Connection,
    namespace: &str,
    redactor: &mut Redactor,
    reporter: &dyn BackupReporter,
) {
    if super::shared::learn_secrets(&conn.client, namespace, redactor)
        .await
        .is_ok()
    {
        reporter.learn(redactor);
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

fn stopped_failure(stop: &Stop, whereabouts: &str) -> Failure {
    Failure::stopped(stop, whereabouts)
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
            Failure::new(
                ExitStatus::Failed,
                format!(
                    "the {} part{} failed; no manifest was written: {} is not a backup",
                    failed.join(", "),
                    if failed.len() == 1 { "" } else { "s" },
                    id
                ),
            ),
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
                Failure::new(
                    ExitStatus::Failed,
                    format!("writing the manifest: {e}; {id} is not a backup"),
                ),
            ),
        }
        if report.manifest && settings.prune {
            match prune_store(&store, env, false).await {
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

// ---- list ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListedStatus {
    Complete,
    Verified,
    Incomplete,
    /// A manifest that cannot be read.
    Corrupt,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedBackup {
    pub id: String,
    /// When it started (RFC 3339).
    pub time: String,
    pub size: u64,
    pub parts: Vec<String>,
    pub status: ListedStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListReport {
    pub environment: String,
    pub store: String,
    pub backups: Vec<ListedBackup>,
}

fn listed(l: &Listed) -> ListedBackup {
    let (status, problem, parts, version) = match &l.manifest {
        None => (
            ListedStatus::Incomplete,
            Some("no manifest: not a backup".to_string()),
            PartKind::ALL
                .iter()
                .filter(|p| l.objects.iter().any(|(n, _)| n == p.file()))
                .map(|p| p.to_string())
                .collect(),
            None,
        ),
        Some(Err(e)) => (
            ListedStatus::Corrupt,
            Some(format!("manifest: {e}")),
            Vec::new(),
            None,
        ),
        Some(Ok(m)) => {
            let mut parts: Vec<String> = m.parts.iter().map(|p| p.part.to_string()).collect();
            parts.dedup();
            (
                if l.verified.is_some() {
                    ListedStatus::Verified
                } else {
                    ListedStatus::Complete
                },
                None,
                parts,
                m.release.as_ref().map(|r| r.version.clone()),
            )
        }
    };
    ListedBackup {
        id: l.id.to_string(),
        time: l.id.time().to_string(),
        size: l.size(),
        parts,
        status,
        version,
        problem,
    }
}

pub async fn list(settings: &BackupListSettings) -> Result<ListReport, Failure> {
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let found = store
        .list(&settings.env.name)
        .await
        .map_err(store_failure)?;
    Ok(ListReport {
        environment: settings.env.name.clone(),
        store: store.display().to_string(),
        backups: found.iter().map(listed).collect(),
    })
}

/// The backup `reference` names, from the store's listing.
pub async fn find(store: &Store, env: &str, reference: &BackupRef) -> Result<Listed, Failure> {
    let found = store.list(env).await.map_err(store_failure)?;
    let hit = match reference {
        BackupRef::Latest => found.into_iter().find(|l| l.complete().is_some()),
        BackupRef::Id(id) => found.into_iter().find(|l| &l.id == id),
    };
    // A well-formed id that names no backup is bad input (2), like an
    // unknown environment; `latest` with nothing complete is a failure (1).
    hit.ok_or_else(|| {
        Failure::new(
            match reference {
                BackupRef::Latest => ExitStatus::Failed,
                BackupRef::Id(_) => ExitStatus::Invalid,
            },
            match reference {
                BackupRef::Latest => format!("{env} has no complete backup in {}", store.display()),
                BackupRef::Id(id) => format!(
                    "no backup {id} of {env} in {} (see `fintechctl backup list {env}`)",
                    store.display()
                ),
            },
        )
    })
}

/// The manifest of a complete backup, or why it is not one.
pub fn require_complete(listed: &Listed) -> Result<Manifest, Failure> {
    match &listed.manifest {
        Some(Ok(m)) => Ok(m.clone()),
        Some(Err(e)) => Err(Failure::new(
            ExitStatus::Failed,
            format!(
                "backup {}: its manifest cannot be read ({e}); refusing to use it",
                listed.id
            ),
        )),
        None => Err(Failure::new(
            ExitStatus::Failed,
            format!(
                "backup {} is incomplete (no manifest: it failed or was interrupted); refusing to use it",
                listed.id
            ),
        )),
    }
}

// ---- verify -------------------------------------------------------------

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
        return Err(Failure::new(
            ExitStatus::Failed,
            format!(
                "backup {id} is damaged: {} object(s) do not match the manifest",
                bad.len()
            ),
        )
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
        n = postgres::list_archive(target, store, &env.name, id, entry, &super::backup::NoProgressReporter) => n,
        _ = stop.stopped() => return Err(stopped_failure(stop, "nothing was changed")),
    };
    let n = listed.map_err(|e| {
        Failure::new(
            ExitStatus::Failed,
            format!("pg_restore --list of {}: {e}", entry.file),
        )
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
            return Err(Failure::new(
                ExitStatus::Failed,
                format!("the restore drill of {id} does not match its manifest"),
            )
            .with_details(mismatches));
        }
    }
    Ok(())
}

/// Progress nobody watches (a listing read through pg_restore).
pub struct NoProgressReporter;

impl Progress for NoProgressReporter {
    fn progress(&self, _: &str, _: u64, _: u64, _: Duration) {}
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
        Failure::new(ExitStatus::Failed, format!("{what}: {e}")).with_details(e.details())
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

// ---- prune --------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub environment: String,
    pub store: String,
    pub dry_run: bool,
    pub retention_days: u32,
    pub deleted: Vec<String>,
    pub kept: Vec<String>,
}

/// Which backups prune deletes at `now`: complete ones older than
/// `retention_days`, incomplete ones older than a day — never the newest
/// complete one.
pub fn expired(found: &[Listed], retention_days: u32, now: Timestamp) -> Vec<BackupId> {
    let newest_complete = found
        .iter()
        .filter(|l| l.complete().is_some())
        .map(|l| l.id.clone())
        .max();
    let age = |l: &Listed| now.as_second() - l.id.time().as_second();
    found
        .iter()
        .filter(|l| Some(&l.id) != newest_complete.as_ref())
        .filter(|l| {
            if l.complete().is_some() {
                age(l) > i64::from(retention_days) * 86_400
            } else {
                age(l) > 86_400
            }
        })
        .map(|l| l.id.clone())
        .collect()
}

async fn prune_store(
    store: &Store,
    env: &Environment,
    dry_run: bool,
) -> Result<Vec<String>, StoreError> {
    let found = store.list(&env.name).await?;
    let doomed = expired(&found, env.backup.retention_days, Timestamp::now());
    let mut deleted = Vec::new();
    for id in doomed {
        if !dry_run {
            store.delete(&env.name, &id).await?;
        }
        deleted.push(id.to_string());
    }
    Ok(deleted)
}

pub async fn prune(settings: &BackupPruneSettings) -> Result<PruneReport, Failure> {
    let store = Store::open(&settings.store).map_err(store_failure)?;
    let deleted = prune_store(&store, &settings.env, settings.dry_run)
        .await
        .map_err(store_failure)?;
    let kept = store
        .list(&settings.env.name)
        .await
        .map_err(store_failure)?
        .into_iter()
        .map(|l| l.id.to_string())
        .filter(|id| !deleted.contains(id) || settings.dry_run && !deleted.contains(id))
        .collect();
    Ok(PruneReport {
        environment: settings.env.name.clone(),
        store: store.display().to_string(),
        dry_run: settings.dry_run,
        retention_days: settings.env.backup.retention_days,
        deleted,
        kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, complete: bool) -> Listed {
        Listed {
            id: BackupId::parse(id).unwrap(),
            objects: Vec::new(),
            manifest: complete.then(|| {
                Ok(Manifest {
                    format_version: 1,
                    id: id.into(),
                    environment: "local".into(),
                    namespace: "ns".into(),
                    started_at: String::new(),
                    finished_at: String::new(),
                    duration_seconds: 0.0,
                    created_by: String::new(),
                    fintechctl_version: String::new(),
                    release: None,
                    parts: Vec::new(),
                    postgres: None,
                    redis: None,
                    resources: None,
                    redis_export: None,
                })
            }),
            verified: None,
        }
    }

    #[test]
    fn prune_never_deletes_the_newest_complete_backup() {
        let now: Timestamp = "2026-12-31T00:00:00Z".parse().unwrap();
        let found = vec![
            listed("20261230T000000Z-000003", false), // incomplete, 1 day old: kept
            listed("20261201T000000Z-000002", true),  // newest complete, 30 days: kept
            listed("20261101T000000Z-000001", true),  // old complete: deleted
            listed("20261020T000000Z-000004", false), // old incomplete: deleted
        ];
        let doomed: Vec<String> = expired(&found, 7, now)
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            doomed,
            ["20261101T000000Z-000001", "20261020T000000Z-000004"]
        );
        // Only incomplete ones besides the newest complete: that one stays.
        let found = vec![listed("20250101T000000Z-000001", true)];
        assert!(expired(&found, 1, now).is_empty());
    }
}
