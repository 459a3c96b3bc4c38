//! The CONNECT options a client sends, and the authentication check against the config.

use super::gojson::{self, Field, GoType, GoValue};

use crate::secret::secret_matches;
use crate::{Auth, Permissions};

/// The options of a client's CONNECT. Absent fields keep nats-server's defaults
/// (`verbose`, `pedantic` and `echo` default to true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectOptions {
    pub(crate) verbose: bool,
    pub(crate) pedantic: bool,
    pub(crate) echo: bool,
    pub(crate) headers: bool,
    pub(crate) no_responders: bool,
    pub(crate) protocol: i64,
    pub(crate) name: String,
    pub(crate) lang: String,
    pub(crate) version: String,
    pub(crate) auth_token: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) pass: Option<String>,
    /// `nkey`: the public nkey a client signs the nonce with.
    pub(crate) nkey: String,
    /// `sig`: its signature of the INFO nonce (base64).
    pub(crate) sig: String,
    /// `jwt`: a user JWT (operator mode).
    pub(crate) jwt: String,
    /// `account`: asking for an account by name is refused, as nats-server does.
    pub(crate) account: String,
    /// `new_account`: asking for a new account is refused, as nats-server does.
    pub(crate) new_account: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            verbose: true,
            pedantic: true,
            echo: true,
            headers: false,
            no_responders: false,
            protocol: 0,
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            auth_token: None,
            user: None,
            pass: None,
            nkey: String::new(),
            sig: String::new(),
            jwt: String::new(),
            account: String::new(),
            new_account: false,
        }
    }
}

/// nats-server's `SubjectPermission` (`import` / `export` in a CONNECT).
const SUBJECT_PERMISSION: &[Field] = &[
    Field::new("allow", GoType::Strings),
    Field::new("deny", GoType::Strings),
];

/// The fields of nats-server's `ClientOpts`, with their Go types. A field Skiff does not use is
/// still type-checked, as nats-server rejects `{"jwt":5}`.
const CONNECT_FIELDS: &[Field] = &[
    Field::new("echo", GoType::Bool),
    Field::new("verbose", GoType::Bool),
    Field::new("pedantic", GoType::Bool),
    Field::new("tls_required", GoType::Bool),
    Field::new("nkey", GoType::String),
    Field::new("jwt", GoType::String),
    Field::new("sig", GoType::String),
    Field::new("auth_token", GoType::String),
    Field::new("user", GoType::String),
    Field::new("pass", GoType::String),
    Field::new("name", GoType::String),
    Field::new("lang", GoType::String),
    Field::new("version", GoType::String),
    Field::new("protocol", GoType::INT),
    Field::new("account", GoType::String),
    Field::new("new_account", GoType::Bool),
    Field::new("headers", GoType::Bool),
    Field::new("no_responders", GoType::Bool),
    Field::new("import", GoType::Struct(SUBJECT_PERMISSION)),
    Field::new("export", GoType::Struct(SUBJECT_PERMISSION)),
    Field::new("remote_account", GoType::String),
    Field::new("proxy_sig", GoType::String),
];

impl ConnectOptions {
    /// Decodes CONNECT's JSON over these options, as nats-server unmarshals each CONNECT over
    /// the options it holds (the defaults, then whatever an earlier CONNECT set), with Go's
    /// rules (see [`gojson`]).
    ///
    /// # Errors
    ///
    /// JSON nats-server would reject (and close the connection for).
    pub(crate) fn update(&self, json: &[u8]) -> Result<Self, gojson::Error> {
        let mut opts = self.clone();
        gojson::decode(json, CONNECT_FIELDS, &mut |index, value| {
            opts.set(CONNECT_FIELDS[index].name, value);
        })?;
        Ok(opts)
    }

    /// Decodes CONNECT's JSON over the defaults.
    #[cfg(test)]
    pub(crate) fn parse(json: &[u8]) -> Option<Self> {
        Self::default().update(json).ok()
    }

    /// The credentials given, as nats-server names them in an authentication error (never
    /// the secret: a token is `[REDACTED]`, a password is not shown).
    pub(crate) fn credentials(&self) -> Option<String> {
        let quoted = |s: &str| crate::notice::go_quote(s.as_bytes());
        if !self.nkey.is_empty() {
            Some(format!("Nkey {}", quoted(&self.nkey)))
        } else if let Some(user) = &self.user {
            Some(format!("User {}", quoted(user)))
        } else if self.auth_token.is_some() {
            Some("Token \"[REDACTED]\"".to_owned())
        } else {
            None
        }
    }

    /// nats-server's label for an authenticated client: its account and the user,
    /// `ACCOUNT/user:NAME` or `ACCOUNT/token`.
    pub(crate) fn user_label(&self, account: &str) -> Option<String> {
        match (&self.user, &self.auth_token) {
            (Some(user), _) => Some(format!("{account}/user:{user}")),
            (None, Some(_)) => Some(format!("{account}/token")),
            (None, None) => None,
        }
    }

