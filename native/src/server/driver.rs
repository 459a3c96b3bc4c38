//! The driver: the [`Broker`] and its connections, on one thread.
//!
//! The broker lives in a [`Hub`] behind an `Rc<RefCell<_>>` on a single-threaded executor.
//! Every task on that thread calls the hub directly: a reader hands the bytes it read to the
//! broker and performs the resulting outputs before it reads again, a writer reports the bytes
//! it wrote, the accept loop attaches sockets, a timer task fires the broker's one deadline.
//! No message crosses a channel or wakes another task on the way from one client to another,
//! which keeps the request/reply path to one reactor wait per hop. Only what comes from other
//! threads (the embedder's requests, in-process connections, signals) arrives on the control
//! channel.
//!
//! No borrow of the hub is held across an `.await`, so the borrows never overlap.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use futures_lite::FutureExt;
use skiff_core::{Broker, CloseReason, Config, ConfigError, ConnId, Instant, Output, PeerInfo};
use smol::{LocalExecutor, Task, Timer};

use super::clock::Clock;
use super::conn::{self, ConnIo, Direct, ReadGate, WriteCmd};
use super::memory;
use super::shared::Shared;

/// A message to the driver from another thread.
#[derive(Debug)]
pub(crate) enum Control {
    /// A new connection to register with the broker.
    Attach(ConnIo, PeerInfo),
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
    /// Inject, clear or list faults (see `faults`).
    Fault(super::faults::FaultRequest),
}

/// The hub as the tasks hold it: they never keep it alive, so dropping the hub at the end of
/// [`run`] cancels every task it owns.
pub(crate) type HubRef = Weak<RefCell<Hub>>;

/// The tasks and handles serving one live connection.
struct ConnTasks {
    writes: async_channel::Sender<WriteCmd>,
    /// Held so that closing the connection cancels its reader.
    _reader: Task<()>,
    writer: Task<()>,
    /// The socket, for writing directly while the writer task has nothing queued.
    direct: Option<Direct>,
    /// Bytes handed to the writer task and not yet reported written.
    queued: usize,
    /// Closed while the broker pauses reading (producer back-pressure).
    gate: Rc<ReadGate>,
    /// The largest `queued` since the writer was last idle (a burst is trimmed after).
    peak_queued: usize,
    /// Told why the core closed the connection (WebSocket close frames).
    close_reason: Option<conn::CloseSlot>,
    /// `direct` carries the first transmit only (INFO in plain text before TLS).
    plain_first: bool,
    /// The TLS client certificate's names, passed to the broker before the first input.
    tls_names: Option<crate::tls::TlsNames>,
}

