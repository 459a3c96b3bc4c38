//! The `skiff` command line, compatible with nats-server's flags (§11.3 of the behaviour notes).
//!
//! # Why a hand-written parser
//!
//! nats-server parses its arguments with Go's `flag` package, and scripts and client test
//! suites rely on its forms: single-dash long names (`-port 4222`, `-config x`), multi-letter
//! short names (`-sl`, `-DV`, `-VV`, `-DVV`), `-flag=value` and `-flag value`, booleans as
//! `-D`, `-D=true` or `-T=false` (never `-T false`), `-p -1` (a value may start with `-`),
//! and `--` or the first non-flag argument ends the flags. clap reads `-DV` as a cluster of
//! `-D -V`, `-sl` as `-s -l`, and cannot take single-dash long names; making it accept these
//! would mean rewriting argv into clap's dialect first, which is as much code as the ~100-line
//! table-driven parser below and still leaves clap's error texts instead of Go's. So we parse
//! like Go's `flag` (same error texts: `flag provided but not defined: -x`,
//! `flag needs an argument: -p`, `invalid value "abc" for flag -p: parse error`) and write the
//! help text by hand in nats-server's layout.
//!
//! # Unsupported flags
//!
//! We refuse only what nats-server refuses or what would silently change what a client gets:
//! JetStream (`-js`) and https monitoring (`-ms`: serving plain text where TLS was asked for
//! would be a downgrade). `--tls*` configure TLS on the client listener as nats-server's.
//! Every other nats-server flag for a feature skiff lacks is accepted, named in a warning at
//! start, and listed in `--help`: `-sd/--store_dir` (used only by JetStream; async-nats'
//! test harness passes it on every start), clustering (`--routes`, `--cluster*`,
//! `--connect_retries`, `--no_advertise`, `--client_advertise`), syslog (`-s`, `-r`: logs
//! go to standard error or `--log`), and tuning (`--log_size_limit`, `--max_traced_msg_len`,
//! `--profile`). `--help_tls` lists the TLS flags. `--max_payload <size>` is a skiff extension (nats-server has no such flag);
//! it takes the config syntax's sizes (`8MB`, `1048576`).
//! `--control` (fault injection requests on `$SKIFF.FAULT.>`, refused on a non-loopback
//! address unless `--control_allow_public` is given) is a skiff extension too.
//!
//! Command-line values override the configuration file.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use skiff_core::{Auth, User};

use crate::conf::{Kind, classify_scalar};
use crate::options::{DEFAULT_PORT, Listen, Options, OptionsError, Warning};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Run the server.
    Run {
        /// The options to run with.
        options: Box<Options>,
        /// Things to log at startup (ignored config blocks and flags, deprecated forms).
        warnings: Vec<Warning>,
    },
    /// `-t`: the configuration (in `options.config_file`) is valid; report and exit.
    /// nats-server treats warnings as failures here.
    TestConfig {
        /// The options the file produced.
        options: Box<Options>,
        /// Warnings found while reading it.
        warnings: Vec<Warning>,
    },
    /// `--signal`: send a signal to a running server and exit.
    Signal {
        /// Which signal.
        signal: Signal,
        /// Which process.
        target: SignalTarget,
    },
    /// `-v`, `--version` or `version`: print [`version_text`] and exit.
    Version,
    /// `-h`, `--help` or `help`: print [`usage`] and exit.
    Help,
    /// `--help_tls`: print [`TLS_HELP`] and exit.
    HelpTls,
}

/// The `--signal` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `stop`: SIGKILL.
    Stop,
    /// `quit`: SIGINT (graceful shutdown).
    Quit,
    /// `term`: SIGTERM (graceful shutdown).
    Term,
    /// `reopen`: SIGUSR1 (reopen the log file).
    Reopen,
    /// `reload`: SIGHUP (reload the configuration).
    Reload,
    /// `ldm`: SIGUSR2 (lame duck mode).
    LameDuck,
}

impl Signal {
    /// The Unix signal this command sends, by name (`"SIGHUP"`, ...).
    pub fn unix_name(self) -> &'static str {
        match self {
            Self::Stop => "SIGKILL",
            Self::Quit => "SIGINT",
            Self::Term => "SIGTERM",
            Self::Reopen => "SIGUSR1",
            Self::Reload => "SIGHUP",
            Self::LameDuck => "SIGUSR2",
        }
    }
}

