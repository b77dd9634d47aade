//! Unit tests of the list structure: every operation against a `VecDeque` model, with tiny and default
//! node limits so that node boundaries, splits and merges are crossed constantly.

use super::*;

fn model_of(l: &List) -> Vec<Vec<u8>> {
    let fwd: Vec<Vec<u8>> = l.iter().map(<[u8]>::to_vec).collect();
    let mut back: Vec<Vec<u8>> = l.iter_rev().map(<[u8]>::to_vec).collect();
    back.reverse();
    assert_eq!(fwd, back, "forward and backward walks differ");
    assert_eq!(fwd.len(), l.len());
    assert!(l.nodes.iter().all(|n| n.count() > 0), "empty node left behind");
    assert!(l.nodes.iter().all(|n| !l.limit.oversized(n)), "node over the limit");
    fwd
}

/// A tiny xorshift so the test needs no dependency and replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        // Now and then an element larger than a whole node, so that single-element nodes and splits happen.
        0 if rng.below(8) == 0 => vec![b'H'; 4000 + rng.below(6000)],
        0 => vec![b'L'; 100 + rng.below(400)],
        1 => Vec::new(),
        _ => format!("v{}", rng.below(6)).into_bytes(),
    }
}

fn run(fill: i64, seed: u64) {
    let mut rng = Rng(seed);
    let mut l = List::new(fill);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for _ in 0..3000 {
        match rng.below(11) {
            0 => {
                let v = value(&mut rng);
                l.push_front(&v);
                m.push_front(v);
            }
            1 | 2 => {
                let v = value(&mut rng);
                l.push_back(&v);
                m.push_back(v);
            }
            3 => assert_eq!(l.pop(End::Head), m.pop_front()),
            4 => assert_eq!(l.pop(End::Tail), m.pop_back()),
            5 => {
                let i = rng.below(m.len() + 2);
                assert_eq!(l.get(i), m.get(i).map(Vec::as_slice));
                let v = value(&mut rng);
                assert_eq!(l.set(i, &v), i < m.len());
                if let Some(slot) = m.get_mut(i) {
                    *slot = v;
                }
            }
            6 => {
                let pivot = value(&mut rng);
                let v = value(&mut rng);
                let after = rng.below(2) == 0;
                let pos = m.iter().position(|e| *e == pivot);
                assert_eq!(l.insert_at_pivot(&pivot, &v, after), pos.is_some());
                if let Some(p) = pos {
                    m.insert(if after { p + 1 } else { p }, v);
                }
            }
            7 => {
                let v = value(&mut rng);
                let max = rng.below(4);
                let end = if rng.below(2) == 0 { End::Head } else { End::Tail };
                let mut want = 0;
                let limit = if max == 0 { usize::MAX } else { max };
                if end == End::Head {
                    let mut i = 0;
                    while i < m.len() {
                        if want < limit && m[i] == v {
                            m.remove(i);
                            want += 1;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    let mut i = m.len();
                    while i > 0 {
                        i -= 1;
                        if want < limit && m[i] == v {
                            m.remove(i);
                            want += 1;
                        }
                    }
                }
                assert_eq!(l.remove_matching(&v, max as u64, end), want);
            }
            8 => {
                let n = rng.below(5);
                let end = if rng.below(2) == 0 { End::Head } else { End::Tail };
                l.remove_end(end, n);
                for _ in 0..n {
                    match end {
                        End::Head => m.pop_front(),
                        End::Tail => m.pop_back(),
                    };
                }
            }
            9 => {
                let start = rng.below(m.len() + 1);
                let got: Vec<&[u8]> = l.iter_from(start).take(7).collect();
                let want: Vec<&[u8]> = m.iter().skip(start).take(7).map(Vec::as_slice).collect();
                assert_eq!(got, want);
                let got: Vec<&[u8]> = l.iter_rev_from(start).take(7).collect();
                let want: Vec<&[u8]> = if start < m.len() {
                    m.iter().take(start + 1).rev().take(7).map(Vec::as_slice).collect()
                } else {
                    Vec::new()
                };
                assert_eq!(got, want);
            }
            _ => {
                for _ in 0..rng.below(40) {
                    let v = value(&mut rng);
                    l.push_back(&v);
                    m.push_back(v);
                }
            }
        }
        assert_eq!(model_of(&l), m.iter().cloned().collect::<Vec<_>>());
    }
}

#[test]
fn matches_a_deque_model_with_default_nodes() {
    for seed in 1..6 {
        run(-2, seed * 7919);
    }
}

#[test]
fn matches_a_deque_model_with_tiny_nodes() {
    for seed in 1..6 {
        run(3, seed * 104729);
        run(1, seed * 31);
        run(-1, seed * 17);
    }
}

#[test]
fn nodes_respect_the_size_limit() {
    let mut l = List::new(-2);
    for i in 0..10_000 {
        l.push_back(format!("element-{i}").as_bytes());
        l.push_front(format!("element-{i}").as_bytes());
    }
    assert!(l.nodes.iter().all(|n| n.bytes() <= 8192));
    assert!(l.node_count() > 10);
    let mut l = List::new(4);
    for i in 0..10 {
        l.push_back(format!("{i}").as_bytes());
    }
    assert_eq!(l.node_count(), 3);
    assert!(l.insert_at_pivot(b"1", b"x", true));
    assert!(l.nodes.iter().all(|n| n.count() <= 4));
    assert_eq!(l.encoding(), "quicklist");
}

#[test]
fn resolve_index_handles_extremes() {
    let l = List::from_entries(-2, ["a", "b", "c"]);
    assert_eq!(l.resolve_index(-1), Some(2));
    assert_eq!(l.resolve_index(-3), Some(0));
    assert_eq!(l.resolve_index(-4), None);
    assert_eq!(l.resolve_index(3), None);
    assert_eq!(l.resolve_index(i64::MIN), None);
    assert_eq!(l.resolve_index(i64::MAX), None);
    assert_eq!(l.get(1), Some(&b"b"[..]));
    assert_eq!(format!("{l:?}"), "[\"a\", \"b\", \"c\"]");
    assert_eq!(l, List::from_entries(3, ["a", "b", "c"]));
}
