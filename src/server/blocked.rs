//! The connection side of blocking commands: park a client whose command asked to block (see
//! [`crate::blocking`]), and re-run the command each time one of its keys may have become ready, until it is
//! served, times out, is released by CLIENT UNBLOCK, or the client goes away.
//!
//! While parked, the connection reads nothing more: commands pipelined behind the blocking one wait in the
//! query buffer, as in Redis. The socket is still watched for the peer closing, so a client that disconnects
//! leaves the queues at once instead of at its timeout.

use std::time::Duration;

use tokio::net::TcpStream;

use crate::blocking::{BlockRequest, UNBLOCKED_ERROR};
use crate::clients::{flag, ClientHandle, UnblockReason};
use crate::commands::{dispatch, ClientState};
use crate::protocol::decode::{Args, OwnedArgs};
use crate::protocol::reply::Reply;
use crate::state::{unix_time_ms, ServerState};

/// How a blocked command ended.
pub(super) enum Unblocked {
    /// It replied (served, timed out, unblocked, or failed on a retry): carry on with the next command.
    Replied,
    /// The client was killed or closed its connection.
    Gone,
}

/// Parks the client until its blocked command replies. The replies written before the command are flushed
/// first by the caller; the command's own reply is left in `out`.
pub(super) async fn serve_blocked(
    stream: &TcpStream,
    state: &ServerState,
    client: &mut ClientState,
    handle: &ClientHandle,
    out: &mut Reply,
    args: Args<'_>,
    request: Box<BlockRequest>,
) -> Unblocked {
    let BlockRequest { keys, deadline_ms, timeout_reply, retry_args } = *request;
    let mut retry = match retry_args {
        Some(line) => owned(&line),
        None => args.to_owned_args(),
    };
    let waiter = state.blocking.register(client.id, client.db, &keys);
    handle.set_blocked(&state.clients, true, deadline_ms != 0);
    let held = (client.last_command, args.iter().map(<[u8]>::len).sum());
    client.publish_held(super::connection::resp_of(out), flag::BLOCKED, held);
    let mut watch_socket = true;
    // A wake taken for the retry that served the client: released once the next in line was woken.
    let mut served_wake = false;
    let outcome = loop {
        let left = if deadline_ms == 0 { None } else { Some(deadline_ms.saturating_sub(unix_time_ms())) };
        if left == Some(0) {
            timeout_reply.write(out);
            break Unblocked::Replied;
        }
        tokio::select! {
            _ = waiter.notified() => {
                let counted = state.blocking.take_wake(&waiter);
                client.block_retry = true;
                dispatch::execute(state, client, out, retry.args());
                client.block_retry = false;
                let Some(again) = client.block.take() else {
                    served_wake = counted;
                    break Unblocked::Replied;
                };
                // Not served: the next client in line gets its turn (see crate::blocking).
                state.blocking.pass_on(&waiter, |db, key| key_exists(state, db, key));
                state.blocking.retried(counted);
                if let Some(line) = again.retry_args {
                    retry = owned(&line);
                }
            }
            _ = sleep_ms(left) => {
                if deadline_ms <= unix_time_ms() {
                    timeout_reply.write(out);
                    break Unblocked::Replied;
                }
            }
            _ = handle.woken() => {
                if handle.is_killed() {
                    break Unblocked::Gone;
                }
                match handle.take_unblock() {
                    Some(UnblockReason::Timeout) => {
                        timeout_reply.write(out);
                        break Unblocked::Replied;
                    }
                    Some(UnblockReason::Error) => {
                        out.error(UNBLOCKED_ERROR);
                        break Unblocked::Replied;
                    }
                    None => {}
                }
            }
            closed = peer_closed(stream), if watch_socket => {
                if closed {
                    break Unblocked::Gone;
                }
                // Pipelined input arrived: it waits for this command; stop watching the socket.
                watch_socket = false;
            }
        }
    };
    state.blocking.unregister(&waiter);
    // Served, or leaving: the head of each line that can still be served is next (this also keeps a signal
    // that raced with a timeout from being lost).
    state.blocking.pass_on(&waiter, |db, key| key_exists(state, db, key));
    state.blocking.retried(served_wake);
    handle.set_blocked(&state.clients, false, false);
    outcome
}

fn owned(line: &[Vec<u8>]) -> OwnedArgs {
    let slices: Vec<&[u8]> = line.iter().map(Vec::as_slice).collect();
    OwnedArgs::from_slices(&slices)
}

async fn sleep_ms(ms: Option<u64>) {
    match ms {
        // At most a day per wait (the loop re-arms), so a far deadline never overflows the timer's arithmetic.
        Some(ms) => tokio::time::sleep(Duration::from_millis(ms.min(86_400_000))).await,
        None => std::future::pending().await,
    }
}

/// True when the peer closed (or the socket failed); false when input is waiting to be read.
async fn peer_closed(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    !matches!(stream.peek(&mut byte).await, Ok(n) if n > 0)
}

fn key_exists(state: &ServerState, db: usize, key: &[u8]) -> bool {
    let view = state.keyspace.lock_keys(std::iter::once(key), db, unix_time_ms());
    matches!(view.probe(db, key), Some(false))
}
