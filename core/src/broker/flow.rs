//! Producer back-pressure: fast producers wait, healthy subscribers are not cut off.
//!
//! nats-server's "stall gate", as a state transition. When one input from a producer pushes a
//! consumer's outbound bytes past the stall threshold (3/4 of `max_pending`), the broker asks
//! the host to stop reading from that producer ([`Output::PauseReading`]) and to read again
//! ([`Output::ResumeReading`]) as soon as every consumer it waits for has drained back to the
//! threshold, has closed, or [`STALL_LIMIT`] has passed (a core timer), whichever comes first.
//! The host never blocks: it only leaves the producer's socket unread, so the kernel's flow
//! control slows the producer down.
//!
//! A producer feeding one stuck and many healthy consumers is paused at most [`STALL_LIMIT`]
//! per input. Each input still adds to the stuck consumer's queue, so it reaches `max_pending`
//! after a bounded number of pauses and is closed as a slow consumer, exactly as without the
//! gate; the healthy consumers received every message meanwhile and the producer then runs at
//! full speed again.
//!
//! With `no_fast_producer_stall`, a message for a consumer past the threshold is dropped for
//! that consumer instead, and nobody waits.

use std::time::Duration;

use super::Broker;
use super::timers::TimerKind;
use crate::{ConnId, Instant, Output};

/// Longest a producer stays paused for one input: nats-server's `stallTotalAllowed`, the stall
/// budget of one read loop iteration.
pub(crate) const STALL_LIMIT: Duration = Duration::from_millis(10);

/// Outbound bytes past which a consumer stalls its producers: 3/4 of `max_pending`.
pub(crate) fn stall_threshold(max_pending: usize) -> usize {
    max_pending / 4 * 3
}

/// One connection's back-pressure state, as a consumer and as a producer.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// As a consumer: producers paused until this connection drains.
    waiters: Vec<ConnId>,
    /// As a consumer: already listed in the broker's stalled consumers of the current input.
    marked: bool,
    /// As a producer: the pause in force, while its reading is paused.
    pause: Option<Pause>,
    /// As a producer: how many times its reading was paused (`stalls` in `/connz`).
    pub(crate) stalls: u64,
    /// As a producer: reading paused by an injected fault (see `faults`), on top of any
    /// flow-control pause. The host sees one pause until both end.
    pub(crate) held: bool,
}

impl Flow {
    /// Whether the host was told to stop reading this connection.
    pub(crate) fn is_paused(&self) -> bool {
        self.pause.is_some() || self.held
    }

    /// Takes the producers waiting for this consumer (when it closes).
    pub(crate) fn take_waiters(&mut self) -> Vec<ConnId> {
        std::mem::take(&mut self.waiters)
    }
}

/// A paused producer.
#[derive(Debug)]
struct Pause {
    /// When it resumes at the latest.
    until: Instant,
    /// Consumers still past the threshold; it resumes early once this is empty.
    waiting_on: Vec<ConnId>,
}

impl Broker {
    /// Called after queueing a delivery that left `consumer` past the stall threshold: notes it
    /// for the current input.
    pub(super) fn note_consumer_load(&mut self, consumer: ConnId) {
        let Some(c) = self.conn_mut(consumer) else {
            return;
        };
        if !c.flow.marked {
            c.flow.marked = true;
            self.stalled_consumers.push(consumer);
        }
    }

