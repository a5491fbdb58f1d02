//! The migration's SQL without touching the database: alembic's offline
//! mode in Jobs derived from the release's migration Job (same image,
//! environment, security settings; run, watched and read by
//! [`super::migration::run_job`]), each deleted afterwards.
//!
//! The live schema revision (`<from>` of `alembic upgrade <from>:head
//! --sql`) is what `alembic heads` says in a Job with the **live**
//! api-gateway image: the head of the code that runs now, which is the
//! database's revision once that release's migration ran. It needs no
//! database connection and no record written by an earlier fintechctl.
//! It is wrong when the database is not at the live code's head (a
//! migration that failed or was skipped with `--skip-migrations`, a
//! manual upgrade or downgrade): alembic then prints the SQL from the
//! live head, which is still what this release adds on top of the code
//! that runs. Several heads (unmerged branches), no head, a failing or
//! slow Job: not checked, with the reason.

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use serde_json::{Value, json};

use super::diagnosis::Thresholds;
use super::migration::{self, MigrationError, MigrationOptions, MigrationReporter};
use crate::interrupt::Stop;
use crate::render::Manifest;

/// How long each offline Job may take (pulling the image included).
pub const JOB_DEADLINE: Duration = Duration::from_secs(300);

/// How long the cluster keeps a finished offline Job whose deletion failed.
pub const TTL_AFTER_FINISHED: u64 = 600;

/// The most output an offline Job may print before it is cut off (and the
/// migration counts as not checked).
pub const MAX_OUTPUT_BYTES: usize = 8 * 1024 * 1024;

/// The migration's SQL and the revision it starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSql {
    pub from: String,
    pub sql: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The SQL could not be had; the reason, in words.
    #[error("{0}")]
    NotChecked(String),
    /// The run was told to stop (Ctrl-C, SIGTERM, `--timeout`, a lost lock
    /// or API server) while a Job ran; it was deleted (best effort).
    #[error("stopped while Job/{0} was running")]
    Stopped(String),
}

/// The offline Jobs' names: the migration Job's with the step and the
/// run's id (two runs — a dry run beside a deploy — never share a Job),
/// shortened to fit a label value (63 characters).
pub fn job_name(migration_job: &str, step: &str) -> String {
    let suffix = format!("-{step}");
    let keep = 63usize.saturating_sub(suffix.len());
    let base: String = migration_job.chars().take(keep).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// Five lowercase hex digits, different for every run.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(7))
        .unwrap_or_default();
    format!(
        "{:05x}",
        (nanos ^ std::process::id().rotate_left(13)) & 0xfffff
    )
}

/// `alembic heads` with `live_image`, then `alembic upgrade <head>:head
/// --sql` with the migration Job's (new) image.
pub async fn offline_sql(
    client: &kube::Client,
    namespace: &str,
    migration_job: &Manifest,
    live_image: &str,
    stop: &Stop,
) -> Result<OfflineSql, OfflineError> {
    let id = run_id();
    let heads_job = derive(
        migration_job,
        &format!("heads-{id}"),
        Some(live_image),
        &["alembic", "heads"],
    );
    let heads = run(client, namespace, &heads_job, stop).await?;
    let from = single_head(&heads).map_err(OfflineError::NotChecked)?;
    let range = format!("{from}:head");
    let sql_job = derive(
        migration_job,
        &format!("sql-{id}"),
        None,
        &["alembic", "upgrade", &range, "--sql"],
    );
    let lines = run(client, namespace, &sql_job, stop).await?;
    Ok(OfflineSql {
        from,
        sql: sql_of(&lines),
    })
}

