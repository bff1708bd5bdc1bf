//! The vendored OpenAPI 3.1 document: well-formed, self-consistent, and faithful to the docs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

fn doc() -> Value {
    serde_json::from_str(opx::spec::OPENAPI_JSON).expect("spec/openapi.json is JSON")
}

/// Every operation as (path, method, operation object).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

/// Follows `$ref`s (JSON pointers into this document) until a non-reference value.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        value = doc
            .pointer(reference.strip_prefix('#').expect("local reference"))
            .unwrap_or_else(|| panic!("{reference} does not resolve"));
    }
    value
}

/// A validator for `schema` (which may `$ref` anything in the document), JSON Schema 2020-12,
/// formats asserted.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = doc.clone();
    let root_map = root.as_object_mut().unwrap();
    if let Some(reference) = schema.get("$ref") {
        root_map.insert("$ref".into(), reference.clone());
    } else {
        root_map.insert("allOf".into(), json!([schema]));
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"))
}

#[test]
fn parses_as_openapi_3_1() {
    let spec = oas3::from_json(opx::spec::OPENAPI_JSON).expect("parses as an OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1."), "{}", spec.openapi);
    assert_eq!(spec.servers[0].url, "https://op-proxy.com/api/v1");
    assert_eq!(opx::spec::DEFAULT_BASE_URL, spec.servers[0].url);
}

#[test]
fn passes_the_shared_openapi_3_1_checks() {
    // The checks `cargo xtask regen` applies to a new upstream document: every `$ref` resolves,
    // operationIds are unique, every schema compiles as JSON Schema 2020-12, every example
    // validates against its schema, every documented error code is listed.
    if let Err(invalid) = opx_codegen::validate::validate(&doc()) {
        panic!("{:#?}", invalid.problems);
    }
}

#[test]
fn the_docs_examples_are_attached_to_their_operations() {
    let doc = doc();
    let mut attached = BTreeSet::new();
    for (_, _, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_owned();
        let mut media = Vec::new();
        if let Some(body) = op.get("requestBody") {
            media.extend(
                resolve(&doc, body)["content"]
                    .as_object()
                    .unwrap()
                    .values()
                    .cloned(),
            );
        }
        if let Some(content) = resolve(&doc, &op["responses"]["200"]).get("content") {
            media.extend(content.as_object().unwrap().values().cloned());
        }
        for m in media {
            if m.get("examples")
                .and_then(Value::as_object)
                .is_some_and(|e| !e.is_empty())
            {
                attached.insert(id.clone());
            }
        }
    }
    let expected = [
        "getAccount",
        "listPlans",
        "purchase",
        "getProxies",
        "replaceWhitelist",
        "changeCountry",
        "changeRotation",
    ];
    assert_eq!(attached, expected.iter().map(|s| (*s).to_owned()).collect());
}

