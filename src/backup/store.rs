//! Where backups live: one interface over local directories, S3, Azure
//! Blob Storage and Google Cloud Storage (the `object_store` crate: multipart
//! streaming uploads, credentials from the environment and the Azure CLI).
//!
//! Layout: `<root>/<env>/<backup id>/<part file>`, `manifest.json` last.
//! Parts are uploaded under a temporary name (`.<file>.partial`) and
//! renamed into place once whole, so a part that exists under its own name
//! is complete; a prefix without `manifest.json` is an incomplete backup.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::id::BackupId;
use super::manifest::Manifest;
use super::{MANIFEST_FILE, VERIFIED_FILE};
use crate::environment::{Backup, BackupProvider};

/// Parts are uploaded in chunks of this size (S3's minimum part size),
/// at most [`UPLOAD_CONCURRENCY`] at a time: the memory an upload holds.
pub const UPLOAD_CHUNK: usize = 5 * 1024 * 1024;
pub const UPLOAD_CONCURRENCY: usize = 2;

/// The most [`Store::read_small`] reads: manifests and markers are a few
/// KiB, the sealed Secrets of a namespace a few MiB at most.
pub const MAX_SMALL_BYTES: usize = 32 << 20;

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Filesystem(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
    },
    /// `account` from the environment's `backup.account`, else from the
    /// Azure variables (`AZURE_STORAGE_ACCOUNT_NAME`).
    Azure {
        account: Option<String>,
        container: String,
        prefix: String,
    },
    Gcs {
        bucket: String,
        prefix: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |prefix: &str| {
            if prefix.is_empty() {
                String::new()
            } else {
                format!("/{prefix}")
            }
        };
        match self {
            Location::Filesystem(dir) => write!(f, "{}", dir.display()),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}{}", join(prefix)),
            Location::Azure {
                account,
                container,
                prefix,
            } => match account {
                Some(a) => write!(f, "azure://{a}/{container}{}", join(prefix)),
                None => write!(f, "az://{container}{}", join(prefix)),
            },
            Location::Gcs { bucket, prefix } => write!(f, "gs://{bucket}{}", join(prefix)),
        }
    }
}

fn clean_prefix(p: &str) -> String {
    p.split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

impl Location {
    /// The environment's `backup` entry; a relative `path` is taken from
    /// `base` (the current directory).
    pub fn from_environment(backup: &Backup, base: &std::path::Path) -> Result<Self, String> {
        let prefix = clean_prefix(backup.prefix.as_deref().unwrap_or(""));
        let need = |what: Option<&String>, field: &str| {
            what.cloned().ok_or_else(|| {
                format!(
                    "backup.{field} is required for provider {:?}",
                    backup.provider
                )
            })
        };
        Ok(match backup.provider {
            BackupProvider::Filesystem => {
                let path = PathBuf::from(need(backup.path.as_ref(), "path")?);
                let path = if path.is_absolute() {
                    path
                } else {
                    joined(base, &path)
                };
                Location::Filesystem(if prefix.is_empty() {
                    path
                } else {
                    path.join(prefix)
                })
            }
            BackupProvider::Aws => Location::S3 {
                bucket: need(backup.container.as_ref(), "container")?,
                prefix,
            },
            BackupProvider::Gcp => Location::Gcs {
                bucket: need(backup.container.as_ref(), "container")?,
                prefix,
            },
            BackupProvider::Azure => Location::Azure {
                account: backup.account.clone(),
                container: need(backup.container.as_ref(), "container")?,
                prefix,
            },
        })
    }

    /// `--to`: `file:///dir`, a path, `s3://bucket/prefix`,
    /// `az://container/prefix`, `azure://account/container/prefix`,
    /// `gs://bucket/prefix`.
    pub fn parse(url: &str, base: &std::path::Path) -> Result<Self, String> {
        const EXPECTED: &str = "expected file:///DIR, a directory, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]";
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            if url.is_empty() {
                return Err(format!("an empty store: {EXPECTED}"));
            }
            let path = PathBuf::from(url);
            return Ok(Location::Filesystem(if path.is_absolute() {
                path
            } else {
                joined(base, &path)
            }));
        };
        let mut segments = rest.splitn(2, '/');
        let first = segments.next().unwrap_or("").to_string();
        let tail = clean_prefix(segments.next().unwrap_or(""));
        let named = |what: &str| {
            if first.is_empty() {
                Err(format!("`{url}` names no {what}: {EXPECTED}"))
            } else {
                Ok(first.clone())
            }
        };
        match scheme {
            "file" => {
                if !rest.starts_with('/') {
                    return Err(format!("`{url}` is not an absolute file URL: {EXPECTED}"));
                }
                Ok(Location::Filesystem(PathBuf::from(rest)))
            }
            "s3" => Ok(Location::S3 {
                bucket: named("bucket")?,
                prefix: tail,
            }),
            "gs" => Ok(Location::Gcs {
                bucket: named("bucket")?,
                prefix: tail,
            }),
            "az" | "abfs" => Ok(Location::Azure {
                account: None,
                container: named("container")?,
                prefix: tail,
            }),
            "azure" => {
                let account = named("account")?;
                let mut rest = tail.splitn(2, '/');
                let container = rest.next().unwrap_or("").to_string();
                if container.is_empty() {
                    return Err(format!("`{url}` names no container: {EXPECTED}"));
                }
                Ok(Location::Azure {
                    account: Some(account),
                    container,
                    prefix: clean_prefix(rest.next().unwrap_or("")),
                })
            }
            other => Err(format!(
                "`{url}`: `{other}://` is not a supported store: {EXPECTED}"
            )),
        }
    }
}

