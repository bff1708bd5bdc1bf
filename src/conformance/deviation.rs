//! Every way an answer differs from what the spec says, each named by a JSON pointer, what the
//! spec expects and the *shape* of what came (a type, a length, member names: never a value, so
//! no secret or proxy password is ever shown).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{ResponseSpec, coerce, essence};
use crate::operation::Operation;

/// One difference between an answer and the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deviation {
    /// The operation whose answer it is (its operationId).
    pub operation: Operation,
    /// Where: a JSON pointer into the body (`/data/services/0/threads`), or `#status`,
    /// `#content-type`, `#header/<name>`.
    pub pointer: String,
    /// What the spec expects there.
    pub expected: String,
    /// The shape of what came instead.
    pub found: String,
}

/// The shape of a value: its type, and the member names of an object or the length of an array.
pub(crate) fn shape(v: Option<&Value>) -> String {
    match v {
        None => "missing".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Bool(_)) => "boolean".into(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer".into(),
        Some(Value::Number(_)) => "number".into(),
        Some(Value::String(s)) => format!("string ({} characters)", s.chars().count()),
        Some(Value::Array(a)) => format!("array of {}", a.len()),
        Some(Value::Object(m)) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).take(12).collect();
            format!("object {{{}}}", keys.join(", "))
        }
    }
}

/// What a validation error says the spec expects, without quoting the value.
fn expected(kind: &jsonschema::error::ValidationErrorKind) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    match kind {
        K::Required { property } => format!("required member {property}"),
        K::Type { kind } => format!("type {kind:?}")
            .to_lowercase()
            .replace("single(", "")
            .replace(')', ""),
        K::Enum { options } => format!("one of {options}"),
        K::Constant { expected_value } => format!("the constant {expected_value}"),
        K::Format { format } => format!("format {format}"),
        K::Pattern { pattern } => format!("pattern {pattern}"),
        K::Minimum { limit } => format!("minimum {limit}"),
        K::Maximum { limit } => format!("maximum {limit}"),
        K::MaxItems { limit } => format!("at most {limit} items"),
        K::MinItems { limit } => format!("at least {limit} items"),
        K::AdditionalProperties { unexpected } => format!("no member {}", unexpected.join(", ")),
        other => format!("the `{}` keyword", other.keyword()),
    }
}

/// One deviation before it is tied to its operation: where, what was expected, what was found.
type Finding = (String, String, String);

/// The deviations of one answer of `op` from `responses`, the operation's documented answers.
pub(crate) fn deviations(
    op: Operation,
    responses: &std::collections::BTreeMap<u16, ResponseSpec>,
    status: u16,
    content_type: &str,
    body: &[u8],
    header: &dyn Fn(&str) -> Option<String>,
) -> Vec<Deviation> {
    let findings = match responses.get(&status) {
        None => {
            let documented: Vec<String> = responses.keys().map(u16::to_string).collect();
            vec![(
                "#status".into(),
                format!("one of {}", documented.join(", ")),
                status.to_string(),
            )]
        }
        Some(spec) => {
            let mut out = body_findings(spec, content_type, body);
            out.extend(header_findings(spec, header));
            out
        }
    };
    findings
        .into_iter()
        .map(|(pointer, expected, found)| Deviation {
            operation: op,
            pointer,
            expected,
            found,
        })
        .collect()
}

/// The body against the documented media types and the schema of the one it has.
fn body_findings(spec: &ResponseSpec, content_type: &str, body: &[u8]) -> Vec<Finding> {
    let media = essence(content_type);
    let Some((_, validator)) = spec.content.iter().find(|(m, _)| *m == media) else {
        let documented: Vec<&str> = spec.content.iter().map(|(m, _)| m.as_str()).collect();
        return vec![("#content-type".into(), documented.join(" or "), media)];
    };
    let value = if media.starts_with("text/") {
        Some(Value::String(String::from_utf8_lossy(body).into_owned()))
    } else {
        serde_json::from_slice::<Value>(body).ok()
    };
    let Some(v) = value else {
        return vec![(
            "".into(),
            "a JSON body".into(),
            format!("{} bytes that are not JSON", body.len()),
        )];
    };
    validator
        .iter_errors(&v)
        .map(|e| {
            let at = e.instance_path().as_str().to_string();
            let (pointer, found) = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    (
                        format!("{at}/{}", opx_codegen::escape_token(name)),
                        "missing".to_string(),
                    )
                }
                _ => (at.clone(), shape(v.pointer(&at))),
            };
            (pointer, expected(e.kind()), found)
        })
        .collect()
}

/// The headers the spec marks as required: present, and of their documented kind.
fn header_findings(spec: &ResponseSpec, header: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, kind, validator) in &spec.required_headers {
        let pointer = format!("#header/{name}");
        match header(name) {
            None => out.push((pointer, "present".into(), "missing".into())),
            Some(text) if !validator.is_valid(&coerce(*kind, &text)) => out.push((
                pointer,
                format!("{kind:?}").to_lowercase(),
                format!("{} characters", text.chars().count()),
            )),
            Some(_) => {}
        }
    }
    out
}
