//! Score and lex ranges (`ZRANGEBYSCORE min max`, `ZRANGEBYLEX [a (b`), parsed as Redis 7.0 parses them.
//!
//! Score bounds go through C's `strtod` on the argument as a C string (Redis's `zslParseRange`): so `(1.5`,
//! `inf`, `-inf`, `0x10`, ` 1` (leading blank) and even the empty string (0) are accepted, text after a NUL
//! byte is ignored, and only NaN or trailing junk is an error. Lex bounds are `-`, `+`, `[x` or `(x`.

/// A score interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

/// C's `strtod` over `arg` up to its first NUL, which must consume everything; NaN is rejected.
fn c_strtod(arg: &[u8]) -> Option<f64> {
    let text = arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n]);
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text);
    buf.push(0);
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod only reads it and stores a pointer into it.
    let value = unsafe { libc::strtod(buf.as_ptr().cast(), &mut end) };
    let consumed = (end as usize).wrapping_sub(buf.as_ptr() as usize);
    (consumed == text.len() && !value.is_nan()).then_some(value)
}

fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.first() {
        Some(b'(') => c_strtod(&arg[1..]).map(|v| (v, true)),
        _ => c_strtod(arg).map(|v| (v, false)),
    }
}

impl ScoreRange {
    /// Parses `min max`; None means Redis's `min or max is not a float`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = parse_score_bound(min)?;
        let (max, maxex) = parse_score_bound(max)?;
        Some(ScoreRange { min, max, minex, maxex })
    }

    /// No score can be inside.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }

    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }
}

/// One end of a lex range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LexBound<'a> {
    /// `-`: below every string.
    Min,
    /// `+`: above every string.
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl<'a> LexBound<'a> {
    /// Redis's `zslParseLexRangeItem`: `+`/`-` must be alone (up to a NUL, as C sees them).
    pub fn parse(arg: &'a [u8]) -> Option<LexBound<'a>> {
        let alone = arg.len() == 1 || arg.get(1) == Some(&0);
        match arg.first()? {
            b'+' if alone => Some(LexBound::Max),
            b'-' if alone => Some(LexBound::Min),
            b'(' => Some(LexBound::Excl(&arg[1..])),
            b'[' => Some(LexBound::Incl(&arg[1..])),
            _ => None,
        }
    }

    /// Ordering rank for comparing bounds as Redis's `sdscmplex` does.
    fn cmp_bound(a: &LexBound<'_>, b: &LexBound<'_>) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Equal,
            (LexBound::Min, _) | (_, LexBound::Max) => Less,
            (LexBound::Max, _) | (_, LexBound::Min) => Greater,
            (LexBound::Incl(x) | LexBound::Excl(x), LexBound::Incl(y) | LexBound::Excl(y)) => x.cmp(y),
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// A lex interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    /// Parses `min max`; None means Redis's `min or max not valid string range item`.
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        Some(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    pub fn is_empty(&self) -> bool {
        let c = LexBound::cmp_bound(&self.min, &self.max);
        c == std::cmp::Ordering::Greater
            || (c == std::cmp::Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }

    pub fn gte_min(&self, m: &[u8]) -> bool {
        match self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(b) => m >= b,
            LexBound::Excl(b) => m > b,
        }
    }

    pub fn lte_max(&self, m: &[u8]) -> bool {
        match self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => m <= b,
            LexBound::Excl(b) => m < b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_parse_like_strtod() {
        let r = ScoreRange::parse(b"(1.5", b"inf").unwrap();
        assert!(r.minex && !r.maxex && r.min == 1.5 && r.max == f64::INFINITY);
        assert_eq!(ScoreRange::parse(b"", b" 2").map(|r| (r.min, r.max)), Some((0.0, 2.0)));
        assert_eq!(ScoreRange::parse(b"0x10", b"1\0junk").map(|r| (r.min, r.max)), Some((16.0, 1.0)));
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"1x", b"1").is_none());
        assert!(ScoreRange::parse(b"1", b"((1").is_none());
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_empty());
    }

    #[test]
    fn lex_bounds_follow_redis() {
        assert_eq!(LexBound::parse(b"+"), Some(LexBound::Max));
        assert_eq!(LexBound::parse(b"-\0x"), Some(LexBound::Min));
        assert_eq!(LexBound::parse(b"+a"), None);
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"a"), None);
        assert_eq!(LexBound::parse(b"("), Some(LexBound::Excl(b"")));
        assert!(LexRange::parse(b"-", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"[a", b"(a").unwrap().is_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_empty());
        assert!(!LexRange::parse(b"-", b"+").unwrap().is_empty());
    }
}
