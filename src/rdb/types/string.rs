//! Strings: `RDB_TYPE_STRING`, stored with the string encodings of [`crate::rdb::codec`].

use super::{Decoded, RDB_TYPE_STRING};
use crate::keyspace::Value;
use crate::rdb::codec::{self, Reader, Result};
use crate::rdb::lzf::Compressor;

pub fn decode(r: &mut Reader<'_>) -> Result<Decoded> {
    Ok(Decoded::String(r.string()?))
}

/// Type byte and value, as Redis's `rdbSaveStringObject` (integers in 32 bits use the integer encodings).
pub fn encode(out: &mut Vec<u8>, v: &Value, lzf: Option<&mut Compressor>) {
    out.push(RDB_TYPE_STRING);
    match v {
        Value::Int(n) => codec::put_int_string(out, *n),
        Value::Str(s) => codec::put_string(out, s.as_slice(), lzf),
        Value::Raw(s) => codec::put_string(out, s, lzf),
        _ => {}
    }
}

/// The keyspace value, with the encoding Redis's `tryObjectEncoding` picks on load.
pub fn into_value(s: Vec<u8>) -> Value {
    Value::string_from_vec(s)
}
