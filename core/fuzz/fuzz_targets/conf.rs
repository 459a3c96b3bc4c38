//! Text into the configuration parser and the options layer behind it (what `skiff -c`, `-t`
//! and a reload run). Neither may panic or overflow the stack, whatever the nesting; every
//! failure must be an error value.
//!
//! Run with `cargo +nightly fuzz run conf` from `core/`; plain `cargo build` checks it builds.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skiff::conf;
use skiff::options::Options;

/// A fixed environment: values that nest, refer to each other, and refer to themselves.
fn env(name: &str) -> Option<String> {
    let value = match name {
        "A" => "[1, 2, {x: 3}]",
        "B" => "$A",
        "C" => "$C",
        "D" => "{ a { b: [ $A, $B ] } }",
        "E" => "\"quoted\"",
        _ => return None,
    };
    Some(value.to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Includes read files, which would make runs depend on the machine (and an include of a
    // device such as /dev/zero would never end); the parser's include handling has unit tests.
    if text.contains("include") {
        return;
    }
    let parsed = conf::parse_str(
        text,
        Path::new("fuzz.conf"),
        Path::new("/nonexistent"),
        &env,
    );
    if let Ok(map) = parsed {
        let mut options = Options::default();
        if options.apply_conf(&map).is_ok() {
            let _ = options.validate();
        }
    }
});
