//! Cluster mode: the node table and slot ownership (`state`, pure), nodes.conf (`nodes_conf`), node identity
//! and flags (`node`), and the Redis-compatible bus protocol (`wire`).

pub mod bus;
pub mod gossip;
pub mod handle;
pub mod node;
pub mod nodes_conf;
pub mod route;
pub mod state;
pub mod wire;
