//! The scenario matrix: what each run does and how many messages it sends.

use std::fmt;

/// What a scenario exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Publishers only; nobody subscribes. Measures how fast the server ingests.
    PubOnly {
        /// Publisher connections.
        pubs: usize,
    },
    /// `pubs` publishers, `subs` plain subscribers; every subscriber gets every message.
    PubSub {
        /// Publisher connections.
        pubs: usize,
        /// Subscriber connections.
        subs: usize,
    },
    /// `pubs` publishers, `members` queue-group members; each message goes to one member.
    Queue {
        /// Publisher connections.
        pubs: usize,
        /// Queue-group member connections.
        members: usize,
    },
    /// One requester, one responder, sequential request/reply; measures latency.
    ReqReply,
    /// Idle connections with one subscription each; measures memory and accept time.
    Conns {
        /// Connections to open.
        n: usize,
    },
    /// Real clients: a nats.go publisher as fast as it goes and `subs` nats.go subscribers on
    /// their own connections (nats bench's pattern, `natsflood`), with no flow-control window:
    /// how the server copes when its subscribers read slower than the publisher writes.
    NatsGo {
        /// Subscriber connections.
        subs: usize,
    },
    /// A subscriber that never reads, a publisher bursting into it, then every client closes:
    /// the server's memory before, at its peak, and after.
    Burst,
    /// One publisher and one subscriber, both over the server's WebSocket listener.
    WsPubSub,
    /// Two servers of the same build joined by a leaf link (one the hub, one its leaf): one
    /// publisher on one side, one subscriber on the other.
    Leaf {
        /// The publisher is on the leaf and the subscriber on the hub (else the reverse).
        up: bool,
    },
}

/// One runnable scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// What it does.
    pub kind: Kind,
    /// Payload size in bytes (unused for `Conns`).
    pub payload: usize,
    /// Messages per publisher, round trips, or (for `Conns`) unused.
    pub count: u64,
}

impl Scenario {
    /// The scenario's stable name, e.g. `fanout-1:4/1KiB`.
    pub fn name(&self) -> String {
        let family = match self.kind {
            Kind::PubOnly { pubs: 1 } => "pub-only".to_string(),
            Kind::PubOnly { pubs } => format!("pub-only-{pubs}"),
            Kind::PubSub { pubs: 1, subs } if subs > 1 => format!("fanout-1:{subs}"),
            Kind::PubSub { pubs, subs } => format!("pubsub-{pubs}:{subs}"),
            Kind::Queue { pubs: 1, members } => format!("queue-{members}"),
            Kind::Queue { pubs, members } => format!("queue-{pubs}:{members}"),
            Kind::ReqReply => "reqrep".to_string(),
            Kind::Conns { n } => return format!("conns-{n}"),
            Kind::NatsGo { subs } => format!("natsgo-1:{subs}"),
            Kind::Burst => "slow-consumer-burst".to_string(),
            Kind::WsPubSub => "ws-pubsub-1:1".to_string(),
            Kind::Leaf { up: true } => "leaf-up-1:1".to_string(),
            Kind::Leaf { up: false } => "leaf-down-1:1".to_string(),
        };
        format!("{family}/{}", size_label(self.payload))
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::PubOnly { pubs } => format!("{}, no subscriber", plural(pubs, "publisher")),
            Kind::PubSub { pubs, subs } => format!(
                "{} → {}, each gets every message",
                plural(pubs, "publisher"),
                plural(subs, "subscriber")
            ),
            Kind::Queue { pubs, members } => format!(
                "{} → queue group of {members}, each message to one member",
                plural(pubs, "publisher")
            ),
            Kind::ReqReply => "1 requester ⇄ 1 responder, sequential".to_string(),
            Kind::Conns { n } => format!("{n} idle connections, 1 SUB each"),
            Kind::NatsGo { subs } => format!(
                "nats.go publisher → {} (nats.go, nats bench's pattern), no window",
                plural(subs, "subscriber")
            ),
            Kind::Burst => "a subscriber that never reads, a publisher bursting into it, \
                            then every client closes"
                .to_string(),
            Kind::WsPubSub => {
                "1 publisher → 1 subscriber, both over WebSocket (64 KiB frames)".to_string()
            }
            Kind::Leaf { up: true } => {
                "publisher on a leaf → subscriber on its hub (two servers, one leaf link)"
                    .to_string()
            }
            Kind::Leaf { up: false } => {
                "publisher on a hub → subscriber on its leaf (two servers, one leaf link)"
                    .to_string()
            }
        }
    }

    /// Messages the server delivers in one run (ingests, for pub-only; both directions of
    /// every round trip for request/reply); `None` where messages are not the point.
    pub fn delivered(&self) -> Option<u64> {
        match self.kind {
            Kind::PubOnly { pubs } | Kind::Queue { pubs, .. } => Some(self.count * pubs as u64),
            Kind::PubSub { pubs, subs } => Some(self.count * (pubs * subs) as u64),
            Kind::WsPubSub | Kind::Leaf { .. } => Some(self.count),
            Kind::NatsGo { subs } => Some(self.count * subs as u64),
            Kind::ReqReply => Some(2 * self.count),
            Kind::Conns { .. } | Kind::Burst => None,
        }
    }
}

