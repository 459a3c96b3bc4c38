//! Throughput scenarios: pub-only, pub/sub 1:1, fan-out 1:N, N:M and queue groups.
//!
//! One OS thread per connection. Publishers pack many `PUB`s into each `write`. Flow control
//! is end to end: every subscriber publishes how many messages it has received through an
//! atomic counter, and a publisher writes its next batch only while the messages in flight
//! (sent minus received by the slowest subscriber, or by the whole queue group) stay under a
//! window of a few MiB. The server's per-connection pending buffer therefore stays far below
//! nats-server's default `max_pending` (64 MiB), so no run ends in a slow-consumer disconnect.
//! Each publisher ends with `PING`/`PONG`, so the server has read everything it sent.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::metrics::{Measurement, Metric};
use crate::seq::{self, Checker};
use crate::wire::{self, Conn, Event};

/// Bytes of `PUB`s a publisher packs into one `write`.
const BATCH_BYTES: usize = 64 * 1024;

/// Bytes allowed in flight per subscriber (or per queue group) before a publisher waits.
const WINDOW_BYTES: u64 = 4 << 20;

/// A subscriber that sees no new message for this long declares the run failed.
const IDLE_LIMIT: Duration = Duration::from_secs(5);

/// Read timeout used so subscriber loops notice failures and completion.
const POLL_TIMEOUT: Duration = Duration::from_millis(50);

/// The shape of one throughput run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Publisher connections.
    pub pubs: usize,
    /// Subscriber connections (0 = pub-only).
    pub subs: usize,
    /// Subscribers form one queue group.
    pub queue: bool,
    /// Payload bytes per message.
    pub payload: usize,
    /// Messages per publisher.
    pub count: u64,
}

impl Plan {
    /// Messages each plain subscriber must receive.
    fn per_subscriber(&self) -> u64 {
        self.pubs as u64 * self.count
    }

    /// Messages delivered to all subscribers together (or ingested, for pub-only).
    fn delivered(&self) -> u64 {
        if self.subs == 0 || self.queue {
            self.per_subscriber()
        } else {
            self.per_subscriber() * self.subs as u64
        }
    }
}

/// State the publisher and subscriber threads share.
#[derive(Debug)]
struct Shared {
    /// Messages written by all publishers together.
    sent: AtomicU64,
    /// Messages received, per subscriber.
    received: Vec<AtomicU64>,
    /// Set by the first thread that fails, so the others stop.
    failed: AtomicBool,
    /// Whether subscribers share the messages (queue group) or each get all.
    queue: bool,
    /// Messages allowed in flight.
    window: u64,
}

impl Shared {
    /// True while `sent` messages would keep the slowest receiver within the window.
    fn may_send(&self, sent: u64) -> bool {
        if self.received.is_empty() {
            return true;
        }
        let done = if self.queue {
            self.total_received()
        } else {
            self.received
                .iter()
                .map(|r| r.load(Ordering::Acquire))
                .min()
                .unwrap_or(0)
        };
        sent.saturating_sub(done) <= self.window
    }

    fn total_received(&self) -> u64 {
        self.received
            .iter()
            .map(|r| r.load(Ordering::Acquire))
            .sum()
    }

    fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// What a subscriber thread reports.
#[derive(Debug)]
struct SubReport {
    last: Option<Instant>,
    checker: Checker,
}

/// What a publisher thread reports.
#[derive(Debug)]
struct PubReport {
    first: Instant,
    flushed: Instant,
}

/// A unique subject per run, so runs never see each other's messages.
pub fn unique_subject(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}.{}.{nanos}.{n}", std::process::id())
}

/// Runs one throughput scenario against the server at `addr`.
pub fn run(addr: SocketAddr, plan: Plan) -> io::Result<Measurement> {
    run_split(addr, addr, Duration::ZERO, plan)
}

