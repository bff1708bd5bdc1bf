//! The `opx` command-line tool.

fn main() {}
