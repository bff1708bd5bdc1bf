//! Golden files of what each `opx` command prints, in a pipe and on a real pseudo-terminal
//! (issue 27, item 8), and its prompts driven on a pseudo-terminal.
//!
//! One seeded mock on a fixed clock (`MockBuilder::seed`, `MockBuilder::start_time`, a fixed
//! token) makes every id, credential, time and amount the same from run to run; what still
//! varies (ports, the journal's folder, latencies) is replaced by the filters of [`FILTERS`].
//! Each case runs twice, in the same order every time: in a pipe (stdout and stderr apart, no
//! terminal anywhere, `OPX_FORCE_TTY` empty) and on a pseudo-terminal (`tests/support/pty.rs`:
//! stdin, stdout and stderr are the terminal, as for a person; a `[y/N]` question is answered
//! `n`). Each is compared with `tests/golden/<case>@pipe.snap` / `<case>@terminal.snap`; the
//! exit code is part of the golden file.
//!
//! Which commands need a case comes from the command tree itself (`opx --help`, then the
//! `--help` of each command with subcommands): a new command fails
//! [`every_command_has_golden_output`] until it has a case here or a reason in [`NOT_GOLDEN`].
//!
//! After a deliberate change of output, bless every golden file in one command and review the
//! diff before committing:
//!
//! ```text
//! INSTA_UPDATE=always cargo test --all-features --test cli_golden
//! ```
//!
//! (or `cargo insta test --accept --test cli_golden` where cargo-insta is installed).

#[path = "support/echo.rs"]
mod echo;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;
#[path = "support/pty.rs"]
mod pty;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use opx::Operation;
use opx::mock::MockServer;
use opx::types::ServiceType;
use pty::Terminal;

/// The mock's fixed start: every time it shows follows from it.
const START: &str = "2026-06-01T09:00:00Z";
/// The default account's API key (`opx config` and `opx auth status` show its fingerprint).
const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

/// What varies from run to run, with what replaces it.
const FILTERS: [(&str, &str); 5] = [
    // Loopback ports (the mock's, its gateways', the echo target's).
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    // The journal's folder (one per test process).
    (r"opx-tests-state-\d+", "opx-tests-state-[PID]"),
    // Latencies measured on the wall clock (in a table: padded to one width).
    (r"\b\d+ ms {2,}", "[N] ms  "),
    (r"\b\d+ ms\b", "[N] ms"),
    // `opx doctor`: the mock's fixed clock against this machine's.
    (
        r"(clock\s+warning\s+)[^(]*? (ahead of|behind) ",
        "$1[SKEW] $2 ",
    ),
];

/// Commands without golden output here, each with the reason.
const NOT_GOLDEN: [(&str, &str); 7] = [
    (
        "completions",
        "clap_complete's script, a function of the command tree (whose help is golden in \
         tests/golden/help.txt)",
    ),
    (
        "man",
        "writes man pages into a folder and prints nothing; clap_mangen's output of the same tree",
    ),
    (
        "mock",
        "a server that runs until interrupted (tests/mock/cli.rs)",
    ),
    (
        "gateway",
        "a server that runs until interrupted (tests/cli_gateway.rs)",
    ),
    (
        "auth login",
        "reads a token and writes the token store (tests/cli_auth.rs)",
    ),
    ("auth logout", "changes the token store (tests/cli_auth.rs)"),
    (
        "pending dismiss",
        "needs a money call of unknown outcome in the journal (tests/cli_campaign.rs)",
    ),
];

/// The seeded mock on the fixed clock. Its time does not move, so every request of a test falls
/// in one rate-limit window: the golden run makes about 125 of the 300 a minute allows (a case
/// past that would show the refusal, exit 4, in its golden file).
async fn golden_mock() -> MockServer {
    MockServer::builder()
        .seed(27)
        .start_time(START.parse::<DateTime<Utc>>().unwrap())
        .token(TOKEN)
        .start()
        .await
        .expect("the mock starts")
}

/// The environment of `opx` against `server`.
fn env_of(server: &MockServer) -> [(&str, &str); 2] {
    [
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
    ]
}

/// Compares `text` with the golden file `<name>@<mode>.snap`.
fn golden(name: &str, mode: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("golden");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_suffix(mode);
    settings.set_omit_expression(true);
    for (pattern, with) in FILTERS {
        settings.add_filter(pattern, with);
    }
    settings.bind(|| insta::assert_snapshot!(name.to_owned(), text));
}

