//! The CONNECT options a client sends, and the authentication check against the config.

use serde::Deserialize;

use crate::secret::secret_matches;
use crate::{Auth, Permissions};

/// The options of a client's CONNECT. Absent fields keep nats-server's defaults
/// (`verbose`, `pedantic` and `echo` default to true).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct ConnectOptions {
    pub(crate) verbose: bool,
    pub(crate) pedantic: bool,
    pub(crate) echo: bool,
    pub(crate) headers: bool,
    pub(crate) no_responders: bool,
    pub(crate) protocol: i64,
    #[serde(deserialize_with = "null_as_empty")]
    pub(crate) name: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub(crate) lang: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub(crate) version: String,
    pub(crate) auth_token: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) pass: Option<String>,
    pub(crate) account: Option<serde_json::Value>,
    pub(crate) new_account: Option<serde_json::Value>,
}

/// A JSON `null` string is empty, as Go's decoder leaves a string untouched on `null`
/// (async-nats sends `"name":null`).
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
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
            account: None,
            new_account: None,
        }
    }
}

impl ConnectOptions {
    /// Decodes CONNECT's JSON over the current options (a second CONNECT starts from defaults,
    /// as nats-server unmarshals over its defaults).
    pub(crate) fn parse(json: &[u8]) -> Option<Self> {
        serde_json::from_slice(json).ok()
    }

    /// Checks these credentials against `auth`: `None` when they fail, else the permissions
    /// of the authenticated user (`Some(None)` when unrestricted). A CONNECT without any
    /// credentials is `no_auth_user` when one is configured.
    pub(crate) fn authorize<'a>(
        &self,
        auth: &'a Auth,
        no_auth_user: Option<&str>,
    ) -> Option<Option<&'a Permissions>> {
        match auth {
            Auth::None => Some(None),
            Auth::Token(token) => self
                .auth_token
                .as_deref()
                .is_some_and(|given| secret_matches(token, given))
                .then_some(None),
            Auth::Users(users) if self.has_no_credentials() => {
                let name = no_auth_user?;
                users
                    .iter()
                    .find(|u| u.name == name)
                    .map(|u| u.permissions.as_ref())
            }
            Auth::Users(users) => {
                let (user, pass) = (self.user.as_deref()?, self.pass.as_deref()?);
                users
                    .iter()
                    .find(|u| u.name == user && secret_matches(&u.password, pass))
                    .map(|u| u.permissions.as_ref())
            }
        }
    }

    /// Whether CONNECT carries no user, password or token.
    fn has_no_credentials(&self) -> bool {
        [&self.user, &self.pass, &self.auth_token]
            .iter()
            .all(|field| field.as_deref().unwrap_or_default().is_empty())
    }

    /// Whether these credentials satisfy `auth`.
    #[cfg(test)]
    fn is_authorized(&self, auth: &Auth) -> bool {
        self.authorize(auth, None).is_some()
    }
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
