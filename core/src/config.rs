//! Broker configuration: limits, timers, identity and authentication.

use std::time::Duration;

/// Everything the core needs to know about how the broker should behave.
///
/// Defaults match nats-server's. Hosts build this from CLI flags and config files.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `server_id` in INFO; hosts usually leave it empty and the broker derives one from its seed.
    pub server_id: String,
    /// `server_name` in INFO; empty means "same as server_id".
    pub server_name: String,
    /// `version` in INFO; defaults to [`NATS_VERSION`](crate::NATS_VERSION).
    pub version: String,
    /// `host` in INFO (the client listen address).
    pub host: String,
    /// `port` in INFO (the client listen port).
    pub port: u16,
    /// Whether the server supports headers (`headers` in INFO, HPUB/HMSG).
    pub headers: bool,
    /// Largest message (headers plus payload) a client may publish.
    pub max_payload: usize,
    /// Longest control line a client may send.
    pub max_control_line: usize,
    /// Bytes queued for one connection before it is closed as a slow consumer.
    pub max_pending: usize,
    /// Drop a message for a consumer past the stall threshold (3/4 of `max_pending`) instead
    /// of pausing the producer that sent it (nats-server's `no_fast_producer_stall`).
    pub no_fast_producer_stall: bool,
    /// Connections accepted at once; the next gets INFO then `maximum connections exceeded`.
    /// Zero rejects every client (a config file's `max_connections: 0`).
    pub max_connections: usize,
    /// Subscriptions per connection; zero means unlimited.
    pub max_subscriptions: usize,
    /// Idle time after which the server PINGs a client.
    pub ping_interval: Duration,
    /// Unanswered PINGs tolerated before `Stale Connection`.
    pub ping_max: u32,
    /// Skip the short (≈2 s) first PING after CONNECT (nats-server `DisableShortFirstPing`).
    pub disable_short_first_ping: bool,
    /// Client authentication.
    pub auth: Auth,
    /// Time a client has to authenticate when auth is required.
    pub auth_timeout: Duration,
    /// The user a CONNECT without credentials authenticates as (nats-server `no_auth_user`);
    /// INFO then leaves out `auth_required`.
    pub no_auth_user: Option<String>,
    /// How long the host may spend flushing one write before the client is a slow consumer.
    pub write_deadline: Duration,
    /// Total duration of lame duck mode.
    pub lame_duck_duration: Duration,
    /// Time between entering lame duck mode and the first client being closed.
    pub lame_duck_grace_period: Duration,
    /// The WebSocket listener's `(host, port)`, if the host has one: INFO sent to a
    /// [`Transport::WebSocket`](crate::Transport::WebSocket) connection names it instead of
    /// `host`/`port`, as nats-server's does.
    pub websocket: Option<(String, u16)>,
    /// Closed connections remembered for monitoring (`/connz?state=closed`).
    pub max_closed_clients: usize,
    /// Answer fault requests on `$SKIFF.FAULT.>` (any client may then inject faults: for test
    /// brokers only; the daemon's `--control`). Off by default.
    pub fault_control: bool,
    /// Hubs this broker joins as a leaf node (`leafnodes { remotes [...] }`).
    pub leaf_remotes: Vec<crate::LeafRemote>,
    /// Time between attempts to (re)connect a leaf remote (`leafnodes { reconnect }`,
    /// default 1 s as nats-server's).
    pub leaf_reconnect: Duration,
    /// The leafnode listener's `(host, port)`, if the host accepts leaf connections
    /// ([`Broker::accept_leaf`](crate::Broker::accept_leaf)): announced in their INFO.
    pub leaf_listen: Option<(String, u16)>,
    /// Accounts besides the global one (`accounts { ... }`); users name theirs in
    /// [`User::account`].
    pub accounts: Vec<crate::Account>,
    /// Clients must speak TLS (INFO `tls_required`): the host terminates TLS on the listener.
    pub tls_required: bool,
    /// Clients must present a certificate the host verified (INFO `tls_verify`).
    pub tls_verify: bool,
    /// `verify_and_map`: a client authenticates as the user named by its certificate (see
    /// [`Broker::set_tls_names`](crate::Broker::set_tls_names)); no password is asked.
    pub tls_map: bool,
    /// Unix time at the host's epoch ([`Instant::ZERO`](crate::Instant::ZERO)), for the
    /// expiry of JWTs; `None` checks no expiry (hosts without a wall clock).
    pub unix_epoch: Option<Duration>,
    /// The system account (`system_account`, default `$SYS`, created when not configured):
    /// its users may ask `$SYS.REQ.SERVER.PING`.
    pub system_account: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server_id: String::new(),
            server_name: String::new(),
            version: crate::NATS_VERSION.to_owned(),
            host: "0.0.0.0".to_owned(),
            port: 4222,
            headers: true,
            max_payload: 1024 * 1024,
            max_control_line: 4096,
            max_pending: 64 * 1024 * 1024,
            no_fast_producer_stall: false,
            max_connections: 64 * 1024,
            max_subscriptions: 0,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            disable_short_first_ping: false,
            auth: Auth::None,
            auth_timeout: Duration::from_secs(2),
            no_auth_user: None,
            write_deadline: Duration::from_secs(10),
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
            websocket: None,
            max_closed_clients: 10_000,
            fault_control: false,
            leaf_remotes: Vec::new(),
            leaf_reconnect: Duration::from_secs(1),
            leaf_listen: None,
            accounts: Vec::new(),
            tls_required: false,
            tls_verify: false,
            tls_map: false,
            unix_epoch: None,
            system_account: crate::DEFAULT_SYSTEM_ACCOUNT.to_owned(),
        }
    }
}

