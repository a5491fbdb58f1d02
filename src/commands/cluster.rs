//! What every command that reaches the cluster shares: the confirmation
//! rules, connecting (with the exit codes of the contract), optional CRDs,
//! and turning apply errors into exit statuses.

use std::io::IsTerminal;

use crate::cli::GlobalArgs;
use crate::cluster::apply::{self, ApplyError};
use crate::cluster::connect::{self, AccessFlags, Connection};
use crate::environment::Environment;
use crate::exit::{ExitStatus, Failure};
use crate::render::Manifest;
use crate::ui::Printer;

/// A protected environment needs a terminal to ask on, or `--yes`: refuse
/// before touching the cluster when neither is there.
pub fn confirmation_possible(env: &Environment, yes: bool) -> Result<(), Failure> {
    if env.release.protected && !yes && !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            ExitStatus::Refused,
            format!(
                "refusing to change {}: no terminal to confirm on; pass --yes to confirm non-interactively",
                env.name
            ),
        ));
    }
    Ok(())
}

/// Asks for the environment's name to be typed, on protected environments
/// without `--yes`.
pub fn confirm_action(env: &Environment, action: &str, yes: bool) -> Result<(), Failure> {
    if !env.release.protected || yes {
        return Ok(());
    }
    let prompt = format!(
        "About to {action} in {} ({}). Type `{}` to confirm",
        env.name, env.namespace.name, env.name
    );
    crate::ui::prompt::type_to_confirm(&prompt, &env.name)
}

pub fn access_flags(global: &GlobalArgs) -> AccessFlags {
    AccessFlags {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
    }
}

pub async fn connect_or_fail(
    env: &Environment,
    global: &GlobalArgs,
    printer: &Printer,
) -> Result<Connection, Failure> {
    let conn = connect::connect(env, &access_flags(global))
        .await
        .map_err(|e| {
            // A kubeconfig that cannot be read or has no such context is bad
            // input; everything else is the cluster or the cloud not answering.
            let status = match e {
                connect::ConnectError::Kubeconfig { .. } => ExitStatus::Invalid,
                _ => ExitStatus::Unreachable,
            };
            Failure::new(status, e.to_string())
        })?;
    printer.status(
        "Connected",
        format!("{} (Kubernetes {})", conn.source, conn.server_version),
    );
    Ok(conn)
}

pub fn api_failure(err: ApplyError) -> Failure {
    let status = match &err {
        ApplyError::Interrupted { .. } => ExitStatus::Interrupted,
        ApplyError::Conflict { .. } => ExitStatus::Failed,
        ApplyError::PhaseFailed { failures, .. }
            if failures
                .iter()
                .all(|f| matches!(f, ApplyError::Conflict { .. })) =>
        {
            ExitStatus::Failed
        }
        _ => ExitStatus::Unreachable,
    };
    let details = match &err {
        ApplyError::PhaseFailed { failures, .. } => {
            failures.iter().map(ToString::to_string).collect()
        }
        _ => Vec::new(),
    };
    let message = match &err {
        ApplyError::PhaseFailed {
            phase, failures, ..
        } => format!(
            "{} object(s) of the {phase:?} phase failed to apply; later phases were not started",
            failures.len()
        ),
        other => other.to_string(),
    };
    Failure::new(status, message).with_details(details)
}

/// The command line as typed, for the lock's holder (`deploy production --version 1.4.2`).
pub fn command_line() -> String {
    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
}

/// Kinds of optional CRDs the cluster does not serve (the VPA): warned
/// about and skipped.
pub async fn skipped_kinds(
    client: &kube::Client,
    manifests: &[Manifest],
    printer: &Printer,
) -> Vec<String> {
    let mut skip = Vec::new();
    if manifests
        .iter()
        .any(|m| m.kind() == "VerticalPodAutoscaler")
        && !apply::crd_available(client, "autoscaling.k8s.io", "v1", "VerticalPodAutoscaler").await
    {
        printer.warn("the VerticalPodAutoscaler CRD is not installed in this cluster: skipping the VPA objects");
        skip.push("VerticalPodAutoscaler".to_string());
    }
    skip
}
