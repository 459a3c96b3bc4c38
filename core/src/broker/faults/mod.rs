//! Fault injection: the broker misbehaving on purpose, as state with a clear end.
//!
//! Every fault in [`Fault`] is kept here while it is active, with its end (a count, an instant
//! on the broker's clock, or a [`Broker::clear`]). The broker's paths ask the faults only when
//! [`Faults::any`] is true, so a broker without faults pays one flag test per hook.
//!
//! The hooks, in the order a connection meets them: accept (refused connects), CONNECT
//! (refused connects), PING (ignored pings), SUB (close the next subscriber), PUB (drop,
//! withhold, delay), every write (split, delay pieces: see `trickle`), output (pieces that
//! are due), close (waiting pieces go first), and the timer (ends, delayed messages).

use std::time::Duration;

use bytes::Bytes;

use self::trickle::{Split, Trickles};
use super::conn::Conn;
use super::{Broker, Message, Phase, conn_in};
use crate::fault::{Fault, FaultError, FaultId, FaultInfo, Lasting, Refusal, Target};
use crate::{CloseReason, ConnId, Instant, Output, subject};

/// The active faults and what they hold back.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Whether anything below is non-empty: the one test on the hot paths.
    any: bool,
    next_id: u64,
    active: Vec<Active>,
    /// Messages withheld or delayed, in publish order.
    held: Vec<Held>,
    /// When the first delayed message is due (`held` entries with a release time).
    next_release: Option<Instant>,
    /// Writes cut into pieces, waiting to go out.
    trickles: Trickles,
}

/// An active fault.
#[derive(Debug)]
struct Active {
    id: FaultId,
    fault: Fault,
    since: Instant,
    until: Option<Instant>,
    remaining: Option<u64>,
    /// Connections whose reading this fault paused.
    paused: Vec<ConnId>,
}

/// A message held back by a withhold or delay fault.
#[derive(Debug)]
struct Held {
    fault: FaultId,
    /// When it is delivered; `None`: when its fault ends.
    release_at: Option<Instant>,
    from: ConnId,
    /// The publisher's account.
    account: super::accounts::AccountId,
    echo: bool,
    subject: Bytes,
    reply: Option<Bytes>,
    header_len: usize,
    message: Bytes,
}

impl Faults {
    /// Whether any fault is active or holds something back.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.any
    }

    fn refresh(&mut self) {
        self.any = !self.active.is_empty() || !self.held.is_empty() || !self.trickles.is_empty();
    }

    /// The earliest instant something must happen.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if !self.any {
            return None;
        }
        let ends = self.active.iter().filter_map(|a| a.until);
        ends.chain(self.next_release)
            .chain(self.trickles.deadline())
            .min()
    }

    /// How writes to `c` are cut, if a split fault matches it.
    pub(crate) fn split_for(&self, c: &Conn) -> Option<Split> {
        self.active.iter().find_map(|a| match &a.fault {
            Fault::SplitWrites {
                target,
                chunk,
                delay,
                ..
            } if matches(target, c) => Some(Split {
                chunk: *chunk,
                delay: *delay,
            }),
            _ => None,
        })
    }

    /// Uses up one refusal of kind `refusal`, if one is pending.
    fn take_refusal(&mut self, refusal: Refusal) -> bool {
        let Some(index) = self.active.iter().position(
            |a| matches!(&a.fault, Fault::RefuseConnects { refusal: r, .. } if *r == refusal),
        ) else {
            return false;
        };
        self.count_down(index);
        true
    }

    /// Counts one use of the counted fault at `index`; removes it after its last.
    fn count_down(&mut self, index: usize) {
        let active = &mut self.active[index];
        let left = active.remaining.unwrap_or(1).saturating_sub(1);
        active.remaining = Some(left);
        if left == 0 {
            self.active.remove(index);
            self.refresh();
        }
    }

    fn ignores_pings(&self, c: &Conn) -> bool {
        self.active
            .iter()
            .any(|a| matches!(&a.fault, Fault::IgnorePings { target, .. } if matches(target, c)))
    }
}

mod trickle;

/// Whether `target` designates `c`.
fn matches(target: &Target, c: &Conn) -> bool {
    match target {
        Target::Cid(cid) => c.cid == *cid,
        Target::Name(name) => c.opts.name == *name,
        Target::All => true,
    }
}

/// Checks a subject pattern given in a fault.
fn valid_pattern(pattern: &str) -> Result<(), FaultError> {
    if subject::is_valid_subscription(pattern.as_bytes()) {
        Ok(())
    } else {
        Err(FaultError::Invalid(
            "the subject is not a valid subject or pattern",
        ))
    }
}

/// Checks a duration given in a fault.
fn valid_lasting(lasting: Lasting) -> Result<(), FaultError> {
    match lasting {
        Lasting::For(d) if d.is_zero() => Err(FaultError::Invalid("the duration is zero")),
        _ => Ok(()),
    }
}

