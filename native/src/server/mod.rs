//! The server runtime: a [`Server`] runs a [`Broker`] on a thread of its own.
//!
//! On that thread a single-threaded smol executor runs the accept loop, a reader and a writer
//! task per connection, a timer task and (if asked) the signal task; all of them call the
//! broker directly. Other threads reach it over a control channel. See the private `driver`
//! module for the details.

mod clock;
pub(crate) mod conn;
pub(crate) mod driver;
mod faults;
mod files;
mod in_process;
mod listener;
mod memory;
mod options;
pub(crate) mod shared;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use futures_lite::FutureExt;
use skiff_core::{Broker, Config, ConfigError, PeerInfo};

pub use in_process::InProcessConnection;
pub use options::{ListenAddr, ReloadFn, ServerOptions, WebsocketListen};

use clock::Clock;
use driver::{Control, Request};
use shared::Shared;

/// Why a server could not be built or started.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The client listener could not be opened.
    Listen {
        /// The address we tried.
        addr: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A pid or ports file could not be written.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A secondary listener (monitoring, WebSocket) could not be opened.
    ListenOther {
        /// What it serves (`http monitor`, `websocket`).
        what: &'static str,
        /// The address we tried.
        addr: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The WebSocket settings are invalid (an allowed origin that is not a URL).
    Websocket(String),
    /// The TLS certificate, key or CA file cannot be used.
    Tls(String),
    /// Signal handlers could not be installed.
    Signals(std::io::Error),
    /// [`Server::start`] was called before.
    AlreadyStarted,
    /// The fault control surface was asked for on a listener that is not a loopback address,
    /// without [`ServerOptions::control_allow_public`].
    ControlNotLoopback {
        /// The listener's address.
        addr: SocketAddr,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Tls(e) => f.write_str(e),
            Self::Listen { addr, source } => write!(f, "error listening on {addr}: {source}"),
            Self::ListenOther { what, addr, source } => {
                write!(f, "can't listen to the {what} port {addr}: {source}")
            }
            Self::File { path, source } => {
                write!(f, "could not write {}: {source}", path.display())
            }
            Self::Websocket(e) => write!(f, "websocket: {e}"),
            Self::Signals(e) => write!(f, "could not install signal handlers: {e}"),
            Self::AlreadyStarted => f.write_str("the server was already started"),
            Self::ControlNotLoopback { addr } => write!(
                f,
                "refusing the fault control surface (--control) on non-loopback address {addr}: \
                 any client could inject faults; add --control_allow_public to allow it"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Listen { source, .. }
            | Self::ListenOther { source, .. }
            | Self::File { source, .. } => Some(source),
            Self::Signals(e) => Some(e),
            Self::AlreadyStarted
            | Self::Websocket(_)
            | Self::Tls(_)
            | Self::ControlNotLoopback { .. } => None,
        }
    }
}

/// Why [`Server::in_process_connection`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server was not started yet.
    NotStarted,
    /// The server is shutting down or stopped.
    Stopped,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotStarted => "the server was not started",
            Self::Stopped => "the server has stopped",
        })
    }
}

impl std::error::Error for ConnectError {}

/// A NATS server running on a thread of its own.
///
/// Build it with [`Server::new`], then [`start`](Server::start) it. Every method takes `&self`
/// and the type is `Send + Sync`, so share it with an [`Arc`]. [`shutdown`](Server::shutdown)
/// may be called any number of times, from any thread or task, concurrently: the broker shuts
/// down exactly once. Dropping the server shuts it down and waits for its thread.
///
/// Signal handling is off unless [`ServerOptions::handle_signals`] asks for it; the library
/// never exits the process.
pub struct Server {
    shared: Arc<Shared>,
    start: Mutex<Option<Pending>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: Mutex<Option<ThreadId>>,
}

