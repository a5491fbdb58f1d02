//! The deploy lock: a `coordination.k8s.io/v1` Lease named
//! [`LEASE_NAME`] in the environment's namespace, taken by deploy, rollback
//! and restore so that two of them never run against one environment at once.
//!
//! The Lease says who holds it (`holderIdentity` = `user@host:pid`, plus the
//! command and the start time as annotations) and until when: the holder
//! renews `renewTime` every third of `leaseDurationSeconds` from a background
//! task while it works; the same task reads the Lease every second, and a
//! read that found it ours vouches for it for [`CONFIRMED_FOR`], so the
//! check before each write rarely waits on the API server. A holder that stops renewing — crashed, killed, lost
//! its network — loses the lock on its own once `renewTime +
//! leaseDurationSeconds` has passed; the next run takes the expired Lease
//! over. There is no "stuck in another operation" state to clean up by hand.
//!
//! Every write carries the resourceVersion it was based on, so of two
//! runs racing for the same Lease exactly one wins (the other gets a 409
//! and reports the winner), and release deletes the Lease only with a
//! precondition on its uid and resourceVersion: never someone else's lock.
//!
//! Expiry compares the holder's `renewTime` with this machine's clock, so
//! clocks that disagree by more than a few seconds shorten or lengthen the
//! wait for an expired lock by that much; they never let two holders in at
//! once, because takeover is an optimistic-concurrency write.

use super::is_status;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};

use crate::interrupt::{Stop, StopReason};
use crate::render::labels;

/// The Lease's name, the same in every namespace.
pub const LEASE_NAME: &str = "fintechctl-lock";
/// Annotation: the command the holder runs (`deploy production --version 1.4.2`).
pub const COMMAND_ANNOTATION: &str = "fintechctl.io/lock-command";
/// Annotation: when the holder took the lock (RFC 3339).
pub const SINCE_ANNOTATION: &str = "fintechctl.io/lock-since";
/// How long a lock outlives its holder's last renewal unless told otherwise.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(30);
/// How long release waits for a renewal in flight before cutting it short.
const RENEWAL_STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a read (or write) that found the Lease ours vouches for it,
/// counted from when its request was sent: a check before a write within
/// this of the last one asks nothing of the API server. A run that breaks
/// a lock (`force`) waits this long after taking it before its first write,
/// so every write of the run it broke comes before any of its own.
pub const CONFIRMED_FOR: Duration = Duration::from_secs(2);
/// How often the background task reads the Lease while the lock is held
/// (it writes a renewal every third of the lease's duration).
const CONFIRM_EVERY: Duration = Duration::from_secs(1);

/// Who holds (or wants) the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// What the holder runs, e.g. `deploy production --version 1.4.2`.
    pub command: String,
    /// When it took the lock.
    pub since: Timestamp,
}

impl LockHolder {
    /// This process (`identity`), from now.
    pub fn current(identity: &crate::identity::Identity) -> Self {
        Self {
            user: identity.user.clone(),
            host: identity.host.clone(),
            pid: identity.pid,
            command: identity.command.clone(),
            since: Timestamp::now(),
        }
    }

