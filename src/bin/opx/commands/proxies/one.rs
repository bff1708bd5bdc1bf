//! `opx proxies ID`: one service's list, the text exactly as sent, or the JSON list (`--json`:
//! its `data`; else a table).

use opx::types::{ProxyFormat, ProxyQuery, ServiceId};

use crate::context::Ctx;
use crate::failure::Failure;
use crate::listing;
use crate::output::{self, Table};

/// One service's list: which service, and the query (`--layout`, `--no-auth`, `--country`).
pub struct OneList {
    /// The service.
    pub id: ServiceId,
    /// What its list holds, and in which layout.
    pub query: ProxyQuery,
}

/// `opx proxies ID [--format json]`.
pub async fn run(ctx: &Ctx, list: &OneList, format: ProxyFormat) -> Result<(), Failure> {
    let client = ctx.client()?;
    if format == ProxyFormat::Txt {
        return output::print(&client.proxies_text(&list.id, &list.query).await?);
    }
    let Some(servers) = ctx.read(client.proxies_json(&list.id, &list.query)).await? else {
        return Ok(());
    };
    if ctx.json {
        return output::print_data(servers.body());
    }
    let mut t = Table::new(&["COUNTRY", "HOST", "PORT", "LOGIN"]);
    listing::add_rows(
        &mut t,
        &servers.servers,
        server_row,
        &servers.undecoded,
        "host",
    );
    output::print(&t.render())
}

/// A row of `opx proxies ID --format json`.
fn server_row(s: &opx::types::ProxyServer) -> Vec<String> {
    vec![
        s.country
            .as_ref()
            .map_or_else(|| "-".into(), ToString::to_string),
        s.host.clone(),
        s.port.to_string(),
        s.login.clone().unwrap_or_else(|| "-".into()),
    ]
}
