//! Answers as HTTP responses: a handler's [`Reply`], the error envelope, and what an injected
//! [`Fault`] answers instead.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::mock::fake::handlers::Reply;
use crate::mock::harness::fault::Fault;
use crate::types::ErrorCode;

/// Marks a response a reverse proxy would have sent: no rate-limit headers.
#[derive(Clone, Copy)]
pub(crate) struct NoRateHeaders;

/// A handler's reply as an HTTP response.
pub(crate) fn reply_response(reply: Reply) -> Response {
    let (status, content_type, body) = match reply {
        Reply::Json(s, v) => (s, "application/json", v.to_string()),
        Reply::Text(s, t) => (s, "text/plain; charset=utf-8", t),
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A response of the error envelope, with the status the spec gives `code`.
pub(crate) fn error_response(code: ErrorCode, message: impl Into<String>) -> Response {
    reply_response(Reply::error(code, message))
}

/// The error code that goes with an injected status.
fn code_for(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::InvalidRequest,
        401 => ErrorCode::InvalidToken,
        402 => ErrorCode::InsufficientBalance,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        429 => ErrorCode::RateLimited,
        _ => ErrorCode::ServerError,
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
    r.extensions_mut().insert(NoRateHeaders);
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
            let message = format!("fault injected: status {s}");
            reply_response(Reply::error_status(*s, &code_for(*s), message))
        }
        Fault::Html502 => proxy_like(with_type(
            502,
            "text/html; charset=utf-8",
            Body::from(
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            ),
        )),
        Fault::RateLimited { retry_after } => {
            let message = "fault injected: rate limit exceeded";
            let mut r = error_response(ErrorCode::RateLimited, message);
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
            error_response(ErrorCode::ServerError, "a delay replaces nothing")
        }
    }
}
