//! Human output (aligned tables, roubles, readable times) and `--json` output (the response's
//! `data`, byte for byte). On a terminal tables are aligned and amounts grouped (`1 500 RUB`);
//! in a pipe, as gh does, tables are tab-separated without their header and amounts are plain
//! (`1500 RUB`), so `cut -f` and `awk -F'\t'` read them.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use crate::failure::Failure;

/// Whether tables and amounts take their human layout: stdout is a terminal, or
/// `OPX_FORCE_TTY` is set to something other than empty or `0` (as gh's `GH_FORCE_TTY`).
pub fn on_terminal() -> bool {
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TERMINAL.get_or_init(|| {
        let forced = std::env::var("OPX_FORCE_TTY").is_ok_and(|v| !v.is_empty() && v != "0");
        forced || std::io::stdout().is_terminal()
    })
}

/// Money as whole roubles: grouped on a terminal (`1 500 RUB`), plain in a pipe (`1500 RUB`).
pub fn rub(amount: i64) -> String {
    if on_terminal() {
        grouped_rub(amount)
    } else {
        format!("{amount} RUB")
    }
}

/// Money as whole roubles with thin grouping: `1 500 RUB`.
fn grouped_rub(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped} RUB")
}

/// The server's time (its `Date`, carried forward on the client's clock): what "expires in"
/// and the flags of expired services are worked out from.
pub type Now = DateTime<Utc>;

