//! Connection timers: one min-heap with lazy deletion behind `poll_timeout`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::{ConnId, Instant};

/// What a connection timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// Server PING / stale check.
    Ping,
    /// Authentication timeout.
    Auth,
    /// The end of a producer's stall (see `flow`).
    Stall,
    /// A user JWT expires.
    Expiry,
    /// Time to dial leaf remote N (the timer's connection is [`LEAF_TIMER`]).
    LeafDial(u32),
}

/// The connection id leaf dial timers carry (they belong to no connection).
pub(crate) const LEAF_TIMER: ConnId = ConnId {
    index: u32::MAX,
    generation: u32::MAX,
};

/// Pending deadlines. Entries for closed connections or superseded deadlines stay until they
/// come due and are then ignored by the broker.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId, TimerKind)>>,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, conn: ConnId, kind: TimerKind) {
        self.heap.push(Reverse((at, conn, kind)));
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns one timer due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(ConnId, TimerKind)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, conn, kind))| (conn, kind))
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}
