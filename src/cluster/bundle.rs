//! The debug bundle: the evidence of a failed rollout (failure cards, the
//! failing pods as JSON and as a kubectl-describe-like text, their current
//! and previous container logs, their events and the workloads' events),
//! collected and written to one file *before* a rollback replaces the pods.
//!
//! Collecting never fails: whatever cannot be fetched is written down in
//! [`DebugBundle::missing`], because a half bundle beats none when the
//! rollback is about to destroy the rest. Writing is atomic (temp file in the
//! same directory, fsync, then a link or rename that never replaces another
//! bundle), so a file with the bundle's name is always complete. Secret values never reach the file: Secret `data`/`stringData`
//! and secret-looking literal env values are masked in every object written.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::Value;

use super::diagnosis::FailureCard;
use super::{events, logs};

/// Log lines kept per container instance.
pub const BUNDLE_LOG_LINES: i64 = 200;
/// Events kept per object.
pub const BUNDLE_EVENTS: usize = 50;
/// Pods collected for a failure card that names no pod.
const NEWEST_PODS: usize = 3;

/// Everything collected about a failed rollout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugBundle {
    pub environment: String,
    pub namespace: String,
    /// RFC 3339, whole seconds, UTC.
    pub created_at: String,
    /// The release revision the failed deploy recorded, if any.
    pub revision: Option<u32>,
    /// The version being deployed.
    pub version: String,
    pub failures: Vec<FailureCard>,
    pub pods: Vec<PodEvidence>,
    /// Events of the failing workloads (and of a Deployment's ReplicaSets),
    /// one line each, prefixed with the object.
    pub workload_events: Vec<String>,
    /// Evidence that could not be fetched, and why.
    pub missing: Vec<String>,
}

/// One pod's evidence.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodEvidence {
    pub name: String,
    /// The Pod as the API server returned it, `managedFields` removed and
    /// secret values masked; `null` when it could not be read.
    pub object: Value,
    /// `kubectl describe pod`-like text: phase, conditions, each
    /// container's state, last state, restarts and image, the node.
    pub describe: String,
    pub logs: Vec<ContainerLogs>,
    /// The pod's events, oldest first.
    pub events: Vec<String>,
}

