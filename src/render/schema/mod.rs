//! Strict schema validation of rendered manifests, before anything is printed
//! or applied.
//!
//! Built-in kinds are deserialized into their k8s-openapi types. Those types
//! silently drop unknown fields and default missing required ones, which is
//! exactly how a misspelled `resorces:` ships to production unnoticed, so:
//! - unknown fields are found with `serde_ignored`, which reports the path of
//!   every key the typed visitor skipped;
//! - type errors are located by shrinking the document until the error goes
//!   away (serde_json errors on a `Value` carry no path), and every one is
//!   reported, not just the first;
//! - required fields the API server insists on but k8s-openapi defaults
//!   (`metadata.name`, a container's `name` and `image`, …) are checked by hand;
//! - resource quantities are parsed, because `Quantity` is only a string.
//!
//! The one CRD fintechctl renders, the VerticalPodAutoscaler, has no
//! k8s-openapi type; its fields are checked by hand.

use std::fmt;

use serde_json::Value;

use crate::render::Manifest;
mod fields;
mod typed;
mod vpa;

use fields::*;
use typed::*;
use vpa::*;

pub(crate) use crate::names::{
    dns_label_problem, dns_subdomain_problem, label_value_problem, qualified_name_problem,
};

/// One reason a rendered object would be rejected (or silently mangled) by
/// the API server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaViolation {
    /// `Kind/name (template)`, e.g. `Deployment/api-gateway (api-gateway.yaml)`.
    pub object: String,
    /// Field path inside the object, e.g. `spec.template.spec.containers[0].resorces`;
    /// empty when the violation is about the whole object.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.object, self.path, self.message)
        }
    }
}

/// Validates every manifest; returns every violation found, in manifest order.
pub fn validate(manifests: &[Manifest]) -> Vec<SchemaViolation> {
    manifests.iter().flat_map(validate_one).collect()
}

/// A kind this module validates and how: the typed check for a built-in
/// kind, by hand for the VerticalPodAutoscaler CRD.
struct KnownKind {
    api_version: &'static str,
    kind: &'static str,
    check: fn(&Value, &mut Report<'_>),
}

const fn known(
    api_version: &'static str,
    kind: &'static str,
    check: fn(&Value, &mut Report<'_>),
) -> KnownKind {
    KnownKind {
        api_version,
        kind,
        check,
    }
}

/// Every kind fintechctl renders: the one table [`KNOWN_KINDS`] and the
/// checks are both read from.
const KINDS: [KnownKind; 22] = {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac};
    const RBAC: &str = "rbac.authorization.k8s.io/v1";
    const NETWORKING: &str = "networking.k8s.io/v1";
    [
        known("v1", "Namespace", check_typed::<core::v1::Namespace>),
        known(
            "v1",
            "ResourceQuota",
            check_typed::<core::v1::ResourceQuota>,
        ),
        known("v1", "LimitRange", check_typed::<core::v1::LimitRange>),
        known(
            "v1",
            "ServiceAccount",
            check_typed::<core::v1::ServiceAccount>,
        ),
        known("v1", "Secret", check_typed::<core::v1::Secret>),
        known("v1", "ConfigMap", check_typed::<core::v1::ConfigMap>),
        known("v1", "Service", check_typed::<core::v1::Service>),
        known(
            "v1",
            "PersistentVolumeClaim",
            check_typed::<core::v1::PersistentVolumeClaim>,
        ),
        known("apps/v1", "Deployment", check_typed::<apps::v1::Deployment>),
        known(
            "apps/v1",
            "StatefulSet",
            check_typed::<apps::v1::StatefulSet>,
        ),
        known("apps/v1", "DaemonSet", check_typed::<apps::v1::DaemonSet>),
        known("batch/v1", "Job", check_typed::<batch::v1::Job>),
        known("batch/v1", "CronJob", check_typed::<batch::v1::CronJob>),
        known(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            check_typed::<autoscaling::v2::HorizontalPodAutoscaler>,
        ),
        known(
            "policy/v1",
            "PodDisruptionBudget",
            check_typed::<policy::v1::PodDisruptionBudget>,
        ),
        known(
            NETWORKING,
            "NetworkPolicy",
            check_typed::<networking::v1::NetworkPolicy>,
        ),
        known(
            NETWORKING,
            "Ingress",
            check_typed::<networking::v1::Ingress>,
        ),
        known(RBAC, "Role", check_typed::<rbac::v1::Role>),
        known(RBAC, "RoleBinding", check_typed::<rbac::v1::RoleBinding>),
        known(RBAC, "ClusterRole", check_typed::<rbac::v1::ClusterRole>),
        known(
            RBAC,
            "ClusterRoleBinding",
            check_typed::<rbac::v1::ClusterRoleBinding>,
        ),
        known("autoscaling.k8s.io/v1", "VerticalPodAutoscaler", check_vpa),
    ]
};

const fn kind_pairs<const N: usize>(kinds: &[KnownKind; N]) -> [(&'static str, &'static str); N] {
    let mut pairs = [("", ""); N];
    let mut i = 0;
    while i < N {
        pairs[i] = (kinds[i].api_version, kinds[i].kind);
        i += 1;
    }
    pairs
}

/// The `(apiVersion, kind)` pairs this module validates, built-in and CRD.
pub const KNOWN_KINDS: &[(&str, &str)] = &kind_pairs(&KINDS);

fn validate_one(manifest: &Manifest) -> Vec<SchemaViolation> {
    let mut report = Report::new(manifest);
    let object = &manifest.object;
    if !object.is_object() {
        report.whole("a manifest must be a mapping (an object), not a list or a scalar");
        return report.violations;
    }
    let api_version = manifest.api_version();
    let kind = manifest.kind();
    if api_version.is_empty() || kind.is_empty() {
        for field in ["apiVersion", "kind"] {
            if object[field].as_str().is_none_or(str::is_empty) {
                report.at(field, "required field is missing");
            }
        }
        return report.violations;
    }
    match KINDS
        .iter()
        .find(|k| k.api_version == api_version && k.kind == kind)
    {
        Some(known) => (known.check)(object, &mut report),
        None => {
            report.whole(unknown_kind_message(api_version, kind));
            return report.violations;
        }
    }
    check_required(kind, object, &mut report);
    check_quantities(kind, object, &mut report);
    check_names_and_labels(kind, object, &mut report);
    check_selector_matches_template(kind, object, &mut report);
    report.violations
}

fn unknown_kind_message(api_version: &str, kind: &str) -> String {
    let versions: Vec<&str> = KNOWN_KINDS
        .iter()
        .filter(|(_, k)| *k == kind)
        .map(|(v, _)| *v)
        .collect();
    if versions.is_empty() {
        format!(
            "unknown kind `{kind}` (apiVersion `{api_version}`): fintechctl validates only the kinds it renders"
        )
    } else {
        format!(
            "kind `{kind}` is not served as apiVersion `{api_version}`; expected `{}`",
            versions.join("` or `")
        )
    }
}

/// Collects violations for one manifest.
struct Report<'a> {
    manifest: &'a Manifest,
    object: String,
    violations: Vec<SchemaViolation>,
}

