//! Producer back-pressure with real clients: a subscriber that reads slower than the publisher
//! writes gets every message of a burst, a stuck subscriber is closed while the others keep
//! receiving, and a subscriber that never reads costs at most `max_pending` of memory.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use skiff::{Server, ServerOptions};
use skiff_core::Config;

/// Payload of every message.
const SIZE: usize = 1024;

/// The tests here measure timing and memory: they run one at a time, so that one's burst does
/// not starve another's slow reader. Each test has its own runtime, so holding this guard
/// across its awaits only serializes whole tests, which is the point.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A server whose `max_pending` is small, so a burst of a few MiB overruns it.
fn server(max_pending: usize) -> Server {
    let mut config = Config::default();
    config.max_pending = max_pending;
    config.max_payload = 64 * 1024;
    let mut options = ServerOptions::listen_on("127.0.0.1", 0);
    options.config = config;
    common::embedded_with(options)
}

/// A TCP proxy in front of `upstream` that passes the server's bytes to the client at about
/// `bytes_per_sec`, reading through a small socket buffer: a client behind it reads slower
/// than the server writes. Returns the address to connect to.
fn throttling_proxy(upstream: SocketAddr, bytes_per_sec: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let server = small_buffers(upstream);
        let (mut to_server, mut from_client) =
            (server.try_clone().unwrap(), client.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_client, &mut to_server);
        });
        let (mut from_server, mut to_client) = (server, client);
        let mut buf = vec![0; 16 * 1024];
        // A token bucket: each read's bytes cost their time at the link rate; time lost to
        // late wake-ups is made up, but at most `CREDIT` of it (a link has no memory).
        const CREDIT: Duration = Duration::from_millis(5);
        let mut next = Instant::now();
        loop {
            let n = match from_server.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if to_client.write_all(&buf[..n]).is_err() {
                return;
            }
            let now = Instant::now();

            next =
                next.max(now - CREDIT) + Duration::from_secs_f64(n as f64 / bytes_per_sec as f64);
            if let Some(wait) = next.checked_duration_since(now) {
                std::thread::sleep(wait);
            }
        }
    });
    addr
}

/// A connection to `addr` whose receive buffer is small, so the kernel holds little for it.
fn small_buffers(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(32 * 1024).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

fn payload() -> Bytes {
    Bytes::from(vec![b'x'; SIZE])
}

/// Receives `count` messages from `sub`, or fails once nothing arrived for `idle`.
async fn receive_all(sub: &mut async_nats::Subscriber, count: usize, idle: Duration) -> usize {
    let mut got = 0;
    while got < count {
        match tokio::time::timeout(idle, sub.next()).await {
            Ok(Some(m)) => {
                assert_eq!(m.payload.len(), SIZE);
                got += 1;
            }
            _ => break,
        }
    }
    got
}

async fn connect(url: String) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        // Room for the whole burst: any loss is the server's.
        .subscription_capacity(1 << 16)
        .connect(url)
        .await
        .expect("connecting")
}

/// 32 MiB published as fast as a raw publisher goes, to an async-nats subscriber behind a
/// 32 MB/s link, with `max_pending` at 8 MiB: without back-pressure the server cuts the
/// subscriber off within milliseconds; with it, the publisher waits and every message arrives.
///
/// (The link is much faster than the 6.4 MB/s a stalled producer may still push, 64 KiB per
/// 10 ms stall, and `max_pending` leaves room for the kernel's socket buffers, which only report
/// progress in large steps; a subscriber slower than that is closed, as by nats-server.)
#[tokio::test]
#[allow(clippy::await_holding_lock)] // serializes whole tests; see ONE_AT_A_TIME
async fn a_subscriber_slower_than_the_publisher_gets_every_message() {
    let _serial = one_at_a_time();
    let server = server(8 * 1024 * 1024);
    let addr = server.local_addr().unwrap();
    let slow = throttling_proxy(addr, 32_000_000);
    let count = 32 * 1024;

    let subscriber = connect(format!("nats://{slow}")).await;
    let mut sub = subscriber.subscribe("burst").await.unwrap();
    subscriber.flush().await.unwrap();
    let receiving = tokio::spawn(async move {
        let got = receive_all(&mut sub, count, Duration::from_secs(5)).await;
        (got, subscriber)
    });
    let publishing = std::thread::spawn(move || raw_publish(addr, "burst", count));
    let (got, subscriber) = receiving.await.unwrap();
    publishing.join().unwrap();
    assert_eq!(got, count, "the slow subscriber lost messages");
    assert_eq!(
        subscriber.connection_state(),
        async_nats::connection::State::Connected
    );
    server.shutdown();
    server.wait_for_shutdown();
}

/// Publishes `count` messages of [`SIZE`] bytes on `subject` over a plain socket, in 64 KiB
/// writes, then waits for the PONG that proves the server read them all.
fn raw_publish(addr: SocketAddr, subject: &str, count: usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .unwrap();
    let mut message = format!("PUB {subject} {SIZE}\r\n").into_bytes();
    message.extend(std::iter::repeat_n(b'x', SIZE));
    message.extend_from_slice(b"\r\n");
    let per_write = (64 * 1024 / message.len()).max(1);
    let batch = message.repeat(per_write);
    let mut left = count;
    while left > 0 {
        let n = left.min(per_write);
        stream.write_all(&batch[..n * message.len()]).unwrap();
        left -= n;
    }
    stream.write_all(b"PING\r\n").unwrap();
    wait_for(&mut stream, b"PONG\r\n");
}

