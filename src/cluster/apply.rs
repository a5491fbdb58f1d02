//! Server-side apply of a rendered manifest set: kinds resolved once through
//! discovery, phases in `Phase::all()` order, the objects of a phase in
//! parallel (bounded), the next phase only once the whole previous one
//! succeeded. Also the plan: what an apply would create, change or leave alone,
//! from a server-side dry run against the live objects.
//!
//! Every object is read before it is applied: the live object against the
//! apply's result tells Created / Configured / Unchanged, and the live
//! Deployment is what the HPA rule below needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;

use super::kinds::ServedKinds;
use k8s_openapi::api::apps::v1::Deployment;
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::render::labels;
use crate::render::{Manifest, Phase};

/// The field manager every apply uses, so ownership is stable across runs.
pub const FIELD_MANAGER: &str = labels::MANAGER;

/// The field manager that takes over `spec.replicas` of an HPA-managed
/// Deployment from [`FIELD_MANAGER`] (see [`apply_set`]). It owns nothing
/// else, and the API server drops it as soon as the HPA writes a new count.
pub const REPLICAS_HANDOVER_MANAGER: &str = "fintechctl-replicas-handover";

/// Requests in flight at once within a phase (and the plan's dry runs): a
/// whole release (about 40 objects) fits in one wave, so a phase or the
/// plan costs its round trips once, not once per 32 objects.
const MAX_IN_FLIGHT: usize = 64;

/// What a plan found per object, by `Kind/name` and namespace.
pub type PlannedActions = HashMap<(String, Option<String>), Planned>;

/// What the plan found for one object: enough to apply it without reading
/// it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub action: PlannedAction,
    /// The live object's `metadata.generation` (for an unchanged object,
    /// which is then not sent again).
    pub generation: Option<i64>,
    /// Whether fintechctl's apply alone owned the live `spec.replicas` (a
    /// Deployment an HPA scales then needs the handover).
    pub needs_handover: bool,
    /// The live `spec.replicas` and `metadata.resourceVersion`: the
    /// handover writes that count on the condition that the object has not
    /// changed since (else it is read again).
    pub replicas: Option<i64>,
    pub resource_version: Option<String>,
}

impl Planned {
    /// From a plan's entry.
    pub fn of(change: &PlannedChange) -> Planned {
        Planned {
            action: change.action,
            generation: change
                .live
                .as_ref()
                .and_then(|l| l["metadata"]["generation"].as_i64()),
            needs_handover: change
                .live
                .as_ref()
                .and_then(|l| serde_json::from_value::<DynamicObject>(l.clone()).ok())
                .is_some_and(|l| needs_handover(&l)),
            replicas: change
                .live
                .as_ref()
                .and_then(|l| l["spec"]["replicas"].as_i64()),
            resource_version: change
                .live
                .as_ref()
                .and_then(|l| l["metadata"]["resourceVersion"].as_str())
                .map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Send everything with `dryRun=All`: validated and admitted, never stored.
    pub dry_run: bool,
    /// Take over fields another field manager owns (`force=true`).
    pub force_conflicts: bool,
    /// Kinds not to apply, e.g. `VerticalPodAutoscaler` when its CRD is missing.
    pub skip_kinds: Vec<String>,
    /// When this turns `true` (Ctrl-C), the apply finishes the phase in
    /// progress and stops before the next one: never half a phase.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// The run's discovery cache (a fresh one when `None`).
    pub kinds: Option<ServedKinds>,
    /// What the plan (made moments ago, under the lock) found for each
    /// object, by `Kind/name` and namespace: such an object is applied
    /// without reading it first (one round trip instead of two), except a
    /// Deployment an HPA scales whose `spec.replicas` fintechctl still owns
    /// (the handover needs the live count); one the plan found unchanged
    /// is not sent at all.
    pub planned: Option<std::sync::Arc<PlannedActions>>,
    /// The namespaces of the objects exist already (a deploy's lock lives
    /// in its namespace): the Namespace, Quota, Access and Config phases
    /// then go as one wave, nothing in them needing another first.
    pub namespaces_exist: bool,
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    /// Something other than status and server-kept metadata changed.
    Configured,
    Unchanged,
    /// Its kind is in `skip_kinds`.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedObject {
    /// `Kind/name`.
    pub display: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub action: Action,
    /// `metadata.generation` after the apply (what a rollout watch waits for).
    pub generation: Option<i64>,
}

/// Progress of [`apply_set`], for the terminal or a test recorder.
pub trait ApplyReporter: Send + Sync {
    fn phase_started(&self, phase: Phase, objects: usize);
    fn object_applied(&self, object: &AppliedObject);
    fn object_failed(&self, display: &str, error: &ApplyError);
}

/// A reporter that reports nothing.
pub struct NoApplyReport;

impl ApplyReporter for NoApplyReport {
    fn phase_started(&self, _: Phase, _: usize) {}
    fn object_applied(&self, _: &AppliedObject) {}
    fn object_failed(&self, _: &str, _: &ApplyError) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{object} (from {template}): the API server does not serve {api_version} {kind}")]
    UnknownKind {
        object: String,
        template: String,
        api_version: String,
        kind: String,
    },
    #[error(
        "{object} (from {template}): {kind} is namespaced but the object has no metadata.namespace"
    )]
    MissingNamespace {
        object: String,
        template: String,
        kind: String,
    },
    #[error(
        "discovering the kinds of {api_version}: {}",
        crate::cluster::api_message(source)
    )]
    Discovery {
        api_version: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Another field manager owns fields this apply sets to different values.
    /// `manager` names every conflicting manager (comma-separated when several).
    #[error("{object}: conflict with field manager {manager:?} over {}; re-run with --force-conflicts to take them over", fields.join(", "))]
    Conflict {
        object: String,
        manager: String,
        fields: Vec<String>,
    },
    #[error("{object}: {action}: {}", crate::cluster::api_message(source))]
    Api {
        object: String,
        /// `reading the live object`, `applying`, ...
        action: &'static str,
        #[source]
        source: Box<kube::Error>,
    },
    /// Some objects of a phase failed; the phase's other objects were applied
    /// and no later phase was started.
    #[error("{} of the {} phase failed to apply: {}", plural(failures.len()), phase.name(), failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    PhaseFailed {
        phase: Phase,
        failures: Vec<ApplyError>,
        /// Everything applied so far, this phase included.
        applied: Vec<AppliedObject>,
    },
    /// Stopped between phases; `applied` holds what was applied.
    #[error("interrupted {}", match last_phase { Some(p) => format!("after the {} phase", p.name()), None => "before the first phase".to_string() })]
    Interrupted {
        last_phase: Option<Phase>,
        applied: Vec<AppliedObject>,
    },
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 object".into()
    } else {
        format!("{n} objects")
    }
}

