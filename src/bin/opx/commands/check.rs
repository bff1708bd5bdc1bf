//! `opx check ID`: a request to a target through each endpoint of a service's list, a summary
//! line and a table (or `--json`); exit 6 when some endpoint does not work.

use std::path::PathBuf;
use std::time::Duration;

use opx::Client;
use opx::check::{CheckReport, CheckStatus, EndpointCheck, ProxyCheck};
use opx::types::ServiceId;

use crate::args::typed;
use crate::failure::Failure;
use crate::output::{self, Table};

/// Arguments of `opx check`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # Check every proxy of a service: status, latency, exit address
  opx check 65aa1100b2c3d4e5f6a7b8d0
  # Three connections through each endpoint, to see the rotation at work
  opx check 65aa1100b2c3d4e5f6a7b8d0 --connections 3 --concurrency 4
  # Check a list saved earlier, against your own target
  opx check 65aa1100b2c3d4e5f6a7b8d0 --from proxies.txt --target https://ifconfig.me/ip")]
pub struct CheckArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    /// The URL fetched through each endpoint. The default answers with the exit address; any
    /// server that answers 2xx works, and one whose body is an IP address, `ip:port` or JSON
    /// with `ip`/`origin` shows the exit address.
    #[arg(long, value_name = "URL", default_value = opx::check::DEFAULT_TARGET)]
    target: String,
    /// Seconds each endpoint may take (connecting and the whole answer). Not the global
    /// `--timeout`, which bounds the API calls that fetch the list.
    #[arg(long, value_name = "SECS", default_value_t = opx::check::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    endpoint_timeout: u64,
    /// Endpoints checked at once, 1-64 (never more than the service's threads).
    #[arg(long, value_name = "N", default_value_t = opx::check::DEFAULT_CONCURRENCY as u16,
          value_parser = crate::args::concurrency())]
    concurrency: u16,
    /// Connections made through each endpoint, one after the other: the EXITS column then
    /// counts the distinct exit addresses the target saw (the rotation actually delivered).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    connections: u32,
    /// Check the lines of this file (as `opx proxies ID` printed them; `-` reads stdin)
    /// instead of the service's current list.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
}

/// Runs the check and prints it; `Failure::Unhealthy` (exit 6) unless every endpoint works.
pub async fn run(client: &Client, args: CheckArgs, json: bool) -> Result<(), Failure> {
    let id = args.id;
    let check = ProxyCheck::new()
        .target(args.target)
        .timeout(Duration::from_secs(args.endpoint_timeout))
        .concurrency(usize::from(args.concurrency))
        .connections(usize::try_from(args.connections).unwrap_or(usize::MAX));
    let report = match &args.from {
        None => client.check_proxies(&id, &check).await?,
        Some(path) => {
            let endpoints = read_lines(path)?;
            let threads = client.service(&id).await?.threads;
            let mut report = check.run(&endpoints, Some(threads)).await?;
            report.service_id = Some(id.clone());
            report
        }
    };
    if json {
        output::print_json(&report)?;
    } else {
        output::print(&format!("{}\n{}", summary(&report, &id), table(&report)))?;
    }
    let total = report.results.len();
    if total == 0 {
        return Err(Failure::Unhealthy(
            "the list has no endpoint to check".into(),
        ));
    }
    let failed = total - report.ok_count();
    if failed > 0 {
        let verb = if failed == 1 { "does" } else { "do" };
        return Err(Failure::Unhealthy(format!(
            "{failed} of {total} endpoint{} {verb} not work",
            if total == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// The endpoints of a saved list (any layout `opx proxies` prints).
fn read_lines(path: &PathBuf) -> Result<Vec<opx::proxies::ProxyEndpointBuf>, Failure> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    opx::proxies::ProxyLines::new(&text)
        .map(|line| {
            line.map(|e| e.to_owned())
                .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
        })
        .collect()
}

fn summary(report: &CheckReport, id: &ServiceId) -> String {
    let (ok, total) = (report.ok_count(), report.results.len());
    let head = match (ok, total) {
        (1, 1) => "the one endpoint works".to_owned(),
        (ok, total) if total > 0 && ok == total => format!("all {total} endpoints work"),
        (ok, 1) => format!("{ok} of 1 endpoint works"),
        (ok, total) => format!("{ok} of {total} endpoints work"),
    };
    let threads = report
        .threads
        .map_or_else(String::new, |t| format!(" of {t} threads"));
    format!(
        "{head} (service {id}, target {}, {} at a time{threads})",
        output::printable(&report.target),
        report.concurrency
    )
}

fn status(r: &EndpointCheck) -> String {
    match (&r.status, r.http_status) {
        (CheckStatus::AuthRefused, _) => "auth refused (407)".into(),
        (CheckStatus::ProxyRefused, Some(s)) => format!("proxy refused ({s})"),
        (CheckStatus::HttpError, Some(s)) => format!("http {s}"),
        (s, _) => s.to_string(),
    }
}

fn table(report: &CheckReport) -> String {
    let rotation = report.results.iter().any(|r| r.connections > 1);
    let mut head = vec!["ENDPOINT", "STATUS", "LATENCY", "EXIT ADDRESS"];
    if rotation {
        head.push("EXITS");
    }
    head.push("DETAIL");
    let mut t = Table::new(&head);
    for r in &report.results {
        let mut row = vec![
            r.endpoint_label(),
            status(r),
            format!("{} ms", r.latency.as_millis()),
            r.exit_address
                .map_or_else(|| "-".into(), |ip| ip.to_string()),
        ];
        if rotation {
            row.push(format!("{} of {}", r.exits.len(), r.connections));
        }
        row.push(r.detail.clone().unwrap_or_else(|| "-".into()));
        t.row(row);
    }
    t.render()
}