/// `text` without the draws of a progress bar (`opx proxies --all` on a terminal): how often
/// it is redrawn depends on timing. Each draw is the bar, its message, and the line cleared
/// (`ESC[2K`) before the next output; the last draw must be cleared too.
fn without_progress_bars(text: &str) -> String {
    let draw = regex::Regex::new("[█░]+ [^\r\n]*[\r\n]*\u{1b}\\[2K").unwrap();
    let kept = draw.replace_all(text, "").into_owned();
    assert!(
        !kept.contains('░') && !kept.contains('█'),
        "a progress bar left on the screen: {text:?}"
    );
    kept
}

/// Compares a run on a terminal with the golden file `<name>@terminal.snap` (an escape
/// sequence shows as `\e`).
fn terminal_golden(name: &str, args: &[&str], screen: &pty::Screen) {
    let text = without_progress_bars(&screen.text).replace('\u{1b}', "\\e");
    let run = format!("$ opx {}\nexit {}\n{text}", args.join(" "), screen.code);
    golden(name, "terminal", &run);
}

/// Asserts that no escape sequence (colour, cursor movement) is in `text`, which went to a pipe.
fn no_escape(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence in a pipe ({what}): {text:?}"
    );
}

/// The commands of the tree that run, as paths (`account`, `whitelist`, `whitelist add`, not
/// `auth`, which needs a subcommand): those `opx ... --help` lists under "Commands:", at every
/// depth (clap's `help` left out).
fn command_tree() -> BTreeSet<String> {
    fn walk(path: &[&str], out: &mut BTreeSet<String>) {
        let mut args = path.to_vec();
        args.push("--help");
        let help = opx_bin::command(&args, &[])
            .output()
            .expect("opx --help runs");
        let text = opx_bin::stdout(&help);
        let commands = text
            .split("Commands:\n")
            .nth(1)
            .map(|rest| rest.split("\n\n").next().unwrap_or_default())
            .unwrap_or_default();
        for line in commands.lines() {
            // A command's line starts with two spaces and its name; a wrapped description
            // with more.
            let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) else {
                continue;
            };
            let name = name.split_whitespace().next().unwrap_or_default();
            if name == "help" || name.is_empty() {
                continue;
            }
            let mut sub = path.to_vec();
            sub.push(name);
            walk(&sub, out);
        }
        // A command runs by itself unless it needs a subcommand (`opx auth <COMMAND>`).
        let needs_subcommand = text
            .lines()
            .find(|l| l.starts_with("Usage: "))
            .is_some_and(|usage| usage.ends_with(" <COMMAND>"));
        if !path.is_empty() && !needs_subcommand {
            out.insert(path.join(" "));
        }
    }
    let mut out = BTreeSet::new();
    walk(&[], &mut out);
    out
}

/// The golden cases' runner: one mock, the commands run in order, each in a pipe and on a
/// terminal; which commands were covered.
struct Goldens<'a> {
    server: &'a MockServer,
    tree: BTreeSet<String>,
    covered: BTreeSet<String>,
}

