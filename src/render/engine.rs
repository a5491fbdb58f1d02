//! The template engine: renders the embedded `templates/*.yaml` for an
//! environment and a release, then stamps the labels and namespace every
//! object must carry and orders the set for applying.

use std::collections::BTreeMap;

use include_dir::{Dir, include_dir};
use minijinja::{Environment as Jinja, UndefinedBehavior};
use serde_json::{Map, Value};

use super::labels;
use super::manifest::Manifest;
use crate::environment::Environment;
use crate::secrets::{PLATFORM_SECRETS, SecretValues};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// What a template set is rendered from.
pub struct RenderInput<'a> {
    pub env: &'a Environment,
    /// The image tag of every application service.
    pub version: &'a str,
    pub secrets: &'a SecretValues,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("templates/{template}:{line}: {message}")]
    Template {
        template: String,
        line: usize,
        message: String,
    },
    #[error("templates/{template}: rendered document {document} is not valid YAML: {message}")]
    Yaml {
        template: String,
        document: usize,
        message: String,
    },
    #[error(
        "templates/{template}: rendered document {document} is not a Kubernetes object: {message}"
    )]
    NotAnObject {
        template: String,
        document: usize,
        message: String,
    },
    #[error(
        "a secret value ({variable}) appears in {object} from templates/{template}; only Secret objects may hold secret values"
    )]
    SecretLeak {
        variable: String,
        object: String,
        template: String,
    },
}

/// Kinds that live outside any namespace.
const CLUSTER_SCOPED: [&str; 7] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "PriorityClass",
];

/// Names of the embedded templates, in render order.
pub fn template_names() -> Vec<String> {
    let mut names: Vec<String> = TEMPLATES
        .files()
        .filter_map(|f| f.path().to_str())
        .filter(|p| p.ends_with(".yaml"))
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// Renders every template and returns the objects in apply order.
pub fn render(input: &RenderInput<'_>) -> Result<Vec<Manifest>, RenderError> {
    let mut jinja = Jinja::new();
    jinja.set_undefined_behavior(UndefinedBehavior::Strict);
    let names = template_names();
    for name in &names {
        let source = TEMPLATES
            .get_file(name)
            .and_then(|f| f.contents_utf8())
            .unwrap_or_default();
        jinja
            .add_template_owned(name.clone(), source.to_string())
            .map_err(|e| template_error(name, &e))?;
    }
    let context = minijinja::Value::from(minijinja::value::Serde(context(input)));

    let mut manifests = Vec::new();
    for name in &names {
        let template = jinja
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        let text = template
            .render(&context)
            .map_err(|e| template_error(name, &e))?;
        for (index, doc) in split_documents(&text).into_iter().enumerate() {
            let document = index + 1;
            let value: Value = super::yaml::parse_document(doc).map_err(|e| RenderError::Yaml {
                template: name.clone(),
                document,
                message: e.to_string().lines().next().unwrap_or_default().to_string(),
            })?;
            if value.is_null() {
                continue;
            }
            let mut manifest = Manifest::new(name.clone(), value);
            stamp(&mut manifest, input.env, name).map_err(|message| RenderError::NotAnObject {
                template: name.clone(),
                document,
                message,
            })?;
            manifests.push(manifest);
        }
    }
    check_no_secret_outside_secrets(&manifests, input.secrets)?;
    annotate_secret_digests(&mut manifests);
    // Stable: within a phase, template order and then document order.
    manifests.sort_by_key(Manifest::phase);
    Ok(manifests)
}

/// How rendered documents are parsed: comments are not data, so the parser
/// does not hand them over (a third of the parse time went to carrying
/// them).
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.emit_comments = false;
    options
}

fn template_error(name: &str, e: &minijinja::Error) -> RenderError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    RenderError::Template {
        template: name.to_string(),
        line: e.line().unwrap_or(0),
        message,
    }
}

