//! The token trie: each level maps literal tokens to nodes and keeps the `*` and `>` nodes in
//! dedicated slots; each node holds the subscriptions ending there, plain and per queue group.

use std::collections::HashMap;
use std::hash::Hash;

use foldhash::fast::FixedState;

use super::Matches;
use super::members::Members;
use crate::subject::{Token, split_first};

/// One level of the trie: the possible next tokens.
#[derive(Debug)]
pub(crate) struct Level<T> {
    literal: HashMap<Box<[u8]>, Node<T>, FixedState>,
    pwc: Option<Box<Node<T>>>,
    fwc: Option<Box<Node<T>>>,
}

/// The subscriptions of one pattern, and the level below it.
#[derive(Debug)]
struct Node<T> {
    children: Level<T>,
    plain: Members<T>,
    /// Queue groups in the order they were first subscribed, each non-empty.
    queues: Vec<QueueGroup<T>>,
}

/// The members of one queue group on one node.
#[derive(Debug)]
struct QueueGroup<T> {
    name: Box<[u8]>,
    members: Members<T>,
}

impl<T: Copy + Eq + Hash> Level<T> {
    /// An empty level (allocates nothing).
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            literal: HashMap::with_hasher(FixedState::with_seed(seed)),
            pwc: None,
            fwc: None,
        }
    }

    /// Whether the level leads nowhere.
    pub(crate) fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.pwc.is_none() && self.fwc.is_none()
    }

    /// Adds `key` under the valid pattern `subject`; returns false if it was already there.
    pub(crate) fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        key: T,
        seed: u64,
    ) -> bool {
        let mut level = self;
        let mut rest = subject;
        loop {
            let (token, tail) = split_first(rest);
            let node: &mut Node<T> = match Token::of(token) {
                Token::Pwc => level.pwc.get_or_insert_with(|| Box::new(Node::new(seed))),
                Token::Fwc => level.fwc.get_or_insert_with(|| Box::new(Node::new(seed))),
                Token::Literal(literal) => {
                    if !level.literal.contains_key(literal) {
                        level.literal.insert(literal.into(), Node::new(seed));
                    }
                    level.literal.get_mut(literal).expect("just inserted")
                }
            };
            match tail {
                Some(tail) => (level, rest) = (&mut node.children, tail),
                None => return node.add(queue, key, seed),
            }
        }
    }

    /// Removes `key` from `subject`/`queue`, pruning nodes left empty; returns whether it was
    /// there. Any subject is accepted: one that was never inserted is simply not found.
    pub(crate) fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, key: T) -> bool {
        let (token, tail) = split_first(subject);
        match Token::of(token) {
            Token::Pwc => Self::remove_in_slot(&mut self.pwc, tail, queue, key),
            Token::Fwc => Self::remove_in_slot(&mut self.fwc, tail, queue, key),
            Token::Literal(literal) => {
                let Some(node) = self.literal.get_mut(literal) else {
                    return false;
                };
                let removed = node.remove(tail, queue, key);
                if removed && node.is_empty() {
                    self.literal.remove(literal);
                    // Give memory back after churn; the map regrows if needed.
                    if self.literal.capacity() > 64
                        && self.literal.len() < self.literal.capacity() / 4
                    {
                        self.literal.shrink_to_fit();
                    }
                }
                removed
            }
        }
    }

    /// [`Self::remove`] below a wildcard slot, emptying the slot if its node is left empty.
    fn remove_in_slot(
        slot: &mut Option<Box<Node<T>>>,
        tail: Option<&[u8]>,
        queue: Option<&[u8]>,
        key: T,
    ) -> bool {
        let Some(node) = slot.as_deref_mut() else {
            return false;
        };
        let removed = node.remove(tail, queue, key);
        if removed && node.is_empty() {
            *slot = None;
        }
        removed
    }

    /// Adds to `out` every node whose pattern matches the published `subject`, which has no
    /// empty token. Tokens of `subject` are looked up literally, so a published `*` or `>` is
    /// reached only through the wildcard slots.
    pub(crate) fn collect<'a>(&'a self, subject: &[u8], out: &mut Collector<'a, T>) {
        let mut level = self;
        let mut rest = subject;
        loop {
            let (token, tail) = split_first(rest);
            if let Some(fwc) = &level.fwc {
                out.add(fwc);
            }
            let Some(tail) = tail else {
                // Last token: the literal node and then the `*` node match (nats-server's
                // order, which decides the order of MSGs to one connection).
                if let Some(node) = level.literal.get(token) {
                    out.add(node);
                }
                if let Some(pwc) = &level.pwc {
                    out.add(pwc);
                }
                return;
            };
            if let Some(pwc) = &level.pwc {
                pwc.children.collect(tail, out);
            }
            match level.literal.get(token) {
                Some(node) => (level, rest) = (&node.children, tail),
                None => return,
            }
        }
    }
}