/// A timestamp: `2026-06-17 12:34 UTC` on a terminal, RFC 3339 (`2026-06-17T12:34:56Z`) in a
/// pipe, as scripts parse it.
pub fn time(t: &DateTime<Utc>) -> String {
    if on_terminal() {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// How far `expires_at` is from `now` (the server's time): `in 40 days`, or `expired 2 days
/// ago` once passed, on a terminal; whole seconds in a pipe (negative once passed).
pub fn expires_in(expires_at: &DateTime<Utc>, now: Now) -> String {
    if on_terminal() {
        expiry_in_words(expires_at, now)
    } else {
        (*expires_at - now).num_seconds().to_string()
    }
}

/// How far `expires_at` is from `now`, in words wherever it is printed: `in 40 days`, or
/// `expired 2 days ago`.
pub fn expiry_in_words(expires_at: &DateTime<Utc>, now: Now) -> String {
    let left = *expires_at - now;
    match left.to_std() {
        Ok(d) if !d.is_zero() => format!("in {}", opx::clock::human(d)),
        _ => format!(
            "expired {} ago",
            opx::clock::human((-left).to_std().unwrap_or_default())
        ),
    }
}

/// An aligned table with a header row.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|s| (*s).to_owned()).collect()],
        }
    }

    /// How many columns the header names.
    pub fn columns(&self) -> usize {
        self.rows[0].len()
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| printable(c)).collect());
    }

    /// The rendered table, or on a terminal `empty` as a sentence when it has no row (in a
    /// pipe an empty table is no output, which scripts read as "none").
    pub fn render_or(&self, empty: &str) -> String {
        if self.rows.len() == 1 && on_terminal() {
            format!("{empty}\n")
        } else {
            self.render()
        }
    }

    /// The rendered table: aligned with its header on a terminal, else tab-separated rows
    /// without it; each line ending in a newline.
    pub fn render(&self) -> String {
        if on_terminal() {
            self.aligned()
        } else {
            self.rows[1..]
                .iter()
                .map(|r| format!("{}\n", r.join("\t")))
                .collect()
        }
    }

    /// The table aligned, with its header (no trailing spaces).
    fn aligned(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if c + 1 < row.len() {
                    line.extend(std::iter::repeat_n(' ', widths[c] - cell.chars().count()));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key  value` lines, keys aligned (tab-separated in a pipe).
pub fn fields(pairs: &[(&str, String)]) -> String {
    if !on_terminal() {
        return pairs
            .iter()
            .map(|(k, v)| format!("{k}\t{}\n", printable(v)))
            .collect();
    }
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:width$}  {}\n", printable(v)))
        .collect()
}

/// Server-supplied text made safe for a terminal: control characters (escape sequences, CR,
/// LF, BEL), format characters (bidi overrides and isolates, zero-width characters) and line
/// or paragraph separators become `?`.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if opx::text::is_unprintable(c) { '?' } else { c })
        .collect()
}

/// Set once a write to stdout met a closed pipe.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout's reader has gone away (`opx proxies --all | head -1`): a command that would
/// go on producing output (and sending requests for it) can stop.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Writes to stdout, turning a closed pipe into a quiet success rather than a panic.
pub fn print(text: &str) -> Result<(), Failure> {
    print_bytes(text.as_bytes())
}

/// [`print`] for bytes (a body exactly as received, a generated script).
pub fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other.map_err(Failure::from),
    }
}

/// The raw `data` member of a JSON envelope, exactly as the server wrote it.
pub fn raw_data(body: &[u8]) -> Result<&RawValue, Failure> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_slice::<Envelope<'_>>(body)
        .map(|e| e.data)
        .map_err(|e| Failure::Other(format!("the response has no JSON `data` member: {e}")))
}

/// Prints a value as one JSON document (for `--json` when there is no response body to copy):
/// indented on a terminal, one line in a pipe; through `--jq` when given.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    if let Some(expr) = crate::jq::filter() {
        let text = serde_json::to_vec(value).map_err(|e| Failure::Other(e.to_string()))?;
        return print(&crate::jq::run(expr, &text)?);
    }
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    print(&format!(
        "{}\n",
        text.map_err(|e| Failure::Other(e.to_string()))?
    ))
}

/// Prints a value as one compact JSON line (JSON lines output), through `--jq` when given.
pub fn print_json_line(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value).map_err(|e| Failure::Other(e.to_string()))?;
    match crate::jq::filter() {
        Some(expr) => print(&crate::jq::run(expr, text.as_bytes())?),
        None => print(&format!("{text}\n")),
    }
}

/// Prints the `data` of a response for `--json`: in a pipe exactly as the server wrote it, on a
/// terminal indented; through `--jq` when given.
pub fn print_data(body: &[u8]) -> Result<(), Failure> {
    print_json_text(raw_data(body)?.get())
}

/// Prints a JSON document given as text (made of what the server wrote): in a pipe as it is,
/// on a terminal indented; through `--jq` when given.
pub fn print_json_text(text: &str) -> Result<(), Failure> {
    if let Some(expr) = crate::jq::filter() {
        return print(&crate::jq::run(expr, text.as_bytes())?);
    }
    if std::io::stdout().is_terminal() {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Failure::Other(e.to_string()))?;
        return print_json(&value);
    }
    print(&format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roubles_are_grouped_by_thousands_on_a_terminal() {
        assert_eq!(grouped_rub(0), "0 RUB");
        assert_eq!(grouped_rub(900), "900 RUB");
        assert_eq!(grouped_rub(1500), "1 500 RUB");
        assert_eq!(grouped_rub(100_000), "100 000 RUB");
        assert_eq!(grouped_rub(-1_234_567), "-1 234 567 RUB");
    }

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        assert_eq!(t.aligned(), "A          LONGER\nwide cell  x\n");
    }

    /// The tests' stdout is not a terminal: what a pipe gets.
    #[test]
    fn in_a_pipe_tables_are_tab_separated_without_header_and_amounts_plain() {
        if on_terminal() {
            return; // OPX_FORCE_TTY is set for this run: the pipe layout is not in use.
        }
        let mut t = Table::new(&["A", "PRICE"]);
        t.row(vec!["wide cell".into(), rub(1500)]);
        assert_eq!(t.render(), "wide cell\t1500 RUB\n");
        assert_eq!(fields(&[("k", "v w".into())]), "k\tv w\n");
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let mut t = Table::new(&["A"]);
        t.row(vec!["\u{1b}[2Jx\r\ny\u{7}".into()]);
        assert_eq!(t.aligned(), "A\n?[2Jx??y?\n");
        assert_eq!(t.render(), "?[2Jx??y?\n");
        assert_eq!(fields(&[("k", "\u{1b}]0;t".into())]), "k\t?]0;t\n");
        // Bidi overrides and isolates, Unicode line breaks, zero-width characters.
        assert_eq!(
            printable("a\u{202E}b\u{2066}c\u{2069}d\u{2028}e\u{2029}f\u{200B}g\u{FEFF}h"),
            "a?b?c?d?e?f?g?h"
        );
    }

    #[test]
    fn raw_data_keeps_the_bytes_of_data() {
        let body = br#"{"status":"ok","data":{"b":1,  "a":[2]}}"#;
        assert_eq!(raw_data(body).unwrap().get(), r#"{"b":1,  "a":[2]}"#);
        assert!(raw_data(b"<html>").is_err());
    }
}
