//! Numbers exactly as Redis reads and prints them.
//!
//! Redis's integer parser (`string2ll`) is stricter than Rust's (no `+`, no leading zeros, no blanks), its
//! doubles go through libc's `strtod` (so `0x1p3`, `inf` and `1e5` are numbers) and print with `%.17g`, and
//! INCRBYFLOAT computes in x87 `long double` and prints with `%.17Lf` minus trailing zeros. Rust has no
//! `long double`, so that one operation lives in `num_ld.c` (built by build.rs); the others call libc directly so
//! that every digit matches what redis-server answers.

use std::ffi::CStr;

/// Longest decimal form of an i64 plus sign (Redis's LONG_STR_SIZE is 21 including the NUL).
const LONG_STR_SIZE: usize = 21;

/// Redis's `string2ll`: the whole input must be a canonical decimal i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if value > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Redis's `string2l` used for e.g. `SETRANGE` offsets and `GETRANGE` bounds: same rules as [`parse_i64`].
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    parse_i64(s).and_then(|v| u64::try_from(v).ok())
}

/// Appends the decimal form of `v`.
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Redis's `string2d` / `getDoubleFromObject`: strtod over the whole string, no leading blank, no NaN,
/// no overflow to infinity from a finite literal.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() >= 5 * 1024 || s.contains(&0) || s[0].is_ascii_whitespace() || s[0] == 0x0b {
        return None;
    }
    let mut buf = Vec::with_capacity(s.len() + 1);
    buf.extend_from_slice(s);
    buf.push(0);
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; `end` receives a pointer into `buf`.
    let (value, errno) = unsafe {
        *libc::__errno_location() = 0;
        let value = libc::strtod(buf.as_ptr().cast(), &mut end);
        (value, *libc::__errno_location())
    };
    let consumed = (end as usize).wrapping_sub(buf.as_ptr() as usize);
    if consumed != s.len() || value.is_nan() {
        return None;
    }
    if errno == libc::ERANGE && (value.is_infinite() || value == 0.0) {
        return None;
    }
    Some(value)
}

/// Appends `v` as C's `printf("%.17g")`, which Redis 7.0 uses for every double reply (`1.1000000000000001`);
/// infinities print as `inf` / `-inf` as Redis spells them.
pub fn push_f64_g17(out: &mut Vec<u8>, v: f64) {
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let mut buf = [0u8; 64];
    // SAFETY: the format takes exactly one double; snprintf writes at most buf.len() bytes including the NUL.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), v) };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    out.extend_from_slice(&buf[..n]);
}

/// `%.17g` as a String (for INFO lines and tests).
pub fn format_f64_g17(v: f64) -> String {
    let mut out = Vec::new();
    push_f64_g17(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a long-double addition failed.
#[derive(Debug, PartialEq, Eq)]
pub enum LongDoubleError {
    /// One of the operands is not a valid float (Redis: "value is not a valid float").
    NotAFloat,
    /// The sum is NaN or infinite (Redis: "increment would produce NaN or Infinity").
    NanOrInfinity,
}

extern "C" {
    fn shoal_ld_add(
        a: *const libc::c_char,
        alen: libc::size_t,
        b: *const libc::c_char,
        blen: libc::size_t,
        out: *mut libc::c_char,
        outlen: libc::size_t,
    ) -> libc::c_int;
}

/// INCRBYFLOAT's arithmetic: `current + increment` in `long double`, printed as Redis's `ld2string(HUMAN)`.
pub fn long_double_add(current: &[u8], increment: &[u8]) -> Result<Vec<u8>, LongDoubleError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    // SAFETY: the C helper reads exactly alen/blen bytes of each operand and writes a NUL-terminated string of
    // at most outlen bytes into `out`.
    let rc = unsafe {
        shoal_ld_add(
            current.as_ptr().cast(),
            current.len(),
            increment.as_ptr().cast(),
            increment.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    match rc {
        0 => {
            let text = CStr::from_bytes_until_nul(&out).map_err(|_| LongDoubleError::NotAFloat)?;
            Ok(text.to_bytes().to_vec())
        }
        3 => Err(LongDoubleError::NanOrInfinity),
        _ => Err(LongDoubleError::NotAFloat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"+1", b"01", b"-0", b" 1", b"1 ", b"9223372036854775808", b"1a", b"-"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn doubles_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1e999"] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn g17_matches_redis() {
        assert_eq!(format_f64_g17(1.1), "1.1000000000000001");
        assert_eq!(format_f64_g17(3.0), "3");
        assert_eq!(format_f64_g17(1e20), "1e+20");
        assert_eq!(format_f64_g17(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn incrbyfloat_in_long_double() {
        assert_eq!(long_double_add(b"10.5", b"0.1").unwrap(), b"10.6");
        assert_eq!(long_double_add(b"5.0e3", b"2.0e2").unwrap(), b"5200");
        assert_eq!(long_double_add(b"1", b"-1").unwrap(), b"0");
        assert_eq!(long_double_add(b"abc", b"1"), Err(LongDoubleError::NotAFloat));
        assert_eq!(long_double_add(b"1\x00", b"1"), Err(LongDoubleError::NotAFloat));
        assert_eq!(long_double_add(b"1", b"inf"), Err(LongDoubleError::NanOrInfinity));
    }
}
