//! Per-connection tasks: a reader handing bytes to the broker and a writer performing the
//! transmits the driver could not write at once.
//!
//! The reader reads into a `BytesMut` and gives each chunk to the hub, which routes it and
//! writes what it can before the reader reads again. While the broker has paused the
//! connection (producer back-pressure), the reader waits at its [`ReadGate`] instead of
//! reading, so the kernel slows the producer down; nothing blocks the thread. The writer receives the segments that did
//! not fit into the socket, writes them with vectored writes, reports every write to the hub
//! (`handle_written`, so the core's pending-bytes accounting stays exact) and gives up on a
//! write that misses the deadline.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read as _, Write as _};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use skiff_core::{CloseReason, ConnId};
use smol::Async;

use super::driver::HubRef;

/// Smallest read (and the first): what an idle connection holds.
const MIN_READ: usize = 512;
/// Largest read.
const MAX_READ: usize = 64 * 1024;
/// Segments gathered into one vectored write: Linux's `IOV_MAX`, so shared payloads (three
/// segments per message) still go out hundreds of messages per system call.
const MAX_IOVECS: usize = 1024;

/// A TCP socket registered with the reactor, shared by a connection's reader, its writer and
/// the driver's direct writes.
pub(crate) type Direct = Arc<Async<std::net::TcpStream>>;

/// The reading half of a byte stream other than TCP.
pub(crate) type BoxReader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection.
pub(crate) type BoxWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// The reading half of a connection.
pub(crate) enum Reader {
    /// A TCP socket, read with readiness waits of its own (see [`read_loop`]).
    Tcp(Direct),
    /// Any other byte stream.
    Stream(BoxReader),
}

/// A connection's byte stream, split into halves that two tasks own.
pub(crate) struct ConnIo {
    reader: Reader,
    writer: BoxWriter,
    /// A handle the driver may write to directly while the writer task is idle.
    direct: Option<Direct>,
    /// Where the driver leaves the core's close reason, for a transport that tells the peer
    /// (a WebSocket close frame).
    close_reason: Option<CloseSlot>,
    /// `direct` carries the first transmit only (INFO before a TLS handshake).
    plain_first: bool,
    /// The client certificate's names, once a TLS handshake has found them.
    tls_names: Option<crate::tls::TlsNames>,
}

/// Set once by the driver when the core closes the connection.
pub(crate) type CloseSlot = Arc<std::sync::OnceLock<CloseReason>>;

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
            reader: Reader::Stream(Box::new(reader)),
            writer: Box::new(writer),
            direct: None,
            close_reason: None,
            plain_first: false,
            tls_names: None,
        }
    }

    /// The same stream, with its first transmit written in plain text to `stream` (INFO,
    /// before the client starts TLS).
    pub(crate) fn with_plain_first(mut self, stream: smol::net::TcpStream) -> Self {
        self.direct = Some(Direct::from(stream));
        self.plain_first = true;
        self
    }

    /// The same stream, with the names its TLS handshake finds.
    pub(crate) fn with_tls_names(mut self, names: Option<crate::tls::TlsNames>) -> Self {
        self.tls_names = names;
        self
    }

    /// Whether `direct` is for the first transmit only.
    pub(crate) fn plain_first(&self) -> bool {
        self.plain_first
    }

    /// Where the TLS handshake leaves the client certificate's names, if it is asked to.
    pub(crate) fn tls_names(&self) -> Option<crate::tls::TlsNames> {
        self.tls_names.clone()
    }

    /// The same stream, with `slot` receiving the core's close reason.
    pub(crate) fn with_close_reason(mut self, slot: CloseSlot) -> Self {
        self.close_reason = Some(slot);
        self
    }

    /// A TCP stream (three handles on one socket: reader, writer, direct writes).
    pub(crate) fn tcp(stream: smol::net::TcpStream) -> Self {
        let writer = Box::new(stream.clone());
        let socket = Direct::from(stream);
        Self {
            reader: Reader::Tcp(socket.clone()),
            writer,
            direct: Some(socket),
            close_reason: None,
            plain_first: false,
            tls_names: None,
        }
    }

    /// The halves, and the direct-write handle if the transport has one.
    pub(crate) fn into_parts(self) -> (Reader, BoxWriter, Option<Direct>) {
        (self.reader, self.writer, self.direct)
    }

    /// The slot for the close reason, if the transport asked for one.
    pub(crate) fn close_reason(&self) -> Option<CloseSlot> {
        self.close_reason.clone()
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

impl Reader {
    /// Reads into `buf`. `drained` says the last read left the socket empty: a TCP reader
    /// then waits for readiness before reading instead of paying for a read that would block.
    async fn read(&mut self, buf: &mut [u8], drained: bool) -> io::Result<usize> {
        match self {
            Self::Tcp(socket) => {
                if drained {
                    first_wake(socket.readable()).await?;
                }
                socket.read_with(|s| (&*s).read(buf)).await
            }
            Self::Stream(reader) => reader.read(buf).await,
        }
    }
}

/// Polls `wait` until it is ready or has been woken once. async-io's readiness futures may
/// miss an event delivered by another thread's reactor tick in the instant they register, so
/// the caller treats any wake-up as "try the operation" (as `Async::read_with` does).
async fn first_wake(wait: impl Future<Output = io::Result<()>>) -> io::Result<()> {
    let mut wait = std::pin::pin!(wait);
    let mut polled = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut polled, true) {
            std::task::Poll::Ready(Ok(()))
        } else {
            wait.as_mut().poll(cx)
        }
    })
    .await
}

