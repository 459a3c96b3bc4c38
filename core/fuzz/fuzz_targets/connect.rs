//! Bytes as the JSON of a CONNECT (or a client-sent INFO) into a broker, with and without
//! authentication, followed by ops that depend on what CONNECT negotiated. The broker must
//! never panic, must close a connection at most once, and must send nothing after the close.
//!
//! Run with `cargo +nightly fuzz run connect` from `core/`; plain `cargo build` checks it
//! builds.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use skiff_core::{Auth, Broker, Config, Instant, Output, PeerInfo, User};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, json)) = data.split_first() else {
        return;
    };
    // Bits 0-1: the authentication; bit 2: INFO instead of CONNECT; bit 3: a second CONNECT;
    // the rest: where the input is split into two reads.
    let auth = match mode & 3 {
        0 => Auth::None,
        1 => Auth::Token("tok".into()),
        _ => Auth::Users(vec![User::new("a", "b")]),
    };
    let op: &[u8] = if mode & 4 == 0 { b"CONNECT " } else { b"INFO " };
    let mut input = op.to_vec();
    input.extend(json.iter().copied().filter(|&b| b != b'\n'));
    input.extend_from_slice(b"\r\n");
    if mode & 8 != 0 {
        input.extend_from_slice(b"CONNECT {\"verbose\":true,\"user\":\"a\",\"pass\":\"b\"}\r\n");
    }
    input.extend_from_slice(
        b"SUB foo 1\r\nPUB foo.* 1\r\nx\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
    );
    let split = usize::from(mode >> 4) * input.len() / 16;

    let mut config = Config::default();
    config.auth = auth;
    let mut broker = Broker::new(config, 1, Instant::ZERO);
    let conn = broker
        .accept(PeerInfo::in_process(), Instant::ZERO)
        .expect("a running broker accepts");
    let mut closed = false;
    for chunk in [&input[..split], &input[split..]] {
        broker.handle_input(conn, BytesMut::from(chunk), Instant::ZERO);
        while let Some(output) = broker.poll_output() {
            match output {
                Output::Close { .. } => {
                    assert!(!closed, "closed twice");
                    closed = true;
                }
                Output::Transmit { .. } => assert!(!closed, "bytes after the close"),
                _ => {}
            }
        }
    }
});
