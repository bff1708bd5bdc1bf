//! What the spec says of each operation, compiled once per process: its parameters, body and
//! responses as validators. Where each operation is (method, path) comes from the generated
//! [`Operation`] table; axum routes by it (see `app`).

// Request validation is the mock's alone: with only `doctor`, some of it is unused.
#![cfg_attr(not(feature = "mock"), allow(dead_code))]

use std::collections::BTreeMap;

use serde_json::Value;

use super::compile::entries;
use super::validate::{Compiler, ParamSpec, RequestBodySpec, ResponseSpec};
use crate::operation::Operation;

/// One operation of the spec, compiled.
pub(crate) struct RouteSpec {
    /// Path parameters, in template order.
    pub(crate) path_params: Vec<ParamSpec>,
    /// Query parameters.
    pub(crate) query_params: Vec<ParamSpec>,
    /// The JSON request body, if the operation takes one.
    pub(crate) body: Option<RequestBodySpec>,
    /// Documented responses by status code.
    pub(crate) responses: BTreeMap<u16, ResponseSpec>,
}

/// The spec's operations, compiled.
pub(crate) struct RouteTable {
    /// The path prefix of the spec's first server URL, e.g. `/api/v1`.
    pub(crate) base_path: String,
    specs: BTreeMap<Operation, RouteSpec>,
}

impl RouteTable {
    /// Compiles every operation of the table against an OpenAPI 3.1 document.
    pub(crate) fn from_spec(doc: &Value) -> Result<Self, String> {
        let compiler = Compiler::new(doc);
        let base_path = doc
            .pointer("/servers/0/url")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let specs = Operation::ALL
            .into_iter()
            .map(|op| Ok((op, compile(&compiler, doc, op)?)))
            .collect::<Result<_, String>>()?;
        Ok(RouteTable { base_path, specs })
    }

    /// The compiled spec of an operation.
    pub(crate) fn spec(&self, op: Operation) -> &RouteSpec {
        // Every operation of the table was compiled in `from_spec`.
        &self.specs[&op]
    }
}

fn compile(compiler: &Compiler<'_>, doc: &Value, op: Operation) -> Result<RouteSpec, String> {
    let method = op.method().as_str().to_ascii_lowercase();
    let item = doc
        .get("paths")
        .and_then(|p| p.get(op.path()))
        .map(|i| compiler.resolve(i))
        .ok_or_else(|| format!("{op}: the spec has no path {}", op.path()))?;
    let spec = item
        .get(method.as_str())
        .ok_or_else(|| format!("{op}: the spec has no {method} {}", op.path()))?;
    let (mut path_params, mut query_params) = (Vec::new(), Vec::new());
    let shared = item.get("parameters").and_then(Value::as_array);
    let own = spec.get("parameters").and_then(Value::as_array);
    for p in shared
        .into_iter()
        .flatten()
        .chain(own.into_iter().flatten())
    {
        let param = compiler.param(p)?;
        match param.location.as_str() {
            "path" => path_params.push(param),
            "query" => query_params.push(param),
            _ => {}
        }
    }
    let body = match spec.get("requestBody") {
        Some(b) => Some(compiler.request_body(b)?),
        None => None,
    };
    let mut responses = BTreeMap::new();
    for (status, r) in entries(spec, "responses") {
        if let Ok(code) = status.parse::<u16>() {
            responses.insert(code, compiler.response(r)?);
        }
    }
    Ok(RouteSpec {
        path_params,
        query_params,
        body,
        responses,
    })
}

/// The raw (still percent-encoded) values of a template's `{params}` in `path`, in order;
/// `None` when the path does not fit the template.
pub(crate) fn path_values<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut values = Vec::new();
    for (seg, part) in t.iter().zip(&p) {
        if seg.starts_with('{') && seg.ends_with('}') {
            values.push(*part);
        } else if seg != part {
            return None;
        }
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_compiles() {
        let doc: Value = serde_json::from_str(crate::spec::OPENAPI_JSON).unwrap();
        let table = RouteTable::from_spec(&doc).unwrap();
        assert_eq!(table.base_path, "/api/v1");
        for op in Operation::ALL {
            let spec = table.spec(op);
            assert_eq!(
                spec.path_params.len(),
                op.path().matches('{').count(),
                "{op}"
            );
            assert!(spec.responses.contains_key(&200), "{op}");
        }
    }

    #[test]
    fn path_values_follow_the_template() {
        let t = "/api/v1/services/{id}/proxies";
        assert_eq!(
            path_values(t, "/api/v1/services/ab%20c/proxies"),
            Some(vec!["ab%20c"])
        );
        assert_eq!(path_values(t, "/api/v1/services/x"), None);
        assert_eq!(
            path_values("/api/v1/account", "/api/v1/account"),
            Some(vec![])
        );
    }
}
