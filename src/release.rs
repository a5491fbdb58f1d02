//! A release: an environment, a version and the secrets, resolved into a
//! rendered manifest set that has passed the schema and policy checks. Every
//! command that renders (render, deploy, diff) resolves one of these before
//! it touches anything, so a typo fails at second zero.

use std::path::PathBuf;

use crate::environment::{Environment, EnvironmentError, EnvironmentSource, is_image_tag};
use crate::redact::DigestKey;
use crate::render::Manifest;
use crate::render::engine::{self, RenderError, RenderInput};
use crate::render::policy::{self, Finding, PolicyOptions, Severity};
use crate::render::schema;
use crate::secrets::{SecretValues, SecretsError, TlsFiles};

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    pub source: EnvironmentSource,
    pub environment: String,
    pub version: Option<String>,
    pub env_file: Option<PathBuf>,
    pub tls: TlsFiles,
}

/// A release ready to print or apply.
#[derive(Debug, Clone)]
pub struct Release {
    pub env: Environment,
    pub version: String,
    pub secrets: SecretValues,
    /// Every object, validated, in apply order.
    pub manifests: Vec<Manifest>,
    /// Policy warnings (errors fail the resolution).
    pub warnings: Vec<Finding>,
    /// Notices about choices made for the caller (e.g. the default version
    /// an environment used because `--version` was not given); commands
    /// print them, they are not problems.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error("--version: {0}")]
    Version(String),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{count} rendered object(s) fail schema validation", count = .0.len())]
    Schema(Vec<String>),
    #[error("{count} policy violation(s)", count = .0.len())]
    Policy(Vec<String>),
}

