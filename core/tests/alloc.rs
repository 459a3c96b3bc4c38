//! Steady-state routing allocates nothing per message: a counting global allocator watches a
//! batch of PUBs being parsed, matched, encoded and handed out for writing.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use skiff_core::{Broker, Config, ConnId, Instant, Output, PeerInfo};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn drain(broker: &mut Broker) -> usize {
    let mut bytes = 0;
    while let Some(output) = broker.poll_output() {
        if let Output::Transmit { conn, segments } = output {
            let n: usize = segments.iter().map(|s| s.len()).sum();
            broker.handle_written(conn, n, Instant::ZERO);
            bytes += n;
        }
    }
    bytes
}

fn batch(messages: usize) -> BytesMut {
    let mut input = BytesMut::new();
    for _ in 0..messages {
        input.extend_from_slice(b"PUB foo.bar 16\r\n0123456789abcdef\r\n");
    }
    input
}

fn setup(subscribers: usize) -> (Broker, ConnId) {
    let mut broker = Broker::new(Config::default(), 1, Instant::ZERO);
    for i in 0..subscribers {
        let sub = broker
            .accept(PeerInfo::in_process(), Instant::ZERO)
            .unwrap();
        let ops = format!("CONNECT {{\"verbose\":false}}\r\nSUB foo.* {i}\r\n");
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

#[test]
fn routing_allocates_nothing_per_message() {
    for subscribers in [1, 4] {
        let (mut broker, publisher) = setup(subscribers);
        // Warm up: buffers grow, the cache fills.
        for _ in 0..3 {
            broker.handle_input(publisher, batch(2_000), Instant::ZERO);
            drain(&mut broker);
        }
        let input = batch(2_000);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        broker.handle_input(publisher, input, Instant::ZERO);
        let written = drain(&mut broker);
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        let per_message = b"MSG foo.bar 0 16\r\n".len() + 18;
        assert_eq!(written, 2_000 * subscribers * per_message);
        // A handful per batch (one segment list per connection, buffer reclaims), never one
        // per message.
        assert!(
            allocations <= 4 * subscribers + 8,
            "{allocations} allocations for 2000 messages to {subscribers} subscribers"
        );
    }
}