/// A kind the API server serves, and how to address it.
#[derive(Debug, Clone)]
struct ResolvedKind {
    resource: ApiResource,
    namespaced: bool,
}

type KindKey = (String, String);

/// Apply `manifests` with server-side apply, phase by phase.
///
/// A Deployment that an HPA in the set scales is applied *without*
/// `spec.replicas` once it exists. Under server-side apply, a field in the
/// applied configuration is owned by the applier and reset to the applied
/// value on every apply: owning `spec.replicas` would scale production back
/// to the template's count on every deploy (or fail with a conflict against
/// the HPA controller once it has scaled). A new Deployment is created with
/// the template's count so its first rollout starts at a sensible size.
/// Leaving out a field fintechctl owns would make the API server *remove*
/// it (→ 1 replica), so when fintechctl still owns `spec.replicas` (it
/// created the Deployment and the HPA never changed the count) ownership is
/// first handed to [`REPLICAS_HANDOVER_MANAGER`] at the live value.
pub async fn apply_set(
    client: &kube::Client,
    manifests: &[Manifest],
    opts: &ApplyOptions,
    reporter: &dyn ApplyReporter,
) -> Result<Vec<AppliedObject>, ApplyError> {
    let (to_apply, skipped) = split_skipped(manifests, &opts.skip_kinds);
    let served = opts
        .kinds
        .clone()
        .unwrap_or_else(|| ServedKinds::new(client));
    let kinds = resolve_kinds(&served, &to_apply).await?;
    let targets = prepare(client, &to_apply, &kinds)?;
    let hpa_targets = hpa_scaled_deployments(&to_apply);

    let mut applied: Vec<AppliedObject> = Vec::new();
    let mut last_phase = None;
    for wave in waves(opts.namespaces_exist) {
        let in_phase: Vec<&Target> = targets.iter().filter(|t| wave.contains(&t.phase)).collect();
        let skipped_here: Vec<&&Manifest> = skipped
            .iter()
            .filter(|m| wave.contains(&m.phase()))
            .collect();
        if in_phase.is_empty() && skipped_here.is_empty() {
            continue;
        }
        // The wave's last phase: what an interruption or a failure names.
        let phase = *wave.last().unwrap_or(&Phase::Workloads);
        if opts.stop.as_ref().is_some_and(|stop| *stop.borrow()) {
            return Err(ApplyError::Interrupted {
                last_phase,
                applied,
            });
        }
        for &p in wave.iter() {
            let count = in_phase.iter().filter(|t| t.phase == p).count();
            if count > 0 {
                reporter.phase_started(p, count);
            }
        }
        for manifest in skipped_here {
            let object = skipped_object(manifest);
            reporter.object_applied(&object);
            applied.push(object);
        }

        let mut failures = Vec::new();
        // Results arrive in completion order; they are returned in phase
        // order, then manifest order.
        let phases: Vec<Phase> = in_phase.iter().map(|t| t.phase).collect();
        let mut done: Vec<(usize, AppliedObject)> = Vec::new();
        let mut queue = in_phase.into_iter().enumerate();
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < MAX_IN_FLIGHT
                && let Some((index, target)) = queue.next()
            {
                let hpa_managed = target.manifest.kind() == "Deployment"
                    && hpa_targets
                        .contains(&(target.namespace.clone(), target.manifest.name().to_string()));
                let job = ApplyJob {
                    api: target.api.clone(),
                    object: target.manifest.object.clone(),
                    display: target.manifest.display(),
                    kind: target.manifest.kind().to_string(),
                    name: target.manifest.name().to_string(),
                    namespace: target.namespace.clone(),
                    hpa_managed,
                    dry_run: opts.dry_run,
                    force: opts.force_conflicts,
                    known: opts.planned.as_ref().and_then(|p| {
                        p.get(&(target.manifest.display(), target.namespace.clone()))
                            .cloned()
                    }),
                };
                in_flight.spawn(async move { (index, job.run().await) });
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            match joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())) {
                (index, Ok(object)) => {
                    reporter.object_applied(&object);
                    done.push((index, object));
                }
                (_, Err((display, error))) => {
                    reporter.object_failed(&display, &error);
                    failures.push(error);
                }
            }
        }
        done.sort_by_key(|(index, _)| (phases[*index], *index));
        applied.extend(done.into_iter().map(|(_, object)| object));
        if !failures.is_empty() {
            return Err(ApplyError::PhaseFailed {
                phase,
                failures,
                applied,
            });
        }
        last_phase = Some(phase);
    }
    Ok(applied)
}

