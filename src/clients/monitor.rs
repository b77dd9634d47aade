//! MONITOR's line format: Redis's `replicationFeedMonitors`, with the arguments the commands themselves
//! redact (AUTH, HELLO ... AUTH, MIGRATE AUTH/AUTH2) shown as `"(redacted)"`, exactly where Redis 7.0 hides
//! them (AUTH with too many arguments, or options after a HELLO parse error, stay visible as in Redis).

use crate::protocol::split_args::quote_arg;

/// One MONITOR line, CRLF included.
pub fn monitor_line<'a>(unix_us: u64, db: usize, addr: &str, args: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    use std::io::Write;
    let argv: Vec<&[u8]> = args.collect();
    let redacted = redacted_positions(&argv);
    let mut line = Vec::with_capacity(64 + argv.iter().map(|a| a.len() + 3).sum::<usize>());
    let _ = write!(line, "+{}.{:06} [{db} {addr}] ", unix_us / 1_000_000, unix_us % 1_000_000);
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        if redacted.get(i).copied().unwrap_or(false) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            line.extend_from_slice(quote_arg(arg).as_bytes());
        }
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// Which arguments the command itself redacts before MONITOR sees them (AUTH, HELLO ... AUTH, MIGRATE AUTH).
fn redacted_positions(argv: &[&[u8]]) -> Vec<bool> {
    let mut hidden = vec![false; argv.len()];
    let Some(name) = argv.first() else { return hidden };
    let is = |a: &[u8], w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    if is(name, "auth") {
        // AUTH refuses more than two arguments before it redacts anything.
        if argv.len() <= 3 {
            hidden.iter_mut().skip(1).for_each(|h| *h = true);
        }
    } else if is(name, "hello") && argv.len() >= 2 {
        if !matches!(crate::num::parse_i64(argv[1]), Some(2 | 3)) {
            return hidden;
        }
        let mut j = 2;
        while j < argv.len() {
            let more = argv.len() - 1 - j;
            if is(argv[j], "auth") && more >= 2 {
                hidden[j + 1] = true;
                hidden[j + 2] = true;
                // HELLO stops at a failed AUTH; a user other than `default` always fails (a wrong password
                // for `default` is not known here).
                if argv[j + 1] != b"default" {
                    break;
                }
                j += 3;
            } else if is(argv[j], "setname") && more >= 1 {
                if !argv[j + 1].iter().all(|&b| (b'!'..=b'~').contains(&b)) {
                    break;
                }
                j += 2;
            } else {
                break;
            }
        }
    } else if is(name, "migrate") {
        let mut j = 6;
        while j < argv.len() {
            let more = argv.len() - 1 - j;
            if is(argv[j], "copy") || is(argv[j], "replace") {
                j += 1;
            } else if is(argv[j], "auth") && more >= 1 {
                hidden[j + 1] = true;
                j += 2;
            } else if is(argv[j], "auth2") && more >= 2 {
                hidden[j + 1] = true;
                hidden[j + 2] = true;
                j += 3;
            } else {
                break;
            }
        }
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        String::from_utf8(monitor_line(1_700_000_000_000_123, 3, "127.0.0.1:5000", argv.iter().copied())).unwrap()
    }

    #[test]
    fn monitor_lines_quote_and_redact_like_redis() {
        assert_eq!(
            line(&["SET", "k", "a\"b\\\n\x00"]),
            "+1700000000.000123 [3 127.0.0.1:5000] \"SET\" \"k\" \"a\\\"b\\\\\\n\\x00\"\r\n"
        );
        assert_eq!(
            line(&["auth", "u", "p"]),
            "+1700000000.000123 [3 127.0.0.1:5000] \"auth\" \"(redacted)\" \"(redacted)\"\r\n"
        );
        assert!(line(&["HELLO", "3", "SETNAME", "x", "AUTH", "u", "p"])
            .ends_with("\"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"));
        assert!(line(&["HELLO", "4", "AUTH", "u", "p"]).ends_with("\"AUTH\" \"u\" \"p\"\r\n"));
        assert!(line(&["auth", "a", "b", "c"]).ends_with("\"auth\" \"a\" \"b\" \"c\"\r\n"));
        assert!(line(&["hello", "3", "setname", "a b", "auth", "x", "y"]).ends_with("\"auth\" \"x\" \"y\"\r\n"));
        assert!(line(&["hello", "2", "auth", "a", "b", "auth", "c", "d"])
            .ends_with("\"(redacted)\" \"(redacted)\" \"auth\" \"c\" \"d\"\r\n"));
        assert!(line(&["MIGRATE", "h", "1", "", "0", "5", "COPY", "AUTH2", "u", "p", "KEYS", "a"])
            .ends_with("\"COPY\" \"AUTH2\" \"(redacted)\" \"(redacted)\" \"KEYS\" \"a\"\r\n"));
    }
}
