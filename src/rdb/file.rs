//! Whole RDB files: the header (`REDIS` + 4-digit version), the opcode stream (aux fields, SELECTDB,
//! RESIZEDB, expiry, LRU/LFU hints, function libraries, module aux, Valkey's slot info), key/value pairs
//! and the EOF opcode with its CRC64.
//!
//! Reading accepts versions 1 to 11 (11 is Valkey 8's) and hands every key to a callback; sections this
//! server has no use for (function libraries, module aux data, slot info) are skipped and listed in the
//! report, so the loader logs them. Writing produces version 10 exactly as Redis 7.0 lays it out.

use std::io::Write;

use super::codec::{self, Reader, Result};
use super::crc64;
use super::lzf::Compressor;
use super::types::{self, Decoded};
use crate::keyspace::Value;

pub const RDB_VERSION: u16 = 10;
/// Newest version we read (Valkey 8).
pub const RDB_VERSION_MAX_READ: u32 = 11;

pub const OPCODE_SLOT_INFO: u8 = 244;
pub const OPCODE_FUNCTION2: u8 = 245;
pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;
pub const OPCODE_MODULE_AUX: u8 = 247;
pub const OPCODE_IDLE: u8 = 248;
pub const OPCODE_FREQ: u8 = 249;
pub const OPCODE_AUX: u8 = 250;
pub const OPCODE_RESIZEDB: u8 = 251;
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
pub const OPCODE_EXPIRETIME: u8 = 253;
pub const OPCODE_SELECTDB: u8 = 254;
pub const OPCODE_EOF: u8 = 255;

/// One key read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub db: usize,
    pub key: Vec<u8>,
    pub value: Decoded,
    /// Absolute unix milliseconds.
    pub expire_ms: Option<u64>,
    pub lru_idle_secs: Option<u64>,
    pub lfu_freq: Option<u8>,
}

/// What a file said besides its keys.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    pub version: u32,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Sections skipped, one line each, for the log.
    pub skipped: Vec<String>,
    /// Whether the file carried a checksum that was verified.
    pub checksum_verified: bool,
    /// Bytes the RDB image took (an AOF with an RDB preamble continues after them).
    pub consumed: usize,
}

/// Module values' own opcodes (`RDB_MODULE_OPCODE_*`), for skipping module aux data.
fn skip_module_value(r: &mut Reader<'_>) -> Result<()> {
    loop {
        let at = r.offset();
        match r.len()? {
            0 => return Ok(()),
            1 | 2 => {
                r.len()?;
            }
            3 => {
                r.take(4)?;
            }
            4 => {
                r.take(8)?;
            }
            5 => {
                r.string()?;
            }
            op => return r.err_at(at, format!("unknown module value opcode {op}")),
        }
    }
}

/// Parses a whole file, calling `on_key` for every key (its error aborts the load at that key's offset).
pub fn read(buf: &[u8], on_key: impl FnMut(KeyRecord) -> std::result::Result<(), String>) -> Result<FileReport> {
    read_with(buf, |_, _| {}, on_key)
}

