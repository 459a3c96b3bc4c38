//! Comparing a configured secret (password or token) with the one a client presents:
//! bcrypt hashes are verified as bcrypt, anything else is compared in constant time,
//! as nats-server's `comparePasswords` does.

/// Whether `configured` is a bcrypt hash, by nats-server's rule `^\$2[abxy]\$\d{2}\$`.
pub(crate) fn is_bcrypt(configured: &str) -> bool {
    let b = configured.as_bytes();
    b.len() >= 7
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// Whether the client's `given` secret matches the `configured` one.
pub(crate) fn secret_matches(configured: &str, given: &str) -> bool {
    if is_bcrypt(configured) {
        bcrypt_matches(configured, given)
    } else {
        constant_time_eq(configured.as_bytes(), given.as_bytes())
    }
}

#[cfg(feature = "bcrypt")]
fn bcrypt_matches(hash: &str, given: &str) -> bool {
    // Go's bcrypt accepts the `$2x$`/`$2y$` variants as `$2a$`; a malformed hash never matches.
    bcrypt::verify(given, hash).unwrap_or(false)
}

/// Without the `bcrypt` feature no hash matches; `Config::validate` refuses such configs.
#[cfg(not(feature = "bcrypt"))]
fn bcrypt_matches(_hash: &str, _given: &str) -> bool {
    false
}

/// Whether `sig` (base64, URL or standard alphabet, padded or not, as nats-server accepts
/// it) is `public_key`'s ed25519 signature of `nonce`.
pub(crate) fn nkey_signed(public_key: &str, nonce: &[u8], sig: &str) -> bool {
    decode_base64(sig).is_some_and(|sig| ed25519_verifies(public_key, nonce, &sig))
}

/// Whether `signature` is `public_key`'s ed25519 signature of `data`.
#[cfg(feature = "nkeys")]
pub(crate) fn ed25519_verifies(public_key: &str, data: &[u8], signature: &[u8]) -> bool {
    nkeys::KeyPair::from_public_key(public_key).is_ok_and(|kp| kp.verify(data, signature).is_ok())
}

/// Without the `nkeys` feature no signature verifies; `Config::validate` refuses what needs
/// one.
#[cfg(not(feature = "nkeys"))]
pub(crate) fn ed25519_verifies(_public_key: &str, _data: &[u8], _signature: &[u8]) -> bool {
    false
}

/// `nonce` signed with the nkey `seed`, base64url without padding (a CONNECT's `sig`).
#[cfg(feature = "nkeys")]
pub(crate) fn sign_nonce(seed: &str, nonce: &[u8]) -> Option<String> {
    let signature = nkeys::KeyPair::from_seed(seed).ok()?.sign(nonce).ok()?;
    Some(encode_base64url(&signature))
}

/// `bytes` in base64url without padding (JWT parts, nonce signatures).
#[cfg_attr(not(feature = "nkeys"), allow(dead_code))]
pub(crate) fn encode_base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Without the `nkeys` feature nothing is signed; `Config::validate` refuses credentials.
#[cfg(not(feature = "nkeys"))]
pub(crate) fn sign_nonce(_seed: &str, _nonce: &[u8]) -> Option<String> {
    None
}

/// Decodes base64 in either alphabet, with or without padding.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Whether `key` looks like a user's public nkey (`U` and 55 base32 characters).
pub(crate) fn is_user_nkey(key: &str) -> bool {
    key.len() == 56
        && key.starts_with('U')
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_prefix_follows_nats_server() {
        for hash in ["$2a$11$x", "$2b$04$", "$2x$10$abc", "$2y$12$abc"] {
            assert!(is_bcrypt(hash), "{hash}");
        }
        for plain in ["$2c$11$x", "$2a$1$x", "2a$11$x", "$2a$11", "secret", ""] {
            assert!(!is_bcrypt(plain), "{plain}");
        }
    }

    #[test]
    fn plain_secrets_compare_exactly() {
        assert!(secret_matches("s3cr3t", "s3cr3t"));
        assert!(!secret_matches("s3cr3t", "s3cr3"));
        assert!(!secret_matches("s3cr3t", "S3cr3t"));
    }

    /// `$2a$` hash of "pass" at cost 4, as nats-server's `mkpasswd` would print it.
    #[cfg(feature = "bcrypt")]
    #[test]
    fn bcrypt_hashes_verify() {
        let hash = bcrypt::hash_with_salt("pass", 4, [7; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        assert!(secret_matches(&hash, "pass"));
        assert!(!secret_matches(&hash, "pas"));
        assert!(!secret_matches(&hash, &hash));
        let y = hash.replacen("$2a$", "$2y$", 1);
        assert!(secret_matches(&y, "pass"));
    }
}
