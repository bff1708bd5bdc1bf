//! Structural checks of an OpenAPI 3.1 document (feature `validate`).
//!
//! The same checks guard `cargo xtask regen` (before a new upstream document replaces the vendored
//! one) and can back the spec tests of the `opx` crate:
//!
//! - `openapi` is `3.1.x`;
//! - every `$ref` is local (`#/...`) and resolves;
//! - every operation has an `operationId`, and no two share one;
//! - every schema (components, parameters, headers, request and response bodies) compiles as
//!   JSON Schema 2020-12 with the `jsonschema` crate (which also checks it against the meta-schema);
//! - every example (`examples[*].value` or `example` of a media type, parameter or header)
//!   validates against its schema;
//! - the document carries the facts the crate is generated from: `x-rate-limits` (see
//!   [`crate::items`]).
//!
//! A documented error code that a new upstream document drops is a narrowed enum: `cargo xtask
//! regen` reports it as a breaking change (the diff against the vendored document).
//!
//! Every problem names the JSON pointer (RFC 6901) of the place it was found.

use serde_json::Value;

use crate::escape_token;

/// The HTTP methods an OpenAPI path item may hold operations under.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// RFC 6901 pointer to the offending place (`""` for the whole document).
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "at {}: {}", self.pointer, self.message)
        }
    }
}

/// A document that failed at least one check. Its `Display` is one line: the first problem and
/// how many more there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Every problem found, in document order within each check (never empty).
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid OpenAPI 3.1 document")?;
        if let Some(first) = self.problems.first() {
            write!(f, ": {first}")?;
        }
        match self.problems.len() {
            0 | 1 => Ok(()),
            2 => write!(f, " (and 1 more problem)"),
            n => write!(f, " (and {} more problems)", n - 1),
        }
    }
}

impl std::error::Error for Invalid {}

/// Runs every check over `doc`; `Ok` when it is a valid OpenAPI 3.1 document.
///
/// A document whose `openapi` field is not `3.1.x` is refused at once (the other checks assume
/// 3.1 semantics).
pub fn validate(doc: &Value) -> Result<(), Invalid> {
    let mut checker = Checker {
        doc,
        problems: Vec::new(),
    };
    checker.version();
    if checker.problems.is_empty() {
        checker.refs(doc, String::new());
        checker.operation_ids();
        checker.schemas_and_examples();
        checker.items();
    }
    if checker.problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid {
            problems: checker.problems,
        })
    }
}

pub use crate::refs::{deref, resolve_ref};

