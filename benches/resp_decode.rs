//! Request decoder benchmarks: a deep pipeline of small commands, and one big command arriving in 16 KiB reads
//! (which stays linear only if the decoder resumes instead of rescanning).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shoal::protocol::decode::{Decoded, Limits, RequestDecoder};

const SET_FRAMES: usize = 10_000;
const READ_SIZE: usize = 16 * 1024;

fn pipelined_sets() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..SET_FRAMES {
        let key = format!("key:{:06}", i % 1_000_000);
        buf.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$3\r\nxxx\r\n", key.len()).as_bytes());
    }
    buf
}

/// An MSET of about 1 MB: 20-byte keys and values.
fn big_mset() -> Vec<u8> {
    let pairs = 1024 * 1024 / (2 * (20 + 9));
    let mut buf = format!("*{}\r\n$4\r\nMSET\r\n", 1 + 2 * pairs).into_bytes();
    for i in 0..pairs {
        buf.extend_from_slice(format!("$20\r\nkey:{i:016}\r\n$20\r\nval:{i:016}\r\n").as_bytes());
    }
    buf
}

fn decode_pipeline(c: &mut Criterion) {
    let buf = pipelined_sets();
    let limits = Limits::default();
    let mut group = c.benchmark_group("resp_decode");
    group.throughput(Throughput::Elements(SET_FRAMES as u64));
    group.bench_function("pipelined_set_10k", |b| {
        let mut dec = RequestDecoder::new();
        b.iter(|| {
            let buf = black_box(&buf[..]);
            let mut pos = 0;
            let mut total = 0;
            while let Ok(Decoded::Command { consumed }) = dec.decode(&buf[pos..], &limits, false) {
                let args = dec.args(&buf[pos..]);
                total += args.len() + args.get(1).len();
                pos += consumed;
            }
            assert_eq!(pos, buf.len());
            total
        })
    });
    group.finish();
}

fn decode_big_mset(c: &mut Criterion) {
    let buf = big_mset();
    let limits = Limits::default();
    let mut group = c.benchmark_group("resp_decode");
    group.throughput(Throughput::Bytes(buf.len() as u64));
    group.bench_function("mset_1mb_in_16k_reads", |b| {
        let mut dec = RequestDecoder::new();
        b.iter(|| {
            let buf = black_box(&buf[..]);
            let mut end = 0;
            loop {
                end = (end + READ_SIZE).min(buf.len());
                match dec.decode(&buf[..end], &limits, false) {
                    Ok(Decoded::Incomplete) if end < buf.len() => continue,
                    Ok(Decoded::Command { consumed }) => {
                        assert_eq!(consumed, buf.len());
                        return dec.args(buf).len();
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        })
    });
    group.finish();
}

fn decode_inline(c: &mut Criterion) {
    let buf = b"SET key:000001 xxx\r\n".repeat(1000);
    let limits = Limits::default();
    let mut group = c.benchmark_group("resp_decode");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("pipelined_inline_set_1k", |b| {
        let mut dec = RequestDecoder::new();
        b.iter(|| {
            let buf = black_box(&buf[..]);
            let mut pos = 0;
            while let Ok(Decoded::Command { consumed }) = dec.decode(&buf[pos..], &limits, false) {
                pos += consumed;
            }
            pos
        })
    });
    group.finish();
}

criterion_group!(benches, decode_pipeline, decode_big_mset, decode_inline);
criterion_main!(benches);
