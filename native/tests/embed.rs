//! The embedding API: start, ready, TCP and in-process clients, idempotent concurrent
//! shutdown, and shutdown flushing every accepted message.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use skiff::{ConnectError, Server, ServerOptions, StartError};

/// Reads from `stream` until the text read so far contains `end`.
fn read_until(stream: &mut TcpStream, end: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(end.len()).any(|w| w == end.as_bytes()) {
        let n = stream.read(&mut buf).expect("reading");
        assert!(
            n > 0,
            "closed early after {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(seen).unwrap()
}

#[test]
fn tcp_client_publishes_and_receives() {
    let server = common::embedded();
    let mut client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    client
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB a.* 7\r\nPUB a.b r 3\r\nabc\r\nPING\r\n")
        .unwrap();
    let seen = read_until(&mut client, "PONG\r\n");
    assert!(seen.starts_with("INFO {"), "{seen}");
    assert!(seen.ends_with("MSG a.b 7 r 3\r\nabc\r\nPONG\r\n"), "{seen}");
    assert_eq!(
        server.client_url().unwrap(),
        format!("nats://{}", server.local_addr().unwrap())
    );
}

#[test]
fn in_process_connection_needs_no_socket() {
    let mut options = ServerOptions::default();
    options.listen = false;
    let server = common::embedded_with(options);
    assert!(server.local_addr().is_none());
    let mut conn = server.in_process_connection().unwrap();
    smol::block_on(async {
        conn.write_all(b"CONNECT {}\r\nSUB x 1\r\nPUB x 2\r\nhi\r\nPING\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"PONG\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0);
            seen.extend_from_slice(&buf[..n]);
        }
        let seen = String::from_utf8(seen).unwrap();
        assert!(seen.starts_with("INFO {"));
        assert!(seen.contains("MSG x 1 2\r\nhi\r\n"), "{seen}");
    });
    server.shutdown();
    server.wait_for_shutdown();
    // The server closed the stream: reading ends.
    let mut rest = Vec::new();
    smol::block_on(conn.read_to_end(&mut rest)).unwrap();
    assert_eq!(
        server.in_process_connection().err(),
        Some(ConnectError::Stopped)
    );
}

#[test]
fn lifecycle_errors_are_reported_not_panics() {
    let server = Server::new(ServerOptions::default()).unwrap();
    assert!(!server.ready_for_connections(Duration::from_millis(10)));
    assert_eq!(
        server.in_process_connection().err(),
        Some(ConnectError::NotStarted)
    );
    server.wait_for_shutdown(); // never started: returns at once
    server.start().unwrap();
    assert!(matches!(server.start(), Err(StartError::AlreadyStarted)));
    assert!(server.ready_for_connections(Duration::from_secs(5)));

    let taken = server.local_addr().unwrap();
    let clash = Server::run(ServerOptions::listen_on("127.0.0.1", taken.port()));
    assert!(matches!(clash, Err(StartError::Listen { .. })), "{clash:?}");

    let mut bad = ServerOptions::default();
    bad.config.max_payload = bad.config.max_pending + 1;
    assert!(matches!(Server::new(bad), Err(StartError::Config(_))));
}

#[test]
fn a_thousand_concurrent_shutdowns_shut_down_once() {
    let server = Arc::new(common::embedded());
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    server.shutdown();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no shutdown call panics");
    }
    server.wait_for_shutdown();
    assert!(server.is_stopped());
    assert!(!server.is_listening());
    assert_eq!(server.shutdown_count(), 1);
    // Later calls, from anywhere, are still harmless.
    server.shutdown();
    server.shutdown_now();
    server.lame_duck();
    assert_eq!(server.shutdown_count(), 1);
    assert!(TcpStream::connect(server.local_addr().unwrap()).is_err());
}

