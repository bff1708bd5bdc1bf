//! `opx renew --before DURATION --max-spend RUB [--yes]`: the active services expiring within
//! the window, the price of extending each, the total and the balance after; then, after a `y`
//! on a terminal or with `--yes`, extends them oldest expiry first (through `extend_safely`,
//! each at most once) and never past the cap or the balance, then shows what it did.
//!
//! Exit codes: 0 when the plan was only shown, or every due service was extended; 1 when some
//! due service was left (cap, balance, unknown price, a refused extension); 5 when an
//! extension's outcome is unknown.

use std::time::Duration;

use opx::renewal::{Decision, RenewalOutcome, RenewalPlan, RenewalPlanner, RenewalReport, Skip};
use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Table};

/// Arguments of `opx renew`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # What is due within a week and for how much, then a question (on a terminal)
  opx renew --before 7d --max-spend 5000
  # Only the plan, every due service listed (spends nothing)
  opx renew --before 7d --max-spend 5000 --dry-run --verbose
  # From cron: wait out rate limits instead of failing
  opx renew --before 36h --max-spend 2000 -y --pace")]
pub struct RenewArgs {
    /// Services expiring within this time from now (the server's time, its `Date`): `7d`,
    /// `36h`, `90m`, `1w`, `2d 12h`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    before: Duration,
    /// The most to spend in this run, in whole roubles.
    #[arg(long, value_name = "RUB", value_parser = clap::value_parser!(i64).range(0..))]
    max_spend: i64,
    /// Do not ask for confirmation (off a terminal, where nothing can be asked, the plan is
    /// only shown without it).
    #[arg(short = 'y', long, conflicts_with = "dry_run")]
    yes: bool,
    /// Only show the plan: nothing is asked or spent.
    #[arg(long)]
    dry_run: bool,
    /// List every due service, also those the plan stops before (cap or balance).
    #[arg(short, long)]
    verbose: bool,
    /// Extend a service even while an earlier extension of it has an unknown outcome.
    #[arg(long)]
    pub force: bool,
}

/// Whether the plan is carried out: `--yes`, or a `y` on a terminal after the plan is shown.
/// Off a terminal without `--yes`, and with `--dry-run`, the plan is only shown (exit 0).
fn confirmed(
    args: &RenewArgs,
    plan: &RenewalPlan,
    planner: &RenewalPlanner,
    json: bool,
    now: output::Now,
) -> Result<bool, Failure> {
    let show = |dry_run| print_plan(plan, planner, args.verbose, json, dry_run, now);
    if args.yes {
        if plan.items.is_empty() && !json {
            show(false)?;
            return Ok(false);
        }
        return Ok(true);
    }
    let extend = plan.to_extend().count();
    if args.dry_run || json || extend == 0 || !crate::confirm::can_ask() {
        show(extend > 0)?;
        return Ok(false);
    }
    show(false)?;
    let plural = if extend == 1 { "" } else { "s" };
    let question = format!(
        "Extend {extend} service{plural} for {}?",
        output::rub(plan.total())
    );
    crate::confirm::ask("", &question)?;
    Ok(true)
}

