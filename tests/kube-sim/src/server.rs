//! HTTP routing: discovery, CRUD, watch, subresources.

use crate::Shared;
use crate::error::ApiError;
use crate::resources::{self, ResDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Ev, WriteOpts, name_of, ns_of};
use crate::{streams, util};
use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

tokio::task_local! {
    /// The request's Accept header prefers protobuf (`application/vnd.kubernetes.protobuf`).
    static WANTS_PROTOBUF: bool;
}

/// An object answer: protobuf when the client asked for it first and the kind has a
/// protobuf schema (as the apiserver's content negotiation), JSON otherwise.
pub fn json_response(code: u16, v: &Value) -> Response<Body> {
    if WANTS_PROTOBUF.try_with(|w| *w).unwrap_or(false)
        && let Some(pb) = crate::proto::encode(v)
    {
        return Response::builder()
            .status(code)
            .header(header::CONTENT_TYPE, crate::proto::MEDIA_TYPE)
            .header("Audit-Id", util::new_uid())
            .body(full(pb))
            .unwrap();
    }
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Audit-Id", util::new_uid())
        .body(full(serde_json::to_vec(v).unwrap_or_default()))
        .unwrap()
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.to_status());
    if let Some(ra) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, ra.to_string().parse().unwrap());
    }
    r
}

pub fn text_response(code: u16, s: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(full(s))
        .unwrap()
}

pub fn stream_response(content_type: &str, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    let sd_template = shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else { continue };
                let _ = stream.set_nodelay(true);
                let sh = shared.clone();
                let mut sd = sd_template.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let sh = sh.clone();
                        async move { Ok::<_, Infallible>(handle(sh, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    tokio::select! {
                        _ = conn => {}
                        _ = sd.wait_for(|v| *v) => {}
                    }
                });
            }
            _ = shutdown.wait_for(|v| *v) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return vec![] };
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Query(pub Vec<(String, String)>);
impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true") | Some("1") | Some(""))
    }
}

async fn handle(sh: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    sh.faults.count_request(req.uri().path());
    trace_request(&req);
    let wants_pb = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split(',').next())
        .is_some_and(|first| {
            let mut parts = first.split(';').map(str::trim);
            parts.next() == Some(crate::proto::MEDIA_TYPE)
                && !parts.any(|p| p.starts_with("stream="))
        });
    let traced = tracing_on().then(|| {
        (
            std::time::Instant::now(),
            req.method().clone(),
            req.uri().clone(),
        )
    });
    let response = WANTS_PROTOBUF.scope(wants_pb, handle_inner(sh, req)).await;
    if let Some((started, method, uri)) = traced {
        eprintln!(
            "kube-sim answered in {} ms {method} {uri}",
            started.elapsed().as_millis()
        );
    }
    response
}

fn tracing_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("KUBE_SIM_TRACE").is_some())
}

/// `KUBE_SIM_TRACE=1`: every request on stderr as it arrives, with the
/// wall clock in milliseconds, and when its answer (its headers, for a
/// watch or a stream) is ready, to see where a client's time goes.
fn trace_request(req: &Request<Incoming>) {
    if !tracing_on() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    eprintln!(
        "kube-sim {}.{:03} {} {}",
        now.as_secs(),
        now.subsec_millis(),
        req.method(),
        req.uri()
    );
}

async fn handle_inner(sh: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let is_resource =
        path.starts_with("/api/") || (path.starts_with("/apis/") && path.matches('/').count() > 3);
    if is_resource {
        if let Some(l) = sh.faults.latency_for(req.method().as_str(), &path) {
            tokio::time::sleep(l).await;
        }
        if let Some((code, ra)) = sh.faults.roll_error() {
            let mut e = if code == 429 {
                ApiError::new(
                    429,
                    "TooManyRequests",
                    "the server has received too many requests and has asked us to try again later",
                )
            } else {
                ApiError::internal("kube-sim injected fault: internal error")
            };
            if code == 429 {
                e.retry_after = Some(ra);
            }
            let mut r = error_response(&e);
            *r.status_mut() =
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return r;
        }
    }
    match route(sh, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn version_json() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.1",
        "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T08:19:08Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn resource_list(cat: &resources::Catalog, group: &str, version: &str) -> Option<Value> {
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut res = Vec::new();
    for r in cat
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut e = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs(),
        });
        if !r.short.is_empty() {
            e["shortNames"] = json!(r.short);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        e["storageVersionHash"] = json!(
            base64::engine::general_purpose::STANDARD.encode(&util::safe_hash(&r.key())[..6])
        );
        res.push(e);
        if r.status {
            res.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
        }
        for s in r.subresources {
            let (kind, verbs, grp, ver) = match *s {
                "scale" => (
                    "Scale",
                    json!(["get", "patch", "update"]),
                    "autoscaling",
                    "v1",
                ),
                "log" => ("Pod", json!(["get"]), "", ""),
                "exec" | "attach" | "portforward" => {
                    ("PodExecOptions", json!(["create", "get"]), "", "")
                }
                "proxy" => (
                    "ServiceProxyOptions",
                    json!(["create", "delete", "get", "patch", "update"]),
                    "",
                    "",
                ),
                "eviction" => ("Eviction", json!(["create"]), "policy", "v1"),
                "token" => (
                    "TokenRequest",
                    json!(["create"]),
                    "authentication.k8s.io",
                    "v1",
                ),
                "binding" => ("Binding", json!(["create"]), "", ""),
                _ => (r.kind, json!(["get", "patch", "update"]), "", ""),
            };
            let mut e = json!({"name": format!("{}/{}", r.plural, s), "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
            if !grp.is_empty() {
                e["group"] = json!(grp);
                e["version"] = json!(ver);
            }
            res.push(e);
        }
    }
    if res.is_empty() {
        return None;
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}),
    )
}

