//! What a request asks of the pool: a gateway country and a sticky session, read from the
//! username's tags (`country-de-session-a1`) or from `X-Opx-Country` / `X-Opx-Session`.

use http::HeaderMap;

use crate::types::GatewayCountry;

/// The header that picks a gateway country.
pub(crate) const COUNTRY_HEADER: &str = "x-opx-country";
/// The header that names a sticky session.
pub(crate) const SESSION_HEADER: &str = "x-opx-session";

/// A request's choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Wish {
    pub(crate) country: Option<GatewayCountry>,
    pub(crate) session: Option<String>,
}

impl Wish {
    /// The tags of a username: `country-XX` and `session-KEY`, anywhere among `-`-separated
    /// words (`user-country-de-session-a1`); other words are ignored.
    pub(crate) fn from_username(username: &str) -> Wish {
        let words: Vec<&str> = username.split('-').collect();
        let mut wish = Wish::default();
        for pair in words.windows(2) {
            match pair[0] {
                "country" => wish.country = Some(GatewayCountry::parse(&pair[1].to_lowercase())),
                "session" if !pair[1].is_empty() => wish.session = Some(pair[1].to_owned()),
                _ => {}
            }
        }
        wish
    }

    /// Headers override the username's tags.
    pub(crate) fn with_headers(mut self, headers: &HeaderMap) -> Wish {
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(c) = get(COUNTRY_HEADER) {
            self.country = Some(GatewayCountry::parse(&c.trim().to_lowercase()));
        }
        if let Some(s) = get(SESSION_HEADER).filter(|s| !s.is_empty()) {
            self.session = Some(s.to_owned());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn tags_are_read_from_the_username_and_headers_win() {
        let w = Wish::from_username("user-country-DE-session-a1");
        assert_eq!(w.country, Some(GatewayCountry::De));
        assert_eq!(w.session.as_deref(), Some("a1"));
        assert_eq!(Wish::from_username("anything"), Wish::default());
        assert_eq!(Wish::from_username("session-").session, None);
        let mut h = HeaderMap::new();
        h.insert(COUNTRY_HEADER, HeaderValue::from_static("at"));
        let w = Wish::from_username("country-nl").with_headers(&h);
        assert_eq!(w.country, Some(GatewayCountry::At));
    }
}