/// The phases in the order they are applied, grouped into waves that go
/// at once. What must exist before what: the namespace before what lives
/// in it; quota, limits, service accounts, RBAC, policies and the
/// configuration before any pod (the data stores' and the workloads');
/// the data stores before the migration, the migration before the
/// workloads. A workload and its autoscaler need no order between them,
/// nor do the quota, access and config objects among themselves; the
/// Namespace goes with them once it exists.
fn waves(namespaces_exist: bool) -> &'static [&'static [Phase]] {
    const NAMESPACE_FIRST: &[&[Phase]] = &[
        &[Phase::Namespace],
        &[Phase::Quota, Phase::Access, Phase::Config],
        &[Phase::DataStores],
        &[Phase::Migration],
        &[Phase::Workloads, Phase::Autoscaling],
    ];
    const NAMESPACE_EXISTS: &[&[Phase]] = &[
        &[Phase::Namespace, Phase::Quota, Phase::Access, Phase::Config],
        &[Phase::DataStores],
        &[Phase::Migration],
        &[Phase::Workloads, Phase::Autoscaling],
    ];
    if namespaces_exist {
        NAMESPACE_EXISTS
    } else {
        NAMESPACE_FIRST
    }
}

/// What a deploy would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedAction {
    Create,
    Change,
    Unchanged,
    Skip,
    /// A Secret whose values were not given (a dry run without them):
    /// whether it changes cannot be known.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    pub display: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub action: PlannedAction,
    /// For a change: the paths that differ, e.g. `.spec.template.spec.containers[0].image`
    /// (never the values, so secrets are safe to show).
    pub fields: Vec<String>,
    /// The live object (`None` when it does not exist), for `fintechctl diff`.
    /// Holds secret values: only ever shown through `render::diff`, which masks them.
    #[serde(skip)]
    pub live: Option<Value>,
    /// The change as a unified diff, secret values masked (filled in by
    /// the caller, who holds the digest key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// What the object would be after the apply: the server's dry-run result,
    /// or the applied manifest when the namespace does not exist yet.
    #[serde(skip)]
    pub desired: Option<Value>,
}

/// What applying `manifests` would do, from a server-side dry-run apply of
/// every object compared with the live object. Writes nothing. A conflict
/// with another field manager shows up here, before anything is written.
pub async fn plan(
    client: &kube::Client,
    manifests: &[Manifest],
    opts: &ApplyOptions,
) -> Result<Vec<PlannedChange>, ApplyError> {
    let (to_apply, skipped) = split_skipped(manifests, &opts.skip_kinds);
    let served = opts
        .kinds
        .clone()
        .unwrap_or_else(|| ServedKinds::new(client));
    let kinds = resolve_kinds(&served, &to_apply).await?;
    let targets = prepare(client, &to_apply, &kinds)?;
    let hpa_targets = hpa_scaled_deployments(&to_apply);

    let mut planned: Vec<(usize, PlannedChange)> = Vec::new();
    let mut failures = Vec::new();
    let mut queue = targets.iter().enumerate();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < MAX_IN_FLIGHT
            && let Some((index, target)) = queue.next()
        {
            let job = ApplyJob {
                api: target.api.clone(),
                object: target.manifest.object.clone(),
                display: target.manifest.display(),
                kind: target.manifest.kind().to_string(),
                name: target.manifest.name().to_string(),
                namespace: target.namespace.clone(),
                hpa_managed: target.manifest.kind() == "Deployment"
                    && hpa_targets
                        .contains(&(target.namespace.clone(), target.manifest.name().to_string())),
                dry_run: true,
                force: opts.force_conflicts,
                known: None,
            };
            in_flight.spawn(async move { (index, job.plan().await) });
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        match joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())) {
            (index, Ok(change)) => planned.push((index, change)),
            (_, Err((_, error))) => failures.push(error),
        }
    }
    if let Some(first) = failures.into_iter().next() {
        return Err(first);
    }
    planned.sort_by_key(|(index, _)| *index);
    let mut changes: Vec<PlannedChange> = planned.into_iter().map(|(_, c)| c).collect();
    changes.extend(skipped.iter().map(|m| PlannedChange {
        display: m.display(),
        kind: m.kind().to_string(),
        name: m.name().to_string(),
        namespace: m.namespace().map(str::to_string),
        action: PlannedAction::Skip,
        fields: Vec::new(),
        live: None,
        diff: None,
        desired: None,
    }));
    Ok(changes)
}