#[test]
fn schema_validation_rejects_what_the_docs_forbid() {
    // Guards the examples test against a validator that accepts everything.
    let doc = doc();
    let whitelist = validator(
        &doc,
        &json!({"$ref": "#/components/schemas/WhitelistRequest"}),
    );
    assert!(whitelist.is_valid(&json!({"whitelisted_ips": ["203.0.113.10"]})));
    assert!(
        !whitelist.is_valid(&json!({"whitelisted_ips": ["203.0.113.256"]})),
        "IPv4 format is asserted"
    );
    assert!(!whitelist.is_valid(&json!({"whitelisted_ips": ["2001:db8::1"]})));
    let fifty_one: Vec<String> = (0..51).map(|i| format!("10.0.0.{i}")).collect();
    assert!(!whitelist.is_valid(&json!({ "whitelisted_ips": fifty_one })));
    assert!(
        !whitelist.is_valid(&json!({"whitelisted_ips": [], "extra": 1})),
        "request bodies are closed"
    );
    let purchase = validator(
        &doc,
        &json!({"$ref": "#/components/schemas/PurchaseRequest"}),
    );
    assert!(
        !purchase.is_valid(&json!({"type": "ipv4_static", "plan_id": "65a9f0c1b2c3d4e5f6a7b8c9"}))
    );
    assert!(
        !purchase
            .is_valid(&json!({"type": "ipv4_rotating", "plan_id": "65a9f0c1b2c3d4e5f6a7b8cZ"}))
    );
    assert!(!purchase.is_valid(
        &json!({"type": "ipv4_rotating", "plan_id": "65a9f0c1b2c3d4e5f6a7b8c9", "country": "x"})
    ));
    let account = validator(
        &doc,
        &json!({"$ref": "#/components/schemas/AccountResponse"}),
    );
    assert!(
        account.is_valid(&json!({"status": "ok", "data": {"username": "a", "email": "a@example.com", "balance": 1, "currency": "RUB", "new_field": true}})),
        "response objects are open"
    );
    assert!(!account.is_valid(&json!({"status": "ok", "data": {"username": "a", "email": "a@example.com", "balance": 1.5, "currency": "RUB"}})), "balance is an integer");
}

#[test]
fn operation_ids_are_unique_camel_case_and_cover_the_twelve_endpoints() {
    let doc = doc();
    let ops: BTreeMap<String, String> = operations(&doc)
        .into_iter()
        .map(|(path, method, op)| {
            (
                op["operationId"].as_str().unwrap().to_owned(),
                format!("{} {path}", method.to_uppercase()),
            )
        })
        .collect();
    assert_eq!(ops.len(), operations(&doc).len(), "operationIds are unique");
    let expected = BTreeMap::from([
        ("getAccount", "GET /account"),
        ("listPlans", "GET /catalog/plans"),
        ("purchase", "POST /purchase"),
        ("listServices", "GET /services"),
        ("getService", "GET /services/{id}"),
        ("getProxies", "GET /services/{id}/proxies"),
        ("extendService", "POST /services/{id}/extend"),
        ("replaceWhitelist", "PUT /services/{id}/whitelist"),
        ("regenerateCredentials", "POST /services/{id}/credentials"),
        ("changeCountry", "PUT /services/{id}/country"),
        ("changeRotation", "PUT /services/{id}/rotation"),
        ("listLogs", "GET /logs"),
    ]);
    let actual: BTreeMap<&str, &str> = ops.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(actual, expected);
    for id in ops.keys() {
        assert!(
            id.chars().next().unwrap().is_ascii_lowercase()
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id}"
        );
    }
}

/// The docs' error-code table, transcribed: the oracle the spec is checked against (the crate
/// itself reads the codes from the spec only).
const DOCS_ERROR_TABLE: [(&str, u16); 16] = [
    ("invalid_token", 401),
    ("invalid_request", 400),
    ("invalid_id", 400),
    ("invalid_plan_id", 400),
    ("invalid_type", 400),
    ("invalid_country", 400),
    ("invalid_rotation", 400),
    ("invalid_ip", 400),
    ("too_many_ips", 400),
    ("insufficient_balance", 402),
    ("not_found", 404),
    ("method_not_allowed", 405),
    ("rate_limited", 429),
    ("server_error", 500),
    ("unsupported_for_type", 400),
    ("country_unavailable", 400),
];