/// `opx renew`.
pub async fn run(ctx: &Ctx, args: RenewArgs) -> Result<(), Failure> {
    let planner = RenewalPlanner::new(args.before, args.max_spend)?;
    let client = ctx.client()?;
    let plan = client.renewal_plan(&planner).await?;
    if !confirmed(&args, &plan, &planner, ctx.json, client.server_now())? {
        return Ok(());
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let run = client.renew_until(&plan, &stop);
    let stopping = || {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        eprintln!("\nstopping: no further extension is started");
    };
    let report = crate::interrupt::guarded_with("renewal", run, stopping).await?;
    print_report(&report, args.verbose, ctx.json)?;
    if report.has_unknown() {
        // Nothing may have been charged in this run when the only unknown is an earlier one
        // (an extension refused before sending while an earlier one of it is unknown).
        let happened = if report.maybe_spent > 0 {
            format!(
                "an extension may or may not have been charged ({})",
                output::rub(report.maybe_spent)
            )
        } else {
            "an earlier extension of a due service has an unknown outcome, so this run did not \
             send one for it (nothing was sent for it now)"
                .to_owned()
        };
        Err(Failure::unknown(
            &happened,
            true,
            Some(crate::failure::CHARGE_TWICE),
        ))
    } else if !report.is_complete() {
        Err(Failure::Exit(
            1,
            format!(
                "{} of {} due services extended; the others are listed with the reason",
                report.extended(),
                report.results.len()
            ),
        ))
    } else {
        Ok(())
    }
}

fn price(p: Option<i64>) -> String {
    p.map_or_else(|| "?".into(), output::rub)
}

/// Whether a row is one of the rest the plan stopped before, shown only with `--verbose`.
fn stopped_before(d: Decision) -> bool {
    matches!(d, Decision::Skip(Skip::Stopped | Skip::NotAttempted))
}

/// After a table that left `hidden` rows out: how many, and how to see them.
fn hidden_note(hidden: usize) -> String {
    if hidden == 0 {
        return String::new();
    }
    format!(
        "{hidden} more due service{} left: the plan stops at the cap or the balance \
         (--verbose lists them)\n",
        if hidden == 1 { " is" } else { "s are" }
    )
}

/// The plan: the due services (with `--verbose` also those the plan stops before), the total
/// and the balance after; `dry_run` adds that nothing was extended; `now` is the server's time.
fn print_plan(
    plan: &RenewalPlan,
    planner: &RenewalPlanner,
    verbose: bool,
    json: bool,
    dry_run: bool,
    now: output::Now,
) -> Result<(), Failure> {
    if json {
        let items: Vec<_> = plan
            .items
            .iter()
            .map(|r| {
                json!({"service_id": r.service.service_id, "expires_at": r.service.expires_at,
                    "price": r.price, "extend": r.decision == Decision::Extend,
                    "reason": skip_reason(r.decision)})
            })
            .collect();
        return output::print_json(&json!({"dry_run": true, "services": items,
            "total": plan.total(), "max_spend": plan.max_spend, "balance": plan.balance,
            "balance_after": plan.balance_after()}));
    }
    let window = opx::clock::human(planner.window());
    if plan.items.is_empty() {
        return output::print(&format!("no active service expires within {window}\n"));
    }
    let mut table = Table::new(&["SERVICE", "TYPE", "EXPIRES", "EXPIRES IN", "PRICE", "PLAN"]);
    let shown = plan
        .items
        .iter()
        .filter(|r| verbose || !stopped_before(r.decision));
    for r in shown.clone() {
        let what = match r.decision {
            Decision::Extend => "extend".to_owned(),
            other => format!("skip: {}", skip_reason(other).unwrap_or_default()),
        };
        table.row(vec![
            r.service.service_id.to_string(),
            r.service.service_type.to_string(),
            output::time(&r.service.expires_at),
            output::expires_in(&r.service.expires_at, now),
            price(r.price),
            what,
        ]);
    }
    let dry = if dry_run {
        "dry run: nothing was extended; pass --yes to extend them\n"
    } else {
        ""
    };
    output::print(&format!(
        "{} within {window}; cap {}\n{}{}total {}; balance {} -> {} after\n{dry}",
        match plan.items.len() {
            1 => "1 active service expires".to_owned(),
            n => format!("{n} active services expire"),
        },
        cap_text(plan, planner),
        table.render(),
        hidden_note(plan.items.len() - shown.count()),
        output::rub(plan.total()),
        output::rub(plan.balance),
        output::rub(plan.balance_after()),
    ))
}

/// The plan's cap, and why it is lower than `--max-spend` when it is (the profile's spend cap).
fn cap_text(plan: &RenewalPlan, planner: &RenewalPlanner) -> String {
    let cap = output::rub(plan.max_spend);
    if plan.max_spend < planner.max_spend() {
        format!(
            "{cap} (what the profile's spend cap leaves of --max-spend {})",
            output::rub(planner.max_spend())
        )
    } else {
        cap
    }
}

fn skip_reason(d: Decision) -> Option<&'static str> {
    match d {
        Decision::Skip(why) => Some(why.describe()),
        _ => None,
    }
}

