//! Per-connection tasks: a reader feeding the driver and a writer performing transmits.
//!
//! The reader reads into a `BytesMut` and hands each chunk to the driver over a bounded
//! channel (back-pressure on fast publishers). The writer receives the core's segments, writes
//! them with vectored writes, reports every write to the driver (`handle_written`, so the core's
//! pending-bytes accounting stays exact) and gives up on a write that misses the deadline.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use skiff_core::{CloseReason, ConnId};

use super::driver::{Control, Input};

/// Smallest read (and the first): what an idle connection holds.
const MIN_READ: usize = 512;
/// Largest read.
const MAX_READ: usize = 64 * 1024;
/// Segments gathered into one vectored write: Linux's `IOV_MAX`, so shared payloads (three
/// segments per message) still go out hundreds of messages per system call.
const MAX_IOVECS: usize = 1024;

/// The reading half of a connection.
pub(crate) type BoxReader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection.
pub(crate) type BoxWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// A connection's byte stream, split into halves that two tasks own.
pub(crate) struct ConnIo {
    reader: BoxReader,
    writer: BoxWriter,
    /// A handle the driver may write to directly while the writer task is idle.
    direct: Option<smol::net::TcpStream>,
}

impl std::fmt::Debug for ConnIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnIo")
    }
}

impl ConnIo {
    /// Joins two halves.
    pub(crate) fn new(
        reader: impl AsyncRead + Send + Unpin + 'static,
        writer: impl AsyncWrite + Send + Unpin + 'static,
    ) -> Self {
        Self {
            reader: Box::new(reader),
            writer: Box::new(writer),
            direct: None,
        }
    }

    /// A TCP stream (three handles on one socket: reader, writer, direct writes).
    pub(crate) fn tcp(stream: smol::net::TcpStream) -> Self {
        Self {
            direct: Some(stream.clone()),
            ..Self::new(stream.clone(), stream)
        }
    }

    /// The halves, and the direct-write handle if the transport has one.
    pub(crate) fn into_parts(self) -> (BoxReader, BoxWriter, Option<smol::net::TcpStream>) {
        (self.reader, self.writer, self.direct)
    }
}

/// What the driver asks a writer task to do.
#[derive(Debug)]
pub(crate) enum WriteCmd {
    /// Write these segments after everything sent before.
    Send(Vec<Bytes>),
    /// Finish writing, then close the stream.
    Close,
}

/// Reads until end-of-stream or error, sending chunks to the driver.
pub(crate) async fn read_loop(
    conn: ConnId,
    mut reader: BoxReader,
    input: async_channel::Sender<Input>,
    control: async_channel::Sender<Control>,
) {
    let mut buf = BytesMut::new();
    let mut size = MIN_READ;
    let reason = loop {
        if buf.capacity() < size {
            buf.reserve(size);
        }
        buf.resize(size, 0);
        match reader.read(&mut buf).await {
            Ok(0) => break CloseReason::ClientClosed,
            Ok(n) => {
                size = next_read_size(size, n);
                buf.truncate(n);
                if input.send((conn, buf.split())).await.is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.clear(),
            Err(e) => {
                tracing::debug!("{conn} - read error: {e}");
                break CloseReason::ReadError;
            }
        }
    };
    let _ = control.send(Control::Eof(conn, reason)).await;
}

/// The read size after a read of `n` bytes into `size`: doubles while reads fill the buffer,
/// halves while they use under a quarter of it (nats-server's dynamic read buffer), so idle
/// connections hold little memory and busy ones read in large chunks.
fn next_read_size(size: usize, n: usize) -> usize {
    if n == size {
        (size * 2).min(MAX_READ)
    } else if n < size / 4 {
        (size / 2).max(MIN_READ)
    } else {
        size
    }
}

/// Performs the driver's write commands until told to close or the stream fails.
pub(crate) async fn write_loop(
    conn: ConnId,
    mut writer: BoxWriter,
    commands: async_channel::Receiver<WriteCmd>,
    control: async_channel::Sender<Control>,
    deadline: Duration,
) {
    let mut pending = VecDeque::new();
    loop {
        // A closed command channel means the driver is gone: close like an ordered close.
        let mut close = match commands.recv().await {
            Ok(WriteCmd::Send(segments)) => {
                pending.extend(segments);
                false
            }
            Ok(WriteCmd::Close) | Err(_) => true,
        };
        while !close {
            match commands.try_recv() {
                Ok(WriteCmd::Send(segments)) => pending.extend(segments),
                Ok(WriteCmd::Close) => close = true,
                Err(_) => break,
            }
        }
        if let Err(reason) =
            write_pending(conn, &mut writer, &mut pending, &control, deadline).await
        {
            let _ = control.send(Control::Eof(conn, reason)).await;
            return;
        }
        if close {
            let _ = writer.close().or(timeout(deadline)).await;
            return;
        }
    }
}

/// Writes every pending segment, reporting progress; each write must finish within `deadline`.
async fn write_pending(
    conn: ConnId,
    writer: &mut BoxWriter,
    pending: &mut VecDeque<Bytes>,
    control: &async_channel::Sender<Control>,
    deadline: Duration,
) -> Result<(), CloseReason> {
    while !pending.is_empty() {
        let slices: Vec<IoSlice<'_>> = pending
            .iter()
            .take(MAX_IOVECS)
            .map(|b| IoSlice::new(b))
            .collect();
        let written = writer.write_vectored(&slices).or(timeout(deadline)).await;
        drop(slices);
        let n = match written {
            Ok(0) => return Err(CloseReason::WriteError),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                tracing::debug!("{conn} - write deadline of {deadline:?} exceeded");
                return Err(CloseReason::SlowConsumerWriteDeadline);
            }
            Err(e) => {
                tracing::debug!("{conn} - write error: {e}");
                return Err(CloseReason::WriteError);
            }
        };
        advance(pending, n);
        let _ = control.try_send(Control::Written(conn, n));
    }
    match writer.flush().or(timeout(deadline)).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            Err(CloseReason::SlowConsumerWriteDeadline)
        }
        Err(_) => Err(CloseReason::WriteError),
    }
}

