//! The API token: where a profile takes it from (an environment variable or a private
//! file), and the secret itself, never shown.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use crate::failure::Failure;

/// Where a profile's token comes from.
#[derive(Debug, Clone)]
pub(super) enum TokenSource {
    Env(String),
    File(PathBuf),
}

/// The API token: a secret, never shown.
pub struct Token(pub(crate) String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token read from the user (`opx auth login`).
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// `opx_live_…ab12`: the prefix before the last `_` and the last four characters, enough
    /// to tell keys apart and never enough to use one (a token of 16 characters or fewer shows
    /// only its last two).
    pub fn fingerprint(&self) -> String {
        let t = self.0.trim();
        let chars: Vec<char> = t.chars().collect();
        let tail_len = if chars.len() > 16 {
            4
        } else {
            2.min(chars.len() / 4)
        };
        let tail: String = chars[chars.len() - tail_len..].iter().collect();
        let prefix = t
            .rfind('_')
            .filter(|&at| at + 1 + 8 <= t.len() && at <= 16)
            .map_or("", |at| &t[..=at]);
        format!("{prefix}…{tail}")
    }

    /// The secret, to put in a header marked sensitive.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

pub(super) fn token_from_env() -> Result<(Token, String), Failure> {
    match std::env::var(opx::ClientBuilder::TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok((Token(t), opx::ClientBuilder::TOKEN_ENV.to_owned())),
        Ok(_) => Err(Failure::Usage(format!(
            "{} is set but empty",
            opx::ClientBuilder::TOKEN_ENV
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
            "{} is not valid UTF-8",
            opx::ClientBuilder::TOKEN_ENV
        ))),
        Err(std::env::VarError::NotPresent) => Err(Failure::Usage(format!(
            "not logged in and {} is not set: run `opx auth login`, or export your API key as \
             {}, or choose a profile with --profile (see `opx config`)",
            opx::ClientBuilder::TOKEN_ENV,
            opx::ClientBuilder::TOKEN_ENV
        ))),
    }
}

pub(super) fn read_token(profile: &str, source: &TokenSource) -> Result<(Token, String), Failure> {
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
            check_private(&format!("profile {profile:?}"), path)?;
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

/// A token file (or the logins file) must be a regular file that no one but its owner can read
/// or write; `who` starts the message (`profile "work"`, `login`).
#[cfg(unix)]
pub(super) fn check_private(who: &str, path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::Usage(format!(
            "{who}: cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(Failure::Usage(format!(
            "{who}: the token file {} is not a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::Usage(format!(
            "{who}: refusing the token file {}: its mode {mode:03o} lets other \
             users read or change it; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Elsewhere there are no Unix permission bits to check.
#[cfg(not(unix))]
pub(super) fn check_private(_who: &str, _path: &Path) -> Result<(), Failure> {
    Ok(())
}
