//! Running the `opx` binary against an in-process mock, for the `tests/cli_*.rs` files that
//! include it (`#[path = "support/opx_bin.rs"] mod opx_bin;`).
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use opx::mock::MockServer;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_opx");

/// Runs `opx ARGS` against `server`, no terminal on stdin, no config file of the developer's.
pub async fn opx(server: &MockServer, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let (token, base) = (server.token().to_owned(), server.base_url().to_owned());
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("OPX_LOG")
            .env_remove("OPX_PROFILE")
            .env_remove("OPX_CONFIG")
            .env("XDG_CONFIG_HOME", "/nonexistent/opx-tests")
            .env("OPX_TOKEN", token)
            .env("OPX_BASE_URL", base)
            .stdin(Stdio::null())
            .output()
            .expect("the opx binary runs")
    })
    .await
    .unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts exit `code`; standard output.
pub fn exits(o: &Output, code: i32) -> String {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}
