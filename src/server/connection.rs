//! One client connection: read, decode every complete command, run it, write all replies in one go.
//!
//! Replies to a pipelined batch are written with a single `write` call, which is where most of the speed of
//! pipelining comes from. A protocol error answers `-ERR Protocol error: ...` after the replies already due
//! and closes this connection only. No lock is held across an await: commands run synchronously between reads.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::commands::{dispatch, ClientState};
use crate::protocol::decode::{Decoded, Limits, RequestDecoder};
use crate::protocol::reply::{Protocol, Reply};
use crate::state::{ServerState, ServerStats};

/// Initial read buffer; it grows for large requests and shrinks back after them.
const READ_CHUNK: usize = 16 * 1024;
/// Output buffers larger than this are released after being written, so an idle client holds little memory.
const KEEP_OUTPUT_CAPACITY: usize = 64 * 1024;

pub async fn serve(stream: TcpStream, state: Arc<ServerState>, id: u64) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let settings = state.config.snapshot();
    let mut client = ClientState::new(id, settings.requirepass.is_some());
    client.addr = peer;
    client.laddr = local;
    if let Err(e) = run(stream, &state, &mut client).await {
        tracing::debug!("Client id={} addr={} closed: {e}", client.id, client.addr);
    }
}

async fn run(mut stream: TcpStream, state: &ServerState, client: &mut ClientState) -> std::io::Result<()> {
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0usize;
    let mut decoder = RequestDecoder::new();
    let mut out = Reply::new(Protocol::Resp2);
    let mut config_version = u64::MAX;
    let mut limits = Limits { max_bulk_len: 512 * 1024 * 1024 };
    let mut query_limit = 1024 * 1024 * 1024u64;
    let mut idle_timeout_secs = 0u64;
    loop {
        if state.config.version() != config_version {
            config_version = state.config.version();
            let s = state.config.snapshot();
            limits = Limits { max_bulk_len: s.proto_max_bulk_len };
            query_limit = s.client_query_buffer_limit;
            idle_timeout_secs = s.timeout_secs;
        }
        let wanted = decoder.bytes_wanted().clamp(READ_CHUNK / 4, 64 * 1024 * 1024);
        if rbuf.capacity() - rbuf.len() < wanted {
            rbuf.reserve(wanted);
        }
        let read = if idle_timeout_secs > 0 {
            match tokio::time::timeout(std::time::Duration::from_secs(idle_timeout_secs), read_some(&stream, &mut rbuf))
                .await
            {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!("Closing idle client id={}", client.id);
                    return Ok(());
                }
            }
        } else {
            read_some(&stream, &mut rbuf).await?
        };
        if read == 0 {
            return Ok(());
        }
        ServerStats::add(&state.stats.net_input_bytes, read as u64);
        loop {
            let pending = &rbuf[start..];
            if pending.is_empty() {
                break;
            }
            match decoder.decode(pending, &limits, !client.authenticated) {
                Ok(Decoded::Command { consumed }) => {
                    dispatch::execute(state, client, &mut out, decoder.args(pending));
                    start += consumed;
                    if client.close_after_reply {
                        break;
                    }
                }
                Ok(Decoded::Nothing { consumed }) => start += consumed,
                Ok(Decoded::Incomplete) => break,
                Err(e) => {
                    out.error(&format!("ERR Protocol error: {}", e.0));
                    tracing::debug!("Protocol error ({}) from client id={} addr={}", e.0, client.id, client.addr);
                    client.close_after_reply = true;
                    break;
                }
            }
        }
        if start == rbuf.len() {
            rbuf.clear();
            start = 0;
            if rbuf.capacity() > 4 * READ_CHUNK {
                rbuf = Vec::with_capacity(READ_CHUNK);
            }
        } else if start > 0 {
            rbuf.drain(..start);
            start = 0;
        }
        if rbuf.len() as u64 > query_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={}",
                client.id,
                client.addr
            );
            return Ok(());
        }
        if !out.buf.is_empty() {
            stream.write_all(&out.buf).await?;
            ServerStats::add(&state.stats.net_output_bytes, out.buf.len() as u64);
            out.buf.clear();
            if out.buf.capacity() > KEEP_OUTPUT_CAPACITY {
                out.buf = Vec::with_capacity(READ_CHUNK);
            }
        }
        if client.close_after_reply {
            let _ = stream.shutdown().await;
            return Ok(());
        }
    }
}

/// Reads what the socket has into the spare capacity of `buf`.
///
/// A read that did not fill the buffer drained the socket, so we tell tokio the socket is no longer readable
/// instead of letting the next call discover it with one more `read` that fails with EAGAIN. That saves a
/// system call per request on unpipelined traffic (redis-benchmark -P 1). It is race-free: tokio only clears
/// the readiness it observed before our read, and data arriving after it raises a new edge-triggered event.
async fn read_some(stream: &TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    loop {
        stream.readable().await?;
        let mut got = None;
        let result = stream.try_io(tokio::io::Interest::READABLE, || {
            let spare = buf.spare_capacity_mut();
            // SAFETY: reading into the vector's spare capacity, at most its length; set_len covers only the
            // bytes the kernel wrote.
            let n = unsafe { libc::read(stream.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = n as usize;
            let filled = n == spare.len();
            unsafe { buf.set_len(buf.len() + n) };
            got = Some(n);
            if n > 0 && !filled {
                Err(std::io::ErrorKind::WouldBlock.into())
            } else {
                Ok(n)
            }
        });
        match (result, got) {
            (Ok(n), _) => return Ok(n),
            (Err(e), Some(n)) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(n),
            (Err(e), _) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            (Err(e), _) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            (Err(e), _) => return Err(e),
        }
    }
}

/// Counts a connection in INFO while it lives.
pub struct ConnectedGuard<'a>(pub &'a ServerState);

impl Drop for ConnectedGuard<'_> {
    fn drop(&mut self) {
        self.0.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}
