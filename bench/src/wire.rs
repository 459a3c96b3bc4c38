//! The raw NATS client protocol, just enough for load generation.
//!
//! No NATS client library is used, so the client side is never the bottleneck: publishers build
//! one large buffer of many `PUB`s per `write`, and readers parse everything a single `read`
//! returned before reading again.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Size of a reader's buffer; large enough for many 64 KiB messages per `read`.
const READ_BUF: usize = 1 << 20;

/// Longest control line we accept from a server before calling it garbage.
const MAX_LINE: usize = 64 * 1024;

/// One operation received from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// `MSG <subject> <sid> [reply] <#bytes>` with its payload.
    Msg {
        /// Subject the message was published to.
        subject: &'a [u8],
        /// Reply subject, if the publisher gave one.
        reply: Option<&'a [u8]>,
        /// The payload bytes.
        payload: &'a [u8],
    },
    /// `PING`: the caller should answer `PONG`.
    Ping,
    /// `PONG`: answer to one of our `PING`s.
    Pong,
    /// `-ERR '...'`: the text after `-ERR `.
    Err(&'a [u8]),
    /// `INFO`, `+OK` or anything else a load generator can ignore.
    Other,
}

/// A buffered reader that parses server operations out of a byte stream.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<R: Read> Reader<R> {
    /// The byte source, e.g. to write to the same connection.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Wraps a byte source.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
        }
    }

    /// Hands buffered operations to `on`, reading once from the source if none of them
    /// stopped it; stops right after the first operation for which `on` returns `Ok(true)`
    /// and returns `Ok(true)` then (later bytes stay buffered for the next call).
    ///
    /// An `Err` from `on` stops parsing and is returned. End of stream is
    /// `ErrorKind::UnexpectedEof`; a read timeout surfaces as `WouldBlock`/`TimedOut`.
    pub fn poll(&mut self, mut on: impl FnMut(Event<'_>) -> io::Result<bool>) -> io::Result<bool> {
        if self.drain(&mut on)? {
            return Ok(true);
        }
        self.make_room();
        let n = self.inner.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        self.drain(&mut on)
    }

    /// Calls `poll` until `on` returns `Ok(true)` ("done").
    pub fn poll_until(
        &mut self,
        mut on: impl FnMut(Event<'_>) -> io::Result<bool>,
    ) -> io::Result<()> {
        while !self.poll(&mut on)? {}
        Ok(())
    }

    /// Parses complete operations already in the buffer; `Ok(true)` if `on` asked to stop.
    fn drain(&mut self, on: &mut impl FnMut(Event<'_>) -> io::Result<bool>) -> io::Result<bool> {
        let mut stop = false;
        while !stop {
            let Some(used) = parse_one(&self.buf[self.start..self.end], &mut |ev| {
                stop = on(ev)?;
                Ok(())
            })?
            else {
                break;
            };
            self.start += used;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(stop)
    }

    /// Moves unparsed bytes to the front, growing the buffer if one message needs more room.
    fn make_room(&mut self) {
        if self.start > 0 && (self.end == self.buf.len() || self.start > self.buf.len() / 2) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len();
            self.buf.resize(len * 2, 0);
        }
    }
}

/// Parses one operation at the front of `data`; returns the bytes it used, or `None` if
/// `data` holds no complete operation yet.
fn parse_one(
    data: &[u8],
    on: &mut impl FnMut(Event<'_>) -> io::Result<()>,
) -> io::Result<Option<usize>> {
    let Some(nl) = memchr::memchr(b'\n', data) else {
        if data.len() > MAX_LINE {
            return Err(bad("control line too long"));
        }
        return Ok(None);
    };
    let line = data[..nl].strip_suffix(b"\r").unwrap_or(&data[..nl]);
    let head = line.get(..3).unwrap_or(line);
    if head.eq_ignore_ascii_case(b"MSG") {
        let mut args: [&[u8]; 4] = [&[]; 4];
        let mut n = 0;
        for arg in line[3..]
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|a| !a.is_empty())
        {
            if n == args.len() {
                return Err(bad("malformed MSG line"));
            }
            args[n] = arg;
            n += 1;
        }
        let (subject, reply, size) = match n {
            3 => (args[0], None, args[2]),
            4 => (args[0], Some(args[2]), args[3]),
            _ => return Err(bad("malformed MSG line")),
        };
        let size = parse_size(size)?;
        let body = nl + 1;
        if data.len() < body + size + 2 {
            return Ok(None);
        }
        if &data[body + size..body + size + 2] != b"\r\n" {
            return Err(bad("MSG payload not followed by CRLF"));
        }
        on(Event::Msg {
            subject,
            reply,
            payload: &data[body..body + size],
        })?;
        return Ok(Some(body + size + 2));
    }
    let event = if line.eq_ignore_ascii_case(b"PING") {
        Event::Ping
    } else if line.eq_ignore_ascii_case(b"PONG") {
        Event::Pong
    } else if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"-ERR") {
        Event::Err(line[4..].trim_ascii())
    } else {
        Event::Other
    };
    on(event)?;
    Ok(Some(nl + 1))
}

/// Parses a decimal size field (1 to 9 ASCII digits, as nats-server sends).
fn parse_size(digits: &[u8]) -> io::Result<usize> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("bad size in MSG line"));
    }
    Ok(digits
        .iter()
        .fold(0, |n, &d| n * 10 + usize::from(d - b'0')))
}

