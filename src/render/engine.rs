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
use crate::redact::DigestKey;
use crate::secrets::{PLATFORM_SECRETS, SecretValues};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// What a template set is rendered from.
pub struct RenderInput<'a> {
    pub env: &'a Environment,
    /// The image tag of every application service.
    pub version: &'a str,
    pub secrets: &'a SecretValues,
    /// The environment's digest key; without it (render, no cluster) the
    /// pod-template digest is a placeholder filled in at deploy.
    pub digest_key: Option<&'a DigestKey>,
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
    let tokens = SecretTokens::new(input.secrets);
    let context = minijinja::Value::from(minijinja::value::Serde(context(input, &tokens)));

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
    tokens.resolve(&mut manifests)?;
    annotate_secret_digests(&mut manifests, input.digest_key);
    // Stable: within a phase, template order and then document order.
    manifests.sort_by_key(Manifest::phase);
    Ok(manifests)
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

/// The secret values, keyed by the tokens templates render in their place.
struct SecretTokens {
    /// token → (what it stands for, the value; `None` when unset).
    tokens: Vec<(String, &'static str, Option<String>)>,
}

impl SecretTokens {
    /// One unique token per secret: templates never see a value, only a
    /// token, so where a value ends up can be checked exactly (a value that
    /// happens to occur in text we wrote — `API_KEY=second` in
    /// `periodSeconds` — is not a leak; a token outside a Secret is).
    fn new(secrets: &SecretValues) -> Self {
        let nonce = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        let token = |name: &str| format!("fintechctl-secret-{nonce:016x}-{name}");
        let mut tokens: Vec<(String, &'static str, Option<String>)> = PLATFORM_SECRETS
            .iter()
            .map(|spec| {
                (
                    token(spec.template_key),
                    spec.env_var,
                    secrets
                        .get(spec.template_key)
                        .map(|s| s.expose().to_string()),
                )
            })
            .collect();
        tokens.push((
            token("tls_crt"),
            "--tls-cert",
            secrets.tls_cert.as_ref().map(|s| s.expose().to_string()),
        ));
        tokens.push((
            token("tls_key"),
            "--tls-key",
            secrets.tls_key.as_ref().map(|s| s.expose().to_string()),
        ));
        Self { tokens }
    }

    fn context(&self) -> Map<String, Value> {
        let keys = PLATFORM_SECRETS
            .iter()
            .map(|s| s.template_key)
            .chain(["tls_crt", "tls_key"]);
        keys.zip(&self.tokens)
            .map(|(key, (token, _, _))| (key.to_string(), Value::String(token.clone())))
            .collect()
    }

    /// Checks that tokens appear only inside v1 Secrets, then puts the
    /// values (or `<unset: VAR>` placeholders) in their place there.
    fn resolve(&self, manifests: &mut [Manifest]) -> Result<(), RenderError> {
        for manifest in manifests.iter_mut() {
            let is_secret = manifest.is_secret();
            let text = manifest.object.to_string();
            for (token, what, value) in &self.tokens {
                if !text.contains(token.as_str()) {
                    continue;
                }
                if !is_secret {
                    return Err(RenderError::SecretLeak {
                        variable: what.to_string(),
                        object: manifest.display(),
                        template: manifest.template.clone(),
                    });
                }
                let shown = value.clone().unwrap_or_else(|| format!("<unset: {what}>"));
                replace_in_strings(&mut manifest.object, token, &shown);
            }
        }
        Ok(())
    }
}

fn replace_in_strings(value: &mut Value, token: &str, with: &str) {
    match value {
        Value::String(s) if s.contains(token) => *s = s.replace(token, with),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_in_strings(v, token, with)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_in_strings(v, token, with)),
        _ => {}
    }
}

/// The values templates see. Secrets are tokens ([`SecretTokens`]).
fn context(input: &RenderInput<'_>, tokens: &SecretTokens) -> Value {
    serde_json::json!({
        "env": input.env,
        "version": input.version,
        "namespace": input.env.namespace.name,
        "secrets": tokens.context(),
        "migration_job": migration_job_name(input.version),
    })
}

/// The migration Job's name for `version`: `db-migrate-<version as a DNS
/// label>-<6 hex of the SHA-256 of the exact version>`, at most 63
/// characters. Versions that read alike (`V1.4.2`, `v1.4.2`, `1_4_2`) get
/// different Jobs, so one's completed migration never stands in for another's.
pub fn migration_job_name(version: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(version.as_bytes())[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut readable: String = version
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // 63 - "db-migrate-" (11) - "-" (1) - hash (6)
    readable.truncate(45);
    let readable = readable.trim_matches('-');
    if readable.is_empty() {
        format!("db-migrate-{hash}")
    } else {
        format!("db-migrate-{readable}-{hash}")
    }
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

/// What the digest annotation holds before a deploy keys it.
pub const UNKEYED_DIGEST: &str = "<keyed at deploy>";

/// Kubernetes does not restart pods when a Secret they read changes, so a
/// rotated password would only reach pods that happen to restart. A digest
/// of the Secrets a Deployment or StatefulSet reads, on its pod template,
/// makes a rotation roll the pods like any other change. (Jobs are left
/// alone: their pod template is immutable.) The digest is an HMAC with the
/// environment's key ([`DigestKey`]), cut to 64 bits: it identifies a
/// change and does not help guess a value. Without a key (a render with no
/// cluster) the annotation holds [`UNKEYED_DIGEST`].
pub fn annotate_secret_digests(manifests: &mut [Manifest], key: Option<&DigestKey>) {
    let mut contents: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for m in manifests.iter().filter(|m| m.is_secret()) {
        let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
        for field in ["data", "stringData"] {
            if let Some(map) = m.object[field].as_object() {
                for (k, v) in map {
                    pairs.push((
                        k.clone(),
                        v.as_str().unwrap_or_default().as_bytes().to_vec(),
                    ));
                }
            }
        }
        pairs.sort();
        contents.insert(m.name().to_string(), pairs);
    }
    for m in manifests
        .iter_mut()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
    {
        let mut names = std::collections::BTreeSet::new();
        referenced_secrets(&m.object["spec"]["template"]["spec"], &mut names);
        let used: Vec<(String, &[u8])> = names
            .iter()
            .filter_map(|n| contents.get(n.as_str()).map(|pairs| (n, pairs)))
            .flat_map(|(n, pairs)| {
                pairs
                    .iter()
                    .map(move |(k, v)| (format!("{n}/{k}"), v.as_slice()))
            })
            .collect();
        if !names.iter().any(|n| contents.contains_key(n.as_str())) {
            continue;
        }
        let digest = match key {
            Some(key) => key.digest_pairs(used.iter().map(|(k, v)| (k.as_str(), *v))),
            None => UNKEYED_DIGEST.to_string(),
        };
        let template = &mut m.object["spec"]["template"];
        if !template["metadata"].is_object() {
            template["metadata"] = Value::Object(Map::new());
        }
        let metadata = &mut template["metadata"];
        if !metadata["annotations"].is_object() {
            metadata["annotations"] = Value::Object(Map::new());
        }
        metadata["annotations"][SECRET_DIGEST_ANNOTATION] = Value::String(digest);
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
            annotate_secret_digests(&mut set, Some(&DigestKey::from_bytes([3; 32])));
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
    fn without_a_key_the_digest_is_a_placeholder() {
        let mut set = vec![
            Manifest::new(
                "s.yaml",
                serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app"}, "stringData": {"p": "v"}}),
            ),
            Manifest::new(
                "d.yaml",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "app"}}]}]}}}}),
            ),
        ];
        annotate_secret_digests(&mut set, None);
        assert_eq!(
            set[1].object["spec"]["template"]["metadata"]["annotations"][SECRET_DIGEST_ANNOTATION],
            UNKEYED_DIGEST
        );
    }

    #[test]
    fn a_token_outside_a_secret_is_a_leak_and_inside_becomes_the_value() {
        let secrets = SecretValues::collect(None, &Default::default(), |k| {
            (k == "API_KEY").then(|| "second".to_string())
        })
        .unwrap();
        let tokens = SecretTokens::new(&secrets);
        let api_key = tokens.context()["api_key"].as_str().unwrap().to_string();
        let mut ok = vec![
            Manifest::new(
                "secrets.yaml",
                serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                    "stringData": {"api-key": api_key}}),
            ),
            // A short value that occurs in text we wrote is not a leak.
            Manifest::new(
                "d.yaml",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                    "spec": {"x": "periodSeconds: 10"}}),
            ),
        ];
        tokens.resolve(&mut ok).unwrap();
        assert_eq!(ok[0].object["stringData"]["api-key"], "second");
        let mut leak = vec![Manifest::new(
            "cm.yaml",
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                "data": {"KEY": format!("key={api_key}")}}),
        )];
        let err = tokens.resolve(&mut leak).unwrap_err().to_string();
        assert!(
            err.contains("API_KEY") && err.contains("ConfigMap/c"),
            "{err}"
        );
        assert!(!err.contains("second"), "{err}");
    }

    #[test]
    fn every_exact_version_gets_its_own_migration_job() {
        let names: Vec<String> = ["V1.4.2", "v1.4.2", "1.4.2", "1-4-2", "1_4_2"]
            .iter()
            .map(|v| migration_job_name(v))
            .collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(names[2].starts_with("db-migrate-1-4-2-"), "{names:?}");
        let long = migration_job_name(&"x".repeat(128));
        assert!(
            long.len() <= 63 && crate::environment::is_dns_label(&long),
            "{long}"
        );
        assert!(crate::environment::is_dns_label(&migration_job_name("_.-")));
    }

    #[test]
    fn documents_split_on_separator_lines_only() {
        let docs = split_documents("a: 1\n---\n# only a comment\n---\nb: '---'\n---\n");
        assert_eq!(docs, ["a: 1\n", "b: '---'\n"]);
    }
}
