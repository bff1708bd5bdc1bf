//! What several commands' arguments share: ids and values parsed by clap into the library's
//! typed values (a bad one is a usage error, exit 2, naming the problem before anything is
//! sent), and page sizes bounded by the spec.

use std::str::FromStr;

/// A value the library checks ([`opx::types::ServiceId`], `PlanId`, `Country`, `Rotation`), as
/// a clap value parser: the library's error code and message on a bad one.
pub fn typed<T: FromStr<Err = opx::Error>>(text: &str) -> Result<T, String> {
    text.parse().map_err(|e: opx::Error| match e.code() {
        Some(code) => format!("{code}: {}", e.message()),
        None => e.message().to_owned(),
    })
}

/// A page-size parser bounded by the operation's `limit` maximum in the spec.
pub fn page_size(op: opx::Operation) -> clap::builder::RangedI64ValueParser<u32> {
    let max = op.max_page_size().unwrap_or(u32::MAX);
    clap::value_parser!(u32).range(1..=i64::from(max))
}
