//! Reaching the cluster: `--kubeconfig` / `--context` / `KUBECONFIG` as
//! kubectl uses them, else the environment's cluster entry. Ends with the
//! server's version checked, so an unreachable or unsupported cluster fails
//! before anything is written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::cloud::{self, CloudError};
use crate::environment::{Environment, Provider};

/// Oldest Kubernetes minor the manifests support (the runbook: 1.28+).
pub const MIN_MINOR: u32 = 28;
/// A kubeconfig larger than this is refused before it is parsed.
pub const MAX_KUBECONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Where the kubeconfig comes from and how long a request may take: the
/// settings resolve it from the flags and the process environment.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// The files `KUBECONFIG` names (`:`-separated), when it is set.
    pub kubeconfig_env: Vec<PathBuf>,
    /// `~/.kube/config`, kubectl's default.
    pub default_kubeconfig: PathBuf,
    /// fintechctl's cache directory (the cloud CLIs' kubeconfigs).
    pub cache_dir: PathBuf,
    /// Deadline of each request for its response to start.
    pub request_timeout: Duration,
    /// `--allow-other-cluster`: a writing command may change a cluster
    /// that belongs to another environment.
    pub allow_other_cluster: bool,
    /// The command's `--timeout`: connecting (cloud credentials, the
    /// version request and its retries) gives up when it has passed.
    pub connect_budget: Option<Duration>,
}

impl Default for ClusterAccess {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            kubeconfig_env: Vec::new(),
            default_kubeconfig: PathBuf::from(".kube/config"),
            cache_dir: std::env::temp_dir().join("fintechctl"),
            request_timeout: Duration::from_secs(10),
            allow_other_cluster: false,
            connect_budget: None,
        }
    }
}

/// A reachable cluster.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// Where the access came from, for plans and confirmations.
    pub source: String,
    /// The API server's URL, for messages about losing it.
    pub server: String,
    pub server_version: String,
    /// With explicit access (`--kubeconfig`, `--context`, `KUBECONFIG`): the
    /// context used and its cluster entry's name, which the wrong-cluster
    /// rule compares with the environment's cluster entry.
    pub explicit_context: Option<String>,
    pub explicit_cluster: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("cannot load kubeconfig{}: {message}{}", path.as_ref().map(|p| format!(" `{p}`")).unwrap_or_default(), hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Kubeconfig {
        path: Option<String>,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot reach the cluster at {server} ({source_desc}): {message}")]
    Unreachable {
        server: String,
        source_desc: String,
        message: String,
    },
    #[error(
        "the cluster at {server} runs Kubernetes {version}; fintechctl supports 1.{MIN_MINOR} and newer"
    )]
    Unsupported { server: String, version: String },
}

/// Builds a client for `env` and checks the server answers with a supported
/// version, within the command's `--timeout` when it has one.
pub async fn connect(
    env: &Environment,
    access: &ClusterAccess,
) -> Result<Connection, ConnectError> {
    let Some(budget) = access.connect_budget else {
        return connect_unbounded(env, access).await;
    };
    match tokio::time::timeout(budget, connect_unbounded(env, access)).await {
        Ok(connected) => connected,
        Err(_) => Err(ConnectError::Unreachable {
            server: match env.cluster.provider {
                Provider::Kubeconfig => "the kubeconfig's server".to_string(),
                _ => format!(
                    "{} cluster `{}`",
                    env.cluster.provider.as_str(),
                    env.cluster.name.as_deref().unwrap_or_default()
                ),
            },
            source_desc: format!("environment `{}`", env.name),
            message: format!(
                "not connected within --timeout {}",
                crate::human::duration(budget)
            ),
        }),
    }
}

