//! `opx gateway`: one local HTTP + SOCKS5 proxy in front of the selected services
//! (`opx::gateway`), until interrupted.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use opx::Client;
use opx::gateway::{Gateway, GatewayBuilder, RunningGateway, Selection, Strategy};
use opx::types::{GatewayCountry, ServiceId};

use crate::args::typed;
use crate::failure::Failure;

/// Arguments of `opx gateway`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # One local proxy on 127.0.0.1:8899 in front of every active service
  opx gateway
  # Only the German lines of one service, with metrics on 127.0.0.1:9899
  opx gateway --service 65aa1100b2c3d4e5f6a7b8d0 --country de --metrics
  # Reachable from the LAN, behind a password, re-reading the services every 10 minutes
  opx gateway --listen 0.0.0.0:8899 --auth scraper:s3cret --allow-remote --refresh 10")]
pub struct GatewayArgs {
    /// Address of the proxy: HTTP (absolute-form and CONNECT) and SOCKS5 on one port. A
    /// non-loopback address needs --auth and --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8899")]
    listen: SocketAddr,
    /// Serve Prometheus metrics at http://ADDR/metrics (a loopback address; without a value
    /// 127.0.0.1:9899).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9899")]
    metrics: Option<SocketAddr>,
    /// Only this service (repeat for more; default: every active service).
    #[arg(long = "service", value_name = "ID", value_parser = typed::<ServiceId>)]
    services: Vec<ServiceId>,
    /// Only services of this type.
    #[arg(long = "type", value_name = "TYPE")]
    service_type: Option<opx::types::ServiceType>,
    /// Only the lines of this gateway country.
    #[arg(long, value_name = "COUNTRY", ignore_case = true,
          value_parser = clap::builder::EnumValueParser::<GatewayCountry>::new().map(|c| c.to_string()))]
    country: Option<String>,
    /// How a line is chosen: least-busy or round-robin.
    #[arg(long, default_value = "least-busy", value_parser = ["least-busy", "round-robin"])]
    strategy: String,
    /// Seconds a request waits for a free thread before its 503.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    queue_timeout: u64,
    /// Requests that may wait for a free thread at once (beyond: 503 at once).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_queue: usize,
    /// Read the services again every N minutes (new purchases, credentials, expiry).
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..))]
    refresh: Option<u64>,
    /// Active probes: a tunnel to this URL's host and port through every line, every
    /// --probe-every seconds (failures eject a line, a success re-admits it early).
    #[arg(long, value_name = "URL")]
    probe: Option<String>,
    /// Seconds between active probes.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    probe_every: u64,
    /// Append a JSON-lines access log to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Local proxy credentials clients must send (USER:PASSWORD).
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        env = "OPX_GATEWAY_AUTH",
        hide_env_values = true
    )]
    auth: Option<String>,
    /// Allow a non-loopback --listen address (only with --auth).
    #[arg(long)]
    allow_remote: bool,
}

impl GatewayArgs {
    fn selection(&self) -> Result<Selection, Failure> {
        let mut s = Selection::new();
        for id in &self.services {
            s = s.service(id.clone());
        }
        if let Some(t) = &self.service_type {
            s = s.service_type(t.clone());
        }
        if let Some(c) = &self.country {
            s = s.country(GatewayCountry::parse(&c.to_lowercase()));
        }
        Ok(s)
    }

    fn builder(&self, client: Client) -> Result<GatewayBuilder, Failure> {
        let strategy = match self.strategy.as_str() {
            "round-robin" => Strategy::RoundRobin,
            _ => Strategy::LeastBusy,
        };
        let mut b = Gateway::builder(client)
            .selection(self.selection()?)
            .listen(self.listen)
            .strategy(strategy)
            .queue_timeout(Duration::from_secs(self.queue_timeout))
            .max_queue(self.max_queue)
            .allow_remote(self.allow_remote);
        if let Some(addr) = self.metrics {
            if !addr.ip().is_loopback() {
                let why = format!("--metrics {addr}: give a loopback address");
                return Err(Failure::Usage(why));
            }
            b = b.metrics_listen(addr);
        }
        if let Some(url) = &self.probe {
            b = b.probe(url.clone(), Duration::from_secs(self.probe_every));
        }
        if let Some(minutes) = self.refresh {
            b = b.refresh_every(Duration::from_secs(60 * minutes));
        }
        if let Some(auth) = &self.auth {
            let (user, password) = auth
                .split_once(':')
                .ok_or_else(|| Failure::Usage("--auth: give USER:PASSWORD".to_owned()))?;
            b = b.local_credentials(user, password);
        }
        match self.access_log.as_deref() {
            None => Ok(b),
            Some(p) if p.as_os_str() == "-" => Ok(b.access_log(std::io::stdout())),
            Some(p) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p);
                let file = file.map_err(|e| Failure::Other(format!("{}: {e}", p.display())))?;
                Ok(b.access_log(file))
            }
        }
    }
}

/// Serves until ctrl-c (SIGINT).
pub async fn run(client: Client, args: GatewayArgs) -> Result<(), Failure> {
    let gateway = args.builder(client)?.serve().await.map_err(|e| match e {
        opx::gateway::GatewayError::Services(e) => Failure::Api(e),
        other => Failure::Usage(other.to_string()),
    })?;
    let services = gateway.services();
    let lines: usize = services.iter().map(|s| s.lines).sum();
    let mut said = format!("gateway at: {} (HTTP and SOCKS5)\n", gateway.addr());
    if let Some(m) = gateway.metrics_addr() {
        said += &format!("metrics at: http://{m}/metrics\n");
    }
    said += &format!("{} services, {lines} lines\n", services.len());
    for s in &services {
        said += &format!(
            "service {}: {} threads, {} lines\n",
            s.id, s.threads, s.lines
        );
    }
    // With the access log on stdout, this goes to stderr; a closed pipe stops nothing.
    if args
        .access_log
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-")
    {
        eprint!("{said}");
    } else {
        crate::output::print(&said)?;
    }
    if services.is_empty() {
        eprintln!("warning: no active service is selected: every request will get 503");
    }
    serve_until_interrupted(&gateway).await
}

/// Waits for ctrl-c, with a one-line live status on a terminal.
async fn serve_until_interrupted(gateway: &RunningGateway) -> Result<(), Failure> {
    let live = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                if live {
                    eprintln!();
                }
                return r.map_err(|e| Failure::Other(e.to_string()));
            }
            _ = tick.tick(), if live => eprint!("\r{}", status(gateway)),
        }
    }
}

/// `threads 3/600 in use, 2 services, 1 line ejected`.
fn status(gateway: &RunningGateway) -> String {
    let s = gateway.services();
    let (used, threads) = s
        .iter()
        .fold((0, 0), |(u, t), x| (u + x.in_use, t + x.threads));
    let ejected: usize = s.iter().map(|x| x.ejected).sum();
    format!(
        "threads {used}/{threads} in use, {} services, {ejected} lines ejected   ",
        s.len()
    )
}
