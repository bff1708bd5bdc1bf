//! `opx account`: user name, e-mail and balance.

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// `opx account`.
pub async fn run(ctx: &Ctx) -> Result<(), Failure> {
    let Some(a) = ctx.read(ctx.client()?.account()).await? else {
        return Ok(());
    };
    if ctx.json {
        return output::print_data(a.body());
    }
    output::print(&output::fields(&[
        ("username", a.username.clone()),
        ("email", a.email.clone()),
        ("balance", output::rub(a.balance)),
    ]))
}