/// The migration Job with another name, command (and image), the offline
/// check's deadline, and a short `ttlSecondsAfterFinished` (it is deleted
/// at once; the TTL is the backstop when that delete fails). Its pods keep `app: db-migrate`, so the migration's
/// NetworkPolicy (PostgreSQL and DNS only) covers them where it exists.
pub fn derive(job: &Manifest, step: &str, image: Option<&str>, command: &[&str]) -> Manifest {
    let mut object = job.object.clone();
    let name = job_name(job.name(), step);
    object["metadata"]["name"] = json!(name);
    if let Some(labels) = object["metadata"]["labels"].as_object_mut() {
        labels.insert("fintechctl.io/migration-check".into(), json!(step));
    }
    if let Some(spec) = object["spec"].as_object_mut() {
        spec.insert("ttlSecondsAfterFinished".into(), json!(TTL_AFTER_FINISHED));
        spec.insert(
            "activeDeadlineSeconds".into(),
            json!(JOB_DEADLINE.as_secs()),
        );
    }
    if let Some(container) = object
        .pointer_mut("/spec/template/spec/containers/0")
        .and_then(Value::as_object_mut)
    {
        container.insert("command".into(), json!(command));
        container.remove("args");
        if let Some(image) = image {
            container.insert("image".into(), json!(image));
        }
    }
    Manifest::new(job.template.clone(), object)
}

/// Every line a Job printed, bounded by [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct Collect {
    lines: Mutex<(Vec<String>, usize, bool)>,
}

impl MigrationReporter for Collect {
    fn started(&self, _: &str) {}
    fn log_line(&self, line: &str) {
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if g.1 + line.len() > MAX_OUTPUT_BYTES {
            g.2 = true;
            return;
        }
        g.1 += line.len() + 1;
        g.0.push(line.to_string());
    }
}

/// Runs one offline Job to its end, deletes it, and returns its output.
async fn run(
    client: &kube::Client,
    namespace: &str,
    job: &Manifest,
    stop: &Stop,
) -> Result<Vec<String>, OfflineError> {
    let collect = Collect::default();
    let options = MigrationOptions {
        known_absent: false,
        rerun: true,
        timeout: JOB_DEADLINE,
        thresholds: Thresholds::default(),
    };
    let name = job.name().to_string();
    let outcome = tokio::select! {
        outcome = migration::run_job(client, namespace, job, &options, &collect) => Some(outcome),
        _ = stop.stopped() => None,
    };
    delete(client, namespace, &name).await;
    let Some(outcome) = outcome else {
        return Err(OfflineError::Stopped(name));
    };
    let outcome = outcome.map_err(|e| match e {
        MigrationError::Timeout { .. } => OfflineError::NotChecked(format!(
            "Job/{name} did not finish within {}",
            crate::human::duration(JOB_DEADLINE)
        )),
        other => OfflineError::NotChecked(other.to_string()),
    })?;
    let (lines, _, cut) = collect
        .lines
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if !outcome.succeeded {
        let why = match (outcome.exit_code, &outcome.reason) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(reason)) => reason.clone(),
            (None, None) => "failed".to_string(),
        };
        let last = outcome
            .last_lines
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .or(outcome.message.as_ref())
            .map(|l| format!(": {}", l.trim()))
            .unwrap_or_default();
        return Err(OfflineError::NotChecked(format!(
            "Job/{name} failed ({why}){last}"
        )));
    }
    if cut {
        return Err(OfflineError::NotChecked(format!(
            "Job/{name} printed more than {} MiB",
            MAX_OUTPUT_BYTES / 1024 / 1024
        )));
    }
    Ok(lines)
}

/// Deletes an offline Job and its pods, best effort, bounded (a stopped or
/// failed run still tries once; what remains is gone when its
/// `activeDeadlineSeconds` ends it and the next check of the same release
/// replaces it).
async fn delete(client: &kube::Client, namespace: &str, name: &str) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let params = kube::api::DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..Default::default()
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), jobs.delete(name, &params)).await;
}

