//! Where a new spec comes from: an `http(s)` URL or a file path.

use std::{fmt, path::PathBuf, time::Duration};

/// The upstream document `cargo xtask regen` fetches by default.
pub const DEFAULT_URL: &str = "https://op-proxy.com/api/v1/openapi.json";

/// Largest document accepted (the real one is about 100 KiB).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Connect timeout of a download.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Overall timeout of a download (connect, request, response and body).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// The source of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http://` or `https://` URL, fetched with a GET.
    Url(String),
    /// A local file.
    Path(PathBuf),
}

impl Source {
    /// Reads `--from`: anything starting with `http://` or `https://` is a URL, other
    /// `scheme://` forms are refused, the rest is a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(Self::Url(text.to_owned()))
        } else if let Some((scheme, _)) = text.split_once("://") {
            Err(format!(
                "unsupported scheme {scheme:?} in {text:?}: use an http(s) URL or a file path"
            ))
        } else {
            Ok(Self::Path(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.write_str(url),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Reads the text of the document at `source`. The error is one line naming the source and the
/// problem (an unreachable host, a timeout, an HTTP error status, a missing file, non-UTF-8...).
pub fn fetch(source: &Source) -> Result<String, String> {
    fetch_with_timeouts(source, CONNECT_TIMEOUT, TOTAL_TIMEOUT)
}

/// [`fetch`] with explicit timeouts for a URL: `connect` to open the connection, `total` for the
/// whole exchange.
pub fn fetch_with_timeouts(
    source: &Source,
    connect: Duration,
    total: Duration,
) -> Result<String, String> {
    match source {
        Source::Path(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Source::Url(url) => get(url, connect, total).map_err(|e| match e {
            ureq::Error::StatusCode(code) => format!("cannot fetch {url}: HTTP status {code}"),
            ureq::Error::Timeout(_) => format!(
                "cannot fetch {url}: timed out ({}s to connect, {}s in all)",
                connect.as_secs_f32(),
                total.as_secs_f32()
            ),
            other => format!("cannot fetch {url}: {}", one_line(&other.to_string())),
        }),
    }
}

fn get(url: &str, connect: Duration, total: Duration) -> Result<String, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .user_agent(concat!("opx-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).header("Accept", "application/json").call()?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_string()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert_eq!(
            Source::parse("http://127.0.0.1:1/x").unwrap(),
            Source::Url("http://127.0.0.1:1/x".into())
        );
        assert_eq!(
            Source::parse("HTTPS://example.invalid/").unwrap(),
            Source::Url("HTTPS://example.invalid/".into())
        );
        assert_eq!(
            Source::parse("spec/openapi.json").unwrap(),
            Source::Path("spec/openapi.json".into())
        );
        let err = Source::parse("ftp://host/spec.json").unwrap_err();
        assert!(err.contains("\"ftp\""), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = fetch(&Source::Path("/nonexistent/openapi.json".into())).unwrap_err();
        assert!(
            err.starts_with("cannot read /nonexistent/openapi.json: "),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        // Connections queue in the backlog but nobody reads or answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/api/v1/openapi.json",
            listener.local_addr().unwrap()
        );
        let started = std::time::Instant::now();
        let err = fetch_with_timeouts(
            &Source::Url(url.clone()),
            Duration::from_secs(1),
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err,
            format!("cannot fetch {url}: timed out (1s to connect, 0.5s in all)")
        );
        drop(listener);
    }
}
