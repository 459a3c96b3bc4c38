//! Property tests of the broker's invariants on random operation sequences.

use std::time::Duration;

use proptest::prelude::*;

use crate::testing::Harness;
use crate::{Config, ConnId, Fault, Lasting, Refusal, Target};

#[derive(Debug, Clone)]
enum Step {
    Connect {
        conn: usize,
        verbose: bool,
        echo: bool,
    },
    Sub {
        conn: usize,
        subject: usize,
        queue: Option<usize>,
        sid: u8,
    },
    Unsub {
        conn: usize,
        sid: u8,
        max: Option<u8>,
    },
    Pub {
        conn: usize,
        subject: usize,
        len: usize,
    },
    Ping {
        conn: usize,
    },
    Garbage {
        conn: usize,
        bytes: Vec<u8>,
    },
    Disconnect {
        conn: usize,
    },
    Reconnect,
    /// The connection stops (or starts again) taking bytes.
    Stuck {
        conn: usize,
        stuck: bool,
    },
    /// The connection takes some of its backlog.
    Drain {
        conn: usize,
        bytes: usize,
    },
    Advance {
        millis: u64,
    },
    Shutdown,
    /// Injects fault number `kind` (see [`fault`]), aimed at `conn`.
    Inject {
        kind: u8,
        conn: usize,
        n: u8,
        millis: u64,
    },
    /// Clears every active fault.
    ClearFaults,
}

/// A fault of kind `kind` with parameters drawn from `n` and `millis`; every duration is
/// bounded (at most 5 s).
fn fault(kind: u8, cid: u64, n: u8, millis: u64) -> Fault {
    let subject = SUBJECTS[n as usize % SUBJECTS.len()].to_owned();
    let lasting = Lasting::For(Duration::from_millis(millis + 1));
    let target = Target::Cid(cid);
    match kind {
        0 => Fault::Close {
            target,
            err: (n % 2 == 0).then(|| "injected".to_owned()),
        },
        1 => Fault::CloseNextSubscriber { subject, err: None },
        2 => Fault::IgnorePings { target, lasting },
        3 => Fault::Withhold { subject, lasting },
        4 => Fault::Delay {
            subject,
            by: Duration::from_millis(u64::from(n) * 10 + 1),
            lasting,
        },
        5 => Fault::Drop {
            subject,
            count: u64::from(n % 4) + 1,
        },
        6 => Fault::SplitWrites {
            target,
            chunk: usize::from(n % 8) + 1,
            delay: Duration::from_millis(millis % 20),
            lasting,
        },
        7 => Fault::AsyncInfo {
            target: Target::All,
            connect_urls: vec!["127.0.0.1:4223".to_owned()],
            lame_duck: n % 2 == 0,
        },
        8 => Fault::RefuseConnects {
            count: u64::from(n % 3) + 1,
            refusal: if n % 2 == 0 {
                Refusal::Authorization
            } else {
                Refusal::MaxConnections
            },
        },
        _ => Fault::PauseReading { target, lasting },
    }
}

const SUBJECTS: [&str; 6] = ["a", "a.b", "a.*", "a.>", "b.c", ">"];
const PUBLISH: [&str; 4] = ["a", "a.b", "a.b.c", "b.c"];

fn step() -> impl Strategy<Value = Step> {
    let conn = 0..4usize;
    prop_oneof![
        1 => (conn.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(conn, verbose, echo)| Step::Connect { conn, verbose, echo }),
        4 => (conn.clone(), 0..SUBJECTS.len(), proptest::option::of(0..2usize), 0..6u8)
            .prop_map(|(conn, subject, queue, sid)| Step::Sub { conn, subject, queue, sid }),
        1 => (conn.clone(), 0..6u8, proptest::option::of(0..3u8))
            .prop_map(|(conn, sid, max)| Step::Unsub { conn, sid, max }),
        6 => (conn.clone(), 0..PUBLISH.len(), 0..600usize)
            .prop_map(|(conn, subject, len)| Step::Pub { conn, subject, len }),
        1 => (conn.clone()).prop_map(|conn| Step::Ping { conn }),
        1 => (conn.clone(), proptest::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(conn, bytes)| Step::Garbage { conn, bytes }),
        1 => (conn.clone()).prop_map(|conn| Step::Disconnect { conn }),
        1 => Just(Step::Reconnect),
        1 => (conn.clone(), any::<bool>()).prop_map(|(conn, stuck)| Step::Stuck { conn, stuck }),
        1 => (conn, 0..4096usize).prop_map(|(conn, bytes)| Step::Drain { conn, bytes }),
        1 => (0..5_000u64).prop_map(|millis| Step::Advance { millis }),
        1 => Just(Step::Shutdown),
        2 => (0..10u8, 0..4usize, any::<u8>(), 0..5_000u64)
            .prop_map(|(kind, conn, n, millis)| Step::Inject { kind, conn, n, millis }),
        1 => Just(Step::ClearFaults),
    ]
}

