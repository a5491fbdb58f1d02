//! The diff engine behind `fintechctl diff` and the deploy plan: one object's
//! live state against what a deploy would make of it (the server-side
//! dry-run result), as a unified diff of YAML.
//!
//! Both sides are [`normalize`]d first, so that only what a deploy changes
//! shows up: fields the API server manages (status, managedFields,
//! resourceVersion, timestamps, ...) are dropped, keys are put in one stable
//! order (the live object and the dry-run result list them in different
//! orders), and Secret values are replaced by a keyed digest of their
//! content ([`crate::redact`]) — an unchanged secret shows no diff, a
//! changed one shows a changed digest, and the value itself never reaches
//! the output.

use serde_json::Value;
use similar::TextDiff;

use crate::redact::{DigestKey, SecretMask, mask_secret};

/// Metadata fields the API server sets or changes on its own.
const SERVER_MANAGED_METADATA: [&str; 8] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations written by other tools or controllers, not by a deploy.
const SERVER_MANAGED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

/// Top-level keys shown first, in kubectl's order; every other key, at every
/// level, is sorted.
const LEADING_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// `object` without what the API server manages, with its keys in a stable
/// order and, for a v1 Secret, every `data` / `stringData` value replaced by
/// `<redacted hmac:…>`: the keyed digest of the *decoded* value for `data`,
/// so a value compares equal whether it was sent as `data` or `stringData`.
pub fn normalize(object: &Value, key: &DigestKey) -> Value {
    let mut object = object.clone();
    mask_secret(&mut object, SecretMask::Digest(key));
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_MANAGED_METADATA {
            meta.remove(field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            for annotation in SERVER_MANAGED_ANNOTATIONS {
                annotations.remove(annotation);
            }
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    ordered(object, true)
}

/// `value` with object keys in a stable order: at the top level
/// [`LEADING_KEYS`] first, everywhere else (and after those) sorted.
fn ordered(value: Value, top_level: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| {
                let rank = |key: &str| {
                    if top_level {
                        LEADING_KEYS
                            .iter()
                            .position(|k| *k == key)
                            .unwrap_or(LEADING_KEYS.len())
                    } else {
                        0
                    }
                };
                rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
            });
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, ordered(v, false)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| ordered(v, false)).collect()),
        other => other,
    }
}

/// The unified diff (3 lines of context) between the normalized `live` and
/// `desired` objects as YAML, with the headers `--- live/<display>` and
/// `+++ desired/<display>` (`display` is `Kind/name`). A missing side (an
/// object to create, or one to delete) diffs against nothing. `None` when
/// there is no difference.
pub fn object_diff(
    display: &str,
    live: Option<&Value>,
    desired: Option<&Value>,
    key: &DigestKey,
) -> Option<String> {
    let live = live.map(|v| normalize(v, key));
    let desired = desired.map(|v| normalize(v, key));
    if live == desired {
        return None;
    }
    let live_text = live.as_ref().map(to_yaml).unwrap_or_default();
    let desired_text = desired.as_ref().map(to_yaml).unwrap_or_default();
    if live_text == desired_text {
        return None;
    }
    let diff = TextDiff::from_lines(&live_text, &desired_text);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{display}"), &format!("desired/{display}"))
        .to_string();
    Some(text)
}

/// What a deploy would do to one object, as the `diff` command and the plan
/// show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Not live yet.
    Create,
    /// Live and different.
    Update,
    /// Live and no longer rendered (what prune removes).
    Delete,
    Unchanged,
}

/// One object's change and its diff (`None` when unchanged).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectDiff {
    /// `Kind/name`.
    pub display: String,
    pub change: Change,
    pub diff: Option<String>,
}

impl ObjectDiff {
    /// Compare `live` with `desired` (see [`object_diff`]).
    pub fn of(
        display: &str,
        live: Option<&Value>,
        desired: Option<&Value>,
        key: &DigestKey,
    ) -> Self {
        let diff = object_diff(display, live, desired, key);
        let change = match (live, desired, &diff) {
            (_, _, None) => Change::Unchanged,
            (None, _, Some(_)) => Change::Create,
            (Some(_), None, Some(_)) => Change::Delete,
            (Some(_), Some(_), Some(_)) => Change::Update,
        };
        Self {
            display: display.to_string(),
            change,
            diff,
        }
    }
}

