//! State shared between the [`Server`](crate::Server) handle, its threads and the driver.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::driver::{Control, Request};

/// Lifecycle signals and the control channel, shared by every clone of the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Messages to the driver.
    pub(crate) control: async_channel::Sender<Control>,
    /// Closed when the server is ready for connections.
    ready: (async_channel::Sender<()>, async_channel::Receiver<()>),
    /// Closed when the server has stopped.
    done: (async_channel::Sender<()>, async_channel::Receiver<()>),
    /// The client listener's address, once bound.
    pub(crate) local_addr: OnceLock<SocketAddr>,
    /// The monitoring listener's address, once bound.
    pub(crate) http_addr: OnceLock<SocketAddr>,
    /// The leafnode listener's bound address.
    pub(crate) leaf_addr: OnceLock<SocketAddr>,
    /// The WebSocket listener's address, once bound.
    pub(crate) websocket_addr: OnceLock<SocketAddr>,
    /// Whether the client listener accepts connections.
    pub(crate) listening: AtomicBool,
    /// How many times the core started a shutdown (0 or 1).
    pub(crate) shutdowns: AtomicU32,
}

impl Shared {
    /// Fresh state around the driver's control channel.
    pub(crate) fn new(control: async_channel::Sender<Control>) -> Self {
        Self {
            control,
            ready: async_channel::bounded(1),
            done: async_channel::bounded(1),
            local_addr: OnceLock::new(),
            http_addr: OnceLock::new(),
            leaf_addr: OnceLock::new(),
            websocket_addr: OnceLock::new(),
            listening: AtomicBool::new(false),
            shutdowns: AtomicU32::new(0),
        }
    }

    /// Sends a request to the driver; a stopped driver ignores it. Never blocks, never fails.
    pub(crate) fn request(&self, request: Request) {
        let _ = self.control.try_send(Control::Request(request));
    }

    /// Marks the server ready for connections.
    pub(crate) fn mark_ready(&self) {
        self.ready.0.close();
    }

    /// Marks the server stopped (also unblocks anyone waiting for readiness).
    pub(crate) fn mark_stopped(&self) {
        self.listening.store(false, Ordering::SeqCst);
        self.ready.0.close();
        self.done.0.close();
    }

    /// Waits until the server is ready or stopped; true if it became ready and still runs.
    pub(crate) async fn ready(&self) -> bool {
        let _ = self.ready.1.recv().await;
        !self.is_stopped()
    }

    /// Waits until the server has stopped.
    pub(crate) async fn stopped(&self) {
        let _ = self.done.1.recv().await;
    }

    /// Whether the server has stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.done.0.is_closed()
    }
}
