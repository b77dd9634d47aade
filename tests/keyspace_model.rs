//! Model-based property test: random operation sequences on the keyspace (set, delete, expire, persist,
//! clock advance, swapdb) agree with a BTreeMap model under a controlled clock, in both layouts.

use std::collections::BTreeMap;

use proptest::prelude::*;
use shoal::keyspace::{Keyspace, Value};

#[derive(Debug, Clone)]
enum Op {
    Set(u8, i64, bool),
    Del(u8),
    Expire(u8, u64),
    Persist(u8),
    Advance(u64),
    Select(u8),
    Swap(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..40, any::<i64>(), any::<bool>()).prop_map(|(k, v, keep)| Op::Set(k, v, keep)),
        (0u8..40).prop_map(Op::Del),
        (0u8..40, 0u64..50).prop_map(|(k, t)| Op::Expire(k, t)),
        (0u8..40).prop_map(Op::Persist),
        (0u64..30).prop_map(Op::Advance),
        (0u8..4).prop_map(Op::Select),
        (0u8..4, 0u8..4).prop_map(|(a, b)| Op::Swap(a, b)),
    ]
}

/// The model: per db, key -> (value, expire_at_ms or 0).
type Model = Vec<BTreeMap<Vec<u8>, (i64, u64)>>;

fn live(model: &mut Model, db: usize, now: u64) {
    model[db].retain(|_, (_, exp)| *exp == 0 || now <= *exp);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn keyspace_matches_model(ops in proptest::collection::vec(op(), 1..300), cluster in any::<bool>()) {
        let dbs = if cluster { 1 } else { 4 };
        let ks = Keyspace::new(dbs, cluster);
        let mut model: Model = vec![BTreeMap::new(); dbs];
        let mut now = 1_000u64;
        let mut db = 0usize;
        for op in ops {
            let mut view = ks.lock_all(db, now);
            live(&mut model, db, now);
            match op {
                Op::Set(k, v, keep) => {
                    let key = vec![b'k', k];
                    view.set(&key, Value::Int(v), keep);
                    let exp = if keep { model[db].get(&key).map_or(0, |e| e.1) } else { 0 };
                    model[db].insert(key, (v, exp));
                }
                Op::Del(k) => {
                    let key = vec![b'k', k];
                    prop_assert_eq!(view.remove(&key).is_some(), model[db].remove(&key).is_some());
                }
                Op::Expire(k, t) => {
                    let key = vec![b'k', k];
                    let ok = view.set_expire(&key, now + t + 1);
                    prop_assert_eq!(ok, model[db].contains_key(&key));
                    if let Some(e) = model[db].get_mut(&key) { e.1 = now + t + 1; }
                }
                Op::Persist(k) => {
                    let key = vec![b'k', k];
                    let ok = view.set_expire(&key, 0);
                    prop_assert_eq!(ok, model[db].contains_key(&key));
                    if let Some(e) = model[db].get_mut(&key) { e.1 = 0; }
                }
                Op::Advance(t) => now += t,
                Op::Select(d) => db = (d as usize) % dbs,
                Op::Swap(a, b) if !cluster => {
                    let (a, b) = (a as usize % dbs, b as usize % dbs);
                    drop(view);
                    let mut all = ks.lock_all(db, now);
                    all.swap_dbs(a, b);
                    model.swap(a, b);
                    continue;
                }
                Op::Swap(..) => {}
            }
        }
        // Final comparison of every database.
        for d in 0..dbs {
            live(&mut model, d, now);
            let mut view = ks.lock_all(d, now);
            for (key, (v, exp)) in &model[d] {
                prop_assert_eq!(view.get_read(key).cloned(), Some(Value::Int(*v)));
                prop_assert_eq!(view.expire_of(key), Some(*exp));
            }
            let mut n = 0;
            view.keys_matching(b"*", |_| n += 1);
            prop_assert_eq!(n, model[d].len());
            // Like Redis's DBSIZE, the count includes keys past their TTL that nobody has touched yet.
            prop_assert!(view.len() >= model[d].len());
        }
    }
}
