//! The rules an environment must follow that its types alone do not say:
//! what a provider needs, what the API server would reject only at apply
//! time (a port 0, a negative or malformed quantity, a newline in a host or
//! an image, requests above limits, a percentage above 100%), and what would
//! leave a command with nothing to do (`historyLimit: 0`). Every problem is
//! reported, each with its field path; the caller adds FILE:LINE:COLUMN.

use super::locate::join;
use super::model::*;
use super::{RESERVED_ENV, is_dns_label, is_image_tag};
use crate::names::{
    dns_label_problem, dns_subdomain_problem, label_value_problem, qualified_name_problem,
};
use crate::quantity::{QuantityError, parse_cpu_millis, parse_memory_bytes};

/// One invalid field, by its path in the file (`services.api-gateway.port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub field: String,
    pub message: String,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Finding {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Every problem of `env`, in file order as far as the checks go.
pub fn check(env: &Environment, expected_name: &str) -> Vec<Finding> {
    let mut out = Findings::default();
    if env.name != expected_name {
        out.add(
            "name",
            format!(
                "is `{}` but the file defines environment `{expected_name}`",
                env.name
            ),
        );
    }
    cluster(env, &mut out);
    namespace(env, &mut out);
    release(env, &mut out);
    quota(env, &mut out);
    limit_range(env, &mut out);
    for (name, svc) in env.services.iter() {
        service(&format!("services.{name}"), svc, &mut out);
    }
    ingress(env, &mut out);
    data(env, &mut out);
    backup(env, &mut out);
    monitoring(env, &mut out);
    if let Some(ca) = &env.cluster_autoscaler {
        image(
            &mut out,
            "clusterAutoscaler.image",
            &ca.image,
            ImageKind::Reference,
        );
        if ca.max_nodes_total == 0 {
            out.add(
                "clusterAutoscaler.maxNodesTotal",
                "0 allows no node at all; expected at least 1",
            );
        }
        if let (Some(min), Some(max)) = (ca.min_nodes, ca.max_nodes)
            && min > max
        {
            out.add(
                "clusterAutoscaler.minNodes",
                format!("{min} is above maxNodes ({max})"),
            );
        }
    }
    out.0
}

fn cluster(env: &Environment, out: &mut Findings) {
    let c = &env.cluster;
    let required: &[(&str, &Option<String>)] = match c.provider {
        Provider::Azure => &[
            ("cluster.name", &c.name),
            ("cluster.resourceGroup", &c.resource_group),
        ],
        Provider::Aws => &[("cluster.name", &c.name), ("cluster.region", &c.region)],
        Provider::Gcp => &[
            ("cluster.name", &c.name),
            ("cluster.project", &c.project),
            ("cluster.location", &c.location),
        ],
        Provider::Kubeconfig => &[],
    };
    for (field, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            out.add(
                *field,
                format!("is required for provider `{}`", c.provider.as_str()),
            );
        }
    }
    for (field, value) in [
        ("cluster.name", &c.name),
        ("cluster.resourceGroup", &c.resource_group),
        ("cluster.subscription", &c.subscription),
        ("cluster.region", &c.region),
        ("cluster.project", &c.project),
        ("cluster.location", &c.location),
        ("cluster.context", &c.context),
        ("cluster.uid", &c.uid),
    ] {
        if let Some(value) = value {
            no_control_characters(out, field, value);
        }
    }
    if let Some(uid) = &c.uid
        && !is_uid(uid)
    {
        out.add(
            "cluster.uid",
            format!(
                "`{}` is not a UID (expected the kube-system namespace's, e.g. `kubectl get namespace kube-system -o jsonpath={{.metadata.uid}}`: 36 characters of hex digits and `-`)",
                uid.escape_debug()
            ),
        );
    }
}

/// A Kubernetes UID as the API server writes them (RFC 4122 text form).
fn is_uid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn namespace(env: &Environment, out: &mut Findings) {
    if !is_dns_label(&env.namespace.name) {
        out.add(
            "namespace.name",
            format!(
                "`{}` is not a valid namespace name (lower-case letters, digits and `-`, at most 63 characters)",
                env.namespace.name.escape_debug()
            ),
        );
    }
    labels(out, "namespace.labels", &env.namespace.labels);
}

