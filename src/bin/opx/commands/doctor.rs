//! `opx doctor`: where the server differs from our reading of the docs. Read-only: every GET
//! operation once, each answer checked against the vendored spec; exit 0 when nothing deviates,
//! 1 when something does (the usual codes for errors).

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Table};

/// `opx doctor`.
pub async fn run(ctx: &Ctx) -> Result<(), Failure> {
    let report = ctx.client()?.doctor().await?;
    if ctx.json {
        output::print_json(&report)?;
    } else {
        let mut t = Table::new(&["OPERATION", "POINTER", "EXPECTED", "FOUND"]);
        for d in &report.deviations {
            t.row(vec![
                d.operation.to_string(),
                d.pointer.clone(),
                d.expected.clone(),
                d.found.clone(),
            ]);
        }
        if !report.deviations.is_empty() {
            output::print(&t.render())?;
        }
        eprintln!(
            "{} answers checked against spec/openapi.json: {} deviation(s)",
            report.checked,
            report.deviations.len()
        );
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure::Exit(
            1,
            format!("{} deviation(s) from the spec", report.deviations.len()),
        ))
    }
}
