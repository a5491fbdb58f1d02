//! `fintechctl history`: an environment's revisions, newest first.

use anyhow::Result;
use comfy_table::{Table, presets::NOTHING};
use serde_json::json;

use crate::cli::{GlobalArgs, HistoryArgs, OutputFormat};
use crate::cluster::records::{self, ReleaseRecord};
use crate::exit::{ExitStatus, Failure};
use crate::ui::Printer;

use super::cluster::connect_or_fail;

pub fn run(global: &GlobalArgs, args: &HistoryArgs, printer: &Printer) -> Result<ExitStatus> {
    let env = super::environment_source(global)
        .load(&args.environment)
        .map_err(Failure::invalid)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let list = runtime.block_on(async {
        let conn = connect_or_fail(&env, global, printer).await?;
        records::list(&conn.client, &env.namespace.name, &env.name)
            .await
            .map_err(|e| Failure::new(e.exit_status(), e.to_string()))
    })?;
    match global.output {
        OutputFormat::Json => {
            let items: Vec<_> = list.iter().map(summary).collect();
            printer.data(&(serde_json::to_string_pretty(&items)? + "\n"));
        }
        OutputFormat::Yaml => {
            let items: Vec<_> = list.iter().map(summary).collect();
            printer.data(&serde_saphyr::to_string(&items)?);
        }
        OutputFormat::Text => {
            if list.is_empty() {
                printer.status(
                    "History",
                    format!("no revisions recorded in {}", env.namespace.name),
                );
            } else {
                printer.data(&table(&list));
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// A record without its manifests, for `-o json`.
fn summary(r: &ReleaseRecord) -> serde_json::Value {
    json!({
        "revision": r.revision,
        "version": r.version,
        "status": r.status,
        "description": r.description,
        "user": r.user,
        "host": r.host,
        "ci": r.ci,
        "startedAt": r.started_at.to_string(),
        "finishedAt": r.finished_at.map(|t| t.to_string()),
        "durationSecs": r.duration_secs,
        "rolledBackFrom": r.rolled_back_from,
        "migration": r.migration,
        "failures": r.failures.len(),
    })
}

fn table(list: &[ReleaseRecord]) -> String {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header([
        "REVISION",
        "VERSION",
        "STATUS",
        "WHO",
        "WHEN",
        "DURATION",
        "DESCRIPTION",
    ]);
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
