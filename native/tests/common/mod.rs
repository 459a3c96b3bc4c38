//! Helpers shared by the integration tests: embedded servers and the `skiff` binary.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use skiff::{Server, ServerOptions};

pub mod certs;
pub mod jwt;
pub mod side_by_side;

/// An embedded server on 127.0.0.1 and a free port, ready for connections.
pub fn embedded() -> Server {
    embedded_with(ServerOptions::default())
}

/// An embedded server with `options`, ready for connections.
pub fn embedded_with(options: ServerOptions) -> Server {
    let server = Server::run(options).expect("starting the server");
    assert!(
        server.ready_for_connections(Duration::from_secs(10)),
        "server not ready"
    );
    server
}

/// A `skiff` daemon process and the client address it logged.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    /// Log lines read so far (stderr).
    pub log: Vec<String>,
    lines: Option<std::sync::mpsc::Receiver<String>>,
}

impl Daemon {
    /// Starts `skiff` with `args` (plus `-a 127.0.0.1 -p -1` unless given) and waits for
    /// "Server is ready", as client test suites do.
    pub fn start(args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skiff"));
        if !args.contains(&"-p") {
            cmd.args(["-a", "127.0.0.1", "-p", "-1"]);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning skiff");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Self {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            log: Vec::new(),
            lines: Some(rx),
        };
        let ready = daemon.wait_for_line("Server is ready", Duration::from_secs(15));
        assert!(ready, "skiff did not become ready: {:?}", daemon.log);
        let listening = daemon
            .log
            .iter()
            .find_map(|l| l.split("Listening for client connections on ").nth(1))
            .expect("listen line")
            .to_owned();
        daemon.addr = listening.parse().expect("listen address");
        daemon
    }

    /// Waits until a log line contains `text`.
    pub fn wait_for_line(&mut self, text: &str, timeout: Duration) -> bool {
        if self.log.iter().any(|l| l.contains(text)) {
            return true;
        }
        let deadline = std::time::Instant::now() + timeout;
        let rx = self.lines.as_ref().unwrap();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(text);
                    self.log.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits until `count` log lines in all contain `text`.
    pub fn wait_for_lines(&mut self, text: &str, count: usize, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let rx = self.lines.as_ref().unwrap();
        loop {
            if self.log.iter().filter(|l| l.contains(text)).count() >= count {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                return false;
            };
            match rx.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => return false,
            }
        }
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Sends a signal by name (`INT`, `TERM`, `USR2`, `HUP`).
    pub fn signal(&self, name: &str) {
        send_signal(self.child.id(), name);
    }

    /// Waits for the process to exit (killing it after `timeout`), then drains the log.
    pub fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = wait_timeout(&mut self.child, timeout);
        if let Some(rx) = self.lines.take() {
            while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
                self.log.push(line);
            }
        }
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal with the system's `kill` command.
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "kill -{name} {pid} failed"
    );
}

/// Waits for a child, killing it if it takes longer than `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
