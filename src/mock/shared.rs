//! [`Mock`]: what the HTTP shell and the control API share: the spec's route table, the fake,
//! the harness.

use std::sync::Arc;

use crate::conformance::RouteTable;
use crate::mock::fake::api::Fake;
use crate::mock::harness::store::Harness;

/// One running mock's parts.
pub(crate) struct Mock {
    pub(crate) routes: Arc<RouteTable>,
    /// The fake; the gateways hold it too.
    pub(crate) fake: Arc<Fake>,
    pub(crate) harness: Harness,
    pub(crate) validate_responses: bool,
}

impl Mock {
    /// Back to the starting state: the fake (accounts, services, logs, the clock) and the
    /// harness (faults, overrides, records, counters).
    pub(crate) fn reset(&self) {
        self.fake.reset();
        self.harness.reset();
    }
}