impl Config {
    /// Whether a client must send credentials in CONNECT (and before anything else):
    /// auth is configured and there is no `no_auth_user` to fall back on.
    pub fn auth_required(&self) -> bool {
        self.auth.is_required() && self.no_auth_user.is_none()
    }

    /// Checks the combination of values, as nats-server does at startup.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_payload > self.max_pending {
            return Err(ConfigError::PayloadAbovePending {
                max_payload: self.max_payload,
                max_pending: self.max_pending,
            });
        }
        if self.max_payload > i32::MAX as usize {
            return Err(ConfigError::PayloadTooLarge(self.max_payload));
        }
        if self.lame_duck_grace_period >= self.lame_duck_duration
            && !self.lame_duck_duration.is_zero()
        {
            return Err(ConfigError::GraceNotBelowDuration);
        }
        if let Auth::Users(users) = &self.auth {
            if users.is_empty() {
                return Err(ConfigError::NoUsers);
            }
        }
        if let Some(name) = &self.no_auth_user {
            match &self.auth {
                Auth::Users(users) if users.iter().any(|u| &u.name == name) => {}
                Auth::Users(_) => return Err(ConfigError::NoAuthUserUnknown(name.clone())),
                _ => return Err(ConfigError::NoAuthUserWithoutUsers(name.clone())),
            }
        }
        #[cfg(not(feature = "bcrypt"))]
        if self.auth.has_bcrypt_secret() {
            return Err(ConfigError::BcryptUnsupported);
        }
        if let Auth::Users(users) = &self.auth {
            let mut keys = users.iter().filter_map(|u| u.nkey.as_deref());
            if let Some(bad) = keys.clone().find(|k| !crate::secret::is_user_nkey(k)) {
                return Err(ConfigError::BadNkey(bad.to_owned()));
            }
            if cfg!(not(feature = "nkeys")) && keys.next().is_some() {
                return Err(ConfigError::NkeysUnsupported);
            }
        }
        self.validate_accounts()
    }

    /// Checks account names, users' accounts, and that each import has a matching export
    /// the importer may use (nats-server's startup errors).
    fn validate_accounts(&self) -> Result<(), ConfigError> {
        let trust = match &self.auth {
            Auth::Operator(operator) => {
                if cfg!(not(feature = "nkeys")) {
                    return Err(ConfigError::NkeysUnsupported);
                }
                Some(operator.trust()?)
            }
            _ => None,
        };
        let accounts: Vec<&crate::Account> = self
            .accounts
            .iter()
            .chain(trust.iter().flat_map(|t| t.accounts()))
            .collect();
        let known = |name: &str| {
            name == crate::GLOBAL_ACCOUNT
                || name == self.system_account
                || accounts.iter().any(|a| a.name == name)
        };
        let remotes = &self.leaf_remotes;
        if let Some(r) = remotes
            .iter()
            .find(|r| !r.account.is_empty() && !known(&r.account))
        {
            return Err(ConfigError::UnknownAccount(r.account.clone()));
        }
        if cfg!(not(feature = "nkeys")) && remotes.iter().any(|r| r.credentials.is_some()) {
            return Err(ConfigError::NkeysUnsupported);
        }
        if let Auth::Users(users) = &self.auth {
            if let Some(u) = users
                .iter()
                .find(|u| !u.account.is_empty() && !known(&u.account))
            {
                return Err(ConfigError::UnknownAccount(u.account.clone()));
            }
            let mut seen = std::collections::HashSet::new();
            for u in users {
                let id = u.nkey.as_deref().unwrap_or(&u.name);
                if !seen.insert(id) {
                    return Err(ConfigError::DuplicateUser(id.to_owned()));
                }
            }
        }
        for account in &accounts {
            for import in &account.imports {
                let kind = import.kind.as_str();
                let Some(exporter) = accounts.iter().find(|a| a.name == import.account) else {
                    return Err(ConfigError::ImportFromUnknown {
                        kind,
                        account: import.account.clone(),
                    });
                };
                let admitted = exporter
                    .exports
                    .iter()
                    .any(|e| e.admits(import.kind, &import.subject, &account.name));
                let mapped =
                    crate::account::SubjectTransform::new(&import.subject, &import.local_subject())
                        .is_some();
                if !admitted || !mapped {
                    return Err(ConfigError::ImportNotAuthorized {
                        kind,
                        subject: import.subject.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication: `auth_required` is absent from INFO and CONNECT is optional.
    #[default]
    None,
    /// CONNECT must carry `auth_token` equal to this token (plain, or a bcrypt hash).
    Token(String),
    /// CONNECT must carry `user` and `pass` of one of these users.
    Users(Vec<User>),
    /// Operator mode: CONNECT carries a user JWT an account of the operator signed, and the
    /// INFO nonce signed by the user (a creds file).
    Operator(Box<crate::Operator>),
}

impl Auth {
    /// Whether clients must authenticate.
    pub fn is_required(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether any user authenticates with an nkey (INFO then carries a `nonce`).
    pub fn has_nkeys(&self) -> bool {
        match self {
            Self::Users(users) => users.iter().any(|u| u.nkey.is_some()),
            Self::Operator(_) => true,
            _ => false,
        }
    }

    /// Whether a token or password is a bcrypt hash (`$2a$...`).
    pub fn has_bcrypt_secret(&self) -> bool {
        match self {
            Self::None | Self::Operator(_) => false,
            Self::Token(token) => crate::secret::is_bcrypt(token),
            Self::Users(users) => users.iter().any(|u| crate::secret::is_bcrypt(&u.password)),
        }
    }
}

/// One user: name, password and what the user may do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// The user name (`user` in CONNECT).
    pub name: String,
    /// The password (`pass` in CONNECT): plain, or a bcrypt hash (`$2a$...`).
    pub password: String,
    /// Publish/subscribe permissions; `None` allows everything.
    pub permissions: Option<crate::Permissions>,
    /// `nkey`: the user's public nkey (`U...`); such a user signs the INFO `nonce` instead of
    /// giving a password (`name` and `password` are then empty).
    pub nkey: Option<String>,
    /// `allowed_connection_types`: the transports this user may connect over
    /// (`STANDARD`, `WEBSOCKET`, `IN_PROCESS`, ...; case-insensitive); `None` allows any.
    pub allowed_connection_types: Option<Vec<String>>,
    /// The account the user belongs to; empty is the global account `$G`.
    pub account: String,
}

impl User {
    /// A user with full permissions.
    pub fn new(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            password: password.into(),
            permissions: None,
            nkey: None,
            allowed_connection_types: None,
            account: String::new(),
        }
    }
}

/// An invalid combination of configuration values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_payload` above `max_pending`.
    PayloadAbovePending {
        /// The configured max_payload.
        max_payload: usize,
        /// The configured max_pending.
        max_pending: usize,
    },
    /// `max_payload` above 2^31−1.
    PayloadTooLarge(usize),
    /// Lame duck grace period not shorter than the lame duck duration.
    GraceNotBelowDuration,
    /// A users list with nobody in it.
    NoUsers,
    /// `no_auth_user` names nobody in the users list.
    NoAuthUserUnknown(String),
    /// `no_auth_user` without a users list.
    NoAuthUserWithoutUsers(String),
    /// A bcrypt-hashed password or token in a build without the `bcrypt` feature.
    BcryptUnsupported,
    /// A user `nkey` that is not a user's public nkey.
    BadNkey(String),
    /// nkey users in a build without the `nkeys` feature.
    NkeysUnsupported,
    /// A user in an account that is not configured.
    UnknownAccount(String),
    /// Two users with one name (or nkey).
    DuplicateUser(String),
    /// An import from an account that is not configured.
    ImportFromUnknown {
        /// `stream` or `service`.
        kind: &'static str,
        /// The missing account.
        account: String,
    },
    /// An operator or account JWT that cannot be trusted (the text says why).
    Jwt(String),
    /// An import no export of its account allows (or whose mapping does not fit).
    ImportNotAuthorized {
        /// `stream` or `service`.
        kind: &'static str,
        /// The imported subject.
        subject: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PayloadAbovePending {
                max_payload,
                max_pending,
            } => write!(
                f,
                "max_payload ({max_payload}) cannot be higher than max_pending ({max_pending})"
            ),
            Self::PayloadTooLarge(n) => {
                write!(f, "max_payload ({n}) cannot be higher than 2147483647")
            }
            Self::GraceNotBelowDuration => {
                f.write_str("lame duck grace period must be strictly lower than lame duck duration")
            }
            Self::NoUsers => f.write_str("authorization users list is empty"),
            Self::NoAuthUserUnknown(name) => write!(
                f,
                "no_auth_user: \"{name}\" not present as user or nkey in authorization block or account configuration"
            ),
            Self::NoAuthUserWithoutUsers(name) => write!(
                f,
                "no_auth_user: \"{name}\" present, but users/nkeys are not defined"
            ),
            Self::BcryptUnsupported => f.write_str(
                "bcrypt passwords and tokens need skiff-core's \"bcrypt\" feature (not in this build)",
            ),
            Self::BadNkey(key) => write!(f, "Not a valid public nkey for a user: {key:?}"),
            Self::NkeysUnsupported => f.write_str(
                "nkey users need skiff-core's \"nkeys\" feature (not in this build)",
            ),
            Self::UnknownAccount(name) => write!(f, "cannot find account {name:?}"),
            Self::Jwt(text) => f.write_str(text),
            Self::DuplicateUser(name) => write!(f, "Duplicate user {name:?} detected"),
            Self::ImportFromUnknown { kind, account } => {
                write!(f, "{account:?} account not defined for {kind} import")
            }
            Self::ImportNotAuthorized { kind, subject } => write!(
                f,
                "Error adding {kind} import {subject:?}: {kind} import not authorized"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
