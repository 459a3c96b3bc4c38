//! A deterministic harness for driving a [`Broker`] without sockets: fake connections, a
//! virtual clock advanced to [`Broker::poll_timeout`], a fixed seed, no sleeps.
//!
//! Enabled in this crate's tests and, for other crates, with the `testing` feature.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;

use crate::{
    Broker, CloseReason, Config, ConnId, Fault, FaultError, FaultId, Instant, LeafUrl, Notice,
    Output, PeerInfo,
};

/// What one fake client has received so far.
#[derive(Debug, Default, Clone)]
pub struct FakeConn {
    /// Bytes received and not yet taken by [`Harness::take`].
    pub received: Vec<u8>,
    /// Why the broker closed it, once it has.
    pub closed: Option<CloseReason>,
    /// How many `Output::Close` the broker emitted for it (must never exceed one).
    pub closes: usize,
    /// Bytes that arrived after its close (must stay zero).
    pub after_close: usize,
    /// Whether the broker asked to stop reading it ([`Output::PauseReading`]).
    pub paused: bool,
    /// How many pauses the broker asked for.
    pub pauses: usize,
    /// Whether it takes no bytes: its transmits stay unreported until
    /// [`Harness::report_backlog`] (a consumer whose socket buffer is full).
    pub stuck: bool,
    /// Bytes transmitted to it and not yet reported written.
    pub backlog: usize,
}

/// A broker plus fake connections and a virtual clock.
#[derive(Debug)]
pub struct Harness {
    /// The broker under test.
    pub broker: Broker,
    /// The virtual clock.
    pub now: Instant,
    /// The fake connections by id.
    pub conns: HashMap<ConnId, FakeConn>,
    /// Every notice emitted, in order.
    pub notices: Vec<Notice>,
    /// Whether `StopListening` was emitted, and how often.
    pub stop_listening: usize,
    /// How often `Stopped` was emitted.
    pub stopped: usize,
    /// Whether written bytes are reported back (turn off to provoke slow consumers).
    pub report_written: bool,
    /// Leaf dials asked for and not yet answered: (remote, URL), oldest first.
    pub dials: Vec<(usize, LeafUrl)>,
}

impl Harness {
    /// A harness around a broker with `config` and a fixed seed.
    pub fn new(config: Config) -> Self {
        Self::with_seed(config, 0x5eed)
    }

    /// A harness around a broker with `config` and `seed`.
    pub fn with_seed(config: Config, seed: u64) -> Self {
        let now = Instant::from_millis(1_000);
        Self {
            broker: Broker::new(config, seed, now),
            now,
            conns: HashMap::new(),
            notices: Vec::new(),
            stop_listening: 0,
            stopped: 0,
            report_written: true,
            dials: Vec::new(),
        }
    }

    /// Answers the oldest leaf dial as connected: the link's fake connection (the hub's side
    /// of the conversation is played with [`Harness::send`] and [`Harness::take`]).
    pub fn leaf_connect(&mut self) -> Option<ConnId> {
        let (remote, _) = (!self.dials.is_empty()).then(|| self.dials.remove(0))?;
        let id = self
            .broker
            .leaf_connected(remote, PeerInfo::in_process(), self.now)
            .ok()?;
        self.conns.entry(id).or_default();
        self.drain();
        Some(id)
    }

    /// Answers the oldest leaf dial as failed.
    pub fn leaf_dial_fails(&mut self) {
        if !self.dials.is_empty() {
            let (remote, _) = self.dials.remove(0);
            self.broker.leaf_dial_failed(remote, self.now);
            self.drain();
        }
    }

    /// Accepts a new in-process connection (its INFO is left in `received`).
    pub fn connect(&mut self) -> Option<ConnId> {
        let id = self.broker.accept(PeerInfo::in_process(), self.now).ok()?;
        self.conns.entry(id).or_default();
        self.drain();
        Some(id)
    }

    /// Sends bytes from `conn` to the broker.
    pub fn send(&mut self, conn: ConnId, bytes: &[u8]) {
        self.broker
            .handle_input(conn, BytesMut::from(bytes), self.now);
        self.drain();
    }

    /// Sends bytes one at a time.
    pub fn send_bytewise(&mut self, conn: ConnId, bytes: &[u8]) {
        for b in bytes {
            self.send(conn, std::slice::from_ref(b));
        }
    }

