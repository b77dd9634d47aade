//! What Redis's physical stream layout looks like for the same data, computed rather than built.
//!
//! Redis keeps a stream as a rax (radix tree) of listpack nodes; which entries share a node decides what
//! `XTRIM ~` / `XADD MAXLEN ~` may remove (whole nodes only), and `XINFO STREAM` reports the number of nodes
//! (`radix-tree-keys`) and of rax nodes (`radix-tree-nodes`). So Shoal tracks, per node, the byte size the
//! node's listpack would have (`lpBytes`), using listpack's element encodings, and counts rax nodes from the
//! node keys. Nothing here allocates a listpack.

use super::id::StreamId;

/// Bytes of an empty listpack: 4 (total bytes) + 2 (element count) + 1 (end marker).
pub const LP_EMPTY_BYTES: usize = 7;

/// Upper bound of a stream listpack (`STREAM_LISTPACK_MAX_SIZE`).
pub const LP_MAX_SIZE: u64 = 1 << 30;

/// Bytes of the back-length field for an element whose encoding is `len` bytes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of an integer element.
pub fn int_elem(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + backlen_size(enc)
}

/// Bytes of a string element (stored as an integer when it is a canonical integer, as listpack does).
pub fn str_elem(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = crate::num::parse_i64(s) {
            return int_elem(v);
        }
    }
    let enc = match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        n => 5 + n,
    };
    enc + backlen_size(enc)
}

/// Number of rax nodes holding `keys` (sorted, distinct, 16 bytes each): the count of a maximally compressed
/// radix tree, which is what Redis's rax keeps after its inserts and deletions.
pub fn rax_nodes(keys: &[[u8; 16]]) -> u64 {
    if keys.is_empty() {
        return 1;
    }
    count(keys, 0)
}

/// Nodes of the subtree for `keys`, all sharing their first `depth` bytes.
fn count(keys: &[[u8; 16]], depth: usize) -> u64 {
    if depth >= 16 {
        // The key node (a leaf).
        return 1;
    }
    let (first, last) = match (keys.first(), keys.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return 0,
    };
    // Keys are sorted, so the common prefix of all is the common prefix of the first and last.
    let mut common = depth;
    while common < 16 && first[common] == last[common] {
        common += 1;
    }
    if common > depth {
        // A compressed node for the shared run, then whatever follows it.
        return 1 + count(keys, common);
    }
    // A branching node, one child per distinct byte; each child starts after that byte.
    let mut total = 1;
    let mut start = 0;
    while start < keys.len() {
        let b = keys[start][depth];
        let mut end = start + 1;
        while end < keys.len() && keys[end][depth] == b {
            end += 1;
        }
        total += count(&keys[start..end], depth + 1);
        start = end;
    }
    total
}

/// `lpBytes` bookkeeping for an entry appended to a node: flags, ms and seq deltas, optionally the field
/// count and names, the values, and the trailing element count.
pub fn entry_bytes(id: StreamId, master: StreamId, fields: &[&[u8]], same_fields: bool) -> usize {
    let flags = if same_fields { 2 } else { 0 };
    let mut n = int_elem(flags);
    n += int_elem(id.ms.wrapping_sub(master.ms) as i64);
    n += int_elem(id.seq.wrapping_sub(master.seq) as i64);
    let pairs = (fields.len() / 2) as i64;
    if !same_fields {
        n += int_elem(pairs);
    }
    for (i, f) in fields.iter().enumerate() {
        if i % 2 == 1 || !same_fields {
            n += str_elem(f);
        }
    }
    let lp_count = pairs + 3 + if same_fields { 0 } else { pairs + 1 };
    n + int_elem(lp_count)
}

/// Bytes of a new node's listpack holding only its master entry (count 1, deleted 0, the field names, 0).
pub fn master_bytes(fields: &[&[u8]]) -> usize {
    let pairs = (fields.len() / 2) as i64;
    let mut n = LP_EMPTY_BYTES + int_elem(1) + int_elem(0) + int_elem(pairs);
    for f in fields.iter().step_by(2) {
        n += str_elem(f);
    }
    n + int_elem(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_sizes() {
        assert_eq!(int_elem(0), 2);
        assert_eq!(int_elem(127), 2);
        assert_eq!(int_elem(128), 3);
        assert_eq!(int_elem(-1), 3);
        assert_eq!(int_elem(i64::MAX), 10);
        assert_eq!(str_elem(b"abc"), 5);
        assert_eq!(str_elem(b"12"), 2);
        assert_eq!(str_elem(b"012"), 5);
        assert_eq!(str_elem(&[b'x'; 64]), 67);
    }

    #[test]
    fn rax_counts() {
        let k = |ms: u64, seq: u64| StreamId::new(ms, seq).to_be_bytes();
        assert_eq!(rax_nodes(&[]), 1);
        assert_eq!(rax_nodes(&[k(1, 0)]), 2);
        // Diverging at the last byte: compressed(15) + branch + 2 leaves.
        assert_eq!(rax_nodes(&[k(1, 0), k(1, 1)]), 4);
    }
}
