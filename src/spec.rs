//! The vendored OpenAPI 3.1 document, as upstream publishes it at `/api/v1/openapi.json`.

/// The text of `spec/openapi.json`, the document the generated client, the facade and the mock
/// are all built from.
pub const OPENAPI_JSON: &str = include_str!("../spec/openapi.json");

/// The production base URL (the spec's `servers[0].url`).
pub const DEFAULT_BASE_URL: &str = "https://op-proxy.com/api/v1";
