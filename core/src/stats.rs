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
}