/// Which process `--signal` targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalTarget {
    /// Nothing given: the caller must find the one running server (nats-server uses pgrep).
    Unspecified,
    /// `=<pid>`.
    Pid(u32),
    /// `=<path>` (or `-P <path>`): a file holding the pid.
    PidFile(PathBuf),
}

/// A command line that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CliError {
    /// `flag provided but not defined: -x`.
    UnknownFlag(String),
    /// `flag needs an argument: -x`.
    MissingValue(String),
    /// A value that does not parse.
    InvalidValue {
        /// The flag as written, without dashes.
        flag: String,
        /// The value given.
        value: String,
    },
    /// A nats-server flag for a feature skiff does not have.
    Unsupported {
        /// The flag as written, without dashes.
        flag: String,
        /// The feature.
        feature: &'static str,
    },
    /// A malformed flag (`---x`, `-=x`).
    BadSyntax(String),
    /// An argument that is not UTF-8.
    NotUtf8(OsString),
    /// A positional argument other than `version` or `help`.
    UnrecognizedCommand(String),
    /// `--signal` with an unknown command.
    UnknownSignal(String),
    /// `-t` without `-c`.
    TestNeedsConfig,
    /// Inconsistent flags (e.g. `--user` with `--auth`).
    Conflict(String),
    /// The configuration file, or the options after the flags were applied, are invalid.
    Options(OptionsError),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFlag(flag) => write!(f, "flag provided but not defined: -{flag}"),
            Self::MissingValue(flag) => write!(f, "flag needs an argument: -{flag}"),
            Self::InvalidValue { flag, value } if is_bool_flag(flag) => {
                write!(
                    f,
                    "invalid boolean value \"{value}\" for -{flag}: parse error"
                )
            }
            Self::InvalidValue { flag, value } => {
                write!(f, "invalid value \"{value}\" for flag -{flag}: parse error")
            }
            Self::Unsupported { flag, feature } => {
                write!(f, "flag -{flag} is not supported: skiff has no {feature}")
            }
            Self::BadSyntax(arg) => write!(f, "bad flag syntax: {arg}"),
            Self::NotUtf8(arg) => write!(f, "argument is not valid UTF-8: {arg:?}"),
            Self::UnrecognizedCommand(arg) => write!(f, "unrecognized command: \"{arg}\""),
            Self::UnknownSignal(s) => write!(
                f,
                "unknown signal \"{s}\" (expected stop, quit, term, reopen, reload or ldm)"
            ),
            Self::TestNeedsConfig => {
                f.write_str("must specify [-c, --config] option to check configuration file syntax")
            }
            Self::Conflict(s) => f.write_str(s),
            Self::Options(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CliError {}

impl From<OptionsError> for CliError {
    fn from(e: OptionsError) -> Self {
        Self::Options(e)
    }
}

/// What a known flag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Addr,
    Port,
    Name,
    Pid,
    HttpPort,
    Config,
    Test,
    Signal,
    PortsFileDir,
    Log,
    LogTime,
    LogTimeUtc,
    Debug,
    Trace,
    TraceVerbose,
    DebugTrace,
    DebugTraceVerbose,
    User,
    Pass,
    Auth,
    MaxPayload,
    Control,
    ControlAllowPublic,
    Help,
    Version,
    /// Accepted, ignored, warned about; the text says why ignoring it is harmless.
    Ignored(&'static str),
    /// `--help_tls`: the TLS flags explained.
    HelpTls,
    /// `--tls`: serve clients over TLS.
    Tls,
    /// `--tlscert <file>`.
    TlsCert,
    /// `--tlskey <file>`.
    TlsKey,
    /// `--tlscacert <file>`.
    TlsCaCert,
    /// `--tlsverify`: require and verify client certificates.
    TlsVerify,
    /// Refused: the feature skiff lacks.
    Unsupported(&'static str),
}

const ADVERTISE: &str = "skiff has no cluster to advertise";
const LOG_TUNING: &str = "a log tuning knob skiff does not have";
const JETSTREAM_ONLY: &str = "only used by JetStream, which stays off";
const CLUSTERING: &str = "skiff has no clustering; it runs standalone";
const SYSLOG: &str = "skiff logs to standard error or --log";

/// Every flag name (without dashes), whether it is boolean, and what it does.
const FLAGS: &[(&str, bool, Flag)] = &[
    ("a", false, Flag::Addr),
    ("addr", false, Flag::Addr),
    ("net", false, Flag::Addr),
    ("p", false, Flag::Port),
    ("port", false, Flag::Port),
    ("n", false, Flag::Name),
    ("name", false, Flag::Name),
    ("server_name", false, Flag::Name),
    ("P", false, Flag::Pid),
    ("pid", false, Flag::Pid),
    ("m", false, Flag::HttpPort),
    ("http_port", false, Flag::HttpPort),
    ("c", false, Flag::Config),
    ("config", false, Flag::Config),
    ("t", true, Flag::Test),
    ("sl", false, Flag::Signal),
    ("signal", false, Flag::Signal),
    ("ports_file_dir", false, Flag::PortsFileDir),
    ("l", false, Flag::Log),
    ("log", false, Flag::Log),
    ("T", true, Flag::LogTime),
    ("logtime", true, Flag::LogTime),
    ("logtime_utc", true, Flag::LogTimeUtc),
    ("D", true, Flag::Debug),
    ("debug", true, Flag::Debug),
    ("V", true, Flag::Trace),
    ("trace", true, Flag::Trace),
    ("VV", true, Flag::TraceVerbose),
    ("DV", true, Flag::DebugTrace),
    ("DVV", true, Flag::DebugTraceVerbose),
    ("user", false, Flag::User),
    ("pass", false, Flag::Pass),
    ("auth", false, Flag::Auth),
    ("max_payload", false, Flag::MaxPayload),
    ("control", true, Flag::Control),
    ("control_allow_public", true, Flag::ControlAllowPublic),
    ("h", true, Flag::Help),
    ("help", true, Flag::Help),
    ("v", true, Flag::Version),
    ("version", true, Flag::Version),
    ("client_advertise", false, Flag::Ignored(ADVERTISE)),
    ("no_advertise", true, Flag::Ignored(ADVERTISE)),
    ("log_size_limit", false, Flag::Ignored(LOG_TUNING)),
    ("max_traced_msg_len", false, Flag::Ignored(LOG_TUNING)),
    ("profile", false, Flag::Ignored("skiff has no Go profiler")),
    ("sd", false, Flag::Ignored(JETSTREAM_ONLY)),
    ("store_dir", false, Flag::Ignored(JETSTREAM_ONLY)),
    ("routes", false, Flag::Ignored(CLUSTERING)),
    ("cluster", false, Flag::Ignored(CLUSTERING)),
    ("cluster_listen", false, Flag::Ignored(CLUSTERING)),
    ("cluster_name", false, Flag::Ignored(CLUSTERING)),
    ("cluster_advertise", false, Flag::Ignored(CLUSTERING)),
    ("connect_retries", false, Flag::Ignored(CLUSTERING)),
    ("s", true, Flag::Ignored(SYSLOG)),
    ("syslog", true, Flag::Ignored(SYSLOG)),
    ("r", false, Flag::Ignored(SYSLOG)),
    ("remote_syslog", false, Flag::Ignored(SYSLOG)),
    ("help_tls", true, Flag::HelpTls),
    ("js", true, Flag::Unsupported("JetStream")),
    ("jetstream", true, Flag::Unsupported("JetStream")),
    ("ms", false, Flag::Unsupported("TLS (https monitoring)")),
    (
        "https_port",
        false,
        Flag::Unsupported("TLS (https monitoring)"),
    ),
    ("tls", true, Flag::Tls),
    ("tlscert", false, Flag::TlsCert),
    ("tlskey", false, Flag::TlsKey),
    ("tlsverify", true, Flag::TlsVerify),
    ("tlscacert", false, Flag::TlsCaCert),
];

fn lookup(name: &str) -> Option<(bool, Flag)> {
    FLAGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, b, f)| (b, f))
}

