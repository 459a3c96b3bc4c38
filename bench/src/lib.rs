//! Skiff's load generator: raw-protocol NATS load, and a side-by-side comparison of Skiff and
//! nats-server.
//!
//! The client side speaks the NATS wire protocol itself over plain TCP with one OS thread per
//! connection ([`wire`]), so it is never the bottleneck. Scenarios ([`scenario`]) cover
//! pub-only, pub/sub, fan-out, N:M, queue groups ([`pubsub`]), request/reply latency
//! ([`latency`]) and idle-connection scale ([`conns`]). [`compare`] starts each server binary
//! ([`server`]) in turn, runs every scenario, and writes a Markdown [`report`] with an SVG
//! [`chart`] of the ratios.

pub mod chart;
pub mod compare;
pub mod conns;
pub mod latency;
pub mod metrics;
pub mod pubsub;
pub mod report;
pub mod scenario;
pub mod seq;
pub mod server;
pub mod wire;

use std::io;
use std::net::SocketAddr;

use metrics::Measurement;
use scenario::{Kind, Scenario};

/// Runs one scenario against the server at `addr`; `pid` (the server's) enables memory figures.
pub fn run_scenario(addr: SocketAddr, s: &Scenario, pid: Option<u32>) -> io::Result<Measurement> {
    let plan = |pubs, subs, queue| pubsub::Plan {
        pubs,
        subs,
        queue,
        payload: s.payload,
        count: s.count,
    };
    match s.kind {
        Kind::PubOnly { pubs } => pubsub::run(addr, plan(pubs, 0, false)),
        Kind::PubSub { pubs, subs } => pubsub::run(addr, plan(pubs, subs, false)),
        Kind::Queue { pubs, members } => pubsub::run(addr, plan(pubs, members, true)),
        Kind::ReqReply => latency::run(addr, s.payload, s.count),
        Kind::Conns { n } => conns::run(addr, n, pid),
    }
}
