//! Writes cut into pieces: each connection under a split fault gets a queue of what was
//! written to it, and the broker hands it out one piece of at most `chunk` bytes at a time,
//! each `delay` after the one before (at once when `delay` is zero).
//!
//! Pieces are cut as they go out (slices of the queued segments, no copy), so a large write
//! cut into 1-byte pieces costs one queue entry per segment, not one per byte.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;

use crate::{ConnId, Instant};

/// How writes to one connection are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    /// The largest piece (at least 1).
    pub(crate) chunk: usize,
    /// The time before each piece.
    pub(crate) delay: Duration,
}

/// One connection's queue.
#[derive(Debug)]
struct Trickle {
    split: Split,
    /// When the next piece may go.
    next_at: Instant,
    queue: VecDeque<Bytes>,
}

/// The queues of every connection with pieces waiting.
#[derive(Debug, Default)]
pub(crate) struct Trickles {
    queues: BTreeMap<ConnId, Trickle>,
}

impl Trickles {
    /// Whether no piece waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Whether pieces wait for `conn` (later writes must queue behind them).
    pub(crate) fn contains(&self, conn: ConnId) -> bool {
        self.queues.contains_key(&conn)
    }

    /// Queues `segments` for `conn`, cut by `split` from now on. The first piece of a fresh
    /// queue goes `split.delay` from `now`.
    pub(crate) fn push(&mut self, conn: ConnId, split: Split, segments: Vec<Bytes>, now: Instant) {
        let trickle = self.queues.entry(conn).or_insert_with(|| Trickle {
            split,
            next_at: now + split.delay,
            queue: VecDeque::new(),
        });
        trickle.split = split;
        trickle
            .queue
            .extend(segments.into_iter().filter(|s| !s.is_empty()));
        if trickle.queue.is_empty() {
            self.queues.remove(&conn);
        }
    }

    /// The next piece due at `now` for `conn`, or for any connection if `conn` is `None`.
    pub(crate) fn next_due(
        &mut self,
        conn: Option<ConnId>,
        now: Instant,
    ) -> Option<(ConnId, Bytes)> {
        let id = match conn {
            Some(id) => {
                Some(id).filter(|id| self.queues.get(id).is_some_and(|t| t.next_at <= now))?
            }
            None => *self
                .queues
                .iter()
                .find(|(_, t)| t.next_at <= now)
                .map(|(id, _)| id)?,
        };
        let trickle = self.queues.get_mut(&id).expect("found above");
        let front = trickle.queue.front_mut().expect("queues are never empty");
        let piece = if front.len() <= trickle.split.chunk {
            trickle.queue.pop_front().expect("has a front")
        } else {
            front.split_to(trickle.split.chunk)
        };
        trickle.next_at = now + trickle.split.delay;
        if trickle.queue.is_empty() {
            self.queues.remove(&id);
        }
        Some((id, piece))
    }

    /// When the next piece is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.queues.values().map(|t| t.next_at).min()
    }

    /// Everything waiting for `conn`, uncut (it closes).
    pub(crate) fn take(&mut self, conn: ConnId) -> Option<Vec<Bytes>> {
        self.queues.remove(&conn).map(|t| t.queue.into())
    }

    /// Everything waiting, per connection, uncut (the split ended).
    pub(crate) fn take_all(&mut self) -> Vec<(ConnId, Vec<Bytes>)> {
        std::mem::take(&mut self.queues)
            .into_iter()
            .map(|(id, t)| (id, t.queue.into()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(index: u32) -> ConnId {
        ConnId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn pieces_are_cut_as_they_go_and_paced() {
        let mut t = Trickles::default();
        let split = Split {
            chunk: 3,
            delay: Duration::from_millis(10),
        };
        let start = Instant::from_millis(100);
        t.push(
            conn(1),
            split,
            vec![Bytes::from_static(b"abcd"), Bytes::from_static(b"ef")],
            start,
        );
        assert_eq!(t.next_due(None, start), None);
        assert_eq!(t.deadline(), Some(Instant::from_millis(110)));
        let mut got = Vec::new();
        let mut now = start;
        while let Some(at) = t.deadline() {
            now = at;
            let (id, piece) = t.next_due(None, now).unwrap();
            assert_eq!(id, conn(1));
            got.push(piece);
        }
        assert_eq!(got, [&b"abc"[..], b"d", b"ef"]);
        assert_eq!(now, Instant::from_millis(130));
        assert!(t.is_empty());
    }

    #[test]
    fn without_delay_every_piece_is_due_at_once() {
        let mut t = Trickles::default();
        let split = Split {
            chunk: 1,
            delay: Duration::ZERO,
        };
        let now = Instant::from_millis(5);
        t.push(conn(2), split, vec![Bytes::from_static(b"hey")], now);
        let mut got = Vec::new();
        while let Some((_, piece)) = t.next_due(Some(conn(2)), now) {
            got.extend_from_slice(&piece);
        }
        assert_eq!(got, b"hey");
        assert_eq!(t.take(conn(2)), None);
    }
}
