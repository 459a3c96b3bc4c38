//! The daemon as client test harnesses start it: flags nats-server accepts start Skiff too,
//! with a warning naming each one Skiff ignores.

mod common;

use std::time::Duration;

use common::Daemon;

/// async-nats' test harness passes `--store_dir` on every start (nats-server only uses it
/// once JetStream is on).
#[test]
fn async_nats_harness_flags_start_with_a_warning() {
    let dir = std::env::temp_dir().join(format!("skiff-store-{}", std::process::id()));
    let dir = dir.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(&["-a", "127.0.0.1", "--store_dir", &dir, "-p", "-1"]);
    assert!(daemon.wait_for_line("Server is ready", Duration::from_secs(5)));
    assert!(
        daemon.log.iter().any(|l| l.contains("[WRN]")
            && l.contains("flag -store_dir is not supported by skiff (only used by JetStream")),
        "{:?}",
        daemon.log
    );
    // And it serves clients.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(daemon.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("PONG\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
}

/// JetStream stays refused, naming the flag.
#[test]
fn jetstream_is_refused_by_name() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["-js", "-p", "-1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("flag -js is not supported: skiff has no JetStream"),
        "{err}"
    );
}