impl<T: Copy + Eq + Hash> Node<T> {
    fn new(seed: u64) -> Self {
        Self {
            children: Level::new(seed),
            plain: Members::default(),
            queues: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty() && self.children.is_empty()
    }

    /// Adds a subscription ending at this node.
    fn add(&mut self, queue: Option<&[u8]>, key: T, seed: u64) -> bool {
        let Some(name) = queue else {
            return self.plain.insert(key, seed);
        };
        match self.queues.iter_mut().find(|g| *g.name == *name) {
            Some(group) => group.members.insert(key, seed),
            None => {
                let mut members = Members::default();
                members.insert(key, seed);
                self.queues.push(QueueGroup {
                    name: name.into(),
                    members,
                });
                true
            }
        }
    }

    /// Removes a subscription ending at this node (`tail` is None) or below it.
    fn remove(&mut self, tail: Option<&[u8]>, queue: Option<&[u8]>, key: T) -> bool {
        if let Some(tail) = tail {
            return self.children.remove(tail, queue, key);
        }
        let Some(name) = queue else {
            return self.plain.remove(key);
        };
        let Some(pos) = self.queues.iter().position(|g| *g.name == *name) else {
            return false;
        };
        let removed = self.queues[pos].members.remove(key);
        if self.queues[pos].members.is_empty() {
            // Keep first-subscribed order of the other groups: results stay deterministic.
            self.queues.remove(pos);
        }
        removed
    }
}

/// Number of groups in a result from which a name index is built to merge groups.
const GROUP_INDEX_FROM: usize = 16;

/// Accumulates the subscriptions of matching nodes into one result, merging queue groups of the
/// same name found on different nodes.
#[derive(Debug)]
pub(crate) struct Collector<'a, T> {
    plain: Vec<T>,
    queues: Vec<(&'a [u8], Vec<T>)>,
    /// Position of each group name in `queues`, once there are many groups.
    index: Option<HashMap<&'a [u8], usize, FixedState>>,
}

impl<'a, T: Copy + Eq + Hash> Collector<'a, T> {
    /// An empty collector.
    pub(crate) fn new() -> Self {
        Self {
            plain: Vec::new(),
            queues: Vec::new(),
            index: None,
        }
    }

    fn add(&mut self, node: &'a Node<T>) {
        self.plain.extend_from_slice(node.plain.as_slice());
        if self.queues.is_empty() {
            // Names are distinct within a node: nothing to merge yet.
            self.queues.extend(
                node.queues
                    .iter()
                    .map(|g| (&*g.name, g.members.as_slice().to_vec())),
            );
            return;
        }
        for group in &node.queues {
            match self.find(&group.name) {
                Some(i) => self.queues[i].1.extend_from_slice(group.members.as_slice()),
                None => {
                    self.queues
                        .push((&group.name, group.members.as_slice().to_vec()));
                    if let Some(index) = &mut self.index {
                        index.insert(&group.name, self.queues.len() - 1);
                    }
                }
            }
        }
    }

    fn find(&mut self, name: &[u8]) -> Option<usize> {
        if self.index.is_none() && self.queues.len() >= GROUP_INDEX_FROM {
            let mut index =
                HashMap::with_capacity_and_hasher(self.queues.len(), FixedState::with_seed(0));
            index.extend(self.queues.iter().enumerate().map(|(i, (n, _))| (*n, i)));
            self.index = Some(index);
        }
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.queues.iter().position(|(n, _)| *n == name),
        }
    }

    /// The collected result.
    pub(crate) fn finish(self) -> Matches<T> {
        Matches {
            plain: self.plain,
            queues: self
                .queues
                .into_iter()
                .map(|(_, members)| members)
                .collect(),
        }
    }
}

#[cfg(test)]
impl<T: Copy + Eq + Hash> Level<T> {
    /// Number of nodes below this level.
    pub(crate) fn node_count(&self) -> usize {
        let slots = self.pwc.iter().chain(self.fwc.iter()).map(|n| &**n);
        self.literal
            .values()
            .chain(slots)
            .map(|n| 1 + n.children.node_count())
            .sum()
    }
}
