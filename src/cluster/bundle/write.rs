//! Writing the bundle: its files laid out in a gzip'd tar, published
//! atomically and privately.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::{BundleError, DebugBundle, mask_object};

/// The bundle's files, in the order they are archived: each path (below
/// the bundle's own directory) and its content, masked and scrubbed.
///
/// ```text
/// README.txt                      what each file holds
/// summary.json                    environment, namespace, time, revision, version, missing evidence
/// failures.json                   the failure cards (a failed deploy)
/// triage.json                     the triage report (debug bundle)
/// pods/<pod>/pod.json             the Pod object, masked
/// pods/<pod>/describe.txt         kubectl-describe-like text
/// pods/<pod>/events.txt           the pod's events
/// pods/<pod>/logs/<c>.log         the container's current log (last lines)
/// pods/<pod>/logs/<c>.previous.log  the previous (crashed) instance's log
/// events.txt                      the workloads' (and the namespace's) events
/// objects/<resource>.json         the namespace's objects, Secrets masked
/// history.json                    the release history (no manifests)
/// release/manifests.json          the latest revision's rendered release (secret values as digests)
/// drift.txt                       live differences from that revision
/// top.json                        resource use against requests and limits
/// ```
pub fn layout(bundle: &DebugBundle, redactor: &crate::redact::Redactor) -> Vec<(String, Vec<u8>)> {
    let text = |t: &str| redactor.scrub(t).into_owned().into_bytes();
    let json = |v: &Value, mask: bool| {
        let mut v = v.clone();
        if mask {
            mask_object(&mut v);
        }
        redactor.scrub_json(&mut v);
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    };
    let lines = |l: &[String]| {
        let mut joined = l.join("\n");
        if !joined.is_empty() {
            joined.push('\n');
        }
        text(&joined)
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push(("README.txt".into(), text(README)));
    let summary = serde_json::json!({
        "environment": bundle.environment,
        "namespace": bundle.namespace,
        "createdAt": bundle.created_at,
        "revision": bundle.revision,
        "version": bundle.version,
        "pods": bundle.pods.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "missing": bundle.missing,
    });
    files.push(("summary.json".into(), json(&summary, false)));
    if !bundle.failures.is_empty() {
        let cards = serde_json::to_value(&bundle.failures).unwrap_or(Value::Null);
        files.push(("failures.json".into(), json(&cards, false)));
    }
    if let Some(triage) = &bundle.triage {
        files.push(("triage.json".into(), json(triage, false)));
    }
    for pod in &bundle.pods {
        let dir = format!("pods/{}", safe(&pod.name));
        if !pod.object.is_null() {
            files.push((format!("{dir}/pod.json"), json(&pod.object, true)));
        }
        if !pod.describe.is_empty() {
            files.push((format!("{dir}/describe.txt"), text(&pod.describe)));
        }
        files.push((format!("{dir}/events.txt"), lines(&pod.events)));
        for log in &pod.logs {
            let c = safe(&log.container);
            if let Some(current) = &log.current {
                files.push((
                    format!("{dir}/logs/{c}.log"),
                    lines(std::slice::from_ref(current)),
                ));
            }
            if let Some(previous) = &log.previous {
                files.push((
                    format!("{dir}/logs/{c}.previous.log"),
                    lines(std::slice::from_ref(previous)),
                ));
            }
        }
    }
    let mut events = bundle.workload_events.clone();
    events.extend(bundle.events.iter().cloned());
    files.push(("events.txt".into(), lines(&events)));
    for objects in &bundle.objects {
        files.push((
            format!("objects/{}.json", safe(&objects.resource)),
            json(&objects.list, true),
        ));
    }
    if let Some(history) = &bundle.history {
        files.push(("history.json".into(), json(history, true)));
    }
    if let Some(release) = &bundle.release {
        files.push(("release/manifests.json".into(), json(release, true)));
    }
    if bundle.release.is_some() || !bundle.drift.is_empty() {
        let drift = if bundle.drift.is_empty() {
            vec!["no drift: the live workloads match the latest revision".to_string()]
        } else {
            bundle.drift.clone()
        };
        files.push(("drift.txt".into(), lines(&drift)));
    }
    if !bundle.usage.is_empty() {
        let usage = serde_json::to_value(&bundle.usage).unwrap_or(Value::Null);
        files.push(("top.json".into(), json(&usage, false)));
    }
    files
}

const README: &str = "fintechctl debug bundle\n\n\
Secret values are redacted: Secret data, secret-looking environment values and every\n\
value of the namespace's Secrets known to fintechctl are replaced by <redacted>.\n\n\
summary.json             environment, namespace, time, revision, version, what could not be fetched\n\
failures.json            failure cards of a failed rollout\n\
triage.json              the triage (fintechctl debug <env> -o json)\n\
pods/<pod>/              pod.json, describe.txt, events.txt, logs/<container>.log and .previous.log\n\
events.txt               events of the workloads and the namespace\n\
objects/<resource>.json  the namespace's objects\n\
history.json             release history; release/manifests.json the latest revision's release\n\
drift.txt                how the live workloads differ from that revision\n\
top.json                 resource use against requests and limits\n";

/// A path component: no separators, no dot-dot.
fn safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".into()
    } else {
        cleaned
    }
}

