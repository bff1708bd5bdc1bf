//! The config file and its named profiles: where `opx` takes the base URL and the token from.
//!
//! ```toml
//! # ~/.config/opx/config.toml (or the file named by OPX_CONFIG)
//! default_profile = "work"          # optional: the profile used without --profile
//!
//! [profiles.work]
//! base_url = "https://op-proxy.com/api/v1"   # optional (this is the default)
//! token_env = "OPX_WORK_TOKEN"               # the token is in this environment variable, or
//!
//! [profiles.local]
//! base_url = "http://127.0.0.1:8080/api/v1"
//! token_file = "~/.config/opx/local.token"   # ... in this file, readable by you alone (chmod 600)
//! ```
//!
//! The token itself is never written in the config file (a `token` key is refused).
//!
//! Which values are used:
//! - the profile: `--profile`, else `OPX_PROFILE`, else `default_profile`, else none;
//! - with a profile, its token and base URL go together: the token from its `token_env` or
//!   `token_file` (`OPX_TOKEN` only when it names neither), its `base_url` unless `--base-url` /
//!   `OPX_BASE_URL` is given. So a token exported for one account is never sent to the host of
//!   another profile;
//! - without a profile: `OPX_TOKEN` and `--base-url` / `OPX_BASE_URL`, as before profiles existed.

use std::{collections::BTreeMap, path::PathBuf};

use opx::{Client, ClientBuilder};

use crate::failure::Failure;
use crate::output;

mod file;
pub mod login;
mod token;

use file::{Active, CONFIG_ENV, File, check_profile, read_file, shown};
pub use token::Token;
use token::{read_token, token_from_env};

/// Selects a profile (same as `--profile`).
pub const PROFILE_ENV: &str = "OPX_PROFILE";
/// The file's name inside `<config dir>/opx/`.
const FILE_NAME: &str = "config.toml";
/// The name of the login made without a profile.
pub const DEFAULT_LOGIN: &str = "default";

/// Where the config file is, and whether it exists.
#[derive(Debug)]
struct Location {
    path: Option<PathBuf>,
    /// Named by `OPX_CONFIG` (so it must exist).
    explicit: bool,
}

/// Everything `opx config` shows, and what a command needs.
#[derive(Debug)]
pub struct Settings {
    location: Location,
    exists: bool,
    profiles: Vec<String>,
    active: Option<Active>,
    base_url: Option<String>,
    base_url_from: String,
    token: Result<(Token, String), Failure>,
    /// The name `opx auth login` stores this profile's token under (the profile's, or
    /// `default`).
    login_name: String,
    /// The profile names its own token source (`token_env` / `token_file`).
    profile_token: bool,
    /// `--watch`, over the profile's.
    watch: Option<std::time::Duration>,
    /// `--force`.
    force: bool,
}

impl Settings {
    /// Reads the config file (if any) and decides the profile, the base URL and the token.
    /// `base_url` is `--base-url` as given on the command line.
    ///
    /// The token: the profile's (`token_env` / `token_file`), else `OPX_TOKEN`, else the one
    /// `opx auth login` stored for the profile (or `default`). A profile's or a stored token
    /// goes to its own base URL only: `OPX_BASE_URL` naming another is refused, only
    /// `--base-url` can send it elsewhere.
    pub fn resolve(profile: Option<&str>, base_url: Option<&str>) -> Result<Self, Failure> {
        Self::resolve_with(profile, base_url, true)
    }

