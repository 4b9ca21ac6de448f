//! A vector that is cloned cheaply and changed in place. Every guest placed keeps the
//! ledger its host had after it, and a guest changes the counts of a node or two: the
//! elements are kept in chunks of [`CHUNK`] behind `Arc`s, so a clone copies a pointer per
//! chunk and a change copies only the chunk it lands in, while another ledger shares it.

use std::ops::{Index, IndexMut};
use std::sync::Arc;

/// Elements per shared chunk.
pub const CHUNK: usize = 8;

/// A fixed-length vector of `Copy` values in shared chunks. Past its length, the last
/// chunk holds `T::default()`, so two vectors of the same values are equal however built.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CowVec<T> {
    chunks: Vec<Arc<[T; CHUNK]>>,
    len: usize,
}

impl<T: Copy + Default> CowVec<T> {
    /// `len` copies of `value`; the full chunks share one allocation until changed.
    pub fn filled(len: usize, value: T) -> CowVec<T> {
        let full = Arc::new([value; CHUNK]);
        let mut chunks = vec![full; len / CHUNK];
        if !len.is_multiple_of(CHUNK) {
            let mut last = [T::default(); CHUNK];
            last[..len % CHUNK].fill(value);
            chunks.push(Arc::new(last));
        }
        CowVec { chunks, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        (i < self.len).then(|| &self.chunks[i / CHUNK][i % CHUNK])
    }

    /// The element `i`, its chunk copied first if another vector shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        Some(&mut Arc::make_mut(&mut self.chunks[i / CHUNK])[i % CHUNK])
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter()).take(self.len)
    }
}

impl<T: Copy + Default> FromIterator<T> for CowVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> CowVec<T> {
        let mut chunks = Vec::new();
        let mut chunk = [T::default(); CHUNK];
        let mut len = 0;
        for value in iter {
            chunk[len % CHUNK] = value;
            len += 1;
            if len.is_multiple_of(CHUNK) {
                chunks.push(Arc::new(chunk));
                chunk = [T::default(); CHUNK];
            }
        }
        if !len.is_multiple_of(CHUNK) {
            chunks.push(Arc::new(chunk));
        }
        CowVec { chunks, len }
    }
}

impl<T: Copy + Default> Index<usize> for CowVec<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(value) => value,
            None => panic!("index {i} past a vector of {}", self.len),
        }
    }
}

impl<T: Copy + Default> IndexMut<usize> for CowVec<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len;
        match self.get_mut(i) {
            Some(value) => value,
            None => panic!("index {i} past a vector of {len}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, CowVec};
    use std::sync::Arc;

    #[test]
    fn a_change_copies_only_its_chunk() {
        let a: CowVec<u64> = CowVec::filled(4 * CHUNK + 3, 7);
        let mut b = a.clone();
        b[CHUNK + 1] += 1;
        assert_eq!(a[CHUNK + 1], 7);
        assert_eq!(b[CHUNK + 1], 8);
        let shared = a
            .chunks
            .iter()
            .zip(&b.chunks)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, a.chunks.len() - 1);
        assert_eq!(b.get(4 * CHUNK + 3), None);
        assert_eq!(b.iter().count(), 4 * CHUNK + 3);
        assert_eq!(b.iter().sum::<u64>(), 7 * (4 * CHUNK as u64 + 3) + 1);
    }

    #[test]
    fn vectors_of_the_same_values_are_equal_however_built() {
        let filled: CowVec<u32> = CowVec::filled(CHUNK + 5, 2);
        let collected: CowVec<u32> = std::iter::repeat_n(2, CHUNK + 5).collect();
        assert_eq!(filled, collected);
        let mut changed = collected.clone();
        *changed.get_mut(CHUNK).unwrap() = 3;
        assert_ne!(filled, changed);
        assert!(changed.get_mut(CHUNK + 5).is_none());
        assert!(CowVec::<u8>::filled(0, 1).is_empty());
    }
}
