//! The mock server (`opx::mock`, `opx mock`): routes, state, validation, rate limits, faults.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod control;
mod faults;
mod fuzz;
mod pagination;
mod perf;
mod ratelimit;
mod routes;
mod state;
mod validation;
