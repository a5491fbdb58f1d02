//! `fintechctl render`: the manifests of an environment, validated, in apply
//! order, with every secret value redacted.

use anyhow::Result;
use serde_json::Value;

use crate::cli::{GlobalArgs, OutputFormat, RenderArgs};
use crate::exit::{ExitStatus, Failure};
use crate::release::describe_finding;
use crate::ui::Printer;

pub fn run(global: &GlobalArgs, args: &RenderArgs, printer: &Printer) -> Result<ExitStatus> {
    let release = super::resolve_release(global, &args.release)?;
    for finding in &release.warnings {
        printer.warn(describe_finding(finding));
    }
    let missing = release.secrets.missing();
    if !missing.is_empty() {
        printer.warn(format!(
            "secrets not set: {} (shown as placeholders; deploy refuses without them)",
            missing.join(", ")
        ));
    }
    let selected = release.select(&args.only).map_err(Failure::invalid)?;
    let objects: Vec<Value> = selected.iter().map(|m| m.redacted()).collect();
    let text = match global.output {
        OutputFormat::Json => serde_json::to_string_pretty(&objects)? + "\n",
        OutputFormat::Text | OutputFormat::Yaml => to_yaml_documents(&objects)?,
    };
    printer.data(&text);
    printer.status(
        "Rendered",
        format!(
            "{} objects for {} ({}), version {}",
            objects.len(),
            release.env.name,
            release.env.namespace.name,
            release.version
        ),
    );
    Ok(ExitStatus::Success)
}

/// Multi-document YAML, one document per object.
pub fn to_yaml_documents(objects: &[Value]) -> Result<String> {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(object)?);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}
