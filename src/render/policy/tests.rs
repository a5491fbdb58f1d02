//! The policy rules on small sets built here, and on the runbook's own objects.

use super::*;
use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::autoscaling::hpa_resources;
use super::pod::image_is_pinned;

const NS: &str = "fintech-ai-prod";

fn container(name: &str, image: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8000}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                      "limits": {"cpu": "500m", "memory": "1Gi"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}},
        "securityContext": {"allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}}
    })
}

fn pod(app: &str, containers: Vec<Value>) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
                                "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": containers
        }
    })
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": {"app": name}},
            "template": pod(name, vec![container(name, &format!("fintech-ai/{name}:1.4.2"))])
        }
    })
}

fn job(name: &str) -> Value {
    let mut migrate = container("migrate", "fintech-ai/api-gateway:1.4.2");
    let fields = migrate.as_object_mut().unwrap();
    for field in ["ports", "livenessProbe", "readinessProbe"] {
        fields.remove(field);
    }
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"template": pod(name, vec![migrate])}
    })
}

fn object(api_version: &str, kind: &str, name: &str, rest: Value) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind,
                            "metadata": {"name": name, "namespace": NS}});
    for (key, value) in rest.as_object().unwrap() {
        object[key] = value.clone();
    }
    object
}

fn quota(hard: Value) -> Value {
    object(
        "v1",
        "ResourceQuota",
        "production-quota",
        json!({"spec": {"hard": hard}}),
    )
}

fn dns_egress() -> Value {
    json!([{"to": [{"namespaceSelector": {}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}])
}

fn hpa(target: &str, min: i64, max: i64) -> Value {
    object(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        target,
        json!({"spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": min, "maxReplicas": max,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70}}},
            {"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
    )
}

fn vpa(target: &str, mode: &str) -> Value {
    object(
        "autoscaling.k8s.io/v1",
        "VerticalPodAutoscaler",
        &format!("{target}-vpa"),
        json!({"spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "updatePolicy": {"updateMode": mode},
            "resourcePolicy": {"containerPolicies": [{"containerName": "*",
                "controlledValues": "RequestsAndLimits"}]}}}),
    )
}

/// A set every rule passes: the production api-gateway as the runbook
/// describes it, fixed where the runbook is wrong.
fn compliant() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        quota(
            json!({"requests.cpu": "16", "requests.memory": "32Gi", "limits.cpu": "32",
                     "limits.memory": "64Gi", "persistentvolumeclaims": "10"}),
        ),
        object(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "default",
            json!({"spec": {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
            "egress": dns_egress()}}),
        ),
        object(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "api-gateway",
            json!({"spec": {
            "podSelector": {"matchLabels": {"app": "api-gateway"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": 8000}]}]}}),
        ),
        job("database-migration"),
        deployment("api-gateway", 3),
        object(
            "v1",
            "Service",
            "api-gateway",
            json!({"spec": {
            "selector": {"app": "api-gateway"}, "ports": [{"port": 80, "targetPort": 8000}]}}),
        ),
        object(
            "policy/v1",
            "PodDisruptionBudget",
            "api-gateway",
            json!({"spec": {
            "minAvailable": 2, "selector": {"matchLabels": {"app": "api-gateway"}}}}),
        ),
        hpa("api-gateway", 3, 10),
        vpa("api-gateway", "Off"),
    ]
}

fn run(objects: Vec<Value>) -> Vec<Finding> {
    run_with(objects, &PolicyOptions::default())
}

fn run_with(objects: Vec<Value>, opts: &PolicyOptions) -> Vec<Finding> {
    let manifests: Vec<Manifest> = objects
        .into_iter()
        .map(|o| Manifest::new("test.yaml", o))
        .collect();
    check(&manifests, opts)
}

fn of_rule(findings: &[Finding], rule: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| format!("{} {}: {}", f.severity, f.object, f.message))
        .collect()
}

fn errors_of_rule(findings: &[Finding], rule: &str) -> Vec<String> {
    let mut found = of_rule(findings, rule);
    found.retain(|f| f.starts_with("error "));
    found
}

/// Finds the object named `name` of `kind` in the set.
fn find<'a>(set: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    set.iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap()
}

fn gateway(set: &mut [Value]) -> &mut Value {
    find(set, "Deployment", "api-gateway")
}

fn gateway_container(set: &mut [Value]) -> &mut Value {
    &mut gateway(set)["spec"]["template"]["spec"]["containers"][0]
}

fn remove(value: &mut Value, field: &str) {
    value.as_object_mut().unwrap().remove(field);
}

#[test]
fn the_compliant_set_has_no_findings() {
    assert_eq!(run(compliant()), vec![]);
}

#[test]
fn rules_have_unique_kebab_case_ids() {
    let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), RULES.len());
    for id in ids {
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{id}"
        );
    }
}

