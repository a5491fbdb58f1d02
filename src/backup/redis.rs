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
    /// The run was stopped; what state Redis is in.
    #[error("{0}")]
    Stopped(String),
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

/// The staged RDB beside the server's `dbfilename`, in the shell scripts
/// below (`$dir`, `$file` set from `CONFIG GET`).
const STAGED: &str = "\"$dir/.$file.fintechctl-restore\"";
const WHERE: &str = "dir=\"$(cli CONFIG GET dir | tail -n 1)\"; file=\"$(cli CONFIG GET dbfilename | tail -n 1)\"; ";

/// How long one step of the restore that runs in the pod (staging checks,
/// the cleanup, the switch-over) may take.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// Replaces the server's data with the stored RDB and waits until it has
/// loaded it (the container restarts); returns the keys found afterwards.
///
/// All or nothing: the RDB is first staged beside `dbfilename` without
/// touching the server (a stop or a failure then removes it: nothing was
/// replaced, `save` was never changed). The switch-over is one short
/// script in the pod that is never cut short from here: `save` turned off
/// (a background save must not write over the file), the previous RDB kept
/// aside, the staged one moved in place, `SHUTDOWN NOSAVE`; when the server
/// did not go down, the previous RDB and `save` are put back. After the
/// restart a stop ends the wait for the server, and the error says the
/// backup's RDB is in place.
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
    stop: &crate::interrupt::Stop,
) -> Result<BTreeMap<String, u64>, RedisError> {
    // 1. Staging: the server is not touched.
    let staged = tokio::select! {
        r = stage(target, port, store, env, id, entry, progress) => Some(r),
        _ = stop.stopped() => None,
    };
    match staged {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            let cleaned = remove_staged(target, port).await;
            return Err(match cleaned {
                Ok(()) => e,
                Err(why) => RedisError::Check(format!(
                    "{e}; removing the staged RDB also failed ({why}): remove .<dbfilename>.fintechctl-restore in Redis's dir by hand"
                )),
            });
        }
        None => {
            return Err(RedisError::Stopped(match remove_staged(target, port).await {
                Ok(()) => "nothing was replaced (the staged RDB was removed; `save` was never changed)".to_string(),
                Err(why) => format!(
                    "nothing was replaced (`save` was never changed), but removing the staged RDB failed ({why}): remove .<dbfilename>.fintechctl-restore in Redis's dir by hand"
                ),
            }));
        }
    }
    if stop.is_stopped() {
        return Err(RedisError::Stopped(
            match remove_staged(target, port).await {
                Ok(()) => {
                    "nothing was replaced (the staged RDB was removed; `save` was never changed)"
                        .to_string()
                }
                Err(why) => {
                    format!("nothing was replaced, but removing the staged RDB failed ({why})")
                }
            },
        ));
    }

    // 2. The switch-over: one script, run to its end whatever happens here.
    let switch = format!(
        "{WHERE}tmp={STAGED}; prev=\"$dir/.$file.fintechctl-previous\"; \
[ -f \"$tmp\" ] || {{ echo 'the staged RDB is gone; nothing was replaced' >&2; exit 5; }}; \
old=\"$(cli CONFIG GET save | tail -n 1)\"; \
putback() {{ cli CONFIG SET save \"$old\" >/dev/null; }}; \
cli CONFIG SET save '' >/dev/null || {{ rm -f \"$tmp\"; echo 'CONFIG SET save refused; nothing was replaced' >&2; exit 6; }}; \
i=0; while cli INFO persistence | grep -q '^rdb_bgsave_in_progress:1'; do \
  i=$((i+1)); if [ $i -gt 300 ]; then putback; rm -f \"$tmp\"; echo 'a background save did not finish within 30s; nothing was replaced, save put back' >&2; exit 6; fi; sleep 0.1; done; \
before=\"$(cli INFO server | grep '^run_id:')\"; \
rm -f \"$prev\"; if [ -e \"$dir/$file\" ]; then ln \"$dir/$file\" \"$prev\" || cp -p \"$dir/$file\" \"$prev\" || {{ putback; rm -f \"$tmp\"; echo 'cannot keep the previous RDB aside; nothing was replaced, save put back' >&2; exit 7; }}; fi; \
mv -f \"$tmp\" \"$dir/$file\" || {{ putback; rm -f \"$tmp\" \"$prev\"; echo 'moving the staged RDB in place failed; nothing was replaced, save put back' >&2; exit 7; }}; \
cli SHUTDOWN NOSAVE >/dev/null 2>&1; \
if [ -n \"$before\" ] && [ \"$(cli INFO server 2>/dev/null | grep '^run_id:')\" = \"$before\" ]; then \
  if [ -e \"$prev\" ]; then mv -f \"$prev\" \"$dir/$file\"; else rm -f \"$dir/$file\"; fi; putback; \
  echo 'Redis did not shut down (SHUTDOWN NOSAVE); the previous RDB and save were put back, nothing was replaced' >&2; exit 8; fi; \
rm -f \"$prev\"; echo switched"
    );
    let switched = tokio::time::timeout(
        STEP_DEADLINE,
        target.capture(&sh(&switch, port, &[]), None, 4096),
    )
    .await;
    match switched {
        Ok(Ok((out, ended)))
            if ended.code == 0 && String::from_utf8_lossy(&out).contains("switched") => {}
        Ok(Ok((_, ended))) if (5..=8).contains(&ended.code) => {
            // The script put everything back itself.
            return Err(RedisError::Command {
                what: "switching Redis to the restored RDB".into(),
                code: ended.code,
                stderr: ended.stderr_lines(10),
            });
        }
        Ok(Ok((_, ended))) => {
            return Err(RedisError::Check(format!(
                "the switch-over to the restored RDB ended with code {} ({}): Redis may have been shut down onto the backup's RDB or not; check CONFIG GET save, the keys, and .<dbfilename>.fintechctl-previous / -restore in Redis's dir",
                ended.code,
                ended.stderr_lines(3).join(" ")
            )));
        }
        Ok(Err(e)) => {
            return Err(RedisError::Check(format!(
                "the switch-over to the restored RDB could not be confirmed ({e}): check CONFIG GET save, the keys, and .<dbfilename>.fintechctl-previous / -restore in Redis's dir"
            )));
        }
        Err(_) => {
            return Err(RedisError::Check(format!(
                "the switch-over to the restored RDB did not answer within {}: check CONFIG GET save, the keys, and .<dbfilename>.fintechctl-previous / -restore in Redis's dir",
                crate::human::duration(STEP_DEADLINE)
            )));
        }
    }

    // 3. The restart: the server loads the backup's RDB.
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = stop.stopped() => {
                return Err(RedisError::Stopped(
                    "the backup's RDB is in place and Redis was shut down to load it; it had not answered yet: check `redis-cli PING` and its keys".to_string(),
                ));
            }
        }
        if let Ok(Ok((out, ended))) = tokio::time::timeout(
            Duration::from_secs(10),
            target.capture(&sh("cli PING", port, &[]), None, 4096),
        )
        .await
            && ended.code == 0
            && String::from_utf8_lossy(&out).contains("PONG")
        {
            break;
        }
        if started.elapsed() > timeout {
            return Err(RedisError::Check(format!(
                "Redis did not come back within {} after the restart; the backup's RDB is in place and it loads it when it starts",
                crate::human::duration(timeout)
            )));
        }
    }
    Ok(facts(target, port).await?.keys)
}

