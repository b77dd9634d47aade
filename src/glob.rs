//! Redis's glob matcher (`stringmatchlen`), shared by KEYS, SCAN MATCH, CONFIG GET and PUBSUB.
//!
//! Patterns understand `*` (any run of bytes), `?` (one byte), `[abc]`, `[^abc]`, `[a-z]` and `\x` (the
//! literal `x`, also inside brackets). Matching works on bytes; `nocase` folds ASCII letters only, like C's
//! `tolower` in the "C" locale.
//!
//! What this module decides, and why:
//! - **Redis's edge cases are reproduced exactly**, because clients rely on whatever Redis does:
//!   an unterminated `[abc` is a class running to the end of the pattern; `[]` and `[` never match;
//!   `[^` matches any one byte; a range whose ends are reversed (`[z-a]`) is swapped; `[a-]` is the
//!   *range* from `a` to `]`; a trailing lone `\` matches a literal backslash; and a pattern made only of
//!   stars does **not** match the empty string (Redis's loop never runs when the string is empty, so
//!   only the empty pattern matches it).
//! - **No exponential blow-up.** Redis recurses at every `*` and prunes with a "skip longer matches"
//!   flag. Every token other than `*` consumes exactly one byte, so the classic two-cursor algorithm with a
//!   single restart point (the most recent `*`) gives the same answers in `O(pattern * string)` time and
//!   constant stack, whatever the pattern (`*a*a*a*a*a*b`, a megabyte of stars, ...).

/// One compiled pattern element. Everything except `Star` matches exactly one byte.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    Any,
    Byte(u8),
    Class { negated: bool, items: Vec<ClassItem> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClassItem {
    /// An escaped byte (`\x`): compared exactly, even when matching case-insensitively (as Redis does).
    Escaped(u8),
    /// A plain byte, folded when matching case-insensitively.
    Byte(u8),
    /// An inclusive range with `lo <= hi` (Redis swaps reversed ends).
    Range(u8, u8),
}

/// Returns whether `string` matches the glob `pattern`, exactly like Redis's `stringmatchlen`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        // Redis's main loop needs a byte of string to do anything, so only "" matches "".
        return pattern.is_empty();
    }
    let tokens = compile(pattern);
    match_tokens(&tokens, string, nocase)
}

/// Returns whether `pattern` contains a glob metacharacter that makes it more than an exact name
/// (Redis's CONFIG GET checks `strpbrk(name, "[*?")`).
pub fn has_glob_chars(pattern: &[u8]) -> bool {
    pattern.iter().any(|&b| matches!(b, b'*' | b'?' | b'['))
}

fn compile(pattern: &[u8]) -> Vec<Token> {
    let at = |i: usize| pattern.get(i).copied();
    let mut tokens = Vec::new();
    let mut p = 0usize;
    while p < pattern.len() {
        match pattern[p] {
            b'*' => {
                while at(p + 1) == Some(b'*') {
                    p += 1;
                }
                tokens.push(Token::Star);
                p += 1;
            }
            b'?' => {
                tokens.push(Token::Any);
                p += 1;
            }
            b'[' => {
                p += 1;
                let negated = at(p) == Some(b'^');
                if negated {
                    p += 1;
                }
                let mut items = Vec::new();
                loop {
                    match at(p) {
                        // Unterminated class: it simply runs to the end of the pattern.
                        None => break,
                        Some(b'\\') if p + 1 < pattern.len() => {
                            items.push(ClassItem::Escaped(pattern[p + 1]));
                            p += 2;
                        }
                        Some(b']') => {
                            p += 1;
                            break;
                        }
                        Some(lo) if p + 2 < pattern.len() && pattern[p + 1] == b'-' => {
                            let hi = pattern[p + 2];
                            items.push(ClassItem::Range(lo.min(hi), lo.max(hi)));
                            p += 3;
                        }
                        Some(b) => {
                            items.push(ClassItem::Byte(b));
                            p += 1;
                        }
                    }
                }
                tokens.push(Token::Class { negated, items });
            }
            b'\\' if p + 1 < pattern.len() => {
                tokens.push(Token::Byte(pattern[p + 1]));
                p += 2;
            }
            b => {
                tokens.push(Token::Byte(b));
                p += 1;
            }
        }
    }
    tokens
}

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

fn token_matches(token: &Token, c: u8, nocase: bool) -> bool {
    match token {
        Token::Star => true,
        Token::Any => true,
        Token::Byte(b) => fold(*b, nocase) == fold(c, nocase),
        Token::Class { negated, items } => {
            let hit = items.iter().any(|item| match *item {
                ClassItem::Escaped(b) => b == c,
                ClassItem::Byte(b) => fold(b, nocase) == fold(c, nocase),
                ClassItem::Range(lo, hi) => {
                    let (lo, hi, c) = (fold(lo, nocase), fold(hi, nocase), fold(c, nocase));
                    lo <= c && c <= hi
                }
            });
            hit != *negated
        }
    }
}

