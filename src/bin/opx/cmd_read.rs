//! The commands that only read: `account`, `plans`, `services`, `service`, `logs`, `proxies`.
//! With `--json`, an answer that does not decode as documented is still printed as sent.

use futures::Stream;
use opx::types::{LogQuery, ProxyFormat, ServiceId, ServiceQuery};

use crate::cmd_proxies::OneList;
use crate::context::{Ctx, print_undecoded};
use crate::failure::Failure;
use crate::listing::{self, Listing};
use crate::output::{self, Table};
use crate::show;

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
pub async fn plans(
    ctx: &Ctx,
    service_type: Option<opx::types::ServiceType>,
) -> Result<(), Failure> {
    let plans = read_or_raw!(ctx, ctx.client()?.plans(service_type));
    if ctx.json {
        return output::print_data(plans.body());
    }
    let mut t = Table::new(&["PLAN ID", "TYPE", "NAME", "THREADS", "DAYS", "PRICE"]);
    listing::add_rows(&mut t, &plans.plans, plan_row, &plans.undecoded, "plan_id");
    output::print(&t.render())
}

/// A row of `opx plans`.
fn plan_row(p: &opx::types::Plan) -> Vec<String> {
    vec![
        p.plan_id.to_string(),
        p.service_type.to_string(),
        p.name.clone(),
        p.threads.to_string(),
        p.days.to_string(),
        output::rub(p.price),
    ]
}

/// The arguments of `opx services`: filters and paging.
#[derive(clap::Args, Debug)]
pub struct ServicesArgs {
    /// Lifecycle filter.
    #[arg(long, value_enum, default_value_t = opx::types::StatusFilter::Active)]
    status: opx::types::StatusFilter,
    /// Only services of this type.
    #[arg(long = "type", value_enum)]
    service_type: Option<opx::types::ServiceType>,
    /// Page size (1-100).
    #[arg(long, value_parser = crate::page_size(opx::Operation::ListServices))]
    limit: Option<u32>,
    /// Start after this cursor (the `next_cursor` of a previous page).
    #[arg(long)]
    cursor: Option<String>,
    /// Fetch every page.
    #[arg(long)]
    all: bool,
}

/// The arguments of `opx logs`: a time range and paging.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Only entries at or after this time (RFC 3339, e.g. 2026-06-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entries at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size (1-200).
    #[arg(long, value_parser = crate::page_size(opx::Operation::ListLogs))]
    limit: Option<u32>,
    /// Start after this cursor (the `next_cursor` of a previous page).
    #[arg(long)]
    cursor: Option<String>,
    /// Fetch every page.
    #[arg(long)]
    all: bool,
}

/// `q` with `set` applied to the value, when the command line gave one.
fn given<Q, T>(q: Q, value: Option<T>, set: impl FnOnce(Q, T) -> Q) -> Q {
    match value {
        Some(v) => set(q, v),
        None => q,
    }
}

impl ServicesArgs {
    /// The query these arguments select (prefetching the next page with `--all`).
    fn query(&self) -> ServiceQuery {
        let q = ServiceQuery::new().status(self.status);
        let q = given(q, self.service_type.clone(), ServiceQuery::service_type);
        let q = given(q, self.limit, ServiceQuery::limit);
        given(q, self.cursor.clone(), ServiceQuery::cursor).prefetch(self.all)
    }
}

impl LogsArgs {
    /// The query these arguments select (prefetching the next page with `--all`).
    fn query(&self) -> LogQuery {
        let q = given(LogQuery::new(), self.since, LogQuery::since);
        let q = given(q, self.until, LogQuery::until);
        let q = given(q, self.limit, LogQuery::limit);
        given(q, self.cursor.clone(), LogQuery::cursor).prefetch(self.all)
    }
}

/// `opx services`: one page, or every page with `--all`.
pub async fn services(ctx: &Ctx, args: ServicesArgs) -> Result<(), Failure> {
    let q = args.query();
    let client = ctx.client()?;
    let every_page = args.all.then(|| client.services_page_stream(&q));
    one_page_or_all(ctx, every_page, client.services_page(&q)).await
}

/// `opx logs`: one page, or every page with `--all`.
pub async fn logs(ctx: &Ctx, args: LogsArgs) -> Result<(), Failure> {
    let q = args.query();
    let client = ctx.client()?;
    let every_page = args.all.then(|| client.logs_page_stream(&q));
    one_page_or_all(ctx, every_page, client.logs_page(&q)).await
}

/// Prints `every_page` when there is such a stream (`--all`, prefetching), else the page
/// `one_page` reads.
async fn one_page_or_all<P: Listing>(
    ctx: &Ctx,
    every_page: Option<impl Stream<Item = opx::Result<opx::Response<P>>>>,
    one_page: impl Future<Output = opx::Result<opx::Response<P>>>,
) -> Result<(), Failure> {
    if let Some(pages) = every_page {
        return listing::print_all(pages, ctx.json).await;
    }
    let page = read_or_raw!(ctx, one_page);
    listing::print_page(&page, ctx.json)
}

/// `opx service ID`.
pub async fn service(ctx: &Ctx, id: String) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let s = read_or_raw!(ctx, ctx.client()?.service(&id));
    show::response(&s, ctx.json)
}

/// `opx proxies ID`: the text list exactly as sent, or the JSON list.
pub async fn proxies(ctx: &Ctx, list: &OneList, format: ProxyFormat) -> Result<(), Failure> {
    let client = ctx.client()?;
    if format == ProxyFormat::Txt {
        return output::print(&client.proxies_text(&list.id, &list.query).await?);
    }
    let servers = read_or_raw!(ctx, client.proxies_json(&list.id, &list.query));
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
