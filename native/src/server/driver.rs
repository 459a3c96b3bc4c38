//! The driver: the one task that owns the [`Broker`] and performs its outputs.
//!
//! Every input reaches the driver as a message: reads on a bounded channel (back-pressure),
//! everything else (accepted connections, bytes written, end of stream, host requests) on an
//! unbounded control channel. After each wake-up the driver drains every queued message before
//! polling outputs, so deliveries are batched per connection, then re-arms its one timer at
//! [`Broker::poll_timeout`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use futures_lite::FutureExt;
use skiff_core::{Broker, CloseReason, Config, ConfigError, ConnId, Output, PeerInfo};
use smol::{Executor, Task, Timer};

use super::clock::Clock;
use super::conn::{self, ConnIo, WriteCmd};
use super::shared::Shared;

/// Bytes read from a connection.
pub(crate) type Input = (ConnId, BytesMut);

/// Most queued messages handled before outputs are performed.
const MAX_BATCH: usize = 1024;

/// A message to the driver other than bytes read.
#[derive(Debug)]
pub(crate) enum Control {
    /// A new connection to register with the broker.
    Attach(ConnIo, PeerInfo),
    /// `n` bytes were written to a connection.
    Written(ConnId, usize),
    /// A connection ended (end of stream, read or write failure, write deadline).
    Eof(ConnId, CloseReason),
    /// A request from the embedder or a signal.
    Request(Request),
}

/// What the embedder, a signal or the daemon asks of the broker.
#[derive(Debug)]
pub(crate) enum Request {
    /// Graceful shutdown: stop accepting, flush, close every connection.
    Shutdown,
    /// Shutdown without waiting for writes to finish (a second interrupt).
    ShutdownNow,
    /// Enter lame duck mode.
    LameDuck,
    /// Apply a new configuration; the result goes back on the channel.
    Reload(Box<Config>, async_channel::Sender<Result<(), ConfigError>>),
}

/// The tasks serving one live connection.
struct ConnTasks {
    writes: async_channel::Sender<WriteCmd>,
    reader: Task<()>,
    writer: Task<()>,
    /// The socket, for writing directly while the writer task has nothing queued.
    direct: Option<smol::net::TcpStream>,
    /// Bytes handed to the writer task and not yet reported written.
    queued: usize,
}

/// What woke the driver.
enum Wake {
    Control(Control),
    Input(Input),
    Timer,
}