impl Broker {
    /// Injects `fault` (see [`Fault`] for each kind and its end). Faults that act at once
    /// (closes, async INFO) are done when this returns and are not listed by
    /// [`Broker::faults`]; the others stay active until their end. Drain
    /// [`Broker::poll_output`] afterwards, as after any input.
    ///
    /// # Errors
    /// A malformed fault, a target that matches no open connection, or a broker shutting
    /// down.
    pub fn inject(&mut self, fault: Fault, now: Instant) -> Result<FaultId, FaultError> {
        self.advance(now);
        if self.phase >= Phase::Draining {
            return Err(FaultError::ShuttingDown);
        }
        let id = FaultId(self.faults.next_id);
        let mut until = None;
        let mut remaining = None;
        let mut paused = Vec::new();
        match &fault {
            Fault::Close { target, err } => {
                let ids = self.targets(target)?;
                for conn in ids {
                    self.close(conn, CloseReason::FaultInjected, err.as_deref());
                }
                self.faults.next_id += 1;
                return Ok(id);
            }
            Fault::AsyncInfo {
                target,
                connect_urls,
                lame_duck,
            } => {
                let ids = self.targets(target)?;
                for conn in ids {
                    self.send_async_info(conn, connect_urls, *lame_duck);
                }
                self.faults.next_id += 1;
                return Ok(id);
            }
            Fault::CloseNextSubscriber { subject, .. } => valid_pattern(subject)?,
            Fault::IgnorePings { lasting, .. } => valid_lasting(*lasting)?,
            Fault::Withhold { subject, lasting } => {
                valid_pattern(subject)?;
                valid_lasting(*lasting)?;
            }
            Fault::Delay {
                subject,
                by,
                lasting,
            } => {
                valid_pattern(subject)?;
                valid_lasting(*lasting)?;
                if by.is_zero() {
                    return Err(FaultError::Invalid("the delay is zero"));
                }
            }
            Fault::Drop { subject, count } => {
                valid_pattern(subject)?;
                if *count == 0 {
                    return Err(FaultError::Invalid("the count is zero"));
                }
                remaining = Some(*count);
            }
            Fault::SplitWrites { chunk, lasting, .. } => {
                valid_lasting(*lasting)?;
                if *chunk == 0 {
                    return Err(FaultError::Invalid("the chunk size is zero"));
                }
            }
            Fault::RefuseConnects { count, .. } => {
                if *count == 0 {
                    return Err(FaultError::Invalid("the count is zero"));
                }
                remaining = Some(*count);
            }
            Fault::PauseReading { target, lasting } => {
                valid_lasting(*lasting)?;
                paused = self.targets(target)?;
                for &conn in &paused {
                    self.hold_reading(conn);
                }
            }
        }
        let lasting = match &fault {
            Fault::IgnorePings { lasting, .. }
            | Fault::Withhold { lasting, .. }
            | Fault::Delay { lasting, .. }
            | Fault::SplitWrites { lasting, .. }
            | Fault::PauseReading { lasting, .. } => *lasting,
            _ => Lasting::UntilCleared,
        };
        if let Lasting::For(d) = lasting {
            until = Some(now + d);
        }
        self.faults.next_id += 1;
        self.faults.active.push(Active {
            id,
            fault,
            since: now,
            until,
            remaining,
            paused,
        });
        self.faults.refresh();
        Ok(id)
    }

    /// Ends the active fault `id` now: withheld and delayed messages are delivered, paused
    /// connections read again, waiting pieces of writes are sent.
    ///
    /// # Errors
    /// [`FaultError::UnknownFault`] if `id` is not active (it ended or never was).
    pub fn clear(&mut self, id: FaultId, now: Instant) -> Result<(), FaultError> {
        self.advance(now);
        if !self.end_fault(id) {
            return Err(FaultError::UnknownFault(id));
        }
        Ok(())
    }

    /// The active faults, oldest first.
    pub fn faults(&self) -> Vec<FaultInfo> {
        self.faults
            .active
            .iter()
            .map(|a| FaultInfo {
                id: a.id,
                fault: a.fault.clone(),
                since: a.since,
                until: a.until,
                remaining: a.remaining,
                held: self.faults.held.iter().filter(|h| h.fault == a.id).count(),
            })
            .collect()
    }

    /// The open connections `target` designates, or an error if there are none.
    fn targets(&self, target: &Target) -> Result<Vec<ConnId>, FaultError> {
        let ids: Vec<ConnId> = self
            .slots
            .iter()
            .filter_map(|slot| slot.conn.as_deref())
            .filter(|c| matches(target, c))
            .map(|c| c.id)
            .collect();
        if ids.is_empty() {
            return Err(FaultError::NoSuchConnection);
        }
        Ok(ids)
    }

