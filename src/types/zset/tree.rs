//! The large sorted-set encoding (`OBJECT ENCODING` says `skiplist`): an order-statistic AVL tree keyed by
//! (score, member) plus a member -> node hash index, both over one arena of nodes.
//!
//! Why this shape:
//! - **O(log n) ranks.** Every node counts its subtree, so rank-of, select-by-rank and "how many entries are
//!   below this score / lex bound" are one root-to-leaf descent. AVL balance bounds the depth by 1.44 log2(n)
//!   deterministically (a test checks it), unlike a skiplist's expected bound.
//! - **One copy of each member.** Nodes live in a `Vec` arena and refer to each other by `u32` index; the hash
//!   index is a chained table whose chains run through the nodes themselves (`chain`), so a member is stored
//!   once, and an entry costs one node (48 bytes) plus 4 bytes of bucket and the member's own allocation.
//! - **ZSCAN's guarantee.** The index is a power-of-two table scanned with Redis's reverse-binary cursor, so an
//!   element present during a whole scan is returned at least once even if the table is resized in between.
//! - Freed nodes go on a free list (through `chain`); when more than half the arena is free it is rebuilt
//!   compactly (and perfectly balanced), which keeps memory proportional to the live entries.

use std::cmp::Ordering;

use super::packed::cmp_entry;
use crate::keyspace::dict::hash_key;

pub const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    left: u32,
    right: u32,
    /// Entries in this subtree.
    size: u32,
    /// Next node in the same hash bucket; next free node while on the free list.
    chain: u32,
    /// AVL height; 0 marks a free node.
    height: u8,
}