/// YAML for a normalized object. Serializing a `serde_json::Value` cannot
/// fail; should it anyway, pretty JSON (also valid YAML) is shown instead.
fn to_yaml(value: &Value) -> String {
    let mut text = serde_saphyr::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default());
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    fn key() -> DigestKey {
        DigestKey::from_bytes([9; 32])
    }

    fn object_diff(display: &str, live: Option<&Value>, desired: Option<&Value>) -> Option<String> {
        super::object_diff(display, live, desired, &key())
    }

    fn normalize(object: &Value) -> Value {
        super::normalize(object, &key())
    }

    fn masked(value: &[u8]) -> String {
        format!("<redacted {}>", key().digest(value))
    }

    fn deployment(image: &str, replicas: u32) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api-gateway", "namespace": "fintech-ai-staging",
                         "labels": {"app.kubernetes.io/name": "api-gateway"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api-gateway"}},
                     "template": {"metadata": {"labels": {"app": "api-gateway"}},
                                  "spec": {"containers": [{"name": "api", "image": image,
                                                           "ports": [{"containerPort": 8000}]}]}}},
        })
    }

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "fintech-ai-secrets", "namespace": "fintech-ai-staging"},
               "data": data})
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn identical_objects_have_no_diff() {
        let d = deployment("registry.example/api:1.0.0", 2);
        assert_eq!(
            object_diff("Deployment/api-gateway", Some(&d), Some(&d)),
            None
        );
    }

    #[test]
    fn key_order_does_not_make_a_diff() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"a": "1", "b": "2"}});
        let b = json!({"data": {"b": "2", "a": "1"}, "metadata": {"name": "c"},
                       "kind": "ConfigMap", "apiVersion": "v1"});
        assert_eq!(object_diff("ConfigMap/c", Some(&a), Some(&b)), None);
        let yaml = to_yaml(&normalize(&b));
        assert!(
            yaml.starts_with("apiVersion: v1\nkind: ConfigMap\nmetadata:"),
            "{yaml}"
        );
    }

    #[test]
    fn changed_image_and_replicas_show_up_with_headers() {
        let live = deployment("registry.example/api:1.0.0", 2);
        let desired = deployment("registry.example/api:1.1.0", 3);
        let diff = object_diff("Deployment/api-gateway", Some(&live), Some(&desired)).unwrap();
        assert!(
            diff.starts_with(
                "--- live/Deployment/api-gateway\n+++ desired/Deployment/api-gateway\n"
            ),
            "{diff}"
        );
        assert!(diff.contains("-  replicas: 2\n"), "{diff}");
        assert!(diff.contains("+  replicas: 3\n"), "{diff}");
        let removed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect();
        let added: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .collect();
        assert!(removed.iter().any(|l| l.contains("api:1.0.0")), "{diff}");
        assert!(added.iter().any(|l| l.contains("api:1.1.0")), "{diff}");
        // Unchanged lines far from a change are not shown (3 lines of context).
        assert!(diff.contains("@@"), "{diff}");
    }

    #[test]
    fn managed_fields_and_status_are_ignored() {
        let desired = deployment("registry.example/api:1.0.0", 2);
        let mut live = desired.clone();
        live["metadata"]["managedFields"] =
            json!([{"manager": "fintechctl", "operation": "Apply"}]);
        live["metadata"]["resourceVersion"] = json!("4711");
        live["metadata"]["uid"] = json!("0b5c2a7e-0000-4000-8000-000000000000");
        live["metadata"]["generation"] = json!(7);
        live["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        live["metadata"]["selfLink"] = json!("/apis/apps/v1/x");
        live["metadata"]["annotations"] = json!({
            "deployment.kubernetes.io/revision": "7",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        });
        live["status"] = json!({"replicas": 2, "readyReplicas": 2, "observedGeneration": 7});
        assert_eq!(
            object_diff("Deployment/api-gateway", Some(&live), Some(&desired)),
            None
        );

        // Annotations of our own survive normalization.
        live["metadata"]["annotations"]["fintechctl.io/note"] = json!("kept");
        let normalized = normalize(&live);
        assert_eq!(
            normalized["metadata"]["annotations"],
            json!({"fintechctl.io/note": "kept"})
        );
    }

    #[test]
    fn secret_values_are_digests_never_values() {
        let old_value = "not-a-real-password-1";
        let new_value = "not-a-real-password-2";
        let live = secret(
            json!({"postgres-password": b64(old_value), "api-key": b64("unchanged-fixture")}),
        );
        let desired = secret(
            json!({"postgres-password": b64(new_value), "api-key": b64("unchanged-fixture")}),
        );
        let diff = object_diff("Secret/fintech-ai-secrets", Some(&live), Some(&desired)).unwrap();
        for leaked in [
            old_value,
            new_value,
            &b64(old_value),
            &b64(new_value),
            "unchanged-fixture",
            &b64("unchanged-fixture"),
        ] {
            assert!(!diff.contains(leaked), "{leaked} leaked: {diff}");
        }
        let old_digest = masked(old_value.as_bytes());
        let new_digest = masked(new_value.as_bytes());
        assert_ne!(old_digest, new_digest);
        assert!(
            diff.contains(&format!("-  postgres-password: {old_digest}"))
                || diff.contains(&format!("-  postgres-password: '{old_digest}'")),
            "{diff}"
        );
        assert!(diff.contains(&new_digest), "{diff}");
        // The unchanged key is context at most, never a change.
        assert!(
            !diff
                .lines()
                .any(|l| (l.starts_with('+') || l.starts_with('-')) && l.contains("api-key")),
            "{diff}"
        );

        // An unchanged secret has no diff at all.
        assert_eq!(
            object_diff(
                "Secret/fintech-ai-secrets",
                Some(&live),
                Some(&live.clone())
            ),
            None
        );
    }

    #[test]
    fn string_data_and_data_with_the_same_content_compare_equal() {
        let as_data = secret(json!({"jwt-secret": b64("fixture-jwt")}));
        let mut as_string_data = as_data.clone();
        as_string_data.as_object_mut().unwrap().remove("data");
        as_string_data["stringData"] = json!({"jwt-secret": "fixture-jwt"});
        let a = normalize(&as_data);
        let b = normalize(&as_string_data);
        assert_eq!(a["data"]["jwt-secret"], b["stringData"]["jwt-secret"]);
        let shown = serde_json::to_string(&b).unwrap();
        assert!(!shown.contains("fixture-jwt"), "{shown}");
        assert!(shown.contains("<redacted hmac:"), "{shown}");
        assert_eq!(masked(b"fixture-jwt").len(), "<redacted hmac:>".len() + 32);
    }

    #[test]
    fn config_map_values_are_shown() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"LOG_LEVEL": "info"}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"LOG_LEVEL": "debug"}});
        let diff = object_diff("ConfigMap/c", Some(&live), Some(&desired)).unwrap();
        assert!(diff.contains("-  LOG_LEVEL: info"), "{diff}");
        assert!(diff.contains("+  LOG_LEVEL: debug"), "{diff}");
    }

    #[test]
    fn changes_are_classified() {
        let a = deployment("registry.example/api:1.0.0", 2);
        let b = deployment("registry.example/api:1.0.1", 2);
        let d = "Deployment/api-gateway";
        assert_eq!(
            ObjectDiff::of(d, Some(&a), Some(&a), &key()).change,
            Change::Unchanged
        );
        assert_eq!(ObjectDiff::of(d, Some(&a), Some(&a), &key()).diff, None);
        assert_eq!(
            ObjectDiff::of(d, Some(&a), Some(&b), &key()).change,
            Change::Update
        );
        assert_eq!(
            ObjectDiff::of(d, None, Some(&b), &key()).change,
            Change::Create
        );
        assert_eq!(
            ObjectDiff::of(d, Some(&a), None, &key()).change,
            Change::Delete
        );
        let json = serde_json::to_value(ObjectDiff::of(d, None, Some(&b), &key())).unwrap();
        assert_eq!(json["change"], "create");
    }

    #[test]
    fn a_new_object_diffs_against_nothing() {
        let desired = deployment("registry.example/api:1.0.0", 2);
        let diff = object_diff("Deployment/api-gateway", None, Some(&desired)).unwrap();
        assert!(
            diff.starts_with(
                "--- live/Deployment/api-gateway\n+++ desired/Deployment/api-gateway\n@@ -0,0 +1,"
            ),
            "{diff}"
        );
        assert!(diff.lines().skip(3).all(|l| l.starts_with('+')), "{diff}");
        let gone = object_diff("Deployment/api-gateway", Some(&desired), None).unwrap();
        assert!(gone.lines().skip(3).all(|l| l.starts_with('-')), "{gone}");
        assert_eq!(object_diff("Deployment/api-gateway", None, None), None);
    }
}
