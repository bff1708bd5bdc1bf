//! What changed between two OpenAPI 3.1 documents, from the point of view of a client.
//!
//! Operations are matched by method and path. For an operation in both documents the summary
//! compares its `operationId`, parameters (path-level and operation-level, matched by location and
//! name), request body, status codes, response headers and request/response schemas. `$ref`s are
//! resolved (each in its own document) before comparing, so moving a schema into `components`
//! is not a change, while editing a shared schema shows up in every operation that uses it.
//!
//! A change is *breaking* when a client built against the old document can fail against the new
//! one. Schemas are read in the direction data flows:
//!
//! - in a **request** (parameters, request bodies) the server may no longer accept what it
//!   accepted: a new required parameter or field, a removed parameter or field, a narrowed enum,
//!   a removed type, a tighter bound or a changed pattern;
//! - in a **response** the client may no longer understand what it gets: a removed field, a
//!   field that may now be absent, a widened enum or a new type (the generated client's enums and
//!   types are strict), a looser bound or a changed pattern.
//!
//! Removed operations, status codes, media types and response headers are breaking; additions
//! are not.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use opx_codegen::validate::{METHODS, deref};
use serde_json::{Map, Value};

static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whether a client of the old document can break.
    pub breaking: bool,
    /// What changed: `GET /account (getAccount)`, `info.version`...
    pub subject: String,
    /// How it changed.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.breaking {
            f.write_str("BREAKING ")?;
        }
        write!(f, "{}: {}", self.subject, self.detail)
    }
}

/// Which way data flows through a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Sent by the client.
    Request,
    /// Sent by the server.
    Response,
}

/// Compares two documents; the changes come in path order, then method order.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    for field in ["version", "title"] {
        let (a, b) = (
            old.pointer(&format!("/info/{field}")),
            new.pointer(&format!("/info/{field}")),
        );
        if a != b {
            changes.push(Change {
                breaking: false,
                subject: format!("info.{field}"),
                detail: format!("{} -> {}", show(a), show(b)),
            });
        }
    }
    if old.get("servers") != new.get("servers") {
        changes.push(Change {
            breaking: false,
            subject: "servers".into(),
            detail: format!(
                "{} -> {}",
                show(old.get("servers")),
                show(new.get("servers"))
            ),
        });
    }
    let old_ops = operations(old);
    let new_ops = operations(new);
    let keys: BTreeSet<_> = old_ops
        .iter()
        .chain(&new_ops)
        .map(|(k, _)| k.clone())
        .collect();
    for key in keys {
        let old_op = old_ops.iter().find(|(k, _)| *k == key).map(|(_, o)| *o);
        let new_op = new_ops.iter().find(|(k, _)| *k == key).map(|(_, o)| *o);
        match (old_op, new_op) {
            (None, Some(op)) => changes.push(Change {
                breaking: false,
                subject: op.subject(),
                detail: "added operation".into(),
            }),
            (Some(op), None) => changes.push(Change {
                breaking: true,
                subject: op.subject(),
                detail: "removed operation".into(),
            }),
            (Some(a), Some(b)) => {
                let mut ctx = Ctx {
                    old,
                    new,
                    out: Vec::new(),
                    stack: Vec::new(),
                    open_string: false,
                };
                ctx.operation(a, b);
                let subject = b.subject();
                changes.extend(ctx.out.into_iter().map(|(breaking, detail)| Change {
                    breaking,
                    subject: subject.clone(),
                    detail,
                }));
            }
            (None, None) => unreachable!("the key comes from one of the documents"),
        }
    }
    changes
}

/// (path, index of the method in [`METHODS`]).
type OpKey = (String, usize);

#[derive(Clone, Copy)]
struct Op<'a> {
    method: &'static str,
    path: &'a str,
    /// The path item (for its shared parameters).
    item: &'a Value,
    op: &'a Value,
}

impl Op<'_> {
    fn subject(&self) -> String {
        let method = self.method.to_ascii_uppercase();
        match self.op.get("operationId").and_then(Value::as_str) {
            Some(id) => format!("{method} {} ({id})", self.path),
            None => format!("{method} {}", self.path),
        }
    }
}

