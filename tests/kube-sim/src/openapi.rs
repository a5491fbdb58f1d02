//! `/openapi/v2`: clients (kubectl's validation fallback, `OpenAPISchema()`) fetch it as a
//! gnostic `openapi_v2.Document` in protobuf, or as JSON. kube-sim serves the document's
//! header without paths or definitions: enough for kubectl to decide that a kind is not
//! there and answer `no matches for kind … ensure CRDs are installed first`.

use crate::resources::Catalog;
use crate::server::{Body, full, json_response};
use http::{Request, Response, header};
use serde_json::json;

fn field(no: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![(no << 3) | 2];
    let mut n = data.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            break;
        }
        v.push(b | 0x80);
    }
    v.extend_from_slice(data);
    v
}

pub fn v2<B>(_cat: &Catalog, req: &Request<B>) -> Response<Body> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    if accept.contains("protobuf") {
        let info = [field(1, b"Kubernetes"), field(2, b"v1.33.1")].concat();
        let doc = [field(1, b"2.0"), field(2, &info)].concat();
        return Response::builder()
            .status(200)
            .header(
                header::CONTENT_TYPE,
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            )
            .body(full(doc))
            .unwrap();
    }
    json_response(
        200,
        &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.1"}, "paths": {}, "definitions": {}}),
    )
}
