//! `opx proxies ID --as FORMAT` (and `--all --as FORMAT`): each endpoint of the list in the form
//! a tool takes (see `opx::proxies::ExportFormat`): one line per endpoint, and for `env` a block
//! of four lines per endpoint, blocks separated by an empty line. The output holds the
//! passwords, like the plain list.

use opx::proxies::{ExportFormat, ProxyEndpoint};

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
    output::print(&render(endpoints.iter().map(|e| e.as_endpoint()), format)?)
}

/// The endpoints in `format`, each once, ending in a newline (nothing for none).
pub fn render<'a>(
    endpoints: impl IntoIterator<Item = ProxyEndpoint<'a>>,
    format: ExportFormat,
) -> Result<String, Failure> {
    let separator = if format == ExportFormat::Env {
        "\n\n"
    } else {
        "\n"
    };
    let mut out = String::new();
    for e in endpoints {
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
    Ok(out)
}
