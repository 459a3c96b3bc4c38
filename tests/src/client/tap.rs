//! The wire tap: a TCP relay between the client under test and Skiff that records every byte
//! in both directions, so a scenario can check what the client sent (its CONNECT, its PONGs,
//! the SUBs it resends after a reconnect) without changing the server.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wire::{ClientOp, parse_client_ops};

/// What the tap saw on one client connection.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Bytes the client sent.
    pub from_client: Vec<u8>,
    /// Bytes the server sent.
    pub from_server: Vec<u8>,
    /// Whether the client side has closed (or was closed).
    pub closed: bool,
}

impl Recording {
    /// The client's operations, parsed.
    pub fn client_ops(&self) -> Vec<ClientOp> {
        parse_client_ops(&self.from_client)
    }

    /// The `client_id` of the server's first INFO, if it arrived.
    pub fn client_id(&self) -> Option<u64> {
        let line_end = self.from_server.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&self.from_server[..line_end]).ok()?;
        let json: serde_json::Value = serde_json::from_str(line.strip_prefix("INFO ")?).ok()?;
        json.get("client_id")?.as_u64()
    }
}

type Recordings = Arc<Mutex<Vec<Recording>>>;

/// A recording relay listening on a loopback port, forwarding each connection to `upstream`.
#[derive(Debug)]
pub struct Tap {
    addr: SocketAddr,
    upstream: SocketAddr,
    stop: Arc<AtomicBool>,
    recordings: Recordings,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Tap {
    /// Starts a tap in front of `upstream`.
    ///
    /// # Errors
    /// The listener could not be opened.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let recordings = Recordings::default();
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, recordings, sockets) = (stop.clone(), recordings.clone(), sockets.clone());
            std::thread::spawn(move || {
                accept_loop(&listener, upstream, &stop, &recordings, &sockets)
            })
        };
        Ok(Self {
            addr,
            upstream,
            stop,
            recordings,
            sockets,
            accept: Some(accept),
        })
    }

    /// The URL a client connects to.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// The address it listens on (`host:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening: later connects to the tap are refused. Open connections stay.
    pub fn stop_listening(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }

    /// Listens again on the same port after [`Tap::stop_listening`].
    ///
    /// # Errors
    /// The port could not be bound again.
    pub fn resume_listening(&mut self) -> std::io::Result<()> {
        if self.accept.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr)?;
        listener.set_nonblocking(true)?;
        self.stop.store(false, Ordering::SeqCst);
        let (stop, recordings, sockets) = (
            self.stop.clone(),
            self.recordings.clone(),
            self.sockets.clone(),
        );
        let upstream = self.upstream;
        self.accept = Some(std::thread::spawn(move || {
            accept_loop(&listener, upstream, &stop, &recordings, &sockets);
        }));
        Ok(())
    }

    /// A copy of every connection's recording, in accept order.
    pub fn recordings(&self) -> Vec<Recording> {
        self.recordings.lock().expect("tap lock").clone()
    }

    /// Waits until `done` holds for the recordings, up to `timeout`; whether it did.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[Recording]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.recordings.lock().expect("tap lock")) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop_listening();
        for socket in self.sockets.lock().expect("tap lock").drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    upstream: SocketAddr,
    stop: &AtomicBool,
    recordings: &Recordings,
    sockets: &Mutex<Vec<TcpStream>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let index = {
                    let mut all = recordings.lock().expect("tap lock");
                    all.push(Recording::default());
                    all.len() - 1
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                if let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) {
                    sockets.lock().expect("tap lock").extend([c3, s3]);
                }
                let r1 = recordings.clone();
                std::thread::spawn(move || relay(client, s2, &r1, index, Direction::FromClient));
                let r2 = recordings.clone();
                std::thread::spawn(move || relay(server, c2, &r2, index, Direction::FromServer));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    FromClient,
    FromServer,
}

/// Copies `from` to `to`, recording, until either side ends; then closes both.
fn relay(
    mut from: TcpStream,
    mut to: TcpStream,
    recordings: &Recordings,
    index: usize,
    direction: Direction,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut all = recordings.lock().expect("tap lock");
            let rec = &mut all[index];
            match direction {
                Direction::FromClient => rec.from_client.extend_from_slice(&buf[..n]),
                Direction::FromServer => rec.from_server.extend_from_slice(&buf[..n]),
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if let Direction::FromClient = direction {
        recordings.lock().expect("tap lock")[index].closed = true;
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
