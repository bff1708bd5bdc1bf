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

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use opx::{Client, ClientBuilder};
use serde::Deserialize;

use crate::failure::Failure;
use crate::output;

/// Names the config file, instead of the one in the platform's config directory.
pub const CONFIG_ENV: &str = "OPX_CONFIG";
/// Selects a profile (same as `--profile`).
pub const PROFILE_ENV: &str = "OPX_PROFILE";
/// The file's name inside `<config dir>/opx/`.
const FILE_NAME: &str = "config.toml";

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

/// One `[profiles.NAME]` table as written.
#[derive(Debug, Deserialize)]
struct RawProfile {
    base_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    /// Any other key (a `token` among them), refused by [`check_profile`] with a clear error.
    /// Only the keys are kept: a value is never read, shown or used.
    #[serde(flatten)]
    other: BTreeMap<String, serde::de::IgnoredAny>,
}

/// Where a profile's token comes from.
#[derive(Debug, Clone)]
enum TokenSource {
    Env(String),
    File(PathBuf),
}

/// The API token: a secret, never shown.
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where the config file is, and whether it exists.
#[derive(Debug)]
struct Location {
    path: Option<PathBuf>,
    /// Named by `OPX_CONFIG` (so it must exist).
    explicit: bool,
}

/// The active profile.
#[derive(Debug)]
struct Active {
    name: String,
    /// `--profile`, `OPX_PROFILE` or `default_profile`.
    chosen_by: &'static str,
    base_url: Option<String>,
    token: Option<TokenSource>,
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
                flag_or_env(u, opx::BASE_URL_ENV, "--base-url").to_owned(),
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
        })
    }

    /// The client and the token (for `opx api`, which sends requests of its own).
    pub fn connect(self) -> Result<(Client, Token), Failure> {
        let (builder, token) = self.builder()?;
        Ok((builder.build()?, token))
    }

    /// A client builder with this token and base URL (and the CLI's user agent), and the token.
    pub fn builder(self) -> Result<(ClientBuilder, Token), Failure> {
        let (token, _) = self.token?;
        let mut builder = ClientBuilder::new().token(token.0.clone());
        if let Some(url) = self.base_url {
            builder = builder.base_url(url);
        }
        let builder = builder.user_agent(concat!("opx-cli/", env!("CARGO_PKG_VERSION")));
        Ok((builder, token))
    }
}

impl Token {
    /// The secret, to put in a header marked sensitive.
    pub fn expose(&self) -> &str {
        &self.0
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

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "(no config directory on this platform)".to_owned(),
        |p| p.display().to_string(),
    )
}

/// Which of a flag and its environment variable (merged by clap) gave `value`.
fn flag_or_env(value: &str, env: &'static str, flag: &'static str) -> &'static str {
    if std::env::var(env).is_ok_and(|v| v == value) {
        env
    } else {
        flag
    }
}

/// The parsed file; `None` when it does not exist (an error if `OPX_CONFIG` named it).
fn read_file(path: &Path, explicit: bool) -> Result<Option<File>, Failure> {
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
fn check_profile(
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
            "unknown key {:?}: a profile has `base_url`, `token_env` and `token_file`",
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
    Ok(Active {
        name: name.to_owned(),
        chosen_by,
        base_url: p.base_url,
        token,
    })
}

fn looks_like_a_token(s: &str) -> bool {
    s.contains("opx_live_") || s.contains("opx_test_")
}

/// `~/x` is under the home directory; a relative path is relative to the config file's
/// directory.
fn expand(path: &Path, file: Option<&Path>) -> PathBuf {
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

fn token_from_env() -> Result<(Token, String), Failure> {
    match std::env::var(opx::TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok((Token(t), opx::TOKEN_ENV.to_owned())),
        Ok(_) => Err(Failure::Usage(format!(
            "{} is set but empty",
            opx::TOKEN_ENV
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
            "{} is not valid UTF-8",
            opx::TOKEN_ENV
        ))),
        Err(std::env::VarError::NotPresent) => Err(Failure::Usage(format!(
            "{} is not set: export your API key as {}, or choose a profile with --profile \
             (see `opx config`)",
            opx::TOKEN_ENV,
            opx::TOKEN_ENV
        ))),
    }
}

fn read_token(profile: &str, source: &TokenSource) -> Result<(Token, String), Failure> {
    match source {
        TokenSource::Env(var) => match std::env::var(var) {
            Ok(t) if !t.trim().is_empty() => Ok((Token(t), format!("environment variable {var}"))),
            Ok(_) => Err(Failure::Usage(format!(
                "profile {profile:?} takes its token from {var}, which is empty"
            ))),
            Err(_) => Err(Failure::Usage(format!(
                "profile {profile:?} takes its token from {var}, which is not set (or not UTF-8)"
            ))),
        },
        TokenSource::File(path) => {
            check_private(profile, path)?;
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!(
                    "profile {profile:?}: cannot read the token file {}: {}",
                    path.display(),
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        "it is not UTF-8 text".to_owned()
                    } else {
                        e.to_string()
                    }
                ))
            })?;
            let token = text.trim();
            if token.is_empty() {
                return Err(Failure::Usage(format!(
                    "profile {profile:?}: the token file {} is empty",
                    path.display()
                )));
            }
            Ok((Token(token.to_owned()), format!("file {}", path.display())))
        }
    }
}

