//! Operator mode (decentralized authentication): trusted operator JWTs, account JWTs the
//! operator signed (nats-server's `resolver: MEMORY` with `resolver_preload`), and users who
//! connect with a JWT their account signed plus the INFO nonce signed by their own key (what
//! a client's creds file holds).

use std::time::Duration;

use crate::jwt::{self, Claims, SigningKey};
use crate::{Account, ConfigError, Export, Import, ImportKind, Permissions, ResponseType, Rules};

/// The trust configuration of operator mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operator {
    /// Operator JWTs (`operator`, `trusted_operators`): the roots of trust.
    pub operators: Vec<String>,
    /// Account JWTs the operator signed (`resolver_preload`).
    pub accounts: Vec<String>,
}

/// What the JWTs of an [`Operator`] establish.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// The accounts, with the keys that may sign their users.
    pub(crate) accounts: Vec<TrustedAccount>,
    /// The system account the operator names, if any.
    pub(crate) system_account: Option<String>,
}

/// One account an operator signed.
#[derive(Debug, Clone)]
pub(crate) struct TrustedAccount {
    /// Its public key (also its name).
    pub(crate) key: String,
    /// Keys besides its own that may sign its users.
    signing_keys: Vec<SigningKey>,
    /// Permissions of users whose JWT carries none.
    default_permissions: Option<Permissions>,
    /// Expiry, Unix seconds (0: never).
    expires: i64,
    /// Its limits.
    limits: jwt::Limits,
    /// Revoked users: public key (or `*`) → users issued at or before this time are refused.
    revocations: std::collections::HashMap<String, i64>,
    /// The account as the broker routes it.
    pub(crate) account: Account,
}

/// A user a JWT authenticated.
#[derive(Debug, Clone)]
pub(crate) struct JwtUser {
    /// The account's public key.
    pub(crate) account: String,
    /// The user's public key.
    pub(crate) user: String,
    /// Its permissions (`None`: unrestricted).
    pub(crate) permissions: Option<Permissions>,
    /// When its JWT expires, Unix seconds.
    pub(crate) expires: Option<i64>,
    /// Connections its account may have at once.
    pub(crate) max_connections: Option<u64>,
    /// Subscriptions per connection (the smaller of the user's and the account's).
    pub(crate) max_subscriptions: Option<u64>,
    /// Largest message it may publish (the smaller of the user's and the account's).
    pub(crate) max_payload: Option<u64>,
}

impl Operator {
    /// Verifies the operator and account JWTs.
    ///
    /// # Errors
    /// A JWT that does not decode, is not the right kind, or that no trusted operator signed.
    pub(crate) fn trust(&self) -> Result<Trust, ConfigError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| ConfigError::Jwt(format!("{what}: {e}"));
        if self.operators.is_empty() {
            return Err(ConfigError::Jwt(
                "operator mode needs an operator JWT".into(),
            ));
        }
        let mut trusted = Vec::new();
        let mut system_account = None;
        for token in &self.operators {
            let claims = jwt::decode(token).map_err(|e| bad("error parsing operator JWT", &e))?;
            if claims.nats.kind != "operator" || !claims.sub.starts_with('O') {
                return Err(ConfigError::Jwt(format!(
                    "error parsing operator JWT: not an operator JWT (type {:?})",
                    claims.nats.kind
                )));
            }
            trusted.push(claims.sub.clone());
            trusted.extend(claims.nats.signing_keys.iter().map(|k| k.key().to_owned()));
            if !claims.nats.system_account.is_empty() {
                system_account = Some(claims.nats.system_account.clone());
            }
        }
        let mut accounts = Vec::new();
        for token in &self.accounts {
            let claims = jwt::decode(token).map_err(|e| bad("error parsing account JWT", &e))?;
            if claims.nats.kind != "account" || !claims.sub.starts_with('A') {
                return Err(ConfigError::Jwt(format!(
                    "account JWT for {:?} is not an account JWT",
                    claims.sub
                )));
            }
            if !trusted.contains(&claims.iss) {
                return Err(ConfigError::Jwt(format!(
                    "account JWT for {:?} not signed by a trusted operator",
                    claims.sub
                )));
            }
            accounts.push(TrustedAccount::from_claims(claims));
        }
        Ok(Trust {
            accounts,
            system_account,
        })
    }
}

