//! Broker options as JavaScript passes them, checked and turned into a core [`Config`].
//!
//! The JavaScript object is first read into a [`Value`] (in the wasm build), so the rules here
//! are plain Rust and tested natively. Every mistake is an error that names the option: an
//! unknown key, a wrong type, a value out of range, or a combination the core rejects.

use std::time::Duration;

use skiff_core::{
    Account, Auth, Config, Export, Import, ImportKind, Permissions, ResponseType, Rules, User,
};

/// A JavaScript value, as far as options need one.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `undefined` or `null`: the option is absent.
    Absent,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<Self>),
    /// A plain object's own enumerable properties, in order.
    Object(Vec<(String, Self)>),
    /// Anything else (a function, a symbol, a bigint...), with its `typeof`.
    Other(String),
}

impl Value {
    /// A short description for error messages.
    fn describe(&self) -> String {
        match self {
            Self::Absent => "nothing".to_owned(),
            Self::Bool(b) => format!("the boolean {b}"),
            Self::Number(n) => format!("the number {n}"),
            Self::Str(s) => format!("the string {s:?}"),
            Self::List(_) => "an array".to_owned(),
            Self::Object(_) => "an object".to_owned(),
            Self::Other(kind) => format!("a {kind}"),
        }
    }
}

/// The option keys [`config_from`] accepts, for the unknown-key message.
const KEYS: &[&str] = &[
    "serverName",
    "serverId",
    "host",
    "port",
    "headers",
    "maxPayload",
    "maxControlLine",
    "maxPending",
    "maxConnections",
    "maxSubscriptions",
    "pingInterval",
    "maxPingsOut",
    "noShortFirstPing",
    "authTimeout",
    "lameDuckDuration",
    "lameDuckGracePeriod",
    "token",
    "users",
    "noAuthUser",
    "leafRemotes",
    "leafReconnect",
    "accounts",
    "systemAccount",
];

/// Builds the broker configuration from the options object (absent means all defaults).
pub fn config_from(options: &Value) -> Result<Config, String> {
    let fields = match options {
        Value::Absent => return Ok(Config::default()),
        Value::Object(fields) => fields,
        other => {
            return Err(format!(
                "broker options must be an object, got {}",
                other.describe()
            ));
        }
    };
    let mut config = Config::default();
    for (key, value) in fields {
        if matches!(value, Value::Absent) {
            continue;
        }
        let key = key.as_str();
        match key {
            "serverName" => config.server_name = string(key, value)?,
            "serverId" => config.server_id = string(key, value)?,
            "host" => config.host = string(key, value)?,
            "port" => config.port = integer(key, value, 0, u16::MAX.into())? as u16,
            "headers" => config.headers = boolean(key, value)?,
            "maxPayload" => config.max_payload = size(key, value)?,
            "maxControlLine" => config.max_control_line = size(key, value)?,
            "maxPending" => config.max_pending = size(key, value)?,
            "maxConnections" => config.max_connections = count(key, value)?,
            "maxSubscriptions" => config.max_subscriptions = count(key, value)?,
            "pingInterval" => config.ping_interval = millis(key, value)?,
            "maxPingsOut" => config.ping_max = integer(key, value, 1, u32::MAX.into())? as u32,
            "noShortFirstPing" => config.disable_short_first_ping = boolean(key, value)?,
            "authTimeout" => config.auth_timeout = millis(key, value)?,
            "lameDuckDuration" => config.lame_duck_duration = millis(key, value)?,
            "lameDuckGracePeriod" => config.lame_duck_grace_period = millis(key, value)?,
            "token" => {
                if matches!(config.auth, Auth::Users(_)) {
                    return Err(both_token_and_users());
                }
                let token = string(key, value)?;
                if token.is_empty() {
                    return Err("option token must not be empty".to_owned());
                }
                config.auth = Auth::Token(token);
            }
            "users" => {
                if matches!(config.auth, Auth::Token(_)) {
                    return Err(both_token_and_users());
                }
                // Users of `accounts` may already be there: these join them.
                let mut all = users(value)?;
                if let Auth::Users(account_users) = std::mem::take(&mut config.auth) {
                    all.extend(account_users);
                }
                config.auth = Auth::Users(all);
            }
            "noAuthUser" => config.no_auth_user = Some(string(key, value)?),
            "leafRemotes" => config.leaf_remotes = leaf_remotes(value)?,
            "accounts" => {
                let (list, account_users) = accounts(value)?;
                config.accounts = list;
                if !account_users.is_empty() {
                    config.auth = match std::mem::take(&mut config.auth) {
                        Auth::None => Auth::Users(account_users),
                        Auth::Users(mut all) => {
                            all.extend(account_users);
                            Auth::Users(all)
                        }
                        _ => return Err(both_token_and_users()),
                    };
                }
            }
            "systemAccount" => config.system_account = string(key, value)?,
            "leafReconnect" => config.leaf_reconnect = millis(key, value)?,
            unknown => {
                return Err(format!(
                    "unknown broker option {unknown:?} (known: {})",
                    KEYS.join(", ")
                ));
            }
        }
    }
    config
        .validate()
        .map_err(|e| format!("invalid broker options: {e}"))?;
    Ok(config)
}