fn labels(out: &mut Findings, at: &str, labels: &std::collections::BTreeMap<String, String>) {
    for (key, value) in labels {
        let field = join(at, key);
        if let Some(problem) = qualified_name_problem(key) {
            out.add(
                &field,
                format!(
                    "`{}` is not a valid label key: {problem}",
                    key.escape_debug()
                ),
            );
        }
        if let Some(problem) = label_value_problem(value) {
            out.add(
                &field,
                format!(
                    "`{}` is not a valid label value: {problem}",
                    value.escape_debug()
                ),
            );
        }
    }
}

fn release(env: &Environment, out: &mut Findings) {
    let r = &env.release;
    if r.require_version && r.default_version.is_some() {
        out.add(
            "release.defaultVersion",
            "must not be set when `release.requireVersion` is true",
        );
    }
    if !r.require_version && r.default_version.is_none() {
        out.add(
            "release.defaultVersion",
            "is required when `release.requireVersion` is false",
        );
    }
    if let Some(version) = &r.default_version
        && !is_image_tag(version)
    {
        out.add(
            "release.defaultVersion",
            format!(
                "`{}` is not a valid image tag: expected letters, digits, `_`, `.` or `-` (at most 128, not starting with `.` or `-`)",
                version.escape_debug()
            ),
        );
    }
    if r.history_limit < 2 {
        out.add(
            "release.historyLimit",
            format!(
                "{} keeps no revision before the current one, so `rollback` has nothing to go back to; expected at least 2 (default 20)",
                r.history_limit
            ),
        );
    }
    canary(&r.canary, out);
}

/// `release.canary`: validated whatever the strategy, so switching to
/// `canary` (or `--strategy canary`) never meets a broken block.
fn canary(c: &CanaryPolicy, out: &mut Findings) {
    if let Some(problem) = crate::canary::steps_problem(&c.steps) {
        out.add("release.canary.steps", problem);
    }
    if let Err(problem) = crate::canary::parse_interval(&c.interval) {
        out.add("release.canary.interval", problem);
    }
    if c.failure_limit == 0 {
        out.add(
            "release.canary.failureLimit",
            "0 tolerates no round without data, not even the first; expected at least 1",
        );
    }
    let t = &c.analysis;
    if !(t.max_error_rate > 0.0 && t.max_error_rate <= 1.0) {
        out.add(
            "release.canary.analysis.maxErrorRate",
            format!(
                "{} is not a share: expected more than 0 and at most 1 (e.g. 0.1)",
                t.max_error_rate
            ),
        );
    }
    if !(t.max_p95_latency_seconds > 0.0 && t.max_p95_latency_seconds.is_finite()) {
        out.add(
            "release.canary.analysis.maxP95LatencySeconds",
            format!(
                "{} is not a latency: expected seconds above 0 (e.g. 1.5)",
                t.max_p95_latency_seconds
            ),
        );
    }
    if !(t.max_error_rate_increase >= 0.0 && t.max_error_rate_increase <= 1.0) {
        out.add(
            "release.canary.analysis.maxErrorRateIncrease",
            format!(
                "{} is not a share: expected 0 to 1 (e.g. 0.05)",
                t.max_error_rate_increase
            ),
        );
    }
}

/// How a quantity is counted: cpu in millicores, everything else in whole units.
#[derive(Clone, Copy)]
enum Unit {
    Cpu,
    Bytes,
    Count,
}

impl Unit {
    fn of_resource(key: &str) -> Unit {
        if key == "cpu" || key.ends_with(".cpu") {
            Unit::Cpu
        } else if key.contains("memory") || key.contains("storage") || key.starts_with("hugepages-")
        {
            Unit::Bytes
        } else {
            Unit::Count
        }
    }

    fn example(self) -> &'static str {
        match self {
            Unit::Cpu => "a cpu quantity like `250m` or `2`",
            Unit::Bytes => "a quantity like `512Mi` or `2Gi`",
            Unit::Count => "a count like `10`",
        }
    }
}

/// Parses a quantity; reports a malformed or negative one. The amount in
/// millicores (cpu) or whole units.
fn quantity(out: &mut Findings, field: &str, text: &str, unit: Unit) -> Option<i128> {
    let parsed: Result<i128, QuantityError> = match unit {
        Unit::Cpu => parse_cpu_millis(text).map(i128::from),
        Unit::Bytes | Unit::Count => parse_memory_bytes(text),
    };
    match parsed {
        Ok(amount) if amount < 0 || text.trim_start().starts_with('-') => {
            out.add(
                field,
                format!(
                    "`{}` is negative; expected {}",
                    text.escape_debug(),
                    unit.example()
                ),
            );
            None
        }
        Ok(amount) => Some(amount),
        Err(e) => {
            out.add(
                field,
                format!(
                    "`{}` is not {}: {}",
                    text.escape_debug(),
                    unit.example(),
                    e.reason
                ),
            );
            None
        }
    }
}