/// How to open the store: where, and the cloud variables (`AWS_*`,
/// `AZURE_*`, `GOOGLE_*`) read with the settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub location: Location,
    pub vars: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("backup store {store}: {action}: {}", plain(source))]
    Store {
        store: String,
        action: String,
        #[source]
        source: object_store::Error,
    },
    #[error("backup store {store}: {message}")]
    Other { store: String, message: String },
}

/// object_store's error in plain words: its `Generic <Store> error:`
/// prefix dropped, and a missing cloud CLI said the way deploy says it.
fn plain(error: &object_store::Error) -> String {
    let text = error.to_string();
    if text.contains("Azure Cli not installed") {
        return "no Azure credentials: `az` is not installed or not on PATH; install the Azure CLI (`pip install azure-cli`) and run `az login`, or set the AZURE_STORAGE_* variables".into();
    }
    match text.strip_prefix("Generic ") {
        Some(rest) => match rest.split_once(" error: ") {
            Some((_, message)) => message.to_string(),
            None => text,
        },
        None => text,
    }
}

/// An open store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    root: String,
    display: String,
    /// A local directory store's directory: what it writes there is
    /// owner-only (directories 0700, files 0600).
    local: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.display)
    }
}

/// A backup as the store shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: BackupId,
    /// Objects under the backup's prefix: name and size.
    pub objects: Vec<(String, u64)>,
    pub manifest: Option<Result<Manifest, String>>,
    /// `verified.json`'s content, when `backup verify` passed.
    pub verified: Option<serde_json::Value>,
}

impl Listed {
    pub fn complete(&self) -> Option<&Manifest> {
        self.manifest.as_ref().and_then(|m| m.as_ref().ok())
    }
    pub fn size(&self) -> u64 {
        self.objects.iter().map(|(_, s)| s).sum()
    }
}

impl Store {
    /// Opens the store; nothing is read or written yet (a filesystem
    /// store's directory is created).
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        // reqwest (rustls without a built-in provider) uses the process
        // default: ring, as kube does. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let display = config.location.to_string();
        let err = |action: &str| {
            let store = display.clone();
            let action = action.to_string();
            move |source| StoreError::Store {
                store,
                action,
                source,
            }
        };
        let vars = |prefix: &'static str| {
            config
                .vars
                .iter()
                .filter(move |(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect::<Vec<_>>()
        };
        let (inner, root): (Arc<dyn ObjectStore>, String) = match &config.location {
            Location::Filesystem(dir) => {
                private_dir(dir).map_err(|e| StoreError::Other {
                    store: display.clone(),
                    message: format!("cannot create the directory: {e}"),
                })?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(err("opening"))?;
                (Arc::new(fs), String::new())
            }
            Location::S3 { bucket, prefix } => {
                let mut b = object_store::aws::AmazonS3Builder::new();
                for (k, v) in vars("AWS_") {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                let b = b.with_bucket_name(bucket);
                (
                    Arc::new(b.build().map_err(err("configuring"))?),
                    prefix.clone(),
                )
            }
            Location::Gcs { bucket, prefix } => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::new();
                for (k, v) in vars("GOOGLE_") {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                let b = b.with_bucket_name(bucket);
                (
                    Arc::new(b.build().map_err(err("configuring"))?),
                    prefix.clone(),
                )
            }
            Location::Azure {
                account,
                container,
                prefix,
            } => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::new();
                let mut explicit_credentials = false;
                for (k, v) in vars("AZURE_") {
                    if let Ok(key) = k.parse() {
                        explicit_credentials |= k.contains("key")
                            || k.contains("secret")
                            || k.contains("sas")
                            || k.contains("token")
                            || k.contains("emulator");
                        b = b.with_config(key, v);
                    }
                }
                if let Some(account) = account {
                    b = b.with_account(account);
                }
                // The operator's `az login`, as the runbook's
                // `az storage blob upload` used, unless told otherwise.
                if !explicit_credentials {
                    b = b.with_use_azure_cli(true);
                }
                let b = b.with_container_name(container);
                (
                    Arc::new(b.build().map_err(err("configuring"))?),
                    prefix.clone(),
                )
            }
        };
        let local = match &config.location {
            Location::Filesystem(dir) => Some(dir.clone()),
            _ => None,
        };
        Ok(Store {
            inner,
            root,
            display,
            local,
        })
    }

