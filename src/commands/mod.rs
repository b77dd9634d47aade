//! Commands: the table (commands as data), the dispatcher, and one module per command group.
//!
//! A handler gets a [`Ctx`] — the locked part of the keyspace, the reply buffer, the client's state and the
//! shared server state — and the arguments. It never touches a socket, so handlers are tested by calling
//! [`dispatch::execute`] on an in-memory client, and through real sockets in `tests/`.

pub mod args;
pub mod bitmap;
pub mod client;
pub mod client_cmd;
pub mod cluster_cmd;
pub mod connection;
pub mod debug;
pub mod dispatch;
pub mod errors;
pub mod hash;
pub mod hll;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod memory_cmd;
pub mod persistence;
pub mod persistence_aof;
pub mod pubsub_cmd;
pub mod routing;
pub mod server;
pub mod set;
pub mod spec;
pub mod stream;
pub mod string;
pub mod table;
pub mod transaction;
pub mod zset;

use crate::keyspace::DbView;
use crate::protocol::reply::Reply;
use crate::state::ServerState;
pub use client::ClientState;

/// What a handler may see and change.
pub struct Ctx<'a, 'k> {
    /// The shards this command locked, on the client's selected database, with the command's clock.
    pub db: &'a mut DbView<'k>,
    pub out: &'a mut Reply,
    pub client: &'a mut ClientState,
    pub server: &'a ServerState,
    /// The table entry being run (for error texts that name the command).
    pub spec: &'static spec::CommandSpec,
    /// Keys changed by this command (Redis's `server.dirty`): feeds the save schedule and INFO.
    pub dirty: u64,
}

impl Ctx<'_, '_> {
    pub fn now_ms(&self) -> u64 {
        self.db.now_ms()
    }

    /// Announces a keyspace event on `key` in the selected database (`notify-keyspace-events`): `class` is one
    /// of [`crate::notify::class`]'s bits, `event` Redis's event name (`lpush`, `hset`, `del`, ...).
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        crate::notify::keyspace_event(self.server, class, event, key, self.db.db_index());
    }

    /// Whether a blocking command may block now: not inside MULTI/EXEC (Redis runs it as if its timeout had
    /// expired), and only on a real connection.
    pub fn may_block(&self) -> bool {
        self.client.multi.is_none() && self.client.handle.is_some()
    }

    /// Blocks the running command instead of replying (see [`crate::blocking`]): the connection parks the
    /// client until a key in `request.keys` changes, the deadline passes, or CLIENT UNBLOCK. Call only when
    /// [`Ctx::may_block`]; write no reply.
    pub fn block(&mut self, request: crate::blocking::BlockRequest) {
        self.client.block = Some(Box::new(request));
    }

    /// Replies with Redis's arity error for the running command.
    pub fn wrong_arity(&mut self) {
        self.out.error(&errors::wrong_arity(self.spec.name));
    }
}
