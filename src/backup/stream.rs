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
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `reader` to its end, compressing, hashing and uploading; returns
/// the sizes and checksum. The upload is neither committed nor aborted here.
pub async fn compress_into<R: AsyncRead + Unpin>(
    mut reader: R,
    upload: &mut Upload,
    part: &str,
    stall: std::time::Duration,
    progress: &dyn Progress,
) -> Result<Written, StreamError> {
    let started = Instant::now();
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let compressor = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, u64, String)> {
        use std::io::Write;
        let mut encoder =
            zstd::stream::write::Encoder::new(Vec::with_capacity(OUT_CHUNK), ZSTD_LEVEL)?;
        let mut hasher = Sha256::new();
        let (mut raw, mut size) = (0u64, 0u64);
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
            if encoder.get_ref().len() >= OUT_CHUNK {
                let buf = std::mem::replace(encoder.get_mut(), Vec::with_capacity(OUT_CHUNK));
                if !emit(buf, &mut hasher, &mut size) {
                    return Err(std::io::Error::other("the upload stopped"));
                }
            }
        }
        let rest = encoder.finish()?;
        emit(rest, &mut hasher, &mut size);
        Ok((raw, size, hex(&hasher.finalize())))
    });
    let read = async {
        let mut total = 0u64;
        loop {
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            let n = tokio::time::timeout(stall, reader.read_buf(&mut buf))
                .await
                .map_err(|_| StreamError::Stalled {
                    part: part.to_string(),
                    after: stall,
                })?
                .map_err(|source| StreamError::Source {
                    part: part.to_string(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if in_tx.send(buf.freeze()).await.is_err() {
                break;
            }
        }
        drop(in_tx);
        Ok::<u64, StreamError>(total)
    };
    let send = async {
        let mut sent = 0u64;
        while let Some(bytes) = out_rx.recv().await {
            sent += bytes.len() as u64;
            upload.write(bytes).await?;
            progress.progress(part, 0, sent, started.elapsed());
        }
        Ok::<u64, StreamError>(sent)
    };
    let (read, sent) = futures::join!(read, send);
    let compressed = compressor
        .await
        .map_err(|e| StreamError::Codec(std::io::Error::other(e.to_string())))?;
    read?;
    sent?;
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
