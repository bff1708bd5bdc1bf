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
pub struct Token(pub(super) String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
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
            "{} is not set: export your API key as {}, or choose a profile with --profile \
             (see `opx config`)",
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