/// An `InvalidData` error with a message.
pub fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Turns a `-ERR` line from the server into an error.
pub fn server_err(text: &[u8]) -> io::Error {
    io::Error::other(format!(
        "server sent -ERR {}",
        String::from_utf8_lossy(text)
    ))
}

/// The control line `PUB <subject> [reply] <len>\r\n` that precedes a payload of `len` bytes.
pub fn pub_line(subject: &str, reply: Option<&str>, len: usize) -> Vec<u8> {
    match reply {
        Some(reply) => format!("PUB {subject} {reply} {len}\r\n"),
        None => format!("PUB {subject} {len}\r\n"),
    }
    .into_bytes()
}

/// Appends a whole `PUB` (control line from [`pub_line`], payload, CRLF) to `out`.
pub fn push_pub(out: &mut Vec<u8>, line: &[u8], payload: &[u8]) {
    out.extend_from_slice(line);
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// Appends `PUB <subject> [reply] <len>\r\n<payload>\r\n` to `out`.
pub fn encode_pub(out: &mut Vec<u8>, subject: &str, reply: Option<&str>, payload: &[u8]) {
    push_pub(out, &pub_line(subject, reply, payload.len()), payload);
}

/// The `CONNECT` line every bench connection sends (no verbose, no pedantic, no echo).
pub fn connect_line(name: &str) -> String {
    format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false,\"name\":\"{name}\",\
         \"lang\":\"skiff-bench\",\"version\":\"{}\",\"protocol\":1}}\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// One client connection: a writer half and a parsing reader over a clone of the socket.
#[derive(Debug)]
pub struct Conn {
    /// The socket, for writes.
    pub writer: TcpStream,
    /// A clone of the socket, for reads.
    pub reader: Reader<TcpStream>,
}

impl Conn {
    /// Connects, sends `CONNECT`, then `setup` (e.g. `SUB` lines), then `PING`, and waits for
    /// the `PONG` — so once this returns, the server has registered everything in `setup`.
    pub fn open(addr: SocketAddr, name: &str, setup: &str) -> io::Result<Self> {
        let writer = TcpStream::connect(addr)?;
        writer.set_nodelay(true)?;
        writer.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut conn = Self {
            reader: Reader::new(writer.try_clone()?),
            writer,
        };
        let hello = format!("{}{setup}PING\r\n", connect_line(name));
        conn.writer.write_all(hello.as_bytes())?;
        conn.wait_pong()?;
        Ok(conn)
    }

    /// Reads until a `PONG`, answering server `PING`s; a `MSG` or `-ERR` meanwhile is an error.
    pub fn wait_pong(&mut self) -> io::Result<()> {
        let Self { writer, reader } = self;
        reader.poll_until(|ev| match ev {
            Event::Pong => Ok(true),
            Event::Ping => writer.write_all(b"PONG\r\n").map(|()| false),
            Event::Err(text) => Err(server_err(text)),
            Event::Msg { .. } => Err(bad("unexpected MSG while waiting for PONG")),
            Event::Other => Ok(false),
        })
    }

    /// Sends `PING` and waits for the `PONG`: a round trip through the server.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.write_all(b"PING\r\n")?;
        self.wait_pong()
    }

    /// Sets the read timeout of the reading half.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.writer.set_read_timeout(timeout)
    }
}