/// The tree plus index. Capacity: up to `u32::MAX - 1` entries.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    root: u32,
    free: u32,
    buckets: Vec<u32>,
    len: usize,
    member_bytes: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl PartialEq for Tree {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree { nodes: Vec::new(), root: NIL, free: NIL, buckets: Vec::new(), len: 0, member_bytes: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.buckets.capacity() * 4 + self.member_bytes
    }

    #[inline]
    fn n(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    #[inline]
    fn size(&self, i: u32) -> u32 {
        if i == NIL {
            0
        } else {
            self.n(i).size
        }
    }

    #[inline]
    fn height(&self, i: u32) -> u8 {
        if i == NIL {
            0
        } else {
            self.n(i).height
        }
    }

    /// Height of the whole tree (for the depth-bound test and DEBUG).
    pub fn depth(&self) -> u32 {
        u32::from(self.height(self.root))
    }

    // ---- hash index -------------------------------------------------------------------------------------

    #[inline]
    fn bucket_of(&self, member: &[u8]) -> usize {
        (hash_key(member) as usize) & (self.buckets.len() - 1)
    }

    fn find(&self, member: &[u8]) -> u32 {
        if self.buckets.is_empty() {
            return NIL;
        }
        let mut cur = self.buckets[self.bucket_of(member)];
        while cur != NIL {
            let node = self.n(cur);
            if &*node.member == member {
                return cur;
            }
            cur = node.chain;
        }
        NIL
    }

    /// Links node `i` into its bucket (the caller grew the table first, see [`Tree::insert`]).
    fn index_insert(&mut self, i: u32) {
        let b = self.bucket_of(&self.nodes[i as usize].member);
        self.nodes[i as usize].chain = self.buckets[b];
        self.buckets[b] = i;
    }

    fn index_remove(&mut self, i: u32) {
        let b = self.bucket_of(&self.nodes[i as usize].member);
        let next = self.nodes[i as usize].chain;
        if self.buckets[b] == i {
            self.buckets[b] = next;
            return;
        }
        let mut cur = self.buckets[b];
        while cur != NIL {
            if self.nodes[cur as usize].chain == i {
                self.nodes[cur as usize].chain = next;
                return;
            }
            cur = self.nodes[cur as usize].chain;
        }
    }

    fn resize_index(&mut self, size: usize) {
        self.buckets = vec![NIL; size];
        for i in 0..self.nodes.len() {
            if self.nodes[i].height != 0 {
                let b = self.bucket_of(&self.nodes[i].member);
                self.nodes[i].chain = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    // ---- AVL --------------------------------------------------------------------------------------------

    fn update(&mut self, i: u32) {
        let (l, r) = (self.n(i).left, self.n(i).right);
        let h = self.height(l).max(self.height(r)) + 1;
        let s = self.size(l) + self.size(r) + 1;
        let node = &mut self.nodes[i as usize];
        node.height = h;
        node.size = s;
    }

    fn rotate_right(&mut self, i: u32) -> u32 {
        let l = self.n(i).left;
        self.nodes[i as usize].left = self.n(l).right;
        self.nodes[l as usize].right = i;
        self.update(i);
        self.update(l);
        l
    }

    fn rotate_left(&mut self, i: u32) -> u32 {
        let r = self.n(i).right;
        self.nodes[i as usize].right = self.n(r).left;
        self.nodes[r as usize].left = i;
        self.update(i);
        self.update(r);
        r
    }

    fn rebalance(&mut self, i: u32) -> u32 {
        self.update(i);
        let (l, r) = (self.n(i).left, self.n(i).right);
        let (hl, hr) = (i32::from(self.height(l)), i32::from(self.height(r)));
        if hl > hr + 1 {
            let (ll, lr) = (self.n(l).left, self.n(l).right);
            if self.height(lr) > self.height(ll) {
                let nl = self.rotate_left(l);
                self.nodes[i as usize].left = nl;
            }
            return self.rotate_right(i);
        }
        if hr > hl + 1 {
            let (rl, rr) = (self.n(r).left, self.n(r).right);
            if self.height(rl) > self.height(rr) {
                let nr = self.rotate_right(r);
                self.nodes[i as usize].right = nr;
            }
            return self.rotate_left(i);
        }
        i
    }

    fn cmp_nodes(&self, a: u32, b: u32) -> Ordering {
        let (x, y) = (self.n(a), self.n(b));
        cmp_entry(x.score, &x.member, y.score, &y.member)
    }

    fn link(&mut self, t: u32, new: u32) -> u32 {
        if t == NIL {
            return new;
        }
        if self.cmp_nodes(new, t) == Ordering::Less {
            let l = self.link(self.n(t).left, new);
            self.nodes[t as usize].left = l;
        } else {
            let r = self.link(self.n(t).right, new);
            self.nodes[t as usize].right = r;
        }
        self.rebalance(t)
    }

    /// Detaches the minimum of subtree `t`: (new subtree root, detached node).
    fn unlink_min(&mut self, t: u32) -> (u32, u32) {
        let l = self.n(t).left;
        if l == NIL {
            return (self.n(t).right, t);
        }
        let (nl, m) = self.unlink_min(l);
        self.nodes[t as usize].left = nl;
        (self.rebalance(t), m)
    }

    /// Detaches node `target` (found by its key) from subtree `t`; returns the new subtree root.
    fn unlink(&mut self, t: u32, target: u32) -> u32 {
        if t == NIL {
            return NIL;
        }
        match self.cmp_nodes(target, t) {
            Ordering::Less => {
                let l = self.unlink(self.n(t).left, target);
                self.nodes[t as usize].left = l;
            }
            Ordering::Greater => {
                let r = self.unlink(self.n(t).right, target);
                self.nodes[t as usize].right = r;
            }
            Ordering::Equal => {
                let (l, r) = (self.n(t).left, self.n(t).right);
                if l == NIL {
                    return r;
                }
                if r == NIL {
                    return l;
                }
                let (nr, m) = self.unlink_min(r);
                self.nodes[m as usize].left = l;
                self.nodes[m as usize].right = nr;
                return self.rebalance(m);
            }
        }
        self.rebalance(t)
    }

    fn attach(&mut self, i: u32) {
        let node = &mut self.nodes[i as usize];
        node.left = NIL;
        node.right = NIL;
        node.size = 1;
        node.height = 1;
        self.root = self.link(self.root, i);
    }

    // ---- public operations ------------------------------------------------------------------------------

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        let i = self.find(member);
        (i != NIL).then(|| self.n(i).score)
    }

    /// Inserts a member that is not present. Returns false (and does nothing) at the capacity limit.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if self.len >= (NIL - 1) as usize {
            return false;
        }
        // Grow before the new node exists, so the rehash cannot link it twice.
        if self.len + 1 > self.buckets.len() {
            self.resize_index((self.buckets.len() * 2).max(4));
        }
        let node = Node { member: member.into(), score, left: NIL, right: NIL, size: 1, chain: NIL, height: 1 };
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.n(i).chain;
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        };
        self.len += 1;
        self.member_bytes += member.len();
        self.index_insert(i);
        self.attach(i);
        true
    }

    /// Changes the score of a present member, moving it to its new place.
    pub fn set_score(&mut self, member: &[u8], score: f64) {
        let i = self.find(member);
        if i == NIL {
            return;
        }
        self.root = self.unlink(self.root, i);
        self.nodes[i as usize].score = score;
        self.attach(i);
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let i = self.find(member);
        if i == NIL {
            return None;
        }
        Some(self.remove_node(i))
    }

    fn remove_node(&mut self, i: u32) -> f64 {
        self.root = self.unlink(self.root, i);
        self.index_remove(i);
        let node = &mut self.nodes[i as usize];
        let score = node.score;
        self.member_bytes -= node.member.len();
        node.member = Box::default();
        node.height = 0;
        node.chain = self.free;
        self.free = i;
        self.len -= 1;
        score
    }

    /// 0-based ascending rank and score of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let target = self.find(member);
        if target == NIL {
            return None;
        }
        let mut rank = 0usize;
        let mut t = self.root;
        while t != NIL {
            match self.cmp_nodes(target, t) {
                Ordering::Less => t = self.n(t).left,
                Ordering::Greater => {
                    rank += self.size(self.n(t).left) as usize + 1;
                    t = self.n(t).right;
                }
                Ordering::Equal => {
                    rank += self.size(self.n(t).left) as usize;
                    return Some((rank, self.n(t).score));
                }
            }
        }
        None
    }

    /// The node of ascending rank `r`.
    fn select(&self, mut r: usize) -> u32 {
        let mut t = self.root;
        while t != NIL {
            let ls = self.size(self.n(t).left) as usize;
            match r.cmp(&ls) {
                Ordering::Less => t = self.n(t).left,
                Ordering::Equal => return t,
                Ordering::Greater => {
                    r -= ls + 1;
                    t = self.n(t).right;
                }
            }
        }
        NIL
    }

    pub fn get(&self, r: usize) -> Option<(&[u8], f64)> {
        let i = self.select(r);
        (i != NIL).then(|| (&*self.n(i).member, self.n(i).score))
    }

    /// Number of leading entries for which `pred(score, member)` holds (it must hold for a prefix).
    pub fn prefix_len(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut count = 0usize;
        let mut t = self.root;
        while t != NIL {
            let node = self.n(t);
            if pred(node.score, &node.member) {
                count += self.size(node.left) as usize + 1;
                t = node.right;
            } else {
                t = node.left;
            }
        }
        count
    }

    /// Removes the entries of ranks `start..end` (clamped); returns how many. O((end-start) log n).
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len);
        if start >= end {
            return 0;
        }
        for _ in start..end {
            let i = self.select(start);
            if i == NIL {
                break;
            }
            self.remove_node(i);
        }
        self.maybe_compact();
        end - start
    }

    /// Rebuilds the arena when most of it is free.
    pub fn maybe_compact(&mut self) {
        if self.nodes.len() > 64 && self.len < self.nodes.len() / 2 {
            let entries: Vec<(Box<[u8]>, f64)> = {
                let mut v = Vec::with_capacity(self.len);
                let mut it = self.iter_from(0, false);
                while let Some((m, s)) = it.next_entry(self) {
                    v.push((m.into(), s));
                }
                v
            };
            *self = Tree::from_sorted_owned(entries);
        }
        let want = self.len.next_power_of_two().max(4);
        if self.buckets.len() > 16 && self.buckets.len() >= want * 8 {
            self.resize_index(want);
        }
    }

    /// Builds from entries sorted by (score, member) with distinct members, perfectly balanced.
    pub fn from_sorted_owned(entries: Vec<(Box<[u8]>, f64)>) -> Tree {
        let n = entries.len().min((NIL - 1) as usize);
        let mut t = Tree::new();
        t.nodes.reserve_exact(n);
        for (member, score) in entries.into_iter().take(n) {
            t.member_bytes += member.len();
            t.nodes.push(Node { member, score, left: NIL, right: NIL, size: 1, chain: NIL, height: 1 });
        }
        t.len = n;
        t.root = t.build(0, n);
        t.resize_index(n.next_power_of_two().max(4));
        t
    }

    fn build(&mut self, lo: usize, hi: usize) -> u32 {
        if lo >= hi {
            return NIL;
        }
        let mid = lo + (hi - lo) / 2;
        let l = self.build(lo, mid);
        let r = self.build(mid + 1, hi);
        self.nodes[mid].left = l;
        self.nodes[mid].right = r;
        self.update(mid as u32);
        mid as u32
    }

    /// An iterator starting at ascending rank `r` (descending from rank `r` when `rev`, `r` counted from the
    /// top). It borrows nothing, so the caller may interleave it with reads.
    pub fn iter_from(&self, r: usize, rev: bool) -> TreeIter {
        let mut stack = Vec::with_capacity(self.depth() as usize + 1);
        let mut t = self.root;
        let mut r = r;
        while t != NIL {
            let (near, far) = if rev { (self.n(t).right, self.n(t).left) } else { (self.n(t).left, self.n(t).right) };
            let ns = self.size(near) as usize;
            match r.cmp(&ns) {
                Ordering::Less => {
                    stack.push(t);
                    t = near;
                }
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Greater => {
                    r -= ns + 1;
                    t = far;
                }
            }
        }
        TreeIter { stack, rev }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut it = self.iter_from(0, false);
        std::iter::from_fn(move || it.next_entry(self))
    }

    /// One step of ZSCAN over the hash index: emits the entries of the cursor's bucket(s), returns the next
    /// cursor (0 when done). Redis's reverse-binary cursor.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        if self.buckets.is_empty() || self.len == 0 {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut cur = self.buckets[(cursor & mask) as usize];
        while cur != NIL {
            let node = self.n(cur);
            f(&node.member, node.score);
            cur = node.chain;
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits().wrapping_add(1).reverse_bits();
        v
    }
}

