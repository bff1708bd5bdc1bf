//! Validation against the spec (compiled once, see `compile`): requests are checked (path,
//! query, content type, body) and mapped to the documented error codes; responses are checked
//! against the schema of their status and content type before they are sent.

// Request validation is the mock's alone: with only `doctor`, some of it is unused.
#![cfg_attr(not(feature = "mock"), allow(dead_code))]

use jsonschema::Validator;
use serde_json::{Map, Value};

pub(crate) use super::compile::{Compiler, Kind, ParamSpec, RequestBodySpec, ResponseSpec};

/// A request refused by validation: the documented code and a message.
#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Rejection {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Rejection {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Turns a parameter's text into the JSON value its schema expects (left as a string when it
/// does not parse, so that validation refuses it).
pub(crate) fn coerce(kind: Kind, text: &str) -> Value {
    match kind {
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| text.into()),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| text.into()),
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => text.into(),
        },
        Kind::String => text.into(),
    }
}

fn first_error(v: &Validator, instance: &Value) -> Option<String> {
    v.iter_errors(instance).next().map(|e| e.to_string())
}

/// A request's validated input.
#[derive(Debug)]
pub(crate) struct Validated {
    pub(crate) path_params: Map<String, Value>,
    pub(crate) query_params: Map<String, Value>,
    pub(crate) body: Option<Value>,
}

/// Validates path, query and body of a request routed to the operation `spec` describes.
pub(crate) fn request(
    spec: &super::routes::RouteSpec,
    path_values: &[&str],
    query: Option<&str>,
    content_type: Option<&str>,
    bytes: &[u8],
    body_too_large: Option<usize>,
) -> Result<Validated, Rejection> {
    let path_params = path_params(&spec.path_params, path_values)?;
    let query_params = query_params(&spec.query_params, query)?;
    let body = match (&spec.body, body_too_large) {
        (Some(_), Some(max)) => {
            return Err(Rejection::new(
                "invalid_request",
                format!("request body larger than {max} bytes"),
            ));
        }
        (Some(b), None) => body(b, content_type, bytes)?,
        (None, _) => None,
    };
    Ok(Validated {
        path_params,
        query_params,
        body,
    })
}

/// Validates path parameter values (percent-decoded); a failure gets the parameter's code.
pub(crate) fn path_params(
    specs: &[ParamSpec],
    values: &[&str],
) -> Result<Map<String, Value>, Rejection> {
    let mut out = Map::new();
    for (spec, raw) in specs.iter().zip(values) {
        let text = percent_decode(raw).ok_or_else(|| {
            Rejection::new(
                &spec.error_code,
                format!("path parameter {}: not UTF-8", spec.name),
            )
        })?;
        let value = coerce(spec.kind, &text);
        if let Some(e) = first_error(&spec.validator, &value) {
            return Err(Rejection::new(
                &spec.error_code,
                format!("path parameter {}: {e}", spec.name),
            ));
        }
        out.insert(spec.name.clone(), value);
    }
    Ok(out)
}

