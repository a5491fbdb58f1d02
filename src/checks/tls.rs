//! `tls`: the ingress certificate as a client would judge it, parsed with
//! x509-parser: present, covering the ingress host, signed by the issuer
//! the Secret carries, and not expiring within [`EXPIRY_WARNING_DAYS`].

use k8s_openapi::jiff::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::{CheckId, CheckResult, Findings};

/// A certificate expiring within this many days warns.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// Whether the DNS name `pattern` (possibly `*.example.com`) covers `host`:
/// a wildcard stands for exactly one leftmost label (RFC 6125).
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => pattern == host,
    }
}

fn date(unix: i64) -> String {
    Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| unix.to_string())
}

fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The certificates of a PEM bundle; the reason when one does not parse.
fn parse_all(pems: &[Pem]) -> Result<Vec<X509Certificate<'_>>, String> {
    pems.iter()
        .enumerate()
        .map(|(i, pem)| {
            pem.parse_x509()
                .map_err(|e| format!("certificate {} of the bundle does not parse: {e}", i + 1))
        })
        .collect()
}

fn read_pems(text: &[u8]) -> Result<Vec<Pem>, String> {
    let pems: Vec<Pem> = Pem::iter_from_buffer(text)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    let pems: Vec<Pem> = pems
        .into_iter()
        .filter(|p| p.label == "CERTIFICATE")
        .collect();
    if pems.is_empty() {
        return Err("no `-----BEGIN CERTIFICATE-----` block".to_string());
    }
    Ok(pems)
}

/// The `tls` check of the Secret `secret_name` (`None`: it does not exist)
/// whose `tls.crt` (and optional `ca.crt`) are given, for `host`, at `now`.
pub fn check(
    secret_name: &str,
    host: &str,
    tls_crt: Option<&[u8]>,
    ca_crt: Option<&[u8]>,
    now: Timestamp,
) -> CheckResult {
    let mut f = Findings::default();
    let Some(tls_crt) = tls_crt else {
        f.fail(format!(
            "Secret/{secret_name} does not exist or has no tls.crt"
        ));
        f.hint("the ingress serves the controller's default certificate: create the Secret (`fintechctl deploy` with --tls-cert/--tls-key, or cert-manager)");
        return f.finish(CheckId::Tls, format!("no certificate for {host}"));
    };
    let pems = match read_pems(tls_crt) {
        Ok(p) => p,
        Err(why) => {
            f.fail(format!("Secret/{secret_name} tls.crt: {why}"));
            return f.finish(CheckId::Tls, "tls.crt is not a certificate");
        }
    };
    let certs = match parse_all(&pems) {
        Ok(c) => c,
        Err(why) => {
            f.fail(format!("Secret/{secret_name} tls.crt: {why}"));
            return f.finish(CheckId::Tls, "tls.crt does not parse");
        }
    };
    let leaf = &certs[0];
    let names = dns_names(leaf);
    let subject = leaf.subject().to_string();
    let issuer = leaf.issuer().to_string();
    let not_after = leaf.validity().not_after.timestamp();
    let not_before = leaf.validity().not_before.timestamp();
    let days_left = (not_after - now.as_second()).div_euclid(86_400);
    f.pass(format!(
        "Secret/{secret_name}: subject `{subject}`, issuer `{issuer}`, names {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ));

    // The host.
    if names.iter().any(|n| name_matches(n, host)) {
        f.pass(format!("covers {host}"));
    } else {
        f.fail(format!(
            "does not cover {host} (subject alternative names: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
        f.hint(format!(
            "clients refuse a certificate without {host} in its subject alternative names: issue one for the ingress host"
        ));
    }

    // Validity.
    if now.as_second() < not_before {
        f.fail(format!("not valid before {}", date(not_before)));
        f.hint("the certificate is not valid yet: check its notBefore and the clocks");
    } else if now.as_second() >= not_after {
        f.fail(format!(
            "expired on {} ({} days ago)",
            date(not_after),
            -days_left
        ));
        f.hint("renew the certificate now: every client refuses it");
    } else if days_left < EXPIRY_WARNING_DAYS {
        f.warn(format!(
            "expires on {} (in {days_left} days)",
            date(not_after)
        ));
        f.hint(format!(
            "renew within {days_left} days (cert-manager renews 30 days ahead; a manual certificate needs a calendar entry)"
        ));
    } else {
        f.pass(format!(
            "valid until {} ({days_left} days)",
            date(not_after)
        ));
    }

    // The chain: each certificate signed by the next, the last by the CA
    // the Secret carries (ca.crt) or by itself.
    for pair in certs.windows(2) {
        let (child, parent) = (&pair[0], &pair[1]);
        match child.verify_signature(Some(parent.public_key())) {
            Ok(()) => f.pass(format!(
                "`{}` is signed by `{}`",
                child.subject(),
                parent.subject()
            )),
            Err(e) => {
                f.fail(format!(
                    "`{}` is not signed by the next certificate in tls.crt, `{}` ({e})",
                    child.subject(),
                    parent.subject()
                ));
                f.hint("tls.crt must hold the leaf first, then each issuer in order");
            }
        }
    }
    let last = &certs[certs.len() - 1];
    let ca_pems = ca_crt.map(read_pems).transpose();
    let ca_pems = match ca_pems {
        Ok(p) => p.unwrap_or_default(),
        Err(why) => {
            f.warn(format!("Secret/{secret_name} ca.crt: {why}"));
            Vec::new()
        }
    };
    let cas = parse_all(&ca_pems).unwrap_or_default();
    let self_signed = last.subject() == last.issuer();
    if let Some(ca) = cas.iter().find(|ca| ca.subject() == last.issuer()) {
        match last.verify_signature(Some(ca.public_key())) {
            Ok(()) => f.pass(format!("chains to `{}` (ca.crt)", ca.subject())),
            Err(e) => {
                f.fail(format!(
                    "`{}` names `{}` as issuer but ca.crt's certificate did not sign it ({e})",
                    last.subject(),
                    ca.subject()
                ));
                f.hint("tls.crt and ca.crt do not belong together: install the issuer's certificate that signed this one");
            }
        }
    } else if self_signed {
        match last.verify_signature(None) {
            Ok(()) if certs.len() == 1 => {
                f.warn(format!(
                    "self-signed (`{}`): clients do not trust it",
                    last.subject()
                ));
                f.hint("a self-signed certificate is for tests: issue one from a CA clients trust");
            }
            Ok(()) => f.pass(format!("chains to the root `{}`", last.subject())),
            Err(e) => {
                f.fail(format!(
                    "`{}` claims to be self-signed but its signature does not verify ({e})",
                    last.subject()
                ));
            }
        }
    } else {
        // A public CA's intermediate may be left for clients to have, but
        // most do not: warn so the bundle gets it.
        f.warn(format!(
            "the issuer `{}` of `{}` is not in the Secret: clients that lack it fail the handshake",
            last.issuer(),
            last.subject()
        ));
        f.hint("put the intermediate certificate(s) after the leaf in tls.crt");
    }

    let summary = match f.status() {
        super::Status::Pass => format!("certificate for {host} valid for {days_left} days"),
        s => f
            .lines(s)
            .first()
            .map(|l| l.to_string())
            .unwrap_or_default(),
    };
    f.finish(CheckId::Tls, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("app.example.com", "APP.example.com"));
        assert!(name_matches("*.example.com", "app.example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("other.example.com", "app.example.com"));
    }
}