/// The driver's state. Built by the server, consumed by [`Driver::run`].
pub(crate) struct Driver {
    pub(crate) broker: Broker,
    pub(crate) clock: Clock,
    pub(crate) executor: Arc<Executor<'static>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) control_tx: async_channel::Sender<Control>,
    pub(crate) control_rx: async_channel::Receiver<Control>,
    pub(crate) input_tx: async_channel::Sender<Input>,
    pub(crate) input_rx: async_channel::Receiver<Input>,
    /// The accept loop; dropping it stops listening.
    pub(crate) listener: Option<Task<()>>,
    /// Runs once the broker has stopped and writes are flushed (removes the ports file).
    pub(crate) on_stopped: Option<Box<dyn FnOnce() + Send>>,
    conns: HashMap<ConnId, ConnTasks>,
    /// Writers still flushing after their connection's `Close`.
    closing: Vec<Task<()>>,
    stopped: bool,
    abort_flush: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver for `broker`; channels come from [`Shared`]'s construction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        broker: Broker,
        clock: Clock,
        executor: Arc<Executor<'static>>,
        shared: Arc<Shared>,
        control: (
            async_channel::Sender<Control>,
            async_channel::Receiver<Control>,
        ),
        input: (async_channel::Sender<Input>, async_channel::Receiver<Input>),
        listener: Option<Task<()>>,
        on_stopped: Option<Box<dyn FnOnce() + Send>>,
    ) -> Self {
        Self {
            broker,
            clock,
            executor,
            shared,
            control_tx: control.0,
            control_rx: control.1,
            input_tx: input.0,
            input_rx: input.1,
            listener,
            on_stopped,
            conns: HashMap::new(),
            closing: Vec::new(),
            stopped: false,
            abort_flush: false,
        }
    }

    /// Runs until the broker has stopped and every accepted write is flushed.
    pub(crate) async fn run(mut self) {
        let mut timer = Timer::never();
        // The deadline the timer is armed for: re-arming costs a reactor round trip, so only
        // a changed deadline is re-armed.
        let mut armed = None;
        while !self.stopped {
            let wake = next_wake(&self.control_rx, &self.input_rx, &mut timer).await;
            if matches!(wake, Wake::Timer) {
                armed = None; // a fired timer must be armed again, even for the same deadline
            }
            self.handle_wake(wake);
            for _ in 0..MAX_BATCH {
                if let Ok(c) = self.control_rx.try_recv() {
                    self.handle_wake(Wake::Control(c));
                } else if let Ok(i) = self.input_rx.try_recv() {
                    self.handle_wake(Wake::Input(i));
                } else {
                    break;
                }
                if self.stopped {
                    break;
                }
            }
            self.drain_outputs();
            match self.broker.poll_timeout() {
                Some(at) if armed != Some(at) => {
                    armed = Some(at);
                    timer.set_at(self.clock.to_std(at));
                }
                Some(_) => {}
                None => {
                    armed = None;
                    timer = Timer::never();
                }
            }
            self.closing.retain(|t| !t.is_finished());
        }
        self.finish().await;
    }

    fn handle_wake(&mut self, wake: Wake) {
        let now = self.clock.now();
        match wake {
            Wake::Input((conn, bytes)) => self.broker.handle_input(conn, bytes, now),
            Wake::Timer => self.broker.handle_timeout(now),
            Wake::Control(Control::Written(conn, n)) => {
                if let Some(tasks) = self.conns.get_mut(&conn) {
                    tasks.queued = tasks.queued.saturating_sub(n);
                }
                self.broker.handle_written(conn, n, now);
            }
            Wake::Control(Control::Eof(conn, reason)) => self.broker.handle_eof(conn, reason, now),
            Wake::Control(Control::Attach(io, peer)) => self.attach(io, peer),
            Wake::Control(Control::Request(request)) => self.handle_request(request),
        }
    }

    fn handle_request(&mut self, request: Request) {
        let now = self.clock.now();
        match request {
            Request::Shutdown | Request::ShutdownNow => {
                if matches!(request, Request::ShutdownNow) {
                    self.abort_flush = true;
                }
                match self.broker.shutdown(now) {
                    Some(actions) => {
                        self.shared.shutdowns.fetch_add(1, Ordering::SeqCst);
                        tracing::info!("Initiating Shutdown...");
                        for output in actions {
                            self.perform(output);
                        }
                    }
                    None => tracing::debug!("Shutdown already in progress"),
                }
            }
            Request::LameDuck => {
                if self.broker.lame_duck(now) {
                    tracing::info!("Entering lame duck mode, stop accepting new clients");
                }
            }
            Request::Reload(config, reply) => {
                let result = self.broker.reload(*config, now);
                match &result {
                    Ok(()) => tracing::info!("Reloaded server configuration"),
                    Err(e) => tracing::error!("Failed to reload server configuration: {e}"),
                }
                let _ = reply.try_send(result);
            }
        }
    }

    /// Registers a new connection and starts its reader and writer.
    fn attach(&mut self, io: ConnIo, peer: PeerInfo) {
        let now = self.clock.now();
        let Ok(conn) = self.broker.accept(peer, now) else {
            tracing::debug!("Refused a connection: the server is shutting down");
            return;
        };
        match peer.addr {
            Some(addr) => tracing::debug!("{addr} - cid:{conn} - Client connection created"),
            None => tracing::debug!("cid:{conn} - In-process client connection created"),
        }
        let (reader, writer, direct) = io.into_parts();
        let (writes, commands) = async_channel::unbounded();
        let deadline = self.broker.config().write_deadline;
        let reader = self.executor.spawn(conn::read_loop(
            conn,
            reader,
            self.input_tx.clone(),
            self.control_tx.clone(),
        ));
        let writer = self.executor.spawn(conn::write_loop(
            conn,
            writer,
            commands,
            self.control_tx.clone(),
            deadline,
        ));
        self.conns.insert(
            conn,
            ConnTasks {
                writes,
                reader,
                writer,
                direct,
                queued: 0,
            },
        );
    }

    fn drain_outputs(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            self.perform(output);
        }
    }

    /// Performs one output: the single path for poll outputs and shutdown actions.
    fn perform(&mut self, output: Output) {
        match output {
            Output::Transmit { conn, segments } => {
                let Some(tasks) = self.conns.get_mut(&conn) else {
                    return;
                };
                let mut segments = VecDeque::from(segments);
                // While the writer task has nothing queued, write from here: one task hop and
                // one wake-up fewer per message on the latency path (nats-server's readLoop
                // flushes the same way). Order holds: nothing is queued ahead of these bytes.
                if tasks.queued == 0 {
                    if let Some(stream) = tasks.direct.as_mut() {
                        match conn::write_now(stream, &mut segments) {
                            Ok(n) if n > 0 => self.broker.handle_written(conn, n, self.clock.now()),
                            Ok(_) => {}
                            // The writer task meets the same error and reports it.
                            Err(_) => {}
                        }
                    }
                }
                if !segments.is_empty() {
                    tasks.queued += segments.iter().map(|s| s.len()).sum::<usize>();
                    let _ = tasks.writes.try_send(WriteCmd::Send(segments.into()));
                }
            }
            Output::Close { conn, reason } => {
                if let Some(tasks) = self.conns.remove(&conn) {
                    tracing::debug!("cid:{conn} - Client connection closed: {reason}");
                    let _ = tasks.writes.try_send(WriteCmd::Close);
                    drop(tasks.reader);
                    self.closing.push(tasks.writer);
                }
            }
            Output::StopListening => {
                if self.listener.take().is_some() {
                    tracing::debug!("Client accept loop exiting..");
                }
                self.shared.listening.store(false, Ordering::SeqCst);
            }
            Output::Stopped => self.stopped = true,
            other => tracing::debug!("Ignoring unknown broker output {other:?}"),
        }
    }

    /// After `Stopped`: flush closing writers (unless told to hurry), then report completion.
    async fn finish(mut self) {
        self.listener = None;
        // Connections the core never closed (there should be none) are closed now.
        for (_, tasks) in self.conns.drain() {
            let _ = tasks.writes.try_send(WriteCmd::Close);
            self.closing.push(tasks.writer);
        }
        if !self.abort_flush {
            let writers = std::mem::take(&mut self.closing);
            let flush = async {
                for writer in writers {
                    writer.await;
                }
                true
            };
            let control_rx = self.control_rx.clone();
            let hurry = async move {
                loop {
                    match control_rx.recv().await {
                        Ok(Control::Request(Request::ShutdownNow)) => {
                            tracing::info!("Closing connections without flushing");
                            return false;
                        }
                        Ok(_) => {}
                        Err(_) => std::future::pending::<()>().await,
                    }
                }
            };
            flush.or(hurry).await;
        }
        self.closing.clear();
        if let Some(on_stopped) = self.on_stopped.take() {
            on_stopped();
        }
        tracing::info!("Server Exiting..");
        self.shared.mark_stopped();
    }
}

/// Waits for a control message, then input, then the timer (control first: it frees memory).
async fn next_wake(
    control_rx: &async_channel::Receiver<Control>,
    input_rx: &async_channel::Receiver<Input>,
    timer: &mut Timer,
) -> Wake {
    let control = async {
        match control_rx.recv().await {
            Ok(c) => Wake::Control(c),
            // The driver holds a sender, so the channel never closes while it runs.
            Err(_) => std::future::pending().await,
        }
    };
    let input = async {
        match input_rx.recv().await {
            Ok(i) => Wake::Input(i),
            Err(_) => std::future::pending().await,
        }
    };
    let timer = async {
        timer.await;
        Wake::Timer
    };
    control.or(input).or(timer).await
}
