//! `opx whitelist add ID IP [--label L]` and `opx whitelist remove ID IP`: one address added or
//! removed, every other entry and its label kept (read, change, write back, read again; see
//! `Client::whitelist_add`).
//!
//! Exit codes: 0 when the whitelist read back holds the change (a note on stderr when someone
//! else changed other entries meanwhile); 1 when it does not (someone else's change replaced
//! it); 2 for a bad address before anything is sent.

use std::net::Ipv4Addr;

use opx::types::{ServiceId, WhitelistEdit, WhitelistEntry};

use crate::args::typed;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// `opx whitelist add|remove`.
#[derive(Debug, clap::Subcommand)]
pub enum Edit {
    /// Add one address (or set its label), keeping the other entries and their labels.
    #[command(after_help = "\
Examples:
  # Add an address, keeping the other entries
  opx whitelist add 65aa1100b2c3d4e5f6a7b8d0 203.0.113.10
  # Add one with a label, or relabel one already there
  opx whitelist add 65aa1100b2c3d4e5f6a7b8d0 198.51.100.4 --label office")]
    Add {
        /// Service id (24 hex characters).
        #[arg(value_parser = typed::<ServiceId>)]
        id: ServiceId,
        /// IPv4 address.
        ip: String,
        /// Its label.
        #[arg(long, value_name = "L")]
        label: Option<String>,
    },
    /// Remove one address, keeping the other entries and their labels.
    #[command(after_help = "\
Examples:
  # Remove one address, keeping the others
  opx whitelist remove 65aa1100b2c3d4e5f6a7b8d0 203.0.113.10
  # The same, with the whitelist before and after as JSON
  opx whitelist remove 65aa1100b2c3d4e5f6a7b8d0 203.0.113.10 --json")]
    Remove {
        /// Service id (24 hex characters).
        #[arg(value_parser = typed::<ServiceId>)]
        id: ServiceId,
        /// IPv4 address.
        ip: String,
    },
    /// Empty the whitelist, after showing what goes and asking (every client that
    /// authenticates by its IP address loses access at once).
    #[command(after_help = "\
Examples:
  # Show what goes and ask before emptying the whitelist
  opx whitelist clear 65aa1100b2c3d4e5f6a7b8d0
  # Empty it without asking (in a script)
  opx whitelist clear 65aa1100b2c3d4e5f6a7b8d0 --yes")]
    Clear {
        /// Service id (24 hex characters).
        #[arg(value_parser = typed::<ServiceId>)]
        id: ServiceId,
        /// Do not ask.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

fn address(ip: &str) -> Result<Ipv4Addr, Failure> {
    // The library's check, so the message and exit code are those of `opx whitelist ID IP`.
    Ok(opx::types::Whitelist::parse([ip])?.ips()[0])
}

/// Runs an edit and reports it.
pub async fn run(ctx: &Ctx, edit: Edit) -> Result<(), Failure> {
    let (id, ip, result) = match edit {
        Edit::Add { id, ip, label } => {
            let ip = address(&ip)?;
            let r = ctx
                .client()?
                .whitelist_add(&id, ip, label.as_deref())
                .await?;
            (id, ip, r)
        }
        Edit::Remove { id, ip } => {
            let ip = address(&ip)?;
            let r = ctx.client()?.whitelist_remove(&id, ip).await?;
            (id, ip, r)
        }
        Edit::Clear { id, yes } => return super::clear(ctx, id, yes).await,
    };
    report(ctx, &id, ip, &result)
}

/// One entry as shown: `203.0.113.10 (home)`.
fn entry(e: &WhitelistEntry) -> String {
    match label(e) {
        "" => e.ip.to_string(),
        l => format!("{} ({l})", e.ip),
    }
}

/// No label and `""` are the same (see `Client::whitelist_add`).
fn label(e: &WhitelistEntry) -> &str {
    e.label.as_deref().unwrap_or("")
}

fn list(entries: &[WhitelistEntry]) -> String {
    if entries.is_empty() {
        return "(empty)".into();
    }
    entries.iter().map(entry).collect::<Vec<_>>().join(", ")
}

fn report(ctx: &Ctx, id: &ServiceId, ip: Ipv4Addr, r: &WhitelistEdit) -> Result<(), Failure> {
    if ctx.json {
        output::print_json(&serde_json::json!({"service_id": id, "before": r.before,
            "written": r.written, "after": r.after, "changed_meanwhile": r.changed_meanwhile()}))?;
    } else {
        let done = if r.written.is_none() {
            "nothing to change"
        } else {
            "written"
        };
        output::print(&format!(
            "service {id}: {done}\nwhitelist {}\n",
            output::printable(&list(&r.after))
        ))?;
    }
    if !r.changed_meanwhile() {
        return Ok(());
    }
    let written = r.written.as_deref().unwrap_or_default();
    let wanted = written.iter().find(|e| e.ip == ip);
    let holds = match wanted {
        Some(w) => r.after.iter().any(|a| a.ip == ip && label(a) == label(w)),
        None => r.after.iter().all(|a| a.ip != ip),
    };
    let message = format!(
        "the whitelist changed between this edit's write and the read after it (someone else \
         edited it): wrote {}, now {}",
        output::printable(&list(written)),
        output::printable(&list(&r.after))
    );
    if holds {
        eprintln!("note: {message}; this edit is in it");
        Ok(())
    } else {
        Err(Failure::Exit(
            1,
            format!("{message}; this edit is not in it: run it again"),
        ))
    }
}
