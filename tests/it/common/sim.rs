//! kube-sim for the tests that drive fintechctl's library directly (apply,
//! rollout, lock, prune, records) rather than its binary.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use kube_sim::{KubeSim, SimConfig};

/// The client fintechctl builds for `sim`: passing API faults are retried.
pub async fn client(sim: &KubeSim) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    fintechctl::cluster::connect::client_with_retries(config, std::time::Duration::from_secs(10))
        .unwrap()
}

/// A kube-sim started with `config`, and fintechctl's client for it.
pub async fn start(config: SimConfig) -> (KubeSim, kube::Client) {
    let sim = KubeSim::start(config).await.expect("kube-sim starts");
    let client = client(&sim).await;
    (sim, client)
}

/// Creates the namespace `name`.
pub async fn create_namespace(client: &kube::Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}
