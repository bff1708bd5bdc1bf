//! Fault injection: the next N calls of an operation fail in a chosen way.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// A failure to inject with [`MockServer::inject`](super::MockServer::inject).
///
/// [`Fault::Delay`] delays the request and then answers normally; every other fault replaces
/// the response. Injected responses are deliberately outside the spec and are not
/// response-validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the error envelope (code chosen from the status).
    Status(u16),
    /// Answer 502 with an HTML body, as a reverse proxy would.
    Html502,
    /// Answer 429 `rate_limited`, with or without a `Retry-After` header.
    RateLimited {
        /// The `Retry-After` value in seconds; `None` omits the header.
        retry_after: Option<u64>,
    },
    /// Wait this long on the mock's clock, then answer normally. If the client hangs up
    /// meanwhile, the operation does not run (the mock abandons the call). In virtual time the
    /// wait ends when something moves the clock that far (a client's sleep on it,
    /// [`MockServer::advance`](super::MockServer::advance)); on the wall clock, at its scale.
    Delay(Duration),
    /// Wait this long on the mock's clock (as [`Fault::Delay`]), then run the operation
    /// **whether or not the client is still there**: a server that commits a request its
    /// client gave up on, seen as late as a real one would be seen.
    SlowCommit(Duration),
    /// Run the operation (its effect commits), then answer as the inner fault would: committed,
    /// then the answer was garbled (`AfterCommit(Box::new(Fault::TruncatedBody))`) or refused.
    /// With [`Fault::Delay`] inside, the real answer is sent that much later: committed, then
    /// answered after the client's deadline.
    AfterCommit(Box<Fault>),
    /// Close the connection without answering; the operation does not run.
    DropBeforeResponse,
    /// Run the operation (its effect commits), then close the connection without answering.
    DropAfterCommit,
    /// Answer 200 `application/json` with a body that is not valid JSON.
    MalformedJson,
    /// Answer 200 with a `Content-Length` larger than the body sent, then close.
    TruncatedBody,
    /// Answer 200 with `text/html` instead of JSON.
    WrongContentType,
}

/// The error code that goes with an injected status.
fn code_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request",
        401 => "invalid_token",
        402 => "insufficient_balance",
        404 => "not_found",
        405 => "method_not_allowed",
        429 => "rate_limited",
        _ => "server_error",
    }
}

/// A body that fails before yielding anything: hyper closes the connection with no response.
fn dropping_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault injected: connection dropped"))
    }))
}

/// A response whose body makes hyper drop the connection before anything is sent.
pub(crate) fn drop_response() -> Response {
    proxy_like(Response::new(dropping_body()))
}

/// Marks a response that a reverse proxy, not the API, would send: no rate-limit headers.
pub(crate) fn proxy_like(mut r: Response) -> Response {
    r.extensions_mut().insert(super::pipeline::NoRateHeaders);
    r
}

fn with_type(status: u16, content_type: &'static str, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// The response that replaces the real one (for `Delay` and `SlowCommit`, which do not replace
/// it, and the commit-first faults, their inner answer).
pub(crate) fn replacement(fault: &Fault) -> Response {
    match fault {
        Fault::Status(s) => {
            let body = serde_json::json!({
                "status": "error",
                "error": { "code": code_for(*s), "message": format!("fault injected: status {s}") },
            });
            with_type(*s, "application/json", Body::from(body.to_string()))
        }
        Fault::Html502 => proxy_like(with_type(
            502,
            "text/html; charset=utf-8",
            Body::from(
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            ),
        )),
        Fault::RateLimited { retry_after } => {
            let body = serde_json::json!({
                "status": "error",
                "error": { "code": "rate_limited", "message": "fault injected: rate limit exceeded" },
            });
            let mut r = with_type(429, "application/json", Body::from(body.to_string()));
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            r
        }
        Fault::MalformedJson => with_type(
            200,
            "application/json",
            Body::from("{\"status\":\"ok\",\"data\":{\"username\":"),
        ),
        Fault::TruncatedBody => {
            let first = Bytes::from_static(b"{\"status\":\"ok\",\"data\":{");
            let stream = futures::stream::unfold(0u8, move |step| {
                let first = first.clone();
                async move {
                    match step {
                        0 => Some((Ok(first), 1)),
                        1 => {
                            // Let hyper flush the head and the first chunk, then fail.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Some((
                                Err(std::io::Error::other("fault injected: truncated body")),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            let mut r = with_type(200, "application/json", Body::from_stream(stream));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            r
        }
        Fault::WrongContentType => with_type(
            200,
            "text/html; charset=utf-8",
            Body::from("<html><body>OK</body></html>"),
        ),
        Fault::DropBeforeResponse | Fault::DropAfterCommit => drop_response(),
        Fault::AfterCommit(inner) => replacement(inner),
        Fault::Delay(_) | Fault::SlowCommit(_) => {
            super::pipeline::error_response(500, "server_error", "a delay replaces nothing")
        }
    }
}
