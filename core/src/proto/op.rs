//! Client operations as the parser yields them, and the errors it reports.

use bytes::Bytes;

/// One operation sent by a client, with its arguments sliced out of the read buffer.
///
/// Every `Bytes` here shares the connection's read buffer: nothing is copied except when a
/// frame straddles two reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOp {
    /// `CONNECT <json>`: the raw JSON object (leading whitespace removed, trailing kept as sent
    /// minus the line terminator).
    Connect(Bytes),
    /// `PUB <subject> [reply] <#bytes>` and its payload (without the trailing CRLF).
    Pub {
        /// The subject published to (not validated: that depends on `pedantic`).
        subject: Bytes,
        /// The reply subject, if given.
        reply: Option<Bytes>,
        /// The payload.
        payload: Bytes,
    },
    /// `HPUB <subject> [reply] <#hdr> <#total>`, its header block and payload.
    HPub {
        /// The subject published to.
        subject: Bytes,
        /// The reply subject, if given.
        reply: Option<Bytes>,
        /// Length of the header block at the front of `message`.
        header_len: usize,
        /// Header block followed by payload (`#total` bytes, without the trailing CRLF).
        message: Bytes,
    },
    /// `SUB <subject> [queue] <sid>`.
    Sub {
        /// The subject or wildcard pattern (validated by the subject index, not the parser).
        subject: Bytes,
        /// The queue group, if given.
        queue: Option<Bytes>,
        /// The subscription id chosen by the client.
        sid: Bytes,
    },
    /// `UNSUB <sid> [max]`. `max` is `Some(0)` when the argument was present but not a valid
    /// size, which nats-server treats as "unsubscribe now".
    Unsub {
        /// The subscription id.
        sid: Bytes,
        /// Auto-unsubscribe after this many messages in total.
        max: Option<u64>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK` (ignored by the server).
    Ok,
    /// `-ERR <text>` sent by a client (the server closes the connection).
    Err(Bytes),
    /// `INFO <json>` sent by a client (the JSON is checked, then ignored).
    Info(Bytes),
    /// A pedantic connection's PUB/HPUB control line names a subject with an empty or a
    /// wildcard token. Reported as soon as the control line is complete, before its payload
    /// arrives (the PUB itself follows as the next op), which is when nats-server answers
    /// `-ERR 'Invalid Publish Subject'`. Only when [`Parser::set_pedantic`] is on.
    ///
    /// [`Parser::set_pedantic`]: super::Parser::set_pedantic
    InvalidPublishSubject,
}

/// Why the parser rejected the input. Every variant closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// An unknown operation, a bad byte inside an operation name, or a payload not followed by
    /// CRLF. Sent as `-ERR 'Unknown Protocol Operation'`.
    UnknownOp,
    /// A control line (complete or still partial) longer than `max_control_line`.
    /// Sent as `-ERR 'maximum control line exceeded'`.
    MaxControlLine,
    /// A PUB/HPUB whose size exceeds `max_payload`, detected before the payload is read.
    /// Sent as `-ERR 'Maximum Payload Violation'`.
    MaxPayload,
    /// Wrong argument count, a bad size field, headers larger than the total: the connection is
    /// closed without any `-ERR` (nats-server's "Protocol Violation").
    BadArguments,
}

impl ParseError {
    /// The text nats-server sends inside `-ERR '…'` for this error, if it sends one.
    pub fn wire_text(self) -> Option<&'static str> {
        match self {
            Self::UnknownOp => Some("Unknown Protocol Operation"),
            Self::MaxControlLine => Some("maximum control line exceeded"),
            Self::MaxPayload => Some("Maximum Payload Violation"),
            Self::BadArguments => None,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UnknownOp => "unknown protocol operation",
            Self::MaxControlLine => "maximum control line exceeded",
            Self::MaxPayload => "maximum payload exceeded",
            Self::BadArguments => "bad arguments",
        })
    }
}

impl std::error::Error for ParseError {}
