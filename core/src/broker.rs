//! The broker: connections, subscriptions, delivery, limits, timers and the lifecycle.

use bytes::BytesMut;

use crate::{Config, ConfigError, ConnId, Instant, Output, PeerInfo, Stats};

/// Where the broker is in its life. Transitions only go forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Accepting and serving clients.
    Running,
    /// Lame duck: not accepting, closing clients gradually.
    LameDuck,
    /// Shutdown requested: flushing what was accepted and closing every connection.
    Draining,
    /// Every connection is closed; nothing more will happen.
    Stopped,
}

/// Why [`Broker::accept`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// The broker is shutting down or in lame duck mode.
    ShuttingDown,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the broker is shutting down")
    }
}

impl std::error::Error for Refused {}

/// The actions of the one shutdown: stop listening, flush, close each connection, stopped.
///
/// Returned by the first [`Broker::shutdown`] only. Perform the outputs in order, through the
/// same code that handles [`Broker::poll_output`].
#[must_use = "the shutdown actions must be performed"]
#[derive(Debug)]
pub struct Shutdown {
    outputs: Vec<Output>,
}

impl IntoIterator for Shutdown {
    type Item = Output;
    type IntoIter = std::vec::IntoIter<Output>;
    fn into_iter(self) -> Self::IntoIter {
        self.outputs.into_iter()
    }
}

/// The NATS broker state machine. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct Broker {
    config: Config,
}

impl Broker {
    /// A running broker with `config`, randomness seeded from `seed`, started at `now`.
    pub fn new(config: Config, seed: u64, now: Instant) -> Self {
        let _ = (seed, now);
        Self { config }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the broker is in its lifecycle.
    pub fn phase(&self) -> Phase {
        todo!()
    }

    /// The broker-wide counters.
    pub fn stats(&self) -> Stats {
        todo!()
    }

    /// The server id sent in INFO.
    pub fn server_id(&self) -> &str {
        todo!()
    }

    /// Registers a new connection and queues its INFO. A connection over `max_connections` is
    /// accepted only to be sent INFO, `-ERR 'maximum connections exceeded'` and a close.
    pub fn accept(&mut self, peer: PeerInfo, now: Instant) -> Result<ConnId, Refused> {
        let _ = (peer, now);
        todo!()
    }

    /// Bytes read from `conn`. Ignored if `conn` is closed or stale.
    pub fn handle_input(&mut self, conn: ConnId, bytes: BytesMut, now: Instant) {
        let _ = (conn, bytes, now);
        todo!()
    }

    /// The host finished writing `n` bytes of what was transmitted to `conn`.
    pub fn handle_written(&mut self, conn: ConnId, n: usize, now: Instant) {
        let _ = (conn, n, now);
        todo!()
    }

    /// The peer closed `conn` (or reading failed, or a write missed its deadline).
    pub fn handle_eof(&mut self, conn: ConnId, reason: crate::CloseReason, now: Instant) {
        let _ = (conn, reason, now);
        todo!()
    }

    /// A timer fired. Spurious or early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        todo!()
    }

    /// The next instant at which [`Broker::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// Requests a graceful shutdown. The first call moves the broker to `Draining` and returns
    /// every action to perform; later calls return `None` and change nothing.
    pub fn shutdown(&mut self, now: Instant) -> Option<Shutdown> {
        let _ = now;
        todo!()
    }

    /// Requests lame duck mode: stop accepting, announce `ldm` to clients, close them gradually
    /// over `lame_duck_duration`, then shut down. Returns `false` if already requested or later.
    pub fn lame_duck(&mut self, now: Instant) -> bool {
        let _ = now;
        todo!()
    }

    /// Applies a new configuration (SIGHUP reload). Identity and listen address are kept.
    pub fn reload(&mut self, config: Config, now: Instant) -> Result<(), ConfigError> {
        let _ = now;
        config.validate()?;
        self.config = config;
        Ok(())
    }
}
