//! `fintechctl render`: the manifests of an environment, validated, in apply
//! order, with every secret value redacted.

use serde_json::Value;

use crate::exit::{ExitStatus, Failure};
use crate::release::describe_finding;
use crate::settings::{Common, RenderSettings};
use crate::ui::OutputFormat;
use crate::ui::Printer;

pub fn run(
    settings: &RenderSettings,
    common: &Common,
    printer: &Printer,
) -> Result<ExitStatus, Failure> {
    let release = &settings.release;
    for note in &release.notes {
        printer.status("Note", note);
    }
    for finding in &release.warnings {
        printer.warn(describe_finding(finding));
    }
    // Warn about the secrets the selected objects hold, no others: the
    // platform secrets, and the TLS pair the ingress needs.
    let selected = &settings.selected;
    let needs_platform = selected
        .iter()
        .any(|m| m.is_secret() && m.name() == "fintech-ai-secrets");
    let needs_tls = selected
        .iter()
        .any(|m| m.is_secret() && m.object["type"] == "kubernetes.io/tls");
    let mut missing = if needs_platform {
        release.secrets.missing()
    } else {
        Vec::new()
    };
    if needs_tls && release.secrets.tls_cert.is_none() {
        missing.push("--tls-cert/--tls-key".to_string());
    }
    if !missing.is_empty() {
        printer.warn(format!(
            "secrets not set: {} (shown as placeholders; deploy refuses without them)",
            missing.join(", ")
        ));
    }
    let objects: Vec<Value> = selected.iter().map(|m| m.redacted()).collect();
    let text = match common.output {
        OutputFormat::Json => serde_json::to_string_pretty(&objects)
            .map(|t| t + "\n")
            .map_err(|e| Failure::failed(e.to_string()))?,
        OutputFormat::Text | OutputFormat::Yaml => {
            to_yaml_documents(&objects).map_err(|e| Failure::failed(e.to_string()))?
        }
    };
    printer.data(&text);
    printer.status(
        "Rendered",
        format!(
            "{} objects for {} ({}), version {}",
            objects.len(),
            release.env.name,
            release.env.namespace.name,
            release.version,
        ),
    );
    Ok(ExitStatus::Success)
}

/// Multi-document YAML, one document per object.
pub fn to_yaml_documents(objects: &[Value]) -> Result<String, serde_saphyr::ser::Error> {
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
