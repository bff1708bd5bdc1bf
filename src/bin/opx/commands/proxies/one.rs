//! `opx proxies ID`: one service's list, the text exactly as sent, or the JSON list's `data`
//! (`--json` or `--format json`: JSON, always).

use opx::types::{ProxyFormat, ProxyQuery, ServiceId};

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// One service's list: which service, and the query (`--layout`, `--no-auth`, `--country`).
pub struct OneList {
    /// The service.
    pub id: ServiceId,
    /// What its list holds, and in which layout.
    pub query: ProxyQuery,
}

/// `opx proxies ID [--format json]`: text as sent, or (`--json`, `--format json`) the JSON
/// list's `data`.
pub async fn run(ctx: &Ctx, list: &OneList, format: ProxyFormat) -> Result<(), Failure> {
    let client = ctx.client()?;
    if format == ProxyFormat::Txt && !ctx.json {
        return output::print(&client.proxies_text(&list.id, &list.query).await?);
    }
    let Some(servers) = ctx.read(client.proxies_json(&list.id, &list.query)).await? else {
        return Ok(());
    };
    output::print_data(servers.body())
}
