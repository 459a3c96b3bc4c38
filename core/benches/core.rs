//! Criterion micro-benchmarks of the hot path: parsing a PUB, a cached subject match, and
//! routing one 16-byte message (parse, match, encode) to 1 and to 100 subscribers.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use skiff_core::proto::{Parser, ParserLimits};
use skiff_core::sublist::Sublist;
use skiff_core::{Broker, Config, ConnId, Instant, Output, PeerInfo};

const PUB16: &[u8] = b"PUB foo.bar 16\r\n0123456789abcdef\r\n";
const BATCH: usize = 1_000;

fn parse_pub(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(BATCH as u64));
    let input: Vec<u8> = PUB16.repeat(BATCH);
    group.bench_function("pub_16b_x1000", |b| {
        let mut parser = Parser::new(ParserLimits::default());
        b.iter_batched_ref(
            || BytesMut::from(&input[..]),
            |buf| {
                while let Ok(Some(op)) = parser.parse(buf) {
                    black_box(op);
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn cached_match(c: &mut Criterion) {
    let mut sublist = Sublist::new(1024);
    for (i, pattern) in ["foo.bar", "foo.*", "foo.>", "bar.baz", "a.b.c.d"]
        .iter()
        .enumerate()
    {
        sublist.insert(pattern.as_bytes(), None, i).unwrap();
    }
    sublist.matches(b"foo.bar");
    c.bench_function("sublist/cached_match", |b| {
        b.iter(|| black_box(sublist.matches(black_box(b"foo.bar"))));
    });
}

fn setup(subscribers: usize) -> (Broker, ConnId) {
    let mut broker = Broker::new(Config::default(), 1, Instant::ZERO);
    for i in 0..subscribers {
        let sub = broker
            .accept(PeerInfo::in_process(), Instant::ZERO)
            .unwrap();
        let ops = format!("CONNECT {{\"verbose\":false}}\r\nSUB foo.bar {i}\r\n");
        broker.handle_input(sub, BytesMut::from(ops.as_bytes()), Instant::ZERO);
    }
    let publisher = broker
        .accept(PeerInfo::in_process(), Instant::ZERO)
        .unwrap();
    let connect = &b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"[..];
    broker.handle_input(publisher, BytesMut::from(connect), Instant::ZERO);
    drain(&mut broker);
    (broker, publisher)
}

fn drain(broker: &mut Broker) {
    while let Some(output) = broker.poll_output() {
        if let Output::Transmit { conn, segments } = output {
            let n: usize = segments.iter().map(|s| s.len()).sum();
            broker.handle_written(conn, n, Instant::ZERO);
        }
    }
}

fn route(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_16b");
    group.throughput(Throughput::Elements(BATCH as u64));
    let input: Vec<u8> = PUB16.repeat(BATCH);
    for subscribers in [1, 100] {
        let (mut broker, publisher) = setup(subscribers);
        group.bench_function(format!("to_{subscribers}_x1000"), |b| {
            b.iter_batched(
                || BytesMut::from(&input[..]),
                |buf| {
                    broker.handle_input(publisher, buf, Instant::ZERO);
                    drain(&mut broker);
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, parse_pub, cached_match, route);
criterion_main!(benches);
