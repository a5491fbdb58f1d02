//! Kubernetes' rules for names, label keys and label values (RFC 1123
//! labels and subdomains, qualified names), in words: what the
//! environment's validation and the rendered manifests' schema check both
//! apply. Neutral: neither environment nor render owns them.

fn is_alphanumeric_edge(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// RFC 1123 label: at most 63 lowercase alphanumerics or `-`, alphanumeric at both ends.
pub fn dns_label_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some("longer than 63 characters".into());
    }
    let valid = is_alphanumeric_edge(name)
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!valid).then(|| {
        "must be lowercase letters, digits and `-`, starting and ending with a letter or digit"
            .to_string()
    })
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some("longer than 253 characters".into());
    }
    let valid = name.split('.').all(|part| {
        is_alphanumeric_edge(part)
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    (!valid).then(|| {
        "must be lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
            .to_string()
    })
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 alphanumerics, `-`, `_`, `.`.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(problem) = prefix.and_then(dns_subdomain_problem) {
        return Some(format!("prefix: {problem}"));
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    label_value_problem(name)
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`,
/// alphanumeric at both ends.
pub fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some("longer than 63 characters".into());
    }
    let valid = is_alphanumeric_edge(value)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!valid).then(|| {
        "must be letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
            .to_string()
    })
}
