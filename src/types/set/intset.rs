//! `IntSet`: Redis's `intset` — a sorted array of distinct integers stored at the narrowest width (16, 32 or
//! 64 bits) that holds all of them. Adding a wider value upgrades the whole array; it never downgrades, as in
//! Redis. Iteration is ascending, which is the order SMEMBERS and SSCAN reply in.

#[derive(Clone, Debug, PartialEq)]
pub enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(_) => false,
        Err(pos) => {
            v.insert(pos, x);
            true
        }
    }
}

fn remove_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(pos) => {
            v.remove(pos);
            true
        }
        Err(_) => false,
    }
}

impl IntSet {
    pub fn new() -> Self {
        IntSet::default()
    }

    /// An intset of `values` stored at least `width` bytes wide (2, 4 or 8): for RDB, so that an intset
    /// loaded from Redis keeps its width (an intset never narrows). Values are sorted and deduplicated.
    pub fn from_values(width: usize, values: impl IntoIterator<Item = i64>) -> IntSet {
        let mut all: Vec<i64> = values.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        let mut s = match width {
            8 => IntSet::W64(Vec::new()),
            4 => IntSet::W32(Vec::new()),
            _ => IntSet::W16(Vec::new()),
        };
        if let (Some(&lo), Some(&hi)) = (all.first(), all.last()) {
            s.upgrade_for(lo);
            s.upgrade_for(hi);
        }
        s = match s {
            IntSet::W16(_) => IntSet::W16(all.into_iter().map(|x| x as i16).collect()),
            IntSet::W32(_) => IntSet::W32(all.into_iter().map(|x| x as i32).collect()),
            IntSet::W64(_) => IntSet::W64(all),
        };
        s
    }

    pub fn len(&self) -> usize {
        match self {
            IntSet::W16(v) => v.len(),
            IntSet::W32(v) => v.len(),
            IntSet::W64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element (2, 4 or 8), as Redis's intset encoding.
    pub fn width(&self) -> usize {
        match self {
            IntSet::W16(_) => 2,
            IntSet::W32(_) => 4,
            IntSet::W64(_) => 8,
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            IntSet::W16(v) => v.capacity() * 2,
            IntSet::W32(v) => v.capacity() * 4,
            IntSet::W64(v) => v.capacity() * 8,
        }
    }

    pub fn contains(&self, x: i64) -> bool {
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W64(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Widens the array so `x` fits.
    fn upgrade_for(&mut self, x: i64) {
        let need = if i16::try_from(x).is_ok() {
            2
        } else if i32::try_from(x).is_ok() {
            4
        } else {
            8
        };
        if need <= self.width() {
            return;
        }
        let all: Vec<i64> = self.iter().collect();
        *self = if need == 4 { IntSet::W32(all.into_iter().map(|x| x as i32).collect()) } else { IntSet::W64(all) };
    }

    /// Adds `x`; returns whether it was new.
    pub fn add(&mut self, x: i64) -> bool {
        self.upgrade_for(x);
        match self {
            IntSet::W16(v) => insert_sorted(v, x as i16),
            IntSet::W32(v) => insert_sorted(v, x as i32),
            IntSet::W64(v) => insert_sorted(v, x),
        }
    }

    pub fn remove(&mut self, x: i64) -> bool {
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::W64(v) => remove_sorted(v, x),
        }
    }

    /// The element at `idx` in ascending order.
    pub fn at(&self, idx: usize) -> Option<i64> {
        match self {
            IntSet::W16(v) => v.get(idx).map(|&x| i64::from(x)),
            IntSet::W32(v) => v.get(idx).map(|&x| i64::from(x)),
            IntSet::W64(v) => v.get(idx).copied(),
        }
    }

    /// Removes and returns the element at `idx`.
    pub fn remove_at(&mut self, idx: usize) -> Option<i64> {
        if idx >= self.len() {
            return None;
        }
        Some(match self {
            IntSet::W16(v) => i64::from(v.remove(idx)),
            IntSet::W32(v) => i64::from(v.remove(idx)),
            IntSet::W64(v) => v.remove(idx),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).filter_map(move |i| self.at(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_upgraded() {
        let mut s = IntSet::new();
        assert!(s.add(5));
        assert!(s.add(-3));
        assert!(!s.add(5));
        assert_eq!(s.width(), 2);
        assert!(s.add(70000));
        assert_eq!(s.width(), 4);
        assert!(s.add(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 70000]);
        assert!(s.remove(-3));
        assert!(!s.remove(-3));
        assert!(s.contains(70000));
        assert_eq!(s.width(), 8);
    }

    #[test]
    fn from_values_keeps_the_wider_width() {
        let s = IntSet::from_values(8, [3, 1, 3]);
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 3]);
        let s = IntSet::from_values(2, [1, 1 << 40]);
        assert_eq!(s.width(), 8);
        assert_eq!(IntSet::from_values(2, []).width(), 2);
    }
}
