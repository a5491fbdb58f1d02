//! Environments: the embedded `environments/*.yaml` (or a directory that
//! replaces them), parsed into the typed [`Environment`] and checked for the
//! rules a schema alone cannot express.

mod model;

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

pub use model::*;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/environments");

/// Where environment files come from.
#[derive(Debug, Clone)]
pub enum EnvironmentSource {
    /// The files compiled into the binary.
    Embedded,
    /// `--environments-dir` / `FINTECHCTL_ENVIRONMENTS_DIR`: replaces the embedded set.
    Directory(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("unknown environment `{name}`{}; known environments: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
    Unknown {
        name: String,
        known: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}: `{field}`: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
    #[error("cannot read environments from `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl EnvironmentSource {
    /// Names of the environments this source holds, sorted.
    pub fn names(&self) -> Result<Vec<String>, EnvironmentError> {
        let mut names: Vec<String> = match self {
            EnvironmentSource::Embedded => EMBEDDED
                .files()
                .filter_map(|f| yaml_stem(f.path()))
                .collect(),
            EnvironmentSource::Directory(dir) => std::fs::read_dir(dir)
                .map_err(|source| EnvironmentError::Io {
                    path: dir.display().to_string(),
                    source,
                })?
                .filter_map(|entry| entry.ok().and_then(|e| yaml_stem(&e.path())))
                .collect(),
        };
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Loads and validates one environment.
    pub fn load(&self, name: &str) -> Result<Environment, EnvironmentError> {
        let known = self.names()?;
        if !known.iter().any(|k| k == name) {
            let suggestion = known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, name), k))
                .filter(|(score, _)| *score > 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| k.clone());
            return Err(EnvironmentError::Unknown {
                name: name.to_string(),
                known,
                suggestion,
            });
        }
        let (file, text) = self.read(name)?;
        parse(&file, &text, name)
    }

    fn read(&self, name: &str) -> Result<(String, String), EnvironmentError> {
        match self {
            EnvironmentSource::Embedded => {
                for ext in ["yaml", "yml"] {
                    let path = format!("{name}.{ext}");
                    if let Some(file) = EMBEDDED.get_file(&path) {
                        let text = file.contents_utf8().unwrap_or_default().to_string();
                        return Ok((format!("environments/{path}"), text));
                    }
                }
                unreachable!("names() listed `{name}`")
            }
            EnvironmentSource::Directory(dir) => {
                let path = ["yaml", "yml"]
                    .iter()
                    .map(|ext| dir.join(format!("{name}.{ext}")))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| dir.join(format!("{name}.yaml")));
                let text =
                    std::fs::read_to_string(&path).map_err(|source| EnvironmentError::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                Ok((path.display().to_string(), text))
            }
        }
    }
}

fn yaml_stem(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if ext != "yaml" && ext != "yml" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_string())
}

/// Parses one environment file and checks it; `file` is used in messages.
pub fn parse(file: &str, text: &str, expected_name: &str) -> Result<Environment, EnvironmentError> {
    let env: Environment = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        EnvironmentError::Parse {
            file: file.to_string(),
            line,
            column,
            message: first_line(&e.to_string()),
        }
    })?;
    validate(file, &env, expected_name)?;
    Ok(env)
}

/// serde-saphyr renders a snippet after its message; keep the message.
fn first_line(message: &str) -> String {
    let msg = message.lines().next().unwrap_or(message).trim();
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    // serde-saphyr repeats the position we already print as file:line:column.
    match msg.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_string()
        }
        _ => msg.to_string(),
    }
}

