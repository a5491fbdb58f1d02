//! The canary's objects, derived from the rendered release (pure: no
//! cluster). For every application Deployment whose image changes:
//! `<name>-canary` with the new version and `fintechctl.io/track: canary`;
//! for the services behind the ingress (api-gateway, frontend) a canary
//! Service and one canary Ingress per Ingress routing to them, with
//! ingress-nginx's `canary` / `canary-weight` annotations; ml-service's
//! canary is a share of the pods behind its one Service.
//!
//! Every canary object carries [`CANARY_LABEL`] (the environment): prune
//! leaves them alone, and any command finds them by it.

use serde_json::{Map, Value, json};

use crate::render::{Manifest, labels};

/// The pod label that tells the stable pods from the canary's.
pub const TRACK: &str = "fintechctl.io/track";
pub const STABLE: &str = "stable";
pub const CANARY: &str = "canary";
/// Marks a canary object; its value is the environment.
pub const CANARY_LABEL: &str = "fintechctl.io/canary";
/// ingress-nginx's canary annotations.
pub const CANARY_ANNOTATION: &str = "nginx.ingress.kubernetes.io/canary";
pub const WEIGHT_ANNOTATION: &str = "nginx.ingress.kubernetes.io/canary-weight";

/// The application services a canary can apply to.
pub const APPS: [&str; 3] = ["api-gateway", "ml-service", "frontend"];
/// The ones behind the ingress: traffic by weight through a canary Ingress.
pub const BEHIND_INGRESS: [&str; 2] = ["api-gateway", "frontend"];

/// The suffix of every canary object's name.
pub fn canary_name(name: &str) -> String {
    format!("{name}-canary")
}

/// What a canary adds to the cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CanaryObjects {
    pub deployments: Vec<Manifest>,
    pub services: Vec<Manifest>,
    pub ingresses: Vec<Manifest>,
}

impl CanaryObjects {
    /// Services, then Ingresses, then Deployments: the order they are
    /// created in (an Ingress never routes to a Service that is not there).
    pub fn all(&self) -> impl Iterator<Item = &Manifest> {
        self.services
            .iter()
            .chain(&self.ingresses)
            .chain(&self.deployments)
    }
}

/// The canary objects for `services` (the apps whose image changes), from
/// the release's rendered manifests, at `weight` percent; `stable_replicas`
/// gives each service's live stable replica count.
pub fn derive(
    release: &[Manifest],
    services: &[String],
    environment: &str,
    weight: u32,
    stable_replicas: &dyn Fn(&str) -> u32,
) -> CanaryObjects {
    let mut out = CanaryObjects::default();
    for m in release {
        let name = m.name();
        if !services.iter().any(|s| s == name) {
            continue;
        }
        match m.kind() {
            "Deployment" => {
                let replicas = canary_replicas(name, stable_replicas(name), weight).0;
                out.deployments
                    .push(canary_deployment(m, environment, replicas));
            }
            "Service" if BEHIND_INGRESS.contains(&name) => {
                out.services.push(canary_service(m, environment));
            }
            _ => {}
        }
    }
    let routed: Vec<String> = out
        .services
        .iter()
        .map(|s| s.name().trim_end_matches("-canary").to_string())
        .collect();
    for m in release.iter().filter(|m| m.kind() == "Ingress") {
        if let Some(ingress) = canary_ingress(m, &routed, environment, weight) {
            out.ingresses.push(ingress);
        }
    }
    out
}

fn mark(object: &mut Value, environment: &str, name: String) {
    let meta = &mut object["metadata"];
    meta["name"] = Value::String(name);
    meta["labels"][CANARY_LABEL] = Value::String(environment.to_string());
}

/// `<name>-canary`: the release's Deployment with the canary's selector and
/// pod label and `replicas`.
pub fn canary_deployment(stable: &Manifest, environment: &str, replicas: u32) -> Manifest {
    let name = stable.name().to_string();
    let mut object = stable.object.clone();
    mark(&mut object, environment, canary_name(&name));
    object["spec"]["replicas"] = json!(replicas);
    object["spec"]["selector"] = json!({"matchLabels": {"app": name, TRACK: CANARY}});
    object["spec"]["template"]["metadata"]["labels"][TRACK] = json!(CANARY);
    object["spec"]["template"]["metadata"]["labels"]["app"] = json!(name);
    Manifest::new(stable.template.clone(), object)
}

