//! Shoal: a Redis-compatible cluster server.
//!
//! # Layout
//! Floors, each importing only from those below it:
//! - `bin/shoal-server.rs`: argv + redis.conf -> config; logging; `server::run`.
//! - [`server`]: listeners, the per-connection loop, the cron (active expiry), shutdown, logging format.
//! - [`commands`]: THE command table (`commands::table`, commands as data), the dispatcher, one module per group.
//! - [`keyspace`]: databases split into lockable shards of hash slots; values; expiry.
//! - [`types`]: the collection structures (lists, hashes, sets, sorted sets, streams, HyperLogLog strings).
//! - [`blocking`], [`notify`]: who waits in a blocking command and who is woken; keyspace notifications.
//! - [`rdb`], [`aof`], [`propagate`]: Redis's RDB format (snapshots, DUMP/RESTORE), the append-only file, and
//!   the deterministic form of each write that they (and later replicas) record.
//! - [`cluster`]: the cluster bus, the pure cluster state machine, routing tables.
//! - [`state`]: what every command can see: config store, keyspace, counters, shutdown signal.
//! - [`config`]: redis.conf / argv parsing and the directive registry behind CONFIG GET/SET.
//! - [`protocol`]: the request decoder (RESP + inline, limits), reply encoding (RESP2/RESP3), quoting.
//! - [`slot`], [`num`], [`glob`]: hash slots; Redis's number parsing/printing; glob patterns.

pub mod alloc;
pub mod aof;
pub mod blocking;
pub mod clients;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod glob;
pub mod keyspace;
pub mod latency;
pub mod memory;
pub mod notify;
pub mod num;
pub mod propagate;
pub mod protocol;
pub mod pubsub;
pub mod rdb;
pub mod server;
pub mod slot;
pub mod slowlog;
pub mod state;
pub mod stats;
pub mod tunables;
pub mod types;
