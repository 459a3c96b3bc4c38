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
    let (status, stderr) = exit_and_stderr(&mut child);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
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
    let (status, stderr) = exit_and_stderr(&mut child);
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

/// Waits (up to 20 s) for `child` to exit; its status and everything it wrote to stderr.
fn exit_and_stderr(child: &mut std::process::Child) -> (std::process::ExitStatus, String) {
    let status = wait_timeout(child, Duration::from_secs(20));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

/// Reads from `stream` until `needle` shows up or `timeout` passes; returns what was read.
fn read_until(stream: &mut std::net::TcpStream, needle: &str, timeout: Duration) -> String {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = std::time::Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if String::from_utf8_lossy(&got).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn daemon_sighup_reloads_limits_from_the_config_file() {
    use std::io::Write;
    let dir = tempfile_dir("reload");
    let conf = dir.join("skiff.conf");
    std::fs::write(&conf, "max_payload: 100\n").unwrap();
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);
    let mut before = std::net::TcpStream::connect(daemon.addr).unwrap();
    assert!(
        read_until(&mut before, "\"max_payload\":100", Duration::from_secs(5)).contains("INFO")
    );

    std::fs::write(&conf, "max_payload: 1000\n").unwrap();
    daemon.signal("HUP");
    assert!(
        daemon.wait_for_line("Reloaded server configuration", Duration::from_secs(10)),
        "{:?}",
        daemon.log
    );
    let mut after = std::net::TcpStream::connect(daemon.addr).unwrap();
    let info = read_until(&mut after, "\"max_payload\":1000", Duration::from_secs(5));
    let port = format!("\"port\":{}", daemon.addr.port());
    assert!(
        info.contains(&port),
        "the reloaded INFO keeps the bound port: {info}"
    );
    let payload = "x".repeat(500);
    write!(
        after,
        "CONNECT {{\"verbose\":false}}\r\nPUB foo 500\r\n{payload}\r\nPING\r\n"
    )
    .unwrap();
    let reply = read_until(&mut after, "PONG", Duration::from_secs(5));
    assert!(reply.contains("PONG") && !reply.contains("-ERR"), "{reply}");

    daemon.signal("INT");
    assert_eq!(daemon.wait(Duration::from_secs(20)).code(), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn daemon_sigusr2_lame_duck_announces_closes_and_exits() {
    use std::io::Write;
    let dir = tempfile_dir("ldm");
    let conf = dir.join("skiff.conf");
    std::fs::write(
        &conf,
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
    )
    .unwrap();
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);
    let mut client = std::net::TcpStream::connect(daemon.addr).unwrap();
    read_until(&mut client, "\r\n", Duration::from_secs(5));
    write!(
        client,
        "CONNECT {{\"verbose\":false,\"protocol\":1}}\r\nPING\r\n"
    )
    .unwrap();
    read_until(&mut client, "PONG", Duration::from_secs(5));

    daemon.signal("USR2");
    let announced = read_until(&mut client, "\"ldm\":true", Duration::from_secs(5));
    assert!(announced.contains("\"ldm\":true"), "{announced}");
    // After the grace period the client is closed and the server stops by itself.
    let status = daemon.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{:?}", daemon.log);
    assert!(
        daemon.log.iter().any(|l| l.contains("lame duck")),
        "{:?}",
        daemon.log
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn daemon_second_sigint_during_the_drain_exits_at_once() {
    use std::io::Write;
    let mut daemon = Daemon::start(&[]);
    // A subscriber that never reads, and enough traffic to fill its socket buffers, so the
    // graceful drain has to wait for the write deadline (10 s by default).
    let mut stuck = std::net::TcpStream::connect(daemon.addr).unwrap();
    write!(
        stuck,
        "CONNECT {{\"verbose\":false}}\r\nSUB big 1\r\nPING\r\n"
    )
    .unwrap();
    read_until(&mut stuck, "PONG", Duration::from_secs(5));
    let mut publisher = std::net::TcpStream::connect(daemon.addr).unwrap();
    let payload = "x".repeat(60_000);
    let mut batch = String::from("CONNECT {\"verbose\":false}\r\n");
    for _ in 0..100 {
        batch.push_str(&format!("PUB big 60000\r\n{payload}\r\n"));
    }
    batch.push_str("PING\r\n");
    publisher.write_all(batch.as_bytes()).unwrap();
    read_until(&mut publisher, "PONG", Duration::from_secs(10));

    daemon.signal("INT");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the drain should still be waiting"
    );
    let start = std::time::Instant::now();
    daemon.signal("INT");
    let status = daemon.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{:?}", daemon.log);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("skiff-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The reload steps of `a_reload_rechecks_clients_as_nats_server_does` against one binary: what
/// the two clients receive after SIGHUP (lines sorted: nats-server's order follows a map).
fn reload_recheck_transcript(
    binary: &std::path::Path,
    dir: &std::path::Path,
) -> (Vec<String>, String) {
    use std::io::Write;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.join(format!("recheck-{port}.conf"));
    std::fs::write(
        &conf,
        format!("listen: 127.0.0.1:{port}\nauthorization {{ users: [ {{user: a, password: p}}, {{user: b, password: p}} ] }}\n"),
    )
    .unwrap();
    let mut child = Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let connect = |user: &str, ops: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut s = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("connecting: {e}"),
            }
        };
        write!(
            s,
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"p\"}}\r\n{ops}PING\r\n"
        )
        .unwrap();
        let got = read_until(&mut s, "PONG\r\n", Duration::from_secs(5));
        assert!(got.ends_with("PONG\r\n"), "{got}");
        s
    };
    let mut a = connect("a", "SUB secret.x 1\r\nSUB open 2\r\nSUB secret.y q 3\r\n");
    let mut b = connect("b", "");
    std::fs::write(
        &conf,
        format!("listen: 127.0.0.1:{port}\nauthorization {{ users: [ {{user: a, password: p, permissions: {{ subscribe: {{ deny: \"secret.>\" }} }} }} ] }}\n"),
    )
    .unwrap();
    send_signal(child.id(), "HUP");
    // `a` is still served: a PING after the reload answers after the violations.
    std::thread::sleep(Duration::from_millis(500));
    a.write_all(b"PING\r\n").unwrap();
    let got = read_until(&mut a, "PONG\r\n", Duration::from_secs(5));
    let mut lines: Vec<String> = got.lines().map(str::to_owned).collect();
    lines.sort();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = String::new();
    let _ = b.read_to_string(&mut rest);
    let _ = child.kill();
    let _ = child.wait();
    (lines, rest)
}

#[test]
fn a_reload_rechecks_clients_as_nats_server_does() {
    let nats = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/nats-server");
    let dir = tempfile_dir("recheck");
    let skiff = reload_recheck_transcript(std::path::Path::new(env!("CARGO_BIN_EXE_skiff")), &dir);
    assert_eq!(
        skiff.0,
        [
            "-ERR 'Permissions Violation for Subscription to \"secret.x\" (sid \"1\")'",
            "-ERR 'Permissions Violation for Subscription to \"secret.y\" using queue \"q\" (sid \"3\")'",
            "PONG",
        ]
    );
    assert_eq!(skiff.1, "", "a removed user is closed without an -ERR");
    if nats.is_file() {
        assert_eq!(
            reload_recheck_transcript(&nats, &dir),
            skiff,
            "nats-server differs"
        );
    }
}
