//! Running the `opx` binary as a child process, for the `tests/cli*.rs` files that include it
//! (`#[path = "support/opx_bin.rs"] mod opx_bin;`): a clean environment (no `OPX_*` variable
//! and no config file of the developer's), no terminal on stdin.
#![allow(dead_code)]

use std::path::PathBuf;
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
    let (cleared, set) = clean_environment(env);
    for var in cleared {
        cmd.env_remove(var);
    }
    cmd.envs(set);
}

/// What [`clean_env`] does to an environment, for a command built some other way (on a
/// pseudo-terminal, `tests/support/pty.rs`): the variables it removes, then those it sets, in
/// order (`env` last, so it overrides the defaults).
pub fn clean_environment(env: &[(&str, &str)]) -> (&'static [&'static str], Vec<(String, String)>) {
    let mut set: Vec<(String, String)> = vec![
        ("XDG_CONFIG_HOME".into(), "/nonexistent/opx-tests".into()),
        (
            "OPX_STATE_DIR".into(),
            state_dir().to_string_lossy().into_owned(),
        ),
        // `opx auth login` never writes to the developer's OS keychain: the file store.
        ("OPX_KEYRING".into(), "0".into()),
        // The human layout of tables and amounts, as on a terminal: most tests read it. The
        // pipe layout (tab-separated, plain amounts) has its own tests, which set it to "".
        ("OPX_FORCE_TTY".into(), "1".into()),
    ];
    set.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    (&CLEARED, set)
}

/// Runs `cmd` to the end (on a blocking thread, so an in-process mock keeps serving).
pub async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the opx binary runs"))
        .await
        .unwrap()
}

/// Runs [`command`] to the end.
pub async fn opx_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    output(command(args, env)).await
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

/// Asserts a usage error (exit 2, refused before anything is sent) whose stderr says `says`.
pub fn usage_error(o: &Output, says: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(says), "{says:?} in {err}");
}

/// Asserts success with nothing on stderr (no terminal: no notice, no progress); stdout.
pub fn ok(o: &Output) -> String {
    let out = exits(o, 0);
    assert_eq!(stderr(o), "", "nothing on stderr when it is not a terminal");
    out
}

/// `1 500 RUB`: an amount grouped as the tool prints money on a terminal.
pub fn rub(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    format!("{out} RUB")
}

/// A home of its own (a temporary directory as `HOME`, its `xdg/` as `XDG_CONFIG_HOME`), so a
/// developer's config file and logins cannot interfere. The test files that use it add their
/// own methods (the files they write there).
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// `name` in this home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The XDG config directory (`opx/config.toml`, `opx/auth.json` below it).
    pub fn xdg(&self) -> PathBuf {
        self.path("xdg")
    }

    /// [`command`] with `HOME` and `XDG_CONFIG_HOME` in this home, plus `env`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let (home, xdg) = (self.dir.path(), self.xdg());
        let mut all = vec![
            ("HOME", home.to_str().unwrap()),
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
        ];
        all.extend_from_slice(env);
        command(args, &all)
    }

    /// Runs [`Home::command`] to the end.
    pub async fn opx(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        output(self.command(args, env)).await
    }
}