/// The broker and everything that performs its outputs.
pub(crate) struct Hub {
    broker: Broker,
    clock: Clock,
    executor: Rc<LocalExecutor<'static>>,
    shared: Arc<Shared>,
    /// This hub, for the tasks it spawns.
    this: HubRef,
    conns: HashMap<ConnId, ConnTasks>,
    /// Writers still flushing after their connection's `Close`.
    closing: Vec<Task<()>>,
    /// The accept loop; dropping it stops listening.
    listener: Option<Task<()>>,
    /// The signal handler; dropping it restores the default handlers.
    signals: Option<Task<()>>,
    /// The monitoring accept loop; dropped once the server has stopped.
    monitor: Option<Task<()>>,
    /// The WebSocket accept loop; dropped when the client listener stops.
    websocket: Option<Task<()>>,
    /// The leafnode accept loop; runs until the server stops.
    leafnodes: Option<Task<()>>,
    /// Transport tasks serving connections (see [`Hub::spawn_transport`]).
    transports: Vec<Task<()>>,
    /// The accept loop's cancellation, which completes once its socket is closed: the host
    /// reports that it stopped only after that.
    unlistening: Option<Task<()>>,
    /// The deadline the timer task waits for (it may be earlier than the broker's: a timer
    /// that fires early only re-arms).
    armed: Option<Instant>,
    /// Tells the timer task that `armed` moved earlier.
    rearm: async_channel::Sender<()>,
    /// Closed once the broker has stopped.
    stopped: async_channel::Sender<()>,
    abort_flush: bool,
    /// When to return free memory to the system, after a burst (see [`memory`]).
    trim_at: Option<std::time::Instant>,
    /// The task waiting for `trim_at`.
    trim_task: Option<Task<()>>,
    /// Failed dials in a row per leaf remote (for nats-server's attempt count in the log).
    leaf_attempts: HashMap<usize, u64>,
    /// Each leaf remote's TLS client configuration, if it dials over TLS.
    leaf_tls: Vec<Option<Arc<rustls::ClientConfig>>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// How long a leaf remote's TCP connect may take.
const LEAF_DIAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connected leaf remote.
enum Dialed {
    /// `nats-leaf://`, `nats://`.
    Tcp(smol::net::TcpStream),
    /// `tls://` (or a remote with `tls {}`): the TLS stream, INFO read before it.
    Tls(ConnIo, Option<std::net::SocketAddr>),
    /// `ws://`: the link's pipes, the hub's address, and the frame pump.
    WebSocket(
        ConnIo,
        Option<std::net::SocketAddr>,
        std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
    ),
}

/// Connects to a leaf remote's hub over TCP, TLS (with `tls`) or WebSocket.
async fn dial(
    url: &skiff_core::LeafUrl,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> std::io::Result<Dialed> {
    match (url.scheme.as_str(), tls) {
        ("nats-leaf" | "nats" | "tls", Some(tls)) => {
            let stream = smol::net::TcpStream::connect(url.authority()).await?;
            let _ = stream.set_nodelay(true);
            let addr = stream.peer_addr().ok();
            let io = crate::tls::connect_leaf(stream, &url.host, tls).await?;
            Ok(Dialed::Tls(io, addr))
        }
        ("nats-leaf" | "nats", None) => Ok(Dialed::Tcp(
            smol::net::TcpStream::connect(url.authority()).await?,
        )),
        ("ws" | "wss", tls) => {
            let (io, addr, pump) = crate::websocket::client::connect_leaf(url, tls).await?;
            Ok(Dialed::WebSocket(io, addr, pump))
        }
        (other, _) => Err(std::io::Error::other(format!(
            "{other}:// leafnode remotes are not supported by the skiff daemon"
        ))),
    }
}

/// How long a stopped server waits for transport tasks to finish their close handshakes.
const TRANSPORT_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The signal handler's future, built where the handlers are installed.
pub(crate) type SignalTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the server thread needs to run a broker.
pub(crate) struct Setup {
    /// The broker, already built (its banner is logged).
    pub(crate) broker: Broker,
    /// The host clock the broker's instants come from.
    pub(crate) clock: Clock,
    /// State shared with the [`Server`](crate::Server) handle.
    pub(crate) shared: Arc<Shared>,
    /// Messages from other threads.
    pub(crate) control: async_channel::Receiver<Control>,
    /// The client listener, if the server listens on TCP.
    pub(crate) listener: Option<smol::net::TcpListener>,
    /// TLS on the client listener.
    pub(crate) tls: Option<crate::tls::TlsAcceptor>,
    /// Each leaf remote's TLS client configuration (`tls://` or a `tls {}` block).
    pub(crate) leaf_tls: Vec<Option<Arc<rustls::ClientConfig>>>,
    /// The signal handler task's future, if signals are handled.
    pub(crate) signals: Option<SignalTask>,
    /// The monitoring listener and what it reports, if monitoring is on.
    pub(crate) monitor: Option<(smol::net::TcpListener, crate::monitor::MonitorState)>,
    /// The WebSocket listener and its settings, if WebSocket clients are accepted.
    pub(crate) websocket: Option<(smol::net::TcpListener, crate::websocket::Settings)>,
    /// The leafnode listener, if any.
    pub(crate) leafnodes: Option<smol::net::TcpListener>,
    /// Runs once the broker has stopped and writes are flushed (removes the ports file).
    pub(crate) on_stopped: Box<dyn FnOnce() + Send>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup").finish_non_exhaustive()
    }
}

/// Runs the broker on the current thread until it has stopped and every accepted write is
/// flushed.
pub(crate) fn run(setup: Setup) {
    let executor = Rc::new(LocalExecutor::new());
    let (rearm, rearm_rx) = async_channel::bounded(1);
    let (stopped, stopped_rx) = async_channel::bounded::<()>(1);
    let hub = Rc::new_cyclic(|this| {
        RefCell::new(Hub {
            broker: setup.broker,
            clock: setup.clock,
            executor: executor.clone(),
            shared: setup.shared,
            this: this.clone(),
            conns: HashMap::new(),
            closing: Vec::new(),
            listener: None,
            signals: None,
            monitor: None,
            websocket: None,
            leafnodes: None,
            transports: Vec::new(),
            unlistening: None,
            armed: None,
            rearm,
            stopped,
            abort_flush: false,
            trim_at: None,
            trim_task: None,
            leaf_attempts: HashMap::new(),
            leaf_tls: setup.leaf_tls,
        })
    });
    let weak = Rc::downgrade(&hub);
    if let Some(listener) = setup.listener {
        let accept = executor.spawn(super::listener::accept_loop(
            listener,
            weak.clone(),
            super::listener::Accepts::Clients(setup.tls),
        ));
        hub.borrow_mut().listener = Some(accept);
    }
    hub.borrow_mut().signals = setup.signals.map(|s| executor.spawn(s));
    if let Some((listener, state)) = setup.monitor {
        let monitor = crate::monitor::accept_loop(listener, weak.clone(), Rc::new(state));
        hub.borrow_mut().monitor = Some(executor.spawn(monitor));
    }
    if let Some((listener, settings)) = setup.websocket {
        let accept = crate::websocket::accept_loop(listener, weak.clone(), Rc::new(settings));
        hub.borrow_mut().websocket = Some(executor.spawn(accept));
    }
    if let Some(listener) = setup.leafnodes {
        let accept =
            super::listener::accept_loop(listener, weak.clone(), super::listener::Accepts::Leafs);
        hub.borrow_mut().leafnodes = Some(executor.spawn(accept));
    }
    let timer = executor.spawn(timer_loop(weak.clone(), rearm_rx));
    hub.borrow_mut().settle();
    let serve = serve(&hub, setup.control, stopped_rx, setup.on_stopped);
    smol::block_on(executor.run(serve));
    drop(timer);
    // The tasks hold only weak references: dropping the hub drops their handles, and the
    // executor drops their futures.
    drop(hub);
}

/// Applies control messages until the broker stops, then finishes.
async fn serve(
    hub: &Rc<RefCell<Hub>>,
    control: async_channel::Receiver<Control>,
    stopped: async_channel::Receiver<()>,
    on_stopped: Box<dyn FnOnce() + Send>,
) {
    loop {
        // The stop is polled first: nothing is applied after it.
        let next = async {
            // Closed when the broker stops.
            let _ = stopped.recv().await;
            None
        }
        .or(async { control.recv().await.ok() })
        .await;
        match next {
            Some(message) => hub.borrow_mut().control(message),
            // The handle holds a sender, so only a stop ends the loop.
            None => break,
        }
    }
    finish(hub, &control, on_stopped).await;
}

/// After `Stopped`: flush closing writers (unless told to hurry), then report completion.
async fn finish(
    hub: &Rc<RefCell<Hub>>,
    control: &async_channel::Receiver<Control>,
    on_stopped: Box<dyn FnOnce() + Send>,
) {
    let (writers, abort, shared, transports) = {
        let mut hub = hub.borrow_mut();
        hub.stop_listening();
        // Connections the core never closed (there should be none) are closed now.
        for (_, tasks) in std::mem::take(&mut hub.conns) {
            let _ = tasks.writes.try_send(WriteCmd::Close);
            hub.closing.push(tasks.writer);
        }
        (
            std::mem::take(&mut hub.closing),
            hub.abort_flush,
            hub.shared.clone(),
            std::mem::take(&mut hub.transports),
        )
    };
    if !abort {
        let flush = async {
            for writer in writers {
                writer.await;
            }
        };
        let hurry = async {
            loop {
                match control.recv().await {
                    Ok(Control::Request(Request::ShutdownNow)) => {
                        tracing::info!("Closing connections without flushing");
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => std::future::pending::<()>().await,
                }
            }
        };
        flush.or(hurry).await;
        // The transports pass on what the writers flushed, and their close frames.
        let transports = async {
            for transport in transports {
                transport.await;
            }
        };
        transports
            .or(async {
                Timer::after(TRANSPORT_GRACE).await;
            })
            .await;
    }
    // Signals stay handled through the flush (a second interrupt hurries it), then go back to
    // their defaults before the host reports that it stopped.
    let (signals, unlistening, monitor) = {
        let mut hub = hub.borrow_mut();
        (
            hub.signals.take(),
            hub.unlistening.take(),
            hub.monitor.take(),
        )
    };
    if let Some(monitor) = monitor {
        monitor.cancel().await;
    }
    if let Some(signals) = signals {
        signals.cancel().await;
    }
    // The port is free once `wait_for_shutdown` returns: a new server may bind it at once.
    if let Some(unlistening) = unlistening {
        unlistening.await;
    }
    on_stopped();
    tracing::info!("Server Exiting..");
    shared.mark_stopped();
}

/// Fires the broker's deadline: waits for `armed`, re-reading it whenever it moves earlier.
async fn timer_loop(hub: HubRef, rearm: async_channel::Receiver<()>) {
    loop {
        while rearm.try_recv().is_ok() {}
        let Some(strong) = hub.upgrade() else { return };
        let at = {
            let hub = strong.borrow();
            hub.armed.map(|at| hub.clock.to_std(at))
        };
        drop(strong);
        let fired = match at {
            Some(at) => {
                async {
                    Timer::at(at).await;
                    true
                }
                .or(async {
                    let _ = rearm.recv().await;
                    false
                })
                .await
            }
            None => {
                if rearm.recv().await.is_err() {
                    return;
                }
                false
            }
        };
        if fired {
            let Some(strong) = hub.upgrade() else { return };
            let mut hub = strong.borrow_mut();
            hub.armed = None;
            let now = hub.clock.now();
            hub.broker.handle_timeout(now);
            hub.settle();
        }
    }
}

/// Waits for the hub's `trim_at`, re-reading it when it moved, then trims once.
async fn trim_loop(hub: HubRef) {
    loop {
        let at = {
            let Some(strong) = hub.upgrade() else { return };
            let mut hub = strong.borrow_mut();
            match hub.trim_at {
                Some(at) if at <= std::time::Instant::now() => {
                    hub.trim_at = None;
                    None
                }
                Some(at) => Some(at),
                None => return,
            }
        };
        match at {
            Some(at) => {
                Timer::at(at).await;
            }
            None => {
                memory::release_free_memory();
                return;
            }
        }
    }
}

impl Hub {
    /// The broker, for reading (monitoring).
    pub(crate) fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Performs a fault control request (the monitoring server's `/skiff/faults`) and
    /// whatever outputs it causes.
    pub(crate) fn control_request(
        &mut self,
        op: skiff_core::ControlOp,
        payload: &[u8],
    ) -> Result<String, String> {
        let answer = self.broker.control(op, payload, self.clock.now());
        self.settle();
        answer
    }

    /// The current time as the broker sees it.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs `task` on the server thread's executor until it ends or the executor stops.
    pub(crate) fn spawn_detached(&self, task: impl Future<Output = ()> + 'static) {
        self.executor.spawn(task).detach();
    }

    /// Runs a transport's connection task (a WebSocket pump); once the broker has stopped,
    /// the server waits for these (a bounded time) so their last bytes and close frames go out.
    pub(crate) fn spawn_transport(&mut self, task: impl Future<Output = ()> + 'static) {
        self.transports.retain(|t| !t.is_finished());
        self.transports.push(self.executor.spawn(task));
    }

    /// Bytes read from `conn`. Returns false once the connection is gone (its reader stops).
    pub(crate) fn input(&mut self, conn: ConnId, bytes: BytesMut) -> bool {
        let now = self.clock.now();
        if let Some(names) = self.conns.get_mut(&conn).and_then(|t| t.tls_names.take()) {
            self.broker
                .set_tls_names(conn, names.get().unwrap_or_default());
        }
        self.broker.handle_input(conn, bytes, now);
        self.settle();
        self.conns.contains_key(&conn)
    }

    /// `n` bytes handed to `conn`'s writer task were written.
    pub(crate) fn written(&mut self, conn: ConnId, n: usize) {
        if let Some(tasks) = self.conns.get_mut(&conn) {
            tasks.queued = tasks.queued.saturating_sub(n);
            if tasks.queued == 0 && std::mem::take(&mut tasks.peak_queued) >= memory::BURST {
                self.schedule_trim();
            }
        }
        let now = self.clock.now();
        self.broker.handle_written(conn, n, now);
        self.settle();
    }

    /// `conn` ended: end of stream, a read or write failure, or a missed write deadline.
    pub(crate) fn ended(&mut self, conn: ConnId, reason: CloseReason) {
        let now = self.clock.now();
        self.broker.handle_eof(conn, reason, now);
        self.settle();
    }

    /// Registers a new connection and starts its reader and writer.
    pub(crate) fn attach(&mut self, io: ConnIo, peer: PeerInfo) {
        let now = self.clock.now();
        let Ok(conn) = self.broker.accept(peer, now) else {
            tracing::debug!("Refused a connection: the server is shutting down");
            return;
        };
        self.start_conn(conn, io);
    }

    /// A leaf remote's dial succeeded: the link becomes a connection like any other.
    pub(crate) fn attach_leaf(&mut self, io: ConnIo, peer: PeerInfo, remote: usize) {
        let now = self.clock.now();
        let Ok(conn) = self.broker.leaf_connected(remote, peer, now) else {
            return;
        };
        self.start_conn(conn, io);
    }

    /// A server attached to the leafnode listener.
    pub(crate) fn attach_accepted_leaf(&mut self, io: ConnIo, peer: PeerInfo) {
        let now = self.clock.now();
        let Ok(conn) = self.broker.accept_leaf(peer, now) else {
            return;
        };
        self.start_conn(conn, io);
    }

    /// A leaf remote's dial failed; the core says when to try again.
    pub(crate) fn leaf_dial_failed(&mut self, remote: usize) {
        let now = self.clock.now();
        self.broker.leaf_dial_failed(remote, now);
        self.settle();
    }

    /// Dials a leaf remote's hub on the executor and reports the outcome to the core.
    fn dial_leaf(&mut self, remote: usize, url: skiff_core::LeafUrl) {
        let attempt = {
            let n = self.leaf_attempts.entry(remote).or_insert(0);
            *n += 1;
            *n
        };
        let hub = self.this.clone();
        let tls = self.leaf_tls.get(remote).cloned().flatten();
        let task = async move {
            let connected = dial(&url, tls)
                .or(async {
                    smol::Timer::after(LEAF_DIAL_TIMEOUT).await;
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "i/o timeout",
                    ))
                })
                .await;
            let Some(hub) = hub.upgrade() else { return };
            let mut hub = hub.borrow_mut();
            match connected {
                Ok(Dialed::Tcp(stream)) => {
                    hub.leaf_attempts.remove(&remote);
                    let _ = stream.set_nodelay(true);
                    let peer = PeerInfo {
                        addr: stream.peer_addr().ok(),
                        transport: skiff_core::Transport::Tcp,
                    };
                    hub.attach_leaf(ConnIo::tcp(stream), peer, remote);
                }
                Ok(Dialed::Tls(io, addr)) => {
                    hub.leaf_attempts.remove(&remote);
                    let peer = PeerInfo {
                        addr,
                        transport: skiff_core::Transport::Tcp,
                    };
                    hub.attach_leaf(io, peer, remote);
                }
                Ok(Dialed::WebSocket(io, addr, pump)) => {
                    hub.leaf_attempts.remove(&remote);
                    let peer = PeerInfo {
                        addr,
                        transport: skiff_core::Transport::WebSocket,
                    };
                    hub.spawn_transport(pump);
                    hub.attach_leaf(io, peer, remote);
                }
                Err(e) => {
                    // nats-server's text; repeated failures are reported now and then only.
                    let text = format!(
                        "Error trying to connect as leafnode to remote server {:?} (attempt {attempt}): {e}",
                        url.authority()
                    );
                    if attempt == 1 || attempt % 60 == 0 {
                        tracing::error!("{text}");
                    } else {
                        tracing::debug!("{text}");
                    }
                    hub.leaf_dial_failed(remote);
                }
            }
        };
        self.executor.spawn(task).detach();
    }

    /// Starts the reader and writer of a registered connection.
    fn start_conn(&mut self, conn: ConnId, io: ConnIo) {
        let close_reason = io.close_reason();
        let (plain_first, tls_names) = (io.plain_first(), io.tls_names());
        let (reader, writer, direct) = io.into_parts();
        let (writes, commands) = async_channel::unbounded();
        let deadline = self.broker.config().write_deadline;
        let gate = Rc::new(ReadGate::default());
        let reader = self.executor.spawn(conn::read_loop(
            conn,
            reader,
            self.this.clone(),
            gate.clone(),
        ));
        let writer = self.executor.spawn(conn::write_loop(
            conn,
            writer,
            commands,
            self.this.clone(),
            deadline,
        ));
        self.conns.insert(
            conn,
            ConnTasks {
                writes,
                _reader: reader,
                writer,
                direct,
                queued: 0,
                gate,
                peak_queued: 0,
                close_reason,
                plain_first,
                tls_names,
            },
        );
        self.settle();
    }

    fn control(&mut self, message: Control) {
        match message {
            Control::Attach(io, peer) => self.attach(io, peer),
            Control::Request(request) => {
                self.request(request);
                self.settle();
            }
        }
    }

    fn request(&mut self, request: Request) {
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
            Request::Fault(request) => request.apply(&mut self.broker, now),
        }
    }

