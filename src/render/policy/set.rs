//! The manifest set indexed for the rules: the workloads (objects that run
//! pods from a template), their containers and the objects that refer to them.

use serde_json::{Map, Value};

use crate::render::Manifest;

/// The manifest set, indexed for the checks.
pub(super) struct Set<'a> {
    pub(super) manifests: &'a [Manifest],
    pub(super) workloads: Vec<Workload<'a>>,
}

/// An object that runs pods from a template.
pub(super) struct Workload<'a> {
    pub(super) index: usize,
    pub(super) manifest: &'a Manifest,
    pub(super) kind: &'a str,
    pub(super) name: &'a str,
    pub(super) namespace: &'a str,
    /// The pod template's labels (what selectors match against).
    pub(super) labels: Map<String, Value>,
    /// The pod spec of the template.
    pub(super) pod: &'a Value,
}

impl<'a> Set<'a> {
    pub(super) fn new(manifests: &'a [Manifest]) -> Self {
        let workloads = manifests
            .iter()
            .enumerate()
            .filter_map(|(index, manifest)| {
                let template = pod_template(manifest)?;
                Some(Workload {
                    index,
                    manifest,
                    kind: manifest.kind(),
                    name: manifest.name(),
                    namespace: namespace(manifest),
                    labels: template["metadata"]["labels"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    pod: &template["spec"],
                })
            })
            .collect();
        Self {
            manifests,
            workloads,
        }
    }

    /// Objects of `kind` in `namespace`, with their place in the set.
    pub(super) fn of_kind<'s>(
        &'s self,
        kind: &'s str,
        namespace: &'s str,
    ) -> impl Iterator<Item = (usize, &'a Manifest)> + 's {
        self.manifests
            .iter()
            .enumerate()
            .filter(move |(_, m)| m.kind() == kind && self::namespace(m) == namespace)
    }

    /// The HPA that scales `workload`, if one is in the set.
    pub(super) fn hpa_for(&self, workload: &Workload) -> Option<&'a Manifest> {
        self.of_kind("HorizontalPodAutoscaler", workload.namespace)
            .map(|(_, m)| m)
            .find(|hpa| targets(&hpa.object["spec"]["scaleTargetRef"], workload))
    }

    /// The workload a `targetRef`/`scaleTargetRef` in `namespace` names.
    pub(super) fn target(&self, reference: &Value, namespace: &str) -> Option<&Workload<'a>> {
        self.workloads
            .iter()
            .find(|w| w.namespace == namespace && targets(reference, w))
    }
}

pub(super) fn namespace(manifest: &Manifest) -> &str {
    manifest.namespace().unwrap_or("")
}

pub(super) fn targets(reference: &Value, workload: &Workload) -> bool {
    reference["kind"].as_str() == Some(workload.kind)
        && reference["name"].as_str() == Some(workload.name)
}

/// Where a kind keeps its pod template (a bare Pod is its own template).
pub(super) fn pod_template(manifest: &Manifest) -> Option<&Value> {
    let object = &manifest.object;
    match manifest.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some(&object["spec"]["template"]),
        "CronJob" => Some(&object["spec"]["jobTemplate"]["spec"]["template"]),
        "Pod" => Some(object),
        _ => None,
    }
    .filter(|template| template.is_object())
}

impl Workload<'_> {
    pub(super) fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Init containers then app containers, each with how to call it.
    pub(super) fn containers(&self) -> Vec<Container<'_>> {
        let list = |field: &str, init: bool| {
            self.pod[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| Container {
                    name: c["name"].as_str().unwrap_or("<unnamed>"),
                    init,
                    spec: c,
                })
        };
        list("initContainers", true)
            .chain(list("containers", false))
            .collect()
    }

    pub(super) fn labels_text(&self) -> String {
        let pairs: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        if pairs.is_empty() {
            "no labels".into()
        } else {
            pairs.join(",")
        }
    }
}

pub(super) struct Container<'a> {
    pub(super) name: &'a str,
    pub(super) init: bool,
    pub(super) spec: &'a Value,
}

impl Container<'_> {
    pub(super) fn describe(&self) -> String {
        if self.init {
            format!("init container `{}`", self.name)
        } else {
            format!("container `{}`", self.name)
        }
    }

    /// Init containers with `restartPolicy: Always` are sidecars: they run
    /// for the pod's lifetime like app containers.
    pub(super) fn is_sidecar(&self) -> bool {
        self.init && self.spec["restartPolicy"].as_str() == Some("Always")
    }
}
