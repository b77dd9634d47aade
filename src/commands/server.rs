//! Server commands: COMMAND (introspection of the command table), CONFIG, SHUTDOWN and INFO.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::args::is;
use super::dispatch::{lookup, lookup_subcommand};
use super::spec::{BeginSearch, CommandSpec, FindKeys, KeySpec};
use super::{errors, table, Ctx};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::protocol::value::RespValue;
use crate::state::ShutdownMode;

pub use super::info::info;

// ---------------------------------------------------------------------------------------------------------
// COMMAND

fn write_key_spec(out: &mut Reply, ks: &KeySpec) {
    out.map(if ks.notes.is_some() { 4 } else { 3 });
    if let Some(notes) = ks.notes {
        out.bulk(b"notes");
        out.bulk(notes.as_bytes());
    }
    out.bulk(b"flags");
    out.set(ks.flags.len());
    ks.flags.iter().for_each(|f| out.simple(f));
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match ks.begin {
        BeginSearch::Index(i) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(i64::from(i));
        }
        BeginSearch::Keyword { keyword, start_from } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(i64::from(start_from));
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match ks.find {
        FindKeys::Range { last_key, key_step, limit } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(i64::from(last_key));
            out.bulk(b"keystep");
            out.int(i64::from(key_step));
            out.bulk(b"limit");
            out.int(i64::from(limit));
        }
        FindKeys::Keynum { keynum_idx, first_key, key_step } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(i64::from(keynum_idx));
            out.bulk(b"firstkey");
            out.int(i64::from(first_key));
            out.bulk(b"keystep");
            out.int(i64::from(key_step));
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// One COMMAND INFO entry, in Redis 7.0's 10-element layout.
pub fn write_command_info(out: &mut Reply, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(i64::from(spec.arity));
    out.set(spec.flags.len());
    spec.flags.iter().for_each(|f| out.simple(f));
    out.int(i64::from(spec.first_key));
    out.int(i64::from(spec.last_key));
    out.int(i64::from(spec.step));
    out.set(spec.acl_categories.len());
    spec.acl_categories.iter().for_each(|c| out.simple(c));
    out.set(spec.tips.len());
    spec.tips.iter().for_each(|t| out.bulk(t.as_bytes()));
    out.set(spec.key_specs.len());
    spec.key_specs.iter().for_each(|ks| write_key_spec(out, ks));
    out.set(spec.subcommands.len());
    spec.subcommands.iter().for_each(|s| write_command_info(out, s));
}

pub fn command(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.array(table::COMMANDS.len());
    table::COMMANDS.iter().for_each(|c| write_command_info(ctx.out, c));
}

pub fn command_count(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.int(table::COMMANDS.len() as i64);
}

/// Finds a command or `container|sub` by the name given to COMMAND INFO/DOCS.
fn find_by_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name),
        Some(bar) => lookup(&name[..bar]).and_then(|c| lookup_subcommand(c, &name[bar + 1..])),
    }
}

pub fn command_info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match find_by_full_name(name) {
            Some(spec) => write_command_info(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
}

pub fn command_list(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let names: Vec<&str> = match args.len() {
        2 => table::COMMANDS.iter().map(|c| c.name).collect(),
        5 if is(args.get(2), "FILTERBY") => {
            let value = args.get(4);
            let all = table::COMMANDS.iter().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()));
            if is(args.get(3), "MODULE") {
                Vec::new()
            } else if is(args.get(3), "ACLCAT") {
                all.filter(|c| {
                    c.acl_categories
                        .iter()
                        .any(|cat| cat.trim_start_matches('@').as_bytes().eq_ignore_ascii_case(value))
                })
                .map(|c| c.name)
                .collect()
            } else if is(args.get(3), "PATTERN") {
                all.filter(|c| crate::glob::glob_match(value, c.name.as_bytes(), true)).map(|c| c.name).collect()
            } else {
                ctx.out.error(errors::SYNTAX);
                return;
            }
        }
        _ => {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    };
    ctx.out.array(names.len());
    names.iter().for_each(|n| ctx.out.bulk(n.as_bytes()));
}

/// The key positions of a full command line given to COMMAND GETKEYS, or the error Redis gives.
/// A command's table entry and the argument indexes of its keys with the key spec that found each.
type KeyPositions = (&'static CommandSpec, Vec<(usize, &'static KeySpec)>);