fn is_bool_flag(name: &str) -> bool {
    lookup(name).is_some_and(|(b, _)| b)
}

/// Flag values as given, before they are applied on top of the configuration file.
#[derive(Debug, Default)]
struct Given {
    addr: Option<String>,
    port: Option<u16>,
    name: Option<String>,
    pid: Option<PathBuf>,
    http_port: Option<u16>,
    config: Option<PathBuf>,
    test: bool,
    signal: Option<String>,
    ports_file_dir: Option<PathBuf>,
    log: Option<PathBuf>,
    logtime: Option<bool>,
    logtime_utc: Option<bool>,
    debug: Option<bool>,
    trace: Option<bool>,
    trace_verbose: bool,
    user: Option<String>,
    pass: Option<String>,
    auth: Option<String>,
    max_payload: Option<usize>,
    control: Option<bool>,
    control_allow_public: Option<bool>,
    help: bool,
    help_tls: bool,
    version: bool,
    tls: Option<bool>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    tls_ca_cert: Option<String>,
    tls_verify: Option<bool>,
    /// Ignored flags as written, with the reason.
    ignored: Vec<(String, &'static str)>,
}

/// Parses the arguments (without the program name) into a [`Command`].
///
/// Reads the configuration file given with `-c`, and nothing else; never exits the process.
///
/// # Errors
/// An unknown, malformed or unsupported flag, a bad value, or an invalid configuration.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, CliError> {
    let args = args
        .into_iter()
        .map(|a| a.into_string().map_err(CliError::NotUtf8))
        .collect::<Result<Vec<_>, _>>()?;
    let mut given = Given::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) else {
            break; // first non-flag argument
        };
        let body = body.strip_prefix('-').unwrap_or(body);
        if body.is_empty() || body.starts_with(['-', '=']) {
            return Err(CliError::BadSyntax(arg.clone()));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some((is_bool, flag)) = lookup(name) else {
            return Err(CliError::UnknownFlag(name.to_owned()));
        };
        if let Flag::Unsupported(feature) = flag {
            return Err(CliError::Unsupported {
                flag: name.to_owned(),
                feature,
            });
        }
        i += 1;
        let value = if is_bool {
            match inline {
                None => "true".to_owned(),
                Some(v) => parse_go_bool(v)
                    .ok_or_else(|| invalid(name, v))?
                    .to_string(),
            }
        } else if let Some(v) = inline {
            v.to_owned()
        } else {
            let v = args
                .get(i)
                .ok_or_else(|| CliError::MissingValue(name.to_owned()))?;
            i += 1;
            v.clone()
        };
        given.set(name, flag, value)?;
    }

    if given.version {
        return Ok(Command::Version);
    }
    if given.help {
        return Ok(Command::Help);
    }
    if given.help_tls {
        return Ok(Command::HelpTls);
    }
    if let Some(positional) = args.get(i) {
        return match positional.to_ascii_lowercase().as_str() {
            "version" => Ok(Command::Version),
            "help" => Ok(Command::Help),
            _ => Err(CliError::UnrecognizedCommand(positional.clone())),
        };
    }
    if let Some(spec) = &given.signal {
        return signal_command(spec, given.pid.as_ref());
    }
    if given.test && given.config.is_none() {
        return Err(CliError::TestNeedsConfig);
    }

    let mut options = Options::default();
    let mut warnings = Vec::new();
    if let Some(path) = &given.config {
        warnings = options.apply_conf_file(path).map_err(OptionsError::from)?;
    }
    given.apply(&mut options, &mut warnings)?;
    options.validate()?;
    let options = Box::new(options);
    Ok(if given.test {
        Command::TestConfig { options, warnings }
    } else {
        Command::Run { options, warnings }
    })
}