    /// `user@host:pid`, the Lease's `holderIdentity`.
    pub fn identity(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.pid)
    }

    /// The holder a Lease names; `None` when nobody holds it.
    pub fn from_lease(lease: &Lease) -> Option<LockHolder> {
        let identity = lease
            .spec
            .as_ref()?
            .holder_identity
            .as_deref()
            .filter(|i| !i.is_empty())?;
        let annotations = lease.metadata.annotations.clone().unwrap_or_default();
        let (who, pid) = identity.rsplit_once(':').unwrap_or((identity, ""));
        let (user, host) = who.rsplit_once('@').unwrap_or((who, ""));
        let since = annotations
            .get(SINCE_ANNOTATION)
            .and_then(|s| s.parse::<Timestamp>().ok())
            .or_else(|| lease.spec.as_ref()?.acquire_time.as_ref().map(|t| t.0))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Some(LockHolder {
            user: user.to_string(),
            host: host.to_string(),
            pid: pid.parse().unwrap_or(0),
            command: annotations
                .get(COMMAND_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
            since,
        })
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} (pid {})", self.user, self.host, self.pid)?;
        if !self.command.is_empty() {
            write!(f, " running `{}`", self.command)?;
        }
        write!(f, " since {}", self.since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

#[derive(Debug, Clone)]
pub struct LockOptions {
    /// How long the lock outlives the last renewal; renewed every third of it.
    pub lease_duration: Duration,
    /// Take over a live lock (the caller has shown whose it is and asked).
    pub force: bool,
    /// Told to stop, with [`StopReason::LockLost`], the moment renewal
    /// finds the lock taken over (or cannot renew it within its lifetime):
    /// the run stops before its next write.
    pub on_lost: Option<Stop>,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            lease_duration: DEFAULT_LEASE_DURATION,
            force: false,
            on_lost: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "namespace {namespace} is locked by {holder}; the lock expires in {}s unless its holder renews it (--force-unlock takes it over)",
        expires_in.as_secs()
    )]
    Held {
        namespace: String,
        holder: LockHolder,
        expires_in: Duration,
    },
    /// The namespace does not exist (a first deploy): create it, then lock
    /// (or use [`acquire_creating_namespace`]).
    #[error("namespace {namespace} does not exist, so it cannot hold the deploy lock yet")]
    NamespaceMissing { namespace: String },
    /// Someone else took the lock over (forced, or after this process failed
    /// to renew it in time), so release left it alone.
    #[error("the deploy lock of namespace {namespace} was taken over by {holder}")]
    Lost { namespace: String, holder: String },
    #[error(
        "deploy lock in namespace {namespace}: {action}: {}",
        crate::cluster::api_message(source)
    )]
    Api {
        namespace: String,
        /// `creating the Lease`, `renewing the Lease`, ...
        action: &'static str,
        #[source]
        source: Box<kube::Error>,
    },
}

/// The lock, held. Renewed in the background until [`LockGuard::release`].
///
/// Dropping the guard without releasing stops the renewal but leaves the
/// Lease in place: it expires `lease_duration` after the last renewal. That
/// is what happens when the process crashes or is killed, and why a crashed
/// deploy blocks the next one for at most that long.
#[derive(Debug)]
pub struct LockGuard {
    api: Api<Lease>,
    namespace: String,
    holder: LockHolder,
    broken: Option<LockHolder>,
    expired: Option<LockHolder>,
    state: Arc<Held>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

/// What the renewal task and the guard share.
#[derive(Debug)]
struct Held {
    uid: String,
    acquire_time: Option<Timestamp>,
    identity: String,
    /// The resourceVersion of this process's last write.
    resource_version: Mutex<String>,
    /// Who took the lock over, once renewal has seen it.
    lost_to: Mutex<Option<String>>,
    lost: AtomicBool,
    /// When the last request that found the Lease ours was sent.
    confirmed: Mutex<std::time::Instant>,
    /// When the last renewal that the API server took was sent.
    renewed: Mutex<std::time::Instant>,
    /// When this run broke another's live lock (`force`), if it did.
    forced_at: Option<std::time::Instant>,
    lease_duration: Duration,
}

impl Held {
    /// Whether a recent read vouches for the lock without asking again:
    /// confirmed within [`CONFIRMED_FOR`], and not within that of expiring
    /// by its own last renewal (which another run could then take over).
    fn vouched_for(&self) -> bool {
        lock(&self.confirmed).elapsed() < CONFIRMED_FOR
            && lock(&self.renewed).elapsed() + CONFIRMED_FOR < self.lease_duration
    }

    fn confirm(&self, sent: std::time::Instant) {
        let mut confirmed = lock(&self.confirmed);
        if sent > *confirmed {
            *confirmed = sent;
        }
    }
}

impl LockGuard {
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// The holder of the live lock that `force` broke, for the caller to report.
    pub fn broken(&self) -> Option<&LockHolder> {
        self.broken.as_ref()
    }