#[test]
fn container_resources_requires_requests_and_limits_in_every_container() {
    let mut set = compliant();
    remove(
        &mut gateway_container(&mut set)["resources"]["limits"],
        "memory",
    );
    let init = json!({"name": "wait", "image": "busybox:1.36",
                      "securityContext": {"allowPrivilegeEscalation": false,
                                          "readOnlyRootFilesystem": true,
                                          "capabilities": {"drop": ["ALL"]}}});
    gateway(&mut set)["spec"]["template"]["spec"]["initContainers"] = json!([init]);
    let found = of_rule(&run(set), CONTAINER_RESOURCES);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains(
            "init container `wait` sets no requests.cpu, requests.memory, limits.cpu, limits.memory"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("container `api-gateway` sets no limits.memory"),
        "{}",
        found[1]
    );
}

#[test]
fn container_resources_rejects_requests_above_limits() {
    let mut set = compliant();
    gateway_container(&mut set)["resources"]["requests"]["cpu"] = json!("2");
    let found = of_rule(&run(set), CONTAINER_RESOURCES);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("more cpu (2) than its limit (500m)"),
        "{}",
        found[0]
    );
}

#[test]
fn probes_are_required_for_serving_workloads_only() {
    let mut set = compliant();
    remove(gateway_container(&mut set), "readinessProbe");
    let found = of_rule(&run(set), PROBES);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "error Deployment/api-gateway: container `api-gateway` has no readinessProbe"
        ),
        "{}",
        found[0]
    );

    // The Job has neither probe and is not asked for one (the compliant set).
    // A Deployment without ports is still serving when a Service selects it.
    let mut set = compliant();
    let container = gateway_container(&mut set);
    remove(container, "ports");
    remove(container, "livenessProbe");
    let found = of_rule(&run(set), PROBES);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("Service/api-gateway sends it traffic"),
        "{}",
        found[0]
    );
}

#[test]
fn pod_security_checks_pod_and_container_contexts() {
    let mut set = compliant();
    gateway(&mut set)["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = json!(0);
    let container = gateway_container(&mut set);
    container["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    container["securityContext"]["capabilities"]["drop"] = json!(["NET_RAW"]);
    container["securityContext"]["privileged"] = json!(true);
    let found = of_rule(&run(set), POD_SECURITY);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("runAsUser is 0 (root), allowPrivilegeEscalation is not false, capabilities.drop does not contain ALL, it is privileged"), "{}", found[0]);

    // A container may set the ids itself.
    let mut set = compliant();
    let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
    remove(&mut pod["securityContext"], "runAsUser");
    pod["containers"][0]["securityContext"]["runAsUser"] = json!(1000);
    pod["hostNetwork"] = json!(true);
    let found = of_rule(&run(set), POD_SECURITY);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("hostNetwork"), "{}", found[0]);
}

#[test]
fn seccomp_needs_runtime_default_on_the_pod_or_every_container() {
    let mut set = compliant();
    let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
    remove(&mut pod["securityContext"], "seccompProfile");
    pod["containers"][0]["securityContext"]["seccompProfile"] = json!({"type": "RuntimeDefault"});
    assert_eq!(of_rule(&run(set.clone()), SECCOMP), Vec::<String>::new());

    let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
    pod["containers"][0]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
    let found = of_rule(&run(set), SECCOMP);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("container `api-gateway` run(s) without a seccomp profile"),
        "{}",
        found[0]
    );
}

#[test]
fn pinned_images_is_an_error_when_required_and_a_warning_otherwise() {
    for (image, pinned) in [
        ("fintech-ai/api-gateway:1.4.2", true),
        ("registry.local:5000/api-gateway@sha256:0123abcd", true),
        ("fintech-ai/api-gateway:latest", false),
        ("fintech-ai/api-gateway", false),
        ("registry.local:5000/api-gateway", false),
    ] {
        assert_eq!(image_is_pinned(image).is_ok(), pinned, "{image}");
    }
    let mut set = compliant();
    gateway_container(&mut set)["image"] = json!("fintech-ai/api-gateway:latest");
    let found = of_rule(&run(set.clone()), PINNED_IMAGES);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("error Deployment/api-gateway: container `api-gateway` image `fintech-ai/api-gateway:latest` is tagged `latest`"), "{}", found[0]);
    let relaxed = PolicyOptions {
        require_pinned_images: false,
    };
    let found = of_rule(&run_with(set, &relaxed), PINNED_IMAGES);
    assert!(found[0].starts_with("warning "), "{}", found[0]);
}

