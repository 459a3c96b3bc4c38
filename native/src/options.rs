//! Daemon options: everything `skiff` needs to run, built from defaults, a configuration file
//! (nats-server syntax and keys) and command-line flags, in that order.
//!
//! # Keys
//!
//! Supported top-level keys (case-insensitive, as in nats-server): `listen`, `host`/`net`,
//! `port`, `server_name`, `authorization`, `max_payload`, `max_control_line`, `max_pending`,
//! `max_connections`/`max_conn`, `max_subscriptions`/`max_subs`, `ping_interval`, `ping_max`,
//! `write_deadline`, `lame_duck_duration`, `lame_duck_grace_period`, `no_header_support`,
//! `no_fast_producer_stall`, `max_closed_clients`,
//! `debug`, `trace`, `trace_verbose`, `logtime`, `logtime_utc`, `log_file`/`logfile`,
//! `pid_file`, `ports_file_dir`, `http`/`http_port`/`monitor_port` (monitoring listener),
//! `websocket`/`ws` and `leafnodes`/`leaf` (remotes this server joins as a leaf; see
//! `leafnodes`).
//!
//! A key nats-server knows but we do not support is an error naming it, with three exceptions:
//!
//! - blocks client test suites and deployment templates write routinely, whose absence does not
//!   change how core NATS behaves for a client, are accepted with a [`Warning`] and ignored:
//!   `server_tags`, `server_metadata`, `store_dir`, `client_advertise`,
//!   and logging/tuning knobs (`trace_headers`, `max_traced_msg_len`, `log_size_limit`,
//!   `log_max_num`, `disable_sublist_cache`,
//!   `connect_error_reports`, `reconnect_error_reports`, `prof_port`, `http_base_path`,
//!   `max_sub_tokens`, `write_timeout`, `no_system_account`, `feature_flags`), features a
//!   standalone core NATS server does without (`cluster`, `gateway`, `mqtt`,
//!   `default_js_domain`) and `syslog`/`remote_syslog` (logs go to standard error or
//!   `log_file`);
//! - `jetstream` is accepted when it is switched off (`false`, `"disabled"`,
//!   `{ enabled: false }`); enabled it is an error, because a client expecting JetStream would
//!   otherwise fail later and more confusingly;
//! - any unsupported key set to plain `false` (e.g. `syslog: false`) is accepted silently.
//!
//! What would silently weaken security or change routing if ignored (`tls`, `accounts`,
//! `operator`, `resolver`, `no_auth_user`, `system_account`, `mappings`, `https_port`, ...) is
//! refused: `"tls" is not supported by skiff`. Unknown keys are errors as in nats-server:
//! `unknown field "x"`. Entries used only as `$variables` are skipped, also as in nats-server.
//!
//! # Values
//!
//! Durations are Go duration strings (`"2m"`, `"10s"`, `"1h30m"`, `"500ms"`); a bare integer
//! means seconds and produces a warning (nats-server warns too, and `nats-server -t` fails on
//! it). Remember that an unquoted `2m` is the *integer* 2,000,000. `lame_duck_duration` and
//! `lame_duck_grace_period` must be strings and the duration at least 30 s, as in nats-server.
//! `port: -1` picks a random port (stored as 0); `port: 0` means the default 4222.
//! `max_connections: 0` (or negative) rejects every client; a negative `max_subscriptions`
//! means unlimited.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use skiff_core::{Auth, Config, ConfigError, Permissions, Rules, User};

use crate::conf::duration::parse_go_duration;
use crate::conf::{self, ConfError, Entry, Kind, Map, Pos, Value};

/// The default client port.
pub const DEFAULT_PORT: u16 = 4222;

/// Everything the daemon needs to run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// The broker configuration. Also holds the client listener: `config.host`, `config.port`
    /// (0 = let the OS pick a random port; the server writes the bound port back before
    /// building the broker) and `config.server_name`.
    pub config: Config,
    /// The configuration file these options were read from, if any.
    pub config_file: Option<PathBuf>,
    /// Log debug messages.
    pub debug: bool,
    /// Log protocol traces.
    pub trace: bool,
    /// Verbose tracing (nats-server also traces the system account; here the same as `trace`).
    pub trace_verbose: bool,
    /// Timestamp log lines (default true).
    pub logtime: bool,
    /// Timestamps in UTC instead of local time.
    pub logtime_utc: bool,
    /// Log to this file instead of standard error.
    pub log_file: Option<PathBuf>,
    /// Write the process id to this file.
    pub pid_file: Option<PathBuf>,
    /// Write `<executable>_<pid>.ports` (JSON listing the bound URLs) into this directory.
    pub ports_file_dir: Option<PathBuf>,
    /// HTTP monitoring listener.
    pub http: Option<Listen>,
    /// WebSocket listener.
    pub websocket: Option<WebsocketOptions>,
    /// Accept leaf node connections (`leafnodes { listen | port }`).
    pub leaf_listen: Option<Listen>,
    /// TLS on the client listener (`tls {}`, `--tls*`).
    pub tls: Option<crate::tls::TlsOptions>,
    /// Allow the fault control surface (`--control`) on a non-loopback address
    /// (`--control_allow_public`).
    pub control_allow_public: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config: Config::default(),
            config_file: None,
            debug: false,
            trace: false,
            trace_verbose: false,
            logtime: true,
            logtime_utc: false,
            log_file: None,
            pid_file: None,
            ports_file_dir: None,
            http: None,
            websocket: None,
            leaf_listen: None,
            tls: None,
            control_allow_public: false,
        }
    }
}

