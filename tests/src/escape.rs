//! Escapes that make whitespace visible in scenario files: `\r`, `\n`, `\t`, `\\`, `\xHH`.

use std::fmt::Write as _;

/// Turns the escaped text of a scenario line into the bytes it stands for.
///
/// Known escapes: `\r`, `\n`, `\t`, `\0`, `\\`, `\xHH`, and `\{N*text}` for `text` repeated
/// N times (large payloads). Any other backslash pair is kept as
/// written (so a regex's `\.` or `\d` survives), which is why `\\` is only needed before
/// one of the letters above.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'{' if let Some((n, fill, used)) = repetition(&text[i + 2..]) => {
                (0..n).for_each(|_| out.extend_from_slice(fill.as_bytes()));
                i += 2 + used;
                continue;
            }
            b'x' => {
                let hex = text.get(i + 2..i + 4).ok_or("truncated \\x escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x{hex} escape"))?);
                i += 4;
                continue;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 2;
    }
    Ok(out)
}

/// Parses the `N*text}` of a `\{N*text}` repetition: the count, the text and the bytes used.
fn repetition(rest: &str) -> Option<(usize, &str, usize)> {
    let end = rest.find('}')?;
    let (count, fill) = rest[..end].split_once('*')?;
    Some((count.parse().ok()?, fill, end + 1))
}

/// Shows bytes the way a scenario file writes them: printable ASCII as is, the rest escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_control_bytes() {
        let raw = b"PUB foo 2\r\nhi\r\n\t\x01\\";
        assert_eq!(unescape(&escape(raw)).unwrap(), raw);
    }

    #[test]
    fn keeps_unknown_escapes_for_regexes() {
        assert_eq!(unescape(r"a\.b\d").unwrap(), br"a\.b\d");
        assert_eq!(unescape(r"\x41").unwrap(), b"A");
    }

    #[test]
    fn repeats_text() {
        assert_eq!(unescape(r"a\{3*xy}b").unwrap(), b"axyxyxyb");
        assert_eq!(unescape(r"\{x}").unwrap(), br"\{x}");
    }

    #[test]
    fn rejects_bad_hex() {
        assert!(unescape(r"\xZZ").is_err());
        assert!(unescape(r"\x4").is_err());
    }
}