impl ReleaseError {
    /// One line per violation, for reports that list them all.
    pub fn details(&self) -> Vec<String> {
        match self {
            ReleaseError::Schema(v) | ReleaseError::Policy(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

impl Release {
    pub fn resolve(
        request: &ReleaseRequest,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Release, ReleaseError> {
        let env = request.source.load(&request.environment)?;
        let (version, version_note) = resolve_version(&env, request.version.as_deref())?;
        let secrets = SecretValues::collect(request.env_file.as_deref(), &request.tls, lookup)?;
        Self::checked(env, version, secrets, version_note.into_iter().collect())
    }

    /// The same environment and secrets at another version (`migrate`
    /// without `--version` takes the live one), checked as [`Self::resolve`]
    /// checks a version given on the command line.
    pub fn for_version(&self, version: &str) -> Result<Release, ReleaseError> {
        let (version, _) = resolve_version(&self.env, Some(version))?;
        Self::checked(
            self.env.clone(),
            version,
            self.secrets.clone(),
            self.notes.clone(),
        )
    }

    /// Renders, validates against the schema and checks the policies.
    fn checked(
        env: Environment,
        version: String,
        secrets: SecretValues,
        notes: Vec<String>,
    ) -> Result<Release, ReleaseError> {
        let manifests = engine::render(&RenderInput {
            env: &env,
            version: &version,
            secrets: &secrets,
            digest_key: None,
        })?;

        let violations: Vec<String> = schema::validate(&manifests)
            .iter()
            .map(ToString::to_string)
            .collect();
        if !violations.is_empty() {
            return Err(ReleaseError::Schema(violations));
        }
        let options = PolicyOptions {
            require_pinned_images: env.release.require_version,
        };
        let (errors, warnings): (Vec<Finding>, Vec<Finding>) = policy::check(&manifests, &options)
            .into_iter()
            .partition(|f| f.severity == Severity::Error);
        if !errors.is_empty() {
            return Err(ReleaseError::Policy(
                errors.iter().map(describe_finding).collect(),
            ));
        }
        Ok(Release {
            env,
            version,
            secrets,
            manifests,
            warnings,
            notes,
        })
    }

    /// Fills in the pod templates' secret digests with the environment's
    /// key (fetched from the cluster at deploy; see `cluster::digest_key`).
    pub fn key_digests(&mut self, key: &DigestKey) {
        engine::annotate_secret_digests(&mut self.manifests, Some(key));
    }

    /// Component names present in the set, sorted.
    pub fn components(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .manifests
            .iter()
            .map(|m| m.component().to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The objects of the given components; an unknown component is an error
    /// naming the known ones.
    pub fn select(&self, only: &[String]) -> Result<Vec<&Manifest>, String> {
        if only.is_empty() {
            return Ok(self.manifests.iter().collect());
        }
        let known = self.components();
        let unknown: Vec<&String> = only.iter().filter(|c| !known.contains(c)).collect();
        if let Some(first) = unknown.first() {
            let suggestion = known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, first), k))
                .filter(|(score, _)| *score > 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "--only: unknown component `{first}`{suggestion}; components of this environment: {}",
                known.join(", ")
            ));
        }
        Ok(self
            .manifests
            .iter()
            .filter(|m| only.iter().any(|c| c == m.component()))
            .collect())
    }
}

pub fn describe_finding(f: &Finding) -> String {
    format!("[{}] {}: {}", f.rule, f.object, f.message)
}

/// The version to render: `--version`, else the environment's
/// `release.defaultVersion` (with a note saying so). An environment with
/// `release.requireVersion` needs `--version` and never takes `latest`.
fn resolve_version(
    env: &Environment,
    given: Option<&str>,
) -> Result<(String, Option<String>), ReleaseError> {
    let (version, note) = match given {
        Some(v) => (v.to_string(), None),
        None if env.release.require_version => {
            return Err(ReleaseError::Version(format!(
                "{} requires a release version (the image tag to deploy), e.g. `--version 1.4.2`",
                env.name
            )));
        }
        None => match env.release.default_version.clone() {
            Some(default) => {
                let note = format!(
                    "no --version given: {} uses its default `{default}` (release.defaultVersion)",
                    env.name
                );
                (default, Some(note))
            }
            None => {
                return Err(ReleaseError::Version(format!(
                    "{} has no release.defaultVersion: give the image tag, e.g. `--version 1.4.2`",
                    env.name
                )));
            }
        },
    };
    if !is_image_tag(&version) {
        return Err(ReleaseError::Version(format!(
            "`{version}` is not a valid image tag: expected letters, digits, `_`, `.` or `-` (at most 128, not starting with `.` or `-`)"
        )));
    }
    if env.release.require_version && version.eq_ignore_ascii_case("latest") {
        return Err(ReleaseError::Version(format!(
            "`latest` is never deployed to {}: give the release's pinned tag, e.g. `--version 1.4.2`",
            env.name
        )));
    }
    Ok((version, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_requires_a_pinned_version() {
        let env = EnvironmentSource::Embedded.load("production").unwrap();
        assert!(
            resolve_version(&env, None)
                .unwrap_err()
                .to_string()
                .contains("--version 1.4.2")
        );
        assert!(resolve_version(&env, Some("latest")).is_err());
        assert!(resolve_version(&env, Some("LATEST")).is_err());
        assert_eq!(
            resolve_version(&env, Some("1.4.2")).unwrap(),
            ("1.4.2".to_string(), None)
        );
    }

    #[test]
    fn staging_requires_a_version_and_never_latest() {
        let staging = EnvironmentSource::Embedded.load("staging").unwrap();
        let err = resolve_version(&staging, None).unwrap_err().to_string();
        assert!(
            err.contains("staging requires a release version") && err.contains("--version 1.4.2"),
            "{err}"
        );
        let err = resolve_version(&staging, Some("latest"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`latest` is never deployed to staging"),
            "{err}"
        );
        assert_eq!(
            resolve_version(&staging, Some("1.4.2")).unwrap(),
            ("1.4.2".to_string(), None)
        );
    }

    #[test]
    fn local_defaults_and_says_so() {
        let local = EnvironmentSource::Embedded.load("local").unwrap();
        let (version, note) = resolve_version(&local, None).unwrap();
        assert_eq!(version, "latest");
        assert_eq!(
            note.as_deref(),
            Some("no --version given: local uses its default `latest` (release.defaultVersion)")
        );
        assert_eq!(resolve_version(&local, Some("1.4.2")).unwrap().1, None);
        let release = Release::resolve(
            &ReleaseRequest {
                source: EnvironmentSource::Embedded,
                environment: "local".into(),
                version: None,
                env_file: None,
                tls: TlsFiles::default(),
            },
            |_| None,
        )
        .unwrap();
        assert_eq!(release.version, "latest");
        assert_eq!(release.notes.len(), 1, "{:?}", release.notes);
        assert!(release.notes[0].contains("default `latest`"));
    }
}
