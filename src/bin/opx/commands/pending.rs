//! `opx pending`: the money calls of this profile and base URL whose outcome is unknown, each
//! looked at again first (a purchase whose service appeared, an extension whose expiry moved is
//! settled as done), and what was spent today and this month against the spend cap.
//! `opx pending dismiss ENTRY`: set one aside after checking by hand.
//!
//! Exit codes: 0 when nothing is unknown (or an entry was dismissed); 5 while something is.

use opx::safe::{EntryState, JournalEntry};
use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Table};

/// Arguments of `opx pending`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # The unknown money calls (resolved first where possible) and today's and this month's spend
  opx pending
  # Set entry 3 aside after checking by hand that it did not happen
  opx pending dismiss 3")]
pub struct PendingArgs {
    #[command(subcommand)]
    action: Option<Action>,
}

/// What to do with the journal.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Set an unknown entry aside after checking by hand that it did not happen: it is no
    /// longer unknown, no longer counted as spent, and no longer blocks the same call.
    #[command(after_help = "\
Examples:
  # List the entries and their numbers first
  opx pending
  # Set entry 3 aside (after checking by hand that it did not happen)
  opx pending dismiss 3")]
    Dismiss {
        /// The entry's number, as `opx pending` lists it.
        entry: u64,
    },
}

/// `opx pending`.
pub async fn run(ctx: &Ctx, args: PendingArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let journal = client
        .journal()
        .ok_or_else(|| Failure::Other("this client keeps no journal".into()))?;
    if let Some(Action::Dismiss { entry }) = args.action {
        if !journal.dismiss(entry, client.server_now())? {
            return Err(Failure::Usage(format!(
                "no unknown entry {entry} in the journal; list them with `opx pending`"
            )));
        }
        return output::print(&format!("entry {entry} dismissed\n"));
    }
    let looked_at = client.resolve_pending().await?;
    let still: Vec<_> = looked_at
        .iter()
        .filter(|e| e.state == EntryState::Unknown)
        .collect();
    // By the server's day and month, as the journal's entries are stamped: its clock is read
    // first when no answer gave it yet.
    if looked_at.is_empty() {
        client.account().await?;
    }
    let spent = journal.spending(client.server_now())?;
    let cap = client.spend_cap().copied().unwrap_or_default();
    if ctx.json {
        output::print_json(
            &json!({"resolved": looked_at.iter().filter(|e| e.state == EntryState::Done).collect::<Vec<_>>(),
            "unknown": still, "spent": {"today": spent.today, "unknown_today": spent.unknown_today,
            "month": spent.month, "unknown_month": spent.unknown_month},
            "cap": {"day": cap.day(), "month": cap.month()}}),
        )?;
    } else {
        output::print(&render(&looked_at, &still, &spent, &cap))?;
    }
    if still.is_empty() {
        Ok(())
    } else {
        Err(Failure::Exit(
            5,
            format!(
                "{} money call(s) still unknown: they may still be charged; run `opx pending` \
                 again later, or check by hand and `opx pending dismiss ENTRY`",
                still.len()
            ),
        ))
    }
}

fn row(e: &JournalEntry) -> Vec<String> {
    vec![
        e.id.to_string(),
        output::time(&e.at),
        e.call.describe(),
        e.price.map_or_else(|| "?".into(), output::rub),
        e.service_id
            .as_ref()
            .map_or_else(String::new, ToString::to_string),
    ]
}

fn render(
    looked_at: &[JournalEntry],
    still: &[&JournalEntry],
    spent: &opx::safe::Spending,
    cap: &opx::safe::SpendCap,
) -> String {
    let mut out = String::new();
    for e in looked_at.iter().filter(|e| e.state == EntryState::Done) {
        out += &format!(
            "resolved: entry {} ({}) was done: service {} (charged {})\n",
            e.id,
            e.call.describe(),
            e.service_id
                .as_ref()
                .map_or_else(|| "?".into(), ToString::to_string),
            e.price.map_or_else(|| "?".into(), output::rub)
        );
    }
    if still.is_empty() {
        out += "no money call has an unknown outcome\n";
    } else {
        let mut table = Table::new(&["ENTRY", "SENT", "CALL", "PRICE", "SERVICE"]);
        still.iter().for_each(|e| table.row(row(e)));
        out += &format!("unknown (may still be charged):\n{}", table.render());
    }
    let of = |limit: Option<i64>| {
        limit.map_or_else(String::new, |l| format!(" of a {} cap", output::rub(l)))
    };
    out += &format!(
        "spent today {}{} (of which {} unknown); this month {}{} (of which {} unknown)\n",
        output::rub(spent.today),
        of(cap.day()),
        output::rub(spent.unknown_today),
        output::rub(spent.month),
        of(cap.month()),
        output::rub(spent.unknown_month)
    );
    out
}