fn both_token_and_users() -> String {
    "options token and users cannot be used together".to_owned()
}

fn string(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "option {key} must be a string, got {}",
            other.describe()
        )),
    }
}

fn boolean(key: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(format!(
            "option {key} must be a boolean, got {}",
            other.describe()
        )),
    }
}

/// A whole number in `min..=max`.
fn integer(key: &str, value: &Value, min: u64, max: u64) -> Result<u64, String> {
    match value {
        Value::Number(n) if n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64 => {
            Ok(*n as u64)
        }
        other => Err(format!(
            "option {key} must be a whole number from {min} to {max}, got {}",
            other.describe()
        )),
    }
}

/// A byte size: at least 1.
fn size(key: &str, value: &Value) -> Result<usize, String> {
    Ok(integer(key, value, 1, i32::MAX as u64)? as usize)
}

/// A count where 0 has the core's meaning (none, or unlimited).
fn count(key: &str, value: &Value) -> Result<usize, String> {
    Ok(integer(key, value, 0, i32::MAX as u64)? as usize)
}

/// A duration in milliseconds (JavaScript's unit for time).
fn millis(key: &str, value: &Value) -> Result<Duration, String> {
    integer(key, value, 0, 365 * 24 * 3600 * 1000)
        .map(Duration::from_millis)
        .map_err(|e| format!("{e} (milliseconds)"))
}