impl Goldens<'_> {
    /// The command path of `args` (`--json whitelist add ID IP` is `whitelist add`).
    fn path_of(&self, args: &[&str]) -> String {
        let mut words = args.iter().filter(|a| !a.starts_with('-'));
        let command = words.next().expect("a command").to_string();
        match words.next() {
            Some(sub) if self.tree.contains(&format!("{command} {sub}")) => {
                format!("{command} {sub}")
            }
            _ => command,
        }
    }

    /// `opx ARGS` in a pipe and on a terminal, each compared with its golden file `name@pipe`,
    /// `name@terminal`.
    async fn case(&mut self, name: &str, args: &[&str]) {
        self.pipe(name, args).await;
        self.terminal(name, args).await;
    }

    /// `opx ARGS` in one mode (`pipe` or `terminal`): a command that changes what the other
    /// mode would then show, run on its own state in each.
    async fn one(&mut self, mode: &str, name: &str, args: &[&str]) {
        match mode {
            "pipe" => self.pipe(name, args).await,
            _ => self.terminal(name, args).await,
        }
    }

    /// `opx ARGS` in a pipe.
    async fn pipe(&mut self, name: &str, args: &[&str]) {
        self.covered.insert(self.path_of(args));
        let mut env = env_of(self.server).to_vec();
        env.push(("OPX_FORCE_TTY", ""));
        let out = opx_bin::opx_with_env(args, &env).await;
        let (stdout, stderr) = (opx_bin::stdout(&out), opx_bin::stderr(&out));
        no_escape(name, &stdout);
        no_escape(name, &stderr);
        let code = out.status.code().expect("an exit code");
        golden(
            name,
            "pipe",
            &format!(
                "$ opx {}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
                args.join(" ")
            ),
        );
    }

    /// `opx ARGS` on a pseudo-terminal, answering `n` to a question.
    async fn terminal(&mut self, name: &str, args: &[&str]) {
        self.covered.insert(self.path_of(args));
        let screen = pty::run(args, &env_of(self.server), Some("n\n")).await;
        terminal_golden(name, args, &screen);
    }

    /// The ids of the services of type `t`, as `opx services` lists them.
    async fn ids(&self, t: ServiceType) -> Vec<String> {
        let out = opx_bin::opx(self.server, &["--json", "services"]).await;
        let v: serde_json::Value = serde_json::from_str(&opx_bin::ok(&out)).unwrap();
        v["services"]
            .as_array()
            .unwrap_or_else(|| panic!("no services in {v}"))
            .iter()
            .filter(|s| s["type"] == t.to_string())
            .map(|s| s["service_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every output-producing command, in a pipe and on a terminal, against its golden files; the
/// commands covered are the command tree less [`NOT_GOLDEN`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_golden_output() {
    let server = golden_mock().await;
    let echo = echo::Echo::start().await;
    let mut g = Goldens {
        server: &server,
        tree: command_tree(),
        covered: BTreeSet::new(),
    };

    g.case("account", &["account"]).await;
    g.case("account-json", &["--json", "account"]).await;
    g.case("plans", &["plans"]).await;
    g.case("plans-json", &["--json", "plans"]).await;
    g.case("services-none", &["services"]).await;
    // The screen after a purchase (twice each: one service per mode).
    for (name, t, plan) in [
        ("purchase-ipv4", "ipv4_rotating", fixtures::IPV4_PLAN),
        ("purchase-ipv6", "ipv6_rotating", fixtures::IPV6_PLAN),
    ] {
        let buy = ["purchase", "--type", t, "--plan", plan, "--yes"];
        g.case(name, &buy).await;
    }
    let (v4, v6) = (
        g.ids(ServiceType::Ipv4Rotating).await,
        g.ids(ServiceType::Ipv6Rotating).await,
    );
    let (v4, v6) = (v4[0].as_str(), v6[0].as_str());

    g.case("services", &["services"]).await;
    g.case("services-json", &["--json", "services"]).await;
    g.case("service", &["service", v4]).await;
    g.case("service-json", &["--json", "service", v6]).await;
    g.case("proxies-txt", &["proxies", v4]).await;
    g.case("proxies-url", &["proxies", v6, "--as", "url"]).await;
    g.case("proxies-all", &["proxies", "--all"]).await;

    // The whitelist commands that change it, in a pipe on one service and on a terminal on
    // the other, so that each starts from the same whitelist.
    g.case("whitelist-empty", &["whitelist", v4]).await;
    for (mode, id) in [("pipe", v4), ("terminal", v6)] {
        let mut replace = vec!["whitelist", id, "--yes"];
        replace.extend(TWO_ADDRESSES.split(' '));
        let steps = [
            ("whitelist-replace", replace),
            ("whitelist-add", vec!["whitelist", "add", id, "192.0.2.9"]),
            ("whitelist", vec!["whitelist", id]),
            (
                "whitelist-remove",
                vec!["whitelist", "remove", id, "192.0.2.9"],
            ),
            ("whitelist-clear", vec!["whitelist", "clear", id, "--yes"]),
        ];
        for (name, args) in steps {
            g.one(mode, name, &args).await;
        }
    }

    g.case("extend", &["extend", v4, "--yes"]).await;
    g.case("credentials", &["credentials", v4, "--yes"]).await;
    g.case("country", &["country", v6, "de"]).await;
    g.case("rotation", &["rotation", v6, "sticky"]).await;
    g.case(
        "renew-plan",
        &["renew", "--before", "40d", "--max-spend", "10000"],
    )
    .await;
    g.case("check", &["check", v6, "--target", &echo.url("/ip")])
        .await;
    g.case("logs", &["logs", "--limit", "5"]).await;
    g.case("pending", &["pending"]).await;
    g.case("config", &["config"]).await;
    g.case("auth-status", &["auth", "status"]).await;
    g.case("api", &["api", "GET", "/account"]).await;
    g.case("api-json", &["--json", "api", "GET", "/account"])
        .await;
    g.case("doctor", &["doctor"]).await;

    let wanted: BTreeSet<String> = g
        .tree
        .iter()
        .filter(|c| !NOT_GOLDEN.iter().any(|(n, _)| n == c))
        .cloned()
        .collect();
    for (name, why) in NOT_GOLDEN {
        assert!(
            g.tree.contains(name),
            "`{name}` is not a command any more: drop it from NOT_GOLDEN ({why})"
        );
    }
    assert_eq!(
        g.covered, wanted,
        "every command of `opx --help` has a golden case here, or a reason in NOT_GOLDEN"
    );
    assert!(server.records().schema_violations().is_empty());
}

/// Runs `opx ARGS` on a terminal of its own (on a blocking thread) to its `[y/N]` question,
/// answers `answer` and runs it to the end: the screen up to the question, and the whole run.
async fn answered(
    server: &MockServer,
    args: &[&str],
    answer: &'static str,
) -> (String, pty::Screen) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let (token, base) = (server.token().to_owned(), server.base_url().to_owned());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut t = Terminal::spawn(&args, &[("OPX_TOKEN", &token), ("OPX_BASE_URL", &base)]);
        let question = t.expect("[y/N] ");
        t.send(answer);
        (question, t.finish())
    })
    .await
    .unwrap()
}

