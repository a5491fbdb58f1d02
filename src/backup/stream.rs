//! Moving a part's bytes: a dumper's output compressed with zstd on the
//! fly, hashed (sha256 of the stored bytes) and uploaded in chunks; and back:
//! a stored part read, its checksum checked, decompressed into a writer.
//! Memory stays bounded whatever the size: a few chunks in flight.
//!
//! Compression runs on a blocking thread fed through bounded channels, so
//! reading the exec stream, compressing and uploading overlap.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Progress;
use super::store::{StoreError, Upload};

/// zstd's default level, as `zstd` on the command line.
pub const ZSTD_LEVEL: i32 = 3;
const READ_CHUNK: usize = 256 * 1024;
const OUT_CHUNK: usize = 1024 * 1024;

/// What a streamed part came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Bytes read from the source (before compression).
    pub raw: u64,
    /// Bytes stored.
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("reading the {part} stream: {source}")]
    Source {
        part: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("compressing: {0}")]
    Codec(std::io::Error),
    #[error("{file}: {what}")]
    Mismatch { file: String, what: String },
    #[error("writing to the restore: {0}")]
    Sink(std::io::Error),
    #[error(
        "the {part} stream carried no data for {} (--stall-timeout): the exec stream was lost; what arrived is incomplete",
        crate::human::duration(*after)
    )]
    Stalled {
        part: String,
        after: std::time::Duration,
    },
    #[error(
        "the backup store accepted nothing of the {part} part for {} (--stall-timeout): the upload is stuck; what was sent is incomplete",
        crate::human::duration(*after)
    )]
    StoreStalled {
        part: String,
        after: std::time::Duration,
    },
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which stage of a streamed part waits on something outside it, for the
/// stall timer to name what stopped moving.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Nothing = 0,
    /// The reader, on the source (the exec stream).
    Source = 1,
    /// The uploader, on the store.
    Store = 2,
}

/// When any stage last moved, and what the reader and the uploader wait on.
struct Activity {
    started: Instant,
    last_ms: std::sync::atomic::AtomicU64,
    reader: std::sync::atomic::AtomicU8,
    uploader: std::sync::atomic::AtomicU8,
}

impl Activity {
    fn new() -> Self {
        Activity {
            started: Instant::now(),
            last_ms: Default::default(),
            reader: Default::default(),
            uploader: Default::default(),
        }
    }
    fn moved(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_ms
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
    }
    fn idle(&self) -> std::time::Duration {
        let last = self.last_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.started
            .elapsed()
            .saturating_sub(std::time::Duration::from_millis(last))
    }
    fn set(slot: &std::sync::atomic::AtomicU8, what: Waiting) {
        slot.store(what as u8, std::sync::atomic::Ordering::Relaxed);
    }
    fn is(slot: &std::sync::atomic::AtomicU8, what: Waiting) -> bool {
        slot.load(std::sync::atomic::Ordering::Relaxed) == what as u8
    }
}