/// Runs one throughput scenario with the subscribers on `sub_addr` and the publishers on
/// `pub_addr` (two servers joined by a leaf link), waiting `settle` after subscribing for the
/// interest to cross to the publishers' server.
pub fn run_split(
    sub_addr: SocketAddr,
    pub_addr: SocketAddr,
    settle: Duration,
    plan: Plan,
) -> io::Result<Measurement> {
    let addr = sub_addr;
    let subject = unique_subject("bench");
    let window = (WINDOW_BYTES / (plan.payload as u64 + 48)).max(16);
    let shared = Arc::new(Shared {
        sent: AtomicU64::new(0),
        received: (0..plan.subs).map(|_| AtomicU64::new(0)).collect(),
        failed: AtomicBool::new(false),
        queue: plan.queue,
        window,
    });
    let group = if plan.queue { " q" } else { "" };
    let mut sub_conns = Vec::with_capacity(plan.subs);
    for i in 0..plan.subs {
        let setup = format!("SUB {subject}{group} 1\r\n");
        sub_conns.push(Conn::open(addr, &format!("sub{i}"), &setup)?);
    }
    thread::sleep(settle);
    let mut pub_conns = Vec::with_capacity(plan.pubs);
    for i in 0..plan.pubs {
        pub_conns.push(Conn::open(pub_addr, &format!("pub{i}"), "")?);
    }

    let subs: Vec<JoinHandle<io::Result<SubReport>>> = sub_conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || guard(&shared, || subscriber(conn, &shared, i, plan)))
        })
        .collect();
    let barrier = Arc::new(Barrier::new(plan.pubs + 1));
    let pubs: Vec<JoinHandle<io::Result<PubReport>>> = pub_conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let (shared, barrier, subject) =
                (Arc::clone(&shared), Arc::clone(&barrier), subject.clone());
            thread::spawn(move || {
                guard(&shared, || {
                    publisher(conn, &shared, &barrier, i as u32, &subject, plan)
                })
            })
        })
        .collect();
    barrier.wait();

    let pub_reports = join_all(pubs);
    let sub_reports = join_all(subs);
    let (pub_reports, sub_reports) = (pub_reports?, sub_reports?);

    if plan.queue {
        let checkers: Vec<Checker> = sub_reports.iter().map(|r| r.checker.clone()).collect();
        seq::merge_members(&checkers, plan.pubs, plan.count)?;
    }
    let first = pub_reports
        .iter()
        .map(|r| r.first)
        .min()
        .expect("a publisher");
    let last = if plan.subs == 0 {
        pub_reports.iter().map(|r| r.flushed).max()
    } else {
        sub_reports.iter().filter_map(|r| r.last).max()
    }
    .unwrap_or(first);
    Ok(throughput(
        plan.delivered(),
        plan.payload,
        last.saturating_duration_since(first),
    ))
}

/// The throughput metrics for `msgs` messages of `payload` bytes in `elapsed`.
pub fn throughput(msgs: u64, payload: usize, elapsed: Duration) -> Measurement {
    let secs = elapsed.as_secs_f64().max(1e-9);
    Measurement::from([
        (Metric::MsgsPerSec, msgs as f64 / secs),
        (Metric::MbPerSec, msgs as f64 * payload as f64 / secs / 1e6),
        (Metric::ElapsedMs, secs * 1e3),
    ])
}

/// Runs `f`, marking the run failed if it errs.
fn guard<T>(shared: &Shared, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let r = f();
    if r.is_err() {
        shared.fail();
    }
    r
}

/// Joins threads; the first real error wins over "aborted" errors caused by it.
fn join_all<T>(handles: Vec<JoinHandle<io::Result<T>>>) -> io::Result<Vec<T>> {
    let mut out = Vec::with_capacity(handles.len());
    let mut first_err: Option<io::Error> = None;
    for h in handles {
        match h.join() {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(e)) => {
                let aborted = e.kind() == io::ErrorKind::Interrupted;
                if first_err
                    .as_ref()
                    .is_none_or(|f| f.kind() == io::ErrorKind::Interrupted && !aborted)
                {
                    first_err = Some(e);
                }
            }
            Err(_) => first_err = Some(io::Error::other("a bench thread panicked")),
        }
    }
    first_err.map_or(Ok(out), Err)
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "aborted: another connection failed",
    )
}

