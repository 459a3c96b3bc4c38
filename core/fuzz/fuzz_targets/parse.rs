//! Raw bytes into the client-op parser, fed in two reads at a split point taken from the first
//! byte. It must never panic, and must give the same ops and error as feeding the bytes whole.
//!
//! Run with `cargo +nightly fuzz run parse` from `core/`; plain `cargo build` checks it builds.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use skiff_core::proto::{ClientOp, ParseError, Parser, ParserLimits};

/// Feeds `chunks` in order, parsing until `Ok(None)` after each, as the broker does.
fn feed(
    limits: ParserLimits,
    pedantic: bool,
    chunks: &[&[u8]],
) -> (Vec<ClientOp>, Option<ParseError>) {
    let mut parser = Parser::new(limits);
    parser.set_pedantic(pedantic);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(err) => {
                    // Every error but the fixed-text one keeps nats-server's log line.
                    let logged = parser.rejection().is_some();
                    assert!(
                        logged || err == ParseError::MaxControlLine,
                        "{err:?} has no text"
                    );
                    return (ops, Some(err));
                }
            }
        }
    }
    (ops, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    // Bit 0: default limits or tiny ones (to reach the limit checks); bit 1: pedantic; the
    // rest: the split.
    let limits = if first & 1 == 0 {
        ParserLimits::default()
    } else {
        ParserLimits {
            max_control_line: 16,
            max_payload: 16,
        }
    };
    let pedantic = first & 2 != 0;
    let split = usize::from(first >> 2) % (input.len() + 1);
    let (a, b) = input.split_at(split);
    let whole = feed(limits, pedantic, &[input]);
    let halves = feed(limits, pedantic, &[a, b]);
    assert_eq!(whole, halves, "split at {split} changed the result");
});
