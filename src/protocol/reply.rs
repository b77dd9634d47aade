//! Reply encoding for RESP2 and RESP3.
//!
//! Handlers write straight into the client's output buffer through [`Reply`]; there is no intermediate reply
//! tree, so a pipelined GET costs one `extend_from_slice` per part. The protocol chosen with `HELLO` decides how
//! RESP3-only types degrade: maps become flat arrays, sets and pushes become arrays, doubles become bulk strings
//! (`%.17g`), booleans become integers and the null becomes `$-1` or `*-1`.

use crate::num;

/// The protocol version a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// A client's output buffer plus the protocol to encode for.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    pub proto: Protocol,
    /// How many error replies were written; the dispatcher compares it before and after a command to count
    /// failed calls.
    pub errors_written: u64,
    /// The code (first word, e.g. `ERR`, `WRONGTYPE`) of the last error written, for INFO errorstats.
    pub last_error_code: Option<String>,
}

impl Reply {
    pub fn new(proto: Protocol) -> Self {
        Reply { buf: Vec::with_capacity(16 * 1024), proto, ..Default::default() }
    }

    pub fn is_resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        num::push_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+text` (status reply). `text` must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `-CODE message`. `text` starts with the error code (`ERR ...`, `WRONGTYPE ...`); newlines are replaced by
    /// spaces as Redis does, so a message can never break the protocol.
    pub fn error(&mut self, text: &str) {
        self.errors_written += 1;
        let code = text.split(' ').next().unwrap_or("ERR");
        if self.last_error_code.as_deref() != Some(code) {
            self.last_error_code = Some(code.to_string());
        }
        self.buf.push(b'-');
        self.buf.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n` (e.g. INCRBYFLOAT-style replies of integers).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut digits = itoa::Buffer::new();
        self.bulk(digits.format(n).as_bytes());
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.proto {
            Protocol::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Protocol::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `len` key/value pairs (`%` in RESP3, a flat array of 2*len in RESP2).
    pub fn map(&mut self, len: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', 2 * len as i64),
            Protocol::Resp3 => self.header(b'%', len as i64),
        }
    }

    /// A set (`~` in RESP3, an array in RESP2).
    pub fn set(&mut self, len: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'~', len as i64),
        }
    }

    /// An out-of-band push (`>` in RESP3, an array in RESP2 as pub/sub messages always were).
    pub fn push(&mut self, len: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'>', len as i64),
        }
    }

    /// A double: `,1.5` in RESP3, the `%.17g` text as a bulk string in RESP2.
    pub fn double(&mut self, v: f64) {
        let mut text = Vec::with_capacity(32);
        num::push_f64_g17(&mut text, v);
        match self.proto {
            Protocol::Resp2 => self.bulk(&text),
            Protocol::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(&text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        match self.proto {
            Protocol::Resp2 => self.int(i64::from(v)),
            Protocol::Resp3 => self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2), as INFO and CLUSTER NODES reply.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.header(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(b"txt:");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Bytes already encoded as RESP (e.g. a captured reply); the caller vouches for their validity.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// Current length of the buffer, used to roll back a partially written reply.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut Reply)) -> (String, String) {
        let mut two = Reply::new(Protocol::Resp2);
        let mut three = Reply::new(Protocol::Resp3);
        f(&mut two);
        f(&mut three);
        (String::from_utf8_lossy(&two.buf).into_owned(), String::from_utf8_lossy(&three.buf).into_owned())
    }

    #[test]
    fn degrades_resp3_types_for_resp2() {
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.null_array()), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.double(1.1)), ("$18\r\n1.1000000000000001\r\n".into(), ",1.1000000000000001\r\n".into()));
        assert_eq!(both(|r| r.boolean(true)), (":1\r\n".into(), "#t\r\n".into()));
        assert_eq!(both(|r| r.verbatim(b"a")), ("$1\r\na\r\n".into(), "=5\r\ntxt:a\r\n".into()));
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut r = Reply::new(Protocol::Resp2);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.buf, b"-ERR bad  thing\r\n");
        assert_eq!(r.errors_written, 1);
        assert_eq!(r.last_error_code.as_deref(), Some("ERR"));
    }
}