fn run(steps: &[Step], seed: u64) -> Harness {
    let config = Config {
        ping_interval: Duration::from_secs(2),
        ping_max: 1,
        max_pending: 4096,
        max_payload: 1024,
        ..Config::default()
    };
    let mut h = Harness::with_seed(config, seed);
    let mut conns: Vec<Option<ConnId>> = (0..4).map(|_| h.connect()).collect();
    let mut shutdowns = 0;
    for step in steps {
        let target = |c: usize, conns: &[Option<ConnId>]| conns[c];
        match step {
            Step::Connect {
                conn,
                verbose,
                echo,
            } => {
                if let Some(id) = target(*conn, &conns) {
                    let line = format!("CONNECT {{\"verbose\":{verbose},\"echo\":{echo}}}\r\n");
                    h.send(id, line.as_bytes());
                }
            }
            Step::Sub {
                conn,
                subject,
                queue,
                sid,
            } => {
                if let Some(id) = target(*conn, &conns) {
                    let queue = queue.map(|q| format!(" q{q}")).unwrap_or_default();
                    h.send(
                        id,
                        format!("SUB {}{queue} {sid}\r\n", SUBJECTS[*subject]).as_bytes(),
                    );
                }
            }
            Step::Unsub { conn, sid, max } => {
                if let Some(id) = target(*conn, &conns) {
                    let max = max.map(|m| format!(" {m}")).unwrap_or_default();
                    h.send(id, format!("UNSUB {sid}{max}\r\n").as_bytes());
                }
            }
            Step::Pub { conn, subject, len } => {
                if let Some(id) = target(*conn, &conns) {
                    let mut m = format!("PUB {} {len}\r\n", PUBLISH[*subject]).into_bytes();
                    m.extend(std::iter::repeat_n(b'x', *len));
                    m.extend_from_slice(b"\r\n");
                    h.send(id, &m);
                }
            }
            Step::Ping { conn } => {
                if let Some(id) = target(*conn, &conns) {
                    h.send(id, b"PING\r\n");
                }
            }
            Step::Garbage { conn, bytes } => {
                if let Some(id) = target(*conn, &conns) {
                    h.send(id, bytes);
                }
            }
            Step::Disconnect { conn } => {
                if let Some(id) = target(*conn, &conns) {
                    h.disconnect(id);
                }
            }
            Step::Reconnect => {
                let slot = conns
                    .iter()
                    .position(|c| c.is_some_and(|id| h.closed(id).is_some()));
                if let Some(slot) = slot {
                    conns[slot] = h.connect().or(conns[slot]);
                }
            }
            Step::Stuck { conn, stuck } => {
                if let Some(id) = target(*conn, &conns) {
                    h.set_stuck(id, *stuck);
                }
            }
            Step::Drain { conn, bytes } => {
                if let Some(id) = target(*conn, &conns) {
                    h.report_backlog(id, *bytes);
                }
            }
            Step::Advance { millis } => h.advance(Duration::from_millis(*millis)),
            Step::Shutdown => {
                if h.shutdown() {
                    shutdowns += 1;
                }
            }
            Step::Inject {
                kind,
                conn,
                n,
                millis,
            } => {
                let cid = target(*conn, &conns)
                    .and_then(|id| h.broker.connections().find(|c| c.id == id))
                    .map_or(0, |c| c.cid);
                // Refused faults (no such connection, shutting down) change nothing.
                let _ = h.broker.inject(fault(*kind, cid, *n, *millis), h.now);
                h.drain();
            }
            Step::ClearFaults => {
                for info in h.broker.faults() {
                    h.broker.clear(info.id, h.now).unwrap();
                }
                h.drain();
            }
        }
    }
    assert!(shutdowns <= 1, "shutdown took effect {shutdowns} times");
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// At most one close per connection, nothing written after a close, at most one
    /// `StopListening`/`Stopped`, and shutdown takes effect once. (The harness also fails on a
    /// pause or resume out of turn or after a close.)
    #[test]
    fn closes_happen_once(steps in proptest::collection::vec(step(), 1..60), seed in any::<u64>()) {
        let mut h = run(&steps, seed);
        h.shutdown();
        for (id, fake) in &h.conns {
            prop_assert!(fake.closes <= 1, "{id} closed {} times", fake.closes);
            prop_assert_eq!(fake.after_close, 0, "{} got bytes after its close", id);
            prop_assert_eq!(fake.closes, 1, "{} never closed after shutdown", id);
        }
        prop_assert_eq!(h.stopped, 1);
        prop_assert!(h.stop_listening <= 1);
    }

    /// A paused producer is never paused longer than the stall bound: advancing the clock by
    /// it resumes every open connection.
    #[test]
    fn pauses_are_bounded(steps in proptest::collection::vec(step(), 1..60), seed in any::<u64>()) {
        let steps: Vec<Step> = steps
            .into_iter()
            .filter(|s| !matches!(s, Step::Shutdown | Step::Inject { .. }))
            .collect();
        let mut h = run(&steps, seed);
        h.advance(super::flow::STALL_LIMIT);
        for (id, fake) in &h.conns {
            prop_assert!(!fake.paused || fake.closed.is_some(), "{} still paused", id);
        }
    }

    /// Every fault with a duration ends by itself: past the longest one, only counted faults
    /// are left, nothing is held back, and no open connection is left paused.
    #[test]
    fn faults_end_on_their_own(steps in proptest::collection::vec(step(), 1..60), seed in any::<u64>()) {
        let steps: Vec<Step> = steps.into_iter().filter(|s| !matches!(s, Step::Shutdown)).collect();
        let mut h = run(&steps, seed);
        h.advance(Duration::from_secs(6));
        for info in h.broker.faults() {
            prop_assert!(info.until.is_none() && info.held == 0, "{:?} still active", info);
        }
        h.advance(super::flow::STALL_LIMIT);
        for (id, fake) in &h.conns {
            prop_assert!(!fake.paused || fake.closed.is_some(), "{} still paused", id);
        }
    }

    /// Each message to a queue group reaches exactly one member.
    #[test]
    fn queue_group_delivers_to_exactly_one(members in 1..6usize, messages in 1..200usize, seed in any::<u64>()) {
        let mut h = Harness::with_seed(Config::default(), seed);
        let subs: Vec<_> = (0..members).map(|_| {
            let c = h.connect().unwrap();
            h.send(c, b"CONNECT {\"verbose\":false}\r\nSUB q.* workers 1\r\n");
            c
        }).collect();
        let p = h.connect().unwrap();
        h.send(p, b"CONNECT {\"verbose\":false}\r\n");
        for i in 0..messages {
            h.send(p, format!("PUB q.{i} 0\r\n\r\n").as_bytes());
        }
        let total: usize = subs.iter().map(|&c| h.take_no_info(c).matches("MSG ").count()).sum();
        prop_assert_eq!(total, messages);
    }
}

/// The shrunk case that once failed `faults_end_on_their_own`: a withheld subject, three
/// subscriptions of the publisher itself, and payloads past `max_pending`.
#[test]
fn withheld_self_delivery_pauses_and_resumes_in_turn() {
    let sub = |sid| Step::Sub {
        conn: 0,
        subject: 1,
        queue: None,
        sid,
    };
    let publish = |len| Step::Pub {
        conn: 0,
        subject: 1,
        len,
    };
    let steps = [
        sub(1),
        sub(2),
        Step::Inject {
            kind: 3,
            conn: 0,
            n: 19,
            millis: 0,
        },
        sub(0),
        publish(475),
        publish(531),
        publish(309),
    ];
    for seed in 0..64 {
        let mut h = run(&steps, seed);
        h.advance(Duration::from_secs(6));
        h.advance(super::flow::STALL_LIMIT);
        for (id, fake) in &h.conns {
            assert!(!fake.paused || fake.closed.is_some(), "{id} still paused");
        }
    }
}