/// The values templates see. Unset secrets render as a placeholder: render
/// never prints secret values, and deploy refuses before rendering when one
/// is missing.
fn context(input: &RenderInput<'_>) -> Value {
    let mut secrets = Map::new();
    for spec in PLATFORM_SECRETS {
        let value = input
            .secrets
            .get(spec.template_key)
            .map(|s| s.expose().to_string())
            .unwrap_or_else(|| format!("<unset: {}>", spec.env_var));
        secrets.insert(spec.template_key.to_string(), Value::String(value));
    }
    let pem = |v: &Option<crate::secrets::SecretString>, placeholder: &str| {
        Value::String(
            v.as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_else(|| placeholder.to_string()),
        )
    };
    secrets.insert(
        "tls_crt".into(),
        pem(&input.secrets.tls_cert, "<unset: --tls-cert>"),
    );
    secrets.insert(
        "tls_key".into(),
        pem(&input.secrets.tls_key, "<unset: --tls-key>"),
    );
    serde_json::json!({
        "env": input.env,
        "version": input.version,
        "namespace": input.env.namespace.name,
        "secrets": secrets,
    })
}

/// Splits multi-document YAML on `---` lines, dropping empty documents.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

/// Adds the ownership labels and the namespace every object must carry.
fn stamp(manifest: &mut Manifest, env: &Environment, template: &str) -> Result<(), String> {
    let stem = template.trim_end_matches(".yaml").to_string();
    let object = manifest
        .object
        .as_object_mut()
        .ok_or_else(|| "expected a mapping with apiVersion, kind and metadata".to_string())?;
    for field in ["apiVersion", "kind"] {
        if !object.get(field).is_some_and(Value::is_string) {
            return Err(format!("`{field}` is missing"));
        }
    }
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| "`metadata` is not a mapping".to_string())?;
    if !metadata.get("name").is_some_and(Value::is_string) {
        return Err(format!("{kind} has no `metadata.name`"));
    }
    if !CLUSTER_SCOPED.contains(&kind.as_str()) && !metadata.contains_key("namespace") {
        metadata.insert(
            "namespace".into(),
            Value::String(env.namespace.name.clone()),
        );
    }
    let stamped: BTreeMap<&str, String> = BTreeMap::from([
        (labels::MANAGED_BY, labels::MANAGER.to_string()),
        (labels::PART_OF, labels::PART_OF_VALUE.to_string()),
        (labels::INSTANCE, format!("fintech-ai-{}", env.name)),
        (labels::ENVIRONMENT, env.name.clone()),
    ]);
    let labels_map = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| "`metadata.labels` is not a mapping".to_string())?;
    for (key, value) in stamped {
        labels_map.insert(key.to_string(), Value::String(value));
    }
    labels_map
        .entry(labels::COMPONENT)
        .or_insert_with(|| Value::String(stem));
    Ok(())
}

/// The annotation that rolls a workload's pods when a Secret it reads changes.
pub const SECRET_DIGEST_ANNOTATION: &str = "fintechctl.io/secret-digest";