    /// Ends fault `id`, undoing what it holds. False if it is not active.
    fn end_fault(&mut self, id: FaultId) -> bool {
        let Some(index) = self.faults.active.iter().position(|a| a.id == id) else {
            return false;
        };
        let active = self.faults.active.remove(index);
        match active.fault {
            Fault::Withhold { .. } | Fault::Delay { .. } => self.release_held(Some(id), None),
            Fault::PauseReading { .. } => {
                for conn in active.paused {
                    self.unhold_reading(conn);
                }
            }
            Fault::SplitWrites { .. } => self.flush_trickles(),
            _ => {}
        }
        self.faults.refresh();
        true
    }

    /// Ends every fault (the broker is shutting down): held messages are delivered first.
    pub(super) fn end_all_faults(&mut self) {
        if !self.faults.any() {
            return;
        }
        let ids: Vec<FaultId> = self.faults.active.iter().map(|a| a.id).collect();
        for id in ids {
            self.end_fault(id);
        }
        self.release_held(None, None);
        self.flush_trickles();
    }

    /// The fault timer: ends faults whose time is up and delivers delayed messages that are
    /// due. (Pieces of writes that are due go out from [`Broker::poll_output`].)
    pub(super) fn fault_timers(&mut self, now: Instant) {
        let due: Vec<FaultId> = self
            .faults
            .active
            .iter()
            .filter(|a| a.until.is_some_and(|until| until <= now))
            .map(|a| a.id)
            .collect();
        for id in due {
            self.end_fault(id);
        }
        if self.faults.next_release.is_some_and(|at| at <= now) {
            self.release_held(None, Some(now));
        }
    }

