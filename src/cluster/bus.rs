//! The bus driver: sockets around the pure cluster state. It listens on the bus port, opens the outbound
//! links the state asks for, frames and decodes packets (a malformed one is logged and dropped, never fatal),
//! feeds them to the state, and writes the packets the state queues. Each link has a bounded send queue
//! (`cluster-link-sendbuf-limit`-style): a peer that stops reading loses its link instead of growing our
//! memory, and the state's cron reconnects it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::handle::ClusterHandle;
use super::node::NodeId;
use super::wire;

/// Packets queued per link before the link is dropped as too slow.
const SEND_QUEUE_PACKETS: usize = 1024;
/// How long an outbound connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

struct Link {
    tx: mpsc::Sender<Vec<u8>>,
    /// The reader task, aborted when the state drops the link.
    reader: Option<tokio::task::AbortHandle>,
    inbound: bool,
    node: Option<NodeId>,
    created_ms: u64,
}

/// The links the driver holds, by the ids the state knows them by.
#[derive(Default)]
pub struct Links {
    next_id: AtomicU64,
    links: Mutex<HashMap<u64, Link>>,
    /// Largest packet accepted from a peer (PUBLISH carries whole client messages).
    pub max_packet_len: AtomicU64,
}

/// One row of CLUSTER LINKS.
pub struct LinkInfo {
    pub inbound: bool,
    pub node: Option<NodeId>,
    pub created_ms: u64,
    pub queued_packets: usize,
}

impl Links {
    fn next(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Queues an encoded packet on a link; a full queue drops the link (the cron reconnects it).
    pub fn send(&self, link: u64, bytes: Vec<u8>) -> bool {
        let mut links = self.links.lock();
        let Some(l) = links.get(&link) else { return false };
        if l.tx.try_send(bytes).is_ok() {
            return true;
        }
        tracing::warn!("Cluster bus link {link} send queue is full: dropping the link");
        if let Some(l) = links.remove(&link) {
            if let Some(r) = l.reader {
                r.abort();
            }
        }
        false
    }

    pub fn close(&self, link: u64) {
        if let Some(l) = self.links.lock().remove(&link) {
            if let Some(r) = l.reader {
                r.abort();
            }
        }
    }

    pub fn info(&self) -> Vec<LinkInfo> {
        self.links
            .lock()
            .values()
            .map(|l| LinkInfo {
                inbound: l.inbound,
                node: l.node,
                created_ms: l.created_ms,
                queued_packets: SEND_QUEUE_PACKETS - l.tx.capacity(),
            })
            .collect()
    }

    fn register(&self, inbound: bool, node: Option<NodeId>) -> (u64, mpsc::Receiver<Vec<u8>>) {
        let id = self.next();
        let (tx, rx) = mpsc::channel(SEND_QUEUE_PACKETS);
        let link = Link { tx, reader: None, inbound, node, created_ms: crate::state::unix_time_ms() };
        self.links.lock().insert(id, link);
        (id, rx)
    }

    fn set_reader(&self, link: u64, reader: tokio::task::AbortHandle) {
        if let Some(l) = self.links.lock().get_mut(&link) {
            l.reader = Some(reader);
        }
    }
}

/// Serves bus connections on listeners the server bound (on its client addresses, with the bus port).
pub fn serve(handle: &Arc<ClusterHandle>, listeners: Vec<TcpListener>) {
    for listener in listeners {
        tokio::spawn(accept_loop(listener, Arc::downgrade(handle)));
    }
}

async fn accept_loop(listener: TcpListener, handle: Weak<ClusterHandle>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Some(h) = handle.upgrade() else { return };
        let local = stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        let (link, rx) = h.links.register(true, None);
        h.with_state(|s| s.inbound_link(link, &peer.ip().to_string(), &local));
        start_link(&h, link, stream, rx);
    }
}

/// Opens an outbound link for the state (Effect::Connect).
pub fn connect(handle: &Arc<ClusterHandle>, node: NodeId, ip: String, cport: u16) {
    let weak = Arc::downgrade(handle);
    tokio::spawn(async move {
        let target = if ip.is_empty() { "127.0.0.1".to_string() } else { ip };
        let addr = format!("{target}:{cport}");
        let result = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await;
        let Some(h) = weak.upgrade() else { return };
        match result {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                let peer = stream.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                let (link, rx) = h.links.register(false, Some(node));
                start_link(&h, link, stream, rx);
                h.with_state(|s| s.link_up(link, node, &local, &peer));
            }
            _ => {
                tracing::debug!("Connecting to cluster node {node} at {addr} failed");
                h.with_state(|s| s.connect_failed(node));
            }
        }
    });
}

fn start_link(handle: &Arc<ClusterHandle>, link: u64, stream: TcpStream, mut rx: mpsc::Receiver<Vec<u8>>) {
    let (mut reader, mut writer) = stream.into_split();
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let weak = Arc::downgrade(handle);
    let task = tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let Some(h) = weak.upgrade() else { return };
            let max = usize::try_from(h.links.max_packet_len.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
            loop {
                match wire::frame_len_limited(&buf, max.max(wire::DEFAULT_MAX_PACKET_LEN)) {
                    Ok(Some(len)) if buf.len() >= len => {
                        let packet: Vec<u8> = buf.drain(..len).collect();
                        match wire::decode(&packet) {
                            Ok(msg) => h.with_state(|s| s.handle_packet(link, msg)),
                            Err(e) => tracing::warn!("Dropping a malformed cluster bus packet on link {link}: {e}"),
                        }
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("Closing cluster bus link {link}: {e}");
                        h.links.close(link);
                        h.with_state(|s| s.link_down(link));
                        return;
                    }
                }
            }
        }
        if let Some(h) = weak.upgrade() {
            h.links.close(link);
            h.with_state(|s| s.link_down(link));
        }
    });
    handle.links.set_reader(link, task.abort_handle());
}
