//! Reaching the cluster as an operation: connect and say so, and, for the
//! commands that write, the wrong-cluster rule (docs/reliability.md, "The
//! wrong-cluster rule") applied before their first write.

use crate::cluster::connect::{self, Connection};
use crate::cluster::target;
use crate::exit::Failure;

use super::Reporter;

/// Connects and says so.
pub async fn connect_reporting(
    env: &crate::environment::Environment,
    access: &connect::ClusterAccess,
    reporter: &dyn Reporter,
) -> Result<Connection, Failure> {
    let conn = connect::connect(env, access).await?;
    reporter.status(
        "Connected",
        &format!("{} (Kubernetes {})", conn.source, conn.server_version),
    );
    Ok(conn)
}

/// Connects for a command that writes and applies the wrong-cluster rule
/// (docs: "Safety"): refuses (exit 4, naming both) before anything is
/// written when the cluster belongs to another environment or is not the
/// one the environment pins, unless `--allow-other-cluster` says so — then
/// loudly. Returns the claim a deploy records before its first write when
/// the cluster is not yet claimed for this environment.
pub async fn connect_for_writing(
    env: &crate::environment::Environment,
    access: &connect::ClusterAccess,
    reporter: &dyn Reporter,
) -> Result<(Connection, Option<PendingClaim>), Failure> {
    let conn = connect_reporting(env, access, reporter).await?;
    let pending = check_cluster(&conn, env, access.allow_other_cluster, reporter).await?;
    Ok((conn, pending))
}

/// A claim to record on the cluster (see [`target::claim`]).
#[derive(Debug, Clone)]
pub struct PendingClaim {
    pub seen: Option<target::Claim>,
}

pub(super) async fn check_cluster(
    conn: &Connection,
    env: &crate::environment::Environment,
    allow_other: bool,
    reporter: &dyn Reporter,
) -> Result<Option<PendingClaim>, Failure> {
    let api_failure = |what: &str, e: &kube::Error| {
        Failure::unreachable(format!(
            "reading {what}: {}",
            crate::cluster::api_message(e)
        ))
    };
    let forbidden = |e: &kube::Error| crate::cluster::is_status(e, 403);
    // The two reads at once; the errors are judged in the order they were.
    let (uid, claim_read) = tokio::join!(
        target::cluster_uid(&conn.client),
        target::read_claim(&conn.client)
    );
    let uid = match uid {
        Ok(uid) => uid,
        Err(e) if forbidden(&e) => None,
        Err(e) => return Err(api_failure("Namespace/kube-system", &e)),
    };
    let reached = target::Reached {
        uid,
        server: conn.server.clone(),
        explicit_context: conn.explicit_context.clone(),
        explicit_cluster: conn.explicit_cluster.clone(),
    };
    let (claim, unreadable) = match claim_read {
        Ok(claim) => (claim, None),
        Err(e) if forbidden(&e) => (None, Some(crate::cluster::api_message(&e))),
        Err(e) => {
            return Err(api_failure(
                &format!(
                    "{}/ConfigMap {}",
                    target::CLAIM_NAMESPACE,
                    target::CLAIM_NAME
                ),
                &e,
            ));
        }
    };
    let verdict = target::judge(
        env,
        &reached,
        match &unreadable {
            Some(reason) => Err(reason.as_str()),
            None => Ok(claim.as_ref()),
        },
    );
    match verdict {
        target::Verdict::Claimed => Ok(None),
        target::Verdict::Unclaimed { warning } => {
            if let Some(warning) = warning {
                reporter.warn(&warning);
            }
            Ok(Some(PendingClaim { seen: claim }))
        }
        target::Verdict::Unknown { reason } => {
            reporter.warn(&reason);
            Ok(None)
        }
        target::Verdict::Foreign { reason } if allow_other => {
            reporter.warn(&format!(
                "--allow-other-cluster: {reason}; writing `{}` to it anyway",
                env.name
            ));
            Ok(Some(PendingClaim { seen: claim }))
        }
        target::Verdict::Foreign { reason } => Err(Failure::refused(format!("refusing to change `{}`: {reason}", env.name),
        )
        .with_details(vec![
            "check --kubeconfig, --context and KUBECONFIG: they choose the cluster before the environment's `cluster` entry does".to_string(),
            format!(
                "if `{}` is meant to share this cluster, pass --allow-other-cluster",
                env.name
            ),
        ])),
    }
}
