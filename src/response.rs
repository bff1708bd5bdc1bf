//! [`Response`]: a typed payload with the HTTP status and rate-limit headers it came with.

use std::ops::{Deref, DerefMut};

use bytes::Bytes;
use http::StatusCode;
use serde_json::value::RawValue;

use crate::ratelimit::RateLimit;

/// The `data` of a successful call, with the HTTP status and the rate-limit snapshot of its
/// response. Derefs to the payload; [`into_inner`](Self::into_inner) gives it by value.
///
/// ```no_run
/// # async fn demo(client: opx::Client) -> opx::Result<()> {
/// let account = client.account().await?;
/// println!("{} has {} RUB (HTTP {})", account.username, account.balance, account.status());
/// let account: opx::types::Account = account.into_inner();
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Response<T> {
    value: T,
    status: StatusCode,
    rate_limit: Option<RateLimit>,
    body: Bytes,
}

impl<T> Response<T> {
    pub(crate) fn new(value: T, status: StatusCode, rate_limit: Option<RateLimit>) -> Self {
        Self {
            value,
            status,
            rate_limit,
            body: Bytes::new(),
        }
    }
    /// Attaches the raw body the payload was decoded from.
    pub(crate) fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }
    /// The response body exactly as the server sent it (the whole envelope for JSON
    /// operations), for callers who need the bytes rather than the typed payload: e.g. the
    /// `opx --json` output. Empty for responses the facade synthesised.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// The envelope's `data` exactly as the server wrote it, for a field this crate does not
    /// model: `None` when the body is not a JSON envelope (e.g. the text proxy list).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let account = client.account().await?;
    /// let data: serde_json::Value = serde_json::from_str(account.data_json().unwrap().get()).unwrap();
    /// println!("{:?}", data.get("plan_tier"));
    /// # Ok(()) }
    /// ```
    pub fn data_json(&self) -> Option<&RawValue> {
        data_of(&self.body)
    }
    /// The payload.
    pub fn into_inner(self) -> T {
        self.value
    }
    /// The HTTP status, as the server sent it (any 2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The rate-limit headers of this response, if it carried them.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }
    /// Maps the payload, keeping status and rate limit.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            value: f(self.value),
            status: self.status,
            rate_limit: self.rate_limit,
            body: self.body,
        }
    }
    /// Maps the payload with a fallible function.
    pub(crate) fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Response<U>, E> {
        Ok(Response {
            value: f(self.value)?,
            status: self.status,
            rate_limit: self.rate_limit,
            body: self.body,
        })
    }
}

/// The raw `data` member of a JSON envelope (`{"status": ..., "data": ...}`), borrowed.
pub(crate) fn data_of(body: &[u8]) -> Option<&RawValue> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_slice::<Envelope<'_>>(body)
        .ok()
        .map(|e| e.data)
}

/// The raw body is shown by length only: it may hold proxy passwords.
impl<T: std::fmt::Debug> std::fmt::Debug for Response<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("value", &self.value)
            .field("status", &self.status)
            .field("rate_limit", &self.rate_limit)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Response<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_raw_body() {
        let r = Response::new(1u8, StatusCode::OK, None)
            .with_body(Bytes::from_static(br#"{"auth":{"password":"hunter2"}}"#));
        let d = format!("{r:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("body_len"), "{d}");
        assert_eq!(r.body().len(), 31);
        assert!(r.data_json().is_none());
        let r = Response::new(1u8, StatusCode::OK, None).with_body(Bytes::from_static(
            br#"{"status":"ok","data":{"b":1,  "a":[2]}}"#,
        ));
        assert_eq!(r.data_json().unwrap().get(), r#"{"b":1,  "a":[2]}"#);
    }
}