fn users(value: &Value) -> Result<Vec<User>, String> {
    let Value::List(list) = value else {
        return Err(format!(
            "option users must be an array of {{ user, password, permissions? }}, got {}",
            value.describe()
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| user(i, entry))
        .collect()
}

fn user(index: usize, value: &Value) -> Result<User, String> {
    let Value::Object(fields) = value else {
        return Err(format!(
            "users[{index}] must be an object {{ user, password, permissions? }}, got {}",
            value.describe()
        ));
    };
    let mut user = User::default();
    let mut named = false;
    for (key, value) in fields {
        let path = format!("users[{index}].{key}");
        match key.as_str() {
            "user" => {
                user.name = string(&path, value)?;
                named = true;
            }
            "password" => user.password = string(&path, value)?,
            "permissions" => user.permissions = Some(permissions(&path, value)?),
            _ => {
                return Err(format!(
                    "unknown option {path} (known: user, password, permissions)"
                ));
            }
        }
    }
    if !named || user.name.is_empty() {
        return Err(format!("users[{index}].user must be a non-empty string"));
    }
    Ok(user)
}

fn permissions(path: &str, value: &Value) -> Result<Permissions, String> {
    let Value::Object(fields) = value else {
        return Err(format!(
            "option {path} must be an object {{ publish?, subscribe? }}, got {}",
            value.describe()
        ));
    };
    let mut permissions = Permissions::default();
    for (key, value) in fields {
        let inner = format!("{path}.{key}");
        match key.as_str() {
            "publish" => permissions.publish = rules(&inner, value)?,
            "subscribe" => permissions.subscribe = rules(&inner, value)?,
            "allowResponses" => {
                permissions.responses = match value {
                    Value::Bool(false) => None,
                    Value::Bool(true) => Some(skiff_core::ResponsePermission::default()),
                    Value::Object(limits) => {
                        let mut r = skiff_core::ResponsePermission::default();
                        for (k, v) in limits {
                            let field = format!("{inner}.{k}");
                            match k.as_str() {
                                "max" => r.max = integer(&field, v, 0, u32::MAX.into())? as u32,
                                "expires" => r.expires = millis(&field, v)?,
                                _ => {
                                    return Err(format!(
                                        "unknown option {field} (known: max, expires)"
                                    ));
                                }
                            }
                        }
                        // As nats-server: a zero means the default.
                        let defaults = skiff_core::ResponsePermission::default();
                        if r.max == 0 {
                            r.max = defaults.max;
                        }
                        if r.expires.is_zero() {
                            r.expires = defaults.expires;
                        }
                        Some(r)
                    }
                    other => {
                        return Err(format!(
                            "option {inner} must be a boolean or {{ max?, expires? }}, got {}",
                            other.describe()
                        ));
                    }
                }
            }
            _ => {
                return Err(format!(
                    "unknown option {inner} (known: publish, subscribe, allowResponses)"
                ));
            }
        }
    }
    Ok(permissions)
}

/// `accounts: { NAME: { users?, exports?, imports? } }`, as nats-server's `accounts` block:
/// the accounts, and their users (each naming its account).
fn accounts(value: &Value) -> Result<(Vec<Account>, Vec<User>), String> {
    let Value::Object(entries) = value else {
        return Err(format!(
            "option accounts must be an object {{ NAME: {{ users?, exports?, imports? }} }}, got {}",
            value.describe()
        ));
    };
    let (mut list, mut all_users) = (Vec::new(), Vec::new());
    for (name, body) in entries {
        let path = format!("accounts.{name}");
        let Value::Object(fields) = body else {
            return Err(format!(
                "option {path} must be an object, got {}",
                body.describe()
            ));
        };
        let mut account = Account::new(name.clone());
        for (key, value) in fields {
            let inner = format!("{path}.{key}");
            match key.as_str() {
                "users" => {
                    for mut user in users(value)? {
                        user.account = name.clone();
                        all_users.push(user);
                    }
                }
                "exports" => account.exports = items(&inner, value, export)?,
                "imports" => account.imports = items(&inner, value, import)?,
                _ => {
                    return Err(format!(
                        "unknown option {inner} (known: users, exports, imports)"
                    ));
                }
            }
        }
        list.push(account);
    }
    Ok((list, all_users))
}

/// Reads one object (its path and fields) of an options array.
type ItemReader<T> = fn(&str, &[(String, Value)]) -> Result<T, String>;

/// Each object of an array, read by `item`.
fn items<T>(path: &str, value: &Value, item: ItemReader<T>) -> Result<Vec<T>, String> {
    let Value::List(list) = value else {
        return Err(format!(
            "option {path} must be an array, got {}",
            value.describe()
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("{path}[{i}]");
            match v {
                Value::Object(fields) => item(&at, fields),
                other => Err(format!(
                    "option {at} must be an object, got {}",
                    other.describe()
                )),
            }
        })
        .collect()
}

/// `{ stream | service: SUBJECT, accounts?, responseType?, responseThreshold? }`.
fn export(path: &str, fields: &[(String, Value)]) -> Result<Export, String> {
    let mut export: Option<Export> = None;
    let mut accounts = None;
    let (mut response_type, mut threshold) = (None, None);
    for (key, value) in fields {
        let inner = format!("{path}.{key}");
        match key.as_str() {
            "stream" => export = Some(Export::new(ImportKind::Stream, string(&inner, value)?)),
            "service" => export = Some(Export::new(ImportKind::Service, string(&inner, value)?)),
            "accounts" => accounts = Some(subjects(&inner, value)?),
            "responseType" => {
                response_type = Some(match string(&inner, value)?.as_str() {
                    "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Stream,
                    "chunked" => ResponseType::Chunked,
                    other => {
                        return Err(format!(
                            "option {inner} must be singleton, stream or chunked, got {other:?}"
                        ));
                    }
                });
            }
            "responseThreshold" => threshold = Some(millis(&inner, value)?),
            _ => {
                return Err(format!(
                    "unknown option {inner} (known: stream, service, accounts, responseType, responseThreshold)"
                ));
            }
        }
    }
    let mut export =
        export.ok_or_else(|| format!("option {path} needs a stream or a service subject"))?;
    export.accounts = accounts;
    if let Some(r) = response_type {
        export.response_type = r;
    }
    if let Some(t) = threshold {
        export.response_threshold = t;
    }
    Ok(export)
}

/// `{ stream | service: { account, subject }, to?, prefix? }`.
fn import(path: &str, fields: &[(String, Value)]) -> Result<Import, String> {
    let mut import: Option<Import> = None;
    let (mut to, mut prefix) = (None, None);
    for (key, value) in fields {
        let inner = format!("{path}.{key}");
        match key.as_str() {
            "stream" | "service" => {
                let kind = if key == "stream" {
                    ImportKind::Stream
                } else {
                    ImportKind::Service
                };
                let Value::Object(source) = value else {
                    return Err(format!(
                        "option {inner} must be {{ account, subject }}, got {}",
                        value.describe()
                    ));
                };
                let field = |name: &str| {
                    source
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| string(&format!("{inner}.{name}"), v))
                        .unwrap_or_else(|| Err(format!("option {inner} needs {name}")))
                };
                import = Some(Import::new(kind, field("account")?, field("subject")?));
            }
            "to" => to = Some(string(&inner, value)?),
            "prefix" => prefix = Some(string(&inner, value)?),
            _ => {
                return Err(format!(
                    "unknown option {inner} (known: stream, service, to, prefix)"
                ));
            }
        }
    }
    let mut import =
        import.ok_or_else(|| format!("option {path} needs a stream or a service source"))?;
    import.to = to;
    import.prefix = prefix;
    Ok(import)
}

/// `["a.>", ...]` (an allow list, as nats-server's config accepts) or `{ allow?, deny? }`.
fn rules(path: &str, value: &Value) -> Result<Rules, String> {
    match value {
        Value::List(_) | Value::Str(_) => Ok(Rules {
            allow: Some(subjects(path, value)?),
            deny: Vec::new(),
        }),
        Value::Object(fields) => {
            let mut rules = Rules::default();
            for (key, value) in fields {
                let inner = format!("{path}.{key}");
                match key.as_str() {
                    "allow" => rules.allow = Some(subjects(&inner, value)?),
                    "deny" => rules.deny = subjects(&inner, value)?,
                    _ => return Err(format!("unknown option {inner} (known: allow, deny)")),
                }
            }
            Ok(rules)
        }
        other => Err(format!(
            "option {path} must be a subject list or {{ allow?, deny? }}, got {}",
            other.describe()
        )),
    }
}

/// `leafRemotes: [{ url | urls, denyImports, denyExports, account }]`: hubs the page's broker joins
/// as a leaf, over the page's WebSocket (`ws://` or `wss://`, the hub's websocket listener).
fn leaf_remotes(value: &Value) -> Result<Vec<skiff_core::LeafRemote>, String> {
    let Value::List(items) = value else {
        return Err(format!(
            "option leafRemotes must be an array, got {}",
            value.describe()
        ));
    };
    let url = |path: &str, value: &Value| {
        let text = string(path, value)?;
        let url = skiff_core::LeafUrl::parse(&text).map_err(|e| format!("option {path}: {e}"))?;
        if !url.is_websocket() {
            return Err(format!(
                "option {path}: a page reaches a hub only over WebSocket (ws:// or wss://), got {text:?}"
            ));
        }
        Ok(url)
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("leafRemotes[{i}]");
            let Value::Object(fields) = item else {
                return Err(format!("option {path} must be an object, got {}", item.describe()));
            };
            let mut remote = skiff_core::LeafRemote::default();
            for (key, value) in fields {
                let inner = format!("{path}.{key}");
                match key.as_str() {
                    "url" => remote.urls.push(url(&inner, value)?),
                    "urls" => match value {
                        Value::List(urls) => {
                            for (j, u) in urls.iter().enumerate() {
                                remote.urls.push(url(&format!("{inner}[{j}]"), u)?);
                            }
                        }
                        other => remote.urls.push(url(&inner, other)?),
                    },
                    "denyImports" => remote.deny_imports = subjects(&inner, value)?,
                    "denyExports" => remote.deny_exports = subjects(&inner, value)?,
                    "account" => remote.account = string(&inner, value)?,
                    unknown => {
                        return Err(format!(
                            "unknown option {path}.{unknown} (known: url, urls, denyImports, denyExports, account)"
                        ));
                    }
                }
            }
            if remote.urls.is_empty() {
                return Err(format!("option {path} needs a url"));
            }
            Ok(remote)
        })
        .collect()
}

fn subjects(path: &str, value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Str(s) => Ok(vec![s.clone()]),
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(&format!("{path}[{i}]"), item))
            .collect(),
        other => Err(format!(
            "option {path} must be a subject or an array of subjects, got {}",
            other.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(fields: &[(&str, Value)]) -> Value {
        Value::Object(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    #[test]
    fn absent_options_are_the_defaults() {
        assert_eq!(config_from(&Value::Absent), Ok(Config::default()));
        assert_eq!(config_from(&object(&[])), Ok(Config::default()));
    }

    #[test]
    fn limits_names_and_durations_are_read() {
        let config = config_from(&object(&[
            ("serverName", s("page")),
            ("maxPayload", Value::Number(1024.0)),
            ("maxPending", Value::Number(4096.0)),
            ("maxSubscriptions", Value::Number(0.0)),
            ("pingInterval", Value::Number(1500.0)),
            ("lameDuckDuration", Value::Number(2000.0)),
            ("lameDuckGracePeriod", Value::Number(100.0)),
            ("port", Value::Absent),
        ]))
        .unwrap();
        assert_eq!(config.server_name, "page");
        assert_eq!((config.max_payload, config.max_pending), (1024, 4096));
        assert_eq!(config.ping_interval, Duration::from_millis(1500));
        assert_eq!(config.lame_duck_grace_period, Duration::from_millis(100));
    }

    #[test]
    fn users_with_permissions_and_token() {
        let config = config_from(&object(&[(
            "users",
            Value::List(vec![object(&[
                ("user", s("alice")),
                ("password", s("pw")),
                (
                    "permissions",
                    object(&[
                        ("publish", Value::List(vec![s("a.>")])),
                        ("subscribe", object(&[("deny", s("secret"))])),
                    ]),
                ),
            ])]),
        )]))
        .unwrap();
        let Auth::Users(users) = &config.auth else {
            panic!("users expected")
        };
        let perms = users[0].permissions.as_ref().unwrap();
        assert_eq!(perms.publish.allow, Some(vec!["a.>".to_owned()]));
        assert_eq!(perms.subscribe.deny, vec!["secret".to_owned()]);
        let config = config_from(&object(&[("token", s("t0k"))])).unwrap();
        assert_eq!(config.auth, Auth::Token("t0k".to_owned()));
    }

    #[test]
    fn mistakes_name_the_option() {
        let err = |v: Value| config_from(&v).unwrap_err();
        assert!(err(s("x")).contains("must be an object"));
        assert!(err(object(&[("maxPayloadd", Value::Number(1.0))])).contains("\"maxPayloadd\""));
        assert!(err(object(&[("maxPayload", s("1MB"))])).contains("option maxPayload"));
        assert!(err(object(&[("maxPayload", Value::Number(-1.0))])).contains("whole number"));
        assert!(err(object(&[("maxPayload", Value::Number(1.5))])).contains("whole number"));
        assert!(err(object(&[("headers", Value::Number(1.0))])).contains("boolean"));
        assert!(err(object(&[("pingInterval", s("2s"))])).contains("milliseconds"));
        assert!(
            err(object(&[("token", s("a")), ("users", Value::List(vec![]))])).contains("together")
        );
        assert!(err(object(&[("users", Value::List(vec![]))])).contains("invalid broker options"));
        assert!(
            err(object(&[(
                "users",
                Value::List(vec![object(&[("password", s("p"))])])
            )]))
            .contains("users[0].user")
        );
        assert!(
            err(object(&[
                ("maxPayload", Value::Number(10.0)),
                ("maxPending", Value::Number(5.0))
            ]))
            .contains("max_pending")
        );
        assert!(err(object(&[("onEvent", Value::Other("function".into()))])).contains("unknown"));
    }

    #[test]
    fn leaf_remotes_are_websocket_urls() {
        let options = object(&[
            (
                "leafRemotes",
                Value::List(vec![object(&[
                    ("url", s("ws://127.0.0.1:8080")),
                    ("denyExports", s("secret.>")),
                ])]),
            ),
            ("leafReconnect", Value::Number(250.0)),
        ]);
        let config = config_from(&options).unwrap();
        assert_eq!(config.leaf_remotes[0].urls[0].port, 8080);
        assert_eq!(config.leaf_remotes[0].deny_exports, ["secret.>"]);
        assert_eq!(config.leaf_reconnect, Duration::from_millis(250));
        let tcp = object(&[(
            "leafRemotes",
            Value::List(vec![object(&[("url", s("nats-leaf://hub:7422"))])]),
        )]);
        assert!(
            config_from(&tcp)
                .unwrap_err()
                .contains("only over WebSocket")
        );
        let empty = object(&[("leafRemotes", Value::List(vec![object(&[])]))]);
        assert!(config_from(&empty).unwrap_err().contains("needs a url"));
    }

    fn user(name: &str) -> Value {
        object(&[("user", s(name)), ("password", s("pw"))])
    }

    #[test]
    fn accounts_with_users_exports_and_imports() {
        let a = object(&[
            ("users", Value::List(vec![user("a")])),
            (
                "exports",
                Value::List(vec![object(&[
                    ("service", s("help")),
                    ("responseType", s("stream")),
                ])]),
            ),
        ]);
        let b = object(&[
            ("users", Value::List(vec![user("b")])),
            (
                "imports",
                Value::List(vec![object(&[
                    (
                        "service",
                        object(&[("account", s("A")), ("subject", s("help"))]),
                    ),
                    ("to", s("ask")),
                ])]),
            ),
        ]);
        // Account users and global users join, whichever option comes first.
        let config = config_from(&object(&[
            ("accounts", object(&[("A", a), ("B", b)])),
            ("users", Value::List(vec![user("g")])),
        ]))
        .unwrap();
        let Auth::Users(users) = &config.auth else {
            panic!("users");
        };
        let mut homes: Vec<(&str, &str)> = users
            .iter()
            .map(|u| (u.name.as_str(), u.account.as_str()))
            .collect();
        homes.sort_unstable();
        assert_eq!(homes, [("a", "A"), ("b", "B"), ("g", "")]);
        assert_eq!(
            config.accounts[0].exports[0].response_type,
            ResponseType::Stream
        );
        assert_eq!(config.accounts[1].imports[0].to.as_deref(), Some("ask"));
        let error = config_from(&object(&[(
            "accounts",
            object(&[(
                "B",
                object(&[(
                    "imports",
                    Value::List(vec![object(&[(
                        "service",
                        object(&[("account", s("Z")), ("subject", s("x"))]),
                    )])]),
                )]),
            )]),
        )]))
        .unwrap_err();
        assert!(error.contains("account not defined"), "{error}");
    }
}
