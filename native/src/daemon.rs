//! The `skiff` daemon: logging, a server with signal handling, exit codes like nats-server.
//!
//! [`run`] takes already-parsed options so any command-line front end can drive it; until the
//! full nats-server-compatible CLI is joined in, [`args`] parses the essential flags.

pub mod args;

use std::process::ExitCode;

use crate::log::LogOptions;
use crate::server::{Server, ServerOptions, StartError};

/// Everything the daemon needs: the server and its logging.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DaemonOptions {
    /// The server to run (signal handling is always turned on).
    pub server: ServerOptions,
    /// How to log.
    pub log: LogOptions,
}

/// Runs the daemon until a signal stops it. Exit code 0 after a clean shutdown, 1 when the
/// server cannot start (logged as `[FTL]`, as nats-server does).
pub fn run(options: DaemonOptions) -> ExitCode {
    if let Err(e) = crate::log::init(&options.log) {
        eprintln!("skiff: cannot open log file: {e}");
        return ExitCode::FAILURE;
    }
    let mut server_options = options.server;
    server_options.handle_signals = true;
    let server = match Server::run(server_options) {
        Ok(server) => server,
        Err(StartError::Listen { addr, source }) => {
            tracing::error!(
                fatal = true,
                "Error listening on port: {addr}, \"{source}\""
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            tracing::error!(fatal = true, "{e}");
            return ExitCode::FAILURE;
        }
    };
    server.wait_for_shutdown();
    ExitCode::SUCCESS
}

/// The binary's entry point: parse `args` (argv without the program name) and run.
pub fn main_with_args(args: impl IntoIterator<Item = String>) -> ExitCode {
    match args::parse(args) {
        Ok(args::Parsed::Run(options)) => run(*options),
        Ok(args::Parsed::Version) => {
            println!("skiff: v{}", skiff_core::VERSION);
            ExitCode::SUCCESS
        }
        Ok(args::Parsed::Help) => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("skiff: {e}\n\n{}", args::USAGE);
            ExitCode::from(2)
        }
    }
}