/// What [`Server::start`] consumes.
struct Pending {
    options: ServerOptions,
    control_rx: async_channel::Receiver<Control>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr())
            .field("stopped", &self.shared.is_stopped())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `options`, not yet started.
    ///
    /// # Errors
    /// [`StartError::Config`] if the broker configuration is invalid.
    pub fn new(options: ServerOptions) -> Result<Self, StartError> {
        options.config.validate().map_err(StartError::Config)?;
        let (control_tx, control_rx) = async_channel::unbounded();
        Ok(Self {
            shared: Arc::new(Shared::new(control_tx)),
            start: Mutex::new(Some(Pending {
                options,
                control_rx,
            })),
            thread: Mutex::new(None),
            thread_id: Mutex::new(None),
        })
    }

    /// Builds and starts a server in one step.
    ///
    /// # Errors
    /// As [`Server::new`] and [`Server::start`].
    pub fn run(options: ServerOptions) -> Result<Self, StartError> {
        let server = Self::new(options)?;
        server.start()?;
        Ok(server)
    }

    /// Opens the listener, writes the pid file, and starts the server thread. Returns once
    /// the listener is bound; the server is ready for connections shortly after (see
    /// [`Server::ready_for_connections`]).
    ///
    /// # Errors
    /// A listen, file or signal error; [`StartError::AlreadyStarted`] on a second call.
    pub fn start(&self) -> Result<(), StartError> {
        let pending = lock(&self.start).take().ok_or(StartError::AlreadyStarted)?;
        let Pending {
            mut options,
            control_rx,
        } = pending;
        let clock = Clock::start();
        // TLS towards leaf hubs: a `tls {}` block, or a `tls://` URL (the system's CAs).
        let leaf_tls = options
            .config
            .leaf_remotes
            .iter()
            .map(|remote| {
                let wants_tls = remote.tls.is_some()
                    || remote
                        .urls
                        .iter()
                        .any(|u| matches!(u.scheme.as_str(), "tls" | "wss"));
                wants_tls
                    .then(|| {
                        crate::tls::leaf_client_config(&remote.tls.clone().unwrap_or_default())
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Tls)?;
        // Unix time at the clock's epoch, for the expiry of JWTs.
        options.config.unix_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok();
        let tls = match &options.tls {
            Some(tls) => {
                let acceptor = crate::tls::TlsAcceptor::new(tls).map_err(StartError::Tls)?;
                options.config.tls_required = true;
                options.config.tls_verify = tls.verifies();
                options.config.tls_map = tls.verify_and_map;
                Some(acceptor)
            }
            None => None,
        };

        let listener = if options.listen {
            let addr = format!("{}:{}", options.host, options.port);
            let listener = listener::bind(&addr)
                .and_then(smol::net::TcpListener::try_from)
                .map_err(|source| StartError::Listen { addr, source })?;
            let local = listener.local_addr().map_err(|source| StartError::Listen {
                addr: format!("{}:{}", options.host, options.port),
                source,
            })?;
            if options.config.fault_control
                && !options.control_allow_public
                && !local.ip().is_loopback()
            {
                return Err(StartError::ControlNotLoopback { addr: local });
            }
            let _ = self.shared.local_addr.set(local);
            options.config.port = local.port();
            Some(listener)
        } else {
            None
        };
        let mut monitor = match &options.http {
            Some(http) => {
                let addr = format!("{}:{}", http.host, http.port);
                let bound = listener::bind(&addr)
                    .and_then(smol::net::TcpListener::try_from)
                    .and_then(|l| Ok((l.local_addr()?, l)));
                let (local, listener) = bound.map_err(|source| StartError::ListenOther {
                    what: "http monitor",
                    addr,
                    source,
                })?;
                let _ = self.shared.http_addr.set(local);
                let epoch = std::time::SystemTime::now() - clock.now().since_epoch();
                let state = crate::monitor::MonitorState::new(
                    epoch,
                    local,
                    http.host.clone(),
                    options
                        .websocket
                        .as_ref()
                        .map(|ws| crate::monitor::WebsocketVarz {
                            host: ws.listen.host.clone(),
                            port: ws.listen.port,
                            no_tls: true,
                            same_origin: ws.same_origin,
                            allowed_origins: ws.allowed_origins.clone(),
                            compression: ws.compression,
                            handshake_timeout: ws
                                .handshake_timeout
                                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                        }),
                );
                Some((listener, state))
            }
            None => None,
        };
        let websocket = match &options.websocket {
            Some(ws) => {
                let origins = crate::websocket::upgrade::OriginPolicy::new(
                    ws.same_origin,
                    &ws.allowed_origins,
                )
                .map_err(StartError::Websocket)?;
                let addr = format!("{}:{}", ws.listen.host, ws.listen.port);
                let bound = listener::bind(&addr)
                    .and_then(smol::net::TcpListener::try_from)
                    .and_then(|l| Ok((l.local_addr()?, l)));
                let (local, listener) = bound.map_err(|source| StartError::ListenOther {
                    what: "websocket",
                    addr,
                    source,
                })?;
                let _ = self.shared.websocket_addr.set(local);
                if let Some(varz) = monitor.as_mut().and_then(|(_, s)| s.websocket.as_mut()) {
                    varz.port = local.port();
                }
                options.config.websocket = Some((ws.listen.host.clone(), local.port()));
                let settings = crate::websocket::Settings {
                    origins,
                    handshake_timeout: ws
                        .handshake_timeout
                        .unwrap_or(crate::websocket::DEFAULT_HANDSHAKE_TIMEOUT),
                    compression: ws.compression,
                    message_limit: crate::websocket::message_limit(options.config.max_payload),
                    tls: match &ws.tls {
                        Some(tls) => {
                            let mut tls = tls.clone();
                            // `wss://` always starts with the handshake.
                            tls.handshake_first = true;
                            Some(crate::tls::TlsAcceptor::new(&tls).map_err(StartError::Tls)?)
                        }
                        None => None,
                    },
                };
                Some((listener, settings))
            }
            None => None,
        };
        let leafnodes = match &options.leafnodes {
            Some(listen) => {
                let addr = format!("{}:{}", listen.host, listen.port);
                let bound = listener::bind(&addr)
                    .and_then(smol::net::TcpListener::try_from)
                    .and_then(|l| Ok((l.local_addr()?, l)));
                let (local, listener) = bound.map_err(|source| StartError::ListenOther {
                    what: "leafnode",
                    addr,
                    source,
                })?;
                let _ = self.shared.leaf_addr.set(local);
                options.config.leaf_listen = Some((listen.host.clone(), local.port()));
                Some(listener)
            }
            None => None,
        };
        options.config.host.clone_from(&options.host);
        options.config.server_name.clone_from(&options.server_name);
        if let Some(path) = &options.pid_file {
            files::write_pid_file(path).map_err(|source| StartError::File {
                path: path.clone(),
                source,
            })?;
        }

        let seed = options
            .seed
            .unwrap_or_else(|| getrandom::u64().unwrap_or(0x5eed));
        let signals = if options.handle_signals {
            let signals = crate::signals::Signals::install().map_err(StartError::Signals)?;
            let shared = self.shared.clone();
            let reload = options.reload.clone();
            let task: driver::SignalTask = Box::pin(crate::signals::run(signals, shared, reload));
            Some(task)
        } else {
            None
        };
        let ports_file = match (&options.ports_file_dir, self.shared.local_addr.get()) {
            (Some(dir), Some(addr)) => {
                let program = files::program_name(options.program_name.as_deref());
                let path = files::ports_file_path(dir, &program);
                let http = self.shared.http_addr.get().copied();
                let ws = self.shared.websocket_addr.get().copied();
                // nats-server 2.15 lists no leafnode URL in the ports file; neither do we.
                std::fs::write(&path, files::ports_json(*addr, http, ws)).map_err(|source| {
                    StartError::File {
                        path: path.clone(),
                        source,
                    }
                })?;
                Some(path)
            }
            _ => None,
        };
        let on_stopped: Box<dyn FnOnce() + Send> = Box::new(move || {
            if let Some(path) = ports_file {
                let _ = std::fs::remove_file(path);
            }
        });

        let shared = self.shared.clone();
        // The broker stays on this thread for its whole life (it need not be `Send`).
        let server_thread = move || {
            let broker = Broker::new(options.config.clone(), seed, clock.now());
            log_banner(&broker, &options);
            if let (Some(http), Some(addr)) = (&options.http, shared.http_addr.get()) {
                tracing::info!("Starting http monitor on {}:{}", http.host, addr.port());
            }
            if let (Some(ws), Some(addr)) = (&options.websocket, shared.websocket_addr.get()) {
                let scheme = if ws.tls.is_some() { "wss" } else { "ws" };
                tracing::info!(
                    "Listening for websocket clients on {scheme}://{}:{}",
                    ws.listen.host,
                    addr.port()
                );
                if ws.tls.is_none() {
                    tracing::warn!("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
                }
            }
            if let (Some(leaf), Some(addr)) = (&options.leafnodes, shared.leaf_addr.get()) {
                tracing::info!(
                    "Listening for leafnode connections on {}:{}",
                    leaf.host,
                    addr.port()
                );
            }
            if let Some(addr) = shared.local_addr.get() {
                tracing::info!(
                    "Listening for client connections on {}:{}",
                    options.host,
                    addr.port()
                );
                shared.listening.store(true, Ordering::SeqCst);
                if tls.is_some() {
                    tracing::info!("TLS required for client connections");
                }
            }
            tracing::info!("Server is ready");
            shared.mark_ready();
            let setup = driver::Setup {
                broker,
                clock,
                shared: shared.clone(),
                control: control_rx,
                listener,
                tls,
                leaf_tls,
                signals,
                monitor,
                websocket,
                leafnodes,
                on_stopped,
            };
            // A panic is a bug, but it must not leave `wait_for_shutdown` waiting forever.
            let run = std::panic::AssertUnwindSafe(|| driver::run(setup));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!("The server thread panicked; the server has stopped");
                shared.mark_stopped();
            }
        };
        let handle = std::thread::Builder::new()
            .name("skiff".to_owned())
            .spawn(server_thread)
            .expect("spawning the server thread");
        *lock(&self.thread_id) = Some(handle.thread().id());
        *lock(&self.thread) = Some(handle);
        Ok(())
    }

    /// Waits up to `timeout` for the server to accept connections. False if it did not become
    /// ready in time, was never started, or has already stopped.
    pub fn ready_for_connections(&self, timeout: Duration) -> bool {
        if lock(&self.start).is_some() {
            return false;
        }
        smol::block_on(self.shared.ready().or(async {
            smol::Timer::after(timeout).await;
            false
        }))
    }

    /// The client listener's address (with the real port when 0 was asked), once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.local_addr.get().copied()
    }

    /// The monitoring listener's address, once started with [`ServerOptions::http`].
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.shared.http_addr.get().copied()
    }

    /// The leafnode listener's address, once started with [`ServerOptions::leafnodes`].
    pub fn leafnode_addr(&self) -> Option<SocketAddr> {
        self.shared.leaf_addr.get().copied()
    }

    /// The WebSocket listener's address, once started with [`ServerOptions::websocket`].
    pub fn websocket_addr(&self) -> Option<SocketAddr> {
        self.shared.websocket_addr.get().copied()
    }

    /// The URL clients dial: `nats://host:port`.
    pub fn client_url(&self) -> Option<String> {
        self.local_addr().map(|a| format!("nats://{a}"))
    }

    /// Asks for a graceful shutdown: stop accepting, flush what was accepted, close every
    /// connection. Returns at once; use [`Server::wait_for_shutdown`] to wait. Idempotent and
    /// safe from any thread or task, concurrently, any number of times.
    pub fn shutdown(&self) {
        self.shared.request(Request::Shutdown);
    }

    /// Like [`Server::shutdown`], but closes connections without waiting for pending writes.
    pub fn shutdown_now(&self) {
        self.shared.request(Request::ShutdownNow);
    }

    /// Asks for lame duck mode: stop accepting, then close clients gradually over the
    /// configured lame duck duration, then shut down.
    pub fn lame_duck(&self) {
        self.shared.request(Request::LameDuck);
    }

    /// Applies a new broker configuration (limits, timers, authentication) and waits for the
    /// broker's answer.
    ///
    /// # Errors
    /// The broker rejected the configuration; [`None`] inside means the server is not running.
    pub fn reload(&self, config: Config) -> Result<(), Option<ConfigError>> {
        let (tx, rx) = async_channel::bounded(1);
        self.shared.request(Request::Reload(Box::new(config), tx));
        match smol::block_on(rx.recv()) {
            Ok(result) => result.map_err(Some),
            Err(_) => Err(None),
        }
    }

    /// Blocks until the server has stopped (returns at once if it was never started).
    pub fn wait_for_shutdown(&self) {
        if lock(&self.start).is_some() {
            return;
        }
        smol::block_on(self.shared.stopped());
    }

    /// Waits (asynchronously) until the server has stopped.
    pub async fn stopped(&self) {
        if lock(&self.start).is_some() {
            return;
        }
        self.shared.stopped().await;
    }

    /// Whether the server has stopped.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Whether the client listener is accepting connections.
    pub fn is_listening(&self) -> bool {
        self.shared.listening.load(Ordering::SeqCst)
    }

    /// How many times the broker began a shutdown: 0 before, 1 after (never more, however many
    /// requests arrive). For tests and monitoring.
    pub fn shutdown_count(&self) -> u32 {
        self.shared.shutdowns.load(Ordering::SeqCst)
    }

    /// A new client connection with no socket: a duplex byte stream speaking the NATS
    /// protocol. Works whether or not the server listens on TCP.
    ///
    /// # Errors
    /// The server is not started or has stopped. A connection made while the server shuts
    /// down is closed at once (reads end-of-stream).
    pub fn in_process_connection(&self) -> Result<InProcessConnection, ConnectError> {
        if lock(&self.start).is_some() {
            return Err(ConnectError::NotStarted);
        }
        if self.shared.is_stopped() {
            return Err(ConnectError::Stopped);
        }
        let (client, server) = in_process::pair();
        self.shared
            .control
            .try_send(Control::Attach(server, PeerInfo::in_process()))
            .map_err(|_| ConnectError::Stopped)?;
        Ok(client)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
        if *lock(&self.thread_id) == Some(std::thread::current().id()) {
            // Joining our own thread would deadlock; the thread exits once stopped.
            return;
        }
        let handle = lock(&self.thread).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// Locks a mutex, ignoring poisoning (nothing here holds a lock across a panic point).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// nats-server's start-up lines.
fn log_banner(broker: &Broker, options: &ServerOptions) {
    let id = broker.server_id().to_owned();
    let name = if options.server_name.is_empty() {
        id.clone()
    } else {
        options.server_name.clone()
    };
    tracing::info!("Starting skiff {}", skiff_core::VERSION);
    // nats-server's line, with the version clients see in INFO.
    tracing::info!(
        "  Version:  {} (skiff {})",
        options.config.version,
        skiff_core::VERSION
    );
    tracing::info!("  Name:     {name}");
    tracing::info!("  ID:       {id}");
}
