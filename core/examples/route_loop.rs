//! Routes a batch of 16-byte PUBs to one subscriber in a loop: a target for profilers
//! (`valgrind --tool=callgrind`, `perf record`).

use bytes::BytesMut;
use skiff_core::{Broker, Config, Instant, Output, PeerInfo};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut broker = Broker::new(Config::default(), 1, Instant::ZERO);
    let sub = broker
        .accept(PeerInfo::in_process(), Instant::ZERO)
        .unwrap();
    let ops = &b"CONNECT {\"verbose\":false}\r\nSUB foo.bar 1\r\n"[..];
    broker.handle_input(sub, BytesMut::from(ops), Instant::ZERO);
    let publisher = broker
        .accept(PeerInfo::in_process(), Instant::ZERO)
        .unwrap();
    let connect = &b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"[..];
    broker.handle_input(publisher, BytesMut::from(connect), Instant::ZERO);
    let batch: Vec<u8> = b"PUB foo.bar 16\r\n0123456789abcdef\r\n".repeat(1000);
    let mut total = 0;
    for _ in 0..rounds {
        broker.handle_input(publisher, BytesMut::from(&batch[..]), Instant::ZERO);
        while let Some(output) = broker.poll_output() {
            if let Output::Transmit { conn, segments } = output {
                let n: usize = segments.iter().map(|s| s.len()).sum();
                broker.handle_written(conn, n, Instant::ZERO);
                total += n;
            }
        }
    }
    println!("{total} bytes routed");
}