    /// The holder whose expired lock this one replaced (a crashed run).
    pub fn expired(&self) -> Option<&LockHolder> {
        self.expired.as_ref()
    }

    /// Whether renewal found the lock taken by someone else: the work in
    /// progress no longer has the environment to itself.
    pub fn lost(&self) -> bool {
        self.state.lost.load(Ordering::SeqCst)
    }

    /// A handle that checks that the lock is still this run's (a read sent
    /// within [`CONFIRMED_FOR`], or a fresh one): what a run asks before
    /// each write.
    pub fn checker(&self, on_lost: Option<Stop>) -> LockCheck {
        LockCheck {
            api: self.api.clone(),
            state: self.state.clone(),
            on_lost,
        }
    }

    /// Stop renewing and delete the Lease, if it is still ours (a
    /// precondition on uid and resourceVersion makes sure of that).
    pub async fn release(mut self) -> Result<(), LockError> {
        self.stop_renewal().await;
        if self.lost() {
            return Err(self.lost_error());
        }
        let mut resource_version = lock(&self.state.resource_version).clone();
        // Two attempts: the resourceVersion known here can be stale when a
        // renewal was cut short; a fresh read that still shows our lock
        // gives the current one.
        for attempt in 0..2 {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(self.state.uid.clone()),
                    resource_version: Some(resource_version.clone()),
                }),
                ..DeleteParams::default()
            };
            match self.api.delete(LEASE_NAME, &params).await {
                Ok(_) => return Ok(()),
                // Expired and deleted by someone else: nothing of ours is left.
                Err(e) if is_status(&e, 404) => return Ok(()),
                Err(e) if is_status(&e, 409) => {
                    let lease = match self.api.get_opt(LEASE_NAME).await {
                        Ok(Some(lease)) => lease,
                        Ok(None) => return Ok(()),
                        Err(source) => {
                            return Err(api_error(&self.namespace, "reading the Lease")(source));
                        }
                    };
                    if attempt == 0 && still_ours(&lease, &self.state) {
                        resource_version = lease.metadata.resource_version.unwrap_or_default();
                        continue;
                    }
                    return Err(LockError::Lost {
                        namespace: self.namespace.clone(),
                        holder: LockHolder::from_lease(&lease)
                            .map(|h| h.to_string())
                            .unwrap_or_else(|| "nobody".to_string()),
                    });
                }
                Err(source) => {
                    return Err(api_error(&self.namespace, "deleting the Lease")(source));
                }
            }
        }
        Err(LockError::Lost {
            namespace: self.namespace.clone(),
            holder: "another run".to_string(),
        })
    }

    fn lost_error(&self) -> LockError {
        LockError::Lost {
            namespace: self.namespace.clone(),
            holder: lock(&self.state.lost_to)
                .clone()
                .unwrap_or_else(|| "another run".to_string()),
        }
    }

    async fn stop_renewal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut renewal) = self.renewal.take() {
            // The task ends at its next await point; a renewal in flight
            // finishes first, so the resourceVersion read next is current.
            // One stuck on an unresponsive API server is cut short.
            if tokio::time::timeout(RENEWAL_STOP_GRACE, &mut renewal)
                .await
                .is_err()
            {
                renewal.abort();
            }
        }
    }
}

/// Checks that a held lock is still ours ([`LockGuard::checker`]).
#[derive(Clone, Debug)]
pub struct LockCheck {
    api: Api<Lease>,
    state: Arc<Held>,
    on_lost: Option<Stop>,
}