struct Checker<'a> {
    doc: &'a Value,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn version(&mut self) {
        match self.doc.get("openapi") {
            Some(Value::String(v)) if is_3_1(v) => {}
            Some(Value::String(v)) => self.problem(
                "/openapi",
                format!("`openapi` is {v:?}, expected 3.1.x (OpenAPI 3.1)"),
            ),
            Some(other) => self.problem("/openapi", format!("`openapi` is not a string: {other}")),
            None if !self.doc.is_object() => self.problem("", "the document is not a JSON object"),
            None => self.problem("", "no `openapi` field (expected 3.1.x)"),
        }
        for field in ["info", "paths"] {
            if self.problems.is_empty() && !self.doc.get(field).is_some_and(Value::is_object) {
                self.problem(
                    format!("/{field}"),
                    format!("`{field}` is missing or not an object"),
                );
            }
        }
    }

    fn refs(&mut self, value: &Value, pointer: String) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref") {
                    match reference.as_str() {
                        Some(r) if r.starts_with('#') => {
                            if resolve_ref(self.doc, r).is_none() {
                                self.problem(
                                    format!("{pointer}/$ref"),
                                    format!("$ref {r:?} does not resolve"),
                                );
                            }
                        }
                        Some(r) => self.problem(
                            format!("{pointer}/$ref"),
                            format!("$ref {r:?} is not local (only `#/...` is supported)"),
                        ),
                        None => self.problem(format!("{pointer}/$ref"), "$ref is not a string"),
                    }
                }
                for (key, child) in map {
                    self.refs(child, format!("{pointer}/{}", escape_token(key)));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.refs(child, format!("{pointer}/{i}"));
                }
            }
            _ => {}
        }
    }

    /// Every operation: (pointer, operation object).
    fn operations(&self) -> Vec<(String, &'a Value)> {
        let mut ops = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return ops;
        };
        for (path, item) in paths {
            let Some(item) = deref(self.doc, item).and_then(Value::as_object) else {
                continue;
            };
            for method in METHODS {
                if let Some(op) = item.get(method).filter(|op| op.is_object()) {
                    ops.push((format!("/paths/{}/{method}", escape_token(path)), op));
                }
            }
        }
        ops
    }

    fn operation_ids(&mut self) {
        let mut seen: Vec<(&str, String)> = Vec::new();
        for (pointer, op) in self.operations() {
            match op.get("operationId").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => {
                    if let Some((_, first)) = seen.iter().find(|(seen_id, _)| *seen_id == id) {
                        let message = format!("duplicate operationId {id:?} (also at {first})");
                        self.problem(format!("{pointer}/operationId"), message);
                    } else {
                        seen.push((id, pointer));
                    }
                }
                _ => self.problem(pointer, "operation has no operationId"),
            }
        }
    }

    fn schemas_and_examples(&mut self) {
        let doc = self.doc;
        let components = doc.get("components");
        let section = |name: &str| {
            components
                .and_then(|c| c.get(name))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
        };
        for (name, schema) in section("schemas") {
            self.schema(
                &format!("/components/schemas/{}", escape_token(name)),
                schema,
            );
        }
        for (name, p) in section("parameters") {
            self.parameter(&format!("/components/parameters/{}", escape_token(name)), p);
        }
        for (name, h) in section("headers") {
            self.parameter(&format!("/components/headers/{}", escape_token(name)), h);
        }
        for (name, b) in section("requestBodies") {
            self.content(
                &format!("/components/requestBodies/{}", escape_token(name)),
                b,
            );
        }
        for (name, r) in section("responses") {
            self.response(&format!("/components/responses/{}", escape_token(name)), r);
        }
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let item_ptr = format!("/paths/{}", escape_token(path));
                self.parameters(&item_ptr, item);
            }
        }
        for (pointer, op) in self.operations() {
            self.parameters(&pointer, op);
            if let Some(body) = op.get("requestBody") {
                self.content(&format!("{pointer}/requestBody"), body);
            }
            if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                for (status, r) in responses {
                    self.response(&format!("{pointer}/responses/{}", escape_token(status)), r);
                }
            }
        }
    }

    fn parameters(&mut self, pointer: &str, holder: &Value) {
        if let Some(list) = holder.get("parameters").and_then(Value::as_array) {
            for (i, p) in list.iter().enumerate() {
                self.parameter(&format!("{pointer}/parameters/{i}"), p);
            }
        }
    }

    /// A parameter or header object (skipped when it is a `$ref`: its target is checked where it
    /// is defined).
    fn parameter(&mut self, pointer: &str, p: &Value) {
        if p.get("$ref").is_some() {
            return;
        }
        if let Some(schema) = p.get("schema") {
            let schema_ptr = format!("{pointer}/schema");
            if let Some(validator) = self.schema(&schema_ptr, schema) {
                self.examples(pointer, p, &validator);
            }
        }
        self.content(pointer, p);
    }

    fn response(&mut self, pointer: &str, r: &Value) {
        if r.get("$ref").is_some() {
            return;
        }
        if let Some(headers) = r.get("headers").and_then(Value::as_object) {
            for (name, h) in headers {
                self.parameter(&format!("{pointer}/headers/{}", escape_token(name)), h);
            }
        }
        self.content(pointer, r);
    }

    /// The `content` map of a request body, response, parameter or header.
    fn content(&mut self, pointer: &str, holder: &Value) {
        if holder.get("$ref").is_some() {
            return;
        }
        let Some(content) = holder.get("content").and_then(Value::as_object) else {
            return;
        };
        for (media_type, m) in content {
            let media_ptr = format!("{pointer}/content/{}", escape_token(media_type));
            if let Some(schema) = m.get("schema")
                && let Some(validator) = self.schema(&format!("{media_ptr}/schema"), schema)
            {
                self.examples(&media_ptr, m, &validator);
            }
        }
    }

    /// Validates `holder`'s `example` and `examples[*].value` with the compiled schema.
    fn examples(&mut self, pointer: &str, holder: &Value, validator: &jsonschema::Validator) {
        let mut found: Vec<(String, &Value)> = Vec::new();
        if let Some(example) = holder.get("example") {
            found.push((format!("{pointer}/example"), example));
        }
        if let Some(examples) = holder.get("examples").and_then(Value::as_object) {
            for (name, example) in examples {
                let ptr = format!("{pointer}/examples/{}", escape_token(name));
                if let Some(value) = deref(self.doc, example).and_then(|e| e.get("value")) {
                    found.push((format!("{ptr}/value"), value));
                }
            }
        }
        for (ptr, value) in found {
            if let Some(error) = validator.iter_errors(value).next() {
                let at = error.instance_path().to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                self.problem(
                    ptr,
                    format!("example does not match its schema at {at}: {error}"),
                );
            }
        }
    }

    /// Compiles one schema as JSON Schema 2020-12; local `$ref`s resolve against the document.
    fn schema(&mut self, pointer: &str, schema: &Value) -> Option<jsonschema::Validator> {
        // The schema is wrapped in a copy of the whole document so that `#/components/...`
        // references resolve; the OpenAPI top-level fields are unknown keywords to JSON Schema.
        let mut wrapper = self.doc.clone();
        if let Value::Object(map) = &mut wrapper {
            map.insert("allOf".to_owned(), Value::Array(vec![schema.clone()]));
        }
        match jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&wrapper)
        {
            Ok(validator) => Some(validator),
            Err(error) => {
                let message = format!("schema does not compile as JSON Schema 2020-12: {error}");
                self.problem(pointer, message);
                None
            }
        }
    }

    fn items(&mut self) {
        if let Err(e) = crate::items::generate(self.doc) {
            self.problem("/x-rate-limits", e.0);
        }
    }
}

