//! NATS JWTs made at test time (operator, account, user) and creds files, signed with keys
//! generated here, as `nsc` would write them.

use std::path::Path;

use nkeys::KeyPair;
use serde_json::{Value, json};

/// `bytes` in base64url without padding.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A JWT of `kind` about `subject` with `nats` claims (merged into the defaults nsc writes),
/// signed by `issuer`; `extra` is merged into the top level (e.g. `{"exp": ...}`).
pub fn encode(issuer: &KeyPair, subject: &str, name: &str, nats: Value, extra: Value) -> String {
    let mut claims = json!({
        "jti": format!("J{}", now()),
        "iat": now(),
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    if let (Some(top), Some(more)) = (claims.as_object_mut(), extra.as_object()) {
        top.extend(more.clone());
    }
    let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = b64(claims.to_string().as_bytes());
    let signed = format!("{header}.{body}");
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", b64(&signature))
}

/// An operator's self-signed JWT.
pub fn operator(op: &KeyPair, system_account: Option<&str>) -> String {
    let mut nats = json!({"type": "operator", "version": 2});
    if let Some(sys) = system_account {
        nats["system_account"] = json!(sys);
    }
    encode(op, &op.public_key(), "OP", nats, json!({}))
}

/// An account JWT signed by `op`, unlimited, with `more` merged into its `nats` claims.
pub fn account(op: &KeyPair, acc: &KeyPair, name: &str, more: Value) -> String {
    let mut nats = json!({
        "type": "account", "version": 2,
        "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                   "wildcards": true, "conn": -1, "leaf": -1},
        "default_permissions": {"pub": {}, "sub": {}},
    });
    if let (Some(base), Some(more)) = (nats.as_object_mut(), more.as_object()) {
        base.extend(more.clone());
    }
    encode(op, &acc.public_key(), name, nats, json!({}))
}

/// A user JWT signed by `acc`, with `more` merged into its `nats` claims and `extra` into
/// the top level.
pub fn user(acc: &KeyPair, user: &KeyPair, more: Value, extra: Value) -> String {
    let mut nats = json!({
        "type": "user", "version": 2, "pub": {}, "sub": {},
        "subs": -1, "data": -1, "payload": -1,
    });
    if let (Some(base), Some(more)) = (nats.as_object_mut(), more.as_object()) {
        base.extend(more.clone());
    }
    encode(acc, &user.public_key(), "user", nats, extra)
}

/// A creds file's contents: the user JWT and the user's seed, decorated as nsc writes them.
pub fn creds(jwt: &str, user: &KeyPair) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.seed().unwrap()
    )
}

/// Writes `contents` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, contents: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// The `sig` a client sends: the nonce signed by `user`, base64url.
pub fn sign_nonce(user: &KeyPair, nonce: &str) -> String {
    b64(&user.sign(nonce.as_bytes()).unwrap())
}

/// An operator (in a file under `dir`) with a system account and one unlimited account: the
/// config lines that trust it (`operator`, `resolver: MEMORY`, `resolver_preload`) and the
/// account's keys.
pub fn single_account_operator(dir: &Path) -> (String, KeyPair) {
    let (op, sys, acc) = (
        KeyPair::new_operator(),
        KeyPair::new_account(),
        KeyPair::new_account(),
    );
    let op_file = write(dir, "op.jwt", &operator(&op, Some(&sys.public_key())));
    let sys_jwt = account(&op, &sys, "SYS", json!({}));
    let acc_jwt = account(&op, &acc, "APP", json!({}));
    let conf = format!(
        "operator: \"{op_file}\"\nresolver: MEMORY\nresolver_preload: {{\n {}: \"{sys_jwt}\"\n {}: \"{acc_jwt}\"\n}}\n",
        sys.public_key(),
        acc.public_key()
    );
    (conf, acc)
}
