//! `opx auth login | status | logout`: a token checked with `GET /account` and kept in the OS
//! keychain (or, where there is none, in a file readable by you alone), so that every command
//! works with no environment variable set.

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand};

use crate::config::{Settings, Token, login};
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// `opx auth`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Store a token (prompted for without echo), checked against the API first
  opx auth login
  # Is the token in use accepted, and where does it come from?
  opx auth status
  # Forget the stored token
  opx auth logout")]
pub struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

/// The subcommands of `opx auth`.
#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Store an API token for the base URL (of the profile, or --base-url): read from a prompt
    /// without echo on a terminal, else from stdin (`opx auth login < token.txt`), checked with
    /// `GET /account` first, then kept in the OS keychain, or in <config dir>/opx/auth.json
    /// (mode 600) where there is none (OPX_KEYRING=0 chooses the file).
    Login(LoginArgs),
    /// Show the token in use: where it comes from, its fingerprint, the base URL it goes to,
    /// and whether the API takes it (`GET /account`; exit 3 when refused).
    #[command(after_help = "\
Examples:
  # Where the token comes from, and whether the API takes it
  opx auth status
  # The same for another profile
  opx auth status --profile work")]
    Status,
    /// Remove the stored token of the profile (or of `default`) from the keychain or the file.
    #[command(after_help = "\
Examples:
  # Remove the stored token of the default profile
  opx auth logout
  # Remove a profile's stored token
  opx auth logout --profile work")]
    Logout,
}

/// `opx auth login`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Prompt for the token (no echo) and store it in the OS keychain
  opx auth login
  # From a file or a secret manager, for a named profile
  opx auth login --with-token --profile work < token.txt
  # For a mock or staging server
  opx auth login --base-url http://127.0.0.1:8080/api/v1 < token.txt")]
struct LoginArgs {
    /// Read the token from stdin even on a terminal.
    #[arg(long)]
    with_token: bool,
}

/// `opx auth ...`.
pub async fn run(ctx: &Ctx, args: AuthArgs) -> Result<(), Failure> {
    match args.command {
        AuthCommand::Login(a) => login(ctx, a).await,
        AuthCommand::Status => status(ctx).await,
        AuthCommand::Logout => logout(ctx),
    }
}

/// The token typed at a prompt without echo, or read whole from stdin.
fn read_token(from_stdin: bool) -> Result<Token, Failure> {
    let text = if from_stdin || !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| Failure::Usage(format!("cannot read the token from stdin: {e}")))?;
        text
    } else {
        rpassword::prompt_password("Paste your OP-Proxy API token (it is not shown): ")
            .map_err(|e| Failure::Usage(format!("cannot read the token from the terminal: {e}")))?
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::Usage(
            "no token given (on stdin or at the prompt); nothing was stored".into(),
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Failure::Usage(
            "the token holds whitespace or control characters (is it one line?); nothing was stored"
                .into(),
        ));
    }
    Ok(Token::new(token.to_owned()))
}