impl Given {
    fn set(&mut self, name: &str, flag: Flag, value: String) -> Result<(), CliError> {
        let on = || value == "true";
        match flag {
            Flag::Addr => self.addr = Some(value),
            Flag::Port => self.port = Some(port(name, &value, DEFAULT_PORT)?),
            Flag::Name => self.name = Some(value),
            Flag::Pid => self.pid = Some(value.into()),
            Flag::HttpPort => self.http_port = Some(port(name, &value, 0)?),
            Flag::Config => self.config = Some(value.into()),
            Flag::Test => self.test = on(),
            Flag::Signal => self.signal = Some(value),
            Flag::PortsFileDir => self.ports_file_dir = Some(value.into()),
            Flag::Log => self.log = Some(value.into()),
            Flag::LogTime => self.logtime = Some(on()),
            Flag::LogTimeUtc => self.logtime_utc = Some(on()),
            Flag::Debug => self.debug = Some(on()),
            Flag::Trace => self.trace = Some(on()),
            Flag::TraceVerbose | Flag::DebugTrace | Flag::DebugTraceVerbose => {
                // Like nats-server, these combined flags only ever switch things on.
                if on() {
                    self.trace = Some(true);
                    self.trace_verbose |= flag != Flag::DebugTrace;
                    if flag != Flag::TraceVerbose {
                        self.debug = Some(true);
                    }
                }
            }
            Flag::User => self.user = Some(value),
            Flag::Pass => self.pass = Some(value),
            Flag::Auth => self.auth = Some(value),
            Flag::MaxPayload => match classify_scalar(&value) {
                Ok(Kind::Integer(n)) if n >= 0 => self.max_payload = Some(n as usize),
                _ => return Err(invalid(name, &value)),
            },
            Flag::Control => self.control = Some(on()),
            Flag::ControlAllowPublic => self.control_allow_public = Some(on()),
            Flag::Help => self.help = on(),
            Flag::Version => self.version = on(),
            Flag::Ignored(why) => self.ignored.push((name.to_owned(), why)),
            Flag::HelpTls => self.help_tls = on(),
            Flag::Tls => self.tls = Some(on()),
            Flag::TlsCert => self.tls_cert = Some(value),
            Flag::TlsKey => self.tls_key = Some(value),
            Flag::TlsCaCert => self.tls_ca_cert = Some(value),
            Flag::TlsVerify => self.tls_verify = Some(on()),
            Flag::Unsupported(_) => unreachable!("refused before values are read"),
        }
        Ok(())
    }