/// The last [`BUNDLE_LOG_LINES`] lines of one container's logs.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerLogs {
    pub container: String,
    pub current: Option<String>,
    /// The previous (crashed) instance; `None` when the container never restarted.
    pub previous: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("creating the bundle directory {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the debug bundle {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("serializing the debug bundle for {}: {source}", path.display())]
    Serialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Collect the evidence of `failures` in `namespace`. Never fails.
pub async fn collect(
    client: &kube::Client,
    namespace: &str,
    environment: &str,
    version: &str,
    revision: Option<u32>,
    failures: &[FailureCard],
) -> DebugBundle {
    let now = Timestamp::now();
    let created_at = Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string();
    let mut missing = Vec::new();

    // The pods named in the cards, then each pod-less card's newest pods.
    let mut pod_names: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for card in failures {
        let names = match &card.pod {
            Some(pod) => vec![pod.clone()],
            None => match newest_pods(client, namespace, &card.workload).await {
                Ok(names) => names,
                Err(why) => {
                    missing.push(format!("pods of {}: {why}", card.workload));
                    Vec::new()
                }
            },
        };
        pod_names.extend(names.into_iter().filter(|n| seen.insert(n.clone())));
    }

    let pods = futures::future::join_all(
        pod_names
            .iter()
            .map(|name| pod_evidence(client, namespace, name)),
    )
    .await;
    let mut evidence = Vec::new();
    for (pod, pod_missing) in pods {
        evidence.push(pod);
        missing.extend(pod_missing);
    }

    let mut workload_events = Vec::new();
    let workloads: BTreeSet<&str> = failures.iter().map(|c| c.workload.as_str()).collect();
    for workload in workloads {
        match workload_event_lines(client, namespace, workload).await {
            Ok(lines) => workload_events.extend(lines),
            Err(why) => missing.push(format!("events of {workload}: {why}")),
        }
    }

    DebugBundle {
        environment: environment.to_string(),
        namespace: namespace.to_string(),
        created_at,
        revision,
        version: version.to_string(),
        failures: failures.to_vec(),
        pods: evidence,
        workload_events,
        missing,
    }
}

/// Write `bundle` into `dir` (created if missing) as
/// `fintechctl-debug-<env>-<YYYYmmddTHHMMSSZ>.json` (pretty JSON), atomically:
/// a temp file in the same directory, fsynced, then linked or renamed. An existing
/// bundle of the same second is never overwritten (`-2`, `-3`... is added).
///
/// Written readable by its owner only (0600): logs and pod specs are the
/// kind of thing that holds what should not be shared, and every string is
/// scrubbed of the secret values `redactor` knows first.
pub fn write(
    bundle: &DebugBundle,
    dir: &Path,
    redactor: &crate::redact::Redactor,
) -> Result<PathBuf, BundleError> {
    let mut value = serde_json::to_value(bundle).map_err(|source| BundleError::Serialize {
        path: dir.to_path_buf(),
        source,
    })?;
    redactor.scrub_json(&mut value);
    // The pods were masked when collected; a bundle built by hand is masked here.
    if let Some(pods) = value.get_mut("pods").and_then(Value::as_array_mut) {
        for pod in pods {
            if let Some(object) = pod.get_mut("object") {
                mask_object(object);
            }
        }
    }
    let name = file_name(&bundle.environment, &bundle.created_at);
    write_atomically(dir, &name, |file| {
        serde_json::to_writer_pretty(&mut *file, &value)?;
        file.write_all(b"\n")?;
        Ok(())
    })
}

/// `fintechctl-debug-<env>-<YYYYmmddTHHMMSSZ>.json`, from the bundle's
/// creation time (now, if that does not parse).
pub fn file_name(environment: &str, created_at: &str) -> String {
    let at = created_at
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::now());
    let env: String = environment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "fintechctl-debug-{env}-{}.json",
        at.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// Write through `fill` into a temp file in `dir`, fsync it, and move it
/// to `name` (or `name` with `-2`, `-3`... before the extension when taken).
/// On any error the temp file is removed: no file that looks complete is left.
fn write_atomically(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), WriteFailure>,
) -> Result<PathBuf, BundleError> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir).map_err(|source| BundleError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let temp = dir.join(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let intended = dir.join(name);
    let io_error = |source| BundleError::Write {
        path: intended.clone(),
        source,
    };
    let result = (|| {
        let mut file = crate::files::open_private(&temp, 0o600).map_err(io_error)?;
        fill(&mut file).map_err(|failure| match failure {
            WriteFailure::Io(source) => io_error(source),
            WriteFailure::Json(source) => BundleError::Serialize {
                path: intended.clone(),
                source,
            },
        })?;
        file.sync_all().map_err(io_error)?;
        drop(file);
        publish(&temp, dir, name).map_err(io_error)
    })();
    let _ = std::fs::remove_file(&temp);
    let path = result?;
    // Make the new name itself durable; a failure here loses nothing written.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(path)
}

/// Give the complete `temp` file its final name without ever replacing an
/// existing bundle: a hard link fails when the name is taken (two bundles in
/// the same second), so the next free name is tried. Where hard links are
/// not supported, a rename onto a name not taken a moment earlier.
fn publish(temp: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    for n in 1..1000 {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}.{ext}"))
        };
        match std::fs::hard_link(temp, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) if !candidate.exists() => {
                std::fs::rename(temp, &candidate)?;
                return Ok(candidate);
            }
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "999 bundles of the same second already exist",
    ))
}

/// What filling the temp file can fail with.
enum WriteFailure {
    Io(std::io::Error),
    Json(serde_json::Error),
}

impl From<std::io::Error> for WriteFailure {
    fn from(e: std::io::Error) -> Self {
        WriteFailure::Io(e)
    }
}

impl From<serde_json::Error> for WriteFailure {
    fn from(e: serde_json::Error) -> Self {
        WriteFailure::Json(e)
    }
}

/// Mask what must never be written (see [`crate::redact::mask_for_sharing`]).
pub fn mask_object(value: &mut Value) {
    crate::redact::mask_for_sharing(value);
}

