//! When is a rollout done? kubectl's answer (`kubectl rollout status`,
//! kubernetes/kubernetes `staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go`)
//! as pure functions on the API types, so the watch loop and the tests share one rule.
//!
//! kube-runtime's `is_deployment_completed` is deliberately not used: it ignores
//! `observedGeneration`, so right after an apply it reports the *previous*
//! rollout as complete before the controller has even seen the new spec.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use serde::Serialize;

/// Where a workload's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RolloutState {
    /// Every replica runs the new template and is available.
    Complete,
    /// Still rolling; `message` is kubectl's wording of what it waits for.
    Progressing { message: String },
    /// The controller gave up (e.g. `ProgressDeadlineExceeded`).
    Failed { reason: String, message: String },
}

impl RolloutState {
    pub fn is_complete(&self) -> bool {
        matches!(self, RolloutState::Complete)
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, RolloutState::Failed { .. })
    }
}

/// The Progressing condition reason the deployment controller sets when
/// `spec.progressDeadlineSeconds` has passed without progress.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// The annotation the deployment controller keeps the rollout revision in.
pub const DEPLOYMENT_REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// kubectl's `DeploymentStatusViewer.Status`.
pub fn deployment_state(deployment: &Deployment) -> RolloutState {
    let name = deployment.metadata.name.as_deref().unwrap_or("");
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = &deployment.status else {
        return waiting_for_observation("deployment");
    };
    if generation > status.observed_generation.unwrap_or(0) {
        return waiting_for_observation("deployment");
    }
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    if let Some(condition) = progressing
        && condition.reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    {
        return RolloutState::Failed {
            reason: PROGRESS_DEADLINE_EXCEEDED.to_string(),
            message: condition
                .message
                .clone()
                .unwrap_or_else(|| format!("deployment {name:?} exceeded its progress deadline")),
        };
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if let Some(desired) = deployment.spec.as_ref().and_then(|s| s.replicas)
        && updated < desired
    {
        return progressing_because(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {desired} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return progressing_because(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return progressing_because(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    RolloutState::Complete
}

/// kubectl's `StatefulSetStatusViewer.Status`.
///
/// kubectl refuses to watch an `OnDelete` StatefulSet (nothing rolls until
/// someone deletes pods); there is nothing to wait for, so it counts as complete.
pub fn statefulset_state(statefulset: &StatefulSet) -> RolloutState {
    let spec = statefulset.spec.as_ref();
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    // The API server defaults a missing strategy to RollingUpdate.
    let strategy_type = strategy
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate");
    if strategy_type != "RollingUpdate" {
        return RolloutState::Complete;
    }
    let Some(status) = &statefulset.status else {
        return waiting_for_observation("statefulset");
    };
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || statefulset.metadata.generation.unwrap_or(0) > observed {
        return waiting_for_observation("statefulset");
    }
    let desired = spec.and_then(|s| s.replicas);
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if let Some(desired) = desired
        && ready < desired
    {
        return progressing_because(format!(
            "Waiting for {} pods to be ready...",
            desired - ready
        ));
    }
    if let Some(rolling) = strategy.and_then(|s| s.rolling_update.as_ref()) {
        if let (Some(desired), Some(partition)) = (desired, rolling.partition)
            && updated < desired - partition
        {
            return progressing_because(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                desired - partition
            ));
        }
        return RolloutState::Complete;
    }
    if status.update_revision != status.current_revision {
        return progressing_because(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {}...",
            status.update_revision.as_deref().unwrap_or("")
        ));
    }
    RolloutState::Complete
}

/// Replicas of the new template that are available, and replicas wanted —
/// what a progress bar shows. During a rollout old replicas still count as
/// available, so the new ones are capped by `updatedReplicas`.
pub fn deployment_progress(deployment: &Deployment) -> (i32, i32) {
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let ready = status
        .available_replicas
        .unwrap_or(0)
        .min(status.updated_replicas.unwrap_or(0));
    (ready, desired)
}

/// Like [`deployment_progress`], for a StatefulSet.
pub fn statefulset_progress(statefulset: &StatefulSet) -> (i32, i32) {
    let desired = statefulset
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = statefulset.status.clone().unwrap_or_default();
    let ready = status
        .ready_replicas
        .unwrap_or(0)
        .min(status.updated_replicas.unwrap_or(0));
    (ready, desired)
}

/// The rollout revision: the deployment controller's revision annotation.
pub fn deployment_revision(deployment: &Deployment) -> Option<String> {
    deployment
        .metadata
        .annotations
        .as_ref()?
        .get(DEPLOYMENT_REVISION_ANNOTATION)
        .cloned()
}

/// The rollout revision of a StatefulSet: the ControllerRevision it updates to.
pub fn statefulset_revision(statefulset: &StatefulSet) -> Option<String> {
    statefulset.status.as_ref()?.update_revision.clone()
}

fn waiting_for_observation(kind: &str) -> RolloutState {
    progressing_because(format!("Waiting for {kind} spec update to be observed..."))
}

fn progressing_because(message: String) -> RolloutState {
    RolloutState::Progressing { message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn deployment(generation: i64, replicas: i32, status: Value) -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api-gateway", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    fn message(state: RolloutState) -> String {
        match state {
            RolloutState::Progressing { message } => message,
            other => panic!("expected Progressing, got {other:?}"),
        }
    }

    #[test]
    fn deployment_waits_until_the_controller_observed_the_new_generation() {
        // A fully available status of the previous generation is not completion:
        // this is the case kube-runtime's is_deployment_completed gets wrong.
        let d = deployment(
            3,
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert_eq!(
            message(deployment_state(&d)),
            "Waiting for deployment spec update to be observed..."
        );
    }

    #[test]
    fn deployment_without_status_is_waiting_for_observation() {
        let mut d = deployment(1, 2, json!({}));
        d.status = None;
        assert!(message(deployment_state(&d)).contains("spec update to be observed"));
    }

    #[test]
    fn deployment_past_its_progress_deadline_failed() {
        let d = deployment(
            2,
            2,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2,
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                   "message": "ReplicaSet \"api-gateway-7d9\" has timed out progressing."}]}),
        );
        assert_eq!(
            deployment_state(&d),
            RolloutState::Failed {
                reason: "ProgressDeadlineExceeded".into(),
                message: "ReplicaSet \"api-gateway-7d9\" has timed out progressing.".into(),
            }
        );
    }

    #[test]
    fn deployment_waits_for_new_replicas_to_be_updated() {
        let d = deployment(
            2,
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]}),
        );
        assert_eq!(
            message(deployment_state(&d)),
            "Waiting for deployment \"api-gateway\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
    }

    #[test]
    fn deployment_waits_for_old_replicas_to_terminate() {
        let d = deployment(
            2,
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(
            message(deployment_state(&d)),
            "Waiting for deployment \"api-gateway\" rollout to finish: 1 old replicas are pending termination..."
        );
    }

    #[test]
    fn deployment_waits_for_updated_replicas_to_be_available() {
        let d = deployment(
            2,
            3,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
        );
        assert_eq!(
            message(deployment_state(&d)),
            "Waiting for deployment \"api-gateway\" rollout to finish: 1 of 3 updated replicas are available..."
        );
    }

    #[test]
    fn deployment_complete_when_all_new_replicas_are_available() {
        let d = deployment(
            2,
            3,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
        );
        assert_eq!(deployment_state(&d), RolloutState::Complete);
        assert_eq!(deployment_progress(&d), (3, 3));
    }

    #[test]
    fn deployment_scaled_to_zero_is_complete() {
        let d = deployment(2, 0, json!({"observedGeneration": 2}));
        assert_eq!(deployment_state(&d), RolloutState::Complete);
    }

    #[test]
    fn deployment_progress_counts_only_new_available_replicas() {
        let d = deployment(
            2,
            3,
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3}),
        );
        assert_eq!(deployment_progress(&d), (1, 3));
    }

    #[test]
    fn deployment_revision_comes_from_the_annotation() {
        let mut d = deployment(1, 1, json!({}));
        assert_eq!(deployment_revision(&d), None);
        d.metadata.annotations =
            Some([(DEPLOYMENT_REVISION_ANNOTATION.to_string(), "4".to_string())].into());
        assert_eq!(deployment_revision(&d).as_deref(), Some("4"));
    }

    fn statefulset(generation: i64, replicas: i32, strategy: Value, status: Value) -> StatefulSet {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "postgres", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {}, "serviceName": "postgres",
                     "updateStrategy": strategy},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn statefulset_waits_for_observation_including_generation_zero() {
        let s = statefulset(
            1,
            1,
            json!({"type": "RollingUpdate"}),
            json!({"replicas": 0}),
        );
        assert_eq!(
            message(statefulset_state(&s)),
            "Waiting for statefulset spec update to be observed..."
        );
        let s = statefulset(
            3,
            1,
            json!({"type": "RollingUpdate"}),
            json!({"replicas": 1, "observedGeneration": 2, "readyReplicas": 1}),
        );
        assert!(message(statefulset_state(&s)).contains("spec update to be observed"));
    }

    #[test]
    fn statefulset_waits_for_pods_to_be_ready() {
        let s = statefulset(
            2,
            3,
            json!({"type": "RollingUpdate"}),
            json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 1}),
        );
        assert_eq!(
            message(statefulset_state(&s)),
            "Waiting for 2 pods to be ready..."
        );
    }

    #[test]
    fn statefulset_waits_for_the_partitioned_rollout() {
        let s = statefulset(
            2,
            3,
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
            json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1}),
        );
        assert_eq!(
            message(statefulset_state(&s)),
            "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
        );
        let s = statefulset(
            2,
            3,
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
            json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 2}),
        );
        assert_eq!(statefulset_state(&s), RolloutState::Complete);
    }

    #[test]
    fn statefulset_without_rolling_update_params_compares_revisions() {
        let s = statefulset(
            2,
            2,
            json!({"type": "RollingUpdate"}),
            json!({"replicas": 2, "observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 1,
                   "currentRevision": "postgres-1", "updateRevision": "postgres-2"}),
        );
        assert_eq!(
            message(statefulset_state(&s)),
            "waiting for statefulset rolling update to complete 1 pods at revision postgres-2..."
        );
        let s = statefulset(
            2,
            2,
            json!({"type": "RollingUpdate"}),
            json!({"replicas": 2, "observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2,
                   "currentRevision": "postgres-2", "updateRevision": "postgres-2"}),
        );
        assert_eq!(statefulset_state(&s), RolloutState::Complete);
        assert_eq!(statefulset_revision(&s).as_deref(), Some("postgres-2"));
        assert_eq!(statefulset_progress(&s), (2, 2));
    }

    #[test]
    fn statefulset_on_delete_has_nothing_to_wait_for() {
        let s = statefulset(2, 2, json!({"type": "OnDelete"}), json!({"replicas": 2}));
        assert_eq!(statefulset_state(&s), RolloutState::Complete);
    }
}
