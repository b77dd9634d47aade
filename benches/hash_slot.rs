//! Hash slot computation: CRC16-XMODEM over typical keys, with and without hash tags.
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    c.bench_function("key_hash_slot/key:000123456", |b| {
        b.iter(|| shoal::slot::key_hash_slot(black_box(b"key:000123456")))
    });
    c.bench_function("key_hash_slot/{user1000}.following", |b| {
        b.iter(|| shoal::slot::key_hash_slot(black_box(b"{user1000}.following")))
    });
    let long = vec![b'k'; 256];
    c.bench_function("key_hash_slot/256 bytes", |b| b.iter(|| shoal::slot::key_hash_slot(black_box(&long))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
