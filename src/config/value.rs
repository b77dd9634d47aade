//! Directive value types: parsing/validation of arguments and formatting for CONFIG GET.
//!
//! Every rule here copies what redis-server 7.0.15 does, including its odd corners, because clients and
//! test suites compare CONFIG GET output and error replies byte for byte:
//! - integers use Redis's strict `string2ll` (no `+`, no leading zeros, no spaces);
//! - memory values use 7.0's `memtoull` (`k`=1000, `kb`=1024, ... case-insensitive; an empty string or a bare
//!   unit is 0; overflow wraps silently, as 7.0 does) and are printed back as plain bytes;
//! - bounds are checked on the C type: unsigned types compare as unsigned, so `-1` for `maxclients` is
//!   "out of range", not "not a number";
//! - enums match case-insensitively and print the first name with the stored value
//!   (`oom-score-adj relative` reads back as `yes`); bit-flag enums (`shutdown-on-sig*`) OR their words;
//! - the special multi-value directives (`save`, `client-output-buffer-limit`, `bind`, ...) keep Redis's
//!   own validation messages.
//!
//! Error strings are returned exactly as Redis words them; the caller wraps them into the file-error block
//! or the CONFIG SET reply.

use std::path::PathBuf;

/// How a numeric directive reads and prints its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumFormat {
    /// A plain integer (`string2ll`).
    Integer,
    /// A byte count with optional unit suffix.
    Memory,
    /// A byte count, or a percentage written `N%` (stored negated, as Redis does).
    MemoryOrPercent,
    /// An octal number (`unixsocketperm`).
    Octal,
}

/// A numeric directive's C storage and bounds. `min`/`max` hold the C `long long` bit patterns, so
/// `ULLONG_MAX` is `-1` with `unsigned` set, exactly as Redis compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    pub min: i64,
    pub max: i64,
    /// Bounds are compared as unsigned (C `unsigned int`, `size_t`, `unsigned long long`).
    pub unsigned: bool,
    pub format: NumFormat,
}

/// A single-argument string validator returning Redis's error text.
pub type StrCheck = fn(&[u8]) -> Result<(), String>;

/// The value type of a directive.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// `yes`/`no`. `reject_yes` carries the error for a build that cannot turn the feature on.
    Bool {
        reject_yes: Option<&'static str>,
    },
    Num(Num),
    /// Names (matched case-insensitively) with their values; `flags` ORs several words together.
    Enum {
        names: &'static [(&'static str, u32)],
        flags: bool,
    },
    /// A string; `check` validates it.
    Str {
        check: Option<StrCheck>,
    },
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyPercentiles,
    /// The working directory: resolved to an absolute, existing directory.
    Dir,
    /// Directives that are not settings (not in CONFIG GET): handled by the file parser.
    Include,
    RenameCommand,
    User,
    LoadModule,
    Sentinel,
    /// Removed in Redis 7.0 but still tolerated in files with exactly one argument; ignored.
    Deprecated,
}

impl Type {
    /// Whether the directive takes a list of arguments (Redis's MULTI_ARG_CONFIG): in a file every word
    /// after the name is passed on; in CONFIG SET the value is split on spaces.
    pub fn multi_arg(&self) -> bool {
        matches!(
            self,
            Type::Save
                | Type::ClientOutputBufferLimit
                | Type::OomScoreAdjValues
                | Type::Bind
                | Type::ReplicaOf
                | Type::LatencyPercentiles
                | Type::Enum { flags: true, .. }
        )
    }

    /// Whether CONFIG GET/SET know this directive (false for `include`, `user`, ...).
    pub fn is_setting(&self) -> bool {
        !matches!(
            self,
            Type::Include | Type::RenameCommand | Type::User | Type::LoadModule | Type::Sentinel | Type::Deprecated
        )
    }
}

/// Per-client-class output buffer limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i64,
}

/// Client classes in Redis's order: normal, replica ("slave"), pubsub.
pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// A stored directive value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    /// The C `long long` value (memory values above `i64::MAX` wrap, as in Redis, and print unsigned).
    Num(i64),
    Enum(u32),
    Str(Vec<u8>),
    /// `(seconds, changes)` pairs.
    Save(Vec<(i64, i32)>),
    ClientOutputBufferLimit([ObufLimit; 3]),
    OomScoreAdjValues([i32; 3]),
    NotifyKeyspaceEvents(u32),
    Bind(Vec<Vec<u8>>),
    ReplicaOf(Option<(Vec<u8>, u16)>),
    LatencyPercentiles(Vec<f64>),
    Dir(PathBuf),
    /// Directives without a value of their own (include, deprecated ones, ...).
    None,
}