/// Aggregated discovery (apidiscovery.k8s.io/v2) for `/api` (core) or `/apis`.
fn aggregated_discovery(cat: &resources::Catalog, core: bool) -> Value {
    let groups: Vec<&str> = if core { vec![""] } else { cat.groups() };
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = cat.versions(g).into_iter().map(|version| {
            let res: Vec<Value> = cat
                .iter()
                .filter(|r| r.group == *g && r.version == version)
                .map(|r| {
                    let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
                    let mut subs: Vec<Value> = Vec::new();
                    if r.status {
                        subs.push(json!({"subresource": "status", "responseKind": gvk, "verbs": ["get", "patch", "update"]}));
                    }
                    for sub in r.subresources {
                        let (kind, verbs) = match *sub {
                            "scale" => (json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}), json!(["get", "patch", "update"])),
                            "log" => (json!({"group": "", "version": "v1", "kind": "Pod"}), json!(["get"])),
                            "exec" | "attach" | "portforward" => (json!({"group": "", "version": "v1", "kind": "PodExecOptions"}), json!(["create", "get"])),
                            "eviction" => (json!({"group": "policy", "version": "v1", "kind": "Eviction"}), json!(["create"])),
                            _ => (gvk.clone(), json!(["get", "patch", "update"])),
                        };
                        subs.push(json!({"subresource": sub, "responseKind": kind, "verbs": verbs}));
                    }
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": gvk,
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": r.verbs(),
                    });
                    if !r.short.is_empty() {
                        e["shortNames"] = json!(r.short);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if !subs.is_empty() {
                        e["subresources"] = json!(subs);
                    }
                    e
                })
                .collect();
            json!({"version": version, "resources": res, "freshness": "Current"})
            }).collect();
            let mut meta = json!({"creationTimestamp": null});
            if !g.is_empty() {
                meta["name"] = json!(g);
            }
            json!({"metadata": meta, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn api_group(cat: &resources::Catalog, group: &str) -> Value {
    let versions = cat.versions(group);
    let gv = |v: &str| json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({
        "name": group,
        "versions": versions.iter().map(|v| gv(v)).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(|v| gv(v)).unwrap_or(Value::Null)
    })
}

fn openapi_v3_index(cat: &resources::Catalog) -> Value {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "api/v1".into(),
        json!({"serverRelativeURL": format!("/openapi/v3/api/v1?hash={}", util::safe_hash("v1"))}),
    );
    for g in cat.groups() {
        for v in cat.versions(g) {
            let hash = util::safe_hash(&format!(
                "{g}/{v}:{:?}",
                cat.iter()
                    .filter(|r| r.group == g)
                    .map(|r| r.plural)
                    .collect::<Vec<_>>()
            ));
            paths.insert(
                format!("apis/{g}/{v}"),
                json!({"serverRelativeURL": format!("/openapi/v3/apis/{g}/{v}?hash={hash}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// A minimal OpenAPI v3 document per group/version: every resource path with its
/// operations, the GVK extension and the query parameters (so kubectl sees that
/// server-side field validation is supported). No schemas.
fn openapi_v3_gv(cat: &resources::Catalog, group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    let qp = |n: &str| json!({"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    let write_params = json!([
        qp("dryRun"),
        qp("fieldManager"),
        qp("fieldValidation"),
        qp("pretty")
    ]);
    let mut patch_params = write_params.as_array().unwrap().clone();
    patch_params.push(qp("force"));
    for r in cat
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let prefix = if r.group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        let coll = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let ok = json!({"200": {"description": "OK"}});
        let op = |action: &str, params: Value| json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": ok});
        paths.insert(
            coll.clone(),
            json!({"get": op("list", json!([])), "post": op("post", write_params.clone())}),
        );
        paths.insert(
            format!("{coll}/{{name}}"),
            json!({
                "get": op("get", json!([])),
                "put": op("put", write_params.clone()),
                "patch": op("patch", Value::Array(patch_params.clone())),
                "delete": op("delete", json!([qp("dryRun")])),
            }),
        );
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.1"}, "paths": paths, "components": {"schemas": {}}})
}

/// Where a request goes after the group/version prefix.
struct Target {
    rd: &'static ResDef,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    rest: String,
}

fn parse_target(
    cat: &resources::Catalog,
    group: &str,
    version: &str,
    segs: &[&str],
) -> Result<Target, ApiError> {
    let find = |p: &str| {
        cat.find(group, version, p)
            .ok_or_else(ApiError::not_found_path)
    };
    let (ns, rest): (Option<String>, &[&str]) = if segs.len() >= 3 && segs[0] == "namespaces" {
        // namespaces/NAME/status|finalize  vs namespaces/NS/plural
        if group.is_empty() && (segs[2] == "status" || segs[2] == "finalize") && segs.len() == 3 {
            (None, segs)
        } else {
            (Some(segs[1].to_string()), &segs[2..])
        }
    } else {
        (None, segs)
    };
    if rest.is_empty() {
        return Err(ApiError::not_found_path());
    }
    let rd = find(rest[0])?;
    if ns.is_some() && !rd.namespaced {
        return Err(ApiError::not_found_path());
    }
    Ok(Target {
        rd,
        ns,
        name: rest.get(1).map(|s| s.to_string()),
        sub: rest.get(2).map(|s| s.to_string()),
        rest: if rest.len() > 3 {
            rest[3..].join("/")
        } else {
            String::new()
        },
    })
}

async fn read_body(req: Request<Incoming>) -> Result<(http::request::Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let b = body
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading body: {e}")))?
        .to_bytes();
    Ok((parts, b))
}

fn parse_json_body(b: &Bytes) -> Result<Value, ApiError> {
    if b.starts_with(b"k8s\0") {
        return crate::proto::decode(b)
            .ok_or_else(|| ApiError::unsupported_media("application/vnd.kubernetes.protobuf"));
    }
    serde_json::from_slice(b).map_err(|e| {
        ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
    })
}

pub fn parse_yaml_or_json(b: &Bytes) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(b) {
        return Ok(v);
    }
    let s = std::str::from_utf8(b).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
    serde_saphyr::from_str::<Value>(s)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

fn user_agent_manager(parts: &http::request::Parts) -> String {
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    ua.split('/').next().unwrap_or("unknown").to_string()
}

async fn route(sh: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let q = Query(parse_query(req.uri().query()));
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let cat = sh.store.lock().unwrap_or_else(|e| e.into_inner()).catalog();
    let aggregated = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').next().is_some_and(|first| {
                first.contains("as=APIGroupDiscoveryList")
                    && first.contains("g=apidiscovery.k8s.io")
                    && first.contains("v=v2")
                    && !first.contains("v=v2beta1")
            })
        });
    match segs.as_slice() {
        ["api"] | ["apis"] if aggregated => {
            let core = segs[0] == "api";
            let body = aggregated_discovery(&cat, core);
            return Ok(Response::builder()
                .status(200)
                .header(
                    header::CONTENT_TYPE,
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                )
                .header(header::VARY, "Accept")
                .body(full(serde_json::to_vec(&body).unwrap_or_default()))
                .unwrap());
        }
        ["version"] => return Ok(json_response(200, &version_json())),
        ["healthz"] | ["livez"] | ["readyz"] => return Ok(text_response(200, "ok")),
        ["api"] => {
            return Ok(json_response(
                200,
                &json!({
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": sh.addr.to_string()}]
                }),
            ));
        }
        ["apis"] => {
            let groups: Vec<Value> = cat
                .groups()
                .into_iter()
                .map(|g| api_group(&cat, g))
                .collect();
            return Ok(json_response(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ));
        }
        ["api", "v1"] => return Ok(json_response(200, &resource_list(&cat, "", "v1").unwrap())),
        ["openapi", "v2"] => return Ok(crate::openapi::v2(&cat, &req)),
        ["openapi", "v3"] => return Ok(json_response(200, &openapi_v3_index(&cat))),
        ["openapi", "v3", "api", "v1"] => {
            return Ok(json_response(200, &openapi_v3_gv(&cat, "", "v1")));
        }
        ["openapi", "v3", "apis", g, v] => {
            if !cat.served(g, v) {
                return Err(ApiError::not_found_path());
            }
            return Ok(json_response(200, &openapi_v3_gv(&cat, g, v)));
        }
        ["apis", g] => {
            if cat.versions(g).is_empty() {
                return Err(ApiError::not_found_path());
            }
            let mut o = api_group(&cat, g);
            o["kind"] = json!("APIGroup");
            o["apiVersion"] = json!("v1");
            return Ok(json_response(200, &o));
        }
        ["apis", g, v] => {
            return resource_list(&cat, g, v)
                .map(|l| json_response(200, &l))
                .ok_or_else(ApiError::not_found_path);
        }
        _ => {}
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Err(ApiError::not_found_path()),
    };
    // legacy /watch/ prefix
    let (rest, legacy_watch) = match rest {
        ["watch", r @ ..] => (r, true),
        r => (r, false),
    };
    let t = parse_target(&cat, group, version, rest)?;
    let method = req.method().clone();
    let rd = t.rd;
    let attrs = request_attributes(&method, &t, legacy_watch || q.flag("watch"));
    {
        let beh = sh.behaviors.read().unwrap_or_else(|e| e.into_inner());
        if !crate::authz::allowed(&beh, &attrs) {
            return Err(crate::authz::forbidden(&beh, &attrs));
        }
    }
    if rd.create_only {
        if method != Method::POST || t.name.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let (_, b) = read_body(req).await?;
        let body = parse_json_body(&b)?;
        let beh = sh
            .behaviors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        return Ok(json_response(
            201,
            &crate::authz::review(&beh, rd, &body, &cat)?,
        ));
    }
    match (&method, t.name.as_deref(), t.sub.as_deref()) {
        (&Method::GET, None, _) => {
            let ns = t.ns.clone();
            if legacy_watch || q.flag("watch") {
                let as_table = wants_table(&req);
                return watch(sh, rd, ns, &q, as_table).await;
            }
            list(&sh, rd, ns.as_deref(), &q, &req)
        }
        (&Method::POST, None, _) => {
            let (parts, b) = read_body(req).await?;
            let mut obj = parse_json_body(&b)?;
            if let Some(ns) = &t.ns {
                let body_ns = ns_of(&obj);
                if !body_ns.is_empty() && body_ns != *ns {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                if obj.is_object() {
                    if obj.get("metadata").is_none_or(|m| m.is_null()) {
                        obj["metadata"] = json!({});
                    }
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.insert("namespace".into(), json!(ns));
                    }
                }
            } else if rd.namespaced {
                return Err(ApiError::not_found_path());
            }
            let opts = write_opts(&q, &parts);
            let r = sh
                .store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .create(rd, obj, &opts);
            sh.notify.notify_one();
            Ok(json_response(201, &r?))
        }
        (&Method::DELETE, None, _) => {
            // deletecollection
            let ls = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
            let fs = FieldSelector::parse_for(rd, q.get("fieldSelector").unwrap_or(""))?;
            let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
            let victims: Vec<Value> = st
                .list(rd, t.ns.as_deref())
                .into_iter()
                .filter(|o| ls.matches(o) && fs.matches(o))
                .cloned()
                .collect();
            let mut items = Vec::new();
            for v in victims {
                if let Ok(d) = st.delete(rd, &ns_of(&v), &name_of(&v), &WriteOpts::default()) {
                    items.push(d);
                }
            }
            drop(st);
            sh.notify.notify_one();
            Ok(json_response(
                200,
                &json!({"kind": format!("{}List", rd.kind), "apiVersion": rd.api_version(), "metadata": {}, "items": items}),
            ))
        }
        (_, Some(name), sub) => {
            let name = name.to_string();
            let ns = t.ns.clone().unwrap_or_default();
            if rd.namespaced && t.ns.is_none() {
                return Err(ApiError::not_found_path());
            }
            match sub {
                Some("log") if rd.plural == "pods" => {
                    return streams::logs(sh, &ns, &name, &q).await;
                }
                Some("exec") | Some("attach") if rd.plural == "pods" => {
                    return streams::exec(sh, &ns, &name, sub.unwrap(), &q, req).await;
                }
                Some("portforward") if rd.plural == "pods" => {
                    return streams::portforward(sh, &ns, &name, &q, req).await;
                }
                Some("proxy") if rd.plural == "services" || rd.plural == "pods" => {
                    return streams::proxy(sh, rd, &ns, &name, &t.rest, req).await;
                }
                Some("scale") => return scale(sh, rd, &ns, &name, &q, req).await,
                Some("ephemeralcontainers") if rd.plural == "pods" => {
                    return ephemeral_containers(sh, rd, &ns, &name, &q, req).await;
                }
                Some("token") if rd.plural == "serviceaccounts" => {
                    return token_request(&sh, &ns, &name, req).await;
                }
                Some("eviction") if rd.plural == "pods" => {
                    let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
                    let r = st.delete(rd, &ns, &name, &WriteOpts::default());
                    drop(st);
                    sh.notify.notify_one();
                    r?;
                    return Ok(json_response(
                        201,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    ));
                }
                None | Some("status") => {}
                Some(_) => return Err(ApiError::not_found_path()),
            }
            object_op(sh, rd, &ns, &name, sub.map(String::from), &q, req).await
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The RBAC attributes of a resource request (the apiserver's RequestInfo).
fn request_attributes(method: &Method, t: &Target, watch: bool) -> crate::authz::Attributes {
    let sub = t.sub.clone().unwrap_or_default();
    let verb = match (method, t.name.is_some()) {
        _ if matches!(sub.as_str(), "exec" | "attach" | "portforward") => "create",
        (&Method::GET, _) if watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) | (&Method::HEAD, _) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "deletecollection",
        (&Method::DELETE, true) => "delete",
        _ => "unknown",
    };
    crate::authz::Attributes {
        verb: verb.into(),
        group: t.rd.group.into(),
        resource: t.rd.plural.into(),
        subresource: sub,
        namespace: t.ns.clone().unwrap_or_default(),
        name: t.name.clone().unwrap_or_default(),
    }
}

fn write_opts(q: &Query, parts: &http::request::Parts) -> WriteOpts {
    WriteOpts {
        manager: q
            .get("fieldManager")
            .map(String::from)
            .unwrap_or_else(|| user_agent_manager(parts)),
        dry_run: q.get("dryRun") == Some("All"),
        force: q.flag("force"),
        ..Default::default()
    }
}

async fn object_op(
    sh: Arc<Shared>,
    rd: &'static ResDef,
    ns: &str,
    name: &str,
    sub: Option<String>,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let is_table = wants_table(&req);
    if method == Method::GET {
        if rd.readonly {
            let obj = crate::metrics::metrics_get(&sh, rd, ns, name)
                .ok_or_else(|| ApiError::not_found(rd, name))?;
            return Ok(json_response(200, &obj));
        }
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let obj = st
            .get(rd, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rd, name))?;
        drop(st);
        if is_table && sub.is_none() {
            return Ok(json_response(
                200,
                &crate::table::table(rd, vec![obj], json!({})),
            ));
        }
        return Ok(json_response(200, &obj));
    }
    let (parts, b) = read_body(req).await?;
    let mut opts = write_opts(q, &parts);
    opts.subresource = sub.clone();
    let res = match method {
        Method::PUT => {
            let obj = parse_json_body(&b)?;
            let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
            st.update(rd, ns, name, obj, &opts).map(|v| (200, v))
        }
        Method::PATCH => {
            let (ptype, body) = match ct.as_str() {
                "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                    ("apply", parse_yaml_or_json(&b)?)
                }
                "application/json-patch+json" => ("json", parse_json_body(&b)?),
                "application/merge-patch+json" => ("merge", parse_json_body(&b)?),
                "application/strategic-merge-patch+json" => ("strategic", parse_json_body(&b)?),
                other => return Err(ApiError::unsupported_media(other)),
            };
            let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
            if ptype == "apply" {
                if q.get("fieldManager").is_none() {
                    opts.manager = String::new();
                }
                let existed = st.get(rd, ns, name).is_some();
                let mut body = body;
                if rd.namespaced && body.is_object() {
                    if body.get("metadata").is_none_or(|m| !m.is_object()) {
                        body["metadata"] = json!({});
                    }
                    let bns = ns_of(&body);
                    if !bns.is_empty() && bns != ns {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    body["metadata"]["namespace"] = json!(ns);
                }
                st.apply(rd, ns, name, body, &opts)
                    .map(|v| (if existed { 200 } else { 201 }, v))
            } else {
                st.patch(rd, ns, name, ptype, &body, &opts)
                    .map(|v| (200, v))
            }
        }
        Method::DELETE => {
            let body = if b.is_empty() {
                json!({})
            } else {
                parse_json_body(&b).unwrap_or(json!({}))
            };
            opts.propagation = body
                .get("propagationPolicy")
                .and_then(|v| v.as_str())
                .map(String::from)
                .or_else(|| q.get("propagationPolicy").map(String::from));
            opts.grace_seconds = body
                .get("gracePeriodSeconds")
                .and_then(|v| v.as_i64())
                .or_else(|| q.get("gracePeriodSeconds").and_then(|v| v.parse().ok()));
            opts.precondition_uid = body
                .pointer("/preconditions/uid")
                .and_then(|v| v.as_str())
                .map(String::from);
            opts.precondition_rv = body
                .pointer("/preconditions/resourceVersion")
                .and_then(|v| v.as_str())
                .map(String::from);
            if body
                .get("dryRun")
                .and_then(|d| d.as_array())
                .is_some_and(|a| a.iter().any(|x| x == "All"))
            {
                opts.dry_run = true;
            }
            let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
            st.delete(rd, ns, name, &opts).map(|v| (200, v))
        }
        _ => return Err(ApiError::method_not_allowed()),
    };
    sh.notify.notify_one();
    let (code, v) = res?;
    Ok(json_response(code, &v))
}

/// `serviceaccounts/NAME/token` (`kubectl create token`): a TokenRequest with a token
/// that looks like a JWT (nothing checks it: kube-sim accepts any token).
async fn token_request(
    sh: &Shared,
    ns: &str,
    name: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let sa = {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        st.get(resources::builtin("", "serviceaccounts"), ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resources::builtin("", "serviceaccounts"), name))?
    };
    let (_, b) = read_body(req).await?;
    let body = if b.is_empty() {
        json!({})
    } else {
        parse_json_body(&b)?
    };
    let secs = body
        .pointer("/spec/expirationSeconds")
        .and_then(|s| s.as_i64())
        .unwrap_or(3600);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = json!({"aud": body.pointer("/spec/audiences").cloned().unwrap_or(json!(["https://kubernetes.default.svc"])),
        "exp": now + secs, "iat": now, "iss": "https://kubernetes.default.svc", "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": util::str_of(&sa, "metadata.uid")}}});
    let token = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "kid": "kube-sim"})),
        b64(&claims),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(util::new_uid())
    );
    let mut out = body;
    out["apiVersion"] = json!("authentication.k8s.io/v1");
    out["kind"] = json!("TokenRequest");
    out["metadata"] =
        json!({"name": name, "namespace": ns, "creationTimestamp": util::now_rfc3339()});
    if out.get("spec").is_none_or(|s| !s.is_object()) {
        out["spec"] = json!({});
    }
    out["spec"]["expirationSeconds"] = json!(secs);
    if out["spec"].get("audiences").is_none() {
        out["spec"]["audiences"] = json!(["https://kubernetes.default.svc"]);
    }
    out["status"] =
        json!({"token": token, "expirationTimestamp": util::fmt_epoch(now + secs, None)});
    Ok(json_response(201, &out))
}