fn validate(file: &str, env: &Environment, expected_name: &str) -> Result<(), EnvironmentError> {
    let invalid = |field: &str, message: String| EnvironmentError::Invalid {
        file: file.to_string(),
        field: field.to_string(),
        message,
    };
    if env.name != expected_name {
        return Err(invalid(
            "name",
            format!(
                "is `{}` but the file defines environment `{expected_name}`",
                env.name
            ),
        ));
    }
    if !is_dns_label(&env.namespace.name) {
        return Err(invalid(
            "namespace.name",
            format!(
                "`{}` is not a valid namespace name (lower-case letters, digits and `-`, at most 63 characters)",
                env.namespace.name
            ),
        ));
    }
    let c = &env.cluster;
    let required: &[(&str, &Option<String>)] = match c.provider {
        Provider::Azure => &[
            ("cluster.name", &c.name),
            ("cluster.resourceGroup", &c.resource_group),
        ],
        Provider::Aws => &[("cluster.name", &c.name), ("cluster.region", &c.region)],
        Provider::Gcp => &[
            ("cluster.name", &c.name),
            ("cluster.project", &c.project),
            ("cluster.location", &c.location),
        ],
        Provider::Kubeconfig => &[],
    };
    for (field, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(
                field,
                format!("is required for provider `{}`", c.provider.as_str()),
            ));
        }
    }
    if env.release.require_version && env.release.default_version.is_some() {
        return Err(invalid(
            "release.defaultVersion",
            "must not be set when `release.requireVersion` is true".into(),
        ));
    }
    if !env.release.require_version && env.release.default_version.is_none() {
        return Err(invalid(
            "release.defaultVersion",
            "is required when `release.requireVersion` is false".into(),
        ));
    }
    for (name, svc) in env.services.iter() {
        if let Some(a) = &svc.autoscaling {
            let field = format!("services.{name}.autoscaling");
            if a.min_replicas == 0 || a.min_replicas > a.max_replicas {
                return Err(invalid(
                    &field,
                    format!(
                        "minReplicas ({}) must be at least 1 and at most maxReplicas ({})",
                        a.min_replicas, a.max_replicas
                    ),
                ));
            }
            for (metric, value) in [
                ("targetCpuUtilization", a.target_cpu_utilization),
                ("targetMemoryUtilization", a.target_memory_utilization),
            ] {
                if value == 0 || value > 100 {
                    return Err(invalid(
                        &format!("{field}.{metric}"),
                        format!("{value} is not a percentage between 1 and 100"),
                    ));
                }
            }
        }
        for key in svc.env.keys() {
            if RESERVED_ENV.contains(&key.as_str()) {
                return Err(invalid(
                    &format!("services.{name}.env.{key}"),
                    "is set by fintechctl from the environment's data stores and secrets; change those instead".into(),
                ));
            }
            if key.is_empty()
                || key.starts_with(|c: char| c.is_ascii_digit())
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(invalid(
                    &format!("services.{name}.env.{key}"),
                    "is not a valid environment variable name (letters, digits and `_`, not starting with a digit)".into(),
                ));
            }
        }
        if let Some(vpa) = &svc.vpa {
            const MODES: [&str; 5] = ["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"];
            if !MODES.contains(&vpa.update_mode.as_str()) {
                return Err(invalid(
                    &format!("services.{name}.vpa.updateMode"),
                    format!("`{}` is not one of {}", vpa.update_mode, MODES.join(", ")),
                ));
            }
        }
        for (field, value) in [
            ("maxSurge", &svc.rolling_update.max_surge),
            ("maxUnavailable", &svc.rolling_update.max_unavailable),
        ] {
            if let IntOrPercent::Percent(p) = value {
                let ok = p
                    .strip_suffix('%')
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n <= 100);
                if !ok {
                    return Err(invalid(
                        &format!("services.{name}.rollingUpdate.{field}"),
                        format!("`{p}` is neither an integer nor a percentage like `25%`"),
                    ));
                }
            }
        }
    }
    let stores = [
        (
            "data.postgres",
            env.data.postgres.placement,
            env.data.postgres.in_cluster.is_some(),
        ),
        (
            "data.redis",
            env.data.redis.placement,
            env.data.redis.in_cluster.is_some(),
        ),
        (
            "data.kafka",
            env.data.kafka.placement,
            env.data.kafka.in_cluster.is_some(),
        ),
    ];
    for (field, placement, has_in_cluster) in stores {
        match (placement, has_in_cluster) {
            (Placement::InCluster, false) => {
                return Err(invalid(
                    &format!("{field}.inCluster"),
                    "is required when placement is `in-cluster` (image, storage, resources)".into(),
                ));
            }
            (Placement::Managed, true) => {
                return Err(invalid(
                    &format!("{field}.inCluster"),
                    "must not be set when placement is `managed`".into(),
                ));
            }
            _ => {}
        }
    }
    for (field, placement, host) in [
        (
            "data.postgres.host",
            env.data.postgres.placement,
            env.data.postgres.host.as_str(),
        ),
        (
            "data.redis.host",
            env.data.redis.placement,
            env.data.redis.host.as_str(),
        ),
    ] {
        // An in-cluster store's host is its Service name.
        if placement == Placement::InCluster && !is_dns_label(host) {
            return Err(invalid(
                field,
                format!(
                    "`{host}` must be the in-cluster Service name (a DNS label such as `postgres`)"
                ),
            ));
        }
    }
    let b = &env.backup;
    let required: &[(&str, &Option<String>)] = match b.provider {
        BackupProvider::Azure => &[
            ("backup.account", &b.account),
            ("backup.container", &b.container),
        ],
        BackupProvider::Aws | BackupProvider::Gcp => &[("backup.container", &b.container)],
        BackupProvider::Filesystem => &[("backup.path", &b.path)],
    };
    for (field, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(
                field,
                "is required for this backup provider".into(),
            ));
        }
    }
    if env.ingress.enabled && env.ingress.host.is_empty() {
        return Err(invalid(
            "ingress.host",
            "is required when the ingress is enabled".into(),
        ));
    }
    Ok(())
}

