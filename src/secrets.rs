//! The platform's secret values: read from the environment variables the
//! runbook names or from an `--env-file` in the runbook's `.env.production`
//! format, plus the TLS certificate and key files. A value never reaches a
//! `Debug` or `Display` impl, so it cannot leak into output or errors by
//! accident.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a secret value is shown as. `redact` re-exports it: every rule
/// that hides a value lives there, and this module stays below it.
pub const REDACTED: &str = "<redacted>";

/// One secret the platform needs: its environment variable, the key in the
/// `fintech-ai-secrets` Secret, and the name templates use.
#[derive(Debug, Clone, Copy)]
pub struct SecretSpec {
    pub env_var: &'static str,
    pub secret_key: &'static str,
    pub template_key: &'static str,
}

/// A TLS certificate or key file larger than this is refused.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The keys of `fintech-ai-secrets`, in the order the runbook creates them.
pub const PLATFORM_SECRETS: [SecretSpec; 5] = [
    SecretSpec {
        env_var: "POSTGRES_PASSWORD",
        secret_key: "postgres-password",
        template_key: "postgres_password",
    },
    SecretSpec {
        env_var: "REDIS_PASSWORD",
        secret_key: "redis-password",
        template_key: "redis_password",
    },
    SecretSpec {
        env_var: "KAFKA_PASSWORD",
        secret_key: "kafka-password",
        template_key: "kafka_password",
    },
    SecretSpec {
        env_var: "JWT_SECRET",
        secret_key: "jwt-secret",
        template_key: "jwt_secret",
    },
    SecretSpec {
        env_var: "API_KEY",
        secret_key: "api-key",
        template_key: "api_key",
    },
];

/// A secret value. Formatting it prints a marker, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the one place that needs it (the Secret object).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Where the TLS certificate and key come from.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Reading or parsing `--env-file` (`FILE:LINE: …`, never a value).
    #[error(transparent)]
    EnvFile(#[from] crate::envfile::EnvFileError),
    #[error("cannot read {what} `{path}`: {message}")]
    Tls {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("{what} `{path}` is not PEM: expected a `-----BEGIN {label}` block")]
    NotPem {
        what: &'static str,
        path: String,
        label: &'static str,
    },
    #[error("--tls-cert `{cert}` and --tls-key `{key}` do not belong together: {problem}")]
    TlsPair {
        cert: String,
        key: String,
        problem: String,
    },
    #[error("--tls-cert and --tls-key go together: `{given}` was given without `{missing}`")]
    TlsHalf {
        given: &'static str,
        missing: &'static str,
    },
    #[error("missing secrets: {}; set them in the environment or in --env-file", .0.join(", "))]
    Missing(Vec<String>),
}

/// The secret values found, by template key; absent ones are `None`.
#[derive(Debug, Clone, Default)]
pub struct SecretValues {
    values: BTreeMap<&'static str, Option<SecretString>>,
    pub tls_cert: Option<SecretString>,
    pub tls_key: Option<SecretString>,
}

impl SecretValues {
    /// Reads every platform secret from `lookup` (the process environment)
    /// first and then from the env file; the process environment wins, as
    /// with every dotenv tool.
    pub fn collect(
        env_file: Option<&Path>,
        tls: &TlsFiles,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SecretsError> {
        let file_values = match env_file {
            Some(path) => read_env_file(path)?,
            None => BTreeMap::new(),
        };
        let mut values = BTreeMap::new();
        for spec in PLATFORM_SECRETS {
            let value = lookup(spec.env_var)
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    file_values
                        .get(spec.env_var)
                        .cloned()
                        .filter(|v| !v.is_empty())
                })
                .map(SecretString::new);
            values.insert(spec.template_key, value);
        }
        let (tls_cert, tls_key) = match (&tls.cert, &tls.key) {
            (Some(cert_path), Some(key_path)) => {
                let cert = read_pem(cert_path, "--tls-cert", "CERTIFICATE")?;
                let key = read_pem(key_path, "--tls-key", "PRIVATE KEY")?;
                check_tls_pair(cert.expose(), key.expose()).map_err(|problem| {
                    SecretsError::TlsPair {
                        cert: cert_path.display().to_string(),
                        key: key_path.display().to_string(),
                        problem,
                    }
                })?;
                (Some(cert), Some(key))
            }
            (Some(_), None) => {
                return Err(SecretsError::TlsHalf {
                    given: "--tls-cert",
                    missing: "--tls-key",
                });
            }
            (None, Some(_)) => {
                return Err(SecretsError::TlsHalf {
                    given: "--tls-key",
                    missing: "--tls-cert",
                });
            }
            (None, None) => (None, None),
        };
        Ok(Self {
            values,
            tls_cert,
            tls_key,
        })
    }

    /// Environment variables of the platform secrets that have no value.
    pub fn missing(&self) -> Vec<String> {
        PLATFORM_SECRETS
            .iter()
            .filter(|s| self.values.get(s.template_key).is_none_or(Option::is_none))
            .map(|s| s.env_var.to_string())
            .collect()
    }

    /// Fails listing every missing secret at once: the platform secrets
    /// when `needs_platform`, the TLS pair when `needs_tls`.
    pub fn require(&self, needs_platform: bool, needs_tls: bool) -> Result<(), SecretsError> {
        let mut missing = if needs_platform {
            self.missing()
        } else {
            Vec::new()
        };
        if needs_tls && self.tls_cert.is_none() {
            missing.push(
                "--tls-cert and --tls-key (or FINTECHCTL_TLS_CERT / FINTECHCTL_TLS_KEY)".into(),
            );
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SecretsError::Missing(missing))
        }
    }

    pub fn get(&self, template_key: &str) -> Option<&SecretString> {
        self.values.get(template_key).and_then(Option::as_ref)
    }

    /// Every value that is set and secret (the TLS certificate is public;
    /// its key is not), for the redactor that scrubs output.
    pub fn exposed_values(&self) -> impl Iterator<Item = &str> {
        self.values
            .values()
            .flatten()
            .chain(self.tls_key.as_ref())
            .map(SecretString::expose)
    }
}

fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, SecretsError> {
    Ok(crate::envfile::read(path)?)
}

/// Whether the key is the private half of the (first) certificate's public
/// key: an ingress given a mismatched pair serves no TLS, which a cluster
/// says only much later. The problem never quotes the key.
pub fn check_tls_pair(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or("the certificate file holds no certificate that can be read")?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert)
        .map_err(|_| "the certificate cannot be parsed (expected an X.509 certificate in PEM)")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| "the key file holds no private key that can be read (expected PKCS#8, PKCS#1 or SEC1 PEM)")?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(
        |_| "the private key is not an RSA, ECDSA or Ed25519 key that can be used for TLS",
    )?;
    match signer.public_key() {
        Some(public) if public.as_ref() != parsed.tbs_certificate.subject_pki.raw => {
            Err("the key is not the private key of the certificate's public key (a key from another certificate?)".to_string())
        }
        _ => Ok(()),
    }
}

fn read_pem(
    path: &Path,
    what: &'static str,
    label: &'static str,
) -> Result<SecretString, SecretsError> {
    let text = crate::files::read_capped(path, MAX_PEM_BYTES).map_err(|e| SecretsError::Tls {
        what,
        path: path.display().to_string(),
        message: e.cause(),
    })?;
    // "PRIVATE KEY" also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY".
    let ok = text
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.contains(label));
    if !ok {
        return Err(SecretsError::NotPem {
            what,
            path: path.display().to_string(),
            label,
        });
    }
    Ok(SecretString::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn env_file_with_export_lines_is_read_and_environment_wins() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "# comment\nexport POSTGRES_PASSWORD=from-file-pg\nREDIS_PASSWORD=\"from file redis\"\nexport API_KEY=file-key").unwrap();
        let values = SecretValues::collect(Some(file.path()), &TlsFiles::default(), |k| {
            (k == "API_KEY").then(|| "env-key".to_string())
        })
        .unwrap();
        assert_eq!(
            values.get("postgres_password").unwrap().expose(),
            "from-file-pg"
        );
        assert_eq!(
            values.get("redis_password").unwrap().expose(),
            "from file redis"
        );
        assert_eq!(values.get("api_key").unwrap().expose(), "env-key");
        assert_eq!(values.missing(), ["KAFKA_PASSWORD", "JWT_SECRET"]);
        let err = values.require(true, false).unwrap_err().to_string();
        assert!(err.contains("KAFKA_PASSWORD, JWT_SECRET"), "{err}");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let values =
            SecretValues::collect(None, &TlsFiles::default(), |_| Some("s3cr3t-value".into()))
                .unwrap();
        assert!(!format!("{values:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn malformed_env_file_error_does_not_quote_the_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "export POSTGRES_PASSWORD='unterminated-s3cr3t").unwrap();
        let err = SecretValues::collect(Some(file.path()), &TlsFiles::default(), |_| None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn tls_needs_both_halves_and_pem() {
        let cert = tempfile::NamedTempFile::new().unwrap();
        let tls = TlsFiles {
            cert: Some(cert.path().into()),
            key: None,
        };
        let err = SecretValues::collect(None, &tls, |_| None).unwrap_err();
        assert!(err.to_string().contains("--tls-key"), "{err}");
        let key = tempfile::NamedTempFile::new().unwrap();
        let tls = TlsFiles {
            cert: Some(cert.path().into()),
            key: Some(key.path().into()),
        };
        let err = SecretValues::collect(None, &tls, |_| None).unwrap_err();
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    }

    /// Issue 16 item 5: a certificate and a key from two different pairs
    /// are refused when loaded, naming both files, never quoting the key.
    #[test]
    fn a_certificate_and_a_key_that_do_not_belong_together_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let a = rcgen::generate_simple_self_signed(vec!["a.example.com".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example.com".into()]).unwrap();
        let cert_a = write("a.crt", &a.cert.pem());
        let key_a = write("a.key", &a.signing_key.serialize_pem());
        let key_b_pem = b.signing_key.serialize_pem();
        let key_b = write("b.key", &key_b_pem);
        let files = |cert: &Path, key: &Path| TlsFiles {
            cert: Some(cert.into()),
            key: Some(key.into()),
        };
        let ok = SecretValues::collect(None, &files(&cert_a, &key_a), |_| None).unwrap();
        assert!(ok.tls_cert.is_some() && ok.tls_key.is_some());

        let err = SecretValues::collect(None, &files(&cert_a, &key_b), |_| None).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SecretsError::TlsPair { .. }), "{text}");
        assert!(text.contains("a.crt") && text.contains("b.key"), "{text}");
        assert!(text.contains("do not belong together"), "{text}");
        let key_body: String = key_b_pem.lines().nth(1).unwrap().chars().take(20).collect();
        assert!(!text.contains(&key_body), "the key is never quoted: {text}");

        let junk = write(
            "junk.crt",
            "-----BEGIN CERTIFICATE-----\nZmFrZS1jZXJ0\n-----END CERTIFICATE-----\n",
        );
        let err = SecretValues::collect(None, &files(&junk, &key_a), |_| None).unwrap_err();
        assert!(err.to_string().contains("cannot be parsed"), "{err}");
    }
}
