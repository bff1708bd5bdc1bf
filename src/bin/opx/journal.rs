//! Where `opx` keeps its journal of money calls: one file per profile and base URL, in the
//! platform's state directory (`$XDG_STATE_HOME/opx/journal`, `~/.local/state/opx/journal` on
//! Linux; the local data directory elsewhere), or under `OPX_STATE_DIR`.

use std::path::PathBuf;

use crate::failure::Failure;

/// The variable that moves the state directory (tests, several installations side by side).
pub const STATE_DIR_ENV: &str = "OPX_STATE_DIR";

/// The state directory of `opx`.
fn state_dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("opx"))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "no state directory on this platform for the journal of money calls: set \
                 {STATE_DIR_ENV}"
            ))
        })
}

/// A file name for `profile` at `base_url`: letters, digits, `-`, `.` and `_` kept, the rest
/// `_`.
fn file_name(profile: &str, base_url: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '.' | '_' => c,
                _ => '_',
            })
            .collect()
    };
    let url = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .trim_end_matches('/');
    format!("{}@{}.json", safe(profile), safe(url))
}

/// The journal file of `profile` at `base_url`.
pub fn path(profile: &str, base_url: &str) -> Result<PathBuf, Failure> {
    Ok(state_dir()?
        .join("journal")
        .join(file_name(profile, base_url)))
}

/// The journal of `profile` at `base_url`, opened (created when missing).
pub fn open(profile: &str, base_url: &str) -> Result<opx::safe::Journal, Failure> {
    Ok(opx::safe::Journal::file(path(profile, base_url)?)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_file_per_profile_and_base_url_with_a_safe_name() {
        let name = super::file_name("work/x", "https://op-proxy.com/api/v1/");
        assert_eq!(name, "work_x@op-proxy.com_api_v1.json");
        assert_ne!(
            super::file_name("p", "http://127.0.0.1:8080/api/v1"),
            super::file_name("p", "http://127.0.0.1:8081/api/v1")
        );
    }
}