/// `<name>-canary`: the release's Service selecting only the canary's pods.
pub fn canary_service(stable: &Manifest, environment: &str) -> Manifest {
    let name = stable.name().to_string();
    let mut object = stable.object.clone();
    mark(&mut object, environment, canary_name(&name));
    object["spec"]["selector"] = json!({"app": name, TRACK: CANARY});
    if let Some(spec) = object["spec"].as_object_mut() {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    Manifest::new(stable.template.clone(), object)
}

/// `<ingress>-canary`: the same host and paths as `stable` for the paths
/// that route to `routed` services, each to its canary Service, at
/// `weight` percent; `None` when no path routes to one.
pub fn canary_ingress(
    stable: &Manifest,
    routed: &[String],
    environment: &str,
    weight: u32,
) -> Option<Manifest> {
    let mut object = stable.object.clone();
    let mut any = false;
    if let Some(rules) = object["spec"]["rules"].as_array_mut() {
        for rule in rules.iter_mut() {
            let Some(paths) = rule["http"]["paths"].as_array_mut() else {
                continue;
            };
            paths.retain(|p| {
                p["backend"]["service"]["name"]
                    .as_str()
                    .is_some_and(|n| routed.iter().any(|r| r == n))
            });
            for path in paths.iter_mut() {
                let backend = path["backend"]["service"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                path["backend"]["service"]["name"] = json!(canary_name(&backend));
                any = true;
            }
        }
        rules.retain(|r| r["http"]["paths"].as_array().is_some_and(|p| !p.is_empty()));
    }
    if !any {
        return None;
    }
    if let Some(spec) = object["spec"].as_object_mut() {
        spec.remove("defaultBackend");
    }
    let name = stable.name().to_string();
    mark(&mut object, environment, canary_name(&name));
    if !object["metadata"]["annotations"].is_object() {
        object["metadata"]["annotations"] = Value::Object(Map::new());
    }
    object["metadata"]["annotations"][CANARY_ANNOTATION] = json!("true");
    object["metadata"]["annotations"][WEIGHT_ANNOTATION] = json!(weight.to_string());
    Some(Manifest::new(stable.template.clone(), object))
}

/// The merge patch that sets a canary Ingress's weight.
pub fn weight_patch(weight: u32) -> Value {
    json!({"metadata": {"annotations": {WEIGHT_ANNOTATION: weight.to_string()}}})
}

/// The merge patch that makes a main Service select only the stable pods
/// (`true`) or every pod of the app again (`false`).
pub fn stable_selector_patch(only_stable: bool) -> Value {
    let value = if only_stable {
        json!(STABLE)
    } else {
        Value::Null
    };
    json!({"spec": {"selector": {TRACK: value}}})
}

/// The canary's replicas at `weight` percent, and the canary's effective
/// share of the traffic in percent. Behind the ingress the weight sends the
/// traffic, so the canary gets enough pods for its share; ml-service's
/// traffic is shared by pods, so its canary has the pod count closest to
/// `weight` percent of all pods (at least one).
pub fn canary_replicas(service: &str, stable: u32, weight: u32) -> (u32, f64) {
    let stable = stable.max(1);
    if BEHIND_INGRESS.contains(&service) {
        let replicas = (stable * weight).div_ceil(100).max(1);
        return (replicas, f64::from(weight));
    }
    // c / (s + c) closest to w / 100, c ≥ 1.
    let w = f64::from(weight) / 100.0;
    let best = (1..=stable.max(1) * 99)
        .min_by(|a, b| {
            let share = |c: u32| (f64::from(c) / f64::from(stable + c) - w).abs();
            share(*a).total_cmp(&share(*b))
        })
        .unwrap_or(1);
    let share = f64::from(best) * 100.0 / f64::from(stable + best);
    (best, (share * 10.0).round() / 10.0)
}

/// The label selector that finds an environment's canary objects.
pub fn selector(environment: &str) -> String {
    format!("{CANARY_LABEL}={environment}")
}

/// Whether `m` is an application Deployment a canary can apply to.
pub fn is_app_deployment(m: &Manifest) -> bool {
    m.kind() == "Deployment" && APPS.contains(&m.name())
}

/// The HorizontalPodAutoscalers of `release` that scale one of `deployments`:
/// applied with them, so an apply keeps the live replica count the HPA set
/// (`apply_set` learns which Deployments an HPA scales from its own set).
pub fn hpas_of<'a>(release: &'a [Manifest], deployments: &[Manifest]) -> Vec<&'a Manifest> {
    release
        .iter()
        .filter(|m| m.kind() == "HorizontalPodAutoscaler")
        .filter(|hpa| {
            let target = &hpa.object["spec"]["scaleTargetRef"];
            target["kind"] == "Deployment"
                && deployments
                    .iter()
                    .any(|d| target["name"].as_str() == Some(d.name()))
        })
        .collect()
}