/// Container variables the templates set themselves; a service's `env`
/// map may not override them (the template's value would silently win).
pub const RESERVED_ENV: [&str; 19] = [
    "API_KEY",
    "API_URL",
    "ENVIRONMENT",
    "JWT_SECRET",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_PASSWORD",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_USERNAME",
    "ML_SERVICE_URL",
    "POSTGRES_DB",
    "POSTGRES_HOST",
    "POSTGRES_PASSWORD",
    "POSTGRES_PORT",
    "POSTGRES_SSLMODE",
    "POSTGRES_USER",
    "REDIS_HOST",
    "REDIS_PASSWORD",
    "REDIS_PORT",
    "REDIS_TLS",
];

/// RFC 1123 label: what Kubernetes accepts as a namespace or object name.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_environment_loads() {
        let source = EnvironmentSource::Embedded;
        assert_eq!(source.names().unwrap(), ["local", "production", "staging"]);
        for name in ["local", "staging", "production"] {
            let env = source.load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(env.name, name);
        }
    }

    #[test]
    fn namespaces_are_the_runbooks() {
        let source = EnvironmentSource::Embedded;
        let ns = |n: &str| source.load(n).unwrap().namespace.name;
        assert_eq!(ns("local"), "fintech-ai-local");
        assert_eq!(ns("staging"), "fintech-ai-staging");
        assert_eq!(ns("production"), "fintech-ai-prod");
    }

    #[test]
    fn unknown_environment_suggests_the_closest() {
        let err = EnvironmentSource::Embedded.load("prodution").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean `production`?"), "{msg}");
        assert!(msg.contains("local, production, staging"), "{msg}");
    }

    #[test]
    fn unknown_field_names_file_line_and_column() {
        let text = include_str!("../../environments/local.yaml").replace(
            "  replicas: 1\n  rollingUpdate",
            "  replicaz: 1\n  rollingUpdate",
        );
        let text = text.replacen("    replicas: 1\n", "    replicaz: 1\n", 1);
        let err = parse("environments/local.yaml", &text, "local").unwrap_err();
        match &err {
            EnvironmentError::Parse {
                file,
                line,
                column,
                message,
            } => {
                assert_eq!(file, "environments/local.yaml");
                let expected_line =
                    text.lines().position(|l| l.contains("replicaz")).unwrap() as u64 + 1;
                assert_eq!(*line, expected_line, "{err}");
                assert!(*column > 0);
                assert!(message.contains("replicaz"), "{message}");
            }
            other => panic!("expected a parse error, got {other}"),
        }
    }

    #[test]
    fn provider_requires_its_fields() {
        let text = include_str!("../../environments/production.yaml")
            .replace("  resourceGroup: fintech-ai-prod-rg\n", "");
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(err.to_string().contains("cluster.resourceGroup"), "{err}");
    }

    #[test]
    fn reserved_env_keys_are_refused() {
        let text = include_str!("../../environments/production.yaml").replace(
            "      ML_MODEL_VERSION: v1.2.0\n",
            "      ML_MODEL_VERSION: v1.2.0\n      POSTGRES_HOST: elsewhere\n",
        );
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(
            err.to_string()
                .contains("services.ml-service.env.POSTGRES_HOST"),
            "{err}"
        );
    }

    #[test]
    fn in_cluster_host_must_be_a_service_name() {
        let text = include_str!("../../environments/local.yaml")
            .replace("    host: postgres\n", "    host: postgres.example.com\n");
        let err = parse("l.yaml", &text, "local").unwrap_err();
        assert!(err.to_string().contains("data.postgres.host"), "{err}");
    }

    #[test]
    fn hpa_bounds_are_checked() {
        let text = include_str!("../../environments/production.yaml")
            .replace("minReplicas: 3", "minReplicas: 30");
        let err = parse("p.yaml", &text, "production").unwrap_err();
        assert!(
            err.to_string().contains("services.api-gateway.autoscaling"),
            "{err}"
        );
    }
}
