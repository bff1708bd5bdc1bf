//! The proxy `opx`'s own API calls go through: the one the environment names, read as curl
//! and gh read it (`HTTPS_PROXY` / `https_proxy` for an https base URL, `HTTP_PROXY` /
//! `http_proxy` for http, else `ALL_PROXY` / `all_proxy`; none for a host `NO_PROXY` /
//! `no_proxy` lists, `*` for every host), or none with `--no-proxy`. Decided here, once, and
//! handed to the client explicitly, so that an error can name the proxy it went through.

use std::net::IpAddr;

use crate::config::redact_url;

/// The proxy of this run's API calls, once a client was built with it (named in errors).
static IN_USE: std::sync::OnceLock<ProxyUse> = std::sync::OnceLock::new();

/// The proxy the API calls of this run go through, if any.
pub fn in_use() -> Option<String> {
    IN_USE.get().and_then(ProxyUse::describe)
}

/// The proxy of this run's API calls.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxyUse {
    /// Directly: no proxy variable applies, or `--no-proxy`.
    Direct,
    /// Through `url` (may carry credentials: shown only through [`ProxyUse::describe`]),
    /// named by the variable `var`.
    Via {
        /// The variable that named it.
        var: &'static str,
        /// The proxy's URL as the variable gives it.
        url: String,
    },
}

impl ProxyUse {
    /// The proxy for calls to `base_url`, from `var` (the environment; a function for tests);
    /// `off`: `--no-proxy`.
    pub fn resolve(base_url: &str, off: bool, var: impl Fn(&str) -> Option<String>) -> Self {
        if off {
            return Self::Direct;
        }
        let Ok(url) = url::Url::parse(base_url.trim()) else {
            return Self::Direct;
        };
        let Some(host) = url.host_str() else {
            return Self::Direct;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&n| {
                var(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n, v.trim().to_owned()))
            })
        };
        if let Some((_, list)) = first(&["NO_PROXY", "no_proxy"])
            && bypassed(host, &list)
        {
            return Self::Direct;
        }
        // `HTTP_PROXY` is not read by a CGI program (a request's `Proxy:` header sets it).
        let cgi = var("REQUEST_METHOD").is_some();
        let scheme: &[&'static str] = match url.scheme() {
            "https" => &["HTTPS_PROXY", "https_proxy"],
            "http" if cgi => &["http_proxy"],
            "http" => &["HTTP_PROXY", "http_proxy"],
            _ => &[],
        };
        match first(scheme).or_else(|| first(&["ALL_PROXY", "all_proxy"])) {
            Some((var, url)) => Self::Via { var, url },
            None => Self::Direct,
        }
    }

    /// The proxy of this process's environment for `base_url`.
    pub fn from_env(base_url: &str, off: bool) -> Self {
        Self::resolve(base_url, off, |name| std::env::var(name).ok())
    }

    /// Sets it on a client builder (explicitly: the environment is not read again), and
    /// remembers it for the error messages of this run.
    pub fn apply(&self, builder: opx::ClientBuilder) -> opx::ClientBuilder {
        let _ = IN_USE.set(self.clone());
        match self {
            Self::Direct => builder.no_proxy(),
            Self::Via { url, .. } => builder.proxy(with_scheme(url)),
        }
    }

    /// Sets it on a reqwest client builder (`opx api`'s own), and remembers it.
    pub fn apply_reqwest(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, crate::failure::Failure> {
        let _ = IN_USE.set(self.clone());
        match self {
            Self::Direct => Ok(builder.no_proxy()),
            Self::Via { var, url } => {
                let proxy = reqwest::Proxy::all(with_scheme(url).as_str()).map_err(|_| {
                    crate::failure::Failure::Usage(format!(
                        "{var} is not a proxy URL (http://host:port, socks5://host:port)"
                    ))
                })?;
                Ok(builder.no_proxy().proxy(proxy))
            }
        }
    }

    /// `the proxy http://***@proxy:3128 (from HTTPS_PROXY)`: its credentials never shown.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Direct => None,
            Self::Via { var, url } => Some(format!(
                "the proxy {} (from {var})",
                redact_url(&with_scheme(url))
            )),
        }
    }
}

