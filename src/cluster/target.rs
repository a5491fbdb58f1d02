//! Which environment a cluster belongs to, so that a writing command never
//! changes the wrong one (docs: "Safety", the wrong-cluster rule).
//!
//! A cluster is identified by its `kube-system` namespace's UID: it is
//! created with the cluster and never changes, whatever URL or kubeconfig
//! context reaches it. The first deploy of an environment records a
//! *claim* on the cluster — the ConfigMap `kube-system/fintechctl-cluster`,
//! written only by fintechctl — naming the environment(s) that live there.
//! Every writing command reads it right after connecting and refuses, before
//! its first write, when the claim names other environments only, or when
//! the environment pins another cluster (`cluster.uid`). A cluster with no
//! claim yet is written to (the deploy claims it), with a warning when the
//! kubeconfig context that reached it is not the one the environment names.
//!
//! The rules ([`judge`]) are plain functions over plain data; reading and
//! writing the claim are the only I/O here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};

use crate::environment::{Environment, Provider};

/// The claim's namespace and name.
pub const CLAIM_NAMESPACE: &str = "kube-system";
pub const CLAIM_NAME: &str = "fintechctl-cluster";
/// The claim's key listing the environments (comma-separated, sorted).
const ENVIRONMENTS_KEY: &str = "environments";

/// What was reached: the cluster's identity and how it was addressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reached {
    /// The `kube-system` namespace's UID; `None` when it cannot be read.
    pub uid: Option<String>,
    /// The API server URL.
    pub server: String,
    /// The kubeconfig context used, when access was explicit
    /// (`--kubeconfig`, `--context`, `KUBECONFIG`).
    pub explicit_context: Option<String>,
    /// The kubeconfig cluster entry's name behind that context.
    pub explicit_cluster: Option<String>,
}

/// The claim on a cluster, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    pub environments: Vec<String>,
    /// `<env>` → "when by whom" of each environment's claim.
    pub claimed: BTreeMap<String, String>,
    /// For an optimistic update.
    pub resource_version: Option<String>,
}

impl Claim {
    fn from_config_map(cm: &ConfigMap) -> Self {
        let data = cm.data.clone().unwrap_or_default();
        let environments = data
            .get(ENVIRONMENTS_KEY)
            .map(|v| parse_list(v))
            .unwrap_or_default();
        let claimed = data
            .iter()
            .filter_map(|(k, v)| Some((k.strip_suffix(".claimed")?.to_string(), v.clone())))
            .collect();
        Self {
            environments,
            claimed,
            resource_version: cm.metadata.resource_version.clone(),
        }
    }