/// [`read`], also calling `on_aux` for every aux field as it is met (the loader logs them before the keys).
pub fn read_with(
    buf: &[u8],
    mut on_aux: impl FnMut(&[u8], &[u8]),
    mut on_key: impl FnMut(KeyRecord) -> std::result::Result<(), String>,
) -> Result<FileReport> {
    let mut r = Reader::new(buf);
    let magic = r.take(9).map_err(|mut e| {
        e.reason = "file too short for an RDB header".into();
        e
    })?;
    if &magic[..5] != b"REDIS" {
        return r.err_at(0, "wrong signature trying to load DB from file");
    }
    let version = std::str::from_utf8(&magic[5..]).ok().and_then(|v| v.parse::<u32>().ok());
    let version = match version {
        Some(v) if (1..=RDB_VERSION_MAX_READ).contains(&v) => v,
        _ => return r.err_at(5, format!("can't handle RDB format version {}", String::from_utf8_lossy(&magic[5..]))),
    };
    let mut report = FileReport { version, ..FileReport::default() };
    let mut db = 0usize;
    let mut expire_ms: Option<u64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        let at = r.offset();
        let op = r.u8()?;
        match op {
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                let n = r.len()?;
                db = match usize::try_from(n) {
                    Ok(n) if n < 1 << 20 => n,
                    _ => return r.err_at(at, format!("invalid database number {n}")),
                };
            }
            OPCODE_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OPCODE_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                on_aux(&k, &v);
                report.aux.push((k, v));
            }
            OPCODE_EXPIRETIME => expire_ms = Some(u64::from(r.u32_le()?) * 1000),
            OPCODE_EXPIRETIME_MS => expire_ms = Some(r.u64_le()?),
            OPCODE_IDLE => idle = Some(r.len()?),
            OPCODE_FREQ => freq = Some(r.u8()?),
            OPCODE_MODULE_AUX => {
                let module_id = r.len()?;
                let when_op = r.len()?;
                if when_op != 2 {
                    return r.err_at(at, "module aux data with an unknown 'when' opcode");
                }
                r.len()?;
                skip_module_value(&mut r)?;
                report.skipped.push(format!("module auxiliary data (module id {module_id:#x}) at offset {at}"));
            }
            OPCODE_FUNCTION2 => {
                let code = r.string()?;
                let first_line = code.split(|&b| b == b'\n').next().unwrap_or_default();
                report.skipped.push(format!(
                    "function library ({}) at offset {at}: functions are not supported",
                    String::from_utf8_lossy(&first_line[..first_line.len().min(80)])
                ));
            }
            OPCODE_FUNCTION_PRE_GA => return r.err_at(at, "pre-release function format not supported"),
            OPCODE_SLOT_INFO => {
                r.len()?;
                r.len()?;
                r.len()?;
            }
            t if types::is_value_type(t) => {
                let key = r.string()?;
                let value = types::decode_value(&mut r, t)?;
                let rec = KeyRecord {
                    db,
                    key,
                    value,
                    expire_ms: expire_ms.take(),
                    lru_idle_secs: idle.take(),
                    lfu_freq: freq.take(),
                };
                if let Err(e) = on_key(rec) {
                    return r.err_at(at, e);
                }
            }
            t => return r.err_at(at, format!("unknown RDB opcode or value type {t}")),
        }
    }
    if version >= 5 {
        let body = r.consumed();
        let at = r.offset();
        let stored = r.u64_le()?;
        if stored != 0 {
            let computed = crc64::crc64(body);
            if stored != computed {
                return r.err_at(
                    at,
                    format!("wrong RDB checksum, expected {computed:016x} but the file says {stored:016x}"),
                );
            }
            report.checksum_verified = true;
        } else {
            report.skipped.push("checksum (stored as 0: written with rdbchecksum no)".into());
        }
    }
    report.consumed = r.pos();
    Ok(report)
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/// How a file is written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub compression: bool,
    pub checksum: bool,
    /// `ctime` aux field (unix seconds) and `used-mem`.
    pub ctime_secs: u64,
    pub used_mem: u64,
    /// Which access hint to store per key (Redis stores IDLE under LRU policies, FREQ under LFU ones).
    pub hint: AccessHint,
    /// List and stream node sizes (how Redis would have cut them).
    pub limits: crate::config::EncodingLimits,
    /// The `aof-base` aux field: true for the RDB base of a multi-part AOF (Redis writes 1 there).
    pub aof_base: bool,
    /// The hidden `rdb-key-save-delay` (microseconds slept per key; negative: sleep 1 µs with probability
    /// 1/-n), which tests use to keep a save running.
    pub key_save_delay_us: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessHint {
    None,
    LruIdle,
    LfuFreq,
}

/// Why writing stopped.
#[derive(Debug)]
pub enum WriteError {
    Io(std::io::Error),
    Unsupported(types::Unsupported),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "{e}"),
            WriteError::Unsupported(u) => write!(f, "{u}"),
        }
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Streams an RDB file to `w`, keeping the running CRC64.
pub struct Writer<W: Write> {
    w: W,
    crc: u64,
    buf: Vec<u8>,
    lzf: Option<Compressor>,
    checksum: bool,
    limits: crate::config::EncodingLimits,
    pub bytes: u64,
}

const FLUSH_AT: usize = 64 * 1024;

impl<W: Write> Writer<W> {
    /// Writes the header and Redis 7.0's aux fields.
    pub fn new(w: W, opts: &WriteOptions) -> std::result::Result<Self, WriteError> {
        let mut me = Writer {
            w,
            crc: 0,
            buf: Vec::with_capacity(FLUSH_AT * 2),
            lzf: opts.compression.then(Compressor::default),
            checksum: opts.checksum,
            limits: opts.limits,
            bytes: 0,
        };
        me.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let ver = crate::commands::connection::REDIS_VERSION.as_bytes();
        me.aux(b"redis-ver", ver);
        me.aux(b"redis-bits", b"64");
        me.aux(b"ctime", itoa::Buffer::new().format(opts.ctime_secs).as_bytes());
        me.aux(b"used-mem", itoa::Buffer::new().format(opts.used_mem).as_bytes());
        me.aux(b"aof-base", if opts.aof_base { b"1" } else { b"0" });
        Ok(me)
    }