/// The bundle as a gzip'd tar: every file below one directory named like
/// the archive, owner-only permissions, the bundle's time as mtime.
fn archive(
    bundle: &DebugBundle,
    root: &str,
    redactor: &crate::redact::Redactor,
) -> std::io::Result<Vec<u8>> {
    let mtime = bundle
        .created_at
        .parse::<Timestamp>()
        .map(|t| t.as_second().max(0) as u64)
        .unwrap_or(0);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, content) in layout(bundle, redactor) {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{root}/{path}"), content.as_slice())?;
    }
    tar.into_inner()?.finish()
}

/// Write `bundle` into `dir` (created if missing) as
/// `fintechctl-debug-<env>-<YYYYmmddTHHMMSSZ>.tar.gz`, atomically: a temp
/// file in the same directory, fsynced, then linked or renamed. An existing
/// bundle of the same second is never overwritten (`-2`, `-3`... is added).
///
/// Written readable by its owner only (0600): logs and pod specs are the
/// kind of thing that holds what should not be shared, and every file is
/// scrubbed of the secret values `redactor` knows first.
pub fn write(
    bundle: &DebugBundle,
    dir: &Path,
    redactor: &crate::redact::Redactor,
) -> Result<PathBuf, BundleError> {
    let name = file_name(&bundle.environment, &bundle.created_at);
    write_named(bundle, dir, &name, redactor)
}

/// [`write`] to `path` (`--to PATH`): a directory (existing, or written
/// with a trailing `/`) gets the bundle inside it under its usual name; a
/// file name gets the bundle under that name, and a file already there is
/// kept and the bundle gets the next free name beside it. Anything else
/// already there (a device such as `/dev/null`, a FIFO, a socket) is
/// refused: see [`check_target`].
pub fn write_to(
    bundle: &DebugBundle,
    path: &Path,
    redactor: &crate::redact::Redactor,
) -> Result<PathBuf, BundleError> {
    match check_target(path) {
        Err(reason) => Err(BundleError::Target {
            path: path.to_path_buf(),
            reason,
        }),
        Ok(Target::Directory) => write(bundle, path, redactor),
        Ok(Target::File) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file_name(&bundle.environment, &bundle.created_at));
            write_named(bundle, dir, &name, redactor)
        }
    }
}

/// What `--to PATH` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A directory (there, or to be created): the bundle goes inside it.
    Directory,
    /// A file name (free, or a regular file kept: the bundle goes beside it).
    File,
}

/// What `--to PATH` names, checked before anything is collected: an
/// existing directory, a path ending in `/` or `.`/`..`, a regular file or
/// a free name are fine; anything else there (a device, a FIFO, a socket)
/// is refused with why — a bundle is never written through or beside it.
pub fn check_target(path: &Path) -> Result<Target, String> {
    let text = path.as_os_str().to_string_lossy();
    let dir_like = text.ends_with('/') || path.file_name().is_none();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(Target::Directory),
        Ok(meta) if meta.is_file() => Ok(Target::File),
        Ok(meta) => Err(format!(
            "it is {}, not a directory or a regular file",
            describe_kind(&meta)
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(if dir_like {
            Target::Directory
        } else {
            Target::File
        }),
        Err(e) => Err(e.to_string()),
    }
}

fn describe_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "not a regular file"
}

fn write_named(
    bundle: &DebugBundle,
    dir: &Path,
    name: &str,
    redactor: &crate::redact::Redactor,
) -> Result<PathBuf, BundleError> {
    let root = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
        .unwrap_or(name);
    let bytes = archive(bundle, root, redactor).map_err(|source| BundleError::Write {
        path: dir.join(name),
        source,
    })?;
    write_atomically(dir, name, |file| {
        file.write_all(&bytes)?;
        Ok(())
    })
}

/// `fintechctl-debug-<env>-<YYYYmmddTHHMMSSZ>.tar.gz`, from the bundle's
/// creation time (now, if that does not parse).
pub fn file_name(environment: &str, created_at: &str) -> String {
    let at = created_at
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::now());
    let env: String = environment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "fintechctl-debug-{env}-{}.tar.gz",
        at.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// Write through `fill` into a temp file in `dir`, fsync it, and move it