impl TrustedAccount {
    fn from_claims(claims: Claims) -> Self {
        let nats = claims.nats;
        let mut account = Account::new(claims.sub.clone());
        account.exports = nats
            .exports
            .iter()
            .filter(|e| !e.token_req)
            .filter_map(|e| {
                let mut export = Export::new(kind(&e.kind)?, e.subject.clone());
                export.response_type = match e.response_type.to_ascii_lowercase().as_str() {
                    "stream" => ResponseType::Stream,
                    "chunked" => ResponseType::Chunked,
                    _ => ResponseType::Singleton,
                };
                if e.response_threshold > 0 {
                    export.response_threshold = nanos(e.response_threshold);
                }
                Some(export)
            })
            .collect();
        account.imports = nats
            .imports
            .iter()
            .filter_map(|i| {
                let kind = kind(&i.kind)?;
                let mut import = Import::new(kind, i.account.clone(), i.subject.clone());
                if !i.local_subject.is_empty() {
                    import.to = Some(i.local_subject.clone());
                } else if !i.to.is_empty() {
                    match kind {
                        ImportKind::Stream => import.prefix = Some(i.to.clone()),
                        ImportKind::Service => import.to = Some(i.to.clone()),
                    }
                }
                Some(import)
            })
            .collect();
        Self {
            key: claims.sub,
            signing_keys: nats.signing_keys,
            default_permissions: permissions(&nats.default_permissions),
            expires: claims.exp,
            limits: nats.limits,
            revocations: nats.revocations,
            account,
        }
    }
}

impl Trust {
    /// The accounts as the broker routes them.
    pub(crate) fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter().map(|a| &a.account)
    }

    /// Checks a CONNECT's `jwt` and `sig` against the nonce this connection's INFO carried,
    /// at `unix_now` (seconds; `None` skips the time checks). `None` when they do not
    /// authenticate anyone.
    pub(crate) fn authorize(
        &self,
        token: &str,
        sig: &str,
        nonce: Option<&str>,
        transport: crate::Transport,
        unix_now: Option<i64>,
    ) -> Option<JwtUser> {
        let claims = jwt::decode(token).ok()?;
        let nats = &claims.nats;
        if nats.kind != "user" || !claims.sub.starts_with('U') {
            return None;
        }
        if let Some(now) = unix_now {
            let expired = |exp: i64| exp > 0 && exp <= now;
            if expired(claims.exp) || (claims.nbf > 0 && claims.nbf > now) {
                return None;
            }
        }
        let account_key = if nats.issuer_account.is_empty() {
            &claims.iss
        } else {
            &nats.issuer_account
        };
        let account = self.accounts.iter().find(|a| &a.key == account_key)?;
        if unix_now.is_some_and(|now| account.expires > 0 && account.expires <= now) {
            return None;
        }
        // Revoked: the user's key (or everyone) up to a time its JWT was issued before.
        let revoked = [claims.sub.as_str(), "*"]
            .iter()
            .filter_map(|k| account.revocations.get(*k))
            .any(|&at| claims.iat <= at);
        if revoked {
            return None;
        }
        // The account's own key, or one of its signing keys (a scoped one sets the permissions).
        let mut scope = None;
        if claims.iss != account.key {
            let key = account
                .signing_keys
                .iter()
                .find(|k| k.key() == claims.iss)?;
            if let SigningKey::Scoped { template, .. } = key {
                scope = Some(permissions(template));
            }
        }
        if !nats.bearer_token {
            let nonce = nonce?;
            if !crate::secret::nkey_signed(&claims.sub, nonce.as_bytes(), sig) {
                return None;
            }
        }
        let types = &nats.allowed_connection_types;
        if !types.is_empty()
            && !types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(transport.connection_type()))
        {
            return None;
        }
        let own = permissions(&jwt::Permissions {
            publish: nats.publish.clone(),
            subscribe: nats.subscribe.clone(),
            resp: nats.resp,
        });
        let permissions = match scope {
            Some(scoped) => scoped,
            None => own.or_else(|| account.default_permissions.clone()),
        };
        let smaller = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(JwtUser {
            account: account.key.clone(),
            user: claims.sub.clone(),
            permissions,
            expires: (claims.exp > 0).then_some(claims.exp),
            max_connections: jwt::limit(account.limits.conn),
            max_subscriptions: smaller(jwt::limit(nats.subs), jwt::limit(account.limits.subs)),
            max_payload: smaller(jwt::limit(nats.payload), jwt::limit(account.limits.payload)),
        })
    }
}

/// `stream` / `service`.
fn kind(text: &str) -> Option<ImportKind> {
    match text.to_ascii_lowercase().as_str() {
        "stream" => Some(ImportKind::Stream),
        "service" => Some(ImportKind::Service),
        _ => None,
    }
}

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(0))
}