#[test]
fn the_error_codes_are_the_docs_table_and_open_to_new_ones() {
    let doc = doc();
    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let codes = Vec::<&str>::deserialize(&schema["enum"]).unwrap();
    let statuses = Vec::<u64>::deserialize(&schema["x-enum-http-status"]).unwrap();
    let table: Vec<(&str, u64)> = codes.iter().copied().zip(statuses).collect();
    let docs: Vec<(&str, u64)> = DOCS_ERROR_TABLE
        .iter()
        .map(|(c, s)| (*c, u64::from(*s)))
        .collect();
    assert_eq!(table, docs);
    // The generated enum is the spec's, statuses included.
    let generated: Vec<(String, Option<u16>)> = opx::types::ErrorCode::KNOWN
        .iter()
        .map(|c| (c.to_string(), c.http_status()))
        .collect();
    let expected: Vec<(String, Option<u16>)> = DOCS_ERROR_TABLE
        .iter()
        .map(|(c, s)| (c.to_string(), Some(*s)))
        .collect();
    assert_eq!(generated, expected);
    let envelope = &doc["components"]["schemas"]["ErrorEnvelope"];
    assert_eq!(envelope["properties"]["status"]["const"], "error");
    assert_eq!(
        envelope["properties"]["error"]["$ref"],
        "#/components/schemas/ErrorDetail"
    );
    // A code added later is still a valid envelope: generators keep it as a string.
    let code = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"];
    assert_eq!(code["anyOf"][0]["$ref"], "#/components/schemas/ErrorCode");
    assert_eq!(code["anyOf"][1]["type"], "string");
}

#[test]
fn every_operation_requires_bearer_auth_and_declares_its_error_statuses() {
    let doc = doc();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    for (path, method, op) in operations(&doc) {
        let name = format!("{method} {path}");
        assert_eq!(op["security"], json!([{"bearerAuth": []}]), "{name}");
        let statuses: BTreeSet<&str> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let takes_input = op.get("parameters").is_some() || op.get("requestBody").is_some();
        let mut expected = BTreeSet::from(["200", "401", "429", "500"]);
        if takes_input {
            expected.insert("400");
        }
        if path.contains("{id}") {
            expected.insert("404");
        }
        if ["purchase", "extendService"].contains(&op["operationId"].as_str().unwrap()) {
            expected.insert("402");
        }
        assert_eq!(statuses, expected, "{name}");
        // One error schema for every error status (progenitor needs that).
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = resolve(&doc, response);
            if status != "200" {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{name} {status}"
                );
            }
            let headers = response["headers"].as_object().unwrap();
            for header in [
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ] {
                let h = resolve(&doc, &headers[header]);
                assert_eq!(h["schema"]["type"], "integer", "{name} {status} {header}");
                assert_eq!(
                    h["required"],
                    json!(status != "401"),
                    "{name} {status} {header}"
                );
            }
            assert_eq!(
                headers.contains_key("Retry-After"),
                status == "429",
                "{name} {status}"
            );
        }
    }
}

#[test]
fn non_idempotent_operations_warn_against_blind_retries() {
    let doc = doc();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let description = op["description"].as_str().unwrap();
        let warned =
            description.contains("do NOT blindly retry") && description.contains("GET /services");
        assert_eq!(
            warned,
            ["purchase", "extendService"].contains(&id),
            "{method} {path}"
        );
        assert_eq!(
            op.get("x-idempotent") == Some(&json!(false)),
            method == "post",
            "{method} {path}"
        );
    }
}