/// to `name` (or `name` with `-2`, `-3`... before the extension when taken).
/// On any error the temp file is removed: no file that looks complete is left.
pub(crate) fn write_atomically(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), WriteFailure>,
) -> Result<PathBuf, BundleError> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir).map_err(|source| BundleError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let temp = dir.join(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let intended = dir.join(name);
    let io_error = |source| BundleError::Write {
        path: intended.clone(),
        source,
    };
    let result = (|| {
        let mut file = crate::files::open_private(&temp, 0o600).map_err(io_error)?;
        fill(&mut file).map_err(|failure| match failure {
            WriteFailure::Io(source) => io_error(source),
            WriteFailure::Json(source) => BundleError::Serialize {
                path: intended.clone(),
                source,
            },
        })?;
        file.sync_all().map_err(io_error)?;
        drop(file);
        publish(&temp, dir, name).map_err(io_error)
    })();
    let _ = std::fs::remove_file(&temp);
    let path = result?;
    // Make the new name itself durable; a failure here loses nothing written.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(path)
}

/// Give the complete `temp` file its final name without ever replacing an
/// existing bundle: a hard link fails when the name is taken (two bundles in
/// the same second), so the next free name is tried. Where hard links are
/// not supported, a rename onto a name not taken a moment earlier.
fn publish(temp: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (stem, ext) = match name.strip_suffix(".tar.gz") {
        Some(stem) => (stem, ".tar.gz".to_string()),
        None => match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (name, String::new()),
        },
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}{ext}"))
        };
        match std::fs::hard_link(temp, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) if !candidate.exists() => {
                std::fs::rename(temp, &candidate)?;
                return Ok(candidate);
            }
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "999 bundles of the same second already exist",
    ))
}

/// What filling the temp file can fail with.
pub(crate) enum WriteFailure {
    Io(std::io::Error),
    Json(serde_json::Error),
}

impl From<std::io::Error> for WriteFailure {
    fn from(e: std::io::Error) -> Self {
        WriteFailure::Io(e)
    }
}

impl From<serde_json::Error> for WriteFailure {
    fn from(e: serde_json::Error) -> Self {
        WriteFailure::Json(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> DebugBundle {
        DebugBundle {
            environment: "staging".into(),
            namespace: "fintech-ai-staging".into(),
            created_at: "2026-11-26T13:45:23Z".into(),
            ..DebugBundle::default()
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn to_a_directory_writes_inside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("incidents");
        std::fs::create_dir(&dir).unwrap();
        let r = crate::redact::Redactor::default();
        let written = write_to(&bundle(), &dir, &r).unwrap();
        let expected = "fintechctl-debug-staging-20261126T134523Z.tar.gz";
        assert_eq!(written, dir.join(expected));
        // Not `incidents-2.` beside it.
        assert_eq!(names(tmp.path()), ["incidents"]);
        assert_eq!(names(&dir), [expected]);
        // A second one in the same second gets the next name, inside.
        let again = write_to(&bundle(), &dir, &r).unwrap();
        assert_eq!(
            again,
            dir.join("fintechctl-debug-staging-20261126T134523Z-2.tar.gz")
        );
        // A directory not there yet, written with a trailing slash.
        let new_dir = tmp.path().join("new");
        let written =
            write_to(&bundle(), Path::new(&format!("{}/", new_dir.display())), &r).unwrap();
        assert_eq!(written, new_dir.join(expected));
    }

    #[test]
    fn a_file_name_is_used_and_an_existing_file_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let r = crate::redact::Redactor::default();
        let to = tmp.path().join("incident");
        assert_eq!(write_to(&bundle(), &to, &r).unwrap(), to);
        // The next free name, without a stray dot for a name with no extension.
        assert_eq!(
            write_to(&bundle(), &to, &r).unwrap(),
            tmp.path().join("incident-2")
        );
        let tgz = tmp.path().join("x.tgz");
        write_to(&bundle(), &tgz, &r).unwrap();
        assert_eq!(
            write_to(&bundle(), &tgz, &r).unwrap(),
            tmp.path().join("x-2.tgz")
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let r = crate::redact::Redactor::default();
        let err = write_to(&bundle(), Path::new("/dev/null"), &r).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--to /dev/null: it is a device, not a directory or a regular file"
        );
        assert!(!Path::new("/dev/null-2.").exists());
        let fifo = tmp.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(
            check_target(&fifo),
            Err("it is a FIFO, not a directory or a regular file".to_string())
        );
        assert_eq!(names(tmp.path()), ["pipe"]);
    }
}