/// A `{cpu, memory}` pair; the amounts when both parse.
fn cpu_memory(out: &mut Findings, at: &str, cm: &CpuMemory) -> Option<(i128, i128)> {
    let cpu = quantity(out, &format!("{at}.cpu"), &cm.cpu, Unit::Cpu);
    let memory = quantity(out, &format!("{at}.memory"), &cm.memory, Unit::Bytes);
    Some((cpu?, memory?))
}

/// `low` must not be above `high` (requests vs limits, min vs max).
fn not_above(
    out: &mut Findings,
    at: &str,
    (low_name, low, low_cm): (&str, Option<(i128, i128)>, &CpuMemory),
    (high_name, high, high_cm): (&str, Option<(i128, i128)>, &CpuMemory),
    why: &str,
) {
    let (Some(low), Some(high)) = (low, high) else {
        return;
    };
    if low.0 > high.0 {
        out.add(
            format!("{at}.{low_name}.cpu"),
            format!(
                "{} is above {high_name}.cpu ({}): {why}",
                low_cm.cpu, high_cm.cpu
            ),
        );
    }
    if low.1 > high.1 {
        out.add(
            format!("{at}.{low_name}.memory"),
            format!(
                "{} is above {high_name}.memory ({}): {why}",
                low_cm.memory, high_cm.memory
            ),
        );
    }
}

fn resources(out: &mut Findings, at: &str, r: &Resources) {
    let requests = cpu_memory(out, &format!("{at}.requests"), &r.requests);
    let limits = cpu_memory(out, &format!("{at}.limits"), &r.limits);
    not_above(
        out,
        at,
        ("requests", requests, &r.requests),
        ("limits", limits, &r.limits),
        "the API server rejects a container that requests more than its limit",
    );
}

fn quota(env: &Environment, out: &mut Findings) {
    if let Some(problem) = dns_subdomain_problem(&env.quota.name) {
        out.add(
            "quota.name",
            format!(
                "`{}` is not a valid object name: {problem}",
                env.quota.name.escape_debug()
            ),
        );
    }
    for (key, value) in &env.quota.hard {
        let field = join("quota.hard", key);
        if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            out.add(
                &field,
                "is not a resource name (e.g. `requests.cpu`, `limits.memory`, `pods`)",
            );
            continue;
        }
        quantity(out, &field, value, Unit::of_resource(key));
    }
}

fn limit_range(env: &Environment, out: &mut Findings) {
    let lr = &env.limit_range;
    let request = cpu_memory(out, "limitRange.defaultRequest", &lr.default_request);
    let limit = cpu_memory(out, "limitRange.default", &lr.default);
    not_above(
        out,
        "limitRange",
        ("defaultRequest", request, &lr.default_request),
        ("default", limit, &lr.default),
        "the API server rejects a LimitRange whose default request is above its default limit",
    );
}

fn port(out: &mut Findings, field: &str, port: u16) {
    if port == 0 {
        out.add(field, "0 is not a port; expected 1 to 65535");
    }
}

