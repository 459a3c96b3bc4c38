//! The `skiff` daemon: command line, logging, a server with signal handling, and nats-server's
//! exit codes (0 after a clean shutdown or for usage; 1 for a bad configuration or a server
//! that cannot start).

mod signal_cmd;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{self, CliError, Command};
use crate::log::LogOptions;
use crate::options::{Options, Warning};
use crate::server::{ReloadFn, Server, ServerOptions, StartError};

impl From<&Options> for ServerOptions {
    fn from(options: &Options) -> Self {
        let mut server = Self::listen_on(options.config.host.clone(), options.config.port);
        server.server_name.clone_from(&options.config.server_name);
        server.config = options.config.clone();
        server.pid_file.clone_from(&options.pid_file);
        server.ports_file_dir.clone_from(&options.ports_file_dir);
        // A listener without a host of its own binds the client listener's host (`-a`).
        let host = |listen: &crate::options::Listen| {
            crate::server::ListenAddr::new(
                listen
                    .host
                    .clone()
                    .unwrap_or_else(|| options.config.host.clone()),
                listen.port,
            )
        };
        server.http = options.http.as_ref().map(host);
        server.leafnodes = options.leaf_listen.as_ref().map(host);
        server.websocket = options.websocket.as_ref().map(|ws| {
            let mut listen = crate::server::WebsocketListen::new(host(&ws.listen));
            listen.same_origin = ws.same_origin;
            listen.allowed_origins.clone_from(&ws.allowed_origins);
            listen.handshake_timeout = ws.handshake_timeout;
            listen.compression = ws.compression;
            listen.tls.clone_from(&ws.tls);
            listen
        });
        server.control_allow_public = options.control_allow_public;
        server.tls.clone_from(&options.tls);
        server
    }
}

impl From<&Options> for LogOptions {
    fn from(options: &Options) -> Self {
        Self {
            debug: options.debug,
            trace: options.trace || options.trace_verbose,
            logtime: options.logtime,
            logtime_utc: options.logtime_utc,
            file: options.log_file.clone(),
        }
    }
}

/// The binary's entry point: `args` is argv without the program name.
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    match cli::parse_args(args.clone()) {
        Ok(Command::Run { options, warnings }) => run(&options, &warnings, reload_from_args(args)),
        Ok(Command::TestConfig { options, warnings }) => test_config(&options, &warnings),
        Ok(Command::Signal { signal, target }) => signal_cmd::send(signal, &target),
        Ok(Command::Version) => {
            println!("{}", cli::version_text());
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            println!("{}", cli::usage());
            ExitCode::SUCCESS
        }
        Ok(Command::HelpTls) => {
            println!("{}", cli::TLS_HELP);
            ExitCode::SUCCESS
        }
        Err(
            e @ (CliError::UnknownFlag(_)
            | CliError::MissingValue(_)
            | CliError::InvalidValue { .. }
            | CliError::BadSyntax(_)),
        ) => {
            // nats-server prints the flag error and the usage, and exits 0.
            eprintln!("{e}\n{}", cli::usage());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("skiff: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server until a signal stops it.
pub fn run(options: &Options, warnings: &[Warning], reload: Option<ReloadFn>) -> ExitCode {
    if let Err(e) = crate::log::init(&LogOptions::from(options)) {
        eprintln!("skiff: cannot open log file: {e}");
        return ExitCode::FAILURE;
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let mut server_options = ServerOptions::from(options);
    server_options.handle_signals = true;
    server_options.reload = reload;
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

/// `-t`: report on the configuration file; warnings count as failures, as in nats-server.
fn test_config(options: &Options, warnings: &[Warning]) -> ExitCode {
    let file = options
        .config_file
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    if let Some(warning) = warnings.first() {
        eprintln!("skiff: {warning}");
        return ExitCode::FAILURE;
    }
    println!("skiff: configuration file {file} test is successful");
    ExitCode::SUCCESS
}

/// SIGHUP re-reads the configuration file by parsing the same command line again, so flags
/// keep overriding the file; limits, authorization and the log level (`debug`, `trace`) change.
fn reload_from_args(args: Vec<OsString>) -> Option<ReloadFn> {
    Some(Arc::new(move || match cli::parse_args(args.clone()) {
        Ok(Command::Run { options, .. }) if options.config_file.is_some() => {
            // All or nothing: the log level changes only with a configuration the broker
            // will take (its reload checks the same thing before changing anything).
            options.config.validate().map_err(|e| e.to_string())?;
            crate::log::set_level(options.debug, options.trace || options.trace_verbose);
            Ok(options.config)
        }
        Ok(Command::Run { .. }) => Err("no configuration file".to_owned()),
        Ok(_) => Err("unexpected command".to_owned()),
        Err(e) => Err(e.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_convert_thinly() {
        let mut options = Options::default();
        options.config.host = "127.0.0.1".to_owned();
        options.config.port = 0;
        options.config.server_name = "a".to_owned();
        options.debug = true;
        options.trace_verbose = true;
        let server = ServerOptions::from(&options);
        assert_eq!(
            (
                server.host.as_str(),
                server.port,
                server.server_name.as_str()
            ),
            ("127.0.0.1", 0, "a")
        );
        assert!(!server.handle_signals);
        let log = LogOptions::from(&options);
        assert!(log.debug && log.trace && log.logtime);
    }
}
