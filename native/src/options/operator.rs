//! Operator mode keys: `operator` (a JWT file or the JWT itself, or a list of them),
//! `resolver: MEMORY` and `resolver_preload { ACCOUNT_KEY: "jwt" }`.

use crate::conf::{ConfError, Entry, Kind, Value};

use super::{key_err, map, string, type_err};

/// The operator JWTs `operator` names: each value is a file (possibly nsc's decorated form,
/// `-----BEGIN NATS OPERATOR JWT-----`) or the JWT itself.
pub(super) fn operators(e: &Entry) -> Result<Vec<String>, ConfError> {
    let values: Vec<&Value> = match &e.value.kind {
        Kind::Array(items) => items.iter().collect(),
        _ => vec![&e.value],
    };
    values
        .into_iter()
        .map(|v| {
            let Kind::String(text) = &v.kind else {
                return Err(type_err(e, "a file name or a JWT, or a list of them"));
            };
            read_jwt(text)
                .map_err(|m| ConfError::at(&v.pos, format!("error parsing operator JWT: {m}")))
        })
        .collect()
}

/// `text` itself if it looks like a JWT, else the JWT in the file it names.
fn read_jwt(text: &str) -> Result<String, String> {
    let looks_like_jwt = text.split('.').count() == 3 && !text.contains('/');
    if looks_like_jwt {
        return Ok(text.trim().to_owned());
    }
    let contents = std::fs::read_to_string(text).map_err(|e| format!("open {text}: {e}"))?;
    Ok(undecorate(&contents))
}

/// The JWT in nsc's decorated form (between `-----BEGIN ... JWT-----` and `------END ...`),
/// or the contents themselves.
fn undecorate(contents: &str) -> String {
    let mut lines = contents.lines().map(str::trim);
    let decorated = lines
        .by_ref()
        .skip_while(|l| !(l.starts_with("-----BEGIN") && l.ends_with("JWT-----")))
        .skip(1)
        .find(|l| !l.is_empty());
    decorated
        .map(str::to_owned)
        .unwrap_or_else(|| contents.trim().to_owned())
}

/// `resolver`: only the in-memory resolver (`MEMORY`/`MEM`) is supported.
pub(super) fn resolver(e: &Entry) -> Result<(), ConfError> {
    let value = string(e)?;
    if matches!(value.trim().to_ascii_uppercase().as_str(), "MEM" | "MEMORY") {
        return Ok(());
    }
    Err(key_err(
        e,
        format!(
            "resolver {value:?} is not supported by skiff (only MEMORY, with resolver_preload)"
        ),
    ))
}

/// `resolver_preload { ACCOUNT_KEY: "jwt", ... }`: the account JWTs.
pub(super) fn preload(e: &Entry) -> Result<Vec<String>, ConfError> {
    let Kind::Map(_) = &e.value.kind else {
        return Err(key_err(
            e,
            "preload should be a map of account_public_key:account_jwt",
        ));
    };
    map(e)?
        .entries()
        .iter()
        .filter(|a| !a.referenced)
        .map(|a| match &a.value.kind {
            Kind::String(jwt) => Ok(jwt.trim().to_owned()),
            _ => Err(key_err(a, "preload map value should be a string JWT")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorated_jwts_are_unwrapped() {
        let file =
            "-----BEGIN NATS OPERATOR JWT-----\neyJ0.eyJ1.sig\n------END NATS OPERATOR JWT------\n";
        assert_eq!(undecorate(file), "eyJ0.eyJ1.sig");
        assert_eq!(undecorate(" eyJ0.eyJ1.sig \n"), "eyJ0.eyJ1.sig");
        assert_eq!(read_jwt("eyJ0.eyJ1.sig").unwrap(), "eyJ0.eyJ1.sig");
        assert!(
            read_jwt("/nonexistent/op.jwt")
                .unwrap_err()
                .contains("/nonexistent/op.jwt")
        );
    }
}