    /// A local store: the backup's directory, created owner-only (0700)
    /// before anything is written in it.
    fn prepare(&self, env: &str, id: &BackupId) -> Result<(), StoreError> {
        let Some(dir) = &self.local else {
            return Ok(());
        };
        private_dir(&dir.join(env).join(id.as_str())).map_err(|e| StoreError::Other {
            store: self.display.clone(),
            message: format!("cannot create the backup's directory: {e}"),
        })
    }

    /// A local store: `file` of the backup made owner-only (0600) once it
    /// is in place (it was written in a 0700 directory meanwhile).
    fn seal(&self, env: &str, id: &BackupId, file: &str) -> Result<(), StoreError> {
        let Some(dir) = &self.local else {
            return Ok(());
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(env).join(id.as_str()).join(file);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| StoreError::Other {
                    store: self.display.clone(),
                    message: format!("making {} owner-only: {e}", path.display()),
                },
            )?;
        }
        #[cfg(not(unix))]
        let _ = (dir, env, id, file);
        Ok(())
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    fn env_dir(&self, env: &str) -> Path {
        if self.root.is_empty() {
            Path::from(env)
        } else {
            Path::from(format!("{}/{env}", self.root))
        }
    }

    fn path(&self, env: &str, id: &BackupId, file: &str) -> Path {
        self.env_dir(env).join(id.as_str()).join(file)
    }

    /// The object name of `file` of backup `id` inside the store's bucket
    /// or container (what another writer, `az redis export`, is told).
    pub fn object_path(&self, env: &str, id: &BackupId, file: &str) -> String {
        self.path(env, id, file).to_string()
    }

    /// Where a backup is, for messages.
    pub fn describe(&self, env: &str, id: &BackupId) -> String {
        format!("{}/{env}/{id}/", self.display.trim_end_matches('/'))
    }

    fn fail(&self, action: String) -> impl FnOnce(object_store::Error) -> StoreError {
        let store = self.display.clone();
        move |source| StoreError::Store {
            store,
            action,
            source,
        }
    }

