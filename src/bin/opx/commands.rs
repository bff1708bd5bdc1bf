//! One function per subcommand, each a thin layer over the facade.

use opx::{
    Client, ClientBuilder, LogQuery, ProxyQuery, PurchaseRequest, Response, Service, ServiceId,
    ServiceQuery,
};

use crate::confirm;
use crate::failure::Failure;
use crate::listing;
use crate::output::{self, Table};
use crate::{Cli, Command, FormatArg};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    let client = || client(cli.base_url.as_deref());
    match cli.command {
        Command::Mock(args) => crate::mock::run(args).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "opx", &mut std::io::stdout());
            Ok(())
        }
        Command::Check(args) => crate::check::run(&client()?, args, json).await,
        Command::Account => account(&client()?, json).await,
        Command::Plans { service_type } => {
            let plans = client()?.plans(service_type).await?;
            if json {
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
            output::print(&t.render())
        }
        Command::Purchase {
            service_type,
            plan,
            country,
            rotation,
            yes,
        } => {
            let mut req = PurchaseRequest::new(service_type, opx::PlanId::new(plan)?);
            if let Some(c) = country {
                req = req.country(opx::Country::new(c)?);
            }
            if let Some(r) = rotation {
                req = req.rotation(opx::Rotation::new(r)?);
            }
            let client = client()?;
            if !yes {
                confirm_purchase(&client, &req).await?;
            }
            print_service(&client.purchase(&req).await?, json)
        }
        Command::Services {
            status,
            service_type,
            limit,
            cursor,
            all,
        } => {
            let mut q = ServiceQuery::new().status(status);
            if let Some(t) = service_type {
                q = q.service_type(t);
            }
            if let Some(l) = limit {
                q = q.limit(l);
            }
            if let Some(c) = cursor {
                q = q.cursor(c);
            }
            let client = client()?;
            if all {
                listing::print_all(client.services_page_stream(&q.prefetch(true)), json).await
            } else {
                listing::print_page(&client.services_page(&q).await?, json)
            }
        }
        Command::Service { id } => {
            let id = ServiceId::new(id)?;
            print_service(&client()?.service(&id).await?, json)
        }
        Command::Proxies {
            id,
            format,
            layout,
            no_auth,
            country,
        } => {
            let id = ServiceId::new(id)?;
            let mut q = ProxyQuery::new();
            if let Some(l) = layout {
                q = q.layout(l);
            }
            if no_auth {
                q = q.auth(false);
            }
            if let Some(c) = country {
                q = q.country(c);
            }
            let client = client()?;
            match format {
                FormatArg::Txt => output::print(&client.proxies_text(&id, &q).await?),
                _ => {
                    let servers = client.proxies_json(&id, &q).await?;
                    if json {
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
                    output::print(&t.render())
                }
            }
        }
        Command::Extend { id, yes } => {
            let id = ServiceId::new(id)?;
            let client = client()?;
            if !yes {
                confirm_extend(&client, &id).await?;
            }
            print_service(&client.extend(&id).await?, json)
        }
        Command::Whitelist { id, ips, labels } => {
            let id = ServiceId::new(id)?;
            let whitelist = whitelist(&ips, labels)?;
            print_service(&client()?.replace_whitelist(&id, &whitelist).await?, json)
        }
        Command::Credentials { id, yes } => {
            let id = ServiceId::new(id)?;
            let client = client()?;
            if !yes {
                confirm::require_terminal("Regenerate the proxy credentials?")?;
                confirm::ask(
                    &format!(
                        "Service {id}: the current login and password stop working at once.\n"
                    ),
                    "Regenerate the proxy credentials?",
                )?;
            }
            print_service(&client.regenerate_credentials(&id).await?, json)
        }
        Command::Country { id, country } => {
            let id = ServiceId::new(id)?;
            let country = opx::Country::new(country)?;
            print_service(&client()?.change_country(&id, &country).await?, json)
        }
        Command::Rotation { id, rotation } => {
            let id = ServiceId::new(id)?;
            let rotation = opx::Rotation::new(rotation)?;
            print_service(&client()?.change_rotation(&id, &rotation).await?, json)
        }
        Command::Logs {
            since,
            until,
            limit,
            cursor,
            all,
        } => {
            let mut q = LogQuery::new();
            if let Some(t) = since {
                q = q.since(t);
            }
            if let Some(t) = until {
                q = q.until(t);
            }
            if let Some(l) = limit {
                q = q.limit(l);
            }
            if let Some(c) = cursor {
                q = q.cursor(c);
            }
            let client = client()?;
            if all {
                listing::print_all(client.logs_page_stream(&q.prefetch(true)), json).await
            } else {
                listing::print_page(&client.logs_page(&q).await?, json)
            }
        }
    }
}

