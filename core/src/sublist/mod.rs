//! The subject index: a token trie with `*`/`>` nodes and queue groups per node, fronted by a
//! bounded result cache invalidated by a generation counter (nats-server's sublist).
//!
//! Matching a published subject walks the trie by literal token lookup plus the `*` and `>`
//! slots of each level, so a published `foo.*` reaches subscriptions `foo.*` and `foo.>` but not
//! `foo.bar` (see [`crate::subject::matches_pattern`]). A published subject with an empty token
//! matches nothing. Results are shared `Rc`s; a cache hit allocates nothing.

mod cache;
mod members;
mod trie;

use std::hash::Hash;
use std::rc::Rc;

use crate::subject;
use cache::Cache;
use trie::{Collector, Level};

/// The hash seed used by [`Sublist::new`].
const DEFAULT_SEED: u64 = 0x5eed_5b1f_c0de_0001;

/// The subscribers matching one published subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches<T> {
    /// Plain (non-queue) subscriptions, each gets a copy.
    pub plain: Vec<T>,
    /// One entry per queue group: each message goes to exactly one member of each.
    pub queues: Vec<Vec<T>>,
}

impl<T> Matches<T> {
    /// Whether no subscription matched.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }
}

impl<T> Default for Matches<T> {
    fn default() -> Self {
        Self {
            plain: Vec::new(),
            queues: Vec::new(),
        }
    }
}

/// The subscription subject was not a valid pattern (empty token, `>` not last, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSubject;

impl std::fmt::Display for InvalidSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid subject")
    }
}

impl std::error::Error for InvalidSubject {}

/// Counters describing a [`Sublist`], for monitoring (nats-server's `SublistStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SublistStats {
    /// Subscriptions in the index.
    pub subscriptions: usize,
    /// Subjects in the result cache.
    pub cache_entries: usize,
    /// Successful inserts since creation.
    pub inserts: u64,
    /// Successful removes since creation.
    pub removes: u64,
    /// Calls to [`Sublist::matches`] since creation.
    pub matches: u64,
    /// Of those, how many the cache answered.
    pub cache_hits: u64,
    /// Largest number of subscribers (plain plus one per queue group) of a cached result.
    pub max_fanout: usize,
    /// Average number of subscribers of the cached results.
    pub avg_fanout: f64,
}

impl SublistStats {
    /// Fraction of matches answered by the cache (0 when there were none).
    pub fn cache_hit_rate(&self) -> f64 {
        if self.matches == 0 {
            0.0
        } else {
            self.cache_hits as f64 / self.matches as f64
        }
    }
}

/// A subject index mapping published subjects to the subscriptions whose patterns match.
///
/// `T` is the caller's subscription key; the same `T` may be inserted under several subjects.
/// Each `(subject, queue, key)` entry is held at most once: inserting it again changes nothing,
/// and one remove takes it out.
#[derive(Debug)]
pub struct Sublist<T> {
    root: Level<T>,
    cache: Cache<T>,
    /// The shared empty result (returned for no match, without allocating).
    empty: Rc<Matches<T>>,
    seed: u64,
    len: usize,
    generation: u64,
    inserts: u64,
    removes: u64,
    matches: u64,
    cache_hits: u64,
}

impl<T: Copy + Eq + Hash + std::fmt::Debug> Sublist<T> {
    /// An empty index whose result cache holds at most `cache_capacity` subjects (0 disables it).
    pub fn new(cache_capacity: usize) -> Self {
        Self::with_seed(cache_capacity, DEFAULT_SEED)
    }

    /// Like [`Self::new`], with the seed of the internal hash maps chosen by the caller (e.g.
    /// drawn from the broker's seeded PRNG, so subjects cannot be crafted to collide).
    pub fn with_seed(cache_capacity: usize, seed: u64) -> Self {
        Self {
            root: Level::new(seed),
            cache: Cache::new(cache_capacity, seed.rotate_left(17)),
            empty: Rc::default(),
            seed,
            len: 0,
            generation: 0,
            inserts: 0,
            removes: 0,
            matches: 0,
            cache_hits: 0,
        }
    }

    /// Adds `key` under `subject`, in queue group `queue` if given.
    ///
    /// Fails if `subject` is not a valid subscription subject (see
    /// [`subject::is_valid_subscription`]). Adding an entry that is already there is a no-op.
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        key: T,
    ) -> Result<(), InvalidSubject> {
        if !subject::is_valid_subscription(subject) {
            return Err(InvalidSubject);
        }
        if self.root.insert(subject, queue, key, self.seed) {
            self.len += 1;
            self.inserts += 1;
            self.changed(subject);
        }
        Ok(())
    }

    /// Removes `key` from `subject`/`queue`; returns whether it was there.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, key: T) -> bool {
        let removed = self.root.remove(subject, queue, key);
        if removed {
            self.len -= 1;
            self.removes += 1;
            self.changed(subject);
        }
        removed
    }

    /// The subscriptions matching the published `subject` (shared, possibly from the cache).
    pub fn matches(&mut self, subject: &[u8]) -> Rc<Matches<T>> {
        self.matches += 1;
        if let Some(hit) = self.cache.get(subject) {
            self.cache_hits += 1;
            return Rc::clone(hit);
        }
        if !subject::has_no_empty_token(subject) {
            return Rc::clone(&self.empty);
        }
        let mut out = Collector::new();
        self.root.collect(subject, &mut out);
        let found = out.finish();
        let result = if found.is_empty() {
            Rc::clone(&self.empty)
        } else {
            Rc::new(found)
        };
        self.cache.put(subject, Rc::clone(&result));
        result
    }

    /// Number of subscriptions in the index.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no subscription.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A number that changes whenever the index changes (every successful insert or remove),
    /// so callers can tell whether results they kept may be stale.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> SublistStats {
        let (max_fanout, total) = self
            .cache
            .fanouts()
            .fold((0, 0), |(max, sum), n| (max.max(n), sum + n));
        let cache_entries = self.cache.len();
        SublistStats {
            subscriptions: self.len,
            cache_entries,
            inserts: self.inserts,
            removes: self.removes,
            matches: self.matches,
            cache_hits: self.cache_hits,
            max_fanout,
            avg_fanout: if cache_entries == 0 {
                0.0
            } else {
                total as f64 / cache_entries as f64
            },
        }
    }

    /// Records a change to the subscriptions of `pattern`.
    fn changed(&mut self, pattern: &[u8]) {
        self.generation += 1;
        self.cache.invalidate(pattern);
    }
}

#[cfg(test)]
mod tests;