/// Streams the RDB, decompressed, into the staged file beside
/// `dbfilename` and checks its size; the server is not touched.
async fn stage(
    target: &Target,
    port: u16,
    store: &Store,
    env: &str,
    id: &super::id::BackupId,
    entry: &PartEntry,
    progress: &dyn Progress,
) -> Result<(), RedisError> {
    let script = format!(
        "set -e; \
[ \"$(cli CONFIG GET appendonly | tail -n 1)\" = no ] || {{ echo 'appendonly is on: the server would load its AOF, not the RDB; restore refused' >&2; exit 3; }}; \
{WHERE}tmp={STAGED}; cat > \"$tmp\"; \
size=\"$(wc -c < \"$tmp\" | tr -d ' ')\"; \
if [ \"$size\" != \"$1\" ]; then rm -f \"$tmp\"; echo \"received $size of $1 bytes; nothing replaced\" >&2; exit 4; fi"
    );
    let raw = entry.raw_size.to_string();
    let mut running = target.start(&sh(&script, port, &[&raw]), true).await?;
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
    Ok(())
}

/// Removes the staged RDB (bounded: a lost connection is said, not waited on).
async fn remove_staged(target: &Target, port: u16) -> Result<(), String> {
    let script = format!("{WHERE}rm -f {STAGED}");
    match tokio::time::timeout(
        STEP_DEADLINE,
        target.capture(&sh(&script, port, &[]), None, 4096),
    )
    .await
    {
        Ok(Ok((_, ended))) if ended.code == 0 => Ok(()),
        Ok(Ok((_, ended))) => Err(format!(
            "exit code {}: {}",
            ended.code,
            ended.stderr_lines(3).join(" ")
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {}",
            crate::human::duration(STEP_DEADLINE)
        )),
    }
}
