//! Managed Redis (Azure Cache for Redis): no pod to read an RDB from, so
//! the backup's redis part is the service's own export, `az redis export`,
//! writing the RDB into a blob container next to the backup, with the
//! command's result (exit status, redacted stderr, where the export went)
//! recorded in the manifest and as `redis.export.json` in the backup.
//!
//! The container is given to Azure as a SAS URL: `FINTECHCTL_REDIS_EXPORT_SAS_URL`
//! when set (any container), else a user-delegation SAS for the backup
//! store's own container (`az storage container generate-sas --as-user
//! --auth-mode login`, three hours, create/write/add only) when the store
//! is Azure Blob. The SAS is a credential: it is scrubbed from everything
//! shown and never recorded.
//!
//! fintechctl does not import such an export: a restore names the
//! `az redis import` to run instead (see `ops::restore`).
//!
//! Nothing here prints.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::environment::Environment;

/// The object in the backup describing the export.
pub const EXPORT_FILE: &str = "redis.export.json";
/// The container SAS URL to export to, overriding the store's container.
pub const SAS_URL_VAR: &str = "FINTECHCTL_REDIS_EXPORT_SAS_URL";
/// How long `az redis export` may take (Azure copies the whole cache).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long `az storage container generate-sas` may take.
const SAS_TIMEOUT: Duration = Duration::from_secs(90);
/// The RDB format, as `az redis export --file-format` takes it.
pub const FILE_FORMAT: &str = "RDB";
/// The Azure CLI (a test puts a fake first on PATH).
const AZ: &str = "az";

/// Where the export goes and how it went; recorded in the manifest
/// (`redisExport`) and in [`EXPORT_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedisExport {
    /// The cache's resource name and group.
    pub name: String,
    pub resource_group: String,
    /// The container, without its SAS.
    pub container: String,
    /// The exported blobs' name prefix in the container.
    pub prefix: String,
    pub file_format: String,
    /// The command run, the SAS replaced by `[SAS]`.
    pub command: Vec<String>,
    /// `None`: it did not end (timed out, stopped, not started).
    pub exit_code: Option<i32>,
    /// Its last stderr lines, redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The environment does not say enough (exit 2 naming the field).
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    /// Nowhere to export to.
    #[error("{0}")]
    NoContainer(String),
    #[error("`{command}` failed: {message}")]
    Cli {
        command: String,
        message: String,
        stderr: Vec<String>,
    },
}

impl ExportError {
    pub fn details(&self) -> Vec<String> {
        match self {
            ExportError::Cli { stderr, .. } => stderr.clone(),
            _ => Vec::new(),
        }
    }
}

/// The cache's resource name: `data.redis.name`, else the first label of a
/// `*.redis.cache.windows.net` host.
pub fn cache_name(env: &Environment) -> Result<String, ExportError> {
    let r = &env.data.redis;
    if let Some(name) = &r.name {
        return Ok(name.clone());
    }
    match r.host.strip_suffix(".redis.cache.windows.net") {
        Some(first) if !first.is_empty() && !first.contains('.') => Ok(first.to_string()),
        _ => Err(ExportError::Input {
            field: "data.redis.name".into(),
            message: format!(
                "is required for `az redis export`: the host `{}` is not `<name>.redis.cache.windows.net`",
                r.host
            ),
        }),
    }
}

/// The cache's resource group: `data.redis.resourceGroup`, else `cluster.resourceGroup`.
pub fn resource_group(env: &Environment) -> Result<String, ExportError> {
    env.data
        .redis
        .resource_group
        .clone()
        .or_else(|| env.cluster.resource_group.clone())
        .ok_or_else(|| ExportError::Input {
            field: "data.redis.resourceGroup".into(),
            message: "is required for `az redis export` (or cluster.resourceGroup)".into(),
        })
}

/// Checks, before anything is reached, what the export needs from the
/// environment (bad input: the error names the field). The SAS URL
/// variable is checked with the settings.
pub fn preflight(env: &Environment) -> Result<(), ExportError> {
    cache_name(env)?;
    resource_group(env)?;
    Ok(())
}

/// A container SAS URL split into the container URL and its token.
#[derive(Clone)]
pub struct Container {
    pub url: String,
    pub sas: String,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}?[SAS]", self.url)
    }
}

impl Container {
    /// `https://acct.blob.core.windows.net/container?sv=…&sig=…`.
    pub fn parse(sas_url: &str) -> Result<Self, ExportError> {
        let bad = |why: &str| ExportError::Input {
            field: SAS_URL_VAR.into(),
            message: format!(
                "{why}; expected a container SAS URL such as https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…"
            ),
        };
        let (url, sas) = sas_url
            .trim()
            .split_once('?')
            .ok_or_else(|| bad("has no SAS token (no `?`)"))?;
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(bad("is not an http(s) URL"));
        }
        if sas.is_empty() || !sas.contains("sig=") {
            return Err(bad("has no signature (`sig=`)"));
        }
        Ok(Container {
            url: url.trim_end_matches('/').to_string(),
            sas: sas.to_string(),
        })
    }

    pub fn sas_url(&self) -> String {
        format!("{}?{}", self.url, self.sas)
    }
}