#[test]
fn dropping_the_server_shuts_it_down() {
    let server = common::embedded();
    let addr = server.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    read_until(&mut client, "\r\n");
    drop(server);
    let mut rest = Vec::new();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.read_to_end(&mut rest).expect("closed by the server");
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn reload_applies_a_valid_config_and_rejects_a_bad_one() {
    let server = common::embedded();
    let mut config = skiff_core::Config::default();
    config.max_payload = 1024;
    assert_eq!(server.reload(config.clone()), Ok(()));
    config.max_payload = config.max_pending + 1;
    assert!(matches!(server.reload(config), Err(Some(_))));
}

/// Publishers send numbered messages while the server shuts down; every message a publisher
/// saw accepted (a PONG after it) reaches the subscriber before its connection closes.
#[test]
fn shutdown_delivers_every_accepted_message() {
    const PUBLISHERS: usize = 4;
    let server = Arc::new(common::embedded());
    let addr = server.local_addr().unwrap();

    let mut sub = TcpStream::connect(addr).unwrap();
    sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB p.* 1\r\nPING\r\n")
        .unwrap();
    read_until(&mut sub, "PONG\r\n");
    let subscriber = std::thread::spawn(move || {
        let mut all = Vec::new();
        sub.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        sub.read_to_end(&mut all)
            .expect("read until the server closes");
        String::from_utf8(all).unwrap()
    });

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            std::thread::spawn(move || {
                let mut conn = TcpStream::connect(addr).unwrap();
                conn.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
                let mut confirmed = 0u64;
                let mut sent = 0u64;
                let mut buf = [0u8; 4096];
                let mut pending = String::new();
                'outer: loop {
                    let mut batch = String::new();
                    for _ in 0..50 {
                        let body = sent.to_string();
                        batch.push_str(&format!("PUB p.{p} {}\r\n{body}\r\n", body.len()));
                        sent += 1;
                    }
                    batch.push_str("PING\r\n");
                    if conn.write_all(batch.as_bytes()).is_err() {
                        break;
                    }
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => break 'outer,
                            Ok(n) => pending.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                        }
                        if let Some(i) = pending.find("PONG\r\n") {
                            pending.drain(..i + 6);
                            confirmed = sent;
                            break;
                        }
                    }
                }
                confirmed
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(300));
    server.shutdown();
    let confirmed: Vec<u64> = publishers.into_iter().map(|t| t.join().unwrap()).collect();
    let wire = subscriber.join().unwrap();
    server.wait_for_shutdown();

    let mut received = vec![Vec::new(); PUBLISHERS];
    let mut lines = wire.split("\r\n");
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("MSG p.") {
            let p: usize = rest.split(' ').next().unwrap().parse().unwrap();
            let body: u64 = lines.next().unwrap().parse().unwrap();
            received[p].push(body);
        }
    }
    for p in 0..PUBLISHERS {
        assert!(
            confirmed[p] > 0,
            "publisher {p} never got a message accepted"
        );
        let expected: Vec<u64> = (0..received[p].len() as u64).collect();
        assert_eq!(received[p], expected, "publisher {p}: gaps or reordering");
        assert!(
            received[p].len() as u64 >= confirmed[p],
            "publisher {p}: {} delivered, {} accepted",
            received[p].len(),
            confirmed[p]
        );
    }
}

#[test]
fn lame_duck_closes_clients_then_stops() {
    let mut options = ServerOptions::default();
    options.config.lame_duck_duration = Duration::from_millis(1500);
    options.config.lame_duck_grace_period = Duration::from_millis(200);
    let server = common::embedded_with(options);
    let mut client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    client
        .write_all(b"CONNECT {\"protocol\":1,\"verbose\":false}\r\nPING\r\n")
        .unwrap();
    read_until(&mut client, "PONG\r\n");
    server.lame_duck();
    let mut rest = Vec::new();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client
        .read_to_end(&mut rest)
        .expect("closed during lame duck");
    server.wait_for_shutdown();
    assert_eq!(
        server.shutdown_count(),
        0,
        "lame duck is not a shutdown request"
    );
    assert!(
        String::from_utf8_lossy(&rest).contains("\"ldm\":true"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

/// A subscriber that never reads: once the socket buffers fill, a write misses the deadline
/// and the connection is closed as a slow consumer; the publisher is unaffected.
#[test]
fn a_stuck_reader_misses_the_write_deadline() {
    let mut options = ServerOptions::default();
    options.config.write_deadline = Duration::from_millis(200);
    let server = common::embedded_with(options);
    let addr = server.local_addr().unwrap();
    let mut stuck = TcpStream::connect(addr).unwrap();
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n")
        .unwrap();
    read_until(&mut stuck, "PONG\r\n");

    let mut publisher = TcpStream::connect(addr).unwrap();
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .unwrap();
    let payload = vec![b'x'; 64 * 1024];
    let mut frame = format!("PUB big {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(b"\r\n");
    for _ in 0..400 {
        publisher.write_all(&frame).unwrap();
    }
    publisher.write_all(b"PING\r\n").unwrap();
    read_until(&mut publisher, "PONG\r\n");

    // Now read: the stream ends (after whatever was written before the close).
    std::thread::sleep(Duration::from_millis(600));
    stuck
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = Vec::new();
    let end = stuck.read_to_end(&mut sink);
    assert!(end.is_ok() || end.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset));
    assert!(
        sink.len() < 400 * payload.len(),
        "everything was delivered: no slow consumer"
    );
}

/// When `wait_for_shutdown` returns, the client port is free: test suites restart a server on
/// the same port straight away.
#[test]
fn the_port_is_free_once_shutdown_returns() {
    for _ in 0..20 {
        let server = common::embedded();
        let addr = server.local_addr().unwrap();
        server.shutdown();
        server.wait_for_shutdown();
        let again = Server::run(ServerOptions::listen_on("127.0.0.1", addr.port()));
        assert!(again.is_ok(), "port {} still taken: {again:?}", addr.port());
    }
}
