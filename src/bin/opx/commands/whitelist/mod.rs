//! `opx whitelist ID`: shows a service's whitelist; `opx whitelist ID IP...` replaces it (an
//! address given twice is refused); `opx whitelist clear ID` empties it, which cuts clients off,
//! so it shows what goes and asks first like a money command, or takes `--yes`. `opx whitelist
//! add` and `remove` edit one address (`edit.rs`).

mod edit;

use opx::types::ServiceId;

use crate::args::typed;
use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;
use crate::show;

fn whitelist_of(ips: &[String], labels: Vec<String>) -> Result<opx::types::Whitelist, Failure> {
    let parsed = opx::types::Whitelist::parse(ips)?;
    let addresses = parsed.ips();
    if let Some(twice) = addresses
        .iter()
        .enumerate()
        .find_map(|(i, ip)| addresses[..i].contains(ip).then_some(ip))
    {
        return Err(Failure::Usage(format!(
            "{twice} is given twice: give each address once; nothing was sent"
        )));
    }
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
#[command(after_help = "\
Examples:
  # Show a service's whitelist
  opx whitelist 65aa1100b2c3d4e5f6a7b8d0
  # Replace it with two labelled addresses (shows the change and asks first)
  opx whitelist 65aa1100b2c3d4e5f6a7b8d0 203.0.113.10 198.51.100.4 --label home --label office
  # Add one address, keeping the rest
  opx whitelist add 65aa1100b2c3d4e5f6a7b8d0 203.0.113.10 --label home")]
pub struct WhitelistArgs {
    /// Add or remove one address, keeping the other entries and their labels.
    #[command(subcommand)]
    edit: Option<edit::Edit>,
    /// Service id (24 hex characters).
    #[arg(required = true, value_parser = typed::<ServiceId>)]
    id: Option<ServiceId>,
    /// IPv4 addresses (at most 50, each once): the new whitelist. Without any, the whitelist
    /// is shown (`opx whitelist clear ID` empties it).
    ips: Vec<String>,
    /// A label for each address, in order (give none or one per address).
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
    /// Do not ask before replacing the whitelist (without it: the changes are shown and asked
    /// about on a terminal, refused elsewhere).
    #[arg(short = 'y', long)]
    yes: bool,
}

/// `opx whitelist`: an edit, or a replacement.
pub async fn run(ctx: &Ctx, args: WhitelistArgs) -> Result<(), Failure> {
    match (args.edit, args.id) {
        (Some(edit), _) => edit::run(ctx, edit).await,
        (None, Some(id)) if args.ips.is_empty() && args.yes => Err(Failure::Usage(format!(
            "`opx whitelist {id}` shows the whitelist; to empty it: `opx whitelist clear {id} --yes`"
        ))),
        (None, Some(id)) if args.ips.is_empty() && args.labels.is_empty() => {
            show_list(ctx, &id).await
        }
        (None, Some(id)) => replace(ctx, id, &args.ips, args.labels, args.yes).await,
        (None, None) => Err(Failure::Usage("give a service id".into())), // clap requires one
    }
}

/// `opx whitelist ID`: the whitelist, one address a row with its label (`--json`: the
/// service's `whitelist` as the API sent it).
async fn show_list(ctx: &Ctx, id: &ServiceId) -> Result<(), Failure> {
    let Some(s) = ctx.read(ctx.client()?.service(id)).await? else {
        return Ok(());
    };
    if ctx.json {
        let data: serde_json::Value = serde_json::from_str(output::raw_data(s.body())?.get())
            .map_err(|e| Failure::Other(e.to_string()))?;
        return output::print_json(&data["whitelist"]);
    }
    if s.whitelist.is_empty() {
        return output::print(&format!(
            "The whitelist of service {id} is empty: no address is let in without the proxy \
             login and password.\n"
        ));
    }
    let mut table = output::Table::new(&["IP", "LABEL"]);
    for e in &s.whitelist {
        table.row(vec![
            e.ip.to_string(),
            e.label
                .clone()
                .filter(|l| !l.is_empty())
                .unwrap_or_default(),
        ]);
    }
    output::print(&table.render())
}

/// `opx whitelist clear ID`: shows what goes, asks (or `--yes`), empties the whitelist.
pub async fn clear(ctx: &Ctx, id: ServiceId, yes: bool) -> Result<(), Failure> {
    let client = ctx.client()?;
    let current = client.service(&id).await?;
    if current.whitelist.is_empty() {
        return match ctx.json {
            true => show::response(&current, true, ctx.server_now()),
            false => output::print(&format!(
                "The whitelist of service {id} is already empty; nothing to clear.\n"
            )),
        };
    }
    if !yes {
        let question = "Clear the whitelist?";
        confirm::require_terminal(question)?;
        let goes = current
            .whitelist
            .iter()
            .map(|e| match e.label.as_deref().filter(|l| !l.is_empty()) {
                Some(l) => format!("  - {} ({})\n", e.ip, output::printable(l)),
                None => format!("  - {}\n", e.ip),
            })
            .collect::<String>();
        confirm::ask(
            &format!(
                "Service {id}: these {} addresses are removed, and every client that \
                 authenticates by its IP address loses access at once:\n{goes}",
                current.whitelist.len()
            ),
            question,
        )?;
    }
    let empty = opx::types::Whitelist::parse(std::iter::empty::<&str>())?;
    let s = client.replace_whitelist(&id, &empty).await?;
    show::response(&s, ctx.json, ctx.server_now())
}

/// `opx whitelist ID IP...`: replaces the whitelist; unless `yes`, after showing what changes
/// (on a terminal; refused elsewhere, before anything is sent).
async fn replace(
    ctx: &Ctx,
    id: ServiceId,
    ips: &[String],
    labels: Vec<String>,
    yes: bool,
) -> Result<(), Failure> {
    let whitelist = whitelist_of(ips, labels)?;
    let client = ctx.client()?;
    if !yes {
        let question = "Replace the whitelist?";
        confirm::require_terminal(question)?;
        let current = client.service(&id).await?;
        let after: Vec<opx::types::WhitelistEntry> = whitelist
            .ips()
            .iter()
            .enumerate()
            .map(|(i, ip)| opx::types::WhitelistEntry::new(*ip, whitelist.labels().get(i).cloned()))
            .collect();
        let Some(changes) = diff(&current.whitelist, &after) else {
            return output::print(&format!(
                "The whitelist of service {id} already holds exactly these addresses; nothing \
                 was sent.\n"
            ));
        };
        confirm::ask(
            &format!("Service {id}: the whitelist changes so:\n{changes}"),
            question,
        )?;
    }
    let s = client.replace_whitelist(&id, &whitelist).await?;
    show::response(&s, ctx.json, ctx.server_now())
}

/// An entry as a prompt shows it: `203.0.113.10 (home)`.
fn shown(e: &opx::types::WhitelistEntry) -> String {
    match e.label.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => format!("{} ({})", e.ip, output::printable(l)),
        None => e.ip.to_string(),
    }
}