/// Runs `opx ARGS` on a terminal answering `n`: the question shows each of `shown`, the run
/// exits 2 (golden file `<name>@terminal`) and `op` was not sent. The question.
async fn declined(
    server: &MockServer,
    name: &str,
    args: &[&str],
    shown: &[&str],
    op: Operation,
) -> String {
    let sent = server.records().calls(op);
    let (question, run) = answered(server, args, "n\n").await;
    let missing: Vec<_> = shown.iter().filter(|s| !question.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{missing:?} not in the question:\n{question}"
    );
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(run.text.contains("not confirmed"), "{}", run.text);
    terminal_golden(name, args, &run);
    assert_eq!(server.records().calls(op), sent, "declined: {op} not sent");
    question
}

/// Runs `opx ARGS` on a terminal answering `y`: it exits 0 and `op` ran once more.
async fn accepted(server: &MockServer, args: &[&str], op: Operation) {
    let done = server.records().executions(op);
    let (_, run) = answered(server, args, "y\n").await;
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(server.records().executions(op), done + 1, "{}", run.text);
}

/// A purchase on a terminal shows the price and the balance after, and asks: `n` exits 2 with
/// nothing bought, `y` buys once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_on_a_terminal_shows_the_price_and_asks() {
    let server = golden_mock().await;
    let before = server.accounts().balance();
    let price = fixtures::IPV4_PRICE;
    let args = [
        "purchase",
        "--type",
        "ipv4_rotating",
        "--plan",
        fixtures::IPV4_PLAN,
    ];
    let (rub, after) = (opx_bin::rub(price), opx_bin::rub(before - price));
    let balance = format!("balance {} -> {after} after", opx_bin::rub(before));
    let op = Operation::Purchase;
    declined(&server, "purchase-declined", &args, &[&rub, &balance], op).await;
    assert_eq!(server.accounts().balance(), before);
    accepted(&server, &args, op).await;
    assert_eq!(server.accounts().balance(), before - price);
    assert_eq!(server.services().count(), 1);
}

/// The labelled addresses [`with_a_whitelist`] sets.
const TWO_ADDRESSES: &str = "203.0.113.7 198.51.100.20 --label vpn --label ci";

/// A service of `server` with the whitelist [`TWO_ADDRESSES`].
async fn with_a_whitelist(server: &MockServer) -> String {
    let id = fixtures::bought(server, ServiceType::Ipv4Rotating)
        .await
        .service_id
        .to_string();
    let mut args = vec!["whitelist", &id, "--yes"];
    args.extend(TWO_ADDRESSES.split(' '));
    opx_bin::ok(&opx_bin::opx(server, &args).await);
    id
}

/// `opx whitelist clear ID` on a terminal shows what goes and asks; `n` keeps the whitelist,
/// `y` clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_a_whitelist_on_a_terminal_shows_what_goes_and_asks() {
    let server = golden_mock().await;
    let id = with_a_whitelist(&server).await;
    let args = ["whitelist", "clear", id.as_str()];
    let shown = ["203.0.113.7 (vpn)", "198.51.100.20 (ci)"];
    let op = Operation::ReplaceWhitelist;
    declined(&server, "whitelist-clear-declined", &args, &shown, op).await;
    accepted(&server, &args, op).await;
}

