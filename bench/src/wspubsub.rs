//! WebSocket pub/sub: one publisher and one subscriber, both over the server's WebSocket
//! listener (binary frames of up to 64 KiB of batched `PUB`s), with the same flow-control
//! window as [`crate::pubsub`] so a fast publisher never turns the subscriber into a slow
//! consumer. Measures delivered messages per second.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::{Message, WebSocket};

use crate::metrics::Measurement;
use crate::pubsub::throughput;
use crate::wire::{Event, Reader, bad, connect_line, encode_pub, server_err};

/// Bytes the publisher may be ahead of the subscriber.
const WINDOW_BYTES: u64 = 4 * 1024 * 1024;
/// Bytes of `PUB`s per frame.
const FRAME_BYTES: usize = 64 * 1024;

/// A WebSocket client's received payloads as one byte stream, for [`Reader`].
struct WsRead(WebSocket<TcpStream>, Vec<u8>, usize);

impl Read for WsRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.2 == self.1.len() {
            match self.0.read().map_err(io::Error::other)? {
                Message::Binary(b) => (self.1, self.2) = (b.to_vec(), 0),
                Message::Text(t) => (self.1, self.2) = (t.as_bytes().to_vec(), 0),
                Message::Close(_) => return Ok(0),
                _ => {}
            }
        }
        let n = buf.len().min(self.1.len() - self.2);
        buf[..n].copy_from_slice(&self.1[self.2..self.2 + n]);
        self.2 += n;
        Ok(n)
    }
}

/// Connects over WebSocket, sends `CONNECT`, `setup` and `PING`, and waits for the `PONG`.
fn open(ws: SocketAddr, name: &str, setup: &str) -> io::Result<Reader<WsRead>> {
    let stream = TcpStream::connect(ws)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (mut socket, _) = tungstenite::client(format!("ws://{ws}/"), stream)
        .map_err(|e| bad(format!("websocket upgrade: {e}")))?;
    let hello = format!("{}{setup}PING\r\n", connect_line(name));
    socket
        .send(Message::Binary(hello.into_bytes().into()))
        .map_err(io::Error::other)?;
    let mut reader = Reader::new(WsRead(socket, Vec::new(), 0));
    reader.poll_until(|ev| match ev {
        Event::Pong => Ok(true),
        Event::Err(text) => Err(server_err(text)),
        _ => Ok(false),
    })?;
    Ok(reader)
}

/// Runs `count` messages of `payload` bytes from one WebSocket publisher to one WebSocket
/// subscriber on the server's WebSocket listener at `ws`.
pub fn run(ws: SocketAddr, payload: usize, count: u64) -> io::Result<Measurement> {
    let subject = format!("wsbench.{}", std::process::id());
    let mut sub = open(ws, "wssub", &format!("SUB {subject} 1\r\n"))?;
    let mut publisher = open(ws, "wspub", "")?;
    let received = Arc::new(AtomicU64::new(0));
    let window = (WINDOW_BYTES / (payload as u64 + 48)).max(16);

    let counter = Arc::clone(&received);
    let subscriber = thread::spawn(move || -> io::Result<Instant> {
        let mut got = 0;
        sub.poll_until(|ev| match ev {
            Event::Msg { payload: p, .. } if p.len() == payload => {
                got += 1;
                counter.store(got, Ordering::Release);
                Ok(got == count)
            }
            Event::Msg { .. } => Err(bad("a message of the wrong size")),
            Event::Err(text) => Err(server_err(text)),
            _ => Ok(false),
        })?;
        Ok(Instant::now())
    });

    let body = vec![b'x'; payload];
    let mut frame = Vec::with_capacity(FRAME_BYTES + payload + 64);
    let start = Instant::now();
    let mut sent = 0;
    while sent < count {
        frame.clear();
        while sent < count && frame.len() < FRAME_BYTES {
            encode_pub(&mut frame, &subject, None, &body);
            sent += 1;
        }
        while sent.saturating_sub(received.load(Ordering::Acquire)) > window {
            if subscriber.is_finished() {
                break;
            }
            thread::yield_now();
        }
        publisher
            .inner_mut()
            .0
            .send(Message::Binary(frame.clone().into()))
            .map_err(io::Error::other)?;
    }
    let last = subscriber
        .join()
        .map_err(|_| bad("the subscriber panicked"))??;
    Ok(throughput(count, payload, last.duration_since(start)))
}
