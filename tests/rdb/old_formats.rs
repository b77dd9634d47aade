//! Older formats (RDB 6-9), built by hand from the format's description.

use super::*;

// No golden file can be made here (only redis-server 7.0 is installed), so these are built by hand from
// the format's description.

enum Zl<'a> {
    S(&'a [u8]),
    I(i64),
}

fn ziplist(items: &[Zl<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prevlen = 0usize;
    let mut tail = 10usize;
    for item in items {
        let mut e = Vec::new();
        if prevlen < 254 {
            e.push(prevlen as u8);
        } else {
            e.push(0xfe);
            e.extend_from_slice(&(prevlen as u32).to_le_bytes());
        }
        match item {
            Zl::S(s) if s.len() < 64 => e.push(s.len() as u8),
            Zl::S(s) if s.len() < 16384 => e.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]),
            Zl::S(s) => {
                e.push(0x80);
                e.extend_from_slice(&(s.len() as u32).to_be_bytes());
            }
            Zl::I(n @ 0..=12) => e.push(0xf1 + *n as u8),
            Zl::I(n) if i8::try_from(*n).is_ok() => e.extend_from_slice(&[0xfe, *n as u8]),
            Zl::I(n) if i16::try_from(*n).is_ok() => {
                e.push(0xc0);
                e.extend_from_slice(&(*n as i16).to_le_bytes());
            }
            Zl::I(n) if (-(1 << 23)..(1 << 23)).contains(n) => {
                e.push(0xf0);
                e.extend_from_slice(&n.to_le_bytes()[..3]);
            }
            Zl::I(n) if i32::try_from(*n).is_ok() => {
                e.push(0xd0);
                e.extend_from_slice(&(*n as i32).to_le_bytes());
            }
            Zl::I(n) => {
                e.push(0xe0);
                e.extend_from_slice(&n.to_le_bytes());
            }
        }
        if let Zl::S(s) = item {
            e.extend_from_slice(s);
        }
        tail = 10 + body.len();
        prevlen = e.len();
        body.extend_from_slice(&e);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(items.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    shoal::rdb::codec::put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// An RDB 9 file as Redis 5/6 wrote it, with every pre-7.0 encoding.
fn old_format_file() -> Vec<u8> {
    let mut f = b"REDIS0009".to_vec();
    f.push(file::OPCODE_AUX);
    put_str(&mut f, b"redis-ver");
    put_str(&mut f, b"6.2.14");
    // Module aux data (module id, when = 2, the value's own opcodes: uint 7, string "x", EOF).
    f.push(file::OPCODE_MODULE_AUX);
    shoal::rdb::codec::put_len(&mut f, 0x1234_5678_9abc_0001);
    f.extend_from_slice(&[2, 2, 2, 7, 5]);
    put_str(&mut f, b"x");
    f.push(0);
    f.extend_from_slice(&[file::OPCODE_SELECTDB, 0, file::OPCODE_RESIZEDB, 8, 1]);
    // LIST_QUICKLIST: two ziplist nodes.
    f.push(14);
    put_str(&mut f, b"ql");
    f.push(2);
    put_str(&mut f, &ziplist(&[Zl::S(b"a"), Zl::I(5), Zl::I(-100)]));
    put_str(&mut f, &ziplist(&[Zl::I(300), Zl::I(70000), Zl::I(1 << 40), Zl::S(&[b'z'; 300])]));
    // LIST_ZIPLIST (RDB 6).
    f.push(10);
    put_str(&mut f, b"zl");
    put_str(&mut f, &ziplist(&[Zl::S(b"x"), Zl::S(b"y")]));
    // HASH_ZIPLIST.
    f.push(13);
    put_str(&mut f, b"h");
    put_str(&mut f, &ziplist(&[Zl::S(b"f1"), Zl::S(b"v1"), Zl::S(b"f2"), Zl::I(12)]));
    // ZSET_ZIPLIST: member, score pairs (scores as strings or integers).
    f.push(12);
    put_str(&mut f, b"z");
    put_str(&mut f, &ziplist(&[Zl::S(b"m1"), Zl::S(b"1.5"), Zl::S(b"m2"), Zl::I(3)]));
    // SET_INTSET (16-bit).
    f.push(11);
    put_str(&mut f, b"s");
    put_str(&mut f, &[2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 0xff, 0x7f]);
    // HASH_ZIPMAP (Redis 2.x): zmlen, (len key len free value)*, end.
    f.push(9);
    put_str(&mut f, b"zm");
    put_str(&mut f, &[1, 1, b'k', 2, 0, b'v', b'v', 255]);
    // ZSET (ASCII scores) with an expiry in seconds.
    f.push(file::OPCODE_EXPIRETIME);
    f.extend_from_slice(&4_102_444_800u32.to_le_bytes());
    f.push(3);
    put_str(&mut f, b"zold");
    f.push(1);
    put_str(&mut f, b"member");
    f.push(3);
    f.extend_from_slice(b"2.5");
    // LIST (linked list).
    f.push(1);
    put_str(&mut f, b"lold");
    f.push(2);
    put_str(&mut f, b"p");
    put_str(&mut f, b"q");
    f.push(file::OPCODE_EOF);
    let crc = shoal::rdb::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn old_formats_decode_and_load() {
    let bytes = old_format_file();
    let mut keys = Vec::new();
    let report = file::read(&bytes, |k| {
        keys.push(k);
        Ok(())
    })
    .expect("old file parses");
    assert_eq!(report.version, 9);
    assert!(report.skipped.iter().any(|s| s.contains("module auxiliary data")), "{:?}", report.skipped);
    let get = |k: &[u8]| keys.iter().find(|r| r.key == k).map(|r| r.value.clone()).expect("key");
    let b = |s: &str| s.as_bytes().to_vec();
    let z300 = vec![b'z'; 300];
    assert_eq!(
        get(b"ql"),
        Decoded::List(vec![b("a"), b("5"), b("-100"), b("300"), b("70000"), b("1099511627776"), z300])
    );
    assert_eq!(get(b"zl"), Decoded::List(vec![b("x"), b("y")]));
    assert_eq!(get(b"h"), Decoded::Hash(vec![(b("f1"), b("v1")), (b("f2"), b("12"))]));
    assert_eq!(get(b"z"), Decoded::ZSet(vec![(b("m1"), 1.5), (b("m2"), 3.0)]));
    assert_eq!(get(b"s"), Decoded::Set(vec![b("1"), b("2"), b("32767")]));
    assert_eq!(get(b"zm"), Decoded::Hash(vec![(b("k"), b("vv"))]));
    assert_eq!(get(b"zold"), Decoded::ZSet(vec![(b("member"), 2.5)]));
    assert_eq!(get(b"lold"), Decoded::List(vec![b("p"), b("q")]));
    assert_eq!(keys.iter().find(|r| r.key == b"zold").and_then(|r| r.expire_ms), Some(4_102_444_800_000));
    // Shoal starts on it and serves the keys.
    let dir = TempDir::new("old");
    std::fs::write(dir.path().join("dump.rdb"), &bytes).expect("write");
    let d = dir.path().to_string_lossy().into_owned();
    let server = Server::shoal(&["--dir", &d]);
    let mut c = server.conn();
    assert_eq!(c.text(&["LRANGE", "ql", "0", "2"]), "*3\r\n$1\r\na\r\n$1\r\n5\r\n$4\r\n-100\r\n");
    assert_eq!(c.text(&["HGET", "zm", "k"]), "$2\r\nvv\r\n");
    assert_eq!(c.text(&["ZSCORE", "z", "m1"]), "$3\r\n1.5\r\n");
    assert_eq!(c.text(&["OBJECT", "ENCODING", "s"]), "$6\r\nintset\r\n");
    assert_eq!(c.text(&["PEXPIRETIME", "zold"]), ":4102444800000\r\n");
}