    /// Ends one input from `producer`: pauses it if its deliveries pushed consumers past the
    /// threshold.
    pub(super) fn end_input(&mut self, producer: ConnId) {
        if self.stalled_consumers.is_empty() {
            return;
        }
        let mut consumers = std::mem::take(&mut self.stalled_consumers);
        let now = self.now;
        let threshold = stall_threshold(self.config.max_pending);
        // Consumers still open and still loaded; the marks are cleared for the next input.
        consumers.retain(|&id| match super::conn_in(&mut self.slots, id) {
            Some(c) => {
                c.flow.marked = false;
                c.out.pending() > threshold
            }
            None => false,
        });
        if self.config.no_fast_producer_stall || self.phase >= super::Phase::Draining {
            consumers.clear();
        }
        // `Some(true)`: paused now; `Some(false)`: already paused, now also waiting for these
        // consumers; `None`: nothing to wait for, or the producer is gone.
        let held = self.conn_mut(producer).is_some_and(|p| p.flow.held);
        let paused_now = match self.conn_mut(producer) {
            Some(p) if !consumers.is_empty() => match &mut p.flow.pause {
                // Input the host read before it saw the pause: wait for these consumers too,
                // within the same time bound.
                Some(pause) => {
                    for &id in &consumers {
                        if !pause.waiting_on.contains(&id) {
                            pause.waiting_on.push(id);
                        }
                    }
                    Some(false)
                }
                None => {
                    p.flow.pause = Some(Pause {
                        until: now + STALL_LIMIT,
                        waiting_on: consumers.clone(),
                    });
                    p.flow.stalls += 1;
                    Some(true)
                }
            },
            _ => None,
        };
        if paused_now.is_some() {
            for &id in &consumers {
                if let Some(c) = self.conn_mut(id) {
                    if !c.flow.waiters.contains(&producer) {
                        c.flow.waiters.push(producer);
                    }
                }
            }
        }
        if paused_now == Some(true) {
            self.stats.stalled_clients += 1;
            self.timers
                .schedule(now + STALL_LIMIT, producer, TimerKind::Stall);
            if !held {
                self.ready
                    .push_back(Output::PauseReading { conn: producer });
            }
        }
        // The scratch list keeps its capacity for the next input.
        consumers.clear();
        self.stalled_consumers = consumers;
    }

    /// Called after `consumer` reported written bytes: releases the producers waiting for it
    /// once it is back at or under the threshold.
    pub(super) fn consumer_drained(&mut self, consumer: ConnId) {
        let threshold = stall_threshold(self.config.max_pending);
        let Some(c) = self.conn_mut(consumer) else {
            return;
        };
        if c.flow.waiters.is_empty() || c.out.pending() > threshold {
            return;
        }
        let waiters = std::mem::take(&mut c.flow.waiters);
        self.release(consumer, &waiters);
        // Give the (now empty) list back, keeping its capacity.
        if let Some(c) = self.conn_mut(consumer) {
            if c.flow.waiters.is_empty() {
                let mut waiters = waiters;
                waiters.clear();
                c.flow.waiters = waiters;
            }
        }
    }

    /// `consumer` no longer holds back `waiters` (it drained or closed): each producer resumes
    /// once nothing else holds it back.
    pub(super) fn release(&mut self, consumer: ConnId, waiters: &[ConnId]) {
        for &producer in waiters {
            let Some(p) = self.conn_mut(producer) else {
                continue;
            };
            let Some(pause) = &mut p.flow.pause else {
                continue;
            };
            pause.waiting_on.retain(|&id| id != consumer);
            if pause.waiting_on.is_empty() {
                self.resume(producer);
            }
        }
    }

    /// The stall timer of `producer` fired: it resumes if its bound has passed.
    pub(super) fn stall_timer(&mut self, producer: ConnId, now: Instant) {
        let due = self
            .conn_mut(producer)
            .and_then(|p| p.flow.pause.as_ref())
            .is_some_and(|pause| pause.until <= now);
        if due {
            self.resume(producer);
        }
    }

