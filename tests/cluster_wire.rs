//! The cluster bus codec against real Redis 7.0.15 packets (tests/fixtures/redis-7.0.15/bus/, captured by
//! scripts/capture-bus-packets), plus property tests: junk and mutated packets never panic, decoding allocates
//! no more than the input holds, random messages round-trip, and framing is independent of how a stream is
//! split.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use shoal::cluster::wire::*;

// ---------------------------------------------------------------------------------------------------------------
// Allocation tracking (decoding must not allocate on a peer's say-so)
// ---------------------------------------------------------------------------------------------------------------

#[path = "support/largest_alloc.rs"]
mod largest_alloc;
use largest_alloc::largest_allocation_since_reset;

// ---------------------------------------------------------------------------------------------------------------
// Golden packets
// ---------------------------------------------------------------------------------------------------------------

struct Golden {
    file: String,
    msg_type: u16,
    sender: String,
    len: usize,
    slots: Vec<(u16, u16)>,
    bytes: Vec<u8>,
}

struct Fixtures {
    ids: HashMap<String, NodeName>,
    notes: HashMap<String, String>,
    packets: Vec<Golden>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redis-7.0.15/bus")
}

fn parse_slots(s: &str) -> Vec<(u16, u16)> {
    if s == "-" {
        return Vec::new();
    }
    s.split(',')
        .map(|r| {
            let (a, b) = r.split_once('-').expect("slot range a-b");
            (a.parse().expect("slot"), b.parse().expect("slot"))
        })
        .collect()
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = fixture_dir();
        let manifest = std::fs::read_to_string(dir.join("packets.txt")).expect("packets.txt");
        let mut fx = Fixtures { ids: HashMap::new(), notes: HashMap::new(), packets: Vec::new() };
        for line in manifest.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            match cols[0] {
                "id" => {
                    let id = NodeName::from_bytes(cols[2].as_bytes()).expect("40-byte id");
                    fx.ids.insert(cols[1].to_string(), id);
                }
                "note" => {
                    fx.notes.insert(cols[1].to_string(), cols[2..].join(" "));
                }
                file => fx.packets.push(Golden {
                    file: file.to_string(),
                    msg_type: cols[1].parse().expect("type"),
                    sender: cols[2].to_string(),
                    len: cols[3].parse().expect("length"),
                    slots: parse_slots(cols[4]),
                    bytes: std::fs::read(dir.join(file)).expect("packet file"),
                }),
            }
        }
        fx
    })
}

