//! The leafnode protocol's operations, as a hub sends them to a leaf (and a leaf to a hub):
//! `INFO`, `CONNECT`, `PING`, `PONG`, `+OK`, `-ERR`, `LS+`, `LS-`, `LMSG` and `HMSG`
//! (nats-server's `leafnode.go`: `processLeafSub`, `processLeafUnsub`, `processLeafMsgArgs`,
//! `processLeafHeaderMsgArgs`).
//!
//! Lines end at `\n` (a `\r` before it is dropped). A message's payload is sliced out of the
//! read buffer once and shared, as client payloads are.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

/// One leafnode operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeafOp {
    /// `INFO <json>`.
    Info(Bytes),
    /// `CONNECT <json>`.
    Connect(Bytes),
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR <text>` (the text as sent, quotes included).
    Err(Bytes),
    /// `LS+ <subject> [<queue> <weight>]`: the peer's interest.
    Sub {
        /// The subject or pattern.
        subject: Bytes,
        /// The queue group and its weight (members behind the peer).
        queue: Option<(Bytes, u32)>,
    },
    /// `LS- <subject> [<queue>]`: interest withdrawn.
    Unsub {
        /// The subject or pattern.
        subject: Bytes,
        /// The queue group.
        queue: Option<Bytes>,
    },
    /// `LMSG`/`HMSG`: a message routed over the link.
    Msg {
        /// The subject.
        subject: Bytes,
        /// The reply subject.
        reply: Option<Bytes>,
        /// The queue groups it is meant for (empty: plain subscribers only).
        queues: Vec<Bytes>,
        /// Length of the header block at the front of `message` (0 for `LMSG`).
        header_len: usize,
        /// Headers and payload.
        message: Bytes,
    },
}

/// Why leafnode input was refused (the link is closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafParseError(pub String);

impl std::fmt::Display for LeafParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LeafParseError {}

/// Parses leafnode operations from a connection's byte stream.
#[derive(Debug, Clone)]
pub struct LeafParser {
    max_line: usize,
    max_payload: usize,
}

impl LeafParser {
    /// A parser accepting control lines up to `max_line` bytes and messages up to
    /// `max_payload` bytes.
    pub fn new(max_line: usize, max_payload: usize) -> Self {
        Self {
            max_line,
            max_payload,
        }
    }

    /// The next complete operation at the front of `buf` (removed from it), `Ok(None)` when
    /// more bytes are needed.
    ///
    /// # Errors
    /// An unknown operation, bad arguments, a line or message over the limits.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<LeafOp>, LeafParseError> {
        let Some(nl) = memchr(b'\n', buf) else {
            if buf.len() > self.max_line {
                return Err(LeafParseError("maximum control line exceeded".into()));
            }
            return Ok(None);
        };
        let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        if line_end > self.max_line {
            return Err(LeafParseError("maximum control line exceeded".into()));
        }
        let line = &buf[..line_end];
        let name_end = line
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .unwrap_or(line.len());
        let mut name = [0u8; 8];
        if name_end > name.len() {
            return Err(unknown(line));
        }
        name[..name_end].copy_from_slice(&line[..name_end]);
        name.make_ascii_uppercase();
        let args_start = line[name_end..]
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .map_or(line.len(), |i| name_end + i);
        let op = match &name[..name_end] {
            b"PING" => LeafOp::Ping,
            b"PONG" => LeafOp::Pong,
            b"+OK" => LeafOp::Ok,
            b"INFO" | b"CONNECT" | b"-ERR" | b"LS+" | b"LS-" => {
                let frozen = buf.split_to(nl + 1).freeze();
                let args = frozen.slice(args_start..line_end);
                return match &name[..name_end] {
                    b"INFO" => Ok(Some(LeafOp::Info(args))),
                    b"CONNECT" => Ok(Some(LeafOp::Connect(args))),
                    b"-ERR" => Ok(Some(LeafOp::Err(args))),
                    b"LS+" => sub_args(&args).map(Some),
                    _ => unsub_args(&args).map(Some),
                };
            }
            b"LMSG" | b"HMSG" => {
                return self.message(buf, nl, args_start, line_end, name[0] == b'H');
            }
            _ => return Err(unknown(line)),
        };
        buf.advance(nl + 1);
        Ok(Some(op))
    }

    /// An `LMSG`/`HMSG` whose control line ends at `nl`: waits for its payload.
    fn message(
        &mut self,
        buf: &mut BytesMut,
        nl: usize,
        args_start: usize,
        line_end: usize,
        headers: bool,
    ) -> Result<Option<LeafOp>, LeafParseError> {
        let line = &buf[args_start..line_end];
        let args: Vec<&[u8]> = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|a| !a.is_empty())
            .collect();
        let sizes = if headers { 2 } else { 1 };
        if args.len() < 1 + sizes {
            return Err(bad(line));
        }
        let total = size(args[args.len() - 1]).ok_or_else(|| bad(line))?;
        let header_len = if headers {
            let h = size(args[args.len() - 2]).ok_or_else(|| bad(line))?;
            if h > total {
                return Err(bad(line));
            }
            h
        } else {
            0
        };
        if total > self.max_payload {
            return Err(LeafParseError("Maximum Payload Violation".into()));
        }
        let body_start = nl + 1;
        if buf.len() < body_start + total + 2 {
            return Ok(None);
        }
        if &buf[body_start + total..body_start + total + 2] != b"\r\n" {
            // Not the following bytes in the text: they depend on how much was read.
            return Err(LeafParseError(
                "message payload is not followed by CRLF".into(),
            ));
        }
        // Offsets into the line, so the arguments can be sliced from the frozen buffer.
        let offsets: Vec<(usize, usize)> = args
            .iter()
            .map(|a| {
                let start = a.as_ptr() as usize - buf.as_ptr() as usize;
                (start, start + a.len())
            })
            .collect();
        let frozen = buf.split_to(body_start + total + 2).freeze();
        let arg = |i: usize| frozen.slice(offsets[i].0..offsets[i].1);
        let middle = offsets.len() - sizes; // subject, then reply/queues
        let (reply, queues) = match middle {
            1 => (None, Vec::new()),
            2 => (Some(arg(1)), Vec::new()),
            _ => match &frozen[offsets[1].0..offsets[1].1] {
                b"+" => (Some(arg(2)), (3..middle).map(arg).collect()),
                b"|" => (None, (2..middle).map(arg).collect()),
                _ => return Err(bad(&frozen[args_start..line_end])),
            },
        };
        Ok(Some(LeafOp::Msg {
            subject: arg(0),
            reply,
            queues,
            header_len,
            message: frozen.slice(body_start..body_start + total),
        }))
    }
}

fn sub_args(args: &Bytes) -> Result<LeafOp, LeafParseError> {
    let parts = split(args);
    match parts.as_slice() {
        [subject] => Ok(LeafOp::Sub {
            subject: subject.clone(),
            queue: None,
        }),
        [subject, queue, weight] => {
            let weight = size(weight)
                .and_then(|w| u32::try_from(w).ok())
                .ok_or_else(|| bad(args))?;
            Ok(LeafOp::Sub {
                subject: subject.clone(),
                queue: Some((queue.clone(), weight.max(1))),
            })
        }
        _ => Err(LeafParseError(format!(
            "processLeafSub Parse Error: '{}'",
            String::from_utf8_lossy(args)
        ))),
    }
}

fn unsub_args(args: &Bytes) -> Result<LeafOp, LeafParseError> {
    let parts = split(args);
    match parts.as_slice() {
        [subject] => Ok(LeafOp::Unsub {
            subject: subject.clone(),
            queue: None,
        }),
        [subject, queue] => Ok(LeafOp::Unsub {
            subject: subject.clone(),
            queue: Some(queue.clone()),
        }),
        _ => Err(bad(args)),
    }
}

/// Splits on spaces and tabs, sharing `args`.
fn split(args: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in args.iter().enumerate() {
        match (b == b' ' || b == b'\t', start) {
            (true, Some(s)) => {
                out.push(args.slice(s..i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(args.slice(s..));
    }
    out
}

/// A size field: 1 to 10 ASCII digits.
fn size(field: &[u8]) -> Option<usize> {
    if field.is_empty() || field.len() > 10 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn unknown(bytes: &[u8]) -> LeafParseError {
    let shown = &bytes[..bytes.len().min(32)];
    LeafParseError(format!(
        "Unknown leafnode protocol operation: {:?}",
        String::from_utf8_lossy(shown)
    ))
}

fn bad(line: &[u8]) -> LeafParseError {
    LeafParseError(format!(
        "processLeafMsgArgs Parse Error: '{}'",
        String::from_utf8_lossy(line)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(input: &[u8]) -> Vec<LeafOp> {
        let mut parser = LeafParser::new(64 * 1024, 1 << 20);
        let mut buf = BytesMut::from(input);
        let mut ops = Vec::new();
        while let Some(op) = parser.parse(&mut buf).unwrap() {
            ops.push(op);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        ops
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn every_operation_of_the_protocol() {
        let ops = all(b"INFO {\"server_id\":\"x\"}\r\nPING\r\npong\r\n+OK\r\n-ERR 'Loop'\r\n\
LS+ foo.>\r\nLS+ bar q 3\r\nLS- foo.>\r\nLS- bar q\r\n\
LMSG a 2\r\nhi\r\nLMSG a _INBOX.1 2\r\nhi\r\nLMSG a + _INBOX.1 q1 q2 2\r\nhi\r\nLMSG a | q1 2\r\nhi\r\n\
HMSG h r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
        assert_eq!(ops[0], LeafOp::Info(b("{\"server_id\":\"x\"}")));
        assert_eq!(&ops[1..4], &[LeafOp::Ping, LeafOp::Pong, LeafOp::Ok]);
        assert_eq!(ops[4], LeafOp::Err(b("'Loop'")));
        assert_eq!(
            ops[5],
            LeafOp::Sub {
                subject: b("foo.>"),
                queue: None
            }
        );
        assert_eq!(
            ops[6],
            LeafOp::Sub {
                subject: b("bar"),
                queue: Some((b("q"), 3))
            }
        );
        assert_eq!(
            ops[7],
            LeafOp::Unsub {
                subject: b("foo.>"),
                queue: None
            }
        );
        assert_eq!(
            ops[8],
            LeafOp::Unsub {
                subject: b("bar"),
                queue: Some(b("q"))
            }
        );
        let msg = |reply: Option<&str>, queues: &[&str]| LeafOp::Msg {
            subject: b("a"),
            reply: reply.map(b),
            queues: queues.iter().map(|q| b(q)).collect(),
            header_len: 0,
            message: b("hi"),
        };
        assert_eq!(ops[9], msg(None, &[]));
        assert_eq!(ops[10], msg(Some("_INBOX.1"), &[]));
        assert_eq!(ops[11], msg(Some("_INBOX.1"), &["q1", "q2"]));
        assert_eq!(ops[12], msg(None, &["q1"]));
        assert_eq!(
            ops[13],
            LeafOp::Msg {
                subject: b("h"),
                reply: Some(b("r")),
                queues: vec![],
                header_len: 12,
                message: b("NATS/1.0\r\n\r\nhi"),
            }
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let mut parser = LeafParser::new(100, 10);
        for bad in [
            &b"MSG a 1 2\r\nhi\r\n"[..],
            b"LMSG a\r\n",
            b"LMSG a x\r\n",
            b"LMSG a 2\r\nhiX\r\n",
            b"LMSG a 11\r\n",
            b"HMSG a 3 2\r\n",
            b"LS+ a b\r\n",
            b"LMSG a ? r q 2\r\nhi\r\n",
        ] {
            let mut buf = BytesMut::from(bad);
            assert!(
                parser.parse(&mut buf).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut long = BytesMut::from(&[b'x'; 200][..]);
        assert!(parser.parse(&mut long).is_err());
    }

    /// Feeds `chunks`, collecting operations until the first error.
    fn feed(chunks: &[&[u8]]) -> (Vec<LeafOp>, Option<LeafParseError>) {
        let mut parser = LeafParser::new(256, 1024);
        let mut buf = BytesMut::new();
        let mut ops = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match parser.parse(&mut buf) {
                    Ok(Some(op)) => ops.push(op),
                    Ok(None) => break,
                    Err(e) => return (ops, Some(e)),
                }
            }
        }
        (ops, None)
    }

    proptest! {
        /// The fuzz target's invariant on arbitrary input: never a panic, and a split read
        /// gives what the whole read gives.
        #[test]
        fn arbitrary_bytes_split_anywhere_parse_the_same(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(b"LS+ ".to_vec()), Just(b"LS- ".to_vec()), Just(b"LMSG ".to_vec()),
                    Just(b"HMSG ".to_vec()), Just(b"\r\n".to_vec()), Just(b" | ".to_vec()),
                    Just(b" + ".to_vec()), Just(b"PING".to_vec()), Just(b"2".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..6),
                ],
                0..30,
            ),
            split in any::<usize>(),
        ) {
            let input = pieces.concat();
            let split = split % (input.len() + 1);
            prop_assert_eq!(feed(&[&input]), feed(&[&input[..split], &input[split..]]));
        }

        #[test]
        fn any_split_gives_the_same_operations(cuts in proptest::collection::vec(1usize..40, 1..30)) {
            let input = b"LS+ foo q 2\r\nLMSG foo + _R.1 q 5\r\nhello\r\nPING\r\nHMSG x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nLS- foo q\r\n";
            let whole = all(input);
            let mut parser = LeafParser::new(4096, 1 << 20);
            let mut buf = BytesMut::new();
            let mut ops = Vec::new();
            let mut rest = &input[..];
            let mut cut = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cut.next().unwrap()).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                while let Some(op) = parser.parse(&mut buf).unwrap() {
                    ops.push(op);
                }
            }
            prop_assert_eq!(ops, whole);
        }
    }
}
