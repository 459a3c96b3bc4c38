//! Bytes as JWTs: three lines taken as an operator JWT, an account JWT and the `jwt` of a
//! CONNECT. Validating the first two must never panic, and a broker trusting a fixed,
//! valid operator and account must refuse (or accept) the third without panicking, closing
//! at most once.
//!
//! Run with `cargo +nightly fuzz run jwt` from `core/`; plain `cargo build` checks it builds.

#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use skiff_core::{Auth, Broker, Config, Instant, Operator, Output, PeerInfo};

/// A valid operator and account, signed with fixed keys.
fn trusted() -> &'static Operator {
    static TRUST: OnceLock<Operator> = OnceLock::new();
    TRUST.get_or_init(|| {
        let op = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Operator, [1; 32]).unwrap();
        let acc = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Account, [2; 32]).unwrap();
        let sign = |claims: serde_json::Value, by: &nkeys::KeyPair| {
            let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
            let body = b64(claims.to_string().as_bytes());
            let signed = format!("{header}.{body}");
            format!("{signed}.{}", b64(&by.sign(signed.as_bytes()).unwrap()))
        };
        let operator = sign(
            serde_json::json!({"iss": op.public_key(), "sub": op.public_key(), "nats": {"type": "operator"}}),
            &op,
        );
        let account = sign(
            serde_json::json!({"iss": op.public_key(), "sub": acc.public_key(), "nats": {"type": "account"}}),
            &op,
        );
        Operator {
            operators: vec![operator],
            accounts: vec![account],
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let (operator, account, user) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
    let mut config = Config::default();
    config.auth = Auth::Operator(Box::new(Operator {
        operators: vec![operator.to_owned()],
        accounts: vec![account.to_owned()],
    }));
    let _ = config.validate();

    let mut config = Config::default();
    config.auth = Auth::Operator(Box::new(trusted().clone()));
    let mut broker = Broker::new(config, 1, Instant::ZERO);
    let conn = broker
        .accept(PeerInfo::in_process(), Instant::ZERO)
        .expect("a running broker accepts");
    let connect = serde_json::json!({"verbose": false, "jwt": user, "sig": user});
    let input = format!("CONNECT {connect}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n");
    broker.handle_input(conn, BytesMut::from(input.as_bytes()), Instant::ZERO);
    let mut closed = false;
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
});
