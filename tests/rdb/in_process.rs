//! In-process checks through `dispatch::execute`: a random dataset of every type saved by Shoal and loaded
//! by a fresh Shoal gives the same DUMP payload for every key, and FLUSHALL's persistence hook saves the
//! emptied dataset.

use std::sync::Arc;

use shoal::commands::{dispatch, ClientState};
use shoal::protocol::decode::OwnedArgs;
use shoal::protocol::reply::{Protocol, Reply};
use shoal::state::ServerState;

use super::*;

fn state_in(dir: &Path, extra: &str) -> Arc<ServerState> {
    let conf = format!("dir {}\n{extra}\n", dir.display());
    let config = shoal::config::Config::from_text(conf.as_bytes()).expect("configuration");
    ServerState::new(Arc::new(shoal::config::ConfigStore::new(config)))
}

fn run(state: &ServerState, client: &mut ClientState, args: &[&[u8]]) -> Vec<u8> {
    let mut out = Reply::new(Protocol::Resp2);
    let owned = OwnedArgs::from_slices(args);
    dispatch::execute(state, client, &mut out, owned.args());
    out.buf.to_vec()
}

fn elem(rng: &mut fastrand::Rng, j: usize) -> Vec<u8> {
    match rng.u8(..4) {
        0 => rng.i64(..).to_string().into_bytes(),
        1 => j.to_string().into_bytes(),
        2 => vec![b'a' + (j % 26) as u8; rng.usize(1..80)],
        _ => format!("e{j}-{}", rng.u32(..)).into_bytes(),
    }
}

/// A seeded mix of every type, small (compact encodings) and large, with expiries.
fn fill(state: &ServerState, client: &mut ClientState, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut keys = Vec::new();
    for i in 0..60 {
        let key = format!("k{i}").into_bytes();
        let n = if rng.bool() { rng.usize(1..6) } else { rng.usize(100..400) };
        let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
        match i % 6 {
            0 => cmds.push(vec![b"SET".to_vec(), key.clone(), elem(&mut rng, 0)]),
            1 | 2 => {
                let verb: &[u8] = if i % 6 == 1 { b"RPUSH" } else { b"SADD" };
                let mut c = vec![verb.to_vec(), key.clone()];
                for j in 0..n {
                    c.push(elem(&mut rng, j));
                }
                cmds.push(c);
            }
            3 => {
                let mut c = vec![b"HSET".to_vec(), key.clone()];
                for j in 0..n {
                    c.push(format!("f{j}").into_bytes());
                    c.push(elem(&mut rng, j));
                }
                cmds.push(c);
            }
            4 => {
                let mut c = vec![b"ZADD".to_vec(), key.clone()];
                for j in 0..n {
                    c.push(format!("{}", f64::from(rng.i32(..)) / 7.0).into_bytes());
                    c.push(elem(&mut rng, j));
                }
                cmds.push(c);
            }
            _ => {
                for _ in 0..n.min(150) {
                    cmds.push(vec![b"XADD".to_vec(), key.clone(), b"*".to_vec(), b"f".to_vec(), elem(&mut rng, 0)]);
                }
            }
        }
        for c in &cmds {
            let args: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            run(state, client, &args);
        }
        if rng.u8(..4) == 0 {
            run(state, client, &[b"PEXPIREAT", &key, b"4102444800000"]);
        }
        keys.push(key);
    }
    keys
}

#[test]
fn shoal_reloads_its_own_files_to_identical_dumps() {
    for seed in 0..4u64 {
        let dir = TempDir::new("inproc");
        let a = state_in(dir.path(), "");
        let mut client = ClientState::new(1, false);
        let keys = fill(&a, &mut client, seed);
        run(&a, &mut client, &[b"SELECT", b"3"]);
        run(&a, &mut client, &[b"SET", b"in-db-3", b"x"]);
        assert_eq!(run(&a, &mut client, &[b"SAVE"]), b"+OK\r\n");
        let b = state_in(dir.path(), "");
        shoal::rdb::snapshot::load_at_startup(&b).expect("loads its own file");
        let mut cb = ClientState::new(2, false);
        for db in [b"0".as_slice(), b"3"] {
            run(&a, &mut client, &[b"SELECT", db]);
            run(&b, &mut cb, &[b"SELECT", db]);
            for key in keys.iter().map(Vec::as_slice).chain([b"in-db-3".as_slice()]) {
                for cmd in [b"DUMP".as_slice(), b"PEXPIRETIME", b"OBJECT"] {
                    let args: Vec<&[u8]> = if cmd == b"OBJECT" { vec![cmd, b"ENCODING", key] } else { vec![cmd, key] };
                    assert_eq!(run(&a, &mut client, &args), run(&b, &mut cb, &args), "seed {seed} {cmd:?} {key:?}");
                }
            }
        }
    }
}

#[test]
fn flushall_hook_saves_the_empty_dataset_when_save_points_exist() {
    let dir = TempDir::new("flushall");
    let state = state_in(dir.path(), "save 3600 1");
    let mut client = ClientState::new(1, false);
    run(&state, &mut client, &[b"SET", b"a", b"1"]);
    assert_eq!(run(&state, &mut client, &[b"SAVE"]), b"+OK\r\n");
    let count = |bytes: &[u8]| {
        let mut n = 0;
        file::read(bytes, |_| {
            n += 1;
            Ok(())
        })
        .expect("valid file");
        n
    };
    assert_eq!(count(&std::fs::read(dir.path().join("dump.rdb")).expect("saved")), 1);
    run(&state, &mut client, &[b"FLUSHALL"]);
    let mut view = state.keyspace.lock_all(0, shoal::state::unix_time_ms());
    shoal::rdb::snapshot::after_flushall(&state, &mut view);
    drop(view);
    assert_eq!(count(&std::fs::read(dir.path().join("dump.rdb")).expect("saved")), 0);
}