    /// As [`Settings::resolve`]; `stored`: whether a token stored by `opx auth login` is
    /// looked for (not by `opx auth login` itself, which decides where a new one goes).
    pub fn resolve_with(
        profile: Option<&str>,
        base_url: Option<&str>,
        stored: bool,
    ) -> Result<Self, Failure> {
        let location = locate()?;
        let file = match &location.path {
            Some(path) => read_file(path, location.explicit)?,
            None => None,
        };
        let exists = file.is_some();
        let file = file.unwrap_or(File {
            default_profile: None,
            profiles: BTreeMap::new(),
        });
        let profiles: Vec<String> = file.profiles.keys().cloned().collect();
        let chosen = match profile.filter(|p| !p.is_empty()) {
            Some(p) => Some((p.to_owned(), flag_or_env(p, PROFILE_ENV, "--profile"))),
            None => file.default_profile.clone().map(|p| (p, "default_profile")),
        };
        let mut raw = file.profiles;
        let active = match chosen {
            None => None,
            Some((name, chosen_by)) => {
                let Some(p) = raw.remove(&name) else {
                    if !exists {
                        return Err(Failure::Usage(format!(
                            "no profile {name:?} ({chosen_by}): there is no config file at {}; \
                             create it with a [profiles.{name}] table (see `opx --help`)",
                            shown(location.path.as_deref())
                        )));
                    }
                    return Err(Failure::Usage(format!(
                        "no profile {name:?} ({chosen_by}) in {}; {}",
                        shown(location.path.as_deref()),
                        if profiles.is_empty() {
                            "it has none: add a [profiles.NAME] table".to_owned()
                        } else {
                            format!("profiles: {}", profiles.join(", "))
                        }
                    )));
                };
                Some(check_profile(
                    &name,
                    chosen_by,
                    p,
                    location.path.as_deref(),
                )?)
            }
        };
        let profile_token = active.as_ref().is_some_and(|a| a.token.is_some());
        let login_name = active
            .as_ref()
            .map_or(DEFAULT_LOGIN, |a| a.name.as_str())
            .to_owned();
        // The token, and the base URL it belongs to when it is a profile's or a login's.
        let (token, home) = match active
            .as_ref()
            .and_then(|a| a.token.as_ref().map(|t| (a, t)))
        {
            Some((a, source)) => (
                read_token(&a.name, source),
                Some((
                    a.base_url
                        .clone()
                        .unwrap_or_else(|| opx::spec::DEFAULT_BASE_URL.to_owned()),
                    format!("profile {}", a.name),
                )),
            ),
            None if !stored || std::env::var_os(opx::ClientBuilder::TOKEN_ENV).is_some() => {
                (token_from_env(), None)
            }
            None => {
                let path = login::file_path()?;
                match login::load(&path, &login::Keychain::platform(), &login_name)? {
                    Some(l) => {
                        let from = l.source(&path);
                        let home = (l.base_url.clone(), format!("login {}", l.name));
                        (Ok((l.token, from)), Some(home))
                    }
                    None => (token_from_env(), None),
                }
            }
        };
        let env_url = std::env::var(opx::ClientBuilder::BASE_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty());
        let (base_url, base_url_from) = match (base_url.filter(|u| !u.trim().is_empty()), home) {
            (Some(u), _) => (Some(u.to_owned()), "--base-url".to_owned()),
            (None, Some((home, whose))) => {
                if let Some(env) = env_url.filter(|e| !same_url(e, &home)) {
                    return Err(Failure::Usage(format!(
                        "{} is {} but the token of {whose} belongs to {}: a stored or profile \
                         token is only sent to its own base URL; to send it there anyway, give \
                         --base-url on the command line, or unset {}",
                        opx::ClientBuilder::BASE_URL_ENV,
                        redact_url(&env),
                        redact_url(&home),
                        opx::ClientBuilder::BASE_URL_ENV,
                    )));
                }
                (Some(home), whose)
            }
            (None, None) => match (env_url, &active) {
                (Some(u), _) => (Some(u), opx::ClientBuilder::BASE_URL_ENV.to_owned()),
                (
                    None,
                    Some(Active {
                        name,
                        base_url: Some(u),
                        ..
                    }),
                ) => (Some(u.clone()), format!("profile {name}")),
                (None, _) => (None, "default".to_owned()),
            },
        };
        Ok(Self {
            location,
            exists,
            profiles,
            active,
            base_url,
            base_url_from,
            token,
            login_name,
            profile_token,
            watch: None,
            force: false,
        })
    }

    /// The base URL the token goes to, and what chose it.
    pub fn base_url(&self) -> (String, &str) {
        (
            self.base_url
                .clone()
                .unwrap_or_else(|| opx::spec::DEFAULT_BASE_URL.to_owned()),
            &self.base_url_from,
        )
    }

    /// Refuses (exit 2) a base URL that carries a user name or password.
    pub fn check_base_url(&self) -> Result<(), Failure> {
        match &self.base_url {
            Some(url) => refuse_userinfo(url, &self.base_url_from),
            None => Ok(()),
        }
    }

    /// The name `opx auth login` stores this profile's token under.
    pub fn login_name(&self) -> &str {
        &self.login_name
    }

    /// Whether the profile names its own token source (a stored login is then never used).
    pub fn profile_token(&self) -> bool {
        self.profile_token
    }

    /// The token and where it comes from, or why there is none usable.
    pub fn into_token(self) -> Result<(Token, String), Failure> {
        self.token
    }

    /// `--watch` (over the profile's `watch`) and `--force`.
    pub fn with_money(mut self, watch: Option<std::time::Duration>, force: bool) -> Self {
        self.watch = watch;
        self.force = force;
        self
    }

    /// The client and the token (for `opx api`, which sends requests of its own).
    pub fn connect(self) -> Result<(Client, Token), Failure> {
        let (builder, token) = self.builder()?;
        Ok((builder.build()?, token))
    }

    /// A client builder with this token and base URL (and the CLI's user agent), the journal
    /// of this profile and base URL, the profile's spend cap and watch window, and the token.
    pub fn builder(self) -> Result<(ClientBuilder, Token), Failure> {
        if let Some(url) = &self.base_url {
            refuse_userinfo(url, &self.base_url_from)?;
        }
        let (token, _) = self.token?;
        let mut builder = ClientBuilder::new().token(token.0.clone());
        let base_url = self
            .base_url
            .as_deref()
            .unwrap_or(opx::spec::DEFAULT_BASE_URL);
        let profile = self.active.as_ref().map_or("default", |a| a.name.as_str());
        let journal = crate::journal::open(profile, base_url)?.allow_over_pending(self.force);
        builder = builder.journal(journal);
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url);
        }
        if let Some(active) = &self.active {
            builder = builder.spend_cap(active.cap);
        }
        if let Some(watch) = self.watch.or(self.active.as_ref().and_then(|a| a.watch)) {
            builder = builder.reconcile_policy(opx::safe::ReconcilePolicy::default().window(watch));
        }
        let builder = builder.user_agent(concat!("opx-cli/", env!("CARGO_PKG_VERSION")));
        Ok((builder, token))
    }
}

