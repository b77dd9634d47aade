//! The shape of a command-table entry and the key-position rules (Redis 7 key specs) read from it.

use super::Ctx;
use crate::protocol::decode::Args;

/// A command handler: reads its arguments, touches the keyspace through `ctx.db`, writes its reply to
/// `ctx.out`. Handlers never see a socket.
pub type Handler = fn(&mut Ctx<'_, '_>, Args<'_>);

/// Which shards the dispatcher locks before calling the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// No keyspace access.
    None,
    /// The shards of the keys found by the key specs.
    Keys,
    /// Every shard: keyspace-wide commands (KEYS, SCAN, DBSIZE, FLUSHALL, ...) and transactions.
    All,
}

#[derive(Clone, Copy, Debug)]
pub enum BeginSearch {
    Index(i32),
    Keyword { keyword: &'static str, start_from: i32 },
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub enum FindKeys {
    Range { last_key: i32, key_step: i32, limit: i32 },
    Keynum { keynum_idx: i32, first_key: i32, key_step: i32 },
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: &'static [&'static str],
    pub begin: BeginSearch,
    pub find: FindKeys,
}

#[derive(Debug)]
pub struct CommandSpec {
    /// Dense index over commands and subcommands (below `table::COMMAND_IDS`), for per-command statistics.
    pub id: usize,
    /// Lower case; subcommands are `container|sub`.
    pub name: &'static str,
    /// Positive: exact argument count including the name; negative: at least that many.
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl_categories: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    pub subcommands: &'static [CommandSpec],
    pub handler: Option<Handler>,
    pub lock: Lock,
}

impl CommandSpec {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether `argc` (including the command name) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The name shown in errors and COMMAND replies for a subcommand (`config|get`).
    pub fn full_name(&self) -> &'static str {
        self.name
    }

    /// Key flags that depend on the arguments (key specs flagged `variable_flags`), as Redis's getkeys
    /// procedures report them: SET without GET only overwrites, BITFIELD with only GET only reads.
    pub fn variable_key_flags(&self, args: &Args<'_>) -> Option<&'static [&'static str]> {
        let has =
            |words: &[&str]| args.iter().skip(2).any(|a| words.iter().any(|w| a.eq_ignore_ascii_case(w.as_bytes())));
        match self.name {
            "set" if has(&["GET"]) => Some(&["RW", "access", "update"]),
            "set" => Some(&["OW", "update"]),
            "bitfield" if has(&["SET", "INCRBY"]) => Some(&["RW", "access", "update"]),
            "bitfield" => Some(&["RO", "access"]),
            _ => None,
        }
    }

    /// True when the keys cannot be found from first/last/step alone (Redis's `movablekeys`).
    pub fn movable_keys(&self) -> bool {
        self.has_flag("movablekeys")
    }

    /// Calls `f(index)` for each argument index that holds a key, following the key specs exactly as Redis's
    /// `getKeysUsingKeySpecs` does. Returns false when the arguments contradict a spec (e.g. a bad numkeys),
    /// which COMMAND GETKEYS reports as invalid arguments.
    pub fn for_each_key_index(&self, args: &Args<'_>, mut f: impl FnMut(usize, &'static KeySpec)) -> bool {
        let argc = args.len() as i64;
        let mut ok = true;
        for spec in self.key_specs {
            let incomplete = spec.flags.contains(&"incomplete");
            let first = match spec.begin {
                BeginSearch::Index(i) => i64::from(i),
                BeginSearch::Keyword { keyword, start_from } => {
                    let (start, end, step): (i64, i64, i64) = if start_from >= 0 {
                        (i64::from(start_from), argc, 1)
                    } else {
                        (argc + i64::from(start_from), 0, -1)
                    };
                    let mut found = None;
                    let mut i = start;
                    while (step > 0 && i < end) || (step < 0 && i > end) {
                        if i >= 1 && i < argc && args.get(i as usize).eq_ignore_ascii_case(keyword.as_bytes()) {
                            found = Some(i + 1);
                            break;
                        }
                        i += step;
                    }
                    match found {
                        Some(first) => first,
                        None => continue,
                    }
                }
                BeginSearch::Unknown => continue,
            };
            let (first, last, step) = match spec.find {
                FindKeys::Range { last_key, key_step, limit } => {
                    let last = if last_key >= 0 {
                        first + i64::from(last_key)
                    } else if limit == 0 {
                        argc + i64::from(last_key)
                    } else {
                        first + ((argc - first) / i64::from(limit) + i64::from(last_key))
                    };
                    (first, last, i64::from(key_step))
                }
                FindKeys::Keynum { keynum_idx, first_key, key_step } => {
                    let idx = first + i64::from(keynum_idx);
                    let numkeys =
                        if idx >= 0 && idx < argc { crate::num::parse_i64(args.get(idx as usize)) } else { None };
                    let Some(numkeys) = numkeys.filter(|&n| n >= 0) else {
                        if !incomplete {
                            ok = false;
                        }
                        continue;
                    };
                    let first = first + i64::from(first_key);
                    // A client-given numkeys can be huge: saturate (the walk below stops at argc anyway).
                    let span = numkeys.saturating_mul(i64::from(key_step));
                    (first, first.saturating_add(span).saturating_sub(1), i64::from(key_step))
                }
                FindKeys::Unknown => continue,
            };
            if step <= 0 {
                continue;
            }
            let mut i = first;
            while i <= last {
                if i >= argc || i < 1 {
                    if !incomplete {
                        ok = false;
                    }
                    break;
                }
                f(i as usize, spec);
                i += step;
            }
        }
        ok
    }
}
