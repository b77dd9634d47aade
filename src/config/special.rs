//! The special multi-value directives (`save`, `client-output-buffer-limit`, `oom-score-adj-values`,
//! `latency-tracking-info-percentiles`, `replicaof`) and keyspace-notification flags, each with Redis
//! 7.0.15's own syntax, validation messages and output format.

use super::value::{memtoull, strtoll, ObufLimit, Origin};

/// Keyspace notification class bits (Redis's NOTIFY_*).
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    /// `A`: every data class (not `m`, not `n`).
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Parses a `notify-keyspace-events` class string.
pub fn parse_notify_flags(s: &[u8]) -> Option<u32> {
    use notify::*;
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Formats notification flags the way Redis prints them (`AKE`, `gxnKm`, ...).
pub fn format_notify_flags(flags: u32) -> String {
    use notify::*;
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                out.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

pub(super) fn parse_save(
    args: &[&[u8]],
    origin: Origin<'_>,
    current: &[(i64, i32)],
) -> Result<Vec<(i64, i32)>, String> {
    let clear = args.len() == 1 && args[0].is_empty();
    let args: &[&[u8]] = if clear { &[] } else { args };
    let invalid = || "Invalid save parameters".to_string();
    if !args.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut pairs = Vec::new();
    for pair in args.chunks(2) {
        let (seconds, s_ok, _) = strtoll(pair[0], 10);
        let (changes, c_ok, _) = strtoll(pair[1], 10);
        if !s_ok || !c_ok || seconds < 1 || changes < 0 {
            return Err(invalid());
        }
        // Redis stores `changes` in a C int.
        pairs.push((seconds, changes as i32));
    }
    let keep_current = match origin {
        Origin::Set => false,
        Origin::File(state) => {
            if !state.reading_file {
                false
            } else if !state.loaded {
                state.loaded = true;
                false
            } else {
                !clear
            }
        }
    };
    if keep_current {
        let mut all = current.to_vec();
        all.extend(pairs);
        Ok(all)
    } else {
        Ok(pairs)
    }
}

pub(super) fn parse_obuf(args: &[&[u8]], current: &[ObufLimit; 3]) -> Result<[ObufLimit; 3], String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut limits = *current;
    let mut staged = Vec::new();
    for chunk in args.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => return Err("Invalid client class specified in buffer limit configuration.".to_string()),
        };
        let hard = memtoull(chunk[1]);
        let soft = memtoull(chunk[2]);
        let (secs, consumed, _) = strtoll(chunk[3], 10);
        match (hard, soft) {
            (Some(hard_bytes), Some(soft_bytes)) if consumed && secs >= 0 => {
                staged.push((class, ObufLimit { hard_bytes, soft_bytes, soft_seconds: secs }));
            }
            _ => return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string()),
        }
    }
    for (class, limit) in staged {
        limits[class] = limit;
    }
    Ok(limits)
}

pub(super) fn parse_oom_values(args: &[&[u8]]) -> Result<[i32; 3], String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".to_string());
    }
    let mut out = [0i32; 3];
    for (slot, arg) in out.iter_mut().zip(args) {
        let (v, consumed, _) = strtoll(arg, 10);
        if !consumed || !(-2000..=2000).contains(&v) {
            return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".to_string());
        }
        *slot = v as i32;
    }
    Ok(out)
}

pub(super) fn parse_percentiles(args: &[&[u8]]) -> Result<Vec<f64>, String> {
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        let parsed = std::str::from_utf8(arg)
            .ok()
            .filter(|s| !s.is_empty() && !s.as_bytes()[0].is_ascii_whitespace())
            .and_then(|s| s.parse::<f64>().ok().map(|v| (s, v)))
            // strtod reports overflow and underflow (ERANGE), which Redis's string2d rejects.
            .filter(|(s, v)| !v.is_nan() && !out_of_double_range(s, *v))
            .map(|(_, v)| v);
        let v = parsed.ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&v) {
            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".to_string());
        }
        out.push(v);
    }
    Ok(out)
}

