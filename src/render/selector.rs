//! Kubernetes label selectors (`matchLabels` / `matchExpressions`), as the
//! policy checks and the schema check of a workload's own selector use them.

use serde_json::{Map, Value};

/// Whether a label selector (`matchLabels` / `matchExpressions`) selects
/// `labels`; an empty selector selects everything.
pub(crate) fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let match_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key).is_some() && label(key) == value.as_str());
    let match_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().unwrap_or("");
            let in_values = || {
                expression["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v.as_str().is_some() && v.as_str() == label(key))
            };
            match expression["operator"].as_str().unwrap_or("") {
                "In" => label(key).is_some() && in_values(),
                "NotIn" => label(key).is_none() || !in_values(),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        });
    match_labels && match_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let labels = json!({"app": "api", "tier": "web"});
        let labels = labels.as_object().unwrap();
        let matches = |selector: Value| selector_matches(&selector, labels);
        assert!(matches(json!({})));
        assert!(matches(json!({"matchLabels": {"app": "api"}})));
        assert!(!matches(json!({"matchLabels": {"app": "api", "x": "y"}})));
        assert!(matches(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]})
        ));
        assert!(matches(
            json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]})
        ));
        assert!(matches(
            json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})
        ));
        assert!(!matches(
            json!({"matchExpressions": [{"key": "app", "operator": "Bogus"}]})
        ));
    }
}
