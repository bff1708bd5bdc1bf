//! The facts of the spec that the facade, the mock and the CLI share, as Rust source: the
//! [`Operation`](#operations) table, the rate-limit `Bucket`s and every string enum.
//!
//! - **Operations**: one variant per operationId, with its method, path template, summary,
//!   whether it may be retried (GET, PUT, DELETE are idempotent by method; a POST only with
//!   `x-idempotent: true`, and `x-idempotent: false` overrides any method), its documented
//!   success and error statuses, its rate-limit buckets and, for list operations, the largest
//!   page size (`maximum` of its `limit` query parameter).
//! - **Buckets**: the document's top-level `x-rate-limits` (name, limit, window, the operations a
//!   bucket is limited to; a bucket with no `operations` applies to every one).
//! - **`MAX_WHITELIST`**: the `maxItems` of the whitelist request.
//! - **Enums**: every `components.schemas` entry that is a string `enum`. An enum that a response
//!   can carry is *open* (an `Unknown(String)` variant keeps values the server adds later); one
//!   only requests use is *closed* (`Copy`, and parsing anything else is refused). Variant docs
//!   come from `x-enum-descriptions`, HTTP statuses from `x-enum-http-status`, and the error code
//!   a refused value gets from `x-error-code`.
//!
//! The code is a leaf: it refers only to what it defines and to `InvalidValue` (a refused value:
//! its error code, message and operation), which the including module defines; it is meant to
//! be `include!`d by the `opx` crate's `operation` module.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::refs::{collect_refs, schema_name};

/// Why the items could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsError(pub String);

impl std::fmt::Display for ItemsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ItemsError {}

/// Where the spec states the whitelist's size limit.
pub const MAX_WHITELIST_POINTER: &str =
    "/components/schemas/WhitelistRequest/properties/whitelisted_ips/maxItems";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationFacts {
    /// The operationId, e.g. `getService`.
    pub id: String,
    /// Lower-case method, e.g. `get`.
    pub method: String,
    /// The path template, e.g. `/services/{id}`.
    pub path: String,
    /// The summary (first line of the docs).
    pub summary: String,
    /// Whether the operation may be sent again.
    pub idempotent: bool,
    /// Documented 2xx statuses.
    pub success: Vec<u16>,
    /// Documented 4xx/5xx statuses.
    pub errors: Vec<u16>,
    /// Largest `limit` of a list operation.
    pub max_page_size: Option<u64>,
}

/// `doc[key]` read with `read`, or an error saying the document has no `what`.
fn required<'a, T: ?Sized>(
    doc: &'a Value,
    key: &str,
    read: fn(&'a Value) -> Option<&'a T>,
    what: &str,
) -> Result<&'a T, ItemsError> {
    doc.get(key)
        .and_then(read)
        .ok_or_else(|| ItemsError(format!("the document has no {what}")))
}

/// Reads the operations of a document, in document order.
pub fn operations(doc: &Value) -> Result<Vec<OperationFacts>, ItemsError> {
    let paths = required(doc, "paths", Value::as_object, "paths")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| ItemsError(format!("{method} {path} has no operationId")))?;
            let by_method = matches!(method, "get" | "put" | "delete" | "head" | "options");
            let idempotent = op
                .get("x-idempotent")
                .and_then(Value::as_bool)
                .unwrap_or(by_method);
            let statuses: Vec<u16> = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(code, _)| code.parse().ok())
                .collect();
            let max_page_size = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| crate::refs::deref(doc, p))
                .find(|p| p.get("name") == Some(&Value::from("limit")))
                .and_then(|p| p.pointer("/schema/maximum"))
                .and_then(Value::as_u64);
            out.push(OperationFacts {
                id: id.to_owned(),
                method: method.to_owned(),
                path: path.clone(),
                summary: op
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_owned(),
                idempotent,
                success: statuses.iter().copied().filter(|s| *s < 300).collect(),
                errors: statuses.iter().copied().filter(|s| *s >= 400).collect(),
                max_page_size,
            });
        }
    }
    Ok(out)
}