    /// The client side closes `conn`.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.broker
            .handle_eof(conn, CloseReason::ClientClosed, self.now);
        self.drain();
    }

    /// Takes what `conn` received so far, as text.
    pub fn take(&mut self, conn: ConnId) -> String {
        let fake = self.conns.entry(conn).or_default();
        String::from_utf8_lossy(&std::mem::take(&mut fake.received)).into_owned()
    }

    /// Takes what `conn` received, dropping the INFO lines.
    pub fn take_no_info(&mut self, conn: ConnId) -> String {
        self.take(conn)
            .split_inclusive("\r\n")
            .filter(|l| !l.starts_with("INFO "))
            .collect()
    }

    /// Why `conn` was closed, if it was.
    pub fn closed(&self, conn: ConnId) -> Option<CloseReason> {
        self.conns.get(&conn).and_then(|c| c.closed)
    }

    /// Makes `conn` stop (or start again) taking bytes: while stuck, what is transmitted to it
    /// is not reported written, as when its socket buffer is full.
    pub fn set_stuck(&mut self, conn: ConnId, stuck: bool) {
        self.conns.entry(conn).or_default().stuck = stuck;
    }

    /// `conn` takes up to `n` bytes of its backlog: they are reported written.
    pub fn report_backlog(&mut self, conn: ConnId, n: usize) {
        let fake = self.conns.entry(conn).or_default();
        let n = n.min(fake.backlog);
        fake.backlog -= n;
        if n > 0 {
            self.broker.handle_written(conn, n, self.now);
            self.drain();
        }
    }

    /// Whether the broker asked to stop reading `conn` and has not resumed it.
    pub fn is_paused(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.paused)
    }

    /// Advances the virtual clock by `by`, firing every timer due on the way, in order.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.broker.poll_timeout() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.broker.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// Injects a fault at the current virtual time and performs what it does at once.
    ///
    /// # Errors
    /// As [`Broker::inject`].
    pub fn inject(&mut self, fault: Fault) -> Result<FaultId, FaultError> {
        let id = self.broker.inject(fault, self.now)?;
        self.drain();
        Ok(id)
    }

    /// Clears an active fault and performs what its end releases.
    ///
    /// # Errors
    /// As [`Broker::clear`].
    pub fn clear(&mut self, id: FaultId) -> Result<(), FaultError> {
        self.broker.clear(id, self.now)?;
        self.drain();
        Ok(())
    }

    /// Requests shutdown; returns whether this call started it.
    pub fn shutdown(&mut self) -> bool {
        match self.broker.shutdown(self.now) {
            Some(actions) => {
                for output in actions {
                    self.perform(output);
                }
                self.drain();
                true
            }
            None => false,
        }
    }

    /// Drains and performs every output.
    ///
    /// Once nothing is left to perform, the pauses the host saw must be the core's: an
    /// output is checked against the stream before it (a pause never twice, a resume only
    /// after a pause), not against the core's state when it is performed, because performing
    /// an earlier output (a write reported at once) may already have queued its reversal.
    pub fn drain(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            self.perform(output);
        }
        for (&conn, fake) in &self.conns {
            if fake.closed.is_none() {
                assert_eq!(
                    fake.paused,
                    self.broker.is_reading_paused(conn),
                    "{conn}: the host's pause differs from the core's"
                );
            }
        }
    }

    fn perform(&mut self, output: Output) {
        match output {
            Output::Transmit { conn, segments } => {
                let fake = self.conns.entry(conn).or_default();
                let n: usize = segments.iter().map(|s| s.len()).sum();
                if fake.closed.is_some() {
                    fake.after_close += n;
                }
                for s in &segments {
                    fake.received.extend_from_slice(s);
                }
                if self.report_written && !fake.stuck {
                    self.broker.handle_written(conn, n, self.now);
                } else {
                    fake.backlog += n;
                }
            }
            Output::PauseReading { conn } => {
                let fake = self.conns.entry(conn).or_default();
                assert!(fake.closed.is_none(), "{conn} paused after its close");
                assert!(!fake.paused, "{conn} paused twice");
                fake.paused = true;
                fake.pauses += 1;
            }
            Output::ResumeReading { conn } => {
                let fake = self.conns.entry(conn).or_default();
                assert!(fake.closed.is_none(), "{conn} resumed after its close");
                assert!(fake.paused, "{conn} resumed without a pause");
                fake.paused = false;
            }
            Output::Close { conn, reason } => {
                let fake = self.conns.entry(conn).or_default();
                fake.closes += 1;
                fake.closed.get_or_insert(reason);
            }
            Output::Notice(notice) => self.notices.push(*notice),
            Output::DialLeaf { remote, url } => self.dials.push((remote, *url)),
            Output::StopListening => self.stop_listening += 1,
            Output::Stopped => self.stopped += 1,
        }
    }
}