/// A token file must be a regular file that no one but its owner can read or write.
#[cfg(unix)]
fn check_private(profile: &str, path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::Usage(format!(
            "profile {profile:?}: cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(Failure::Usage(format!(
            "profile {profile:?}: the token file {} is not a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::Usage(format!(
            "profile {profile:?}: refusing the token file {}: its mode {mode:03o} lets other \
             users read or change it; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Elsewhere there are no Unix permission bits to check.
#[cfg(not(unix))]
fn check_private(_profile: &str, _path: &Path) -> Result<(), Failure> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<File, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn a_token_literal_is_refused_without_being_shown() {
        let secret = "opx_live_0123456789abcdef0123456789abcdef";
        let file = parse(&format!("[profiles.p]\ntoken = \"{secret}\"\n")).unwrap();
        let raw = file.profiles.into_iter().next().unwrap().1;
        let e = check_profile("p", "--profile", raw, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`token`") && e.contains("token_env"), "{e}");
        assert!(!e.contains(secret), "{e}");
        for (key, value) in [("token_env", secret), ("token_file", secret)] {
            let file = parse(&format!("[profiles.p]\n{key} = \"{value}\"\n")).unwrap();
            let raw = file.profiles.into_iter().next().unwrap().1;
            let e = check_profile("p", "--profile", raw, None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("looks like a token"), "{e}");
            assert!(!e.contains(secret), "{e}");
        }
    }

    #[test]
    fn one_token_source_and_a_variable_name() {
        let file = parse("[profiles.p]\ntoken_env = \"A\"\ntoken_file = \"/x\"\n").unwrap();
        let raw = file.profiles.into_iter().next().unwrap().1;
        let e = check_profile("p", "--profile", raw, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not both"), "{e}");
        let file = parse("[profiles.p]\ntoken_env = \"NOT A NAME\"\n").unwrap();
        let raw = file.profiles.into_iter().next().unwrap().1;
        let e = check_profile("p", "--profile", raw, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an environment variable name"), "{e}");
        let file = parse("[profiles.p]\napi_key = \"opx_live_x\"\n").unwrap();
        let raw = file.profiles.into_iter().next().unwrap().1;
        let e = check_profile("p", "--profile", raw, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown key \"api_key\"") && !e.contains("opx_live_x"),
            "{e}"
        );
        assert!(
            parse("api_key = 1\n").is_err(),
            "unknown top-level keys are refused"
        );
    }

    #[test]
    fn relative_token_files_are_next_to_the_config_file() {
        let config = Path::new("/etc/opx/config.toml");
        assert_eq!(
            expand(Path::new("t.token"), Some(config)),
            PathBuf::from("/etc/opx/t.token")
        );
        assert_eq!(
            expand(Path::new("/abs/t"), Some(config)),
            PathBuf::from("/abs/t")
        );
        if let Some(home) = dirs::home_dir() {
            assert_eq!(expand(Path::new("~/t"), Some(config)), home.join("t"));
        }
    }

    #[test]
    fn the_token_is_never_in_debug() {
        let t = Token("opx_live_0123456789abcdef0123456789abcdef".into());
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
