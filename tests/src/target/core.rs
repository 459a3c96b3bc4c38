//! The in-memory target: `skiff_core::Broker` driven directly, no sockets, virtual clock.
//!
//! Bytes the broker transmits wait in a per-connection inbox until the scenario reads them;
//! only then does the harness report them written (`handle_written`), so a client that does
//! not read behaves like a client whose socket buffers are full (slow consumers are
//! deterministic). Waiting — `recv` with a timeout, `silent`, `sleep` — advances the virtual
//! clock from one `poll_timeout` deadline to the next.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use skiff_core::{Broker, CloseReason, ConnId, Instant, Output, PeerInfo};

use super::{Connection, Kind, Recv, Server, StartError, Target};
use crate::conf::core_config;
use crate::version::Version;

/// Runs scenarios against the sans-IO core in this process.
#[derive(Debug)]
pub struct CoreTarget {
    version: Version,
    seed: u64,
}

impl CoreTarget {
    /// A core target judged as nats-server `version` for `@` conditions.
    pub fn new(version: Version) -> Self {
        Self {
            version,
            seed: 0x5eed,
        }
    }

    /// Whether the core is implemented yet (its methods are `todo!()` until then): a `PING`
    /// must come back as `PONG`.
    pub fn is_runnable() -> bool {
        let probe = catch_unwind(|| {
            let mut broker = Broker::new(skiff_core::Config::default(), 1, Instant::ZERO);
            let Ok(conn) = broker.accept(PeerInfo::in_process(), Instant::ZERO) else {
                return false;
            };
            broker.handle_input(conn, BytesMut::from(&b"PING\r\n"[..]), Instant::ZERO);
            let mut wire = Vec::new();
            while let Some(output) = broker.poll_output() {
                if let Output::Transmit { segments, .. } = output {
                    segments.iter().for_each(|s| wire.extend_from_slice(s));
                }
            }
            wire.ends_with(b"PONG\r\n")
        });
        matches!(probe, Ok(true))
    }
}

impl Target for CoreTarget {
    fn supports(&self, tag: &str) -> bool {
        // Its connections are in-process, not TCP.
        tag != "tcp" && !super::UNSUPPORTED_TAGS.contains(&tag)
    }
    fn name(&self) -> String {
        format!("skiff-core {} (in memory)", skiff_core::VERSION)
    }
    fn kind(&self) -> Kind {
        Kind::Skiff
    }
    fn version(&self) -> Version {
        self.version
    }
    fn parallel(&self) -> bool {
        true
    }
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError> {
        let config = core_config(config).map_err(StartError::Unsupported)?;
        config
            .validate()
            .map_err(|e| StartError::Failed(e.to_string()))?;
        let broker = catch_unwind(|| Broker::new(config, self.seed, Instant::ZERO))
            .map_err(|_| StartError::Failed("Broker::new panicked".into()))?;
        let harness = Harness {
            broker,
            now: Instant::ZERO,
            conns: HashMap::new(),
        };
        Ok(Box::new(CoreServer(Rc::new(RefCell::new(harness)))))
    }
}

#[derive(Debug, Default)]
struct Inbox {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Debug)]
struct Harness {
    broker: Broker,
    now: Instant,
    conns: HashMap<ConnId, Inbox>,
}

impl Harness {
    /// Performs every pending output.
    fn drain(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Transmit { conn, segments } => {
                    let inbox = self.conns.entry(conn).or_default();
                    segments
                        .iter()
                        .for_each(|s| inbox.bytes.extend_from_slice(s));
                }
                Output::Close { conn, .. } => self.conns.entry(conn).or_default().closed = true,
                _ => {}
            }
        }
    }

    /// Advances the clock to `until`, firing every timer due on the way; stops early (returning
    /// true) as soon as `watch` has something to read.
    fn advance(&mut self, until: Instant, watch: Option<ConnId>) -> bool {
        let ready = |h: &Self| {
            watch.is_some_and(|c| {
                h.conns
                    .get(&c)
                    .is_some_and(|i| !i.bytes.is_empty() || i.closed)
            })
        };
        for _ in 0..100_000 {
            if ready(self) {
                return true;
            }
            match self.broker.poll_timeout() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.broker.handle_timeout(self.now);
                    self.drain();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
        ready(self)
    }
}

#[derive(Debug)]
struct CoreServer(Rc<RefCell<Harness>>);

impl Server for CoreServer {
    fn connect(&mut self) -> io::Result<Box<dyn Connection>> {
        let mut h = self.0.borrow_mut();
        let now = h.now;
        let id = h
            .broker
            .accept(PeerInfo::in_process(), now)
            .map_err(io::Error::other)?;
        h.conns.insert(id, Inbox::default());
        h.drain();
        Ok(Box::new(CoreConnection {
            harness: Rc::clone(&self.0),
            id,
            open: true,
        }))
    }

    fn sleep(&mut self, duration: Duration) {
        let mut h = self.0.borrow_mut();
        let until = h.now + duration;
        h.advance(until, None);
    }

    fn pause(&mut self) {}
}

#[derive(Debug)]
struct CoreConnection {
    harness: Rc<RefCell<Harness>>,
    id: ConnId,
    open: bool,
}

impl Connection for CoreConnection {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut h = self.harness.borrow_mut();
        if !self.open || h.conns.get(&self.id).is_none_or(|i| i.closed) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let now = h.now;
        let result = catch_unwind(AssertUnwindSafe(|| {
            h.broker.handle_input(self.id, BytesMut::from(bytes), now);
            h.drain();
        }));
        result.map_err(|_| io::Error::other("the broker panicked on this input"))
    }

    fn recv(&mut self, timeout: Duration) -> Recv {
        let mut h = self.harness.borrow_mut();
        let until = h.now + timeout;
        if !h.advance(until, Some(self.id)) {
            return Recv::Timeout;
        }
        let inbox = h
            .conns
            .get_mut(&self.id)
            .expect("watched connections have an inbox");
        if inbox.bytes.is_empty() {
            return Recv::Closed;
        }
        let bytes = std::mem::take(&mut inbox.bytes);
        let now = h.now;
        h.broker.handle_written(self.id, bytes.len(), now);
        h.drain();
        Recv::Data(bytes)
    }

    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            let mut h = self.harness.borrow_mut();
            let now = h.now;
            h.broker.handle_eof(self.id, CloseReason::ClientClosed, now);
            h.drain();
        }
    }
}