/// Whether the API server serves `group/version` `kind` (an optional CRD
/// such as the VerticalPodAutoscaler). Any failure to find out counts as no.
pub async fn crd_available(client: &kube::Client, group: &str, version: &str, kind: &str) -> bool {
    ServedKinds::new(client)
        .serves(&format!("{group}/{version}"), kind)
        .await
}

fn split_skipped<'a>(
    manifests: &'a [Manifest],
    skip_kinds: &[String],
) -> (Vec<&'a Manifest>, Vec<&'a Manifest>) {
    manifests
        .iter()
        .partition(|m| !skip_kinds.iter().any(|k| k == m.kind()))
}

fn skipped_object(manifest: &Manifest) -> AppliedObject {
    AppliedObject {
        display: manifest.display(),
        kind: manifest.kind().to_string(),
        name: manifest.name().to_string(),
        namespace: manifest.namespace().map(str::to_string),
        action: Action::Skipped,
        generation: None,
    }
}

/// Discovery of every apiVersion the set uses, one request per
/// group/version, all at once.
async fn resolve_kinds(
    kinds: &ServedKinds,
    manifests: &[&Manifest],
) -> Result<HashMap<KindKey, ResolvedKind>, ApplyError> {
    kinds
        .prefetch(manifests.iter().map(|m| m.api_version()))
        .await
        .map_err(|(api_version, source)| ApplyError::Discovery {
            api_version,
            source: Box::new(source),
        })?;
    let mut resolved = HashMap::new();
    for manifest in manifests {
        let key = (
            manifest.api_version().to_string(),
            manifest.kind().to_string(),
        );
        if resolved.contains_key(&key) {
            continue;
        }
        let found = kinds
            .find(manifest.api_version(), manifest.kind())
            .await
            .map_err(|source| ApplyError::Discovery {
                api_version: manifest.api_version().to_string(),
                source: Box::new(source),
            })?;
        let Some(found) = found else {
            return Err(ApplyError::UnknownKind {
                object: manifest.display(),
                template: manifest.template.clone(),
                api_version: manifest.api_version().to_string(),
                kind: manifest.kind().to_string(),
            });
        };
        resolved.insert(
            key,
            ResolvedKind {
                resource: found.resource,
                namespaced: found.namespaced,
            },
        );
    }
    Ok(resolved)
}

/// A manifest with the API handle to apply it through.
struct Target<'a> {
    manifest: &'a Manifest,
    phase: Phase,
    namespace: Option<String>,
    api: Api<DynamicObject>,
}

fn prepare<'a>(
    client: &kube::Client,
    manifests: &[&'a Manifest],
    kinds: &HashMap<KindKey, ResolvedKind>,
) -> Result<Vec<Target<'a>>, ApplyError> {
    manifests
        .iter()
        .map(|manifest| {
            let kind = &kinds[&(
                manifest.api_version().to_string(),
                manifest.kind().to_string(),
            )];
            let (namespace, api) = if kind.namespaced {
                let Some(ns) = manifest.namespace() else {
                    return Err(ApplyError::MissingNamespace {
                        object: manifest.display(),
                        template: manifest.template.clone(),
                        kind: manifest.kind().to_string(),
                    });
                };
                (
                    Some(ns.to_string()),
                    Api::namespaced_with(client.clone(), ns, &kind.resource),
                )
            } else {
                (None, Api::all_with(client.clone(), &kind.resource))
            };
            Ok(Target {
                manifest,
                phase: manifest.phase(),
                namespace,
                api,
            })
        })
        .collect()
}

