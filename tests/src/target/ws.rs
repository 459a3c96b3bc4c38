//! WebSocket connections: the same scenarios over a server's WebSocket listener. Each send is
//! one binary frame; whatever frames arrive are handed to the runner as bytes.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tungstenite::{Error, Message, WebSocket};

use super::{Connection, Recv};

/// A client connection over WebSocket (`ws://addr/`).
#[derive(Debug)]
pub struct WsConnection {
    ws: WebSocket<TcpStream>,
}

impl WsConnection {
    /// Connects to `addr` and upgrades.
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let (ws, _) = tungstenite::client(format!("ws://{addr}/"), stream)
            .map_err(|e| io::Error::other(format!("websocket upgrade: {e}")))?;
        Ok(Self { ws })
    }
}

impl Connection for WsConnection {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .map_err(io::Error::other)
    }

    fn recv(&mut self, timeout: Duration) -> Recv {
        let deadline = Instant::now() + timeout.max(Duration::from_millis(1));
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Recv::Timeout;
            };
            let left = left.max(Duration::from_millis(1));
            if self.ws.get_ref().set_read_timeout(Some(left)).is_err() {
                return Recv::Closed;
            }
            match self.ws.read() {
                Ok(Message::Binary(b)) => return Recv::Data(b.to_vec()),
                Ok(Message::Text(t)) => return Recv::Data(t.as_bytes().to_vec()),
                Ok(Message::Close(_)) => return Recv::Closed,
                Ok(_) => {} // ping, pong
                Err(Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Recv::Timeout;
                }
                Err(_) => return Recv::Closed,
            }
        }
    }

    fn close(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
        let _ = self.ws.get_ref().shutdown(std::net::Shutdown::Both);
    }
}
