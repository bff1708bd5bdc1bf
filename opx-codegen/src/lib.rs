//! Code generation for `opx`: down-levels the vendored OpenAPI 3.1 document to the 3.0 dialect that
//! progenitor 0.15 reads, drops the `pattern`s only responses use ([`relax`]), then runs
//! progenitor and pretty-prints the client.
//!
//! Used by `opx`'s `build.rs` (every build) and by `cargo xtask regen` (to check a new upstream
//! document before it replaces the vendored one). Everything here is pure: it takes a document and
//! returns code, notes or an error naming the JSON pointer of the problem.

#![deny(missing_docs)]

pub mod downlevel;
pub mod relax;
#[cfg(feature = "validate")]
pub mod validate;

pub use downlevel::{Downlevel, DownlevelError, downlevel};

/// Escapes one reference token for a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Why generation failed.
#[derive(Debug)]
pub enum GenerateError {
    /// The input is not JSON.
    Json(serde_json::Error),
    /// The 3.1 document uses something 3.0 cannot express.
    Downlevel(DownlevelError),
    /// The down-levelled document does not parse as OpenAPI 3.0.
    OpenApi(serde_json::Error),
    /// progenitor refused the document.
    Progenitor(String),
    /// progenitor produced code that does not parse as Rust.
    Syntax(String),
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "the spec is not valid JSON: {e}"),
            Self::Downlevel(e) => write!(f, "{e}"),
            Self::OpenApi(e) => write!(f, "the down-levelled spec is not valid OpenAPI 3.0: {e}"),
            Self::Progenitor(e) => write!(f, "progenitor could not generate a client: {e}"),
            Self::Syntax(e) => write!(f, "progenitor produced invalid Rust: {e}"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// The generated client and what the down-levelling had to say about the document.
#[derive(Debug)]
pub struct Generated {
    /// Pretty-printed Rust source of the raw client (`include!`-able).
    pub code: String,
    /// Lossless-but-notable changes the down-levelling made, and the response patterns dropped
    /// (for build warnings).
    pub notes: Vec<String>,
}

/// The Rust path of the per-call context type the generated client carries as its `inner` value.
pub const INNER_TYPE: &str = "crate::transport::CallContext";

/// Generates the raw progenitor client from the text of an OpenAPI 3.1 document.
///
/// `inner_type` is the Rust path of the client's inner value (see [`INNER_TYPE`]); hooks are
/// expected to be implemented for the generated `Client` by the crate that includes the code.
pub fn generate(spec_31: &str, inner_type: &str) -> Result<Generated, GenerateError> {
    let doc: serde_json::Value = serde_json::from_str(spec_31).map_err(GenerateError::Json)?;
    let Downlevel {
        mut document,
        mut notes,
    } = downlevel(doc).map_err(GenerateError::Downlevel)?;
    notes.extend(relax::relax_response_patterns(&mut document));
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
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| GenerateError::Progenitor(e.to_string()))?;
    let file =
        syn::parse2::<syn::File>(tokens).map_err(|e| GenerateError::Syntax(e.to_string()))?;
    Ok(Generated {
        code: prettyplease::unparse(&file),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_spec_generates_a_client_with_every_operation() {
        let spec = include_str!("../../spec/openapi.json");
        let generated = generate(spec, "()").expect("the vendored spec generates");
        for op in [
            "get_account",
            "list_plans",
            "purchase",
            "list_services",
            "get_service",
            "get_proxies",
            "extend_service",
            "replace_whitelist",
            "regenerate_credentials",
            "change_country",
            "change_rotation",
            "list_logs",
        ] {
            assert!(
                generated.code.contains(&format!("pub async fn {op}")),
                "missing {op}"
            );
        }
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
