//! The route table, read from the spec: one entry per operation, matched by path template and
//! method. Handlers are attached by operationId (see `handlers`).

use std::collections::BTreeMap;

use http::Method;
use serde_json::Value;

use super::handlers::{self, Handler};
use super::validate::{Compiler, ParamSpec, RequestBodySpec, ResponseSpec};
use crate::operation::Operation;

/// One operation of the spec.
pub(crate) struct RouteOp {
    /// The operation.
    pub(crate) op: Operation,
    /// Path parameters, in template order.
    pub(crate) path_params: Vec<ParamSpec>,
    /// Query parameters.
    pub(crate) query_params: Vec<ParamSpec>,
    /// The JSON request body, if the operation takes one.
    pub(crate) body: Option<RequestBodySpec>,
    /// Documented responses by status code.
    pub(crate) responses: BTreeMap<u16, ResponseSpec>,
    /// The handler.
    pub(crate) handler: Handler,
}

/// A path template split into segments.
struct Template {
    segments: Vec<Segment>,
    /// Operation indexes for this template, by method.
    methods: Vec<(Method, usize)>,
}

enum Segment {
    Literal(String),
    Param,
}

/// The outcome of matching a request path and method.
pub(crate) enum RouteMatch<'a> {
    /// An operation, with its path parameter values (still percent-encoded text).
    Found(usize, Vec<&'a str>),
    /// The path exists but not with this method; the allowed methods.
    MethodNotAllowed(Vec<Method>),
    /// No such path.
    NotFound,
}

/// The spec's operations and how to reach them.
pub(crate) struct RouteTable {
    /// The path prefix of the spec's first server URL, e.g. `/api/v1`.
    pub(crate) base_path: String,
    /// All operations, in spec order.
    pub(crate) operations: Vec<RouteOp>,
    templates: Vec<Template>,
}

impl RouteTable {
    /// Reads the route table from an OpenAPI 3.1 document and compiles its validators.
    pub(crate) fn from_spec(doc: &Value) -> Result<Self, String> {
        let compiler = Compiler::new(doc);
        let base_path = doc
            .pointer("/servers/0/url")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("spec has no paths")?;
        let mut operations = Vec::new();
        let mut templates = Vec::new();
        for (template, item) in paths {
            let item = compiler.resolve(item);
            let mut methods = Vec::new();
            for (verb, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = verb.to_ascii_uppercase().parse::<Method>() else {
                    continue;
                };
                if !matches!(
                    method,
                    Method::GET | Method::POST | Method::PUT | Method::DELETE | Method::PATCH
                ) {
                    continue;
                }
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{verb} {template} has no operationId"))?;
                let operation = Operation::from_id(id)
                    .ok_or_else(|| format!("{id} is not in the generated operation table"))?;
                let mut path_params = Vec::new();
                let mut query_params = Vec::new();
                let shared = item.get("parameters").and_then(Value::as_array);
                let own = op.get("parameters").and_then(Value::as_array);
                for p in shared
                    .into_iter()
                    .flatten()
                    .chain(own.into_iter().flatten())
                {
                    let spec = compiler.param(p)?;
                    match spec.location.as_str() {
                        "path" => path_params.push(spec),
                        "query" => query_params.push(spec),
                        _ => {}
                    }
                }
                let body = match op.get("requestBody") {
                    Some(b) => Some(compiler.request_body(b)?),
                    None => None,
                };
                let mut responses = BTreeMap::new();
                for (status, r) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if let Ok(code) = status.parse::<u16>() {
                        responses.insert(code, compiler.response(r)?);
                    }
                }
                methods.push((method.clone(), operations.len()));
                operations.push(RouteOp {
                    handler: handlers::handler_for(operation),
                    op: operation,
                    path_params,
                    query_params,
                    body,
                    responses,
                });
            }
            let segments = template
                .trim_start_matches('/')
                .split('/')
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_string())
                    }
                })
                .collect();
            templates.push(Template { segments, methods });
        }
        Ok(RouteTable {
            base_path,
            operations,
            templates,
        })
    }

    /// Matches a path relative to the base path (e.g. `/services/abc`) and a method.
    pub(crate) fn matches<'a>(&self, path: &'a str, method: &Method) -> RouteMatch<'a> {
        let Some(rest) = path.strip_prefix('/') else {
            return RouteMatch::NotFound;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let mut allowed = Vec::new();
        for t in &self.templates {
            if t.segments.len() != parts.len() {
                continue;
            }
            let mut values = Vec::new();
            let ok = t.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                Segment::Literal(l) => l == part,
                Segment::Param => {
                    values.push(*part);
                    !part.is_empty()
                }
            });
            if !ok {
                continue;
            }
            if let Some((_, idx)) = t.methods.iter().find(|(m, _)| m == method) {
                return RouteMatch::Found(*idx, values);
            }
            allowed.extend(t.methods.iter().map(|(m, _)| m.clone()));
        }
        if allowed.is_empty() {
            RouteMatch::NotFound
        } else {
            RouteMatch::MethodNotAllowed(allowed)
        }
    }
}
