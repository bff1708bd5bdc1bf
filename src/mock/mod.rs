//! A spec-driven, stateful mock of the OP-Proxy API (feature `mock`).
