//! The environment's digest key ([`DigestKey`]): 32 random bytes in the
//! Secret [`SECRET_NAME`] of the environment's namespace, created by the
//! first deploy that needs it. Digests of secret values (pod-template
//! annotations, release records, diffs) are HMACs with it, so a digest seen
//! in a CI log cannot be used to test guesses offline.
//!
//! The Secret carries the managed-by label but not the environment label:
//! prune (which deletes what the environment's selector finds and the
//! release no longer renders) never touches it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};

use super::is_status;
use crate::redact::DigestKey;
use crate::render::labels;

/// The Secret's name, the same in every namespace.
pub const SECRET_NAME: &str = "fintechctl-digest-key";
const KEY: &str = "key";

/// The stored key; `None` when there is none yet (or the namespace does
/// not exist). A stored value of the wrong length is replaced on [`store`].
pub async fn read(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<DigestKey>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(SECRET_NAME).await {
        Ok(secret) => Ok(secret.as_ref().and_then(key_of)),
        Err(e) if is_status(&e, 404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The key a stored Secret holds, if it is one.
fn key_of(secret: &Secret) -> Option<DigestKey> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(KEY))
        .and_then(|b| DigestKey::from_slice(&b.0))
}

/// Stores `key` unless a key exists already, and returns the one in force
/// (a concurrent first deploy may have stored its own first).
pub async fn store(
    client: &kube::Client,
    namespace: &str,
    key: &DigestKey,
) -> Result<DigestKey, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(SECRET_NAME.to_string()),
            labels: Some(BTreeMap::from([(
                labels::MANAGED_BY.to_string(),
                labels::MANAGER.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(BTreeMap::from([(
            KEY.to_string(),
            ByteString(key.expose_bytes().to_vec()),
        )])),
        ..Secret::default()
    };
    let existing = match super::create_or_find(&api, SECRET_NAME, &secret).await {
        Ok(super::Created::Created(_)) => return Ok(key.clone()),
        // Stored before an error answer, by this run or a concurrent one.
        Ok(super::Created::Found(found)) => key_of(&found),
        Err(e) if is_status(&e, 409) => read(client, namespace).await?,
        Err(e) => return Err(e),
    };
    match existing {
        Some(existing) => Ok(existing),
        // A stored value of the wrong length: replaced.
        None => {
            api.delete(SECRET_NAME, &Default::default()).await?;
            api.create(&PostParams::default(), &secret).await?;
            Ok(key.clone())
        }
    }
}
