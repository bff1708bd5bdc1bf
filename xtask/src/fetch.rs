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
            Failure::Status(code) => format!("cannot fetch {url}: HTTP status {code}"),
            Failure::TooLarge => {
                format!("cannot fetch {url}: the document is larger than {MAX_BYTES} bytes")
            }
            Failure::Timeout => format!(
                "cannot fetch {url}: timed out ({}s to connect, {}s in all)",
                connect.as_secs_f32(),
                total.as_secs_f32()
            ),
            Failure::Other(why) => format!("cannot fetch {url}: {}", one_line(&why)),
        }),
    }
}

/// Why a download failed.
enum Failure {
    /// The server answered with a status other than 2xx.
    Status(u16),
    /// The body is larger than [`MAX_BYTES`].
    TooLarge,
    /// Connecting or the whole exchange took longer than allowed.
    Timeout,
    /// Anything else, as text: a refused connection, a TLS failure, a body that is not UTF-8...
    Other(String),
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else {
            Self::Other(chain(&e))
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        // The blocking body reader wraps reqwest's own error (a timeout among them) in io::Error.
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        {
            Some(inner) if inner.is_timeout() => Self::Timeout,
            _ if e.kind() == std::io::ErrorKind::TimedOut => Self::Timeout,
            _ => Self::Other(chain(&e)),
        }
    }
}

fn get(url: &str, connect: Duration, total: Duration) -> Result<String, Failure> {
    use std::io::Read as _;

    let client = reqwest::blocking::Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        .user_agent(concat!("opx-xtask/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let response = client
        .get(url)
        .header("Accept", "application/json")
        .send()?;
    if !response.status().is_success() {
        return Err(Failure::Status(response.status().as_u16()));
    }
    let mut text = String::new();
    response.take(MAX_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(Failure::TooLarge);
    }
    Ok(text)
}

/// An error and its sources, joined with `: ` (reqwest's own message is only the outermost).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
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
