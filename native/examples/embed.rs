//! Embeds Skiff in a plain (non-async) program that handles Ctrl-C itself.
//!
//! The server's own signal handling is on too, so two handlers ask for the same shutdown; the
//! broker shuts down exactly once and the program exits 0. Run with
//! `cargo run -p skiff --example embed`, then press Ctrl-C (or send SIGINT/SIGTERM).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use skiff::{Server, ServerOptions};

fn main() -> std::process::ExitCode {
    let mut options = ServerOptions::listen_on("127.0.0.1", 0);
    options.handle_signals = true;
    let server = Arc::new(Server::run(options).expect("starting skiff"));
    assert!(server.ready_for_connections(Duration::from_secs(5)));
    let addr = server.local_addr().expect("listening");

    // The embedder's own SIGINT/SIGTERM handler, on its own thread.
    let handler = {
        let server = server.clone();
        let mut signals =
            async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term])
                .expect("installing signal handlers");
        std::thread::spawn(move || {
            smol::block_on(async {
                while signals.next().await.is_some() {
                    eprintln!("embed: signal received, shutting down");
                    server.shutdown();
                }
            });
        })
    };

    // Use the server: one request over TCP.
    let mut client = std::net::TcpStream::connect(addr).expect("connecting");
    client
        .write_all(b"CONNECT {}\r\nSUB hello 1\r\nPUB hello 5\r\nworld\r\nPING\r\n")
        .expect("writing");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.ends_with("PONG\r\n") {
        let n = client.read(&mut buf).expect("reading");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    println!("READY {addr}");

    server.wait_for_shutdown();
    drop(handler); // the handler thread ends with the process
    println!("STOPPED shutdowns={}", server.shutdown_count());
    std::process::ExitCode::SUCCESS
}
