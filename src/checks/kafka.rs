//! Kafka: a Metadata request (brokers, topics) with the kafka-protocol
//! crate's encoders and decoders over a plain TCP stream, or over a
//! verified TLS session for SASL_SSL listeners (Event Hubs, see
//! `stores::kafka`) — SASL PLAIN first
//! when the environment sets `saslMechanism` (Event Hubs' `$ConnectionString`
//! user). Versions: Metadata v4, SaslHandshake v1, SaslAuthenticate v0,
//! every one that Kafka 4.0 still serves.

use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The Metadata request version sent.
pub const METADATA_VERSION: i16 = 4;
/// A response larger than this is refused (a wrong port answering).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// What the broker said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// `node_id host:port`.
    pub brokers: Vec<String>,
    pub topics: usize,
    pub controller: i32,
}

/// SASL PLAIN credentials.
#[derive(Debug, Clone)]
pub struct Plain {
    pub username: String,
    pub password: String,
}

async fn exchange<S, Req, Resp>(
    stream: &mut S,
    key: ApiKey,
    version: i16,
    correlation: i32,
    request: &Req,
) -> Result<Resp, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Req: Encodable + HeaderVersion,
    Resp: Decodable + HeaderVersion,
{
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("fintechctl")));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, Req::header_version(version))
        .map_err(|e| format!("encoding the {key:?} header: {e}"))?;
    request
        .encode(&mut body, version)
        .map_err(|e| format!("encoding the {key:?} request: {e}"))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
    frame.extend_from_slice(&body);
    stream
        .write_all(&frame)
        .await
        .map_err(|e| format!("sending {key:?}: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("sending {key:?}: {e}"))?;
    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .await
        .map_err(|e| format!("reading the {key:?} response: {e}"))?;
    let size = i32::from_be_bytes(size);
    if size < 4 || size as usize > MAX_RESPONSE {
        return Err(format!(
            "{key:?} response of {size} bytes: not a Kafka broker?"
        ));
    }
    let mut response = vec![0u8; size as usize];
    stream
        .read_exact(&mut response)
        .await
        .map_err(|e| format!("reading the {key:?} response: {e}"))?;
    let mut buf = bytes::Bytes::from(response);
    let header = ResponseHeader::decode(&mut buf, Resp::header_version(version))
        .map_err(|e| format!("decoding the {key:?} response header: {e}"))?;
    if header.correlation_id != correlation {
        return Err(format!(
            "{key:?} response for request {} (sent {correlation})",
            header.correlation_id
        ));
    }
    let decoded = Resp::decode(&mut buf, version)
        .map_err(|e| format!("decoding the {key:?} response: {e}"))?;
    if buf.has_remaining() {
        return Err(format!(
            "{key:?} response: {} bytes left over",
            buf.remaining()
        ));
    }
    Ok(decoded)
}

/// Authenticates with SASL PLAIN, then asks for the cluster's metadata.
pub async fn metadata<S>(stream: &mut S, plain: Option<&Plain>) -> Result<ClusterMetadata, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut correlation = 0;
    if let Some(plain) = plain {
        correlation += 1;
        let handshake: SaslHandshakeResponse = exchange(
            stream,
            ApiKey::SaslHandshake,
            1,
            correlation,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await?;
        if handshake.error_code != 0 {
            return Err(format!(
                "SASL PLAIN refused (error {}); the broker offers {}",
                handshake.error_code,
                handshake
                    .mechanisms
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        correlation += 1;
        let token = format!("\0{}\0{}", plain.username, plain.password);
        let auth: SaslAuthenticateResponse = exchange(
            stream,
            ApiKey::SaslAuthenticate,
            0,
            correlation,
            &SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::from(token)),
        )
        .await?;
        if auth.error_code != 0 {
            return Err(format!(
                "SASL authentication failed (error {}): {}",
                auth.error_code,
                auth.error_message
                    .map(|m| m.to_string())
                    .unwrap_or_default()
            ));
        }
    }
    correlation += 1;
    let response: MetadataResponse = exchange(
        stream,
        ApiKey::Metadata,
        METADATA_VERSION,
        correlation,
        &MetadataRequest::default().with_topics(None),
    )
    .await?;
    Ok(ClusterMetadata {
        brokers: response
            .brokers
            .iter()
            .map(|b| format!("{} {}:{}", b.node_id.0, b.host, b.port))
            .collect(),
        topics: response.topics.len(),
        controller: response.controller_id.0,
    })
}

/// Connects to `host:port` and asks, all within `deadline`.
pub async fn ask(
    host: &str,
    port: u16,
    plain: Option<&Plain>,
    deadline: Duration,
) -> Result<(ClusterMetadata, Duration), String> {
    let started = Instant::now();
    let run = async {
        let mut stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ => e.to_string(),
            })?;
        metadata(&mut stream, plain).await
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(Ok(m)) => Ok((m, started.elapsed())),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!(
            "no answer within {}",
            crate::human::duration(deadline)
        )),
    }
}
