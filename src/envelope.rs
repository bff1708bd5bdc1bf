//! Reading what a server sent when it is not a success: the error envelope's code and
//! message, or a short description of any other body. Everything read is made safe to print.

use crate::text::{is_unprintable, printable};
use crate::types::ErrorCode;

/// The `code` and `message` of an error envelope, read leniently from raw bytes: any JSON object
/// with `error.code` (a string) is accepted, whatever the code; anything else gives `None`.
///
/// The code and message come from the server, so they are made safe to print: control
/// characters (terminal escapes, CR/LF) become spaces and they are cut to [`MAX_SERVER_CODE`] /
/// [`MAX_SERVER_MESSAGE`] characters.
pub(crate) fn parse_envelope(body: &[u8]) -> Option<(ErrorCode, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error")?;
    let code = err.get("code")?.as_str()?;
    let message = err.get("message").and_then(|m| m.as_str()).unwrap_or("");
    Some((
        ErrorCode::parse(&printable(code, MAX_SERVER_CODE)),
        printable(message, MAX_SERVER_MESSAGE),
    ))
}

/// Longest error code kept from a server's envelope, in characters.
pub(crate) const MAX_SERVER_CODE: usize = 64;
/// Longest error message kept from a server's envelope, in characters.
pub(crate) const MAX_SERVER_MESSAGE: usize = 1024;

/// Most characters of a non-envelope body quoted in an error.
pub(crate) const MAX_BODY_SNIPPET: usize = 100;

/// A short, printable description of a body that is not the error envelope: its printable
/// characters, quoted, as many as fit in [`MAX_BODY_SNIPPET`] once escaped.
pub(crate) fn describe_body(status: u16, body: &[u8]) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status");
    if body.is_empty() {
        return format!("{reason} (empty body)");
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let mut width = 0;
    let snippet: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !is_unprintable(*c))
        .take_while(|c| {
            // Counted as quoted: `Debug` writes some characters escaped (a combining accent
            // as `\u{300}`, seven), which would otherwise let the text grow sevenfold.
            width += c.escape_debug().count();
            width <= MAX_BODY_SNIPPET
        })
        .collect();
    format!(
        "{reason} (body is not the error envelope, {} bytes: {snippet:?})",
        body.len()
    )
}