impl Scenario {
    /// The same scenario with its message count (or round trips) multiplied by `factor`.
    pub fn scaled(self, factor: f64) -> Self {
        match self.kind {
            Kind::Conns { .. } => self,
            _ => Self {
                count: ((self.count as f64 * factor).round() as u64).max(4),
                ..self
            },
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `1 publisher`, `4 publishers`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `16B`, `1KiB`, `64KiB`, …
pub fn size_label(bytes: usize) -> String {
    if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{}KiB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

/// Payload sizes of the matrix.
pub const PAYLOADS: [usize; 4] = [16, 128, 1024, 64 * 1024];

/// How big the runs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Full runs: about a second or a few each on a 2-core machine.
    Full,
    /// Tiny counts: a smoke test for CI.
    Quick,
}

impl Size {
    /// Messages delivered in total for one throughput scenario with `payload`-byte payloads.
    fn delivered(self, payload: usize) -> u64 {
        let (max_msgs, max_bytes) = match self {
            Self::Full => (2_000_000u64, 512u64 << 20),
            Self::Quick => (5_000, 2 << 20),
        };
        max_msgs.min(max_bytes / payload.max(1) as u64).max(8)
    }

    /// Round trips for request/reply.
    fn round_trips(self) -> u64 {
        match self {
            Self::Full => 20_000,
            Self::Quick => 300,
        }
    }

    /// Messages published in a real-client run: issue 8's sizes (500,000 of 1 KiB to one
    /// subscriber, 2,000,000 of 16 B to four).
    fn natsgo(self, payload: usize) -> u64 {
        match (self, payload) {
            (Self::Quick, _) => 5_000,
            (Self::Full, p) if p >= 1024 => 500_000,
            (Self::Full, _) => 2_000_000,
        }
    }

    /// Messages of the burst scenario.
    fn burst(self) -> u64 {
        match self {
            Self::Full => 2_000,
            Self::Quick => 50,
        }
    }

    /// Connections for the connection-scale scenario.
    fn conns(self) -> usize {
        match self {
            Self::Full => 10_000,
            Self::Quick => 200,
        }
    }
}

/// Builds a scenario with the message count `size` gives it.
pub fn build(kind: Kind, payload: usize, size: Size) -> Scenario {
    let delivered = size.delivered(payload);
    let count = match kind {
        Kind::PubOnly { pubs } | Kind::Queue { pubs, .. } => delivered / pubs as u64,
        Kind::PubSub { pubs, subs } => delivered / (pubs * subs) as u64,
        Kind::WsPubSub | Kind::Leaf { .. } => delivered,
        Kind::ReqReply => size.round_trips(),
        Kind::Conns { .. } => 0,
        Kind::NatsGo { .. } => size.natsgo(payload),
        Kind::Burst => size.burst(),
    };
    let kind = match kind {
        Kind::Conns { .. } => Kind::Conns { n: size.conns() },
        other => other,
    };
    Scenario {
        kind,
        payload,
        count: count.max(4),
    }
}

/// The standard matrix, in run order.
pub fn matrix(size: Size) -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut add = |kind, payloads: &[usize]| {
        for &p in payloads {
            out.push(build(kind, p, size));
        }
    };
    add(Kind::PubOnly { pubs: 1 }, &PAYLOADS);
    add(Kind::PubSub { pubs: 1, subs: 1 }, &PAYLOADS);
    add(Kind::PubSub { pubs: 1, subs: 4 }, &[16, 1024, 64 * 1024]);
    add(Kind::PubSub { pubs: 1, subs: 100 }, &[16, 1024]);
    add(Kind::PubSub { pubs: 4, subs: 4 }, &[16, 1024]);
    add(
        Kind::Queue {
            pubs: 1,
            members: 4,
        },
        &[16, 1024],
    );
    add(Kind::ReqReply, &[16, 1024]);
    add(Kind::Conns { n: 0 }, &[0]);
    if crate::natsgo::available() {
        add(Kind::NatsGo { subs: 1 }, &[1024]);
        add(Kind::NatsGo { subs: 4 }, &[16]);
    }
    add(Kind::Burst, &[64 * 1024]);
    add(Kind::WsPubSub, &[16, 1024]);
    add(Kind::Leaf { up: true }, &[16, 1024]);
    add(Kind::Leaf { up: false }, &[16, 1024]);
    out
}

/// Scenarios of `matrix(size)` whose name contains `filter` (all if `None`).
pub fn select(size: Size, filter: Option<&str>) -> Vec<Scenario> {
    matrix(size)
        .into_iter()
        .filter(|s| filter.is_none_or(|f| s.name().contains(f)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_readable() {
        let names: Vec<String> = matrix(Size::Full).iter().map(Scenario::name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for want in [
            "pub-only/16B",
            "pubsub-1:1/64KiB",
            "fanout-1:4/1KiB",
            "fanout-1:100/16B",
            "pubsub-4:4/1KiB",
            "queue-4/16B",
            "reqrep/16B",
            "conns-10000",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
    }

    #[test]
    fn counts_bound_the_work() {
        for s in matrix(Size::Full) {
            if let Kind::PubSub { pubs, subs } = s.kind {
                let delivered = s.count * (pubs * subs) as u64;
                assert!(delivered <= 2_000_000, "{s}: {delivered}");
                assert!(delivered * s.payload as u64 <= 512 << 20, "{s}");
            }
        }
        let quick = select(Size::Quick, Some("conns"));
        assert_eq!(quick[0].kind, Kind::Conns { n: 200 });
    }

    #[test]
    fn filter_selects_by_substring() {
        let s = select(Size::Quick, Some("fanout-1:4/"));
        assert_eq!(s.len(), 3);
        assert!(select(Size::Quick, Some("nope")).is_empty());
    }

    #[test]
    fn scaling_changes_counts_not_connections() {
        let s = build(Kind::ReqReply, 16, Size::Full).scaled(2.0);
        assert_eq!(s.count, 40_000);
        let c = build(Kind::Conns { n: 0 }, 0, Size::Full);
        assert_eq!(c.scaled(3.0), c);
        assert_eq!(s.scaled(0.0).count, 4);
    }

    #[test]
    fn size_labels() {
        assert_eq!(size_label(16), "16B");
        assert_eq!(size_label(1024), "1KiB");
        assert_eq!(size_label(65536), "64KiB");
    }
}
