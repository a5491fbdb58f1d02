//! Files fintechctl reads and writes: every file named on the command line
//! is read with a size cap (`--env-file /dev/zero` is an error, not an
//! abort), and every file it writes appears whole or not at all.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is larger than {limit}; expected a small text file")]
    TooLarge { path: String, limit: String },
    #[error("`{path}` is not UTF-8 text")]
    NotText { path: String },
    #[error("`{path}` is {what}, not a regular file")]
    NotRegular { path: String, what: &'static str },
}

impl ReadError {
    /// The cause without the path, for messages that name the file themselves.
    pub fn cause(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::TooLarge { limit, .. } => {
                format!("larger than {limit}; expected a small text file")
            }
            ReadError::NotText { .. } => "not UTF-8 text".to_string(),
            ReadError::NotRegular { what, .. } => format!("{what}, not a regular file"),
        }
    }
}

/// Reads `path` as UTF-8 text, refusing anything larger than `limit` bytes
/// (read through a bounded reader: a device or a huge file costs at most
/// `limit + 1` bytes of memory).
pub fn read_capped(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_capped_bytes(path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotText {
        path: path.display().to_string(),
    })
}

/// [`read_capped`] for bytes.
pub fn read_capped_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.display().to_string(),
            limit: crate::human::bytes(limit),
        });
    }
    Ok(bytes)
}

/// Opens `path` for reading only when it is a regular file: a FIFO with
/// no writer, a device, a socket or a directory is refused without
/// blocking. The file is opened non-blocking (opening a FIFO then returns
/// at once) and its type read from the open descriptor, so nothing can
/// swap it between the check and the read; a regular file is then read
/// as usual (`O_NONBLOCK` is cleared).
pub fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular {
            path: path.display().to_string(),
            what: describe_kind(&kind),
        });
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
        let cleared = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) >= 0
        };
        if !cleared {
            return Err(io(std::io::Error::last_os_error()));
        }
    }
    Ok(file)
}

/// `a FIFO`, `a directory`, … for a file type that is not a regular file.
fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "an unknown kind of file"
}

/// Writes `contents` to `path` atomically with the given Unix permissions:
/// a temporary file in the same directory, synced, then renamed into place
/// (never replacing an existing file when `replace` is false). An
/// interrupted write leaves no file that looks complete.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, replace: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_name(path);
    let result = (|| {
        let mut file = open_private(&tmp, mode)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        if replace {
            std::fs::rename(&tmp, path)?;
        } else {
            // A hard link fails when the target exists: no race replaces it.
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)?;
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.name.tmp-<pid>-<n>` beside `path`.
pub fn temp_name(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Creates `path` (which must not exist) with `mode` from the start, so
/// the content is never readable by others even for a moment.
pub fn open_private(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_refused_without_reading_it_all() {
        let err = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(matches!(err, ReadError::NotRegular { .. }), "{err}");
        assert!(err.to_string().contains("/dev/zero"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_capped(dir.path(), 1024).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_capped(&fifo, 1024).map_err(|e| e.to_string()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("returns instead of waiting for a writer");
        let err = got.unwrap_err();
        assert!(
            err.contains("is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn atomic_write_is_private_and_never_replaces_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.json");
        write_atomic(&path, b"one", 0o600, false).unwrap();
        assert!(write_atomic(&path, b"two", 0o600, false).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        write_atomic(&path, b"two", 0o600, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }
}
