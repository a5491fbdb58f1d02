//! PostgreSQL: `pg_dump --format=custom` inside the database's pod (or the
//! toolbox pod), streamed out through exec and compressed on the fly, with
//! the row counts and the alembic revision read in the very snapshot the
//! dump uses (a `psql` session exports it, `pg_dump --snapshot` dumps it);
//! and back: `pg_restore --clean --if-exists --single-transaction` fed
//! through exec stdin.

use std::collections::BTreeMap;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::Progress;
use super::exec::{Ended, Target};
use super::manifest::{PostgresFacts, TableRows};
use super::store::{Store, StoreError, Upload};
use super::stream::{self, StreamError, Written};
use crate::cluster::exec::ExecError;

/// Who connects to which database (the environment's `data.postgres`).
#[derive(Debug, Clone)]
pub struct Database {
    pub user: String,
    pub database: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} exited with code {code}")]
    Command {
        what: String,
        code: i32,
        stderr: Vec<String>,
    },
    #[error("{0}")]
    Protocol(String),
    /// The connection to pg_restore was lost after the whole dump had been
    /// sent: whether it committed is for the caller to find out.
    #[error("pod/{pod}: {message} after the whole dump was sent to pg_restore")]
    LostAfterFeed { pod: String, message: String },
}

impl PgError {
    /// The command's last stderr lines, for the error's details.
    pub fn details(&self) -> Vec<String> {
        match self {
            PgError::Command { stderr, .. } => stderr.clone(),
            _ => Vec::new(),
        }
    }
}

/// The shell prelude every command runs with: the password from the
/// pod's own environment (never from fintechctl's command line).
const PRELUDE: &str = "if [ -n \"${POSTGRES_PASSWORD:-}\" ] && [ -z \"${PGPASSWORD:-}\" ]; then export PGPASSWORD=\"$POSTGRES_PASSWORD\"; fi; ";

fn sh(script: &str, args: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("{PRELUDE}{script}"),
        "fintechctl".to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// Row counts of every user table, one JSON array per line.
const COUNT_TABLES: &str = "SELECT 'table ' || json_build_array(n.nspname, c.relname, \
 (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint)::text \
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
 ORDER BY n.nspname, c.relname;";

/// The alembic revision, when the table exists.
const ALEMBIC: &str = "SELECT 'alembic ' || coalesce((xpath('/row/v/text()', query_to_xml('select string_agg(version_num, '','' order by version_num) as v from alembic_version', false, true, '')))[1]::text, '') \
 WHERE to_regclass('alembic_version') IS NOT NULL;";

/// What the facts queries printed.
#[derive(Debug, Default)]
struct Facts {
    snapshot: Option<String>,
    version: String,
    alembic: Option<String>,
    tables: Vec<TableRows>,
}

impl Facts {
    fn take(&mut self, line: &str) -> Result<bool, PgError> {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "snapshot" => self.snapshot = Some(rest.to_string()),
            "version" => self.version = rest.to_string(),
            "alembic" => self.alembic = Some(rest.to_string()).filter(|s| !s.is_empty()),
            "table" => {
                let (schema, table, rows): (String, String, i64) = serde_json::from_str(rest)
                    .map_err(|e| {
                        PgError::Protocol(format!("unexpected row count line `{line}`: {e}"))
                    })?;
                self.tables.push(TableRows {
                    schema,
                    table,
                    rows,
                });
            }
            "end" => return Ok(true),
            _ => {}
        }
        Ok(false)
    }
}

