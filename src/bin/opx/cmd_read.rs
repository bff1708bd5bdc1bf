//! The commands that only read: `account`, `plans`, `services`, `service`, `logs`, `proxies`.
//! With `--json`, an answer that does not decode as documented is still printed as sent.

use opx::{LogQuery, ProxyFormat, ProxyQuery, ServiceId, ServiceQuery};

use crate::context::{Ctx, print_undecoded};
use crate::failure::Failure;
use crate::output::{self, Table};
use crate::{listing, show};

/// Runs `read` and turns an undecodable success into its raw `data` under `--json`.
macro_rules! read_or_raw {
    ($ctx:expr, $call:expr) => {
        match $call.await {
            Ok(r) => r,
            Err(e) if print_undecoded(&e, $ctx.json)? => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    };
}

/// `opx account`.
pub async fn account(ctx: &Ctx) -> Result<(), Failure> {
    let a = read_or_raw!(ctx, ctx.client()?.account());
    if ctx.json {
        return output::print_data(a.body());
    }
    output::print(&output::fields(&[
        ("username", a.username.clone()),
        ("email", a.email.clone()),
        ("balance", output::rub(a.balance)),
    ]))
}

/// `opx plans`.
pub async fn plans(ctx: &Ctx, service_type: Option<opx::ServiceType>) -> Result<(), Failure> {
    let plans = read_or_raw!(ctx, ctx.client()?.plans(service_type));
    if ctx.json {
        return output::print_data(plans.body());
    }
    let mut t = Table::new(&["PLAN ID", "TYPE", "NAME", "THREADS", "DAYS", "PRICE"]);
    for p in &plans.plans {
        t.row(vec![
            p.plan_id.to_string(),
            p.service_type.to_string(),
            p.name.clone(),
            p.threads.to_string(),
            p.days.to_string(),
            output::rub(p.price),
        ]);
    }
    for u in &plans.undecoded {
        t.row(listing::unreadable_row(u, "plan_id", 6));
    }
    output::print(&t.render())
}

/// `opx services`: one page, or every page with `--all`.
pub async fn services(ctx: &Ctx, q: ServiceQuery, all: bool) -> Result<(), Failure> {
    let client = ctx.client()?;
    if all {
        return listing::print_all(client.services_page_stream(&q.prefetch(true)), ctx.json).await;
    }
    let page = read_or_raw!(ctx, client.services_page(&q));
    listing::print_page(&page, ctx.json)
}

/// `opx logs`: one page, or every page with `--all`.
pub async fn logs(ctx: &Ctx, q: LogQuery, all: bool) -> Result<(), Failure> {
    let client = ctx.client()?;
    if all {
        return listing::print_all(client.logs_page_stream(&q.prefetch(true)), ctx.json).await;
    }
    let page = read_or_raw!(ctx, client.logs_page(&q));
    listing::print_page(&page, ctx.json)
}

/// `opx service ID`.
pub async fn service(ctx: &Ctx, id: String) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let s = read_or_raw!(ctx, ctx.client()?.service(&id));
    show::response(&s, ctx.json)
}

/// `opx proxies ID`: the text list exactly as sent, or the JSON list.
pub async fn proxies(
    ctx: &Ctx,
    id: String,
    format: ProxyFormat,
    q: ProxyQuery,
) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let client = ctx.client()?;
    if format == ProxyFormat::Txt {
        return output::print(&client.proxies_text(&id, &q).await?);
    }
    let servers = read_or_raw!(ctx, client.proxies_json(&id, &q));
    if ctx.json {
        return output::print_data(servers.body());
    }
    let mut t = Table::new(&["COUNTRY", "HOST", "PORT", "LOGIN"]);
    for s in &servers.servers {
        t.row(vec![
            s.country
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            s.host.clone(),
            s.port.to_string(),
            s.login.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    for u in &servers.undecoded {
        t.row(listing::unreadable_row(u, "host", 4));
    }
    output::print(&t.render())
}
