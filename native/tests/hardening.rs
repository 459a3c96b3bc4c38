//! No configuration file can crash the daemon: deeply nested files are refused with a
//! `file:line:col` error on start, on `-t` and on reload, and a reload that fails for any
//! reason leaves the running server as it was (nats-server logs "Failed to reload server
//! configuration" and keeps serving).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Daemon, wait_timeout};

/// A fresh directory for one test's files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("skiff-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The hostile files of issue 9, by name.
fn deep_configs() -> Vec<(&'static str, String)> {
    vec![
        ("maps-8000-unterminated", "a { ".repeat(8000)),
        ("maps-2000-unterminated", "a { ".repeat(2000)),
        (
            "maps-2000-terminated",
            format!("{}{}", "a { ".repeat(2000), "}".repeat(2000)),
        ),
        ("arrays-50000", format!("a = {}", "[".repeat(50_000))),
        (
            "arrays-50000-terminated",
            format!("a = {}1{}", "[".repeat(50_000), "]".repeat(50_000)),
        ),
    ]
}

/// Runs `skiff args` to completion; its exit code and stderr.
fn run_skiff(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status.code(), out)
}

/// Forty lines, each referencing the line before twice: 2^40 values if copied naively.
fn doubling_config() -> String {
    let mut text = String::from("a0: [ 1, 1 ]\n");
    for i in 1..40 {
        text.push_str(&format!("a{i}: [ $a{}, $a{} ]\n", i - 1, i - 1));
    }
    text
}

#[test]
fn doubling_variable_references_are_an_error_not_an_out_of_memory_abort() {
    let dir = TempDir::new("doubling");
    let file = dir.write("doubling.conf", &doubling_config());
    let (code, out) = run_skiff(&["-t", "-c", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("variable references copy too much"), "{out}");
}

#[test]
fn deep_config_files_are_errors_not_crashes() {
    let dir = TempDir::new("deep-start");
    for (name, text) in deep_configs() {
        let file = dir.write(&format!("{name}.conf"), &text);
        let file = file.to_str().unwrap();
        for args in [
            vec!["-t", "-c", file],
            vec!["-c", file, "-a", "127.0.0.1", "-p", "-1"],
        ] {
            let (code, out) = run_skiff(&args);
            assert_eq!(code, Some(1), "{name} {args:?}: {out}");
            assert!(
                out.contains(&format!("{file}:1:")) && out.contains("too deeply nested"),
                "{name} {args:?}: {out}"
            );
        }
    }
}

/// Connects, reads INFO, and checks `max_payload` in it.
fn connect_expecting_max_payload(daemon: &Daemon, max_payload: usize) -> TcpStream {
    let mut client = TcpStream::connect(daemon.addr).unwrap();
    let info = read_until(&mut client, "\r\n");
    assert!(
        info.contains(&format!("\"max_payload\":{max_payload}")),
        "{info}"
    );
    client
}

/// Reads until `needle` arrives (or 5 s pass).
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline && !String::from_utf8_lossy(&got).contains(needle) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A client round trip: PING gets PONG.
fn assert_alive(client: &mut TcpStream) {
    client.write_all(b"PING\r\n").unwrap();
    let reply = read_until(client, "PONG\r\n");
    assert!(reply.ends_with("PONG\r\n"), "{reply}");
}

#[test]
fn failed_reloads_leave_the_running_server_untouched() {
    let dir = TempDir::new("deep-reload");
    let good = "max_payload: 100\n";
    let conf = dir.write("skiff.conf", good);
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);
    let mut client = connect_expecting_max_payload(&daemon, 100);
    client
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\n")
        .unwrap();
    assert_alive(&mut client);

    let mut broken: Vec<(String, String)> = deep_configs()
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text))
        .collect();
    // Parses, but the broker refuses it; `debug` must not change on its own either.
    broken.push((
        "rejected-by-the-broker".into(),
        "debug: true\nmax_payload: 2000\nmax_pending: 1000\n".into(),
    ));
    broken.push(("syntax-error".into(), "max_payload: [\n".into()));
    broken.push(("doubling-references".into(), doubling_config()));
    for (round, (name, text)) in broken.iter().enumerate() {
        std::fs::write(&conf, text).unwrap();
        daemon.signal("HUP");
        let failed = daemon.wait_for_lines(
            "[ERR] Failed to reload server configuration",
            round + 1,
            Duration::from_secs(10),
        );
        assert!(failed, "{name}: {:?}", daemon.log);
        // The client connected before is still served, and so is a new one, as before.
        assert_alive(&mut client);
        let mut fresh = connect_expecting_max_payload(&daemon, 100);
        fresh
            .write_all(b"CONNECT {\"verbose\":false}\r\nPUB foo 3\r\nabc\r\n")
            .unwrap();
        assert_alive(&mut fresh);
        let delivered = read_until(&mut client, "abc\r\n");
        assert!(
            delivered.contains("MSG foo 1 3\r\nabc\r\n"),
            "{name}: {delivered}"
        );
    }
    let last = daemon
        .log
        .iter()
        .rev()
        .find(|l| l.contains("Failed to reload"));
    assert!(
        last.is_some_and(|l| l.contains("skiff.conf:18:") && l.contains("copy too much")),
        "{:?}",
        daemon.log
    );
    let deep = daemon
        .log
        .iter()
        .filter(|l| l.contains("too deeply nested"))
        .count();
    assert_eq!(deep, deep_configs().len(), "{:?}", daemon.log);
    assert!(
        !daemon.log.iter().any(|l| l.contains("[DBG]")),
        "a refused reload changed the log level: {:?}",
        daemon.log
    );

    // A good file is still taken afterwards.
    std::fs::write(&conf, "max_payload: 1000\n").unwrap();
    daemon.signal("HUP");
    assert!(daemon.wait_for_line("Reloaded server configuration", Duration::from_secs(10)));
    connect_expecting_max_payload(&daemon, 1000);
    daemon.signal("INT");
    assert_eq!(daemon.wait(Duration::from_secs(20)).code(), Some(0));
}