/// A `kubectl describe pod`-like text.
pub fn describe_pod(pod: &Pod) -> String {
    let mut out = String::new();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    field(&mut out, 0, "Name", meta.name.as_deref().unwrap_or(""));
    field(
        &mut out,
        0,
        "Namespace",
        meta.namespace.as_deref().unwrap_or(""),
    );
    field(
        &mut out,
        0,
        "Node",
        spec.and_then(|s| s.node_name.as_deref())
            .unwrap_or("<none>"),
    );
    if let Some(start) = status.and_then(|s| s.start_time.as_ref()) {
        field(&mut out, 0, "Start Time", &start.0.to_string());
    }
    let phase = if meta.deletion_timestamp.is_some() {
        "Terminating"
    } else {
        status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown")
    };
    field(&mut out, 0, "Status", phase);
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        field(&mut out, 0, "Reason", reason);
    }
    if let Some(message) = status.and_then(|s| s.message.as_deref()) {
        field(&mut out, 0, "Message", message);
    }
    if let Some(ip) = status.and_then(|s| s.pod_ip.as_deref()) {
        field(&mut out, 0, "IP", ip);
    }
    if let Some(owner) = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    {
        field(
            &mut out,
            0,
            "Controlled By",
            &format!("{}/{}", owner.kind, owner.name),
        );
    }

    let sections = [
        (
            "Init Containers",
            spec.map(|s| s.init_containers.as_deref().unwrap_or_default()),
            status.and_then(|s| s.init_container_statuses.as_deref()),
        ),
        (
            "Containers",
            spec.map(|s| s.containers.as_slice()),
            status.and_then(|s| s.container_statuses.as_deref()),
        ),
    ];
    for (title, containers, statuses) in sections {
        let containers = containers.unwrap_or_default();
        if containers.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for container in containers {
            let status = statuses
                .unwrap_or_default()
                .iter()
                .find(|s| s.name == container.name);
            let _ = writeln!(out, "  {}:", container.name);
            field(
                &mut out,
                4,
                "Image",
                container.image.as_deref().unwrap_or("<none>"),
            );
            describe_container_status(&mut out, status);
        }
    }

    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    if !conditions.is_empty() {
        let _ = writeln!(out, "Conditions:");
        let _ = writeln!(out, "  {:<28}{:<8}Reason", "Type", "Status");
        for c in conditions {
            let line = format!(
                "  {:<28}{:<8}{}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("")
            );
            let _ = writeln!(out, "{}", line.trim_end());
            if let Some(message) = c.message.as_deref().filter(|m| !m.is_empty()) {
                let _ = writeln!(out, "    {message}");
            }
        }
    }
    out
}

/// One `Key:  value` line; values below a container line up with the
/// container's own (`State:` and its `Reason:`).
fn field(out: &mut String, indent: usize, key: &str, value: &str) {
    let width = 16usize.saturating_sub(indent.saturating_sub(4));
    let label = format!("{key}:");
    let _ = writeln!(out, "{:indent$}{label:<width$}{value}", "");
}

fn describe_container_status(out: &mut String, status: Option<&ContainerStatus>) {
    let Some(status) = status else {
        field(out, 4, "State", "<no status reported>");
        return;
    };
    describe_state(out, "State", status.state.as_ref());
    if status
        .last_state
        .as_ref()
        .is_some_and(|s| s.running.is_some() || s.terminated.is_some() || s.waiting.is_some())
    {
        describe_state(out, "Last State", status.last_state.as_ref());
    }
    field(out, 4, "Ready", if status.ready { "True" } else { "False" });
    field(out, 4, "Restart Count", &status.restart_count.to_string());
}

fn describe_state(out: &mut String, title: &str, state: Option<&ContainerState>) {
    let Some(state) = state else {
        field(out, 4, title, "<unknown>");
        return;
    };
    if let Some(waiting) = &state.waiting {
        field(out, 4, title, "Waiting");
        if let Some(reason) = &waiting.reason {
            field(out, 6, "Reason", reason);
        }
        if let Some(message) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
            field(out, 6, "Message", message);
        }
    } else if let Some(running) = &state.running {
        field(out, 4, title, "Running");
        if let Some(at) = &running.started_at {
            field(out, 6, "Started", &at.0.to_string());
        }
    } else if let Some(terminated) = &state.terminated {
        field(out, 4, title, "Terminated");
        if let Some(reason) = &terminated.reason {
            field(out, 6, "Reason", reason);
        }
        if let Some(message) = terminated.message.as_deref().filter(|m| !m.is_empty()) {
            field(out, 6, "Message", message);
        }
        field(out, 6, "Exit Code", &terminated.exit_code.to_string());
        if let Some(signal) = terminated.signal {
            field(out, 6, "Signal", &signal.to_string());
        }
        if let Some(at) = &terminated.started_at {
            field(out, 6, "Started", &at.0.to_string());
        }
        if let Some(at) = &terminated.finished_at {
            field(out, 6, "Finished", &at.0.to_string());
        }
    } else {
        field(out, 4, title, "<unknown>");
    }
}

