//! `fintechctl render`: snapshots of every environment's manifests, the
//! runbook's values carried exactly, secrets never printed, and the
//! `--only` / `-o json` behaviour.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const SECRETS: [(&str, &str); 5] = [
    ("POSTGRES_PASSWORD", "pg-test-value-7f3a"),
    ("REDIS_PASSWORD", "redis-test-value-91bc"),
    ("KAFKA_PASSWORD", "kafka-test-value-4d2e"),
    ("JWT_SECRET", "jwt-test-value-c0de"),
    ("API_KEY", "apikey-test-value-5e11"),
];

fn fintechctl() -> Command {
    let mut cmd = Command::cargo_bin("fintechctl").unwrap();
    for (var, _) in SECRETS {
        cmd.env_remove(var);
    }
    for var in [
        "FINTECHCTL_ENVIRONMENTS_DIR",
        "FINTECHCTL_TLS_CERT",
        "FINTECHCTL_TLS_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

fn render_json(env: &str, extra: &[&str]) -> Vec<Value> {
    let mut cmd = fintechctl();
    cmd.args(["render", env, "-o", "json"]).args(extra);
    for (var, value) in SECRETS {
        cmd.env(var, value);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("render -o json prints a JSON list")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} is not rendered"))
}

#[test]
fn snapshots_of_every_environment() {
    for (env, args) in [
        ("local", vec![]),
        ("staging", vec!["--version", "1.4.2"]),
        ("production", vec!["--version", "1.4.2"]),
    ] {
        let mut cmd = fintechctl();
        cmd.args(["render", env]).args(&args);
        let out = cmd.assert().success().get_output().stdout.clone();
        insta::assert_snapshot!(format!("render_{env}"), String::from_utf8(out).unwrap());
    }
}

#[test]
fn production_carries_the_runbooks_values_exactly() {
    let objects = render_json("production", &["--version", "1.4.2"]);

    let ns = find(&objects, "Namespace", "fintech-ai-prod");
    assert_eq!(ns["metadata"]["labels"]["environment"], "production");
    assert_eq!(ns["metadata"]["labels"]["team"], "fintech-ai");

    let quota = find(&objects, "ResourceQuota", "production-quota");
    assert_eq!(quota["metadata"]["namespace"], "fintech-ai-prod");
    let hard = &quota["spec"]["hard"];
    assert_eq!(hard["requests.cpu"], "16");
    assert_eq!(hard["requests.memory"], "32Gi");
    assert_eq!(hard["limits.cpu"], "32");
    assert_eq!(hard["limits.memory"], "64Gi");
    assert_eq!(hard["persistentvolumeclaims"], "10");

    let d = find(&objects, "Deployment", "api-gateway");
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxSurge"], 1);
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    assert_eq!(spec["selector"]["matchLabels"]["app"], "api-gateway");
    let pod = &spec["template"]["spec"];
    let term =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(term["weight"], 100);
    assert_eq!(
        term["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    let expr = &term["podAffinityTerm"]["labelSelector"]["matchExpressions"][0];
    assert_eq!(expr["key"], "app");
    assert_eq!(expr["operator"], "In");
    assert_eq!(expr["values"][0], "api-gateway");
    let c = &pod["containers"][0];
    assert_eq!(c["name"], "api-gateway");
    assert_eq!(c["image"], "fintech-ai/api-gateway:1.4.2");
    assert_eq!(c["resources"]["requests"]["memory"], "512Mi");
    assert_eq!(c["resources"]["requests"]["cpu"], "250m");
    assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(c["resources"]["limits"]["cpu"], "500m");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], 8000);
    assert_eq!(c["livenessProbe"]["initialDelaySeconds"], 30);
    assert_eq!(c["livenessProbe"]["periodSeconds"], 10);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], 8000);
    assert_eq!(c["readinessProbe"]["initialDelaySeconds"], 5);
    assert_eq!(c["readinessProbe"]["periodSeconds"], 5);

    // Pod security standards.
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true);
    assert_eq!(psc["runAsUser"], 1000);
    assert_eq!(psc["runAsGroup"], 1000);
    assert_eq!(psc["fsGroup"], 1000);
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");
    let csc = &c["securityContext"];
    assert_eq!(csc["allowPrivilegeEscalation"], false);
    assert_eq!(csc["readOnlyRootFilesystem"], true);
    assert_eq!(csc["capabilities"]["drop"][0], "ALL");
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(
        mounts.contains(&"/tmp") && mounts.contains(&"/var/log"),
        "{mounts:?}"
    );
    for v in pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == "tmp" || v["name"] == "varlog")
    {
        assert!(v["emptyDir"].is_object(), "{v}");
    }

    let hpa = find(&objects, "HorizontalPodAutoscaler", "api-gateway-hpa");
    let h = &hpa["spec"];
    assert_eq!(h["scaleTargetRef"]["name"], "api-gateway");
    assert_eq!(h["minReplicas"], 3);
    assert_eq!(h["maxReplicas"], 10);
    assert_eq!(h["metrics"][0]["resource"]["name"], "cpu");
    assert_eq!(
        h["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    assert_eq!(h["metrics"][1]["resource"]["name"], "memory");
    assert_eq!(
        h["metrics"][1]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(h["behavior"]["scaleUp"]["stabilizationWindowSeconds"], 60);
    assert_eq!(h["behavior"]["scaleUp"]["policies"][0]["type"], "Percent");
    assert_eq!(h["behavior"]["scaleUp"]["policies"][0]["value"], 100);
    assert_eq!(h["behavior"]["scaleUp"]["policies"][0]["periodSeconds"], 15);
    assert_eq!(
        h["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        300
    );
    assert_eq!(h["behavior"]["scaleDown"]["policies"][0]["value"], 10);
    assert_eq!(
        h["behavior"]["scaleDown"]["policies"][0]["periodSeconds"],
        60
    );

    // RBAC exactly as the runbook.
    find(&objects, "ServiceAccount", "api-gateway-sa");
    let role = find(&objects, "Role", "api-gateway-role");
    assert_eq!(
        role["rules"][0]["resources"],
        serde_json::json!(["configmaps", "secrets"])
    );
    assert_eq!(
        role["rules"][0]["verbs"],
        serde_json::json!(["get", "list", "watch"])
    );
    assert_eq!(role["rules"][1]["resources"], serde_json::json!(["pods"]));
    assert_eq!(
        role["rules"][1]["verbs"],
        serde_json::json!(["get", "list"])
    );
    let binding = find(&objects, "RoleBinding", "api-gateway-rolebinding");
    assert_eq!(binding["subjects"][0]["name"], "api-gateway-sa");
    assert_eq!(binding["roleRef"]["name"], "api-gateway-role");

    // The api-gateway network policy, with the DNS egress the runbook forgot.
    let np = find(&objects, "NetworkPolicy", "api-gateway-policy");
    let text = np.to_string();
    assert!(
        text.contains("\"port\":8001")
            && text.contains("\"port\":5432")
            && text.contains("\"port\":8000"),
        "{text}"
    );
    assert!(text.contains("\"port\":53"), "DNS egress missing: {text}");

    // ml-service serves on 8001; frontend has its own deployment and service.
    let ml = find(&objects, "Service", "ml-service");
    assert!(ml["spec"]["ports"].to_string().contains("8001"));
    find(&objects, "Deployment", "frontend");
    find(&objects, "Service", "frontend");

    // Secrets with the runbook's keys, values redacted.
    let secret = find(&objects, "Secret", "fintech-ai-secrets");
    for key in [
        "postgres-password",
        "redis-password",
        "kafka-password",
        "jwt-secret",
        "api-key",
    ] {
        assert_eq!(secret["stringData"][key], "<redacted>", "{key}");
    }
}

#[test]
fn staging_carries_the_runbooks_namespace_and_quota() {
    let objects = render_json("staging", &["--version", "1.4.2"]);
    let ns = find(&objects, "Namespace", "fintech-ai-staging");
    assert_eq!(ns["metadata"]["labels"]["environment"], "staging");
    assert_eq!(ns["metadata"]["labels"]["team"], "fintech-ai");
    let quota = find(&objects, "ResourceQuota", "staging-quota");
    assert_eq!(quota["metadata"]["namespace"], "fintech-ai-staging");
    let hard = &quota["spec"]["hard"];
    assert_eq!(hard["requests.cpu"], "4");
    assert_eq!(hard["requests.memory"], "8Gi");
    assert_eq!(hard["limits.cpu"], "8");
    assert_eq!(hard["limits.memory"], "16Gi");
    assert_eq!(
        hard.as_object().unwrap().len(),
        4,
        "exactly the runbook's keys: {hard}"
    );
}

/// The canary analysis (src/canary/analysis.rs) filters on `namespace`,
/// `app`, `track` and `version`: the `kubernetes-pods` job must put the
/// pod's labels there on every series it scrapes.
#[test]
fn the_prometheus_config_keeps_app_track_version_and_namespace_on_pod_series() {
    for env in ["local", "staging", "production"] {
        let objects = render_json(env, &["--version", "1.4.2"]);
        let config = find(&objects, "ConfigMap", "prometheus-config");
        let yml = config["data"]["prometheus.yml"].as_str().unwrap();
        let prometheus: Value = serde_saphyr::from_str(yml).expect("prometheus.yml parses");
        let jobs = prometheus["scrape_configs"].as_array().unwrap();
        let pods = jobs
            .iter()
            .find(|j| j["job_name"] == "kubernetes-pods")
            .unwrap_or_else(|| panic!("{env}: no kubernetes-pods job"));
        let rules = pods["relabel_configs"].as_array().unwrap();
        for (source, target) in [
            ("__meta_kubernetes_pod_label_app", "app"),
            ("__meta_kubernetes_pod_label_fintechctl_io_track", "track"),
            (
                "__meta_kubernetes_pod_label_app_kubernetes_io_version",
                "version",
            ),
            ("__meta_kubernetes_namespace", "namespace"),
        ] {
            let kept = rules.iter().any(|r| {
                r["source_labels"] == serde_json::json!([source])
                    && r["target_label"] == target
                    && (r["action"] == "replace" || r["action"].is_null())
                    && (r["regex"].is_null() || r["regex"] == "(.*)")
                    && (r["replacement"].is_null() || r["replacement"] == "$1")
            });
            assert!(
                kept,
                "{env}: no rule copying {source} to `{target}`: {rules:#?}"
            );
        }
    }
}

#[test]
fn every_object_carries_the_ownership_labels() {
    for env in ["local", "staging", "production"] {
        for o in render_json(env, &["--version", "1.4.2"]) {
            let labels = &o["metadata"]["labels"];
            let what = format!("{env}: {}/{}", o["kind"], o["metadata"]["name"]);
            assert_eq!(
                labels["app.kubernetes.io/managed-by"], "fintechctl",
                "{what}"
            );
            assert_eq!(labels["fintechctl.io/environment"], env, "{what}");
            assert!(labels["app.kubernetes.io/component"].is_string(), "{what}");
            assert!(labels["app.kubernetes.io/part-of"].is_string(), "{what}");
        }
    }
}

#[test]
fn objects_come_in_apply_order() {
    let objects = render_json("production", &["--version", "1.4.2"]);
    let position = |kind: &str| {
        objects
            .iter()
            .position(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    assert_eq!(position("Namespace"), 0);
    assert!(position("ResourceQuota") < position("Role"));
    assert!(position("NetworkPolicy") < position("Secret"));
    assert!(position("Secret") < position("Job"));
    assert!(position("Job") < position("Deployment"));
    assert!(position("Deployment") < position("HorizontalPodAutoscaler"));
}

#[test]
fn no_secret_value_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env.production");
    std::fs::write(
        &env_file,
        "export POSTGRES_PASSWORD=envfile-pg-value-1a2b\nexport REDIS_PASSWORD=envfile-redis-value-3c4d\n\
         export KAFKA_PASSWORD=envfile-kafka-value-5e6f\nexport JWT_SECRET=envfile-jwt-value-7a8b\nexport API_KEY=envfile-api-value-9c0d\n",
    )
    .unwrap();
    let file_values = [
        "envfile-pg-value-1a2b",
        "envfile-redis-value-3c4d",
        "envfile-kafka-value-5e6f",
        "envfile-jwt-value-7a8b",
        "envfile-api-value-9c0d",
    ];
    for env in ["local", "staging", "production"] {
        for format in ["text", "json", "yaml"] {
            for verbosity in ["-v", "-q"] {
                // From the process environment.
                let mut cmd = fintechctl();
                cmd.args(["render", env, "--version", "1.4.2", "-o", format, verbosity]);
                for (var, value) in SECRETS {
                    cmd.env(var, value);
                }
                let out = cmd.assert().success().get_output().clone();
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                for (var, value) in SECRETS {
                    assert!(
                        !all.contains(value),
                        "{var} leaked by render {env} -o {format}"
                    );
                }
                // From --env-file.
                let out = fintechctl()
                    .args([
                        "render",
                        env,
                        "--version",
                        "1.4.2",
                        "-o",
                        format,
                        verbosity,
                        "--env-file",
                    ])
                    .arg(&env_file)
                    .assert()
                    .success()
                    .get_output()
                    .clone();
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                for value in file_values {
                    assert!(
                        !all.contains(value),
                        "env-file value leaked by render {env} -o {format}"
                    );
                }
            }
        }
    }
}

#[test]
fn only_selects_components_and_rejects_unknown_ones() {
    let objects = render_json(
        "production",
        &["--version", "1.4.2", "--only", "api-gateway"],
    );
    assert!(!objects.is_empty());
    assert!(
        objects
            .iter()
            .all(|o| o["metadata"]["labels"]["app.kubernetes.io/component"] == "api-gateway")
    );
    assert!(objects.iter().any(|o| o["kind"] == "Deployment"));
    fintechctl()
        .args([
            "render",
            "production",
            "--version",
            "1.4.2",
            "--only",
            "api-gatway",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("did you mean `api-gateway`?"));
}

#[test]
fn missing_secrets_are_a_warning_for_render() {
    fintechctl()
        .args(["render", "staging", "--version", "1.4.2"])
        .assert()
        .success()
        .stderr(predicate::str::contains("secrets not set: POSTGRES_PASSWORD, REDIS_PASSWORD, KAFKA_PASSWORD, JWT_SECRET, API_KEY"));
}

// ---- `-o json` (insta) -----------------------------------------------------

/// `render local -o json`: the objects' identities in apply order are
/// snapshot (the full content is `render_local`'s YAML snapshot, 80 kB as
/// JSON), and the JSON list holds the same objects as the YAML documents.
#[test]
fn render_json_is_the_yaml_documents_as_one_list() {
    let objects = render_json("local", &[]);
    let summary: Vec<String> = objects
        .iter()
        .map(|o| {
            let fields: Vec<&str> = o
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| !["apiVersion", "kind", "metadata"].contains(k))
                .collect();
            format!(
                "{} {} {}/{} [{}]",
                o["apiVersion"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or("-"),
                o["metadata"]["name"].as_str().unwrap(),
                fields.join(", ")
            )
        })
        .collect();
    insta::assert_snapshot!("render_local_json", summary.join("\n"));

    let mut cmd = fintechctl();
    cmd.args(["render", "local"]);
    for (var, value) in SECRETS {
        cmd.env(var, value);
    }
    let yaml = cmd.assert().success().get_output().stdout.clone();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(yaml).unwrap())
        .expect("render prints YAML documents");
    assert_eq!(docs.len(), objects.len());
    for (doc, object) in docs.iter().zip(&objects) {
        assert_eq!(doc, object, "the same object in YAML and JSON");
    }
}
