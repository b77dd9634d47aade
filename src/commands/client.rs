//! Per-connection state that commands read and change (selected db, auth, name, ...). The socket side of a
//! connection lives in `server::connection`; this is only what the protocol defines.

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
}

impl ClientState {
    pub fn new(id: u64, auth_required: bool) -> ClientState {
        ClientState { id, authenticated: !auth_required, ..Default::default() }
    }
}