#[test]
fn pdb_is_required_for_replicated_workloads() {
    let mut set = compliant();
    find(&mut set, "PodDisruptionBudget", "api-gateway")["spec"]["selector"] =
        json!({"matchLabels": {"app": "frontend"}});
    let found = of_rule(&run(set.clone()), PDB);
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("at least 3 replicas (HorizontalPodAutoscaler/api-gateway) but no PodDisruptionBudget selects its pods (app=api-gateway)"), "{}", found[0]);

    // One replica and no HPA: no PDB needed.
    set.retain(|o| o["kind"] != "HorizontalPodAutoscaler");
    gateway(&mut set)["spec"]["replicas"] = json!(1);
    assert_eq!(of_rule(&run(set), PDB), Vec::<String>::new());
}

#[test]
fn pdb_that_blocks_every_eviction_is_reported() {
    let mut set = compliant();
    find(&mut set, "PodDisruptionBudget", "api-gateway")["spec"] = json!({"minAvailable": "100%", "selector": {"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["api-gateway"]}]}});
    let found = of_rule(&run(set), PDB);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("allows no voluntary disruption"),
        "{}",
        found[0]
    );
}

#[test]
fn network_policy_must_select_every_workload() {
    let mut set = compliant();
    find(&mut set, "NetworkPolicy", "default")["spec"]["podSelector"] = json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["database-migration"]}]});
    let found = of_rule(&run(set), NETWORK_POLICY);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("error Job/database-migration: no NetworkPolicy in namespace `fintech-ai-prod` selects its pods (app=database-migration)"), "{}", found[0]);
}

#[test]
fn network_policy_dns_catches_the_runbooks_egress_policy() {
    let mut set = compliant();
    // The runbook's policy: egress to postgres and redis only.
    find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([
        {"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
         "ports": [{"protocol": "TCP", "port": 5432}]},
        {"ports": [{"protocol": "UDP", "port": 53}]}]);
    let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("error NetworkPolicy/default: restricts egress of Job/database-migration, Deployment/api-gateway but no egress rule allows DNS to kube-system (TCP 53)"), "{}", found[0]);

    // Another policy selecting the same pods may allow it: policies add up.
    set.push(object(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "dns",
        json!({"spec": {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"ports": [{"protocol": "TCP", "port": "dns-tcp"}]}]}}),
    ));
    assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
}

#[test]
fn network_policy_dns_catches_the_runbook_api_gateway_policy_verbatim() {
    let mut set = compliant();
    set.retain(|o| o["kind"] != "NetworkPolicy");
    set.push(object(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "api-gateway-policy",
        json!({"spec": {
        "podSelector": {"matchLabels": {"app": "api-gateway"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
                     "ports": [{"protocol": "TCP", "port": 8000}]}],
        "egress": [
            {"to": [{"podSelector": {"matchLabels": {"app": "ml-service"}}}],
             "ports": [{"protocol": "TCP", "port": 8001}]},
            {"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
             "ports": [{"protocol": "TCP", "port": 5432}]}]}}),
    ));
    let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
    assert_eq!(
        found,
        [
            "error NetworkPolicy/api-gateway-policy: restricts egress of Deployment/api-gateway but no egress rule allows DNS to kube-system (TCP 53, UDP 53): the pods cannot resolve any service name; allow UDP and TCP port 53 to kube-dns"
        ]
    );
    // The policy covers api-gateway only; the migration Job has none.
    assert_eq!(of_rule(&run(set), NETWORK_POLICY).len(), 1);
}

