//! `fintechctl diff`: what a deploy would change, object by object, as a
//! unified diff of the live object against the server's dry-run result, with
//! server-managed fields left out and secret values masked. Exit 0 when
//! nothing would change and 1 when something would, as `kubectl diff`.

use anyhow::Result;
use serde::Serialize;

use crate::cli::{DiffArgs, GlobalArgs, OutputFormat};
use crate::cluster::apply::{self, ApplyOptions, PlannedAction};
use crate::exit::{ExitStatus, Failure};
use crate::render::diff;
use crate::ui::Printer;

use super::cluster::{api_failure, connect_or_fail, skipped_kinds};

#[derive(Debug, Serialize)]
struct ObjectDiff {
    object: String,
    action: PlannedAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &DiffArgs, printer: &Printer) -> Result<ExitStatus> {
    let release = super::resolve_release(global, &args.release)?;
    let selected = super::select_owned(&release, &args.only)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(async {
            let conn = connect_or_fail(&release.env, global, printer).await?;
            let skip_kinds = skipped_kinds(&conn.client, &selected, printer).await;
            let options = ApplyOptions {
                dry_run: true,
                skip_kinds,
                ..ApplyOptions::default()
            };
            let plan = apply::plan(&conn.client, &selected, &options)
                .await
                .map_err(api_failure)?;
            let diffs: Vec<ObjectDiff> = plan
                .iter()
                .filter(|c| c.action != PlannedAction::Unchanged)
                .map(|c| ObjectDiff {
                    object: c.display.clone(),
                    action: c.action,
                    diff: diff::object_diff(&c.display, c.live.as_ref(), c.desired.as_ref()),
                })
                .collect();
            match global.output {
                OutputFormat::Json => {
                    printer.data(&(serde_json::to_string_pretty(&diffs).unwrap_or_default() + "\n"))
                }
                OutputFormat::Yaml => {
                    printer.data(&serde_saphyr::to_string(&diffs).unwrap_or_default())
                }
                OutputFormat::Text => {
                    let text: String = diffs.iter().filter_map(|d| d.diff.clone()).collect();
                    printer.data(&text);
                }
            }
            let changed = diffs
                .iter()
                .filter(|d| d.action != PlannedAction::Skip)
                .count();
            if changed == 0 {
                printer.status(
                    "No changes",
                    format!("{} matches the rendered release", release.env.name),
                );
                Ok::<_, Failure>(ExitStatus::Success)
            } else {
                printer.status("Differs", format!("{changed} object(s) would change"));
                Ok(ExitStatus::Failed)
            }
        })
        .map_err(Into::into)
}
