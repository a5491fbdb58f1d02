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
    let client = client_with_retries(config).map_err(|e| ConnectError::Unreachable {
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

/// A client whose requests survive a passing fault: see [`TransientRetry`].
pub fn client_with_retries(mut config: Config) -> Result<Client, kube::Error> {
    // Replaces kube's default (up to 15 retries, delays up to 1000 s):
    // fintechctl must fail in seconds when the API server stays broken.
    config.default_retry = false;
    let builder = kube::client::ClientBuilder::try_from(config)?;
    // Retry needs a cloneable service; the buffer makes the stack one.
    Ok(builder
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(TransientRetry::default()))
        .build())
}

/// Retries what an API server answers when it is briefly unwell — 429 and
/// 503 (any request: the server did not process it), 500, 502 and 504 and
/// connection errors (only requests that are safe to repeat: reads and
/// server-side apply) — at most four times within a few seconds, honouring
/// `Retry-After` up to 5 s.
#[derive(Clone, Debug, Default)]
pub struct TransientRetry {
    attempt: u32,
}

const MAX_RETRIES: u32 = 4;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

impl TransientRetry {
    fn backoff(&self) -> Duration {
        Duration::from_millis(250) * 2u32.pow(self.attempt.min(4))
    }
}

/// Reads and server-side apply can be sent again without changing the outcome.
fn idempotent<B>(req: &http::Request<B>) -> bool {
    match *req.method() {
        http::Method::GET | http::Method::HEAD => true,
        http::Method::PATCH => req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/apply-patch")),
        _ => false,
    }
}

impl<B> tower::retry::Policy<http::Request<kube::client::Body>, http::Response<B>, tower::BoxError>
    for TransientRetry
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut http::Request<kube::client::Body>,
        result: &mut Result<http::Response<B>, tower::BoxError>,
    ) -> Option<Self::Future> {
        if self.attempt >= MAX_RETRIES {
            return None;
        }
        let delay = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let retryable = matches!(status, 429 | 503)
                    || (matches!(status, 500 | 502 | 504) && idempotent(req));
                if !retryable {
                    return None;
                }
                response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| self.backoff())
            }
            Err(_) if idempotent(req) => self.backoff(),
            Err(_) => return None,
        };
        self.attempt += 1;
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(
        &mut self,
        req: &http::Request<kube::client::Body>,
    ) -> Option<http::Request<kube::client::Body>> {
        let body = req.body().try_clone()?;
        let mut clone = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version())
            .body(body)
            .ok()?;
        *clone.headers_mut() = req.headers().clone();
        *clone.extensions_mut() = req.extensions().clone();
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        method: http::Method,
        content_type: Option<&str>,
    ) -> http::Request<kube::client::Body> {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/api/v1/namespaces");
        if let Some(ct) = content_type {
            b = b.header(http::header::CONTENT_TYPE, ct);
        }
        b.body(kube::client::Body::empty()).unwrap()
    }

    fn response(
        status: u16,
        retry_after: Option<&str>,
    ) -> Result<http::Response<()>, tower::BoxError> {
        let mut b = http::Response::builder().status(status);
        if let Some(r) = retry_after {
            b = b.header(http::header::RETRY_AFTER, r);
        }
        Ok(b.body(()).unwrap())
    }

    #[tokio::test]
    async fn retries_only_what_is_safe_and_only_a_few_times() {
        use tower::retry::Policy;
        let mut policy = TransientRetry::default();
        let mut get = request(http::Method::GET, None);
        let mut post = request(http::Method::POST, Some("application/json"));
        let mut apply = request(http::Method::PATCH, Some("application/apply-patch+yaml"));
        let mut merge = request(http::Method::PATCH, Some("application/merge-patch+json"));
        assert!(policy.retry(&mut get, &mut response(500, None)).is_some());
        assert!(policy.retry(&mut apply, &mut response(502, None)).is_some());
        assert!(
            TransientRetry::default()
                .retry(&mut post, &mut response(500, None))
                .is_none(),
            "a POST may have been processed"
        );
        assert!(
            TransientRetry::default()
                .retry(&mut merge, &mut response(500, None))
                .is_none()
        );
        assert!(
            TransientRetry::default()
                .retry(&mut post, &mut response(429, None))
                .is_some(),
            "429: not processed"
        );
        assert!(
            TransientRetry::default()
                .retry(&mut get, &mut response(404, None))
                .is_none()
        );
        assert!(
            TransientRetry::default()
                .retry(&mut get, &mut response(409, None))
                .is_none()
        );
        let mut policy = TransientRetry::default();
        for _ in 0..MAX_RETRIES {
            assert!(policy.retry(&mut get, &mut response(503, None)).is_some());
        }
        assert!(
            policy.retry(&mut get, &mut response(503, None)).is_none(),
            "bounded"
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_cap() {
        let p = TransientRetry::default();
        assert_eq!(p.backoff(), Duration::from_millis(250));
        let header = |v: &str| {
            v.parse::<u64>()
                .ok()
                .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
        };
        assert_eq!(header("2"), Some(Duration::from_secs(2)));
        assert_eq!(header("600"), Some(MAX_RETRY_AFTER));
    }
}
