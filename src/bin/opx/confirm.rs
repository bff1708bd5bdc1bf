//! Confirmation of commands that spend money or invalidate credentials: `--yes`, or an
//! interactive `y` on a terminal after the price and balance are shown. Without either, refuse,
//! before anything is sent.

use std::io::{BufRead, IsTerminal, Write};

use crate::failure::Failure;
use crate::output;

/// Whether the user can be asked: stdin and stderr are a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Refuses (exit 2) unless stdin and stderr are a terminal, where the user can be asked.
pub fn require_terminal(question: &str) -> Result<(), Failure> {
    if can_ask() {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "{question} Not confirmed: pass --yes (stdin is not a terminal to ask on); \
             nothing was done"
        )))
    }
}

/// Shows `details`, asks `question` on the terminal, and refuses unless the answer is yes.
pub fn ask(details: &str, question: &str) -> Result<(), Failure> {
    let mut err = std::io::stderr().lock();
    write!(err, "{details}{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
        Ok(())
    } else {
        Err(Failure::Usage("not confirmed; nothing was done".into()))
    }
}

/// Refuses a charge of `price` the balance cannot cover, else asks (price and balance after).
pub async fn charge(
    client: &opx::Client,
    what: &str,
    price: Option<i64>,
    question: &str,
) -> Result<(), Failure> {
    require_terminal(question)?;
    let balance = client.account().await?.balance;
    let details = match price {
        Some(p) if balance < p => {
            return Err(Failure::Exit(
                3,
                format!(
                    "{what} costs {} but the balance is {}; top up the balance in the dashboard; \
                     nothing was sent",
                    output::rub(p),
                    output::rub(balance)
                ),
            ));
        }
        Some(p) => format!(
            "{what}: {}\nbalance {} -> {} after\n",
            output::rub(p),
            output::rub(balance),
            output::rub(balance - p)
        ),
        None => format!(
            "{what}: the plan price (the plan is not in the catalog)\nbalance {}\n",
            output::rub(balance)
        ),
    };
    ask(&details, question)
}
