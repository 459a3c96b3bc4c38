//! A server binary (nats-server or Skiff's daemon) started once per scenario with a generated
//! config file, on a free loopback port: `BIN -c FILE -p PORT -a 127.0.0.1`.

use std::collections::BTreeSet;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::tcp::{RemoteServer, read_info};
use super::{Connection, Kind, Server, StartError, Target};
use crate::conf::render_conf;
use crate::version::Version;

/// Starts `binary` for each scenario.
#[derive(Debug)]
pub struct BinaryTarget {
    binary: PathBuf,
    kind: Kind,
    version: Version,
    reported: String,
    websocket: bool,
}

impl BinaryTarget {
    /// A target for the server binary at `binary`. A binary whose `--version` names nats-server
    /// is a nats target with that version; anything else is Skiff, judged as `as_version`.
    pub fn new(binary: &Path, as_version: Version) -> Result<Self, String> {
        let out = Command::new(binary)
            .arg("--version")
            .output()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let reported = text.trim().to_owned();
        let nats = text
            .split_whitespace()
            .skip_while(|w| !w.starts_with("nats-server"))
            .nth(1)
            .and_then(|v| v.parse::<Version>().ok());
        let (kind, version) = match nats {
            Some(v) => (Kind::Nats, v),
            None => (Kind::Skiff, as_version),
        };
        Ok(Self {
            binary: binary.to_owned(),
            kind,
            version,
            reported,
            websocket: false,
        })
    }

    /// The same target, with every scenario connecting over a WebSocket listener
    /// (`websocket { listen: 127.0.0.1:PORT, no_tls: true }` added to each config).
    pub fn over_websocket(mut self) -> Self {
        self.websocket = true;
        self
    }
}

impl Target for BinaryTarget {
    fn supports(&self, tag: &str) -> bool {
        // `tcp`: the scenario depends on the client arriving over plain TCP.
        let tcp_only = tag == "tcp" && self.websocket;
        !super::UNSUPPORTED_TAGS.contains(&tag) && !tcp_only
    }
    fn name(&self) -> String {
        let over = if self.websocket {
            " over WebSocket"
        } else {
            ""
        };
        format!("{} ({}){over}", self.binary.display(), self.reported)
    }
    fn kind(&self) -> Kind {
        self.kind
    }
    fn version(&self) -> Version {
        self.version
    }
    fn parallel(&self) -> bool {
        true
    }
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError> {
        let mut last = String::new();
        for _ in 0..3 {
            match SpawnedServer::start(&self.binary, config, self.websocket) {
                Ok(server) => return Ok(Box::new(server)),
                Err(e) => last = e.to_string(),
            }
        }
        Err(StartError::Failed(last))
    }
}

/// A child server process, killed on drop.
#[derive(Debug)]
pub struct SpawnedServer {
    child: Child,
    remote: RemoteServer,
    _dir: tempfile::TempDir,
}

impl SpawnedServer {
    fn start(binary: &Path, config: &[(String, String)], websocket: bool) -> io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("server.conf");
        let mut text = render_conf(config);
        let ws = if websocket {
            let port = free_port()?;
            text.push_str(&format!(
                "\nwebsocket {{ listen: \"127.0.0.1:{port}\", no_tls: true }}\n"
            ));
            Some(SocketAddr::from(([127, 0, 0, 1], port)))
        } else {
            None
        };
        std::fs::write(&conf, text)?;
        let port = free_port()?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Self {
            child,
            remote: RemoteServer {
                addr,
                websocket: ws,
            },
            _dir: dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Waits until the server answers with INFO (the probe connection is closed again, and a
    /// short pause lets the server forget it before `max_connections` scenarios begin).
    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!("server exited early: {status}")));
            }
            if read_info(self.remote.addr).is_ok() {
                std::thread::sleep(Duration::from_millis(30));
                // Someone else's server on the same port answers too; ours then exits.
                if let Some(status) = self.child.try_wait()? {
                    return Err(io::Error::other(format!("server exited: {status}")));
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("server did not become ready"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Server for SpawnedServer {
    fn connect(&mut self) -> io::Result<Box<dyn Connection>> {
        self.remote.connect()
    }
    fn sleep(&mut self, duration: Duration) {
        self.remote.sleep(duration);
    }
    fn pause(&mut self) {
        self.remote.pause();
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago and that this process has not handed out yet
/// (parallel scenarios must never share a server).
fn free_port() -> io::Result<u16> {
    static USED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if USED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port)
        {
            return Ok(port);
        }
    }
}