/// The one revision `alembic heads` printed (`<rev> (head)`), or why not.
pub fn single_head(lines: &[String]) -> Result<String, String> {
    let heads: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            let l = l.trim();
            let rev = l.strip_suffix("(head)")?.trim();
            (!rev.is_empty() && rev.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then_some(rev)
        })
        .collect();
    match heads.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(format!(
            "`alembic heads` in the live api-gateway image printed no head{}",
            lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(" (last line: {})", l.trim()))
                .unwrap_or_default()
        )),
        many => Err(format!(
            "the live api-gateway image has {} alembic heads ({}): merge them first",
            many.len(),
            many.join(", ")
        )),
    }
}

/// The SQL in an offline run's output: alembic's log lines (`INFO  [alembic…]`,
/// on stderr, in the same pod log) left out.
pub fn sql_of(lines: &[String]) -> String {
    let mut sql = String::new();
    for line in lines {
        let is_log = ["INFO", "WARNI", "ERROR", "DEBUG", "CRITI"]
            .iter()
            .any(|level| {
                line.strip_prefix(level)
                    .is_some_and(|rest| rest.trim_start().starts_with('['))
            });
        if !is_log {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn one_head_is_the_live_revision() {
        let out = lines(
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n1a2b3c4d5e6f (head)\n",
        );
        assert_eq!(single_head(&out).unwrap(), "1a2b3c4d5e6f");
        let none = single_head(&lines("migrated\n")).unwrap_err();
        assert!(
            none.contains("printed no head") && none.contains("migrated"),
            "{none}"
        );
        let two = single_head(&lines("aaa (head)\nbbb (head)\n")).unwrap_err();
        assert!(two.contains("2 alembic heads (aaa, bbb)"), "{two}");
    }

    #[test]
    fn alembic_log_lines_are_not_sql() {
        let out = lines(
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Generating static SQL\nBEGIN;\n\nALTER TABLE a DROP COLUMN b;\n\nCOMMIT;\n",
        );
        assert_eq!(
            sql_of(&out),
            "BEGIN;\n\nALTER TABLE a DROP COLUMN b;\n\nCOMMIT;\n"
        );
    }

    #[test]
    fn offline_job_names_fit_a_label_value() {
        assert_eq!(
            job_name("db-migrate-1-4-3-abc", "sql-0a1b2"),
            "db-migrate-1-4-3-abc-sql-0a1b2"
        );
        let long = format!("db-migrate-{}-abcdef", "1".repeat(60));
        let name = job_name(&long, "heads-0a1b2");
        assert!(name.len() <= 63 && name.ends_with("-heads-0a1b2"), "{name}");
        assert_eq!(run_id().len(), 5);
    }

    #[test]
    fn the_offline_job_is_the_migration_job_with_another_command() {
        let job = Manifest::new(
            "migration.yaml",
            json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "db-migrate-1-4-3-abc", "labels": {"app.kubernetes.io/name": "db-migrate"}},
                "spec": {"ttlSecondsAfterFinished": 86400, "activeDeadlineSeconds": 900, "template": {"spec": {
                    "containers": [{"name": "db-migrate", "image": "r/api-gateway:1.4.3",
                        "command": ["alembic", "upgrade", "head"], "env": [{"name": "ENVIRONMENT", "value": "production"}]}]}}}
            }),
        );
        let heads = derive(
            &job,
            "heads",
            Some("r/api-gateway:1.4.2"),
            &["alembic", "heads"],
        );
        assert_eq!(heads.name(), "db-migrate-1-4-3-abc-heads");
        let c = &heads.object["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "r/api-gateway:1.4.2");
        assert_eq!(c["command"], json!(["alembic", "heads"]));
        assert_eq!(
            c["env"],
            job.object["spec"]["template"]["spec"]["containers"][0]["env"]
        );
        assert_eq!(heads.object["spec"]["ttlSecondsAfterFinished"], 600);
        assert_eq!(heads.object["spec"]["activeDeadlineSeconds"], 300);
        let sql = derive(
            &job,
            "sql",
            None,
            &["alembic", "upgrade", "a:head", "--sql"],
        );
        assert_eq!(
            sql.object["spec"]["template"]["spec"]["containers"][0]["image"],
            "r/api-gateway:1.4.3"
        );
    }
}
