//! `opx whitelist ID [IP...]`: replaces a service's whitelist; no address clears it, which cuts
//! clients off, so it asks first like a money command, or takes `--yes`. `opx whitelist add` and
//! `remove` edit one address (`edit.rs`).

mod edit;

use opx::types::ServiceId;

use crate::args::typed;
use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::show;

fn whitelist_of(ips: &[String], labels: Vec<String>) -> Result<opx::types::Whitelist, Failure> {
    let parsed = opx::types::Whitelist::parse(ips)?;
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
    Ok(opx::types::Whitelist::with_labels(
        parsed.ips().iter().copied().zip(labels),
    )?)
}

/// Arguments of `opx whitelist`: a replacement, or an edit of one address.
#[derive(Debug, clap::Args)]
pub struct WhitelistArgs {
    /// Add or remove one address, keeping the other entries and their labels.
    #[command(subcommand)]
    edit: Option<edit::Edit>,
    /// Service id (24 hex characters).
    #[arg(required = true, value_parser = typed::<ServiceId>)]
    id: Option<ServiceId>,
    /// IPv4 addresses (at most 50).
    ips: Vec<String>,
    /// A label for each address, in order (give none or one per address).
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
    /// Do not ask before clearing the whitelist.
    #[arg(long)]
    yes: bool,
}

/// `opx whitelist`: an edit, or a replacement.
pub async fn run(ctx: &Ctx, args: WhitelistArgs) -> Result<(), Failure> {
    match (args.edit, args.id) {
        (Some(edit), _) => edit::run(ctx, edit).await,
        (None, Some(id)) => replace(ctx, id, &args.ips, args.labels, args.yes).await,
        (None, None) => Err(Failure::Usage("give a service id".into())), // clap requires one
    }
}

/// `opx whitelist ID [IP...]`: replaces the whitelist; no address clears it (asks first).
async fn replace(
    ctx: &Ctx,
    id: ServiceId,
    ips: &[String],
    labels: Vec<String>,
    yes: bool,
) -> Result<(), Failure> {
    let whitelist = whitelist_of(ips, labels)?;
    if whitelist.ips().is_empty() && !yes {
        let question = "Clear the whitelist?";
        confirm::require_terminal(question)?;
        confirm::ask(
            &format!(
                "Service {id}: every client that authenticates by its IP address loses access at once.\n"
            ),
            question,
        )?;
    }
    let s = ctx.client()?.replace_whitelist(&id, &whitelist).await?;
    show::response(&s, ctx.json)
}