/// `(namespace, name)` of every Deployment an HPA in the set scales.
fn hpa_scaled_deployments(manifests: &[&Manifest]) -> BTreeSet<(Option<String>, String)> {
    manifests
        .iter()
        .filter(|m| m.kind() == "HorizontalPodAutoscaler")
        .filter_map(|hpa| {
            let target = &hpa.object["spec"]["scaleTargetRef"];
            (target["kind"] == "Deployment").then(|| {
                (
                    hpa.namespace().map(str::to_string),
                    target["name"].as_str().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

/// One object's apply, owning everything it needs so it can run as a task.
struct ApplyJob {
    api: Api<DynamicObject>,
    object: Value,
    display: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    hpa_managed: bool,
    dry_run: bool,
    force: bool,
    /// What the plan found for this object, when it is known.
    known: Option<Planned>,
}

type JobError = (String, ApplyError);

impl ApplyJob {
    fn params(&self, manager: &str) -> PatchParams {
        let mut params = PatchParams::apply(manager);
        params.force = self.force;
        params.dry_run = self.dry_run;
        params
    }

    fn api_error(&self, action: &'static str, source: kube::Error) -> JobError {
        let error = conflict_of(&self.display, &source).unwrap_or(ApplyError::Api {
            object: self.display.clone(),
            action,
            source: Box::new(source),
        });
        (self.display.clone(), error)
    }

    /// Read the live object, apply, and say what changed.
    async fn run(self) -> Result<AppliedObject, JobError> {
        if let Some(known) = &self.known
            && known.action == PlannedAction::Unchanged
            && !self.dry_run
        {
            // The plan's dry run, under the lock, found nothing to change.
            return Ok(AppliedObject {
                display: self.display,
                kind: self.kind,
                name: self.name,
                namespace: self.namespace,
                action: Action::Unchanged,
                generation: known.generation,
            });
        }
        // A Deployment an HPA scales needs its live count read only while
        // fintechctl still owns `spec.replicas` (the handover); a new one is
        // created with the template's count.
        let handed_over = match &self.known {
            Some(k)
                if self.hpa_managed
                    && k.action != PlannedAction::Create
                    && k.needs_handover
                    && !self.dry_run =>
            {
                // The handover of the count the plan read goes without a
                // read when nothing changed the Deployment since.
                match (k.replicas, &k.resource_version) {
                    (Some(replicas), Some(rv)) => {
                        self.hand_over_replicas(replicas.into(), Some(rv)).await?
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        let fast = self.known.clone().filter(|k| {
            !self.hpa_managed
                || k.action == PlannedAction::Create
                || !k.needs_handover
                || handed_over
        });
        if let Some(known) = fast {
            let (_, result) = if self.hpa_managed && known.action != PlannedAction::Create {
                self.apply_without_replicas().await?
            } else {
                self.apply_over(None).await?
            };
            let action = match known.action {
                PlannedAction::Create => Action::Created,
                PlannedAction::Change => Action::Configured,
                PlannedAction::Unchanged => Action::Unchanged,
                PlannedAction::Skip | PlannedAction::Unknown => Action::Configured,
            };
            return Ok(AppliedObject {
                display: self.display,
                kind: self.kind,
                name: self.name,
                namespace: self.namespace,
                action,
                generation: result.metadata.generation,
            });
        }
        let (live, result) = self.apply().await?;
        // Not the resourceVersion: controllers write status (and the HPA
        // handover writes managedFields) all the time, so only a difference
        // in what fintechctl applies counts as a change.
        let action = match &live {
            None => Action::Created,
            Some(live) if normalized(live) == normalized(&result) => Action::Unchanged,
            Some(_) => Action::Configured,
        };
        Ok(AppliedObject {
            display: self.display,
            kind: self.kind,
            name: self.name,
            namespace: self.namespace,
            action,
            generation: result.metadata.generation,
        })
    }

    /// Like [`ApplyJob::run`] with a dry run, reporting the differing fields.
    async fn plan(self) -> Result<PlannedChange, JobError> {
        // The dry run of an object does not depend on the live object: both
        // requests go at once. That of an existing Deployment an HPA scales
        // does, and is sent again after the read, unless fintechctl still
        // owns its `spec.replicas` at the manifest's count (the dry run
        // with it is then the one the handover would make).
        let (live, early) = {
            let params = self.params(FIELD_MANAGER);
            let with = Patch::Apply(&self.object);
            let mut without_replicas = self.object.clone();
            if let Some(spec) = without_replicas
                .get_mut("spec")
                .and_then(Value::as_object_mut)
            {
                spec.remove("replicas");
            }
            let without = Patch::Apply(&without_replicas);
            let dry_without = async {
                if self.hpa_managed {
                    Some(self.api.patch(&self.name, &params, &without).await)
                } else {
                    None
                }
            };
            let (live, dry, dry_without) = tokio::join!(
                self.live(),
                self.api.patch(&self.name, &params, &with),
                dry_without
            );
            let live = live?;
            match (&live, dry_without) {
                (Some(l), Some(dry_without)) => {
                    if !needs_handover(l) {
                        (live, Some(dry_without))
                    } else if !l.data["spec"]["replicas"].is_null()
                        && l.data["spec"]["replicas"] == self.object["spec"]["replicas"]
                    {
                        (live, Some(dry))
                    } else {
                        (live, None)
                    }
                }
                _ => (live, Some(dry)),
            }
        };
        let (action, fields, desired) = match &live {
            None => {
                // Validates the new object; a namespace that does not exist
                // yet (a first deploy) cannot be dry-run into, and is created
                // by the first phase.
                let dry = match early {
                    Some(dry) => dry,
                    None => {
                        let params = self.params(FIELD_MANAGER);
                        let patch = Patch::Apply(&self.object);
                        self.api.patch(&self.name, &params, &patch).await
                    }
                };
                let desired = match dry {
                    Ok(result) => serde_json::to_value(&result).ok(),
                    Err(kube::Error::Api(status)) if status.code == 404 => {
                        Some(self.object.clone())
                    }
                    Err(e) => return Err(self.api_error("applying (dry run)", e)),
                };
                (PlannedAction::Create, Vec::new(), desired)
            }
            Some(live) => {
                let result = match early {
                    Some(dry) => dry.map_err(|e| self.api_error("applying", e))?,
                    None => self.apply_over(Some(live.clone())).await?.1,
                };
                let fields = changed_paths(&normalized(live), &normalized(&result));
                let desired = serde_json::to_value(&result).ok();
                if fields.is_empty() {
                    (PlannedAction::Unchanged, fields, desired)
                } else {
                    (PlannedAction::Change, fields, desired)
                }
            }
        };
        let live = live.as_ref().and_then(|l| serde_json::to_value(l).ok());
        Ok(PlannedChange {
            display: self.display,
            kind: self.kind,
            name: self.name,
            namespace: self.namespace,
            action,
            fields,
            live,
            diff: None,
            desired,
        })
    }

    async fn live(&self) -> Result<Option<DynamicObject>, JobError> {
        self.api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.api_error("reading the live object", e))
    }

    async fn apply(&self) -> Result<(Option<DynamicObject>, DynamicObject), JobError> {
        let live = self.live().await?;
        self.apply_over(live).await
    }

    /// Applies the object without `spec.replicas` (an HPA's Deployment
    /// whose replicas fintechctl no longer owns), without reading it.
    async fn apply_without_replicas(
        &self,
    ) -> Result<(Option<DynamicObject>, DynamicObject), JobError> {
        let mut object = self.object.clone();
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("replicas");
        }
        let params = self.params(FIELD_MANAGER);
        let result = self
            .api
            .patch(&self.name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| self.api_error("applying", e))?;
        Ok((None, result))
    }

    async fn apply_over(
        &self,
        live: Option<DynamicObject>,
    ) -> Result<(Option<DynamicObject>, DynamicObject), JobError> {
        let mut object = self.object.clone();
        if self.hpa_managed
            && let Some(live) = &live
        {
            let live_replicas = live.data["spec"]["replicas"].clone();
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("replicas");
            }
            if needs_handover(live) && !live_replicas.is_null() {
                if self.dry_run {
                    // A dry run cannot hand ownership over (the handover would
                    // not persist), so it keeps the live count to show the same result.
                    object["spec"]["replicas"] = live_replicas;
                } else {
                    self.hand_over_replicas(live_replicas, None).await?;
                }
            }
        }
        let params = self.params(FIELD_MANAGER);
        let patch = Patch::Apply(&object);
        let result = self
            .api
            .patch(&self.name, &params, &patch)
            .await
            .map_err(|e| self.api_error("applying", e))?;
        Ok((live, result))
    }

    /// Make [`REPLICAS_HANDOVER_MANAGER`] co-own `spec.replicas` at its live
    /// value, so fintechctl can stop applying it without the API server
    /// removing the field. With `resource_version`, only if the object is
    /// still at it: `false` when it is not (a 409), and the caller reads it
    /// again.
    async fn hand_over_replicas(
        &self,
        replicas: Value,
        resource_version: Option<&String>,
    ) -> Result<bool, JobError> {
        let handover = apply_replicas_handover(
            &self.api,
            &self.name,
            self.namespace.as_deref(),
            &replicas,
            resource_version.map(String::as_str),
        );
        match handover.await {
            Ok(()) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 && resource_version.is_some() => {
                Ok(false)
            }
            Err(e) => Err(self.api_error("handing spec.replicas over to the HPA", e)),
        }
    }
}

/// Whether fintechctl's apply owns `spec.replicas` and nobody co-owns it
/// for the handover: leaving the field out would then remove it.
fn needs_handover(object: &DynamicObject) -> bool {
    owns_replicas(object, FIELD_MANAGER) && !owns_replicas(object, REPLICAS_HANDOVER_MANAGER)
}

/// [`REPLICAS_HANDOVER_MANAGER`] co-owns `spec.replicas` of the
/// Deployments an HPA scales that this apply created, at the count they
/// were created with (the value does not change): the next deploy then
/// leaves the field out without a handover of its own. Best effort, and
/// meant to run while the rollouts are waited for: one that fails leaves
/// the handover to the next deploy. Returns the Deployments it failed for.
pub async fn co_own_created_replicas(
    client: &kube::Client,
    manifests: &[Manifest],
    applied: &[AppliedObject],
) -> Vec<String> {
    let scaled = hpa_scaled_deployments(&manifests.iter().collect::<Vec<_>>());
    let created = manifests.iter().filter(|m| {
        m.kind() == "Deployment"
            && scaled.contains(&(m.namespace().map(str::to_string), m.name().to_string()))
            && applied.iter().any(|a| {
                a.kind == "Deployment"
                    && a.name == m.name()
                    && a.namespace.as_deref() == m.namespace()
                    && a.action == Action::Created
            })
    });
    let writes = created.map(|m| async move {
        let replicas = &m.object["spec"]["replicas"];
        if replicas.is_null() {
            return None;
        }
        let api: Api<Deployment> = match m.namespace() {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::default_namespaced(client.clone()),
        };
        apply_replicas_handover(&api, m.name(), m.namespace(), replicas, None)
            .await
            .err()
            .map(|_| m.display())
    });
    futures::future::join_all(writes)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// [`REPLICAS_HANDOVER_MANAGER`] applies `spec.replicas` of Deployment
/// `name` at `replicas`; with `resource_version`, only if the Deployment
/// is still at it (a 409 otherwise).
async fn apply_replicas_handover<K>(
    api: &Api<K>,
    name: &str,
    namespace: Option<&str>,
    replicas: &Value,
    resource_version: Option<&str>,
) -> Result<(), kube::Error>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let mut body = serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
    });
    if let Some(ns) = namespace {
        body["metadata"]["namespace"] = Value::String(ns.to_string());
    }
    if let Some(rv) = resource_version {
        body["metadata"]["resourceVersion"] = Value::String(rv.to_string());
    }
    let params = PatchParams::apply(REPLICAS_HANDOVER_MANAGER);
    api.patch(name, &params, &Patch::Apply(&body))
        .await
        .map(|_| ())
}

/// Whether `manager` owns `spec.replicas` through an Apply operation.
fn owns_replicas(object: &DynamicObject, manager: &str) -> bool {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| {
            entry.manager.as_deref() == Some(manager)
                && entry.operation.as_deref() == Some("Apply")
                && entry
                    .fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0.pointer("/f:spec/f:replicas").is_some())
        })
}

/// The object without what the API server changes on every write or owns
/// itself, so a dry-run result and the live object compare equal when an
/// apply would change nothing.
fn normalized(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for volatile in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(volatile);
        }
    }
    value
}

/// The JSON paths at which `before` and `after` differ (`.spec.replicas`,
/// `.spec.template.spec.containers[0].image`), at most 20.
fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    fn walk(path: &mut String, before: &Value, after: &Value, out: &mut Vec<String>) {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => {
                let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
                for key in keys {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    walk(
                        path,
                        b.get(key).unwrap_or(&Value::Null),
                        a.get(key).unwrap_or(&Value::Null),
                        out,
                    );
                    path.truncate(len);
                }
            }
            (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
                for (i, (b, a)) in b.iter().zip(a).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(path, b, a, out);
                    path.truncate(len);
                }
            }
            (b, a) if b != a => out.push(path.clone()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&mut String::new(), before, after, &mut out);
    out.truncate(20);
    out
}