/// A value that goes into an object as text: no line breaks, tabs or other
/// control characters, and no surrounding spaces.
fn no_control_characters(out: &mut Findings, field: &str, value: &str) -> bool {
    if value.chars().any(char::is_control) {
        out.add(
            field,
            format!(
                "`{}` contains a control character (a line break or tab?); expected one line of text",
                value.escape_debug()
            ),
        );
        return false;
    }
    if value.trim() != value {
        out.add(
            field,
            format!("`{}` has leading or trailing spaces", value.escape_debug()),
        );
        return false;
    }
    true
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ImageKind {
    /// `registry/name` without a tag: the release version is the tag.
    Repository,
    /// `registry/name:tag` or `…@sha256:…`.
    Reference,
}

/// Checks an image against the reference grammar (distribution's
/// `reference` package): `[host[:port]/]path[:tag][@digest]`, path
/// components lowercase alphanumerics joined by `.`, `_`, `__` or `-`s.
fn image(out: &mut Findings, field: &str, value: &str, kind: ImageKind) {
    if value.is_empty() {
        out.add(field, "is empty; expected an image repository");
        return;
    }
    if !no_control_characters(out, field, value) {
        return;
    }
    let shown = value.escape_debug();
    if value.chars().any(char::is_whitespace) {
        out.add(
            field,
            format!("`{shown}` contains a space; expected an image reference"),
        );
        return;
    }
    let (rest, digest) = match value.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (value, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if kind == ImageKind::Repository && (tag.is_some() || digest.is_some()) {
        out.add(
            field,
            format!(
                "`{shown}` has a {}; expected the repository only (e.g. `fintech-ai/api-gateway`): the tag is the release version (`--version`)",
                if digest.is_some() { "digest" } else { "tag" }
            ),
        );
        return;
    }
    if let Some(tag) = tag
        && !is_image_tag(tag)
    {
        out.add(
            field,
            format!(
                "`{shown}`: the tag `{}` is not valid: expected letters, digits, `_`, `.` or `-` (at most 128, not starting with `.` or `-`)",
                tag.escape_debug()
            ),
        );
        return;
    }
    if let Some(digest) = digest {
        let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !valid {
            out.add(
                field,
                format!("`{shown}`: the digest is not `algorithm:hex` (e.g. `sha256:…`)"),
            );
            return;
        }
    }
    // A first component with `.` or `:` or `localhost` is a registry host.
    let mut components: Vec<&str> = repository.split('/').collect();
    if components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost")
    {
        let host = components.remove(0);
        let (name, port) = host.split_once(':').unwrap_or((host, ""));
        let host_ok = name.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        }) && (port.is_empty() && !host.contains(':')
            || !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
        if !host_ok {
            out.add(
                field,
                format!(
                    "`{shown}`: the registry `{host}` is not a host name (with an optional `:port`)"
                ),
            );
            return;
        }
    }
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        !c.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && !c.contains("..")
            && !c.contains("___")
    };
    if let Some(bad) = components.iter().find(|c| !component_ok(c)) {
        out.add(
            field,
            format!(
                "`{shown}`: `{}` is not a valid repository path component (lowercase letters, digits, and `.`, `_` or `-` between them)",
                bad.escape_debug()
            ),
        );
    }
}

/// A DNS name (optionally `*.` wildcard) as an Ingress rule's host; a
/// managed store's host may also be an IP address (a private endpoint).
fn host(out: &mut Findings, field: &str, value: &str, wildcard: bool, ip_ok: bool) {
    if !no_control_characters(out, field, value) {
        return;
    }
    let name = match value.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => value,
    };
    if ip_ok && value.parse::<std::net::IpAddr>().is_ok() {
        return;
    }
    let problem = if value.contains("://") || value.contains(['/', ':']) {
        Some("a host name only, without scheme, port or path".to_string())
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        Some("a host name, not an IP address".to_string())
    } else {
        dns_subdomain_problem(name)
    };
    if let Some(problem) = problem {
        out.add(
            field,
            format!(
                "`{}` is not a DNS name: expected {problem}",
                value.escape_debug()
            ),
        );
    }
}

fn percent(value: &IntOrPercent) -> Result<Option<u32>, ()> {
    match value {
        IntOrPercent::Int(_) => Ok(None),
        IntOrPercent::Percent(p) => p
            .strip_suffix('%')
            .and_then(|n| n.parse::<u32>().ok())
            .map(Some)
            .ok_or(()),
    }
}