/// `opx config`: the config file, the active profile, the base URL and where the token comes
/// from, the token itself redacted. Fails (exit 2) after printing when the token is unusable.
pub fn show(profile: Option<&str>, base_url: Option<&str>, json: bool) -> Result<(), Failure> {
    let s = Settings::resolve(profile, base_url)?;
    let file = shown(s.location.path.as_deref());
    let profile_line = s
        .active
        .as_ref()
        .map(|a| format!("{} ({})", a.name, a.chosen_by));
    let raw_url = s
        .base_url
        .clone()
        .unwrap_or_else(|| opx::spec::DEFAULT_BASE_URL.to_owned());
    let url = redact_url(&raw_url);
    let url_problem = refuse_userinfo(&raw_url, &s.base_url_from).err();
    let (token_line, token_from, problem) = match &s.token {
        Ok((_, from)) => ("<redacted>".to_owned(), Some(from.clone()), None),
        Err(e) => (format!("unusable: {e}"), None, Some(e.to_string())),
    };
    if json {
        let v = serde_json::json!({
            "config_file": file,
            "config_file_exists": s.exists,
            "profiles": s.profiles,
            "profile": s.active.as_ref().map(|a| &a.name),
            "profile_from": s.active.as_ref().map(|a| a.chosen_by),
            "base_url": url,
            "base_url_from": s.base_url_from,
            "token": token_from.as_ref().map(|_| "<redacted>"),
            "token_fingerprint": s.token.as_ref().ok().map(|(t, _)| t.fingerprint()),
            "token_from": token_from,
            "token_problem": problem,
            "base_url_problem": url_problem.as_ref().map(ToString::to_string),
        });
        output::print(&format!("{v}\n"))?;
    } else {
        let exists = if s.exists { "" } else { " (does not exist)" };
        output::print(&output::fields(&[
            ("config file", format!("{file}{exists}")),
            (
                "profiles",
                if s.profiles.is_empty() {
                    "-".to_owned()
                } else {
                    s.profiles.join(", ")
                },
            ),
            ("profile", profile_line.unwrap_or_else(|| "-".to_owned())),
            ("base URL", format!("{url} ({})", s.base_url_from)),
            (
                "token",
                match &token_from {
                    Some(from) => format!("{token_line} (from {from})"),
                    None => token_line,
                },
            ),
            (
                "fingerprint",
                s.token
                    .as_ref()
                    .map_or_else(|_| "-".to_owned(), |(t, _)| t.fingerprint()),
            ),
        ]))?;
    }
    if let Some(e) = url_problem {
        return Err(e);
    }
    match s.token {
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether two base URLs name the same place (a trailing `/` aside).
fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

/// A URL as it may be shown: a user name or password in it replaced by `***`; a text that
/// does not parse is shown up to its host part only when it holds no `@`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(mut url) => {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_password(None);
                let _ = url.set_username("***");
            }
            url.to_string()
                .trim_end_matches('/')
                .to_owned()
                .replace("%2A%2A%2A@", "***@")
        }
        Err(_) if raw.contains('@') => "(a URL that does not parse, holding an `@`)".to_owned(),
        Err(_) => raw.to_owned(),
    }
}

/// A base URL carrying a user name or password is refused (exit 2), shown redacted: the
/// token is the API's only credential.
fn refuse_userinfo(raw: &str, from: &str) -> Result<(), Failure> {
    let Ok(url) = url::Url::parse(raw.trim()) else {
        return if raw.contains('@') {
            Err(Failure::Usage(format!(
                "the base URL ({from}) does not parse and holds an `@`: give it as \
                 https://host/api/v1, without a user name or password"
            )))
        } else {
            Ok(())
        };
    };
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "the base URL {} ({from}) carries a user name or password: give it without them; the \
         API token goes in OPX_TOKEN, a profile's token_env / token_file, or `opx auth login`",
        redact_url(raw)
    )))
}

/// `OPX_CONFIG`, else `<config dir>/opx/config.toml`.
fn locate() -> Result<Location, Failure> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(Location {
            path: Some(PathBuf::from(p)),
            explicit: true,
        });
    }
    Ok(Location {
        path: dirs::config_dir().map(|d| d.join("opx").join(FILE_NAME)),
        explicit: false,
    })
}

/// Which of a flag and its environment variable (merged by clap) gave `value`.
fn flag_or_env(value: &str, env: &'static str, flag: &'static str) -> &'static str {
    if std::env::var(env).is_ok_and(|v| v == value) {
        env
    } else {
        flag
    }
}

#[cfg(test)]
mod tests;