/// In-order walk state for [`Tree::iter_from`].
pub struct TreeIter {
    stack: Vec<u32>,
    rev: bool,
}

impl TreeIter {
    pub fn next_entry<'t>(&mut self, tree: &'t Tree) -> Option<(&'t [u8], f64)> {
        let t = self.stack.pop()?;
        let node = tree.n(t);
        let mut c = if self.rev { node.left } else { node.right };
        while c != NIL {
            self.stack.push(c);
            c = if self.rev { tree.n(c).right } else { tree.n(c).left };
        }
        Some((&node.member, node.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(t: &Tree, i: u32) -> (u32, u8) {
        if i == NIL {
            return (0, 0);
        }
        let (ls, lh) = check(t, t.n(i).left);
        let (rs, rh) = check(t, t.n(i).right);
        assert!((i32::from(lh) - i32::from(rh)).abs() <= 1, "AVL balance");
        assert_eq!(t.n(i).size, ls + rs + 1);
        assert_eq!(t.n(i).height, lh.max(rh) + 1);
        (ls + rs + 1, lh.max(rh) + 1)
    }

    #[test]
    fn depth_stays_logarithmic_under_sequential_and_random_churn() {
        let mut t = Tree::new();
        let n = 20_000u32;
        for i in 0..n {
            // Sequential scores: the worst case for an unbalanced tree.
            assert!(t.insert(format!("m{i}").as_bytes(), f64::from(i)));
        }
        check(&t, t.root);
        let bound = |len: usize| (1.45 * ((len + 2) as f64).log2()).ceil() as u32;
        assert!(t.depth() <= bound(t.len()), "depth {} for {}", t.depth(), t.len());
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let k = rng.u32(..n);
            let m = format!("m{k}");
            if rng.bool() {
                t.remove(m.as_bytes());
            } else if t.score(m.as_bytes()).is_some() {
                t.set_score(m.as_bytes(), f64::from(rng.u32(..100)));
            } else {
                t.insert(m.as_bytes(), f64::from(rng.u32(..100)));
            }
        }
        t.maybe_compact();
        check(&t, t.root);
        assert!(t.depth() <= bound(t.len()), "depth {} for {}", t.depth(), t.len());
    }

    #[test]
    fn ranks_selects_and_iterators_agree() {
        let mut t = Tree::new();
        for i in 0..500u32 {
            t.insert(format!("{:04}", (i * 7919) % 500).as_bytes(), f64::from(i % 13));
        }
        let all: Vec<(Vec<u8>, f64)> = t.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(all.len(), 500);
        for w in all.windows(2) {
            assert_eq!(cmp_entry(w[0].1, &w[0].0, w[1].1, &w[1].0), Ordering::Less);
        }
        for (r, (m, s)) in all.iter().enumerate() {
            assert_eq!(t.rank(m), Some((r, *s)));
            assert_eq!(t.get(r).map(|(m, _)| m.to_vec()), Some(m.clone()));
            let mut it = t.iter_from(r, true);
            assert_eq!(it.next_entry(&t).map(|(m, _)| m.to_vec()), Some(all[499 - r].0.clone()));
        }
        assert_eq!(t.prefix_len(|s, _| s < 5.0), all.iter().filter(|e| e.1 < 5.0).count());
        assert_eq!(t.remove_ranks(10, 20), 10);
        assert_eq!(t.len(), 490);
        assert_eq!(t.get(10).map(|(m, _)| m.to_vec()), Some(all[20].0.clone()));
    }

    #[test]
    fn scan_returns_every_member_across_resizes() {
        let mut t = Tree::new();
        for i in 0..1000 {
            t.insert(format!("m{i}").as_bytes(), 1.0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut extra = 1000;
        loop {
            cursor = t.scan_step(cursor, |m, _| {
                seen.insert(m.to_vec());
            });
            if extra < 3000 {
                t.insert(format!("m{extra}").as_bytes(), 2.0);
                extra += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("m{i}").as_bytes()));
        }
    }
}