fn publisher(
    mut conn: Conn,
    shared: &Shared,
    barrier: &Barrier,
    id: u32,
    subject: &str,
    plan: Plan,
) -> io::Result<PubReport> {
    let line = wire::pub_line(subject, None, plan.payload);
    let mut payload = seq::template(plan.payload);
    let mut buf = Vec::with_capacity(BATCH_BYTES + line.len() + plan.payload + 2);
    barrier.wait();
    let first = Instant::now();
    let mut next = 1u64;
    while next <= plan.count {
        buf.clear();
        let mut n = 0u64;
        while next <= plan.count && (n == 0 || buf.len() < BATCH_BYTES) {
            seq::stamp(&mut payload, id, next);
            wire::push_pub(&mut buf, &line, &payload);
            next += 1;
            n += 1;
        }
        // Sleep rather than spin: on 2 cores a spinning publisher would steal the server's
        // CPU, and the window holds milliseconds of traffic, so a short sleep never drains it.
        while !shared.may_send(shared.sent.load(Ordering::Acquire) + n) {
            if shared.failed() {
                return Err(aborted());
            }
            thread::sleep(Duration::from_micros(100));
        }
        conn.writer.write_all(&buf)?;
        shared.sent.fetch_add(n, Ordering::AcqRel);
    }
    conn.flush()?;
    Ok(PubReport {
        first,
        flushed: Instant::now(),
    })
}

fn subscriber(mut conn: Conn, shared: &Shared, idx: usize, plan: Plan) -> io::Result<SubReport> {
    conn.set_read_timeout(Some(POLL_TIMEOUT))?;
    let mut checker = if plan.queue {
        Checker::member(plan.pubs, plan.count)
    } else {
        Checker::exact(plan.pubs)
    };
    let want = plan.per_subscriber();
    let mut got = 0u64;
    let mut last = None;
    let mut progress = (Instant::now(), 0u64);
    let Conn { writer, reader } = &mut conn;
    loop {
        let group_got = if plan.queue {
            shared.total_received()
        } else {
            got
        };
        if group_got >= want {
            break;
        }
        if shared.failed() {
            return Err(aborted());
        }
        let now = Instant::now();
        if group_got != progress.1 {
            progress = (now, group_got);
        } else if now - progress.0 > IDLE_LIMIT {
            return Err(wire::bad(format!(
                "subscriber {idx}: stuck at {group_got} of {want} messages (lost messages?)"
            )));
        }
        let before = got;
        let r = reader.poll(|ev| match ev {
            Event::Msg { payload, .. } => {
                checker.check(payload)?;
                got += 1;
                Ok(false)
            }
            Event::Ping => writer.write_all(b"PONG\r\n").map(|()| false),
            Event::Err(text) => Err(wire::server_err(text)),
            Event::Pong | Event::Other => Ok(false),
        });
        match r {
            Ok(_) => {}
            Err(e) if wire::is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        if got != before {
            last = Some(Instant::now());
            shared.received[idx].store(got, Ordering::Release);
        }
        if !plan.queue && got > want {
            return Err(wire::bad(format!(
                "subscriber {idx}: got {got} messages, sent {want}"
            )));
        }
    }
    Ok(SubReport { last, checker })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_min_for_fanout_and_sum_for_queue() {
        let shared = Shared {
            sent: AtomicU64::new(0),
            received: vec![AtomicU64::new(10), AtomicU64::new(50)],
            failed: AtomicBool::new(false),
            queue: false,
            window: 20,
        };
        assert!(shared.may_send(30));
        assert!(!shared.may_send(31));
        let queue = Shared {
            queue: true,
            ..shared
        };
        assert!(queue.may_send(80));
        assert!(!queue.may_send(81));
    }

    #[test]
    fn delivered_counts() {
        let p = Plan {
            pubs: 4,
            subs: 4,
            queue: false,
            payload: 16,
            count: 10,
        };
        assert_eq!(p.delivered(), 160);
        assert_eq!(Plan { queue: true, ..p }.delivered(), 40);
        assert_eq!(Plan { subs: 0, ..p }.delivered(), 40);
    }

    #[test]
    fn throughput_math() {
        let m = throughput(1_000, 1_000, Duration::from_millis(500));
        assert_eq!(m[&Metric::MsgsPerSec], 2_000.0);
        assert_eq!(m[&Metric::MbPerSec], 2.0);
        assert_eq!(m[&Metric::ElapsedMs], 500.0);
    }

    #[test]
    fn subjects_are_unique() {
        assert_ne!(unique_subject("a"), unique_subject("a"));
    }
}
