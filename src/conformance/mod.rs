//! What the spec says each operation takes and answers, compiled to validators (JSON Schema
//! 2020-12, formats asserted): the mock checks every request and answer with it, and
//! [`Client::doctor`](crate::Client::doctor) checks a real server's answers against it.
//! Feature `doctor` (the `mock` and `cli` features include it).

mod compile;
pub(crate) mod deviation;
pub(crate) mod routes;
pub(crate) mod validate;

use std::sync::{Arc, OnceLock};

pub(crate) use routes::RouteTable;

/// The route table and compiled validators, built once per process from the vendored spec.
pub(crate) fn route_table() -> Arc<RouteTable> {
    static TABLE: OnceLock<Arc<RouteTable>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let doc: serde_json::Value =
                serde_json::from_str(crate::spec::OPENAPI_JSON).expect("the vendored spec is JSON");
            Arc::new(RouteTable::from_spec(&doc).expect("the vendored spec compiles"))
        })
        .clone()
}
