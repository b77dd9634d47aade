//! SLOWLOG and LATENCY, and the hook that feeds them after slow calls.
//!
//! The data lives below (`crate::slowlog`, `crate::latency`, the histograms in `crate::stats`); this module
//! turns it into Redis 7.0.15's replies and decides, for a call the dispatcher found slow enough, which
//! event class it belongs to (`fast-command` for commands flagged fast, else `command`) and whether the slow
//! log takes it (not for commands flagged `skip_slowlog`).

use std::sync::atomic::Ordering;

use super::dispatch::{lookup, lookup_subcommand};
use super::spec::CommandSpec;
use super::{table, ClientState, Ctx};
use crate::latency::{self, DoctorContext};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::state::{unix_time_ms, ServerState};
use crate::stats::HistogramSnapshot;

/// Called by the dispatcher after a call that took at least the smallest observability threshold.
#[cold]
pub fn observe_slow_call(
    server: &ServerState,
    client: &ClientState,
    spec: &'static CommandSpec,
    args: &Args<'_>,
    usec: u64,
) {
    let t = &server.command_stats.thresholds;
    let threshold_ms = t.latency_threshold_ms.load(Ordering::Relaxed);
    let ms = usec / 1000;
    if threshold_ms > 0 && ms >= threshold_ms {
        let event = if spec.has_flag("fast") { "fast-command" } else { "command" };
        server.latency.add_sample(event, ms);
    }
    let slower_than = t.slowlog_slower_than_usec.load(Ordering::Relaxed);
    if slower_than >= 0 && i64::try_from(usec).unwrap_or(i64::MAX) >= slower_than && !spec.has_flag("skip_slowlog") {
        let argv = crate::slowlog::entry_argv(spec.name, args);
        let name = client.name.as_deref().unwrap_or(b"");
        server.slowlog.push(argv, usec, &client.addr, name, t.slowlog_max_len.load(Ordering::Relaxed));
    }
}

fn write_help(out: &mut Reply, lines: &[&str]) {
    out.array(lines.len());
    lines.iter().for_each(|l| out.simple(l));
}

// ---------------------------------------------------------------------------------------------------------
// SLOWLOG

pub fn slowlog_get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() > 3 {
        ctx.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            String::from_utf8_lossy(&args.get(1)[..args.get(1).len().min(128)]),
            String::from_utf8_lossy(args.get(0)).to_uppercase()
        ));
        return;
    }
    let mut count: usize = 10;
    if args.len() == 3 {
        match crate::num::parse_i64(args.get(2)) {
            Some(-1) => count = usize::MAX,
            Some(n) if n >= 0 => count = usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                ctx.out.error("ERR count should be greater than or equal to -1");
                return;
            }
        }
    }
    let entries = ctx.server.slowlog.latest(count);
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.unix_time_secs as i64);
        ctx.out.int(e.duration_usec as i64);
        ctx.out.array(e.argv.len());
        e.argv.iter().for_each(|a| ctx.out.bulk(a));
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.name);
    }
}

pub fn slowlog_len(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.int(ctx.server.slowlog.len() as i64);
}

pub fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.server.slowlog.reset();
    ctx.out.ok();
}

pub fn slowlog_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    write_help(
        ctx.out,
        &[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------------
// LATENCY

fn now_secs() -> u64 {
    unix_time_ms() / 1000
}

pub fn latency_latest(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let events = ctx.server.latency.events();
    ctx.out.array(events.len());
    for (name, ts) in events {
        let last = ts.latest();
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(last.time as i64);
        ctx.out.int(last.latency as i64);
        ctx.out.int(ts.max as i64);
    }
}

pub fn latency_history(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let samples = ctx.server.latency.series(args.get(2)).map(|(_, ts)| ts.samples()).unwrap_or_default();
    ctx.out.array(samples.len());
    for s in samples {
        ctx.out.array(2);
        ctx.out.int(s.time as i64);
        ctx.out.int(s.latency as i64);
    }
}

pub fn latency_reset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let resets = if args.len() == 2 {
        ctx.server.latency.reset(None)
    } else {
        args.iter().skip(2).map(|e| ctx.server.latency.reset(Some(e))).sum()
    };
    ctx.out.int(resets as i64);
}

pub fn latency_graph(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match ctx.server.latency.series(args.get(2)) {
        Some((name, ts)) => {
            let text = latency::graph(&name, &ts, now_secs());
            ctx.out.verbatim(text.as_bytes());
        }
        None => {
            ctx.out.error(&format!("ERR No samples available for event '{}'", String::from_utf8_lossy(args.get(2))))
        }
    }
}

pub fn latency_doctor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let s = ctx.server.config.snapshot();
    let appendfsync_always = ctx.server.config.get(&[b"appendfsync"]).first().is_some_and(|(_, v)| v == "always");
    let dctx = DoctorContext {
        latency_monitor_threshold_ms: s.latency_monitor_threshold_ms,
        slowlog_log_slower_than_usec: s.slowlog_log_slower_than_usec,
        hz: s.hz,
        appendfsync_always,
        anon_huge_pages: latency::anon_huge_pages_bytes(),
    };
    let report = latency::doctor_report(&ctx.server.latency.events(), &dctx, now_secs());
    ctx.out.verbatim(report.as_bytes());
}

/// Writes one command's name and `{calls, histogram_usec}` map.
fn write_histogram(out: &mut Reply, spec: &CommandSpec, snap: &HistogramSnapshot) {
    let buckets = snap.log2_buckets();
    out.bulk(spec.name.as_bytes());
    out.map(2);
    out.bulk(b"calls");
    out.int(snap.total as i64);
    out.bulk(b"histogram_usec");
    out.map(buckets.len());
    for (usec, cumulative) in buckets {
        out.int(usec as i64);
        out.int(cumulative as i64);
    }
}

/// `name` or `container|sub` as LATENCY HISTOGRAM resolves it (Redis's `lookupCommandBySds`).
fn command_by_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => lookup_subcommand(base, sub),
        _ => None,
    }
}

pub fn latency_histogram(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut wanted: Vec<&'static CommandSpec> = Vec::new();
    if args.len() == 2 {
        for c in table::COMMANDS {
            wanted.push(c);
            wanted.extend(c.subcommands.iter());
        }
    } else {
        for name in args.iter().skip(2) {
            if let Some(c) = command_by_full_name(name) {
                wanted.push(c);
                wanted.extend(c.subcommands.iter());
            }
        }
    }
    let with_data: Vec<(&CommandSpec, HistogramSnapshot)> = wanted
        .into_iter()
        .filter_map(|c| ctx.server.command_stats.by_id.get(c.id).and_then(|s| s.histogram.snapshot()).map(|h| (c, h)))
        .collect();
    ctx.out.map(with_data.len());
    for (c, snap) in &with_data {
        write_histogram(ctx.out, c, snap);
    }
}

pub fn latency_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    write_help(
        ctx.out,
        &[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Prints this help.",
        ],
    );
}