/// Runs `az` with `args` within `timeout`: (exit code, stdout, stderr).
async fn az(args: &[String], timeout: Duration) -> Result<(i32, String, String), String> {
    let mut cmd = tokio::process::Command::new(AZ);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("`az` is not installed or not on PATH; install the Azure CLI (https://aka.ms/InstallAzureCLI)".into());
        }
        Err(e) => return Err(e.to_string()),
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "did not finish within {}",
            crate::human::duration(timeout)
        )),
    }
}

fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// A user-delegation SAS for `container` of `account` (create, add, write;
/// three hours), from the signed-in Azure CLI.
pub async fn generate_sas(account: &str, container: &str) -> Result<Container, ExportError> {
    let expiry = k8s_openapi::jiff::Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(3))
        .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default();
    let args: Vec<String> = [
        "storage",
        "container",
        "generate-sas",
        "--account-name",
        account,
        "--name",
        container,
        "--permissions",
        "acw",
        "--expiry",
        &expiry,
        "--https-only",
        "--auth-mode",
        "login",
        "--as-user",
        "--only-show-errors",
        "-o",
        "tsv",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let command = format!("az {}", args[..3].join(" "));
    match az(&args, SAS_TIMEOUT).await {
        Ok((0, out, _)) if !out.trim().is_empty() => Ok(Container {
            url: format!("https://{account}.blob.core.windows.net/{container}"),
            sas: out.trim().trim_matches('"').to_string(),
        }),
        Ok((code, _, err)) => Err(ExportError::Cli {
            command,
            message: format!("exited with code {code}"),
            stderr: last_lines(&err, 10),
        }),
        Err(message) => Err(ExportError::Cli {
            command,
            message,
            stderr: Vec::new(),
        }),
    }
}

/// `az redis export` of `env`'s cache into `container` under `prefix`,
/// within [`EXPORT_TIMEOUT`]. Always returns the record (exit code and
/// stderr unredacted: the caller scrubs them with what it knows, the SAS
/// included); `Err` only when the command could not be run at all.
pub async fn export(
    env: &Environment,
    container: &Container,
    prefix: &str,
    timeout: Duration,
) -> Result<RedisExport, ExportError> {
    let name = cache_name(env)?;
    let resource_group = resource_group(env)?;
    let mut args: Vec<String> = vec![
        "redis".into(),
        "export".into(),
        "--name".into(),
        name.clone(),
        "--resource-group".into(),
        resource_group.clone(),
        "--prefix".into(),
        prefix.to_string(),
        "--container".into(),
        container.sas_url(),
        "--file-format".into(),
        FILE_FORMAT.into(),
    ];
    if let Some(sub) = &env.cluster.subscription {
        args.push("--subscription".into());
        args.push(sub.clone());
    }
    args.push("--only-show-errors".into());
    let shown: Vec<String> = std::iter::once(AZ.to_string())
        .chain(args.iter().map(|a| {
            if a == &container.sas_url() {
                format!("{}?[SAS]", container.url)
            } else {
                a.clone()
            }
        }))
        .collect();
    let started = Instant::now();
    let started_at = k8s_openapi::jiff::Timestamp::now().to_string();
    let ran = az(&args, timeout).await;
    let mut record = RedisExport {
        name,
        resource_group,
        container: container.url.clone(),
        prefix: prefix.to_string(),
        file_format: FILE_FORMAT.into(),
        command: shown,
        exit_code: None,
        stderr: Vec::new(),
        started_at,
        finished_at: k8s_openapi::jiff::Timestamp::now().to_string(),
        duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    };
    match ran {
        Ok((code, _, err)) => {
            record.exit_code = Some(code);
            record.stderr = last_lines(&err, 20);
            Ok(record)
        }
        Err(message) if message.contains("not installed") => Err(ExportError::Cli {
            command: "az redis export".into(),
            message,
            stderr: Vec::new(),
        }),
        Err(message) => {
            record.stderr = vec![message];
            Ok(record)
        }
    }
}

/// What to run to put an export back (fintechctl does not import).
pub fn import_hint(record: &RedisExport) -> String {
    format!(
        "az redis import --name {} --resource-group {} --file-format {} --files '{}/{}<suffix>?<SAS with read permission>' (the blob(s) named {}* in {})",
        record.name,
        record.resource_group,
        record.file_format,
        record.container,
        record.prefix,
        record.prefix,
        record.container
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sas_url_splits_and_never_debug_prints_its_token() {
        let c = Container::parse(
            "https://acct.blob.core.windows.net/backups/?sv=2022-11-02&sig=test-only-sas",
        )
        .unwrap();
        assert_eq!(c.url, "https://acct.blob.core.windows.net/backups");
        assert!(!format!("{c:?}").contains("test-only-sas"));
        assert!(Container::parse("https://acct.blob.core.windows.net/backups").is_err());
        assert!(Container::parse("ftp://x/y?sig=1").is_err());
    }
}