/// `2026-01-01T12:00:30Z Warning BackOff: Back-off restarting failed container (x4)`.
pub fn event_line(event: &Event) -> String {
    let at = events::last_seen(event)
        .map(|t| t.to_string())
        .unwrap_or_else(|| "<unknown time>".into());
    format!(
        "{at} {} {}",
        event.type_.as_deref().unwrap_or("Normal"),
        events::describe(event)
    )
}

/// The events about `kind`/`name` (any kind when empty), oldest first, at
/// most the last [`BUNDLE_EVENTS`].
async fn event_lines(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<String>, FetchError> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let mut listed = bounded(api.list(&params)).await?.items;
    listed.retain(|e| {
        e.involved_object.name.as_deref() == Some(name)
            && (kind.is_empty() || e.involved_object.kind.as_deref() == Some(kind))
    });
    listed.sort_by_key(events::last_seen);
    let skip = listed.len().saturating_sub(BUNDLE_EVENTS);
    Ok(listed.iter().skip(skip).map(event_line).collect())
}

/// One pod's evidence, and what could not be fetched of it.
async fn pod_evidence(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> (PodEvidence, Vec<String>) {
    let mut missing = Vec::new();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = match bounded(api.get_opt(name)).await {
        Ok(Some(pod)) => Some(pod),
        Ok(None) => {
            missing.push(format!(
                "pod {name}: not found (deleted before the bundle was collected)"
            ));
            None
        }
        Err(e) => {
            missing.push(format!("pod {name}: reading it: {e}"));
            None
        }
    };

    let mut container_logs = Vec::new();
    if let Some(pod) = &pod {
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let containers = spec
            .into_iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers));
        let statuses: Vec<&ContainerStatus> = status
            .into_iter()
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .collect();
        for container in containers {
            let cname = container.name.as_str();
            let status = statuses.iter().find(|s| s.name == cname);
            let current = match bounded(logs::last_lines(
                client,
                namespace,
                name,
                Some(cname),
                false,
                BUNDLE_LOG_LINES,
            ))
            .await
            {
                Ok(lines) => Some(lines.join("\n")),
                Err(e) => {
                    missing.push(format!("pod {name}: log of container {cname}: {e}"));
                    None
                }
            };
            let restarted = status.is_some_and(|s| {
                s.restart_count > 0
                    || s.last_state
                        .as_ref()
                        .is_some_and(|l| l.terminated.is_some())
            });
            let previous = if restarted {
                match bounded(logs::last_lines(
                    client,
                    namespace,
                    name,
                    Some(cname),
                    true,
                    BUNDLE_LOG_LINES,
                ))
                .await
                {
                    Ok(lines) => Some(lines.join("\n")),
                    Err(e) => {
                        missing.push(format!(
                            "pod {name}: previous log of container {cname}: {e}"
                        ));
                        None
                    }
                }
            } else {
                None
            };
            container_logs.push(ContainerLogs {
                container: cname.to_string(),
                current,
                previous,
            });
        }
    }

    let pod_events = match event_lines(client, namespace, "Pod", name).await {
        Ok(lines) => lines,
        Err(e) => {
            missing.push(format!("pod {name}: events: {e}"));
            Vec::new()
        }
    };

    let (object, describe) = match &pod {
        Some(pod) => {
            let mut object = serde_json::to_value(pod).unwrap_or(Value::Null);
            if let Some(map) = object.as_object_mut() {
                map.entry("apiVersion").or_insert_with(|| "v1".into());
                map.entry("kind").or_insert_with(|| "Pod".into());
            }
            mask_object(&mut object);
            (object, describe_pod(pod))
        }
        None => (Value::Null, String::new()),
    };
    (
        PodEvidence {
            name: name.to_string(),
            object,
            describe,
            logs: container_logs,
            events: pod_events,
        },
        missing,
    )
}

/// Why the pods of a workload could not be found.
type Why = String;

/// The newest pods of `workload` (`Deployment/api-gateway`), found through
/// its selector.
async fn newest_pods(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
) -> Result<Vec<String>, Why> {
    let (kind, name) = workload
        .split_once('/')
        .ok_or_else(|| format!("`{workload}` is not Kind/name"))?;
    let selector = workload_selector(client, namespace, kind, name).await?;
    let selector = selector_string(&selector);
    if selector.is_empty() {
        return Err(format!("{workload} has an empty selector"));
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut pods = bounded(api.list(&ListParams::default().labels(&selector)))
        .await
        .map_err(|e| format!("listing pods with selector {selector}: {e}"))?
        .items;
    pods.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.clone()));
    Ok(pods
        .into_iter()
        .take(NEWEST_PODS)
        .filter_map(|p| p.metadata.name)
        .collect())
}

