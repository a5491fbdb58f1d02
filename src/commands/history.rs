//! `fintechctl history`: an environment's revisions, newest first; a
//! record that cannot be read is named, never hides the others.

use serde::Serialize;

use crate::cluster::records::{
    CiInfo, ReleaseHistory, ReleaseRecord, ReleaseStatus, UnreadableRecord,
};
use crate::exit::{ExitStatus, Failure};
use crate::ops;
use crate::settings::{Common, HistorySettings};
use crate::ui::reporters::TerminalReporter;
use crate::ui::{Printer, emit};

/// One revision without its manifests, for `-o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub version: String,
    pub status: ReleaseStatus,
    pub description: String,
    pub user: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiInfo>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_secs: Option<f64>,
    pub rolled_back_from: Option<u32>,
    pub migration: Option<crate::cluster::migration::MigrationOutcome>,
    pub failures: usize,
    /// A canary deploy's steps, rounds and outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<serde_json::Value>,
}

/// The `-o json` document of `history`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    pub environment: String,
    pub namespace: String,
    pub revisions: Vec<Revision>,
    pub unreadable: Vec<UnreadableRecord>,
}

pub fn run(
    settings: &HistorySettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let env = &settings.env;
    let runtime = super::runtime()?;
    let reporter = TerminalReporter::new(printer);
    let listing = runtime.block_on(async {
        let conn = ops::connect::connect_reporting(env, &settings.access, &reporter).await?;
        let history = ReleaseHistory::new(
            &conn.client,
            &env.namespace.name,
            &env.name,
            common.redactor.clone(),
        );
        Ok::<_, Failure>(history.list().await?)
    })?;
    for bad in &listing.unreadable {
        printer.warn(format!(
            "release record {} (revision {}) cannot be read: {}",
            bad.name, bad.revision, bad.reason
        ));
    }
    let report = HistoryReport {
        environment: env.name.clone(),
        namespace: env.namespace.name.clone(),
        revisions: listing.records.iter().map(revision).collect(),
        unreadable: listing.unreadable.clone(),
    };
    if listing.records.is_empty() && common.output == crate::ui::OutputFormat::Text {
        printer.status(
            "History",
            format!("no revisions recorded in {}", env.namespace.name),
        );
    }
    emit(printer, common.output, &report, |_| {
        if listing.records.is_empty() {
            String::new()
        } else {
            table(&listing.records)
        }
    });
    Ok(ExitStatus::Success)
}

fn revision(r: &ReleaseRecord) -> Revision {
    Revision {
        revision: r.revision,
        version: r.version.clone(),
        status: r.status,
        description: r.description.clone(),
        user: r.user.clone(),
        host: r.host.clone(),
        ci: r.ci.clone(),
        started_at: r.started_at.to_string(),
        finished_at: r.finished_at.map(|t| t.to_string()),
        duration_secs: r.duration_secs,
        rolled_back_from: r.rolled_back_from,
        migration: r.migration.clone(),
        failures: r.failures.len(),
        canary: r.canary.clone(),
    }
}

fn table(list: &[ReleaseRecord]) -> String {
    let mut table = crate::ui::table(
        &[
            "REVISION",
            "VERSION",
            "STATUS",
            "WHO",
            "WHEN",
            "DURATION",
            "DESCRIPTION",
        ],
        &[6],
        None,
    );
    for r in list {
        let who = match &r.ci {
            Some(ci) => format!("{} ({})", r.user, ci.provider),
            None => format!("{}@{}", r.user, r.host),
        };
        table.add_row([
            r.revision.to_string(),
            r.version.clone(),
            r.status.to_string(),
            who,
            r.started_at.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
            r.duration_secs
                .map(|d| format!("{d:.1}s"))
                .unwrap_or_else(|| "-".into()),
            r.description.clone(),
        ]);
    }
    format!("{table}\n")
}