/// Reads `reader` to its end, compressing, hashing and uploading; returns
/// the sizes and checksum. The upload is neither committed nor aborted here.
///
/// Reading, compressing and uploading overlap through bounded channels.
/// The first error of any stage ends the part at once with that error (a
/// store that answers 403 or a full disk is the store's message, not a
/// wait); the others are dropped, which closes their channels. `stall`
/// covers every stage: when nothing moved anywhere for that long, the
/// part fails naming what it waits on (the source, or the store).
pub async fn compress_into<R: AsyncRead + Unpin>(
    mut reader: R,
    upload: &mut Upload,
    part: &str,
    stall: std::time::Duration,
    progress: &dyn Progress,
) -> Result<Written, StreamError> {
    let started = Instant::now();
    upload.bound_by(stall);
    let activity = std::sync::Arc::new(Activity::new());
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let (out_tx, out_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let compressing = activity.clone();
    let compressor = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, u64, String)> {
        use std::io::Write;
        let mut encoder =
            zstd::stream::write::Encoder::new(Vec::with_capacity(OUT_CHUNK), ZSTD_LEVEL)?;
        let mut hasher = Sha256::new();
        let (mut raw, mut size) = (0u64, 0u64);
        let stopped = || std::io::Error::other("the upload stopped");
        let emit = |buf: Vec<u8>, hasher: &mut Sha256, size: &mut u64| -> bool {
            if buf.is_empty() {
                return true;
            }
            hasher.update(&buf);
            *size += buf.len() as u64;
            out_tx.blocking_send(Bytes::from(buf)).is_ok()
        };
        while let Some(chunk) = in_rx.blocking_recv() {
            raw += chunk.len() as u64;
            encoder.write_all(&chunk)?;
            compressing.moved();
            if encoder.get_ref().len() >= OUT_CHUNK {
                let buf = std::mem::replace(encoder.get_mut(), Vec::with_capacity(OUT_CHUNK));
                if !emit(buf, &mut hasher, &mut size) {
                    return Err(stopped());
                }
                compressing.moved();
            }
        }
        let rest = encoder.finish()?;
        if !emit(rest, &mut hasher, &mut size) {
            return Err(stopped());
        }
        Ok((raw, size, hex(&hasher.finalize())))
    });
    let reading = activity.clone();
    let read = async move {
        let mut total = 0u64;
        loop {
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            Activity::set(&reading.reader, Waiting::Source);
            let n = reader
                .read_buf(&mut buf)
                .await
                .map_err(|source| StreamError::Source {
                    part: part.to_string(),
                    source,
                })?;
            Activity::set(&reading.reader, Waiting::Nothing);
            reading.moved();
            if n == 0 {
                break;
            }
            total += n as u64;
            if in_tx.send(buf.freeze()).await.is_err() {
                // The compressor ended: its own error says why.
                break;
            }
            reading.moved();
        }
        drop(in_tx);
        Ok::<u64, StreamError>(total)
    };
    let sending = activity.clone();
    let send = async move {
        let mut out_rx = out_rx;
        let mut sent = 0u64;
        while let Some(bytes) = out_rx.recv().await {
            sent += bytes.len() as u64;
            Activity::set(&sending.uploader, Waiting::Store);
            upload.write(bytes).await?;
            Activity::set(&sending.uploader, Waiting::Nothing);
            sending.moved();
            progress.progress(part, 0, sent, started.elapsed());
        }
        Ok::<u64, StreamError>(sent)
    };
    let watching = activity.clone();
    let watchdog = async move {
        let tick = (stall / 4).clamp(
            std::time::Duration::from_millis(10),
            std::time::Duration::from_secs(1),
        );
        loop {
            tokio::time::sleep(tick).await;
            if watching.idle() < stall {
                continue;
            }
            return if Activity::is(&watching.uploader, Waiting::Store) {
                StreamError::StoreStalled {
                    part: part.to_string(),
                    after: stall,
                }
            } else if Activity::is(&watching.reader, Waiting::Source) {
                StreamError::Stalled {
                    part: part.to_string(),
                    after: stall,
                }
            } else {
                StreamError::Codec(std::io::Error::other(format!(
                    "the compressor made no progress for {}",
                    crate::human::duration(stall)
                )))
            };
        }
    };
    // The first error wins; the other stages are dropped with their
    // channels, so the compressor thread ends too.
    let pipeline = futures::future::try_join(read, send);
    let streamed = tokio::select! {
        r = pipeline => r.map(|_| ()),
        e = watchdog => Err(e),
    };
    let compressed = compressor
        .await
        .map_err(|e| StreamError::Codec(std::io::Error::other(e.to_string())))?;
    streamed?;
    let (raw, size, sha256) = compressed.map_err(StreamError::Codec)?;
    progress.progress(part, raw, size, started.elapsed());
    Ok(Written { raw, size, sha256 })
}

/// Reads a stored part to its end and checks its size and sha256.
pub async fn check(
    mut stream: BoxStream<'static, Result<Bytes, StoreError>>,
    file: &str,
    size: u64,
    sha256: &str,
    progress: &dyn Progress,
) -> Result<(), StreamError> {
    let started = Instant::now();
    let mut hasher = Sha256::new();
    let mut seen = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        hasher.update(&chunk);
        progress.progress(file, seen, seen, started.elapsed());
    }
    compare(file, seen, size, &hex(&hasher.finalize()), sha256)
}

fn compare(file: &str, seen: u64, size: u64, got: &str, sha256: &str) -> Result<(), StreamError> {
    if seen != size {
        return Err(StreamError::Mismatch {
            file: file.to_string(),
            what: format!("{seen} bytes stored, the manifest says {size}"),
        });
    }
    if got != sha256 {
        return Err(StreamError::Mismatch {
            file: file.to_string(),
            what: format!("sha256 {got}, the manifest says {sha256}"),
        });
    }
    Ok(())
}