async fn connect_unbounded(
    env: &Environment,
    access: &ClusterAccess,
) -> Result<Connection, ConnectError> {
    let explicit = access.kubeconfig.is_some()
        || access.context.is_some()
        || !access.kubeconfig_env.is_empty();
    let hint_context = |ctx: &str| {
        format!(
            "environment `{}` uses context `{ctx}`; pass --kubeconfig PATH and/or --context NAME to use another",
            env.name
        )
    };
    let (kubeconfig, path, context, source) = if explicit {
        let (kubeconfig, path) = match &access.kubeconfig {
            Some(path) => (read_kubeconfig(path), Some(path.display().to_string())),
            None if !access.kubeconfig_env.is_empty() => (
                read_merged(&access.kubeconfig_env),
                Some(
                    access
                        .kubeconfig_env
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(":"),
                ),
            ),
            None => (
                read_kubeconfig(&access.default_kubeconfig),
                Some(access.default_kubeconfig.display().to_string()),
            ),
        };
        let source = match (&access.context, &access.kubeconfig) {
            (Some(c), _) => format!("context `{c}`"),
            (None, Some(p)) => format!("kubeconfig `{}`", p.display()),
            (None, None) => "KUBECONFIG".to_string(),
        };
        (kubeconfig, path, access.context.clone(), source)
    } else if env.cluster.provider == Provider::Kubeconfig {
        let context = env.cluster.context.clone();
        let source = format!("context `{}`", context.as_deref().unwrap_or("(current)"));
        let path = access.default_kubeconfig.display().to_string();
        let read = read_kubeconfig(&access.default_kubeconfig).map_err(|message| {
            (
                message,
                Some(match &context {
                    Some(ctx) => hint_context(ctx),
                    None => "pass --kubeconfig PATH to use another file".to_string(),
                }),
            )
        });
        match read {
            Ok(k) => (Ok(k), Some(path), context, source),
            Err((message, hint)) => {
                return Err(ConnectError::Kubeconfig {
                    path: Some(path),
                    message,
                    hint,
                });
            }
        }
    } else {
        let path = cloud::kubeconfig_path(&access.cache_dir, &env.name);
        cloud::fetch_credentials(&env.cluster, &path).await?;
        let source = format!(
            "{} cluster `{}`",
            env.cluster.provider.as_str(),
            env.cluster.name.as_deref().unwrap_or_default()
        );
        (
            read_kubeconfig(&path),
            Some(path.display().to_string()),
            None,
            source,
        )
    };
    let kubeconfig = kubeconfig.map_err(|message| ConnectError::Kubeconfig {
        path: path.clone(),
        message,
        hint: None,
    })?;
    if let Some(ctx) = &context
        && !kubeconfig.contexts.iter().any(|c| &c.name == ctx)
    {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ConnectError::Kubeconfig {
            path,
            message: format!(
                "it has no context `{ctx}` (contexts: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
            hint: (env.cluster.context.as_deref() == Some(ctx.as_str())
                && access.context.is_none())
            .then(|| hint_context(ctx)),
        });
    }
    let (explicit_context, explicit_cluster) = if explicit {
        let used = context
            .clone()
            .or_else(|| kubeconfig.current_context.clone());
        let cluster = used.as_ref().and_then(|name| {
            kubeconfig
                .contexts
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.context.as_ref())
                .map(|c| c.cluster.clone())
        });
        (used, cluster)
    } else {
        (None, None)
    };
    let options = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ConnectError::Kubeconfig {
            path,
            message: e.to_string(),
            hint: None,
        })?;
    config.connect_timeout = Some(access.request_timeout.min(Duration::from_secs(10)));
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = client_with_retries(config, access.request_timeout).map_err(|e| {
        ConnectError::Unreachable {
            server: server.clone(),
            source_desc: source.clone(),
            message: describe_error(&e),
        }
    })?;
    let info = match tokio::time::timeout(access.request_timeout, client.apiserver_version()).await
    {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => {
            return Err(ConnectError::Unreachable {
                server,
                source_desc: source,
                message: describe_error(&e),
            });
        }
        Err(_) => {
            return Err(ConnectError::Unreachable {
                server,
                source_desc: source,
                message: format!(
                    "no answer within {} (--request-timeout)",
                    crate::human::duration(access.request_timeout)
                ),
            });
        }
    };
    let version = info.git_version.clone();
    let minor: u32 = info.minor.trim_end_matches('+').parse().unwrap_or(0);
    if info.major != "1" || minor < MIN_MINOR {
        return Err(ConnectError::Unsupported { server, version });
    }
    Ok(Connection {
        client,
        source,
        server,
        server_version: version,
        explicit_context,
        explicit_cluster,
    })
}