/// An apply conflict, from the 409 Status the API server sends:
/// causes of reason `FieldManagerConflict` with the message
/// `conflict with "kubectl" using apps/v1` and the field `.spec.replicas`,
/// or failing those, the same facts from the Status message.
fn conflict_of(object: &str, error: &kube::Error) -> Option<ApplyError> {
    let kube::Error::Api(status) = error else {
        return None;
    };
    if status.code != 409 {
        return None;
    }
    let mut managers: BTreeMap<String, ()> = BTreeMap::new();
    let mut fields = Vec::new();
    for cause in status.details.iter().flat_map(|d| &d.causes) {
        if cause.reason == "FieldManagerConflict" {
            if let Some(manager) = quoted(&cause.message) {
                managers.insert(manager, ());
            }
            if !cause.field.is_empty() {
                fields.push(cause.field.clone());
            }
        }
    }
    if managers.is_empty() {
        // "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas"
        // or, for several, a line per field: "conflicts with \"kubectl\" using apps/v1:\n- .spec.replicas"
        if !status.message.contains("conflict with") && !status.message.contains("conflicts with") {
            return None;
        }
        for line in status.message.lines() {
            if let Some(rest) = line
                .split_once("conflict with ")
                .or(line.split_once("conflicts with "))
            {
                if let Some(manager) = quoted(rest.1) {
                    managers.insert(manager, ());
                }
                if let Some((_, field)) = rest.1.rsplit_once(": ")
                    && field.starts_with('.')
                {
                    fields.push(field.trim().to_string());
                }
            } else if let Some(field) = line.trim().strip_prefix("- ") {
                fields.push(field.to_string());
            }
        }
    }
    if managers.is_empty() {
        return None;
    }
    Some(ApplyError::Conflict {
        object: object.to_string(),
        manager: managers.into_keys().collect::<Vec<_>>().join(", "),
        fields,
    })
}

