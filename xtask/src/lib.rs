//! Maintainer chores for `opx`, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! `cargo xtask regen [--from URL|PATH]` replaces `spec/openapi.json` with the upstream document
//! after checking it, and prints what changed; `cargo xtask regen --check` (run by CI) checks that
//! the vendored spec is valid, generates and is normalized. The modules:
//!
//! - [`fetch`]: read the document from an `http(s)` URL or a file;
//! - [`normalize`]: the canonical text (sorted keys, 2-space indent, trailing newline) and the
//!   atomic write;
//! - [`diff`]: the summary of changes, breaking ones marked;
//! - [`mod@regen`]: the two commands as functions of a target path.
//!
//! The structural checks live in `opx_codegen::validate`, shared with the spec tests.

#![deny(missing_docs)]

pub mod diff;
pub mod fetch;
pub mod normalize;
pub mod regen;

pub use fetch::{DEFAULT_URL, Source};
pub use regen::{Error, Report, check, regen};
