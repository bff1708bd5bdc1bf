//! `GET /services/{id}/proxies`: as text (exactly as sent), as parsed lines, or as JSON.
//!
//! The text download goes through the same generated method and hook as every other call: the
//! hook asks for `text/plain` when `format=txt` (the generated code only knows the JSON
//! response), and the text is taken from the call's record.

use http::StatusCode;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::operation::{Operation, ProxyFormat};
use crate::proxies::{ProxyEndpointBuf, parse_list};
use crate::response::Response;
use crate::transport::{record::CallRecord, recorded, secrets::Secrets};
use crate::types::ServiceId;
use crate::types::{GatewayCountry, ProxyLayout};
use crate::types::{ProxyList, ProxyQuery};

const OP: Operation = Operation::GetProxies;

fn decode_error(message: impl Into<String>, status: Option<StatusCode>) -> Error {
    let e = Error::new(ErrorKind::Decode, message).with_operation(OP);
    match status {
        Some(s) => e.with_status(s),
        None => e,
    }
}

/// The query parameters of `query` in `format`; a gateway the docs do not list is refused
/// before anything is sent.
fn parameters<'a>(
    query: &'a ProxyQuery,
    format: &'a ProxyFormat,
) -> Result<(
    Option<&'a GatewayCountry>,
    Option<&'a ProxyLayout>,
    Option<&'a ProxyFormat>,
)> {
    let country = query
        .country
        .as_ref()
        .map(|c| c.for_request(OP))
        .transpose()?;
    Ok((country, query.layout.as_ref(), Some(format)))
}

/// The text of a `format=txt` answer, from the call's record.
fn text_of(rec: CallRecord, secrets: &Secrets) -> Result<Response<String>> {
    let content_type = rec
        .content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.is_empty() && !content_type.starts_with("text/plain") {
        let shown = secrets.redact_str(content_type);
        return Err(decode_error(
            format!("expected a text/plain proxy list, got {shown:?}"),
            rec.status,
        )
        .with_body(rec.body));
    }
    let text = String::from_utf8(rec.body.to_vec())
        .map_err(|e| decode_error("the proxy list is not UTF-8", rec.status).with_source(e))?;
    let status = rec.status.unwrap_or(StatusCode::OK);
    Ok(Response::new(text, status, rec.rate_limit).with_body(rec.body))
}

impl Client {
    /// `GET /services/{id}/proxies?format=json`: the structured `servers` list.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// for s in &client.proxies_json(&id, &opx::types::ProxyQuery::new()).await?.servers {
    ///     println!("{:?} {}:{}", s.country, s.host, s.port);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn proxies_json(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<ProxyList>> {
        let (country, layout, format) = parameters(query, &ProxyFormat::Json)?;
        let r = self
            .call(OP, |raw| {
                raw.get_proxies(id, query.auth, country, format, layout)
            })
            .await?;
        Ok(r.map(|v| v.data))
    }

    /// `GET /services/{id}/proxies?format=txt`: the proxy list exactly as the server sent it,
    /// one proxy per line. Parse it without allocating with
    /// [`ProxyLines`](crate::proxies::ProxyLines).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// let text = client.proxies_text(&id, &opx::types::ProxyQuery::new()).await?;
    /// print!("{}", *text);
    /// # Ok(()) }
    /// ```
    pub async fn proxies_text(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<String>> {
        let (country, layout, format) = parameters(query, &ProxyFormat::Txt)?;
        self.t.gate(OP).await?;
        let send = self
            .raw
            .get_proxies(id, query.auth, country, format, layout);
        let (result, rec) = recorded(send).await;
        match result {
            // The JSON decoder of the generated code cannot read a text body: expected.
            Err(progenitor_client::Error::InvalidResponsePayload(..)) | Ok(_)
                if rec.is_success() && !rec.too_large =>
            {
                text_of(rec, &self.t.secrets)
            }
            Ok(_) => Err(self.t.classify(OP, &rec, None)),
            Err(e) => Err(self.t.classify(OP, &rec, Some(e))),
        }
    }

    /// `GET /services/{id}/proxies?format=txt`, parsed into endpoints (host, port, login,
    /// password) in the layout asked for.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// for e in client.proxies(&id, &opx::types::ProxyQuery::new()).await?.iter() {
    ///     let proxy_url = e.proxy_url(); // http://login:password@host:port
    /// #   let _ = proxy_url;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn proxies(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<Vec<ProxyEndpointBuf>>> {
        let text = self.proxies_text(id, query).await?;
        let status = text.status();
        let layout = query.layout;
        text.try_map(|t| {
            parse_list(&t, layout).map_err(|e| decode_error(e.to_string(), Some(status)))
        })
    }
}
