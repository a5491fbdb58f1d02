//! Reading Kubernetes events: how often one happened, when it was last seen,
//! and the warnings an object collected, as one line each.

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};

/// How many times the event happened (the API server aggregates repeats in
/// `count`, or `series.count` for events.k8s.io-style events).
pub fn occurrences(event: &Event) -> i32 {
    event
        .series
        .as_ref()
        .and_then(|s| s.count)
        .or(event.count)
        .unwrap_or(1)
        .max(1)
}

/// When the event was last seen, from whichever field the reporter filled.
pub fn last_seen(event: &Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0)
        .or_else(|| event.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// `Failed: Back-off pulling image "x" (x4)`: reason, message, repeat count.
pub fn describe(event: &Event) -> String {
    let mut line = format!(
        "{}: {}",
        event.reason.as_deref().unwrap_or("Unknown"),
        event.message.as_deref().unwrap_or("").trim_end()
    );
    let count = occurrences(event);
    if count > 1 {
        line.push_str(&format!(" (x{count})"));
    }
    line
}

/// Whether the event is a warning about `kind`/`name`.
pub fn is_warning_about(event: &Event, kind: &str, name: &str) -> bool {
    event.type_.as_deref() == Some("Warning")
        && event.involved_object.name.as_deref() == Some(name)
        && (kind.is_empty() || event.involved_object.kind.as_deref() == Some(kind))
}

/// The most recent `limit` warning events about `kind`/`name`, oldest first,
/// described by [`describe`].
pub async fn warnings_for(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
    limit: usize,
) -> Result<Vec<String>, kube::Error> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    // Only the name goes to the server: every API server supports that field
    // selector; kind and type are filtered here.
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let events = api.list(&params).await?.items;
    Ok(recent_warnings(events, kind, name, limit))
}

/// The pure part of [`warnings_for`].
pub fn recent_warnings(
    mut events: Vec<Event>,
    kind: &str,
    name: &str,
    limit: usize,
) -> Vec<String> {
    events.retain(|e| is_warning_about(e, kind, name));
    events.sort_by_key(last_seen);
    let skip = events.len().saturating_sub(limit);
    events.iter().skip(skip).map(describe).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, kind: &str, type_: &str, reason: &str, last: &str, count: i32) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.{reason}")},
            "involvedObject": {"kind": kind, "name": name},
            "type": type_, "reason": reason, "message": format!("{reason} happened"),
            "lastTimestamp": last, "count": count,
        }))
        .unwrap()
    }

    #[test]
    fn recent_warnings_keeps_the_latest_warnings_of_the_object_in_order() {
        let events = vec![
            event("p", "Pod", "Warning", "BackOff", "2026-01-01T12:00:30Z", 4),
            event("p", "Pod", "Normal", "Pulled", "2026-01-01T12:00:05Z", 1),
            event("p", "Pod", "Warning", "Failed", "2026-01-01T12:00:10Z", 1),
            event(
                "other",
                "Pod",
                "Warning",
                "Failed",
                "2026-01-01T12:00:20Z",
                1,
            ),
            event(
                "p",
                "ReplicaSet",
                "Warning",
                "FailedCreate",
                "2026-01-01T12:00:20Z",
                1,
            ),
            event(
                "p",
                "Pod",
                "Warning",
                "Unhealthy",
                "2026-01-01T12:00:00Z",
                1,
            ),
        ];
        assert_eq!(
            recent_warnings(events.clone(), "Pod", "p", 2),
            vec!["Failed: Failed happened", "BackOff: BackOff happened (x4)"]
        );
        assert_eq!(recent_warnings(events, "", "p", 10).len(), 4);
    }

    #[test]
    fn occurrences_prefers_the_series_count() {
        let mut e = event("p", "Pod", "Warning", "BackOff", "2026-01-01T12:00:30Z", 3);
        assert_eq!(occurrences(&e), 3);
        e.series = Some(k8s_openapi::api::core::v1::EventSeries {
            count: Some(7),
            last_observed_time: None,
        });
        assert_eq!(occurrences(&e), 7);
        e.series = None;
        e.count = None;
        assert_eq!(occurrences(&e), 1);
    }
}
