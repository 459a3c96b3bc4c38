//! Faults injected on purpose, for testing clients: what can go wrong, how long it lasts, and
//! what introspection shows.
//!
//! A fault is a request to the core ([`Broker::inject`](crate::Broker::inject)), so every host
//! offers the same set. Each one is a state with a clear end: a count, a duration on the
//! broker's clock, or until [`Broker::clear`](crate::Broker::clear). While no fault is active
//! the broker pays one flag test on its hot paths.

mod json;

use std::time::Duration;

use crate::Instant;

/// Identifies an injected fault (for [`Broker::clear`](crate::Broker::clear) and
/// introspection). Never reused by a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fault#{}", self.0)
    }
}

/// Which connections a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The connection with this `client_id` (the `cid` of INFO and monitoring).
    Cid(u64),
    /// Every connection whose CONNECT gave this `name`.
    Name(String),
    /// Every connection.
    All,
}

/// How long a lasting fault stays in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lasting {
    /// Until [`Broker::clear`](crate::Broker::clear).
    UntilCleared,
    /// For this long on the broker's clock from the injection, or until cleared.
    For(Duration),
}

/// How a refused connect is refused, with nats-server's exact `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `-ERR 'Authorization Violation'` answering the CONNECT, then a close.
    Authorization,
    /// INFO, `-ERR 'maximum connections exceeded'`, close, right on accept.
    MaxConnections,
}

/// One misbehaviour to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the matching connections now (after an `-ERR '<err>'` if given), flushing what
    /// was queued for them. Done at once: no fault stays active.
    Close {
        /// The connections to close.
        target: Target,
        /// The text of an `-ERR` sent just before the close.
        err: Option<String>,
    },
    /// Close the next connection that subscribes to a subject matching `subject` (a pattern,
    /// wildcards allowed), right after its SUB: active until it fires or is cleared.
    CloseNextSubscriber {
        /// The pattern a SUB's subject must match.
        subject: String,
        /// The text of an `-ERR` sent just before the close.
        err: Option<String>,
    },
    /// Answer no PING from the matching connections (a stale server): the client's own stale
    /// detection must fire.
    IgnorePings {
        /// The connections left unanswered (matched at each PING).
        target: Target,
        /// How long.
        lasting: Lasting,
    },
    /// Hold every message published on a subject matching `subject` and deliver them all, in
    /// order, when the fault ends. A held message is routed when it is released, to the
    /// subscriptions of that moment (as if it had arrived late).
    Withhold {
        /// The pattern (wildcards allowed).
        subject: String,
        /// How long.
        lasting: Lasting,
    },
    /// Deliver every message published on a subject matching `subject` `by` later than it
    /// arrived (held in the broker meanwhile, routed when released). When the fault ends, what
    /// is still held is delivered at once.
    Delay {
        /// The pattern (wildcards allowed).
        subject: String,
        /// The delay of each message.
        by: Duration,
        /// How long messages are delayed.
        lasting: Lasting,
    },
    /// Drop the next `count` messages published on a subject matching `subject`: nobody
    /// receives them. Ends after the last one.
    Drop {
        /// The pattern (wildcards allowed).
        subject: String,
        /// How many messages.
        count: u64,
    },
    /// Cut every write to the matching connections into pieces of at most `chunk` bytes, each
    /// a transmit of its own, and (if `delay` is not zero) send each piece `delay` after the
    /// one before (the first `delay` after the write). What still waits when the fault ends or
    /// the connection closes goes out at once, uncut, before anything later (its close).
    SplitWrites {
        /// The connections (matched at each write).
        target: Target,
        /// The largest piece, in bytes (at least 1).
        chunk: usize,
        /// The pause before each piece.
        delay: Duration,
        /// How long.
        lasting: Lasting,
    },
    /// Send an asynchronous INFO now to the matching connections that announced protocol 1,
    /// as a cluster change (`connect_urls`) or lame duck mode (`ldm: true`) would. Done at once.
    AsyncInfo {
        /// The connections told.
        target: Target,
        /// The `connect_urls` to announce (`host:port` strings); none if empty.
        connect_urls: Vec<String>,
        /// Whether INFO says `"ldm":true`.
        lame_duck: bool,
    },
    /// Refuse the next `count` connects the way nats-server refuses them.
    RefuseConnects {
        /// How many.
        count: u64,
        /// Which refusal.
        refusal: Refusal,
    },
    /// Stop reading from the matching connections (back-pressure on a publisher), through
    /// the same [`Output::PauseReading`](crate::Output::PauseReading) /
    /// [`Output::ResumeReading`](crate::Output::ResumeReading) as flow control.
    PauseReading {
        /// The connections (matched when injected).
        target: Target,
        /// How long.
        lasting: Lasting,
    },
}

/// Why [`Broker::inject`](crate::Broker::inject) or [`Broker::clear`](crate::Broker::clear)
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultError {
    /// No open connection matches the target.
    NoSuchConnection,
    /// The fault is malformed (the text says how).
    Invalid(&'static str),
    /// No active fault has this id (it ended or never existed).
    UnknownFault(FaultId),
    /// The broker is shutting down.
    ShuttingDown,
    /// A fault's JSON form is wrong (the text says how; see [`Fault::from_json`]).
    Json(String),
}

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchConnection => f.write_str("no open connection matches the target"),
            Self::Invalid(why) => write!(f, "invalid fault: {why}"),
            Self::UnknownFault(id) => write!(f, "no active fault {id}"),
            Self::ShuttingDown => f.write_str("the broker is shutting down"),
            Self::Json(why) => write!(f, "bad fault: {why}"),
        }
    }
}

impl std::error::Error for FaultError {}

/// An active fault, as introspection lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultInfo {
    /// Its id.
    pub id: FaultId,
    /// What was injected.
    pub fault: Fault,
    /// When it was injected.
    pub since: Instant,
    /// When it ends by itself, if it has a duration.
    pub until: Option<Instant>,
    /// What is left of its count (messages to drop, connects to refuse), if it counts.
    pub remaining: Option<u64>,
    /// Messages it holds back now (withhold, delay).
    pub held: usize,
}
