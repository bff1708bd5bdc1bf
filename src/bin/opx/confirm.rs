//! Confirmation of commands that spend money or invalidate credentials: `--yes`, or an
//! interactive `y` on a terminal after the price and balance are shown. Without either, refuse,
//! before anything is sent.

use std::io::{BufRead, IsTerminal, Write};

use crate::failure::Failure;

/// Refuses (exit 2) unless stdin and stderr are a terminal, where the user can be asked.
pub fn require_terminal(question: &str) -> Result<(), Failure> {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
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
