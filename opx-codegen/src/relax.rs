//! Drops `pattern` from the schemas only responses use, before code generation.
//!
//! typify turns a string schema with a `pattern` into a newtype whose deserializer runs the
//! pattern with `regress`. For what the *server* sends (ids it issued) that check buys nothing and
//! costs twice over: about 1,000 instructions per id (two per service, 60% of what the facade
//! adds per service when paging; see BENCHMARKS.md), and a whole page that fails to decode if one
//! id ever comes back in a new shape. So for every component schema that no request body or
//! parameter reaches, `pattern` is removed and the field is generated as a plain `String`.
//!
//! What the client *sends* keeps its patterns: request bodies and parameters, and every schema
//! they reach, are untouched (the facade also checks those values itself, with typed errors,
//! before sending). The vendored spec is not changed either: the mock validates its responses
//! against the patterns, so a wrong id from the mock is still caught.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::escape_token;

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// Removes `pattern` from every component schema that no request body or parameter reaches.
/// Returns one note per removed pattern, naming its JSON pointer.
pub fn relax_response_patterns(doc: &mut Value) -> Vec<String> {
    let sent = schemas_sent(doc);
    let mut notes = Vec::new();
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return notes;
    };
    for (name, schema) in schemas.iter_mut() {
        if !sent.contains(name) {
            let pointer = format!("/components/schemas/{}", escape_token(name));
            strip_patterns(schema, &pointer, &mut notes);
        }
    }
    notes
}

/// The component schemas a request can carry: those referenced from request bodies and
/// parameters (in operations and in `components`), and everything they reference in turn.
fn schemas_sent(doc: &Value) -> BTreeSet<String> {
    let mut roots = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            collect_refs(item.get("parameters"), &mut roots);
            let Some(item) = item.as_object() else {
                continue;
            };
            for operation in item.values() {
                collect_refs(operation.get("requestBody"), &mut roots);
                collect_refs(operation.get("parameters"), &mut roots);
            }
        }
    }
    let components = doc.get("components");
    collect_refs(components.and_then(|c| c.get("requestBodies")), &mut roots);
    collect_refs(components.and_then(|c| c.get("parameters")), &mut roots);

    let schemas = components.and_then(|c| c.get("schemas"));
    let mut sent = BTreeSet::new();
    while let Some(name) = roots.pop() {
        if sent.insert(name.clone()) {
            collect_refs(schemas.and_then(|s| s.get(&name)), &mut roots);
        }
    }
    sent
}

/// Pushes the names of the component schemas `value` references (`$ref`), at any depth.
fn collect_refs(value: Option<&Value>, out: &mut Vec<String>) {
    match value {
        Some(Value::Object(map)) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(SCHEMA_PREFIX))
            {
                out.push(name.to_owned());
            }
            for v in map.values() {
                collect_refs(Some(v), out);
            }
        }
        Some(Value::Array(items)) => {
            for v in items {
                collect_refs(Some(v), out);
            }
        }
        _ => {}
    }
}

/// Removes `pattern` from `schema` and every schema nested in it (properties, items,
/// combinators), noting each pointer. Examples and other literal values are left alone.
fn strip_patterns(schema: &mut Value, pointer: &str, notes: &mut Vec<String>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.get("pattern").is_some_and(Value::is_string) {
        map.remove("pattern");
        notes.push(format!(
            "{pointer}: `pattern` dropped for code generation (responses only: the client does \
             not re-check what the server issued)"
        ));
    }
    for (key, value) in map.iter_mut() {
        let child = format!("{pointer}/{}", escape_token(key));
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                if let Some(props) = value.as_object_mut() {
                    for (name, sub) in props.iter_mut() {
                        strip_patterns(sub, &format!("{child}/{}", escape_token(name)), notes);
                    }
                }
            }
            "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                strip_patterns(value, &child, notes);
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Some(items) = value.as_array_mut() {
                    for (i, sub) in items.iter_mut().enumerate() {
                        strip_patterns(sub, &format!("{child}/{i}"), notes);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "paths": {
                "/things/{id}": {
                    "parameters": [{"name": "id", "in": "path", "schema": {"$ref": "#/components/schemas/Id"}}],
                    "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}},
                    "put": {
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Change"}}}},
                        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
                    }
                }
            },
            "components": {"schemas": {
                "Id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
                "Thing": {"type": "object", "properties": {
                    "id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
                    "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
                    "example": {"type": "string", "examples": [{"pattern": "literal, kept"}]}
                }},
                "Change": {"type": "object", "properties": {
                    "country": {"type": "string", "pattern": "^[a-z]{2,32}$"},
                    "nested": {"$ref": "#/components/schemas/Nested"}
                }},
                "Nested": {"type": "string", "pattern": "^n$"}
            }}
        })
    }

    #[test]
    fn response_only_schemas_lose_their_patterns() {
        let mut d = doc();
        let notes = relax_response_patterns(&mut d);
        assert_eq!(
            d.pointer("/components/schemas/Thing/properties/id/pattern"),
            None
        );
        assert_eq!(
            d.pointer("/components/schemas/Thing/properties/tags/items/pattern"),
            None
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("/components/schemas/Thing/properties/id: "));
        assert!(notes[1].starts_with("/components/schemas/Thing/properties/tags/items: "));
    }

    #[test]
    fn what_requests_carry_keeps_its_patterns() {
        let mut d = doc();
        relax_response_patterns(&mut d);
        // A path parameter's schema, a request body's, and one the body reaches through $ref.
        assert!(d.pointer("/components/schemas/Id/pattern").is_some());
        assert!(
            d.pointer("/components/schemas/Change/properties/country/pattern")
                .is_some()
        );
        assert!(d.pointer("/components/schemas/Nested/pattern").is_some());
    }

    #[test]
    fn literal_values_named_pattern_are_not_schemas() {
        let mut d = doc();
        relax_response_patterns(&mut d);
        assert_eq!(
            d.pointer("/components/schemas/Thing/properties/example/examples/0/pattern"),
            Some(&json!("literal, kept"))
        );
    }

    #[test]
    fn a_document_without_components_is_left_alone() {
        let mut d = json!({"paths": {}});
        assert!(relax_response_patterns(&mut d).is_empty());
        assert_eq!(d, json!({"paths": {}}));
    }
}
