//! Per-connection state that commands read and change (selected db, auth, name, ...). The socket side of a
//! connection lives in `server::connection`; this is only what the protocol defines.
//!
//! Other clients see a client through its registry handle (`crate::clients`): [`ClientState::info`] builds the
//! figures the connection publishes there after each batch, and that CLIENT LIST/INFO print for the caller.

use std::sync::Arc;

use crate::clients::{flag, ClientHandle, ClientIdentity, ClientInfo, Figures};

#[derive(Debug, Default)]
pub struct ClientState {
    pub id: u64,
    /// Selected database (always 0 in cluster mode).
    pub db: usize,
    pub name: Option<Vec<u8>>,
    /// False while `requirepass` is set and the client has not authenticated.
    pub authenticated: bool,
    /// Set by QUIT (and protocol errors): close once the pending replies are written.
    pub close_after_reply: bool,
    pub addr: String,
    pub laddr: String,
    /// CLIENT SETINFO values.
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    /// Name of the last command run (lower case), for CLIENT LIST's `cmd=`.
    pub last_command: &'static str,
    /// Cluster mode: READONLY was sent (replica reads allowed on this connection).
    pub readonly: bool,
    /// Cluster mode: ASKING was sent; cleared after the next command.
    pub asking: bool,
    /// Socket descriptor and connection time (Unix ms), for CLIENT LIST.
    pub fd: i32,
    pub created_ms: u64,
    /// This connection's entry in the client registry (None for in-memory clients: benches, unit tests).
    pub handle: Option<Arc<ClientHandle>>,
    /// MONITOR was sent: every executed command is streamed to this connection.
    pub monitor: bool,
    /// CLIENT NO-EVICT ON.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH ON (Redis 7.2): this client's commands do not update keys' access time (LRU/LFU);
    /// TOUCH still does.
    pub no_touch: bool,
    /// CLIENT REPLY state, [`reply`] bits (one byte, so the connection loop checks it with one test).
    pub reply: u8,
    /// Subscription counts (channels, patterns, shard channels), kept by the pub/sub commands.
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    /// This connection's Pub/Sub queue, from its first subscription on.
    pub subscriber: Option<Arc<crate::pubsub::Subscriber>>,
    /// Set by a blocking command that found nothing to serve ([`Ctx::block`](super::Ctx::block)); the
    /// connection takes it and parks the client.
    pub block: Option<Box<crate::blocking::BlockRequest>>,
    /// True while the connection re-runs a blocked command after a wake (a key that turned into the wrong
    /// type keeps a blocked client waiting instead of failing it, as in Redis 7.0).
    pub block_retry: bool,
    /// The last command woke blocked clients: the connection lets them be served before going on.
    pub woke_blocked: bool,
    /// Commands queued since MULTI (None outside MULTI).
    pub multi: Option<usize>,
    /// The MULTI queue and the WATCHed keys (`commands::transaction`).
    pub tx: super::transaction::TxState,
    /// Figures of the connection's buffers, kept by the connection loop.
    pub io: ClientIo,
    /// What was last published to the registry handle, so that an unchanged client publishes nothing.
    pub(crate) published: Published,
}

#[derive(Debug, Default)]
pub(crate) struct Published {
    /// When the figures were last published (the cron's clock; 0: publish at the next batch).
    at_ms: u64,
    /// Address of the last command name (a `&'static str`), db, flags and protocol last published.
    cmd: usize,
    db: usize,
    flags: u16,
    resp: u8,
    /// MULTI queue length (CLIENT LIST `multi=`).
    multi: Option<usize>,
    /// Command and names last given to the handle's lock-protected part.
    names_cmd: (usize, usize),
    names: [Option<Vec<u8>>; 3],
    /// Some name is set (then the names are compared in full).
    named: bool,
}

/// CLIENT REPLY bits of [`ClientState::reply`].
pub mod reply {
    /// CLIENT REPLY OFF: no replies at all until CLIENT REPLY ON.
    pub const OFF: u8 = 1;
    /// CLIENT REPLY SKIP was just run: the reply to the command after it is dropped.
    pub const SKIP_NEXT: u8 = 2;
    /// The reply of the command being run is dropped (the one after CLIENT REPLY SKIP).
    pub const SKIP: u8 = 4;
}

/// The connection loop's figures that CLIENT LIST/INFO print, refreshed before each batch of commands.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientIo {
    /// Bytes in the query buffer and its free space.
    pub qbuf: usize,
    pub qbuf_free: usize,
    /// Size of the reply buffer and the most of it used since it was allocated.
    pub rbs: usize,
    pub rbp: usize,
    /// Reply bytes not written yet.
    pub obl: usize,
    pub last_interaction_ms: u64,
}

impl ClientState {
    pub fn new(id: u64, auth_required: bool) -> ClientState {
        ClientState { id, authenticated: !auth_required, fd: -1, ..Default::default() }
    }

    /// CLIENT LIST flag bits.
    /// Branch-free: it runs for every batch (see [`publish`](Self::publish)).
    #[inline(always)]
    pub fn flags(&self) -> u16 {
        let bit = |on: bool, bit: u16| u16::from(on) * bit;
        bit(self.monitor, flag::MONITOR)
            | bit(self.sub + self.psub + self.ssub > 0, flag::PUBSUB)
            | bit(self.multi.is_some(), flag::MULTI)
            | bit(self.close_after_reply, flag::CLOSE_AFTER_REPLY)
            | bit(self.readonly, flag::READONLY)
            | bit(self.no_evict, flag::NO_EVICT)
            | bit(self.no_touch, flag::NO_TOUCH)
    }

