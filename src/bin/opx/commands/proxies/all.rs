//! `opx proxies --all`: the proxy lists of every service the filters select, paced to the rate
//! limit ([`opx::Client::proxy_lists`]), one block per service or merged (`--merge`), with a
//! progress bar on stderr when it is a terminal. With `--json`: one JSON line per service
//! (`{"service_id", "lines"}`, as each list arrives), or one document when merged.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use opx::proxies::{ExportFormat, ProxyLines};
use opx::types::{ProxyQuery, ServiceQuery};

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output;

/// What `opx proxies --all` was asked for.
pub struct AllLists {
    /// The services whose lists are fetched (`--status`, `--type`).
    pub services: ServiceQuery,
    /// The list options (`--layout`, `--no-auth`, `--country`).
    pub query: ProxyQuery,
    /// One de-duplicated list instead of one block per service.
    pub merge: bool,
    /// Requests at once.
    pub concurrency: usize,
    /// `--as FORMAT`: every endpoint once, in that form, instead of the lists.
    pub export: Option<ExportFormat>,
}

/// The lines seen so far of a merged list, first occurrence first.
#[derive(Default)]
struct Merged {
    seen: HashSet<String>,
    lines: String,
}

impl Merged {
    fn add(&mut self, list: &str) {
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            if self.seen.insert(line.to_owned()) {
                self.lines.push_str(line);
                self.lines.push('\n');
            }
        }
    }
}

/// The list of one service as a JSON line (`--json`): its id and its lines.
fn json_block(id: &opx::types::ServiceId, list: &str) -> serde_json::Value {
    let lines: Vec<&str> = list.lines().filter(|l| !l.trim().is_empty()).collect();
    serde_json::json!({"service_id": id, "lines": lines})
}

/// The block of one service: a `# <id>` line, then its list (ending in a newline).
fn block(id: &opx::types::ServiceId, list: &str) -> String {
    let mut out = format!("# {id}\n{list}");
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Time left at the pace so far: the average time per list, times the lists left.
fn time_left(started: Instant, done: u64, total: u64) -> Option<Duration> {
    let per_list = started.elapsed().checked_div(u32::try_from(done).ok()?)?;
    per_list.checked_mul(u32::try_from(total.saturating_sub(done)).ok()?)
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} lists, {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("starting");
    bar
}

/// `opx proxies --all`.
pub async fn run(ctx: &Ctx, args: AllLists) -> Result<(), Failure> {
    let client = ctx.client()?;
    // The listing's pages of the largest size: as few calls as can be, before the lists.
    let largest = opx::Operation::ListServices.max_page_size().unwrap_or(50);
    let services = client
        .all_services(&args.services.limit(largest).prefetch(true))
        .await?;
    let ids: Vec<opx::types::ServiceId> = services.into_iter().map(|s| s.service_id).collect();
    if ids.is_empty() {
        // In words on a terminal; in a pipe nothing, which scripts read as "none".
        if output::on_terminal() {
            output::print("No services match: no list to fetch.\n")?;
        }
        return Ok(());
    }
    let total = ids.len() as u64;
    let bar = progress_bar(total);
    crate::waiting::show_in(Some(bar.clone()));
    let started = Instant::now();
    let lists = client.proxy_lists(futures::stream::iter(ids), &args.query, args.concurrency);
    let mut lists = std::pin::pin!(lists);
    let (mut merged, mut failed) = (Merged::default(), Vec::new());
    while let Some((id, list)) = lists.next().await {
        match list {
            Ok(text) if args.merge || args.export.is_some() => merged.add(&text),
            Ok(text) if ctx.json => {
                bar.suspend(|| output::print_json_line(&json_block(&id, &text)))?;
            }
            Ok(text) => bar.suspend(|| output::print(&block(&id, &text)))?,
            Err(e) => {
                bar.suspend(|| eprintln!("error: {id}: {e}"));
                failed.push(e);
            }
        }
        bar.inc(1);
        if output::closed() {
            // Nobody reads the lists any more: fetch no more of them.
            crate::waiting::show_in(None);
            bar.finish_and_clear();
            return Ok(());
        }
        if let Some(left) = time_left(started, bar.position(), total) {
            bar.set_message(format!("about {} left", opx::clock::human(left)));
        }
    }
    crate::waiting::show_in(None);
    bar.finish_and_clear();
    if let Some(format) = args.export {
        let endpoints = ProxyLines::new(&merged.lines)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Other(format!("a proxy list: {e}")))?;
        output::print(&super::export::render(endpoints, format)?)?;
    } else if args.merge && ctx.json {
        let lines: Vec<&str> = merged.lines.lines().collect();
        output::print_json(&serde_json::json!({ "lines": lines }))?;
    } else if args.merge {
        output::print(&merged.lines)?;
    }
    match failed.len() {
        0 => Ok(()),
        1 => Err(failed.remove(0).into()),
        n => {
            eprintln!("error: {n} of {total} lists could not be fetched");
            Err(failed.remove(0).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merged_list_keeps_each_line_once_in_first_seen_order() {
        let mut m = Merged::default();
        m.add("a:1:u:p\nb:2:u:p\n");
        m.add("b:2:u:p\r\nc:3:u:p\n\n");
        m.add("a:1:u:p");
        assert_eq!(m.lines, "a:1:u:p\nb:2:u:p\nc:3:u:p\n");
    }

    #[test]
    fn blocks_name_their_service_and_end_in_a_newline() {
        let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
        assert_eq!(
            block(&id, "h:1:u:p"),
            "# 65aa1100b2c3d4e5f6a7b8d0\nh:1:u:p\n"
        );
        assert_eq!(
            block(&id, "h:1:u:p\n"),
            "# 65aa1100b2c3d4e5f6a7b8d0\nh:1:u:p\n"
        );
    }

    #[test]
    fn time_left_is_the_pace_so_far_times_what_is_left() {
        let started = Instant::now() - Duration::from_secs(10);
        let left = time_left(started, 100, 300).unwrap();
        assert!(
            left >= Duration::from_secs(20) && left < Duration::from_secs(21),
            "{left:?}"
        );
        assert_eq!(time_left(started, 0, 300), None);
        assert_eq!(time_left(started, 300, 300), Some(Duration::ZERO));
    }
}
