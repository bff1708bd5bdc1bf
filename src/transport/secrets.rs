//! The secrets a client knows (its API token, the proxy passwords its answers carried), cut out
//! of any text a server supplies before that text reaches an error, a log line or a terminal:
//! a server that echoes the token in an error message or an HTML page does not get it printed.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

use crate::sync::lock;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";
/// Secrets shorter than this are not cut (they would cut ordinary words).
const MIN_SECRET: usize = 6;
/// How many proxy passwords are remembered (the oldest are forgotten first).
const MAX_SEEN: usize = 4096;

/// The client's token and the proxy passwords it has seen.
#[derive(Debug)]
pub(crate) struct Secrets {
    token: String,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Seen {
    fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET || self.set.contains(secret) {
            return;
        }
        self.set.insert(secret.to_owned());
        self.order.push_back(secret.to_owned());
        while self.order.len() > MAX_SEEN {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

fn passwords_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::String(s) if k == "password" => out.push(s.clone()),
                    other => passwords_in(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| passwords_in(v, out)),
        _ => {}
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace_all(text: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(secret) {
            out.extend_from_slice(REDACTED.as_bytes());
            i += secret.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

impl Secrets {
    /// The secrets of a client with this token.
    pub(crate) fn new(token: &str) -> Self {
        Self {
            token: token.to_owned(),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Remembers the proxy passwords an answer carries (JSON `password` members, or the
    /// passwords of a text proxy list).
    pub(crate) fn learn(&self, body: &[u8]) {
        if body.is_empty() {
            return;
        }
        let mut found = Vec::new();
        if contains(body, b"\"password\"") {
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                passwords_in(&v, &mut found);
            }
        } else if let Ok(text) = std::str::from_utf8(body) {
            for endpoint in crate::proxies::ProxyLines::new(text).flatten() {
                if let Some(pw) = endpoint.password() {
                    found.push(pw.to_owned());
                }
            }
        }
        if !found.is_empty() {
            let mut seen = lock(&self.seen);
            found.iter().for_each(|s| seen.add(s));
        }
    }

    /// `text` with every known secret replaced by `<redacted>` (the token also by its bare hex
    /// part, which a server may echo without the `opx_live_` prefix).
    pub(crate) fn redact<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out = Cow::Borrowed(text);
        let bare = self.token.rsplit('_').next().unwrap_or("");
        let mut secrets: Vec<String> = vec![self.token.clone()];
        if bare.len() >= MIN_SECRET && bare != self.token {
            secrets.push(bare.to_owned());
        }
        secrets.extend(lock(&self.seen).order.iter().cloned());
        for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET) {
            if contains(&out, secret.as_bytes()) {
                out = Cow::Owned(replace_all(&out, secret.as_bytes()));
            }
        }
        out
    }

    /// As [`redact`](Self::redact), for text.
    pub(crate) fn redact_str(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.redact(text.as_bytes())).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

    #[test]
    fn the_token_is_cut_whole_or_bare() {
        let s = Secrets::new(TOKEN);
        let text = format!("key {TOKEN} is revoked; also 0123456789abcdef0123456789abcdef");
        let out = String::from_utf8(s.redact(text.as_bytes()).into_owned()).unwrap();
        assert_eq!(out, "key <redacted> is revoked; also <redacted>");
        assert!(matches!(s.redact(b"nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn passwords_seen_in_answers_are_cut_later() {
        let s = Secrets::new(TOKEN);
        s.learn(br#"{"data":{"services":[{"auth":{"login":"u","password":"hunter2-pw"}}]}}"#);
        s.learn(b"nl.gw:8000:bob:t3xt-secret\n");
        s.learn(br#"{"auth":{"password":"abc"}}"#);
        let out = s.redact_str("<html>hunter2-pw t3xt-secret abc</html>");
        assert_eq!(
            out, "<html><redacted> <redacted> abc</html>",
            "short ones stay"
        );
    }
}
