//! The harness tests drive around the fake: faults, response overrides, records, counters and
//! expectations ([`store::Harness`]), and the control API that does the same over HTTP for
//! tests in any language.

pub(crate) mod control;
pub(crate) mod expect;
pub(crate) mod fault;
pub(crate) mod overrides;
pub(crate) mod record;
pub(crate) mod store;
