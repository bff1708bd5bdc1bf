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
mod token;

use file::{Active, CONFIG_ENV, File, check_profile, read_file, shown};
pub use token::Token;
use token::{read_token, token_from_env};

/// Selects a profile (same as `--profile`).
pub const PROFILE_ENV: &str = "OPX_PROFILE";
/// The file's name inside `<config dir>/opx/`.
const FILE_NAME: &str = "config.toml";

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
    /// `--watch`, over the profile's.
    watch: Option<std::time::Duration>,
    /// `--force`.
    force: bool,
}

impl Settings {
    /// Reads the config file (if any) and decides the profile, the base URL and the token.
    /// `base_url` is `--base-url` (or `OPX_BASE_URL`, which clap merges into it).
    pub fn resolve(profile: Option<&str>, base_url: Option<&str>) -> Result<Self, Failure> {
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
        let (base_url, base_url_from) = match (base_url.filter(|u| !u.trim().is_empty()), &active) {
            (Some(u), _) => (
                Some(u.to_owned()),
                flag_or_env(u, opx::ClientBuilder::BASE_URL_ENV, "--base-url").to_owned(),
            ),
            (
                None,
                Some(Active {
                    name,
                    base_url: Some(u),
                    ..
                }),
            ) => (Some(u.clone()), format!("profile {name}")),
            (None, _) => (None, "default".to_owned()),
        };
        let token = match active
            .as_ref()
            .and_then(|a| a.token.as_ref().map(|t| (a, t)))
        {
            Some((a, source)) => read_token(&a.name, source),
            None => token_from_env(),
        };
        Ok(Self {
            location,
            exists,
            profiles,
            active,
            base_url,
            base_url_from,
            token,
            watch: None,
            force: false,
        })
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
    let url = s
        .base_url
        .clone()
        .unwrap_or_else(|| opx::spec::DEFAULT_BASE_URL.to_owned());
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
            "token_from": token_from,
            "token_problem": problem,
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
        ]))?;
    }
    match s.token {
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
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
