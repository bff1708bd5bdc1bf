//! `opx credentials ID`: new proxy login and password. The old ones stop working at once, so it
//! asks first like a money command, or takes `--yes`; the change is kept in the journal like a
//! money call, so a lost answer is resolved by `opx pending`.

use opx::types::ServiceId;

use crate::args::typed;
use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::show;

/// Arguments of `opx credentials`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # New proxy login and password (asks first: the old ones stop working)
  opx credentials 65aa1100b2c3d4e5f6a7b8d0
  # Without asking, then fetch the list with the new credentials
  opx credentials 65aa1100b2c3d4e5f6a7b8d0 -y
  opx proxies 65aa1100b2c3d4e5f6a7b8d0 > proxies.txt")]
pub struct CredentialsArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
}

/// `opx credentials ID`: new login and password (asks first).
pub async fn run(ctx: &Ctx, args: CredentialsArgs) -> Result<(), Failure> {
    let id = args.id;
    let client = ctx.client()?;
    if !args.yes {
        let question = "Regenerate the proxy credentials?";
        confirm::require_terminal(question)?;
        confirm::ask(
            &format!("Service {id}: the current login and password stop working at once.\n"),
            question,
        )?;
    }
    let entry = match client.journal() {
        Some(journal) => {
            let login_before = client.service(&id).await?.auth.login.clone();
            let call = opx::safe::MoneyCall::Credentials {
                service_id: id.clone(),
                login_before,
            };
            Some((
                journal,
                journal.begin(call, None, client.server_now(), None)?,
            ))
        }
        None => None,
    };
    let sending = client.regenerate_credentials(&id);
    let result = crate::interrupt::guarded("credentials change", sending).await?;
    if let Some((journal, n)) = entry {
        let charge = result
            .as_ref()
            .map_or_else(opx::Error::charge, |_| opx::safe::Charge::Done);
        journal.settle(n, charge, Some(id.clone()), client.server_now());
    }
    match result {
        Ok(r) => show::response(&r, ctx.json, ctx.server_now()),
        Err(e) if e.is_committed() => {
            eprintln!(
                "note: {}; see the new credentials with `opx service {id}`",
                e.message()
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
