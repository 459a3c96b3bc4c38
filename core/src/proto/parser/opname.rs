//! Recognising the operation name at the start of a control line.
//!
//! nats-server walks op names byte by byte, case-insensitively, and fails on the first byte
//! that cannot continue any client op. We do the same without a per-byte state: the first one
//! or two bytes pick the only possible name, the rest is compared in one go.

use super::ParseError;

/// An operation whose control line carries arguments up to the `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineOp {
    Connect,
    Pub,
    HPub,
    /// `HMSG`: nats-server reads its whole line, then rejects it from a client.
    HMsg,
    Sub,
    Unsub,
    Err,
    Info,
}

/// An operation whose remaining line is ignored up to the `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SkipOp {
    Ping,
    Pong,
    Ok,
}

/// What an op name introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpKind {
    Line(LineOp),
    Skip(SkipOp),
}

/// The op at the front of `buf` and how many bytes its name (plus the one mandatory space or
/// tab, for ops that need one) takes; `Ok(None)` if `buf` ends before that is known.
///
/// `buf` must not be empty.
pub(super) fn recognize(buf: &[u8]) -> Result<Option<(OpKind, usize)>, ParseError> {
    use LineOp as L;
    use OpKind::{Line, Skip};
    use SkipOp as S;

    if let Some(&head) = buf.first_chunk::<4>() {
        if let Some(found) = recognize_common(u32::from_le_bytes(head)) {
            return Ok(Some(found));
        }
    }

    // (name in upper case, kind, needs a space or tab after the name)
    let (name, kind, needs_sep): (&[u8], OpKind, bool) = match buf[0].to_ascii_uppercase() {
        b'P' => match buf.get(1).map(u8::to_ascii_uppercase) {
            None => return Ok(None),
            Some(b'U') => (b"PUB", Line(L::Pub), true),
            Some(b'I') => (b"PING", Skip(S::Ping), false),
            Some(b'O') => (b"PONG", Skip(S::Pong), false),
            Some(_) => return Err(ParseError::UnknownOp),
        },
        b'H' => match buf.get(1).map(u8::to_ascii_uppercase) {
            None => return Ok(None),
            Some(b'P') => (b"HPUB", Line(L::HPub), true),
            Some(b'M') => (b"HMSG", Line(L::HMsg), true),
            Some(_) => return Err(ParseError::UnknownOp),
        },
        b'S' => (b"SUB", Line(L::Sub), true),
        b'U' => (b"UNSUB", Line(L::Unsub), true),
        b'C' => (b"CONNECT", Line(L::Connect), false),
        b'I' => (b"INFO", Line(L::Info), false),
        b'+' => (b"+OK", Skip(S::Ok), false),
        b'-' => (b"-ERR", Line(L::Err), true),
        _ => return Err(ParseError::UnknownOp),
    };

    let have = buf.len().min(name.len());
    if !buf[..have]
        .iter()
        .zip(name)
        .all(|(b, n)| b.to_ascii_uppercase() == *n)
    {
        return Err(ParseError::UnknownOp);
    }
    if have < name.len() {
        return Ok(None);
    }
    if !needs_sep {
        return Ok(Some((kind, name.len())));
    }
    match buf.get(name.len()) {
        None => Ok(None),
        Some(b' ' | b'\t') => Ok(Some((kind, name.len() + 1))),
        Some(_) => Err(ParseError::UnknownOp),
    }
}

/// The hottest ops from their first four bytes, without a byte loop. ORing `0x20` into an
/// ASCII letter lower-cases it, and no other byte turns into a lower-case letter that way.
fn recognize_common(head: u32) -> Option<(OpKind, usize)> {
    const fn word(bytes: &[u8; 4]) -> u32 {
        u32::from_le_bytes(*bytes)
    }
    // Fold the three letters of `PUB`/`SUB`, leave the separator byte as it is.
    let three = head | word(b"\x20\x20\x20\x00");
    let four = head | word(b"\x20\x20\x20\x20");
    match () {
        () if three == word(b"pub ") || three == word(b"pub\t") => {
            Some((OpKind::Line(LineOp::Pub), 4))
        }
        () if three == word(b"sub ") || three == word(b"sub\t") => {
            Some((OpKind::Line(LineOp::Sub), 4))
        }
        () if four == word(b"ping") => Some((OpKind::Skip(SkipOp::Ping), 4)),
        () if four == word(b"pong") => Some((OpKind::Skip(SkipOp::Pong), 4)),
        () => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(recognize(b"pUb "), Ok(Some((OpKind::Line(LineOp::Pub), 4))));
        assert_eq!(
            recognize(b"ping"),
            Ok(Some((OpKind::Skip(SkipOp::Ping), 4)))
        );
        assert_eq!(recognize(b"+ok"), Ok(Some((OpKind::Skip(SkipOp::Ok), 3))));
        assert_eq!(
            recognize(b"connect"),
            Ok(Some((OpKind::Line(LineOp::Connect), 7)))
        );
        assert_eq!(
            recognize(b"-err\t"),
            Ok(Some((OpKind::Line(LineOp::Err), 5)))
        );
    }

    #[test]
    fn prefixes_wait_and_bad_bytes_fail() {
        for partial in [
            &b"P"[..],
            b"PU",
            b"PUB",
            b"H",
            b"HM",
            b"HMSG",
            b"CONNEC",
            b"-",
            b"+O",
        ] {
            assert_eq!(recognize(partial), Ok(None), "{partial:?}");
        }
        for bad in [
            &b"PX"[..],
            b"PINX",
            b"PUBX",
            b"PUB\r",
            b"HX",
            b"M",
            b"R",
            b"A",
            b"L",
            b" ",
        ] {
            assert_eq!(recognize(bad), Err(ParseError::UnknownOp), "{bad:?}");
        }
    }
}
