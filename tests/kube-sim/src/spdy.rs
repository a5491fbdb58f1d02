//! Just enough SPDY/3.1 for kubectl's port-forward: SYN_STREAM / SYN_REPLY / DATA /
//! RST_STREAM / PING / GOAWAY, zlib-compressed header blocks with the SPDY dictionary,
//! over either a plain `Upgrade: SPDY/3.1` connection or kubectl's websocket tunnel
//! (`SPDY/3.1+portforward.k8s.io`). No flow control (kubectl's spdystream does not need it).

use bytes::Bytes;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// The SPDY/3 header compression dictionary from the SPDY/3 specification (section 2.6.10.1;
/// 1423 bytes, adler32 0xe3c6a7c2, checked against the dictionary id kubectl sends).
pub const DICT: &[u8] = include_bytes!("spdy_dict.bin");

pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Stateful inflater for the client's header blocks (one zlib stream per session).
pub struct HeaderDecoder {
    st: Box<DecompressorOxide>,
    out: Vec<u8>,
    pos: usize,
    started: bool,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecoder {
    pub fn new() -> Self {
        let mut out = DICT.to_vec();
        out.resize(DICT.len() + 64 * 1024, 0);
        HeaderDecoder {
            st: Box::default(),
            out,
            pos: DICT.len(),
            started: false,
        }
    }

    pub fn decode(&mut self, chunk: &[u8]) -> Result<Vec<u8>, String> {
        let mut input = chunk;
        if !self.started {
            if input.len() < 6 || input[1] & 0x20 == 0 {
                return Err("header block without the SPDY dictionary".into());
            }
            let id = u32::from_be_bytes([input[2], input[3], input[4], input[5]]);
            if id != adler32(DICT) {
                return Err(format!("unexpected dictionary id {id:#x}"));
            }
            input = &input[6..];
            self.started = true;
        }
        let start = self.pos;
        loop {
            if self.out.len() - self.pos < 16 * 1024 {
                let n = self.out.len() + 64 * 1024;
                self.out.resize(n, 0);
            }
            let (status, consumed, written) = decompress(
                &mut self.st,
                input,
                &mut self.out,
                self.pos,
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
                    | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
            );
            self.pos += written;
            input = &input[consumed..];
            match status {
                TINFLStatus::HasMoreOutput => continue,
                TINFLStatus::NeedsMoreInput | TINFLStatus::Done => break,
                other => return Err(format!("inflate: {other:?}")),
            }
        }
        Ok(self.out[start..self.pos].to_vec())
    }
}

/// Header blocks we send: a zlib stream (with the dictionary id) of stored blocks.
#[derive(Default)]
pub struct HeaderEncoder {
    started: bool,
}

impl HeaderEncoder {
    pub fn encode(&mut self, block: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(block.len() + 11);
        if !self.started {
            v.extend_from_slice(&[0x78, 0xBB]);
            v.extend_from_slice(&adler32(DICT).to_be_bytes());
            self.started = true;
        }
        let len = block.len() as u16;
        v.push(0x00);
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&(!len).to_le_bytes());
        v.extend_from_slice(block);
        // sync flush (an empty stored block), as Go's zlib writer ends every frame: Go's
        // inflater only hands out a block's bytes when the next block header is read
        v.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
        v
    }
}

pub fn parse_headers(block: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let rd = |b: &[u8], i: usize| -> Option<u32> {
        b.get(i..i + 4)
            .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    };
    let Some(n) = rd(block, 0) else { return out };
    let mut i = 4;
    for _ in 0..n {
        let Some(kl) = rd(block, i) else { break };
        i += 4;
        let Some(k) = block.get(i..i + kl as usize) else {
            break;
        };
        i += kl as usize;
        let Some(vl) = rd(block, i) else { break };
        i += 4;
        let Some(v) = block.get(i..i + vl as usize) else {
            break;
        };
        i += vl as usize;
        out.insert(
            String::from_utf8_lossy(k).to_lowercase(),
            String::from_utf8_lossy(v).into_owned(),
        );
    }
    out
}

fn control(typ: u16, flags: u8, payload: &[u8]) -> Bytes {
    let len = payload.len() as u32;
    let mut v = vec![
        0x80,
        0x03,
        (typ >> 8) as u8,
        typ as u8,
        flags,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
    ];
    v.extend_from_slice(payload);
    Bytes::from(v)
}

pub fn data_frame(sid: u32, fin: bool, data: &[u8]) -> Bytes {
    let len = data.len() as u32;
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&(sid & 0x7fff_ffff).to_be_bytes());
    v.push(if fin { 1 } else { 0 });
    v.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8]);
    v.extend_from_slice(data);
    Bytes::from(v)
}

struct Pair {
    port: u16,
    data: Option<u32>,
    error: Option<u32>,
    to_target: Option<mpsc::Sender<Option<Bytes>>>,
}

