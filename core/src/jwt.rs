//! NATS JWTs (decentralized authentication): `header.claims.signature`, each part base64url
//! without padding, the header `{"typ":"JWT","alg":"ed25519-nkey"}`, the claims JSON with a
//! `nats` section, and an ed25519 signature of `header.claims` by the issuer's nkey.
//!
//! [`decode`] checks the form and the signature; what the claims allow is for the caller
//! (see `operator`). Only the fields Skiff acts on are read; the rest is skipped.

use serde::Deserialize;

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, or a part that does not decode.
    Format,
    /// The header is not a NATS ed25519 JWT header.
    Header,
    /// The claims are not valid JSON of the expected shape.
    Claims(String),
    /// The issuer is not a public nkey, or the signature is not the issuer's.
    Signature,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format => f.write_str("not a JWT: expected three base64url parts"),
            Self::Header => f.write_str("not a NATS JWT: unexpected header"),
            Self::Claims(e) => write!(f, "invalid JWT claims: {e}"),
            Self::Signature => f.write_str("JWT signature verification failed"),
        }
    }
}

impl std::error::Error for JwtError {}

/// The claims of a NATS JWT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Claims {
    /// Who signed it (a public nkey).
    pub(crate) iss: String,
    /// Whom it is about (a public nkey).
    pub(crate) sub: String,
    /// A human name.
    pub(crate) name: String,
    /// Issued at, Unix seconds.
    pub(crate) iat: i64,
    /// Expiry, Unix seconds; 0 never.
    pub(crate) exp: i64,
    /// Not valid before, Unix seconds; 0 always valid.
    pub(crate) nbf: i64,
    /// The NATS-specific part.
    pub(crate) nats: Nats,
}

/// The `nats` section of operator, account and user claims.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Nats {
    /// `operator`, `account` or `user`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Keys allowed to sign on this entity's behalf.
    pub(crate) signing_keys: Vec<SigningKey>,
    /// Operator: the system account's public key.
    pub(crate) system_account: String,
    /// User: the account whose signing key issued it.
    pub(crate) issuer_account: String,
    /// User: publish permissions.
    #[serde(rename = "pub")]
    pub(crate) publish: Rules,
    /// User: subscribe permissions.
    #[serde(rename = "sub")]
    pub(crate) subscribe: Rules,
    /// User: responses it may send to requests it received.
    pub(crate) resp: Option<Responses>,
    /// User: no nonce signature needed.
    pub(crate) bearer_token: bool,
    /// User: the transports it may connect over.
    pub(crate) allowed_connection_types: Vec<String>,
    /// Account: what it exports.
    pub(crate) exports: Vec<Export>,
    /// Account: what it imports.
    pub(crate) imports: Vec<Import>,
    /// Account: permissions of users that carry none.
    pub(crate) default_permissions: Permissions,
    /// User: subscriptions per connection (-1 or absent: no limit).
    pub(crate) subs: Option<i64>,
    /// User: largest message (-1 or absent: no limit).
    pub(crate) payload: Option<i64>,
    /// Account: its limits.
    pub(crate) limits: Limits,
    /// Account: revoked users (public key, or `*` for all) → users issued at or before
    /// this Unix time are refused.
    pub(crate) revocations: std::collections::HashMap<String, i64>,
}

/// An account's limits (-1 or absent: no limit).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Limits {
    /// Connections at once.
    pub(crate) conn: Option<i64>,
    /// Subscriptions per connection.
    pub(crate) subs: Option<i64>,
    /// Largest message.
    pub(crate) payload: Option<i64>,
}

/// A JWT limit: `None` when absent or negative (no limit).
pub(crate) fn limit(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

/// A signing key: a bare public key, or a scoped one whose template gives the permissions
/// of every user it signs.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum SigningKey {
    /// A public nkey.
    Key(String),
    /// `{"kind":"user_scope","key":"A...","template":{...}}`.
    Scoped {
        /// The public nkey.
        key: String,
        /// The permissions of the users it signs.
        #[serde(default)]
        template: Permissions,
    },
}

impl SigningKey {
    /// The public key.
    pub(crate) fn key(&self) -> &str {
        match self {
            Self::Key(key) | Self::Scoped { key, .. } => key,
        }
    }
}

/// `{"pub": {...}, "sub": {...}, "resp": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Permissions {
    /// Publish rules.
    #[serde(rename = "pub")]
    pub(crate) publish: Rules,
    /// Subscribe rules.
    #[serde(rename = "sub")]
    pub(crate) subscribe: Rules,
    /// Responses.
    pub(crate) resp: Option<Responses>,
}

