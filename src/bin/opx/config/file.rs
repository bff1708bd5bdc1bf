//! The config file as written: parsed, each profile checked (no token literal, one token
//! source, a variable *name*), token file paths expanded.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::token::TokenSource;
use crate::failure::Failure;
use crate::output;

/// Names the config file, instead of the one in the platform's config directory.
pub const CONFIG_ENV: &str = "OPX_CONFIG";

/// The active profile.
#[derive(Debug)]
pub(super) struct Active {
    pub(super) name: String,
    /// `--profile`, `OPX_PROFILE` or `default_profile`.
    pub(super) chosen_by: &'static str,
    pub(super) base_url: Option<String>,
    pub(super) token: Option<TokenSource>,
    /// `spend_cap_day` / `spend_cap_month`.
    pub(super) cap: opx::safe::SpendCap,
    /// `watch`.
    pub(super) watch: Option<std::time::Duration>,
}

/// A config file path as shown in messages.
pub(super) fn shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "(no config directory on this platform)".to_owned(),
        |p| p.display().to_string(),
    )
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) default_profile: Option<String>,
    #[serde(default)]
    pub(super) profiles: BTreeMap<String, RawProfile>,
}

/// One `[profiles.NAME]` table as written.
#[derive(Debug, Deserialize)]
pub(super) struct RawProfile {
    base_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    /// At most this many RUB charged a UTC day (purchases and extensions).
    spend_cap_day: Option<i64>,
    /// At most this many RUB charged a UTC month.
    spend_cap_month: Option<i64>,
    /// Seconds to watch the account after a money call's answer was lost (default 10).
    watch: Option<f64>,
    /// Any other key (a `token` among them), refused by [`check_profile`] with a clear error.
    /// Only the keys are kept: a value is never read, shown or used.
    #[serde(flatten)]
    other: BTreeMap<String, serde::de::IgnoredAny>,
}

/// The parsed file; `None` when it does not exist (an error if `OPX_CONFIG` named it).
pub(super) fn read_file(path: &Path, explicit: bool) -> Result<Option<File>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => {
            return Err(Failure::Usage(format!(
                "cannot read the config file {} ({CONFIG_ENV}): {e}",
                path.display()
            )));
        }
    };
    // Only the parser's message and a line number: its usual report quotes the offending
    // line, which must not show a secret someone put in the file by mistake.
    toml::from_str::<File>(&text).map(Some).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        Failure::Usage(format!(
            "config file {}{}: {}",
            path.display(),
            line.map(|l| format!(", line {l}")).unwrap_or_default(),
            e.message().trim_end()
        ))
    })
}

/// Checks one profile: at most one token source, never a token literal, a variable *name*.
pub(super) fn check_profile(
    name: &str,
    chosen_by: &'static str,
    p: RawProfile,
    file: Option<&Path>,
) -> Result<Active, Failure> {
    let bad = |what: String| Failure::Usage(format!("profile {name:?}: {what}"));
    if p.other.contains_key("token") {
        return Err(bad(format!(
            "a `token` in the config file is refused (it would sit in a plain file): put the \
             token in an environment variable named by `token_env`, or in a file only you can \
             read named by `token_file`, then remove `token` from {}",
            shown(file)
        )));
    }
    if let Some(key) = p.other.keys().next() {
        return Err(bad(format!(
            "unknown key {:?}: a profile has `base_url`, `token_env`, `token_file`, \
             `spend_cap_day`, `spend_cap_month` and `watch`",
            output::printable(key)
        )));
    }
    let token = match (p.token_env, p.token_file) {
        (Some(_), Some(_)) => {
            return Err(bad("give `token_env` or `token_file`, not both".to_owned()));
        }
        (Some(var), None) => {
            if looks_like_a_token(&var) {
                return Err(bad(
                    "`token_env` holds what looks like a token: it must be the *name* of an \
                     environment variable that holds it (e.g. OPX_WORK_TOKEN)"
                        .to_owned(),
                ));
            }
            let valid = var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(bad(format!(
                    "`token_env` = {var:?} is not an environment variable name (letters, digits, _)"
                )));
            }
            Some(TokenSource::Env(var))
        }
        (None, Some(path)) => {
            if looks_like_a_token(&path.to_string_lossy()) {
                return Err(bad(
                    "`token_file` holds what looks like a token: it must be the path of a file \
                     that holds it"
                        .to_owned(),
                ));
            }
            Some(TokenSource::File(expand(&path, file)))
        }
        (None, None) => None,
    };
    for (key, cap) in [
        ("spend_cap_day", p.spend_cap_day),
        ("spend_cap_month", p.spend_cap_month),
    ] {
        if cap.is_some_and(|c| c < 0) {
            return Err(bad(format!("`{key}` is a number of RUB, 0 or more")));
        }
    }
    if p.watch
        .is_some_and(|w| !(w.is_finite() && (0.0..=3600.0).contains(&w)))
    {
        return Err(bad(
            "`watch` is a number of seconds from 0 to 3600".to_owned()
        ));
    }
    let mut cap = opx::safe::SpendCap::new();
    if let Some(day) = p.spend_cap_day {
        cap = cap.per_day(day);
    }
    if let Some(month) = p.spend_cap_month {
        cap = cap.per_month(month);
    }
    Ok(Active {
        name: name.to_owned(),
        chosen_by,
        base_url: p.base_url,
        token,
        cap,
        watch: p.watch.map(std::time::Duration::from_secs_f64),
    })
}

pub(super) fn looks_like_a_token(s: &str) -> bool {
    s.contains("opx_live_") || s.contains("opx_test_")
}

/// `~/x` is under the home directory; a relative path is relative to the config file's
/// directory.
pub(super) fn expand(path: &Path, file: Option<&Path>) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    match file.and_then(Path::parent) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}