/// Reads a kubeconfig file, at most [`MAX_KUBECONFIG_BYTES`]; the message
/// is the cause only (callers name the file).
fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, String> {
    let text = crate::files::read_capped(path, MAX_KUBECONFIG_BYTES).map_err(|e| e.cause())?;
    Kubeconfig::from_yaml(&text).map_err(|e| format!("not a kubeconfig: {e}"))
}

/// `KUBECONFIG=a:b`: the files merged as kubectl merges them (first wins);
/// missing files are skipped, as kubectl does.
fn read_merged(paths: &[PathBuf]) -> Result<Kubeconfig, String> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        if !path.exists() {
            continue;
        }
        let next = read_kubeconfig(path).map_err(|e| format!("{}: {e}", path.display()))?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| e.to_string())?,
        });
    }
    merged.ok_or_else(|| "none of the files KUBECONFIG names exists".to_string())
}

/// A client error as a person reads it: the API server's message for an
/// API error; for a transport error the innermost cause in plain words
/// (`connection refused`), not the client library's wrapper names.
pub fn describe_error(error: &kube::Error) -> String {
    if let kube::Error::Api(_) = error {
        return super::api_message(error);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut io_kind = None;
    let mut innermost = error.to_string();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        if e.downcast_ref::<tower::timeout::error::Elapsed>().is_some() {
            return "no answer within the request deadline (--request-timeout)".to_string();
        }
        innermost = e.to_string();
        source = e.source();
    }
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset by the server".to_string(),
        Some(std::io::ErrorKind::TimedOut) => "connection timed out".to_string(),
        Some(std::io::ErrorKind::NotFound) => format!("not found: {innermost}"),
        _ => innermost,
    }
}

/// A client whose requests survive a passing fault: see [`TransientRetry`].
pub fn client_with_retries(mut config: Config, deadline: Duration) -> Result<Client, kube::Error> {
    // Replaces kube's default (up to 15 retries, delays up to 1000 s):
    // fintechctl must fail in seconds when the API server stays broken.
    config.default_retry = false;
    let builder = kube::client::ClientBuilder::try_from(config)?;
    // Each attempt must see its response start within `deadline` (a frozen
    // API server accepts connections and never answers); a deadline that
    // passed is not retried. Retry needs a cloneable service; the buffer
    // makes the stack one.
    Ok(builder
        .with_layer(&tower::timeout::TimeoutLayer::new(deadline))
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(TransientRetry::default()))
        .with_layer(&WatchBackoffLayer::default())
        .build())
}

/// Spaces out watches of the same resource and selectors that keep ending
/// at once. kube-runtime's watcher re-opens a watch that ended without an
/// error immediately (the API server ends them every few minutes), so a
/// connection cut in the middle of an event — which reads as a clean end —
/// would otherwise become hundreds of requests a second, each replaying
/// the cut event. A watch opened less than [`WATCH_QUICK`] after the
/// previous one for the same key waits first, 250 ms doubling up to
/// [`WATCH_MAX_DELAY`]; a watch that lasted longer resets the delay. Every
/// watcher fintechctl runs (migration, rollouts, verify, debug) goes through
/// this one place.
#[derive(Clone, Default)]
pub struct WatchBackoffLayer {
    state: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, WatchPace>>>,
}

