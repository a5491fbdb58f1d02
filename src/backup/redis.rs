//! Redis: the RDB snapshot out through exec (`redis-cli --rdb -` inside the
//! Redis pod, so the file reaches fintechctl, not the container's disk),
//! compressed on the fly; and back: the RDB written in place of the
//! server's `dbfilename` (size checked before it replaces anything), then
//! `SHUTDOWN NOSAVE` so the container restarts and loads it, and the key
//! counts compared with the manifest's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Progress;
use super::exec::Target;
use super::manifest::{PartEntry, RedisFacts};
use super::store::{Store, StoreError, Upload};
use super::stream::{self, StreamError, Written};
use crate::cluster::exec::ExecError;

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
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
    Check(String),
}

impl RedisError {
    pub fn details(&self) -> Vec<String> {
        match self {
            RedisError::Command { stderr, .. } => stderr.clone(),
            _ => Vec::new(),
        }
    }
}

const PRELUDE: &str = "export REDISCLI_AUTH=\"${REDIS_PASSWORD:-}\"; port=\"$1\"; shift; \
cli() { redis-cli --no-auth-warning -h 127.0.0.1 -p \"$port\" \"$@\"; }; ";

fn sh(script: &str, port: u16, args: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("{PRELUDE}{script}"),
        "fintechctl".to_string(),
        port.to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// Server version and keys per database.
pub async fn facts(target: &Target, port: u16) -> Result<RedisFacts, RedisError> {
    let (out, ended) = target
        .capture(
            &sh("cli INFO server && cli INFO keyspace", port, &[]),
            None,
            1 << 20,
        )
        .await?;
    if ended.code != 0 {
        return Err(RedisError::Command {
            what: "redis-cli INFO".into(),
            code: ended.code,
            stderr: ended.stderr_lines(10),
        });
    }
    let text = String::from_utf8_lossy(&out);
    let mut facts = RedisFacts {
        source: format!("exec in pod/{}", target.pod),
        ..RedisFacts::default()
    };
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("redis_version:") {
            facts.server_version = v.to_string();
        } else if let Some((db, rest)) = line.split_once(':')
            && db.starts_with("db")
            && let Some(keys) = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("keys="))
                .and_then(|k| k.parse().ok())
        {
            facts.keys.insert(db.to_string(), keys);
        }
    }
    Ok(facts)
}

/// Streams the RDB into `upload`.
pub async fn dump(
    target: &Target,
    port: u16,
    upload: &mut Upload,
    stall: Duration,
    progress: &dyn Progress,
) -> Result<(Written, RedisFacts), RedisError> {
    let facts = facts(target, port).await?;
    let mut running = target
        .start(
            &sh(
                "exec redis-cli --no-auth-warning -h 127.0.0.1 -p \"$port\" --rdb -",
                port,
                &[],
            ),
            false,
        )
        .await?;
    let stdout = running
        .stdout
        .take()
        .ok_or_else(|| RedisError::Check("redis-cli has no stdout".into()))?;
    let streamed = stream::compress_into(stdout, upload, "redis", stall, progress).await;
    let written = match streamed {
        Ok(w) => w,
        Err(e) => {
            running.abort();
            return Err(e.into());
        }
    };
    let ended = running.finish().await?;
    if ended.code != 0 {
        return Err(RedisError::Command {
            what: "redis-cli --rdb".into(),
            code: ended.code,
            stderr: ended.stderr_lines(10),
        });
    }
    Ok((written, facts))
}

/// Replaces the server's data with the stored RDB and waits until it has
/// loaded it (the container restarts); returns the keys found afterwards.
#[allow(clippy::too_many_arguments)]
pub async fn restore(
    target: &Target,
    port: u16,
    store: &Store,
    env: &str,
    id: &super::id::BackupId,
    entry: &PartEntry,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<BTreeMap<String, u64>, RedisError> {
    let script = "set -e; \
[ \"$(cli CONFIG GET appendonly | tail -n 1)\" = no ] || { echo 'appendonly is on: the server would load its AOF, not the RDB; restore refused' >&2; exit 3; }; \
dir=\"$(cli CONFIG GET dir | tail -n 1)\"; file=\"$(cli CONFIG GET dbfilename | tail -n 1)\"; \
cli CONFIG SET save '' >/dev/null; \
tmp=\"$dir/.$file.fintechctl-restore\"; cat > \"$tmp\"; \
size=\"$(wc -c < \"$tmp\" | tr -d ' ')\"; \
if [ \"$size\" != \"$1\" ]; then rm -f \"$tmp\"; echo \"received $size of $1 bytes; nothing replaced\" >&2; exit 4; fi; \
mv \"$tmp\" \"$dir/$file\"";
    let raw = entry.raw_size.to_string();
    let mut running = target.start(&sh(script, port, &[&raw]), true).await?;
    let mut stdin = running
        .stdin
        .take()
        .ok_or_else(|| RedisError::Check("the restore has no stdin".into()))?;
    let stream_in = store.read_stream(env, id, &entry.file).await?;
    let stdout = running.stdout.take();
    let drain = async {
        if let Some(mut stdout) = stdout {
            let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
        }
    };
    let feed = stream::decompress_into(
        stream_in,
        &mut stdin,
        &entry.file,
        entry.size,
        &entry.sha256,
        progress,
    );
    // The script may end before reading (a refusal): stop feeding then.
    let (fed, ()) = super::exec::feed_and_drain(feed, drain).await;
    // (A feed that could not write means the script ended: its status says why.)
    if let Some(Err(e)) = fed
        && !matches!(e, StreamError::Sink(_))
    {
        running.abort();
        return Err(e.into());
    }
    drop(stdin);
    let ended = running.finish().await?;
    if ended.code != 0 {
        return Err(RedisError::Command {
            what: "writing the RDB".into(),
            code: ended.code,
            stderr: ended.stderr_lines(10),
        });
    }
    // The server must not save over the file on its way down.
    let _ = target
        .capture(&sh("cli SHUTDOWN NOSAVE", port, &[]), None, 4096)
        .await;
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok((out, ended)) = target.capture(&sh("cli PING", port, &[]), None, 4096).await
            && ended.code == 0
            && String::from_utf8_lossy(&out).contains("PONG")
        {
            break;
        }
        if started.elapsed() > timeout {
            return Err(RedisError::Check(format!(
                "Redis did not come back within {} after the restart",
                crate::human::duration(timeout)
            )));
        }
    }
    Ok(facts(target, port).await?.keys)
}