/// Writes as much of `segments` as the socket takes right now without waiting, and drops what
/// was written from the front. Returns the bytes written (0 when the socket would block).
pub(crate) fn write_now(
    stream: &mut smol::net::TcpStream,
    segments: &mut VecDeque<Bytes>,
) -> io::Result<usize> {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    let slices: Vec<IoSlice<'_>> = segments
        .iter()
        .take(MAX_IOVECS)
        .map(|b| IoSlice::new(b))
        .collect();
    // A non-blocking attempt: async-io tries the syscall first and only registers the (no-op)
    // waker when the socket would block, which the writer task then takes over.
    let mut cx = Context::from_waker(Waker::noop());
    let n = match Pin::new(stream).poll_write_vectored(&mut cx, &slices) {
        Poll::Ready(Ok(n)) => n,
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => 0,
        Poll::Ready(Err(e)) => return Err(e),
        Poll::Pending => 0,
    };
    drop(slices);
    advance(segments, n);
    Ok(n)
}

/// Drops `n` written bytes from the front of `pending`.
fn advance(pending: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = pending.front_mut() else {
            return;
        };
        if front.len() <= n {
            n -= front.len();
            pending.pop_front();
        } else {
            front.advance(n);
            n = 0;
        }
    }
    while pending.front().is_some_and(Bytes::is_empty) {
        pending.pop_front();
    }
}

/// Completes with `TimedOut` after `after`.
async fn timeout<T>(after: Duration) -> io::Result<T> {
    smol::Timer::after(after).await;
    Err(io::ErrorKind::TimedOut.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(parts: &[&'static [u8]]) -> VecDeque<Bytes> {
        parts.iter().map(|p| Bytes::from_static(p)).collect()
    }

    #[test]
    fn advance_handles_partial_and_whole_segments() {
        let mut q = queue(&[b"abc", b"de", b"", b"fgh"]);
        advance(&mut q, 4);
        assert_eq!(q, queue(&[b"e", b"", b"fgh"]));
        advance(&mut q, 1);
        assert_eq!(q, queue(&[b"fgh"]));
        advance(&mut q, 3);
        assert!(q.is_empty());
        advance(&mut q, 0);
        assert!(q.is_empty());
    }

    /// A writer that accepts at most `limit` bytes per call: partial writes must be resumed.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let n = buf.len().min(self.limit);
            self.out.extend_from_slice(&buf[..n]);
            std::task::Poll::Ready(Ok(n))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn partial_writes_are_resumed_and_reported() {
        smol::block_on(async {
            let mut writer: BoxWriter = Box::new(Trickle {
                out: Vec::new(),
                limit: 3,
            });
            let mut pending = queue(&[b"MSG a 1 2\r\n", b"hi", b"\r\n"]);
            let (ctl_tx, ctl_rx) = async_channel::unbounded();
            let id = test_conn_id();
            write_pending(
                id,
                &mut writer,
                &mut pending,
                &ctl_tx,
                Duration::from_secs(1),
            )
            .await
            .unwrap();
            let mut total = 0;
            while let Ok(Control::Written(_, n)) = ctl_rx.try_recv() {
                total += n;
            }
            assert_eq!(total, 15);
            assert!(pending.is_empty());
        });
    }

    /// A connection id from a real broker, for tests that only need a value.
    fn test_conn_id() -> ConnId {
        let now = skiff_core::Instant::ZERO;
        let mut broker = skiff_core::Broker::new(Default::default(), 1, now);
        broker
            .accept(skiff_core::PeerInfo::in_process(), now)
            .expect("accepting")
    }

    #[test]
    fn read_size_adapts() {
        assert_eq!(next_read_size(MIN_READ, MIN_READ), 2 * MIN_READ);
        assert_eq!(next_read_size(MAX_READ, MAX_READ), MAX_READ);
        assert_eq!(next_read_size(4096, 100), 2048);
        assert_eq!(next_read_size(MIN_READ, 1), MIN_READ);
        assert_eq!(next_read_size(4096, 2000), 4096);
    }
}