/// `opx whitelist ID IP` (a replacement) on a terminal shows what goes, comes and stays, and
/// asks; `n` sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whitelist_replacement_on_a_terminal_shows_the_diff_and_asks() {
    let server = golden_mock().await;
    let id = with_a_whitelist(&server).await;
    let args = ["whitelist", &id, "203.0.113.7", "127.0.0.1"];
    let shown = [
        "~ 203.0.113.7 (vpn) -> 203.0.113.7",
        "- 198.51.100.20 (ci)",
        "+ 127.0.0.1",
    ];
    let op = Operation::ReplaceWhitelist;
    declined(&server, "whitelist-replace-declined", &args, &shown, op).await;
}

/// `opx renew` on a terminal shows the plan (what is due, the total, the balance after) and
/// asks before extending anything; `n` extends nothing, `y` extends what is due once. Ignored
/// until renew asks on a terminal (it only shows the plan here); then drop the `ignore` and
/// bless the new golden files (`renew-declined@terminal`, and `renew-plan@terminal`, whose
/// question the golden run answers `n`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_on_a_terminal_shows_the_plan_and_asks() {
    let server = golden_mock().await;
    let due = fixtures::seed_expiring(&server, ServiceType::Ipv4Rotating, 3 * fixtures::DAY);
    let later = fixtures::seed_expiring(&server, ServiceType::Ipv4Rotating, 60 * fixtures::DAY);
    let before = server.accounts().balance();
    let args = ["renew", "--before", "40d", "--max-spend", "10000"];
    let price = opx_bin::rub(fixtures::IPV4_PRICE);
    let op = Operation::ExtendService;
    let question = declined(
        &server,
        "renew-declined",
        &args,
        &[due.as_str(), &price],
        op,
    )
    .await;
    assert!(
        !question.contains(later.as_str()),
        "only what is due: {question}"
    );
    assert_eq!(server.accounts().balance(), before);
    accepted(&server, &args, op).await;
    assert_eq!(server.accounts().balance(), before - fixtures::IPV4_PRICE);
}

/// Diagnostics (`OPX_LOG`) are coloured on a terminal, never with `NO_COLOR`, never in a pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let server = golden_mock().await;
    let [token, base] = env_of(&server);
    let log = ("OPX_LOG", "opx=debug");
    let coloured = pty::run(&["account"], &[token, base, log], None).await;
    assert_eq!(coloured.code, 0, "{}", coloured.text);
    assert!(
        coloured.text.contains("\u{1b}["),
        "coloured on a terminal: {:?}",
        coloured.text
    );
    let plain = pty::run(&["account"], &[token, base, log, ("NO_COLOR", "1")], None).await;
    let shows = |t: &str| (plain.code, t.contains("DEBUG"), t.contains('\u{1b}'));
    assert_eq!(
        shows(&plain.text),
        (0, true, false),
        "NO_COLOR: diagnostics without escape sequences: {:?}",
        plain.text
    );
    let piped =
        opx_bin::opx_with_env(&["account"], &[token, base, log, ("OPX_FORCE_TTY", "")]).await;
    assert!(opx_bin::stderr(&piped).contains("DEBUG"));
    no_escape("OPX_LOG in a pipe", &opx_bin::stderr(&piped));
    no_escape("account in a pipe", &opx_bin::stdout(&piped));
}

/// On a terminal an expired service is flagged where it is shown: the listing ends with a
/// warning on stderr, and its proxy list warns that the gateway refuses the lines (both by the
/// server's clock: the mock's, a month ahead of this machine's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_services_are_flagged_on_a_terminal() {
    let server = golden_mock().await;
    let expired = fixtures::seed_expiring(&server, ServiceType::Ipv4Rotating, -2 * fixtures::DAY);
    fixtures::seed_expiring(&server, ServiceType::Ipv4Rotating, 3 * fixtures::DAY);
    let env = env_of(&server);
    let listed = pty::run(&["services", "--status", "all"], &env, None).await;
    assert_eq!(listed.code, 0, "{}", listed.text);
    assert!(
        listed.text.contains("expired 2 days ago"),
        "{}",
        listed.text
    );
    assert!(listed.text.contains("in 3 days"), "{}", listed.text);
    assert!(
        listed.text.contains("warning: 1 of these services expired"),
        "{}",
        listed.text
    );
    let lines = pty::run(&["proxies", expired.as_str()], &env, None).await;
    assert_eq!(lines.code, 0, "{}", lines.text);
    let warning = format!("warning: service {expired} expired 2 days ago");
    assert!(
        lines.text.contains(&warning) && lines.text.contains("gateway refuses"),
        "{}",
        lines.text
    );
}
