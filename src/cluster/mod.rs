//! Everything that talks to a Kubernetes API server: apply, rollout watching
//! and diagnosis. Every function takes a `kube::Client`, so tests point it at
//! kube-sim.

pub mod apply;
pub mod bundle;
pub mod connect;
pub mod diagnosis;
pub mod digest_key;
pub mod events;
pub mod exec;
pub mod kinds;
pub mod liveness;
pub mod lock;
pub mod logs;
pub mod metrics;
pub mod migration;
pub mod prerequisites;
pub mod prune;
pub mod records;
pub mod rollout;
pub mod target;
pub mod triage;
pub mod wait;

/// A client error as a person reads it: for an API error, the server's
/// message with its code and reason, not the Rust debug dump of the Status.
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(", {}", status.reason)
            };
            format!("{} ({}{reason})", status.message, status.code)
        }
        other => connect::describe_error(other),
    }
}

/// Whether the API server answered with this HTTP status.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// Reads a duration written by [`serialize_secs`] (seconds, fractional).
pub fn deserialize_secs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::time::Duration, D::Error> {
    let secs: f64 = serde::Deserialize::deserialize(d)?;
    Ok(std::time::Duration::from_secs_f64(secs.max(0.0)))
}

/// Serializes a duration as seconds with one decimal, as every report shows it.
pub fn serialize_secs<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}
