//! Reaching the cluster: `--kubeconfig` / `--context` / `KUBECONFIG` as
//! kubectl uses them, else the environment's cluster entry. Ends with the
//! server's version checked, so an unreachable or unsupported cluster fails
//! before anything is written.

use std::path::PathBuf;
use std::time::Duration;

use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::cloud::{self, CloudError};
use crate::environment::{Environment, Provider};

/// Oldest Kubernetes minor the manifests support (the runbook: 1.28+).
pub const MIN_MINOR: u32 = 28;
/// How long the first API call may take before the cluster counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The access flags the user gave.
#[derive(Debug, Clone, Default)]
pub struct AccessFlags {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A reachable cluster.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// Where the access came from, for plans and confirmations.
    pub source: String,
    pub server_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("cannot load kubeconfig{}: {message}", path.as_ref().map(|p| format!(" `{p}`")).unwrap_or_default())]
    Kubeconfig {
        path: Option<String>,
        message: String,
    },
    #[error("cannot reach the cluster ({source_desc}): {message}")]
    Unreachable {
        source_desc: String,
        message: String,
    },
    #[error("the cluster runs Kubernetes {version}; fintechctl supports 1.{MIN_MINOR} and newer")]
    Unsupported { version: String },
}

/// Builds a client for `env` and checks the server answers with a supported version.
pub async fn connect(env: &Environment, flags: &AccessFlags) -> Result<Connection, ConnectError> {
    let explicit = flags.kubeconfig.is_some()
        || flags.context.is_some()
        || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    let (kubeconfig, path, context, source) = if explicit {
        let (kubeconfig, path) = match &flags.kubeconfig {
            Some(path) => (
                Kubeconfig::read_from(path),
                Some(path.display().to_string()),
            ),
            None => (Kubeconfig::read(), None),
        };
        let source = match (&flags.context, &path) {
            (Some(c), _) => format!("context `{c}`"),
            (None, Some(p)) => format!("kubeconfig `{p}`"),
            (None, None) => "KUBECONFIG".to_string(),
        };
        (kubeconfig, path, flags.context.clone(), source)
    } else if env.cluster.provider == Provider::Kubeconfig {
        let context = env.cluster.context.clone();
        let source = format!("context `{}`", context.as_deref().unwrap_or("(current)"));
        (Kubeconfig::read(), None, context, source)
    } else {
        let path = cloud::kubeconfig_path(&env.name);
        cloud::fetch_credentials(&env.cluster, &path).await?;
        let source = format!(
            "{} cluster `{}`",
            env.cluster.provider.as_str(),
            env.cluster.name.as_deref().unwrap_or_default()
        );
        (
            Kubeconfig::read_from(&path),
            Some(path.display().to_string()),
            None,
            source,
        )
    };
    let kubeconfig = kubeconfig.map_err(|e| ConnectError::Kubeconfig {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let options = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ConnectError::Kubeconfig {
            path,
            message: e.to_string(),
        })?;
    let client = Client::try_from(config).map_err(|e| ConnectError::Unreachable {
        source_desc: source.clone(),
        message: e.to_string(),
    })?;
    let info = match tokio::time::timeout(CONNECT_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => {
            return Err(ConnectError::Unreachable {
                source_desc: source,
                message: super::api_message(&e),
            });
        }
        Err(_) => {
            return Err(ConnectError::Unreachable {
                source_desc: source,
                message: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            });
        }
    };
    let version = info.git_version.clone();
    let minor: u32 = info.minor.trim_end_matches('+').parse().unwrap_or(0);
    if info.major != "1" || minor < MIN_MINOR {
        return Err(ConnectError::Unsupported { version });
    }
    Ok(Connection {
        client,
        source,
        server_version: version,
    })
}