/// JWT permissions as the broker's; `None` when they restrict nothing.
fn permissions(p: &jwt::Permissions) -> Option<Permissions> {
    let rules = |r: &jwt::Rules| Rules {
        allow: (!r.allow.is_empty()).then(|| r.allow.clone()),
        deny: r.deny.clone(),
    };
    let out = Permissions {
        publish: rules(&p.publish),
        subscribe: rules(&p.subscribe),
        responses: p.resp.map(|r| crate::ResponsePermission {
            max: u32::try_from(r.max).unwrap_or(0),
            expires: nanos(r.ttl),
        }),
    };
    (out != Permissions::default()).then_some(out)
}

#[cfg(all(test, feature = "nkeys"))]
mod tests {
    use super::*;
    use crate::jwt::tests::{base64url, encode};
    use serde_json::json;

    #[test]
    fn users_of_trusted_accounts_authenticate_with_a_signed_nonce() {
        let (op, acc, signer, user) = (
            nkeys::KeyPair::new_operator(),
            nkeys::KeyPair::new_account(),
            nkeys::KeyPair::new_account(),
            nkeys::KeyPair::new_user(),
        );
        let operator = encode(
            &json!({"iss": op.public_key(), "sub": op.public_key(), "nats": {"type": "operator"}}),
            &op,
        );
        let account = encode(
            &json!({"iss": op.public_key(), "sub": acc.public_key(), "nats": {"type": "account",
                "signing_keys": [{"kind": "user_scope", "key": signer.public_key(),
                    "template": {"pub": {"allow": ["scoped.>"]}}}]}}),
            &op,
        );
        let trust = Operator {
            operators: vec![operator],
            accounts: vec![account],
        }
        .trust()
        .unwrap();
        let user_jwt = |claims: serde_json::Value, by: &nkeys::KeyPair| encode(&claims, by);
        let plain = user_jwt(
            json!({"iss": acc.public_key(), "sub": user.public_key(), "exp": 2000,
                "nats": {"type": "user", "pub": {"deny": ["x"]}}}),
            &acc,
        );
        let nonce = "abcdefghijklmno";
        // Clients send the signature base64url-encoded.
        let sig = base64url(&user.sign(nonce.as_bytes()).unwrap());
        let tcp = crate::Transport::Tcp;
        let ok = trust
            .authorize(&plain, &sig, Some(nonce), tcp, Some(1000))
            .expect("authorized");
        assert_eq!(ok.account, acc.public_key());
        assert_eq!(ok.permissions.unwrap().publish.deny, vec!["x".to_owned()]);
        assert_eq!(ok.expires, Some(2000));
        assert!(
            trust
                .authorize(&plain, &sig, Some("other-nonce"), tcp, Some(1000))
                .is_none()
        );
        assert!(
            trust
                .authorize(&plain, &sig, Some(nonce), tcp, Some(2000))
                .is_none(),
            "expired"
        );
        let scoped = user_jwt(
            json!({"iss": signer.public_key(), "sub": user.public_key(),
                "nats": {"type": "user", "issuer_account": acc.public_key()}}),
            &signer,
        );
        let scoped = trust
            .authorize(&scoped, &sig, Some(nonce), tcp, None)
            .unwrap();
        assert_eq!(
            scoped.permissions.unwrap().publish.allow,
            Some(vec!["scoped.>".to_owned()])
        );
        let stranger = nkeys::KeyPair::new_account();
        let foreign = user_jwt(
            json!({"iss": stranger.public_key(), "sub": user.public_key(), "nats": {"type": "user"}}),
            &stranger,
        );
        assert!(
            trust
                .authorize(&foreign, &sig, Some(nonce), tcp, None)
                .is_none()
        );
        let bearer = user_jwt(
            json!({"iss": acc.public_key(), "sub": user.public_key(),
                "nats": {"type": "user", "bearer_token": true}}),
            &acc,
        );
        assert!(trust.authorize(&bearer, "", None, tcp, None).is_some());
    }

    #[test]
    fn accounts_not_signed_by_the_operator_are_refused() {
        let (op, other) = (
            nkeys::KeyPair::new_operator(),
            nkeys::KeyPair::new_operator(),
        );
        let acc = nkeys::KeyPair::new_account();
        let operator = encode(
            &json!({"iss": op.public_key(), "sub": op.public_key(), "nats": {"type": "operator"}}),
            &op,
        );
        let account = encode(
            &json!({"iss": other.public_key(), "sub": acc.public_key(), "nats": {"type": "account"}}),
            &other,
        );
        let error = Operator {
            operators: vec![operator],
            accounts: vec![account],
        }
        .trust()
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not signed by a trusted operator"),
            "{error}"
        );
    }
}
