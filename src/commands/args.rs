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
