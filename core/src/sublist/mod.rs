//! The subject index: a token trie with `*`/`>` nodes and queue groups per node, fronted by a
//! bounded result cache invalidated by a generation counter (nats-server's sublist).
//! (Being written: see the sublist helper's task.)

use std::hash::Hash;
use std::rc::Rc;

/// The subscribers matching one published subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches<T> {
    /// Plain (non-queue) subscriptions, each gets a copy.
    pub plain: Vec<T>,
    /// One entry per queue group: each message goes to exactly one member of each.
    pub queues: Vec<Vec<T>>,
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

/// A subject index mapping published subjects to the subscriptions whose patterns match.
///
/// `T` is the caller's subscription key; the same `T` may be inserted under several subjects.
#[derive(Debug)]
pub struct Sublist<T> {
    _t: std::marker::PhantomData<T>,
}

impl<T: Copy + Eq + Hash + std::fmt::Debug> Sublist<T> {
    /// An empty index whose result cache holds at most `cache_capacity` subjects (0 disables it).
    pub fn new(cache_capacity: usize) -> Self {
        let _ = cache_capacity;
        todo!("sublist")
    }

    /// Adds `key` under `subject`, in queue group `queue` if given.
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        key: T,
    ) -> Result<(), InvalidSubject> {
        let _ = (subject, queue, key);
        todo!("sublist")
    }

    /// Removes `key` from `subject`/`queue`; returns whether it was there.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, key: T) -> bool {
        let _ = (subject, queue, key);
        todo!("sublist")
    }

    /// The subscriptions matching the published `subject` (shared, possibly from the cache).
    pub fn matches(&mut self, subject: &[u8]) -> Rc<Matches<T>> {
        let _ = subject;
        todo!("sublist")
    }

    /// Number of subscriptions in the index.
    pub fn len(&self) -> usize {
        todo!("sublist")
    }

    /// Whether the index holds no subscription.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
