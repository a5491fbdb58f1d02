//! kube-sim's fidelity where fintechctl depends on it: what fintechctl writes is read
//! back in the shape a real apiserver returns.

use crate::common;

use base64::Engine as _;
use common::{SECRETS, behaviors, cluster, run, text};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

const NS: &str = "fintech-ai-local";

async fn read_secret(c: &common::Cluster) -> Secret {
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let secrets: kube::Api<Secret> = kube::Api::namespaced(client, NS);
    secrets.get("fintech-ai-secrets").await.unwrap()
}

/// The deploy's Secret (rendered with `stringData`) is stored as base64 `data`, as a
/// real apiserver does; a re-deploy with a changed value changes `data`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_secret_reads_back_as_data_and_a_redeploy_changes_it() {
    let c = cluster(behaviors("", "echo migrated")).await;
    let deploy = |password: &'static str| {
        let mut cmd = c.fintechctl();
        cmd.env("POSTGRES_PASSWORD", password);
        cmd.args(["deploy", "local", "--version", "1.4.2", "--timeout", "60s"]);
        cmd
    };
    let out = run(deploy(SECRETS[0].1)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let secret = read_secret(&c).await;
    assert!(secret.string_data.is_none(), "{secret:?}");
    let data = secret.data.expect("data");
    assert_eq!(
        data["postgres-password"],
        ByteString(SECRETS[0].1.as_bytes().to_vec())
    );
    // the raw object has no stringData either
    let raw = c.get("v1", "Secret", NS, "fintech-ai-secrets").unwrap();
    assert!(raw.get("stringData").is_none(), "{raw}");
    assert_eq!(
        raw["data"]["postgres-password"],
        base64::engine::general_purpose::STANDARD.encode(SECRETS[0].1)
    );

    let out = run(deploy("test-only-pg-rotated")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let secret = read_secret(&c).await;
    assert!(secret.string_data.is_none(), "{secret:?}");
    let data = secret.data.expect("data");
    assert_eq!(
        data["postgres-password"],
        ByteString(b"test-only-pg-rotated".to_vec())
    );
    // the other values are untouched
    assert_eq!(
        data["redis-password"],
        ByteString(SECRETS[1].1.as_bytes().to_vec())
    );
}
