//! `debug port-forward`: local ports to a ready pod of a component, through
//! the API server. Every local connection gets its own forward to the pod
//! current at that moment: when the pod goes away (a rollout, an eviction)
//! the next connection goes to another ready pod. The local ports are bound
//! before anything touches the cluster, so a busy port is a clear error at
//! once. Ctrl-C ends forwarding normally.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use super::{DebugReporter, connect, interrupted};
use crate::cluster::exec;
use crate::cluster::triage::components;
use crate::exit::Failure;
use crate::interrupt::{Stop, StopReason};
use crate::redact::Redactor;
use crate::settings::{DebugSettings, PortForwardSettings};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortForwardReport {
    pub environment: String,
    pub component: String,
    /// `127.0.0.1:18000 -> 8000`.
    pub forwards: Vec<String>,
    pub connections: u64,
    /// Pods forwarded to, in order (a new one when the previous went away).
    pub pods: Vec<String>,
}

/// Binds every local port first: a busy one is an error (exit 2) naming it.
pub async fn bind(settings: &PortForwardSettings) -> Result<Vec<(TcpListener, u16)>, Failure> {
    let mut listeners = Vec::new();
    for (local, remote) in &settings.ports {
        let address = SocketAddr::new(settings.address, *local);
        match TcpListener::bind(address).await {
            Ok(listener) => listeners.push((listener, *remote)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(Failure::invalid(format!(
                    "local port {address} is already in use (another port-forward or a local server?); \
                     choose another with LOCAL:REMOTE, e.g. {}:{remote}, or 0:{remote} for any free port",
                    local.saturating_add(10000)
                )));
            }
            Err(e) => {
                return Err(Failure::invalid(format!("cannot listen on {address}: {e}")));
            }
        }
    }
    Ok(listeners)
}

/// The pod connections go to, re-picked when it is gone.
struct Target {
    api: Api<Pod>,
    selector: String,
    namespace: String,
    current: Mutex<Option<String>>,
    picked: std::sync::Mutex<Vec<String>>,
}

impl Target {
    /// The current pod if it still exists, is not terminating and is
    /// ready; else a new ready pod.
    async fn pod(&self, notes: &Notes) -> Result<String, Failure> {
        let mut current = self.current.lock().await;
        if let Some(name) = current.as_ref()
            && let Ok(Some(pod)) = self.api.get_opt(name).await
            && pod.metadata.deletion_timestamp.is_none()
            && is_ready(&pod)
        {
            return Ok(name.clone());
        }
        let client = self.api.clone().into_client();
        let name = exec::ready_pod(&client, &self.namespace, &self.selector).await?;
        if let Some(old) = current.as_ref() {
            let _ = notes.send(Note::Status(format!(
                "{old} is gone or not ready: forwarding to {name}"
            )));
        }
        *current = Some(name.clone());
        self.picked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.clone());
        Ok(name)
    }
}

enum Note {
    Status(String),
    Warn(String),
}

type Notes = tokio::sync::mpsc::UnboundedSender<Note>;

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Forwards until told to stop; Ctrl-C is a normal end.
pub async fn port_forward(
    settings: &DebugSettings,
    forward: &PortForwardSettings,
    listeners: Vec<(TcpListener, u16)>,
    reporter: &dyn DebugReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<PortForwardReport, Failure> {
    let (conn, _) = tokio::select! {
        c = connect(settings, reporter, redactor) => c?,
        reason = stop.stopped() => return Err(interrupted(reason)),
    };
    let component = components(&settings.env)
        .into_iter()
        .find(|c| c.name == forward.component)
        .ok_or_else(|| Failure::invalid(format!("unknown component {}", forward.component)))?;
    let target = Arc::new(Target {
        api: Api::namespaced(conn.client.clone(), &component.namespace),
        selector: component.selector(),
        namespace: component.namespace.clone(),
        current: Mutex::new(None),
        picked: std::sync::Mutex::new(Vec::new()),
    });
    let (notes_tx, mut notes_rx) = tokio::sync::mpsc::unbounded_channel::<Note>();
    let first = target.pod(&notes_tx).await?;
    let mut forwards = Vec::new();
    for (listener, remote) in &listeners {
        let local = listener
            .local_addr()
            .map_err(|e| Failure::failed(e.to_string()))?;
        forwards.push(format!("{local} -> {remote}"));
        reporter.status(
            "Forwarding",
            &format!(
                "{local} -> {}:{remote} (pod {first}); Ctrl-C to stop",
                component.name
            ),
        );
    }
    let connections = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, remote) in listeners {
        let target = target.clone();
        let connections = connections.clone();
        let errors = notes_tx.clone();
        tasks.spawn(async move {
            let mut handlers = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => {
                            connections.fetch_add(1, Ordering::Relaxed);
                            let target = target.clone();
                            let errors = errors.clone();
                            handlers.spawn(async move {
                                if let Err(why) = forward_one(&target, socket, remote, &errors).await {
                                    let _ = errors.send(Note::Warn(why));
                                }
                            });
                        }
                        Err(e) => {
                            let _ = errors.send(Note::Warn(format!("accepting a connection: {e}")));
                        }
                    },
                    Some(_) = handlers.join_next() => {}
                }
            }
        });
    }
    drop(notes_tx);
    let reason = loop {
        tokio::select! {
            Some(note) = notes_rx.recv() => match note {
                Note::Status(message) => reporter.status("Re-picked", &message),
                Note::Warn(message) => reporter.warn(&message),
            },
            reason = stop.stopped() => break reason,
        }
    };
    tasks.abort_all();
    let report = PortForwardReport {
        environment: settings.env.name.clone(),
        component: component.name.clone(),
        forwards,
        connections: connections.load(Ordering::Relaxed),
        pods: target
            .picked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    };
    match reason {
        StopReason::Signal(_) => Ok(report),
        other => Err(interrupted(other)),
    }
}

/// One local connection through a new forward to the current pod (a
/// second pod is tried when the first refuses).
async fn forward_one(
    target: &Target,
    mut socket: TcpStream,
    remote: u16,
    notes: &Notes,
) -> Result<(), String> {
    let mut last_error = String::new();
    for _ in 0..2 {
        let pod = target.pod(notes).await.map_err(|f| f.message)?;
        match target.api.portforward(&pod, &[remote]).await {
            Ok(mut forwarder) => {
                let Some(mut upstream) = forwarder.take_stream(remote) else {
                    return Err(format!("pod {pod}: no stream for port {remote}"));
                };
                // A peer closing its side mid-copy is how connections end.
                let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                drop(upstream);
                let _ = forwarder.join().await;
                return Ok(());
            }
            Err(e) => {
                last_error = format!(
                    "port-forward to {pod}:{remote}: {}",
                    crate::cluster::api_message(&e)
                );
                // Forget the pod: the next try picks another ready one.
                target.current.lock().await.take();
            }
        }
    }
    Err(last_error)
}
