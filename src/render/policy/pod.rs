//! Per-workload rules on the pod template: resources, probes, pod security,
//! seccomp and pinned images.

use serde_json::Value;

use super::set::{Container, Set, Workload};
use super::{
    CONTAINER_RESOURCES, PINNED_IMAGES, POD_SECURITY, PROBES, PolicyOptions, Raw, SECCOMP,
    Severity, error,
};
use crate::quantity::{format_amount, quantity_for};
use crate::render::selector::selector_matches;

pub(super) const RESOURCE_FIELDS: [(&str, &str); 4] = [
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
];

pub(super) fn container_resources(workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(
        workload.kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod"
    ) {
        return;
    }
    for container in workload.containers() {
        let resources = &container.spec["resources"];
        let missing: Vec<String> = RESOURCE_FIELDS
            .iter()
            .filter(|(bound, resource)| resources[bound][resource].is_null())
            .map(|(bound, resource)| format!("{bound}.{resource}"))
            .collect();
        if !missing.is_empty() {
            out.push(error(
                workload.index,
                CONTAINER_RESOURCES,
                format!(
                    "{} sets no {}: without requests the scheduler overcommits the node, without limits one pod can starve the others",
                    container.describe(),
                    missing.join(", ")
                ),
            ));
        }
        for resource in ["cpu", "memory"] {
            let request = quantity_for(&resources["requests"][resource], resource);
            let limit = quantity_for(&resources["limits"][resource], resource);
            if let (Some(Ok(request)), Some(Ok(limit))) = (request, limit)
                && request > limit
            {
                out.push(error(
                    workload.index,
                    CONTAINER_RESOURCES,
                    format!(
                        "{} requests more {resource} ({}) than its limit ({}); the API server rejects it",
                        container.describe(),
                        format_amount(resource, request),
                        format_amount(resource, limit)
                    ),
                ));
            }
        }
    }
}

pub(super) fn probes(set: &Set, workload: &Workload, out: &mut Vec<Raw>) {
    if !matches!(workload.kind, "Deployment" | "StatefulSet") {
        return;
    }
    let app: Vec<Container> = workload
        .containers()
        .into_iter()
        .filter(|c| !c.init)
        .collect();
    let has_ports = |c: &Container| c.spec["ports"].as_array().is_some_and(|p| !p.is_empty());
    let with_ports: Vec<&Container> = app.iter().filter(|c| has_ports(c)).collect();
    let service = set
        .of_kind("Service", workload.namespace)
        .map(|(_, m)| m)
        .find(|s| {
            let selector = &s.object["spec"]["selector"];
            selector.as_object().is_some_and(|sel| !sel.is_empty())
                && selector_matches(
                    &serde_json::json!({"matchLabels": selector}),
                    &workload.labels,
                )
        });
    let serving: Vec<&Container> = match (with_ports.is_empty(), service) {
        (false, _) => with_ports,
        (true, Some(_)) => app.iter().collect(),
        (true, None) => return,
    };
    for container in serving {
        let missing: Vec<&str> = ["readinessProbe", "livenessProbe"]
            .into_iter()
            .filter(|probe| container.spec[probe].is_null())
            .collect();
        if !missing.is_empty() {
            let why = match service {
                Some(service) => format!("{} sends it traffic", service.display()),
                None => "it declares container ports".to_string(),
            };
            out.push(error(
                workload.index,
                PROBES,
                format!(
                    "{} has no {}, but {why}: without a readiness probe traffic reaches pods that are not ready, without a liveness probe a hung process is never restarted",
                    container.describe(),
                    missing.join(" or ")
                ),
            ));
        }
    }
}

pub(super) fn pod_security(workload: &Workload, out: &mut Vec<Raw>) {
    let pod_context = &workload.pod["securityContext"];
    let mut problems: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|field| workload.pod[field].as_bool() == Some(true))
        .map(|field| format!("the pod sets {field}: true"))
        .collect();
    for container in workload.containers() {
        let context = &container.spec["securityContext"];
        // Container settings override the pod's.
        let effective = |field: &str| match &context[field] {
            Value::Null => &pod_context[field],
            value => value,
        };
        let mut wrong = Vec::new();
        if effective("runAsNonRoot").as_bool() != Some(true) {
            wrong.push("runAsNonRoot is not true".to_string());
        }
        for id in ["runAsUser", "runAsGroup"] {
            match effective(id).as_i64() {
                None => wrong.push(format!("{id} is not set")),
                Some(0) => wrong.push(format!("{id} is 0 (root)")),
                Some(_) => {}
            }
        }
        if context["allowPrivilegeEscalation"].as_bool() != Some(false) {
            wrong.push("allowPrivilegeEscalation is not false".into());
        }
        if context["readOnlyRootFilesystem"].as_bool() != Some(true) {
            wrong.push("readOnlyRootFilesystem is not true".into());
        }
        let drops_all = context["capabilities"]["drop"]
            .as_array()
            .is_some_and(|drop| drop.iter().any(|c| c.as_str() == Some("ALL")));
        if !drops_all {
            wrong.push("capabilities.drop does not contain ALL".into());
        }
        if context["privileged"].as_bool() == Some(true) {
            wrong.push("it is privileged".into());
        }
        if !wrong.is_empty() {
            problems.push(format!("{}: {}", container.describe(), wrong.join(", ")));
        }
    }
    for problem in problems {
        out.push(error(workload.index, POD_SECURITY, problem));
    }
}

pub(super) fn seccomp(workload: &Workload, out: &mut Vec<Raw>) {
    let confined = |context: &Value| {
        matches!(
            context["seccompProfile"]["type"].as_str(),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let pod_context = &workload.pod["securityContext"];
    let unconfined: Vec<String> = workload
        .containers()
        .iter()
        .filter(|c| {
            let context = &c.spec["securityContext"];
            // A container's own profile overrides the pod's, even `Unconfined`.
            if context["seccompProfile"].is_null() {
                !confined(pod_context)
            } else {
                !confined(context)
            }
        })
        .map(Container::describe)
        .collect();
    if !unconfined.is_empty() {
        out.push(error(
            workload.index,
            SECCOMP,
            format!(
                "{} run(s) without a seccomp profile: set securityContext.seccompProfile.type RuntimeDefault on the pod",
                unconfined.join(", ")
            ),
        ));
    }
}

pub(super) fn pinned_images(workload: &Workload, opts: &PolicyOptions, out: &mut Vec<Raw>) {
    let severity = if opts.require_pinned_images {
        Severity::Error
    } else {
        Severity::Warning
    };
    for container in workload.containers() {
        let image = container.spec["image"].as_str().unwrap_or("");
        if let Err(why) = image_is_pinned(image) {
            out.push(Raw {
                index: workload.index,
                rule: PINNED_IMAGES,
                severity,
                message: format!(
                    "{} image `{image}` {why}: what runs changes without a deploy, and a rollback cannot go back",
                    container.describe()
                ),
            });
        }
    }
}

/// `Ok` if the image reference names a digest or a tag other than `latest`.
pub(super) fn image_is_pinned(image: &str) -> Result<(), &'static str> {
    if image.is_empty() {
        return Err("is empty");
    }
    if let Some((_, digest)) = image.split_once('@') {
        return if digest.contains(':') {
            Ok(())
        } else {
            Err("has a malformed digest")
        };
    }
    // A `:` before the last `/` belongs to a registry host:port.
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Err("has no tag (it means `latest`)"),
        Some((_, "")) => Err("has an empty tag"),
        Some((_, "latest")) => Err("is tagged `latest`"),
        Some(_) => Ok(()),
    }
}