    fn names(&self) -> String {
        self.environments
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_list(v: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What the rules say about writing `env` to the cluster reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The claim names this environment (and the pin, if any, matches).
    Claimed,
    /// Nobody claimed the cluster yet: a deploy claims it. `warning` says
    /// why it may still be the wrong one (the context is not the one the
    /// environment names).
    Unclaimed { warning: Option<String> },
    /// The cluster is not this environment's: the reason, naming both.
    Foreign { reason: String },
    /// The claim could not be read (e.g. forbidden): not checked.
    Unknown { reason: String },
}

/// The rules, on plain data. `claim` is `Err` when it could not be read.
pub fn judge(env: &Environment, reached: &Reached, claim: Result<Option<&Claim>, &str>) -> Verdict {
    let cluster = describe(reached);
    if let (Some(pinned), Some(uid)) = (&env.cluster.uid, &reached.uid)
        && pinned != uid
    {
        return Verdict::Foreign {
            reason: format!(
                "environment `{}` pins the cluster whose kube-system UID is {pinned} (cluster.uid), but {cluster} is another cluster",
                env.name
            ),
        };
    }
    let claim = match claim {
        Ok(claim) => claim,
        Err(reason) => {
            return Verdict::Unknown {
                reason: format!(
                    "cannot read {CLAIM_NAMESPACE}/ConfigMap {CLAIM_NAME} ({reason}): which environment {cluster} belongs to is not checked"
                ),
            };
        }
    };
    match claim {
        Some(claim) if claim.environments.iter().any(|e| e == &env.name) => Verdict::Claimed,
        Some(claim) if !claim.environments.is_empty() => {
            let when: Vec<String> = claim
                .environments
                .iter()
                .filter_map(|e| claim.claimed.get(e).map(|c| format!("{e}: {c}")))
                .collect();
            Verdict::Foreign {
                reason: format!(
                    "{cluster} belongs to environment {} ({}), not `{}`",
                    claim.names(),
                    if when.is_empty() {
                        "claimed by a fintechctl deploy".to_string()
                    } else {
                        format!("claimed {}", when.join("; "))
                    },
                    env.name
                ),
            }
        }
        _ => Verdict::Unclaimed {
            warning: context_mismatch(env, reached),
        },
    }
}

/// The warning for an unclaimed cluster reached through a context that is
/// not the one the environment names.
fn context_mismatch(env: &Environment, reached: &Reached) -> Option<String> {
    let expected = match env.cluster.provider {
        Provider::Kubeconfig => env.cluster.context.as_deref(),
        _ => env.cluster.name.as_deref(),
    }?;
    let names: Vec<&str> = [
        reached.explicit_context.as_deref(),
        reached.explicit_cluster.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if names.is_empty() || names.iter().any(|n| names_cluster(n, expected)) {
        return None;
    }
    Some(format!(
        "{} was reached through context `{}`, not the cluster environment `{}` names (`{expected}`); it has no fintechctl claim yet, so nothing shows it is `{}`'s",
        describe(reached),
        names[0],
        env.name,
        env.name
    ))
}

/// Whether a kubeconfig context or cluster name refers to the cluster
/// `expected`: the same name, or the clouds' forms that end with it
/// (EKS `arn:…:cluster/NAME`, GKE `gke_PROJECT_LOCATION_NAME`).
fn names_cluster(name: &str, expected: &str) -> bool {
    name == expected
        || name.ends_with(&format!("/{expected}"))
        || name.ends_with(&format!("_{expected}"))
}

fn describe(reached: &Reached) -> String {
    match &reached.uid {
        Some(uid) => format!("the cluster at {} (kube-system UID {uid})", reached.server),
        None => format!("the cluster at {}", reached.server),
    }
}

/// The cluster's identity (`kube-system`'s UID); `None` when it cannot be read.
pub async fn cluster_uid(client: &kube::Client) -> Result<Option<String>, kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    Ok(namespaces
        .get_opt(CLAIM_NAMESPACE)
        .await?
        .and_then(|ns| ns.metadata.uid))
}

/// The claim, if there is one.
pub async fn read_claim(client: &kube::Client) -> Result<Option<Claim>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CLAIM_NAMESPACE);
    Ok(api
        .get_opt(CLAIM_NAME)
        .await?
        .map(|cm| Claim::from_config_map(&cm)))
}