/// A raw subscriber that never reads (tiny receive buffer) beside a healthy async-nats one:
/// the stuck one is closed as a slow consumer after a bounded delay of the publisher, the
/// healthy one receives every message.
#[tokio::test]
#[allow(clippy::await_holding_lock)] // serializes whole tests; see ONE_AT_A_TIME
async fn a_stuck_subscriber_is_closed_while_another_keeps_receiving() {
    let _serial = one_at_a_time();
    let server = server(1024 * 1024);
    let addr = server.local_addr().unwrap();
    let mut stuck = small_buffers(addr);
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB burst 1\r\nPING\r\n")
        .unwrap();
    let healthy = connect(server.client_url().unwrap()).await;
    let mut sub = healthy.subscribe("burst").await.unwrap();
    healthy.flush().await.unwrap();
    // The stuck subscriber's SUB is in place once its PONG is (its INFO comes first).
    wait_for(&mut stuck, b"PONG\r\n");

    let count = 8 * 1024;
    let publisher = connect(server.client_url().unwrap()).await;
    let receiving =
        tokio::spawn(async move { receive_all(&mut sub, count, Duration::from_secs(5)).await });
    let started = Instant::now();
    let payload = payload();
    for _ in 0..count {
        publisher.publish("burst", payload.clone()).await.unwrap();
    }
    publisher.flush().await.unwrap();
    let published_in = started.elapsed();
    assert_eq!(
        receiving.await.unwrap(),
        count,
        "the healthy subscriber lost messages"
    );
    assert!(
        published_in < Duration::from_secs(5),
        "the publisher was held back {published_in:?}"
    );

    // The stuck subscriber was closed: reading now finds the end of the stream after less than
    // the burst (what the kernel buffered before the server dropped the rest).
    let received = read_to_end(&mut stuck, Duration::from_secs(10));
    assert!(
        received < count * SIZE / 2,
        "the stuck subscriber received {received} bytes"
    );
    server.shutdown();
    server.wait_for_shutdown();
}

/// Reads until `pattern` has been seen.
fn wait_for(stream: &mut TcpStream, pattern: &[u8]) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    while !seen.windows(pattern.len()).any(|w| w == pattern) {
        let n = stream.read(&mut buf).expect("reading");
        assert!(
            n > 0,
            "closed before {:?}",
            String::from_utf8_lossy(pattern)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

/// Reads until the server closes the stream; returns the bytes read. Fails after `limit`.
fn read_to_end(stream: &mut TcpStream, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return total,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "the stuck subscriber was never closed"
        );
    }
}

/// The `VmRSS` of process `pid`, in bytes.
fn rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// Issue 8's memory scenario: a subscriber that never reads, fed 2,000 messages of 64 KiB by a
/// fast publisher, with the default `max_pending` (64 MiB): it is closed as a slow consumer,
/// the daemon's memory stays within a small multiple of `max_pending` meanwhile, and once every
/// client is gone the daemon returns to its idle footprint (within 8 MiB).
#[test]
fn a_subscriber_that_never_reads_costs_bounded_memory_and_it_comes_back() {
    const MAX_PENDING: usize = 64 * 1024 * 1024;
    let _serial = one_at_a_time();
    let daemon = common::Daemon::start(&[]);
    let pid = daemon.child.id();
    let idle = rss(pid);

    let mut stuck = small_buffers(daemon.addr);
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n")
        .unwrap();
    wait_for(&mut stuck, b"PONG\r\n");
    let mut publisher = TcpStream::connect(daemon.addr).unwrap();
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .unwrap();
    let mut message = b"PUB big 65536\r\n".to_vec();
    message.extend(std::iter::repeat_n(b'x', 65536));
    message.extend_from_slice(b"\r\n");
    let mut peak = 0;
    for i in 0..2000 {
        publisher.write_all(&message).unwrap();
        if i % 32 == 0 {
            peak = peak.max(rss(pid));
        }
    }
    publisher.write_all(b"PING\r\n").unwrap();
    wait_for(&mut publisher, b"PONG\r\n");
    peak = peak.max(rss(pid));
    let received = read_to_end(&mut stuck, Duration::from_secs(10));
    assert!(
        received < 16 * 1024 * 1024,
        "{received} bytes reached the stuck subscriber"
    );
    assert!(
        peak < idle + 4 * MAX_PENDING,
        "peak {peak} bytes from {idle} idle"
    );
    drop(publisher);
    drop(stuck);
    // Back to idle: the writer's backlog was dropped at the close, and the freed pages are
    // returned to the system shortly after the burst.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut now_rss = rss(pid);
    while now_rss > idle + 8 * 1024 * 1024 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        now_rss = rss(pid);
    }
    assert!(
        now_rss <= idle + 8 * 1024 * 1024,
        "RSS {now_rss} bytes after the burst, {idle} idle, {peak} at peak"
    );
    drop(daemon);
}
