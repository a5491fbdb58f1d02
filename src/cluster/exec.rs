//! Running a command inside a pod through the exec API, its output streamed
//! line by line and its exit code taken from the Status the kubelet writes
//! on the status channel — never guessed from the stream: `kubectl exec`
//! can lose the end of a stream and still exit 0.
//!
//! The exec websocket is driven by [`Session`]: one task reads the server's
//! frames (stdout, stderr, the Status), another sends stdin, so output keeps
//! flowing while input is blocked and the other way round. Every read and
//! write of a session ends when the command's Status arrives or the
//! connection fails, and says which: a read after a lost connection is an
//! error naming it, a write after the command exited is an error saying the
//! command exited before reading all its input.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, SinkExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams, ListParams};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader, ReadBuf};
use tokio::io::{ReadHalf, SimplexStream, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no running and ready pod matches `{selector}` in namespace {namespace}")]
    NoReadyPod { selector: String, namespace: String },
    #[error("{action} pod/{pod}: {}", crate::cluster::api_message(source))]
    Api {
        action: &'static str,
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the exec stream of pod/{pod} ended without the command's exit status; the outcome is unknown"
    )]
    NoStatus { pod: String },
    #[error("pod/{pod}: exec failed: {message}")]
    Failed { pod: String, message: String },
    #[error("pod/{pod}: {message}; the command's outcome is unknown")]
    Lost { pod: String, message: String },
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A running, ready pod matching `selector`, preferring the newest.
pub async fn ready_pod(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Result<String, ExecError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|source| ExecError::Api {
            action: "listing",
            pod: selector.into(),
            source,
        })?;
    let mut ready: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.phase.as_deref() == Some("Running")
                    && s.conditions
                        .as_ref()
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
        })
        .collect();
    ready.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.clone()));
    ready
        .first()
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| ExecError::NoReadyPod {
            selector: selector.into(),
            namespace: namespace.into(),
        })
}

/// Runs `command` in `pod` (container `container`), calling `on_line` for
/// every output line, and returns the command's exit code.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    command: &[&str],
    on_line: &(dyn Fn(Stream, &str) + Send + Sync),
) -> Result<i32, ExecError> {
    let mut session = Session::start(
        client,
        namespace,
        pod,
        command,
        SessionParams {
            container,
            stdin: false,
            stderr: true,
        },
    )
    .await?;
    let stdout = session.stdout.take().map(|s| BufReader::new(s).lines());
    let stderr = session.stderr.take().map(|s| BufReader::new(s).lines());
    let pump = |lines: Option<tokio::io::Lines<BufReader<ExecOutput>>>, which: Stream| async move {
        if let Some(mut lines) = lines {
            while let Ok(Some(line)) = lines.next_line().await {
                on_line(which, &line);
            }
        }
    };
    futures::join!(pump(stdout, Stream::Stdout), pump(stderr, Stream::Stderr));
    session.wait().await
}

/// How a session ended: the command's Status, or the connection failing
/// (or closing) before one came.
#[derive(Debug, Clone)]
pub enum Outcome {
    Exited(Box<Status>),
    Lost(String),
}

impl Outcome {
    /// Said to a writer whose input nobody will read any more.
    fn write_refused(&self) -> io::Error {
        match self {
            Outcome::Exited(status) => io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!(
                    "the command exited ({}) before reading all its input",
                    exit_words(status)
                ),
            ),
            Outcome::Lost(message) => {
                io::Error::new(io::ErrorKind::ConnectionAborted, message.clone())
            }
        }
    }
}

/// `code 3`, `code 0`, or the Status's message.
fn exit_words(status: &Status) -> String {
    match exit_code("", Some(status.clone())) {
        Ok(code) => format!("code {code}"),
        Err(_) => status
            .message
            .clone()
            .unwrap_or_else(|| "with an unknown status".into()),
    }
}

type OutcomeFuture = Shared<BoxFuture<'static, Outcome>>;