/// Dumps the database into `upload`: a snapshot exported by a `psql`
/// session (row counts and alembic revision read in it), `pg_dump
/// --snapshot` of it streamed out, compressed and hashed. The exit status of
/// pg_dump comes from the Status channel; anything but 0 is an error with
/// its stderr.
pub async fn dump(
    target: &Target,
    db: &Database,
    upload: &mut Upload,
    stall: std::time::Duration,
    progress: &dyn Progress,
) -> Result<(Written, PostgresFacts), PgError> {
    let mut session = target
        .start(
            &sh(
                "exec psql -X -q -A -t -v ON_ERROR_STOP=1 -U \"$1\" -d \"$2\"",
                &[&db.user, &db.database],
            ),
            true,
        )
        .await?;
    let mut stdin = session
        .stdin
        .take()
        .ok_or_else(|| PgError::Protocol("the psql session has no stdin".into()))?;
    let stdout = session
        .stdout
        .take()
        .ok_or_else(|| PgError::Protocol("the psql session has no stdout".into()))?;
    let script = format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n\
         SELECT 'snapshot ' || pg_export_snapshot();\n\
         SELECT 'version ' || current_setting('server_version');\n\
         {ALEMBIC}\n{COUNT_TABLES}\nSELECT 'end';\n"
    );
    let mut facts = Facts::default();
    let mut lines = BufReader::new(stdout).lines();
    let wrote = stdin.write_all(script.as_bytes()).await;
    let mut complete = false;
    if wrote.is_ok() {
        while let Ok(Some(line)) = lines.next_line().await {
            if facts.take(line.trim_end())? {
                complete = true;
                break;
            }
        }
    }
    if !complete {
        drop(stdin);
        drop(lines);
        let ended = session.finish().await?;
        return Err(PgError::Command {
            what: "psql (exporting the snapshot)".into(),
            code: ended.code,
            stderr: ended.stderr_lines(20),
        });
    }
    let snapshot = facts
        .snapshot
        .clone()
        .ok_or_else(|| PgError::Protocol("psql exported no snapshot".into()))?;

    // The dump, while the session keeps the snapshot open.
    let result = async {
        let mut dump = target
            .start(
                &sh(
                    "exec pg_dump --format=custom --compress=0 --no-password --lock-wait-timeout=30s --snapshot=\"$3\" -U \"$1\" -d \"$2\"",
                    &[&db.user, &db.database, &snapshot],
                ),
                false,
            )
            .await?;
        let stdout = dump
            .stdout
            .take()
            .ok_or_else(|| PgError::Protocol("pg_dump has no stdout".into()))?;
        let streamed = stream::compress_into(stdout, upload, "postgres", stall, progress).await;
        let written = match streamed {
            Ok(w) => w,
            Err(e) => {
                dump.abort();
                return Err(e.into());
            }
        };
        let ended = dump.finish().await?;
        command_ok("pg_dump", &ended)?;
        Ok::<Written, PgError>(written)
    }
    .await;

    // End the snapshot's transaction whatever happened.
    let _ = stdin.write_all(b"COMMIT;\n\\q\n").await;
    let _ = stdin.shutdown().await;
    drop(stdin);
    drop(lines);
    if result.is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), session.finish()).await;
    } else {
        session.abort();
    }

    let written = result?;
    Ok((
        written,
        PostgresFacts {
            server_version: facts.version,
            database: db.database.clone(),
            alembic_revision: facts.alembic,
            tables: facts.tables,
            source: format!("exec in pod/{}", target.pod),
        },
    ))
}

fn command_ok(what: &str, ended: &Ended) -> Result<(), PgError> {
    if ended.code == 0 {
        Ok(())
    } else {
        Err(PgError::Command {
            what: what.to_string(),
            code: ended.code,
            stderr: ended.stderr_lines(20),
        })
    }
}

