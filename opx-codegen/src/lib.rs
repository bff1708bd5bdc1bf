//! Code generation for `opx`, from the vendored OpenAPI 3.1 document:
//!
//! - [`items`]: the operation table, the rate-limit buckets and every string enum, as Rust source
//!   the facade, the mock and the CLI share (no dependency beyond `serde_json`);
//! - [`generate`] (feature `generate`): the document down-levelled to the 3.0 dialect progenitor
//!   0.15 reads ([`mod@downlevel`]), then progenitor's raw client, in which every schema the facade
//!   owns is *replaced* by the facade's type ([`REPLACED`]): the generated client decodes
//!   straight into them, so there is one type layer, not a generated one plus conversions;
//! - [`refs`]: local `$ref` resolution, shared with the mock and `cargo xtask regen`;
//! - [`validate`] (feature `validate`): the structural checks of a 3.1 document.
//!
//! Everything here is pure: it takes a document and returns code, notes or an error naming the
//! JSON pointer of the problem.

#![deny(missing_docs)]

#[cfg(feature = "generate")]
pub mod downlevel;
pub mod items;
pub mod refs;
#[cfg(feature = "validate")]
pub mod validate;

#[cfg(feature = "generate")]
pub use downlevel::{Downlevel, DownlevelError, downlevel};
pub use refs::escape_token;

/// Why generation failed.
#[derive(Debug)]
pub enum GenerateError {
    /// The input is not JSON.
    Json(serde_json::Error),
    /// The 3.1 document uses something 3.0 cannot express.
    #[cfg(feature = "generate")]
    Downlevel(DownlevelError),
    /// The down-levelled document does not parse as OpenAPI 3.0.
    OpenApi(serde_json::Error),
    /// The shared items (operations, buckets, enums) could not be read.
    Items(items::ItemsError),
    /// progenitor refused the document.
    Progenitor(String),
    /// progenitor produced code that does not parse as Rust.
    Syntax(String),
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "the spec is not valid JSON: {e}"),
            #[cfg(feature = "generate")]
            Self::Downlevel(e) => write!(f, "{e}"),
            Self::OpenApi(e) => write!(f, "the down-levelled spec is not valid OpenAPI 3.0: {e}"),
            Self::Items(e) => write!(f, "{e}"),
            Self::Progenitor(e) => write!(f, "progenitor could not generate a client: {e}"),
            Self::Syntax(e) => write!(f, "generated code is not valid Rust: {e}"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// The generated sources and what the down-levelling had to say about the document.
#[derive(Debug)]
pub struct Generated {
    /// Pretty-printed Rust source of the raw client (`include!`-able).
    pub code: String,
    /// Pretty-printed Rust source of the shared items (see [`items`]).
    pub items: String,
    /// Lossless-but-notable changes the down-levelling made (for build notes).
    pub notes: Vec<String>,
}

/// The Rust path of the per-call context type the generated client carries as its `inner` value.
pub const INNER_TYPE: &str = "crate::transport::CallContext";

/// The component schemas the generated client takes from the facade instead of generating
/// them: (schema name, Rust path). The schemas not listed (the success envelopes, the bodies of
/// `PUT /country` and `/rotation`) are generated around them.
pub const REPLACED: &[(&str, &str)] = &[
    ("Account", "crate::types::Account"),
    ("Plan", "crate::types::Plan"),
    ("PlanList", "crate::types::PlanList"),
    ("Service", "crate::types::Service"),
    ("ServicePage", "crate::types::ServicePage"),
    ("WhitelistEntry", "crate::types::WhitelistEntry"),
    ("ProxyAuth", "crate::types::Credentials"),
    ("ProxyList", "crate::types::ProxyList"),
    ("ProxyServer", "crate::types::ProxyServer"),
    ("LogPage", "crate::types::LogPage"),
    ("LogEntry", "crate::types::LogEntry"),
    ("ErrorEnvelope", "crate::error::AnyBody"),
    ("ErrorDetail", "crate::error::AnyBody"),
    ("PurchaseRequest", "crate::types::PurchaseRequest"),
    ("WhitelistRequest", "crate::types::Whitelist"),
    ("ServiceId", "crate::types::ServiceId"),
    ("PlanId", "crate::types::PlanId"),
    ("Country", "crate::types::Country"),
    ("Rotation", "crate::types::Rotation"),
    ("Cursor", "::std::string::String"),
];

/// Parses Rust source and pretty-prints it.
#[cfg(feature = "generate")]
fn pretty(tokens: proc_macro2::TokenStream) -> Result<String, GenerateError> {
    let file =
        syn::parse2::<syn::File>(tokens).map_err(|e| GenerateError::Syntax(e.to_string()))?;
    Ok(prettyplease::unparse(&file))
}

/// Generates the raw progenitor client and the shared items from the text of an OpenAPI 3.1
/// document.
///
/// `inner_type` is the Rust path of the client's inner value (see [`INNER_TYPE`]); hooks are
/// expected to be implemented for the generated `Client` by the crate that includes the code,
/// and the [`REPLACED`] types (and every string enum, see [`items`]) to exist in it.
#[cfg(feature = "generate")]
pub fn generate(spec_31: &str, inner_type: &str) -> Result<Generated, GenerateError> {
    use progenitor::TypeImpl;
    let doc: serde_json::Value = serde_json::from_str(spec_31).map_err(GenerateError::Json)?;
    let Downlevel { document, notes } = downlevel(doc.clone()).map_err(GenerateError::Downlevel)?;
    let items_src = items::generate(&doc).map_err(GenerateError::Items)?;
    let enum_names: Vec<String> = items::enums(&doc).into_iter().map(|e| e.name).collect();
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(document).map_err(GenerateError::OpenApi)?;
    let inner: proc_macro2::TokenStream = inner_type
        .parse()
        .map_err(|e| GenerateError::Progenitor(format!("inner type {inner_type:?}: {e}")))?;
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(inner)
        .with_derive("PartialEq");
    for (schema, path) in REPLACED {
        settings.with_replacement(schema, path, std::iter::empty());
    }
    for name in &enum_names {
        let impls = [TypeImpl::Display, TypeImpl::FromStr].into_iter();
        settings.with_replacement(name, format!("crate::types::{name}"), impls);
    }
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| GenerateError::Progenitor(e.to_string()))?;
    let items_tokens: proc_macro2::TokenStream = items_src
        .parse()
        .map_err(|e| GenerateError::Syntax(format!("items: {e}")))?;
    Ok(Generated {
        code: pretty(tokens)?,
        items: pretty(items_tokens)?,
        notes,
    })
}