fn wants_table(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

async fn scale(
    sh: Arc<Shared>,
    rd: &'static ResDef,
    ns: &str,
    name: &str,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, b) = read_body(req).await?;
    let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
    let obj = st
        .get(rd, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rd, name))?;
    let to_scale = |o: &Value| {
        json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name_of(o), "namespace": ns_of(o), "uid": util::str_of(o, "metadata.uid"),
                "resourceVersion": util::str_of(o, "metadata.resourceVersion"), "creationTimestamp": util::str_of(o, "metadata.creationTimestamp")},
            "spec": {"replicas": o.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
            "status": {"replicas": o.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
                "selector": o.pointer("/spec/selector/matchLabels").and_then(|m| m.as_object()).map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")).unwrap_or_default()}
        })
    };
    if method == Method::GET {
        return Ok(json_response(200, &to_scale(&obj)));
    }
    let body = parse_json_body(&b)?;
    let mut sc = to_scale(&obj);
    match method {
        Method::PUT => sc = body,
        Method::PATCH => {
            if ct.starts_with("application/json-patch+json") {
                let p: json_patch::Patch = serde_json::from_value(body)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                json_patch::patch(&mut sc, &p).map_err(|e| ApiError::bad_request(e.to_string()))?;
            } else {
                crate::fields::merge_patch(&mut sc, &body);
            }
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    let replicas = sc.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    let mut n = obj.clone();
    n["spec"]["replicas"] = replicas;
    let mut opts = write_opts(q, &parts);
    opts.subresource = Some("scale".into());
    let r = st.update(rd, ns, name, n, &opts)?;
    drop(st);
    sh.notify.notify_one();
    Ok(json_response(200, &to_scale(&r)))
}

/// `pods/NAME/ephemeralcontainers`: get the pod, or add ephemeral containers to it (a
/// patch or an update of the pod of which only `spec.ephemeralContainers` counts; existing
/// ones cannot change). The kubelet starts them at once: each is `running` in
/// `status.ephemeralContainerStatuses` until an attach has run its command.
async fn ephemeral_containers(
    sh: Arc<Shared>,
    rd: &'static ResDef,
    ns: &str,
    name: &str,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, b) = read_body(req).await?;
    let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
    let pod = st
        .get(rd, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rd, name))?;
    if method == Method::GET {
        return Ok(json_response(200, &pod));
    }
    let body = parse_json_body(&b)?;
    let mut patched = pod.clone();
    match method {
        Method::PUT => patched = body,
        Method::PATCH if ct.starts_with("application/json-patch+json") => {
            let p: json_patch::Patch =
                serde_json::from_value(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            json_patch::patch(&mut patched, &p)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        Method::PATCH if ct.starts_with("application/strategic-merge-patch+json") => {
            crate::fields::strategic_merge_patch(&mut patched, &body);
        }
        Method::PATCH => crate::fields::merge_patch(&mut patched, &body),
        _ => return Err(ApiError::method_not_allowed()),
    }
    let old: Vec<Value> = pod
        .pointer("/spec/ephemeralContainers")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let new: Vec<Value> = patched
        .pointer("/spec/ephemeralContainers")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut causes: crate::admission::Causes = Vec::new();
    for (i, c) in new.iter().enumerate() {
        if util::str_of(c, "name").is_empty() {
            causes.push((
                format!("spec.ephemeralContainers[{i}].name"),
                "FieldValueRequired",
                "Required value".into(),
            ));
        }
        if util::str_of(c, "image").is_empty() {
            causes.push((
                format!("spec.ephemeralContainers[{i}].image"),
                "FieldValueRequired",
                "Required value".into(),
            ));
        }
    }
    let kept = old.iter().all(|o| {
        new.iter()
            .any(|n| util::str_of(n, "name") == util::str_of(o, "name"))
    });
    if !kept {
        causes.push((
            "spec.ephemeralContainers".into(),
            "FieldValueForbidden",
            "Forbidden: existing ephemeral containers may not be removed".into(),
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(rd, name, causes));
    }
    let mut n = pod.clone();
    n["spec"]["ephemeralContainers"] = Value::Array(new.clone());
    let mut opts = write_opts(q, &parts);
    opts.subresource = Some("ephemeralcontainers".into());
    let updated = st.update(rd, ns, name, n, &opts)?;
    // the kubelet starts the new ones
    let mut statuses: Vec<Value> = updated
        .pointer("/status/ephemeralContainerStatuses")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    for c in &new {
        let cname = util::str_of(c, "name");
        if !statuses.iter().any(|s| util::str_of(s, "name") == cname) {
            statuses.push(json!({"name": cname, "image": util::str_of(c, "image"),
                "imageID": format!("docker.io/library/{}@sha256:{}", util::str_of(c, "image"), util::safe_hash(&cname)),
                "containerID": format!("containerd://{}", util::safe_hash(&format!("{name}/{cname}"))),
                "ready": false, "restartCount": 0,
                "state": {"running": {"startedAt": util::now_rfc3339()}}}));
        }
    }
    let mut status = updated.get("status").cloned().unwrap_or(json!({}));
    status["ephemeralContainerStatuses"] = Value::Array(statuses);
    let out = st
        .set_status(rd, &updated, status, "kubelet")
        .unwrap_or(updated);
    drop(st);
    sh.notify.notify_one();
    Ok(json_response(200, &out))
}

fn list(
    sh: &Shared,
    rd: &'static ResDef,
    ns: Option<&str>,
    q: &Query,
    req: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let ls = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fs = FieldSelector::parse_for(rd, q.get("fieldSelector").unwrap_or(""))?;
    let (mut items, rv) = if rd.readonly {
        (
            crate::metrics::metrics_list(sh, rd, ns),
            sh.store.lock().unwrap_or_else(|e| e.into_inner()).rv,
        )
    } else {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        (st.list_cloned(rd, ns), st.rv)
    };
    items.retain(|o| ls.matches(o) && fs.matches(o));
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = q.get("continue").filter(|c| !c.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice::<(String, String)>(&b).ok())
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
        items.retain(|o| (ns_of(o), name_of(o)) > decoded);
    }
    if let Some(limit) = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        && items.len() > limit
    {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = items.last().unwrap();
        let key = serde_json::to_vec(&(ns_of(last), name_of(last))).unwrap();
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(key));
        meta["remainingItemCount"] = json!(remaining);
    }
    if wants_table(req) {
        return Ok(json_response(200, &crate::table::table(rd, items, meta)));
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", rd.kind),
            "apiVersion": rd.api_version(),
            "metadata": meta,
            "items": items,
        }),
    ))
}

