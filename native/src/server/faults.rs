//! Fault injection from the embedding API: [`Server::inject`], [`Server::clear`] and
//! [`Server::faults`] send the core's fault requests over the control channel and wait for
//! the broker's answer. The faults themselves live in the core ([`skiff_core::Fault`]), so
//! every host offers the same set.

use skiff_core::{Broker, Fault, FaultError, FaultId, FaultInfo, Instant};

use super::Server;
use super::driver::Request;

/// A fault request for the driver, with the channel its answer goes back on.
#[derive(Debug)]
pub(crate) enum FaultRequest {
    /// Inject a fault.
    Inject(
        Box<Fault>,
        async_channel::Sender<Result<FaultId, FaultError>>,
    ),
    /// End an active fault.
    Clear(FaultId, async_channel::Sender<Result<(), FaultError>>),
    /// List the active faults.
    List(async_channel::Sender<Vec<FaultInfo>>),
}

impl FaultRequest {
    /// Performs the request on the broker (on the driver's thread) and answers it. The
    /// driver drains the broker's outputs afterwards.
    pub(crate) fn apply(self, broker: &mut Broker, now: Instant) {
        match self {
            Self::Inject(fault, reply) => {
                let fault = *fault;
                let result = broker.inject(fault.clone(), now);
                match &result {
                    Ok(id) => tracing::info!("Injected {id}: {fault:?}"),
                    Err(e) => tracing::warn!("Refused to inject {fault:?}: {e}"),
                }
                let _ = reply.try_send(result);
            }
            Self::Clear(id, reply) => {
                let result = broker.clear(id, now);
                if result.is_ok() {
                    tracing::info!("Cleared {id}");
                }
                let _ = reply.try_send(result);
            }
            Self::List(reply) => {
                let _ = reply.try_send(broker.faults());
            }
        }
    }
}

impl Server {
    /// Injects `fault` into the running broker and waits for its id (see
    /// [`skiff_core::Fault`] for every kind and how it ends). Faults that act at once (a
    /// close, an async INFO) are done when this returns.
    ///
    /// Blocks the calling thread briefly; from async code use [`Server::inject_async`].
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    ///
    /// use skiff::{Fault, Server, ServerOptions, Target};
    ///
    /// let server = Server::run(ServerOptions::default()).unwrap();
    /// assert!(server.ready_for_connections(Duration::from_secs(5)));
    /// let mut client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
    /// client.write_all(b"CONNECT {\"name\":\"worker\",\"verbose\":false}\r\nPING\r\n").unwrap();
    /// let mut seen = String::new();
    /// let mut buf = [0u8; 4096];
    /// while !seen.ends_with("PONG\r\n") {
    ///     let n = client.read(&mut buf).unwrap();
    ///     seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    /// }
    ///
    /// let close = Fault::Close {
    ///     target: Target::Name("worker".into()),
    ///     err: Some("Stale Connection".into()),
    /// };
    /// server.inject(close).unwrap();
    /// let mut rest = String::new();
    /// client.read_to_string(&mut rest).unwrap(); // until the server closes it
    /// assert_eq!(rest, "-ERR 'Stale Connection'\r\n");
    /// assert!(server.faults().is_empty()); // a close is done at once
    /// ```
    ///
    /// # Errors
    /// The core refused the fault (malformed, no matching connection), or the server is not
    /// running ([`FaultError::ShuttingDown`]).
    pub fn inject(&self, fault: Fault) -> Result<FaultId, FaultError> {
        smol::block_on(self.inject_async(fault))
    }

    /// [`Server::inject`] without blocking the caller's thread.
    ///
    /// # Errors
    /// As [`Server::inject`].
    pub async fn inject_async(&self, fault: Fault) -> Result<FaultId, FaultError> {
        let (tx, rx) = async_channel::bounded(1);
        self.fault_request(FaultRequest::Inject(Box::new(fault), tx));
        rx.recv().await.unwrap_or(Err(FaultError::ShuttingDown))
    }

    /// Ends the active fault `id` (withheld messages are delivered, paused reading resumes).
    ///
    /// # Errors
    /// [`FaultError::UnknownFault`] if it is not active; [`FaultError::ShuttingDown`] if the
    /// server is not running.
    pub fn clear(&self, id: FaultId) -> Result<(), FaultError> {
        smol::block_on(self.clear_async(id))
    }

    /// [`Server::clear`] without blocking the caller's thread.
    ///
    /// # Errors
    /// As [`Server::clear`].
    pub async fn clear_async(&self, id: FaultId) -> Result<(), FaultError> {
        let (tx, rx) = async_channel::bounded(1);
        self.fault_request(FaultRequest::Clear(id, tx));
        rx.recv().await.unwrap_or(Err(FaultError::ShuttingDown))
    }

    /// The active faults, oldest first (empty if the server is not running).
    pub fn faults(&self) -> Vec<FaultInfo> {
        let (tx, rx) = async_channel::bounded(1);
        self.fault_request(FaultRequest::List(tx));
        smol::block_on(rx.recv()).unwrap_or_default()
    }

    /// Sends a fault request to the driver, unless the server was never started (the request
    /// is then dropped, which answers it with an error).
    fn fault_request(&self, request: FaultRequest) {
        if super::lock(&self.start).is_some() {
            return;
        }
        self.shared.request(Request::Fault(request));
    }
}