async fn workload_selector(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<LabelSelector, Why> {
    let read = |e: FetchError| format!("reading {kind}/{name}: {e}");
    let selector = match kind {
        "Deployment" => bounded(Api::<Deployment>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .map(|s| s.selector),
        "StatefulSet" => {
            bounded(Api::<StatefulSet>::namespaced(client.clone(), namespace).get(name))
                .await
                .map_err(read)?
                .spec
                .map(|s| s.selector)
        }
        "DaemonSet" => bounded(Api::<DaemonSet>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .map(|s| s.selector),
        "Job" => bounded(Api::<Job>::namespaced(client.clone(), namespace).get(name))
            .await
            .map_err(read)?
            .spec
            .and_then(|s| s.selector),
        other => return Err(format!("pods of a {other} are not looked up")),
    };
    selector.ok_or_else(|| format!("{kind}/{name} has no selector"))
}

/// How long one request for evidence may take: a slow API server must not
/// hold up the rollback the bundle is collected for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why one piece of evidence could not be fetched.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Api(#[from] kube::Error),
    #[error("no answer within {} s", REQUEST_TIMEOUT.as_secs())]
    TimedOut,
}

/// `request`, given up after [`REQUEST_TIMEOUT`].
async fn bounded<T>(
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, FetchError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(FetchError::TimedOut),
    }
}

/// A LabelSelector as the `labelSelector` query string.
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut terms: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.clone().unwrap_or_default().join(",");
        terms.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            _ => continue,
        });
    }
    terms.join(",")
}

