//! Commands run in a pod for a backup or a restore, with their streams:
//! stdout read as bytes (a dump), stdin written (a restore), stderr kept
//! (the last 64 KiB, for the error message), and the exit code taken from
//! the Status channel — a stream cut short has no Status and is a failure,
//! never a success.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, AttachedProcess};
use tokio::io::{AsyncReadExt, ReadHalf, SimplexStream, WriteHalf};

use crate::cluster::exec::{ExecError, exit_code};

/// Buffer between the websocket and the reader: large enough for
/// throughput, bounded for memory.
const STREAM_BUFFER: usize = 512 * 1024;
/// How long the exit Status may lag behind the end of the output.
const STATUS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
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
    pod: String,
    process: AttachedProcess,
    pub stdin: Option<WriteHalf<SimplexStream>>,
    pub stdout: Option<ReadHalf<SimplexStream>>,
    stderr: tokio::task::JoinHandle<String>,
    status: Option<
        std::pin::Pin<
            Box<
                dyn std::future::Future<
                        Output = Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
                    > + Send,
            >,
        >,
    >,
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

impl Target {
    /// Starts `command` (argv, no shell unless it is `sh -c …`).
    pub async fn start(&self, command: &[String], stdin: bool) -> Result<Running, ExecError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut params = AttachParams::default()
            .stdin(stdin)
            .stdout(true)
            .stderr(true)
            .max_stdout_buf_size(STREAM_BUFFER)
            .max_stdin_buf_size(STREAM_BUFFER)
            .max_stderr_buf_size(16 * 1024);
        if let Some(c) = &self.container {
            params = params.container(c.clone());
        }
        let mut process = pods
            .exec(&self.pod, command.iter().map(String::as_str), &params)
            .await
            .map_err(|source| ExecError::Api {
                action: "exec in",
                pod: self.pod.clone(),
                source,
            })?;
        let status = process
            .take_status()
            .map(|s| Box::pin(s) as std::pin::Pin<Box<_>>);
        let stdin = if stdin { process.stdin() } else { None };
        let stdout = process.stdout();
        let stderr = process.stderr();
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
            pod: self.pod.clone(),
            process,
            stdin,
            stdout,
            stderr,
            status,
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
        let ((), out) = futures::join!(write, read);
        let ended = running.finish().await?;
        Ok((out, ended))
    }
}

impl Running {
    /// Waits for the exit status (stdout should have been read to its end).
    pub async fn finish(mut self) -> Result<Ended, ExecError> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        // The Status follows the end of the output at once; a connection
        // lost without one is not waited for forever.
        let status = match self.status.take() {
            Some(status) => tokio::time::timeout(STATUS_WAIT, status)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let stderr = tokio::time::timeout(STATUS_WAIT, &mut self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        self.stderr.abort();
        if tokio::time::timeout(STATUS_WAIT, self.process.join())
            .await
            .is_err()
        {
            // join consumed the process; the session is dropped with it.
        }
        let code = exit_code(&self.pod, status)?;
        Ok(Ended { code, stderr })
    }

    /// Ends the session without waiting (the remote command sees its
    /// streams close).
    pub fn abort(self) {
        self.process.abort();
        self.stderr.abort();
    }
}
