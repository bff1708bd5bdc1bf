//! Unit tests of `validate.rs`.

use super::*;
use serde_json::json;

#[test]
fn body_errors_map_to_documented_codes() {
    let doc: Value = serde_json::from_str(crate::spec::OPENAPI_JSON).unwrap();
    let compiler = Compiler::new(&doc);
    let body = |name: &str| {
        let rb = json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        compiler.request_body(&rb).unwrap().schema
    };
    let (purchase, whitelist) = (body("PurchaseRequest"), body("WhitelistRequest"));
    let code = |s: &Value, p: &str, k: &str| body_error_code(s, p, k).1;
    assert_eq!(code(&purchase, "", "required"), "invalid_request");
    assert_eq!(code(&purchase, "/type", "enum"), "invalid_type");
    assert_eq!(code(&purchase, "/plan_id", "pattern"), "invalid_plan_id");
    assert_eq!(code(&purchase, "/country", "pattern"), "invalid_country");
    assert_eq!(code(&purchase, "/rotation", "type"), "invalid_rotation");
    assert_eq!(
        code(&whitelist, "/whitelisted_ips", "maxItems"),
        "too_many_ips"
    );
    assert_eq!(
        code(&whitelist, "/whitelisted_ips/3", "format"),
        "invalid_ip"
    );
    assert_eq!(
        code(&whitelist, "/whitelisted_ips", "type"),
        "invalid_request"
    );
    assert_eq!(code(&whitelist, "/labels/0", "type"), "invalid_request");
    // The body itself first, then the docs' table order, then uncoded fields.
    let rank = |p: &str, k: &str| body_error_code(&purchase, p, k).0;
    assert!(rank("", "required") < rank("/plan_id", "pattern"));
    assert!(rank("/plan_id", "pattern") < rank("/type", "enum"));
    assert!(rank("/rotation", "pattern") < body_error_code(&whitelist, "/labels/0", "type").0);
}
