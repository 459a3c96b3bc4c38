//! Skiff's sans-IO core: the whole NATS client protocol, subject routing, limits, timers and
//! lifecycle as one state machine that does no I/O, reads no clock and spawns nothing.
//!
//! # Driving the broker
//!
//! One [`Broker`] is owned by one host task and driven through `&mut self`:
//!
//! 1. Feed one input: [`Broker::accept`], [`Broker::handle_input`], [`Broker::handle_written`],
//!    [`Broker::handle_eof`], [`Broker::handle_timeout`], or a request such as
//!    [`Broker::shutdown`] or an injected [`Fault`] ([`Broker::inject`]).
//! 2. Drain [`Broker::poll_output`] until it returns `None`, performing each [`Output`] in order.
//!    Besides writes and closes, this includes producer back-pressure:
//!    [`Output::PauseReading`] / [`Output::ResumeReading`] ask the host to leave a connection
//!    unread for a bounded time while a consumer of its messages catches up (never blocking).
//! 3. Re-arm the one host timer at [`Broker::poll_timeout`].
//!
//! Time is an [`Instant`] the host passes in and must never go backwards; randomness comes from
//! the seed given to [`Broker::new`].
//!
//! ```
//! use bytes::BytesMut;
//! use skiff_core::{Broker, Config, Instant, Output, PeerInfo};
//!
//! let mut broker = Broker::new(Config::default(), 7, Instant::ZERO);
//! let conn = broker.accept(PeerInfo::in_process(), Instant::ZERO).unwrap();
//! broker.handle_input(conn, BytesMut::from(&b"SUB foo 1\r\nPUB foo 2\r\nhi\r\n"[..]), Instant::ZERO);
//! let mut wire = Vec::new();
//! while let Some(output) = broker.poll_output() {
//!     if let Output::Transmit { segments, .. } = output {
//!         segments.iter().for_each(|s| wire.extend_from_slice(s));
//!     }
//! }
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.starts_with("INFO {"));
//! assert!(wire.ends_with("+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n"));
//! ```

pub mod account;
pub mod leaf;
pub mod proto;
pub mod subject;
pub mod sublist;

mod broker;
mod config;
mod fault;
mod jwt;
mod notice;
mod operator;
mod output;
mod permissions;
mod secret;
mod stats;
mod time;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use account::{
    Account, DEFAULT_SYSTEM_ACCOUNT, Export, GLOBAL_ACCOUNT, Import, ImportKind, ResponseType,
};
pub use broker::{Broker, ControlOp, LeafInfo, Phase, Refused, Shutdown, control_error_json};
pub use config::{Auth, Config, ConfigError, User};
pub use fault::{Fault, FaultError, FaultId, FaultInfo, Lasting, Refusal, Target};
pub use jwt::JwtError;
pub use leaf::{LeafCredentials, LeafRemote, LeafTls, LeafUrl};
pub use notice::{ConnEvent, Notice, NoticeLevel};
pub use operator::Operator;
pub use output::{CloseReason, ConnId, Output, PeerInfo, Transport};
pub use permissions::{Permissions, ResponsePermission, Rules};
pub use stats::{ConnInfo, Stats, SubInfo, Traffic};
pub use time::Instant;

/// Skiff's own version (the startup log, `skiff --version`, `/varz`'s `skiff_version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The nats-server version whose behaviour Skiff matches, reported as `version` in INFO (and
/// `/varz`). Clients gate features on it (nats.go, nats.c and async-nats compare it before
/// using newer protocol features; nats-py exposes it as `connected_server_version`), so it is
/// a plain `major.minor.patch`: a suffix would read as a pre-release to semver comparisons
/// and make `2.15.1-x` older than `2.15.1`.
pub const NATS_VERSION: &str = "2.15.1";