    /// Every backup of `env`, newest first, with its objects and manifest.
    pub async fn list(&self, env: &str) -> Result<Vec<Listed>, StoreError> {
        let dir = self.env_dir(env);
        let mut objects: std::collections::BTreeMap<String, Vec<(String, u64)>> =
            Default::default();
        let mut listing = self.inner.list(Some(&dir));
        while let Some(item) = listing.next().await {
            let meta = match item {
                Ok(meta) => meta,
                // A directory that does not exist yet lists as empty.
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => return Err(self.fail(format!("listing {dir}"))(e)),
            };
            let Some(rel) = meta.location.prefix_match(&dir) else {
                continue;
            };
            let parts: Vec<String> = rel.map(|p| p.as_ref().to_string()).collect();
            if parts.len() != 2 {
                continue;
            }
            objects
                .entry(parts[0].clone())
                .or_default()
                .push((parts[1].clone(), meta.size));
        }
        let mut out = Vec::new();
        for (name, objs) in objects {
            let Ok(id) = BackupId::parse(&name) else {
                continue;
            };
            let manifest = if objs.iter().any(|(n, _)| n == MANIFEST_FILE) {
                Some(match self.read_small(env, &id, MANIFEST_FILE).await {
                    Ok(bytes) => Manifest::from_json(&bytes),
                    Err(e) => Err(e.to_string()),
                })
            } else {
                None
            };
            let verified = if objs.iter().any(|(n, _)| n == VERIFIED_FILE) {
                self.read_small(env, &id, VERIFIED_FILE)
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
            } else {
                None
            };
            out.push(Listed {
                id,
                objects: objs,
                manifest,
                verified,
            });
        }
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    /// A small object (manifest, marker, the sealed Secrets), whole: at
    /// most [`MAX_SMALL_BYTES`], read no further (a 300 MB `manifest.json`
    /// is an error, not 300 MB of memory).
    pub async fn read_small(
        &self,
        env: &str,
        id: &BackupId,
        file: &str,
    ) -> Result<Bytes, StoreError> {
        let path = self.path(env, id, file);
        let got = self
            .inner
            .get(&path)
            .await
            .map_err(self.fail(format!("reading {path}")))?;
        let too_large = || StoreError::Other {
            store: self.display.clone(),
            message: format!(
                "{path}: answer larger than {}; not an object fintechctl wrote",
                crate::human::bytes(MAX_SMALL_BYTES as u64)
            ),
        };
        if got.meta.size > MAX_SMALL_BYTES as u64 {
            return Err(too_large());
        }
        let mut stream = got.into_stream();
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(self.fail(format!("reading {path}")))?;
            if out.len() + chunk.len() > MAX_SMALL_BYTES {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// A part as a stream of chunks.
    pub async fn read_stream(
        &self,
        env: &str,
        id: &BackupId,
        file: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let path = self.path(env, id, file);
        let got = self
            .inner
            .get(&path)
            .await
            .map_err(self.fail(format!("reading {path}")))?;
        let display = self.display.clone();
        Ok(got
            .into_stream()
            .map(move |r| {
                r.map_err(|source| StoreError::Store {
                    store: display.clone(),
                    action: format!("reading {path}"),
                    source,
                })
            })
            .boxed())
    }

    /// Writes a small object whole: under a temporary name, then renamed.
    pub async fn put_small(
        &self,
        env: &str,
        id: &BackupId,
        file: &str,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let tmp = self.path(env, id, &format!(".{file}.partial"));
        let path = self.path(env, id, file);
        self.prepare(env, id)?;
        self.inner
            .put(&tmp, bytes.into())
            .await
            .map_err(self.fail(format!("writing {tmp}")))?;
        self.inner
            .rename(&tmp, &path)
            .await
            .map_err(self.fail(format!("committing {path}")))?;
        self.seal(env, id, file)
    }

    /// Starts a streamed upload of `file`.
    pub async fn upload(&self, env: &str, id: &BackupId, file: &str) -> Result<Upload, StoreError> {
        let tmp = self.path(env, id, &format!(".{file}.partial"));
        let path = self.path(env, id, file);
        self.prepare(env, id)?;
        let multipart = self
            .inner
            .put_multipart(&tmp)
            .await
            .map_err(self.fail(format!("starting the upload of {tmp}")))?;
        Ok(Upload {
            store: self.clone(),
            writer: WriteMultipart::new_with_chunk_size(multipart, UPLOAD_CHUNK),
            tmp,
            path,
            seal: (env.to_string(), id.clone(), file.to_string()),
            deadline: DEFAULT_UPLOAD_DEADLINE,
        })
    }

    /// Deletes every object of a backup (the manifest first, so a deletion
    /// cut short leaves an incomplete backup, never a complete one with
    /// parts missing).
    pub async fn delete(&self, env: &str, id: &BackupId) -> Result<(), StoreError> {
        let dir = self.env_dir(env).join(id.as_str());
        let manifest = dir.clone().join(MANIFEST_FILE);
        match self.inner.delete(&manifest).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.fail(format!("deleting {manifest}"))(e)),
        }
        let objects: Vec<_> = self
            .inner
            .list(Some(&dir))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        for meta in objects {
            match self.inner.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail(format!("deleting {}", meta.location))(e)),
            }
        }
        Ok(())
    }
}

/// A part being uploaded under its temporary name.
pub struct Upload {
    store: Store,
    writer: WriteMultipart,
    tmp: Path,
    path: Path,
    /// (env, id, file): what [`Store::seal`] makes owner-only once committed.
    seal: (String, BackupId, String),
    /// How long the store may take to accept one chunk, complete the
    /// upload or give it up (the part's `--stall-timeout`).
    deadline: std::time::Duration,
}

