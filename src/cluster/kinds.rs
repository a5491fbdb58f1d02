//! Which kinds the API server serves, and how to address them: discovery
//! of each group/version at most once per run, shared by the plan, the
//! apply, prune, the CRD check and the permission check.

use std::collections::HashMap;
use std::sync::Arc;

use kube::core::{ApiResource, GroupVersion};
use kube::discovery::{ApiCapabilities, Scope};
use tokio::sync::Mutex;

/// A kind the API server serves.
#[derive(Debug, Clone)]
pub struct ServedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

type Resources = Option<Vec<(ApiResource, ApiCapabilities)>>;

/// The discovery cache of one run. Cheap to clone (shared).
#[derive(Clone)]
pub struct ServedKinds {
    client: kube::Client,
    cache: Arc<Mutex<HashMap<String, Resources>>>,
}

impl std::fmt::Debug for ServedKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServedKinds")
    }
}

impl ServedKinds {
    pub fn new(client: &kube::Client) -> Self {
        Self {
            client: client.clone(),
            cache: Arc::default(),
        }
    }

    /// The resources of `api_version`; `None` when the server does not
    /// serve it (an optional CRD such as the VerticalPodAutoscaler).
    pub async fn resources(&self, api_version: &str) -> Result<Resources, kube::Error> {
        if let Some(found) = self.cache.lock().await.get(api_version) {
            return Ok(found.clone());
        }
        let Ok(gv) = api_version.parse::<GroupVersion>() else {
            return Ok(None);
        };
        let found = match kube::discovery::pinned_group(&self.client, &gv).await {
            Ok(group) => Some(group.versioned_resources(&gv.version)),
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(e) => return Err(e),
        };
        self.cache
            .lock()
            .await
            .insert(api_version.to_string(), found.clone());
        Ok(found)
    }

    /// Several group/versions at once, in parallel (each still once).
    pub async fn prefetch<'a>(
        &self,
        api_versions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), (String, kube::Error)> {
        let mut wanted: Vec<&str> = api_versions.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let results = futures::future::join_all(
            wanted
                .iter()
                .map(|v| async move { (v.to_string(), self.resources(v).await) }),
        )
        .await;
        for (v, r) in results {
            r.map_err(|e| (v, e))?;
        }
        Ok(())
    }

    /// `kind` of `api_version`, if served.
    pub async fn find(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<ServedKind>, kube::Error> {
        Ok(self.resources(api_version).await?.and_then(|resources| {
            resources
                .iter()
                .find(|(ar, _)| ar.kind == kind)
                .map(|(ar, caps)| ServedKind {
                    resource: ar.clone(),
                    namespaced: matches!(caps.scope, Scope::Namespaced),
                })
        }))
    }

    /// Whether the server serves `kind` of `api_version`; any failure to
    /// find out counts as no.
    pub async fn serves(&self, api_version: &str, kind: &str) -> bool {
        matches!(self.find(api_version, kind).await, Ok(Some(_)))
    }
}
