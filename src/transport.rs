//! The per-call context the generated client carries, and the hooks that run every request.

/// Per-call context carried by the generated client as its `inner` value.
#[derive(Debug, Default, Clone)]
pub struct CallContext;
