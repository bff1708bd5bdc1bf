//! The commands that change a service without charging: `whitelist`, `credentials`, `country`,
//! `rotation`. The two that can cut clients off (a cleared whitelist, new credentials) ask first
//! like a money command, or take `--yes`.

use opx::types::ServiceId;

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

/// `opx whitelist ID [IP...]`: replaces the whitelist; no address clears it (asks first).
pub async fn whitelist(
    ctx: &Ctx,
    id: String,
    ips: Vec<String>,
    labels: Vec<String>,
    yes: bool,
) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let whitelist = whitelist_of(&ips, labels)?;
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

/// `opx credentials ID`: new login and password (asks first).
pub async fn credentials(ctx: &Ctx, id: String, yes: bool) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let client = ctx.client()?;
    if !yes {
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
                journal.begin(call, None, chrono::Utc::now(), None)?,
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
        journal.settle(n, charge, Some(id.clone()), chrono::Utc::now());
    }
    match result {
        Ok(r) => show::response(&r, ctx.json),
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

/// What `opx country` and `opx rotation` set, as given on the command line.
pub enum Setting {
    /// `opx country ID COUNTRY`.
    Country(String),
    /// `opx rotation ID ROTATION`.
    Rotation(String),
}

/// `opx country ID COUNTRY` and `opx rotation ID ROTATION`: the id is checked first, then the
/// value, then the change is sent.
pub async fn set(ctx: &Ctx, id: String, setting: Setting) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let changed = match setting {
        Setting::Country(country) => {
            let country = opx::types::Country::new(country)?;
            ctx.client()?.change_country(&id, &country).await?
        }
        Setting::Rotation(rotation) => {
            let rotation = opx::types::Rotation::new(rotation)?;
            ctx.client()?.change_rotation(&id, &rotation).await?
        }
    };
    show::response(&changed, ctx.json)
}