    /// Lets the host read from `producer` again.
    fn resume(&mut self, producer: ConnId) {
        if let Some(p) = self.conn_mut(producer) {
            if p.flow.pause.take().is_some() && !p.flow.held {
                self.ready
                    .push_back(Output::ResumeReading { conn: producer });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;
    use crate::{CloseReason, Config};

    const QUIET: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
    /// Payload of every test message; a MSG line adds 15–20 bytes.
    const PAYLOAD: usize = 1000;

    /// `max_pending` of 16 KiB: the stall threshold is 12 KiB, about 12 messages.
    fn harness(no_fast_producer_stall: bool) -> Harness {
        Harness::new(Config {
            max_pending: 16 * 1024,
            max_payload: 4096,
            no_fast_producer_stall,
            ..Config::default()
        })
    }

    fn subscriber(h: &mut Harness) -> ConnId {
        let c = h.connect().unwrap();
        h.send(c, QUIET);
        h.send(c, b"SUB flow 1\r\n");
        h.take(c);
        c
    }

    fn producer(h: &mut Harness) -> ConnId {
        let p = h.connect().unwrap();
        h.send(p, QUIET);
        h.take(p);
        p
    }

    /// One input of `n` messages on `flow`.
    fn publish(h: &mut Harness, p: ConnId, n: usize) {
        let mut input = Vec::new();
        for _ in 0..n {
            input.extend_from_slice(format!("PUB flow {PAYLOAD}\r\n").as_bytes());
            input.extend(std::iter::repeat_n(b'x', PAYLOAD));
            input.extend_from_slice(b"\r\n");
        }
        h.send(p, &input);
    }

    fn messages(h: &mut Harness, c: ConnId) -> usize {
        h.take_no_info(c).matches("MSG flow 1 ").count()
    }

    #[test]
    fn threshold_is_three_quarters() {
        assert_eq!(stall_threshold(64 * 1024 * 1024), 48 * 1024 * 1024);
        assert_eq!(stall_threshold(1024), 768);
        assert_eq!(stall_threshold(3), 0);
    }

    #[test]
    fn a_producer_pauses_past_the_threshold_and_resumes_once_the_consumer_drains() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, p, 12);
        assert!(!h.is_paused(p), "12 messages stay under 12 KiB");
        publish(&mut h, p, 1);
        assert!(h.is_paused(p));
        assert!(h.broker.is_reading_paused(p));
        assert_eq!(h.broker.stats().stalled_clients, 1);
        let stalls = |h: &Harness| h.broker.connections().find(|c| c.id == p).unwrap().stalls;
        assert_eq!(stalls(&h), 1);
        // Draining part of the way keeps it paused; back to the threshold resumes it at once,
        // long before the stall bound.
        h.report_backlog(sub, 200);
        assert!(h.is_paused(p));
        h.report_backlog(sub, 2000);
        assert!(!h.is_paused(p));
        assert_eq!(h.conns[&p].pauses, 1);
        assert_eq!(h.closed(sub), None);
        assert_eq!(messages(&mut h, sub), 13);
    }

    #[test]
    fn the_stall_timer_bounds_a_pause() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, p, 13);
        assert!(h.is_paused(p));
        assert_eq!(h.broker.poll_timeout(), Some(h.now + STALL_LIMIT));
        h.advance(STALL_LIMIT - Duration::from_millis(1));
        assert!(h.is_paused(p));
        h.advance(Duration::from_millis(1));
        assert!(
            !h.is_paused(p),
            "resumed by the timer though the consumer is stuck"
        );
        assert_eq!(h.closed(sub), None);
        // Every further input past the threshold pauses it again.
        publish(&mut h, p, 1);
        assert!(h.is_paused(p));
        assert_eq!(h.broker.stats().stalled_clients, 2);
    }

    /// One producer, one stuck consumer, three healthy ones. The producer publishes whenever it
    /// is not paused and otherwise waits for the virtual clock. The stuck consumer costs it a
    /// bounded delay, then is closed as a slow consumer; the healthy ones get every message
    /// and the producer runs unpaused after that.
    #[test]
    fn one_stuck_consumer_delays_a_producer_boundedly_then_is_closed() {
        let mut h = harness(false);
        let stuck = subscriber(&mut h);
        let healthy: Vec<ConnId> = (0..3).map(|_| subscriber(&mut h)).collect();
        let p = producer(&mut h);
        h.set_stuck(stuck, true);
        let start = h.now;
        let total = 200;
        let mut sent = 0;
        let mut closed_after = None;
        while sent < total {
            if h.is_paused(p) {
                h.advance(Duration::from_millis(1));
                continue;
            }
            publish(&mut h, p, 2);
            sent += 2;
            if closed_after.is_none() && h.closed(stuck).is_some() {
                closed_after = Some((sent, h.now.saturating_duration_since(start)));
            }
        }
        assert_eq!(h.closed(stuck), Some(CloseReason::SlowConsumerPendingBytes));
        let (at_message, delay) = closed_after.unwrap();
        // From the threshold (about 12 messages) to max_pending (about 16), two messages per
        // input: two or three pauses of at most STALL_LIMIT each.
        assert!(at_message <= 18, "closed after {at_message} messages");
        assert!(delay <= 3 * STALL_LIMIT, "producer delayed {delay:?}");
        assert!(h.conns[&p].pauses <= 3);
        assert!(!h.is_paused(p));
        for &c in &healthy {
            assert_eq!(h.closed(c), None);
            assert_eq!(messages(&mut h, c), total);
        }
        assert_eq!(h.broker.stats().slow_consumers, 1);
        // The slow consumer's backlog was dropped, not flushed after its close.
        assert_eq!(h.conns[&stuck].after_close, 0);
    }

    #[test]
    fn a_producer_waits_for_every_loaded_consumer() {
        let mut h = harness(false);
        let a = subscriber(&mut h);
        let b = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(a, true);
        h.set_stuck(b, true);
        publish(&mut h, p, 13);
        assert!(h.is_paused(p));
        h.report_backlog(a, usize::MAX);
        assert!(h.is_paused(p), "b is still loaded");
        h.report_backlog(b, usize::MAX);
        assert!(!h.is_paused(p));
    }

    #[test]
    fn one_consumer_draining_releases_every_producer_waiting_for_it() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let a = producer(&mut h);
        let b = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, a, 13);
        publish(&mut h, b, 1);
        assert!(h.is_paused(a) && h.is_paused(b));
        assert_eq!(h.broker.stats().stalled_clients, 2);
        h.report_backlog(sub, usize::MAX);
        assert!(!h.is_paused(a) && !h.is_paused(b));
        // Their stall timers fire later and change nothing.
        h.advance(STALL_LIMIT);
        assert_eq!((h.conns[&a].pauses, h.conns[&b].pauses), (1, 1));
    }

    #[test]
    fn a_closing_consumer_releases_its_producers() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, p, 13);
        assert!(h.is_paused(p));
        h.disconnect(sub);
        assert!(!h.is_paused(p));
    }

    #[test]
    fn a_producer_closed_while_paused_is_never_resumed() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, p, 13);
        assert!(h.is_paused(p));
        h.disconnect(p);
        // The harness fails on a resume after a close, from a drain or from the timer.
        h.report_backlog(sub, usize::MAX);
        h.advance(STALL_LIMIT);
        assert!(!h.broker.is_reading_paused(p));
        assert_eq!(h.closed(sub), None);
    }

    #[test]
    fn input_read_before_the_pause_is_routed() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        publish(&mut h, p, 13);
        assert!(h.is_paused(p));
        publish(&mut h, p, 1);
        assert!(h.is_paused(p));
        assert_eq!(h.conns[&p].pauses, 1, "still the same pause");
        assert_eq!(messages(&mut h, sub), 14);
        h.advance(STALL_LIMIT);
        assert!(!h.is_paused(p), "the first pause's bound holds");
    }

    #[test]
    fn no_fast_producer_stall_drops_for_the_loaded_consumer_only() {
        let mut h = harness(true);
        let stuck = subscriber(&mut h);
        let healthy = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(stuck, true);
        for _ in 0..50 {
            publish(&mut h, p, 1);
            assert!(!h.is_paused(p));
        }
        assert_eq!(h.closed(stuck), None, "dropping keeps it under max_pending");
        assert_eq!(messages(&mut h, healthy), 50);
        let got = messages(&mut h, stuck);
        assert!(
            (12..=13).contains(&got),
            "{got} messages reached the stuck consumer"
        );
        assert_eq!(h.broker.stats().stalled_clients, 0);
        // Once it drains, it receives again.
        h.report_backlog(stuck, usize::MAX);
        h.set_stuck(stuck, false);
        publish(&mut h, p, 1);
        assert_eq!(messages(&mut h, stuck), 1);
    }

    #[test]
    fn a_stuck_consumer_never_holds_more_than_max_pending() {
        let mut h = harness(false);
        let sub = subscriber(&mut h);
        let p = producer(&mut h);
        h.set_stuck(sub, true);
        let mut peak = 0;
        for _ in 0..100 {
            if h.closed(sub).is_some() {
                break;
            }
            publish(&mut h, p, 1);
            peak = peak.max(h.conns[&sub].backlog);
            h.advance(STALL_LIMIT);
        }
        assert_eq!(h.closed(sub), Some(CloseReason::SlowConsumerPendingBytes));
        assert!(peak <= 16 * 1024, "{peak} bytes pending");
        assert!(!h.is_paused(p));
    }
}