/// The live database's row counts and alembic revision (no snapshot: for
/// comparing after a restore or a drill), in `database` (default: the
/// environment's).
pub async fn facts(
    target: &Target,
    db: &Database,
    database: Option<&str>,
) -> Result<(Option<String>, Vec<TableRows>), PgError> {
    let script = format!("{ALEMBIC}\n{COUNT_TABLES}\nSELECT 'end';\n");
    let (out, ended) = target
        .capture(
            &sh(
                "exec psql -X -q -A -t -v ON_ERROR_STOP=1 -U \"$1\" -d \"$2\"",
                &[&db.user, database.unwrap_or(&db.database)],
            ),
            Some(script.as_bytes()),
            16 * 1024 * 1024,
        )
        .await?;
    command_ok("psql", &ended)?;
    let mut facts = Facts::default();
    for line in String::from_utf8_lossy(&out).lines() {
        facts.take(line.trim_end())?;
    }
    Ok((facts.alembic, facts.tables))
}

/// How many sessions of pg_restore are connected to `database` (default:
/// the environment's) right now: a restore whose connection was lost may
/// still be running in the database.
pub async fn restore_sessions(
    target: &Target,
    db: &Database,
    database: Option<&str>,
) -> Result<u64, PgError> {
    let (out, ended) = target
        .capture(
            &sh(
                "exec psql -X -q -A -t -v ON_ERROR_STOP=1 -U \"$1\" -d \"$2\" -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore' AND datname = current_database() AND pid <> pg_backend_pid()\"",
                &[&db.user, database.unwrap_or(&db.database)],
            ),
            None,
            64 * 1024,
        )
        .await?;
    command_ok("psql", &ended)?;
    String::from_utf8_lossy(&out)
        .trim()
        .parse()
        .map_err(|_| PgError::Protocol("psql: a session count that is not a number".into()))
}

/// Runs one SQL statement (CREATE / DROP DATABASE for drills) against the
/// `postgres` maintenance database.
pub async fn admin(target: &Target, db: &Database, sql: &str) -> Result<(), PgError> {
    let (_, ended) = target
        .capture(
            &sh(
                "exec psql -X -q -v ON_ERROR_STOP=1 -U \"$1\" -d postgres -c \"$2\"",
                &[&db.user, sql],
            ),
            None,
            64 * 1024,
        )
        .await?;
    command_ok("psql", &ended)
}

/// `pg_restore --list` of a stored dump, streamed through exec stdin:
/// whether the archive's table of contents reads, and how many entries.
/// pg_restore prints the table of contents while the dump still flows in,
/// and may end before reading all of it: the feed then stops (the
/// session's stdin says the command exited), and the exit status decides.
pub async fn list_archive(
    target: &Target,
    store: &Store,
    env: &str,
    id: &super::id::BackupId,
    entry: &super::manifest::PartEntry,
    progress: &dyn Progress,
) -> Result<usize, PgError> {
    let mut running = target
        .start(&sh("exec pg_restore --list", &[]), true)
        .await?;
    let mut stdin = running
        .stdin
        .take()
        .ok_or_else(|| PgError::Protocol("pg_restore has no stdin".into()))?;
    let stdout = running.stdout.take();
    let count = async {
        let mut n = 0usize;
        if let Some(stdout) = stdout {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.starts_with(';') && !line.trim().is_empty() {
                    n += 1;
                }
            }
        }
        n
    };
    let feed = async {
        let stream = store.read_stream(env, id, &entry.file).await?;
        // pg_restore --list stops reading after the table of contents: a
        // closed stdin then is not an error of the backup.
        match stream::decompress_into(
            stream,
            &mut stdin,
            &entry.file,
            entry.size,
            &entry.sha256,
            progress,
        )
        .await
        {
            Ok(_) | Err(StreamError::Sink(_)) => Ok(()),
            Err(e) => Err(PgError::from(e)),
        }
    };
    let (fed, n) = super::exec::feed_and_drain(feed, count).await;
    drop(stdin);
    let ended = running.finish().await?;
    command_ok("pg_restore --list", &ended)?;
    // Cut short: pg_restore read the table of contents and ended.
    if let Some(fed) = fed {
        fed?;
    }
    Ok(n)
}