/// The first outcome set wins; later ones are dropped.
#[derive(Clone)]
struct OutcomeSetter(Arc<Mutex<Option<oneshot::Sender<Outcome>>>>);

impl OutcomeSetter {
    fn new() -> (Self, OutcomeFuture) {
        let (tx, rx) = oneshot::channel();
        let future = async move {
            rx.await.unwrap_or_else(|_| {
                Outcome::Lost(
                    "the exec session was abandoned before the command's exit status".into(),
                )
            })
        }
        .boxed()
        .shared();
        (Self(Arc::new(Mutex::new(Some(tx)))), future)
    }
    fn set(&self, outcome: Outcome) {
        let tx = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = tx {
            let _ = tx.send(outcome);
        }
    }
}

/// Frames queued per output stream between the websocket and its reader
/// (a frame holds up to a few dozen KiB): bounded, so a slow reader slows
/// the command down instead of filling memory.
const OUTPUT_FRAMES: usize = 16;
/// How long a session whose Status came waits for the server's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Buffer between a stdin writer and the websocket.
const STDIN_BUFFER: usize = 256 * 1024;

/// An exec session's stdout or stderr. Ends (EOF) once the command's
/// Status came and everything before it was read; fails naming the cause
/// when the connection was lost first.
pub struct ExecOutput {
    rx: mpsc::Receiver<Bytes>,
    chunk: Bytes,
    outcome: OutcomeFuture,
}

impl AsyncRead for ExecOutput {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.chunk.is_empty() {
                let n = self.chunk.len().min(buf.remaining());
                let part = self.chunk.split_to(n);
                buf.put_slice(&part);
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(bytes)) => self.chunk = bytes,
                // The senders are dropped only after the outcome is set.
                Poll::Ready(None) => {
                    return match self.outcome.poll_unpin(cx) {
                        Poll::Ready(Outcome::Exited(_)) => Poll::Ready(Ok(())),
                        Poll::Ready(Outcome::Lost(message)) => Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            message,
                        ))),
                        Poll::Pending => Poll::Pending,
                    };
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// An exec session's stdin. Shut it down (or drop it) for the command to
/// see the end of its input; a write after the command exited or the
/// connection was lost fails saying which.
pub struct ExecStdin {
    inner: WriteHalf<SimplexStream>,
    outcome: OutcomeFuture,
}