/// Whether a connection's reader may read: closed by the broker's `PauseReading`, opened by
/// its `ResumeReading`. Lives on the driver's thread; costs one `Cell` read per read.
#[derive(Default)]
pub(crate) struct ReadGate {
    paused: Cell<bool>,
    /// The reader waiting at the closed gate.
    waiter: Cell<Option<Waker>>,
}

impl std::fmt::Debug for ReadGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadGate")
            .field("paused", &self.paused.get())
            .finish_non_exhaustive()
    }
}

impl ReadGate {
    /// Closes the gate: the reader stops before its next read.
    pub(crate) fn pause(&self) {
        self.paused.set(true);
    }

    /// Opens the gate and wakes the reader waiting at it.
    pub(crate) fn resume(&self) {
        self.paused.set(false);
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
    }

    /// Completes once the gate is open (at once if it is).
    async fn opened(&self) {
        std::future::poll_fn(|cx| {
            if self.paused.get() {
                self.waiter.set(Some(cx.waker().clone()));
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }
}

/// Reads until end-of-stream or error, handing chunks to the hub, which routes them before
/// this task reads again, and waiting at `gate` while the broker has paused the connection.
pub(crate) async fn read_loop(
    conn: ConnId,
    mut reader: Reader,
    hub: HubRef,
    gate: std::rc::Rc<ReadGate>,
) {
    let mut buf = BytesMut::new();
    let mut size = MIN_READ;
    let mut drained = false;
    let reason = loop {
        gate.opened().await;
        if buf.capacity() < size {
            buf.reserve(size);
        }
        buf.resize(size, 0);
        match reader.read(&mut buf, drained).await {
            Ok(0) => break CloseReason::ClientClosed,
            Ok(n) => {
                drained = n < size;
                size = next_read_size(size, n);
                buf.truncate(n);
                // A read that was already waiting when the broker paused the connection is
                // held until it resumes: a pause (flow control's or an injected fault's)
                // then stops the input at once, and the bytes are not lost.
                gate.opened().await;
                let Some(hub) = hub.upgrade() else { return };
                if !hub.borrow_mut().input(conn, buf.split()) {
                    return;
                }
                drop(hub);
                if !drained {
                    // More is waiting: let the other connections, writers and timers run
                    // before reading on (a reader of a busy socket never has to wait).
                    futures_lite::future::yield_now().await;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.clear(),
            Err(e) if crate::tls::HandshakeFailed::is(&e) => {
                break CloseReason::TlsHandshakeFailure;
            }
            Err(e) => {
                tracing::debug!("{conn} - read error: {e}");
                break CloseReason::ReadError;
            }
        }
    };
    if let Some(hub) = hub.upgrade() {
        hub.borrow_mut().ended(conn, reason);
    }
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
    hub: HubRef,
    deadline: Duration,
) {
    let mut pending = VecDeque::new();
    let mut report = |n| {
        if let Some(hub) = hub.upgrade() {
            hub.borrow_mut().written(conn, n);
        }
    };
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
            write_pending(conn, &mut writer, &mut pending, &mut report, deadline).await
        {
            if let Some(hub) = hub.upgrade() {
                hub.borrow_mut().ended(conn, reason);
            }
            return;
        }
        if close {
            let mut expiry = smol::Timer::after(deadline);
            let _ = expired(&mut expiry).or(writer.close()).await;
            return;
        }
    }
}

/// Writes every pending segment, reporting each write's size. As nats-server's write deadline,
/// `deadline` bounds the whole batch, and an expired deadline wins over a write that would
/// only now make progress: a reader that takes a little every so often is still too slow.
async fn write_pending(
    conn: ConnId,
    writer: &mut BoxWriter,
    pending: &mut VecDeque<Bytes>,
    report: &mut impl FnMut(usize),
    deadline: Duration,
) -> Result<(), CloseReason> {
    let mut expiry = smol::Timer::after(deadline);
    while !pending.is_empty() {
        let slices = io_slices(pending);
        let written = expired(&mut expiry)
            .or(writer.write_vectored(&slices))
            .await;
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
        report(n);
    }
    match expired(&mut expiry).or(writer.flush()).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            Err(CloseReason::SlowConsumerWriteDeadline)
        }
        Err(_) => Err(CloseReason::WriteError),
    }
}

/// Writes as much of `segments` as the socket takes right now without waiting, and drops what
/// was written from the front. Returns the bytes written (0 when the socket would block).
pub(crate) fn write_now(socket: &Direct, segments: &mut VecDeque<Bytes>) -> io::Result<usize> {
    let slices = io_slices(segments);
    // The socket is non-blocking: a full send buffer is `WouldBlock`, left to the writer task.
    let n = match socket.get_ref().write_vectored(&slices) {
        Ok(n) => n,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            0
        }
        Err(e) => return Err(e),
    };
    drop(slices);
    advance(segments, n);
    Ok(n)
}

/// The first [`MAX_IOVECS`] segments of `pending`, for one vectored write.
fn io_slices(pending: &VecDeque<Bytes>) -> Vec<IoSlice<'_>> {
    pending
        .iter()
        .take(MAX_IOVECS)
        .map(|b| IoSlice::new(b))
        .collect()
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

/// Completes with `TimedOut` once `expiry` fires.
async fn expired<T>(expiry: &mut smol::Timer) -> io::Result<T> {
    expiry.await;
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

    /// A writer that takes at most `limit` bytes per call and, with `every`, only one call per
    /// `every`: partial writes must be resumed, and a batch may be slow though each write is not.
    struct Trickle {
        limit: usize,
        every: Option<Duration>,
        wait: Option<smol::Timer>,
    }

    impl Trickle {
        fn boxed(limit: usize, every: Option<Duration>) -> BoxWriter {
            Box::new(Self {
                limit,
                every,
                wait: None,
            })
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            if let Some(every) = self.every {
                let wait = self.wait.get_or_insert_with(|| smol::Timer::after(every));
                if std::pin::Pin::new(wait).poll(cx).is_pending() {
                    return std::task::Poll::Pending;
                }
                self.wait = None;
            }
            std::task::Poll::Ready(Ok(buf.len().min(self.limit)))
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
            let mut writer = Trickle::boxed(3, None);
            let mut pending = queue(&[b"MSG a 1 2\r\n", b"hi", b"\r\n"]);
            let id = test_conn_id();
            let mut reports = Vec::new();
            write_pending(
                id,
                &mut writer,
                &mut pending,
                &mut |n| reports.push(n),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
            assert_eq!(reports.iter().sum::<usize>(), 15);
            assert!(reports.iter().all(|&n| n <= 3));
            assert!(pending.is_empty());
        });
    }

    #[test]
    fn the_write_deadline_bounds_the_whole_batch() {
        smol::block_on(async {
            let mut writer = Trickle::boxed(1, Some(Duration::from_millis(20)));
            let mut pending = queue(&[b"MSG a 1 20\r\n", b"01234567890123456789", b"\r\n"]);
            let mut written = 0;
            let result = write_pending(
                test_conn_id(),
                &mut writer,
                &mut pending,
                &mut |n| written += n,
                Duration::from_millis(100),
            )
            .await;
            assert_eq!(result, Err(CloseReason::SlowConsumerWriteDeadline));
            // Every write makes progress within the deadline, and still the batch is too slow.
            assert!(written < 34, "{written} bytes written");
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
