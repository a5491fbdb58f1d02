//! Just enough of Redis's protocol (RESP2) to ask a server over a stream
//! opened here (the TLS session to a managed Redis): `AUTH`, `PING`, `INFO`.
//! Commands go as arrays of bulk strings; the replies these commands give
//! are simple strings, errors, integers and bulk strings. Sizes are bounded
//! so that a wrong port cannot make us buffer without end.

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};

/// A bulk reply larger than this is refused (`INFO` is a few KiB).
const MAX_BULK: usize = 16 * 1024 * 1024;
/// A status line longer than this is refused.
const MAX_LINE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None`: the null bulk string.
    Bulk(Option<Vec<u8>>),
}

/// `args` as one RESP command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn line<S: AsyncBufRead + Unpin>(stream: &mut S) -> Result<String, String> {
    let mut buf = Vec::new();
    (&mut *stream)
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("reading the reply: {e}"))?;
    if buf.is_empty() {
        return Err("the server closed the connection".into());
    }
    if !buf.ends_with(b"\r\n") {
        return Err("a reply that is not RESP: is this a Redis port?".into());
    }
    buf.truncate(buf.len() - 2);
    String::from_utf8(buf).map_err(|_| "a reply that is not RESP: is this a Redis port?".into())
}

/// Reads one reply.
pub async fn read<S: AsyncBufRead + Unpin>(stream: &mut S) -> Result<Reply, String> {
    let head = line(stream).await?;
    let (kind, rest) = head.split_at(head.chars().next().map_or(0, char::len_utf8));
    match kind {
        "+" => Ok(Reply::Simple(rest.to_string())),
        "-" => Ok(Reply::Error(rest.to_string())),
        ":" => rest
            .parse()
            .map(Reply::Integer)
            .map_err(|_| format!("an integer reply `{rest}` that is not a number")),
        "$" => {
            let len: i64 = rest
                .parse()
                .map_err(|_| format!("a bulk reply of length `{rest}`"))?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            let len = len as usize;
            if len > MAX_BULK {
                return Err(format!(
                    "a bulk reply of {len} bytes: is this a Redis port?"
                ));
            }
            let mut data = vec![0u8; len + 2];
            stream
                .read_exact(&mut data)
                .await
                .map_err(|e| format!("reading the reply: {e}"))?;
            if !data.ends_with(b"\r\n") {
                return Err("a bulk reply without its CRLF".into());
            }
            data.truncate(len);
            Ok(Reply::Bulk(Some(data)))
        }
        _ => Err("a reply that is not RESP: is this a Redis port?".into()),
    }
}

/// Sends `args` and reads the reply.
pub async fn command<S>(stream: &mut S, args: &[&[u8]]) -> Result<Reply, String>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    stream
        .write_all(&encode(args))
        .await
        .map_err(|e| format!("sending the command: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("sending the command: {e}"))?;
    read(stream).await
}

/// What a Redis server said to `PING` and `INFO memory` / `INFO replication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// When PONG arrived.
    pub pong_at: std::time::Instant,
    pub memory: String,
    pub replication: String,
}

async fn info<S>(stream: &mut S, section: &str) -> Result<String, String>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    match command(stream, &[b"INFO", section.as_bytes()]).await? {
        Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Reply::Error(e) => Err(format!("INFO {section} refused: {e}")),
        other => Err(format!("INFO {section} answered {other:?}")),
    }
}

/// `AUTH password` (when given), `PING`, `INFO memory`, `INFO replication`.
/// A server's error is never echoed with the password in it.
pub async fn ask<S>(stream: S, password: Option<&str>) -> Result<Answers, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = tokio::io::BufReader::new(stream);
    let scrub = |text: String| match password {
        Some(p) if !p.is_empty() => text.replace(p, "[REDACTED]"),
        _ => text,
    };
    if let Some(p) = password {
        match command(&mut stream, &[b"AUTH", p.as_bytes()]).await? {
            Reply::Simple(_) => {}
            Reply::Error(e) => {
                return Err(scrub(format!("authentication refused: {e}")));
            }
            other => return Err(format!("AUTH answered {other:?}")),
        }
    }
    match command(&mut stream, &[b"PING"]).await? {
        Reply::Simple(s) if s == "PONG" => {}
        Reply::Error(e) if e.starts_with("NOAUTH") => {
            return Err(format!("the server wants a password and none is set ({e})"));
        }
        Reply::Error(e) => return Err(scrub(format!("PING refused: {e}"))),
        other => return Err(format!("PING answered {other:?}")),
    }
    let pong_at = std::time::Instant::now();
    let memory = info(&mut stream, "memory").await?;
    let replication = info(&mut stream, "replication").await?;
    Ok(Answers {
        pong_at,
        memory,
        replication,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&[b"INFO", b"memory"]),
            b"*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n"
        );
    }

    #[tokio::test]
    async fn replies_are_read() {
        let mut input: &[u8] = b"+PONG\r\n-ERR no\r\n:42\r\n$5\r\nab\r\nc\r\n$-1\r\n";
        assert_eq!(
            read(&mut input).await.unwrap(),
            Reply::Simple("PONG".into())
        );
        assert_eq!(
            read(&mut input).await.unwrap(),
            Reply::Error("ERR no".into())
        );
        assert_eq!(read(&mut input).await.unwrap(), Reply::Integer(42));
        assert_eq!(
            read(&mut input).await.unwrap(),
            Reply::Bulk(Some(b"ab\r\nc".to_vec()))
        );
        assert_eq!(read(&mut input).await.unwrap(), Reply::Bulk(None));
        assert!(read(&mut input).await.is_err(), "end of stream");
        let mut http: &[u8] = b"HTTP/1.1 400 Bad Request\r\n";
        assert!(read(&mut http).await.is_err());
    }

    #[tokio::test]
    async fn a_wrong_password_is_not_echoed() {
        let (client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = server.read(&mut buf).await.unwrap();
            server
                .write_all(b"-WRONGPASS invalid password test-only-secret\r\n")
                .await
                .unwrap();
        });
        let err = ask(client, Some("test-only-secret")).await.unwrap_err();
        serve.await.unwrap();
        assert!(
            err.starts_with("authentication refused: WRONGPASS"),
            "{err}"
        );
        assert!(!err.contains("test-only-secret"), "{err}");
    }
}
