//! `--jq EXPR`: a jq filter over the JSON a command prints, run by jaq (`jaq-core`, `jaq-std`,
//! `jaq-json`), as gh's `--jq` runs gojq. Each output is printed on its own line: a string as
//! its text, anything else as compact JSON.

use std::sync::OnceLock;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

use crate::failure::Failure;

/// The filter of this run, when `--jq` was given.
static FILTER: OnceLock<String> = OnceLock::new();

/// Sets the filter of this run after checking that it compiles (a usage error otherwise,
/// before anything is sent).
pub fn set(expr: &str) -> Result<(), Failure> {
    // Compiling is all that is checked: a filter may well fail on `null` at run time.
    if let Err(Failure::Usage(why)) = run(expr, b"null") {
        return Err(Failure::Usage(why));
    }
    let _ = FILTER.set(expr.to_owned());
    Ok(())
}

/// The filter of this run, if any.
pub fn filter() -> Option<&'static str> {
    FILTER.get().map(String::as_str)
}

/// The outputs of `expr` on the JSON document `json`, one line each.
pub fn run(expr: &str, json: &[u8]) -> Result<String, Failure> {
    let input = jaq_json::read::parse_single(json)
        .map_err(|e| Failure::Other(format!("--jq: the output is not JSON: {e}")))?;
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: expr,
                path: (),
            },
        )
        .map_err(|errs| Failure::Usage(format!("--jq {expr:?}: {}", describe(errs.len()))))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| Failure::Usage(format!("--jq {expr:?}: {}", describe(errs.len()))))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = String::new();
    for value in filter.id.run((ctx, input)).map(unwrap_valr) {
        let value = value.map_err(|e| Failure::Other(format!("--jq {expr:?}: {e}")))?;
        match &value {
            Val::TStr(_) | Val::BStr(_) => {
                let text = value.to_string();
                // A string prints as its text (gh's --jq does the same), not quoted.
                let unquoted: String = serde_json::from_str(&text).unwrap_or(text);
                out.push_str(&crate::output::printable(&unquoted));
            }
            _ => out.push_str(&value.to_string()),
        }
        out.push('\n');
    }
    Ok(out)
}

/// A short description of compile errors (jaq reports them against the filter's text).
fn describe(count: usize) -> String {
    match count {
        1 => "the filter does not parse or compile".to_owned(),
        n => format!("the filter does not parse or compile ({n} errors)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_selects_strings_as_text_and_values_as_json() {
        let doc = br#"{"plans":[{"plan_id":"a","price":1500},{"plan_id":"b","price":900}]}"#;
        assert_eq!(run(".plans[].plan_id", doc).unwrap(), "a\nb\n");
        assert_eq!(run("[.plans[].price] | add", doc).unwrap(), "2400\n");
        assert_eq!(
            run(".plans | map(select(.price < 1000))", doc).unwrap(),
            "[{\"plan_id\":\"b\",\"price\":900}]\n"
        );
    }

    #[test]
    fn a_filter_that_does_not_parse_is_a_usage_error() {
        assert!(matches!(run(".plans[", b"{}"), Err(Failure::Usage(_))));
        assert!(set("..|").is_err());
        assert!(set(".plans[].plan_id").is_ok(), "fails on null, compiles");
    }
}
