//! The object store: one resourceVersion counter, metadata stamping, watch history,
//! create / update / patch / apply / delete semantics.

use crate::admission;
use crate::error::ApiError;
use crate::fields::{self, FieldSet};
use crate::resources::{self, ResDef};
use crate::util;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Debug)]
pub struct Ev {
    pub rv: u64,
    pub key: String,
    pub ns: String,
    pub typ: &'static str,
    pub obj: Value,
    pub old: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub manager: String,
    pub dry_run: bool,
    pub force: bool,
    pub subresource: Option<String>,
    pub propagation: Option<String>,
    pub grace_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl WriteOpts {
    pub fn manager(m: &str) -> Self {
        WriteOpts {
            manager: m.to_string(),
            ..Default::default()
        }
    }
}

pub type Objects = BTreeMap<(String, String), Value>;

/// The garbage collector's finalizer for foreground cascading deletion.
pub const FOREGROUND: &str = "foregroundDeletion";

pub struct Store {
    pub rv: u64,
    pub objs: HashMap<String, Objects>,
    pub history: VecDeque<Arc<Ev>>,
    pub history_limit: usize,
    /// Oldest resourceVersion a watch can resume from.
    pub compacted_rv: u64,
    pub tx: broadcast::Sender<Arc<Ev>>,
    pub next_cluster_ip: u32,
    /// The resources the stored CustomResourceDefinitions serve.
    pub crds: Vec<&'static ResDef>,
    /// The event recorders' aggregator: similar events (same object, source, type and
    /// reason) → the distinct messages seen and when the window started.
    pub event_similar: HashMap<String, (std::collections::HashSet<String>, std::time::Instant)>,
}

fn meta(v: &Value) -> &Value {
    v.get("metadata").unwrap_or(&Value::Null)
}

pub fn name_of(v: &Value) -> String {
    util::str_of(v, "metadata.name")
}
pub fn ns_of(v: &Value) -> String {
    util::str_of(v, "metadata.namespace")
}
pub fn uid_of(v: &Value) -> String {
    util::str_of(v, "metadata.uid")
}

fn meta_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let o = v.as_object_mut().unwrap();
    let m = o.entry("metadata").or_insert(json!({}));
    if !m.is_object() {
        *m = json!({});
    }
    m.as_object_mut().unwrap()
}

/// Everything but metadata and status: a change bumps generation.
fn spec_part(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(o) = c.as_object_mut() {
        o.shift_remove("metadata");
        o.shift_remove("status");
        o.shift_remove("apiVersion");
        o.shift_remove("kind");
    }
    c
}

/// Resources whose registry strategy maintains metadata.generation (the kind table says).
pub fn has_generation(rd: &ResDef) -> bool {
    rd.generation || rd.custom
}

