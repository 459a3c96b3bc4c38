//! Skiff's load generator: raw-protocol NATS load, and a side-by-side comparison of Skiff and
//! nats-server.
//!
//! The client side speaks the NATS wire protocol itself over plain TCP with one OS thread per
//! connection ([`wire`]), so it is never the bottleneck. Scenarios ([`scenario`]) cover
//! pub-only, pub/sub, fan-out, N:M, queue groups ([`pubsub`]), request/reply latency
//! ([`latency`]), idle-connection scale ([`conns`]), real nats.go clients without any
//! flow-control window ([`natsgo`]) and a slow-consumer burst's memory ([`burst`]). [`compare`] starts each server binary
//! ([`server`]) in turn, runs every scenario, and writes a Markdown [`report`] with an SVG
//! [`chart`] of the ratios.

pub mod burst;
pub mod chart;
pub mod compare;
pub mod conns;
pub mod latency;
pub mod leaf;
pub mod metrics;
pub mod natsgo;
pub mod pubsub;
pub mod report;
pub mod scenario;
pub mod seq;
pub mod server;
pub mod wire;
pub mod wspubsub;

use std::io;
use std::net::SocketAddr;

use metrics::{Measurement, Metric};
use scenario::{Kind, Scenario};

/// Runs one scenario against the server at `addr`; `pid` (the server's) enables memory figures
/// and the server's CPU time per delivered message.
/// `ws` is the server's WebSocket listener, which the WebSocket scenarios need.
pub fn run_scenario(
    addr: SocketAddr,
    ws: Option<SocketAddr>,
    s: &Scenario,
    pid: Option<u32>,
) -> io::Result<Measurement> {
    let cpu_before = pid.map(server::cpu_seconds).transpose()?;
    let mut m = run_load(addr, ws, s, pid)?;
    if let (Some(pid), Some(before), Some(delivered)) = (pid, cpu_before, s.delivered()) {
        let used = server::cpu_seconds(pid)? - before;
        m.insert(Metric::CpuUsPerMsg, used * 1e6 / delivered.max(1) as f64);
    }
    Ok(m)
}

/// The load of one scenario.
fn run_load(
    addr: SocketAddr,
    ws: Option<SocketAddr>,
    s: &Scenario,
    pid: Option<u32>,
) -> io::Result<Measurement> {
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
        Kind::NatsGo { subs } => natsgo::run(addr, subs, s.payload, s.count),
        Kind::Burst => burst::run(addr, s.payload, s.count, pid),
        Kind::Leaf { .. } => Err(io::Error::other(
            "the leaf scenarios start their own pair of servers: run them with `compare`",
        )),
        Kind::WsPubSub => match ws {
            Some(ws) => wspubsub::run(ws, s.payload, s.count),
            None => Err(io::Error::other(
                "the WebSocket scenario needs the server's WebSocket listener",
            )),
        },
    }
}
