//! Targets: what the scenarios run against. A [`Target`] starts one [`Server`] per scenario;
//! a server hands out [`Connection`]s that send bytes, receive with a timeout and see closes.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::version::Version;

pub mod binary;
pub mod core;
pub mod tcp;
pub mod wasm;
pub mod ws;

/// What one receive produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recv {
    /// Some bytes (never empty).
    Data(Vec<u8>),
    /// Nothing within the timeout.
    Timeout,
    /// The server closed the connection (or reset it).
    Closed,
}

/// One client connection to the server under test.
pub trait Connection {
    /// Writes `bytes` (one write as far as the transport allows).
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Waits up to `timeout` for bytes or a close.
    fn recv(&mut self, timeout: Duration) -> Recv;
    /// Closes the client's end.
    fn close(&mut self);
}

/// One running server, for one scenario.
pub trait Server {
    /// Opens a new client connection.
    fn connect(&mut self) -> io::Result<Box<dyn Connection>>;
    /// Lets `duration` pass (real or virtual time).
    fn sleep(&mut self, duration: Duration);
    /// A short pause between the writes of a split send, so they arrive as separate reads.
    fn pause(&mut self);
}

/// Which implementation a target runs: decides `differs:` skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A nats-server binary or address.
    Nats,
    /// Skiff (daemon or core).
    Skiff,
}

impl Kind {
    /// The name used in `differs:` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nats => "nats",
            Self::Skiff => "skiff",
        }
    }
}

/// Why a target could not start a server for a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The target cannot run this scenario (e.g. it needs a config and the server is remote).
    Unsupported(String),
    /// Starting failed.
    Failed(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(why) => write!(f, "unsupported: {why}"),
            Self::Failed(why) => write!(f, "failed to start: {why}"),
        }
    }
}

/// Something the suite runs against.
pub trait Target: Send + Sync {
    /// A name for reports, e.g. `nats-server 2.15.1`.
    fn name(&self) -> String;
    /// Which implementation this is.
    fn kind(&self) -> Kind;
    /// The nats-server version whose behaviour `@>=x`/`@<x` conditions compare against.
    fn version(&self) -> Version;
    /// Whether the target supports a capability tag (by default: every tag but
    /// [`UNSUPPORTED_TAGS`]).
    fn supports(&self, tag: &str) -> bool {
        !UNSUPPORTED_TAGS.contains(&tag)
    }
    /// Whether scenarios may run on it at the same time (each on its own server).
    fn parallel(&self) -> bool;
    /// Starts a server with this configuration (dotted keys, conf-syntax values).
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError>;
}

/// Tags no target in this crate supports yet.
pub const UNSUPPORTED_TAGS: &[&str] = &["websocket", "leafnode", "tls"];
