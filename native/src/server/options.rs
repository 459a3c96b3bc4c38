//! What a [`Server`](crate::Server) is built from.

use std::path::PathBuf;
use std::sync::Arc;

use skiff_core::Config;

/// Produces a fresh configuration for a reload (SIGHUP), typically by re-reading a config file.
pub type ReloadFn = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// How to run a [`Server`](crate::Server): listen address, identity, files, signals, and the
/// broker [`Config`].
///
/// The defaults suit embedding and tests: `127.0.0.1`, a random port, no files, no signal
/// handling. The daemon sets these from its command line and config file.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Host to listen on for clients.
    pub host: String,
    /// Port to listen on for clients; 0 picks a free port (nats-server's `-1`).
    pub port: u16,
    /// Whether to open the client TCP listener at all (`false` = in-process connections only,
    /// nats-server's `DontListen`).
    pub listen: bool,
    /// The server name; empty means the generated server id.
    pub server_name: String,
    /// The broker configuration (limits, timers, authentication). Its `host`, `port` and
    /// `server_name` are overwritten from the fields above.
    pub config: Config,
    /// Write the process id to this file at start.
    pub pid_file: Option<PathBuf>,
    /// Write `<program>_<pid>.ports` here at start and remove it at exit.
    pub ports_file_dir: Option<PathBuf>,
    /// The program name used in the ports file name (defaults to the file name of `argv[0]`).
    pub program_name: Option<String>,
    /// Translate SIGINT/SIGTERM/SIGUSR2/SIGHUP into shutdown, lame duck and reload requests.
    pub handle_signals: bool,
    /// What SIGHUP reloads; without it SIGHUP logs an error and changes nothing.
    pub reload: Option<ReloadFn>,
    /// Seed for the broker's randomness; `None` draws one from the operating system.
    pub seed: Option<u64>,
    /// Allow the fault control surface (`config.fault_control`) on a listener that is not a
    /// loopback address. Without it [`Server::start`](crate::Server::start) refuses, since any
    /// client that reaches the port could then inject faults.
    pub control_allow_public: bool,
    /// Serve HTTP monitoring (`/varz`, `/connz`, ...) here (nats-server's `-m`).
    pub http: Option<ListenAddr>,
    /// Accept WebSocket clients (nats-server's `websocket {}` block, without TLS).
    pub websocket: Option<WebsocketListen>,
    /// Accept leaf node connections here (nats-server's `leafnodes { listen }`): other
    /// servers attach to this one as leafs.
    pub leafnodes: Option<ListenAddr>,
    /// TLS on the client listener (nats-server's `tls {}` block): clients see
    /// `tls_required` and must start TLS after INFO (or before it, `handshake_first`).
    pub tls: Option<crate::tls::TlsOptions>,
}

/// The WebSocket listener: where, and which upgrades it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebsocketListen {
    /// Where to listen.
    pub listen: ListenAddr,
    /// Accept only upgrades whose `Origin` names the host the request was sent to.
    pub same_origin: bool,
    /// Accept only these origins (absolute http/https URLs); empty = any.
    pub allowed_origins: Vec<String>,
    /// Time allowed for the HTTP upgrade (default 2 s, as nats-server's).
    pub handshake_timeout: Option<std::time::Duration>,
    /// Offer permessage-deflate to clients that ask for it (`compression`).
    pub compression: bool,
    /// Serve `wss://`: TLS before the upgrade (the block's `tls {}`).
    pub tls: Option<crate::tls::TlsOptions>,
}

impl WebsocketListen {
    /// A listener on `listen` accepting any origin.
    pub fn new(listen: ListenAddr) -> Self {
        Self {
            listen,
            same_origin: false,
            allowed_origins: Vec::new(),
            handshake_timeout: None,
            compression: false,
            tls: None,
        }
    }
}

/// A host and port to listen on; port 0 picks a free port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    /// Host or IP address to bind.
    pub host: String,
    /// Port; 0 = a free port.
    pub port: u16,
}

impl ListenAddr {
    /// `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            listen: true,
            server_name: String::new(),
            config: Config::default(),
            pid_file: None,
            ports_file_dir: None,
            program_name: None,
            handle_signals: false,
            reload: None,
            seed: None,
            http: None,
            leafnodes: None,
            tls: None,
            websocket: None,
            control_allow_public: false,
        }
    }
}

impl ServerOptions {
    /// Defaults listening on `host:port`.
    pub fn listen_on(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("listen", &self.listen)
            .field("server_name", &self.server_name)
            .field("config", &self.config)
            .field("pid_file", &self.pid_file)
            .field("ports_file_dir", &self.ports_file_dir)
            .field("program_name", &self.program_name)
            .field("handle_signals", &self.handle_signals)
            .field("reload", &self.reload.as_ref().map(|_| "Fn"))
            .field("seed", &self.seed)
            .field("http", &self.http)
            .field("websocket", &self.websocket)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_suit_embedding() {
        let o = ServerOptions::default();
        assert_eq!(
            (o.host.as_str(), o.port, o.listen, o.handle_signals),
            ("127.0.0.1", 0, true, false)
        );
        let o = ServerOptions::listen_on("0.0.0.0", 4222);
        assert_eq!((o.host.as_str(), o.port), ("0.0.0.0", 4222));
        assert!(format!("{o:?}").contains("4222"));
    }
}