fn service(at: &str, svc: &Service, out: &mut Findings) {
    image(
        out,
        &format!("{at}.image"),
        &svc.image,
        ImageKind::Repository,
    );
    port(out, &format!("{at}.port"), svc.port);
    resources(out, &format!("{at}.resources"), &svc.resources);
    let mut zero = 0;
    for (field, value) in [
        ("maxSurge", &svc.rolling_update.max_surge),
        ("maxUnavailable", &svc.rolling_update.max_unavailable),
    ] {
        let field = format!("{at}.rollingUpdate.{field}");
        match (value, percent(value)) {
            (IntOrPercent::Percent(p), Err(())) => out.add(
                &field,
                format!(
                    "`{}` is neither a whole number nor a percentage like `25%`",
                    p.escape_debug()
                ),
            ),
            (_, Ok(Some(n))) if n > 100 => out.add(
                &field,
                format!("{n}% is above 100%; expected a percentage from 0% to 100%"),
            ),
            (IntOrPercent::Int(0), _) | (_, Ok(Some(0))) => zero += 1,
            _ => {}
        }
    }
    if zero == 2 {
        out.add(
            format!("{at}.rollingUpdate"),
            "maxSurge and maxUnavailable are both 0: the rollout could never replace a pod (the API server rejects it)",
        );
    }
    if let Some(a) = &svc.autoscaling {
        let field = format!("{at}.autoscaling");
        if a.min_replicas == 0 || a.min_replicas > a.max_replicas {
            out.add(
                format!("{field}.minReplicas"),
                format!(
                    "minReplicas ({}) must be at least 1 and at most maxReplicas ({})",
                    a.min_replicas, a.max_replicas
                ),
            );
        }
        for (metric, value) in [
            ("targetCpuUtilization", a.target_cpu_utilization),
            ("targetMemoryUtilization", a.target_memory_utilization),
        ] {
            if value == 0 || value > 100 {
                out.add(
                    format!("{field}.{metric}"),
                    format!("{value} is not a percentage between 1 and 100"),
                );
            }
        }
        if svc.replicas == 0 {
            out.add(
                format!("{at}.replicas"),
                "0 with autoscaling: an HPA does not scale a workload at 0 replicas (scaling stays disabled); expected at least 1",
            );
        }
    }
    for (key, value) in &svc.env {
        let field = join(&format!("{at}.env"), key);
        if RESERVED_ENV.contains(&key.as_str()) {
            out.add(
                &field,
                "is set by fintechctl from the environment's data stores and secrets; change those instead",
            );
        }
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.add(
                &field,
                "is not a valid environment variable name (letters, digits and `_`, not starting with a digit)",
            );
        }
        if value.contains('\0') {
            out.add(&field, "contains a NUL character");
        }
    }
    if let Some(vpa) = &svc.vpa {
        const MODES: [&str; 5] = ["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"];
        const CONTROLLED: [&str; 2] = ["RequestsAndLimits", "RequestsOnly"];
        if !MODES.contains(&vpa.update_mode.as_str()) {
            out.add(
                format!("{at}.vpa.updateMode"),
                format!(
                    "`{}` is not one of {}",
                    vpa.update_mode.escape_debug(),
                    MODES.join(", ")
                ),
            );
        }
        if !CONTROLLED.contains(&vpa.controlled_values.as_str()) {
            out.add(
                format!("{at}.vpa.controlledValues"),
                format!(
                    "`{}` is not one of {}",
                    vpa.controlled_values.escape_debug(),
                    CONTROLLED.join(", ")
                ),
            );
        }
        let min = cpu_memory(out, &format!("{at}.vpa.minAllowed"), &vpa.min_allowed);
        let max = cpu_memory(out, &format!("{at}.vpa.maxAllowed"), &vpa.max_allowed);
        not_above(
            out,
            &format!("{at}.vpa"),
            ("minAllowed", min, &vpa.min_allowed),
            ("maxAllowed", max, &vpa.max_allowed),
            "the VPA could not recommend anything",
        );
    }
}

fn ingress(env: &Environment, out: &mut Findings) {
    let i = &env.ingress;
    if i.enabled && i.host.is_empty() {
        out.add("ingress.host", "is required when the ingress is enabled");
    } else if !i.host.is_empty() {
        host(out, "ingress.host", &i.host, true, false);
    }
    if let Some(problem) = dns_subdomain_problem(&i.class_name) {
        out.add(
            "ingress.className",
            format!(
                "`{}` is not a valid IngressClass name: {problem}",
                i.class_name.escape_debug()
            ),
        );
    }
    if let Some(problem) = dns_label_problem(&i.controller_namespace) {
        out.add(
            "ingress.controllerNamespace",
            format!(
                "`{}` is not a valid namespace name: {problem}",
                i.controller_namespace.escape_debug()
            ),
        );
    }
    if let Some(tls) = &i.tls
        && let Some(problem) = dns_subdomain_problem(&tls.secret_name)
    {
        out.add(
            "ingress.tls.secretName",
            format!(
                "`{}` is not a valid Secret name: {problem}",
                tls.secret_name.escape_debug()
            ),
        );
    }
}

fn in_cluster(out: &mut Findings, at: &str, ic: &InCluster) {
    image(out, &format!("{at}.image"), &ic.image, ImageKind::Reference);
    quantity(out, &format!("{at}.storage"), &ic.storage, Unit::Bytes);
    resources(out, &format!("{at}.resources"), &ic.resources);
}

