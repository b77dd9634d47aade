use super::*;
use std::collections::{BTreeMap, HashSet};

fn now() -> u64 {
    1_700_000_000_000
}

#[test]
fn set_get_remove_across_shards_in_both_modes() {
    for cluster in [false, true] {
        let ks = Keyspace::new(16, cluster);
        let mut model = BTreeMap::new();
        let mut view = ks.lock_all(0, now());
        for i in 0..3000u32 {
            let key = format!("k{}", fastrand::u32(..500)).into_bytes();
            if i % 4 == 0 {
                assert_eq!(view.remove(&key).is_some(), model.remove(&key).is_some());
            } else {
                view.set(&key, Value::Int(i as i64), false);
                model.insert(key, i as i64);
            }
        }
        assert_eq!(view.len(), model.len());
        for (k, v) in &model {
            assert_eq!(view.get_read(k).cloned(), Some(Value::Int(*v)));
        }
        drop(view);
        assert_eq!(ks.db_counts(0).0, model.len());
    }
}

#[test]
fn lazy_expiry_hides_and_deletes_keys() {
    let ks = Keyspace::new(16, false);
    let mut view = ks.lock_all(0, now());
    view.set(b"a", Value::Int(1), false);
    assert!(view.set_expire(b"a", now() + 10));
    assert_eq!(ks_counts(&view), (1, 1));
    view.set_now_ms(now() + 10);
    assert!(view.exists(b"a"), "a key expires strictly after its deadline");
    view.set_now_ms(now() + 11);
    assert!(!view.exists(b"a"));
    assert_eq!(ks_counts(&view), (0, 0));
}

fn ks_counts(view: &DbView<'_>) -> (usize, usize) {
    let mut volatile = 0;
    for s in view.guards.iter().flatten() {
        volatile += s.dbs[0].volatile;
    }
    (view.len(), volatile)
}

#[test]
fn set_without_keepttl_clears_the_ttl() {
    let ks = Keyspace::new(1, false);
    let mut view = ks.lock_all(0, now());
    view.set(b"a", Value::Int(1), false);
    view.set_expire(b"a", now() + 1000);
    view.set(b"a", Value::Int(2), true);
    assert_eq!(view.expire_of(b"a"), Some(now() + 1000));
    view.set(b"a", Value::Int(3), false);
    assert_eq!(view.expire_of(b"a"), Some(0));
    assert_eq!(ks_counts(&view), (1, 0));
}

#[test]
fn active_expiry_reclaims_keys_within_budget() {
    let ks = Keyspace::new(1, true);
    {
        let mut view = ks.lock_all(0, now());
        for i in 0..20_000 {
            let key = format!("vol:{i}").into_bytes();
            view.set(&key, Value::Int(i), false);
            view.set_expire(&key, now() + 5);
        }
        view.set(b"keep", Value::Int(1), false);
    }
    let later = now() + 100;
    let mut rounds = 0;
    while ks.db_counts(0).0 > 1 && rounds < 1000 {
        ks.active_expire_cycle(later, std::time::Instant::now() + std::time::Duration::from_millis(5));
        rounds += 1;
    }
    assert_eq!(ks.db_counts(0), (1, 0));
    assert_eq!(ks.stats().expired_keys, 20_000);
}

#[test]
fn scan_covers_the_keyspace_in_both_modes() {
    for cluster in [false, true] {
        let ks = Keyspace::new(16, cluster);
        let mut view = ks.lock_all(0, now());
        for i in 0..2000 {
            view.set(format!("key:{i}").as_bytes(), Value::Int(i), false);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let filter = ScanFilter { pattern: None, type_name: None };
        let mut calls = 0;
        loop {
            cursor = view.scan(cursor, 10, &filter, |k| {
                seen.insert(k.to_vec());
            });
            calls += 1;
            // Grow the keyspace while scanning.
            view.set(format!("new:{calls}").as_bytes(), Value::Int(0), false);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..2000 {
            assert!(seen.contains(format!("key:{i}").as_bytes()), "cluster={cluster} key:{i} missing");
        }
    }
}

#[test]
fn random_key_and_swap_and_flush() {
    let ks = Keyspace::new(16, false);
    let mut view = ks.lock_all(0, now());
    assert_eq!(view.random_key(), None);
    view.set(b"x", Value::Int(1), false);
    assert_eq!(view.random_key(), Some(b"x".to_vec()));
    view.swap_dbs(0, 3);
    assert!(!view.exists(b"x"));
    view.select(3);
    assert!(view.exists(b"x"));
    assert_eq!(view.flush_db(3), 1);
    assert!(view.is_empty());
}
