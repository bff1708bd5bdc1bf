//! Local `$ref` resolution over a JSON document: the one implementation the generator, the
//! spec checks, `cargo xtask regen` and the mock share. A reference is a JSON pointer fragment
//! (`#/components/schemas/Service`), percent-encoding allowed (RFC 6901 and RFC 3986).

use serde_json::Value;

/// Escapes one reference token for a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Percent-decodes `s` (a URL path segment or a `$ref` fragment); `None` when the result is not
/// UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Resolves a local `$ref` (`#/a/b`, percent-encoding allowed) against `doc`.
pub fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    doc.pointer(&percent_decode(fragment)?)
}

/// Follows `$ref`s (at most 32 hops) from `value` to the object they name; `None` if one does
/// not resolve.
pub fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> Option<&'a Value> {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => value = resolve_ref(doc, reference)?,
            None => return Some(value),
        }
    }
    None
}

/// Every `$ref` string below `value`, following references to `components.responses`,
/// `components.parameters` and `components.headers` (not to schemas: see [`schema_name`]).
pub fn collect_refs(doc: &Value, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                if schema_name(r).is_none()
                    && let Some(target) = resolve_ref(doc, r)
                {
                    collect_refs(doc, target, out);
                }
                out.push(r.to_owned());
            }
            for v in map.values() {
                collect_refs(doc, v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(doc, v, out)),
        _ => {}
    }
}

/// The component schema a reference names (`#/components/schemas/NAME`).
pub fn schema_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/components/schemas/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percent_encoded_and_escaped_refs_resolve() {
        let doc = json!({"a": {"b c": 1, "x/y": 2}});
        assert_eq!(resolve_ref(&doc, "#/a/b%20c"), Some(&json!(1)));
        assert_eq!(resolve_ref(&doc, "#/a/x~1y"), Some(&json!(2)));
        assert_eq!(resolve_ref(&doc, "#/a/nope"), None);
        assert_eq!(resolve_ref(&doc, "other#/a"), None);
    }

    #[test]
    fn chains_resolve_and_loops_end() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "c": 3, "l": {"$ref": "#/l"}});
        assert_eq!(deref(&doc, &json!({"$ref": "#/a"})), Some(&json!(3)));
        assert_eq!(deref(&doc, &json!({"$ref": "#/l"})), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("ab%20c").as_deref(), Some("ab c"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(escape_token("a~b/c"), "a~0b~1c");
    }
}
