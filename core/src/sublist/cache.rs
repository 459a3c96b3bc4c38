//! The bounded result cache: published subject → shared, immutable match result.
//!
//! Entries are dropped (not patched) when a subscription that matches their subject is added or
//! removed, so a cached result is always exactly what a fresh trie walk would return. When full,
//! half of the entries are dropped at once, which keeps the cost amortised O(1) per insertion
//! with no background sweep.

use std::collections::HashMap;
use std::rc::Rc;

use foldhash::fast::FixedState;

use super::Matches;
use crate::subject;

/// Published subject → match result, holding at most `capacity` entries.
#[derive(Debug)]
pub(crate) struct Cache<T> {
    map: HashMap<Box<[u8]>, Rc<Matches<T>>, FixedState>,
    capacity: usize,
}

impl<T> Cache<T> {
    /// An empty cache holding at most `capacity` subjects (0 disables it).
    pub(crate) fn new(capacity: usize, seed: u64) -> Self {
        Self {
            map: HashMap::with_hasher(FixedState::with_seed(seed)),
            capacity,
        }
    }

    /// Number of cached subjects.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The fan-out (plain subscribers plus one per queue group) of each cached result.
    pub(crate) fn fanouts(&self) -> impl Iterator<Item = usize> + '_ {
        self.map.values().map(|m| m.plain.len() + m.queues.len())
    }

    /// The cached result for `subject`, without allocating.
    #[inline]
    pub(crate) fn get(&self, subject: &[u8]) -> Option<&Rc<Matches<T>>> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(subject)
    }

    /// Caches `result` for `subject`, first dropping half of the entries if the cache is full.
    pub(crate) fn put(&mut self, subject: &[u8], result: Rc<Matches<T>>) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity {
            let keep = self.capacity / 2;
            let mut seen = 0;
            self.map.retain(|_, _| {
                seen += 1;
                seen <= keep
            });
        }
        self.map.insert(subject.into(), result);
    }

    /// Drops every entry whose subject the valid subscription `pattern` matches.
    pub(crate) fn invalidate(&mut self, pattern: &[u8]) {
        if self.map.is_empty() {
            return;
        }
        if subject::is_valid_literal(pattern) {
            // A literal pattern matches only the identical subject.
            self.map.remove(pattern);
        } else {
            self.map
                .retain(|cached, _| !subject::matches_pattern(pattern, cached));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_with(capacity: usize, subjects: &[&str]) -> Cache<u32> {
        let mut cache = Cache::new(capacity, 0);
        for s in subjects {
            cache.put(s.as_bytes(), Rc::default());
        }
        cache
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let cache = cache_with(0, &["foo"]);
        assert_eq!(cache.len(), 0);
        assert!(cache.get(b"foo").is_none());
    }

    #[test]
    fn stays_bounded() {
        let mut cache: Cache<u32> = Cache::new(8, 0);
        for i in 0..100u32 {
            let subject = format!("s.{i}");
            cache.put(subject.as_bytes(), Rc::default());
            assert!(cache.len() <= 8);
            assert!(
                cache.get(subject.as_bytes()).is_some(),
                "the newest entry is always kept"
            );
        }
    }

    #[test]
    fn invalidates_matching_subjects_only() {
        let mut cache = cache_with(16, &["foo.bar", "foo.baz", "foo.*", "bar", "foo.bar.baz"]);
        cache.invalidate(b"foo.bar");
        assert!(cache.get(b"foo.bar").is_none());
        assert_eq!(cache.len(), 4);
        cache.invalidate(b"foo.*");
        // `foo.*` matches the published `foo.baz` and `foo.*`, not `foo.bar.baz`.
        assert!(cache.get(b"foo.baz").is_none());
        assert!(cache.get(b"foo.*").is_none());
        assert!(cache.get(b"foo.bar.baz").is_some());
        cache.invalidate(b">");
        assert_eq!(cache.len(), 0);
    }
}
