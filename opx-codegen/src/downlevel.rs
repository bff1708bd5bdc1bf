//! OpenAPI 3.1 -> 3.0.3, in memory, over `serde_json::Value`.
//!
//! progenitor 0.15 reads only OpenAPI 3.0 (and its parser rejects `type: [T, "null"]`, ignores
//! `const` and `examples`). The rules, each with a unit test below:
//!
//! | 3.1                                   | 3.0                                              |
//! |---------------------------------------|--------------------------------------------------|
//! | `openapi: 3.1.x`                      | `openapi: 3.0.3`                                 |
//! | `type: [T, "null"]`                   | `type: T`, `nullable: true`                      |
//! | `const: v`                            | `enum: [v]`                                      |
//! | schema `examples: [a, ...]`           | `example: a`                                     |
//! | `exclusiveMinimum: n` (number)        | `minimum: n`, `exclusiveMinimum: true` (same for maximum) |
//! | `$ref` with sibling keywords          | the bare `$ref` (3.0 ignores siblings)           |
//! | `jsonSchemaDialect`, `webhooks`, `info.summary`, `info.license.identifier`, `$comment` | dropped |
//!
//! Refused, with the JSON pointer of the offending place: a non-3.1 document, a `type` list other
//! than one type plus `"null"`, `type: "null"` alone, and the keywords 3.0 has no form for
//! ([`UNSUPPORTED_KEYWORDS`]), `components.pathItems`.

use serde_json::{Map, Value};

use crate::escape_token;

/// JSON Schema keywords of 2020-12 that OpenAPI 3.0 cannot express.
pub const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "prefixItems",
    "$defs",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentSchemas",
    "dependentRequired",
    "contains",
    "minContains",
    "maxContains",
    "patternProperties",
    "propertyNames",
    "$dynamicRef",
    "$dynamicAnchor",
    "$anchor",
    "$id",
    "$schema",
    "contentSchema",
];

/// Keywords whose value is a single sub-schema.
const SUBSCHEMA_KEYWORDS: &[&str] = &["items", "not", "additionalProperties"];
/// Keywords whose value is a list of sub-schemas.
const SUBSCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf"];

/// A 3.1 construct with no 3.0 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownlevelError {
    /// RFC 6901 pointer into the 3.1 document.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for DownlevelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot convert OpenAPI 3.1 to 3.0 at {}: {}",
            self.pointer, self.message
        )
    }
}

impl std::error::Error for DownlevelError {}

/// A converted document.
#[derive(Debug, Clone)]
pub struct Downlevel {
    /// The OpenAPI 3.0.3 document.
    pub document: Value,
    /// Things that were dropped or approximated, one line each, with their pointers.
    pub notes: Vec<String>,
}

/// Converts an OpenAPI 3.1 document to 3.0.3.
pub fn downlevel(mut doc: Value) -> Result<Downlevel, DownlevelError> {
    let mut notes = Vec::new();
    let root = doc
        .as_object_mut()
        .ok_or_else(|| err("", "the document is not a JSON object"))?;
    match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.1.") => {}
        Some(v) => {
            return Err(err(
                "/openapi",
                &format!("expected an OpenAPI 3.1.x document, found version {v:?}"),
            ));
        }
        None => return Err(err("/openapi", "missing the `openapi` version field")),
    }
    root.insert("openapi".into(), Value::from("3.0.3"));
    for key in ["jsonSchemaDialect", "webhooks"] {
        if root.remove(key).is_some() {
            notes.push(format!("/{key}: dropped (no OpenAPI 3.0 form)"));
        }
    }
    if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
        if info.remove("summary").is_some() {
            notes.push("/info/summary: dropped (no OpenAPI 3.0 form)".into());
        }
        if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut)
            && license.remove("identifier").is_some()
        {
            notes.push("/info/license/identifier: dropped (no OpenAPI 3.0 form)".into());
        }
    }
    if let Some(components) = root.get_mut("components").and_then(Value::as_object_mut) {
        if components.contains_key("pathItems") {
            return Err(err(
                "/components/pathItems",
                "`pathItems` components have no OpenAPI 3.0 form",
            ));
        }
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for (name, schema) in schemas.iter_mut() {
                convert_schema(
                    schema,
                    &format!("/components/schemas/{}", escape_token(name)),
                    &mut notes,
                )?;
            }
        }
    }
    // Every other schema sits under a `schema` key (parameters, headers, media types).
    for key in ["paths", "components"] {
        if let Some(v) = root.get_mut(key) {
            find_schema_keys(v, &format!("/{key}"), &mut notes)?;
        }
    }
    Ok(Downlevel {
        document: doc,
        notes,
    })
}