impl LockCheck {
    /// `Ok(())` while the lock is ours; when another run took it over,
    /// marks the lock lost, stops the run and says who holds it. A read
    /// sent within [`CONFIRMED_FOR`] that found it ours (the background
    /// task reads it every second) answers without a request; otherwise
    /// the Lease is read. A read that fails is not a loss (renewal decides
    /// that). A run that broke another's lock first waits out
    /// [`CONFIRMED_FOR`] from the takeover.
    pub async fn still_held(&self) -> Result<(), String> {
        if let Some(forced) = self.state.forced_at {
            let left = CONFIRMED_FOR.saturating_sub(forced.elapsed());
            if !left.is_zero() {
                tokio::time::sleep(left).await;
            }
        }
        if self.state.lost.load(Ordering::SeqCst) {
            return Err(lock(&self.state.lost_to)
                .clone()
                .unwrap_or_else(|| "another run".to_string()));
        }
        if self.state.vouched_for() {
            return Ok(());
        }
        let sent = std::time::Instant::now();
        let holder = match self.api.get_opt(LEASE_NAME).await {
            Ok(Some(lease)) if still_ours(&lease, &self.state) => {
                self.state.confirm(sent);
                return Ok(());
            }
            Ok(Some(lease)) => LockHolder::from_lease(&lease)
                .map(|h| h.to_string())
                .unwrap_or_else(|| "nobody".to_string()),
            Ok(None) => "nobody (the Lease was deleted)".to_string(),
            Err(_) => return Ok(()),
        };
        *lock(&self.state.lost_to) = Some(holder.clone());
        self.state.lost.store(true, Ordering::SeqCst);
        if let Some(stop) = &self.on_lost {
            stop.stop(StopReason::LockLost(holder.clone()));
        }
        Err(holder)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn api_error(namespace: &str, action: &'static str) -> impl FnOnce(kube::Error) -> LockError {
    let namespace = namespace.to_string();
    move |source| LockError::Api {
        namespace,
        action,
        source: Box::new(source),
    }
}

/// The Lease `holder` writes: identity, command, since, duration, times.
fn lease_for(
    holder: &LockHolder,
    opts: &LockOptions,
    now: Timestamp,
    transitions: i32,
    base: Option<&Lease>,
) -> Lease {
    let mut metadata = base.map(|l| l.metadata.clone()).unwrap_or_default();
    metadata.name = Some(LEASE_NAME.to_string());
    metadata.managed_fields = None;
    metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(labels::MANAGED_BY.to_string(), labels::MANAGER.to_string());
    let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(COMMAND_ANNOTATION.to_string(), holder.command.clone());
    annotations.insert(SINCE_ANNOTATION.to_string(), holder.since.to_string());
    Lease {
        metadata,
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.identity()),
            lease_duration_seconds: Some(duration_seconds(opts.lease_duration)),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }),
    }
}

/// Whole seconds, at least 1 (the API field's unit).
fn duration_seconds(duration: Duration) -> i32 {
    duration.as_secs().clamp(1, i32::MAX as u64) as i32
}

/// How long until `lease` expires, as seen at `now`; `None` when it has
/// expired or nobody holds it.
pub fn remaining(lease: &Lease, now: Timestamp) -> Option<Duration> {
    let spec = lease.spec.as_ref()?;
    spec.holder_identity.as_deref().filter(|i| !i.is_empty())?;
    let last = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let expires_ms = last.as_millisecond() + seconds * 1000;
    let left_ms = expires_ms - now.as_millisecond();
    (left_ms > 0).then(|| Duration::from_millis(left_ms as u64))
}

