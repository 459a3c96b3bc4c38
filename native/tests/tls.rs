//! TLS on the client listener with certificates made here (rcgen; no key is committed),
//! run side by side against the Skiff daemon and nats-server 2.15 with one config file:
//! async-nats over TLS (INFO first, and handshake first), client certificates required by
//! `verify`, users named by their certificate with `verify_and_map`, and the failures: a
//! plain client to a TLS server, a TLS client to a plain server, a missing client
//! certificate. The server stays up after each.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::certs::Certs;
use common::side_by_side::Running;
use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(5);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Skiff and (when installed) nats-server, each on `conf`.
fn servers(certs: &Certs, conf: &str) -> Vec<Running> {
    let file = certs.dir.join(format!("server-{}.conf", free_port()));
    std::fs::write(&file, conf).unwrap();
    common::side_by_side::servers(&file)
}

fn trusting(certs: &Certs) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .add_root_certificates(certs.path("ca.pem"))
        .require_tls(true)
        .max_reconnects(Some(1))
        .connection_timeout(Duration::from_secs(3))
}

async fn round_trip(client: &async_nats::Client, name: &str) {
    let mut sub = client.subscribe("tls.echo").await.unwrap();
    client.publish("tls.echo", "over tls".into()).await.unwrap();
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("{name}: no message"))
        .unwrap();
    assert_eq!(&m.payload[..], b"over tls", "{name}");
}

/// The first line a server sends to a plain TCP client.
fn first_line(addr: &str) -> String {
    use std::io::{BufRead, BufReader};
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

#[tokio::test]
async fn tls_clients_connect_and_plain_ones_fail() {
    let certs = Certs::make("basic");
    for mut server in servers(&certs, &certs.block("timeout: 1")) {
        let name = server.name;
        let info = first_line(&server.addr);
        assert!(info.starts_with("INFO {"), "{name}: {info}");
        assert!(info.contains("\"tls_required\":true"), "{name}: {info}");
        assert!(!info.contains("tls_verify"), "{name}: {info}");

        let client = trusting(&certs)
            .connect(format!("tls://{}", server.addr))
            .await
            .unwrap_or_else(|e| panic!("{name}: TLS connect: {e}"));
        round_trip(&client, name).await;

        // A client that does not trust the server's CA is refused by its own TLS.
        let untrusting = async_nats::ConnectOptions::new()
            .require_tls(true)
            .max_reconnects(Some(1))
            .connection_timeout(Duration::from_secs(3))
            .connect(format!("tls://{}", server.addr))
            .await;
        assert!(untrusting.is_err(), "{name}: an untrusted certificate");

        // A plain client: the server reads CONNECT where a handshake should be and closes.
        let mut plain = TcpStream::connect(&server.addr).unwrap();
        plain.set_read_timeout(Some(WAIT)).unwrap();
        use std::io::{Read, Write};
        let mut buf = vec![0; 4096];
        let _ = plain.read(&mut buf);
        plain.write_all(b"CONNECT {}\r\nPING\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = plain.read_to_end(&mut rest);
        assert!(
            !String::from_utf8_lossy(&rest).contains("PONG"),
            "{name}: a plain client got through"
        );
        round_trip(&client, name).await;

        // A client that never starts the handshake is closed after `timeout` (1 s).
        let mut idle = TcpStream::connect(&server.addr).unwrap();
        idle.set_read_timeout(Some(WAIT)).unwrap();
        let started = std::time::Instant::now();
        let mut rest = Vec::new();
        let _ = idle.read_to_end(&mut rest);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(800) && waited < Duration::from_secs(4),
            "{name}: closed after {waited:?}"
        );
        assert!(server.guard.alive(), "{name} stays up");
    }
}

#[tokio::test]
async fn handshake_first() {
    let certs = Certs::make("first");
    for server in servers(&certs, &certs.block("handshake_first: true")) {
        let name = server.name;
        let client = trusting(&certs)
            .tls_first()
            .connect(format!("tls://{}", server.addr))
            .await
            .unwrap_or_else(|e| panic!("{name}: TLS-first connect: {e}"));
        round_trip(&client, name).await;
        // Nothing in plain text comes first.
        let mut plain = TcpStream::connect(&server.addr).unwrap();
        plain
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 16];
        use std::io::Read;
        let n = plain.read(&mut buf).unwrap_or(0);
        assert!(!buf[..n].starts_with(b"INFO"), "{name}: INFO before TLS");
    }
}

#[tokio::test]
async fn verify_requires_a_client_certificate() {
    let certs = Certs::make("verify");
    for mut server in servers(&certs, &certs.block("verify: true")) {
        let name = server.name;
        let info = first_line(&server.addr);
        assert!(info.contains("\"tls_verify\":true"), "{name}: {info}");
        let refused = trusting(&certs)
            .connect(format!("tls://{}", server.addr))
            .await;
        assert!(refused.is_err(), "{name}: no client certificate");
        let client = trusting(&certs)
            .add_client_certificate(certs.path("client.pem"), certs.path("client-key.pem"))
            .connect(format!("tls://{}", server.addr))
            .await
            .unwrap_or_else(|e| panic!("{name}: with a client certificate: {e}"));
        round_trip(&client, name).await;
        assert!(server.guard.alive(), "{name} stays up");
    }
}

#[tokio::test]
async fn verify_and_map_authenticates_the_certificates_user() {
    let certs = Certs::make("map");
    for (user, allowed) in [
        ("alice@example.com", true),
        ("O=Acme,CN=alice", true),
        ("bob", false),
    ] {
        let conf = format!(
            "{}authorization {{ users: [ {{user: \"{user}\"}} ] }}\n",
            certs.block("verify_and_map: true")
        );
        for server in servers(&certs, &conf) {
            let name = server.name;
            let result = trusting(&certs)
                .add_client_certificate(certs.path("client.pem"), certs.path("client-key.pem"))
                .connect(format!("tls://{}", server.addr))
                .await;
            match (allowed, result) {
                (true, Ok(client)) => {
                    let answer =
                        tokio::time::timeout(WAIT, client.request("$SYS.REQ.USER.INFO", "".into()))
                            .await
                            .unwrap()
                            .unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&answer.payload).unwrap();
                    assert_eq!(json["data"]["user"], user, "{name}");
                }
                (false, Err(_)) => {}
                (allowed, result) => {
                    panic!("{name}: user {user}: expected allowed={allowed}, got {result:?}")
                }
            }
        }
    }
}

#[tokio::test]
async fn a_tls_client_to_a_plain_server_fails_cleanly() {
    let certs = Certs::make("plain");
    for mut server in servers(&certs, "") {
        let name = server.name;
        let result = trusting(&certs)
            .connect(format!("tls://{}", server.addr))
            .await;
        assert!(result.is_err(), "{name}: TLS required by the client");
        let plain = async_nats::connect(format!("nats://{}", server.addr))
            .await
            .unwrap();
        round_trip(&plain, name).await;
        assert!(server.guard.alive(), "{name} stays up");
    }
}