fn operations(doc: &Value) -> Vec<(OpKey, Op<'_>)> {
    let mut ops = Vec::new();
    for (path, item) in members(doc.get("paths")) {
        let Some(item) = deref(doc, item) else {
            continue;
        };
        for (i, method) in METHODS.iter().enumerate() {
            if let Some(op) = item.get(*method).filter(|op| op.is_object()) {
                ops.push((
                    (path.clone(), i),
                    Op {
                        method,
                        path,
                        item,
                        op,
                    },
                ));
            }
        }
    }
    ops
}

/// The object a key holds (`value.get(key)`), or an empty one.
fn members(value: Option<&Value>) -> &Map<String, Value> {
    value.and_then(Value::as_object).unwrap_or(&EMPTY)
}

/// `{path}{what} changed from {x} to {y}`.
fn changed(path: &str, what: &str, x: Option<&Value>, y: Option<&Value>) -> String {
    format!("{}{what} changed from {} to {}", at(path), show(x), show(y))
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn list(values: &[&Value]) -> String {
    values
        .iter()
        .map(|v| format!("`{}`", show(Some(v))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("`{path}`: ")
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else if segment.starts_with('[') {
        format!("{path}{segment}")
    } else {
        format!("{path}.{segment}")
    }
}

/// Walks two versions of one operation, collecting `(breaking, detail)` lines.
struct Ctx<'a> {
    old: &'a Value,
    new: &'a Value,
    out: Vec<(bool, String)>,
    /// `$ref` pairs being compared (stops recursive schemas).
    stack: Vec<(String, String)>,
    /// Inside an `anyOf`/`oneOf` that also admits any string (an open enum, e.g. `ErrorCode |
    /// string`): a value outside an enum there still matches, so widening it breaks nothing.
    open_string: bool,
}

impl<'a> Ctx<'a> {
    fn push(&mut self, breaking: bool, detail: String) {
        self.out.push((breaking, detail));
    }

    fn operation(&mut self, a: Op<'a>, b: Op<'a>) {
        let (id_a, id_b) = (a.op.get("operationId"), b.op.get("operationId"));
        if id_a != id_b {
            self.push(
                true,
                format!("operationId renamed {} -> {}", show(id_a), show(id_b)),
            );
        }
        self.parameters(a, b);
        self.request_body(a.op.get("requestBody"), b.op.get("requestBody"));
        self.responses(a.op.get("responses"), b.op.get("responses"));
    }

    /// Path-level and operation-level parameters keyed by (in, name); the operation's win.
    fn params_of(doc: &'a Value, op: Op<'a>) -> Vec<((String, String), &'a Value)> {
        let mut params: Vec<((String, String), &'a Value)> = Vec::new();
        for holder in [op.item, op.op] {
            for p in holder
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(p) = deref(doc, p) else { continue };
                let key = (
                    p.get("in")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    p.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                );
                params.retain(|(k, _)| *k != key);
                params.push((key, p));
            }
        }
        params
    }

    fn parameters(&mut self, a: Op<'a>, b: Op<'a>) {
        let old = Self::params_of(self.old, a);
        let new = Self::params_of(self.new, b);
        let required = |p: &Value| p.get("required").and_then(Value::as_bool).unwrap_or(false);
        for ((loc, name), p) in &old {
            match new.iter().find(|(k, _)| k.0 == *loc && k.1 == *name) {
                None => self.push(true, format!("removed {loc} parameter `{name}`")),
                Some((_, q)) => {
                    match (required(p), required(q)) {
                        (false, true) => {
                            self.push(true, format!("{loc} parameter `{name}` is now required"))
                        }
                        (true, false) => {
                            self.push(false, format!("{loc} parameter `{name}` is now optional"))
                        }
                        _ => {}
                    }
                    let prefix = format!("{loc} parameter `{name}`: ");
                    self.schema_at(
                        &prefix,
                        p.get("schema"),
                        q.get("schema"),
                        Direction::Request,
                    );
                }
            }
        }
        for ((loc, name), q) in &new {
            if !old.iter().any(|(k, _)| k.0 == *loc && k.1 == *name) {
                if required(q) {
                    self.push(true, format!("new required {loc} parameter `{name}`"));
                } else {
                    self.push(false, format!("added optional {loc} parameter `{name}`"));
                }
            }
        }
    }

    fn request_body(&mut self, a: Option<&'a Value>, b: Option<&'a Value>) {
        let a = a.and_then(|v| deref(self.old, v));
        let b = b.and_then(|v| deref(self.new, v));
        let required = |v: &Value| v.get("required").and_then(Value::as_bool).unwrap_or(false);
        match (a, b) {
            (None, None) => {}
            (None, Some(b)) if required(b) => self.push(true, "new required request body".into()),
            (None, Some(_)) => self.push(false, "added optional request body".into()),
            (Some(_), None) => self.push(true, "removed request body".into()),
            (Some(a), Some(b)) => {
                match (required(a), required(b)) {
                    (false, true) => self.push(true, "request body is now required".into()),
                    (true, false) => self.push(false, "request body is now optional".into()),
                    _ => {}
                }
                self.content("request body", a, b, Direction::Request);
            }
        }
    }

    fn responses(&mut self, a: Option<&'a Value>, b: Option<&'a Value>) {
        let (a, b) = (members(a), members(b));
        for (status, old) in a {
            let Some(new) = b.get(status) else {
                self.push(true, format!("removed status {status}"));
                continue;
            };
            let (Some(old), Some(new)) = (deref(self.old, old), deref(self.new, new)) else {
                continue;
            };
            let label = format!("response {status}");
            self.headers(&label, old, new);
            self.content(&label, old, new, Direction::Response);
        }
        for status in b.keys() {
            if !a.contains_key(status) {
                self.push(false, format!("added status {status}"));
            }
        }
    }

    fn headers(&mut self, label: &str, a: &'a Value, b: &'a Value) {
        let old = members(a.get("headers"));
        let new = members(b.get("headers"));
        let find = |map: &'a Map<String, Value>, name: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        for (name, h) in old {
            match find(new, name) {
                None => self.push(true, format!("{label}: removed header `{name}`")),
                Some(g) => {
                    let (Some(h), Some(g)) = (deref(self.old, h), deref(self.new, g)) else {
                        continue;
                    };
                    let required =
                        |v: &Value| v.get("required").and_then(Value::as_bool).unwrap_or(false);
                    match (required(h), required(g)) {
                        (true, false) => {
                            self.push(true, format!("{label}: header `{name}` may now be absent"))
                        }
                        (false, true) => self.push(
                            false,
                            format!("{label}: header `{name}` is now always sent"),
                        ),
                        _ => {}
                    }
                    let prefix = format!("{label}: header `{name}`: ");
                    self.schema_at(
                        &prefix,
                        h.get("schema"),
                        g.get("schema"),
                        Direction::Response,
                    );
                }
            }
        }
        for name in new.keys() {
            if find(old, name).is_none() {
                self.push(false, format!("{label}: added header `{name}`"));
            }
        }
    }

    /// Compares the `content` maps (media type -> schema) of a request body or a response.
    fn content(&mut self, label: &str, a: &'a Value, b: &'a Value, dir: Direction) {
        let old = members(a.get("content"));
        let new = members(b.get("content"));
        for (media_type, m) in old {
            match new.get(media_type) {
                None => self.push(true, format!("{label}: removed media type {media_type}")),
                Some(n) => {
                    let prefix = format!("{label} {media_type}: ");
                    self.schema_at(&prefix, m.get("schema"), n.get("schema"), dir);
                }
            }
        }
        for media_type in new.keys() {
            if !old.contains_key(media_type) {
                self.push(false, format!("{label}: added media type {media_type}"));
            }
        }
    }

    /// Compares two optional schemas; every line gets `prefix`.
    fn schema_at(
        &mut self,
        prefix: &str,
        a: Option<&'a Value>,
        b: Option<&'a Value>,
        dir: Direction,
    ) {
        let start = self.out.len();
        match (a, b) {
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => self.push(true, "schema added or removed".into()),
            (Some(a), Some(b)) => self.schema(a, b, "", dir),
        }
        for (_, detail) in &mut self.out[start..] {
            *detail = format!("{prefix}{detail}");
        }
    }

    fn schema(&mut self, a: &'a Value, b: &'a Value, path: &str, dir: Direction) {
        let refs = (ref_of(a), ref_of(b));
        if let (Some(x), Some(y)) = &refs {
            let pair = (x.to_string(), y.to_string());
            if self.stack.contains(&pair) || self.stack.len() > 64 {
                return;
            }
            self.stack.push(pair);
        }
        // A `$ref` that does not resolve was refused by validation already.
        if let (Some(a), Some(b)) = (deref(self.old, a), deref(self.new, b)) {
            self.resolved(a, b, path, dir);
        }
        if refs.0.is_some() && refs.1.is_some() {
            self.stack.pop();
        }
    }

    fn resolved(&mut self, a: &'a Value, b: &'a Value, path: &str, dir: Direction) {
        let request = dir == Direction::Request;
        let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
            if a != b {
                self.push(true, format!("{}schema changed from {a} to {b}", at(path)));
            }
            return;
        };
        self.types(ao, bo, path, request);
        self.enums(ao, bo, path, request);
        let (fa, fb) = (ao.get("format"), bo.get("format"));
        if fa != fb {
            self.push(true, changed(path, "format", fa, fb));
        }
        self.bounds(ao, bo, path, request);
        self.properties(ao, bo, path, dir);
        if let (Some(x), Some(y)) = (ao.get("items"), bo.get("items")) {
            self.schema(x, y, &join(path, "[]"), dir);
        }
        if let (Some(x @ Value::Object(_)), Some(y @ Value::Object(_))) = (
            ao.get("additionalProperties"),
            bo.get("additionalProperties"),
        ) {
            self.schema(x, y, &join(path, "*"), dir);
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            let x = ao
                .get(keyword)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let y = bo
                .get(keyword)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let open = keyword != "allOf" && y.iter().any(is_any_string);
            let inside = self.open_string || open;
            let outer = std::mem::replace(&mut self.open_string, inside);
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                self.schema(p, q, &join(path, &format!("[{keyword} {i}]")), dir);
            }
            self.open_string = outer;
            if y.len() > x.len() {
                // More alternatives: a response may hold something new; more allOf parts narrow a
                // request.
                let breaking = keyword == "allOf" && request || keyword != "allOf" && !request;
                let n = y.len() - x.len();
                self.push(
                    breaking,
                    format!("{}{n} more {keyword} schema(s)", at(path)),
                );
            } else if x.len() > y.len() {
                let breaking = keyword != "allOf" && request || keyword == "allOf" && !request;
                let n = x.len() - y.len();
                self.push(
                    breaking,
                    format!("{}{n} fewer {keyword} schema(s)", at(path)),
                );
            }
        }
    }

    fn types(&mut self, a: &Map<String, Value>, b: &Map<String, Value>, path: &str, request: bool) {
        let (x, y) = (type_set(a), type_set(b));
        if x == y {
            return;
        }
        let describe = |set: &BTreeSet<String>| {
            if set.is_empty() {
                "any".to_owned()
            } else {
                set.iter().cloned().collect::<Vec<_>>().join(" | ")
            }
        };
        // An empty set allows every type.
        let removed =
            !x.is_empty() && (y.is_empty() || !x.is_subset(&y)) || x.is_empty() && !y.is_empty();
        let added =
            !y.is_empty() && (x.is_empty() || !y.is_subset(&x)) || y.is_empty() && !x.is_empty();
        let breaking = if request { removed } else { added };
        self.push(
            breaking,
            format!(
                "{}type changed from {} to {}",
                at(path),
                describe(&x),
                describe(&y)
            ),
        );
    }

    fn enums(&mut self, a: &Map<String, Value>, b: &Map<String, Value>, path: &str, request: bool) {
        match (enum_of(a), enum_of(b)) {
            (Some(x), Some(y)) => {
                let removed: Vec<&Value> = x.iter().copied().filter(|v| !y.contains(v)).collect();
                let added: Vec<&Value> = y.iter().copied().filter(|v| !x.contains(v)).collect();
                if !removed.is_empty() {
                    let detail = format!("{}narrowed enum: removed {}", at(path), list(&removed));
                    self.push(request, detail);
                }
                if !added.is_empty() {
                    let detail = format!("{}widened enum: added {}", at(path), list(&added));
                    self.push(!request && !self.open_string, detail);
                }
            }
            (None, Some(y)) => {
                let detail = format!("{}now restricted to enum {}", at(path), list(&y));
                self.push(request, detail);
            }
            (Some(_), None) => {
                self.push(
                    !request,
                    format!("{}no longer restricted to an enum", at(path)),
                );
            }
            (None, None) => {}
        }
    }

    fn bounds(
        &mut self,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        path: &str,
        request: bool,
    ) {
        const LOWER: &[&str] = &[
            "minimum",
            "exclusiveMinimum",
            "minLength",
            "minItems",
            "minProperties",
        ];
        const UPPER: &[&str] = &[
            "maximum",
            "exclusiveMaximum",
            "maxLength",
            "maxItems",
            "maxProperties",
        ];
        for (keywords, lower) in [(LOWER, true), (UPPER, false)] {
            for keyword in keywords {
                let (x, y) = (a.get(*keyword), b.get(*keyword));
                if x == y {
                    continue;
                }
                let (xf, yf) = (x.and_then(Value::as_f64), y.and_then(Value::as_f64));
                // Tighter: a bound appears, or moves inwards.
                let tighter = match (xf, yf) {
                    (None, Some(_)) => true,
                    (Some(_), None) => false,
                    (Some(p), Some(q)) => (lower && q > p) || (!lower && q < p),
                    (None, None) => true,
                };
                let breaking = if request { tighter } else { !tighter };
                self.push(breaking, changed(path, keyword, x, y));
            }
        }
        let (x, y) = (a.get("pattern"), b.get("pattern"));
        if x != y {
            self.push(true, changed(path, "pattern", x, y));
        }
    }

    fn properties(
        &mut self,
        a: &'a Map<String, Value>,
        b: &'a Map<String, Value>,
        path: &str,
        dir: Direction,
    ) {
        let old = members(a.get("properties"));
        let new = members(b.get("properties"));
        let (req_a, req_b) = (required_of(a), required_of(b));
        let request = dir == Direction::Request;
        for (name, p) in old {
            let field = join(path, name);
            match new.get(name) {
                None => self.push(true, format!("removed field `{field}`")),
                Some(q) => {
                    match (req_a.contains(name.as_str()), req_b.contains(name.as_str())) {
                        (false, true) if request => {
                            self.push(true, format!("field `{field}` is now required"))
                        }
                        (false, true) => {
                            self.push(false, format!("field `{field}` is now always present"))
                        }
                        (true, false) if request => {
                            self.push(false, format!("field `{field}` is now optional"))
                        }
                        (true, false) => {
                            self.push(true, format!("field `{field}` may now be absent"))
                        }
                        _ => {}
                    }
                    self.schema(p, q, &field, dir);
                }
            }
        }
        for name in new.keys() {
            if old.contains_key(name) {
                continue;
            }
            let field = join(path, name);
            match (request, req_b.contains(name.as_str())) {
                (true, true) => self.push(true, format!("new required field `{field}`")),
                (true, false) => self.push(false, format!("added optional field `{field}`")),
                (false, _) => self.push(false, format!("added field `{field}`")),
            }
        }
    }
}