#[test]
fn network_policy_dns_needs_a_peer_in_kube_system() {
    let mut set = compliant();
    let dns = json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]);
    // A podSelector alone selects kube-dns in the policy's own namespace: no DNS.
    find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] =
        json!([{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
    let found = of_rule(&run(set.clone()), NETWORK_POLICY_DNS);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("only to peers outside kube-system"),
        "{}",
        found[0]
    );
    // `name: kube-system` is not a label Kubernetes puts on the namespace.
    find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([{"to": [{
        "namespaceSelector": {"matchLabels": {"name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
    assert_eq!(of_rule(&run(set.clone()), NETWORK_POLICY_DNS).len(), 1);

    find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([{"to": [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns}]);
    assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
}

#[test]
fn network_policy_dns_accepts_pods_denied_all_egress() {
    let mut set = compliant();
    find(&mut set, "NetworkPolicy", "default")["spec"]["egress"] = json!([]);
    assert_eq!(of_rule(&run(set), NETWORK_POLICY_DNS), Vec::<String>::new());
}

#[test]
fn hpa_vpa_conflict_catches_the_runbooks_auto_vpa() {
    let mut set = compliant();
    *find(&mut set, "VerticalPodAutoscaler", "api-gateway-vpa") = vpa("api-gateway", "Auto");
    let found = of_rule(&run(set.clone()), HPA_VPA_CONFLICT);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("error VerticalPodAutoscaler/api-gateway-vpa: updateMode `Auto` changes the cpu and memory requests of Deployment/api-gateway while HorizontalPodAutoscaler/api-gateway scales it on cpu and memory"), "{}", found[0]);

    // Controlling only what the HPA does not scale on is fine.
    let vpa = find(&mut set, "VerticalPodAutoscaler", "api-gateway-vpa");
    vpa["spec"]["resourcePolicy"]["containerPolicies"][0]["controlledResources"] =
        json!(["memory"]);
    let hpa = find(&mut set, "HorizontalPodAutoscaler", "api-gateway");
    hpa["spec"]["metrics"].as_array_mut().unwrap().truncate(1);
    assert_eq!(of_rule(&run(set), HPA_VPA_CONFLICT), Vec::<String>::new());
}

#[test]
fn an_hpa_without_metrics_scales_on_cpu() {
    assert_eq!(hpa_resources(&json!({})), BTreeSet::from(["cpu"]));
}

#[test]
fn quota_headroom_counts_max_surge_at_the_peak() {
    // 3 + 1 api-gateway pods × 250m, plus the migration job's 250m = 1250m.
    let mut set = compliant();
    *find(&mut set, "ResourceQuota", "production-quota") = quota(json!({"requests.cpu": "1250m"}));
    assert_eq!(
        errors_of_rule(&run(set.clone()), QUOTA_HEADROOM),
        Vec::<String>::new()
    );

    *find(&mut set, "ResourceQuota", "production-quota") =
        quota(json!({"requests.cpu": "1", "pods": "5"}));
    let found = errors_of_rule(&run(set), QUOTA_HEADROOM);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("error ResourceQuota/production-quota: requests.cpu: the rollout peak needs 1250m but the quota allows 1 in namespace `fintech-ai-prod`; biggest: Deployment/api-gateway 4 × 250m = 1 (HorizontalPodAutoscaler/api-gateway minReplicas 3 + maxSurge 1), Job/database-migration 1 × 250m = 250m (parallelism 1)"), "{}", found[0]);
}

#[test]
fn quota_headroom_warns_when_the_hpa_maximum_does_not_fit() {
    // At maxReplicas 10: 11 pods × 512Mi + 512Mi for the job = 6Gi.
    let mut set = compliant();
    *find(&mut set, "ResourceQuota", "production-quota") = quota(json!({"requests.memory": "4Gi"}));
    let found = of_rule(&run(set), QUOTA_HEADROOM);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("warning ResourceQuota/production-quota: requests.memory: with the HPAs at maxReplicas the rollout peak needs 6Gi but the quota allows 4Gi"), "{}", found[0]);
}

#[test]
fn quota_headroom_uses_default_surge_percentages_and_statefulset_claims() {
    let mut set = compliant();
    set.retain(|o| o["kind"] != "HorizontalPodAutoscaler" && o["kind"] != "Job");
    let deployment = gateway(&mut set);
    deployment["spec"]["replicas"] = json!(10);
    remove(&mut deployment["spec"], "strategy");
    let mut postgres = deployment.clone();
    postgres["kind"] = json!("StatefulSet");
    postgres["metadata"]["name"] = json!("postgres");
    postgres["spec"]["replicas"] = json!(2);
    postgres["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
        "spec": {"resources": {"requests": {"storage": "10Gi"}}}}]);
    set.push(postgres);
    set.push(object(
        "v1",
        "PersistentVolumeClaim",
        "uploads",
        json!({"spec": {
        "resources": {"requests": {"storage": "1Gi"}}}}),
    ));
    *find(&mut set, "ResourceQuota", "production-quota") = quota(json!({
        // 10 + ceil(25% of 10) = 13 pods, plus 2 postgres pods.
        "limits.memory": "15Gi", "pods": "14",
        "persistentvolumeclaims": "2", "requests.storage": "21Gi"}));
    let found = of_rule(&run(set), QUOTA_HEADROOM);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("pods: the rollout peak needs 15 but the quota allows 14"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("Deployment/api-gateway 13 (10 replicas + maxSurge 25% (default))"),
        "{}",
        found[0]
    );
    assert!(
        found[1]
            .contains("persistentvolumeclaims: the rollout peak needs 3 but the quota allows 2"),
        "{}",
        found[1]
    );
}

#[test]
fn quota_headroom_applies_limit_range_defaults_and_init_containers() {
    let mut set = compliant();
    set.retain(|o| o["kind"] != "Job");
    let pod = &mut gateway(&mut set)["spec"]["template"]["spec"];
    remove(&mut pod["containers"][0]["resources"]["requests"], "memory");
    pod["initContainers"] = json!([{"name": "warm-cache", "image": "x:1",
        "resources": {"requests": {"cpu": "2", "memory": "64Mi"},
                      "limits": {"cpu": "2", "memory": "64Mi"}}}]);
    *find(&mut set, "ResourceQuota", "production-quota") =
        quota(json!({"requests.memory": "10Gi", "requests.cpu": "6"}));
    // Without a default, the memory request falls back to the limit (1Gi):
    // 4 pods × max(1Gi, 64Mi) = 4Gi fits; cpu: 4 × max(250m, 2) = 8 does not.
    let found = errors_of_rule(&run(set.clone()), QUOTA_HEADROOM);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("requests.cpu: the rollout peak needs 8 but"),
        "{}",
        found[0]
    );

    // With neither request nor limit nor default, the pods are rejected.
    remove(
        &mut gateway_container(&mut set)["resources"]["limits"],
        "memory",
    );
    let found = errors_of_rule(&run(set.clone()), QUOTA_HEADROOM);
    assert!(found[0].contains("caps requests.memory, but Deployment/api-gateway (container `api-gateway`) set(s) no requests.memory"), "{}", found[0]);

    set.push(object(
        "v1",
        "LimitRange",
        "defaults",
        json!({"spec": {"limits": [
        {"type": "Container", "default": {"memory": "3Gi"}}]}}),
    ));
    let found = errors_of_rule(&run(set), QUOTA_HEADROOM);
    assert!(
        found[0].contains("requests.memory: the rollout peak needs 12Gi but the quota allows 10Gi"),
        "{}",
        found[0]
    );
}

#[test]
fn a_skip_with_a_reason_silences_the_rule_for_that_object() {
    let mut set = compliant();
    gateway_container(&mut set)["image"] = json!("postgres");
    gateway(&mut set)["metadata"]["annotations"] = json!({
        SKIP_ANNOTATION: "pinned-images, seccomp",
        SKIP_REASON_ANNOTATION: "local data store, third-party image"});
    assert_eq!(run(set), vec![]);
}

#[test]
fn a_skip_without_a_reason_is_an_error_and_is_ignored() {
    let mut set = compliant();
    gateway_container(&mut set)["image"] = json!("postgres");
    gateway(&mut set)["metadata"]["annotations"] = json!({SKIP_ANNOTATION: "pinned-images"});
    let findings = run(set.clone());
    assert_eq!(of_rule(&findings, PINNED_IMAGES).len(), 1);
    assert_eq!(of_rule(&findings, POLICY_SKIP).len(), 1);

    gateway(&mut set)["metadata"]["annotations"] = json!({
        SKIP_ANNOTATION: "pinned-image", SKIP_REASON_ANNOTATION: "typo"});
    let found = of_rule(&run(set), POLICY_SKIP);
    assert!(
        found[0].contains("unknown rule `pinned-image`"),
        "{}",
        found[0]
    );
}

#[test]
fn findings_are_ordered_by_object_then_rule() {
    let mut set = compliant();
    gateway_container(&mut set)["image"] = json!("x");
    remove(gateway_container(&mut set), "resources");
    set.swap(4, 5);
    find(&mut set, "Job", "database-migration")["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("y");
    let order: Vec<(String, &str)> = run(set)
        .into_iter()
        .filter(|f| f.rule != QUOTA_HEADROOM)
        .map(|f| (f.object, f.rule))
        .collect();
    assert_eq!(
        order,
        [
            ("Deployment/api-gateway".to_string(), CONTAINER_RESOURCES),
            ("Deployment/api-gateway".to_string(), PINNED_IMAGES),
            ("Job/database-migration".to_string(), PINNED_IMAGES),
        ]
    );
}

#[test]
fn objects_outside_the_checks_are_ignored() {
    let findings = run(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        object("v1", "ConfigMap", "grafana", json!({"data": {"a": "b"}})),
    ]);
    assert_eq!(findings, vec![]);
}