/// One rate-limit bucket of `x-rate-limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFacts {
    /// snake_case name, e.g. `global_minute`.
    pub name: String,
    /// What it limits, in words.
    pub description: String,
    /// Requests per window.
    pub limit: u64,
    /// The window in seconds.
    pub window_seconds: u64,
    /// The operationIds it is limited to; empty: every operation.
    pub operations: Vec<String>,
}

/// Reads `x-rate-limits`.
pub fn buckets(doc: &Value) -> Result<Vec<BucketFacts>, ItemsError> {
    let list = required(doc, "x-rate-limits", Value::as_array, "x-rate-limits list")?;
    list.iter()
        .enumerate()
        .map(|(i, b)| {
            let field = |name: &str| {
                b.get(name)
                    .ok_or_else(|| ItemsError(format!("/x-rate-limits/{i} has no {name}")))
            };
            Ok(BucketFacts {
                name: field("bucket")?.as_str().unwrap_or_default().to_owned(),
                description: b
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                limit: field("limit")?.as_u64().unwrap_or(0),
                window_seconds: field("window_seconds")?.as_u64().unwrap_or(0),
                operations: b
                    .get("operations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// One string enum of `components.schemas`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumFacts {
    /// The schema name, e.g. `ServiceType`.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The wire values, in order, with their descriptions and HTTP statuses.
    pub values: Vec<(String, String, Option<u16>)>,
    /// Whether a response can carry it.
    pub open: bool,
    /// The error code a value outside the enum is refused with.
    pub error_code: Option<String>,
}

/// Reads the string enums of `components.schemas`, in document order.
pub fn enums(doc: &Value) -> Vec<EnumFacts> {
    let in_responses = schemas_in_responses(doc);
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let mut out = Vec::new();
    for (name, s) in schemas.into_iter().flatten() {
        let Some(values) = s.get("enum").and_then(Value::as_array) else {
            continue;
        };
        let strings = |key: &str| -> Vec<Value> {
            s.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (docs, statuses) = (
            strings("x-enum-descriptions"),
            strings("x-enum-http-status"),
        );
        out.push(EnumFacts {
            name: name.clone(),
            description: text(s, "description"),
            values: values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let doc = docs.get(i).and_then(Value::as_str).unwrap_or_default();
                    let status = statuses.get(i).and_then(Value::as_u64);
                    Some((
                        v.as_str()?.to_owned(),
                        doc.to_owned(),
                        status.and_then(|s| u16::try_from(s).ok()),
                    ))
                })
                .collect(),
            open: in_responses.contains(name),
            error_code: s
                .get("x-error-code")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    out
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The component schemas a response can reach, following `$ref`s transitively.
pub fn schemas_in_responses(doc: &Value) -> BTreeSet<String> {
    let mut pending = Vec::new();
    for item in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in METHODS {
            if let Some(responses) = item.1.get(method).and_then(|o| o.get("responses")) {
                collect_refs(doc, responses, &mut pending);
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(reference) = pending.pop() {
        let Some(name) = schema_name(&reference) else {
            continue;
        };
        if seen.insert(name.to_owned())
            && let Some(schema) = doc.pointer(&format!("/components/schemas/{name}"))
        {
            collect_refs(doc, schema, &mut pending);
        }
    }
    seen
}

/// `getService` -> `GetService`, `ipv4_rotating` -> `Ipv4Rotating`, `RUB` -> `Rub`.
pub fn pascal(s: &str) -> String {
    let mut out = String::new();
    for word in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            let rest: String = chars.collect();
            if rest.chars().all(|c| !c.is_ascii_lowercase()) {
                out.push_str(&rest.to_ascii_lowercase());
            } else {
                out.push_str(&rest);
            }
        }
    }
    out
}

/// `getService` -> `get_service`: the name progenitor gives an operation's method.
pub fn snake(id: &str) -> String {
    let mut s = String::new();
    for c in id.chars() {
        if c.is_ascii_uppercase() {
            if !s.is_empty() {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// Doc-comment lines (`///`) for `text`.
fn docs(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| format!("{indent}///{}{l}\n", if l.is_empty() { "" } else { " " }))
        .collect()
}

/// The Rust source of the operation table, the buckets and the enums.
pub fn generate(doc: &Value) -> Result<String, ItemsError> {
    let ops = operations(doc)?;
    let buckets = buckets(doc)?;
    let known: BTreeSet<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    for b in &buckets {
        if let Some(bad) = b.operations.iter().find(|o| !known.contains(o.as_str())) {
            return Err(ItemsError(format!(
                "x-rate-limits bucket {} names an unknown operation {bad}",
                b.name
            )));
        }
    }
    let mut out = String::new();
    let max_whitelist = doc
        .pointer(MAX_WHITELIST_POINTER)
        .and_then(Value::as_u64)
        .ok_or_else(|| ItemsError(format!("{MAX_WHITELIST_POINTER} is missing")))?;
    let _ = writeln!(
        out,
        "/// Most entries a whitelist holds (`too_many_ips` beyond; the spec's `maxItems`).\npub const MAX_WHITELIST: usize = {max_whitelist};"
    );
    operation_enum(&mut out, &ops, &buckets);
    bucket_enum(&mut out, &buckets);
    for e in enums(doc) {
        if e.open {
            open_enum(&mut out, &e);
        } else {
            closed_enum(&mut out, &e);
        }
    }
    Ok(out)
}

/// `match self { Self::A => <a>, ... }` over the operations.
fn op_match(ops: &[OperationFacts], arm: impl Fn(&OperationFacts) -> String) -> String {
    let mut s = String::from("match self {\n");
    for o in ops {
        let _ = writeln!(s, "Self::{} => {},", pascal(&o.id), arm(o));
    }
    s.push('}');
    s
}

/// One accessor's match arm, per operation.
type Arm<'a> = Box<dyn Fn(&OperationFacts) -> String + 'a>;

/// `pub const ALL: [ty; n]`, the variants named by `names` in spec order.
fn all_const<'a>(out: &mut String, ty: &str, what: &str, names: impl Iterator<Item = &'a str>) {
    let all: Vec<String> = names.map(|n| format!("Self::{}", pascal(n))).collect();
    let _ = writeln!(
        out,
        "/// Every {what}, in spec order.\npub const ALL: [{ty}; {}] = [{}];",
        all.len(),
        all.join(", ")
    );
}

fn operation_enum(out: &mut String, ops: &[OperationFacts], buckets: &[BucketFacts]) {
    operation_declaration(out, ops);
    out.push_str("impl Operation {\n");
    all_const(
        out,
        "Operation",
        "operation",
        ops.iter().map(|o| o.id.as_str()),
    );
    for (doc, sig, arm) in &operation_accessors(buckets) {
        let _ = writeln!(out, "{doc}\n{sig} {{\n{}\n}}", op_match(ops, arm));
    }
    operation_lookups(out, ops);
}

/// `pub enum Operation { .. }`, one documented variant per operationId.
fn operation_declaration(out: &mut String, ops: &[OperationFacts]) {
    out.push_str(
        "/// An operation of the OP-Proxy API: one variant per operationId of `spec/openapi.json`.\n\
         ///\n/// Its [`Display`](std::fmt::Display) and [`FromStr`] use the \
         operationId (e.g. `getService`).\n\
         ///\n/// Exhaustive on purpose: the operations are those of the vendored spec, and a `match`\n\
         /// without a catch-all makes the compiler point at every place a new operation needs code\n\
         /// (a new operation is a breaking change of this crate).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n\
         pub enum Operation {\n",
    );
    for o in ops {
        out.push_str(&docs(
            &format!("{} (`{} {}`).", o.summary, o.method.to_uppercase(), o.path),
            "    ",
        ));
        let _ = writeln!(out, "    {},", pascal(&o.id));
    }
    out.push_str("}\n\n");
}

/// The `const fn` accessors of `Operation`: doc, signature and the match arm per operation.
fn operation_accessors(buckets: &[BucketFacts]) -> [(&'static str, &'static str, Arm<'_>); 8] {
    [
        (
            "/// The spec's operationId, e.g. `getService`.",
            "pub const fn id(self) -> &'static str",
            Box::new(|o| lit(&o.id)),
        ),
        (
            "/// The HTTP method.",
            "pub const fn method(self) -> http::Method",
            Box::new(|o| format!("http::Method::{}", o.method.to_uppercase())),
        ),
        (
            "/// The path template relative to the base URL, e.g. `/services/{id}`.",
            "pub const fn path(self) -> &'static str",
            Box::new(|o| lit(&o.path)),
        ),
        (
            "/// The spec's summary.",
            "pub const fn summary(self) -> &'static str",
            Box::new(|o| lit(&o.summary)),
        ),
        (
            "/// Whether the request may be sent again (GET and PUT; never `purchase`, `extendService`\n/// or `regenerateCredentials`, which the spec marks `x-idempotent: false`).",
            "pub const fn is_idempotent(self) -> bool",
            Box::new(|o| o.idempotent.to_string()),
        ),
        (
            "/// The error statuses the spec documents for it.",
            "pub const fn error_statuses(self) -> &'static [u16]",
            Box::new(|o| format!("&{:?}", o.errors)),
        ),
        (
            "/// The largest page size of a list operation (the `maximum` of its `limit`).",
            "pub const fn max_page_size(self) -> Option<u32>",
            Box::new(|o| match o.max_page_size {
                Some(n) => format!("Some({n})"),
                None => "None".into(),
            }),
        ),
        (
            "/// The rate-limit buckets a request of this operation counts against.",
            "pub const fn buckets(self) -> &'static [Bucket]",
            Box::new(|o| {
                let names: Vec<String> = buckets
                    .iter()
                    .filter(|b| b.operations.is_empty() || b.operations.contains(&o.id))
                    .map(|b| format!("Bucket::{}", pascal(&b.name)))
                    .collect();
                format!("&[{}]", names.join(", "))
            }),
        ),
    ]
}

/// `Operation::from_id` and `from_method_name`, closing the `impl` block.
fn operation_lookups(out: &mut String, ops: &[OperationFacts]) {
    let mut from = String::from(
        "/// The operation with this operationId.\npub fn from_id(id: &str) -> Option<Self> {\nSome(match id {\n",
    );
    for o in ops {
        let _ = writeln!(from, "{} => Self::{},", lit(&o.id), pascal(&o.id));
    }
    from.push_str("_ => return None,\n})\n}\n");
    from.push_str(
        "/// The operation of a generated client method (progenitor names them in snake_case).\n#[doc(hidden)]\npub fn from_method_name(name: &str) -> Option<Self> {\nSome(match name {\n",
    );
    for o in ops {
        let _ = writeln!(from, "{} => Self::{},", lit(&snake(&o.id)), pascal(&o.id));
    }
    from.push_str("_ => return None,\n})\n}\n}\n");
    out.push_str(&from);
}

fn bucket_enum(out: &mut String, buckets: &[BucketFacts]) {
    out.push_str(
        "/// A documented rate-limit bucket (per API key; `x-rate-limits` of the spec).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[non_exhaustive]\n\
         pub enum Bucket {\n",
    );
    for b in buckets {
        out.push_str(&docs(&b.description, "    "));
        let _ = writeln!(out, "    {},", pascal(&b.name));
    }
    out.push_str("}\n\nimpl Bucket {\n");
    all_const(
        out,
        "Bucket",
        "bucket",
        buckets.iter().map(|b| b.name.as_str()),
    );
    let arms = |f: &dyn Fn(&BucketFacts) -> String| {
        let mut s = String::from("match self {\n");
        for b in buckets {
            let _ = writeln!(s, "Self::{} => {},", pascal(&b.name), f(b));
        }
        s.push('}');
        s
    };
    let _ = writeln!(
        out,
        "/// Its snake_case name, e.g. `global_minute`.\npub const fn name(self) -> &'static str {{\n{}\n}}",
        arms(&|b| lit(&b.name))
    );
    let _ = writeln!(
        out,
        "/// Requests allowed per window.\npub const fn limit(self) -> u32 {{\n{}\n}}",
        arms(&|b| b.limit.to_string())
    );
    let _ = writeln!(
        out,
        "/// The window length.\npub const fn window(self) -> std::time::Duration {{\nstd::time::Duration::from_secs({})\n}}",
        arms(&|b| b.window_seconds.to_string())
    );
    let _ = writeln!(
        out,
        "/// Whether it limits only some operations (otherwise every request counts).\npub const fn is_per_operation(self) -> bool {{\n{}\n}}",
        arms(&|b| (!b.operations.is_empty()).to_string())
    );
    out.push_str(
        "/// The bucket with this snake_case name.\npub fn from_name(name: &str) -> Option<Self> {\n\
         Self::ALL.into_iter().find(|b| b.name() == name)\n}\n}\n",
    );
}

fn variant_docs(e: &EnumFacts, value: &str, doc: &str, status: Option<u16>) -> String {
    let mut text = String::new();
    if let Some(s) = status {
        let _ = write!(text, "HTTP {s}: ");
    }
    text.push_str(if doc.is_empty() { value } else { doc });
    let _ = write!(text, "\n\nOn the wire: `{value}`.");
    let _ = &e.name;
    docs(&text, "    ")
}

fn common_impls(out: &mut String, e: &EnumFacts) {
    let n = &e.name;
    let _ = writeln!(
        out,
        "impl std::fmt::Display for {n} {{\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\nf.pad(self.as_str())\n}}\n}}\n\
         impl serde::Serialize for {n} {{\nfn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {{\ns.serialize_str(self.as_str())\n}}\n}}"
    );
    let mut arms = String::new();
    for (v, _, _) in &e.values {
        let _ = writeln!(arms, "Self::{} => {},", pascal(v), lit(v));
    }
    if e.open {
        arms.push_str("Self::Unknown(_) => return None,\n");
    }
    let _ = writeln!(
        out,
        "#[cfg(feature = \"cli\")]\nimpl clap::ValueEnum for {n} {{\nfn value_variants<'a>() -> &'a [Self] {{\n&Self::KNOWN\n}}\n\
         fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {{\nSome(clap::builder::PossibleValue::new(match self {{\n{arms}}}))\n}}\n}}"
    );
}

fn known_list(e: &EnumFacts) -> String {
    let names: Vec<String> = e
        .values
        .iter()
        .map(|(v, _, _)| format!("Self::{}", pascal(v)))
        .collect();
    format!(
        "/// Every documented value, in spec order.\npub const KNOWN: [{}; {}] = [{}];",
        e.name,
        e.values.len(),
        names.join(", ")
    )
}

fn status_fn(e: &EnumFacts) -> String {
    if e.values.iter().all(|(_, _, s)| s.is_none()) {
        return String::new();
    }
    let mut s = String::from(
        "/// The HTTP status the docs' error-code table gives it (`None` for an unknown code).\npub fn http_status(&self) -> Option<u16> {\nmatch self {\n",
    );
    for (v, _, st) in &e.values {
        let _ = writeln!(s, "Self::{} => {:?},", pascal(v), st);
    }
    s.push_str("#[allow(unreachable_patterns)]\n_ => None,\n}\n}\n");
    s
}

/// The derives, `pub enum NAME {` and one documented variant per value (`extra` derives
/// before the common ones).
fn variants(out: &mut String, e: &EnumFacts, extra: &str) {
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, {extra}PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[non_exhaustive]\npub enum {} {{",
        e.name
    );
    for (v, d, s) in &e.values {
        out.push_str(&variant_docs(e, v, d, *s));
        let _ = writeln!(out, "    {},", pascal(v));
    }
}

/// The match arms of `parse` (wire value to `variant`, a pattern where `{}` is the variant)
/// and of `as_str` (variant to wire value).
fn wire_arms(e: &EnumFacts, variant: &str) -> (String, String) {
    let (mut parse, mut as_str) = (String::new(), String::new());
    for (v, _, _) in &e.values {
        let value = variant.replace("{}", &pascal(v));
        let _ = writeln!(parse, "{} => {value},", lit(v));
        let _ = writeln!(as_str, "Self::{} => {},", pascal(v), lit(v));
    }
    (parse, as_str)
}

fn open_enum(out: &mut String, e: &EnumFacts) {
    let n = &e.name;
    out.push_str(&docs(
        &format!(
            "{}\n\nOpen: a value this version does not know is kept as [`{n}::Unknown`].",
            e.description
        ),
        "",
    ));
    variants(out, e, "");
    out.push_str(
        "    /// A value this version of the crate does not know, exactly as the server sent it.\n    Unknown(String),\n}\n",
    );
    let (parse, as_str) = wire_arms(e, "Self::{}");
    let _ = writeln!(
        out,
        "impl {n} {{\n{known}\n/// Maps a wire value to its variant; anything else becomes `Unknown`.\npub fn parse(s: &str) -> Self {{\nmatch s {{\n{parse}other => Self::Unknown(other.to_owned()),\n}}\n}}\n\
         /// The wire value.\npub fn as_str(&self) -> &str {{\nmatch self {{\n{as_str}Self::Unknown(s) => s,\n}}\n}}\n\
         /// Whether the value is one the spec documents.\npub fn is_known(&self) -> bool {{\n!matches!(self, Self::Unknown(_))\n}}\n{status}\
         /// The value, if a request of `operation` may carry it: a value the spec does not document\n/// is refused before anything is sent, with `{code_wire}`, naming the operation.\n\
         #[allow(dead_code)]\n pub(crate) fn for_request(&self, operation: Operation) -> std::result::Result<&Self, InvalidValue> {{\nif self.is_known() {{\nreturn Ok(self);\n}}\n\
         Err(InvalidValue::new(ErrorCode::{code}, format!(\"not a valid {n}: {{self:?}} (one of {allowed})\")).with_operation(operation))\n}}\n}}\n\
         impl std::str::FromStr for {n} {{\ntype Err = std::convert::Infallible;\nfn from_str(s: &str) -> std::result::Result<Self, Self::Err> {{\nOk(Self::parse(s))\n}}\n}}\n\
         /// As [`parse`](Self::parse) (infallible, so `TryFrom<&str>` holds too).\nimpl From<&str> for {n} {{\nfn from(s: &str) -> Self {{\nSelf::parse(s)\n}}\n}}\n\
         /// As [`parse`](Self::parse) (infallible, so `TryFrom<String>` holds too).\nimpl From<String> for {n} {{\nfn from(s: String) -> Self {{\nSelf::parse(&s)\n}}\n}}\n\
         impl<'de> serde::Deserialize<'de> for {n} {{\nfn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{\n\
         let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;\nOk(Self::parse(&s))\n}}\n}}",
        known = known_list(e),
        status = status_fn(e),
        code_wire = e.error_code.as_deref().unwrap_or("invalid_request"),
        code = pascal(e.error_code.as_deref().unwrap_or("invalid_request")),
        allowed = e
            .values
            .iter()
            .map(|(v, _, _)| v.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    common_impls(out, e);
}

fn closed_enum(out: &mut String, e: &EnumFacts) {
    let n = &e.name;
    out.push_str(&docs(&e.description, ""));
    variants(out, e, "Copy, ");
    out.push_str("}\n");
    let (parse, as_str) = wire_arms(e, "Some(Self::{})");
    let code = pascal(e.error_code.as_deref().unwrap_or("invalid_request"));
    let allowed: Vec<&str> = e.values.iter().map(|(v, _, _)| v.as_str()).collect();
    let _ = writeln!(
        out,
        "impl {n} {{\n{known}\n/// The variant of a wire value.\npub fn parse(s: &str) -> Option<Self> {{\nmatch s {{\n{parse}_ => None,\n}}\n}}\n\
         /// The wire value.\npub const fn as_str(&self) -> &'static str {{\nmatch self {{\n{as_str}}}\n}}\n}}\n\
         impl std::str::FromStr for {n} {{\ntype Err = InvalidValue;\nfn from_str(s: &str) -> std::result::Result<Self, InvalidValue> {{\n\
         Self::parse(s).ok_or_else(|| InvalidValue::new(ErrorCode::{code}, format!(\"not a valid {n}: {{s:?}} (one of {allowed})\")))\n}}\n}}\n\
         /// As its `FromStr`.\nimpl TryFrom<&str> for {n} {{\ntype Error = InvalidValue;\nfn try_from(s: &str) -> std::result::Result<Self, InvalidValue> {{\ns.parse()\n}}\n}}\n\
         /// As its `FromStr`.\nimpl TryFrom<String> for {n} {{\ntype Error = InvalidValue;\nfn try_from(s: String) -> std::result::Result<Self, InvalidValue> {{\ns.parse()\n}}\n}}\n\
         impl<'de> serde::Deserialize<'de> for {n} {{\nfn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{\n\
         let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;\n\
         Self::parse(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, &{allowed_list:?}))\n}}\n}}",
        known = known_list(e),
        allowed = allowed.join(", "),
        allowed_list = allowed,
    );
    common_impls(out, e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendored() -> Value {
        serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap()
    }

    #[test]
    fn names_become_pascal_case() {
        assert_eq!(pascal("getService"), "GetService");
        assert_eq!(pascal("ipv4_rotating"), "Ipv4Rotating");
        assert_eq!(pascal("RUB"), "Rub");
        assert_eq!(pascal("nl"), "Nl");
        assert_eq!(pascal("global_minute"), "GlobalMinute");
    }

    #[test]
    fn idempotency_follows_the_method_and_x_idempotent() {
        let ops = operations(&vendored()).unwrap();
        let not: Vec<&str> = ops
            .iter()
            .filter(|o| !o.idempotent)
            .map(|o| o.id.as_str())
            .collect();
        // Exactly the POSTs, which the spec marks `x-idempotent: false`.
        let posts: Vec<&str> = ops
            .iter()
            .filter(|o| o.method == "post")
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(not, posts);
        assert_eq!(not.len(), 3);
    }

    #[test]
    fn an_unknown_operation_in_a_bucket_is_refused() {
        let mut doc = vendored();
        doc["x-rate-limits"][2]["operations"] = serde_json::json!(["buyEverything"]);
        let e = generate(&doc).unwrap_err();
        assert!(e.0.contains("buyEverything"), "{e}");
    }

    #[test]
    fn enums_a_response_carries_are_open() {
        let e = enums(&vendored());
        let open: BTreeSet<&str> = e
            .iter()
            .filter(|e| e.open)
            .map(|e| e.name.as_str())
            .collect();
        for name in ["ErrorCode", "ServiceType", "Currency", "GatewayCountry"] {
            assert!(open.contains(name), "{name} should be open: {open:?}");
        }
        for name in ["StatusFilter", "ProxyLayout", "ProxyFormat"] {
            assert!(!open.contains(name), "{name} is request-only");
        }
    }
}
