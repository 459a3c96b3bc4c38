//! Counters that monitoring reads: per connection and for the whole broker.

/// Message and byte counters in one direction pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages received from clients (PUB/HPUB).
    pub in_msgs: u64,
    /// Payload bytes received from clients (headers included).
    pub in_bytes: u64,
    /// Messages delivered to clients (MSG/HMSG).
    pub out_msgs: u64,
    /// Payload bytes delivered to clients (headers included).
    pub out_bytes: u64,
}

/// Broker-wide counters (nats-server `/varz`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Message traffic in total.
    pub traffic: Traffic,
    /// Connections open now.
    pub connections: usize,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Subscriptions in the index now.
    pub subscriptions: usize,
    /// Connections closed as slow consumers since start.
    pub slow_consumers: u64,
    /// Connections closed as stale since start.
    pub stale_connections: u64,
    /// Times a producer's reading was paused for a slow consumer since start (`stalled_clients`
    /// in `/varz`).
    pub stalled_clients: u64,
}

/// One connection as monitoring shows it (nats-server `/connz`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnInfo {
    /// The broker's handle.
    pub id: crate::ConnId,
    /// `client_id` / `cid`.
    pub cid: u64,
    /// The peer's address and transport.
    pub peer: crate::PeerInfo,
    /// `name` from CONNECT.
    pub name: String,
    /// `lang` from CONNECT.
    pub lang: String,
    /// `version` from CONNECT.
    pub version: String,
    /// When it was accepted.
    pub start: crate::Instant,
    /// When it last sent something.
    pub last_activity: crate::Instant,
    /// Its message counters.
    pub traffic: Traffic,
    /// Its subscriptions now.
    pub subscriptions: usize,
    /// Bytes queued to it and not yet written.
    pub pending_bytes: usize,
    /// Times its reading was paused because a consumer of its messages fell behind (`stalls`
    /// in `/connz`).
    pub stalls: u64,
    /// Round-trip time of the last server PING the client answered (`rtt` in `/connz`);
    /// `None` until one was answered.
    pub rtt: Option<std::time::Duration>,
    /// For a closed connection: when and why it was closed (`stop`, `reason` in
    /// `/connz?state=closed`).
    pub closed: Option<(crate::Instant, crate::CloseReason)>,
    /// The account it authenticated into (`account` in `/connz?auth=true`).
    pub account: String,
    /// The user it authenticated as: name, nkey or JWT subject; empty without users
    /// (`authorized_user`).
    pub user: String,
}

/// One subscription as monitoring shows it (nats-server `/subsz?subs=1`,
/// `/connz?subs=detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubInfo {
    /// The connection that owns it.
    pub conn: crate::ConnId,
    /// That connection's `cid`.
    pub cid: u64,
    /// The subject, wildcards included.
    pub subject: String,
    /// The queue group, if any.
    pub queue: Option<String>,
    /// The client's subscription id.
    pub sid: String,
    /// Messages delivered to it so far.
    pub delivered: u64,
    /// The auto-unsubscribe limit, if one was set with `UNSUB sid max`.
    pub max: Option<u64>,
    /// The account whose subject index holds it.
    pub account: String,
}