/// Take the deploy lock of `namespace` for `holder`.
///
/// Creates the Lease; when it exists, a live lock is refused with
/// [`LockError::Held`] (unless `opts.force`), an expired or released one is
/// taken over. A missing namespace is [`LockError::NamespaceMissing`].
pub async fn acquire(
    client: &kube::Client,
    namespace: &str,
    holder: LockHolder,
    opts: &LockOptions,
) -> Result<LockGuard, LockError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    // Every write below is sent after this: what the lock is confirmed from.
    let sent = std::time::Instant::now();
    let fresh = lease_for(&holder, opts, Timestamp::now(), 0, None);
    match super::create_or_find(&api, LEASE_NAME, &fresh).await {
        Ok(super::Created::Created(created)) => {
            return Ok(start(
                api,
                namespace,
                holder,
                Taken::new(created, sent),
                opts,
            ));
        }
        // Stored before an error answer: ours when it is this very
        // acquisition (holder and acquire time), else judged as held below.
        Ok(super::Created::Found(found)) => {
            let spec = |l: &Lease| {
                l.spec
                    .as_ref()
                    .map(|s| (s.holder_identity.clone(), s.acquire_time.clone()))
            };
            if spec(&found) == spec(&fresh) {
                return Ok(start(api, namespace, holder, Taken::new(found, sent), opts));
            }
        }
        // Creating in a namespace that does not exist is a 404 (and the
        // Lease itself cannot be missing on create).
        Err(e) if is_status(&e, 404) => {
            return Err(LockError::NamespaceMissing {
                namespace: namespace.to_string(),
            });
        }
        Err(e) if is_status(&e, 409) => {}
        Err(source) => return Err(api_error(namespace, "creating the Lease")(source)),
    }

    let existing = match api.get_opt(LEASE_NAME).await {
        Ok(Some(lease)) => lease,
        // Released between our create and this read: try once more from the start.
        Ok(None) => {
            return match api.create(&PostParams::default(), &fresh).await {
                Ok(created) => Ok(start(
                    api,
                    namespace,
                    holder,
                    Taken::new(created, sent),
                    opts,
                )),
                Err(e) if is_status(&e, 409) => held_now(&api, namespace).await,
                Err(source) => Err(api_error(namespace, "creating the Lease")(source)),
            };
        }
        Err(source) => return Err(api_error(namespace, "reading the Lease")(source)),
    };
    let now = Timestamp::now();
    let previous = LockHolder::from_lease(&existing);
    let live = remaining(&existing, now);
    let (broken, expired) = match (live, previous) {
        (Some(expires_in), Some(previous)) if !opts.force => {
            return Err(LockError::Held {
                namespace: namespace.to_string(),
                holder: previous,
                expires_in,
            });
        }
        (Some(_), previous) => (previous, None),
        (None, previous) => (None, previous),
    };
    let transitions = existing
        .spec
        .as_ref()
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0)
        .saturating_add(1);
    // `existing` carries its resourceVersion: the update fails with 409 if
    // anyone wrote the Lease since we read it.
    let takeover = lease_for(&holder, opts, now, transitions, Some(&existing));
    match api
        .replace(LEASE_NAME, &PostParams::default(), &takeover)
        .await
    {
        Ok(taken) => Ok(start(
            api,
            namespace,
            holder,
            Taken {
                written: taken,
                sent,
                broken,
                expired,
            },
            opts,
        )),
        Err(e) if is_status(&e, 409) || is_status(&e, 404) => held_now(&api, namespace).await,
        Err(source) => Err(api_error(namespace, "taking the Lease over")(source)),
    }
}

/// Someone else won a race for the Lease: report who holds it now.
async fn held_now(api: &Api<Lease>, namespace: &str) -> Result<LockGuard, LockError> {
    let lease = api
        .get_opt(LEASE_NAME)
        .await
        .map_err(api_error(namespace, "reading the Lease"))?;
    let now = Timestamp::now();
    let holder = lease.as_ref().and_then(LockHolder::from_lease);
    let expires_in = lease
        .as_ref()
        .and_then(|l| remaining(l, now))
        .unwrap_or_default();
    Err(LockError::Held {
        namespace: namespace.to_string(),
        holder: holder.unwrap_or(LockHolder {
            user: "unknown".into(),
            host: "unknown".into(),
            pid: 0,
            command: String::new(),
            since: now,
        }),
        expires_in,
    })
}

/// [`acquire`], creating the namespace first when it does not exist (a
/// first deploy). The namespace gets only its name and the managed-by
/// label; the deploy applies the rest.
pub async fn acquire_creating_namespace(
    client: &kube::Client,
    namespace: &str,
    holder: LockHolder,
    opts: &LockOptions,
) -> Result<LockGuard, LockError> {
    match acquire(client, namespace, holder.clone(), opts).await {
        Err(LockError::NamespaceMissing { .. }) => {}
        other => return other,
    }
    acquire_in_new_namespace(client, namespace, holder, opts).await
}