impl std::fmt::Debug for ProxyUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.describe() {
            None => f.write_str("Direct"),
            Some(d) => write!(f, "Via({d})"),
        }
    }
}

/// A proxy given as `host:port` is an `http://` one (as curl reads it).
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// Whether `NO_PROXY`'s comma-separated `list` covers `host`: `*`; the host itself or a
/// domain it is under (`example.com` and `.example.com` both cover `api.example.com`); an IP
/// address, or a network in CIDR form (`10.0.0.0/8`).
fn bypassed(host: &str, list: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            if let (Some(ip), Some((net, bits))) = (ip, entry.split_once('/')) {
                return in_network(ip, net, bits);
            }
            let entry = entry.trim_start_matches('[');
            let name = entry
                .rsplit_once(':')
                .filter(|(h, p)| !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()))
                .map_or(entry, |(h, _)| h);
            let name = name.trim_end_matches(']').trim_start_matches("*.");
            let name = name.trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

/// Whether `ip` is in the network `net`/`bits`.
fn in_network(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const API: &str = "https://op-proxy.com/api/v1";

    #[test]
    fn the_schemes_variable_then_all_proxy_as_curl_reads_them() {
        let via = |var, url: &str| ProxyUse::Via {
            var,
            url: url.to_owned(),
        };
        let env = with(&[("HTTPS_PROXY", "http://p:1"), ("ALL_PROXY", "http://a:1")]);
        assert_eq!(
            ProxyUse::resolve(API, false, &env),
            via("HTTPS_PROXY", "http://p:1")
        );
        assert_eq!(ProxyUse::resolve(API, true, &env), ProxyUse::Direct);
        let env = with(&[("http_proxy", "http://h:1"), ("all_proxy", "socks5://a:1")]);
        assert_eq!(
            ProxyUse::resolve(API, false, &env),
            via("all_proxy", "socks5://a:1")
        );
        assert_eq!(
            ProxyUse::resolve("http://127.0.0.1:8080/api/v1", false, &env),
            via("http_proxy", "http://h:1")
        );
        let cgi = with(&[("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(
            ProxyUse::resolve("http://127.0.0.1:8080/api/v1", false, &cgi),
            ProxyUse::Direct
        );
        assert_eq!(ProxyUse::resolve(API, false, with(&[])), ProxyUse::Direct);
    }

    #[test]
    fn no_proxy_lists_hosts_domains_addresses_and_networks() {
        for list in [
            "*",
            "op-proxy.com",
            ".op-proxy.com",
            "example.org, OP-PROXY.com",
            "op-proxy.com:443",
        ] {
            assert!(bypassed("op-proxy.com", list), "{list}");
        }
        assert!(bypassed("api.op-proxy.com", "op-proxy.com"));
        assert!(!bypassed("notop-proxy.com", "op-proxy.com"));
        assert!(bypassed("127.0.0.1", "127.0.0.0/8"));
        assert!(bypassed("10.1.2.3", "10.1.2.3"));
        assert!(!bypassed("11.0.0.1", "10.0.0.0/8"));
        assert!(bypassed("::1", "::1/128"));
        assert!(!bypassed("op-proxy.com", ""));
        let env = with(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "op-proxy.com")]);
        assert_eq!(ProxyUse::resolve(API, false, &env), ProxyUse::Direct);
    }

    #[test]
    fn a_proxys_credentials_are_never_described() {
        let p = ProxyUse::Via {
            var: "HTTPS_PROXY",
            url: "http://me:s3cretpw@proxy.example:3128".to_owned(),
        };
        let text = p.describe().unwrap();
        assert_eq!(
            text,
            "the proxy http://***@proxy.example:3128 (from HTTPS_PROXY)"
        );
        let bare = ProxyUse::Via {
            var: "ALL_PROXY",
            url: "proxy.example:3128".to_owned(),
        };
        assert_eq!(
            bare.describe().unwrap(),
            "the proxy http://proxy.example:3128 (from ALL_PROXY)"
        );
        assert!(!format!("{p:?}").contains("s3cretpw"), "{p:?}");
    }
}