// ---------------------------------------------------------------------------------------------------------
// C number parsing, as Redis does it
// ---------------------------------------------------------------------------------------------------------

/// Redis's `string2ll`: strict decimal `long long`.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C's `strtoll(s, &end, base)` for bases 8 and 10: returns the value, whether the whole string was
/// consumed (`*end == '\0'`), and whether it overflowed (`errno == ERANGE`).
pub fn strtoll(s: &[u8], base: u32) -> (i64, bool, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut acc: u128 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        acc = acc * u128::from(base) + u128::from(d);
        if acc > u128::from(u64::MAX) {
            overflow = true;
            acc = u128::from(u64::MAX);
        }
        i += 1;
    }
    if i == digits_start {
        // No digits: C sets end to the start of the string.
        return (0, s.is_empty(), false);
    }
    let consumed = i == s.len();
    let value = if negative {
        if acc > (i64::MAX as u128) + 1 {
            overflow = true;
            i64::MIN
        } else {
            (acc as i64).wrapping_neg()
        }
    } else if acc > i64::MAX as u128 {
        overflow = true;
        i64::MAX
    } else {
        acc as i64
    };
    (value, consumed, overflow)
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Redis 7.0's `memtoull`: digits followed by an optional unit. `None` means "not a memory value".
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = s[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    // strtoull saturates on overflow and 7.0 does not check errno; the multiplication wraps.
    let mut v: u64 = 0;
    for &d in &s[..digits] {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some(v.wrapping_mul(mul))
}

fn yes_no(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------

pub use super::special::{format_notify_flags, notify, parse_notify_flags};
use super::special::{format_percentile, parse_obuf, parse_oom_values, parse_percentiles, parse_replicaof, parse_save};

/// Where a value comes from; only `save` behaves differently (see [`SaveState`]).
#[derive(Debug)]
pub enum Origin<'a> {
    /// A config file / command line, with the `save` bookkeeping of the whole load.
    File(&'a mut SaveState),
    /// CONFIG SET (and defaults).
    Set,
}

/// Redis 7.0's `save` quirks while loading: the first `save` line of the process replaces the defaults,
/// later ones append; `save ""` always clears. After an `include` finishes, Redis forgets it is reading a
/// file, so every following `save` line replaces the list (`reading_file` false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveState {
    pub reading_file: bool,
    pub loaded: bool,
}

impl Num {
    /// Parses and bound-checks one numeric argument.
    pub fn parse(&self, arg: &[u8]) -> Result<i64, String> {
        let mut parsed = None;
        if matches!(self.format, NumFormat::Memory | NumFormat::MemoryOrPercent) {
            parsed = memtoull(arg).map(|v| v as i64);
        }
        if parsed.is_none() && self.format == NumFormat::MemoryOrPercent && arg.len() > 1 && arg.ends_with(b"%") {
            if let Some(p) = string2ll(&arg[..arg.len() - 1]).filter(|p| *p >= 0) {
                parsed = Some(-p);
            }
        }
        if parsed.is_none() && self.format == NumFormat::Octal {
            let (v, consumed, overflow) = strtoll(arg, 8);
            if consumed && !overflow {
                parsed = Some(v);
            }
        }
        if parsed.is_none() && self.format == NumFormat::Integer {
            parsed = string2ll(arg);
        }
        let v = parsed.ok_or_else(|| {
            match self.format {
                NumFormat::MemoryOrPercent => "argument must be a memory or percent value",
                NumFormat::Memory => "argument must be a memory value",
                NumFormat::Octal => "argument couldn't be parsed as an octal number",
                NumFormat::Integer => "argument couldn't be parsed into an integer",
            }
            .to_string()
        })?;
        self.check_bounds(v)?;
        Ok(v)
    }

    fn check_bounds(&self, v: i64) -> Result<(), String> {
        if self.unsigned {
            let (u, lo, hi) = (v as u64, self.min as u64, self.max as u64);
            if u < lo || u > hi {
                return Err(if self.format == NumFormat::Octal {
                    format!("argument must be between {lo:o} and {hi:o} inclusive")
                } else {
                    format!("argument must be between {lo} and {hi} inclusive")
                });
            }
        } else if self.format == NumFormat::MemoryOrPercent && v < 0 {
            if v < self.min {
                return Err(format!("percentage argument must be less or equal to {}", -(self.min as i128)));
            }
        } else if v < self.min || v > self.max {
            return Err(format!("argument must be between {} and {} inclusive", self.min, self.max));
        }
        Ok(())
    }

    pub fn format(&self, v: i64) -> String {
        match self.format {
            NumFormat::MemoryOrPercent if v < 0 => format!("{}%", -(v as i128)),
            NumFormat::Memory | NumFormat::MemoryOrPercent => (v as u64).to_string(),
            NumFormat::Octal => format!("{v:o}"),
            NumFormat::Integer => v.to_string(),
        }
    }
}

fn enum_error(names: &[(&str, u32)]) -> String {
    let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    format!("argument(s) must be one of the following: {}", list.join(", "))
}

fn parse_enum(names: &[(&str, u32)], flags: bool, args: &[&[u8]]) -> Result<u32, String> {
    if args.is_empty() || (!flags && args.len() != 1) {
        return Err(enum_error(names));
    }
    let mut value = 0u32;
    for arg in args {
        let found = names.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(arg));
        match found {
            Some((_, v)) => value |= v,
            None => return Err(enum_error(names)),
        }
    }
    // The only bit-flag enums are shutdown-on-sigint/sigterm.
    if flags && value & SHUTDOWN_SAVE != 0 && value & SHUTDOWN_NOSAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
    }
    Ok(value)
}

