//! Shared by the bench binaries: options, statistics, the results table and its JSON lines.
//!
//! Every bench binary is `harness = false`: it measures its variants in interleaved rounds (A,
//! B, A, B, ...) so that a compile job starting on the shared cores halfway through slows every
//! variant alike and the ratios stay honest. Rows are printed as a Markdown table and, when
//! `OPX_BENCH_JSON` names a file, appended to it as JSON lines (`cargo xtask bench` reads them).

#![allow(dead_code)]

use std::io::Write;
use std::time::Duration;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Opts {
    /// `--full`: more rounds, longer windows (the default is a quick run).
    pub full: bool,
    /// Case letters to run (`a`..`e`); empty = all.
    pub only: Vec<String>,
}

impl Opts {
    pub fn from_args() -> Self {
        let mut full = false;
        let mut only = Vec::new();
        for a in std::env::args().skip(1) {
            match a.as_str() {
                "--full" => full = true,
                "--quick" => full = false,
                // Flags cargo or libtest-minded tools pass along: ignored.
                s if s.starts_with("--") => {}
                s => only.push(s.to_ascii_lowercase()),
            }
        }
        Self { full, only }
    }
    pub fn wants(&self, case: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == case)
    }
    /// `quick` normally, `full` with `--full`.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.full { full } else { quick }
    }
}

/// The median of `xs` (sorted in place).
pub fn median(xs: &mut [f64]) -> f64 {
    assert!(!xs.is_empty());
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of `xs` (sorted in place).
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    xs[i]
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A target: `ratio <= max`, or `value >= min`.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
}

impl Target {
    fn met(self, v: f64) -> bool {
        match self {
            Target::AtMost(m) => v <= m,
            Target::AtLeast(m) => v >= m,
        }
    }
    fn text(self) -> String {
        match self {
            Target::AtMost(m) => format!("<= {m}"),
            Target::AtLeast(m) => format!(">= {m}"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub case: &'static str,
    pub what: String,
    pub figure: String,
    /// A ratio or a value the target is checked against.
    pub checked: Option<f64>,
    pub target: Option<Target>,
}

impl Row {
    pub fn new(case: &'static str, what: impl Into<String>, figure: impl Into<String>) -> Self {
        Self {
            case,
            what: what.into(),
            figure: figure.into(),
            checked: None,
            target: None,
        }
    }
    pub fn ratio(mut self, v: f64, target: Option<Target>) -> Self {
        self.checked = Some(v);
        self.target = target;
        self
    }
    fn verdict(&self) -> &'static str {
        match (self.checked, self.target) {
            (Some(v), Some(t)) if t.met(v) => "met",
            (Some(_), Some(_)) => "MISSED",
            _ => "",
        }
    }
}

pub const HEADER: &str =
    "| case | measurement | figure | ratio / checked | target | |\n|---|---|---|---|---|---|";

pub fn markdown(r: &Row) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        r.case,
        r.what,
        r.figure,
        r.checked.map(|v| format!("{v:.3}")).unwrap_or_default(),
        r.target.map(Target::text).unwrap_or_default(),
        r.verdict()
    )
}

/// Prints the rows and appends them to `$OPX_BENCH_JSON` if set.
pub fn report(rows: &[Row]) {
    println!("{HEADER}");
    for r in rows {
        println!("{}", markdown(r));
    }
    if let Some(path) = std::env::var_os("OPX_BENCH_JSON") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open OPX_BENCH_JSON");
        for r in rows {
            let v = serde_json::json!({
                "case": r.case,
                "what": r.what,
                "figure": r.figure,
                "checked": r.checked,
                "target": r.target.map(Target::text),
                "verdict": r.verdict(),
            });
            writeln!(f, "{v}").expect("write OPX_BENCH_JSON");
        }
    }
}

/// One row per variant of `case`, named `what(i)` with `figure(i)`: every variant but the floor
/// (the last) also gets its `cost` over the floor's, the first (the facade's) against `target`.
pub fn variant_rows(
    case: &'static str,
    cost: &[f64],
    what: impl Fn(usize) -> String,
    figure: impl Fn(usize) -> String,
    target: Option<Target>,
    rows: &mut Vec<Row>,
) {
    let floor = cost.len() - 1;
    for i in 0..cost.len() {
        let mut row = Row::new(case, what(i), figure(i));
        if i != floor {
            row = row.ratio(cost[i] / cost[floor], target.filter(|_| i == 0));
        }
        rows.push(row);
    }
}

/// Instructions `cmd` executed (its program, arguments and environment; children followed), as
/// callgrind counts them; `None` without valgrind or when the command failed.
pub fn instructions(cmd: &std::process::Command) -> Option<u64> {
    let mut vg = std::process::Command::new("valgrind");
    vg.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => vg.env(k, v),
            None => vg.env_remove(k),
        };
    }
    let out = vg.output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.split_once("Collected :"))
        .and_then(|(_, n)| n.trim().replace(',', "").parse().ok())
}

/// The row that stands in for a case's instruction counts when valgrind is not there.
pub fn instructions_skipped(case: &'static str, what: &str) -> Row {
    Row::new(case, what, "skipped: valgrind is not installed or failed")
}

/// Declares the variants a bench compares: a `Copy` enum, `ALL` (every variant, in the order
/// given: the floor last where there is one) and `name()`, the label each has in the table.
///
/// ```ignore
/// support::variants! {
///     /// What (c) walks the pages with.
///     enum Pages {
///         Stream => "facade `services_stream`",
///         Bare => "hand cursor loop, bare reqwest + serde",
///     }
/// }
/// ```
// Not every bench binary declares variants (the startup bench does not).
#[allow(unused_macros)]
macro_rules! variants {
    (
        $(#[$meta:meta])*
        enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $label:expr),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in the order declared.
            const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The variant's label in the table.
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use variants;