    /// Delivers held messages, in publish order: those of fault `fault` (all if `None`) that
    /// are due at `now` (all if `None`; messages withheld until their fault ends are due only
    /// then).
    fn release_held(&mut self, fault: Option<FaultId>, now: Option<Instant>) {
        if self.faults.held.is_empty() {
            return;
        }
        let (due, rest): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.faults.held)
            .into_iter()
            .partition(|h| {
                fault.is_none_or(|f| h.fault == f)
                    && match now {
                        None => true,
                        Some(now) => h.release_at.is_some_and(|at| at <= now),
                    }
            });
        self.faults.held = rest;
        self.faults.next_release = self.faults.held.iter().filter_map(|h| h.release_at).min();
        self.faults.refresh();
        for held in due {
            let matches = self.accounts.matches(held.account, &held.subject);
            let msg = Message {
                subject: &held.subject,
                reply: held.reply.as_deref(),
                header_len: held.header_len,
                message: &held.message,
                queues: None,
            };
            self.deliver(held.from, held.echo, &matches, &msg);
            // Consumers these deliveries loaded stall the publisher, if it is still here.
            self.end_input(held.from);
        }
    }

    /// Stops reading `conn` for a fault (unless flow control already did).
    fn hold_reading(&mut self, conn: ConnId) {
        let Some(c) = self.conn_mut(conn) else { return };
        if c.flow.held {
            return;
        }
        let was_paused = c.flow.is_paused();
        c.flow.held = true;
        if !was_paused {
            self.ready.push_back(Output::PauseReading { conn });
        }
    }

    /// Ends a fault's pause of `conn` (reading resumes unless flow control still pauses it).
    fn unhold_reading(&mut self, conn: ConnId) {
        let Some(c) = self.conn_mut(conn) else { return };
        if !c.flow.held {
            return;
        }
        c.flow.held = false;
        if !c.flow.is_paused() {
            self.ready.push_back(Output::ResumeReading { conn });
        }
    }

    /// An asynchronous INFO for `conn`, if it announced protocol 1 (as nats-server sends them).
    fn send_async_info(&mut self, conn: ConnId, connect_urls: &[String], lame_duck: bool) {
        let Some(c) = conn_in(&mut self.slots, conn) else {
            return;
        };
        if c.opts.protocol < 1 {
            return;
        }
        let info = super::info::InfoFor {
            client_id: c.cid,
            client_ip: c.peer.addr,
            nonce: c.nonce.as_deref(),
            account: None,
            lame_duck,
            websocket: c.peer.transport == crate::Transport::WebSocket,
        };
        let buf = c.out.line_buffer();
        let before = buf.len();
        self.info.write_with_urls(buf, info, connect_urls);
        c.out.commit(before);
        self.mark_dirty(conn);
    }

    // ----- hooks, called only while `self.faults.any()` -----

    /// On accept: whether a refusal closes this connection (max connections).
    pub(super) fn fault_refuses_accept(&mut self, conn: ConnId) -> bool {
        if !self.faults.take_refusal(Refusal::MaxConnections) {
            return false;
        }
        self.close(
            conn,
            CloseReason::MaxConnectionsExceeded,
            Some("maximum connections exceeded"),
        );
        true
    }

    /// On CONNECT: whether a refusal closes this connection (authorization).
    pub(super) fn fault_refuses_connect(&mut self, conn: ConnId) -> bool {
        if !self.faults.take_refusal(Refusal::Authorization) {
            return false;
        }
        self.close(
            conn,
            CloseReason::AuthenticationFailure,
            Some("Authorization Violation"),
        );
        true
    }

    /// On PING: whether it goes unanswered.
    pub(super) fn fault_ignores_ping(&mut self, conn: ConnId) -> bool {
        conn_in(&mut self.slots, conn).is_some_and(|c| self.faults.ignores_pings(c))
    }

    /// After a SUB to `subject`: closes `conn` if a fault waits for such a subscriber.
    pub(super) fn fault_subscribed(&mut self, conn: ConnId, sub_subject: &[u8]) {
        let found = self.faults.active.iter().position(|a| {
            matches!(&a.fault, Fault::CloseNextSubscriber { subject, .. }
                if subject.as_bytes() == sub_subject
                    || subject::matches_pattern(subject.as_bytes(), sub_subject))
        });
        let Some(index) = found else { return };
        let active = self.faults.active.remove(index);
        self.faults.refresh();
        if let Fault::CloseNextSubscriber { err, .. } = active.fault {
            self.close(conn, CloseReason::FaultInjected, err.as_deref());
        }
    }

    /// On PUB: whether a fault drops or holds this message (then it is not routed now).
    pub(super) fn fault_intercepts(&mut self, from: ConnId, echo: bool, msg: &Message<'_>) -> bool {
        let now = self.now;
        let found = self.faults.active.iter().position(|a| match &a.fault {
            Fault::Drop { subject, .. }
            | Fault::Withhold { subject, .. }
            | Fault::Delay { subject, .. } => {
                subject::matches_pattern(subject.as_bytes(), msg.subject)
            }
            _ => false,
        });
        let Some(index) = found else { return false };
        let active = &self.faults.active[index];
        let release_at = match &active.fault {
            Fault::Drop { .. } => {
                self.faults.count_down(index);
                return true;
            }
            Fault::Delay { by, .. } => Some(now + *by),
            _ => None,
        };
        if let Some(at) = release_at {
            let next = self.faults.next_release.get_or_insert(at);
            *next = (*next).min(at);
        }
        let account = conn_in(&mut self.slots, from).map_or(0, |c| c.account);
        self.faults.held.push(Held {
            fault: active.id,
            release_at,
            from,
            account,
            echo,
            subject: Bytes::copy_from_slice(msg.subject),
            reply: msg.reply.map(Bytes::copy_from_slice),
            header_len: msg.header_len,
            message: msg.message.clone(),
        });
        self.faults.refresh();
        true
    }

    /// A transmit to `conn`: queued to go out in pieces if a split fault matches it (or
    /// pieces of earlier writes still wait); then the first piece, if it is due.
    pub(super) fn fault_transmit(&mut self, conn: ConnId, segments: Vec<Bytes>) -> Option<Output> {
        let now = self.now;
        let split = conn_in(&mut self.slots, conn).and_then(|c| self.faults.split_for(c));
        let split = match split {
            Some(split) => split,
            // Behind the pieces still waiting, cut as they were.
            None if self.faults.trickles.contains(conn) => Split {
                chunk: usize::MAX,
                delay: Duration::ZERO,
            },
            None => return Some(Output::Transmit { conn, segments }),
        };
        self.faults.trickles.push(conn, split, segments, now);
        self.faults.refresh();
        self.next_piece(Some(conn))
    }

    /// The next piece of a cut write that is due, for `conn` or any connection.
    pub(super) fn next_piece(&mut self, conn: Option<ConnId>) -> Option<Output> {
        let (conn, piece) = self.faults.trickles.next_due(conn, self.now)?;
        self.faults.refresh();
        Some(Output::Transmit {
            conn,
            segments: vec![piece],
        })
    }

    /// Every waiting piece goes out now, uncut (a split fault ended).
    fn flush_trickles(&mut self) {
        for (conn, segments) in self.faults.trickles.take_all() {
            self.ready.push_back(Output::Transmit { conn, segments });
        }
        self.faults.refresh();
    }

    /// `c` (already removed) closes: what still waits for it goes out now, uncut and before
    /// its last bytes, so its close stays its last output (dropped if the close does not
    /// flush).
    pub(super) fn fault_closing(&mut self, c: &Conn, flushes: bool) {
        if let Some(segments) = self.faults.trickles.take(c.id) {
            self.faults.refresh();
            if flushes {
                self.ready.push_back(Output::Transmit {
                    conn: c.id,
                    segments,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