/// A client for `token` at `base_url` (the CLI's settings for the rest).
fn client(ctx: &Ctx, base_url: &str, token: &Token) -> Result<opx::Client, Failure> {
    let mut builder = opx::ClientBuilder::new()
        .token(token.expose())
        .base_url(base_url)
        .user_agent(concat!("opx-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = ctx.timeout() {
        builder = builder.deadline(t);
    }
    builder = ctx.proxy_for(base_url).apply(builder);
    Ok(builder.build()?)
}

async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), Failure> {
    let settings = Settings::resolve_with(ctx.profile(), ctx.base_url(), false)?;
    if settings.profile_token() {
        return Err(Failure::Usage(format!(
            "profile {} takes its token from its token_env / token_file, which is used before \
             a stored one: remove that line from the config file to log in instead",
            settings.login_name()
        )));
    }
    let (base_url, _) = settings.base_url();
    settings.check_base_url()?;
    let name = settings.login_name().to_owned();
    let token = read_token(args.with_token)?;
    let account = match client(ctx, &base_url, &token)?.account().await {
        Ok(a) => a,
        Err(e) => {
            let why = Failure::from(e);
            return Err(Failure::Exit(
                why.exit_code(),
                format!("{why}; the token was not stored"),
            ));
        }
    };
    let path = login::file_path()?;
    let (store, why) = login::save(
        &path,
        &login::Keychain::platform(),
        &name,
        &base_url,
        &token,
    )?;
    let place = match store {
        login::StoreKind::Keychain => "the OS keychain".to_owned(),
        login::StoreKind::File => format!(
            "{} (readable by you alone; {})",
            path.display(),
            match &why {
                Some(why) => format!("the OS keychain did not take it: {why}"),
                None if login::Keychain::turned_off() => format!("{} is set", login::KEYRING_ENV),
                None => "there is no OS keychain here".to_owned(),
            }
        ),
    };
    if ctx.json {
        return output::print_json(&serde_json::json!({
            "login": name,
            "base_url": base_url,
            "username": account.username,
            "token_fingerprint": token.fingerprint(),
            "store": store,
            "file": (store == login::StoreKind::File).then(|| path.display().to_string()),
        }));
    }
    output::print(&format!(
        "Logged in to {} as {} ({}), login {name}: token {} stored in {place}\n",
        base_url,
        output::printable(&account.username),
        output::printable(&account.email),
        token.fingerprint(),
    ))?;
    if std::env::var_os(opx::ClientBuilder::TOKEN_ENV).is_some() {
        eprintln!(
            "note: {} is set, and is used before the stored token while it is",
            opx::ClientBuilder::TOKEN_ENV
        );
    }
    Ok(())
}

async fn status(ctx: &Ctx) -> Result<(), Failure> {
    let settings = ctx.settings()?;
    let (base_url, base_url_from) = settings.base_url();
    let base_url_from = base_url_from.to_owned();
    settings.check_base_url()?;
    let (token, from) = settings.into_token()?;
    let answer = client(ctx, &base_url, &token)?.account().await;
    let (valid, account, problem) = match answer {
        Ok(a) => (true, Some(a), None),
        Err(e) if e.kind() == opx::ErrorKind::Api => (false, None, Some(Failure::from(e))),
        Err(e) => return Err(e.into()),
    };
    if ctx.json {
        output::print_json(&serde_json::json!({
            "base_url": base_url,
            "base_url_from": base_url_from,
            "token_from": from,
            "token_fingerprint": token.fingerprint(),
            "valid": valid,
            "username": account.as_ref().map(|a| &a.username),
            "email": account.as_ref().map(|a| &a.email),
            "balance": account.as_ref().map(|a| a.balance),
            "problem": problem.as_ref().map(ToString::to_string),
        }))?;
    } else {
        output::print(&output::fields(&[
            ("base URL", format!("{base_url} ({base_url_from})")),
            ("token", format!("{} (from {from})", token.fingerprint())),
            (
                "valid",
                match (&account, &problem) {
                    (Some(a), _) => format!(
                        "yes: account {} ({}), balance {}",
                        a.username,
                        a.email,
                        output::rub(a.balance)
                    ),
                    (None, Some(p)) => format!("no: {p}"),
                    (None, None) => "no".to_owned(),
                },
            ),
        ]))?;
    }
    match problem {
        None => Ok(()),
        Some(p) => Err(Failure::Exit(
            p.exit_code(),
            format!("the API does not take this token: {p}"),
        )),
    }
}

fn logout(ctx: &Ctx) -> Result<(), Failure> {
    let settings = Settings::resolve_with(ctx.profile(), ctx.base_url(), false)?;
    let name = settings.login_name().to_owned();
    let path = login::file_path()?;
    match login::remove(&path, &login::Keychain::platform(), &name)? {
        Some(url) => output::print(&format!(
            "Logged out: the stored token of login {name} (for {url}) is removed\n"
        )),
        None => output::print(&format!(
            "No token is stored for login {name}; nothing to remove\n"
        )),
    }
}