/// Translate a store event for a watcher with selectors: MODIFIED may become ADDED/DELETED.
fn filter_event(
    ev: &Ev,
    ns: Option<&str>,
    ls: &LabelSelector,
    fs: &FieldSelector,
) -> Option<(&'static str, Value)> {
    if let Some(n) = ns
        && ev.ns != n
    {
        return None;
    }
    let m = |o: &Value| ls.matches(o) && fs.matches(o);
    match ev.typ {
        "ADDED" => m(&ev.obj).then(|| ("ADDED", ev.obj.clone())),
        "DELETED" => m(&ev.obj).then(|| ("DELETED", ev.obj.clone())),
        _ => {
            let new_m = m(&ev.obj);
            let old_m = ev.old.as_ref().is_some_and(m);
            match (old_m, new_m) {
                (true, true) => Some(("MODIFIED", ev.obj.clone())),
                (false, true) => Some(("ADDED", ev.obj.clone())),
                (true, false) => Some(("DELETED", ev.obj.clone())),
                _ => None,
            }
        }
    }
}

/// A watch event line; with `as_table` the object is a one-row Table (column
/// definitions on the first event only, as the apiserver does).
fn obj_line(rd: &ResDef, as_table: bool, first: &mut bool, typ: &str, obj: &Value) -> Bytes {
    if !as_table {
        return ev_line(typ, obj);
    }
    let rv = util::str_of(obj, "metadata.resourceVersion");
    let mut t = crate::table::table(rd, vec![obj.clone()], json!({"resourceVersion": rv}));
    if !*first {
        t["columnDefinitions"] = json!([]);
    }
    *first = false;
    ev_line(typ, &t)
}

