//! The RDB format, Redis 7.0's (version 10, reading 1-11): one codec behind snapshots (SAVE, BGSAVE, the
//! save schedule, loading at start-up), DUMP/RESTORE, and later MIGRATE and replica full syncs.
//!
//! - [`crc64`]: CRC-64/Jones as Redis computes it (file trailer, DUMP footer).
//! - [`lzf`]: LZF compression, byte-compatible with the liblzf Redis builds.
//! - [`codec`]: lengths, special encodings, strings, the bounded [`codec::Reader`] (errors carry offsets).
//! - [`types`]: one decode/encode pair per value type and the plain form [`types::Decoded`] they meet in.
//! - [`file`]: whole files (header, aux fields, opcodes, checksum) and DUMP payloads.
//! - [`snapshot`]: saving and loading the keyspace, the BGSAVE child, the schedule, INFO figures.

pub mod codec;
pub mod crc64;
pub mod file;
pub mod lzf;
pub mod snapshot;
pub mod types;

pub use codec::RdbError;
pub use file::{dump_payload, parse_payload, PayloadError, RDB_VERSION};
