//! The mock server (`opx::mock`, `opx mock`): routes, state, validation, rate limits, faults.

#[path = "../support/mod.rs"]
mod support;

#[path = "../support/echo.rs"]
mod echo;
#[path = "../support/opx_bin.rs"]
mod opx_bin;

mod cli;
mod control;
mod faults;
mod fuzz;
mod gateway;
mod pagination;
mod perf;
mod ratelimit;
mod routes;
mod state;
mod time_scale;
mod validation;
