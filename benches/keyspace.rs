//! Keyspace inner loops: lock + GET hit, lock + SET overwrite, on a 100k-key database.
use criterion::{criterion_group, criterion_main, Criterion};
use shoal::keyspace::{Keyspace, Value};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let ks = Keyspace::new(16, false);
    let keys: Vec<Vec<u8>> = (0..100_000).map(|i| format!("key:{i:06}").into_bytes()).collect();
    {
        let mut view = ks.lock_all(0, 0);
        for k in &keys {
            view.set(k, Value::string(&[b'x'; 64]), false);
        }
    }
    let mut i = 0usize;
    c.bench_function("keyspace/get hit (lock + lookup)", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            let key = &keys[i];
            let mut view = ks.lock_keys([key.as_slice()], 0, 0);
            black_box(view.get_read(key).is_some());
        })
    });
    c.bench_function("keyspace/set overwrite (lock + replace)", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            let key = &keys[i];
            let mut view = ks.lock_keys([key.as_slice()], 0, 0);
            view.set(key, Value::string(black_box(&[b'y'; 64])), false);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