    /// nats-server's `overrideTLS`: any `--tls*` flag (unless `--tls=false`) replaces the
    /// config file's TLS with the flags' certificate, key, CA and verification.
    fn apply_tls(&self, options: &mut Options) -> Result<(), CliError> {
        let any = self.tls.is_some()
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_ca_cert.is_some()
            || self.tls_verify.is_some();
        if !any || self.tls == Some(false) {
            return Ok(());
        }
        let Some(cert) = &self.tls_cert else {
            return Err(CliError::Conflict(
                "TLS Server certificate must be present and valid".into(),
            ));
        };
        let Some(key) = &self.tls_key else {
            return Err(CliError::Conflict(
                "TLS Server private key must be present and valid".into(),
            ));
        };
        let mut tls = crate::tls::TlsOptions::new(cert, key);
        tls.ca_file = self.tls_ca_cert.as_ref().map(Into::into);
        tls.verify = self.tls_verify.unwrap_or(false);
        options.tls = Some(tls);
        Ok(())
    }

    /// Applies the flags on top of `options` (which already hold the configuration file).
    fn apply(&self, options: &mut Options, warnings: &mut Vec<Warning>) -> Result<(), CliError> {
        let c = &mut options.config;
        if let Some(addr) = &self.addr {
            c.host.clone_from(addr);
        }
        if let Some(port) = self.port {
            c.port = port;
        }
        if let Some(name) = &self.name {
            c.server_name.clone_from(name);
        }
        if let Some(n) = self.max_payload {
            c.max_payload = n;
        }
        if let Some(b) = self.control {
            c.fault_control = b;
        }
        match (&self.user, &self.pass, &self.auth) {
            (Some(_), _, Some(_)) => {
                return Err(CliError::Conflict(
                    "--user/--pass and --auth cannot be used together".into(),
                ));
            }
            (None, Some(_), _) => return Err(CliError::Conflict("--pass requires --user".into())),
            (Some(user), pass, None) => {
                c.auth = Auth::Users(vec![User {
                    name: user.clone(),
                    password: pass.clone().unwrap_or_default(),
                    ..Default::default()
                }]);
            }
            (None, None, Some(token)) => c.auth = Auth::Token(token.clone()),
            (None, None, None) => {}
        }
        self.apply_tls(options)?;
        if let Some(port) = self.http_port {
            let host = options.http.take().and_then(|l| l.host);
            options.http = Some(Listen { host, port });
        }
        if let Some(p) = &self.pid {
            options.pid_file = Some(p.clone());
        }
        if let Some(d) = &self.ports_file_dir {
            options.ports_file_dir = Some(d.clone());
        }
        if let Some(l) = &self.log {
            options.log_file = Some(l.clone());
        }
        if let Some(b) = self.logtime {
            options.logtime = b;
        }
        if let Some(b) = self.logtime_utc {
            options.logtime_utc = b;
        }
        if let Some(b) = self.debug {
            options.debug = b;
        }
        if let Some(b) = self.trace {
            options.trace = b;
        }
        options.trace_verbose |= self.trace_verbose;
        if let Some(b) = self.control_allow_public {
            options.control_allow_public = b;
        }
        for (flag, why) in &self.ignored {
            warnings.push(Warning {
                pos: None,
                message: format!("flag -{flag} is not supported by skiff ({why}); ignored"),
            });
        }
        Ok(())
    }
}