impl<'a> Report<'a> {
    fn new(manifest: &'a Manifest) -> Self {
        let name = match manifest.name() {
            "" => "<unnamed>",
            name => name,
        };
        let kind = match manifest.kind() {
            "" => "<no kind>",
            kind => kind,
        };
        Self {
            manifest,
            object: format!("{kind}/{name} ({})", manifest.template),
            violations: Vec::new(),
        }
    }

    fn at(&mut self, path: &str, message: impl Into<String>) {
        self.violations.push(SchemaViolation {
            object: self.object.clone(),
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn whole(&mut self, message: impl Into<String>) {
        self.at("", message);
    }

    /// serde's messages quote the offending value; a Secret's values must
    /// never reach an error message.
    fn error_message(&self, message: &str) -> String {
        if self.manifest.is_secret() {
            "invalid value (not shown: the object is a Secret)".to_string()
        } else {
            message.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api-gateway", "namespace": "fintech-ai-prod",
                         "labels": {"app.kubernetes.io/name": "api-gateway"}},
            "spec": {
                "replicas": 3,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": {"app": "api-gateway"}},
                "template": {
                    "metadata": {"labels": {"app": "api-gateway"}},
                    "spec": {
                        "containers": [{
                            "name": "api-gateway",
                            "image": "fintech-ai/api-gateway:1.4.2",
                            "ports": [{"containerPort": 8000}],
                            "resources": {
                                "requests": {"memory": "512Mi", "cpu": "250m"},
                                "limits": {"memory": "1Gi", "cpu": "500m"}
                            },
                            "livenessProbe": {"httpGet": {"path": "/health", "port": 8000},
                                              "initialDelaySeconds": 30, "periodSeconds": 10}
                        }]
                    }
                }
            }
        })
    }

    fn check(object: Value) -> Vec<SchemaViolation> {
        validate(&[Manifest::new("api-gateway.yaml", object)])
    }

    fn paths(violations: &[SchemaViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.path.as_str()).collect()
    }

    #[test]
    fn a_valid_deployment_passes() {
        assert_eq!(check(deployment()), vec![]);
    }

    #[test]
    fn a_misspelled_field_is_reported_with_its_path() {
        let mut object = deployment();
        let container = &mut object["spec"]["template"]["spec"]["containers"][0];
        let resources = container
            .as_object_mut()
            .unwrap()
            .remove("resources")
            .unwrap();
        container["resorces"] = resources;
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resorces"]
        );
        assert_eq!(
            violations[0].object,
            "Deployment/api-gateway (api-gateway.yaml)"
        );
        assert!(
            violations[0].to_string().contains("unknown field"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn unknown_fields_are_found_at_every_depth() {
        let mut object = deployment();
        object["spec"]["replica"] = json!(3);
        object["metadata"]["lables"] = json!({});
        object["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] =
            json!("/x");
        object["spec"]["strategy"]["rollingUpdate"]["maxSurg"] = json!(1);
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.lables",
                "spec.strategy.rollingUpdate.maxSurg",
                "spec.template.spec.containers[0].livenessProbe.httpGet.paht",
                // Added last, so found last: violations follow document order.
                "spec.replica",
            ]
        );
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        let mut object = deployment();
        object["spec"]["replicas"] = json!("three");
        let violations = check(object);
        assert_eq!(paths(&violations), ["spec.replicas"]);
        assert!(
            violations[0].message.contains("invalid type"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn every_type_error_is_reported_and_unknown_fields_still_found() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] =
            json!("http");
        object["metadata"]["labels"]["app.kubernetes.io/version"] = json!(1.4);
        object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!(["x"]);
        object["spec"]["template"]["spec"]["containers"][0]["resorces"] = json!({});
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.labels[\"app.kubernetes.io/version\"]",
                "spec.template.spec.containers[0].ports[0].containerPort",
                "spec.template.spec.containers[0].imagePullPolicy",
                "spec.template.spec.containers[0].resorces",
            ]
        );
    }

    #[test]
    fn a_wrong_type_for_a_whole_object_is_reported_at_that_object() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"] = json!({"name": "x"});
        let violations = check(object);
        assert_eq!(paths(&violations)[0], "spec.template.spec.containers");
    }

    #[test]
    fn an_unknown_kind_is_reported() {
        let violations =
            check(json!({"apiVersion": "v1", "kind": "Podd", "metadata": {"name": "x"}}));
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].message.contains("unknown kind `Podd`"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn a_known_kind_in_the_wrong_api_version_is_reported() {
        let mut object = deployment();
        object["apiVersion"] = json!("extensions/v1beta1");
        let violations = check(object);
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].message.contains("expected `apps/v1`"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn missing_api_version_and_kind_are_reported() {
        let violations = check(json!({"metadata": {"name": "x"}}));
        assert_eq!(paths(&violations), ["apiVersion", "kind"]);
    }

    #[test]
    fn required_fields_that_k8s_openapi_defaults_are_reported() {
        let mut object = deployment();
        object["metadata"].as_object_mut().unwrap().remove("name");
        let container = object["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap();
        container.remove("image");
        container.insert("name".into(), json!(""));
        let violations = check(object);
        assert_eq!(
            violations[0].object,
            "Deployment/<unnamed> (api-gateway.yaml)"
        );
        assert_eq!(
            paths(&violations),
            [
                "metadata.name",
                "spec.template.spec.containers[0].name",
                "spec.template.spec.containers[0].image",
            ]
        );
    }

    #[test]
    fn a_malformed_quantity_is_reported() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] =
            json!("1GB");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resources.limits.memory"]
        );
    }

    #[test]
    fn a_misspelled_resource_name_is_reported() {
        let mut object = deployment();
        let requests =
            &mut object["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"];
        let memory = requests.as_object_mut().unwrap().remove("memory").unwrap();
        requests["memroy"] = memory;
        requests["nvidia.com/gpu"] = json!("1");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            ["spec.template.spec.containers[0].resources.requests.memroy"]
        );
    }

