//! One `GET` exactly as the server answers it (status, content type, headers, body), through
//! this client's transport: token, local rate-limit gate, retries, the body cap. For checks that
//! must see what the typed methods would decode or refuse (`Client::doctor`).

use crate::client::Client;
use crate::error::Result;
use crate::operation::Operation;
use crate::transport::recorded;

/// One answer as the server sent it.
pub(crate) struct RawAnswer {
    /// The HTTP status of the last attempt.
    pub(crate) status: u16,
    /// `Content-Type`, empty when absent.
    pub(crate) content_type: String,
    /// Every header.
    pub(crate) headers: http::HeaderMap,
    /// The body, as read (within the client's size cap).
    pub(crate) body: bytes::Bytes,
}

impl Client {
    /// `GET {base}{path}?{query}` as `operation`, with `Accept: accept` (JSON by default).
    pub(crate) async fn get_raw(
        &self,
        operation: Operation,
        path: &str,
        query: &[(&str, &str)],
        accept: Option<&str>,
    ) -> Result<RawAnswer> {
        self.t.gate(operation).await?;
        let request = self
            .t
            .client
            .get(format!("{}{path}", self.t.base_url))
            .query(query)
            .header(http::header::ACCEPT, accept.unwrap_or("application/json"))
            .build()
            .map_err(|e| crate::Error::config("could not build a request").with_source(e))?;
        let (result, rec) = recorded(self.t.execute(request, operation)).await;
        let response = result.map_err(|e| {
            self.t.classify(
                operation,
                &rec,
                Some(progenitor_client::Error::CommunicationError(e)),
            )
        })?;
        Ok(RawAnswer {
            status: rec
                .status
                .map_or(response.status().as_u16(), |s| s.as_u16()),
            content_type: response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            headers: response.headers().clone(),
            body: rec.body,
        })
    }
}
