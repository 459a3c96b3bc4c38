//! Skiff native host (being written).

/// The command line (nats-server compatible flags).
pub mod cli;
/// The configuration-file syntax (nats-server's).
pub mod conf;
/// Daemon options built from defaults, a config file and flags.
pub mod options;
