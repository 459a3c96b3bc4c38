//! The `tls {}` block (nats-server's `parseTLS` for the client listener).

use crate::conf::{ConfError, Entry, Kind};
use crate::tls::TlsOptions;

use super::{Warning, boolean, key_err, map, seconds_or_duration, string, unknown};

/// nats-server TLS keys Skiff accepts and leaves to rustls's defaults (safe suites and
/// curves, TLS 1.2 and 1.3).
const LEFT_TO_RUSTLS: &[&str] = &["cipher_suites", "curve_preferences", "min_version"];

/// Reads `tls { cert_file, key_file, ca_file, verify, verify_and_map, timeout,
/// handshake_first }`.
pub(super) fn tls(e: &Entry, warnings: &mut Vec<Warning>) -> Result<TlsOptions, ConfError> {
    let (mut cert, mut key) = (None, None);
    let mut options = TlsOptions::new("", "");
    for f in map(e)?.entries().iter().filter(|f| !f.referenced) {
        match f.key.to_ascii_lowercase().as_str() {
            "cert_file" => cert = Some(file(f, "cert_file")?),
            "key_file" => key = Some(file(f, "key_file")?),
            "ca_file" => options.ca_file = Some(file(f, "ca_file")?.into()),
            "verify" => options.verify = flag(f, "verify")?,
            "verify_and_map" => options.verify_and_map = flag(f, "verify_and_map")?,
            "timeout" => options.timeout = seconds_or_duration(f, warnings)?,
            "handshake_first" | "first" | "immediate" => {
                options.handshake_first = handshake_first(f)?;
            }
            key if LEFT_TO_RUSTLS.contains(&key) => warnings.push(Warning::at(
                &f.key_pos,
                format!(
                    "\"{}\" is left to rustls's safe defaults by skiff; ignored",
                    f.key
                ),
            )),
            "insecure"
            | "pinned_certs"
            | "cert_store"
            | "cert_match"
            | "cert_match_by"
            | "ca_certs_match"
            | "ocsp_peer"
            | "verify_cert_and_check_known_urls" => {
                return Err(key_err(
                    f,
                    format!("\"{}\" in tls is not supported by skiff", f.key),
                ));
            }
            _ => return Err(unknown(f)),
        }
    }
    match (cert, key) {
        (Some(cert), Some(key)) => {
            options.cert_file = cert.into();
            options.key_file = key.into();
            Ok(options)
        }
        (Some(_), None) => Err(key_err(e, "missing 'key_file' in TLS configuration")),
        (None, Some(_)) => Err(key_err(e, "missing 'cert_file' in TLS configuration")),
        (None, None) => Err(key_err(
            e,
            "missing 'cert_file' and 'key_file' in TLS configuration",
        )),
    }
}

/// A file name, with nats-server's error for anything else.
fn file(e: &Entry, what: &str) -> Result<String, ConfError> {
    string(e).map_err(|_| {
        key_err(
            e,
            format!("error parsing tls config, expected '{what}' to be filename"),
        )
    })
}

/// A boolean, with nats-server's error for anything else.
fn flag(e: &Entry, what: &str) -> Result<bool, ConfError> {
    boolean(e).map_err(|_| {
        key_err(
            e,
            format!("error parsing tls config, expected '{what}' to be a boolean"),
        )
    })
}

/// `handshake_first`: a boolean, `"true"`/`"on"`/`"false"`/`"off"`. nats-server's fallback
/// forms (`"auto"`, a duration) wait for a client that does not start TLS and then send INFO
/// in plain text; Skiff refuses them rather than fall back silently.
fn handshake_first(e: &Entry) -> Result<bool, ConfError> {
    match &e.value.kind {
        Kind::Bool(b) => Ok(*b),
        Kind::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" => Ok(true),
            "false" | "off" => Ok(false),
            _ => Err(key_err(
                e,
                format!(
                    "field {:?}'s value {s:?} is not supported by skiff (no fallback to plain INFO)",
                    e.key
                ),
            )),
        },
        other => Err(key_err(
            e,
            format!(
                "field {:?} should be a boolean or a string, got {}",
                e.key,
                other.type_name()
            ),
        )),
    }
}