fn match_tokens(tokens: &[Token], string: &[u8], nocase: bool) -> bool {
    let (mut t, mut s) = (0usize, 0usize);
    // (token index after the most recent star, string index that star currently stops at)
    let mut restart: Option<(usize, usize)> = None;
    while s < string.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                restart = Some((t + 1, s));
                t += 1;
            }
            Some(token) if token_matches(token, string[s], nocase) => {
                t += 1;
                s += 1;
            }
            _ => match restart {
                Some((after_star, star_end)) => {
                    // Let the last star swallow one more byte and retry the rest from there.
                    t = after_star;
                    s = star_end + 1;
                    restart = Some((after_star, star_end + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t.min(tokens.len())..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("a*", "a"));
        assert!(m("*a", "a"));
        assert!(m("a**b", "ab"));
        assert!(m("*o*", "foo"));
        assert!(!m("*x*", "foo"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*.conf", "redis.conf"));
    }

    #[test]
    fn empty_string_only_matches_empty_pattern() {
        assert!(m("", ""));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        // Reversed range ends are swapped.
        assert!(m("[b-a]", "b"));
        assert!(m("[z-a]x", "qx"));
    }

    #[test]
    fn redis_bracket_edge_cases() {
        // "[a-]" is the range ']'..'a' (93..97).
        assert!(m("[a-]", "]"));
        assert!(m("[a-]", "^"));
        assert!(m("[a-]", "a"));
        assert!(!m("[a-]", "-"));
        assert!(!m("[a-]", "b"));
        // Unterminated class runs to the end of the pattern.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(m("x[ab", "xa"));
        // "[" and "[]" never match; "[^" matches any single byte.
        assert!(!m("[", "["));
        assert!(!m("[", "a"));
        assert!(!m("[]", "]"));
        assert!(!m("[]]", "]"));
        assert!(m("[^", "z"));
        assert!(!m("[^", "zz"));
        // Escapes inside a class.
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "m"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?x", "?x"));
        assert!(m("a\\[b", "a[b"));
        // A trailing lone backslash is a literal backslash.
        assert!(m("a\\", "a\\"));
        assert!(m("a\\\\", "a\\"));
        assert!(!m("a\\", "a"));
    }

    #[test]
    fn nocase_folding() {
        assert!(mi("HELLO", "hello"));
        assert!(mi("h*O", "HellO"));
        assert!(mi("[A-C]x", "bX"));
        assert!(mi("[ABC]", "b"));
        assert!(!m("HELLO", "hello"));
        assert!(mi("PO*", "port"));
        // Escaped class members compare exactly, as in Redis.
        assert!(!mi("[\\A]", "a"));
    }

    #[test]
    fn binary_bytes() {
        assert!(glob_match(b"\xff*\x00", b"\xff\x01\x02\x00", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let s = "a".repeat(10_000);
        let p = "*a".repeat(200) + "*b";
        let start = std::time::Instant::now();
        assert!(!m(&p, &s));
        let stars = "*".repeat(1_000_000);
        assert!(m(&stars, "abc"));
        let nested = "a*".repeat(50_000) + "b";
        assert!(!m(&nested, &"a".repeat(60_000)));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn glob_char_detection() {
        assert!(has_glob_chars(b"p*"));
        assert!(has_glob_chars(b"p?"));
        assert!(has_glob_chars(b"p[ab]"));
        assert!(!has_glob_chars(b"port"));
    }

    /// A direct transcription of Redis's recursive algorithm, used as an oracle on small inputs.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn at(v: &[u8], i: usize) -> u8 {
            v.get(i).copied().unwrap_or(0)
        }
        fn low(b: u8, nocase: bool) -> u8 {
            if nocase {
                b.to_ascii_lowercase()
            } else {
                b
            }
        }
        fn go(p: &[u8], mut pi: usize, s: &[u8], mut si: usize, nocase: bool) -> bool {
            let mut plen = p.len() - pi;
            let mut slen = s.len() - si;
            while plen > 0 && slen > 0 {
                match at(p, pi) {
                    b'*' => {
                        while plen > 0 && at(p, pi + 1) == b'*' {
                            pi += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if go(p, pi + 1, s, si, nocase) {
                                return true;
                            }
                            si += 1;
                            slen -= 1;
                        }
                        return false;
                    }
                    b'?' => {
                        si += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        pi += 1;
                        plen -= 1;
                        let not = at(p, pi) == b'^';
                        if not {
                            pi += 1;
                            plen -= 1;
                        }
                        let mut hit = false;
                        loop {
                            if at(p, pi) == b'\\' && plen >= 2 {
                                pi += 1;
                                plen -= 1;
                                if at(p, pi) == at(s, si) {
                                    hit = true;
                                }
                            } else if at(p, pi) == b']' {
                                break;
                            } else if plen == 0 {
                                pi -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && at(p, pi + 1) == b'-' {
                                let (mut a, mut b) = (at(p, pi), at(p, pi + 2));
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                let c = low(at(s, si), nocase);
                                if c >= low(a, nocase) && c <= low(b, nocase) {
                                    hit = true;
                                }
                                pi += 2;
                                plen -= 2;
                            } else if low(at(p, pi), nocase) == low(at(s, si), nocase) {
                                hit = true;
                            }
                            pi += 1;
                            plen -= 1;
                        }
                        if not {
                            hit = !hit;
                        }
                        if !hit {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                    c => {
                        let mut c = c;
                        if c == b'\\' && plen >= 2 {
                            pi += 1;
                            plen -= 1;
                            c = at(p, pi);
                        }
                        if low(c, nocase) != low(at(s, si), nocase) {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                }
                pi += 1;
                plen -= 1;
                if slen == 0 {
                    while at(p, pi) == b'*' {
                        pi += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        go(p, 0, s, 0, nocase)
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_redis_algorithm(
            p in proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\A".to_vec()), 0..9),
            s in proptest::collection::vec(proptest::sample::select(b"ab]-^\\A*".to_vec()), 0..7),
            nocase in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(glob_match(&p, &s, nocase), reference(&p, &s, nocase));
        }
    }
}