fn data(env: &Environment, out: &mut Findings) {
    let d = &env.data;
    let stores = [
        (
            "data.postgres",
            d.postgres.placement,
            &d.postgres.in_cluster,
        ),
        ("data.redis", d.redis.placement, &d.redis.in_cluster),
        ("data.kafka", d.kafka.placement, &d.kafka.in_cluster),
    ];
    for (at, placement, ic) in stores {
        match (placement, ic) {
            (Placement::InCluster, None) => out.add(
                format!("{at}.inCluster"),
                "is required when placement is `in-cluster` (image, storage, resources)",
            ),
            (Placement::Managed, Some(_)) => out.add(
                format!("{at}.inCluster"),
                "must not be set when placement is `managed`",
            ),
            (_, Some(ic)) => in_cluster(out, &format!("{at}.inCluster"), ic),
            _ => {}
        }
    }
    port(out, "data.postgres.port", d.postgres.port);
    port(out, "data.redis.port", d.redis.port);
    for (field, placement, value) in [
        (
            "data.postgres.host",
            d.postgres.placement,
            d.postgres.host.as_str(),
        ),
        ("data.redis.host", d.redis.placement, d.redis.host.as_str()),
    ] {
        // An in-cluster store's host is its Service name.
        if placement == Placement::InCluster && !is_dns_label(value) {
            out.add(
                field,
                format!(
                    "`{}` must be the in-cluster Service name (a DNS label such as `postgres`)",
                    value.escape_debug()
                ),
            );
        } else if placement == Placement::Managed {
            host(out, field, value, false, true);
        }
    }
    if let Some(toolbox) = &d.postgres.toolbox_image {
        if d.postgres.placement == Placement::InCluster {
            out.add(
                "data.postgres.toolboxImage",
                "is only used when placement is `managed` (the toolbox pod reaches the managed server)",
            );
        }
        image(
            out,
            "data.postgres.toolboxImage",
            toolbox,
            ImageKind::Reference,
        );
    }
    for (field, value) in [
        ("data.redis.name", &d.redis.name),
        ("data.redis.resourceGroup", &d.redis.resource_group),
    ] {
        if let Some(value) = value {
            if d.redis.placement == Placement::InCluster {
                out.add(
                    field,
                    "is only used when placement is `managed` (`az redis export`)",
                );
            } else if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
            {
                out.add(
                    field,
                    format!(
                        "`{}` is not an Azure resource name (letters, digits, `-`, `_`, `.`, parentheses)",
                        value.escape_debug()
                    ),
                );
            }
        }
    }
    for (field, value) in [
        ("data.postgres.database", &d.postgres.database),
        ("data.postgres.user", &d.postgres.user),
        ("data.postgres.sslMode", &d.postgres.ssl_mode),
    ] {
        no_control_characters(out, field, value);
    }
    let servers = &d.kafka.bootstrap_servers;
    if no_control_characters(out, "data.kafka.bootstrapServers", servers) {
        let bad = servers.split(',').find(|server| {
            let Some((h, p)) = server.rsplit_once(':') else {
                return true;
            };
            h.is_empty()
                || h.contains(char::is_whitespace)
                || p.parse::<u16>().map_or(true, |p| p == 0)
        });
        if let Some(bad) = bad {
            out.add(
                "data.kafka.bootstrapServers",
                format!(
                    "`{}` is not `host:port` (port 1 to 65535); expected `host:port[,host:port…]`",
                    bad.escape_debug()
                ),
            );
        }
    }
}

fn backup(env: &Environment, out: &mut Findings) {
    let b = &env.backup;
    let required: &[(&str, &Option<String>)] = match b.provider {
        BackupProvider::Azure => &[
            ("backup.account", &b.account),
            ("backup.container", &b.container),
        ],
        BackupProvider::Aws | BackupProvider::Gcp => &[("backup.container", &b.container)],
        BackupProvider::Filesystem => &[("backup.path", &b.path)],
    };
    for (field, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            out.add(*field, "is required for this backup provider");
        }
    }
}

fn monitoring(env: &Environment, out: &mut Findings) {
    let m = &env.monitoring;
    for (field, value) in [
        ("monitoring.prometheusUrl", &m.prometheus_url),
        ("monitoring.grafanaUrl", &m.grafana_url),
        ("monitoring.jaegerUrl", &m.jaeger_url),
        ("monitoring.alertmanager", &m.alertmanager),
    ] {
        if no_control_characters(out, field, value) && value.contains(char::is_whitespace) {
            out.add(
                field,
                format!("`{}` contains a space", value.escape_debug()),
            );
        }
    }
}