impl AsyncWrite for ExecStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(outcome) = self.outcome.poll_unpin(cx) {
            return Poll::Ready(Err(outcome.write_refused()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for ExecStdin {
    fn drop(&mut self) {
        // A simplex pipe's shutdown never waits: the command sees EOF.
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let _ = Pin::new(&mut self.inner).poll_shutdown(&mut cx);
    }
}

/// A command running in a pod over the exec websocket.
pub struct Session {
    pub pod: String,
    pub stdin: Option<ExecStdin>,
    pub stdout: Option<ExecOutput>,
    pub stderr: Option<ExecOutput>,
    outcome: OutcomeFuture,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Session {
    /// A session dropped before its outcome is abandoned (the connection
    /// dropped); after it, its tasks finish the websocket's closing
    /// handshake (bounded) on their own.
    fn drop(&mut self) {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        if self.outcome.poll_unpin(&mut cx).is_pending() {
            for t in &self.tasks {
                t.abort();
            }
        }
    }
}

/// What a session is started with.
#[derive(Debug, Clone, Default)]
pub struct SessionParams<'a> {
    pub container: Option<&'a str>,
    pub stdin: bool,
    pub stderr: bool,
}

impl Session {
    /// Starts `command` in `pod` (argv; no shell unless it is `sh -c …`).
    pub async fn start(
        client: &kube::Client,
        namespace: &str,
        pod: &str,
        command: &[&str],
        params: SessionParams<'_>,
    ) -> Result<Session, ExecError> {
        let api_error = |source: kube::Error| ExecError::Api {
            action: "exec in",
            pod: pod.into(),
            source,
        };
        let mut ap = AttachParams::default()
            .stdin(params.stdin)
            .stdout(true)
            .stderr(params.stderr);
        if let Some(c) = params.container {
            ap = ap.container(c);
        }
        let url = <Pod as kube::Resource>::url_path(&(), Some(namespace));
        let mut request = kube::core::Request::new(url)
            .exec(pod, command.iter().copied(), &ap)
            .map_err(|e| api_error(kube::Error::BuildRequest(e)))?;
        request.extensions_mut().insert("exec");
        let connection = client.connect(request).await.map_err(api_error)?;
        let v5 = connection.supports_stream_close();
        let (sink, stream) = connection.into_stream().split();

        let (setter, outcome) = OutcomeSetter::new();
        let (stdout_tx, stdout_rx) = mpsc::channel(OUTPUT_FRAMES);
        let (stderr_tx, stderr_rx) = if params.stderr {
            let (tx, rx) = mpsc::channel(OUTPUT_FRAMES);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let mut tasks = Vec::new();
        let (stdin, sink) = if params.stdin {
            let (from_caller, to_caller) = tokio::io::simplex(STDIN_BUFFER);
            tasks.push(tokio::spawn(send_stdin(
                sink,
                from_caller,
                v5,
                outcome.clone(),
                setter.clone(),
            )));
            let stdin = ExecStdin {
                inner: to_caller,
                outcome: outcome.clone(),
            };
            (Some(stdin), None)
        } else {
            (None, Some(sink))
        };
        tasks.push(tokio::spawn(read_frames(
            stream,
            sink,
            Some(stdout_tx),
            stderr_tx,
            setter,
        )));
        let output = |rx| ExecOutput {
            rx,
            chunk: Bytes::new(),
            outcome: outcome.clone(),
        };
        Ok(Session {
            pod: pod.into(),
            stdin,
            stdout: Some(output(stdout_rx)),
            stderr: stderr_rx.map(output),
            outcome: outcome.clone(),
            tasks,
        })
    }

    /// Resolves when the command's Status came or the connection ended.
    pub fn outcome(&self) -> impl std::future::Future<Output = Outcome> + Send + 'static {
        self.outcome.clone()
    }

    /// Waits for the outcome (unread output is dropped) and turns it into
    /// the command's exit code.
    pub async fn wait(mut self) -> Result<i32, ExecError> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        drop(self.stderr.take());
        let outcome = self.outcome.clone().await;
        outcome_code(&self.pod, outcome)
    }

    /// Ends the session at once: the connection is dropped.
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The exit code an outcome stands for, or the error saying why there is
/// none.
pub fn outcome_code(pod: &str, outcome: Outcome) -> Result<i32, ExecError> {
    match outcome {
        Outcome::Exited(status) => exit_code(pod, Some(*status)),
        Outcome::Lost(message) => Err(ExecError::Lost {
            pod: pod.into(),
            message,
        }),
    }
}

type WsError = tokio_tungstenite::tungstenite::Error;

/// Reads the server's frames into the output channels until the Status
/// comes or the connection ends, sets the outcome, ends the outputs, and
/// after a Status reads on until the server's close frame (answered by
/// the websocket layer) so the connection closes cleanly.
async fn read_frames<S, K>(
    mut stream: S,
    sink: Option<K>,
    mut stdout: Option<mpsc::Sender<Bytes>>,
    mut stderr: Option<mpsc::Sender<Bytes>>,
    setter: OutcomeSetter,
) where
    S: futures::Stream<Item = Result<Message, WsError>> + Unpin,
{
    // Without stdin the connection's write side is kept here, so it closes
    // with the reading.
    let _sink = sink;
    async fn forward(slot: &mut Option<mpsc::Sender<Bytes>>, bytes: Bytes) {
        if let Some(tx) = slot
            && tx.send(bytes).await.is_err()
        {
            // Nobody reads this stream any more: the rest is dropped.
            *slot = None;
        }
    }
    let outcome = loop {
        match stream.next().await {
            Some(Ok(Message::Binary(frame))) if !frame.is_empty() => match frame[0] {
                1 => forward(&mut stdout, frame.slice(1..)).await,
                2 => forward(&mut stderr, frame.slice(1..)).await,
                3 => {
                    break match serde_json::from_slice::<Status>(&frame[1..]) {
                        Ok(status) => Outcome::Exited(Box::new(status)),
                        Err(e) => Outcome::Lost(format!(
                            "the API server sent an exit status that does not read as a Status ({e})"
                        )),
                    };
                }
                _ => {}
            },
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| format!(" ({} {})", u16::from(f.code), f.reason))
                    .unwrap_or_default();
                break Outcome::Lost(format!(
                    "the API server closed the exec connection{why} without the command's exit status"
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                break Outcome::Lost(format!("the connection to the API server was lost ({e})"));
            }
            None => {
                break Outcome::Lost(
                    "the connection to the API server was lost (it closed without the command's exit status)"
                        .into(),
                );
            }
        }
    };
    let exited = matches!(outcome, Outcome::Exited(_));
    setter.set(outcome);
    drop(stdout);
    drop(stderr);
    if exited {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Sends what the caller writes to stdin as channel-0 frames, and the end
/// of stdin as the v5 close signal, until the outcome is known.
async fn send_stdin<K>(
    mut sink: K,
    mut from_caller: ReadHalf<SimplexStream>,
    v5: bool,
    outcome: OutcomeFuture,
    setter: OutcomeSetter,
) where
    K: futures::Sink<Message, Error = WsError> + Unpin,
{
    let lost = |e: WsError| {
        Outcome::Lost(format!(
            "the connection to the API server was lost while sending the command's input ({e})"
        ))
    };
    let mut buf = vec![0u8; 64 * 1024];
    let sending = async {
        loop {
            let n: usize = from_caller.read(&mut buf[1..]).await.unwrap_or_default();
            if n == 0 {
                if v5 {
                    if let Err(e) = sink.send(Message::binary(vec![255u8, 0])).await {
                        setter.set(lost(e));
                    }
                } else if let Err(e) = sink.close().await {
                    // Without v5 the end of stdin can only be said by
                    // closing the websocket.
                    setter.set(lost(e));
                }
                break;
            }
            buf[0] = 0;
            if let Err(e) = sink.send(Message::binary(buf[..=n].to_vec())).await {
                setter.set(lost(e));
                break;
            }
        }
    };
    let settled = outcome.clone();
    tokio::select! {
        () = sending => {
            // Input is done; keep the sink (and so the connection's write
            // side) until the outcome is known.
            let _ = settled.await;
        }
        _ = outcome => {}
    }
}

/// The exit code in the kubelet's Status: `Success` → 0; `Failure` with
/// reason `NonZeroExitCode` carries the code in the `ExitCode` cause.
pub fn exit_code(pod: &str, status: Option<Status>) -> Result<i32, ExecError> {
    let Some(status) = status else {
        return Err(ExecError::NoStatus { pod: pod.into() });
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse::<i32>().ok());
        if let Some(code) = code {
            return Ok(code);
        }
    }
    Err(ExecError::Failed {
        pod: pod.into(),
        message: status.message.unwrap_or_else(|| "unknown error".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> Option<Status> {
        Some(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn exit_codes_come_from_the_status_channel() {
        assert_eq!(
            exit_code("p", status(serde_json::json!({"status": "Success"}))).unwrap(),
            0
        );
        let failed = status(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }));
        assert_eq!(exit_code("p", failed).unwrap(), 3);
        let err = exit_code("p", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("without the command's exit status"),
            "{err}"
        );
        let internal = status(
            serde_json::json!({"status": "Failure", "reason": "InternalError", "message": "container not found"}),
        );
        assert!(
            exit_code("p", internal)
                .unwrap_err()
                .to_string()
                .contains("container not found")
        );
    }
}
