//! What the broker tells operators about a connection: the events nats-server logs, worded
//! and levelled as nats-server logs them, for a host to write to its log.

use std::fmt;
use std::time::Duration;

use crate::proto::ParseError;
use crate::{CloseReason, ConnId};

/// How serious a [`Notice`] is: the level nats-server logs it at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeLevel {
    /// `[DBG]`: shown with `-D`.
    Debug,
    /// `[INF]`: nats-server's "notice".
    Info,
    /// `[ERR]`.
    Error,
}

/// An event about one connection that an operator should be able to see in the log.
///
/// Displays as nats-server's log line without the timestamp and level:
/// `127.0.0.1:52004 - cid:5 - "v1.2:go:app" - Slow Consumer Detected: MaxPending of 100 Exceeded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The connection concerned.
    pub conn: ConnId,
    /// nats-server's label for the connection: `ADDR - cid:N`, then ` - "vVERSION:LANG:NAME"`
    /// once a CONNECT named the client (`cid:N` alone for a connection without an address).
    pub client: String,
    /// What happened.
    pub event: ConnEvent,
}

impl Notice {
    /// The level to log this notice at.
    pub fn level(&self) -> NoticeLevel {
        self.event.level()
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.client, self.event)
    }
}

/// What happened to a connection (the errors are followed by its close).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnEvent {
    /// The connection was accepted (not followed by a close).
    Created,
    /// The connection was closed, for this reason (the last notice about it).
    Closed {
        /// Why, as `/connz` shows it.
        reason: CloseReason,
    },
    /// Its pending outbound bytes passed `max_pending`.
    SlowConsumerPendingBytes {
        /// The limit in force.
        max_pending: usize,
    },
    /// A write did not finish within the write deadline.
    SlowConsumerWriteDeadline {
        /// The deadline in force.
        write_deadline: Duration,
        /// Bytes queued for the connection and not yet written.
        pending: usize,
    },
    /// Its credentials were refused (never the secret itself: a user name, or that a token
    /// was given).
    AuthenticationFailed {
        /// `User "name"` or `Token "[REDACTED]"`, as nats-server names the credentials given.
        credentials: Option<String>,
    },
    /// No CONNECT arrived within the authentication timeout.
    AuthenticationTimeout,
    /// Its user JWT expired.
    AuthenticationExpired,
    /// Its account is at its JWT's connection limit.
    MaxAccountConnectionsExceeded,
    /// Accepting it would pass `max_connections`.
    MaxConnectionsExceeded,
    /// Too many PINGs went unanswered.
    StaleConnection,
    /// Its bytes broke the protocol.
    Protocol {
        /// What the parser rejected.
        error: ParseError,
        /// The line nats-server logs for the same bytes (see
        /// [`Parser::rejection`](crate::proto::Parser::rejection)).
        detail: String,
    },
    /// Its CONNECT or INFO JSON could not be read (the decoder's message follows).
    InvalidJson {
        /// Why the JSON was rejected.
        reason: String,
    },
    /// It sent `-ERR` (the text follows).
    ClientError {
        /// The text after `-ERR `.
        text: String,
    },
    /// CONNECT asked for a protocol other than 0 or 1.
    InvalidClientProtocol,
    /// CONNECT asked for no-responders without headers.
    NoRespondersRequiresHeaders,
    /// A leaf link to a hub is up (its CONNECT was sent).
    LeafConnected {
        /// The other server's name.
        server: String,
    },
    /// A leaf link closed (the last notice about it).
    LeafClosed {
        /// Why.
        reason: CloseReason,
    },
    /// A leaf link failed: the hub's `-ERR`, a protocol error, or a loop.
    LeafError {
        /// What happened.
        text: String,
    },
}

impl ConnEvent {
    /// The level nats-server logs this event at.
    pub fn level(&self) -> NoticeLevel {
        match self {
            Self::SlowConsumerPendingBytes { .. }
            | Self::SlowConsumerWriteDeadline { .. }
            | Self::LeafConnected { .. }
            | Self::LeafClosed { .. } => NoticeLevel::Info,
            Self::Created
            | Self::Closed { .. }
            | Self::AuthenticationTimeout
            | Self::StaleConnection => NoticeLevel::Debug,
            _ => NoticeLevel::Error,
        }
    }
}

impl fmt::Display for ConnEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created => f.write_str("Client connection created"),
            Self::Closed { reason } => write!(f, "Client connection closed: {reason}"),
            Self::SlowConsumerPendingBytes { max_pending } => {
                write!(
                    f,
                    "Slow Consumer Detected: MaxPending of {max_pending} Exceeded"
                )
            }
            Self::SlowConsumerWriteDeadline {
                write_deadline,
                pending,
            } => write!(
                f,
                "Slow Consumer Detected: WriteDeadline of {} exceeded with {pending} total bytes.",
                GoDuration(*write_deadline)
            ),
            Self::AuthenticationFailed { credentials: None } => f.write_str("authentication error"),
            Self::AuthenticationFailed {
                credentials: Some(who),
            } => write!(f, "authentication error - {who}"),
            Self::AuthenticationTimeout => f.write_str("Authentication Timeout"),
            Self::AuthenticationExpired => f.write_str("User Authentication Expired"),
            Self::MaxAccountConnectionsExceeded => {
                f.write_str("maximum account active connections exceeded")
            }
            Self::MaxConnectionsExceeded => f.write_str("maximum connections exceeded"),
            Self::StaleConnection => f.write_str("Stale Client Connection - Closing"),
            Self::Protocol { detail, .. } => f.write_str(detail),
            Self::InvalidJson { reason } => f.write_str(reason),
            Self::ClientError { text } => write!(f, "Client Error {text}"),
            Self::InvalidClientProtocol => f.write_str("invalid client protocol"),
            Self::NoRespondersRequiresHeaders => {
                f.write_str("no responders requires headers support")
            }
            Self::LeafConnected { server } => write!(
                f,
                "Leafnode connection created for account: $G (server {server:?})"
            ),
            Self::LeafClosed { reason } => write!(f, "Leafnode connection closed: {reason}"),
            Self::LeafError { text } => write!(f, "Leafnode Error {text}"),
        }
    }
}

