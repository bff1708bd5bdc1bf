//! Running the `opx` binary on a real pseudo-terminal (portable-pty), for the tests of what it
//! does on a terminal: prompts, the human layout, colour. Include it beside `opx_bin.rs`
//! (`#[path = "support/pty.rs"] mod pty;`).
//!
//! The child's stdin, stdout and stderr are the terminal, so what it prints comes back as one
//! stream, in the order a person would see it, with the terminal's line endings (`\r\n`, turned
//! back into `\n` by [`Terminal::finish`]) and the echo of what was typed. `OPX_FORCE_TTY` and
//! `NO_COLOR` are removed from the environment [`opx_bin::clean_environment`] gives (a test
//! adds `NO_COLOR` itself), so the terminal is detected as a user's would be.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::opx_bin;

/// How long any one wait on the terminal may take before the test fails (a prompt nobody
/// answers, a command that hangs).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `opx` on a pseudo-terminal of 100 columns by 40 rows.
pub struct Terminal {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    chunks: Receiver<Vec<u8>>,
    /// Everything read so far, as the terminal got it.
    screen: Vec<u8>,
    /// Where the next [`Terminal::expect`] starts looking.
    seen: usize,
    /// Whether the reader reached the end (the child and its terminal are gone).
    ended: bool,
    _master: Box<dyn MasterPty + Send>,
}

/// A finished run: its exit code and the screen (with `\n` line endings).
#[derive(Debug)]
pub struct Screen {
    pub code: u32,
    pub text: String,
}

impl Terminal {
    /// Starts `opx ARGS` on a new pseudo-terminal with the tests' clean environment plus `env`.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Terminal {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal opens");
        let mut cmd = CommandBuilder::new(opx_bin::BIN);
        cmd.args(args);
        let (cleared, set) = opx_bin::clean_environment(env);
        for var in cleared.iter().chain(&["OPX_FORCE_TTY", "NO_COLOR"]) {
            cmd.env_remove(var);
        }
        for (k, v) in set {
            if k != "OPX_FORCE_TTY" {
                cmd.env(k, v);
            }
        }
        cmd.env("TERM", "xterm-256color");
        // As `std::process::Command` does (portable-pty's default is the home folder).
        cmd.cwd(std::env::current_dir().expect("a working directory"));
        let child = pair
            .slave
            .spawn_command(cmd)
            .expect("opx starts on the terminal");
        // Only the child holds the terminal's side now: its exit ends the reader.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("a reader");
        let writer = pair.master.take_writer().expect("a writer");
        let (tx, chunks) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Linux answers EIO once the child's side is closed: the end, as Ok(0) is.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            child,
            writer,
            chunks,
            screen: Vec::new(),
            seen: 0,
            ended: false,
            _master: pair.master,
        }
    }

    /// Reads what has arrived, waiting until `deadline` for more; false at the end.
    fn read_until(&mut self, deadline: Instant) -> bool {
        if self.ended {
            return false;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.chunks.recv_timeout(wait) {
            Ok(chunk) => {
                self.screen.extend_from_slice(&chunk);
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                false
            }
        }
    }

    /// The screen so far, as text.
    pub fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Waits for `needle` to appear after what the previous expect found; everything up to and
    /// including it. Fails the test after [`PATIENCE`] or at the end of the output.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = String::from_utf8_lossy(&self.screen[self.seen..]).into_owned();
            if let Some(at) = text.find(needle) {
                let upto = at + needle.len();
                self.seen += text[..upto].len();
                return text[..upto].to_owned();
            }
            assert!(
                Instant::now() < deadline && self.read_until(deadline),
                "{needle:?} never came on the terminal; it shows:\n{}",
                self.so_far()
            );
        }
    }

    /// Types `text` (a line needs its `\n`).
    pub fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Reads to the end, answering `answer` to each `[y/N] ` question met on the way (`None`:
    /// a question fails the test), and waits for the exit.
    fn run_out(&mut self, answer: Option<&str>) -> u32 {
        let deadline = Instant::now() + PATIENCE;
        while self.read_until(deadline) {
            // A question after what an expect or an answer has seen.
            if String::from_utf8_lossy(&self.screen[self.seen..]).contains("[y/N] ") {
                let answer = answer.unwrap_or_else(|| {
                    panic!("asked a question nobody answers:\n{}", self.so_far())
                });
                self.send(answer);
                self.seen = self.screen.len();
            }
            assert!(
                Instant::now() < deadline,
                "still running after {PATIENCE:?}:\n{}",
                self.so_far()
            );
        }
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit:\n{}", self.so_far());
            std::thread::sleep(Duration::from_millis(5));
        };
        status.exit_code()
    }

    /// Reads to the end (a question fails the test) and waits for the exit: the exit code and
    /// everything the terminal showed.
    pub fn finish(mut self) -> Screen {
        let code = self.run_out(None);
        self.screen_with(code)
    }

    /// [`Terminal::finish`], answering `answer` (e.g. `"n\n"`) to every `[y/N]` question.
    pub fn finish_answering(mut self, answer: &str) -> Screen {
        let code = self.run_out(Some(answer));
        self.screen_with(code)
    }

    fn screen_with(self, code: u32) -> Screen {
        Screen {
            code,
            text: self.so_far().replace("\r\n", "\n"),
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // A test that failed half-way leaves no opx behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// Runs `opx ARGS` on a terminal to the end (off the async runtime, so an in-process mock keeps
/// serving), answering `answer` to its questions if given.
pub async fn run(args: &[&str], env: &[(&str, &str)], answer: Option<&str>) -> Screen {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let answer = answer.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let terminal = Terminal::spawn(&args, &env);
        match answer {
            Some(a) => terminal.finish_answering(&a),
            None => terminal.finish(),
        }
    })
    .await
    .unwrap()
}
