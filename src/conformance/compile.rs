//! The spec compiled for validation: each parameter's, request body's and response's schema
//! inlined (`$ref`s resolved) and compiled once.

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::Validator;
use serde_json::{Value, json};

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
    /// The code a bad value is refused with: its schema's `x-error-code`, else
    /// `invalid_request` (`invalid_id` for a path parameter).
    pub(crate) error_code: String,
}

/// A JSON request body.
pub(crate) struct RequestBodySpec {
    pub(crate) required: bool,
    pub(crate) media: String,
    pub(crate) validator: Arc<Validator>,
    /// The schema with its `$ref`s inlined, to find the `x-error-code` of a failing value.
    pub(crate) schema: Value,
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

    /// Follows local `$ref`s until an object without one (`v` itself if one does not resolve).
    pub(crate) fn resolve(&self, v: &'a Value) -> &'a Value {
        opx_codegen::refs::deref(self.doc, v).unwrap_or(v)
    }

    /// `schema` with every `$ref` replaced by what it names (to walk it by instance path).
    fn inline(&self, schema: &Value, depth: u8) -> Value {
        let schema = if depth > 0 {
            self.resolve(schema)
        } else {
            schema
        };
        match schema {
            Value::Object(map) if depth < 8 => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.inline(v, depth + 1)))
                    .collect(),
            ),
            other => other.clone(),
        }
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
        let schema = schema_of(p);
        let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
        let fallback = if location == "path" {
            "invalid_id"
        } else {
            "invalid_request"
        };
        let error_code = self
            .resolve(&schema)
            .get("x-error-code")
            .and_then(Value::as_str)
            .unwrap_or(fallback)
            .to_string();
        Ok(ParamSpec {
            error_code,
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
        let schema = schema_of(content);
        Ok(RequestBodySpec {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            media: media.clone(),
            validator: self.validator(&schema)?,
            schema: self.inline(&schema, 1),
        })
    }

    pub(crate) fn response(&self, r: &Value) -> Result<ResponseSpec, String> {
        let r = self.resolve(r);
        let mut content = Vec::new();
        for (media, c) in entries(r, "content") {
            let schema = schema_of(c);
            content.push((media.clone(), self.validator(&schema)?));
        }
        let mut required_headers = Vec::new();
        for (name, h) in entries(r, "headers") {
            let h = self.resolve(h);
            if h.get("required").and_then(Value::as_bool).unwrap_or(false) {
                let schema = schema_of(h);
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

/// The members of the object `v[key]` (none when it is missing or not an object).
pub(crate) fn entries<'a>(
    v: &'a Value,
    key: &str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    v.get(key).and_then(Value::as_object).into_iter().flatten()
}

/// The `schema` of a media type, parameter or header object; `{}` (anything) when it has none.
pub(crate) fn schema_of(v: &Value) -> Value {
    v.get("schema").cloned().unwrap_or_else(|| json!({}))
}
