//! A stand-in Kafka broker for the health tests: it decodes each request
//! with the kafka-protocol crate (so what fintechctl sends must be valid
//! Kafka wire format) and answers SaslHandshake, SaslAuthenticate and
//! Metadata as a one-broker KRaft cluster with two topics would. With
//! [`Broker::start_tls`] it is a SASL_SSL listener (as Event Hubs' Kafka
//! endpoint on 9093): tokio-rustls in front of the same exchange.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, BrokerId, MetadataRequest, MetadataResponse, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, TopicName,
    metadata_response::{MetadataResponseBroker, MetadataResponseTopic},
};
use kafka_protocol::protocol::{
    Decodable, Encodable, HeaderVersion, StrBytes, decode_request_header_from_buffer,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the broker saw: `Metadata v4`, `SaslAuthenticate v0 user=…`.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<String>>>);

pub struct Broker {
    pub addr: SocketAddr,
    pub seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Broker {
    /// `password`: the SASL PLAIN password it accepts (any user).
    pub async fn start(password: &str) -> Broker {
        Self::start_with(password, None).await
    }

    /// A SASL_SSL listener presenting `leaf` (DER certificate and PKCS#8 key).
    pub async fn start_tls(password: &str, leaf: &super::stores::Leaf) -> Broker {
        Self::start_with(password, Some(acceptor(leaf))).await
    }

    async fn start_with(password: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Broker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Seen::default();
        let log = seen.clone();
        let password = password.to_string();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let log = log.clone();
                let password = password.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve(socket, log, password).await,
                        Some(acceptor) => {
                            // A failed handshake (an untrusted certificate
                            // on the client's side) ends the connection.
                            if let Ok(stream) = acceptor.accept(socket).await {
                                serve(stream, log, password).await;
                            }
                        }
                    }
                });
            }
        });
        Broker { addr, seen, task }
    }

    pub fn stop(&self) {
        self.task.abort();
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().clone()
    }
}

/// A TLS acceptor presenting `leaf` (DER certificate and PKCS#8 key); the
/// stand-in's SASL_SSL listener and the TLS front of tansu use it.
pub fn acceptor(leaf: &super::stores::Leaf) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(
                leaf.cert_der.clone(),
            )],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.clone().into()),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Answers one connection's requests until it closes.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut socket: S, log: Seen, password: String) {
    loop {
        let mut size = [0u8; 4];
        if socket.read_exact(&mut size).await.is_err() {
            return;
        }
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        if socket.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut buf = Bytes::from(body);
        let header = decode_request_header_from_buffer(&mut buf).expect("a valid request header");
        let version = header.request_api_version;
        let key = ApiKey::try_from(header.request_api_key).unwrap();
        let mut out = BytesMut::new();
        let answer = |out: &mut BytesMut, header_version: i16| {
            ResponseHeader::default()
                .with_correlation_id(header.correlation_id)
                .encode(out, header_version)
                .unwrap();
        };
        match key {
            ApiKey::SaslHandshake => {
                let r = SaslHandshakeRequest::decode(&mut buf, version).unwrap();
                log.0
                    .lock()
                    .unwrap()
                    .push(format!("SaslHandshake v{version} {}", r.mechanism));
                answer(&mut out, SaslHandshakeResponse::header_version(version));
                SaslHandshakeResponse::default()
                    .with_mechanisms(vec![StrBytes::from_static_str("PLAIN")])
                    .encode(&mut out, version)
                    .unwrap();
            }
            ApiKey::SaslAuthenticate => {
                let r = SaslAuthenticateRequest::decode(&mut buf, version).unwrap();
                let token = String::from_utf8_lossy(&r.auth_bytes).to_string();
                let mut parts = token.split('\0').skip(1);
                let user = parts.next().unwrap_or("").to_string();
                let ok = parts.next() == Some(password.as_str());
                log.0
                    .lock()
                    .unwrap()
                    .push(format!("SaslAuthenticate v{version} user={user} ok={ok}"));
                answer(&mut out, SaslAuthenticateResponse::header_version(version));
                let mut resp = SaslAuthenticateResponse::default();
                if !ok {
                    resp = resp.with_error_code(58).with_error_message(Some(
                        StrBytes::from_static_str(
                            "Authentication failed: Invalid username or password",
                        ),
                    ));
                }
                resp.encode(&mut out, version).unwrap();
            }
            ApiKey::Metadata => {
                let r = MetadataRequest::decode(&mut buf, version).unwrap();
                log.0.lock().unwrap().push(format!(
                    "Metadata v{version} all topics={}",
                    r.topics.is_none()
                ));
                answer(&mut out, MetadataResponse::header_version(version));
                let topic = |name: &'static str| {
                    MetadataResponseTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_static_str(name))))
                };
                MetadataResponse::default()
                    .with_brokers(vec![
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_static_str("kafka"))
                            .with_port(9092),
                    ])
                    .with_controller_id(BrokerId(1))
                    .with_topics(vec![topic("documents"), topic("predictions")])
                    .encode(&mut out, version)
                    .unwrap();
            }
            other => panic!("unexpected request {other:?}"),
        }
        let mut frame = (out.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&out);
        if socket.write_all(&frame).await.is_err() || socket.flush().await.is_err() {
            return;
        }
    }
}