/// The start of `bytes` as nats-server's `protoSnippet` shows it: at most 32 bytes (of a
/// shorter buffer, all but the last), quoted as Go's `%q` quotes them.
pub(crate) fn proto_snippet(bytes: &[u8]) -> String {
    let end = if bytes.len() > 32 {
        32
    } else {
        bytes.len().saturating_sub(1)
    };
    go_quote(&bytes[..end])
}

/// `bytes` quoted as Go's `strconv.Quote` (`%q`) quotes them.
pub(crate) fn go_quote(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    while !bytes.is_empty() {
        let (c, len) = match std::str::from_utf8(&bytes[..bytes.len().min(4)]) {
            Ok(s) => s.chars().next().map(|c| (Some(c), c.len_utf8())),
            Err(e) if e.valid_up_to() > 0 => {
                let s = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix");
                s.chars().next().map(|c| (Some(c), c.len_utf8()))
            }
            Err(_) => None,
        }
        .unwrap_or((None, 1));
        match c {
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\x07') => out.push_str("\\a"),
            Some('\x08') => out.push_str("\\b"),
            Some('\x0c') => out.push_str("\\f"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some('\x0b') => out.push_str("\\v"),
            Some(c) if c.is_ascii_graphic() || c == ' ' || (!c.is_ascii() && !c.is_control()) => {
                out.push(c);
            }
            Some(c) if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            Some(c) if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            Some(c) => out.push_str(&format!("\\U{:08x}", c as u32)),
            None => out.push_str(&format!("\\x{:02x}", bytes[0])),
        }
        bytes = &bytes[len..];
    }
    out.push('"');
    out
}

/// A duration as Go's `time.Duration` prints it (`10s`, `1.5s`, `250ms`, `1m30s`).
struct GoDuration(Duration);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.is_zero() {
            return f.write_str("0s");
        }
        if d < Duration::from_secs(1) {
            let (n, unit) = if d.as_nanos() % 1_000_000 == 0 {
                (d.as_millis().to_string(), "ms")
            } else if d.as_nanos() % 1_000 == 0 {
                (d.as_micros().to_string(), "µs")
            } else {
                (d.as_nanos().to_string(), "ns")
            };
            return write!(f, "{n}{unit}");
        }
        let total = d.as_secs();
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if h > 0 || m > 0 {
            write!(f, "{m}m")?;
        }
        let nanos = d.subsec_nanos();
        if nanos == 0 {
            write!(f, "{s}s")
        } else {
            let frac = format!("{nanos:09}");
            write!(f, "{s}.{}s", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_matches_nats_server() {
        let cases = [
            (
                ConnEvent::SlowConsumerPendingBytes {
                    max_pending: 100_000,
                },
                "Slow Consumer Detected: MaxPending of 100000 Exceeded",
                NoticeLevel::Info,
            ),
            (
                ConnEvent::AuthenticationFailed {
                    credentials: Some("User \"a\"".into()),
                },
                "authentication error - User \"a\"",
                NoticeLevel::Error,
            ),
            (
                ConnEvent::AuthenticationFailed { credentials: None },
                "authentication error",
                NoticeLevel::Error,
            ),
            (
                ConnEvent::MaxConnectionsExceeded,
                "maximum connections exceeded",
                NoticeLevel::Error,
            ),
            (
                ConnEvent::Protocol {
                    error: ParseError::MaxPayload,
                    detail: "maximum payload exceeded: 99999999 vs 1048576".into(),
                },
                "maximum payload exceeded: 99999999 vs 1048576",
                NoticeLevel::Error,
            ),
            (
                ConnEvent::Protocol {
                    error: ParseError::UnknownOp,
                    detail: format!(
                        "Client parser ERROR: proto='{}...'",
                        proto_snippet(b"XYZ\r\n")
                    ),
                },
                "Client parser ERROR: proto='\"XYZ\\r\"...'",
                NoticeLevel::Error,
            ),
            (
                ConnEvent::StaleConnection,
                "Stale Client Connection - Closing",
                NoticeLevel::Debug,
            ),
        ];
        for (event, text, level) in cases {
            assert_eq!(event.to_string(), text);
            assert_eq!(event.level(), level);
        }
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote(b"a\"b\\c\r\n\t"), r#""a\"b\\c\r\n\t""#);
        assert_eq!(
            go_quote(b"\x00\x7f\xff caf\xc3\xa9"),
            r#""\x00\x7f\xff café""#
        );
        assert_eq!(proto_snippet(b""), "\"\"");
        assert_eq!(
            proto_snippet(&[b'x'; 40]),
            format!("\"{}\"", "x".repeat(32))
        );
    }

    #[test]
    fn go_durations() {
        for (d, text) in [
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
        ] {
            assert_eq!(GoDuration(d).to_string(), text);
        }
    }
}