#[test]
fn parameters_carry_the_documented_bounds_and_formats() {
    let doc = doc();
    // A schema with its `$ref` followed and the keywords beside the `$ref` kept (3.1).
    let merged = |v: &Value| -> Value {
        let mut out = resolve(&doc, v).clone();
        if let (Some(o), Some(siblings)) = (out.as_object_mut(), v.as_object()) {
            for (k, x) in siblings.iter().filter(|(k, _)| *k != "$ref") {
                o.insert(k.clone(), x.clone());
            }
        }
        out
    };
    let param = |path: &str, method: &str, name: &str| -> Value {
        let op = &doc["paths"][path][method];
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p).clone())
            .find(|p| p["name"] == name)
            .map(|mut p| {
                p["schema"] = merged(&p["schema"]);
                p
            })
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    };
    let services_limit = param("/services", "get", "limit");
    assert_eq!(
        services_limit["schema"],
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 50})
    );
    let logs_limit = param("/logs", "get", "limit");
    assert_eq!(logs_limit["schema"]["maximum"], 200);
    assert_eq!(logs_limit["schema"]["default"], 50);
    for bound in ["since", "until"] {
        assert_eq!(
            param("/logs", "get", bound)["schema"]["format"],
            "date-time"
        );
    }
    assert_eq!(
        param("/services", "get", "status")["schema"]["default"],
        "active"
    );
    let id = param("/services/{id}", "get", "id");
    assert_eq!(id["schema"]["pattern"], "^[0-9a-fA-F]{24}$");
    let proxies = "/services/{id}/proxies";
    let format = param(proxies, "get", "format");
    assert_eq!(format["schema"]["enum"], json!(["txt", "json"]));
    assert_eq!(format["schema"]["default"], "txt");
    assert_eq!(
        param(proxies, "get", "layout")["schema"]["default"],
        "host_port_user_pass"
    );
    assert_eq!(
        param(proxies, "get", "auth")["schema"],
        json!({"type": "boolean", "default": true})
    );
    assert_eq!(
        param(proxies, "get", "country")["schema"]["enum"],
        json!(["nl", "de", "at"])
    );
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("CountryRequest", "country"),
        ("RotationRequest", "rotation"),
        ("PurchaseRequest", "country"),
    ] {
        assert_eq!(
            merged(&schemas[schema]["properties"][field])["pattern"],
            "^[A-Za-z0-9]{2,32}$",
            "{schema}.{field}"
        );
    }
    let ips = &schemas["WhitelistRequest"]["properties"]["whitelisted_ips"];
    assert_eq!(ips["maxItems"], 50);
    assert_eq!(ips["items"]["format"], "ipv4");
    assert!(
        schemas["WhitelistRequest"]["properties"]
            .get("labels")
            .is_some()
    );
}

#[test]
fn request_bodies_are_closed_and_response_objects_open() {
    let doc = doc();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if schema["type"] != "object" {
            continue;
        }
        let closed = schema.get("additionalProperties") == Some(&json!(false));
        assert_eq!(closed, name.ends_with("Request"), "{name}");
    }
}

#[test]
fn money_is_integer_roubles() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Account"]["properties"]["balance"]["type"],
        "integer"
    );
    assert_eq!(schemas["Plan"]["properties"]["price"]["type"], "integer");
}

#[test]
fn the_proxy_download_offers_text_and_json() {
    let doc = doc();
    let ok = &doc["paths"]["/services/{id}/proxies"]["get"]["responses"]["200"]["content"];
    assert_eq!(ok["text/plain"]["schema"]["type"], "string");
    assert_eq!(
        ok["application/json"]["schema"]["$ref"],
        "#/components/schemas/ProxyListResponse"
    );
}

/// Every field of every schema a response can carry says whether the docs show it or this spec
/// infers it (`x-source`), the classification spec/README.md tabulates and the facade's
/// tolerance follows (see tests/facade/drift.rs).
#[test]
fn every_response_field_is_classified_as_documented_or_inferred() {
    let doc = doc();
    let reachable = opx_codegen::items::schemas_in_responses(&doc);
    let mut checked = 0;
    for name in &reachable {
        let schema = &doc["components"]["schemas"][name.as_str()];
        for (field, v) in schema["properties"].as_object().into_iter().flatten() {
            let source = v["x-source"].as_str();
            assert!(
                matches!(source, Some("docs" | "inferred")),
                "{name}.{field}: x-source {source:?}"
            );
            checked += 1;
        }
    }
    assert!(reachable.contains("Service") && reachable.contains("LogEntry"));
    assert!(checked > 40, "{checked} fields");
    let service = &doc["components"]["schemas"]["Service"]["properties"];
    assert_eq!(service["plan_id"]["x-source"], "inferred");
    assert_eq!(service["expires_at"]["x-source"], "docs");
}