/// Run a port-forward SPDY session: bytes in from `inc`, frames out to `out`.
/// `target(port)` gives the local address for a pod port.
pub async fn portforward_session(
    mut inc: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<Bytes>,
    pod: String,
    target: impl Fn(u16) -> Option<String>,
    cut: Option<u64>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut dec = HeaderDecoder::new();
    let mut enc = HeaderEncoder::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut by_stream: HashMap<u32, String> = HashMap::new();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        // one whole frame
        while buf.len() < 8
            || buf.len()
                < 8 + (((buf[5] as usize) << 16) | ((buf[6] as usize) << 8) | buf[7] as usize)
        {
            match inc.recv().await {
                Some(b) => buf.extend_from_slice(&b),
                None => return,
            }
        }
        let len = ((buf[5] as usize) << 16) | ((buf[6] as usize) << 8) | buf[7] as usize;
        let frame: Vec<u8> = buf.drain(..8 + len).collect();
        let flags = frame[4];
        let payload = &frame[8..];
        if std::env::var_os("KUBE_SIM_DEBUG_SPDY").is_some() {
            eprintln!(
                "spdy frame: control={} type/sid={:?} flags={flags} len={len}",
                frame[0] & 0x80 != 0,
                &frame[..4]
            );
        }
        if frame[0] & 0x80 != 0 {
            let typ = u16::from_be_bytes([frame[2], frame[3]]);
            match typ {
                1 => {
                    // SYN_STREAM
                    if payload.len() < 10 {
                        return;
                    }
                    let sid = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                    let headers = match dec.decode(&payload[10..]) {
                        Ok(b) => parse_headers(&b),
                        Err(e) => {
                            if std::env::var_os("KUBE_SIM_DEBUG_SPDY").is_some() {
                                eprintln!("spdy header decode: {e}");
                            }
                            return;
                        }
                    };
                    if std::env::var_os("KUBE_SIM_DEBUG_SPDY").is_some() {
                        eprintln!("spdy SYN_STREAM {sid} {headers:?}");
                    }
                    let mut reply = sid.to_be_bytes().to_vec();
                    reply.extend_from_slice(&enc.encode(&[0, 0, 0, 0]));
                    if out.send(control(2, 0, &reply)).await.is_err() {
                        return;
                    }
                    let port: u16 = headers
                        .get("port")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    let rid = headers.get("requestid").cloned().unwrap_or_default();
                    let key = format!("{rid}/{port}");
                    let pair = pairs.entry(key.clone()).or_insert(Pair {
                        port,
                        data: None,
                        error: None,
                        to_target: None,
                    });
                    match headers.get("streamtype").map(|s| s.as_str()) {
                        Some("data") => pair.data = Some(sid),
                        Some("error") => pair.error = Some(sid),
                        _ => {}
                    }
                    by_stream.insert(sid, key.clone());
                    if let (Some(dsid), Some(esid)) = (pair.data, pair.error)
                        && pair.to_target.is_none()
                    {
                        let port = pair.port;
                        let addr = target(port);
                        let conn = match &addr {
                            Some(a) => tokio::net::TcpStream::connect(a).await.map_err(|e| format!("error forwarding port {port} to pod {pod}: failed to connect to {a}: {e}")),
                            None => Err(format!("error forwarding port {port} to pod {pod}: kube-sim has no `ports:` behaviour for pod {pod} port {port}")),
                        };
                        match conn {
                            Err(msg) => {
                                let _ = out.send(data_frame(esid, true, msg.as_bytes())).await;
                                let _ = out.send(data_frame(dsid, true, &[])).await;
                                pair.to_target = Some(mpsc::channel(1).0);
                            }
                            Ok(s) => {
                                let (mut r, mut w) = s.into_split();
                                let (ttx, mut trx) = mpsc::channel::<Option<Bytes>>(64);
                                pair.to_target = Some(ttx);
                                tokio::spawn(async move {
                                    while let Some(Some(b)) = trx.recv().await {
                                        if w.write_all(&b).await.is_err() {
                                            return;
                                        }
                                    }
                                    let _ = w.shutdown().await;
                                });
                                let out2 = out.clone();
                                let sent = sent.clone();
                                tokio::spawn(async move {
                                    let mut b = vec![0u8; 32 * 1024];
                                    loop {
                                        let n = match r.read(&mut b).await {
                                            Ok(0) | Err(_) => break,
                                            Ok(n) => n,
                                        };
                                        let before = sent.fetch_add(
                                            n as u64,
                                            std::sync::atomic::Ordering::SeqCst,
                                        );
                                        let n = match cut {
                                            Some(l) if before + n as u64 >= l => {
                                                let n2 = l.saturating_sub(before) as usize;
                                                let _ = out2
                                                    .send(data_frame(dsid, false, &b[..n2]))
                                                    .await;
                                                let _ = out2.send(Bytes::new()).await; // signal: cut
                                                return;
                                            }
                                            _ => n,
                                        };
                                        if out2
                                            .send(data_frame(dsid, false, &b[..n]))
                                            .await
                                            .is_err()
                                        {
                                            return;
                                        }
                                    }
                                    let _ = out2.send(data_frame(dsid, true, &[])).await;
                                    let _ = out2.send(data_frame(esid, true, &[])).await;
                                });
                            }
                        }
                    }
                }
                3 if payload.len() >= 4 => {
                    // RST_STREAM: drop the target side of that pair
                    let sid = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                    if let Some(k) = by_stream.get(&sid)
                        && let Some(p) = pairs.get_mut(k)
                    {
                        p.to_target = None;
                    }
                }
                // PING: echo
                6 if out.send(control(6, 0, payload)).await.is_err() => return,
                7 => return, // GOAWAY
                _ => {}      // SETTINGS, WINDOW_UPDATE, HEADERS
            }
        } else {
            let sid = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) & 0x7fff_ffff;
            let fin = flags & 1 != 0;
            if let Some(k) = by_stream.get(&sid)
                && let Some(p) = pairs.get_mut(k)
                && p.data == Some(sid)
            {
                if let Some(tx) = &p.to_target
                    && !payload.is_empty()
                    && tx
                        .send(Some(Bytes::copy_from_slice(payload)))
                        .await
                        .is_err()
                {
                    p.to_target = None;
                }
                if fin && let Some(tx) = p.to_target.take() {
                    let _ = tx.send(None).await;
                }
            }
        }
    }
}