    /// Performs every pending output and keeps the timer at or before the broker's deadline.
    fn settle(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            self.perform(output);
        }
        if let Some(at) = self.broker.poll_timeout() {
            // A later deadline is left to the armed timer: it fires early and re-arms, which
            // costs less than waking the timer task on every change.
            if self.armed.is_none_or(|armed| at < armed) {
                self.armed = Some(at);
                let _ = self.rearm.try_send(());
            }
        }
    }

    /// Returns free memory to the system [`memory::TRIM_DELAY`] from now (or later, if
    /// another burst ends meanwhile).
    fn schedule_trim(&mut self) {
        self.trim_at = Some(std::time::Instant::now() + memory::TRIM_DELAY);
        if self.trim_task.as_ref().is_none_or(Task::is_finished) {
            self.trim_task = Some(self.executor.spawn(trim_loop(self.this.clone())));
        }
    }

    /// Cancels the accept loop; its socket closes on the executor's next turn, and [`finish`]
    /// waits for that.
    fn stop_listening(&mut self) {
        // nats-server closes the websocket server together with the client listener.
        if let Some(websocket) = self.websocket.take() {
            self.executor.spawn(websocket.cancel()).detach();
        }
        if let Some(listener) = self.listener.take() {
            tracing::debug!("Client accept loop exiting..");
            self.unlistening = Some(self.executor.spawn(async move {
                listener.cancel().await;
            }));
        }
        self.shared.listening.store(false, Ordering::SeqCst);
    }

    /// Performs one output: the single path for poll outputs and shutdown actions.
    fn perform(&mut self, output: Output) {
        match output {
            Output::Transmit { conn, segments } => {
                let Some(tasks) = self.conns.get_mut(&conn) else {
                    return;
                };
                let mut segments = VecDeque::from(segments);
                // While the writer task has nothing queued, write from here: no task hop and
                // no wake-up on the latency path (nats-server's readLoop flushes the same way).
                // Order holds: nothing is queued ahead of these bytes.
                if tasks.queued == 0 {
                    if let Some(direct) = &tasks.direct {
                        // An error is left to the writer task, which meets it and reports it.
                        if let Ok(n) = conn::write_now(direct, &mut segments) {
                            if n > 0 {
                                self.broker.handle_written(conn, n, self.clock.now());
                            }
                        }
                    }
                }
                if std::mem::take(&mut tasks.plain_first) {
                    // INFO went out in plain text; the rest goes through TLS.
                    tasks.direct = None;
                    if !segments.is_empty() {
                        tracing::error!("cid:{} - INFO not written before TLS", conn.index());
                        let now = self.clock.now();
                        self.broker.handle_eof(conn, CloseReason::WriteError, now);
                        return;
                    }
                }
                if !segments.is_empty() {
                    tasks.queued += segments.iter().map(|s| s.len()).sum::<usize>();
                    tasks.peak_queued = tasks.peak_queued.max(tasks.queued);
                    let _ = tasks.writes.try_send(WriteCmd::Send(segments.into()));
                }
            }
            Output::Close { conn, reason } => {
                if let Some(tasks) = self.conns.remove(&conn) {
                    if let Some(slot) = &tasks.close_reason {
                        let _ = slot.set(reason);
                    }
                    if tasks.peak_queued >= memory::BURST {
                        self.schedule_trim();
                    }
                    if reason.flushes() {
                        let _ = tasks.writes.try_send(WriteCmd::Close);
                        self.closing.retain(|t| !t.is_finished());
                        self.closing.push(tasks.writer);
                    }
                    // Otherwise (a slow consumer, a failed socket) dropping the writer's handle
                    // cancels it with its unwritten bytes, so their memory comes back at once.
                    // Dropping the reader's handle cancels it (after its current step, if
                    // it is the task closing its own connection). The socket closes with the
                    // last handle.
                }
            }
            Output::PauseReading { conn } => {
                tracing::trace!("cid:{conn} - Reading paused for a slow consumer");
                if let Some(tasks) = self.conns.get(&conn) {
                    tasks.gate.pause();
                }
            }
            Output::ResumeReading { conn } => {
                tracing::trace!("cid:{conn} - Reading resumed");
                if let Some(tasks) = self.conns.get(&conn) {
                    tasks.gate.resume();
                }
            }
            Output::Notice(notice) => crate::log::notice(&notice),
            Output::DialLeaf { remote, url } => self.dial_leaf(remote, *url),
            Output::StopListening => self.stop_listening(),
            Output::Stopped => {
                self.stopped.close();
            }
            other => tracing::debug!("Ignoring unknown broker output {other:?}"),
        }
    }
}