/// The version label of a rendered Deployment's pod template.
pub fn template_version(m: &Manifest) -> Option<&str> {
    m.object["spec"]["template"]["metadata"]["labels"][labels::VERSION].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Vec<Manifest> {
        let env = crate::environment::EnvironmentSource::Embedded
            .load("production")
            .expect("production");
        crate::render::engine::render(&crate::render::engine::RenderInput {
            env: &env,
            version: "1.5.0",
            secrets: &crate::secrets::SecretValues::default(),
            digest_key: None,
        })
        .expect("renders")
    }

    fn derived(weight: u32) -> CanaryObjects {
        let services: Vec<String> = APPS.iter().map(|s| s.to_string()).collect();
        derive(
            &release(),
            &services,
            "production",
            weight,
            &|name| match name {
                "api-gateway" => 3,
                _ => 2,
            },
        )
    }

    #[test]
    fn a_canary_deployment_per_app_with_the_canary_track_and_no_hpa() {
        let objects = derived(10);
        let names: Vec<&str> = objects.deployments.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            ["api-gateway-canary", "frontend-canary", "ml-service-canary"]
        );
        for d in &objects.deployments {
            let app = d.name().trim_end_matches("-canary");
            assert_eq!(
                d.object["spec"]["selector"],
                json!({"matchLabels": {"app": app, TRACK: CANARY}})
            );
            let pod = &d.object["spec"]["template"]["metadata"]["labels"];
            assert_eq!(pod[TRACK], CANARY);
            assert_eq!(pod["app"], app);
            assert_eq!(pod[labels::VERSION], "1.5.0");
            assert_eq!(d.label(CANARY_LABEL), Some("production"));
            assert!(
                d.object["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .ends_with(":1.5.0")
            );
        }
        assert!(
            objects.all().all(|m| m.kind() != "HorizontalPodAutoscaler"),
            "no HPA for a canary"
        );
    }

    #[test]
    fn stable_pods_carry_the_stable_track_outside_the_selector() {
        for m in release().iter().filter(|m| is_app_deployment(m)) {
            assert_eq!(
                m.object["spec"]["template"]["metadata"]["labels"][TRACK],
                STABLE,
                "{}",
                m.display()
            );
            assert!(
                m.object["spec"]["selector"]["matchLabels"][TRACK].is_null(),
                "the selector is immutable: {}",
                m.display()
            );
        }
    }

    #[test]
    fn canary_services_and_ingress_only_for_the_services_behind_the_ingress() {
        let objects = derived(10);
        let services: Vec<&str> = objects.services.iter().map(|m| m.name()).collect();
        assert_eq!(services, ["api-gateway-canary", "frontend-canary"]);
        assert_eq!(
            objects.services[0].object["spec"]["selector"],
            json!({"app": "api-gateway", TRACK: CANARY})
        );
        assert_eq!(objects.ingresses.len(), 1);
        let ingress = &objects.ingresses[0].object;
        assert_eq!(ingress["metadata"]["name"], "fintech-ai-canary");
        assert_eq!(
            ingress["metadata"]["annotations"][CANARY_ANNOTATION],
            "true"
        );
        assert_eq!(ingress["metadata"]["annotations"][WEIGHT_ANNOTATION], "10");
        let rule = &ingress["spec"]["rules"][0];
        assert_eq!(rule["host"], "app.fintech-ai-platform.com");
        let backends: Vec<(&str, &str)> = rule["http"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["path"].as_str().unwrap(),
                    p["backend"]["service"]["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            backends,
            [("/api", "api-gateway-canary"), ("/", "frontend-canary")]
        );
    }

    #[test]
    fn only_the_changing_apps_get_a_canary() {
        let services = vec!["ml-service".to_string()];
        let objects = derive(&release(), &services, "production", 50, &|_| 2);
        assert_eq!(objects.deployments.len(), 1);
        assert!(objects.services.is_empty());
        assert!(objects.ingresses.is_empty(), "no path routes to ml-service");
    }

    #[test]
    fn replicas_follow_the_weight_and_say_the_effective_share() {
        // Behind the ingress: the weight is the share.
        assert_eq!(canary_replicas("api-gateway", 3, 10), (1, 10.0));
        assert_eq!(canary_replicas("api-gateway", 3, 50), (2, 50.0));
        // ml-service: pods share the traffic.
        assert_eq!(canary_replicas("ml-service", 2, 10), (1, 33.3));
        assert_eq!(canary_replicas("ml-service", 2, 50), (2, 50.0));
        assert_eq!(canary_replicas("ml-service", 9, 10), (1, 10.0));
        assert_eq!(canary_replicas("ml-service", 6, 25), (2, 25.0));
    }

    #[test]
    fn the_hpas_of_the_promoted_deployments_go_with_them() {
        let release = release();
        let apps: Vec<Manifest> = release
            .iter()
            .filter(|m| is_app_deployment(m))
            .cloned()
            .collect();
        let names: Vec<&str> = hpas_of(&release, &apps).iter().map(|m| m.name()).collect();
        assert_eq!(names, ["api-gateway-hpa", "ml-service-hpa"]);
        let frontend: Vec<Manifest> = apps
            .into_iter()
            .filter(|m| m.name() == "frontend")
            .collect();
        assert!(hpas_of(&release, &frontend).is_empty());
    }

    #[test]
    fn patches() {
        assert_eq!(
            weight_patch(50),
            json!({"metadata": {"annotations": {WEIGHT_ANNOTATION: "50"}}})
        );
        assert_eq!(
            stable_selector_patch(true),
            json!({"spec": {"selector": {TRACK: STABLE}}})
        );
        assert_eq!(
            stable_selector_patch(false),
            json!({"spec": {"selector": {TRACK: null}}})
        );
    }
}