/// Shutdown flag bits (`shutdown-on-sigint`, `shutdown-on-sigterm`).
pub const SHUTDOWN_SAVE: u32 = 1;
pub const SHUTDOWN_NOSAVE: u32 = 2;
pub const SHUTDOWN_NOW: u32 = 4;
pub const SHUTDOWN_FORCE: u32 = 8;

fn format_enum(names: &[(&str, u32)], flags: bool, v: u32) -> String {
    if let Some((n, _)) = names.iter().find(|(_, x)| *x == v) {
        return (*n).to_string();
    }
    if flags {
        let mut words = Vec::new();
        let mut left = v;
        for (n, x) in names {
            if *x != 0 && left & x == *x {
                words.push(*n);
                left &= !x;
            }
        }
        if left == 0 && !words.is_empty() {
            return words.join(" ");
        }
    }
    "unknown".to_string()
}

/// The last OS error as C's `strerror` text (without Rust's " (os error N)" suffix).
pub fn os_error_text(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = std::io::Error::from_raw_os_error(code).to_string();
            match text.rfind(" (os error ") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
        None => err.to_string(),
    }
}

/// Resolves a `dir` argument against `base` the way `chdir` + `getcwd` would: the result is the
/// canonical absolute path of an existing, searchable directory, or `strerror` text.
pub fn resolve_dir(base: &std::path::Path, arg: &[u8]) -> Result<PathBuf, String> {
    use std::os::unix::ffi::OsStrExt;
    if arg.is_empty() {
        return Err(os_error_text(&std::io::Error::from_raw_os_error(libc::ENOENT)));
    }
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(arg));
    let full = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    let canonical = std::fs::canonicalize(&full).map_err(|e| os_error_text(&e))?;
    let meta = std::fs::metadata(&canonical).map_err(|e| os_error_text(&e))?;
    if !meta.is_dir() {
        return Err(os_error_text(&std::io::Error::from_raw_os_error(libc::ENOTDIR)));
    }
    let c_path = std::ffi::CString::new(canonical.as_os_str().as_bytes())
        .map_err(|_| os_error_text(&std::io::Error::from_raw_os_error(libc::EINVAL)))?;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } != 0 {
        return Err(os_error_text(&std::io::Error::last_os_error()));
    }
    Ok(canonical)
}

