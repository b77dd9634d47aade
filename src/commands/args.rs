//! Argument parsing helpers with Redis's error texts: integers, floats and option keywords.

use super::errors;
use crate::num;
use crate::protocol::reply::Reply;

/// Parses a strict integer argument, or writes `ERR value is not an integer or out of range` and returns None.
pub fn int(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    let v = num::parse_i64(arg);
    if v.is_none() {
        out.error(errors::NOT_INTEGER);
    }
    v
}

/// Parses a float argument, or writes `ERR value is not a valid float`.
pub fn float(out: &mut Reply, arg: &[u8]) -> Option<f64> {
    let v = num::parse_f64(arg);
    if v.is_none() {
        out.error(errors::NOT_FLOAT);
    }
    v
}

/// Case-insensitive keyword comparison.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// An argument as C sees it: everything before the first NUL byte (Redis treats some arguments as C strings).
pub fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n])
}

/// A SCAN-family cursor as Redis's `parseScanCursorOrReply` reads it: `strtoul(s, &end, 10)` must consume the
/// whole C string, the first byte must not be a blank, and the value must not overflow. A leading `-` negates
/// modulo 2^64, as strtoul does; an empty string is cursor 0. None: `ERR invalid cursor`.
pub fn scan_cursor(arg: &[u8]) -> Option<u64> {
    let s = c_str(arg);
    let Some(&first) = s.first() else { return Some(0) };
    if matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (negative, digits) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        // No digits: strtoul stops at the sign, which is then left unconsumed.
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::scan_cursor;

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(scan_cursor(b"0"), Some(0));
        assert_eq!(scan_cursor(b""), Some(0));
        assert_eq!(scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(scan_cursor(b"12\0x"), Some(12));
        assert_eq!(scan_cursor(b"+7"), Some(7));
        assert_eq!(scan_cursor(b" 1"), None);
        assert_eq!(scan_cursor(b"1x"), None);
        assert_eq!(scan_cursor(b"-"), None);
        assert_eq!(scan_cursor(b"99999999999999999999"), None);
    }
}
