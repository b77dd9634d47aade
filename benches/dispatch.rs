//! Dispatch: table lookup, arity, key extraction, locking and the handler, for GET and SET, into a reply buffer.
use criterion::{criterion_group, criterion_main, Criterion};
use shoal::commands::{dispatch, ClientState};
use shoal::protocol::decode::OwnedArgs;
use shoal::protocol::reply::{Protocol, Reply};
use std::sync::Arc;

fn bench(c: &mut Criterion) {
    let config = shoal::config::Config::from_text(b"").expect("default configuration");
    let store = shoal::config::ConfigStore::new(config);
    let state = shoal::state::ServerState::new(Arc::new(store));
    let mut client = ClientState::new(1, false);
    let mut out = Reply::new(Protocol::Resp2);
    let set = OwnedArgs::from_slices(&[b"SET", b"key:000001", &[b'x'; 64]]);
    let get = OwnedArgs::from_slices(&[b"GET", b"key:000001"]);
    c.bench_function("dispatch/SET 64B", |b| {
        b.iter(|| {
            out.buf.clear();
            dispatch::execute(&state, &mut client, &mut out, set.args());
        })
    });
    c.bench_function("dispatch/GET hit", |b| {
        b.iter(|| {
            out.buf.clear();
            dispatch::execute(&state, &mut client, &mut out, get.args());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