/// What happened to one service: a word for the table and the detail (new expiry or reason).
fn outcome(o: &RenewalOutcome) -> (&'static str, String) {
    match o {
        RenewalOutcome::Extended(until) => ("extended", format!("until {}", output::time(until))),
        RenewalOutcome::ExtendedUnread(e) => ("extended", e.message().to_owned()),
        RenewalOutcome::ExtendedEarlier { entry } => (
            "extended",
            format!("by an earlier extension (journal entry {entry}) found done; not sent again"),
        ),
        RenewalOutcome::Skipped(why) => ("skipped", why.describe().to_owned()),
        RenewalOutcome::Failed(e) => ("not extended", format!("{}; not charged", error_text(e))),
        RenewalOutcome::Unknown(e) => ("UNKNOWN", e.message().to_owned()),
    }
}

/// An error in a table cell: its code, if any, and its message.
fn error_text(e: &opx::Error) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.message()),
        None => e.message().to_owned(),
    }
}

fn print_report(report: &RenewalReport, verbose: bool, json: bool) -> Result<(), Failure> {
    if json {
        let results: Vec<_> = report
            .results
            .iter()
            .map(|r| {
                let (what, detail) = outcome(&r.outcome);
                let new = match r.outcome {
                    RenewalOutcome::Extended(t) => Some(t),
                    _ => None,
                };
                json!({"service_id": r.service_id, "expires_at": r.expires_at, "price": r.price,
                    "result": what.to_ascii_lowercase(), "detail": detail, "new_expires_at": new})
            })
            .collect();
        return output::print_json(&json!({"services": results, "spent": report.spent,
            "maybe_spent": report.maybe_spent, "balance_after": report.balance_after}));
    }
    let mut table = Table::new(&["SERVICE", "EXPIRES", "PRICE", "RESULT", "DETAIL"]);
    let shown = report.results.iter().filter(|r| {
        verbose || !matches!(r.outcome, RenewalOutcome::Skipped(why) if stopped_before(Decision::Skip(why)))
    });
    for r in shown.clone() {
        let (what, detail) = outcome(&r.outcome);
        table.row(vec![
            r.service_id.to_string(),
            output::time(&r.expires_at),
            price(r.price),
            what.to_owned(),
            detail,
        ]);
    }
    let balance = report
        .balance_after
        .map_or_else(|| "unread".to_owned(), output::rub);
    let maybe = if report.maybe_spent > 0 {
        format!(
            "; {} more may have been charged (outcome unknown: see `opx pending`)",
            output::rub(report.maybe_spent)
        )
    } else {
        String::new()
    };
    output::print(&format!(
        "{}{}extended {} of {}; spent {}{maybe}; balance now {balance}\n",
        table.render(),
        hidden_note(report.results.len() - shown.count()),
        report.extended(),
        report.results.len(),
        output::rub(report.spent),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opx::Operation;
    use opx::mock::{Fault, MockServer, ServiceSeed};
    use opx::safe::ReconcilePolicy;

    use super::{RenewArgs, run};
    use crate::context::Ctx;

    /// `opx renew --yes` whose first extension's outcome cannot be told: exit 5, one POST, the
    /// run stopped there (the CLI's code with a 20 ms reconciliation instead of 10 s).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_outcome_exits_5_and_stops_the_run() {
        let s = MockServer::start().await;
        let seed = ServiceSeed::count(3).expires_in_seconds(3600);
        s.services().seed_with(&seed).unwrap();
        let policy = ReconcilePolicy::default().window(Duration::from_millis(20));
        let client = s.client_builder().reconcile_policy(policy).build().unwrap();
        let ctx = Ctx::with_client(client);
        let faults = s.faults();
        faults.inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
        // Listing reads, the read before the extension answers, every read after it fails.
        faults.inject(Operation::GetService, Fault::Delay(Duration::ZERO), 1);
        faults.inject(Operation::GetService, Fault::Status(500), 100);
        let args = RenewArgs {
            before: Duration::from_secs(86_400),
            max_spend: 100_000,
            yes: true,
            dry_run: false,
            verbose: false,
            force: false,
        };
        let failure = run(&ctx, args).await.unwrap_err();
        assert_eq!(failure.exit_code(), 5, "{failure}");
        assert!(failure.to_string().contains("opx pending"), "{failure}");
        assert_eq!(s.records().executions(Operation::ExtendService), 1);
    }
}
