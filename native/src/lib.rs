//! Skiff's native host: the `skiff` daemon and an embeddable NATS server on smol.
//!
//! A [`Server`] runs the sans-IO [`skiff_core::Broker`] on a thread of its own, so both
//! async and plain synchronous programs can embed it. Clients connect over TCP or, with no
//! socket at all, through [`Server::in_process_connection`].
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//!
//! use skiff::{Server, ServerOptions};
//!
//! // 127.0.0.1 on a free port, no signal handling, no files.
//! let server = Server::run(ServerOptions::default()).expect("starting");
//! assert!(server.ready_for_connections(Duration::from_secs(5)));
//!
//! let mut client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
//! client.write_all(b"CONNECT {\"verbose\":false}\r\nSUB greet 1\r\nPUB greet 5\r\nhello\r\nPING\r\n").unwrap();
//! let mut seen = String::new();
//! let mut buf = [0u8; 4096];
//! while !seen.ends_with("PONG\r\n") {
//!     let n = client.read(&mut buf).unwrap();
//!     seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
//! }
//! assert!(seen.starts_with("INFO {"));
//! assert!(seen.contains("MSG greet 1 5\r\nhello\r\n"));
//!
//! // Idempotent, callable from anywhere; dropping the server would do the same.
//! server.shutdown();
//! server.shutdown();
//! server.wait_for_shutdown();
//! assert_eq!(server.shutdown_count(), 1);
//! ```

pub mod cli;
pub mod conf;
pub mod daemon;
mod http;
pub mod log;
mod monitor;
pub mod options;
pub mod server;
mod signals;
pub mod tls;
mod websocket;

pub use server::{
    ConnectError, InProcessConnection, ListenAddr, ReloadFn, Server, ServerOptions, StartError,
};
/// The faults [`Server::inject`] accepts (defined by the core, the same in every host).
pub use skiff_core::{Fault, FaultError, FaultId, FaultInfo, Lasting, Refusal, Target};
