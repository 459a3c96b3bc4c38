//! Raw bytes into the leafnode parser, fed in two reads at a split point taken from the first
//! byte. It must never panic, and must give the same operations and error as feeding the
//! bytes whole (what a hub sends a leaf is as untrusted as what a client sends).
//!
//! Run with `cargo +nightly fuzz run leaf` from `core/`; plain `cargo build` checks it builds.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use skiff_core::leaf::parser::{LeafOp, LeafParseError, LeafParser};

/// Feeds `chunks` in order, parsing until `Ok(None)` after each, as the broker does.
fn feed(chunks: &[&[u8]]) -> (Vec<LeafOp>, Option<LeafParseError>) {
    let mut parser = LeafParser::new(4096, 64 * 1024);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(err) => return (ops, Some(err)),
            }
        }
    }
    (ops, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(first) % (rest.len() + 1);
    let whole = feed(&[rest]);
    let halves = feed(&[&rest[..split], &rest[split..]]);
    assert_eq!(whole, halves, "split at {split}");
});
