//! `debug shell`: which pod and container to enter, and the exec session
//! (with a TTY when there is a terminal). The terminal side — raw mode,
//! window size, pumping bytes — is the caller's (`ui::shell`).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, AttachedProcess, ListParams};

use super::{DebugReporter, connect, interrupted};
use crate::cluster::triage::components;
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::{DebugSettings, ShellSettings};

/// What a shell needs from the terminal besides status lines.
pub trait ShellReporter: DebugReporter {
    /// Several pods match: the index of the one chosen, or `None` when
    /// nobody can be asked (no terminal).
    fn pick_pod(&self, component: &str, pods: &[String]) -> Option<usize>;
}

/// An exec session, open.
pub struct Session {
    pub pod: String,
    pub container: String,
    pub tty: bool,
    pub process: AttachedProcess,
    /// The redactor with the live Secrets' values.
    pub redactor: Redactor,
}

/// The command run when none is given: bash where the image has it, else sh.
pub const DEFAULT_SHELL: [&str; 3] = [
    "/bin/sh",
    "-c",
    "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi",
];

/// Picks the pod and container and starts the command.
pub async fn open(
    settings: &DebugSettings,
    shell: &ShellSettings,
    tty: bool,
    reporter: &dyn ShellReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<Session, Failure> {
    let work = async {
        let (conn, redactor) = connect(settings, reporter, redactor).await?;
        let component = components(&settings.env)
            .into_iter()
            .find(|c| c.name == shell.component)
            .ok_or_else(|| Failure::invalid(format!("unknown component {}", shell.component)))?;
        let api: Api<Pod> = Api::namespaced(conn.client.clone(), &component.namespace);
        let api_error =
            |e: kube::Error| Failure::api(format!("listing the pods of {}", component.name), &e);
        let mut pods: Vec<Pod> = api
            .list(&ListParams::default().labels(&component.selector()))
            .await
            .map_err(api_error)?
            .items
            .into_iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
            .collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let names: Vec<String> = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        let pod_name = match &shell.pod {
            Some(wanted) if names.contains(wanted) => wanted.clone(),
            Some(wanted) => {
                return Err(Failure::invalid(format!(
                    "--pod: `{wanted}` is not a running pod of {}",
                    component.name
                ))
                .with_details(names));
            }
            None => match names.as_slice() {
                [] => {
                    return Err(Failure::failed(format!(
                        "no running pod of {} in {} (see `fintechctl debug {} {}`)",
                        component.name, component.namespace, settings.env.name, component.name
                    )));
                }
                [only] => only.clone(),
                several => match reporter.pick_pod(&component.name, several) {
                    Some(i) if i < several.len() => several[i].clone(),
                    _ => {
                        return Err(Failure::invalid(format!(
                            "{} pods of {} are running; choose one with --pod NAME",
                            several.len(),
                            component.name
                        ))
                        .with_details(several.to_vec()));
                    }
                },
            },
        };
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod_name.as_str()))
            .expect("picked from the list");
        let containers: Vec<String> = pod
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let container = match &shell.container {
            Some(c) if containers.contains(c) => c.clone(),
            Some(c) => {
                return Err(Failure::invalid(format!(
                    "--container: pod {pod_name} has no container `{c}`; its containers: {}",
                    containers.join(", ")
                )));
            }
            None => containers.first().cloned().unwrap_or_default(),
        };
        let command: Vec<String> = if shell.command.is_empty() {
            DEFAULT_SHELL.iter().map(|s| s.to_string()).collect()
        } else {
            shell.command.clone()
        };
        let params = if tty {
            AttachParams::interactive_tty()
        } else {
            AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(true)
        }
        .container(container.clone());
        reporter.status(
            "Exec",
            &format!("{pod_name} ({container}): {}", command.join(" ")),
        );
        let process = api
            .exec(&pod_name, command, &params)
            .await
            .map_err(|e| Failure::api(format!("exec in pod/{pod_name}"), &e))?;
        Ok::<_, Failure>(Session {
            pod: pod_name,
            container,
            tty,
            process,
            redactor,
        })
    };
    tokio::select! {
        result = work => result,
        reason = stop.stopped() => Err(interrupted(reason)),
    }
}