/// A secondary listener (monitoring, WebSocket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// Host to bind; `None` means the same host as the client listener.
    pub host: Option<String>,
    /// Port to bind; 0 = random.
    pub port: u16,
}

/// The `websocket { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebsocketOptions {
    /// Where to listen.
    pub listen: Listen,
    /// `no_tls: true`: plain `ws://` (nats-server requires TLS otherwise).
    pub no_tls: bool,
    /// The block's `tls {}`: `wss://`.
    pub tls: Option<crate::tls::TlsOptions>,
    /// Offer permessage-deflate.
    pub compression: bool,
    /// Only accept upgrades whose `Origin` matches the request's host.
    pub same_origin: bool,
    /// Accepted origins (absolute http/https URLs); empty = any.
    pub allowed_origins: Vec<String>,
    /// Time allowed for the HTTP upgrade.
    pub handshake_timeout: Option<Duration>,
    /// Ping interval for WebSocket clients, overriding the main one.
    pub ping_interval: Option<Duration>,
}

/// Something accepted but worth telling the operator about (an ignored block, a deprecated
/// form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where, if it came from a file.
    pub pos: Option<Pos>,
    /// What.
    pub message: String,
}

impl Warning {
    fn at(pos: &Pos, message: impl Into<String>) -> Self {
        Self {
            pos: Some(pos.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why options could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// The configuration file is unreadable, malformed, or has a bad key or value.
    Conf(ConfError),
    /// The values are individually fine but do not fit together (e.g. `max_payload` above
    /// `max_pending`).
    Invalid(ConfigError),
    /// Another inconsistency, described.
    Other(String),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conf(e) => e.fmt(f),
            Self::Invalid(e) => e.fmt(f),
            Self::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for OptionsError {}

impl From<ConfError> for OptionsError {
    fn from(e: ConfError) -> Self {
        Self::Conf(e)
    }
}

impl From<ConfigError> for OptionsError {
    fn from(e: ConfigError) -> Self {
        Self::Invalid(e)
    }
}

impl Options {
    /// Defaults, then the configuration file at `path`, then validation.
    ///
    /// # Errors
    /// See [`Options::apply_conf_file`] and [`Options::validate`].
    pub fn from_conf_file(path: &Path) -> Result<(Self, Vec<Warning>), OptionsError> {
        let mut options = Self::default();
        let warnings = options.apply_conf_file(path)?;
        options.validate()?;
        Ok((options, warnings))
    }

    /// Reads the configuration file at `path` and applies it on top of `self`.
    ///
    /// # Errors
    /// The file cannot be read or parsed, or a key is unknown, unsupported or has a bad value;
    /// the error names file, line, column and key.
    pub fn apply_conf_file(&mut self, path: &Path) -> Result<Vec<Warning>, ConfError> {
        let map = conf::parse_file(path)?;
        self.config_file = Some(path.to_path_buf());
        self.apply_conf(&map)
    }

    /// Applies an already parsed top-level map on top of `self`.
    ///
    /// # Errors
    /// As [`Options::apply_conf_file`], minus reading and parsing.
    pub fn apply_conf(&mut self, map: &Map) -> Result<Vec<Warning>, ConfError> {
        let mut warnings = Vec::new();
        let mut account_users = None;
        let (mut operators, mut preload, mut resolver) = (None, Vec::new(), None);
        for entry in map.entries().iter().filter(|e| !e.referenced) {
            let key = entry.key.to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "operator" | "operators" | "roots" | "root" | "root_operators" | "root_operator"
            ) {
                operators = Some((entry, operator::operators(entry)?));
            } else if matches!(
                key.as_str(),
                "resolver" | "account_resolver" | "accounts_resolver"
            ) {
                operator::resolver(entry)?;
                resolver = Some(entry);
            } else if key == "resolver_preload" {
                preload = operator::preload(entry)?;
            } else if entry.key.eq_ignore_ascii_case("accounts") {
                let (list, users) = accounts::accounts(entry, &mut warnings)?;
                self.config.accounts = list;
                account_users = Some((entry, users));
            } else {
                self.apply_top(entry, &mut warnings)?;
            }
        }
        // Users of accounts join those of `authorization`, whichever block came first.
        if let Some((entry, users)) = account_users.filter(|(_, u)| !u.is_empty()) {
            self.config.auth = match std::mem::take(&mut self.config.auth) {
                Auth::None => Auth::Users(users),
                Auth::Users(mut all) => {
                    all.extend(users);
                    Auth::Users(all)
                }
                _ => return Err(key_err(entry, "Can not have a token and a users array")),
            };
        }
        if let Some((entry, operators)) = operators {
            // nats-server's `validateTrustedOperators`.
            if resolver.is_none() {
                return Err(key_err(
                    entry,
                    "operators require an account resolver to be configured",
                ));
            }
            if !self.config.accounts.is_empty() {
                return Err(key_err(
                    entry,
                    "operators do not allow Accounts to be configured directly",
                ));
            }
            if self.config.auth.is_required() {
                return Err(key_err(
                    entry,
                    "operators do not allow users to be configured directly",
                ));
            }
            self.config.auth = Auth::Operator(Box::new(skiff_core::Operator {
                operators,
                accounts: preload,
            }));
        }
        Ok(warnings)
    }

    /// Checks the combination of values, as nats-server does at startup.
    ///
    /// # Errors
    /// [`OptionsError::Invalid`] from [`Config::validate`], or a WebSocket block with
    /// neither `tls {}` nor `no_tls: true`.
    pub fn validate(&self) -> Result<(), OptionsError> {
        self.config.validate()?;
        if let Some(ws) = &self.websocket {
            if !ws.no_tls && ws.tls.is_none() {
                return Err(OptionsError::Other(
                    "websocket requires TLS configuration".into(),
                ));
            }
        }
        Ok(())
    }

    fn apply_top(&mut self, e: &Entry, warnings: &mut Vec<Warning>) -> Result<(), ConfError> {
        let c = &mut self.config;
        match e.key.to_ascii_lowercase().as_str() {
            "listen" => {
                let (host, port) = host_port(e)?;
                if let Some(host) = host {
                    c.host = host;
                }
                c.port = client_port(e, port)?;
            }
            "host" | "net" => c.host = string(e)?,
            "port" => c.port = client_port(e, int(e)?)?,
            "server_name" => {
                let name = string(e)?;
                if name.contains(' ') {
                    return Err(key_err(e, "server name cannot contain spaces"));
                }
                c.server_name = name;
            }
            "authorization" => apply_authorization(c, e, warnings)?,
            "no_auth_user" => c.no_auth_user = Some(string(e)?),
            "system_account" | "system" => c.system_account = string(e)?,
            "tls" => self.tls = Some(tls::tls(e, warnings)?),
            "max_payload" => {
                let n = int(e)?;
                if n > i64::from(i32::MAX) {
                    return Err(key_err(e, "max_payload value is too big"));
                }
                c.max_payload = non_negative(e, n)?;
            }
            "max_control_line" => {
                let n = int(e)?;
                if n > i64::from(i32::MAX) {
                    return Err(key_err(e, "max_control_line value is too big"));
                }
                c.max_control_line = non_negative(e, n)?;
            }
            "max_pending" => c.max_pending = non_negative(e, int(e)?)?,
            "max_connections" | "max_conn" => c.max_connections = int(e)?.max(0) as usize,
            "max_subscriptions" | "max_subs" => c.max_subscriptions = int(e)?.max(0) as usize,
            "max_closed_clients" => c.max_closed_clients = non_negative(e, int(e)?)?,
            "ping_max" => {
                c.ping_max = u32::try_from(int(e)?)
                    .map_err(|_| key_err(e, "ping_max must be between 0 and 2^32-1"))?;
            }
            "ping_interval" => c.ping_interval = duration(e, warnings)?,
            "write_deadline" => c.write_deadline = duration(e, warnings)?,
            "lame_duck_duration" => {
                let d = strict_duration(e)?;
                if d < Duration::from_secs(30) {
                    return Err(key_err(
                        e,
                        format!(
                            "invalid lame_duck_duration of {}, minimum is 30 seconds",
                            string(e)?
                        ),
                    ));
                }
                c.lame_duck_duration = d;
            }
            "lame_duck_grace_period" => c.lame_duck_grace_period = strict_duration(e)?,
            "no_header_support" => c.headers = !boolean(e)?,
            "no_fast_producer_stall" => c.no_fast_producer_stall = boolean(e)?,
            // Skiff extensions: the fault control surface (`--control`).
            "control" => c.fault_control = boolean(e)?,
            "control_allow_public" => self.control_allow_public = boolean(e)?,
            "debug" => self.debug = boolean(e)?,
            "trace" => self.trace = boolean(e)?,
            "trace_verbose" => {
                self.trace_verbose = boolean(e)?;
                self.trace |= self.trace_verbose;
            }
            "logtime" => self.logtime = boolean(e)?,
            "logtime_utc" => self.logtime_utc = boolean(e)?,
            "log_file" | "logfile" => self.log_file = Some(string(e)?.into()),
            "pid_file" => self.pid_file = Some(string(e)?.into()),
            "ports_file_dir" => self.ports_file_dir = Some(string(e)?.into()),
            "http" => {
                let (host, port) = host_port(e)?;
                self.http = Some(Listen {
                    host,
                    port: listener_port(e, port)?,
                });
            }
            "http_port" | "monitor_port" => {
                let port = listener_port(e, int(e)?)?;
                let host = self.http.take().and_then(|l| l.host);
                self.http = Some(Listen { host, port });
            }
            "websocket" | "ws" => self.websocket = websocket(e, warnings)?,
            "leafnodes" | "leaf" => {
                if e.value.kind != Kind::Bool(false) {
                    self.leaf_listen = leafnodes(e, &mut self.config, warnings)?;
                }
            }
            "jetstream" => {
                if !jetstream_disabled(&e.value) {
                    return Err(key_err(
                        e,
                        "\"jetstream\" is not supported by skiff (core NATS only)",
                    ));
                }
            }
            key if IGNORED.contains(&key) => {
                if e.value.kind == Kind::Bool(false) {
                    return Ok(()); // switched off: nothing is ignored
                }
                warnings.push(Warning::at(
                    &e.key_pos,
                    format!("\"{}\" is not supported by skiff; ignored", e.key),
                ));
            }
            key if UNSUPPORTED.contains(&key) => {
                if e.value.kind != Kind::Bool(false) {
                    return Err(key_err(
                        e,
                        format!("\"{}\" is not supported by skiff", e.key),
                    ));
                }
            }
            _ => return Err(unknown(e)),
        }
        Ok(())
    }
}

/// nats-server keys accepted with a warning and ignored (see the module docs).
const IGNORED: &[&str] = &[
    "server_tags",
    "server_metadata",
    "store_dir",
    "client_advertise",
    "trace_headers",
    "max_traced_msg_len",
    "log_size_limit",
    "log_max_num",
    "disable_sublist_cache",
    "no_sublist_cache",
    "connect_error_reports",
    "reconnect_error_reports",
    "prof_port",
    "http_base_path",
    "max_sub_tokens",
    "write_timeout",
    "no_system_account",
    "feature_flags",
    // No clustering, gateways or MQTT: skiff runs standalone, and these listeners' absence
    // changes nothing a core NATS client sees.
    "cluster",
    "gateway",
    "mqtt",
    // Logs go to standard error or `log_file`.
    "syslog",
    "remote_syslog",
    // JetStream stays off, so its domain is unused.
    "default_js_domain",
];

/// nats-server keys we refuse (unless set to `false`): ignoring them would silently weaken
/// security (TLS, accounts, operators, auth) or change routing (`mappings`).
const UNSUPPORTED: &[&str] = &[
    "resolver_tls",
    "resolver_pinned_accounts",
    "trusted",
    "trusted_keys",
    "mappings",
    "maps",
    "ocsp",
    "ocsp_cache",
    "allow_non_tls",
    "https",
    "https_port",
    "proxy_protocol",
    "proxies",
    "default_sentinel",
    "nkeys",
];

fn apply_authorization(
    c: &mut Config,
    e: &Entry,
    warnings: &mut Vec<Warning>,
) -> Result<(), ConfError> {
    let map = map(e)?;
    let (mut user, mut password, mut token, mut users) = (None, None, None, None);
    let mut default_permissions = None;
    for a in map.entries().iter().filter(|a| !a.referenced) {
        match a.key.to_ascii_lowercase().as_str() {
            "user" | "username" => user = Some(string(a)?),
            "pass" | "password" => password = Some(string(a)?),
            "token" => token = Some(string(a)?),
            "timeout" => c.auth_timeout = seconds_or_duration(a, warnings)?,
            "users" => users = Some(user_list(a)?),
            "default_permissions" => default_permissions = Some(permissions(a)?),
            "permissions" | "nkeys" | "auth_callout" | "account" => {
                return Err(key_err(
                    a,
                    format!("\"{}\" in authorization is not supported by skiff", a.key),
                ));
            }
            _ => return Err(unknown(a)),
        }
    }
    let single = user.is_some() || password.is_some();
    // As in nats-server, the defaults go to listed users that have no permissions of their own.
    if let (Some(users), Some(defaults)) = (users.as_mut(), default_permissions) {
        for u in users
            .iter_mut()
            .filter(|u: &&mut User| u.permissions.is_none())
        {
            u.permissions = Some(defaults.clone());
        }
    }
    c.auth = match (single, token, users) {
        (true, Some(_), _) => return Err(key_err(e, "Cannot have a user/pass and token")),
        (_, Some(_), Some(_)) => return Err(key_err(e, "Can not have a token and a users array")),
        (true, None, Some(_)) => {
            return Err(key_err(
                e,
                "Can not have a single user/pass and a users array",
            ));
        }
        (true, None, None) => Auth::Users(vec![User {
            name: user.unwrap_or_default(),
            password: password.unwrap_or_default(),
            ..Default::default()
        }]),
        (false, Some(token), None) => Auth::Token(token),
        (false, None, Some(users)) => Auth::Users(users),
        (false, None, None) => Auth::None,
    };
    Ok(())
}

fn user_list(e: &Entry) -> Result<Vec<User>, ConfError> {
    let Kind::Array(items) = &e.value.kind else {
        return Err(type_err(e, "an array of {user, password} maps"));
    };
    let mut users = Vec::with_capacity(items.len());
    for item in items {
        let Kind::Map(m) = &item.kind else {
            return Err(ConfError::at(
                &item.pos,
                format!(
                    "invalid value for \"users\": expected a {{user, password}} map, got {}",
                    item.kind.type_name()
                ),
            ));
        };
        let mut user = User {
            name: String::new(),
            password: String::new(),
            ..Default::default()
        };
        for u in m.entries().iter().filter(|u| !u.referenced) {
            match u.key.to_ascii_lowercase().as_str() {
                "user" | "username" => user.name = string(u)?,
                "pass" | "password" => user.password = string(u)?,
                "permissions" => user.permissions = Some(permissions(u)?),
                "allowed_connection_types" | "allowed_connection_type" => {
                    user.allowed_connection_types = Some(connection_types(u)?);
                }
                "nkey" => {
                    let key = string(u)?;
                    if !(key.len() == 56
                        && key.starts_with('U')
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
                    {
                        return Err(key_err(
                            u,
                            format!("Not a valid public nkey for a user: {key:?}"),
                        ));
                    }
                    user.nkey = Some(key);
                }
                "account" => {
                    return Err(key_err(
                        u,
                        format!("\"{}\" for users is not supported by skiff", u.key),
                    ));
                }
                _ => return Err(unknown(u)),
            }
        }
        users.push(user);
    }
    Ok(users)
}

fn websocket(
    e: &Entry,
    warnings: &mut Vec<Warning>,
) -> Result<Option<WebsocketOptions>, ConfError> {
    let mut ws = WebsocketOptions {
        listen: Listen {
            host: None,
            port: 0,
        },
        no_tls: false,
        tls: None,
        compression: false,
        same_origin: false,
        allowed_origins: Vec::new(),
        handshake_timeout: None,
        ping_interval: None,
    };
    let mut port_set = false;
    for w in map(e)?.entries().iter().filter(|w| !w.referenced) {
        match w.key.to_ascii_lowercase().as_str() {
            "listen" => {
                let (host, port) = host_port(w)?;
                ws.listen = Listen {
                    host: host.or(ws.listen.host.take()),
                    port: listener_port(w, port)?,
                };
                port_set = true;
            }
            "host" | "net" => ws.listen.host = Some(string(w)?),
            "port" => {
                ws.listen.port = listener_port(w, int(w)?)?;
                port_set = true;
            }
            "no_tls" => ws.no_tls = boolean(w)?,
            "compression" | "compress" => {
                ws.compression = boolean(w)?;
            }
            "same_origin" => ws.same_origin = boolean(w)?,
            "allowed_origins" | "allowed_origin" | "allow_origins" | "allow_origin" | "origins"
            | "origin" => {
                ws.allowed_origins = match &w.value.kind {
                    Kind::Array(items) => items
                        .iter()
                        .map(|v| match &v.kind {
                            Kind::String(s) => Ok(s.clone()),
                            other => Err(ConfError::at(
                                &v.pos,
                                format!(
                                    "invalid value for \"{}\": expected a string, got {}",
                                    w.key,
                                    other.type_name()
                                ),
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => vec![string(w)?],
                };
            }
            "handshake_timeout" => ws.handshake_timeout = Some(duration(w, warnings)?),
            "ping_interval" => {
                ws.ping_interval = Some(duration(w, warnings)?);
                warnings.push(Warning::at(
                    &w.key_pos,
                    "websocket \"ping_interval\" is not supported by skiff; ignored (the main ping_interval applies)",
                ));
            }
            "advertise" | "headers" => {
                warnings.push(Warning::at(
                    &w.key_pos,
                    format!("websocket \"{}\" is not supported by skiff; ignored", w.key),
                ));
            }
            "tls" => ws.tls = Some(tls::tls(w, warnings)?),
            "authorization" | "no_auth_user" | "jwt_cookie" | "user_cookie" | "pass_cookie"
            | "token_cookie" => {
                if w.value.kind != Kind::Bool(false) {
                    return Err(key_err(
                        w,
                        format!("websocket \"{}\" is not supported by skiff", w.key),
                    ));
                }
            }
            _ => return Err(unknown(w)),
        }
    }
    if port_set && !ws.no_tls && ws.tls.is_none() {
        // nats-server refuses a websocket listener without TLS unless `no_tls` says so.
        return Err(key_err(e, "websocket requires TLS configuration"));
    }
    if !port_set {
        // nats-server's websocket default port is 0, meaning "no websocket listener": it starts
        // without one, and so do we, but say so.
        warnings.push(Warning::at(
            &e.key_pos,
            "websocket block has no port, so there is no websocket listener (use port: -1 for a random port)",
        ));
        return Ok(None);
    }
    Ok(Some(ws))
}

/// `leafnodes { remotes [ { url | urls, deny_imports, deny_exports } ], reconnect }`: the hubs
/// this server joins as a leaf node, and `listen`/`host`/`port` where other servers attach
/// to it as leafs (returned). Tuning keys that change nothing a client sees are ignored with
/// a warning; remote keys that would change security (`credentials`, `nkey`, `tls`) are
/// refused. Credentials go in the URL (`nats-leaf://user:pass@host:7422`, or a token as the
/// user), as nats-server takes them.
fn leafnodes(
    e: &Entry,
    config: &mut Config,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Listen>, ConfError> {
    let mut listen: Option<Listen> = None;
    for l in map(e)?.entries().iter().filter(|l| !l.referenced) {
        match l.key.to_ascii_lowercase().as_str() {
            "remotes" => {
                let Kind::Array(items) = &l.value.kind else {
                    return Err(type_err(l, "a list of remotes"));
                };
                for item in items {
                    let Kind::Map(m) = &item.kind else {
                        return Err(ConfError::at(&item.pos, "a leafnode remote must be a map"));
                    };
                    config
                        .leaf_remotes
                        .push(leaf_remote(m, &item.pos, warnings)?);
                }
            }
            "reconnect" | "reconnect_delay" => config.leaf_reconnect = duration(l, warnings)?,
            "listen" => {
                let (host, port) = host_port(l)?;
                let old = listen.take();
                listen = Some(Listen {
                    host: host.or(old.and_then(|o| o.host)),
                    port: listener_port(l, port)?,
                });
            }
            "port" => {
                let port = listener_port(l, int(l)?)?;
                let host = listen.take().and_then(|o| o.host);
                listen = Some(Listen { host, port });
            }
            "host" | "net" => {
                let host = Some(string(l)?);
                let port = listen.take().map_or(0, |o| o.port);
                listen = Some(Listen { host, port });
            }
            "tls"
            | "authorization"
            | "advertise"
            | "no_advertise"
            | "compression"
            | "min_version"
            | "isolate_leafnode_interest"
            | "write_deadline"
            | "write_timeout" => {
                warnings.push(Warning::at(
                    &l.key_pos,
                    format!("leafnodes \"{}\" is not supported by skiff; ignored", l.key),
                ));
            }
            _ => return Err(unknown(l)),
        }
    }
    Ok(listen)
}

/// One entry of `leafnodes { remotes [...] }`.
fn leaf_remote(
    m: &Map,
    pos: &Pos,
    warnings: &mut Vec<Warning>,
) -> Result<skiff_core::LeafRemote, ConfError> {
    let mut remote = skiff_core::LeafRemote::default();
    let url = |r: &Entry, v: &Value| match &v.kind {
        Kind::String(s) => skiff_core::LeafUrl::parse(s).map_err(|m| ConfError::at(&v.pos, m)),
        _ => Err(type_err(r, "a URL string")),
    };
    for r in m.entries().iter().filter(|r| !r.referenced) {
        match r.key.to_ascii_lowercase().as_str() {
            "url" => remote.urls.push(url(r, &r.value)?),
            "urls" => match &r.value.kind {
                Kind::Array(items) => {
                    for v in items {
                        remote.urls.push(url(r, v)?);
                    }
                }
                _ => remote.urls.push(url(r, &r.value)?),
            },
            "deny_imports" | "deny_import" => remote.deny_imports = subjects(r, &r.value)?,
            "deny_exports" | "deny_export" => remote.deny_exports = subjects(r, &r.value)?,
            "account" | "local" => remote.account = string(r)?,
            "credentials" | "creds" => {
                let path = string(r)?;
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    key_err(r, format!("error reading credentials file {path:?}: {e}"))
                })?;
                let creds = skiff_core::LeafCredentials::parse(&text)
                    .map_err(|e| key_err(r, format!("credentials file {path:?}: {e}")))?;
                remote.credentials = Some(creds);
            }
            "tls" => remote.tls = Some(leaf_tls(r)?),
            "nkey" | "jwt" | "seed" => {
                return Err(key_err(
                    r,
                    format!(
                        "leafnode remote \"{}\" is not supported by skiff (use credentials, or user and password or a token in the URL)",
                        r.key
                    ),
                ));
            }
            "compression" | "ws_compression" | "ws_no_masking" | "no_randomize"
            | "dont_randomize" | "first_info_timeout" | "hub" | "name" | "request_isolation"
            | "disabled" | "proxy" => {
                warnings.push(Warning::at(
                    &r.key_pos,
                    format!(
                        "leafnode remote \"{}\" is not supported by skiff; ignored",
                        r.key
                    ),
                ));
            }
            _ => return Err(unknown(r)),
        }
    }
    if remote.urls.is_empty() {
        return Err(ConfError::at(pos, "a leafnode remote needs a url"));
    }
    Ok(remote)
}

/// A leaf remote's `tls { ca_file, cert_file, key_file }` (the rest is rustls's defaults).
fn leaf_tls(e: &Entry) -> Result<skiff_core::LeafTls, ConfError> {
    let mut tls = skiff_core::LeafTls::default();
    for t in map(e)?.entries().iter().filter(|t| !t.referenced) {
        match t.key.to_ascii_lowercase().as_str() {
            "ca_file" => tls.ca_file = Some(string(t)?),
            "cert_file" => tls.cert_file = Some(string(t)?),
            "key_file" => tls.key_file = Some(string(t)?),
            "timeout" | "handshake_first" | "first" | "verify" | "cipher_suites"
            | "curve_preferences" | "min_version" => {}
            _ => {
                return Err(key_err(
                    t,
                    format!(
                        "leafnode remote tls \"{}\" is not supported by skiff",
                        t.key
                    ),
                ));
            }
        }
    }
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        return Err(key_err(
            e,
            "leafnode remote tls needs both cert_file and key_file",
        ));
    }
    Ok(tls)
}

fn jetstream_disabled(v: &Value) -> bool {
    match &v.kind {
        Kind::Bool(b) => !b,
        Kind::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "disabled" | "false" | "off" | "no"
        ),
        Kind::Map(m) => m
            .get("enabled")
            .is_some_and(|e| e.value.kind == Kind::Bool(false)),
        _ => false,
    }
}

/// `permissions: { publish: <rules>, subscribe: <rules> }` of one user.
fn permissions(e: &Entry) -> Result<Permissions, ConfError> {
    let mut perms = Permissions::default();
    for p in map(e)?.entries().iter().filter(|p| !p.referenced) {
        match p.key.to_ascii_lowercase().as_str() {
            "publish" | "pub" => perms.publish = rules(p, false)?,
            "subscribe" | "sub" => perms.subscribe = rules(p, true)?,
            "allow_responses" | "responses" => perms.responses = responses(p)?,
            _ => return Err(unknown(p)),
        }
    }
    Ok(perms)
}

/// nats-server's connection types (`allowed_connection_types`).
const CONNECTION_TYPES: &[&str] = &["STANDARD", "WEBSOCKET", "LEAFNODE", "MQTT", "IN_PROCESS"];

/// `allowed_connection_types: [STANDARD, WEBSOCKET, ...]` (or one string).
fn connection_types(e: &Entry) -> Result<Vec<String>, ConfError> {
    let one = |v: &Value| match &v.kind {
        Kind::String(s) if CONNECTION_TYPES.contains(&s.to_ascii_uppercase().as_str()) => {
            Ok(s.to_ascii_uppercase())
        }
        Kind::String(s) => Err(ConfError::at(
            &v.pos,
            format!(
                "unknown connection type \"{s}\" (one of {})",
                CONNECTION_TYPES.join(", ")
            ),
        )),
        _ => Err(type_err(e, "a list of connection types")),
    };
    match &e.value.kind {
        Kind::Array(items) => items.iter().map(one).collect(),
        _ => one(&e.value).map(|t| vec![t]),
    }
}

/// `allow_responses: true | false | { max: N, expires: "dur" }` (nats-server's defaults: one
/// response within two minutes).
fn responses(e: &Entry) -> Result<Option<skiff_core::ResponsePermission>, ConfError> {
    match &e.value.kind {
        Kind::Bool(false) => Ok(None),
        Kind::Bool(true) => Ok(Some(skiff_core::ResponsePermission::default())),
        Kind::Map(m) => {
            let mut r = skiff_core::ResponsePermission::default();
            for f in m.entries().iter().filter(|f| !f.referenced) {
                match f.key.to_ascii_lowercase().as_str() {
                    "max" | "max_msgs" | "max_messages" | "max_responses" => {
                        r.max = u32::try_from(int(f)?)
                            .map_err(|_| key_err(f, "max must be between 0 and 2^32-1"))?;
                    }
                    "expires" | "expiration" | "ttl" => {
                        r.expires = duration(f, &mut Vec::new())?;
                    }
                    _ => return Err(unknown(f)),
                }
            }
            // nats-server reads a zero as "the default".
            let defaults = skiff_core::ResponsePermission::default();
            if r.max == 0 {
                r.max = defaults.max;
            }
            if r.expires.is_zero() {
                r.expires = defaults.expires;
            }
            Ok(Some(r))
        }
        _ => Err(type_err(e, "a boolean or a {max, expires} map")),
    }
}

/// Permission rules: a subject, a list of subjects (both an allow list), or
/// `{ allow: ..., deny: ... }`.
fn rules(e: &Entry, queues: bool) -> Result<Rules, ConfError> {
    match &e.value.kind {
        Kind::String(_) | Kind::Array(_) => Ok(Rules {
            allow: Some(patterns(e, &e.value, queues)?),
            deny: Vec::new(),
        }),
        Kind::Map(m) => {
            let mut rules = Rules::default();
            for r in m.entries().iter().filter(|r| !r.referenced) {
                match r.key.to_ascii_lowercase().as_str() {
                    "allow" => rules.allow = Some(patterns(r, &r.value, queues)?),
                    "deny" => rules.deny = patterns(r, &r.value, queues)?,
                    _ => return Err(unknown(r)),
                }
            }
            Ok(rules)
        }
        _ => Err(type_err(
            e,
            "a subject, a list of subjects or an {allow, deny} map",
        )),
    }
}

/// A subject or a list of subjects.
fn subjects(e: &Entry, value: &Value) -> Result<Vec<String>, ConfError> {
    patterns(e, value, false)
}

/// A subject or a list of subjects; with `queues`, an entry may also be `"subject queue"`
/// (a queue-group permission, the queue possibly a wildcard pattern).
fn patterns(e: &Entry, value: &Value, queues: bool) -> Result<Vec<String>, ConfError> {
    let valid = |s: &str| match s.split_once(' ') {
        Some((subject, queue)) if queues => {
            skiff_core::subject::is_valid_subscription(subject.as_bytes())
                && !queue.trim().is_empty()
                && !queue.trim().contains(' ')
        }
        Some(_) => false,
        None => skiff_core::subject::is_valid_subscription(s.as_bytes()),
    };
    let subject = |v: &Value| match &v.kind {
        Kind::String(s) if valid(s) => Ok(s.clone()),
        Kind::String(s) => Err(ConfError::at(
            &v.pos,
            format!("invalid subject \"{s}\" in permissions"),
        )),
        _ => Err(type_err(e, "a subject or a list of subjects")),
    };
    match &value.kind {
        Kind::Array(items) => items.iter().map(subject).collect(),
        _ => subject(value).map(|s| vec![s]),
    }
}

// ---- typed accessors -------------------------------------------------------------------------

fn unknown(e: &Entry) -> ConfError {
    key_err(e, format!("unknown field \"{}\"", e.key))
}

fn key_err(e: &Entry, message: impl Into<String>) -> ConfError {
    ConfError::at(&e.key_pos, message)
}

fn type_err(e: &Entry, expected: &str) -> ConfError {
    let got = match &e.value.kind {
        Kind::String(s) => format!("string \"{s}\""),
        Kind::Integer(n) => format!("integer {n}"),
        Kind::Float(f) => format!("float {f}"),
        Kind::Bool(b) => format!("boolean {b}"),
        other => other.type_name().to_owned(),
    };
    key_err(
        e,
        format!(
            "invalid value for \"{}\": expected {expected}, got {got}",
            e.key
        ),
    )
}

fn int(e: &Entry) -> Result<i64, ConfError> {
    match e.value.kind {
        Kind::Integer(n) => Ok(n),
        _ => Err(type_err(e, "an integer")),
    }
}

fn non_negative(e: &Entry, n: i64) -> Result<usize, ConfError> {
    usize::try_from(n).map_err(|_| {
        key_err(
            e,
            format!("invalid value for \"{}\": {n} is negative", e.key),
        )
    })
}

fn boolean(e: &Entry) -> Result<bool, ConfError> {
    match e.value.kind {
        Kind::Bool(b) => Ok(b),
        _ => Err(type_err(e, "a boolean")),
    }
}

fn string(e: &Entry) -> Result<String, ConfError> {
    match &e.value.kind {
        Kind::String(s) => Ok(s.clone()),
        _ => Err(type_err(e, "a string")),
    }
}

fn map(e: &Entry) -> Result<&Map, ConfError> {
    match &e.value.kind {
        Kind::Map(m) => Ok(m),
        _ => Err(type_err(e, "a map")),
    }
}

/// A Go duration string, or a bare integer meaning seconds (with a warning).
fn duration(e: &Entry, warnings: &mut Vec<Warning>) -> Result<Duration, ConfError> {
    match &e.value.kind {
        Kind::String(s) => {
            parse_go_duration(s).map_err(|m| key_err(e, format!("error parsing {}: {m}", e.key)))
        }
        Kind::Integer(n) => {
            warnings.push(Warning::at(
                &e.key_pos,
                format!(
                    "{} should be converted to a duration (an integer is read as {n} seconds; \
                 note that an unquoted \"2m\" is the integer 2000000)",
                    e.key
                ),
            ));
            let secs = u64::try_from(*n)
                .map_err(|_| key_err(e, format!("{} can not be negative", e.key)))?;
            Ok(Duration::from_secs(secs))
        }
        _ => Err(type_err(e, "a duration string such as \"10s\"")),
    }
}

/// A Go duration string only (nats-server refuses anything else for the lame duck options).
fn strict_duration(e: &Entry) -> Result<Duration, ConfError> {
    match &e.value.kind {
        Kind::String(s) => {
            parse_go_duration(s).map_err(|m| key_err(e, format!("error parsing {}: {m}", e.key)))
        }
        _ => Err(type_err(e, "a duration string such as \"30s\"")),
    }
}

/// `authorization.timeout`: seconds as integer or float, or a duration string.
fn seconds_or_duration(e: &Entry, warnings: &mut Vec<Warning>) -> Result<Duration, ConfError> {
    match e.value.kind {
        Kind::Integer(n) if n >= 0 => Ok(Duration::from_secs(n as u64)),
        Kind::Float(f) if f >= 0.0 && f.is_finite() => Ok(Duration::from_secs_f64(f)),
        Kind::Integer(_) | Kind::Float(_) => Err(key_err(e, "timeout can not be negative")),
        _ => duration(e, warnings),
    }
}

/// `"host:port"`, `":port"`, `"host"` or a bare port number.
fn host_port(e: &Entry) -> Result<(Option<String>, i64), ConfError> {
    match &e.value.kind {
        Kind::Integer(n) => Ok((None, *n)),
        Kind::String(s) => {
            let bad = || key_err(e, format!("could not parse address string \"{s}\""));
            let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
            let port: i64 = port.parse().map_err(|_| bad())?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Ok(((!host.is_empty()).then(|| host.to_owned()), port))
        }
        _ => Err(type_err(e, "\"host:port\" or a port number")),
    }
}

/// The client port: -1 = random (0), 0 = default, else 1..=65535.
fn client_port(e: &Entry, port: i64) -> Result<u16, ConfError> {
    match port {
        -1 => Ok(0),
        0 => Ok(DEFAULT_PORT),
        _ => listener_port(e, port),
    }
}

/// A secondary listener's port: -1 or 0 = random, else 1..=65535.
fn listener_port(e: &Entry, port: i64) -> Result<u16, ConfError> {
    match port {
        -1 => Ok(0),
        _ => u16::try_from(port)
            .map_err(|_| key_err(e, format!("invalid port {port} for \"{}\"", e.key))),
    }
}

#[cfg(test)]
mod tests;

mod accounts;
mod operator;
mod tls;