/// What replacing `before` by `after` changes, a line each (`- ` goes, `+ ` comes, `~ ` a new
/// label), with how many stay; `None` when nothing changes.
fn diff(
    before: &[opx::types::WhitelistEntry],
    after: &[opx::types::WhitelistEntry],
) -> Option<String> {
    let label = |e: &opx::types::WhitelistEntry| e.label.clone().unwrap_or_default();
    let mut lines = String::new();
    let mut kept = 0;
    for b in before {
        match after.iter().find(|a| a.ip == b.ip) {
            None => lines.push_str(&format!("  - {}\n", shown(b))),
            Some(a) if label(a) != label(b) => {
                lines.push_str(&format!("  ~ {} -> {}\n", shown(b), shown(a)));
            }
            Some(_) => kept += 1,
        }
    }
    for a in after.iter().filter(|a| before.iter().all(|b| b.ip != a.ip)) {
        lines.push_str(&format!("  + {}\n", shown(a)));
    }
    if lines.is_empty() {
        return None;
    }
    if kept > 0 {
        lines.push_str(&format!("  ({kept} unchanged)\n"));
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use opx::types::WhitelistEntry;

    fn entry(ip: &str, label: Option<&str>) -> WhitelistEntry {
        WhitelistEntry::new(ip.parse().unwrap(), label.map(str::to_owned))
    }

    #[test]
    fn a_replacement_shows_what_goes_comes_and_is_relabelled() {
        let before = [
            entry("203.0.113.10", Some("home")),
            entry("198.51.100.4", None),
            entry("192.0.2.1", Some("lab")),
        ];
        let after = [
            entry("203.0.113.10", Some("office")),
            entry("192.0.2.1", Some("lab")),
            entry("192.0.2.9", None),
        ];
        assert_eq!(
            super::diff(&before, &after).unwrap(),
            "  ~ 203.0.113.10 (home) -> 203.0.113.10 (office)\n  - 198.51.100.4\n  \
             + 192.0.2.9\n  (1 unchanged)\n"
        );
        assert_eq!(super::diff(&before, &before), None);
        // No label and an empty one are the same.
        assert_eq!(
            super::diff(&[entry("192.0.2.1", Some(""))], &[entry("192.0.2.1", None)]),
            None
        );
    }
}
