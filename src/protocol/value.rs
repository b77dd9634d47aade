//! `RespValue`: a complete RESP2/RESP3 value as a tree, for the places that need one — replaying captured
//! replies (COMMAND DOCS), test clients and golden comparisons. The request path never builds these.

use super::reply::Reply;

#[derive(Clone, Debug, PartialEq)]
pub enum RespValue {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<RespValue>),
    Map(Vec<(RespValue, RespValue)>),
    Set(Vec<RespValue>),
    Push(Vec<RespValue>),
    Double(Vec<u8>),
    Bool(bool),
    Verbatim(Vec<u8>),
    BigNumber(Vec<u8>),
}

impl RespValue {
    /// Parses one complete value from the start of `buf`; returns it and the bytes used, or None if `buf` is
    /// incomplete or malformed.
    pub fn parse(buf: &[u8]) -> Option<(RespValue, usize)> {
        let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
        let head = &buf[1..line_end];
        let mut pos = line_end + 2;
        let count = |h: &[u8]| std::str::from_utf8(h).ok()?.parse::<i64>().ok();
        let value = match *buf.first()? {
            b'+' => RespValue::Simple(head.to_vec()),
            b'-' => RespValue::Error(head.to_vec()),
            b':' => RespValue::Int(count(head)?),
            b',' => RespValue::Double(head.to_vec()),
            b'(' => RespValue::BigNumber(head.to_vec()),
            b'#' => RespValue::Bool(head == b"t"),
            b'_' => RespValue::Null,
            t @ (b'$' | b'=' | b'!') => {
                let n = count(head)?;
                if n < 0 {
                    RespValue::Null
                } else {
                    let n = usize::try_from(n).ok()?;
                    let data = buf.get(pos..pos + n)?.to_vec();
                    if buf.get(pos + n..pos + n + 2)? != b"\r\n" {
                        return None;
                    }
                    pos += n + 2;
                    match t {
                        b'=' => RespValue::Verbatim(data),
                        b'!' => RespValue::Error(data),
                        _ => RespValue::Bulk(data),
                    }
                }
            }
            t @ (b'*' | b'~' | b'>' | b'%' | b'|') => {
                let n = count(head)?;
                if n < 0 {
                    RespValue::Null
                } else {
                    let items = if matches!(t, b'%' | b'|') { n * 2 } else { n };
                    let mut v = Vec::new();
                    for _ in 0..items {
                        let (item, used) = RespValue::parse(&buf[pos..])?;
                        pos += used;
                        v.push(item);
                    }
                    match t {
                        b'~' => RespValue::Set(v),
                        b'>' => RespValue::Push(v),
                        b'%' | b'|' => {
                            let mut pairs = Vec::with_capacity(v.len() / 2);
                            let mut it = v.into_iter();
                            while let (Some(k), Some(val)) = (it.next(), it.next()) {
                                pairs.push((k, val));
                            }
                            RespValue::Map(pairs)
                        }
                        _ => RespValue::Array(v),
                    }
                }
            }
            _ => return None,
        };
        Some((value, pos))
    }

    /// Writes the value in the reply's protocol (RESP3 types degrade for RESP2 clients).
    pub fn write(&self, out: &mut Reply) {
        match self {
            RespValue::Simple(s) => {
                out.raw(b"+");
                out.raw(s);
                out.raw(b"\r\n");
            }
            RespValue::Error(e) => out.error(&String::from_utf8_lossy(e)),
            RespValue::Int(n) => out.int(*n),
            RespValue::Bulk(b) => out.bulk(b),
            RespValue::Null => out.null(),
            RespValue::Array(v) => {
                out.array(v.len());
                v.iter().for_each(|x| x.write(out));
            }
            RespValue::Set(v) => {
                out.set(v.len());
                v.iter().for_each(|x| x.write(out));
            }
            RespValue::Push(v) => {
                out.push(v.len());
                v.iter().for_each(|x| x.write(out));
            }
            RespValue::Map(pairs) => {
                out.map(pairs.len());
                for (k, v) in pairs {
                    k.write(out);
                    v.write(out);
                }
            }
            RespValue::Double(d) => {
                if out.is_resp3() {
                    out.raw(b",");
                    out.raw(d);
                    out.raw(b"\r\n");
                } else {
                    out.bulk(d);
                }
            }
            RespValue::Bool(b) => out.boolean(*b),
            RespValue::Verbatim(t) => out.verbatim(t.get(4..).unwrap_or_default()),
            RespValue::BigNumber(n) => {
                if out.is_resp3() {
                    out.raw(b"(");
                    out.raw(n);
                    out.raw(b"\r\n");
                } else {
                    out.bulk(n);
                }
            }
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            RespValue::Simple(b) | RespValue::Bulk(b) | RespValue::Verbatim(b) => Some(b),
            _ => None,
        }
    }
}
