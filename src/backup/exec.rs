//! Commands run in a pod for a backup or a restore, with their streams:
//! stdout read as bytes (a dump), stdin written (a restore), stderr kept
//! (the last 64 KiB, for the error message), and the exit code taken from
//! the Status channel — a stream cut short has no Status and is a failure,
//! never a success.

use tokio::io::AsyncReadExt;

use crate::cluster::exec::{ExecError, ExecOutput, ExecStdin, Session, SessionParams};

/// How much of stderr is kept.
const STDERR_KEPT: usize = 64 * 1024;

/// Where commands run: a container of a pod.
#[derive(Clone)]
pub struct Target {
    pub client: kube::Client,
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pod/{}", self.pod)
    }
}

/// A command running in the target.
pub struct Running {
    session: Session,
    pub stdin: Option<ExecStdin>,
    pub stdout: Option<ExecOutput>,
    stderr: tokio::task::JoinHandle<String>,
}

/// How a command ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub code: i32,
    /// The end of its stderr.
    pub stderr: String,
}

impl Ended {
    /// The last lines of stderr, for an error's details.
    pub fn stderr_lines(&self, n: usize) -> Vec<String> {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
}

/// Feeds a command's stdin while draining its stdout, and stops feeding
/// when the command is gone (its stdout ended). A write to a command that
/// exited fails (and one to a lost connection too), but a feed may not see
/// its write fail at once (it may be waiting on its source): the end of
/// stdout ends it. Returns the feed's result (`None`: cut short because the
/// command ended) and the drain's. A feed that failed writing (a sink
/// error) is the command having ended too: its exit status says why.
pub async fn feed_and_drain<F, D>(feed: F, drain: D) -> (Option<F::Output>, D::Output)
where
    F: std::future::Future,
    D: std::future::Future,
{
    let mut feed = std::pin::pin!(feed);
    let mut drain = std::pin::pin!(drain);
    tokio::select! {
        fed = &mut feed => {
            let drained = drain.await;
            (Some(fed), drained)
        }
        drained = &mut drain => (None, drained),
    }
}

impl Target {
    /// Starts `command` (argv, no shell unless it is `sh -c …`).
    pub async fn start(&self, command: &[String], stdin: bool) -> Result<Running, ExecError> {
        let argv: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut session = Session::start(
            &self.client,
            &self.namespace,
            &self.pod,
            &argv,
            SessionParams {
                container: self.container.as_deref(),
                stdin,
                stderr: true,
            },
        )
        .await?;
        let stdin = session.stdin.take();
        let stdout = session.stdout.take();
        let stderr = session.stderr.take();
        let stderr = tokio::spawn(async move {
            let mut kept: Vec<u8> = Vec::new();
            if let Some(mut stderr) = stderr {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = stderr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > STDERR_KEPT * 2 {
                        kept.drain(..kept.len() - STDERR_KEPT);
                    }
                }
            }
            let start = kept.len().saturating_sub(STDERR_KEPT);
            String::from_utf8_lossy(&kept[start..]).into_owned()
        });
        Ok(Running {
            session,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Runs `command` to its end with `input` on stdin (none: stdin closed),
    /// returning its stdout (at most `limit` bytes kept) and how it ended.
    pub async fn capture(
        &self,
        command: &[String],
        input: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<u8>, Ended), ExecError> {
        use tokio::io::AsyncWriteExt;
        let mut running = self.start(command, input.is_some()).await?;
        let mut stdin = running.stdin.take();
        let mut stdout = running.stdout.take();
        let write = async {
            if let (Some(stdin), Some(input)) = (stdin.as_mut(), input) {
                let _ = stdin.write_all(input).await;
                let _ = stdin.shutdown().await;
            }
            drop(stdin);
        };
        let read = async {
            let mut out = Vec::new();
            if let Some(stdout) = stdout.as_mut() {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = stdout.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if out.len() < limit {
                        out.extend_from_slice(&buf[..n.min(limit - out.len())]);
                    }
                }
            }
            out
        };
        let (_, out) = feed_and_drain(write, read).await;
        let ended = running.finish().await?;
        Ok((out, ended))
    }
}

impl Running {
    /// Waits for the command's exit status; unread stdout is dropped, an
    /// unfinished stdin ends. Ends when the Status comes or the connection
    /// fails (an error saying so): never waits on a dead session.
    pub async fn finish(mut self) -> Result<Ended, ExecError> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        let outcome = self.session.outcome().await;
        // stderr ends with the outcome: everything before it is read.
        let stderr = (&mut self.stderr).await.unwrap_or_default();
        let code = crate::cluster::exec::outcome_code(&self.session.pod, outcome)?;
        Ok(Ended { code, stderr })
    }

    /// Ends the session without waiting (the remote command sees its
    /// streams close).
    pub fn abort(self) {
        self.stderr.abort();
        self.session.abort();
    }
}