fn valid_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        })
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(8192);
        Store {
            rv: 1,
            objs: HashMap::new(),
            history: VecDeque::new(),
            history_limit,
            compacted_rv: 1,
            tx,
            next_cluster_ip: 0,
            crds: Vec::new(),
            event_similar: HashMap::new(),
        }
    }

    pub fn get(&self, rd: &ResDef, ns: &str, name: &str) -> Option<&Value> {
        self.objs
            .get(&rd.key())?
            .get(&(ns.to_string(), name.to_string()))
    }

    pub fn list(&self, rd: &ResDef, ns: Option<&str>) -> Vec<&Value> {
        match self.objs.get(&rd.key()) {
            None => vec![],
            Some(m) => m
                .iter()
                .filter(|((n, _), _)| ns.is_none_or(|x| x == n))
                .map(|(_, v)| v)
                .collect(),
        }
    }

    pub fn list_cloned(&self, rd: &ResDef, ns: Option<&str>) -> Vec<Value> {
        self.list(rd, ns).into_iter().cloned().collect()
    }

    /// Forget watch history so that older resourceVersions answer 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted_rv = self.rv;
    }

    /// Everything served now: built-ins plus the CRDs' resources.
    pub fn catalog(&self) -> resources::Catalog {
        let mut v: Vec<&'static ResDef> = resources::RESOURCES.iter().collect();
        v.extend(self.crds.iter().copied());
        resources::Catalog(v)
    }

    fn refresh_crds(&mut self) {
        let mut defs = Vec::new();
        if let Some(m) = self.objs.get(resources::CRD_KEY) {
            for crd in m.values() {
                for d in resources::from_crd(crd) {
                    // a CRD may not shadow a built-in
                    if !resources::RESOURCES
                        .iter()
                        .any(|r| r.group == d.group && r.plural == d.plural)
                    {
                        defs.push(d);
                    }
                }
            }
        }
        self.crds = defs;
    }

    fn record(&mut self, rd: &ResDef, typ: &'static str, obj: &Value, old: Option<Value>) {
        if rd.key() == resources::CRD_KEY {
            self.refresh_crds();
        }
        let ev = Arc::new(Ev {
            rv: self.rv,
            key: rd.key(),
            ns: ns_of(obj),
            typ,
            obj: obj.clone(),
            old,
        });
        self.history.push_back(ev.clone());
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.compacted_rv = e.rv;
            }
        }
        let _ = self.tx.send(ev);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn check_ns(&self, rd: &ResDef, ns: &str) -> Result<(), ApiError> {
        if rd.namespaced {
            if ns.is_empty() {
                return Err(ApiError::bad_request(
                    "the namespace of the object must be set",
                ));
            }
            let nsrd = resources::builtin("", "namespaces");
            match self.get(nsrd, "", ns) {
                None => return Err(ApiError::not_found(nsrd, ns)),
                Some(n)
                    if n.pointer("/metadata/deletionTimestamp").is_some()
                        && rd.plural != "events" =>
                {
                    let mut e = ApiError::forbidden(
                        rd,
                        "",
                        &format!(
                            "unable to create new content in namespace {ns} because it is being terminated"
                        ),
                    );
                    e.reason = "Forbidden";
                    e.message = format!(
                        "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        rd.qualified()
                    );
                    return Err(e);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_kind(rd: &ResDef, obj: &Value) -> Result<(), ApiError> {
        if obj
            .get("metadata")
            .is_some_and(|m| !m.is_object() && !m.is_null())
        {
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: json: cannot unmarshal into Go struct field {}.metadata of type v1.ObjectMeta",
                rd.kind, rd.version, rd.kind, rd.kind
            )));
        }
        let kind = util::str_of(obj, "kind");
        let av = util::str_of(obj, "apiVersion");
        if !kind.is_empty() && kind != rd.kind {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rd.api_version()
            )));
        }
        Ok(())
    }

    /// Create an object (POST).
    pub fn create(
        &mut self,
        rd: &ResDef,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if rd.readonly {
            return Err(ApiError::method_not_allowed());
        }
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        Self::check_kind(rd, &obj)?;
        let ns = ns_of(&obj);
        let ns = if rd.namespaced { ns } else { String::new() };
        self.check_ns(rd, &ns)?;
        let mut name = name_of(&obj);
        if name.is_empty() {
            let gen_name = util::str_of(&obj, "metadata.generateName");
            if gen_name.is_empty() {
                return Err(ApiError::invalid(
                    rd,
                    "",
                    vec![(
                        "metadata.name".into(),
                        "FieldValueRequired",
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            loop {
                name = format!("{gen_name}{}", util::rand_suffix(5));
                if self.get(rd, &ns, &name).is_none() {
                    break;
                }
            }
        }
        if !valid_dns_subdomain(&name) && rd.plural != "events" {
            return Err(ApiError::invalid(
                rd,
                &name,
                vec![(
                    "metadata.name".into(),
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    ),
                )],
            ));
        }
        if self.get(rd, &ns, &name).is_some() {
            return Err(ApiError::already_exists(rd, &name));
        }
        {
            let o = obj.as_object_mut().unwrap();
            o.insert("apiVersion".into(), json!(rd.api_version()));
            o.insert("kind".into(), json!(rd.kind));
            // apiVersion/kind first, like the apiserver's output
            let mut reordered = Map::new();
            for k in ["apiVersion", "kind", "metadata"] {
                if let Some(v) = o.shift_remove(k) {
                    reordered.insert(k.into(), v);
                }
            }
            for (k, v) in std::mem::take(o) {
                reordered.insert(k, v);
            }
            *o = reordered;
        }
        let m = meta_mut(&mut obj);
        m.insert("name".into(), json!(name));
        if rd.namespaced {
            m.insert("namespace".into(), json!(ns));
        } else {
            m.shift_remove("namespace");
        }
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.shift_remove(k);
        }
        m.insert("uid".into(), json!(util::new_uid()));
        m.insert("creationTimestamp".into(), json!(util::now_rfc3339()));
        if has_generation(rd) {
            m.insert("generation".into(), json!(1));
        }
        let managed = m.shift_remove("managedFields");
        admission::default_object(rd, &mut obj, self);
        admission::validate(rd, &obj)?;
        admission::mutate_pod_on_create(rd, &mut obj, self);
        admission::limit_ranger(rd, &mut obj, self)?;
        admission::admit_create(rd, &obj, self)?;
        if rd.status
            && opts.subresource.is_none()
            && rd.plural != "namespaces"
            && rd.plural != "pods"
        {
            // status is not settable on create when there is a status subresource (except
            // the defaults admission wrote)
        }
        // managed fields: the creator owns everything it sent
        if managed.is_none() && !opts.manager.is_empty() {
            let mut fs = fields::fields_of(&obj, rd.status);
            let added = fields::added_maps(None, &obj, &fs);
            fs.extend(added);
            set_managed(&mut obj, &opts.manager, "Update", rd, &fs, None);
        } else if let Some(mf) = managed {
            meta_mut(&mut obj).insert("managedFields".into(), mf);
        }
        if opts.dry_run {
            return Ok(obj);
        }
        let rv = self.next_rv();
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        self.objs
            .entry(rd.key())
            .or_default()
            .insert((ns.clone(), name.clone()), obj.clone());
        self.record(rd, "ADDED", &obj, None);
        Ok(obj)
    }

    /// Replace an object (PUT), or its status with `opts.subresource == Some("status")`.
    pub fn update(
        &mut self,
        rd: &ResDef,
        ns: &str,
        name: &str,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if rd.readonly {
            return Err(ApiError::method_not_allowed());
        }
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        Self::check_kind(rd, &obj)?;
        let body_name = name_of(&obj);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let Some(old) = self.get(rd, ns, name).cloned() else {
            return Err(ApiError::not_found(rd, name));
        };
        let sent_rv = util::str_of(&obj, "metadata.resourceVersion");
        let old_rv = util::str_of(&old, "metadata.resourceVersion");
        if !sent_rv.is_empty() && sent_rv != old_rv {
            return Err(ApiError::conflict(
                rd,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let new = if opts.subresource.as_deref() == Some("status") {
            let mut n = old.clone();
            match obj.get("status") {
                Some(s) => {
                    n["status"] = s.clone();
                }
                None => {
                    n.as_object_mut().unwrap().shift_remove("status");
                }
            }
            // metadata labels/annotations are not changed through status
            n
        } else {
            let mut n = obj;
            if rd.status {
                match old.get("status") {
                    Some(s) => n["status"] = s.clone(),
                    None => {
                        n.as_object_mut().unwrap().shift_remove("status");
                    }
                }
            }
            n
        };
        self.write_over(rd, &old, new, opts, "Update")
    }

    /// Common tail of update/patch/apply: stamp metadata, generation, managedFields, persist.
    fn write_over(
        &mut self,
        rd: &ResDef,
        old: &Value,
        mut new: Value,
        opts: &WriteOpts,
        op: &str,
    ) -> Result<Value, ApiError> {
        let ns = ns_of(old);
        let name = name_of(old);
        {
            let o = new.as_object_mut().unwrap();
            o.insert("apiVersion".into(), json!(rd.api_version()));
            o.insert("kind".into(), json!(rd.kind));
        }
        let om = meta(old).clone();
        let m = meta_mut(&mut new);
        m.insert("name".into(), json!(name));
        if rd.namespaced {
            m.insert("namespace".into(), json!(ns));
        }
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "managedFields",
        ] {
            if k == "managedFields" && op == "Apply" {
                continue;
            }
            match om.get(k) {
                Some(v) => {
                    m.insert(k.into(), v.clone());
                }
                None => {
                    m.shift_remove(k);
                }
            }
        }
        admission::default_object(rd, &mut new, self);
        admission::validate(rd, &new)?;
        if has_generation(rd) && spec_part(&new) != spec_part(old) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            meta_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
        if op == "Update" && !opts.manager.is_empty() {
            track_update(
                old,
                &mut new,
                &opts.manager,
                rd,
                opts.subresource.as_deref(),
            );
        }
        // nothing changed: no new resourceVersion, no event
        let mut cmp_old = old.clone();
        let mut cmp_new = new.clone();
        for c in [&mut cmp_old, &mut cmp_new] {
            if let Some(m) = c.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                m.shift_remove("resourceVersion");
                if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
                    for e in mf.iter_mut() {
                        if let Some(o) = e.as_object_mut() {
                            o.shift_remove("time");
                        }
                    }
                }
            }
        }
        if cmp_old == cmp_new {
            return Ok(old.clone());
        }
        if opts.dry_run {
            return Ok(new);
        }
        // finalizers removed from an object being deleted: it goes now
        if new.pointer("/metadata/deletionTimestamp").is_some()
            && new
                .pointer("/metadata/finalizers")
                .and_then(|f| f.as_array())
                .is_none_or(|a| a.is_empty())
            && rd.plural != "namespaces"
            && rd.plural != "pods"
        {
            self.remove_now(rd, &ns, &name);
            return Ok(new);
        }
        let rv = self.next_rv();
        meta_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
        self.objs
            .entry(rd.key())
            .or_default()
            .insert((ns, name), new.clone());
        self.record(rd, "MODIFIED", &new, Some(old.clone()));
        Ok(new)
    }

    /// PATCH with json-patch, merge-patch or strategic-merge-patch.
    pub fn patch(
        &mut self,
        rd: &ResDef,
        ns: &str,
        name: &str,
        ptype: &str,
        patch: &Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if rd.readonly {
            return Err(ApiError::method_not_allowed());
        }
        let Some(old) = self.get(rd, ns, name).cloned() else {
            return Err(ApiError::not_found(rd, name));
        };
        let mut new = old.clone();
        match ptype {
            "json" => {
                let p: json_patch::Patch = serde_json::from_value(patch.clone())
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(&mut new, &p).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: {e}"
                        ),
                    )
                })?;
            }
            "merge" => fields::merge_patch(&mut new, patch),
            "strategic" => fields::strategic_merge_patch(&mut new, patch),
            _ => return Err(ApiError::unsupported_media(ptype)),
        }
        if !new.is_object() {
            return Err(ApiError::bad_request("patch produced a non-object"));
        }
        let sent_rv = util::str_of(&new, "metadata.resourceVersion");
        if !sent_rv.is_empty() && sent_rv != util::str_of(&old, "metadata.resourceVersion") {
            return Err(ApiError::conflict(
                rd,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let new = self.restrict_to_subresource(rd, &old, new, opts);
        self.write_over(rd, &old, new, opts, "Update")
    }

    fn restrict_to_subresource(
        &self,
        rd: &ResDef,
        old: &Value,
        new: Value,
        opts: &WriteOpts,
    ) -> Value {
        if opts.subresource.as_deref() == Some("status") {
            let mut n = old.clone();
            match new.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().unwrap().shift_remove("status");
                }
            }
            n
        } else if rd.status {
            let mut n = new;
            match old.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().unwrap().shift_remove("status");
                }
            }
            n
        } else {
            new
        }
    }

    /// Server-side apply.
    pub fn apply(
        &mut self,
        rd: &ResDef,
        ns: &str,
        name: &str,
        applied: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if rd.readonly {
            return Err(ApiError::method_not_allowed());
        }
        if opts.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requests must have fieldManager set",
            ));
        }
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        let kind = util::str_of(&applied, "kind");
        if kind.is_empty() {
            return Err(ApiError::bad_request("Object 'Kind' is missing in '{}'"));
        }
        let av = util::str_of(&applied, "apiVersion");
        if kind != rd.kind || (!av.is_empty() && resources::split_api_version(&av).0 != rd.group) {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rd.api_version()
            )));
        }
        let body_name = name_of(&applied);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let status_sub = opts.subresource.as_deref() == Some("status");
        let mut applied = applied;
        // A resourceVersion in the applied configuration is a precondition
        // (optimistic concurrency), never a field anyone owns.
        let sent_rv = util::str_of(&applied, "metadata.resourceVersion");
        if !sent_rv.is_empty() {
            if let Some(old) = self.get(rd, ns, name)
                && util::str_of(old, "metadata.resourceVersion") != sent_rv
            {
                return Err(ApiError::conflict(
                    rd,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            meta_mut(&mut applied).shift_remove("resourceVersion");
        }
        if rd.status && !status_sub {
            applied.as_object_mut().unwrap().shift_remove("status");
        }
        let applied_set: FieldSet = if status_sub {
            fields::fields_of(&applied, false)
                .into_iter()
                .filter(|p| p.first().map(|s| s.as_str()) == Some("f:status"))
                .collect()
        } else {
            fields::fields_of(&applied, rd.status)
        };
        let existing = self.get(rd, ns, name).cloned();
        let Some(old) = existing else {
            // create
            let mut obj = applied.clone();
            let m = meta_mut(&mut obj);
            m.insert("name".into(), json!(name));
            if rd.namespaced {
                m.insert("namespace".into(), json!(ns));
            }
            m.shift_remove("managedFields");
            set_managed(
                &mut obj,
                &opts.manager,
                "Apply",
                rd,
                &applied_set,
                opts.subresource.as_deref(),
            );
            let mf = obj.pointer("/metadata/managedFields").cloned();
            let mut copts = opts.clone();
            copts.manager = String::new();
            let mut o2 = obj;
            if let Some(mf) = mf {
                meta_mut(&mut o2).insert("managedFields".into(), mf);
            }
            return self.create(rd, o2, &copts);
        };
        let mut entries = managed_entries(&old);
        // conflicts
        let mut conflicts: Vec<(String, String)> = Vec::new();
        let mut to_steal: Vec<(usize, fields::Path)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.manager == opts.manager && e.operation == "Apply" {
                continue;
            }
            for p in e.set.intersection(&applied_set) {
                let lv = fields::get_at(&old, p);
                let av = fields::get_at(&applied, p);
                let is_item = p.last().is_some_and(|x| x.starts_with("k:"));
                if !is_item && lv.is_some() && lv != av {
                    // as a real server names the manager: `"m" with subresource "s" using v`
                    let mut who = format!("\"{}\"", e.manager);
                    if let Some(sub) = &e.subresource {
                        who.push_str(&format!(" with subresource \"{sub}\""));
                    }
                    if e.operation == "Update" {
                        who.push_str(&format!(" using {}", e.api_version));
                    }
                    conflicts.push((who, path_string(p)));
                    to_steal.push((i, p.clone()));
                } else if is_item {
                    // shared membership, nothing to do
                }
            }
        }
        if !conflicts.is_empty() && !opts.force {
            let n = conflicts.len();
            let msg = if n == 1 {
                format!(
                    "Apply failed with 1 conflict: conflict with {}: {}",
                    conflicts[0].0, conflicts[0].1
                )
            } else {
                let mut managers: Vec<&str> = Vec::new();
                for (m, _) in &conflicts {
                    if !managers.contains(&m.as_str()) {
                        managers.push(m);
                    }
                }
                let groups: Vec<String> = managers
                    .iter()
                    .map(|m| {
                        let paths: Vec<String> = conflicts
                            .iter()
                            .filter(|(cm, _)| cm == m)
                            .map(|(_, p)| format!("- {p}"))
                            .collect();
                        format!("conflicts with {m}:\n{}", paths.join("\n"))
                    })
                    .collect();
                format!("Apply failed with {n} conflicts: {}", groups.join("\n"))
            };
            let mut e = ApiError::new(409, "Conflict", msg);
            let mut d = json!({"name": name, "kind": rd.plural, "causes": conflicts.iter().map(|(m, p)| json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {m}"),
                "field": p,
            })).collect::<Vec<_>>()});
            if !rd.group.is_empty() {
                d["group"] = json!(rd.group);
            }
            e.details = Some(d);
            return Err(e);
        }
        for (i, p) in &to_steal {
            entries[*i].set.remove(p);
        }
        // fields we applied before and no longer apply
        let mut live = old.clone();
        if let Some(prev) = entries
            .iter()
            .find(|e| e.manager == opts.manager && e.operation == "Apply")
        {
            let mut removed: Vec<&fields::Path> = prev.set.difference(&applied_set).collect();
            removed.sort_by_key(|p| p.len());
            for p in removed {
                let owned_by_other = entries.iter().any(|e| {
                    !(e.manager == opts.manager && e.operation == "Apply")
                        && e.set.iter().any(|q| q.starts_with(p))
                });
                if !owned_by_other {
                    fields::remove_at(&mut live, p);
                }
            }
        }
        fields::apply_merge(&mut live, &applied);
        // record ownership
        entries
            .retain(|e| !e.set.is_empty() || (e.manager == opts.manager && e.operation == "Apply"));
        if let Some(e) = entries
            .iter_mut()
            .find(|e| e.manager == opts.manager && e.operation == "Apply")
        {
            if e.set != applied_set {
                e.time = util::now_rfc3339();
            }
            e.set = applied_set;
            e.api_version = rd.api_version();
        } else if !applied_set.is_empty() {
            entries.push(ManagedEntry {
                manager: opts.manager.clone(),
                operation: "Apply".into(),
                api_version: rd.api_version(),
                time: util::now_rfc3339(),
                subresource: opts.subresource.clone(),
                set: applied_set,
            });
        }
        write_entries(&mut live, &entries);
        let live = if rd.status && !status_sub {
            let mut n = live;
            match old.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().unwrap().shift_remove("status");
                }
            }
            n
        } else {
            live
        };
        let mut o2 = opts.clone();
        o2.manager = String::new();
        self.write_over(rd, &old, live, &o2, "Apply")
    }

    /// Remove an object right away, cascading to dependents (background propagation).
    pub fn remove_now(&mut self, rd: &ResDef, ns: &str, name: &str) -> Option<Value> {
        let obj = self
            .objs
            .get_mut(&rd.key())?
            .remove(&(ns.to_string(), name.to_string()))?;
        let rv = self.next_rv();
        let mut o = obj.clone();
        meta_mut(&mut o).insert("resourceVersion".into(), json!(rv.to_string()));
        self.record(rd, "DELETED", &o, Some(obj));
        let uid = uid_of(&o);
        self.cascade(&uid, false);
        Some(o)
    }

    /// The objects with an ownerReference to `uid`.
    pub fn dependents_of(&self, uid: &str) -> Vec<(&'static ResDef, Value)> {
        let mut deps: Vec<(&'static ResDef, Value)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for rd in self.catalog().iter() {
            if !seen.insert(rd.key()) {
                continue;
            }
            if let Some(m) = self.objs.get(&rd.key()) {
                for v in m.values() {
                    if let Some(Value::Array(refs)) = v.pointer("/metadata/ownerReferences")
                        && refs
                            .iter()
                            .any(|r| r.get("uid").and_then(|u| u.as_str()) == Some(uid))
                    {
                        deps.push((rd, v.clone()));
                    }
                }
            }
        }
        deps
    }

    /// The garbage collector's foreground deletion: an owner carrying the
    /// `foregroundDeletion` finalizer has its dependents deleted (in the foreground
    /// themselves when they have dependents), and loses the finalizer — and so goes — once
    /// no dependent with `blockOwnerDeletion: true` is left.
    pub fn foreground_gc(&mut self) {
        let mut owners: Vec<(&'static ResDef, Value)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for rd in self.catalog().iter() {
            if !seen.insert(rd.key()) {
                continue;
            }
            if let Some(m) = self.objs.get(&rd.key()) {
                for v in m.values() {
                    if v.pointer("/metadata/deletionTimestamp").is_some()
                        && v.pointer("/metadata/finalizers")
                            .and_then(|f| f.as_array())
                            .is_some_and(|a| a.iter().any(|f| f == FOREGROUND))
                    {
                        owners.push((rd, v.clone()));
                    }
                }
            }
        }
        for (rd, owner) in owners {
            let uid = uid_of(&owner);
            let deps = self.dependents_of(&uid);
            let mut blocking = false;
            for (drd, d) in &deps {
                let blocks = d
                    .pointer("/metadata/ownerReferences")
                    .and_then(|r| r.as_array())
                    .is_some_and(|a| {
                        a.iter().any(|r| {
                            util::str_of(r, "uid") == uid
                                && r.get("blockOwnerDeletion").and_then(|b| b.as_bool())
                                    == Some(true)
                        })
                    });
                blocking |= blocks;
                if d.pointer("/metadata/deletionTimestamp").is_none() {
                    let mut o = WriteOpts::manager("generic-garbage-collector");
                    if !self.dependents_of(&uid_of(d)).is_empty() {
                        o.propagation = Some("Foreground".into());
                    }
                    let _ = self.delete(drd, &ns_of(d), &name_of(d), &o);
                }
            }
            if !blocking {
                let Some(cur) = self.get(rd, &ns_of(&owner), &name_of(&owner)).cloned() else {
                    continue;
                };
                let mut n = cur.clone();
                let fins: Vec<Value> = n
                    .pointer("/metadata/finalizers")
                    .and_then(|f| f.as_array())
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| f != FOREGROUND)
                    .collect();
                if fins.is_empty() {
                    meta_mut(&mut n).shift_remove("finalizers");
                } else {
                    meta_mut(&mut n).insert("finalizers".into(), Value::Array(fins));
                }
                let _ = self.write_over(
                    rd,
                    &cur,
                    n,
                    &WriteOpts::manager("generic-garbage-collector"),
                    "Update",
                );
            }
        }
    }

    /// Garbage-collect dependents of `uid` (or orphan them).
    fn cascade(&mut self, uid: &str, orphan: bool) {
        let deps = self.dependents_of(uid);
        for (rd, v) in deps {
            let refs: Vec<Value> = v
                .pointer("/metadata/ownerReferences")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.get("uid").and_then(|u| u.as_str()) != Some(uid))
                .collect();
            let ns = ns_of(&v);
            let name = name_of(&v);
            if refs.is_empty() && !orphan {
                let _ = self.delete(rd, &ns, &name, &WriteOpts::default());
            } else {
                let mut n = v.clone();
                if refs.is_empty() {
                    meta_mut(&mut n).shift_remove("ownerReferences");
                } else {
                    meta_mut(&mut n).insert("ownerReferences".into(), Value::Array(refs));
                }
                let _ = self.write_over(rd, &v, n, &WriteOpts::default(), "Update");
            }
        }
    }

    /// DELETE: finalizers and graceful pod deletion set deletionTimestamp; otherwise remove.
    pub fn delete(
        &mut self,
        rd: &ResDef,
        ns: &str,
        name: &str,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if rd.readonly {
            return Err(ApiError::method_not_allowed());
        }
        let Some(old) = self.get(rd, ns, name).cloned() else {
            return Err(ApiError::not_found(rd, name));
        };
        if let Some(u) = &opts.precondition_uid
            && *u != uid_of(&old)
        {
            return Err(ApiError::conflict(
                rd,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {u}, UID in object meta: {}",
                    uid_of(&old)
                ),
            ));
        }
        if let Some(r) = &opts.precondition_rv
            && *r != util::str_of(&old, "metadata.resourceVersion")
        {
            return Err(ApiError::conflict(
                rd,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {r}, ResourceVersion in object meta: {}",
                    util::str_of(&old, "metadata.resourceVersion")
                ),
            ));
        }
        if opts.dry_run {
            return Ok(old);
        }
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(|f| f.as_array())
            .is_some_and(|a| !a.is_empty());
        let graceful_pod = rd.plural == "pods"
            && rd.group.is_empty()
            && opts.grace_seconds != Some(0)
            && old.pointer("/spec/nodeName").is_some()
            && !matches!(
                util::str_of(&old, "status.phase").as_str(),
                "Succeeded" | "Failed"
            );
        let is_ns = rd.plural == "namespaces" && rd.group.is_empty();
        if opts.propagation.as_deref() == Some("Foreground")
            && !is_ns
            && !self.dependents_of(&uid_of(&old)).is_empty()
        {
            // deletionTimestamp + the foregroundDeletion finalizer: the object stays until
            // the garbage collector has removed its blocking dependents
            let mut n = old.clone();
            let m = meta_mut(&mut n);
            if !m.contains_key("deletionTimestamp") {
                m.insert("deletionTimestamp".into(), json!(util::now_rfc3339()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            let fins = m.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(a) = fins.as_array_mut()
                && !a.iter().any(|f| f == FOREGROUND)
            {
                a.push(json!(FOREGROUND));
            }
            if n == old {
                return Ok(old);
            }
            let rv = self.next_rv();
            meta_mut(&mut n).insert("resourceVersion".into(), json!(rv.to_string()));
            self.objs
                .entry(rd.key())
                .or_default()
                .insert((ns.to_string(), name.to_string()), n.clone());
            self.record(rd, "MODIFIED", &n, Some(old));
            return Ok(n);
        }
        if rd.key() == resources::CRD_KEY {
            // the apiextensions finalizer: the custom resources go with their definition
            let key = format!(
                "{}/{}",
                util::str_of(&old, "spec.group"),
                util::str_of(&old, "spec.names.plural")
            );
            if let Some(crd_rd) = self.crds.iter().copied().find(|d| d.key() == key) {
                let victims: Vec<(String, String)> = self
                    .objs
                    .get(&key)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                for (vns, vname) in victims {
                    self.remove_now(crd_rd, &vns, &vname);
                }
            }
        }
        if opts.propagation.as_deref() == Some("Orphan") {
            let uid = uid_of(&old);
            self.cascade(&uid, true);
        }
        if has_finalizers || graceful_pod || is_ns {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(old);
            }
            let mut n = old.clone();
            let m = meta_mut(&mut n);
            m.insert("deletionTimestamp".into(), json!(util::now_rfc3339()));
            let grace = if graceful_pod {
                opts.grace_seconds
                    .or_else(|| {
                        old.pointer("/spec/terminationGracePeriodSeconds")
                            .and_then(|g| g.as_i64())
                    })
                    .unwrap_or(30)
            } else {
                0
            };
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
            if is_ns {
                n["status"] = json!({"phase": "Terminating"});
            }
            let rv = self.next_rv();
            meta_mut(&mut n).insert("resourceVersion".into(), json!(rv.to_string()));
            self.objs
                .entry(rd.key())
                .or_default()
                .insert((ns.to_string(), name.to_string()), n.clone());
            self.record(rd, "MODIFIED", &n, Some(old));
            return Ok(n);
        }
        Ok(self.remove_now(rd, ns, name).unwrap_or(old))
    }

    /// Convenience for controllers: write status of an existing object if it changed.
    pub fn set_status(
        &mut self,
        rd: &ResDef,
        obj: &Value,
        status: Value,
        manager: &str,
    ) -> Option<Value> {
        if obj.get("status") == Some(&status) {
            return None;
        }
        let mut n = obj.clone();
        n["status"] = status;
        let mut o = WriteOpts::manager(manager);
        o.subresource = Some("status".into());
        meta_mut(&mut n).shift_remove("resourceVersion");
        self.update(rd, &ns_of(obj), &name_of(obj), n, &o).ok()
    }

    /// Controller-side write of a whole object (no conflict check).
    pub fn put(&mut self, rd: &ResDef, obj: Value, manager: &str) -> Option<Value> {
        let mut n = obj;
        meta_mut(&mut n).shift_remove("resourceVersion");
        let ns = ns_of(&n);
        let name = name_of(&n);
        let old = self.get(rd, &ns, &name)?.clone();
        let mut sub = WriteOpts::manager(manager);
        if rd.status {
            // controllers write both; do spec then status
            let status = n.get("status").cloned();
            let r = self.write_over(rd, &old, n, &sub, "Update").ok()?;
            if let Some(s) = status {
                sub.subresource = Some("status".into());
                return self.set_status(rd, &r, s, manager).or(Some(r));
            }
            return Some(r);
        }
        self.write_over(rd, &old, n, &sub, "Update").ok()
    }
}

