//! The HTTP shell around the fake and the harness: the axum router ([`app`]), the request
//! pipeline ([`pipeline`]) and the answers as responses ([`reply`]).

pub(crate) mod app;
pub(crate) mod pipeline;
pub(crate) mod reply;
