//! What the broker asks its host to do: write bytes, close connections, stop listening.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::Notice;
use crate::proto::ParseError;

/// A connection handle: a slot index plus a generation, so a stale handle never reaches a
/// connection that later reused the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ConnId {
    /// The slot index, dense and reused after a close (useful as a host-side table index).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.index, self.generation)
    }
}

/// How a connection reached the broker (shown in monitoring; WebSocket changes INFO's port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// A plain TCP socket.
    Tcp,
    /// A WebSocket connection.
    WebSocket,
    /// An in-process byte stream (embedding API) or a browser MessagePort.
    InProcess,
}

impl Transport {
    /// nats-server's name for it in `allowed_connection_types`.
    pub fn connection_type(self) -> &'static str {
        match self {
            Self::WebSocket => "WEBSOCKET",
            Self::InProcess => "IN_PROCESS",
            Self::Tcp => "STANDARD",
        }
    }
}

/// Facts the host knows about a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address, if it has one (`client_ip` in INFO).
    pub addr: Option<SocketAddr>,
    /// The transport it came over.
    pub transport: Transport,
}

impl PeerInfo {
    /// A TCP peer at `addr`.
    pub fn tcp(addr: SocketAddr) -> Self {
        Self {
            addr: Some(addr),
            transport: Transport::Tcp,
        }
    }

    /// An in-process peer with no address.
    pub fn in_process() -> Self {
        Self {
            addr: None,
            transport: Transport::InProcess,
        }
    }
}

/// One thing the host must do. Drain these with [`Broker::poll_output`](crate::Broker::poll_output)
/// after every input, and perform them in order.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Write these segments to the connection, in order (a vectored write). Report progress
    /// with [`Broker::handle_written`](crate::Broker::handle_written).
    Transmit {
        /// The connection.
        conn: ConnId,
        /// The bytes, in order.
        segments: Vec<Bytes>,
    },
    /// Close the connection. If [`CloseReason::flushes`] is true, finish writing what was
    /// transmitted before, then close; otherwise (a slow consumer, a failed socket) drop what is
    /// still unwritten and close at once. This is the last output for `conn`, and it comes
    /// exactly once per connection.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why it is closed.
        reason: CloseReason,
    },
    /// Producer back-pressure: stop reading from `conn` until [`Output::ResumeReading`] for
    /// it. Its deliveries pushed a consumer past the stall threshold (3/4 of `max_pending`),
    /// and leaving its socket unread lets the kernel slow it down while the consumer catches
    /// up, as nats-server stalls a fast producer.
    ///
    /// The host must:
    /// - not *block* anything: keep writing to `conn` and serving every other connection; only
    ///   stop issuing reads on `conn` (a pending read may complete: hand its bytes to
    ///   [`Broker::handle_input`](crate::Broker::handle_input) as usual, they are routed);
    /// - keep calling [`Broker::handle_timeout`](crate::Broker::handle_timeout) at
    ///   [`Broker::poll_timeout`](crate::Broker::poll_timeout): the pause is bounded by a core
    ///   timer (10 ms per input), after which `ResumeReading` comes even if the consumer is
    ///   still stuck.
    ///
    /// Pauses and resumes alternate per connection, starting with a pause. A connection may be
    /// closed while paused: [`Output::Close`] ends it, no resume follows. A host may ask
    /// [`Broker::is_reading_paused`](crate::Broker::is_reading_paused) instead of tracking
    /// these. A host that ignores both outputs stays correct, without back-pressure: a consumer
    /// that falls behind a fast producer is then closed as a slow consumer sooner.
    PauseReading {
        /// The producer to leave unread.
        conn: ConnId,
    },
    /// Read from `conn` again (ends the [`Output::PauseReading`] before it): the consumers it
    /// waited for drained to the stall threshold or closed, or the stall bound passed.
    ResumeReading {
        /// The producer to read again.
        conn: ConnId,
    },
    /// Log this event about a connection (what nats-server logs, at its level). Comes before
    /// the connection's `Close` when it is the reason for it. Boxed: notices are rare, and
    /// every other output stays small.
    Notice(Box<Notice>),
    /// Connect to a hub for leaf remote `remote` (an index into
    /// [`Config::leaf_remotes`](crate::Config::leaf_remotes)), then report the outcome with
    /// [`Broker::leaf_connected`](crate::Broker::leaf_connected) or
    /// [`Broker::leaf_dial_failed`](crate::Broker::leaf_dial_failed). The core decides when
    /// to redial, so a host never retries on its own.
    DialLeaf {
        /// The remote's index.
        remote: usize,
        /// The URL to dial this time (remotes with several URLs rotate through them).
        url: Box<crate::LeafUrl>,
    },
    /// Stop accepting new connections (lame duck or shutdown).
    StopListening,
    /// The broker has stopped: every connection has been told to close. Comes exactly once.
    Stopped,
}