#[derive(Clone, Copy)]
struct WatchPace {
    last_start: std::time::Instant,
    delay: Duration,
}

const WATCH_QUICK: Duration = Duration::from_secs(1);
const WATCH_FIRST_DELAY: Duration = Duration::from_millis(250);
const WATCH_MAX_DELAY: Duration = Duration::from_secs(5);

impl WatchBackoffLayer {
    /// How long to wait before opening a watch for `key` now.
    fn pace(&self, key: &str, now: std::time::Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let delay = match state.get(key) {
            Some(p) if now.saturating_duration_since(p.last_start) < WATCH_QUICK => {
                (p.delay * 2).clamp(WATCH_FIRST_DELAY, WATCH_MAX_DELAY)
            }
            _ => Duration::ZERO,
        };
        state.insert(
            key.to_string(),
            WatchPace {
                last_start: now + delay,
                delay,
            },
        );
        delay
    }
}

/// The key of a watch request: path and query without the resourceVersion
/// and timeout (what stays the same when a watcher re-opens it).
fn watch_key<B>(req: &http::Request<B>) -> Option<String> {
    let query = req.uri().query()?;
    let mut is_watch = false;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "watch" => is_watch = v == "true" || v == "1",
            "resourceVersion" | "timeoutSeconds" | "allowWatchBookmarks" => {}
            _ => kept.push(pair),
        }
    }
    is_watch.then(|| format!("{}?{}", req.uri().path(), kept.join("&")))
}

impl<S> tower::Layer<S> for WatchBackoffLayer {
    type Service = WatchBackoff<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WatchBackoff {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`WatchBackoffLayer`] makes.
#[derive(Clone)]
pub struct WatchBackoff<S> {
    inner: S,
    layer: WatchBackoffLayer,
}

impl<S, B> tower::Service<http::Request<B>> for WatchBackoff<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let delay = watch_key(&req)
            .map(|key| self.layer.pace(&key, std::time::Instant::now()))
            .unwrap_or_default();
        // The service that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            inner.call(req).await
        })
    }
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
        // Through the service or pod proxy the answer is the backend's (a
        // service answering 503 on /ready), not the API server's: never
        // retried, or a failing check would take seconds to say so.
        if req.uri().path().contains("/proxy/") {
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
            // A request that saw no answer within its deadline is not sent
            // again: the server is stuck, and waiting again only hides it.
            Err(e) if e.is::<tower::timeout::error::Elapsed>() => return None,
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
    fn watches_that_keep_ending_at_once_are_spaced_out() {
        let layer = WatchBackoffLayer::default();
        let req = |q: &str| {
            http::Request::builder()
                .uri(format!("/api/v1/namespaces/n/pods?{q}"))
                .body(())
                .unwrap()
        };
        let key = watch_key(&req("watch=true&labelSelector=a%3Db&resourceVersion=5")).unwrap();
        assert_eq!(
            watch_key(&req(
                "watch=true&labelSelector=a%3Db&resourceVersion=9&timeoutSeconds=290"
            )),
            Some(key.clone()),
            "the same watch whatever its resourceVersion"
        );
        assert_eq!(
            watch_key(&req("labelSelector=a%3Db")),
            None,
            "a list is no watch"
        );
        let t0 = std::time::Instant::now();
        assert_eq!(
            layer.pace(&key, t0),
            Duration::ZERO,
            "the first watch waits for nothing"
        );
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..6 {
            now += Duration::from_millis(10);
            let d = layer.pace(&key, now);
            delays.push(d);
            now += d;
        }
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 5000].map(Duration::from_millis),
            "each quick re-open waits longer, up to the cap"
        );
        // A watch that lasted is re-opened at once.
        assert_eq!(
            layer.pace(&key, now + Duration::from_secs(30)),
            Duration::ZERO
        );
        // Another watch is paced on its own.
        assert_eq!(layer.pace("other", now), Duration::ZERO);
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
