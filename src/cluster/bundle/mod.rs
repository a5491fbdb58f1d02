//! The debug bundle: one `.tar.gz` with the evidence on-call attaches to an
//! incident — written by the same code for `fintechctl debug bundle` (the
//! whole environment) and for a failed deploy's evidence (the failing
//! workloads, collected *before* a rollback replaces the pods).
//!
//! Three seams: [`collect`] gathers (never fails: whatever cannot be
//! fetched is written down in [`DebugBundle::missing`], because a half
//! bundle beats none when a rollback is about to destroy the rest),
//! [`describe`] turns objects into the `kubectl describe`-like text people
//! read, and [`write`] lays the bundle out as files in a gzip'd tar,
//! written atomically (temp file, fsync, then a link that never replaces
//! another bundle) and readable by its owner only. Secret values never
//! reach the file: every object goes through
//! [`crate::redact::mask_for_sharing`] (Secret `data`, secret-looking env
//! values, last-applied annotations) and every file through the redactor
//! (the values fintechctl was given and the live Secrets' values).

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::diagnosis::FailureCard;
use super::metrics::ContainerUsage;

pub mod collect;
pub mod describe;
pub mod write;

pub use collect::{collect, collect_environment, selector_string};
pub use describe::{describe_pod, event_line};
pub use write::{Target, check_target, file_name, layout, write, write_to};

/// Log lines kept per container instance.
pub const BUNDLE_LOG_LINES: i64 = 200;
/// Events kept per object.
pub const BUNDLE_EVENTS: usize = 50;
/// Pods collected for a failure card that names no pod.
const NEWEST_PODS: usize = 3;

/// Everything collected for a bundle. The deploy's evidence fills the
/// failures, pods and workload events; `debug bundle` fills the rest too.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugBundle {
    pub environment: String,
    pub namespace: String,
    /// RFC 3339, whole seconds, UTC.
    pub created_at: String,
    /// The release revision the failed deploy recorded (the latest one for `debug bundle`).
    pub revision: Option<u32>,
    /// The version being deployed (live for `debug bundle`).
    pub version: String,
    pub failures: Vec<FailureCard>,
    pub pods: Vec<PodEvidence>,
    /// Events of the failing workloads (and of a Deployment's ReplicaSets),
    /// one line each, prefixed with the object.
    pub workload_events: Vec<String>,
    /// Every event of the namespace, oldest first (`debug bundle`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The namespace's objects by resource (`deployments`, `secrets`…), as
    /// Lists; masked when written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectList>,
    /// The triage report (`debug bundle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<Value>,
    /// The release history without manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Value>,
    /// The rendered release of the latest revision, as recorded (secret
    /// values as digests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<Value>,
    /// How the live workloads differ from the latest revision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// Resource use against requests and limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<ContainerUsage>,
    /// Evidence that could not be fetched, and why.
    pub missing: Vec<String>,
}

/// The objects of one resource, as a `List`.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectList {
    /// The plural resource name: `deployments`, `secrets`.
    pub resource: String,
    pub list: Value,
}

/// One pod's evidence.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodEvidence {
    pub name: String,
    /// The Pod as the API server returned it, `managedFields` removed and
    /// secret values masked; `null` when it could not be read.
    pub object: Value,
    /// `kubectl describe pod`-like text: phase, conditions, each
    /// container's state, last state, restarts and image, the node.
    pub describe: String,
    pub logs: Vec<ContainerLogs>,
    /// The pod's events, oldest first.
    pub events: Vec<String>,
}

/// The last [`BUNDLE_LOG_LINES`] lines of one container's logs.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerLogs {
    pub container: String,
    pub current: Option<String>,
    /// The previous (crashed) instance; `None` when the container never restarted.
    pub previous: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("creating the bundle directory {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the debug bundle {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--to {}: {reason}", path.display())]
    Target { path: PathBuf, reason: String },
    #[error("serializing the debug bundle for {}: {source}", path.display())]
    Serialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Mask what must never be written (see [`crate::redact::mask_for_sharing`]).
pub fn mask_object(value: &mut Value) {
    crate::redact::mask_for_sharing(value);
}