/// Why a connection was closed (nats-server's `ClosedState`, as `/connz` shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed its end.
    ClientClosed,
    /// The client broke the protocol (with or without an `-ERR`, see the inner error).
    Protocol(ParseError),
    /// A semantic protocol violation outside the parser (bad CONNECT JSON, HPUB without headers,
    /// a client-sent `-ERR`, ...): closed without `-ERR`.
    ProtocolViolation,
    /// `protocol` in CONNECT was not 0 or 1.
    BadClientProtocol,
    /// `no_responders` without `headers` in CONNECT.
    NoRespondersRequiresHeaders,
    /// Authentication failed.
    AuthenticationFailure,
    /// No CONNECT within the auth timeout.
    AuthenticationTimeout,
    /// Too many unanswered PINGs.
    StaleConnection,
    /// Outbound bytes exceeded `max_pending`.
    SlowConsumerPendingBytes,
    /// A write did not finish within `write_deadline` (reported by the host).
    SlowConsumerWriteDeadline,
    /// `max_connections` reached.
    MaxConnectionsExceeded,
    /// The host failed to read from the connection.
    ReadError,
    /// The host failed to write to the connection.
    WriteError,
    /// The server is shutting down (or lame duck mode closed it).
    ServerShutdown,
    /// The host asked the broker to close the connection ([`Broker::kick`](crate::Broker::kick)).
    Kicked,
    /// An injected fault closed it ([`Fault`](crate::Fault)).
    FaultInjected,
    /// The TLS handshake failed or timed out (reported by the host).
    TlsHandshakeFailure,
    /// The user's JWT expired while connected.
    AuthenticationExpired,
    /// Its account already had as many connections as its JWT allows.
    MaxAccountConnectionsExceeded,
}

impl CloseReason {
    /// Whether the host finishes writing what was transmitted before closing. False when the
    /// peer cannot or will not take the bytes (slow consumers, read or write failures): they
    /// are dropped so the memory comes back at once, as nats-server's `skipFlushOnClose`.
    pub fn flushes(self) -> bool {
        !matches!(
            self,
            Self::SlowConsumerPendingBytes
                | Self::SlowConsumerWriteDeadline
                | Self::ReadError
                | Self::WriteError
                | Self::TlsHandshakeFailure
        )
    }

    /// The text nats-server shows for this reason in `/connz?state=closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientClosed => "Client Closed",
            Self::Protocol(ParseError::MaxControlLine) => "Maximum Control Line Exceeded",
            Self::Protocol(ParseError::MaxPayload) => "Maximum Message Payload Exceeded",
            Self::Protocol(_) | Self::ProtocolViolation => "Protocol Violation",
            Self::BadClientProtocol => "Bad Client Protocol Version",
            Self::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            Self::AuthenticationFailure => "Authentication Failure",
            Self::AuthenticationTimeout => "Authentication Timeout",
            Self::StaleConnection => "Stale Connection",
            Self::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            Self::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            Self::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            Self::ReadError => "Read Error",
            Self::WriteError => "Write Error",
            Self::ServerShutdown => "Server Shutdown",
            Self::Kicked => "Kicked",
            Self::FaultInjected => "Fault Injected",
            Self::TlsHandshakeFailure => "TLS Handshake Failure",
            Self::AuthenticationExpired => "Authentication Expired",
            Self::MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
        }
    }
}

impl CloseReason {
    /// The WebSocket close status (RFC 6455 §7.4) nats-server sends for this reason, so every
    /// WebSocket transport (native, or the browser shim) tells the client the same thing.
    pub fn websocket_status(self) -> u16 {
        match self {
            Self::ClientClosed => 1000,
            Self::ServerShutdown | Self::WriteError | Self::ReadError | Self::StaleConnection => {
                1001
            }
            Self::Protocol(ParseError::MaxPayload) => 1009,
            Self::Protocol(ParseError::MaxControlLine)
            | Self::AuthenticationFailure
            | Self::AuthenticationTimeout
            | Self::SlowConsumerPendingBytes
            | Self::SlowConsumerWriteDeadline
            | Self::MaxConnectionsExceeded => 1008,
            Self::Protocol(_)
            | Self::ProtocolViolation
            | Self::BadClientProtocol
            | Self::NoRespondersRequiresHeaders => 1002,
            Self::Kicked => 1011,
            Self::FaultInjected => 1011,
            Self::TlsHandshakeFailure => 1015,
            Self::AuthenticationExpired | Self::MaxAccountConnectionsExceeded => 1008,
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_status_follows_nats_server() {
        assert_eq!(CloseReason::ClientClosed.websocket_status(), 1000);
        assert_eq!(CloseReason::ServerShutdown.websocket_status(), 1001);
        assert_eq!(
            CloseReason::SlowConsumerPendingBytes.websocket_status(),
            1008
        );
        assert_eq!(
            CloseReason::Protocol(ParseError::MaxPayload).websocket_status(),
            1009
        );
        assert_eq!(CloseReason::ProtocolViolation.websocket_status(), 1002);
    }
}