/// The first `"quoted"` word of `text`.
fn quoted(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;
    use serde_json::json;

    fn status(value: Value) -> kube::Error {
        kube::Error::Api(Box::new(serde_json::from_value::<Status>(value).unwrap()))
    }

    #[test]
    fn conflict_is_read_from_the_status_causes() {
        let error = status(json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Apply failed with 2 conflicts: conflicts with \"kubectl\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"api\"].image",
            "details": {"name": "api-gateway", "group": "apps", "kind": "deployments", "causes": [
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\" using apps/v1", "field": ".spec.replicas"},
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\" using apps/v1",
                 "field": ".spec.template.spec.containers[name=\"api\"].image"},
            ]},
        }));
        match conflict_of("Deployment/api-gateway", &error) {
            Some(ApplyError::Conflict {
                object,
                manager,
                fields,
            }) => {
                assert_eq!(object, "Deployment/api-gateway");
                assert_eq!(manager, "kubectl");
                assert_eq!(
                    fields,
                    vec![
                        ".spec.replicas",
                        ".spec.template.spec.containers[name=\"api\"].image"
                    ]
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn conflict_is_read_from_the_message_without_causes() {
        let error = status(json!({
            "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas",
        }));
        let Some(ApplyError::Conflict {
            manager, fields, ..
        }) = conflict_of("Deployment/x", &error)
        else {
            panic!("expected a conflict");
        };
        assert_eq!(manager, "kubectl");
        assert_eq!(fields, vec![".spec.replicas"]);

        let several = status(json!({
            "reason": "Conflict", "code": 409,
            "message": "Apply failed with 2 conflicts: conflicts with \"helm\" using v1:\n- .data.a\n- .data.b",
        }));
        let Some(ApplyError::Conflict {
            manager, fields, ..
        }) = conflict_of("ConfigMap/x", &several)
        else {
            panic!("expected a conflict");
        };
        assert_eq!(manager, "helm");
        assert_eq!(fields, vec![".data.a", ".data.b"]);
    }

    #[test]
    fn conflict_message_names_manager_and_fields() {
        let error = ApplyError::Conflict {
            object: "Deployment/api-gateway".into(),
            manager: "kubectl".into(),
            fields: vec![".spec.replicas".into()],
        };
        assert_eq!(
            error.to_string(),
            "Deployment/api-gateway: conflict with field manager \"kubectl\" over .spec.replicas; re-run with --force-conflicts to take them over"
        );
    }

    #[test]
    fn other_409s_are_not_apply_conflicts() {
        let error = status(json!({
            "reason": "Conflict", "code": 409,
            "message": "Operation cannot be fulfilled on deployments.apps \"x\": the object has been modified",
        }));
        assert!(conflict_of("Deployment/x", &error).is_none());
        let not_found = status(json!({"reason": "NotFound", "code": 404, "message": "not found"}));
        assert!(conflict_of("Deployment/x", &not_found).is_none());
    }

    fn manifest(object: Value) -> Manifest {
        Manifest::new("t.yaml", object)
    }

    #[test]
    fn hpa_targets_are_found_per_namespace() {
        let set = [
            manifest(
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "api-gateway", "namespace": "prod"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"}}}),
            ),
            manifest(
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "db", "namespace": "prod"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}}}),
            ),
            manifest(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "api-gateway", "namespace": "prod"}})),
        ];
        let refs: Vec<&Manifest> = set.iter().collect();
        let targets = hpa_scaled_deployments(&refs);
        assert_eq!(
            targets.into_iter().collect::<Vec<_>>(),
            vec![(Some("prod".to_string()), "api-gateway".to_string())]
        );
    }

    #[test]
    fn skip_kinds_splits_the_set() {
        let set = [
            manifest(
                json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "a"}}),
            ),
            manifest(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})),
        ];
        let (apply, skip) = split_skipped(&set, &["VerticalPodAutoscaler".to_string()]);
        assert_eq!(apply.len(), 1);
        assert_eq!(skip[0].kind(), "VerticalPodAutoscaler");
        assert_eq!(skipped_object(skip[0]).action, Action::Skipped);
    }

    fn dynamic(value: Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn replicas_ownership_is_read_from_managed_fields() {
        let owned = dynamic(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "managedFields": [
                {"manager": "fintechctl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}},
            ]},
        }));
        assert!(owns_replicas(&owned, FIELD_MANAGER));
        let handed_over = dynamic(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "managedFields": [
                {"manager": "fintechctl", "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:template": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            ]},
        }));
        assert!(!owns_replicas(&handed_over, FIELD_MANAGER));
        assert!(needs_handover(&owned), "fintechctl alone owns the count");
        assert!(!needs_handover(&handed_over));
        let co_owned = dynamic(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "managedFields": [
                {"manager": "fintechctl", "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}},
                {"manager": REPLICAS_HANDOVER_MANAGER, "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            ]},
        }));
        assert!(
            !needs_handover(&co_owned),
            "co-owned for the handover: leaving it out keeps it"
        );
    }

    #[test]
    fn normalized_ignores_what_the_server_changes_on_every_write() {
        let live = dynamic(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "5", "uid": "u", "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "x"}]},
            "data": {"a": "1"},
        }));
        let dry_run = dynamic(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "6", "uid": "u", "generation": 2},
            "data": {"a": "1"}, "status": {"x": 1},
        }));
        assert_eq!(normalized(&live), normalized(&dry_run));
    }

    #[test]
    fn changed_paths_name_every_difference() {
        let before = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a:1", "name": "api"}]}}},
                            "data": {"gone": "x"}});
        let after = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a:2", "name": "api"}]}}},
                           "data": {"new": "y"}});
        assert_eq!(
            changed_paths(&before, &after),
            vec![
                ".data.gone",
                ".data.new",
                ".spec.template.spec.containers[0].image"
            ]
        );
        assert!(changed_paths(&before, &before).is_empty());
    }
}