fn ev_line(typ: &str, obj: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": typ, "object": obj})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

async fn watch(
    sh: Arc<Shared>,
    rd: &'static ResDef,
    ns: Option<String>,
    q: &Query,
    as_table: bool,
) -> Result<Response<Body>, ApiError> {
    let ls = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fs = FieldSelector::parse_for(rd, q.get("fieldSelector").unwrap_or(""))?;
    let bookmarks = q.flag("allowWatchBookmarks");
    let send_initial = q.flag("sendInitialEvents");
    if q.get("sendInitialEvents").is_some() && q.get("resourceVersionMatch") != Some("NotOlderThan")
    {
        // the apiserver's ListOptions validation
        let mut e = ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        );
        e.details = Some(
            json!({"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{
            "reason": "FieldValueForbidden",
            "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            "field": "resourceVersionMatch"}]}),
        );
        return Err(e);
    }
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let rv_param = q.get("resourceVersion").unwrap_or("").to_string();
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut initial: Vec<Bytes> = Vec::new();
    let mut first = true;
    let (mut sub, mut last_rv) = {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let sub = st.tx.subscribe();
        if rd.readonly {
            drop(st);
            let items = crate::metrics::metrics_list(&sh, rd, ns.as_deref());
            for it in items {
                initial.push(obj_line(rd, as_table, &mut first, "ADDED", &it));
            }
            let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
            (sub, st.rv)
        } else if rv_param.is_empty() || rv_param == "0" || send_initial {
            for o in st.list(rd, ns.as_deref()) {
                if ls.matches(o) && fs.matches(o) {
                    initial.push(obj_line(rd, as_table, &mut first, "ADDED", o));
                }
            }
            (sub, st.rv)
        } else {
            let n: u64 = rv_param.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {rv_param}"))
            })?;
            if n < st.compacted_rv {
                let e = ApiError::expired(format!(
                    "too old resource version: {n} ({})",
                    st.compacted_rv
                ));
                initial.push(ev_line("ERROR", &e.to_status()));
                drop(st);
                let _ = tx.try_send(initial.remove(0));
                drop(tx);
                return Ok(stream_response("application/json", rx));
            }
            for ev in st.history.iter().filter(|e| e.rv > n && e.key == rd.key()) {
                if let Some((t, o)) = filter_event(ev, ns.as_deref(), &ls, &fs) {
                    initial.push(obj_line(rd, as_table, &mut first, t, &o));
                }
            }
            (sub, st.rv)
        }
    };
    let drop_after = sh.faults.state().watch_drop_after;
    let faults = sh.faults.clone();
    let key = rd.key();
    let api_version = rd.api_version();
    let kind = rd.kind;
    tokio::spawn(async move {
        let mut sent = 0usize;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        for b in initial {
            if faults.state().watch_cut_mid_event {
                let half = b.len() / 2;
                let _ = tx.send(b.slice(..half)).await;
                return;
            }
            if tx.send(b).await.is_err() {
                return;
            }
            sent += 1;
            if drop_after.is_some_and(|d| sent >= d) {
                return;
            }
        }
        let bookmark = |rv: u64, initial_end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if initial_end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            ev_line(
                "BOOKMARK",
                &json!({"kind": kind, "apiVersion": api_version, "metadata": meta}),
            )
        };
        if send_initial && bookmarks && tx.send(bookmark(last_rv, true)).await.is_err() {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(1000));
        tick.tick().await;
        loop {
            let sleep_until = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => futures::future::pending::<()>().await,
                }
            };
            tokio::select! {
                r = sub.recv() => {
                    match r {
                        Ok(ev) => {
                            if ev.rv <= last_rv {
                                continue;
                            }
                            last_rv = ev.rv;
                            if ev.key != key {
                                continue;
                            }
                            if let Some((t, o)) = filter_event(&ev, ns.as_deref(), &ls, &fs) {
                                let line = obj_line(rd, as_table, &mut first, t, &o);
                                if faults.state().watch_cut_mid_event {
                                    let half = line.len() / 2;
                                    let _ = tx.send(line.slice(..half)).await;
                                    return;
                                }
                                if tx.send(line).await.is_err() {
                                    return;
                                }
                                sent += 1;
                                if drop_after.is_some_and(|d| sent >= d) {
                                    return;
                                }
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(_) => return,
                    }
                }
                _ = tick.tick() => {
                    if bookmarks {
                        if tx.send(bookmark(last_rv, false)).await.is_err() {
                            return;
                        }
                    } else if tx.is_closed() {
                        return;
                    }
                }
                _ = sleep_until => return,
            }
        }
    });
    Ok(stream_response("application/json", rx))
}
