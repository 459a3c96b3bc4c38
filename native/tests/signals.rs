//! Signals: the `skiff` daemon and an embedding program with its own SIGINT handler.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Daemon, send_signal, wait_timeout};
use futures_lite::StreamExt;
use skiff::{Server, ServerOptions};

const CHILD_ENV: &str = "SKIFF_SIGNALS_TEST_CHILD";

/// The embedding program of the seed scenario, run in a child process (this test binary,
/// re-executed): skiff's signal handling is on AND the program's own SIGINT handler calls
/// `shutdown()`.
#[test]
fn child_embedding_program() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful when re-executed by the test below
    }
    let mut options = ServerOptions::default();
    options.handle_signals = true;
    let server = Arc::new(Server::run(options).expect("starting"));
    assert!(server.ready_for_connections(Duration::from_secs(5)));
    let mut signals = async_signal::Signals::new([async_signal::Signal::Int]).unwrap();
    let own = server.clone();
    std::thread::spawn(move || {
        smol::block_on(async {
            while signals.next().await.is_some() {
                own.shutdown();
            }
        })
    });
    println!("READY {}", server.local_addr().unwrap());
    server.wait_for_shutdown();
    println!("STOPPED {}", server.shutdown_count());
    std::process::exit(0);
}

#[test]
fn embedding_program_with_its_own_sigint_handler_exits_cleanly() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_embedding_program",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // The harness prints "test child_embedding_program ... " before the child's own output.
    while !line.contains("READY ") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child ended before READY"
        );
    }
    let addr = line.trim().rsplit("READY ").next().unwrap().to_owned();
    let _client = std::net::TcpStream::connect(addr).unwrap();
    send_signal(child.id(), "INT");
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(rest.contains("STOPPED 1"), "{rest}");
}

#[test]
fn daemon_sigint_exits_zero_and_removes_ports_file() {
    let dir = std::env::temp_dir().join(format!("skiff-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut daemon = Daemon::start(&["--ports_file_dir", dir.to_str().unwrap()]);
    let ports = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .expect("a ports file")
        .unwrap()
        .path();
    let name = ports.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("skiff_{}.ports", daemon.child.id()));
    assert_eq!(
        std::fs::read_to_string(&ports).unwrap(),
        format!(r#"{{"nats":["nats://{}"]}}"#, daemon.addr)
    );
    let _client = std::net::TcpStream::connect(daemon.addr).unwrap();
    daemon.signal("INT");
    let status = daemon.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{:?}", daemon.log);
    assert!(
        daemon
            .log
            .iter()
            .any(|l| l.ends_with("[INF] Trapped \"interrupt\" signal"))
    );
    assert!(
        daemon
            .log
            .iter()
            .any(|l| l.ends_with("[INF] Server Exiting.."))
    );
    assert!(!ports.exists(), "ports file left behind");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn daemon_sigterm_exits_zero() {
    let mut daemon = Daemon::start(&[]);
    daemon.signal("TERM");
    assert_eq!(
        daemon.wait(Duration::from_secs(20)).code(),
        Some(0),
        "{:?}",
        daemon.log
    );
    assert!(
        daemon
            .log
            .iter()
            .any(|l| l.contains("Trapped \"terminated\" signal"))
    );
}

#[test]
fn daemon_log_lines_have_nats_server_format() {
    let mut daemon = Daemon::start(&[]);
    let pid = daemon.child.id();
    for line in &daemon.log {
        let rest = line.strip_prefix(&format!("[{pid}] ")).expect(line);
        // YYYY/MM/DD HH:MM:SS.micro [INF] ...
        assert_eq!(rest.as_bytes()[4], b'/', "{line}");
        assert_eq!(rest.as_bytes()[19], b'.', "{line}");
        assert_eq!(&rest[26..33], " [INF] ", "{line}");
    }
    daemon.signal("INT");
    daemon.wait(Duration::from_secs(20));
}

#[test]
fn daemon_that_cannot_listen_exits_one() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["-a", "127.0.0.1", "-p", &port])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[FTL] Error listening on port"), "{stderr}");
}

#[test]
fn daemon_writes_pid_file_and_obeys_signal_command() {
    let pid_file = std::env::temp_dir().join(format!("skiff-pid-{}.pid", std::process::id()));
    let mut daemon = Daemon::start(&["-P", pid_file.to_str().unwrap()]);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid, daemon.child.id().to_string());
    let status = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .arg(format!("--signal=quit={}", pid_file.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        daemon.wait(Duration::from_secs(20)).code(),
        Some(0),
        "{:?}",
        daemon.log
    );
    let _ = std::fs::remove_file(pid_file);
}