/// Kubernetes does not restart pods when a Secret they read changes, so a
/// rotated password would only reach pods that happen to restart. A digest
/// of the Secrets a Deployment or StatefulSet reads, on its pod template,
/// makes a rotation roll the pods like any other change. (Jobs are left
/// alone: their pod template is immutable.) The digest covers all of a
/// Secret's values at once and is cut to 64 bits: it identifies a change,
/// it does not help guess a value.
fn annotate_secret_digests(manifests: &mut [Manifest]) {
    use sha2::{Digest, Sha256};
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    for m in manifests.iter().filter(|m| m.is_secret()) {
        let mut hasher = Sha256::new();
        for field in ["data", "stringData"] {
            if let Some(map) = m.object[field].as_object() {
                let sorted: BTreeMap<&String, &Value> = map.iter().collect();
                for (k, v) in sorted {
                    hasher.update(k.as_bytes());
                    hasher.update([0]);
                    hasher.update(v.as_str().unwrap_or_default().as_bytes());
                    hasher.update([0]);
                }
            }
        }
        digests.insert(m.name().to_string(), format!("{:x}", hasher.finalize()));
    }
    for m in manifests
        .iter_mut()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
    {
        let mut names = std::collections::BTreeSet::new();
        referenced_secrets(&m.object["spec"]["template"]["spec"], &mut names);
        let used: Vec<&String> = names
            .iter()
            .filter_map(|n| digests.get(n.as_str()))
            .collect();
        if used.is_empty() {
            continue;
        }
        let mut hasher = Sha256::new();
        for d in used {
            hasher.update(d.as_bytes());
        }
        let digest = format!("{:x}", hasher.finalize());
        let template = &mut m.object["spec"]["template"];
        if !template["metadata"].is_object() {
            template["metadata"] = Value::Object(Map::new());
        }
        let metadata = &mut template["metadata"];
        if !metadata["annotations"].is_object() {
            metadata["annotations"] = Value::Object(Map::new());
        }
        metadata["annotations"][SECRET_DIGEST_ANNOTATION] = Value::String(digest[..16].to_string());
    }
}

/// Names of the Secrets a pod spec reads (env, envFrom, volumes).
fn referenced_secrets(value: &Value, names: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = match key.as_str() {
                    "secretKeyRef" | "secretRef" => inner["name"].as_str(),
                    "secret" => inner["secretName"].as_str(),
                    _ => None,
                };
                if let Some(name) = name {
                    names.insert(name.to_string());
                }
                referenced_secrets(inner, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_secrets(v, names)),
        _ => {}
    }
}

/// Defence in depth: a template that interpolated a secret into a ConfigMap
/// or an environment variable would leak it to anyone who can read those.
fn check_no_secret_outside_secrets(
    manifests: &[Manifest],
    secrets: &SecretValues,
) -> Result<(), RenderError> {
    for manifest in manifests.iter().filter(|m| !m.is_secret()) {
        let text = manifest.object.to_string();
        for spec in PLATFORM_SECRETS {
            if let Some(value) = secrets.get(spec.template_key) {
                // Compare with the value as it appears inside a JSON string.
                let escaped = Value::String(value.expose().to_string()).to_string();
                let inner = &escaped[1..escaped.len() - 1];
                if inner.len() >= 4 && text.contains(inner) {
                    return Err(RenderError::SecretLeak {
                        variable: spec.env_var.to_string(),
                        object: manifest.display(),
                        template: manifest.template.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_secret_changes_the_pod_template_digest() {
        let deployment = |secret_value: &str| {
            let mut set = vec![
                Manifest::new(
                    "s.yaml",
                    serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app"}, "stringData": {"password": secret_value}}),
                ),
                Manifest::new(
                    "d.yaml",
                    serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "app", "key": "password"}}}]}]}}}}),
                ),
                Manifest::new(
                    "o.yaml",
                    serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"},
                    "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}),
                ),
            ];
            annotate_secret_digests(&mut set);
            (
                set[1].object["spec"]["template"]["metadata"]["annotations"]
                    [SECRET_DIGEST_ANNOTATION]
                    .clone(),
                set[2].object.clone(),
            )
        };
        let (a, other) = deployment("first-value");
        let (b, _) = deployment("second-value");
        let (a_again, _) = deployment("first-value");
        assert!(a.is_string());
        assert_ne!(a, b);
        assert_eq!(a, a_again);
        assert!(!a.as_str().unwrap().contains("first-value"));
        assert!(
            other["spec"]["template"].get("metadata").is_none(),
            "a workload without secrets is untouched"
        );
    }

    #[test]
    fn documents_split_on_separator_lines_only() {
        let docs = split_documents("a: 1\n---\n# only a comment\n---\nb: '---'\n---\n");
        assert_eq!(docs, ["a: 1\n", "b: '---'\n"]);
    }
}