fn golden(file: &str) -> (&'static Golden, Message) {
    let g = fixtures().packets.iter().find(|g| g.file == file).unwrap_or_else(|| panic!("{file} not in packets.txt"));
    let msg = decode(&g.bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    (g, msg)
}

fn id(label: &str) -> NodeName {
    fixtures().ids[label]
}

const A_SLOTS: &[(u16, u16)] = &[(0, 5460)];

#[test]
fn every_message_type_but_module_was_captured() {
    let types: Vec<u16> = fixtures().packets.iter().map(|g| g.msg_type).collect();
    for t in 0..msg_type::COUNT {
        if t != msg_type::MODULE {
            assert!(types.contains(&t), "no captured packet of type {} ({t})", msg_type::name(t));
        }
    }
}

#[test]
fn golden_packets_decode_and_encode_back_to_the_same_bytes() {
    for g in &fixtures().packets {
        let msg = decode(&g.bytes).unwrap_or_else(|e| panic!("{}: {e}", g.file));
        assert_eq!(msg.msg_type(), g.msg_type, "{}", g.file);
        assert_eq!(g.bytes.len(), g.len, "{}: file length", g.file);
        assert_eq!(u32::from_be_bytes(g.bytes[4..8].try_into().unwrap()) as usize, g.len, "{}: totlen", g.file);
        assert_eq!(msg.encoded_len(), g.len as u64, "{}", g.file);
        assert_eq!(frame_len(&g.bytes), Ok(Some(g.len)), "{}", g.file);

        let h = &msg.header;
        assert!(h.sender.is_hex(), "{}: sender {:?}", g.file, h.sender);
        assert_eq!(h.sender, id(&g.sender), "{}: sender", g.file);
        assert_eq!(h.myslots.ranges(), g.slots, "{}: header slots", g.file);
        assert!((17100..19000).contains(&h.port), "{}: port {}", g.file, h.port);
        assert!(h.cport > 27000, "{}: cport {}", g.file, h.cport);
        assert_eq!(h.pport, 0, "{}: no TLS, no secondary port", g.file);
        assert!(h.flags & flags::MYSELF != 0, "{}: a sender flags itself MYSELF", g.file);
        assert!(h.flags & (flags::MASTER | flags::SLAVE) != 0, "{}: role flag", g.file);
        assert_eq!(h.flags & flags::EXTENSIONS_SUPPORTED, 0, "{}: 7.0.15 never sets flag 1024", g.file);
        match h.replicaof {
            Some(p) => assert!(p.is_hex() && h.flags & flags::SLAVE != 0, "{}", g.file),
            None => assert!(h.flags & flags::MASTER != 0, "{}", g.file),
        }
        // The sender announces an IP only when configured to (node A).
        assert_eq!(h.myip.as_bytes(), if g.sender == "A" { &b"127.0.0.1"[..] } else { b"" }, "{}", g.file);
        assert!(h.current_epoch >= h.config_epoch, "{}: epochs", g.file);

        if let Some(b) = msg.body.ping_body() {
            for e in &b.gossip {
                assert!(e.nodename.is_hex() && e.nodename != h.sender, "{}: gossip {:?}", g.file, e.nodename);
                assert_eq!(e.ip.as_bytes(), b"127.0.0.1", "{}", g.file);
                assert!(fixtures().ids.values().any(|n| *n == e.nodename), "{}: gossip about a stranger", g.file);
                assert!(e.cport > 27000 && (17100..19000).contains(&e.port), "{}: gossip ports", g.file);
            }
            // 7.0.15: extensions iff a hostname is announced; EXT_DATA iff extensions.
            let ext_data = h.mflags[0] & mflags::EXT_DATA != 0;
            assert_eq!(ext_data, !b.extensions.is_empty(), "{}", g.file);
            if g.sender == "A" {
                assert_eq!(b.extensions, vec![PingExt::Hostname(b"node-a.shoal.test".to_vec())], "{}", g.file);
            }
        } else {
            assert_eq!(h.mflags[0] & mflags::EXT_DATA, 0, "{}: EXT_DATA outside PING/PONG/MEET", g.file);
        }

        assert_eq!(encode(&msg), g.bytes, "{}: encode(decode(bytes)) differs", g.file);
    }
}

#[test]
fn meet_ping_pong() {
    let (_, meet) = golden("meet.bin");
    let Body::Meet(b) = &meet.body else { panic!("{meet:?}") };
    assert!(b.gossip.is_empty(), "A's first MEET knows no one to gossip about");
    assert_eq!(meet.header.state, WireState::Fail, "no slot coverage yet");

    let (g, ping) = golden("ping.bin");
    let Body::Ping(b) = &ping.body else { panic!("{ping:?}") };
    assert_eq!(b.gossip.len(), 3);
    assert_eq!(b.extensions.len(), 1);
    // Header 2256 + 3 gossip entries + an 8-byte extension header + "node-a.shoal.test\0" padded to 24.
    assert_eq!(g.len, 2256 + 3 * 104 + 8 + 24);
    assert_eq!(ping.header.replicaof, None);

    let (_, pong) = golden("pong.bin");
    let Body::Pong(b) = &pong.body else { panic!("{pong:?}") };
    assert_eq!(b.gossip.len(), 3);
    assert!(b.extensions.is_empty());
    assert_eq!(pong.header.mflags, [0, 0, 0]);
}

#[test]
fn replica_ping_carries_its_primary() {
    let (_, msg) = golden("ping-from-replica.bin");
    assert_eq!(msg.header.replicaof, Some(id("A")));
    assert_eq!(msg.header.flags, flags::SLAVE | flags::MYSELF);
    assert_eq!(msg.header.myslots.ranges(), A_SLOTS, "a replica sends its primary's slots");
    assert_eq!(msg.header.myslots.count(), 5461);
    assert!(msg.header.myslots.get(0) && msg.header.myslots.get(5460) && !msg.header.myslots.get(5461));
}

#[test]
fn gossip_reports_the_stopped_node() {
    let (_, msg) = golden("ping-gossip-pfail.bin");
    let b = msg.body.ping_body().expect("ping body");
    let f = b.gossip.iter().find(|e| e.nodename == id("F")).expect("gossip about F");
    assert!(f.flags & (flags::PFAIL | flags::FAIL) != 0, "F's flags {}", f.flags);
    assert!(f.ping_sent_secs != 0, "a ping to F is outstanding");
}

#[test]
fn paused_primary_and_forced_vote() {
    let (_, msg) = golden("ping-paused.bin");
    assert_eq!(msg.header.mflags[0] & mflags::PAUSED, mflags::PAUSED);
    let (_, msg) = golden("failover_auth_request.bin");
    assert_eq!(msg.body, Body::FailoverAuthRequest);
    assert_eq!(msg.header.mflags[0], mflags::FORCEACK, "manual failover asks for a forced vote");
    assert_eq!(msg.header.replicaof, Some(id("A")));
    let (_, msg) = golden("failover_auth_ack.bin");
    assert_eq!(msg.body, Body::FailoverAuthAck);
    assert_eq!(msg.header.replicaof, None);
    let (_, msg) = golden("mfstart.bin");
    assert_eq!(msg.body, Body::MfStart);
    assert_eq!(msg.header.sender, id("D"));
    assert_eq!(msg.header.replicaof, Some(id("A")));
}

#[test]
fn fail_publish_update() {
    let (_, msg) = golden("fail.bin");
    assert_eq!(msg.body, Body::Fail { nodename: id("F") });

    let (_, msg) = golden("publish.bin");
    assert_eq!(msg.body, Body::Publish { channel: b"news".to_vec(), message: b"hello from A".to_vec() });
    assert!(msg.header.offset > 0, "A took writes before this, so its replication offset moved");

    let (_, msg) = golden("publishshard.bin");
    let channel = fixtures().notes["publishshard_channel"].as_bytes().to_vec();
    assert_eq!(msg.body, Body::PublishShard { channel, message: b"sharded hello".to_vec() });

    let (_, msg) = golden("update.bin");
    let Body::Update { config_epoch, nodename, slots } = &msg.body else { panic!("{msg:?}") };
    assert!(*nodename == id("A") || *nodename == id("D"), "{nodename:?}");
    assert_eq!(slots.ranges(), A_SLOTS);
    assert!(*config_epoch > 0 && *config_epoch <= msg.header.current_epoch);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation (what Redis's clusterIsValidPacket drops)
// ---------------------------------------------------------------------------------------------------------------

fn set_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

fn set_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

fn with_totlen(mut buf: Vec<u8>) -> Vec<u8> {
    let len = buf.len() as u32;
    set_u32(&mut buf, 4, len);
    buf
}

#[test]
fn framing_errors() {
    let (g, _) = golden("pong.bin");
    assert_eq!(frame_len(&[]), Ok(None));
    assert_eq!(frame_len(b"RCm"), Ok(None));
    assert_eq!(frame_len(&g.bytes[..7]), Ok(None));
    assert_eq!(frame_len(b"RCx"), Err(WireError::BadSignature(b"RCx".to_vec())));
    assert!(matches!(frame_len(b"GET / HTTP/1.1\r\n"), Err(WireError::BadSignature(_))));
    assert_eq!(frame_len(b"RCmb\0\0\x08\xcf"), Err(WireError::TotlenTooSmall { totlen: 2255 }));
    assert_eq!(frame_len(b"RCmb\0\0\x08\xd0"), Ok(Some(2256)));
    assert_eq!(frame_len(b"RCmb\x01\0\0\x01"), Err(WireError::TotlenTooLarge { totlen: 0x0100_0001, max: 16 << 20 }));
    assert_eq!(frame_len(b"RCmb\x01\0\0\0"), Ok(Some(16 << 20)));
    assert_eq!(frame_len_limited(b"RCmb\0\0\x10\0", 4095), Err(WireError::TotlenTooLarge { totlen: 4096, max: 4095 }));
    let err = frame_len(b"RCmb\xff\xff\xff\xff").unwrap_err();
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
}

/// Shrunk from `random_bytes_never_panic` (the harness, not the codec, indexed past an 8-byte input).
#[test]
fn eight_byte_packet_is_too_small() {
    assert_eq!(decode(b"RCmb\0\0\0\x08"), Err(WireError::TotlenTooSmall { totlen: 8 }));
    check_decode(b"RCmb\0\0\0\x08");
}

#[test]
fn decode_rejects_what_redis_drops() {
    let (g, _) = golden("fail.bin");
    let mut v2 = g.bytes.clone();
    set_u16(&mut v2, 8, 2);
    assert_eq!(decode(&v2), Err(WireError::BadVersion(2)));

    assert_eq!(decode(&g.bytes[..g.bytes.len() - 1]), Err(WireError::LengthMismatch { totlen: 2296, buffer: 2295 }));
    assert!(matches!(decode(&g.bytes[..100]), Err(WireError::LengthMismatch { .. })));
    assert!(matches!(decode(&g.bytes[..5]), Err(WireError::Truncated { .. })));

    // FAIL must be exactly 2296 bytes.
    let mut long = g.bytes.clone();
    long.push(0);
    let err = decode(&with_totlen(long)).unwrap_err();
    assert_eq!(err, WireError::BadLength { msg_type: msg_type::FAIL, totlen: 2297, expected: 2296 });
    assert_eq!(err.to_string(), "invalid fail packet of length 2297 but expected length 2296");

    // Header-only types carry nothing more.
    let (g, _) = golden("mfstart.bin");
    let mut long = g.bytes.clone();
    long.extend_from_slice(&[0; 8]);
    assert!(matches!(decode(&with_totlen(long)), Err(WireError::BadLength { expected: 2256, .. })));

    // UPDATE is exactly sizeof(clusterMsg).
    let (g, _) = golden("update.bin");
    assert!(matches!(decode(&with_totlen(g.bytes[..4351].to_vec())), Err(WireError::BadLength { .. })));
}

#[test]
fn ping_counts_and_extension_lengths_must_add_up() {
    let (g, _) = golden("pong.bin");
    // One gossip entry more than the packet holds.
    let mut more = g.bytes.clone();
    set_u16(&mut more, 14, 4);
    assert!(matches!(decode(&more), Err(WireError::BadLength { expected: 2672, .. })));
    // One fewer: 104 bytes left over.
    let mut fewer = g.bytes.clone();
    set_u16(&mut fewer, 14, 2);
    assert!(matches!(decode(&fewer), Err(WireError::BadLength { expected: 2464, .. })));

    let (g, ping) = golden("ping.bin");
    let ext_at = 2256 + 3 * 104;
    // EXT_DATA cleared: Redis ignores the extension count, so the extension bytes are surplus.
    let mut no_flag = g.bytes.clone();
    no_flag[2253] &= !mflags::EXT_DATA;
    assert!(matches!(decode(&no_flag), Err(WireError::BadLength { .. })));
    // ... and without them the packet is fine, whatever the (ignored) count says.
    let mut trimmed = with_totlen(no_flag[..ext_at].to_vec());
    assert_eq!(u16::from_be_bytes([trimmed[2214], trimmed[2215]]), 1);
    let msg = decode(&trimmed).expect("EXT_DATA clear: extension count ignored");
    assert!(msg.body.ping_body().unwrap().extensions.is_empty());
    set_u16(&mut trimmed, 2214, 0);
    assert_eq!(encode(&msg), trimmed, "re-encodes with a zero extension count");
    let _ = ping;

    // An extension length that is not a multiple of 8, too short, or past the end.
    for (len, reason) in [(28u32, "multiple of 8"), (0, "shorter than the extension header"), (40, "past the end")] {
        let mut bad = g.bytes.clone();
        set_u32(&mut bad, ext_at, len);
        match decode(&bad) {
            Err(WireError::BadExtension { index: 0, reason: r, .. }) => assert!(r.contains(reason), "{r}"),
            other => panic!("length {len}: {other:?}"),
        }
    }
    // More extensions declared than present.
    let mut two = g.bytes.clone();
    set_u16(&mut two, 2214, 2);
    assert!(matches!(decode(&two), Err(WireError::BadExtension { index: 1, .. })));
    // Fewer declared than present.
    let mut none = g.bytes.clone();
    set_u16(&mut none, 2214, 0);
    assert!(matches!(decode(&none), Err(WireError::BadLength { .. })));
    // A hostname without its NUL.
    let mut unterminated = g.bytes.clone();
    for b in &mut unterminated[ext_at + 8..] {
        *b = b'x';
    }
    assert!(matches!(decode(&unterminated), Err(WireError::BadExtension { ext_type: 0, .. })));
}

#[test]
fn publish_lengths_must_add_up_without_overflow() {
    let (g, _) = golden("publish.bin");
    let mut bad = g.bytes.clone();
    set_u32(&mut bad, 2256, 5);
    assert!(matches!(decode(&bad), Err(WireError::BadLength { expected: 2281, .. })));
    // 32-bit wrap-around would make these "add up" in C.
    let mut wrap = g.bytes.clone();
    set_u32(&mut wrap, 2256, 0xFFFF_FFFF);
    set_u32(&mut wrap, 2260, 17);
    assert!(matches!(decode(&wrap), Err(WireError::BadLength { .. })));
    // Too short to hold the two lengths.
    assert!(matches!(decode(&with_totlen(g.bytes[..2260].to_vec())), Err(WireError::BadLength { expected: 2264, .. })));
}

#[test]
fn unknown_types_and_extensions_are_kept() {
    let (g, _) = golden("ping.bin");
    // An unknown message type (e.g. Valkey's light-header bit or a future type) is accepted and kept whole.
    for ty in [11u16, 0x8000 | 4, 0xFFFF] {
        let mut unknown = g.bytes.clone();
        set_u16(&mut unknown, 12, ty);
        let msg = decode(&unknown).expect("unknown types are accepted");
        assert_eq!(msg.body, Body::Unknown { msg_type: ty, payload: g.bytes[2256..].to_vec() });
        // Everything but the gossip and extension counts, which only mean something for PING/PONG/MEET.
        set_u16(&mut unknown, 14, 0);
        set_u16(&mut unknown, 2214, 0);
        assert!(encode(&msg) == unknown, "type {ty} does not re-encode");
    }

    // Redis 7.2 extensions and an unknown one, after the captured hostname.
    let (_, msg) = golden("ping.bin");
    let mut msg = msg;
    let Body::Ping(b) = &mut msg.body else { unreachable!() };
    b.extensions.push(PingExt::HumanNodename(b"node-a".to_vec()));
    b.extensions.push(PingExt::ForgottenNode { name: id("F"), ttl_secs: 59 });
    b.extensions.push(PingExt::ShardId(id("B")));
    b.extensions.push(PingExt::Unknown { ext_type: 77, payload: vec![1, 2, 3, 4, 5, 6, 7, 8] });
    let bytes = encode(&msg);
    assert_eq!(bytes.len() as u64, msg.encoded_len());
    assert_eq!(u16::from_be_bytes([bytes[2214], bytes[2215]]), 5);
    assert_eq!(decode(&bytes).expect("decodes"), msg);
    // Extension sizes as Redis 7.2 writes them: human nodename 8+8, forgotten node 8+48, shard id 8+40.
    assert_eq!(PingExt::HumanNodename(b"node-a".to_vec()).encoded_len(), 16);
    assert_eq!(PingExt::ForgottenNode { name: id("F"), ttl_secs: 1 }.encoded_len(), 56);
    assert_eq!(PingExt::ShardId(id("F")).encoded_len(), 48);
    // An unknown payload is padded to 8 on the way out.
    assert_eq!(PingExt::Unknown { ext_type: 9, payload: vec![1] }.encoded_len(), 16);
}

#[test]
fn encode_sets_ext_data_and_counts() {
    let (_, msg) = golden("pong.bin");
    let mut msg = msg;
    let Body::Pong(b) = &mut msg.body else { unreachable!() };
    b.extensions.push(PingExt::Hostname(b"b.example".to_vec()));
    let bytes = encode(&msg);
    assert_eq!(bytes[2253] & mflags::EXT_DATA, mflags::EXT_DATA);
    assert_eq!(u16::from_be_bytes([bytes[14], bytes[15]]), 3);
    // "b.example\0" is 10 bytes, padded to 16.
    assert_eq!(bytes.len(), 2256 + 3 * 104 + 8 + 16);
    assert_eq!(&bytes[bytes.len() - 16..], b"b.example\0\0\0\0\0\0\0");
}

#[test]
fn slot_bitmap_bit_order() {
    let mut m = SlotBitmap::new();
    assert!(m.set(0, true) && m.set(9, true) && m.set(16383, true));
    assert!(!m.set(16384, true), "out of range");
    assert_eq!(m.0[0], 0b0000_0001);
    assert_eq!(m.0[1], 0b0000_0010);
    assert_eq!(m.0[2047], 0b1000_0000);
    assert_eq!(m.iter().collect::<Vec<_>>(), vec![0, 9, 16383]);
    assert_eq!(m.ranges(), vec![(0, 0), (9, 9), (16383, 16383)]);
    assert!(!m.get(16384) && !m.get(u16::MAX));
    m.set(9, false);
    assert_eq!(m.count(), 2);
    let mut r = SlotBitmap::new();
    r.set_range(100, 200);
    assert_eq!(r.ranges(), vec![(100, 200)]);
    assert_eq!(format!("{r:?}"), "SlotBitmap[100-200]");
    assert_eq!((5u16..8).collect::<SlotBitmap>().ranges(), vec![(5, 7)]);
}

#[test]
fn ip_field_keeps_raw_bytes() {
    assert_eq!(NetIp::new(b"10.0.0.1").unwrap().as_bytes(), b"10.0.0.1");
    assert!(NetIp::new(&[b'1'; 46]).is_none(), "no room for the NUL");
    assert!(NetIp::new(&[b'1'; 45]).is_some());
    assert!(NetIp::new(b"1\x002").is_none());
    let mut raw = [0u8; 46];
    raw[..12].copy_from_slice(b"::1\0.168.1.1");
    let ip = NetIp(raw);
    assert_eq!(ip.as_bytes(), b"::1", "text ends at the first NUL; the rest is kept for exact re-encoding");
    assert!(NetIp::EMPTY.is_empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

/// Whatever decode returns, it must not panic, must not allocate past what the input holds, and a successful
/// decode must encode to bytes that decode to the same message (and that have the announced length).
fn check_decode(bytes: &[u8]) {
    let _ = frame_len(bytes);
    largest_allocation_since_reset();
    let result = decode(bytes);
    let largest = largest_allocation_since_reset();
    assert!(largest <= bytes.len().max(64), "decode of {} bytes allocated {largest}", bytes.len());
    if let Ok(msg) = result {
        let again = encode(&msg);
        assert_eq!(again.len() as u64, msg.encoded_len());
        assert_eq!(decode(&again).as_ref(), Ok(&msg), "re-encoded message decodes differently");
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    SetU16(usize, u16),
    SetU32(usize, u32),
    Truncate(usize),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Offsets weighted towards the header's length and count fields and the start of the body.
    let hot =
        prop_oneof![Just(4usize), Just(8), Just(12), Just(14), Just(2214), Just(2253), 2256usize..2700, 0usize..4400];
    prop_oneof![
        (0usize..4400, any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        (hot.clone(), prop_oneof![0u16..16, any::<u16>()]).prop_map(|(i, v)| Mutation::SetU16(i, v)),
        (hot, prop_oneof![0u32..5000, any::<u32>()]).prop_map(|(i, v)| Mutation::SetU32(i, v)),
        (0usize..4400).prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Mutation::Append),
    ]
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Set(i, v) => {
            if let Some(b) = buf.get_mut(*i) {
                *b = *v;
            }
        }
        Mutation::SetU16(i, v) => {
            if i + 2 <= buf.len() {
                set_u16(buf, *i, *v);
            }
        }
        Mutation::SetU32(i, v) => {
            if i + 4 <= buf.len() {
                set_u32(buf, *i, *v);
            }
        }
        Mutation::Truncate(n) => buf.truncate(*n),
        Mutation::Append(extra) => buf.extend_from_slice(extra),
    }
}

fn name() -> impl Strategy<Value = NodeName> {
    prop_oneof![
        "[0-9a-f]{40}".prop_map(|s| NodeName::from_bytes(s.as_bytes()).unwrap()),
        proptest::collection::vec(any::<u8>(), 40).prop_map(|v| NodeName::from_bytes(&v).unwrap()),
    ]
}

fn ip() -> impl Strategy<Value = NetIp> {
    prop_oneof![
        Just(NetIp::EMPTY),
        "[0-9.:a-f]{1,45}".prop_map(|s| NetIp::new(s.as_bytes()).unwrap()),
        proptest::collection::vec(any::<u8>(), 46).prop_map(|v| NetIp(v.try_into().unwrap())),
    ]
}

fn slots() -> impl Strategy<Value = SlotBitmap> {
    prop_oneof![
        Just(SlotBitmap::new()),
        (0u16..16384, 0u16..16384).prop_map(|(a, b)| {
            let mut m = SlotBitmap::new();
            m.set_range(a.min(b), a.max(b));
            m
        }),
        proptest::collection::vec(0u16..16384, 0..64).prop_map(|v| v.into_iter().collect()),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (
        (any::<u16>(), any::<u64>(), any::<u64>(), any::<u64>(), name(), slots()),
        (
            proptest::option::of(name().prop_filter("non-null", |n| !n.is_null())),
            ip(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<[u8; 3]>(),
        ),
    )
        .prop_map(
            |(
                (port, current_epoch, config_epoch, offset, sender, myslots),
                (replicaof, myip, pport, cport, flags, state, mflags),
            )| Header {
                port,
                current_epoch,
                config_epoch,
                offset,
                sender,
                myslots,
                replicaof,
                myip,
                pport,
                cport,
                flags,
                state: WireState::from_byte(state),
                mflags,
            },
        )
}

fn gossip() -> impl Strategy<Value = GossipEntry> {
    (name(), any::<u32>(), any::<u32>(), ip(), any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()).prop_map(
        |(nodename, ping_sent_secs, pong_received_secs, ip, port, cport, flags, pport)| GossipEntry {
            nodename,
            ping_sent_secs,
            pong_received_secs,
            ip,
            port,
            cport,
            flags,
            pport,
        },
    )
}

fn no_nul() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..40)
}

fn ping_ext() -> impl Strategy<Value = PingExt> {
    prop_oneof![
        no_nul().prop_map(PingExt::Hostname),
        no_nul().prop_map(PingExt::HumanNodename),
        (name(), any::<u64>()).prop_map(|(name, ttl_secs)| PingExt::ForgottenNode { name, ttl_secs }),
        name().prop_map(PingExt::ShardId),
        (4u16.., proptest::collection::vec(any::<u8>(), 0..5)).prop_map(|(ext_type, words)| {
            // Decoded payloads include their padding, so generate whole 8-byte words.
            let payload = words.iter().flat_map(|&w| [w; 8]).collect();
            PingExt::Unknown { ext_type, payload }
        }),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn ping_body() -> impl Strategy<Value = PingBody> {
    (proptest::collection::vec(gossip(), 0..6), proptest::collection::vec(ping_ext(), 0..4))
        .prop_map(|(gossip, extensions)| PingBody { gossip, extensions })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        ping_body().prop_map(Body::Ping),
        ping_body().prop_map(Body::Pong),
        ping_body().prop_map(Body::Meet),
        name().prop_map(|nodename| Body::Fail { nodename }),
        (bytes(40), bytes(100)).prop_map(|(channel, message)| Body::Publish { channel, message }),
        (bytes(40), bytes(100)).prop_map(|(channel, message)| Body::PublishShard { channel, message }),
        Just(Body::FailoverAuthRequest),
        Just(Body::FailoverAuthAck),
        Just(Body::MfStart),
        (any::<u64>(), name(), slots()).prop_map(|(config_epoch, nodename, slots)| Body::Update {
            config_epoch,
            nodename,
            slots
        }),
        (any::<u64>(), any::<u8>(), bytes(100)).prop_map(|(module_id, module_type, payload)| Body::Module {
            module_id,
            module_type,
            payload
        }),
        (msg_type::COUNT.., bytes(100)).prop_map(|(msg_type, payload)| Body::Unknown { msg_type, payload }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (header(), body()).prop_map(|(header, body)| Message { header, body })
}

/// What decoding `encode(m)` gives back: `m`, with EXT_DATA set when it carries extensions.
fn normalized(m: &Message) -> Message {
    let mut m = m.clone();
    if m.body.ping_body().is_some_and(|b| !b.extensions.is_empty()) {
        m.header.mflags[0] |= mflags::EXT_DATA;
    }
    m
}

/// Cuts a byte stream into packets with `frame_len`, feeding it in the given chunk sizes.
fn reframe(stream: &[u8], chunks: &[usize]) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut sizes = chunks.iter().cycle();
    while pos < stream.len() {
        let n = (*sizes.next().unwrap()).clamp(1, stream.len() - pos);
        buf.extend_from_slice(&stream[pos..pos + n]);
        pos += n;
        while let Some(len) = frame_len(&buf).expect("valid stream") {
            if buf.len() < len {
                break;
            }
            out.push(buf.drain(..len).collect());
        }
    }
    assert!(buf.is_empty(), "leftover bytes");
    out
}

proptest! {
    // 512 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(mut junk in bytes(3000), with_sig in any::<bool>(), fix_len in any::<bool>()) {
        if with_sig && junk.len() >= 8 {
            junk[..4].copy_from_slice(b"RCmb");
            if fix_len {
                junk = with_totlen(junk);
                if junk.len() >= 10 {
                    set_u16(&mut junk, 8, 1);
                }
            }
        }
        check_decode(&junk);
    }

    #[test]
    fn mutated_golden_packets_never_panic(
        which in 0usize..64,
        mutations in proptest::collection::vec(mutation(), 1..4),
        fix_len in any::<bool>(),
    ) {
        let packets = &fixtures().packets;
        let mut buf = packets[which % packets.len()].bytes.clone();
        for m in &mutations {
            apply(&mut buf, m);
        }
        if fix_len && buf.len() >= 8 {
            buf = with_totlen(buf);
        }
        check_decode(&buf);
    }

    #[test]
    fn random_messages_round_trip(msg in message()) {
        let bytes = encode(&msg);
        prop_assert_eq!(bytes.len() as u64, msg.encoded_len());
        prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        let decoded = decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&decoded, &normalized(&msg));
        prop_assert_eq!(encode(&decoded), bytes);
    }

    #[test]
    fn framing_does_not_depend_on_how_the_stream_is_split(
        msgs in proptest::collection::vec(message(), 0..4),
        golden_picks in proptest::collection::vec(0usize..64, 0..4),
        chunks in proptest::collection::vec(1usize..3000, 1..8),
    ) {
        let packets = &fixtures().packets;
        let mut expected: Vec<Vec<u8>> = golden_picks.iter().map(|&i| packets[i % packets.len()].bytes.clone()).collect();
        expected.extend(msgs.iter().map(encode));
        let stream = expected.concat();
        prop_assert_eq!(reframe(&stream, &chunks), expected);
    }
}
