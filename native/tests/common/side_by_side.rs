//! The Skiff daemon and nats-server 2.15 (`.tools/nats-server`, when installed) started on
//! one config file, for tests that run the same checks against both.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Daemon;

/// One server under test.
pub struct Running {
    /// `skiff` or `nats-server`.
    pub name: &'static str,
    /// Its client listener, `127.0.0.1:PORT`.
    pub addr: String,
    /// Keeps it running.
    pub guard: Guard,
}

/// What keeps a server running; a nats-server process is killed on drop.
pub enum Guard {
    /// The Skiff daemon.
    Skiff(Daemon),
    /// A nats-server process.
    Nats(Child),
}

impl Guard {
    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        let child = match self {
            Self::Skiff(daemon) => &mut daemon.child,
            Self::Nats(child) => child,
        };
        child.try_wait().unwrap().is_none()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Self::Nats(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Skiff, then nats-server if installed, each on `conf` and a free loopback port.
pub fn servers(conf: &Path) -> Vec<Running> {
    let conf = conf.to_str().unwrap();
    let daemon = Daemon::start(&["-c", conf]);
    let mut running = vec![Running {
        name: "skiff",
        addr: format!("127.0.0.1:{}", daemon.addr.port()),
        guard: Guard::Skiff(daemon),
    }];
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/nats-server");
    if !binary.is_file() {
        eprintln!("nats-server not installed (.tools/nats-server): Skiff only");
        return running;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&binary)
        .args(["-c", conf, "-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning nats-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    running.push(Running {
        name: "nats-server",
        addr: format!("127.0.0.1:{port}"),
        guard: Guard::Nats(child),
    });
    running
}
