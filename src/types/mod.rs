//! The collection data types stored under keys (lists, hashes, sets, sorted sets, streams): each module owns
//! one structure, its compact and large encodings, and the operations the commands need. Commands live in
//! `crate::commands`; these modules know nothing of replies or clients, so they are tested directly.

pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;
