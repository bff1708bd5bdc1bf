//! The contract suite: the facade against the spec-driven mock, one module per concern. One test
//! binary instead of one per file, so the dependency tree is linked once rather than five times.

#[path = "../support/contract.rs"]
mod contract;
#[path = "../support/fixtures.rs"]
mod fixtures;

mod concurrency;
mod faults;
mod operations;
mod properties;
mod requirements;
mod slices;