/// How long the store may take for one step of an upload unless the part
/// says otherwise ([`Upload::bound_by`]).
pub const DEFAULT_UPLOAD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

impl Upload {
    /// Each later step (a chunk accepted, the completion, the abort) must
    /// answer within `deadline`.
    pub fn bound_by(&mut self, deadline: std::time::Duration) {
        self.deadline = deadline;
    }

    fn stuck(&self, what: &str) -> StoreError {
        StoreError::Other {
            store: self.store.display.clone(),
            message: format!(
                "{what} {}: no answer within {}",
                self.tmp,
                crate::human::duration(self.deadline)
            ),
        }
    }

    /// Queues `bytes`, waiting while [`UPLOAD_CONCURRENCY`] chunks are in
    /// flight. A chunk that already failed (a full disk, a 403) fails this
    /// write at once, whatever else is in flight.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StoreError> {
        use futures::FutureExt;
        // Reaps the chunks already finished without waiting on the others.
        if let Some(Err(e)) = self.writer.wait_for_capacity(1).now_or_never() {
            return Err(self.store.fail(format!("uploading {}", self.tmp))(e));
        }
        self.writer
            .wait_for_capacity(UPLOAD_CONCURRENCY)
            .await
            .map_err(self.store.fail(format!("uploading {}", self.tmp)))?;
        self.writer.put(bytes);
        Ok(())
    }

    /// Completes the upload and renames it to its own name.
    pub async fn commit(self) -> Result<(), StoreError> {
        let fail = self
            .store
            .fail(format!("completing the upload of {}", self.tmp));
        let stuck = self.stuck("completing the upload of");
        let deadline = self.deadline;
        tokio::time::timeout(deadline, self.writer.finish())
            .await
            .map_err(|_| stuck)?
            .map_err(fail)?;
        match tokio::time::timeout(deadline, self.store.inner.rename(&self.tmp, &self.path)).await {
            Ok(r) => r.map_err(self.store.fail(format!("committing {}", self.path)))?,
            Err(_) => {
                return Err(StoreError::Other {
                    store: self.store.display.clone(),
                    message: format!(
                        "committing {}: no answer within {}",
                        self.path,
                        crate::human::duration(deadline)
                    ),
                });
            }
        }
        let (env, id, file) = &self.seal;
        self.store.seal(env, id, file)
    }

    /// Gives up: the parts uploaded so far are deleted where the store can
    /// (each step bounded: a stuck store does not keep the run waiting).
    pub async fn abort(self) {
        let bound = self.deadline.min(std::time::Duration::from_secs(30));
        let _ = tokio::time::timeout(bound, self.writer.abort()).await;
        let _ = tokio::time::timeout(bound, self.store.inner.delete(&self.tmp)).await;
    }
}

/// Creates `dir` and its missing parents owner-only (0700); an existing
/// directory is left as it is.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// `base` joined with a relative `path`, without its `.` components (so a
/// store shows as `/srv/backups`, not `/srv/./backups`).
fn joined(base: &std::path::Path, path: &std::path::Path) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_read_plainly() {
        let generic = object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: "'az account get-access-token' command failed: Azure Cli not installed".into(),
        };
        let text = plain(&generic);
        assert!(
            text.starts_with("no Azure credentials: `az` is not installed"),
            "{text}"
        );
        let other = object_store::Error::Generic {
            store: "S3",
            source: "bucket unreachable".into(),
        };
        assert_eq!(plain(&other), "bucket unreachable");
    }

    #[test]
    fn store_urls_parse_or_say_what_is_supported() {
        let base = std::path::Path::new("/work");
        assert_eq!(
            Location::parse("s3://bucket/a/b/", base).unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            Location::parse("azure://acct/cont/p", base).unwrap(),
            Location::Azure {
                account: Some("acct".into()),
                container: "cont".into(),
                prefix: "p".into()
            }
        );
        assert_eq!(
            Location::parse("backups", base).unwrap(),
            Location::Filesystem("/work/backups".into())
        );
        assert_eq!(
            Location::parse("./backups/./daily", base).unwrap(),
            Location::Filesystem("/work/backups/daily".into())
        );
        assert_eq!(
            Location::parse("file:///var/b", base).unwrap(),
            Location::Filesystem("/var/b".into())
        );
        for bad in ["ftp://x/y", "s3://", "azure://acct", ""] {
            let err = Location::parse(bad, base).unwrap_err();
            assert!(err.contains("expected file:///DIR"), "{bad}: {err}");
        }
    }
}