#[cfg(test)]
mod tests {
    use super::write::write_atomically;
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    use serde_json::json;
    use std::io::{Read, Write as _};
    use std::path::Path;

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn crash_looping_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-gateway-5d9-x1", "namespace": "fintech-ai-prod",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": "api-gateway-5d9", "uid": "u", "controller": true}],
                         "managedFields": [{"manager": "kube-controller-manager"}]},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "api", "image": "registry.example/api-gateway:1.4.2",
                 "env": [{"name": "JWT_SECRET", "value": "hunter2"},
                         {"name": "LOG_LEVEL", "value": "info"},
                         {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]},
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unready status: [api]"},
                ],
                "containerStatuses": [{
                    "name": "api", "image": "registry.example/api-gateway:1.4.2", "imageID": "",
                    "ready": false, "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s restarting failed container=api"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                 "startedAt": "2026-01-01T12:00:00Z",
                                                 "finishedAt": "2026-01-01T12:00:01Z"}},
                }],
            },
        })
    }

    #[test]
    fn describe_shows_phase_node_conditions_and_each_containers_state() {
        let text = describe_pod(&pod(crash_looping_pod()));
        for expected in [
            "Name:           api-gateway-5d9-x1",
            "Node:           node-1",
            "Status:         Running",
            "Controlled By:  ReplicaSet/api-gateway-5d9",
            "Containers:\n  api:\n    Image:          registry.example/api-gateway:1.4.2",
            "    State:          Waiting\n      Reason:       CrashLoopBackOff",
            "    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1",
            "    Ready:          False\n    Restart Count:  4",
            "  Ready                       False   ContainersNotReady\n    containers with unready status: [api]",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("Init Containers"));
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn describe_copes_with_a_pod_without_status() {
        let text = describe_pod(&pod(json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]}})));
        assert!(text.contains("Node:           <none>"), "{text}");
        assert!(text.contains("Status:         Unknown"), "{text}");
        assert!(
            text.contains("State:          <no status reported>"),
            "{text}"
        );
    }

    #[test]
    fn masking_removes_secret_values_and_managed_fields() {
        let mut object = crash_looping_pod();
        mask_object(&mut object);
        let text = object.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains("\"info\""), "{text}");
        assert!(text.contains("secretKeyRef"), "{text}");

        let mut secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"aHVudGVyMg==\"}}"}},
            "data": {"a": "aHVudGVyMg=="}, "stringData": {"b": "hunter2"}});
        mask_object(&mut secret);
        let text = secret.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg=="),
            "{text}"
        );
        assert_eq!(secret["data"]["a"], crate::redact::REDACTED);

        let mut list = json!({"items": [{"kind": "Secret", "data": {"a": "aHVudGVyMg=="}}]});
        mask_object(&mut list);
        assert_eq!(list["items"][0]["data"]["a"], crate::redact::REDACTED);
    }

    #[test]
    fn secret_looking_names() {
        for name in [
            "JWT_SECRET",
            "API_KEY",
            "POSTGRES_PASSWORD",
            "github_token",
            "SENTRY_DSN",
        ] {
            assert!(crate::redact::looks_secret(name), "{name}");
        }
        for name in ["LOG_LEVEL", "POSTGRES_HOST", "KEYCLOAK_REALM_NAME"] {
            assert!(!crate::redact::looks_secret(name), "{name}");
        }
    }

    #[test]
    fn file_names_carry_environment_and_utc_second() {
        assert_eq!(
            file_name("production", "2026-11-26T13:45:23Z"),
            "fintechctl-debug-production-20261126T134523Z.tar.gz"
        );
        assert_eq!(
            file_name("a/b c", "2026-01-02T03:04:05.678Z"),
            "fintechctl-debug-a-b-c-20260102T030405Z.tar.gz"
        );
    }

    #[test]
    fn selectors_become_query_strings() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app.kubernetes.io/name": "api-gateway"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }))
        .unwrap();
        assert_eq!(
            selector_string(&selector),
            "app.kubernetes.io/name=api-gateway,tier in (a,b),!canary"
        );
    }

    fn bundle() -> DebugBundle {
        DebugBundle {
            environment: "staging".into(),
            namespace: "fintech-ai-staging".into(),
            created_at: "2026-11-26T13:45:23Z".into(),
            revision: Some(7),
            version: "1.4.2".into(),
            failures: vec![],
            pods: vec![PodEvidence {
                name: "p".into(),
                object: crash_looping_pod(),
                describe: String::new(),
                logs: vec![],
                events: vec![],
            }],
            workload_events: vec![],
            missing: vec![],
            ..DebugBundle::default()
        }
    }

    /// Every file of a bundle by its path below the bundle's directory.
    fn unpack(path: &Path) -> std::collections::BTreeMap<String, String> {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut files = std::collections::BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            let (_, inner) = name.split_once('/').unwrap();
            files.insert(inner.to_string(), text);
        }
        files
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fintechctl-bundle-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn write_creates_the_directory_masks_and_never_overwrites() {
        let dir = scratch_dir("write").join("nested");
        let path = write(&bundle(), &dir, &crate::redact::Redactor::default()).unwrap();
        assert_eq!(
            path,
            dir.join("fintechctl-debug-staging-20261126T134523Z.tar.gz")
        );
        let unpacked = unpack(&path);
        let text = format!("{unpacked:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        let read: Value = serde_json::from_str(&unpacked["summary.json"]).unwrap();
        assert_eq!(read["revision"], 7);
        assert!(
            unpacked.contains_key("pods/p/pod.json"),
            "{:?}",
            unpacked.keys()
        );

        let second = write(&bundle(), &dir, &crate::redact::Redactor::default()).unwrap();
        assert_eq!(
            second,
            dir.join("fintechctl-debug-staging-20261126T134523Z-2.tar.gz")
        );
        assert_eq!(files(&dir).len(), 2);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_interrupted_write_leaves_no_file() {
        let dir = scratch_dir("interrupted");
        let error = write_atomically(&dir, "fintechctl-debug-x.json", |file| {
            file.write_all(b"{\"environment\": \"sta")?;
            Err(std::io::Error::other("disk full").into())
        })
        .unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
        assert!(
            error.to_string().contains("fintechctl-debug-x.json"),
            "{error}"
        );
        assert!(files(&dir).is_empty(), "{:?}", files(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