    pub fn identity(&self) -> ClientIdentity {
        ClientIdentity {
            id: self.id,
            addr: self.addr.clone(),
            laddr: self.laddr.clone(),
            fd: self.fd,
            created_ms: self.created_ms,
            fixed_mem: std::mem::size_of::<ClientState>(),
        }
    }

    /// The figures CLIENT LIST prints for this client; `cmd` is the command to show (the running one, or the
    /// last one), `argv_mem` the size of the arguments being held and `resp` the protocol version.
    pub fn info(&self, cmd: &'static str, argv_mem: usize, resp: u8) -> ClientInfo {
        let f = self.figures(0, argv_mem, resp);
        let mut info = ClientInfo {
            name: self.name.clone(),
            lib_name: self.lib_name.clone(),
            lib_ver: self.lib_ver.clone(),
            flags: f.flags,
            db: f.db,
            sub: f.sub,
            psub: f.psub,
            ssub: f.ssub,
            multi: f.multi,
            qbuf: f.qbuf,
            qbuf_free: f.qbuf_free,
            argv_mem,
            multi_mem: self.tx.multi_mem,
            rbs: f.rbs,
            rbp: f.rbp,
            obl: self.io.obl,
            oll: 0,
            omem: 0,
            tot_mem: 0,
            cmd,
            resp,
            last_interaction_ms: self.io.last_interaction_ms,
        };
        info.tot_mem = info.memory(std::mem::size_of::<ClientState>());
        info
    }

    #[inline]
    fn figures(&self, extra_flags: u16, argv_mem: usize, resp: u8) -> Figures {
        Figures {
            db: self.db,
            flags: self.flags() | extra_flags,
            resp,
            sub: self.sub,
            psub: self.psub,
            ssub: self.ssub,
            multi: self.multi,
            multi_mem: self.tx.multi_mem,
            qbuf: self.io.qbuf,
            qbuf_free: self.io.qbuf_free,
            argv_mem,
            rbs: self.io.rbs,
            rbp: self.io.rbp,
        }
    }

    /// Publishes this client's figures to its registry handle (once per batch, by the connection loop).
    ///
    /// What other clients must see at once (last command, db, flags, protocol, names) is compared first,
    /// which is all an unchanged client pays; the buffer figures are refreshed with it, and at least once per
    /// tick of `now_ms` (the cron's clock), so they lag by one cron period at most. `held`: the command
    /// parked by a pause and the size of its arguments (always published).
    #[inline(always)]
    pub fn publish(&mut self, resp: u8, now_ms: u64) {
        if !self.published_is_current(resp, now_ms) {
            self.publish_all(resp, self.flags(), None, now_ms);
        }
    }

    /// Publishes the state of a client whose command `held` (name, argument bytes) waits, with extra flags.
    pub fn publish_held(&mut self, resp: u8, extra_flags: u16, held: (&'static str, usize)) {
        self.publish_all(resp, self.flags() | extra_flags, Some(held), 0);
    }

    /// True when what was published still holds (no call, no lock: this is the per-batch cost).
    #[inline(always)]
    fn published_is_current(&self, resp: u8, now_ms: u64) -> bool {
        let p = &self.published;
        p.at_ms == now_ms
            && p.cmd == self.last_command.as_ptr() as usize
            && p.db == self.db
            && p.resp == resp
            && p.flags == self.flags()
            && p.multi == self.multi
            && if p.named {
                p.names[0] == self.name && p.names[1] == self.lib_name && p.names[2] == self.lib_ver
            } else {
                self.name.is_none() && self.lib_name.is_none() && self.lib_ver.is_none()
            }
    }

    #[cold]
    #[inline(never)]
    fn publish_all(&mut self, resp: u8, flags: u16, held: Option<(&'static str, usize)>, now_ms: u64) {
        let Some(handle) = &self.handle else { return };
        let (cmd, argv_mem) = held.unwrap_or((self.last_command, 0));
        let mut figures = self.figures(0, argv_mem, resp);
        figures.flags = flags;
        handle.publish_figures(&figures);
        let cmd_key = (cmd.as_ptr() as usize, cmd.len());
        let [name, lib_name, lib_ver] = &self.published.names;
        if self.published.names_cmd != cmd_key
            || name != &self.name
            || lib_name != &self.lib_name
            || lib_ver != &self.lib_ver
        {
            handle.publish_names(cmd, [&self.name, &self.lib_name, &self.lib_ver]);
            self.published.names_cmd = cmd_key;
            for (cached, current) in self.published.names.iter_mut().zip([&self.name, &self.lib_name, &self.lib_ver]) {
                if cached != current {
                    cached.clone_from(current);
                }
            }
        }
        let p = &mut self.published;
        // A held command is published as the client's state; the next batch publishes it again.
        p.at_ms = if held.is_some() { 0 } else { now_ms };
        p.cmd = self.last_command.as_ptr() as usize;
        p.db = self.db;
        p.flags = flags;
        p.multi = self.multi;
        p.resp = resp;
        p.named = p.names.iter().any(Option::is_some);
    }
}