    /// nats-server's label for a client that named itself: `vVERSION:LANG:NAME`, each part
    /// only when given (empty when none is).
    pub(crate) fn client_label(&self) -> String {
        let parts = [
            (!self.version.is_empty()).then(|| format!("v{}", self.version)),
            (!self.lang.is_empty()).then(|| self.lang.clone()),
            (!self.name.is_empty()).then(|| self.name.clone()),
        ];
        parts.into_iter().flatten().collect::<Vec<_>>().join(":")
    }

    /// Sets the field `name` (one of [`CONNECT_FIELDS`], with a value of its type).
    fn set(&mut self, name: &str, value: GoValue) {
        match (name, value) {
            ("echo", GoValue::Bool(b)) => self.echo = b,
            ("verbose", GoValue::Bool(b)) => self.verbose = b,
            ("pedantic", GoValue::Bool(b)) => self.pedantic = b,
            ("headers", GoValue::Bool(b)) => self.headers = b,
            ("no_responders", GoValue::Bool(b)) => self.no_responders = b,
            ("new_account", GoValue::Bool(b)) => self.new_account = b,
            ("protocol", GoValue::Int(n)) => {
                self.protocol = i64::try_from(n).expect("checked as Go's int")
            }
            ("name", GoValue::String(s)) => self.name = s,
            ("lang", GoValue::String(s)) => self.lang = s,
            ("version", GoValue::String(s)) => self.version = s,
            ("account", GoValue::String(s)) => self.account = s,
            ("nkey", GoValue::String(s)) => self.nkey = s,
            ("sig", GoValue::String(s)) => self.sig = s,
            ("jwt", GoValue::String(s)) => self.jwt = s,
            // Go's empty string is "not given".
            ("auth_token", GoValue::String(s)) => {
                self.auth_token = Some(s).filter(|s| !s.is_empty())
            }
            ("user", GoValue::String(s)) => self.user = Some(s).filter(|s| !s.is_empty()),
            ("pass", GoValue::String(s)) => self.pass = Some(s).filter(|s| !s.is_empty()),
            _ => {}
        }
    }

    /// Whether the client asked for an account (nats-server refuses it with an
    /// authorization violation).
    pub(crate) fn asks_for_account(&self) -> bool {
        self.new_account || !self.account.is_empty()
    }

    /// Checks these credentials against `auth`: `None` when they fail, else the user's
    /// permissions and account. A CONNECT without any credentials is `no_auth_user` when one
    /// is configured.
    pub(crate) fn authorize<'a>(
        &self,
        auth: &'a Auth,
        no_auth_user: Option<&str>,
        transport: crate::Transport,
        nonce: Option<&str>,
        tls_names: Option<&[String]>,
    ) -> Option<Authorized<'a>> {
        let as_user = |u: &'a crate::User| Authorized {
            permissions: u.permissions.as_ref(),
            account: &u.account,
            user: u.nkey.as_deref().unwrap_or(&u.name),
        };
        let allowed = |u: &crate::User| {
            u.allowed_connection_types.as_ref().is_none_or(|types| {
                types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(transport.connection_type()))
            })
        };
        match auth {
            // `verify_and_map`: the certificate names the user; CONNECT's credentials are
            // not looked at.
            Auth::Users(users) if tls_names.is_some() => {
                let names = tls_names.unwrap_or_default();
                users
                    .iter()
                    .find(|u| u.nkey.is_none() && names.contains(&u.name))
                    .filter(|u| allowed(u))
                    .map(as_user)
            }
            Auth::None => Some(Authorized::default()),
            // Checked by the broker against the operator's trust.
            Auth::Operator(_) => None,
            Auth::Token(token) => self
                .auth_token
                .as_deref()
                .is_some_and(|given| secret_matches(token, given))
                .then(Authorized::default),
            Auth::Users(users) if !self.nkey.is_empty() => {
                let nonce = nonce?;
                users
                    .iter()
                    .find(|u| u.nkey.as_deref() == Some(self.nkey.as_str()))
                    .filter(|u| allowed(u))
                    .filter(|_| crate::secret::nkey_signed(&self.nkey, nonce.as_bytes(), &self.sig))
                    .map(as_user)
            }
            Auth::Users(users) if self.has_no_credentials() => {
                let name = no_auth_user?;
                users
                    .iter()
                    .find(|u| u.name == name)
                    .filter(|u| allowed(u))
                    .map(as_user)
            }
            Auth::Users(users) => {
                let (user, pass) = (self.user.as_deref()?, self.pass.as_deref()?);
                users
                    .iter()
                    .find(|u| {
                        u.nkey.is_none() && u.name == user && secret_matches(&u.password, pass)
                    })
                    .filter(|u| allowed(u))
                    .map(as_user)
            }
        }
    }

    /// Whether CONNECT carries no user, password or token.
    fn has_no_credentials(&self) -> bool {
        self.nkey.is_empty()
            && [&self.user, &self.pass, &self.auth_token]
                .iter()
                .all(|field| field.as_deref().unwrap_or_default().is_empty())
    }

    /// Whether these credentials satisfy `auth`.
    #[cfg(test)]
    fn is_authorized(&self, auth: &Auth) -> bool {
        self.authorize(auth, None, crate::Transport::Tcp, None, None)
            .is_some()
    }
}

