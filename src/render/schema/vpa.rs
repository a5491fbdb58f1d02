//! The VerticalPodAutoscaler CRD (autoscaling.k8s.io/v1), which has no
//! k8s-openapi type, checked by hand; and the small field rules it uses.

use std::fmt;

use serde_json::Value;

use super::*;
use crate::render::quantity::{parse_cpu_millis, parse_memory_bytes};

pub(super) const VPA_UPDATE_MODES: &[&str] =
    &["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"];
pub(super) const VPA_CONTROLLED_VALUES: &[&str] = &["RequestsAndLimits", "RequestsOnly"];
pub(super) const VPA_CONTAINER_MODES: &[&str] = &["Auto", "Off"];
pub(super) const VPA_RESOURCES: &[&str] = &["cpu", "memory"];

/// The VerticalPodAutoscaler CRD (autoscaling.k8s.io/v1), by hand.
pub(super) fn check_vpa(object: &Value, report: &mut Report) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    if let Some(metadata) = object.get("metadata") {
        check_typed_at::<ObjectMeta>(metadata, "metadata", report);
    }
    unknown_keys(
        object,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
        report,
    );

    let Some(spec) = object.get("spec") else {
        report.at("spec", "required field is missing");
        return;
    };
    if !spec.is_object() {
        report.at("spec", "expected an object");
        return;
    }
    unknown_keys(
        spec,
        "spec",
        &[
            "targetRef",
            "updatePolicy",
            "resourcePolicy",
            "recommenders",
        ],
        report,
    );

    match spec.get("targetRef") {
        None => report.at("spec.targetRef", "required field is missing"),
        Some(target) => {
            unknown_keys(
                target,
                "spec.targetRef",
                &["apiVersion", "kind", "name"],
                report,
            );
            for field in ["apiVersion", "kind", "name"] {
                required_string(target, &format!("spec.targetRef.{field}"), field, report);
            }
        }
    }

    if let Some(policy) = spec.get("updatePolicy") {
        unknown_keys(
            policy,
            "spec.updatePolicy",
            &["updateMode", "minReplicas", "evictionRequirements"],
            report,
        );
        one_of(
            policy,
            "spec.updatePolicy",
            "updateMode",
            VPA_UPDATE_MODES,
            report,
        );
        if let Some(min) = policy.get("minReplicas")
            && min.as_i64().is_none_or(|n| n <= 0)
        {
            report.at(
                "spec.updatePolicy.minReplicas",
                "expected a positive integer",
            );
        }
    }

    if let Some(resource_policy) = spec.get("resourcePolicy") {
        unknown_keys(
            resource_policy,
            "spec.resourcePolicy",
            &["containerPolicies"],
            report,
        );
        let policies = resource_policy.get("containerPolicies");
        if policies.is_some_and(|p| !p.is_array()) {
            report.at("spec.resourcePolicy.containerPolicies", "expected a list");
        }
        for (i, policy) in policies
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("spec.resourcePolicy.containerPolicies[{i}]");
            unknown_keys(
                policy,
                &at,
                &[
                    "containerName",
                    "mode",
                    "minAllowed",
                    "maxAllowed",
                    "controlledResources",
                    "controlledValues",
                ],
                report,
            );
            required_string(
                policy,
                &format!("{at}.containerName"),
                "containerName",
                report,
            );
            one_of(policy, &at, "mode", VPA_CONTAINER_MODES, report);
            one_of(
                policy,
                &at,
                "controlledValues",
                VPA_CONTROLLED_VALUES,
                report,
            );
            match policy.get("controlledResources") {
                None => {}
                Some(Value::Array(resources)) => {
                    for (j, resource) in resources.iter().enumerate() {
                        if !resource
                            .as_str()
                            .is_some_and(|r| VPA_RESOURCES.contains(&r))
                        {
                            report.at(
                                &format!("{at}.controlledResources[{j}]"),
                                format!(
                                    "expected one of {}, got {resource}",
                                    VPA_RESOURCES.join(", ")
                                ),
                            );
                        }
                    }
                }
                Some(_) => report.at(&format!("{at}.controlledResources"), "expected a list"),
            }
            for bound in ["minAllowed", "maxAllowed"] {
                if let Some(bounds) = policy.get(bound) {
                    check_resource_map(bounds, &format!("{at}.{bound}"), report);
                }
            }
        }
    }

    if let Some(recommenders) = spec.get("recommenders") {
        for (i, recommender) in recommenders.as_array().into_iter().flatten().enumerate() {
            let at = format!("spec.recommenders[{i}]");
            unknown_keys(recommender, &at, &["name"], report);
            required_string(recommender, &format!("{at}.name"), "name", report);
        }
    }
}

pub(super) fn unknown_keys(node: &Value, at: &str, known: &[&str], report: &mut Report) {
    let Some(map) = node.as_object() else {
        if !at.is_empty() {
            report.at(at, "expected an object");
        }
        return;
    };
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let mut path = at.to_string();
            push_step(&mut path, &Step::Key(key.clone()));
            report.at(
                &path,
                format!("unknown field; known fields: {}", known.join(", ")),
            );
        }
    }
}

pub(super) fn required_string(node: &Value, path: &str, field: &str, report: &mut Report) {
    match node.get(field) {
        None | Some(Value::Null) => report.at(path, "required field is missing"),
        Some(Value::String(s)) if s.is_empty() => report.at(path, "must not be empty"),
        Some(Value::String(_)) => {}
        Some(other) => report.at(path, format!("expected a string, got {other}")),
    }
}

pub(super) fn one_of(node: &Value, at: &str, field: &str, allowed: &[&str], report: &mut Report) {
    if let Some(value) = node.get(field)
        && !value.as_str().is_some_and(|v| allowed.contains(&v))
    {
        report.at(
            &format!("{at}.{field}"),
            format!("expected one of {}, got {value}", allowed.join(", ")),
        );
    }
}

/// A `{cpu: …, memory: …}` map: every quantity must parse.
pub(super) fn check_resource_map(map: &Value, at: &dyn fmt::Display, report: &mut Report) {
    let Some(map) = map.as_object() else {
        report.at(&at.to_string(), "expected a map of resource quantities");
        return;
    };
    for (resource, quantity) in map {
        let number;
        let text = match quantity {
            Value::String(s) => s.as_str(),
            Value::Number(n) => {
                number = n.to_string();
                number.as_str()
            }
            other => {
                report.at(
                    &child_path(at, resource),
                    format!("expected a quantity, got {other}"),
                );
                continue;
            }
        };
        if let Err(error) = parse_quantity_for(resource, text) {
            report.at(&child_path(at, resource), error);
        }
    }
}

/// Parses a quantity the way the resource it is for is counted: cpu in
/// millicores, anything else (memory, storage, counts) in whole units.
pub(super) fn parse_quantity_for(resource: &str, text: &str) -> Result<(), String> {
    let is_cpu = resource == "cpu" || resource.ends_with(".cpu");
    let result = if is_cpu {
        parse_cpu_millis(text).map(|_| ())
    } else {
        parse_memory_bytes(text).map(|_| ())
    };
    result.map_err(|e| e.to_string())
}