fn getkeys_of(args: &Args<'_>) -> Result<KeyPositions, &'static str> {
    let sub_args = args.slice_from(2);
    let Some(mut spec) = lookup(sub_args.get(0)) else { return Err("ERR Invalid command specified") };
    if !spec.subcommands.is_empty() && sub_args.len() >= 2 {
        spec = lookup_subcommand(spec, sub_args.get(1)).ok_or("ERR Invalid command specified")?;
    }
    if !spec.arity_ok(sub_args.len()) {
        return Err("ERR Invalid number of arguments specified for command");
    }
    let mut keys = Vec::new();
    let ok = spec.for_each_key_index(&sub_args, |i, ks| keys.push((i, ks)));
    if !ok {
        return Err("ERR Invalid arguments specified for command");
    }
    if keys.is_empty() {
        return Err("ERR The command has no key arguments");
    }
    Ok((spec, keys))
}

pub fn command_getkeys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match getkeys_of(&args) {
        Err(e) => ctx.out.error(e),
        Ok((_, keys)) => {
            ctx.out.array(keys.len());
            for (i, _) in keys {
                ctx.out.bulk(args.get(i + 2));
            }
        }
    }
}

pub fn command_getkeysandflags(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match getkeys_of(&args) {
        Err(e) => ctx.out.error(e),
        Ok((spec, keys)) => {
            ctx.out.array(keys.len());
            let sub_args = args.slice_from(2);
            for (i, ks) in keys {
                let flags = spec.variable_key_flags(&sub_args).unwrap_or(ks.flags);
                ctx.out.array(2);
                ctx.out.bulk(args.get(i + 2));
                ctx.out.set(flags.len());
                flags.iter().for_each(|f| ctx.out.simple(f));
            }
        }
    }
}

/// Redis 7.0.15's COMMAND DOCS for the commands Shoal implements, parsed once from the captured reply.
fn docs() -> &'static HashMap<String, RespValue> {
    static DOCS: OnceLock<HashMap<String, RespValue>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let raw = include_bytes!("../../tests/fixtures/redis-7.0.15/command-docs.resp3");
        // Redis 7.2 additions (CLIENT SETINFO, ...), keyed `container|sub`: merged into their container's docs.
        let additions = include_bytes!("../../tests/fixtures/redis-7.2-additions/command-docs.resp3");
        let mut extra: Vec<(RespValue, RespValue)> = match RespValue::parse(additions) {
            Some((RespValue::Map(pairs), _)) => pairs,
            _ => Vec::new(),
        };
        let mut docs = HashMap::new();
        if let Some((RespValue::Map(pairs), _)) = RespValue::parse(raw) {
            for (name, doc) in pairs {
                let Some(name) = name.as_bytes().map(|n| String::from_utf8_lossy(n).into_owned()) else { continue };
                let Some(spec) = lookup(name.as_bytes()) else { continue };
                let prefix = format!("{name}|");
                let mine: Vec<(RespValue, RespValue)> = extra
                    .iter()
                    .filter(|(n, _)| n.as_bytes().is_some_and(|n| n.starts_with(prefix.as_bytes())))
                    .cloned()
                    .collect();
                extra.retain(|(n, _)| !n.as_bytes().is_some_and(|n| n.starts_with(prefix.as_bytes())));
                let doc = with_added_subcommands(doc, mine);
                docs.insert(name, only_implemented_subcommands(spec, doc));
            }
        }
        docs
    })
}

/// Appends subcommand docs to a container's `subcommands` map.
fn with_added_subcommands(doc: RespValue, added: Vec<(RespValue, RespValue)>) -> RespValue {
    if added.is_empty() {
        return doc;
    }
    let RespValue::Map(mut fields) = doc else { return doc };
    for (k, v) in fields.iter_mut() {
        if k.as_bytes() == Some(b"subcommands") {
            if let RespValue::Map(subs) = v {
                subs.extend(added);
                return RespValue::Map(fields);
            }
        }
    }
    RespValue::Map(fields)
}