#[cfg(all(test, feature = "generate"))]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_spec_generates_a_client_with_every_operation() {
        let spec = include_str!("../../spec/openapi.json");
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap();
        let generated = generate(spec, "()").expect("the vendored spec generates");
        let ops = items::operations(&doc).unwrap();
        let in_spec = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter(|op| op.get("operationId").is_some())
            .count();
        assert_eq!(
            ops.len(),
            in_spec,
            "every operationId of the spec is an operation"
        );
        for op in &ops {
            let snake = items::snake(&op.id);
            assert!(
                generated.code.contains(&format!("pub async fn {snake}")),
                "missing {snake}"
            );
            assert!(generated.items.contains(&items::pascal(&op.id)));
        }
    }

    #[test]
    fn replaced_schemas_are_not_generated_again() {
        let spec = include_str!("../../spec/openapi.json");
        let generated = generate(spec, "()").unwrap();
        for (schema, _) in REPLACED {
            for item in ["struct", "enum"] {
                assert!(
                    !generated.code.contains(&format!("pub {item} {schema} ")),
                    "{schema} generated although replaced"
                );
            }
        }
        assert!(generated.code.contains("crate::types::Service"));
    }

    #[test]
    fn a_3_0_document_is_refused_with_its_version() {
        let err = generate(
            r#"{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}"#,
            "()",
        )
        .unwrap_err();
        assert!(err.to_string().contains("3.0.3"), "{err}");
    }

    #[test]
    fn non_json_is_refused() {
        assert!(matches!(
            generate("<html>", "()"),
            Err(GenerateError::Json(_))
        ));
    }
}