/// `{"allow": [...], "deny": [...]}`; an empty allow list allows everything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Rules {
    /// Allowed subjects.
    pub(crate) allow: Vec<String>,
    /// Denied subjects.
    pub(crate) deny: Vec<String>,
}

/// `{"max": N, "ttl": NANOS}`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Responses {
    /// Responses per request.
    pub(crate) max: i64,
    /// How long a response may take, nanoseconds.
    pub(crate) ttl: i64,
}

/// An account export.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Export {
    /// The exported subject.
    pub(crate) subject: String,
    /// `stream` or `service`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// `Singleton`, `Stream` or `Chunked`.
    pub(crate) response_type: String,
    /// Nanoseconds.
    pub(crate) response_threshold: i64,
    /// Importers need an activation token (not supported: such exports are left out).
    pub(crate) token_req: bool,
}

/// An account import.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Import {
    /// The subject in the exporter's space.
    pub(crate) subject: String,
    /// The exporting account's public key.
    pub(crate) account: String,
    /// The subject in the importer's space.
    pub(crate) local_subject: String,
    /// Older form: a stream's prefix, a service's local subject.
    pub(crate) to: String,
    /// `stream` or `service`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// The header every NATS JWT carries.
#[derive(Debug, Deserialize)]
struct Header {
    #[serde(default)]
    typ: String,
    #[serde(default)]
    alg: String,
}

/// Decodes `token` and checks that its issuer signed it.
pub(crate) fn decode(token: &str) -> Result<Claims, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Format);
    };
    let header_json = crate::secret::decode_base64(header).ok_or(JwtError::Format)?;
    let header_value: Header =
        serde_json::from_slice(&header_json).map_err(|_| JwtError::Header)?;
    if !header_value.typ.eq_ignore_ascii_case("jwt")
        || !matches!(header_value.alg.as_str(), "ed25519-nkey" | "ed25519")
    {
        return Err(JwtError::Header);
    }
    let claims_json = crate::secret::decode_base64(claims).ok_or(JwtError::Format)?;
    let decoded: Claims =
        serde_json::from_slice(&claims_json).map_err(|e| JwtError::Claims(e.to_string()))?;
    let signature = crate::secret::decode_base64(signature).ok_or(JwtError::Format)?;
    let signed = &token.trim()[..header.len() + 1 + claims.len()];
    if !crate::secret::ed25519_verifies(&decoded.iss, signed.as_bytes(), &signature) {
        return Err(JwtError::Signature);
    }
    Ok(decoded)
}

#[cfg(all(test, feature = "nkeys"))]
pub(crate) mod tests {
    use super::*;

    pub(crate) use crate::secret::encode_base64url as base64url;

    /// A JWT with `claims`, signed by `issuer`.
    pub(crate) fn encode(claims: &serde_json::Value, issuer: &nkeys::KeyPair) -> String {
        let b64 = base64url;
        let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
        let body = b64(claims.to_string().as_bytes());
        let signed = format!("{header}.{body}");
        let signature = issuer.sign(signed.as_bytes()).unwrap();
        format!("{signed}.{}", b64(&signature))
    }

    #[test]
    fn a_signed_jwt_decodes_and_a_tampered_one_does_not() {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let claims = serde_json::json!({
            "iss": operator.public_key(), "sub": account.public_key(), "name": "A",
            "nats": {"type": "account", "signing_keys": ["AK", {"kind": "user_scope", "key": "AS", "template": {"pub": {"allow": ["x"]}}}]}
        });
        let token = encode(&claims, &operator);
        let decoded = decode(&token).unwrap();
        assert_eq!(
            (decoded.sub.as_str(), decoded.name.as_str()),
            (account.public_key().as_str(), "A")
        );
        assert_eq!(decoded.nats.signing_keys[1].key(), "AS");
        let forged = encode(&claims, &account);
        assert_eq!(decode(&forged).unwrap_err(), JwtError::Signature);
        let (head, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let other = encode(
            &serde_json::json!({"iss": operator.public_key(), "sub": "x"}),
            &operator,
        );
        let other_body = other.split('.').nth(1).unwrap();
        assert_eq!(
            decode(&format!("{head}.{other_body}.{sig}")).unwrap_err(),
            JwtError::Signature
        );
        assert_eq!(decode("a.b").unwrap_err(), JwtError::Format);
        assert_eq!(decode("!!.b.c").unwrap_err(), JwtError::Format);
    }
}