/// Validates the query string; a failure gets the parameter's code (`invalid_type` for `type`).
/// Defaults from the spec are filled in. Unknown parameters are ignored.
pub(crate) fn query_params(
    specs: &[ParamSpec],
    query: Option<&str>,
) -> Result<Map<String, Value>, Rejection> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let mut out = Map::new();
    for spec in specs {
        let code = spec.error_code.as_str();
        let mut values = pairs
            .iter()
            .filter(|(k, _)| *k == spec.name)
            .map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => {
                return Err(Rejection::new(
                    code,
                    format!("query parameter {} given more than once", spec.name),
                ));
            }
            (Some(text), None) => {
                let value = coerce(spec.kind, text);
                if let Some(e) = first_error(&spec.validator, &value) {
                    return Err(Rejection::new(
                        code,
                        format!("query parameter {}: {e}", spec.name),
                    ));
                }
                out.insert(spec.name.clone(), value);
            }
            (None, _) => {
                if spec.required {
                    return Err(Rejection::new(
                        code,
                        format!("query parameter {} is required", spec.name),
                    ));
                }
                if let Some(d) = &spec.default {
                    out.insert(spec.name.clone(), d.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The media type of a Content-Type header value, lower-cased, without parameters.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Validates a request body: content type, JSON syntax, then the schema, mapping the first
/// failure to its documented code.
pub(crate) fn body(
    spec: &RequestBodySpec,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Option<Value>, Rejection> {
    if bytes.is_empty() && !spec.required {
        return Ok(None);
    }
    match content_type.map(essence) {
        Some(m) if m == spec.media => {}
        Some(m) => {
            return Err(Rejection::new(
                "invalid_request",
                format!("Content-Type must be {}, not {m}", spec.media),
            ));
        }
        None => {
            return Err(Rejection::new(
                "invalid_request",
                format!("Content-Type must be {}", spec.media),
            ));
        }
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Rejection::new("invalid_request", format!("body is not valid JSON: {e}")))?;
    let mut best: Option<(usize, Rejection)> = None;
    for e in spec.validator.iter_errors(&value) {
        let path = e.instance_path().as_str().to_string();
        let keyword = e.kind().keyword().to_string();
        let (rank, code) = body_error_code(&spec.schema, &path, &keyword);
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            let at = if path.is_empty() {
                "body".to_string()
            } else {
                format!("body{path}")
            };
            best = Some((rank, Rejection::new(code, format!("{at}: {e}"))));
        }
    }
    match best {
        Some((_, r)) => Err(r),
        None => Ok(Some(value)),
    }
}

/// The documented code of a body validation error, from the spec: the `x-error-code` of the
/// deepest schema along the failing value's path that has one (a string applies to any failure
/// of that value; an object maps keywords to codes, e.g. `{"maxItems": "too_many_ips"}`), else
/// `invalid_request`. With (priority, code): a failure of the body itself first, then coded
/// failures in the order of the docs' error-code table, then the rest.
fn body_error_code(schema: &Value, path: &str, keyword: &str) -> (usize, String) {
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return (0, "invalid_request".into());
    }
    let mut here = schema;
    let mut code = None;
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        let next = here
            .pointer(&format!("/properties/{}", opx_codegen::escape_token(seg)))
            .or_else(|| seg.parse::<usize>().ok().and_then(|_| here.get("items")));
        let Some(next) = next else { break };
        here = next;
        match here.get("x-error-code") {
            Some(Value::String(c)) => code = Some(c.clone()),
            Some(Value::Object(by_keyword)) if i == last => {
                if let Some(c) = by_keyword.get(keyword).and_then(Value::as_str) {
                    code = Some(c.to_string());
                }
            }
            _ => {}
        }
    }
    match code {
        Some(c) => {
            let rank = crate::types::ErrorCode::KNOWN
                .iter()
                .position(|k| k.as_str() == c)
                .unwrap_or(50);
            (1 + rank, c)
        }
        None => (100, "invalid_request".into()),
    }
}

use opx_codegen::refs::percent_decode;

/// Checks a response against the spec; `Err` names the mismatch.
pub(crate) fn response(
    responses: &std::collections::BTreeMap<u16, ResponseSpec>,
    status: u16,
    content_type: &str,
    body: &Value,
    header: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let spec = responses
        .get(&status)
        .ok_or_else(|| format!("status {status} is not documented for this operation"))?;
    let media = essence(content_type);
    let (_, validator) = spec
        .content
        .iter()
        .find(|(m, _)| *m == media)
        .ok_or_else(|| format!("content type {media} is not documented for status {status}"))?;
    if let Some(e) = validator.iter_errors(body).next() {
        let path = e.instance_path().as_str().to_string();
        return Err(format!(
            "status {status} {media} body does not match the spec at '{path}': {e}"
        ));
    }
    for (name, kind, v) in &spec.required_headers {
        let value = header(name).ok_or_else(|| format!("required header {name} is missing"))?;
        let json = coerce(*kind, &value);
        if let Some(e) = first_error(v, &json) {
            return Err(format!("header {name}: {e}"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
