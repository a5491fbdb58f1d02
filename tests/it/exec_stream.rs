//! The exec data path under load: hundreds of exec sessions against kube-sim
//! through the same client code backup and restore use, in the ways that
//! stalled or lost bytes before — a command that exits with its stdin unread,
//! a large stdin with output flowing back, output nobody reads, and a connection
//! cut midway. Every
//! session must end within its bound (0 stalls), a complete session must
//! deliver every byte (0 lost), and a cut one must say the connection was lost.

use crate::common;

use std::time::{Duration, Instant};

use fintechctl::backup::exec::{Target, feed_and_drain};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A session that has not ended after this long stalled.
const BOUND: Duration = Duration::from_secs(20);
/// The whole run (about 5 s when nothing stalls).
const TOTAL: Duration = Duration::from_secs(90);
/// Sessions at once.
const CONCURRENCY: usize = 8;

async fn target() -> (common::Cluster, Target) {
    let behaviors = kube_sim::Behaviors::from_yaml(
        "images:\n  - match: \"*\"\n    behavior: ready\n    readyAfter: 100ms\n",
    )
    .unwrap();
    let c = common::cluster(behaviors).await;
    c.sim
        .create(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "box-0", "namespace": "default"},
            "spec": {"containers": [{"name": "box", "image": "busybox:1"}]}}))
        .unwrap();
    let started = Instant::now();
    while c
        .get("v1", "Pod", "default", "box-0")
        .and_then(|p| p.pointer("/status/phase").cloned())
        != Some(serde_json::json!("Running"))
    {
        assert!(started.elapsed() < BOUND, "pod box-0 never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let target = Target {
        client,
        namespace: "default".into(),
        pod: "box-0".into(),
        container: None,
    };
    (c, target)
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Deterministic bytes that do not compress to nothing.
fn payload(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Feeds `input` (then EOF) while reading stdout to its end; returns what
/// was read, the feed's error if any, and the read's error if any.
async fn feed_and_read(
    running: &mut fintechctl::backup::exec::Running,
    input: &[u8],
) -> (Vec<u8>, Option<String>, Option<String>) {
    let mut stdin = running.stdin.take();
    let mut stdout = running.stdout.take().expect("stdout");
    let feed = async {
        if let Some(stdin) = stdin.as_mut() {
            for chunk in input.chunks(100_000) {
                stdin.write_all(chunk).await?;
            }
            stdin.shutdown().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let read = async {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    };
    let (fed, (out, read_error)) = feed_and_drain(feed, read).await;
    drop(stdin);
    let feed_error = fed.and_then(|r| r.err()).map(|e| e.to_string());
    (out, feed_error, read_error)
}

#[derive(Debug)]
enum Verdict {
    Ok,
    Stalled(String),
    Wrong(String),
}

async fn bounded(
    what: String,
    scenario: impl std::future::Future<Output = Result<(), String>>,
) -> Verdict {
    match tokio::time::timeout(BOUND, scenario).await {
        Err(_) => Verdict::Stalled(what),
        Ok(Ok(())) => Verdict::Ok,
        Ok(Err(e)) => Verdict::Wrong(format!("{what}: {e}")),
    }
}

/// The command writes `out` bytes and exits with `code` without reading
/// its stdin while 2 MiB are fed to it.
async fn early_exit(target: &Target, i: usize) -> Result<(), String> {
    let out = [0usize, 1, 70_000, 300_000][i % 4];
    let code = (i % 3) as i32;
    let mut running = target
        .start(&sh(&format!("head -c {out} /dev/zero; exit {code}")), true)
        .await
        .map_err(|e| e.to_string())?;
    let input = vec![b'x'; 2 * 1024 * 1024];
    let (got, feed_error, read_error) = feed_and_read(&mut running, &input).await;
    let ended = running.finish().await.map_err(|e| e.to_string())?;
    if let Some(e) = read_error {
        return Err(format!("reading stdout failed: {e}"));
    }
    if got.len() != out {
        return Err(format!("{} of {out} bytes", got.len()));
    }
    if ended.code != code {
        return Err(format!("exit code {} instead of {code}", ended.code));
    }
    // A feed cut short says why: the command exited.
    if let Some(e) = feed_error
        && !e.contains("the command exited")
    {
        return Err(format!("the feed failed with `{e}`"));
    }
    Ok(())
}

/// 1 MiB through `cat`, output flowing while the input is fed.
async fn round_trip(target: &Target, i: usize) -> Result<(), String> {
    let input = payload(1024 * 1024 + i, i as u64);
    let mut running = target
        .start(&sh("cat"), true)
        .await
        .map_err(|e| e.to_string())?;
    let (got, feed_error, read_error) = feed_and_read(&mut running, &input).await;
    let ended = running.finish().await.map_err(|e| e.to_string())?;
    if let Some(e) = feed_error.or(read_error) {
        return Err(e);
    }
    if got.len() != input.len() {
        return Err(format!("{} of {} bytes", got.len(), input.len()));
    }
    if got != input {
        return Err("the bytes differ".into());
    }
    if ended.code != 0 {
        return Err(format!("exit code {}", ended.code));
    }
    Ok(())
}

/// The caller reads none of 2 MB of output and asks for the exit status:
/// the output is dropped, the status comes.
async fn unread_output(target: &Target, i: usize) -> Result<(), String> {
    let code = (i % 2) as i32 * 5;
    let running = target
        .start(
            &sh(&format!("head -c 2000000 /dev/zero; exit {code}")),
            false,
        )
        .await
        .map_err(|e| e.to_string())?;
    let ended = running.finish().await.map_err(|e| e.to_string())?;
    if ended.code != code {
        return Err(format!("exit code {} instead of {code}", ended.code));
    }
    Ok(())
}

/// The connection is cut after 64 KiB of output (kube-sim's fault), while
/// stdin is fed: everything ends, and the error says the connection was lost.
async fn cut(target: &Target, _: usize) -> Result<(), String> {
    let mut running = target
        .start(
            &sh("cat >/dev/null & head -c 1000000 /dev/zero; wait"),
            true,
        )
        .await
        .map_err(|e| e.to_string())?;
    let input = vec![b'y'; 1024 * 1024];
    let (got, _, _) = feed_and_read(&mut running, &input).await;
    if got.len() > 64 * 1024 || got.iter().any(|b| *b != 0) {
        return Err(format!("{} bytes, not a prefix of the output", got.len()));
    }
    match running.finish().await {
        Ok(ended) => Err(format!("a cut session ended with code {}", ended.code)),
        Err(e)
            if e.to_string()
                .contains("the connection to the API server was lost") =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "the error does not say the connection was lost: {e}"
        )),
    }
}

async fn run_all<F, Fut>(target: &Target, name: &str, n: usize, scenario: F) -> Vec<Verdict>
where
    F: Fn(Target, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    futures::stream::iter(0..n)
        .map(|i| bounded(format!("{name} #{i}"), scenario(target.clone(), i)))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

async fn sessions(c: &common::Cluster, target: &Target) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    verdicts.extend(
        run_all(
            target,
            "early exit with unread stdin",
            240,
            |t, i| async move { early_exit(&t, i).await },
        )
        .await,
    );
    verdicts.extend(
        run_all(target, "1 MiB through cat", 60, |t, i| async move {
            round_trip(&t, i).await
        })
        .await,
    );
    verdicts.extend(
        run_all(target, "output left unread", 40, |t, i| async move {
            unread_output(&t, i).await
        })
        .await,
    );
    c.sim.faults().cut_exec_after(Some(64 * 1024));
    verdicts.extend(
        run_all(target, "cut connection", 60, |t, i| async move {
            cut(&t, i).await
        })
        .await,
    );
    c.sim.faults().cut_exec_after(None);
    verdicts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_exec_sessions_neither_stall_nor_lose_bytes() {
    let (c, target) = target().await;
    let started = Instant::now();
    let all = tokio::time::timeout(TOTAL, sessions(&c, &target)).await;
    c.sim.faults().cut_exec_after(None);
    let verdicts = all.unwrap_or_else(|_| {
        panic!("the sessions did not all end within {TOTAL:?}: exec sessions stall")
    });
    let pick = |stalled: bool| -> Vec<&str> {
        verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Stalled(what) if stalled => Some(what.as_str()),
                Verdict::Wrong(what) if !stalled => Some(what.as_str()),
                _ => None,
            })
            .collect()
    };
    let (stalled, wrong) = (pick(true), pick(false));
    assert!(
        stalled.is_empty() && wrong.is_empty(),
        "{} of {} sessions stalled, {} ended wrong (in {:?}):\n{}\n{}",
        stalled.len(),
        verdicts.len(),
        wrong.len(),
        started.elapsed(),
        stalled[..stalled.len().min(5)].join("\n"),
        wrong[..wrong.len().min(10)].join("\n"),
    );
    c.sim.shutdown().await;
}