    fn aux(&mut self, k: &[u8], v: &[u8]) {
        self.buf.push(OPCODE_AUX);
        codec::put_string(&mut self.buf, k, None);
        codec::put_string(&mut self.buf, v, None);
    }

    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        if self.checksum {
            self.crc = crc64::update(self.crc, &self.buf);
        }
        self.w.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// SELECTDB and RESIZEDB for a database about to be written.
    pub fn select_db(&mut self, db: usize, keys: usize, volatile: usize) {
        self.buf.push(OPCODE_SELECTDB);
        codec::put_len(&mut self.buf, db as u64);
        self.buf.push(OPCODE_RESIZEDB);
        codec::put_len(&mut self.buf, keys as u64);
        codec::put_len(&mut self.buf, volatile as u64);
    }

    /// One key (`rdbSaveKeyValuePair`): expiry, access hint, type, key, value.
    pub fn key(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_ms: u64,
        hint: Option<(AccessHint, u64)>,
    ) -> std::result::Result<(), WriteError> {
        let start = self.buf.len();
        if expire_ms != 0 {
            self.buf.push(OPCODE_EXPIRETIME_MS);
            self.buf.extend_from_slice(&expire_ms.to_le_bytes());
        }
        match hint {
            Some((AccessHint::LruIdle, idle_secs)) => {
                self.buf.push(OPCODE_IDLE);
                codec::put_len(&mut self.buf, idle_secs);
            }
            Some((AccessHint::LfuFreq, freq)) => {
                self.buf.push(OPCODE_FREQ);
                self.buf.push(freq.min(255) as u8);
            }
            _ => {}
        }
        // Type byte first, then the key, then the value: encode the value after a placeholder key.
        let mut value_bytes = Vec::new();
        if let Err(u) = types::encode_value(&mut value_bytes, value, self.lzf.as_mut(), &self.limits) {
            self.buf.truncate(start);
            return Err(WriteError::Unsupported(u));
        }
        let (type_byte, rest) = match value_bytes.split_first() {
            Some((t, rest)) => (*t, rest),
            None => return Ok(()),
        };
        self.buf.push(type_byte);
        codec::put_string(&mut self.buf, key, self.lzf.as_mut());
        self.buf.extend_from_slice(rest);
        self.maybe_flush()?;
        Ok(())
    }

    /// EOF opcode and checksum; returns the sink.
    pub fn finish(mut self) -> std::result::Result<W, WriteError> {
        self.buf.push(OPCODE_EOF);
        self.flush_buf()?;
        let crc = if self.checksum { self.crc } else { 0 };
        self.w.write_all(&crc.to_le_bytes())?;
        self.bytes += 8;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// The DUMP payload of a value: type + value, RDB version (2 bytes LE), CRC64 (8 bytes LE).
pub fn dump_payload(
    value: &Value,
    compression: bool,
    limits: &crate::config::EncodingLimits,
) -> std::result::Result<Vec<u8>, types::Unsupported> {
    thread_local! {
        /// One compressor per thread: its 512 KiB table is reused by every DUMP (stale slots are ignored).
        static LZF: std::cell::RefCell<Compressor> = std::cell::RefCell::new(Compressor::default());
    }
    let mut out = Vec::new();
    LZF.with(|c| match c.try_borrow_mut() {
        Ok(mut c) => types::encode_value(&mut out, value, compression.then_some(&mut *c), limits),
        Err(_) => types::encode_value(&mut out, value, compression.then(Compressor::default).as_mut(), limits),
    })?;
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Why a DUMP payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, newer RDB version, or checksum mismatch: `DUMP payload version or checksum are wrong`.
    VersionOrChecksum,
    /// The value does not parse: `Bad data format`.
    BadData(String),
}

/// Checks and decodes a DUMP payload (`verifyDumpPayload` + `rdbLoadObject`): the checksum is always
/// verified, as Redis 7.0 does whatever `rdbchecksum` says.
pub fn parse_payload(p: &[u8]) -> std::result::Result<Decoded, PayloadError> {
    if p.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| PayloadError::VersionOrChecksum)?);
    if crc64::crc64(&p[..p.len() - 8]) != crc {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut r = Reader::new(body);
    let t = r.u8().map_err(|e| PayloadError::BadData(e.to_string()))?;
    if !types::is_value_type(t) {
        return Err(PayloadError::BadData(format!("unknown value type {t}")));
    }
    let v = types::decode_value(&mut r, t).map_err(|e| PayloadError::BadData(e.to_string()))?;
    Ok(v)
}