/// Streams a stored part, decompressed, into `sink`, checking its checksum
/// on the way. The last chunk is held back until the checksum matched, so
/// a reader that only acts on a complete input (`pg_restore
/// --single-transaction`) never completes on bytes that changed. Returns
/// the decompressed size. `sink` is shut down (EOF) only on success.
pub async fn decompress_into<W: AsyncWrite + Unpin>(
    mut stream: BoxStream<'static, Result<Bytes, StoreError>>,
    sink: &mut W,
    file: &str,
    size: u64,
    sha256: &str,
    progress: &dyn Progress,
) -> Result<u64, StreamError> {
    let started = Instant::now();
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let decoder = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut decoder = zstd::stream::write::Decoder::new(Vec::with_capacity(OUT_CHUNK))?;
        while let Some(chunk) = in_rx.blocking_recv() {
            decoder.write_all(&chunk)?;
            if decoder.get_ref().len() >= OUT_CHUNK {
                let buf = std::mem::replace(decoder.get_mut(), Vec::with_capacity(OUT_CHUNK));
                if out_tx.blocking_send(Bytes::from(buf)).is_err() {
                    return Ok(());
                }
            }
        }
        decoder.flush()?;
        let rest = std::mem::take(decoder.get_mut());
        if !rest.is_empty() {
            let _ = out_tx.blocking_send(Bytes::from(rest));
        }
        Ok(())
    });
    let feed = async {
        let mut hasher = Sha256::new();
        let mut seen = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            hasher.update(&chunk);
            if in_tx.send(chunk).await.is_err() {
                break;
            }
        }
        drop(in_tx);
        compare(file, seen, size, &hex(&hasher.finalize()), sha256)
    };
    let (checked_tx, checked_rx) = tokio::sync::oneshot::channel::<bool>();
    let feed = async {
        let result = feed.await;
        let _ = checked_tx.send(result.is_ok());
        result
    };
    let drain = async {
        let mut pending: Option<Bytes> = None;
        let mut written = 0u64;
        while let Some(bytes) = out_rx.recv().await {
            if let Some(previous) = pending.replace(bytes) {
                sink.write_all(&previous).await.map_err(StreamError::Sink)?;
                written += previous.len() as u64;
                progress.progress(file, written, written, started.elapsed());
            }
        }
        Ok::<(Option<Bytes>, u64), StreamError>((pending, written))
    };
    let (fed, drained) = futures::join!(feed, drain);
    let decoded = decoder
        .await
        .map_err(|e| StreamError::Codec(std::io::Error::other(e.to_string())));
    fed?;
    let _ = checked_rx.await;
    decoded?.map_err(StreamError::Codec)?;
    let (pending, mut written) = drained?;
    if let Some(last) = pending {
        sink.write_all(&last).await.map_err(StreamError::Sink)?;
        written += last.len() as u64;
    }
    sink.flush().await.map_err(StreamError::Sink)?;
    sink.shutdown().await.map_err(StreamError::Sink)?;
    progress.progress(file, written, written, started.elapsed());
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::id::BackupId;
    use crate::backup::store::{Location, Store, StoreConfig};

    fn store(dir: &std::path::Path) -> Store {
        Store::open(&StoreConfig {
            location: Location::Filesystem(dir.to_path_buf()),
            vars: Vec::new(),
        })
        .unwrap()
    }

    /// Several MiB that compress, but not to nothing.
    fn payload() -> Vec<u8> {
        (0..3_000_000u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_part_round_trips_and_a_changed_byte_is_caught_before_the_last_chunk_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let id = BackupId::parse("20261129T203320Z-abcdef").unwrap();
        let data = payload();
        let mut upload = store.upload("local", &id, "p.zst").await.unwrap();
        let written = compress_into(
            data.as_slice(),
            &mut upload,
            "p",
            std::time::Duration::from_secs(5),
            &super::super::NoProgress,
        )
        .await
        .unwrap();
        upload.commit().await.unwrap();
        assert_eq!(written.raw, data.len() as u64);
        let path = dir.path().join("local").join(id.as_str()).join("p.zst");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), written.size);
        assert!(written.size < written.raw, "compressed");

        let stream = store.read_stream("local", &id, "p.zst").await.unwrap();
        check(
            stream,
            "p.zst",
            written.size,
            &written.sha256,
            &super::super::NoProgress,
        )
        .await
        .unwrap();
        let mut out: Vec<u8> = Vec::new();
        let stream = store.read_stream("local", &id, "p.zst").await.unwrap();
        decompress_into(
            stream,
            &mut out,
            "p.zst",
            written.size,
            &written.sha256,
            &super::super::NoProgress,
        )
        .await
        .unwrap();
        assert!(out == data, "decompressed bytes equal the original");

        // A flipped byte: the check names the file, and the restore's sink
        // never receives the whole stream.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 10;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let stream = store.read_stream("local", &id, "p.zst").await.unwrap();
        let err = check(
            stream,
            "p.zst",
            written.size,
            &written.sha256,
            &super::super::NoProgress,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().starts_with("p.zst: sha256"), "{err}");
        let mut out: Vec<u8> = Vec::new();
        let stream = store.read_stream("local", &id, "p.zst").await.unwrap();
        let err = decompress_into(
            stream,
            &mut out,
            "p.zst",
            written.size,
            &written.sha256,
            &super::super::NoProgress,
        )
        .await
        .unwrap_err();
        assert!(out.len() < data.len(), "the tail was held back: {err}");
    }

    /// An S3 stand-in on a free port: creating a multipart upload works,
    /// every part is answered 403 (`deny`) or never answered.
    async fn s3_stand_in(deny: bool) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    loop {
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match socket.read(&mut byte).await {
                                Ok(0) | Err(_) => return,
                                Ok(_) => head.push(byte[0]),
                            }
                        }
                        let head = String::from_utf8_lossy(&head).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0u8; length];
                        if socket.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let line = head.lines().next().unwrap_or("").to_string();
                        let (status, body) = if line.starts_with("post") && line.contains("uploads")
                        {
                            (
                                "200 OK",
                                "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>",
                            )
                        } else if line.starts_with("put") {
                            if !deny {
                                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                                return;
                            }
                            (
                                "403 Forbidden",
                                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
                            )
                        } else {
                            ("204 No Content", "")
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    fn s3_store(endpoint: &str) -> Store {
        let vars = [
            ("AWS_ENDPOINT", endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ];
        Store::open(&StoreConfig {
            location: crate::backup::store::Location::S3 {
                bucket: "b".into(),
                prefix: String::new(),
            },
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .unwrap()
    }

    /// 24 MiB that zstd cannot shrink: several upload chunks.
    fn noise() -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..24 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_refusing_a_part_ends_the_stream_at_once_with_its_error() {
        let store = s3_store(&s3_stand_in(true).await);
        let id = BackupId::parse("20261129T203320Z-abcdef").unwrap();
        let mut upload = store.upload("local", &id, "p.zst").await.unwrap();
        let data = noise();
        let started = Instant::now();
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            compress_into(
                data.as_slice(),
                &mut upload,
                "postgres",
                std::time::Duration::from_secs(30),
                &super::super::NoProgress,
            ),
        )
        .await
        .expect("the store's refusal ends the part, not a hang");
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("Access Denied") || err.contains("403"),
            "{err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        upload.abort().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_that_accepts_nothing_is_a_stall_not_a_hang() {
        let store = s3_store(&s3_stand_in(false).await);
        let id = BackupId::parse("20261129T203320Z-abcdef").unwrap();
        let mut upload = store.upload("local", &id, "p.zst").await.unwrap();
        let data = noise();
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(25),
            compress_into(
                data.as_slice(),
                &mut upload,
                "postgres",
                std::time::Duration::from_secs(2),
                &super::super::NoProgress,
            ),
        )
        .await
        .expect("the stall timer covers the upload");
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("the backup store accepted nothing of the postgres part for 2s"),
            "{err}"
        );
        let started = Instant::now();
        upload.abort().await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "giving up is bounded too: {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_stalled_source_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let id = BackupId::parse("20261129T203320Z-abcdef").unwrap();
        let mut upload = store.upload("local", &id, "p.zst").await.unwrap();
        let (_keep_open, reader) = tokio::io::duplex(64);
        let err = compress_into(
            reader,
            &mut upload,
            "postgres",
            std::time::Duration::from_millis(200),
            &super::super::NoProgress,
        )
        .await
        .unwrap_err();
        upload.abort().await;
        assert!(
            err.to_string().contains("the exec stream was lost"),
            "{err}"
        );
        assert!(
            !dir.path()
                .join("local")
                .join(id.as_str())
                .join("p.zst")
                .exists()
        );
    }
}