/// True for the error kinds a socket read timeout produces.
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that returns its data in fixed-size chunks.
    struct Chunks<'a>(&'a [u8], usize);

    impl Read for Chunks<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn collect(data: &[u8], chunk: usize) -> Vec<String> {
        let mut reader = Reader::new(Chunks(data, chunk));
        let mut seen = Vec::new();
        loop {
            let r = reader.poll(|ev| {
                seen.push(match ev {
                    Event::Msg {
                        subject,
                        reply,
                        payload,
                    } => format!(
                        "MSG {} {:?} {}",
                        String::from_utf8_lossy(subject),
                        reply.map(|r| String::from_utf8_lossy(r).into_owned()),
                        String::from_utf8_lossy(payload)
                    ),
                    Event::Ping => "PING".into(),
                    Event::Pong => "PONG".into(),
                    Event::Err(t) => format!("ERR {}", String::from_utf8_lossy(t)),
                    Event::Other => "OTHER".into(),
                });
                Ok(false)
            });
            if let Err(e) = r {
                assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                return seen;
            }
        }
    }

    const STREAM: &[u8] = b"INFO {\"a\":1}\r\nMSG foo 1 5\r\nhello\r\nMSG foo 1 _INBOX.x 3\r\na b\r\nPING\r\n-ERR 'Slow'\r\nPONG\r\n+OK\r\n";

    #[test]
    fn parses_whole_stream() {
        let want = vec![
            "OTHER",
            "MSG foo None hello",
            "MSG foo Some(\"_INBOX.x\") a b",
            "PING",
            "ERR 'Slow'",
            "PONG",
            "OTHER",
        ];
        assert_eq!(collect(STREAM, 1 << 20), want);
    }

    #[test]
    fn parses_byte_by_byte_splits() {
        for chunk in [1, 2, 3, 7, 13] {
            assert_eq!(collect(STREAM, chunk), collect(STREAM, 1 << 20));
        }
    }

    #[test]
    fn grows_for_big_messages() {
        let mut data = b"MSG big 9 ".to_vec();
        let payload = vec![b'z'; 3 * READ_BUF];
        data.extend_from_slice(format!("{}\r\n", payload.len()).as_bytes());
        data.extend_from_slice(&payload);
        data.extend_from_slice(b"\r\n");
        let seen = collect(&data, 100_000);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("MSG big None zzz"));
    }

    #[test]
    fn stopping_keeps_later_ops_buffered() {
        let mut reader = Reader::new(Chunks(b"PONG\r\nMSG a 1 2\r\nhi\r\n", 1 << 20));
        reader.poll_until(|ev| Ok(ev == Event::Pong)).unwrap();
        let mut got = Vec::new();
        let stopped = reader
            .poll(|ev| {
                if let Event::Msg { payload, .. } = ev {
                    got.extend_from_slice(payload);
                }
                Ok(true)
            })
            .unwrap();
        assert!(stopped);
        assert_eq!(got, b"hi");
    }

    #[test]
    fn rejects_bad_terminator_and_size() {
        for data in [
            &b"MSG a 1 2\r\nhiX\r\n"[..],
            b"MSG a 1 x\r\n",
            b"MSG a 1 1234567890\r\n",
        ] {
            let mut reader = Reader::new(Chunks(data, 100));
            let err = reader.poll(|_| Ok(false)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{data:?}");
        }
    }

    #[test]
    fn rejects_malformed_msg() {
        let mut reader = Reader::new(Chunks(b"MSG foo\r\n", 100));
        let err = reader.poll(|_| Ok(false)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn encodes_pub() {
        let mut out = Vec::new();
        encode_pub(&mut out, "a.b", None, b"xy");
        encode_pub(&mut out, "req", Some("inbox"), b"");
        assert_eq!(out, b"PUB a.b 2\r\nxy\r\nPUB req inbox 0\r\n\r\n");
    }

    #[test]
    fn connect_line_is_json() {
        let line = connect_line("p0");
        assert!(line.starts_with("CONNECT {\"verbose\":false"));
        assert!(line.ends_with("}\r\n"));
    }
}