/// The events of `workload`, and of a Deployment's ReplicaSets (where
/// FailedCreate, e.g. an exhausted quota, is reported).
async fn workload_event_lines(
    client: &kube::Client,
    namespace: &str,
    workload: &str,
) -> Result<Vec<String>, Why> {
    let (kind, name) = workload
        .split_once('/')
        .ok_or_else(|| format!("`{workload}` is not Kind/name"))?;
    let mut objects = vec![(kind.to_string(), name.to_string())];
    if kind == "Deployment" {
        // Best effort: the Deployment's own events are still worth having.
        if let Ok(selector) = workload_selector(client, namespace, kind, name).await {
            let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
            if let Ok(list) =
                bounded(api.list(&ListParams::default().labels(&selector_string(&selector)))).await
            {
                let mut sets: Vec<ReplicaSet> = list
                    .items
                    .into_iter()
                    .filter(|rs| {
                        rs.metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|o| o.kind == "Deployment" && o.name == name)
                    })
                    .collect();
                sets.sort_by_key(|rs| std::cmp::Reverse(rs.metadata.creation_timestamp.clone()));
                objects.extend(
                    sets.into_iter()
                        .take(2)
                        .filter_map(|rs| rs.metadata.name)
                        .map(|n| ("ReplicaSet".to_string(), n)),
                );
            }
        }
    }
    let mut lines = Vec::new();
    for (kind, name) in objects {
        let found = event_lines(client, namespace, &kind, &name)
            .await
            .map_err(|e| format!("listing the events of {kind}/{name}: {e}"))?;
        lines.extend(
            found
                .into_iter()
                .map(|line| format!("{kind}/{name} {line}")),
        );
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn crash_looping_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-gateway-5d9-x1", "namespace": "fintech-ai-prod",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": "api-gateway-5d9", "uid": "u", "controller": true}],
                         "managedFields": [{"manager": "kube-controller-manager"}]},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "api", "image": "registry.example/api-gateway:1.4.2",
                 "env": [{"name": "JWT_SECRET", "value": "hunter2"},
                         {"name": "LOG_LEVEL", "value": "info"},
                         {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]},
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unready status: [api]"},
                ],
                "containerStatuses": [{
                    "name": "api", "image": "registry.example/api-gateway:1.4.2", "imageID": "",
                    "ready": false, "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s restarting failed container=api"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                 "startedAt": "2026-01-01T12:00:00Z",
                                                 "finishedAt": "2026-01-01T12:00:01Z"}},
                }],
            },
        })
    }

    #[test]
    fn describe_shows_phase_node_conditions_and_each_containers_state() {
        let text = describe_pod(&pod(crash_looping_pod()));
        for expected in [
            "Name:           api-gateway-5d9-x1",
            "Node:           node-1",
            "Status:         Running",
            "Controlled By:  ReplicaSet/api-gateway-5d9",
            "Containers:\n  api:\n    Image:          registry.example/api-gateway:1.4.2",
            "    State:          Waiting\n      Reason:       CrashLoopBackOff",
            "    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1",
            "    Ready:          False\n    Restart Count:  4",
            "  Ready                       False   ContainersNotReady\n    containers with unready status: [api]",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("Init Containers"));
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn describe_copes_with_a_pod_without_status() {
        let text = describe_pod(&pod(json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]}})));
        assert!(text.contains("Node:           <none>"), "{text}");
        assert!(text.contains("Status:         Unknown"), "{text}");
        assert!(
            text.contains("State:          <no status reported>"),
            "{text}"
        );
    }

    #[test]
    fn masking_removes_secret_values_and_managed_fields() {
        let mut object = crash_looping_pod();
        mask_object(&mut object);
        let text = object.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains("\"info\""), "{text}");
        assert!(text.contains("secretKeyRef"), "{text}");

        let mut secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"aHVudGVyMg==\"}}"}},
            "data": {"a": "aHVudGVyMg=="}, "stringData": {"b": "hunter2"}});
        mask_object(&mut secret);
        let text = secret.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg=="),
            "{text}"
        );
        assert_eq!(secret["data"]["a"], crate::redact::REDACTED);

        let mut list = json!({"items": [{"kind": "Secret", "data": {"a": "aHVudGVyMg=="}}]});
        mask_object(&mut list);
        assert_eq!(list["items"][0]["data"]["a"], crate::redact::REDACTED);
    }

    #[test]
    fn secret_looking_names() {
        for name in [
            "JWT_SECRET",
            "API_KEY",
            "POSTGRES_PASSWORD",
            "github_token",
            "SENTRY_DSN",
        ] {
            assert!(crate::redact::looks_secret(name), "{name}");
        }
        for name in ["LOG_LEVEL", "POSTGRES_HOST", "KEYCLOAK_REALM_NAME"] {
            assert!(!crate::redact::looks_secret(name), "{name}");
        }
    }

    #[test]
    fn file_names_carry_environment_and_utc_second() {
        assert_eq!(
            file_name("production", "2026-11-26T13:45:23Z"),
            "fintechctl-debug-production-20261126T134523Z.json"
        );
        assert_eq!(
            file_name("a/b c", "2026-01-02T03:04:05.678Z"),
            "fintechctl-debug-a-b-c-20260102T030405Z.json"
        );
    }

    #[test]
    fn selectors_become_query_strings() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app.kubernetes.io/name": "api-gateway"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }))
        .unwrap();
        assert_eq!(
            selector_string(&selector),
            "app.kubernetes.io/name=api-gateway,tier in (a,b),!canary"
        );
    }

    fn bundle() -> DebugBundle {
        DebugBundle {
            environment: "staging".into(),
            namespace: "fintech-ai-staging".into(),
            created_at: "2026-11-26T13:45:23Z".into(),
            revision: Some(7),
            version: "1.4.2".into(),
            failures: vec![],
            pods: vec![PodEvidence {
                name: "p".into(),
                object: crash_looping_pod(),
                describe: String::new(),
                logs: vec![],
                events: vec![],
            }],
            workload_events: vec![],
            missing: vec![],
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fintechctl-bundle-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn write_creates_the_directory_masks_and_never_overwrites() {
        let dir = scratch_dir("write").join("nested");
        let path = write(&bundle(), &dir, &crate::redact::Redactor::default()).unwrap();
        assert_eq!(
            path,
            dir.join("fintechctl-debug-staging-20261126T134523Z.json")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        let read: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(read["revision"], 7);

        let second = write(&bundle(), &dir, &crate::redact::Redactor::default()).unwrap();
        assert_eq!(
            second,
            dir.join("fintechctl-debug-staging-20261126T134523Z-2.json")
        );
        assert_eq!(files(&dir).len(), 2);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_interrupted_write_leaves_no_file() {
        let dir = scratch_dir("interrupted");
        let error = write_atomically(&dir, "fintechctl-debug-x.json", |file| {
            file.write_all(b"{\"environment\": \"sta")?;
            Err(std::io::Error::other("disk full").into())
        })
        .unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
        assert!(
            error.to_string().contains("fintechctl-debug-x.json"),
            "{error}"
        );
        assert!(files(&dir).is_empty(), "{:?}", files(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
