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
pub mod info;
pub mod introspection;
pub mod keys;
pub mod memory_cmd;
pub mod pubsub_cmd;
pub mod routing;
pub mod server;
pub mod spec;
pub mod string;
pub mod table;
pub mod transaction;

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

    /// Replies with Redis's arity error for the running command.
    pub fn wrong_arity(&mut self) {
        self.out.error(&errors::wrong_arity(self.spec.name));
    }
}
