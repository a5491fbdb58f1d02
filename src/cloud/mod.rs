//! The cloud CLIs (`az`, `aws`, `gcloud`): cluster credentials fetched into a
//! kubeconfig that fintechctl keeps for itself, never the user's
//! `~/.kube/config`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::environment::{Cluster, Provider};

/// How long a CLI may take to hand out credentials.
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("`{cli}` is not installed or not on PATH; {hint}")]
    CliMissing {
        cli: &'static str,
        hint: &'static str,
    },
    #[error("`{command}` failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(":\n{stderr}") })]
    CliFailed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{command}` succeeded but wrote no kubeconfig at `{path}`")]
    NoKubeconfig { command: String, path: String },
    #[error("`{command}` did not finish within {}s", .timeout.as_secs())]
    Timeout { command: String, timeout: Duration },
    #[error("cannot create `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where fintechctl keeps an environment's kubeconfig, in its cache
/// directory (see [`cache_dir`]).
pub fn kubeconfig_path(cache_dir: &Path, environment: &str) -> PathBuf {
    cache_dir.join(format!("kubeconfig-{environment}"))
}

/// fintechctl's cache directory: `$FINTECHCTL_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/fintechctl`, else `~/.cache/fintechctl` (read through
/// `lookup`, the process environment, with the other settings).
pub fn cache_dir(lookup: impl Fn(&str) -> Option<String>) -> PathBuf {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    if let Some(dir) = get("FINTECHCTL_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = get("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("fintechctl");
    }
    let home = get("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("fintechctl")
}

/// The CLI invocation that writes `cluster`'s credentials into `kubeconfig`.
/// `None` for provider `kubeconfig`, which needs no CLI.
pub fn credentials_command(
    cluster: &Cluster,
    kubeconfig: &Path,
) -> Option<(&'static str, Vec<String>)> {
    let path = kubeconfig.display().to_string();
    let name = cluster.name.clone().unwrap_or_default();
    let mut args: Vec<String>;
    let cli = match cluster.provider {
        Provider::Azure => {
            args = vec![
                "aks".into(),
                "get-credentials".into(),
                "--resource-group".into(),
                cluster.resource_group.clone().unwrap_or_default(),
                "--name".into(),
                name,
                "--file".into(),
                path,
                "--overwrite-existing".into(),
                "--only-show-errors".into(),
            ];
            if let Some(sub) = &cluster.subscription {
                args.extend(["--subscription".into(), sub.clone()]);
            }
            "az"
        }
        Provider::Aws => {
            args = vec![
                "eks".into(),
                "update-kubeconfig".into(),
                "--name".into(),
                name,
                "--region".into(),
                cluster.region.clone().unwrap_or_default(),
                "--kubeconfig".into(),
                path,
            ];
            "aws"
        }
        Provider::Gcp => {
            // gcloud writes into $KUBECONFIG; see `fetch_credentials`.
            args = vec![
                "container".into(),
                "clusters".into(),
                "get-credentials".into(),
                name,
                "--location".into(),
                cluster.location.clone().unwrap_or_default(),
                "--project".into(),
                cluster.project.clone().unwrap_or_default(),
                "--quiet".into(),
            ];
            "gcloud"
        }
        Provider::Kubeconfig => return None,
    };
    Some((cli, args))
}

fn install_hint(cli: &str) -> &'static str {
    match cli {
        "az" => "install the Azure CLI (`pip install azure-cli`) and run `az login`",
        "aws" => {
            "install the AWS CLI and configure credentials (`aws configure` or `aws sso login`)"
        }
        _ => "install the Google Cloud CLI and run `gcloud auth login`",
    }
}

/// Runs the provider's CLI to write credentials into `kubeconfig`.
pub async fn fetch_credentials(cluster: &Cluster, kubeconfig: &Path) -> Result<(), CloudError> {
    fetch_credentials_with_env(cluster, kubeconfig, &[]).await
}

/// [`fetch_credentials`] with extra environment variables for the CLI on top
/// of fintechctl's own (tests point `aws` at a local endpoint this way
/// without touching the test process's environment).
pub async fn fetch_credentials_with_env(
    cluster: &Cluster,
    kubeconfig: &Path,
    env: &[(&str, &str)],
) -> Result<(), CloudError> {
    let Some((cli, args)) = credentials_command(cluster, kubeconfig) else {
        return Ok(());
    };
    if let Some(dir) = kubeconfig.parent() {
        std::fs::create_dir_all(dir).map_err(|source| CloudError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let command = format!("{cli} {}", args.join(" "));
    let mut cmd = tokio::process::Command::new(cli);
    cmd.args(&args)
        .envs(env.iter().copied())
        .env("KUBECONFIG", kubeconfig)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CloudError::CliMissing {
                cli,
                hint: install_hint(cli),
            });
        }
        Err(e) => {
            return Err(CloudError::CliFailed {
                command,
                status: e.to_string(),
                stderr: String::new(),
            });
        }
    };
    let output = match tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(CloudError::CliFailed {
                command,
                status: e.to_string(),
                stderr: String::new(),
            });
        }
        Err(_) => {
            return Err(CloudError::Timeout {
                command,
                timeout: CLI_TIMEOUT,
            });
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(8)..]
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(CloudError::CliFailed {
            command,
            status: output.status.to_string(),
            stderr: tail,
        });
    }
    // A CLI (or a wrapper on PATH) that exits 0 without writing would
    // otherwise surface as an unreadable kubeconfig, i.e. as bad user input.
    if !std::fs::metadata(kubeconfig).is_ok_and(|m| m.is_file() && m.len() > 0) {
        return Err(CloudError::NoKubeconfig {
            command,
            path: kubeconfig.display().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(provider: Provider) -> Cluster {
        Cluster {
            provider,
            name: Some("fintech-ai-prod".into()),
            resource_group: Some("rg".into()),
            subscription: None,
            region: Some("eu-west-1".into()),
            project: Some("proj".into()),
            location: Some("europe-west4".into()),
            context: None,
            uid: None,
        }
    }

    #[test]
    fn each_provider_writes_into_our_own_kubeconfig() {
        let path = Path::new("/cache/kubeconfig-production");
        let (cli, args) = credentials_command(&cluster(Provider::Azure), path).unwrap();
        assert_eq!(cli, "az");
        assert!(
            args.windows(2)
                .any(|w| w == ["--file", "/cache/kubeconfig-production"]),
            "{args:?}"
        );
        assert!(args.windows(2).any(|w| w == ["--resource-group", "rg"]));
        let (cli, args) = credentials_command(&cluster(Provider::Aws), path).unwrap();
        assert_eq!(cli, "aws");
        assert!(
            args.windows(2)
                .any(|w| w == ["--kubeconfig", "/cache/kubeconfig-production"]),
            "{args:?}"
        );
        assert!(args.windows(2).any(|w| w == ["--region", "eu-west-1"]));
        let (cli, args) = credentials_command(&cluster(Provider::Gcp), path).unwrap();
        assert_eq!(cli, "gcloud");
        assert!(args.windows(2).any(|w| w == ["--project", "proj"]));
        assert!(credentials_command(&cluster(Provider::Kubeconfig), path).is_none());
    }
}
