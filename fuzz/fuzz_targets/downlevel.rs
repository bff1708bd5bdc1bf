//! The OpenAPI 3.1 -> 3.0 converter (`opx_codegen::downlevel`) on any JSON.
//!
//! Checks: nothing panics; a converted document is `openapi: 3.0.3` with no 3.1-only top-level
//! fields; no converted schema keeps `const`, `examples`, `$comment`, a `type` list, `type:
//! "null"` or a numeric `exclusiveMinimum`/`exclusiveMaximum`; and converting the result again
//! (relabelled 3.1) changes nothing: the conversion is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opx_codegen::downlevel;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // serde_json refuses nesting deeper than 128, so recursion in the converter is bounded.
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(out) = downlevel(doc) else {
        return;
    };
    let converted = out.document;
    assert_eq!(converted["openapi"], "3.0.3");
    for key in ["jsonSchemaDialect", "webhooks"] {
        assert!(converted.get(key).is_none(), "{key} kept");
    }
    if let Some(schemas) = converted
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for s in schemas.values() {
            check_schema(s);
        }
    }
    for key in ["paths", "components"] {
        if let Some(v) = converted.get(key) {
            find_schemas(v, key == "components");
        }
    }
    for note in &out.notes {
        assert!(note.starts_with('/'), "a note names its pointer: {note}");
    }

    let mut again = converted.clone();
    again["openapi"] = Value::from("3.1.0");
    let twice = downlevel(again).expect("a converted document converts again");
    assert_eq!(twice.document, converted, "not a fixed point");
});

fn find_schemas(v: &Value, at_components: bool) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "schema" {
                    check_schema(child);
                } else if (k == "schemas" && at_components) || k == "examples" || k == "example" {
                } else {
                    find_schemas(child, false);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| find_schemas(c, false)),
        _ => {}
    }
}

fn check_schema(s: &Value) {
    let map = s.as_object().expect("a converted schema is an object");
    if map.contains_key("$ref") {
        assert_eq!(map.len(), 1, "siblings of $ref kept");
        return;
    }
    for k in ["const", "examples", "$comment"] {
        assert!(!map.contains_key(k), "{k} kept");
    }
    match map.get("type") {
        Some(Value::Array(_)) => panic!("type list kept"),
        Some(Value::String(t)) => assert_ne!(t, "null"),
        _ => {}
    }
    for k in ["exclusiveMinimum", "exclusiveMaximum"] {
        assert!(map.get(k).is_none_or(Value::is_boolean), "numeric {k} kept");
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        props.values().for_each(check_schema);
    }
    for k in ["items", "not", "additionalProperties"] {
        if let Some(sub) = map.get(k)
            && !(k == "additionalProperties" && sub.is_boolean())
        {
            check_schema(sub);
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = map.get(k) {
            list.iter().for_each(check_schema);
        }
    }
}