/// Drops the docs of subcommands Shoal does not implement, so DOCS and INFO list the same things.
fn only_implemented_subcommands(spec: &CommandSpec, doc: RespValue) -> RespValue {
    let RespValue::Map(fields) = doc else { return doc };
    let fields = fields
        .into_iter()
        .map(|(k, v)| {
            if k.as_bytes() == Some(b"subcommands") {
                if let RespValue::Map(subs) = v {
                    let kept = subs
                        .into_iter()
                        .filter(|(n, _)| {
                            n.as_bytes().is_some_and(|n| spec.subcommands.iter().any(|s| s.name.as_bytes() == n))
                        })
                        .collect();
                    return (k, RespValue::Map(kept));
                }
            }
            (k, v)
        })
        .collect();
    RespValue::Map(fields)
}

pub fn command_docs(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let docs = docs();
    let wanted: Vec<&str> = if args.len() == 2 {
        table::COMMANDS.iter().map(|c| c.name).filter(|n| docs.contains_key(*n)).collect()
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| {
                let n = String::from_utf8_lossy(n).to_lowercase();
                docs.get_key_value(n.as_str()).map(|(k, _)| k.as_str())
            })
            .collect()
    };
    ctx.out.map(wanted.len());
    for name in wanted {
        ctx.out.bulk(name.as_bytes());
        if let Some(doc) = docs.get(name) {
            doc.write(ctx.out);
        }
    }
}

fn write_help(out: &mut Reply, lines: &[&str]) {
    out.array(lines.len());
    lines.iter().for_each(|l| out.simple(l));
}

pub fn command_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    write_help(
        ctx.out,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------------
// CONFIG

pub fn config_get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let pairs = ctx.server.config.get_raw(&patterns);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(&value);
    }
}

pub fn config_set(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !args.len().is_multiple_of(2) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len()).step_by(2).map(|i| (args.get(i), args.get(i + 1))).collect();
    match ctx.server.config.set(&pairs) {
        Ok(_) => {
            // Cluster knobs take effect before the reply, as in Redis (the cron would apply them 100 ms later).
            if let Some(cluster) = &ctx.server.cluster {
                cluster.apply_settings(&ctx.server.config.snapshot());
            }
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&e),
    }
}

pub fn config_resetstat(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.server.stats.reset();
    ctx.server.keyspace.reset_stats();
    ctx.server.error_codes.lock().clear();
    crate::stats::reset(ctx.server);
    ctx.out.ok();
}

pub fn config_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    write_help(
        ctx.out,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------------
// SHUTDOWN

pub fn shutdown(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut mode = ShutdownMode::Default;
    for arg in args.iter().skip(1) {
        if is(arg, "NOSAVE") {
            mode = ShutdownMode::NoSave;
        } else if is(arg, "SAVE") {
            mode = ShutdownMode::Save;
        } else if is(arg, "NOW") || is(arg, "FORCE") {
            // NOW skips waiting for replicas and FORCE ignores save errors: neither exists yet.
        } else if is(arg, "ABORT") {
            ctx.out.error("ERR No shutdown in progress.");
            return;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    // The final snapshot is written here, so that a failed save answers the client as Redis does; the
    // server loop then stops without saving again.
    let save =
        mode == ShutdownMode::Save || (mode == ShutdownMode::Default && !ctx.server.config.snapshot().save.is_empty());
    if save || mode == ShutdownMode::NoSave {
        if crate::rdb::snapshot::shutdown(ctx.server, false).is_ok() && save {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            let server = ctx.server;
            let saved =
                crate::rdb::snapshot::with_all_shards(server, ctx.db, |v| crate::rdb::snapshot::save_sync(server, v));
            if saved.is_err() {
                tracing::warn!("Error trying to save the DB, can't exit.");
                ctx.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
                return;
            }
        }
        mode = ShutdownMode::NoSave;
    }
    ctx.server.request_shutdown(mode);
    // Redis closes the connection without a reply when the shutdown succeeds.
    ctx.client.close_after_reply = true;
}

pub fn config_rewrite(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    use crate::config::rewrite::{rewrite, RewriteError};
    match ctx.server.config.read(rewrite) {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(RewriteError::NoConfigFile) => ctx.out.error("ERR The server is running without a config file"),
        Err(e) => {
            tracing::warn!("CONFIG-REWRITE failed: {}", e.to_string().trim_start_matches("Rewriting config file: "));
            ctx.out.error(&format!("ERR {e}"));
        }
    }
}
