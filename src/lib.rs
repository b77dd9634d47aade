//! Shoal: a Redis-compatible cluster server.
//!
//! # Layout
//! Floors, each importing only from those below it:
//! - `bin/shoal-server.rs`: argv + redis.conf -> config; logging; `server::run`.
//! - [`server`]: listeners, the per-connection loop, the cron (active expiry), shutdown, logging format.
//! - [`commands`]: THE command table (`commands::table`, commands as data), the dispatcher, one module per group.
//! - [`keyspace`]: databases split into lockable shards of hash slots; values; expiry.
//! - [`state`]: what every command can see: config store, keyspace, counters, shutdown signal.
//! - [`config`]: redis.conf / argv parsing and the directive registry behind CONFIG GET/SET.
//! - [`protocol`]: the request decoder (RESP + inline, limits), reply encoding (RESP2/RESP3), quoting.
//! - [`slot`], [`num`], [`glob`]: hash slots; Redis's number parsing/printing; glob patterns.

pub mod alloc;
pub mod clients;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod glob;
pub mod keyspace;
pub mod latency;
pub mod memory;
pub mod num;
pub mod protocol;
pub mod pubsub;
pub mod server;
pub mod slot;
pub mod slowlog;
pub mod state;
pub mod stats;
