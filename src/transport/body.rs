//! Reading a response body under the size cap, and handing the generated code a response
//! rebuilt around the buffered body.

use bytes::Bytes;
use http::StatusCode;
use reqwest::ResponseBuilderExt as _;

/// Why a body could not be read whole.
pub(crate) enum ReadError {
    /// Larger than the cap (by `Content-Length` or by what arrived).
    TooLarge,
    /// The connection failed while the body was arriving.
    Http(reqwest::Error),
}

/// Reads the whole body, refusing more than `cap` bytes. A body that arrives in one chunk (the
/// usual case for an API answer) is kept as it is, without a copy. At most `cap` bytes (plus
/// one chunk) are ever held.
pub(crate) async fn read_capped(
    resp: &mut reqwest::Response,
    cap: usize,
) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge);
    }
    let Some(first) = resp.chunk().await.map_err(ReadError::Http)? else {
        return Ok(Bytes::new());
    };
    if first.len() > cap {
        return Err(ReadError::TooLarge);
    }
    let Some(second) = resp.chunk().await.map_err(ReadError::Http)? else {
        return Ok(first);
    };
    // The chunks are kept as they came (no growing buffer, whose reallocations would hold up
    // to 1.5x the cap at once) and joined once at the end: while reading, a call holds at
    // most the cap plus the chunk that crossed it.
    let mut total = first.len() + second.len();
    if total > cap {
        return Err(ReadError::TooLarge);
    }
    let mut chunks = vec![first, second];
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Http)? {
        total += chunk.len();
        if total > cap {
            return Err(ReadError::TooLarge);
        }
        chunks.push(chunk);
    }
    let mut buf = Vec::with_capacity(total);
    for chunk in chunks {
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// `resp`'s version, headers and URL with `body`, the body it was read into. The headers are
/// moved, not copied.
///
/// The spec documents `200` as the success status, and the generated code decodes only that:
/// any other 2xx (a `201 Created` on purchase, say) is handed over as `200` so that it decodes
/// as the success it is. The call's record keeps the real status.
pub(crate) fn with_body(mut resp: reqwest::Response, body: Bytes) -> reqwest::Response {
    let status = match resp.status() {
        s if s.is_success() => StatusCode::OK,
        s => s,
    };
    // reqwest keeps the URL outside the parts: without it, it would parse a placeholder URL.
    let mut rebuilt = http::Response::builder()
        .status(status)
        .version(resp.version())
        .url(resp.url().clone());
    if let Some(headers) = rebuilt.headers_mut() {
        *headers = std::mem::take(resp.headers_mut());
    }
    match rebuilt.body(body) {
        Ok(r) => reqwest::Response::from(r),
        // Unreachable: every part was taken from a valid response.
        Err(_) => resp,
    }
}