/// [`acquire_creating_namespace`] for a run that saw the namespace missing
/// already: creates it (one that exists by now is fine, the lock decides)
/// and takes the lock, without asking first.
pub async fn acquire_in_new_namespace(
    client: &kube::Client,
    namespace: &str,
    holder: LockHolder,
    opts: &LockOptions,
) -> Result<LockGuard, LockError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let object = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([(
                labels::MANAGED_BY.to_string(),
                labels::MANAGER.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match super::create_or_find(&namespaces, namespace, &object).await {
        Ok(_) => {}
        // Created concurrently by another first deploy: fine, the lock decides.
        Err(e) if is_status(&e, 409) => {}
        Err(source) => return Err(api_error(namespace, "creating the namespace")(source)),
    }
    acquire(client, namespace, holder, opts).await
}

/// A Lease this process wrote: created, or taken over from `broken` (a
/// live lock, `force`) or `expired`; `sent` is when the write went out.
struct Taken {
    written: Lease,
    sent: std::time::Instant,
    broken: Option<LockHolder>,
    expired: Option<LockHolder>,
}

impl Taken {
    fn new(written: Lease, sent: std::time::Instant) -> Taken {
        Taken {
            written,
            sent,
            broken: None,
            expired: None,
        }
    }
}

fn start(
    api: Api<Lease>,
    namespace: &str,
    holder: LockHolder,
    taken: Taken,
    opts: &LockOptions,
) -> LockGuard {
    let Taken {
        written,
        sent,
        broken,
        expired,
    } = taken;
    let forced_at = broken.is_some().then(std::time::Instant::now);
    let state = Arc::new(Held {
        uid: written.metadata.uid.clone().unwrap_or_default(),
        acquire_time: written
            .spec
            .as_ref()
            .and_then(|s| s.acquire_time.as_ref())
            .map(|t| t.0),
        identity: holder.identity(),
        resource_version: Mutex::new(
            written
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default(),
        ),
        lost_to: Mutex::new(None),
        lost: AtomicBool::new(false),
        confirmed: Mutex::new(sent),
        renewed: Mutex::new(sent),
        forced_at,
        lease_duration: opts.lease_duration,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let renewal = tokio::spawn(renew(
        api.clone(),
        state.clone(),
        opts.lease_duration,
        stopped,
        opts.on_lost.clone(),
    ));
    LockGuard {
        api,
        namespace: namespace.to_string(),
        holder,
        broken,
        expired,
        state,
        stop: Some(stop),
        renewal: Some(renewal),
    }
}

/// Whether `lease` is still the one this process wrote: same object, same
/// holder, same acquisition.
fn still_ours(lease: &Lease, state: &Held) -> bool {
    let spec = lease.spec.as_ref();
    lease.metadata.uid.as_deref().unwrap_or_default() == state.uid
        && spec.and_then(|s| s.holder_identity.as_deref()) == Some(state.identity.as_str())
        && spec.and_then(|s| s.acquire_time.as_ref()).map(|t| t.0) == state.acquire_time
}

/// Renew every third of `lease_duration` until told to stop or the lock
/// is lost. A failed renewal (network, API error) is retried at the next
/// tick: the lock survives as long as one renewal per lease duration gets
/// through. When none has for a whole lease duration, another run may
/// have taken it over unseen: that counts as lost too.
async fn renew(
    api: Api<Lease>,
    state: Arc<Held>,
    lease_duration: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    on_lost: Option<Stop>,
) {
    let interval = (lease_duration / 3).max(Duration::from_millis(100));
    // The Lease is read every tick (each read that finds it ours vouches
    // for it, [`CONFIRMED_FOR`]) and renewed every `interval`.
    let tick = interval.min(CONFIRM_EVERY);
    let mut last_renewed = std::time::Instant::now();
    let lose = |holder: String| {
        *lock(&state.lost_to) = Some(holder.clone());
        state.lost.store(true, Ordering::SeqCst);
        if let Some(stop) = &on_lost {
            stop.stop(StopReason::LockLost(holder));
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = tokio::time::sleep(tick) => {}
        }
        if last_renewed.elapsed() >= lease_duration {
            lose(format!(
                "nobody known: the API server did not take a renewal for {}, so the lock may have expired and been taken over",
                crate::human::duration(lease_duration)
            ));
            return;
        }
        // Each request is bounded by what is left of the lease duration: a
        // read or renewal stuck on a frozen API server must not hold this
        // loop past the moment the lock counts as lost (the client's own
        // deadline and retries can take longer than a short lease).
        let left = lease_duration.saturating_sub(last_renewed.elapsed());
        let read_sent = std::time::Instant::now();
        let lease = match tokio::time::timeout(left, api.get_opt(LEASE_NAME)).await {
            Ok(Ok(Some(lease))) => lease,
            Ok(Ok(None)) => {
                lose("nobody (the Lease was deleted)".to_string());
                return;
            }
            Ok(Err(_)) | Err(_) => continue,
        };
        if !still_ours(&lease, &state) {
            lose(
                LockHolder::from_lease(&lease)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "nobody".to_string()),
            );
            return;
        }
        state.confirm(read_sent);
        if lock(&state.renewed).elapsed() < interval {
            continue;
        }
        let mut renewed = lease;
        renewed.metadata.managed_fields = None;
        if let Some(spec) = renewed.spec.as_mut() {
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        let renew_sent = std::time::Instant::now();
        let left = lease_duration.saturating_sub(last_renewed.elapsed());
        // A 409 means the Lease changed since the read: the next tick reads
        // it again and finds out whether it is still ours.
        if let Ok(Ok(written)) = tokio::time::timeout(
            left,
            api.replace(LEASE_NAME, &PostParams::default(), &renewed),
        )
        .await
            && let Some(rv) = written.metadata.resource_version
        {
            *lock(&state.resource_version) = rv;
            *lock(&state.renewed) = renew_sent;
            last_renewed = std::time::Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> LockHolder {
        LockHolder {
            user: "alice".into(),
            host: "laptop-7".into(),
            pid: 4242,
            command: "deploy production --version 1.4.2".into(),
            since: "2026-11-26T12:00:00Z".parse().unwrap(),
        }
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_lease_round_trips_the_holder() {
        let opts = LockOptions::default();
        let lease = lease_for(&holder(), &opts, ts("2026-11-26T12:00:01Z"), 0, None);
        assert_eq!(lease.metadata.name.as_deref(), Some(LEASE_NAME));
        assert_eq!(
            lease.metadata.labels.as_ref().unwrap()[labels::MANAGED_BY],
            "fintechctl"
        );
        let spec = lease.spec.as_ref().unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("alice@laptop-7:4242"));
        assert_eq!(spec.lease_duration_seconds, Some(30));
        assert_eq!(LockHolder::from_lease(&lease), Some(holder()));

        // Through JSON as the API server stores it (MicroTime, annotations).
        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["spec"]["renewTime"], "2026-11-26T12:00:01.000000Z");
        let back: Lease = serde_json::from_value(json).unwrap();
        assert_eq!(LockHolder::from_lease(&back), Some(holder()));
    }

    #[test]
    fn identity_with_an_at_sign_in_the_user_still_parses() {
        let mut h = holder();
        h.user = "alice@corp".into();
        let lease = lease_for(
            &h,
            &LockOptions::default(),
            ts("2026-11-26T12:00:01Z"),
            0,
            None,
        );
        assert_eq!(LockHolder::from_lease(&lease), Some(h));
    }

    #[test]
    fn expiry_is_renew_time_plus_duration() {
        let opts = LockOptions {
            lease_duration: Duration::from_secs(30),
            ..LockOptions::default()
        };
        let lease = lease_for(&holder(), &opts, ts("2026-11-26T12:00:00Z"), 0, None);
        assert_eq!(
            remaining(&lease, ts("2026-11-26T12:00:10Z")),
            Some(Duration::from_secs(20))
        );
        assert_eq!(remaining(&lease, ts("2026-11-26T12:00:30Z")), None);
        assert_eq!(remaining(&lease, ts("2026-11-26T12:05:00Z")), None);

        let mut released = lease.clone();
        released.spec.as_mut().unwrap().holder_identity = None;
        assert_eq!(remaining(&released, ts("2026-11-26T12:00:01Z")), None);
        assert_eq!(LockHolder::from_lease(&released), None);
    }

    #[test]
    fn held_names_who_what_and_since() {
        let error = LockError::Held {
            namespace: "fintech-ai-prod".into(),
            holder: holder(),
            expires_in: Duration::from_secs(21),
        };
        let text = error.to_string();
        for part in [
            "fintech-ai-prod",
            "alice@laptop-7",
            "pid 4242",
            "`deploy production --version 1.4.2`",
            "since 2026-11-26T12:00:00Z",
            "21s",
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }

    #[test]
    fn a_held_lock_exits_4() {
        let held = LockError::Held {
            namespace: "n".into(),
            holder: holder(),
            expires_in: Duration::ZERO,
        };
        assert_eq!(crate::exit::Failure::from(held).status.code(), 4);
    }

    #[test]
    fn short_durations_round_to_a_whole_second() {
        assert_eq!(duration_seconds(Duration::from_millis(200)), 1);
        assert_eq!(duration_seconds(Duration::from_secs(2)), 2);
    }

    fn held(lease_duration: Duration, confirmed_ago: Duration, renewed_ago: Duration) -> Held {
        let now = std::time::Instant::now();
        Held {
            uid: String::new(),
            acquire_time: None,
            identity: holder().identity(),
            resource_version: Mutex::new("1".into()),
            lost_to: Mutex::new(None),
            lost: AtomicBool::new(false),
            confirmed: Mutex::new(now - confirmed_ago),
            renewed: Mutex::new(now - renewed_ago),
            forced_at: None,
            lease_duration,
        }
    }

    #[test]
    fn a_recent_read_vouches_for_the_lock_unless_it_is_about_to_expire() {
        let s = Duration::from_secs;
        assert!(held(s(30), Duration::ZERO, Duration::ZERO).vouched_for());
        assert!(held(s(30), Duration::from_millis(1900), s(5)).vouched_for());
        // Too old a confirmation: the Lease is read again.
        assert!(!held(s(30), s(3), Duration::ZERO).vouched_for());
        // Within CONFIRMED_FOR of expiring by its own last renewal: another
        // run could take it over meanwhile, so it is read again.
        assert!(!held(s(30), Duration::ZERO, s(29)).vouched_for());
        assert!(!held(s(3), Duration::ZERO, Duration::from_millis(1500)).vouched_for());
        // A read only moves the confirmation forward.
        let h = held(s(30), s(1), Duration::ZERO);
        h.confirm(std::time::Instant::now() - s(10));
        assert!(lock(&h.confirmed).elapsed() < s(2));
    }

    #[test]
    fn a_takeover_is_a_different_acquisition() {
        let opts = LockOptions::default();
        let mine = lease_for(&holder(), &opts, ts("2026-11-26T12:00:00.123456Z"), 0, None);
        let state = Held {
            uid: String::new(),
            acquire_time: Some(ts("2026-11-26T12:00:00.123456Z")),
            identity: holder().identity(),
            resource_version: Mutex::new("1".into()),
            lost_to: Mutex::new(None),
            lost: AtomicBool::new(false),
            confirmed: Mutex::new(std::time::Instant::now()),
            renewed: Mutex::new(std::time::Instant::now()),
            forced_at: None,
            lease_duration: DEFAULT_LEASE_DURATION,
        };
        assert!(still_ours(&mine, &state));
        // The same process identity taking it again later (a second run in
        // the same pid namespace) is not us.
        let again = lease_for(&holder(), &opts, ts("2026-11-26T12:00:40Z"), 1, Some(&mine));
        assert!(!still_ours(&again, &state));
        let mut other = holder();
        other.user = "bob".into();
        let theirs = lease_for(
            &other,
            &opts,
            ts("2026-11-26T12:00:00.123456Z"),
            1,
            Some(&mine),
        );
        assert!(!still_ours(&theirs, &state));
    }
}
