//! `opx proxies ID --as FORMAT`: each endpoint of the list in the form a tool takes (see
//! `opx::proxies::ExportFormat`): one line per endpoint, and for `env` a block of four lines per
//! endpoint, blocks separated by an empty line. The output holds the passwords, like the plain
//! list.

use opx::proxies::ExportFormat;

use super::one::OneList;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// Prints the service's endpoints in `format`.
pub async fn run(ctx: &Ctx, list: &OneList, format: ExportFormat) -> Result<(), Failure> {
    let endpoints = ctx
        .client()?
        .proxies(&list.id, &list.query)
        .await?
        .into_inner();
    let separator = if format == ExportFormat::Env {
        "\n\n"
    } else {
        "\n"
    };
    let mut out = String::new();
    for e in &endpoints {
        let text = e
            .export(format)
            .map_err(|err| Failure::Other(format!("{}:{}: {err}", e.host(), e.port())))?;
        if !out.is_empty() {
            out.push_str(separator);
        }
        out.push_str(&text);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    output::print(&out)
}