/// Parses the arguments of a setting into a new value. `current` is the value before this line (for the
/// directives that merge or accumulate), `base_dir` the directory relative paths resolve against.
pub fn parse(
    ty: &Type,
    args: &[&[u8]],
    origin: Origin<'_>,
    current: &Value,
    base_dir: &std::path::Path,
) -> Result<Value, String> {
    let single = || -> Result<&[u8], String> {
        match args {
            [one] => Ok(one),
            _ => Err("wrong number of arguments".to_string()),
        }
    };
    match ty {
        Type::Bool { reject_yes } => {
            let v = yes_no(single()?).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?;
            if let (true, Some(msg)) = (v, reject_yes) {
                return Err((*msg).to_string());
            }
            Ok(Value::Bool(v))
        }
        Type::Num(num) => Ok(Value::Num(num.parse(single()?)?)),
        Type::Enum { names, flags } => Ok(Value::Enum(parse_enum(names, *flags, args)?)),
        Type::Str { check } => {
            let arg = single()?;
            if let Some(check) = check {
                check(arg)?;
            }
            Ok(Value::Str(arg.to_vec()))
        }
        Type::Save => {
            let current = match current {
                Value::Save(v) => v.as_slice(),
                _ => &[],
            };
            Ok(Value::Save(parse_save(args, origin, current)?))
        }
        Type::ClientOutputBufferLimit => {
            let current = match current {
                Value::ClientOutputBufferLimit(v) => *v,
                _ => [ObufLimit::default(); 3],
            };
            Ok(Value::ClientOutputBufferLimit(parse_obuf(args, &current)?))
        }
        Type::OomScoreAdjValues => Ok(Value::OomScoreAdjValues(parse_oom_values(args)?)),
        Type::NotifyKeyspaceEvents => {
            let flags = parse_notify_flags(single()?)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())?;
            Ok(Value::NotifyKeyspaceEvents(flags))
        }
        Type::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".to_string());
            }
            if args.len() == 1 && args[0].is_empty() {
                return Ok(Value::Bind(Vec::new()));
            }
            Ok(Value::Bind(args.iter().map(|a| a.to_vec()).collect()))
        }
        Type::ReplicaOf => Ok(Value::ReplicaOf(parse_replicaof(args)?)),
        Type::LatencyPercentiles => Ok(Value::LatencyPercentiles(parse_percentiles(args)?)),
        Type::Dir => Ok(Value::Dir(resolve_dir(base_dir, single()?)?)),
        Type::Include | Type::RenameCommand | Type::User | Type::LoadModule | Type::Sentinel | Type::Deprecated => {
            Ok(Value::None)
        }
    }
}

