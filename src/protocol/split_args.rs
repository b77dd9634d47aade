//! Redis's `sdssplitargs` tokenizer: the quoting rules shared by inline commands, redis.conf lines and
//! CONFIG REWRITE.
//!
//! Words are separated by blanks. `"double quotes"` understand `\n \r \t \b \a`, `\xHH` and `\<any>`;
//! `'single quotes'` understand only `\'`. A closing quote must be followed by a blank or the end of the line,
//! and an unterminated quote is an error. As in C, a NUL byte ends the line.

/// Splits `line` into arguments, or returns `None` for unbalanced quotes (Redis: "unbalanced quotes").
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Treat the line as a C string: everything from the first NUL on is invisible to Redis.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0usize;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
                    current.push(hex_value(at(p + 2)) * 16 + hex_value(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Quotes `arg` so that `split_args` returns it unchanged (Redis's `sdscatrepr`), for CONFIG REWRITE and logs.
pub fn quote_arg(arg: &[u8]) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for &b in arg {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn plain_words_and_blanks() {
        assert_eq!(split("  set  foo bar \r\n").unwrap(), ["set", "foo", "bar"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn double_quotes_with_escapes() {
        assert_eq!(split(r#"set "a b" "\x41\n\"q""#).unwrap(), ["set", "a b", "A\n\"q"]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split(r"set 'it\'s' 'x\n'").unwrap(), ["set", "it's", "x\\n"]);
    }

    #[test]
    fn unbalanced_or_glued_quotes_fail() {
        assert!(split(r#"set "abc"#).is_none());
        assert!(split(r#"set "abc"d"#).is_none());
        assert!(split("set 'abc").is_none());
    }

    #[test]
    fn quote_round_trips() {
        let odd: Vec<u8> = (0u8..=255).collect();
        let quoted = quote_arg(&odd);
        assert_eq!(split_args(quoted.as_bytes()).unwrap(), vec![odd]);
    }
}