/// Reads whatever arrives within `wait`.
fn drain(stream: &mut TcpStream, wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn the_log_tells_operators_what_nats_server_tells_them() {
    let dir = TempDir::new("log-events");
    let conf = dir.write(
        "skiff.conf",
        "authorization { user: alice, password: \"pw-secret\" }\nmax_connections: 3\nmax_pending: 100000\nmax_payload: 65536\n",
    );
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);

    // An authentication failure names the user, never the password.
    let mut bad = TcpStream::connect(daemon.addr).unwrap();
    read_until(&mut bad, "\r\n");
    bad.write_all(b"CONNECT {\"user\":\"alice\",\"pass\":\"guess-secret\"}\r\n")
        .unwrap();
    assert!(read_until(&mut bad, "Authorization Violation").contains("-ERR"));
    assert!(daemon.wait_for_line("authentication error", Duration::from_secs(5)));

    // A parse error, labelled with the client's name and user as nats-server does.
    let mut broken = TcpStream::connect(daemon.addr).unwrap();
    read_until(&mut broken, "\r\n");
    broken
        .write_all(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw-secret\",\"name\":\"app\",\"lang\":\"rust\",\"version\":\"0.1\"}\r\nXX\r\n")
        .unwrap();
    assert!(read_until(&mut broken, "Unknown Protocol Operation").contains("-ERR"));
    assert!(daemon.wait_for_line("Client parser ERROR", Duration::from_secs(5)));

    // A slow consumer: it subscribes and never reads.
    let mut slow = TcpStream::connect(daemon.addr).unwrap();
    read_until(&mut slow, "\r\n");
    slow.write_all(
        b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw-secret\"}\r\nSUB foo 1\r\nPING\r\n",
    )
    .unwrap();
    assert!(read_until(&mut slow, "PONG").contains("PONG"));
    let mut publisher = TcpStream::connect(daemon.addr).unwrap();
    read_until(&mut publisher, "\r\n");
    publisher
        .write_all(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw-secret\"}\r\n")
        .unwrap();
    let mut frame = b"PUB foo 60000\r\n".to_vec();
    frame.extend_from_slice(&[b'x'; 60_000]);
    frame.extend_from_slice(b"\r\n");
    for _ in 0..200 {
        if publisher.write_all(&frame).is_err() {
            break;
        }
        if daemon.log.iter().any(|l| l.contains("Slow Consumer")) {
            break;
        }
    }
    assert!(
        daemon.wait_for_line("Slow Consumer Detected", Duration::from_secs(10)),
        "{:?}",
        daemon.log
    );
    drop(slow);

    // Over max_connections (the publisher and this one's predecessors hold the slots).
    let mut extra: Vec<TcpStream> = Vec::new();
    for _ in 0..3 {
        let mut c = TcpStream::connect(daemon.addr).unwrap();
        let got = drain(&mut c, Duration::from_millis(300));
        extra.push(c);
        if got.contains("maximum connections exceeded") {
            break;
        }
    }
    assert!(daemon.wait_for_line("maximum connections exceeded", Duration::from_secs(5)));

    daemon.signal("INT");
    daemon.wait(Duration::from_secs(20));
    let line = |text: &str| {
        daemon
            .log
            .iter()
            .find(|l| l.contains(text))
            .cloned()
            .unwrap_or_default()
    };
    let auth = line("authentication error");
    assert!(
        auth.contains("[ERR] 127.0.0.1:")
            && auth.ends_with(" - authentication error - User \"alice\""),
        "{auth}"
    );
    let parse = line("Client parser ERROR");
    assert!(
        parse.contains("[ERR] 127.0.0.1:")
            && parse.ends_with(" - \"v0.1:rust:app\" - \"$G/user:alice\" - Client parser ERROR: proto='\"XX\\r\"...'"),
        "{parse}"
    );
    let slow = line("Slow Consumer");
    assert!(
        slow.contains("[INF] 127.0.0.1:")
            && slow.ends_with(" - Slow Consumer Detected: MaxPending of 100000 Exceeded"),
        "{slow}"
    );
    let max = line("maximum connections exceeded");
    assert!(
        max.contains("[ERR] 127.0.0.1:") && max.ends_with(" - maximum connections exceeded"),
        "{max}"
    );
    assert!(
        !daemon.log.iter().any(|l| l.contains("secret")),
        "a secret reached the log: {:?}",
        daemon.log
    );
}