/// Formats a value exactly as CONFIG GET prints it.
pub fn format(ty: &Type, value: &Value) -> Vec<u8> {
    match (ty, value) {
        (_, Value::Bool(b)) => {
            if *b {
                b"yes".to_vec()
            } else {
                b"no".to_vec()
            }
        }
        (Type::Num(num), Value::Num(v)) => num.format(*v).into_bytes(),
        (_, Value::Num(v)) => v.to_string().into_bytes(),
        (Type::Enum { names, flags }, Value::Enum(v)) => format_enum(names, *flags, *v).into_bytes(),
        (_, Value::Enum(v)) => v.to_string().into_bytes(),
        (_, Value::Str(s)) => s.clone(),
        (_, Value::Save(pairs)) => {
            let parts: Vec<String> = pairs.iter().map(|(s, c)| format!("{s} {c}")).collect();
            parts.join(" ").into_bytes()
        }
        (_, Value::ClientOutputBufferLimit(limits)) => {
            let parts: Vec<String> = OBUF_CLASSES
                .iter()
                .zip(limits.iter())
                .map(|(class, l)| format!("{class} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_seconds))
                .collect();
            parts.join(" ").into_bytes()
        }
        (_, Value::OomScoreAdjValues(v)) => format!("{} {} {}", v[0], v[1], v[2]).into_bytes(),
        (_, Value::NotifyKeyspaceEvents(f)) => format_notify_flags(*f).into_bytes(),
        (_, Value::Bind(addrs)) => addrs.join(&b' '),
        (_, Value::ReplicaOf(None)) => Vec::new(),
        (_, Value::ReplicaOf(Some((host, port)))) => {
            let mut out = host.clone();
            out.extend_from_slice(format!(" {port}").as_bytes());
            out
        }
        (_, Value::LatencyPercentiles(v)) => {
            let parts: Vec<String> = v.iter().map(|p| format_percentile(*p)).collect();
            parts.join(" ").into_bytes()
        }
        (_, Value::Dir(p)) => {
            use std::os::unix::ffi::OsStrExt;
            p.as_os_str().as_bytes().to_vec()
        }
        (_, Value::None) => Vec::new(),
    }
}

/// Splits a CONFIG SET value of a multi-argument directive on single spaces, like `sdssplitlen`:
/// an empty value gives no arguments, and doubled spaces give empty arguments.
pub fn split_set_value(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"01", b"-0", b"+1", b" 1", b"1 ", b"9223372036854775808", b"-", b"1.5", b"abc"] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn memtoull_units_like_redis_7_0() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kB"), Some(1024));
        assert_eq!(memtoull(b"1K"), Some(1000));
        assert_eq!(memtoull(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"1M"), Some(1_000_000));
        assert_eq!(memtoull(b"1Gb"), Some(1 << 30));
        assert_eq!(memtoull(b"3g"), Some(3_000_000_000));
        assert_eq!(memtoull(b"7b"), Some(7));
        assert_eq!(memtoull(b"010"), Some(10));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"18446744073709551616"), Some(u64::MAX));
        assert_eq!(memtoull(b"17179869184gb"), Some(0));
        for bad in [&b"-1"[..], b"+5", b" 5", b"5.5", b"1tb", b"abc"] {
            assert_eq!(memtoull(bad), None);
        }
    }

    #[test]
    fn strtoll_like_c() {
        assert_eq!(strtoll(b"+5", 10), (5, true, false));
        assert_eq!(strtoll(b" 5", 10), (5, true, false));
        assert_eq!(strtoll(b"", 10), (0, true, false));
        assert_eq!(strtoll(b" ", 10), (0, false, false));
        assert_eq!(strtoll(b"5x", 10), (5, false, false));
        assert_eq!(strtoll(b"777", 8), (511, true, false));
        assert!(!strtoll(b"8", 8).1);
        assert!(strtoll(b"99999999999999999999", 10).2);
    }

    fn num(min: i64, max: i64, unsigned: bool, format: NumFormat) -> Num {
        Num { min, max, unsigned, format }
    }

    #[test]
    fn numeric_errors_match_redis() {
        let maxclients = num(1, u32::MAX as i64, true, NumFormat::Integer);
        assert_eq!(maxclients.parse(b"0").unwrap_err(), "argument must be between 1 and 4294967295 inclusive");
        assert_eq!(maxclients.parse(b"-1").unwrap_err(), "argument must be between 1 and 4294967295 inclusive");
        let timeout = num(0, i32::MAX as i64, false, NumFormat::Integer);
        assert_eq!(timeout.parse(b"01").unwrap_err(), "argument couldn't be parsed into an integer");
        let bulk = num(1024 * 1024, i64::MAX, false, NumFormat::Memory);
        assert_eq!(bulk.parse(b"1").unwrap_err(), "argument must be between 1048576 and 9223372036854775807 inclusive");
        assert_eq!(bulk.parse(b"abc").unwrap_err(), "argument must be a memory value");
        let clients = num(-100, i64::MAX, false, NumFormat::MemoryOrPercent);
        assert_eq!(clients.parse(b"5%"), Ok(-5));
        assert_eq!(clients.format(-5), "5%");
        assert_eq!(clients.parse(b"200%").unwrap_err(), "percentage argument must be less or equal to 100");
        assert_eq!(clients.parse(b"-5%").unwrap_err(), "argument must be a memory or percent value");
        let perm = num(0, 0o777, true, NumFormat::Octal);
        assert_eq!(perm.parse(b"1000").unwrap_err(), "argument must be between 0 and 777 inclusive");
        assert_eq!(perm.parse(b"999").unwrap_err(), "argument couldn't be parsed as an octal number");
        assert_eq!(perm.parse(b"700"), Ok(0o700));
        assert_eq!(perm.format(0o700), "700");
        let maxmemory = num(0, -1, true, NumFormat::Memory);
        let big = maxmemory.parse(b"18446744073709551615").unwrap();
        assert_eq!(maxmemory.format(big), "18446744073709551615");
    }

    #[test]
    fn enums() {
        const OOM: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
        let v = parse_enum(OOM, false, &[b"RELATIVE"]).unwrap();
        assert_eq!(format_enum(OOM, false, v), "yes");
        assert_eq!(
            parse_enum(OOM, false, &[b"x"]).unwrap_err(),
            "argument(s) must be one of the following: no, yes, relative, absolute"
        );
        const SHUT: &[(&str, u32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
        let v = parse_enum(SHUT, true, &[b"force", b"now", b"save"]).unwrap();
        assert_eq!(format_enum(SHUT, true, v), "save now force");
        assert_eq!(format_enum(SHUT, true, parse_enum(SHUT, true, &[b"default", b"now"]).unwrap()), "now");
        assert!(parse_enum(SHUT, true, &[]).is_err());
        assert_eq!(
            parse_enum(SHUT, true, &[b"save", b"nosave"]).unwrap_err(),
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        );
    }

    #[test]
    fn split_like_sdssplitlen() {
        assert!(split_set_value(b"").is_empty());
        assert_eq!(split_set_value(b"a  b"), vec![&b"a"[..], b"", b"b"]);
        assert_eq!(split_set_value(b" 5"), vec![&b""[..], b"5"]);
    }

    #[test]
    fn dir_resolution() {
        let tmp = std::env::temp_dir();
        let resolved = resolve_dir(&tmp, b".").unwrap();
        assert!(resolved.is_absolute());
        assert_eq!(resolve_dir(&tmp, b"/nonexistent-shoal-dir").unwrap_err(), "No such file or directory");
        assert_eq!(resolve_dir(&tmp, b"/etc/passwd").unwrap_err(), "Not a directory");
    }
}
