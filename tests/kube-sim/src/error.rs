//! `Status` errors with the apiserver's codes and reasons.

use crate::resources::ResDef;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    fn details_for(rd: &ResDef, name: &str) -> Value {
        let mut d = json!({"name": name, "kind": rd.plural});
        if !rd.group.is_empty() {
            d["group"] = json!(rd.group);
        }
        d
    }
    pub fn not_found(rd: &ResDef, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", rd.qualified(), name),
        );
        e.details = Some(Self::details_for(rd, name));
        e
    }
    pub fn already_exists(rd: &ResDef, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", rd.qualified(), name),
        );
        e.details = Some(Self::details_for(rd, name));
        e
    }
    pub fn conflict(rd: &ResDef, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                rd.qualified(),
                name,
                why
            ),
        );
        e.details = Some(Self::details_for(rd, name));
        e
    }
    /// 422 Invalid. `causes`: (field, reason, message).
    pub fn invalid(rd: &ResDef, name: &str, causes: Vec<(String, &str, String)>) -> Self {
        let kind_q = if rd.group.is_empty() {
            rd.kind.to_string()
        } else {
            format!("{}.{}", rd.kind, rd.group)
        };
        let msgs: Vec<String> = causes.iter().map(|(f, _, m)| format!("{f}: {m}")).collect();
        let msg = if msgs.len() == 1 {
            format!("{kind_q} \"{name}\" is invalid: {}", msgs[0])
        } else {
            format!("{kind_q} \"{name}\" is invalid: [{}]", msgs.join(", "))
        };
        let mut e = Self::new(422, "Invalid", msg);
        let mut d = json!({"name": name, "kind": rd.kind, "causes": causes.iter().map(|(f, r, m)| json!({"reason": r, "message": m, "field": f})).collect::<Vec<_>>()});
        if !rd.group.is_empty() {
            d["group"] = json!(rd.group);
        }
        e.details = Some(d);
        e
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", msg)
    }
    pub fn forbidden(rd: &ResDef, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            403,
            "Forbidden",
            format!("{} \"{}\" is forbidden: {}", rd.qualified(), name, why),
        );
        e.details = Some(Self::details_for(rd, name));
        e
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }
    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }
    pub fn unsupported_media(ct: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"
            ),
        )
    }
    pub fn expired(msg: String) -> Self {
        Self::new(410, "Expired", msg)
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(500, "InternalError", msg)
    }

    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        } else if self.code == 404 {
            // a real server's 404 always has details (empty for a path it does not
            // serve); kubectl dereferences them (`kubectl debug`)
            v["details"] = json!({});
        }
        if let Some(r) = self.retry_after {
            let d = v
                .as_object_mut()
                .unwrap()
                .entry("details")
                .or_insert(json!({}));
            d["retryAfterSeconds"] = json!(r);
        }
        v
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}
impl std::error::Error for ApiError {}