/// Adds `environment` to the cluster's claim (creating it), recording when
/// and by whom. An update is conditional on the claim read (`seen`): a
/// concurrent change makes it fail (409) rather than lose an entry.
pub async fn claim(
    client: &kube::Client,
    seen: Option<&Claim>,
    environment: &str,
    by: &str,
    server: &str,
) -> Result<(), kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CLAIM_NAMESPACE);
    let when = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut environments = seen.map(|c| c.environments.clone()).unwrap_or_default();
    environments.push(environment.to_string());
    environments.sort();
    environments.dedup();
    let mut data = BTreeMap::new();
    data.insert(ENVIRONMENTS_KEY.to_string(), environments.join(","));
    data.insert(format!("{environment}.claimed"), format!("{when} by {by}"));
    data.insert("server".to_string(), server.to_string());
    match seen.and_then(|c| c.resource_version.clone()) {
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(CLAIM_NAME.to_string()),
                    namespace: Some(CLAIM_NAMESPACE.to_string()),
                    labels: Some(BTreeMap::from([(
                        crate::render::labels::MANAGED_BY.to_string(),
                        "fintechctl".to_string(),
                    )])),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            api.create(&PostParams::default(), &cm).await.map(|_| ())
        }
        Some(rv) => {
            let patch = serde_json::json!({
                "metadata": {"resourceVersion": rv},
                "data": data,
            });
            api.patch(CLAIM_NAME, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Environment {
        crate::environment::EnvironmentSource::Embedded
            .load(name)
            .unwrap()
    }

    fn reached(context: Option<&str>) -> Reached {
        Reached {
            uid: Some("uid-1".into()),
            server: "https://k.example:6443".into(),
            explicit_context: context.map(str::to_string),
            explicit_cluster: None,
        }
    }

    fn claim_of(envs: &[&str]) -> Claim {
        Claim {
            environments: envs.iter().map(|e| e.to_string()).collect(),
            claimed: envs
                .iter()
                .map(|e| (e.to_string(), "2026-12-01T10:00:00Z by ana@ci".to_string()))
                .collect(),
            resource_version: Some("7".into()),
        }
    }

    #[test]
    fn a_cluster_claimed_by_another_environment_is_foreign_naming_both() {
        let claim = claim_of(&["production"]);
        let verdict = judge(&env("staging"), &reached(None), Ok(Some(&claim)));
        let Verdict::Foreign { reason } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(reason.contains("`production`"), "{reason}");
        assert!(reason.contains("not `staging`"), "{reason}");
        assert!(reason.contains("uid-1"), "{reason}");
        assert!(reason.contains("ana@ci"), "{reason}");
    }

    #[test]
    fn a_cluster_claimed_by_this_environment_passes_whatever_the_context() {
        let claim = claim_of(&["production", "staging"]);
        assert_eq!(
            judge(&env("staging"), &reached(Some("renamed")), Ok(Some(&claim))),
            Verdict::Claimed
        );
    }

    #[test]
    fn a_pinned_uid_refuses_any_other_cluster_even_if_claimed() {
        let mut staging = env("staging");
        staging.cluster.uid = Some("uid-2".into());
        let claim = claim_of(&["staging"]);
        assert!(matches!(
            judge(&staging, &reached(None), Ok(Some(&claim))),
            Verdict::Foreign { .. }
        ));
        staging.cluster.uid = Some("uid-1".into());
        assert_eq!(
            judge(&staging, &reached(None), Ok(Some(&claim))),
            Verdict::Claimed
        );
    }

    #[test]
    fn an_unclaimed_cluster_warns_when_the_context_is_not_the_named_one() {
        let staging = env("staging");
        let Verdict::Unclaimed { warning: Some(w) } =
            judge(&staging, &reached(Some("fintech-ai-prod")), Ok(None))
        else {
            panic!()
        };
        assert!(
            w.contains("`fintech-ai-prod`") && w.contains("`fintech-ai-staging`"),
            "{w}"
        );
        for same in [
            "fintech-ai-staging",
            "arn:aws:eks:eu-west-1:1:cluster/fintech-ai-staging",
            "gke_p_europe-west1_fintech-ai-staging",
        ] {
            assert_eq!(
                judge(&staging, &reached(Some(same)), Ok(None)),
                Verdict::Unclaimed { warning: None },
                "{same}"
            );
        }
        // The environment's own entry chose the context: nothing to compare.
        assert_eq!(
            judge(&staging, &reached(None), Ok(None)),
            Verdict::Unclaimed { warning: None }
        );
    }

    #[test]
    fn an_unreadable_claim_is_unknown_not_a_pass() {
        assert!(matches!(
            judge(&env("local"), &reached(None), Err("forbidden (403)")),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn the_claim_reads_its_environments_and_who_claimed_them() {
        let cm = ConfigMap {
            data: Some(BTreeMap::from([
                (
                    "environments".to_string(),
                    " staging, production,".to_string(),
                ),
                ("staging.claimed".to_string(), "then by me".to_string()),
            ])),
            ..Default::default()
        };
        let claim = Claim::from_config_map(&cm);
        assert_eq!(claim.environments, ["production", "staging"]);
        assert_eq!(claim.claimed["staging"], "then by me");
    }
}
