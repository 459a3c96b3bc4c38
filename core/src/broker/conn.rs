//! Per-connection state kept by the broker.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::connect::ConnectOptions;
use super::flow::Flow;
use super::outbound::Outbound;
use crate::proto::Parser;
use crate::{ConnId, Instant, PeerInfo, Permissions, Traffic};

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnPhase {
    /// Accepted; CONNECT not yet received (it is optional when auth is off).
    AwaitConnect,
    /// CONNECT received and authorized.
    Active,
}

/// A subscription key: an index into the broker's subscription slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SubKey(pub(crate) u32);

/// One live connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    /// `client_id` in INFO and monitoring.
    pub(crate) cid: u64,
    pub(crate) peer: PeerInfo,
    pub(crate) phase: ConnPhase,
    pub(crate) opts: ConnectOptions,
    /// Headers negotiated (client asked and server supports).
    pub(crate) headers: bool,
    /// The authenticated user's permissions, if restricted.
    pub(crate) perms: Option<Box<Permissions>>,
    pub(crate) read_buf: BytesMut,
    pub(crate) parser: Parser,
    pub(crate) out: Outbound,
    /// Producer back-pressure, as a consumer and as a producer.
    pub(crate) flow: Flow,
    pub(crate) subs: std::collections::HashMap<Bytes, SubKey, foldhash::fast::FixedState>,
    pub(crate) ping: PingState,
    /// When an unauthenticated connection times out.
    pub(crate) auth_deadline: Option<Instant>,
    pub(crate) traffic: Traffic,
    pub(crate) start: Instant,
    pub(crate) last_activity: Instant,
    /// Set when this connection is a leaf link to a hub (see `leaf`).
    pub(crate) leaf: Option<Box<super::leaf::LeafLink>>,
    /// The `nonce` its INFO carried, when nkey users are configured.
    pub(crate) nonce: Option<Box<str>>,
    /// Reply subjects it may answer under `allow_responses`: when each arrived, and the
    /// responses sent so far.
    pub(crate) replies: std::collections::HashMap<Bytes, (Instant, u32)>,
    /// The account it authenticated into (0: the global account).
    pub(crate) account: super::accounts::AccountId,
    /// The user it authenticated as (name or nkey; empty without users).
    pub(crate) user: Box<str>,
    /// The names its verified TLS certificate carries (`verify_and_map`).
    pub(crate) tls_names: Vec<String>,
    /// When its credentials expire (a user JWT's `exp`).
    pub(crate) expires: Option<Instant>,
    /// Its user JWT's subscription limit, if any (beside `max_subscriptions`).
    pub(crate) max_subs: Option<u64>,
}

impl Conn {
    /// Drops an empty read buffer so it stops pinning the host's read allocation (a slice of
    /// which it still is) while the connection is idle.
    pub(crate) fn release_read_buffer(&mut self) {
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
    }
}

/// Server-to-client keepalive state (nats-server's ping timer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PingState {
    /// When the ping timer fires next.
    pub(crate) deadline: Instant,
    /// PINGs sent and not answered.
    pub(crate) outstanding: u32,
    /// Whether a PONG has ever answered (nats-server's "RTT measured").
    pub(crate) rtt_known: bool,
    /// When the oldest unanswered server PING was sent.
    pub(crate) ping_sent: Option<Instant>,
    /// The round trip of the last answered server PING.
    pub(crate) rtt: Option<Duration>,
    /// Last inbound message, subscription or PING.
    pub(crate) last_in: Instant,
    /// Whether the first client PING after CONNECT has been answered (the connect_info INFO).
    pub(crate) first_ping_answered: bool,
}

impl PingState {
    pub(crate) fn new(now: Instant, interval: Duration) -> Self {
        Self {
            deadline: now + interval,
            outstanding: 0,
            rtt_known: false,
            ping_sent: None,
            rtt: None,
            last_in: now,
            first_ping_answered: false,
        }
    }
}