/// Whether `strtod` would have set ERANGE: an infinite result from a finite literal, or zero from a
/// literal with a non-zero digit before its exponent.
fn out_of_double_range(text: &str, v: f64) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_infinite() {
        return !unsigned.starts_with("inf");
    }
    v == 0.0 && unsigned.split('e').next().is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)))
}

/// `%f` followed by Redis's `trimDoubleString`.
pub(super) fn format_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) fn parse_replicaof(args: &[&[u8]]) -> Result<Option<(Vec<u8>, u16)>, String> {
    if args.len() != 2 {
        return Err("wrong number of arguments".to_string());
    }
    if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
        return Ok(None);
    }
    let (port, consumed, overflow) = strtoll(args[1], 10);
    if !consumed || overflow || !(0..=65535).contains(&port) {
        return Err("Invalid master port".to_string());
    }
    Ok(Some((args[0].to_vec(), port as u16)))
}

#[cfg(test)]
mod tests {
    use super::super::value::{split_set_value, SaveState};
    use super::*;

    #[test]
    fn notify_flags_round_trip() {
        assert_eq!(format_notify_flags(parse_notify_flags(b"KEA").unwrap()), "AKE");
        assert_eq!(format_notify_flags(parse_notify_flags(b"gxmnK").unwrap()), "gxnKm");
        assert_eq!(format_notify_flags(0), "");
        assert!(parse_notify_flags(b"Q").is_none());
    }

    #[test]
    fn save_accumulation_rules() {
        let mut st = SaveState { reading_file: true, loaded: false };
        let defaults = vec![(3600, 1), (300, 100)];
        let v = parse_save(&[b"900", b"1"], Origin::File(&mut st), &defaults).unwrap();
        assert_eq!(v, vec![(900, 1)]);
        let v = parse_save(&[b"60", b"5"], Origin::File(&mut st), &v).unwrap();
        assert_eq!(v, vec![(900, 1), (60, 5)]);
        let v2 = parse_save(&[], Origin::File(&mut st), &v).unwrap();
        assert_eq!(v2, v);
        assert_eq!(parse_save(&[b""], Origin::File(&mut st), &v).unwrap(), vec![]);
        assert_eq!(parse_save(&[b"+5", b"-0"], Origin::Set, &v).unwrap(), vec![(5, 0)]);
        assert_eq!(parse_save(&[b"5", b"4294967297"], Origin::Set, &v).unwrap(), vec![(5, 1)]);
        assert!(parse_save(&[b"0", b"1"], Origin::Set, &v).is_err());
        assert!(parse_save(&[b"1"], Origin::Set, &v).is_err());
        assert!(parse_save(&split_set_value(b"100 1  200 2"), Origin::Set, &v).is_err());
    }

    #[test]
    fn percentiles_format() {
        let v = parse_percentiles(&[b"50", b"99.99", b"100", b"0.5"]).unwrap();
        let parts: Vec<String> = v.iter().map(|p| format_percentile(*p)).collect();
        assert_eq!(parts.join(" "), "50 99.99 100 0.5");
        assert!(parse_percentiles(&[b"abc"]).unwrap_err().starts_with("Invalid"));
        assert!(parse_percentiles(&[b"101"]).unwrap_err().contains("[0.0,100.0]"));
        assert_eq!(parse_percentiles(&[b""]).unwrap(), Vec::<f64>::new());
        assert!(parse_percentiles(&[b"1e400"]).unwrap_err().starts_with("Invalid"));
        assert!(parse_percentiles(&[b"1e-400"]).unwrap_err().starts_with("Invalid"));
        assert!(parse_percentiles(&[b"inf"]).unwrap_err().contains("[0.0,100.0]"));
        assert_eq!(parse_percentiles(&[b"0.0", b"1e1"]).unwrap(), vec![0.0, 10.0]);
    }
}