fn err(pointer: &str, message: &str) -> DownlevelError {
    DownlevelError {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    }
}

fn find_schema_keys(
    value: &mut Value,
    pointer: &str,
    notes: &mut Vec<String>,
) -> Result<(), DownlevelError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let child_pointer = format!("{pointer}/{}", escape_token(key));
                if key == "schema" {
                    convert_schema(child, &child_pointer, notes)?;
                } else if key == "schemas" && pointer == "/components" {
                    // Already converted above.
                } else if key == "examples" || key == "example" {
                    // Example values are data, not schemas.
                } else {
                    find_schema_keys(child, &child_pointer, notes)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                find_schema_keys(child, &format!("{pointer}/{i}"), notes)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Converts one schema object (and its sub-schemas) in place.
pub fn convert_schema(
    schema: &mut Value,
    pointer: &str,
    notes: &mut Vec<String>,
) -> Result<(), DownlevelError> {
    let Some(map) = schema.as_object_mut() else {
        if schema.is_boolean() {
            return Err(err(pointer, "boolean schemas have no OpenAPI 3.0 form"));
        }
        return Err(err(pointer, "a schema must be a JSON object"));
    };
    if map.contains_key("$ref") && map.len() > 1 {
        let dropped: Vec<String> = map.keys().filter(|k| *k != "$ref").cloned().collect();
        map.retain(|k, _| k == "$ref");
        notes.push(format!(
            "{pointer}: dropped {} beside $ref (3.0 ignores them)",
            dropped.join(", ")
        ));
        return Ok(());
    }
    for keyword in UNSUPPORTED_KEYWORDS {
        if map.contains_key(*keyword) {
            return Err(err(
                &format!("{pointer}/{}", escape_token(keyword)),
                &format!("the keyword `{keyword}` has no OpenAPI 3.0 form"),
            ));
        }
    }
    map.remove("$comment");
    convert_type(map, pointer)?;
    convert_const(map, pointer)?;
    convert_examples(map, pointer)?;
    convert_exclusive_bounds(map, pointer)?;
    convert_subschemas(map, pointer, notes)
}

/// `const` becomes a one-value `enum`.
fn convert_const(map: &mut Map<String, Value>, pointer: &str) -> Result<(), DownlevelError> {
    if let Some(value) = map.remove("const") {
        if map.contains_key("enum") {
            return Err(err(
                &format!("{pointer}/const"),
                "`const` beside `enum` cannot be merged",
            ));
        }
        map.insert("enum".into(), Value::Array(vec![value]));
    }
    Ok(())
}

/// `examples` (3.1) becomes `example` (3.0): its first entry.
fn convert_examples(map: &mut Map<String, Value>, pointer: &str) -> Result<(), DownlevelError> {
    if let Some(examples) = map.remove("examples") {
        match examples {
            Value::Array(mut list) if !list.is_empty() => {
                if !map.contains_key("example") {
                    map.insert("example".into(), list.swap_remove(0));
                }
            }
            Value::Array(_) => {}
            _ => {
                return Err(err(
                    &format!("{pointer}/examples"),
                    "schema `examples` must be an array",
                ));
            }
        }
    }
    Ok(())
}

/// A numeric `exclusiveMinimum`/`exclusiveMaximum` (3.1) becomes the bound plus `true` (3.0).
fn convert_exclusive_bounds(
    map: &mut Map<String, Value>,
    pointer: &str,
) -> Result<(), DownlevelError> {
    for (bound, plain) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match map.get(bound) {
            Some(Value::Number(n)) => {
                let n = n.clone();
                if map.contains_key(plain) {
                    return Err(err(
                        &format!("{pointer}/{bound}"),
                        &format!("numeric `{bound}` beside `{plain}` cannot be expressed in 3.0"),
                    ));
                }
                map.insert(plain.into(), Value::Number(n));
                map.insert(bound.into(), Value::Bool(true));
            }
            Some(Value::Bool(_)) | None => {}
            Some(_) => return Err(err(&format!("{pointer}/{bound}"), "must be a number")),
        }
    }
    Ok(())
}

