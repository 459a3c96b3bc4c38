//! The client accept loop: attaches each accepted socket to the hub.

use std::time::Duration;

use skiff_core::PeerInfo;
use smol::net::TcpListener;

use super::conn::ConnIo;
use super::driver::HubRef;
use crate::tls::TlsAcceptor;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Pending connections the kernel queues for the accept loop. The standard library's default
/// (128) made bursts of connects wait for SYN retransmits (a second each): 10,000 connections
/// took ten times as long as nats-server's. The kernel caps this at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// Binds the client listener on `addr` (`host:port`) with address reuse and a deep backlog,
/// as Go's listener does.
pub(crate) fn bind(addr: &str) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    use std::net::ToSocketAddrs;

    let mut last = None;
    for candidate in addr.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(candidate), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        match socket
            .bind(&candidate.into())
            .and_then(|()| socket.listen(BACKLOG))
        {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("no address for {addr}"))))
}

/// What a listener accepts.
#[derive(Debug, Clone)]
pub(crate) enum Accepts {
    /// Clients (the client listener), over TLS when it has an acceptor.
    Clients(Option<TlsAcceptor>),
    /// Servers attaching as leaf nodes (`leafnodes { listen }`).
    Leafs,
}

/// Accepts connections until the task is dropped (the hub drops the client listener's on
/// `StopListening`, the leafnode listener's once the server has stopped).
pub(crate) async fn accept_loop(listener: TcpListener, hub: HubRef, accepts: Accepts) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let Some(hub) = hub.upgrade() else { return };
                let peer = PeerInfo::tcp(addr);
                let io = match &accepts {
                    Accepts::Clients(Some(tls)) => {
                        let (io, names) = tls.accept(stream, addr);
                        io.with_tls_names(names)
                    }
                    _ => ConnIo::tcp(stream),
                };
                match accepts {
                    Accepts::Clients(_) => hub.borrow_mut().attach(io, peer),
                    Accepts::Leafs => hub.borrow_mut().attach_accepted_leaf(io, peer),
                }
            }
            Err(e) => {
                let what = match accepts {
                    Accepts::Clients(_) => "client",
                    Accepts::Leafs => "leafnode",
                };
                tracing::error!("Error accepting {what} connection: {e}");
                smol::Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}