    #[test]
    fn names_and_labels_are_validated_like_the_api_server_does() {
        let mut object = deployment();
        object["metadata"]["name"] = json!("API_Gateway");
        object["metadata"]["labels"]["app.kubernetes.io/version"] = json!("1.4.2+build.7");
        object["metadata"]["annotations"] = json!({"bad key/x": "1"});
        object["spec"]["template"]["metadata"]["labels"]["-x"] = json!("y");
        let violations = check(object);
        assert_eq!(
            paths(&violations),
            [
                "metadata.name",
                "metadata.labels[\"app.kubernetes.io/version\"]",
                "spec.template.metadata.labels[\"-x\"]",
                "metadata.annotations[\"bad key/x\"]",
            ]
        );
        assert!(
            check(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:cluster-autoscaler"}, "rules": []})
            )
            .is_empty()
        );
    }

    #[test]
    fn a_selector_that_misses_the_template_is_reported() {
        let mut object = deployment();
        object["spec"]["selector"] = json!({"matchLabels": {"app": "api"}});
        assert_eq!(paths(&check(object.clone())), ["spec.selector"]);
        object["spec"]["selector"] = json!({});
        let violations = check(object);
        assert!(
            violations[0].message.contains("empty selector"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn every_rendered_builtin_kind_is_known() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fintech-ai-prod"}}),
            json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                   "spec": {"hard": {"requests.cpu": "16", "requests.memory": "32Gi",
                                     "persistentvolumeclaims": "10"}}}),
            json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"},
                   "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "type": "Opaque", "stringData": {"jwt-secret": "x"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                   "data": {"prometheus.yml": "global: {}"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api-gateway"},
                   "spec": {"selector": {"app": "api-gateway"},
                            "ports": [{"port": 80, "targetPort": 8000}]}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                       {"name": "m", "image": "a:1", "command": ["alembic", "upgrade", "head"]}]}}}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": "api-gateway"},
                            "minReplicas": 3, "maxReplicas": 10,
                            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70}}}],
                            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
                   "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "x"}}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "n"},
                   "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                            "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                   "spec": {"rules": [{"host": "a.example", "http": {"paths": [{"path": "/",
                       "pathType": "Prefix", "backend": {"service": {"name": "s",
                       "port": {"number": 80}}}}]}}]}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "r"},
                   "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "rb"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                   "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "cr"},
                   "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "crb"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "cr"},
                   "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "kube-system"}]}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres"},
                   "spec": {"serviceName": "postgres", "selector": {"matchLabels": {"app": "pg"}},
                            "template": {"metadata": {"labels": {"app": "pg"}},
                                         "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
                            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                "spec": {"accessModes": ["ReadWriteOnce"],
                                         "resources": {"requests": {"storage": "10Gi"}}}}]}}),
            json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                   "metadata": {"name": "v", "labels": {"a": "b"}},
                   "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                            "updatePolicy": {"updateMode": "Off"},
                            "resourcePolicy": {"containerPolicies": [{"containerName": "*",
                                "minAllowed": {"cpu": "100m", "memory": "50Mi"},
                                "maxAllowed": {"cpu": 1, "memory": "500Mi"},
                                "controlledResources": ["cpu", "memory"],
                                "controlledValues": "RequestsAndLimits"}]}}}),
        ];
        let manifests: Vec<Manifest> = objects
            .into_iter()
            .map(|o| Manifest::new("all.yaml", o))
            .collect();
        assert_eq!(validate(&manifests), vec![]);
    }

    #[test]
    fn a_secret_value_never_reaches_a_message() {
        let violations = check(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "data": {"jwt-secret": "hunter2!"},
            "stringData": {"api-key": 123456789}}));
        assert_eq!(
            paths(&violations),
            ["data.jwt-secret", "stringData.api-key"]
        );
        for violation in &violations {
            let shown = violation.to_string();
            assert!(
                !shown.contains("hunter2") && !shown.contains("123456789"),
                "{shown}"
            );
        }
    }

    fn vpa(spec: Value) -> Value {
        json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
               "metadata": {"name": "api-gateway-vpa"}, "spec": spec})
    }

    #[test]
    fn a_bad_vpa_mode_is_reported() {
        let violations = check(vpa(json!({
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"},
            "updatePolicy": {"updateMode": "Automatic"}
        })));
        assert_eq!(paths(&violations), ["spec.updatePolicy.updateMode"]);
        assert!(
            violations[0].message.contains("Automatic"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn vpa_required_and_unknown_fields_are_reported() {
        let violations = check(vpa(json!({
            "targetRef": {"kind": "Deployment", "name": ""},
            "updatPolicy": {},
            "resourcePolicy": {"containerPolicies": [{
                "minAllowed": {"cpu": "lots"},
                "controlledResources": ["cpu", "gpu"],
                "controlledValues": "LimitsOnly"
            }]}
        })));
        assert_eq!(
            paths(&violations),
            [
                "spec.updatPolicy",
                "spec.targetRef.apiVersion",
                "spec.targetRef.name",
                "spec.resourcePolicy.containerPolicies[0].containerName",
                "spec.resourcePolicy.containerPolicies[0].controlledValues",
                "spec.resourcePolicy.containerPolicies[0].controlledResources[1]",
                "spec.resourcePolicy.containerPolicies[0].minAllowed.cpu",
            ]
        );
    }

    #[test]
    fn vpa_metadata_and_top_level_are_checked() {
        let mut object = vpa(
            json!({"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": "x"}}),
        );
        object["metadata"]["lables"] = json!({});
        object["specs"] = json!({});
        let violations = check(object);
        assert_eq!(paths(&violations), ["metadata.lables", "specs"]);
    }
}
