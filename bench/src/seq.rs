//! Sequence-numbered payloads and the checks subscribers run on them.
//!
//! Every payload starts with the publisher's id (`u32`, little endian) and that publisher's
//! sequence number (`u64`, little endian, from 1); the rest is filler. A subscriber that sees
//! every message checks each publisher's sequence is exactly 1, 2, 3, …; a queue-group member
//! sees a subset, so it checks sequences only increase and records which it saw, and the
//! members' records are merged at the end to prove each message arrived exactly once.

use std::io;

use crate::wire::bad;

/// Bytes of header at the front of every payload.
pub const HEADER: usize = 12;

/// Smallest payload that can carry the header.
pub const MIN_PAYLOAD: usize = 16;

/// Builds a payload template of `size` bytes (header zeroed, filler after it).
pub fn template(size: usize) -> Vec<u8> {
    assert!(
        size >= MIN_PAYLOAD,
        "payload must be at least {MIN_PAYLOAD} bytes"
    );
    let mut p = vec![b'x'; size];
    p[..HEADER].fill(0);
    p
}

/// Writes publisher id and sequence number into the front of `payload`.
pub fn stamp(payload: &mut [u8], publisher: u32, seq: u64) {
    payload[..4].copy_from_slice(&publisher.to_le_bytes());
    payload[4..HEADER].copy_from_slice(&seq.to_le_bytes());
}

/// Reads publisher id and sequence number from the front of `payload`.
pub fn read(payload: &[u8]) -> io::Result<(u32, u64)> {
    if payload.len() < HEADER {
        return Err(bad(format!(
            "payload of {} bytes has no header",
            payload.len()
        )));
    }
    let publisher = u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
    let seq = u64::from_le_bytes(payload[4..HEADER].try_into().expect("8 bytes"));
    Ok((publisher, seq))
}

/// How a subscriber checks what it receives.
#[derive(Debug, Clone)]
pub enum Checker {
    /// Sees every message of every publisher: sequences must be exactly 1, 2, 3, ….
    Exact {
        /// Next expected sequence per publisher.
        next: Vec<u64>,
    },
    /// A queue-group member: sequences only increase; a bitset per publisher records them.
    Member {
        /// Last sequence seen per publisher (0 = none yet).
        last: Vec<u64>,
        /// Sequences seen, one bit each, per publisher.
        seen: Vec<Vec<u64>>,
    },
}

impl Checker {
    /// A checker for a subscriber that must see every message of `publishers` publishers.
    pub fn exact(publishers: usize) -> Self {
        Self::Exact {
            next: vec![1; publishers],
        }
    }

    /// A checker for a queue-group member; each publisher sends `count` messages.
    pub fn member(publishers: usize, count: u64) -> Self {
        let words = usize::try_from(count.div_ceil(64) + 1).expect("count fits memory");
        Self::Member {
            last: vec![0; publishers],
            seen: vec![vec![0; words]; publishers],
        }
    }

    /// Checks one received payload; a lost, duplicated or reordered message is an error.
    pub fn check(&mut self, payload: &[u8]) -> io::Result<()> {
        let (publisher, seq) = read(payload)?;
        let p = publisher as usize;
        match self {
            Self::Exact { next } => {
                let want = next
                    .get_mut(p)
                    .ok_or_else(|| bad(format!("unknown publisher {publisher}")))?;
                if seq != *want {
                    return Err(bad(format!(
                        "publisher {publisher}: got sequence {seq}, expected {want} \
                         (message lost or reordered)"
                    )));
                }
                *want += 1;
            }
            Self::Member { last, seen } => {
                let prev = last
                    .get_mut(p)
                    .ok_or_else(|| bad(format!("unknown publisher {publisher}")))?;
                if seq <= *prev {
                    return Err(bad(format!(
                        "publisher {publisher}: got sequence {seq} after {prev} (reordered)"
                    )));
                }
                *prev = seq;
                let word = seen[p]
                    .get_mut((seq / 64) as usize)
                    .ok_or_else(|| bad(format!("sequence {seq} out of range")))?;
                *word |= 1 << (seq % 64);
            }
        }
        Ok(())
    }
}

/// Merges queue-group members' checkers: every sequence 1..=count of every publisher must have
/// been seen by exactly one member.
pub fn merge_members(members: &[Checker], publishers: usize, count: u64) -> io::Result<()> {
    for p in 0..publishers {
        let words = usize::try_from(count.div_ceil(64) + 1).expect("count fits memory");
        let mut union = vec![0u64; words];
        for m in members {
            let Checker::Member { seen, .. } = m else {
                return Err(bad("merge_members needs queue-group members"));
            };
            for (u, s) in union.iter_mut().zip(&seen[p]) {
                if *u & *s != 0 {
                    return Err(bad(format!(
                        "publisher {p}: a message reached two queue members"
                    )));
                }
                *u |= *s;
            }
        }
        let got: u64 = union.iter().map(|w| u64::from(w.count_ones())).sum();
        let zero_bit = union[0] & 1;
        if got != count || zero_bit != 0 {
            return Err(bad(format!(
                "publisher {p}: queue members got {got} distinct messages, expected {count}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(publisher: u32, seq: u64) -> Vec<u8> {
        let mut p = template(16);
        stamp(&mut p, publisher, seq);
        p
    }

    #[test]
    fn stamp_round_trips() {
        let mut p = template(128);
        stamp(&mut p, 7, 1 << 40);
        assert_eq!(read(&p).unwrap(), (7, 1 << 40));
        assert_eq!(p[HEADER..], vec![b'x'; 128 - HEADER][..]);
        assert!(read(&p[..5]).is_err());
    }

    #[test]
    fn exact_accepts_in_order_per_publisher() {
        let mut c = Checker::exact(2);
        for (p, s) in [(0, 1), (1, 1), (0, 2), (1, 2), (1, 3)] {
            c.check(&msg(p, s)).unwrap();
        }
    }

    #[test]
    fn exact_rejects_gap_duplicate_and_unknown() {
        let mut c = Checker::exact(1);
        c.check(&msg(0, 1)).unwrap();
        assert!(c.clone().check(&msg(0, 3)).is_err());
        assert!(c.clone().check(&msg(0, 1)).is_err());
        assert!(c.check(&msg(1, 1)).is_err());
    }

    #[test]
    fn members_merge_to_exactly_once() {
        let mut a = Checker::member(1, 5);
        let mut b = Checker::member(1, 5);
        for s in [1, 3, 4] {
            a.check(&msg(0, s)).unwrap();
        }
        for s in [2, 5] {
            b.check(&msg(0, s)).unwrap();
        }
        merge_members(&[a.clone(), b.clone()], 1, 5).unwrap();
        // Missing message.
        assert!(merge_members(&[a.clone()], 1, 5).is_err());
        // Duplicate across members.
        let mut dup = Checker::member(1, 5);
        dup.check(&msg(0, 2)).unwrap();
        assert!(merge_members(&[a, b, dup], 1, 5).is_err());
    }

    #[test]
    fn member_rejects_reorder() {
        let mut a = Checker::member(1, 5);
        a.check(&msg(0, 3)).unwrap();
        assert!(a.check(&msg(0, 2)).is_err());
    }
}
