//! What people read: `kubectl describe`-like text of a pod, one line per event.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Event, Pod};

use crate::cluster::events;

/// A `kubectl describe pod`-like text.
pub fn describe_pod(pod: &Pod) -> String {
    let mut out = String::new();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    field(&mut out, 0, "Name", meta.name.as_deref().unwrap_or(""));
    field(
        &mut out,
        0,
        "Namespace",
        meta.namespace.as_deref().unwrap_or(""),
    );
    field(
        &mut out,
        0,
        "Node",
        spec.and_then(|s| s.node_name.as_deref())
            .unwrap_or("<none>"),
    );
    if let Some(start) = status.and_then(|s| s.start_time.as_ref()) {
        field(&mut out, 0, "Start Time", &start.0.to_string());
    }
    let phase = if meta.deletion_timestamp.is_some() {
        "Terminating"
    } else {
        status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown")
    };
    field(&mut out, 0, "Status", phase);
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        field(&mut out, 0, "Reason", reason);
    }
    if let Some(message) = status.and_then(|s| s.message.as_deref()) {
        field(&mut out, 0, "Message", message);
    }
    if let Some(ip) = status.and_then(|s| s.pod_ip.as_deref()) {
        field(&mut out, 0, "IP", ip);
    }
    if let Some(owner) = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    {
        field(
            &mut out,
            0,
            "Controlled By",
            &format!("{}/{}", owner.kind, owner.name),
        );
    }

    let sections = [
        (
            "Init Containers",
            spec.map(|s| s.init_containers.as_deref().unwrap_or_default()),
            status.and_then(|s| s.init_container_statuses.as_deref()),
        ),
        (
            "Containers",
            spec.map(|s| s.containers.as_slice()),
            status.and_then(|s| s.container_statuses.as_deref()),
        ),
    ];
    for (title, containers, statuses) in sections {
        let containers = containers.unwrap_or_default();
        if containers.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for container in containers {
            let status = statuses
                .unwrap_or_default()
                .iter()
                .find(|s| s.name == container.name);
            let _ = writeln!(out, "  {}:", container.name);
            field(
                &mut out,
                4,
                "Image",
                container.image.as_deref().unwrap_or("<none>"),
            );
            describe_container_status(&mut out, status);
        }
    }

    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    if !conditions.is_empty() {
        let _ = writeln!(out, "Conditions:");
        let _ = writeln!(out, "  {:<28}{:<8}Reason", "Type", "Status");
        for c in conditions {
            let line = format!(
                "  {:<28}{:<8}{}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("")
            );
            let _ = writeln!(out, "{}", line.trim_end());
            if let Some(message) = c.message.as_deref().filter(|m| !m.is_empty()) {
                let _ = writeln!(out, "    {message}");
            }
        }
    }
    out
}

/// One `Key:  value` line; values below a container line up with the
/// container's own (`State:` and its `Reason:`).
fn field(out: &mut String, indent: usize, key: &str, value: &str) {
    let width = 16usize.saturating_sub(indent.saturating_sub(4));
    let label = format!("{key}:");
    let _ = writeln!(out, "{:indent$}{label:<width$}{value}", "");
}

fn describe_container_status(out: &mut String, status: Option<&ContainerStatus>) {
    let Some(status) = status else {
        field(out, 4, "State", "<no status reported>");
        return;
    };
    describe_state(out, "State", status.state.as_ref());
    if status
        .last_state
        .as_ref()
        .is_some_and(|s| s.running.is_some() || s.terminated.is_some() || s.waiting.is_some())
    {
        describe_state(out, "Last State", status.last_state.as_ref());
    }
    field(out, 4, "Ready", if status.ready { "True" } else { "False" });
    field(out, 4, "Restart Count", &status.restart_count.to_string());
}

fn describe_state(out: &mut String, title: &str, state: Option<&ContainerState>) {
    let Some(state) = state else {
        field(out, 4, title, "<unknown>");
        return;
    };
    if let Some(waiting) = &state.waiting {
        field(out, 4, title, "Waiting");
        if let Some(reason) = &waiting.reason {
            field(out, 6, "Reason", reason);
        }
        if let Some(message) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
            field(out, 6, "Message", message);
        }
    } else if let Some(running) = &state.running {
        field(out, 4, title, "Running");
        if let Some(at) = &running.started_at {
            field(out, 6, "Started", &at.0.to_string());
        }
    } else if let Some(terminated) = &state.terminated {
        field(out, 4, title, "Terminated");
        if let Some(reason) = &terminated.reason {
            field(out, 6, "Reason", reason);
        }
        if let Some(message) = terminated.message.as_deref().filter(|m| !m.is_empty()) {
            field(out, 6, "Message", message);
        }
        field(out, 6, "Exit Code", &terminated.exit_code.to_string());
        if let Some(signal) = terminated.signal {
            field(out, 6, "Signal", &signal.to_string());
        }
        if let Some(at) = &terminated.started_at {
            field(out, 6, "Started", &at.0.to_string());
        }
        if let Some(at) = &terminated.finished_at {
            field(out, 6, "Finished", &at.0.to_string());
        }
    } else {
        field(out, 4, title, "<unknown>");
    }
}

/// `2026-01-01T12:00:30Z Warning BackOff: Back-off restarting failed container (x4)`.
pub fn event_line(event: &Event) -> String {
    let at = events::last_seen(event)
        .map(|t| t.to_string())
        .unwrap_or_else(|| "<unknown time>".into());
    format!(
        "{at} {} {}",
        event.type_.as_deref().unwrap_or("Normal"),
        events::describe(event)
    )
}