fn signal_command(spec: &str, pid_file: Option<&PathBuf>) -> Result<Command, CliError> {
    let (name, target) = match spec.split_once('=') {
        Some((n, t)) => (n, Some(t)),
        None => (spec, None),
    };
    let signal = match name.to_ascii_lowercase().as_str() {
        "stop" => Signal::Stop,
        "quit" => Signal::Quit,
        "term" => Signal::Term,
        "reopen" => Signal::Reopen,
        "reload" => Signal::Reload,
        "ldm" => Signal::LameDuck,
        _ => return Err(CliError::UnknownSignal(name.to_owned())),
    };
    let target = match target {
        Some(t) if !t.is_empty() => match t.parse::<u32>() {
            Ok(pid) => SignalTarget::Pid(pid),
            Err(_) => SignalTarget::PidFile(t.into()),
        },
        _ => pid_file.map_or(SignalTarget::Unspecified, |p| {
            SignalTarget::PidFile(p.clone())
        }),
    };
    Ok(Command::Signal { signal, target })
}

/// A port flag: -1 = random (0), 0 = `zero_means`, else 1..=65535. Accepts Go's integer
/// prefixes (`0x`, `0o`, `0b`).
fn port(flag: &str, value: &str, zero_means: u16) -> Result<u16, CliError> {
    match parse_go_int(value) {
        Some(-1) => Ok(0),
        Some(0) => Ok(zero_means),
        Some(n) => u16::try_from(n).map_err(|_| invalid(flag, value)),
        None => Err(invalid(flag, value)),
    }
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let n = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        lower.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn invalid(flag: &str, value: &str) -> CliError {
    CliError::InvalidValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
    }
}

/// `skiff: v0.1.0 (INFO version 2.15.1)`, as `nats-server -v` prints `nats-server: v2.x`:
/// Skiff's own version, then the nats-server version it reports to clients.
pub fn version_text() -> String {
    format!(
        "skiff: v{} (INFO version {})",
        env!("CARGO_PKG_VERSION"),
        skiff_core::NATS_VERSION
    )
}

/// What `--help_tls` prints.
pub const TLS_HELP: &str = "TLS Options:
    --tls                            Enable TLS, do not verify clients (default: false)
    --tlscert <file>                 Server certificate file
    --tlskey <file>                  Private key for server certificate
    --tlsverify                      Enable TLS, verify client certificates
    --tlscacert <file>               Client certificate CA for verification

Any of these flags replaces the config file's tls {} block, as in nats-server. The tls {}
block also takes ca_file, verify_and_map (authenticate as the user a client certificate
names), timeout and handshake_first. Ciphers and curves are rustls's safe defaults.";

/// The `--help` text, in nats-server's layout.
pub fn usage() -> &'static str {
    USAGE
}

const USAGE: &str = "\
Usage: skiff [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for random)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file (nats-server syntax)
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to skiff process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/skiff.pid)
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports)
        --max_payload <size>         Maximum message payload, e.g. 1MB (default: 1MB; skiff extension)
        --control                    Accept fault injection requests on $SKIFF.FAULT.> (testing only;
                                     loopback addresses only; skiff extension)
        --control_allow_public       Allow --control on a non-loopback address

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true; -T=false to disable)
        --logtime_utc                Timestamps in UTC instead of local timezone (default: false)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version

Flags may be written with one or two dashes (-port 4222, --port=4222); boolean flags take
an optional =true/=false. Command-line values override the configuration file.

Not supported (refused with an error): JetStream (-js, --jetstream) and https monitoring
(-ms, --https_port): starting without them would silently change what clients get.
Accepted with a warning at start and ignored (they change nothing a client sees):
    -sd, --store_dir                 only used by JetStream
    --routes, --cluster, --cluster_name, --cluster_listen, --cluster_advertise,
    --connect_retries, --no_advertise, --client_advertise
                                     skiff has no clustering
    -s, --syslog, -r, --remote_syslog
                                     logs go to standard error or --log
    --log_size_limit, --max_traced_msg_len, --profile
                                     tuning knobs skiff does not have
";

#[cfg(test)]
mod tests;
