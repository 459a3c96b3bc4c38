//! A set of subscription keys kept as a dense list (fast to copy into results), with a hash
//! index added once the list grows large enough that linear search would hurt.

use std::collections::HashMap;
use std::hash::Hash;

use foldhash::fast::FixedState;

/// List length from which a position index is kept beside the list.
const INDEX_FROM: usize = 32;

/// A set of keys in a dense list; insertion order is kept until a removal swaps the last key
/// into the removed slot.
#[derive(Debug, Clone)]
pub(crate) struct Members<T> {
    list: Vec<T>,
    /// Position of each key in `list`, present once `list` reached [`INDEX_FROM`] keys.
    index: Option<HashMap<T, usize, FixedState>>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            index: None,
        }
    }
}

impl<T: Copy + Eq + Hash> Members<T> {
    /// The keys, as a slice.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.list
    }

    /// Whether the set holds no key.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Number of keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Adds `key`; returns false (and changes nothing) if it was already there.
    pub(crate) fn insert(&mut self, key: T, seed: u64) -> bool {
        if self.position(key).is_some() {
            return false;
        }
        self.list.push(key);
        match &mut self.index {
            Some(index) => {
                index.insert(key, self.list.len() - 1);
            }
            None if self.list.len() >= INDEX_FROM => {
                let mut index =
                    HashMap::with_capacity_and_hasher(self.list.len(), FixedState::with_seed(seed));
                index.extend(self.list.iter().enumerate().map(|(i, &k)| (k, i)));
                self.index = Some(index);
            }
            None => {}
        }
        true
    }

    /// Removes `key`; returns whether it was there.
    pub(crate) fn remove(&mut self, key: T) -> bool {
        let Some(pos) = self.position(key) else {
            return false;
        };
        self.list.swap_remove(pos);
        if let Some(index) = &mut self.index {
            index.remove(&key);
            if let Some(&moved) = self.list.get(pos) {
                index.insert(moved, pos);
            }
        }
        if self.list.is_empty() {
            // Give memory back: an emptied set is usually pruned, but a node may keep others.
            *self = Self::default();
        }
        true
    }

    /// Where `key` sits in the list.
    fn position(&self, key: T) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.list.iter().position(|&k| k == key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_semantics_small_and_indexed() {
        for n in [3u32, INDEX_FROM as u32 * 3] {
            let mut m = Members::default();
            for k in 0..n {
                assert!(m.insert(k, 1));
                assert!(!m.insert(k, 1), "duplicate {k} must be refused");
            }
            assert_eq!(m.len(), n as usize);
            // Remove every other key, checking that the rest stay findable after swaps.
            for k in (0..n).step_by(2) {
                assert!(m.remove(k));
                assert!(!m.remove(k));
            }
            let mut rest: Vec<u32> = m.as_slice().to_vec();
            rest.sort_unstable();
            assert_eq!(rest, (1..n).step_by(2).collect::<Vec<_>>());
            for k in (1..n).step_by(2) {
                assert!(m.remove(k), "{k}");
            }
            assert!(m.is_empty());
            assert!(m.index.is_none());
        }
    }

    #[test]
    fn keeps_insertion_order_without_removals() {
        let mut m = Members::default();
        for k in [5, 1, 9] {
            m.insert(k, 0);
        }
        assert_eq!(m.as_slice(), &[5, 1, 9]);
    }
}