/// Who a CONNECT authenticated as.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Authorized<'a> {
    /// The user's permissions; `None` is unrestricted.
    pub(crate) permissions: Option<&'a Permissions>,
    /// The user's account; empty is the global account.
    pub(crate) account: &'a str,
    /// The user's name or nkey (empty for token or no authentication).
    pub(crate) user: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::User;

    #[test]
    fn null_strings_are_accepted() {
        let json = br#"{"verbose":false,"jwt":null,"nkey":null,"sig":null,"name":null,"lang":"rust","user":null,"pass":null,"auth_token":null}"#;
        let options = ConnectOptions::parse(json).expect("null fields decode");
        assert_eq!(
            (
                options.name.as_str(),
                options.lang.as_str(),
                options.verbose
            ),
            ("", "rust", false)
        );
    }

    #[test]
    fn defaults_apply_to_absent_fields() {
        let opts = ConnectOptions::parse(b"{}").unwrap();
        assert!(opts.verbose && opts.pedantic && opts.echo && !opts.headers);
        let opts = ConnectOptions::parse(br#"{"verbose":false,"headers":true,"x":1}"#).unwrap();
        assert!(!opts.verbose && opts.pedantic && opts.headers);
        assert!(ConnectOptions::parse(b"{").is_none());
        assert!(ConnectOptions::parse(br#"{"verbose":"yes"}"#).is_none());
    }

    #[test]
    fn keys_as_go_reads_them() {
        let opts = ConnectOptions::parse(
            br#"{"Echo":false,"User":"a","Pass":"b","Auth_Token":"x","Headers":true,"VERBOSE":null}"#,
        )
        .unwrap();
        assert!(!opts.echo && opts.headers && opts.verbose);
        assert_eq!(
            (
                opts.user.as_deref(),
                opts.pass.as_deref(),
                opts.auth_token.as_deref()
            ),
            (Some("a"), Some("b"), Some("x"))
        );
        let opts = ConnectOptions::parse(
            br#"{"verbose":false,"Verbose":true,"protocol":1,"protocol":null}"#,
        )
        .unwrap();
        assert!(opts.verbose);
        assert_eq!(opts.protocol, 1);
        let opts = ConnectOptions::parse(b"{\"name\":\"\xff\\ud800\"}").unwrap();
        assert_eq!(opts.name, "\u{FFFD}\u{FFFD}");
        assert!(ConnectOptions::parse(br#"{"jwt":5}"#).is_none());
    }

    #[test]
    fn a_second_connect_decodes_over_the_first() {
        let first = ConnectOptions::parse(br#"{"verbose":false,"name":"n"}"#).unwrap();
        let second = first.update(br#"{"echo":false}"#).unwrap();
        assert!(!second.verbose && !second.echo);
        assert_eq!(second.name, "n");
        assert_eq!(first.update(b"null").unwrap(), first);
    }

    #[test]
    fn only_a_named_or_new_account_is_asked_for() {
        let empty = ConnectOptions::parse(br#"{"account":"","new_account":false}"#).unwrap();
        assert!(!empty.asks_for_account());
        for json in [&br#"{"account":"x"}"#[..], br#"{"new_account":true}"#] {
            assert!(ConnectOptions::parse(json).unwrap().asks_for_account());
        }
    }

    #[test]
    fn auth_checks() {
        let token = Auth::Token("s3cr3t".into());
        let ok = ConnectOptions::parse(br#"{"auth_token":"s3cr3t"}"#).unwrap();
        let bad = ConnectOptions::parse(br#"{"auth_token":"nope"}"#).unwrap();
        assert!(ok.is_authorized(&token) && !bad.is_authorized(&token));
        let users = Auth::Users(vec![User {
            name: "a".into(),
            password: "b".into(),
            ..Default::default()
        }]);
        let ok = ConnectOptions::parse(br#"{"user":"a","pass":"b"}"#).unwrap();
        let bad = ConnectOptions::parse(br#"{"user":"a","pass":"c"}"#).unwrap();
        assert!(ok.is_authorized(&users) && !bad.is_authorized(&users));
        assert!(!ConnectOptions::default().is_authorized(&users));
    }
}