/// Every subschema (properties, items, compositions), converted in place.
fn convert_subschemas(
    map: &mut Map<String, Value>,
    pointer: &str,
    notes: &mut Vec<String>,
) -> Result<(), DownlevelError> {
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, sub) in properties.iter_mut() {
            convert_schema(
                sub,
                &format!("{pointer}/properties/{}", escape_token(name)),
                notes,
            )?;
        }
    }
    for keyword in SUBSCHEMA_KEYWORDS {
        if let Some(sub) = map.get_mut(*keyword) {
            if *keyword == "additionalProperties" && sub.is_boolean() {
                continue;
            }
            convert_schema(sub, &format!("{pointer}/{keyword}"), notes)?;
        }
    }
    for keyword in SUBSCHEMA_LIST_KEYWORDS {
        if let Some(Value::Array(list)) = map.get_mut(*keyword) {
            for (i, sub) in list.iter_mut().enumerate() {
                convert_schema(sub, &format!("{pointer}/{keyword}/{i}"), notes)?;
            }
        }
    }
    Ok(())
}

fn convert_type(map: &mut Map<String, Value>, pointer: &str) -> Result<(), DownlevelError> {
    let here = format!("{pointer}/type");
    match map.get("type") {
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if names.len() != types.len() {
                return Err(err(&here, "every entry of a `type` list must be a string"));
            }
            let non_null: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
            let nullable = non_null.len() < names.len();
            match non_null.as_slice() {
                [single] => {
                    let single = Value::from(*single);
                    map.insert("type".into(), single);
                    if nullable {
                        map.insert("nullable".into(), Value::Bool(true));
                    }
                    Ok(())
                }
                [] => Err(err(&here, "`type: [\"null\"]` has no OpenAPI 3.0 form")),
                _ => Err(err(
                    &here,
                    &format!(
                        "a list of several types ({}) has no OpenAPI 3.0 form",
                        names.join(", ")
                    ),
                )),
            }
        }
        Some(Value::String(t)) if t == "null" => {
            Err(err(&here, "`type: \"null\"` has no OpenAPI 3.0 form"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc_with_schema(schema: Value) -> Value {
        json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
               "components": {"schemas": {"S": schema}}})
    }

    fn converted_schema(schema: Value) -> Value {
        downlevel(doc_with_schema(schema)).unwrap().document["components"]["schemas"]["S"].clone()
    }

    fn refused(schema: Value) -> DownlevelError {
        downlevel(doc_with_schema(schema)).unwrap_err()
    }

    #[test]
    fn version_becomes_3_0_3() {
        let out = downlevel(doc_with_schema(json!({"type": "string"}))).unwrap();
        assert_eq!(out.document["openapi"], "3.0.3");
    }

    #[test]
    fn non_3_1_documents_are_refused() {
        let e = downlevel(json!({"openapi": "3.0.3", "info": {}, "paths": {}})).unwrap_err();
        assert_eq!(e.pointer, "/openapi");
        assert!(e.message.contains("3.0.3"));
        assert_eq!(
            downlevel(json!({"info": {}})).unwrap_err().pointer,
            "/openapi"
        );
        assert_eq!(downlevel(json!([1])).unwrap_err().pointer, "");
    }

    #[test]
    fn nullable_type_lists_become_nullable() {
        assert_eq!(
            converted_schema(json!({"type": ["string", "null"]})),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            converted_schema(json!({"type": ["integer"]})),
            json!({"type": "integer"})
        );
    }

    #[test]
    fn multi_type_lists_and_null_alone_are_refused() {
        let e = refused(json!({"type": ["string", "integer"]}));
        assert_eq!(e.pointer, "/components/schemas/S/type");
        assert!(e.message.contains("string, integer"));
        assert_eq!(
            refused(json!({"type": ["null"]})).pointer,
            "/components/schemas/S/type"
        );
        assert_eq!(
            refused(json!({"type": "null"})).pointer,
            "/components/schemas/S/type"
        );
        assert_eq!(
            refused(json!({"type": ["string", 1]})).pointer,
            "/components/schemas/S/type"
        );
    }

    #[test]
    fn const_becomes_a_one_value_enum() {
        assert_eq!(
            converted_schema(json!({"const": "ok"})),
            json!({"enum": ["ok"]})
        );
        assert_eq!(
            refused(json!({"const": "ok", "enum": ["ok"]})).pointer,
            "/components/schemas/S/const"
        );
    }

    #[test]
    fn schema_examples_become_example() {
        assert_eq!(
            converted_schema(json!({"type": "string", "examples": ["a", "b"]})),
            json!({"type": "string", "example": "a"})
        );
        assert_eq!(
            converted_schema(json!({"type": "string", "examples": []})),
            json!({"type": "string"})
        );
        assert_eq!(
            refused(json!({"examples": "a"})).pointer,
            "/components/schemas/S/examples"
        );
    }

    #[test]
    fn numeric_exclusive_bounds_become_boolean_form() {
        assert_eq!(
            converted_schema(
                json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10})
            ),
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
        assert_eq!(
            refused(json!({"exclusiveMinimum": 0, "minimum": 1})).pointer,
            "/components/schemas/S/exclusiveMinimum"
        );
    }

    #[test]
    fn ref_siblings_are_dropped_with_a_note() {
        let out = downlevel(doc_with_schema(
            json!({"$ref": "#/components/schemas/T", "description": "x"}),
        ))
        .unwrap();
        assert_eq!(
            out.document["components"]["schemas"]["S"],
            json!({"$ref": "#/components/schemas/T"})
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("/components/schemas/S") && n.contains("description"))
        );
    }

    #[test]
    fn dialect_webhooks_summary_and_license_identifier_are_dropped() {
        let out = downlevel(json!({"openapi": "3.1.0", "jsonSchemaDialect": "x", "webhooks": {},
            "info": {"title": "t", "version": "1", "summary": "s", "license": {"name": "MIT", "identifier": "MIT"}},
            "paths": {}}))
        .unwrap();
        let d = out.document;
        assert!(d.get("jsonSchemaDialect").is_none() && d.get("webhooks").is_none());
        assert!(d["info"].get("summary").is_none());
        assert_eq!(d["info"]["license"], json!({"name": "MIT"}));
        assert_eq!(out.notes.len(), 4);
    }

    #[test]
    fn every_unsupported_keyword_is_refused_with_its_pointer() {
        for keyword in UNSUPPORTED_KEYWORDS {
            let e =
                refused(json!({"type": "object", "properties": {"p": {keyword.to_string(): {}}}}));
            assert_eq!(
                e.pointer,
                format!("/components/schemas/S/properties/p/{keyword}"),
                "{keyword}"
            );
        }
    }

    #[test]
    fn path_items_components_and_boolean_schemas_are_refused() {
        let e = downlevel(
            json!({"openapi": "3.1.0", "info": {}, "paths": {}, "components": {"pathItems": {}}}),
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/components/pathItems");
        assert_eq!(
            refused(json!({"type": "array", "items": true})).pointer,
            "/components/schemas/S/items"
        );
    }

    #[test]
    fn nested_schemas_are_converted_everywhere() {
        let doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/a~b/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": ["string", "null"]}}],
                "responses": {"200": {"description": "d",
                    "headers": {"H": {"schema": {"const": 1}}},
                    "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "a": {"type": "array", "items": {"const": "x"}},
                            "b": {"anyOf": [{"type": ["integer", "null"]}]},
                            "c": {"additionalProperties": {"const": true}}}},
                        "examples": {"e": {"value": {"const": "kept"}}}}}}}}}}});
        let out = downlevel(doc).unwrap().document;
        let op = &out["paths"]["/a~b/{id}"]["get"];
        assert_eq!(
            op["parameters"][0]["schema"],
            json!({"type": "string", "nullable": true})
        );
        let resp = &op["responses"]["200"];
        assert_eq!(resp["headers"]["H"]["schema"], json!({"enum": [1]}));
        let schema = &resp["content"]["application/json"]["schema"];
        assert_eq!(schema["properties"]["a"]["items"], json!({"enum": ["x"]}));
        assert_eq!(
            schema["properties"]["b"]["anyOf"][0],
            json!({"type": "integer", "nullable": true})
        );
        assert_eq!(
            schema["properties"]["c"]["additionalProperties"],
            json!({"enum": [true]})
        );
        // Example values are data and stay untouched.
        assert_eq!(
            resp["content"]["application/json"]["examples"]["e"]["value"],
            json!({"const": "kept"})
        );
    }

    #[test]
    fn pointers_escape_slash_and_tilde() {
        let doc = json!({"openapi": "3.1.0", "info": {}, "paths": {"/x": {"get": {"responses": {"200": {
            "description": "d", "content": {"application/json": {"schema": {"if": {}}}}}}}}}});
        let e = downlevel(doc).unwrap_err();
        assert_eq!(
            e.pointer,
            "/paths/~1x/get/responses/200/content/application~1json/schema/if"
        );
    }
}
