//! Skiff's differential conformance suite.
//!
//! Scenarios (`conformance/*.nats`, format in `conformance/README.md`) say which raw bytes a
//! client sends and which bytes it must get back. The [`runner`] plays them against a
//! [`target::Target`]: the sans-IO core in memory ([`target::core`]), a server at an address
//! ([`target::tcp`]), or a binary started per scenario with a generated config
//! ([`target::binary`]) — nats-server or Skiff's daemon. The same expectations must hold on all.

pub mod client;
pub mod conf;
pub mod escape;
pub mod pattern;
pub mod runner;
pub mod scenario;
pub mod target;
pub mod version;

use std::path::PathBuf;

/// The nats-server release whose behaviour Skiff targets are judged as by default in
/// `@>=x` / `@<x` conditions.
pub const CURRENT_NATS: version::Version = version::Version(2, 15, 1);

/// The folder holding the scenario files.
pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance")
}
