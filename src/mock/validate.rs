//! Validation against the spec: validators are compiled once at start; requests are checked
//! (path, query, content type, body) and mapped to the documented error codes; responses are
//! checked against the schema of their status and content type before they are sent.

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// How a query parameter's text is turned into JSON before validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Integer,
    Boolean,
    Number,
}

/// A path or query parameter.
pub(crate) struct ParamSpec {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) required: bool,
    pub(crate) kind: Kind,
    pub(crate) default: Option<Value>,
    pub(crate) validator: Arc<Validator>,
}

/// A JSON request body.
pub(crate) struct RequestBodySpec {
    pub(crate) required: bool,
    pub(crate) media: String,
    pub(crate) validator: Arc<Validator>,
}

/// One documented response.
pub(crate) struct ResponseSpec {
    /// Validators by media type.
    pub(crate) content: Vec<(String, Arc<Validator>)>,
    /// Headers the spec marks as required: lower-case name, value kind, validator.
    pub(crate) required_headers: Vec<(String, Kind, Arc<Validator>)>,
}

/// Compiles validators for fragments of one document, sharing identical ones.
pub(crate) struct Compiler<'a> {
    doc: &'a Value,
    schemas: Value,
    cache: std::cell::RefCell<HashMap<String, Arc<Validator>>>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(doc: &'a Value) -> Self {
        let schemas = doc
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_else(|| json!({}));
        Compiler {
            doc,
            schemas,
            cache: Default::default(),
        }
    }

    /// Follows local `$ref`s (`#/...`) until an object without one.
    pub(crate) fn resolve(&self, mut v: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) if r.starts_with("#/") => match self.doc.pointer(&r[1..]) {
                    Some(t) => v = t,
                    None => return v,
                },
                _ => return v,
            }
        }
        v
    }

    /// A validator for a schema of the document (its `$ref`s resolve against the components).
    pub(crate) fn validator(&self, schema: &Value) -> Result<Arc<Validator>, String> {
        let key = schema.to_string();
        if let Some(v) = self.cache.borrow().get(&key) {
            return Ok(v.clone());
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": { "schemas": self.schemas },
            "allOf": [schema],
        });
        let v = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map(Arc::new)
            .map_err(|e| format!("cannot compile schema {key}: {e}"))?;
        self.cache.borrow_mut().insert(key, v.clone());
        Ok(v)
    }

    fn kind(&self, schema: &Value) -> Kind {
        match self.resolve(schema).get("type").and_then(Value::as_str) {
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            Some("number") => Kind::Number,
            _ => Kind::String,
        }
    }

    pub(crate) fn param(&self, p: &Value) -> Result<ParamSpec, String> {
        let p = self.resolve(p);
        let schema = p.get("schema").cloned().unwrap_or_else(|| json!({}));
        Ok(ParamSpec {
            name: p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            location: p
                .get("in")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            kind: self.kind(&schema),
            default: self.resolve(&schema).get("default").cloned(),
            validator: self.validator(&schema)?,
        })
    }

    pub(crate) fn request_body(&self, b: &Value) -> Result<RequestBodySpec, String> {
        let b = self.resolve(b);
        let (media, content) = b
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
            .ok_or("requestBody without content")?;
        let schema = content.get("schema").cloned().unwrap_or_else(|| json!({}));
        Ok(RequestBodySpec {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            media: media.clone(),
            validator: self.validator(&schema)?,
        })
    }

    pub(crate) fn response(&self, r: &Value) -> Result<ResponseSpec, String> {
        let r = self.resolve(r);
        let mut content = Vec::new();
        for (media, c) in r
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let schema = c.get("schema").cloned().unwrap_or_else(|| json!({}));
            content.push((media.clone(), self.validator(&schema)?));
        }
        let mut required_headers = Vec::new();
        for (name, h) in r
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let h = self.resolve(h);
            if h.get("required").and_then(Value::as_bool).unwrap_or(false) {
                let schema = h.get("schema").cloned().unwrap_or_else(|| json!({}));
                required_headers.push((
                    name.to_ascii_lowercase(),
                    self.kind(&schema),
                    self.validator(&schema)?,
                ));
            }
        }
        Ok(ResponseSpec {
            content,
            required_headers,
        })
    }
}

/// A request refused by validation: the documented code and a message.
#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Rejection {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

/// Turns a parameter's text into the JSON value its schema expects (left as a string when it
/// does not parse, so that validation refuses it).
fn coerce(kind: Kind, text: &str) -> Value {
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

/// Validates path parameter values (percent-decoded); any failure is `invalid_id`.
pub(crate) fn path_params(
    specs: &[ParamSpec],
    values: &[&str],
) -> Result<Map<String, Value>, Rejection> {
    let mut out = Map::new();
    for (spec, raw) in specs.iter().zip(values) {
        let text = percent_decode(raw).ok_or_else(|| {
            Rejection::new(
                "invalid_id",
                format!("path parameter {}: not UTF-8", spec.name),
            )
        })?;
        let value = coerce(spec.kind, &text);
        if let Some(e) = first_error(&spec.validator, &value) {
            return Err(Rejection::new(
                "invalid_id",
                format!("path parameter {}: {e}", spec.name),
            ));
        }
        out.insert(spec.name.clone(), value);
    }
    Ok(out)
}

/// Validates the query string; `type` failures are `invalid_type`, others `invalid_request`.
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
        let code = if spec.name == "type" {
            "invalid_type"
        } else {
            "invalid_request"
        };
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
    let mut best: Option<(u8, Rejection)> = None;
    for e in spec.validator.iter_errors(&value) {
        let path = e.instance_path().as_str().to_string();
        let keyword = e.kind().keyword().to_string();
        let (rank, code) = body_error_code(&path, &keyword);
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

/// Maps a body validation error (instance path, keyword) to (priority, code).
fn body_error_code(path: &str, keyword: &str) -> (u8, &'static str) {
    let mut segs = path.trim_start_matches('/').split('/');
    let field = segs.next().unwrap_or("");
    let nested = segs.next().is_some();
    match field {
        "" => (0, "invalid_request"),
        "type" => (1, "invalid_type"),
        "plan_id" => (2, "invalid_plan_id"),
        "country" => (3, "invalid_country"),
        "rotation" => (4, "invalid_rotation"),
        "whitelisted_ips" if keyword == "maxItems" => (5, "too_many_ips"),
        "whitelisted_ips" if nested => (6, "invalid_ip"),
        _ => (7, "invalid_request"),
    }
}

/// Percent-decodes a path segment; `None` when the result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

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
mod tests {
    use super::*;

    #[test]
    fn body_errors_map_to_documented_codes() {
        assert_eq!(body_error_code("", "required").1, "invalid_request");
        assert_eq!(body_error_code("/type", "enum").1, "invalid_type");
        assert_eq!(body_error_code("/plan_id", "pattern").1, "invalid_plan_id");
        assert_eq!(body_error_code("/country", "pattern").1, "invalid_country");
        assert_eq!(body_error_code("/rotation", "type").1, "invalid_rotation");
        assert_eq!(
            body_error_code("/whitelisted_ips", "maxItems").1,
            "too_many_ips"
        );
        assert_eq!(
            body_error_code("/whitelisted_ips/3", "format").1,
            "invalid_ip"
        );
        assert_eq!(
            body_error_code("/whitelisted_ips", "type").1,
            "invalid_request"
        );
        assert_eq!(
            body_error_code("/labels/0", "maxLength").1,
            "invalid_request"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("ab%20c").as_deref(), Some("ab c"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%ff"), None);
    }
}
