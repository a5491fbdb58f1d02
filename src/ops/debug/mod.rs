//! `fintechctl debug`: the triage and the on-call tools. Each operation
//! connects, learns the namespace's live Secret values into the redactor
//! (so logs, cards and the bundle are scrubbed of them, not only of the
//! values this process was given), and returns a typed report; streams
//! (logs) go to the reporter line by line. Nothing here prints.

use crate::cluster::connect::Connection;
use crate::cluster::records::ReleaseHistory;
use crate::cluster::triage::{self, Triage};
use crate::exit::Failure;
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::DebugSettings;

use super::Reporter;
use super::shared::learn_secrets;

pub mod bundle;
pub mod logs;
pub mod port_forward;
pub mod shell;
pub mod top;

/// What every debug operation reports besides status lines.
pub trait DebugReporter: Reporter {
    /// The redactor now knows the live Secrets' values: scrub them from
    /// everything shown from here on.
    fn secrets_learned(&self, redactor: &Redactor);
}

/// Connects to the environment's cluster and learns its Secrets' values.
pub async fn connect(
    settings: &DebugSettings,
    reporter: &dyn DebugReporter,
    redactor: &Redactor,
) -> Result<(Connection, Redactor), Failure> {
    let conn = super::connect::connect_reporting(&settings.env, &settings.access, reporter).await?;
    let mut redactor = redactor.clone();
    let namespaces = [settings.env.namespace.name.as_str()];
    for namespace in namespaces {
        match learn_secrets(&conn.client, namespace, &mut redactor).await {
            Ok(n) => reporter.detail(&format!(
                "scrubbing the values of {n} Secret(s) of {namespace} from the output"
            )),
            Err(e) => reporter.warn(&format!(
                "cannot read the Secrets of {namespace} ({}): only the secret values set in this shell are scrubbed from the output",
                crate::cluster::api_message(&e)
            )),
        }
    }
    reporter.secrets_learned(&redactor);
    Ok((conn, redactor))
}

/// The newest release record, if any can be read (a warning otherwise).
pub async fn latest_revision(
    conn: &Connection,
    settings: &DebugSettings,
    redactor: &Redactor,
    reporter: &dyn DebugReporter,
) -> Option<crate::cluster::records::ReleaseRecord> {
    let history = ReleaseHistory::new(
        &conn.client,
        &settings.env.namespace.name,
        &settings.env.name,
        redactor.clone(),
    );
    match history.list().await {
        Ok(list) => list.records.into_iter().next(),
        Err(e) => {
            reporter.warn(&format!("cannot read the release history: {e}"));
            None
        }
    }
}

/// `debug <env> [COMPONENT]`: the triage.
pub async fn triage(
    settings: &DebugSettings,
    component: Option<&str>,
    reporter: &dyn DebugReporter,
    redactor: &Redactor,
    stop: Stop,
) -> Result<(Triage, Redactor), Failure> {
    let work = async {
        let (conn, redactor) = connect(settings, reporter, redactor).await?;
        let latest = latest_revision(&conn, settings, &redactor, reporter).await;
        let found = triage::triage(
            &conn.client,
            &settings.env,
            component,
            latest.as_ref(),
            k8s_openapi::jiff::Timestamp::now(),
        )
        .await
        .map_err(|e| {
            Failure::api(
                format!("reading the workloads of {}", settings.env.namespace.name),
                &e,
            )
        })?;
        Ok::<_, Failure>((found, redactor))
    };
    tokio::select! {
        result = work => result,
        reason = stop.stopped() => Err(interrupted(reason)),
    }
}

/// The failure a stop turns into ([`ExitStatus::of_stop`]: 130 for a signal).
pub fn interrupted(reason: crate::interrupt::StopReason) -> Failure {
    Failure::from_stop(&reason, reason.to_string())
}