/// Restores a stored dump into `database` (default: the environment's):
/// `pg_restore --clean --if-exists --single-transaction --exit-on-error`
/// reading the decompressed dump from exec stdin, checksum checked on the
/// way (the last chunk held back until it matched).
#[allow(clippy::too_many_arguments)]
pub async fn restore(
    target: &Target,
    db: &Database,
    database: Option<&str>,
    clean: bool,
    store: &Store,
    env: &str,
    id: &super::id::BackupId,
    entry: &super::manifest::PartEntry,
    progress: &dyn Progress,
) -> Result<u64, PgError> {
    let flags = if clean { "--clean --if-exists " } else { "" };
    let mut running = target
        .start(
            &sh(
                &format!(
                    "exec pg_restore {flags}--single-transaction --exit-on-error --no-owner --no-acl --no-password -U \"$1\" -d \"$2\""
                ),
                &[&db.user, database.unwrap_or(&db.database)],
            ),
            true,
        )
        .await?;
    let mut stdin = running
        .stdin
        .take()
        .ok_or_else(|| PgError::Protocol("pg_restore has no stdin".into()))?;
    // pg_restore prints nothing on stdout; read it so it never blocks.
    let stdout = running.stdout.take();
    let drain = async {
        if let Some(mut stdout) = stdout {
            let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
        }
    };
    let feed = async {
        let stream = store.read_stream(env, id, &entry.file).await?;
        stream::decompress_into(
            stream,
            &mut stdin,
            &entry.file,
            entry.size,
            &entry.sha256,
            progress,
        )
        .await
        .map_err(PgError::from)
    };
    let (fed, ()) = super::exec::feed_and_drain(feed, drain).await;
    // The dump's last chunk is sent only once every byte before it matched
    // its checksum, so a feed that did not finish never gave pg_restore a
    // whole dump: in one transaction, it committed nothing. A connection
    // lost then is said as such (the database is as it was), not as an
    // unknown outcome.
    let not_fed_whole = |e: PgError| match e {
        PgError::Exec(ExecError::Lost { pod, message }) => PgError::Protocol(format!(
            "pod/{pod}: {message} while the dump was fed; pg_restore never received all of it and, running in one transaction (--single-transaction), committed nothing: the database is as it was before the restore"
        )),
        other => other,
    };
    match fed {
        // The command stopped reading: its exit status and stderr say why.
        Some(Err(PgError::Stream(StreamError::Sink(_)))) | None => {
            drop(stdin);
            let ended = running
                .finish()
                .await
                .map_err(|e| not_fed_whole(e.into()))?;
            command_ok("pg_restore", &ended)?;
            Err(PgError::Protocol(
                "pg_restore ended before it read the whole dump".into(),
            ))
        }
        Some(Err(e)) => {
            // Never let a restore from bytes that failed their check complete.
            running.abort();
            Err(not_fed_whole(e))
        }
        Some(Ok(n)) => {
            drop(stdin);
            let ended = running.finish().await.map_err(|e| match e {
                ExecError::Lost { pod, message } => PgError::LostAfterFeed { pod, message },
                other => PgError::from(other),
            })?;
            command_ok("pg_restore", &ended)?;
            Ok(n)
        }
    }
}

/// Tables whose row counts differ: `schema.table: expected N, found M`.
pub fn compare_tables(expected: &[TableRows], found: &[TableRows]) -> Vec<String> {
    let key = |t: &TableRows| (t.schema.clone(), t.table.clone());
    let found: BTreeMap<_, _> = found.iter().map(|t| (key(t), t.rows)).collect();
    let mut out = Vec::new();
    for t in expected {
        match found.get(&key(t)) {
            Some(rows) if *rows == t.rows => {}
            Some(rows) => out.push(format!(
                "{}.{}: {} row(s) in the backup, {rows} restored",
                t.schema, t.table, t.rows
            )),
            None => out.push(format!(
                "{}.{}: missing after the restore",
                t.schema, t.table
            )),
        }
    }
    out
}
