//! TLS to the managed data stores (Azure Cache for Redis on 6380, the
//! Event Hubs Kafka endpoint on 9093): tokio-rustls on the ring provider,
//! the certificate checked by rustls-platform-verifier against this
//! machine's trusted roots and for the host the environment file names
//! (sent as SNI too; an IP address is checked against the certificate's IP
//! names and sends no SNI, as TLS requires).
//!
//! On Linux the platform verifier reads the roots with rustls-native-certs,
//! which takes them from `SSL_CERT_FILE` / `SSL_CERT_DIR` *instead of* the
//! system store when either is set: the way to trust a private CA (and how
//! the tests trust theirs).

use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

/// A client configuration that verifies the server's certificate against
/// the platform's roots.
pub fn verified_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("{ROOTS}: {e}"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A verified TLS session over `stream` with `host`, and a line saying what
/// was verified (`TLS 1.3, certificate verified for host`).
pub async fn connect<S>(stream: S, host: &str) -> Result<(TlsStream<S>, String), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = verified_config()?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("`{host}` is not a host name a certificate can be checked for"))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| describe(&e, host))?;
    let version = match tls.get_ref().1.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_string(),
    };
    Ok((tls, format!("{version}, certificate verified for {host}")))
}

/// [`connect`] by `until` (`budget` is the whole check's timeout, for the
/// message): a server that accepts the connection but never answers the
/// handshake (a plain port, often) is said to be one.
pub async fn connect_by<S>(
    stream: S,
    host: &str,
    until: tokio::time::Instant,
    budget: std::time::Duration,
) -> Result<(TlsStream<S>, String), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout_at(until, connect(stream, host))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no TLS handshake from {host} within {}: is this port the store's TLS port?",
                crate::human::duration(budget)
            ))
        })
}

/// Whether `why` (from [`connect`]) is about the server's certificate.
pub fn is_certificate_problem(why: &str) -> bool {
    why.starts_with("certificate ") || why.starts_with(ROOTS)
}

const ROOTS: &str = "loading this machine's trusted certificate roots";

/// A failed handshake in plain words.
pub fn describe(e: &io::Error, host: &str) -> String {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return describe_rustls(tls, host);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => format!(
            "the TLS handshake with {host} was cut off ({e}): is this port the store's TLS port?"
        ),
        _ => format!("TLS handshake with {host}: {e}"),
    }
}

/// webpki's `DnsName("a.example")` / `IpAddress(10.0.0.1)` as `a.example` /
/// `10.0.0.1`.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

fn describe_rustls(e: &rustls::Error, host: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::NotValidForName => {
                format!("certificate does not cover host {host}")
            }
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "certificate does not cover host {host} (it is for {})",
                if presented.is_empty() {
                    "no host name".to_string()
                } else {
                    presented
                        .iter()
                        .map(|n| plain_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::UnknownIssuer => format!(
                "certificate for {host} is not trusted: its issuer is not among this machine's trusted roots"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("certificate for {host} is not trusted: it has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("certificate for {host} is not trusted: it is not valid yet")
            }
            CertificateError::Revoked => {
                format!("certificate for {host} is not trusted: it is revoked")
            }
            other => format!("certificate for {host} is not trusted: {other}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("{host} ended the TLS handshake (alert {alert:?})")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("{host} does not answer with TLS ({e}): is this port the store's TLS port?")
        }
        other => format!("TLS with {host}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_read_plainly() {
        let wrong = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("redis.example.net").unwrap(),
                presented: vec!["DnsName(\"other.example.net\")".into()],
            }),
        );
        let text = describe(&wrong, "redis.example.net");
        assert_eq!(
            text,
            "certificate does not cover host redis.example.net (it is for other.example.net)"
        );
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert!(is_certificate_problem(&text));
        let unknown = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            describe(&unknown, "h"),
            "certificate for h is not trusted: its issuer is not among this machine's trusted roots"
        );
        let cut = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        assert!(!is_certificate_problem(&describe(&cut, "h")));
    }
}