fn ref_of(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str)
}

/// The JSON types a schema allows (`type` as a string or a list, plus `null` for 3.0's
/// `nullable`); empty when unconstrained.
fn type_set(schema: &Map<String, Value>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) && !set.is_empty() {
        set.insert("null".into());
    }
    set
}

/// `enum`, or `const` as a one-value enum.
/// `{"type": "string"}` with nothing that constrains it (descriptions allowed).
fn is_any_string(schema: &Value) -> bool {
    schema.as_object().is_some_and(|m| {
        m.get("type") == Some(&Value::from("string"))
            && m.keys()
                .all(|k| matches!(k.as_str(), "type" | "description" | "title"))
    })
}

fn enum_of(schema: &Map<String, Value>) -> Option<Vec<&Value>> {
    if let Some(Value::Array(values)) = schema.get("enum") {
        Some(values.iter().collect())
    } else {
        schema.get("const").map(|c| vec![c])
    }
}

fn required_of(schema: &Map<String, Value>) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vendored() -> Value {
        serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap()
    }

    fn lines(old: &Value, new: &Value) -> Vec<String> {
        diff(old, new).iter().map(ToString::to_string).collect()
    }

    /// The changes from the vendored spec to a copy of it that `edit` changed.
    fn after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
        let old = vendored();
        let mut new = old.clone();
        edit(&mut new);
        lines(&old, &new)
    }

    /// Asserts that every line of `expected` is among `found`.
    fn assert_among(found: &[String], expected: &[&str]) {
        for e in expected {
            assert!(found.iter().any(|f| f == e), "{e}\n{found:#?}");
        }
    }

    #[test]
    fn identical_documents_have_no_changes() {
        let doc = vendored();
        assert_eq!(lines(&doc, &doc), Vec::<String>::new());
    }

    #[test]
    fn added_and_removed_operations() {
        let found = after(|new| {
            let paths = new["paths"].as_object_mut().unwrap();
            paths.remove("/logs");
            paths.insert(
                "/status".into(),
                json!({"get": {"operationId": "getStatus", "responses": {"200": {"description": "ok"}}}}),
            );
        });
        assert_eq!(
            found,
            [
                "BREAKING GET /logs (listLogs): removed operation",
                "GET /status (getStatus): added operation",
            ]
        );
    }

    #[test]
    fn a_removed_response_field_is_breaking_in_every_operation_that_returns_it() {
        let found = after(|new| {
            let account = new["components"]["schemas"]["Account"]
                .as_object_mut()
                .unwrap();
            account.insert(
                "required".into(),
                json!(["username", "balance", "currency"]),
            );
            account["properties"]
                .as_object_mut()
                .unwrap()
                .remove("email");
        });
        assert_eq!(
            found,
            [
                "BREAKING GET /account (getAccount): response 200 application/json: removed field `data.email`"
            ]
        );
    }

    #[test]
    fn an_enum_narrowed_is_breaking_in_requests_only() {
        let found = after(|new| {
            new["components"]["schemas"]["ServiceType"]["enum"] = json!(["ipv4_rotating"]);
            let codes = new["components"]["schemas"]["ErrorCode"]["enum"]
                .as_array_mut()
                .unwrap();
            codes.retain(|c| c != "country_unavailable");
        });
        assert_among(
            &found,
            &[
                "BREAKING POST /purchase (purchase): request body application/json: `type`: narrowed enum: removed `ipv6_rotating`",
                "BREAKING GET /services (listServices): query parameter `type`: narrowed enum: removed `ipv6_rotating`",
                "GET /account (getAccount): response 401 application/json: `error.code[anyOf 0]`: narrowed enum: removed `country_unavailable`",
            ],
        );
    }

    #[test]
    fn an_enum_widened_is_breaking_in_responses_only() {
        let found = after(|new| {
            new["components"]["schemas"]["ServiceType"]["enum"] =
                json!(["ipv4_rotating", "ipv6_rotating", "mobile"]);
            new["components"]["schemas"]["ErrorCode"]["enum"]
                .as_array_mut()
                .unwrap()
                .push(json!("gone"));
        });
        assert_among(
            &found,
            &[
                "POST /purchase (purchase): request body application/json: `type`: widened enum: added `mobile`",
                // The code is open (`ErrorCode | string`): a new one breaks no client.
                "GET /account (getAccount): response 401 application/json: `error.code[anyOf 0]`: widened enum: added `gone`",
                "BREAKING GET /catalog/plans (listPlans): response 200 application/json: `data.plans[].type`: widened enum: added `mobile`",
            ],
        );
    }

    #[test]
    fn parameters_added_required_or_optional() {
        let found = after(|new| {
            let params = new["paths"]["/services"]["get"]["parameters"]
                .as_array_mut()
                .unwrap();
            params.push(
                json!({"in": "query", "name": "tag", "required": true, "schema": {"type": "string"}}),
            );
            params.push(json!({"in": "header", "name": "X-Trace", "schema": {"type": "string"}}));
        });
        assert_eq!(
            found,
            [
                "BREAKING GET /services (listServices): new required query parameter `tag`",
                "GET /services (listServices): added optional header parameter `X-Trace`",
            ]
        );
    }

    #[test]
    fn status_codes_headers_and_required_fields() {
        let found = after(|new| {
            let op = &mut new["paths"]["/account"]["get"];
            let responses = op["responses"].as_object_mut().unwrap();
            responses.remove("500");
            responses.insert("503".into(), json!({"description": "maintenance"}));
            responses["200"]["headers"]
                .as_object_mut()
                .unwrap()
                .remove("X-RateLimit-Reset");
            responses["200"]["headers"]["X-RateLimit-Limit"] =
                json!({"required": false, "schema": {"type": "integer", "minimum": 0}});
            let purchase = &mut new["components"]["schemas"]["PurchaseRequest"];
            purchase["required"] = json!(["type", "plan_id", "country"]);
            purchase["properties"]["note"] = json!({"type": "string"});
        });
        assert_eq!(
            found,
            [
                "BREAKING GET /account (getAccount): response 200: header `X-RateLimit-Limit` may now be absent",
                "BREAKING GET /account (getAccount): response 200: removed header `X-RateLimit-Reset`",
                "BREAKING GET /account (getAccount): removed status 500",
                "GET /account (getAccount): added status 503",
                "BREAKING POST /purchase (purchase): request body application/json: field `country` is now required",
                "POST /purchase (purchase): request body application/json: added optional field `note`",
            ]
        );
    }

    #[test]
    fn types_bounds_and_nullability_follow_the_direction() {
        // Response: balance may now be null (breaking); request: limit max lowered (breaking).
        let found = after(|new| {
            new["components"]["schemas"]["Account"]["properties"]["balance"]["type"] =
                json!(["integer", "null"]);
            new["paths"]["/services"]["get"]["parameters"][2]["schema"]["maximum"] = json!(50);
        });
        assert_eq!(
            found,
            [
                "BREAKING GET /account (getAccount): response 200 application/json: `data.balance`: type changed from integer to integer | null",
                "BREAKING GET /services (listServices): query parameter `limit`: maximum changed from 100 to 50",
            ]
        );
    }

    #[test]
    fn info_version_is_reported_unmarked() {
        let found = after(|new| new["info"]["version"] = json!("9.9.9"));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("info.version: ") && found[0].ends_with(" -> 9.9.9"),
            "{found:?}"
        );
    }

    #[test]
    fn recursive_schemas_terminate() {
        let doc = |extra: &str| {
            json!({
                "openapi": "3.1.0",
                "paths": {"/t": {"get": {"operationId": "t", "responses": {"200": {"description": "",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
                "components": {"schemas": {"Node": {"type": "object", "properties": {
                    "next": {"$ref": "#/components/schemas/Node"},
                    extra: {"type": "string"}}}}}
            })
        };
        assert_eq!(
            lines(&doc("a"), &doc("b")),
            [
                "BREAKING GET /t (t): response 200 application/json: removed field `a`",
                "GET /t (t): response 200 application/json: added field `b`",
            ]
        );
    }
}
