//! Property tests of the codec: round trips, and corruption rejected cleanly (never a panic).

use super::*;
use proptest::prelude::*;
use shoal::keyspace::Value;

fn opts() -> WriteOptions {
    WriteOptions {
        compression: true,
        checksum: true,
        ctime_secs: 1,
        used_mem: 2,
        hint: AccessHint::None,
        limits: shoal::config::EncodingLimits::default(),
        aof_base: false,
        key_save_delay_us: 0,
    }
}

fn string_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..100),
        (proptest::collection::vec(0u8..4, 1..10), 1usize..200).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn files_round_trip(entries in proptest::collection::vec((0usize..4, proptest::collection::vec(any::<u8>(), 0..20), string_value(), proptest::option::of(1u64..u64::MAX / 2)), 0..40), compression in any::<bool>()) {
        let mut o = opts();
        o.compression = compression;
        let mut w = file::Writer::new(Vec::new(), &o).expect("writer");
        let mut expected = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for db in 0..4 {
            let here: Vec<_> = entries.iter().filter(|e| e.0 == db && seen.insert((e.0, e.1.clone()))).collect();
            if here.is_empty() { continue; }
            w.select_db(db, here.len(), 0);
            for (db, key, val, exp) in here {
                w.key(key, &Value::string(val), exp.unwrap_or(0), None).expect("write");
                expected.push((*db, key.clone(), val.clone(), *exp));
            }
        }
        let bytes = w.finish().expect("finish");
        let mut got = Vec::new();
        file::read(&bytes, |k| { got.push(k); Ok(()) }).expect("read back");
        let got: Vec<_> = got.into_iter().map(|k| match k.value {
            Decoded::String(s) => (k.db, k.key, s, k.expire_ms),
            other => panic!("{other:?}"),
        }).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn dump_payloads_round_trip(val in string_value(), compression in any::<bool>()) {
        let limits = shoal::config::EncodingLimits::default();
        let p = shoal::rdb::dump_payload(&Value::string(&val), compression, &limits).expect("dump");
        prop_assert_eq!(shoal::rdb::parse_payload(&p), Ok(Decoded::String(val)));
    }

    /// Any change to a checksummed file (bytes flipped, cut short, bytes inserted) is rejected with an
    /// error, never a panic and never a silent partial load.
    #[test]
    fn corruption_is_always_rejected(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4), cut in any::<prop::sample::Index>(), mode in 0u8..3) {
        let good = std::fs::read(fixtures().join("redis-7.0-strings.rdb")).expect("golden");
        let mut bad = good.clone();
        match mode {
            0 => for (i, x) in &flips { let i = i.index(bad.len()); bad[i] ^= x; },
            1 => bad.truncate(cut.index(good.len())),
            _ => { let i = cut.index(good.len()); bad.insert(i, flips[0].1); }
        }
        let r = file::read(&bad, |_| Ok(()));
        prop_assert!(r.is_err());
        let msg = r.expect_err("checked").to_string();
        prop_assert!(msg.starts_with("Error at offset "), "{}", msg);
    }

    /// Without a checksum, corruption may parse or not; either way no panic, and collections too.
    #[test]
    fn unchecked_corruption_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), name in prop::sample::select(vec!["redis-7.0-collections", "valkey-8.1-collections", "redis-7.0-nochecksum-nocompression"])) {
        let mut bad = std::fs::read(fixtures().join(format!("{name}.rdb"))).expect("golden");
        for (i, x) in &flips { let i = i.index(bad.len()); bad[i] = *x; }
        // Zero the checksum so the parser walks the damaged body.
        let n = bad.len();
        if n >= 8 { for b in &mut bad[n - 8..] { *b = 0; } }
        // Whatever decodes must also build real values without panicking.
        let limits = shoal::config::EncodingLimits::default();
        let _ = file::read(&bad, |k| shoal::rdb::types::into_value(k.value, &limits).map(|_| ()));
    }

    /// The packed-container parsers reject or accept any bytes without panicking, with or without a
    /// plausible header.
    #[test]
    fn packed_parsers_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..300), fix_header in any::<bool>()) {
        use shoal::rdb::types::compact;
        let mut b = junk.clone();
        if fix_header && b.len() >= 6 {
            let n = b.len() as u32;
            b[..4].copy_from_slice(&n.to_le_bytes());
        }
        let _ = compact::listpack(&b);
        let _ = compact::ziplist(&b);
        let _ = compact::intset(&b);
        let _ = compact::zipmap(&b);
    }

    #[test]
    fn garbage_payloads_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..200), t in 0u8..22) {
        let mut p = vec![t];
        p.extend_from_slice(&junk);
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = shoal::rdb::crc64::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        if let Ok(d) = shoal::rdb::parse_payload(&p) {
            let _ = shoal::rdb::types::into_value(d, &shoal::config::EncodingLimits::default());
        }
    }
}

/// A plain value with its contents in a canonical order (sets and hashes sorted, sorted sets by member).
fn normalized(d: Decoded) -> Decoded {
    match d {
        Decoded::Set(mut v) => {
            v.sort();
            Decoded::Set(v)
        }
        Decoded::Hash(mut v) => {
            v.sort();
            Decoded::Hash(v)
        }
        Decoded::ZSet(mut v) => {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            Decoded::ZSet(v)
        }
        other => other,
    }
}

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (0i64..200).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..20),
        (1usize..5000).prop_map(|n| vec![b'x'; n]),
    ]
}

fn collection() -> impl Strategy<Value = Decoded> {
    let unique = |v: Vec<Vec<u8>>| {
        let mut seen = std::collections::HashSet::new();
        v.into_iter().filter(|e| seen.insert(e.clone())).collect::<Vec<_>>()
    };
    prop_oneof![
        proptest::collection::vec(element(), 1..300).prop_map(Decoded::List),
        proptest::collection::vec(element(), 1..300).prop_map(move |v| Decoded::Set(unique(v))),
        proptest::collection::vec((element(), element()), 1..200).prop_map(move |v| {
            let mut seen = std::collections::HashSet::new();
            Decoded::Hash(v.into_iter().filter(|(f, _)| seen.insert(f.clone())).collect())
        }),
        proptest::collection::vec(
            (element(), prop_oneof![any::<i32>().prop_map(f64::from), -1e300f64..1e300, Just(f64::INFINITY)]),
            1..200
        )
        .prop_map(move |v| {
            let mut seen = std::collections::HashSet::new();
            Decoded::ZSet(v.into_iter().filter(|(m, _)| seen.insert(m.clone())).collect())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, .. ProptestConfig::default() })]

    /// Every collection built from a plain form (compact and large encodings alike) serializes and reads
    /// back to the same contents.
    #[test]
    fn collections_round_trip(d in collection(), compression in any::<bool>()) {
        let limits = shoal::config::EncodingLimits::default();
        let value = shoal::rdb::types::into_value(d.clone(), &limits).expect("valid value");
        let p = shoal::rdb::dump_payload(&value, compression, &limits).expect("dump");
        let back = shoal::rdb::parse_payload(&p).expect("parses");
        prop_assert_eq!(normalized(back), normalized(d));
    }
}