/// The facade client: `OPX_TOKEN` from the environment, the base URL from `--base-url` or
/// `OPX_BASE_URL`.
fn client(base_url: Option<&str>) -> Result<Client, Failure> {
    let mut builder = ClientBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok(builder
        .user_agent(concat!("opx-cli/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

async fn account(client: &Client, json: bool) -> Result<(), Failure> {
    let a = client.account().await?;
    if json {
        return output::print_data(a.body());
    }
    output::print(&output::fields(&[
        ("username", a.username.clone()),
        ("email", a.email.clone()),
        ("balance", output::rub(a.balance)),
    ]))
}

fn print_service(s: &Response<Service>, json: bool) -> Result<(), Failure> {
    if json {
        return output::print_data(s.body());
    }
    let whitelist = if s.whitelist.is_empty() {
        "-".to_owned()
    } else {
        s.whitelist
            .iter()
            .map(|w| match &w.label {
                Some(l) => format!("{} ({l})", w.ip),
                None => w.ip.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    output::print(&output::fields(&[
        ("service", s.service_id.to_string()),
        ("type", s.service_type.to_string()),
        (
            "status",
            s.status
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
        ),
        ("threads", s.threads.to_string()),
        ("expires", output::time(&s.expires_at)),
        ("country", s.country.clone()),
        ("rotation", s.rotation.clone()),
        ("login", s.auth.login.clone()),
        (
            "password",
            "(hidden: `opx proxies ID` or --json show it)".into(),
        ),
        ("whitelist", whitelist),
    ]))
}

fn whitelist(ips: &[String], labels: Vec<String>) -> Result<opx::Whitelist, Failure> {
    let parsed = opx::Whitelist::parse(ips)?;
    if labels.is_empty() {
        return Ok(parsed);
    }
    if labels.len() != ips.len() {
        return Err(Failure::Usage(format!(
            "{} addresses but {} labels: give one --label per address, or none",
            ips.len(),
            labels.len()
        )));
    }
    Ok(opx::Whitelist::with_labels(
        parsed.ips().iter().copied().zip(labels),
    )?)
}

async fn confirm_purchase(client: &Client, req: &PurchaseRequest) -> Result<(), Failure> {
    let question = "Buy this plan?";
    confirm::require_terminal(question)?;
    let catalog = client.plans(Some(req.service_type().clone())).await?;
    let plan = catalog
        .plans
        .iter()
        .find(|p| &p.plan_id == req.plan_id())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "plan {} is not in the {} catalog; list plans with `opx plans`",
                req.plan_id(),
                req.service_type()
            ))
        })?;
    let balance = client.account().await?.balance;
    confirm::ask(
        &format!(
            "{} ({} threads, {} days): {}\nbalance {} -> {} after purchase\n",
            plan.name,
            plan.threads,
            plan.days,
            output::rub(plan.price),
            output::rub(balance),
            output::rub(balance - plan.price)
        ),
        question,
    )
}

async fn confirm_extend(client: &Client, id: &ServiceId) -> Result<(), Failure> {
    let question = "Extend this service by one period?";
    confirm::require_terminal(question)?;
    let service = client.service(id).await?;
    let catalog = client.plans(Some(service.service_type.clone())).await?;
    let price = service
        .plan_id
        .as_ref()
        .and_then(|pid| catalog.plans.iter().find(|p| &p.plan_id == pid))
        .map_or_else(
            || "the plan price (plan unknown)".to_owned(),
            |p| output::rub(p.price),
        );
    let balance = client.account().await?.balance;
    confirm::ask(
        &format!(
            "service {id} expires {}; extending charges {price}\nbalance {}\n",
            output::time(&service.expires_at),
            output::rub(balance)
        ),
        question,
    )
}