fn is_3_1(version: &str) -> bool {
    version
        .strip_prefix("3.1.")
        .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vendored() -> Value {
        serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap()
    }

    fn problems(doc: &Value) -> Vec<Problem> {
        validate(doc).expect_err("the document is refused").problems
    }

    /// Removes `key` from the object `v`.
    fn remove(v: &mut Value, key: &str) {
        v.as_object_mut().unwrap().remove(key);
    }

    /// Asserts that a problem at `pointer` (any, when empty) says `says`.
    fn assert_found(found: &[Problem], pointer: &str, says: &str) {
        assert!(
            found
                .iter()
                .any(|p| (pointer.is_empty() || p.pointer == pointer) && p.message.contains(says)),
            "{says:?} at {pointer:?} in {found:?}"
        );
    }

    #[test]
    fn the_vendored_spec_is_valid() {
        validate(&vendored()).unwrap();
    }

    #[test]
    fn a_3_0_document_is_refused_with_its_version() {
        let mut doc = vendored();
        doc["openapi"] = json!("3.0.3");
        let err = validate(&doc).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].pointer, "/openapi");
        assert!(err.to_string().contains("\"3.0.3\""), "{err}");
    }

    #[test]
    fn only_3_1_patch_versions_pass_the_version_check() {
        assert!(is_3_1("3.1.0") && is_3_1("3.1.12"));
        assert!(!is_3_1("3.1") && !is_3_1("3.10.0") && !is_3_1("3.1.x") && !is_3_1("3.2.0"));
    }

    #[test]
    fn a_dangling_ref_is_named() {
        let mut doc = vendored();
        remove(&mut doc["components"]["schemas"], "ServiceType");
        assert_found(
            &problems(&doc),
            "",
            "#/components/schemas/ServiceType\" does not resolve",
        );
    }

    #[test]
    fn an_external_ref_is_refused() {
        let mut doc = vendored();
        doc["components"]["schemas"]["Extra"] = json!({"$ref": "other.json#/X"});
        let found = problems(&doc);
        assert!(found[0].message.contains("not local"), "{found:?}");
        assert_eq!(found[0].pointer, "/components/schemas/Extra/$ref");
    }

    #[test]
    fn duplicate_and_missing_operation_ids_are_refused() {
        let mut doc = vendored();
        doc["paths"]["/services"]["get"]["operationId"] = json!("getAccount");
        remove(&mut doc["paths"]["/logs"]["get"], "operationId");
        let found = problems(&doc);
        let duplicate = "duplicate operationId \"getAccount\"";
        assert_found(&found, "/paths/~1services/get/operationId", duplicate);
        assert_found(&found, "/paths/~1logs/get", "no operationId");
    }

    #[test]
    fn a_schema_that_is_not_json_schema_is_refused() {
        let mut doc = vendored();
        doc["components"]["schemas"]["Account"]["type"] = json!("strng");
        // Schemas that reference it fail too; the first problem names the culprit.
        let found = problems(&doc);
        assert_eq!(found[0].pointer, "/components/schemas/Account");
        assert!(found[0].message.contains("does not compile"), "{found:?}");
        assert!(found[0].message.contains("strng"), "{found:?}");
    }

    #[test]
    fn an_example_that_does_not_match_its_schema_is_refused() {
        let mut doc = vendored();
        let example = doc
            .pointer_mut(
                "/paths/~1services~1{id}~1country/put/requestBody/content/application~1json/examples/docs/value",
            )
            .unwrap();
        *example = json!({"country": 42});
        let found = problems(&doc);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].pointer.ends_with("/examples/docs/value"),
            "{found:?}"
        );
        assert!(found[0].message.contains("/country"), "{found:?}");
    }

    #[test]
    fn the_display_is_one_line_with_the_count() {
        let invalid = Invalid {
            problems: vec![
                Problem {
                    pointer: "/a".into(),
                    message: "first".into(),
                },
                Problem {
                    pointer: "/b".into(),
                    message: "second".into(),
                },
                Problem {
                    pointer: "/c".into(),
                    message: "third".into(),
                },
            ],
        };
        assert_eq!(
            invalid.to_string(),
            "not a valid OpenAPI 3.1 document: at /a: first (and 2 more problems)"
        );
    }
}