pub fn path_string(p: &fields::Path) -> String {
    let mut s = String::new();
    for e in p {
        if let Some(f) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            // .spec.containers[name="nginx"]
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(k) {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
        }
    }
    s
}

#[derive(Debug, Clone)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub set: FieldSet,
}

pub fn managed_entries(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|e| ManagedEntry {
                    manager: util::str_of(e, "manager"),
                    operation: util::str_of(e, "operation"),
                    api_version: util::str_of(e, "apiVersion"),
                    time: util::str_of(e, "time"),
                    subresource: e
                        .get("subresource")
                        .and_then(|s| s.as_str())
                        .map(String::from),
                    set: e
                        .get("fieldsV1")
                        .map(fields::from_fields_v1)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn write_entries(obj: &mut Value, entries: &[ManagedEntry]) {
    let arr: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields::to_fields_v1(&e.set),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if arr.is_empty() {
        meta_mut(obj).shift_remove("managedFields");
    } else {
        meta_mut(obj).insert("managedFields".into(), Value::Array(arr));
    }
}

fn set_managed(
    obj: &mut Value,
    manager: &str,
    op: &str,
    rd: &ResDef,
    set: &FieldSet,
    sub: Option<&str>,
) {
    let mut entries = managed_entries(obj);
    entries.retain(|e| {
        !(e.manager == manager && e.operation == op && e.subresource.as_deref() == sub)
    });
    entries.push(ManagedEntry {
        manager: manager.into(),
        operation: op.into(),
        api_version: rd.api_version(),
        time: util::now_rfc3339(),
        subresource: sub.map(String::from),
        set: set.clone(),
    });
    write_entries(obj, &entries);
}

/// Ownership for a non-apply write: changed fields go to `manager` (operation Update).
fn track_update(old: &Value, new: &mut Value, manager: &str, rd: &ResDef, sub: Option<&str>) {
    let status_sub = sub == Some("status");
    let keep = |p: &fields::Path| -> bool {
        let is_status = p.first().map(|s| s.as_str()) == Some("f:status");
        if status_sub {
            is_status
        } else {
            !is_status || !rd.status
        }
    };
    let new_set: FieldSet = fields::fields_of(new, false)
        .into_iter()
        .filter(keep)
        .collect();
    let old_set: FieldSet = fields::fields_of(old, false)
        .into_iter()
        .filter(keep)
        .collect();
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| fields::get_at(old, p) != fields::get_at(new, p) || !old_set.contains(*p))
        .cloned()
        .collect();
    let mut changed = changed;
    let added = fields::added_maps(Some(old), new, &changed);
    changed.extend(added);
    let gone: FieldSet = old_set.difference(&new_set).cloned().collect();
    if changed.is_empty() && gone.is_empty() {
        return;
    }
    let mut entries = managed_entries(old);
    for e in entries.iter_mut() {
        // (a map's own entry, `.`, goes with the map)
        e.set.retain(|p| {
            !changed.contains(p) && !gone.contains(p) && fields::get_at(new, p).is_some()
        });
    }
    match entries.iter_mut().find(|e| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == sub
    }) {
        Some(e) => {
            e.set.extend(changed);
            e.time = util::now_rfc3339();
        }
        None => entries.push(ManagedEntry {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: rd.api_version(),
            time: util::now_rfc3339(),
            subresource: sub.map(String::from),
            set: changed,
        }),
    }
    write_entries(new, &entries);
}
