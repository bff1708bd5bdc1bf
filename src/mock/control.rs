//! The control API under `/_mock/` (no API token; loopback peers only): what `MockServer`'s
//! methods do, over HTTP, for tests in any language.

use std::sync::Arc;

use axum::Router;

use super::Inner;

/// The control routes, nested under `/_mock`.
pub(crate) fn router() -> Router<Arc<Inner>> {
    Router::new()
}
