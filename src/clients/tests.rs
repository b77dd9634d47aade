//! Unit tests of the registry: pause arithmetic, the MONITOR cap, the CLIENT LIST line.

use super::*;
use crate::protocol::decode::Args;

#[test]
fn pause_keeps_the_stricter_mode_and_later_end() {
    let r = ClientRegistry::new();
    assert_eq!(r.pause_at(1000).0, PauseMode::Off);
    r.pause(5000, PauseMode::All);
    r.pause(2000, PauseMode::Write);
    assert_eq!(r.pause_at(1000), (PauseMode::All, 5000));
    assert_eq!(r.pause_at(5000).0, PauseMode::All);
    assert_eq!(r.pause_at(5001).0, PauseMode::Off);
    assert!(!r.pause_active());
    r.pause(i64::MIN, PauseMode::All);
    assert_eq!(r.pause_at(1).0, PauseMode::Off);
}

#[test]
fn monitor_queue_is_capped() {
    let r = ClientRegistry::new();
    let h = r.register(ClientIdentity { id: 7, fd: -1, ..Default::default() });
    h.set_monitor_limits(100, 0, 0);
    r.add_monitor(h.clone());
    for _ in 0..10 {
        let spans = [(0, 4)];
        r.feed_monitors(0, "x", &Args::from_parts(b"PING", &spans));
    }
    assert!(h.is_killed());
    assert!(!r.has_monitors());
    assert!(h.monitor_pending().0 <= 100);
}

#[test]
fn renders_redis_field_order() {
    let who = ClientIdentity { id: 5, addr: "a:1".into(), laddr: "b:2".into(), fd: 9, created_ms: 1_000, fixed_mem: 0 };
    let info = ClientInfo {
        name: Some(b"n".to_vec()),
        flags: flag::NO_EVICT | flag::NO_TOUCH,
        cmd: "client|list",
        resp: 2,
        last_interaction_ms: 2_500,
        ..Default::default()
    };
    let mut out = Vec::new();
    render_line(&mut out, &who, &info, 3_000);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "id=5 addr=a:1 laddr=b:2 fd=9 name=n age=2 idle=1 flags=eT db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 \
         qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|list \
         user=default redir=-1 resp=2 lib-name= lib-ver="
    );
}
