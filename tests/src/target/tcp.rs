//! TCP connections, and the target for a server already running at `nats://host:port`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{Connection, Kind, Recv, Server, StartError, Target};
use crate::version::Version;

/// A client connection over TCP (`TCP_NODELAY`, so each send is its own segment).
#[derive(Debug)]
pub struct TcpConnection {
    stream: TcpStream,
}

impl TcpConnection {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream })
    }
}

impl Connection for TcpConnection {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn recv(&mut self, timeout: Duration) -> Recv {
        let timeout = timeout.max(Duration::from_millis(1));
        if self.stream.set_read_timeout(Some(timeout)).is_err() {
            return Recv::Closed;
        }
        let mut buf = vec![0; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => Recv::Closed,
            Ok(n) => {
                buf.truncate(n);
                Recv::Data(buf)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Recv::Timeout
            }
            Err(_) => Recv::Closed,
        }
    }

    fn close(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Reads the INFO line a server sends first and returns it.
pub fn read_info(addr: SocketAddr) -> io::Result<serde_json::Value> {
    let mut conn = TcpConnection::connect(addr)?;
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        match conn.recv(Duration::from_secs(5)) {
            Recv::Data(d) => got.extend(d),
            _ => return Err(io::Error::other("no INFO from the server")),
        }
    }
    conn.close();
    let end = got
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(got.len());
    let line = got[..end]
        .strip_prefix(b"INFO ")
        .ok_or_else(|| io::Error::other("first line is not INFO"))?;
    serde_json::from_slice(line.trim_ascii()).map_err(io::Error::other)
}

/// A server already running somewhere: scenarios that need their own configuration are skipped,
/// and scenarios run one at a time (they share the subject space).
#[derive(Debug)]
pub struct AddrTarget {
    addr: SocketAddr,
    version: Version,
    kind: Kind,
}

impl AddrTarget {
    /// A target for `nats://host:port` (or `host:port`); reads INFO once to learn the version.
    pub fn new(url: &str) -> Result<Self, String> {
        let hostport = url.strip_prefix("nats://").unwrap_or(url);
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: no address"))?;
        let info = read_info(addr).map_err(|e| format!("{url}: {e}"))?;
        let reported = info["version"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(Version(0, 0, 0));
        // Skiff reports the nats-server version it matches; its INFO says `"go":"rust"`.
        let kind = if reported.0 >= 2 && info["go"].as_str() != Some("rust") {
            Kind::Nats
        } else {
            Kind::Skiff
        };
        let version = if kind == Kind::Nats {
            reported
        } else {
            crate::CURRENT_NATS
        };
        Ok(Self {
            addr,
            version,
            kind,
        })
    }
}

impl Target for AddrTarget {
    fn name(&self) -> String {
        format!("{} at {} ({})", self.kind.as_str(), self.addr, self.version)
    }
    fn kind(&self) -> Kind {
        self.kind
    }
    fn version(&self) -> Version {
        self.version
    }
    fn parallel(&self) -> bool {
        false
    }
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError> {
        if !config.is_empty() {
            return Err(StartError::Unsupported(
                "needs its own server configuration".into(),
            ));
        }
        Ok(Box::new(RemoteServer {
            addr: self.addr,
            websocket: None,
        }))
    }
}

/// A server at an address that this process does not own.
#[derive(Debug)]
pub struct RemoteServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its WebSocket listener, when scenarios connect over WebSocket instead of TCP.
    pub websocket: Option<SocketAddr>,
}

impl Server for RemoteServer {
    fn connect(&mut self) -> io::Result<Box<dyn Connection>> {
        match self.websocket {
            Some(ws) => Ok(Box::new(super::ws::WsConnection::connect(ws)?)),
            None => Ok(Box::new(TcpConnection::connect(self.addr)?)),
        }
    }
    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
    fn pause(&mut self) {
        std::thread::sleep(Duration::from_millis(1));
    }
}
