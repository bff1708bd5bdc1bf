//! Running the `opx` binary as a child process, for the `tests/cli*.rs` files that include it
//! (`#[path = "support/opx_bin.rs"] mod opx_bin;`): a clean environment (no `OPX_*` variable
//! and no config file of the developer's), no terminal on stdin.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use opx::mock::MockServer;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_opx");

/// The variables of the developer's environment that would change what `opx` does.
const CLEARED: [&str; 7] = [
    "OPX_TOKEN",
    "OPX_BASE_URL",
    "OPX_LOG",
    "OPX_PROFILE",
    "OPX_CONFIG",
    "OPX_PACE",
    "OPX_WATCH",
];

/// The journal of money calls of this test process's `opx` runs: one folder per process, a
/// file per mock (each has its own port), never the developer's state directory.
pub fn state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("opx-tests-state-{}", std::process::id()))
}

/// `opx ARGS` with no terminal and a clean environment, plus `env` (which may set
/// `XDG_CONFIG_HOME` or `HOME`; without it no config file is found).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    clean_env(&mut cmd, env);
    cmd.stdin(Stdio::null());
    cmd
}

/// Clears `cmd`'s environment of what would change what `opx` does (as [`command`] does; for
/// a command that runs `opx` in turn, e.g. on a pseudo-terminal), then adds `env`.
pub fn clean_env(cmd: &mut Command, env: &[(&str, &str)]) {
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/opx-tests");
    cmd.env("OPX_STATE_DIR", state_dir());
    // `opx auth login` never writes to the developer's OS keychain: the file store.
    cmd.env("OPX_KEYRING", "0");
    // The human layout of tables and amounts, as on a terminal: most tests read it. The pipe
    // layout (tab-separated, plain amounts) has its own tests, which set it to "".
    cmd.env("OPX_FORCE_TTY", "1");
    cmd.envs(env.iter().copied());
}

/// Runs [`command`] to the end (on a blocking thread, so an in-process mock keeps serving).
pub async fn opx_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(args, env);
    tokio::task::spawn_blocking(move || cmd.output().expect("the opx binary runs"))
        .await
        .unwrap()
}

/// Runs `opx ARGS` against `server` (its token and base URL).
pub async fn opx(server: &MockServer, args: &[&str]) -> Output {
    opx_with_env(
        args,
        &[
            ("OPX_TOKEN", server.token()),
            ("OPX_BASE_URL", server.base_url()),
        ],
    )
    .await
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

/// Asserts success with nothing on stderr (no terminal: no notice, no progress); stdout.
pub fn ok(o: &Output) -> String {
    let out = exits(o, 0);
    assert_eq!(stderr(o), "", "nothing on stderr when it is not a terminal");
    out
}
