//! The byte parser for client operations.
//!
//! It follows nats-server's parser (`server/parser.go`) byte for byte where a client can tell
//! the difference, and was checked against nats-server 2.15.1 and 2.9.10 on loopback (both
//! behave the same for everything below):
//!
//! - Op names are case-insensitive. `PUB`, `HPUB`, `SUB`, `UNSUB` and `-ERR` need at least one
//!   space or tab after the name; `CONNECT` and `INFO` do not (`CONNECT{}` is fine). A byte that
//!   cannot continue any client op name (`PINX`, `MSG`, `RS+`, a leading space, an empty line)
//!   is [`ParseError::UnknownOp`] as soon as it is seen. `HMSG` is read to the end of its line
//!   and then rejected the same way.
//! - After the name, spaces and tabs are skipped; the next byte, whatever it is, starts the
//!   arguments, which run to the next `\n`. If any `\r` occurs among the arguments after their
//!   first byte, the byte before the `\n` is dropped (so `\r\n` and a bare `\n` both end a line,
//!   and `CONNECT\r\n` has the arguments `"\r"`, exactly as in nats-server when the line arrives
//!   in one read).
//! - `PING`, `PONG` and `+OK` ignore everything up to the `\n` (`PINGxyz\r\n` is a PING).
//! - `max_control_line` limits the length of the arguments (not the op name or the spaces
//!   before them), on complete lines and on lines still waiting for their `\n`.
//! - PUB and HPUB split their arguments on spaces and tabs, SUB and UNSUB also on `\r` and `\n`.
//!   Size fields are 1 to 9 ASCII digits. Wrong counts, bad sizes and an HPUB header size larger
//!   than its total are [`ParseError::BadArguments`]; a size over `max_payload` is
//!   [`ParseError::MaxPayload`], reported as soon as the control line is complete.
//! - A payload must be followed by exactly `\r\n`, else [`ParseError::UnknownOp`].
//!
//! Unlike nats-server, the result never depends on how the bytes were split into reads (its
//! split-read path drops every `\r` inside an argument line instead).

mod args;
mod opname;
#[cfg(test)]
mod tests;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use self::args::{Args, Span, is_pub_delim, is_sub_delim, parse_size};
use self::opname::{LineOp, OpKind, SkipOp};
use super::{ClientOp, ParseError};
use crate::notice::{go_quote, proto_snippet};
use crate::subject;

/// Limits the parser enforces while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Longest control line accepted (nats-server `max_control_line`, default 4096). Like
    /// nats-server, this counts the arguments only: `SUB <4096 bytes>\r\n` is accepted.
    pub max_control_line: usize,
    /// Largest PUB/HPUB size accepted (nats-server `max_payload`, default 1 MiB). For HPUB
    /// this is the total of header and payload.
    pub max_payload: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        Self {
            max_control_line: 4096,
            max_payload: 1024 * 1024,
        }
    }
}

/// Incremental parser for one connection's byte stream.
///
/// # Examples
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use skiff_core::proto::{ClientOp, Parser, ParserLimits};
///
/// let mut parser = Parser::new(ParserLimits::default());
/// let mut buf = BytesMut::from(&b"PUB foo 2\r\nh"[..]);
/// assert_eq!(parser.parse(&mut buf), Ok(None));
/// buf.extend_from_slice(b"i\r\nPING\r\n");
/// let op = parser.parse(&mut buf).unwrap().unwrap();
/// assert_eq!(op, ClientOp::Pub {
///     subject: Bytes::from_static(b"foo"),
///     reply: None,
///     payload: Bytes::from_static(b"hi"),
/// });
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ClientOp::Ping)));
/// assert_eq!(parser.parse(&mut buf), Ok(None));
/// assert!(buf.is_empty());
/// ```
#[derive(Debug)]
pub struct Parser {
    limits: ParserLimits,
    state: State,
    /// Whether HPUB is allowed (the client negotiated headers).
    headers: bool,
    /// Whether PUB subjects are checked ([`ClientOp::InvalidPublishSubject`]).
    pedantic: bool,
    /// nats-server's log text for the bytes refused (see [`Parser::rejection`]).
    rejection: Option<String>,
}

/// Where the parser is in the stream. Bytes already classified (an op name, the blanks
/// before its arguments, the ignored tail of a PING line) have been removed from the buffer.
#[derive(Debug, Clone, Copy, Default)]
enum State {
    /// The buffer starts with an op name (or is empty).
    #[default]
    Start,
    /// Discarding the rest of a PING/PONG/+OK line.
    Skip(SkipOp),
    /// Skipping spaces and tabs before the arguments of `LineOp`.
    BeforeArgs(LineOp),
    /// The buffer starts with the arguments; `scanned` bytes have no `\n` (the first byte of
    /// the arguments is never taken as the end of the line).
    Args { op: LineOp, scanned: usize },
    /// A PUB/HPUB control line (still at the front of the buffer) was accepted.
    Payload(PendingPub),
    /// An error was returned; it is returned again on every call.
    Failed(ParseError),
}

/// A PUB/HPUB whose control line is parsed, waiting for payload and CRLF.
#[derive(Debug, Clone, Copy)]
struct PendingPub {
    /// Length of the control line including its `\n`: the payload starts here.
    line_len: usize,
    subject: Span,
    reply: Option<Span>,
    /// `Some` for HPUB.
    header_len: Option<usize>,
    /// Payload size (HPUB: header and payload).
    size: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new(ParserLimits::default())
    }
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: ParserLimits) -> Self {
        Self {
            limits,
            state: State::Start,
            headers: true,
            pedantic: false,
            rejection: None,
        }
    }

    /// Turns the pedantic subject check on or off (off by default): when on, a PUB/HPUB whose
    /// subject has an empty or wildcard token yields [`ClientOp::InvalidPublishSubject`] as
    /// soon as its control line is complete, then the PUB itself once its payload is in.
    pub fn set_pedantic(&mut self, pedantic: bool) {
        self.pedantic = pedantic;
    }

    /// Allows or forbids HPUB (allowed by default). Without negotiated headers nats-server closes the connection as
    /// soon as an HPUB control line is complete ([`ParseError::BadArguments`]).
    pub fn set_headers(&mut self, headers: bool) {
        self.headers = headers;
    }

    /// Changes the limits (config reload); they apply from the next control line.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.limits = limits;
    }

    /// Once the parser failed, the error nats-server logs for the same bytes, such as
    /// `maximum payload exceeded: 2000000 vs 1048576`, `processPub Parse Error: "a b c d"` or
    /// `Client parser ERROR: proto='"X\r"...'` (without nats-server's internal `state=` and
    /// `i=`). `None` for [`ParseError::MaxControlLine`], whose text never varies.
    pub fn rejection(&self) -> Option<&str> {
        self.rejection.as_deref()
    }

    /// Fails with [`ParseError::UnknownOp`] at `buf[at]`, keeping nats-server's log text (which
    /// quotes the bytes from there).
    fn unknown_op(&mut self, buf: &[u8], at: usize) -> ParseError {
        let snippet = proto_snippet(buf.get(at..).unwrap_or_default());
        self.rejection = Some(format!("Client parser ERROR: proto='{snippet}...'"));
        ParseError::UnknownOp
    }

    /// Fails with [`ParseError::BadArguments`], keeping nats-server's `what: "args"` text.
    fn reject(&mut self, what: &str, args: &[u8]) -> ParseError {
        self.rejection = Some(format!("{what}: {}", go_quote(args)));
        ParseError::BadArguments
    }

    /// Whether the next byte starts a new operation (nothing of one is pending): where
    /// nats-server checks that an unauthenticated client's first op is CONNECT.
    pub fn at_op_start(&self) -> bool {
        matches!(self.state, State::Start)
    }

    /// The limits in force.
    pub fn limits(&self) -> ParserLimits {
        self.limits
    }

    /// Parses the next complete operation from the front of `buf`, removing its bytes.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of an operation: call again after
    /// appending more bytes. The bytes of that partial operation stay in `buf`, except those
    /// the parser has already classified and needs no more (an op name, blanks before the
    /// arguments, the ignored tail of a PING line), which it may remove. A PUB payload is
    /// returned as a slice of `buf`'s storage, never copied.
    ///
    /// # Errors
    ///
    /// Any [`ParseError`] means the connection must be closed; every later call returns the
    /// same error.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let result = self.step(buf);
        if let Err(err) = result {
            self.state = State::Failed(err);
        }
        result
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let op = match self.state {
            State::Start => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let Ok(recognized) = opname::recognize(buf) else {
                    return Err(self.unknown_op(buf, bad_name_byte(buf)));
                };
                let Some((kind, name_len)) = recognized else {
                    return Ok(None);
                };
                match kind {
                    OpKind::Skip(op) => {
                        buf.advance(name_len);
                        return self.skip_line(op, buf);
                    }
                    OpKind::Line(op) => {
                        let blanks = buf[name_len..]
                            .iter()
                            .take_while(|&&b| is_pub_delim(b))
                            .count();
                        return self.args_at(op, name_len + blanks, buf);
                    }
                }
            }
            State::Skip(op) => return self.skip_line(op, buf),
            State::BeforeArgs(op) => op,
            State::Args { op, scanned } => return self.line(op, scanned, buf),
            State::Payload(pending) => return self.payload(pending, buf),
            State::Failed(err) => return Err(err),
        };
        let blanks = buf.iter().take_while(|&&b| is_pub_delim(b)).count();
        self.args_at(op, blanks, buf)
    }

    /// Discards a PING/PONG/+OK line up to its `\n`.
    fn skip_line(
        &mut self,
        op: SkipOp,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientOp>, ParseError> {
        let Some(nl) = find_newline(buf) else {
            self.state = State::Skip(op);
            buf.clear();
            return Ok(None);
        };
        buf.advance(nl + 1);
        self.state = State::Start;
        Ok(Some(match op {
            SkipOp::Ping => ClientOp::Ping,
            SkipOp::Pong => ClientOp::Pong,
            SkipOp::Ok => ClientOp::Ok,
        }))
    }

    /// Drops the op name and blanks (`start` bytes) before the arguments of `op`, if the
    /// arguments have begun.
    fn args_at(
        &mut self,
        op: LineOp,
        start: usize,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientOp>, ParseError> {
        if start == buf.len() {
            self.state = State::BeforeArgs(op);
            buf.clear();
            return Ok(None);
        }
        buf.advance(start);
        self.line(op, 1, buf)
    }

    /// Reads the arguments of `op` at the front of `buf`, whose first `scanned` bytes hold no
    /// line end.
    fn line(
        &mut self,
        op: LineOp,
        scanned: usize,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientOp>, ParseError> {
        debug_assert!(scanned <= buf.len(), "the host removed buffered bytes");
        let from = scanned.min(buf.len());
        let Some(offset) = find_newline(&buf[from..]) else {
            self.state = State::Args {
                op,
                scanned: buf.len(),
            };
            self.check_partial_line(buf)?;
            return Ok(None);
        };
        let line_len = from + offset + 1;
        let arg_len = line_len - 1 - usize::from(drops_cr(&buf[..line_len - 1]));
        if arg_len > self.limits.max_control_line {
            return Err(ParseError::MaxControlLine);
        }
        let args = &buf[..arg_len];
        let op = match op {
            LineOp::Pub | LineOp::HPub => {
                let pending = self.pub_header(op, args, line_len)?;
                if self.pedantic && !subject::has_literal_tokens(&args[pending.subject.range()]) {
                    self.state = State::Payload(pending);
                    return Ok(Some(ClientOp::InvalidPublishSubject));
                }
                return self.payload(pending, buf);
            }
            LineOp::Sub => match sub(args) {
                Ok(spans) => spans,
                Err(_) => return Err(self.reject("processSub Parse Error", args)),
            },
            LineOp::Unsub => match unsub(args) {
                Ok(spans) => spans,
                Err(_) => return Err(self.reject("processUnsub Parse Error", args)),
            },
            LineOp::HMsg => return Err(self.unknown_op(buf, line_len)),
            LineOp::Connect => LineSpans::Connect,
            LineOp::Info => LineSpans::Info,
            LineOp::Err => LineSpans::Err,
        };
        self.state = State::Start;
        Ok(Some(op.fill(take_line(buf, arg_len, line_len))))
    }

    /// Returns the PUB/HPUB once its payload and CRLF are in `buf`.
    fn payload(
        &mut self,
        pending: PendingPub,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientOp>, ParseError> {
        let end = pending.line_len + pending.size;
        if buf.get(end).is_some_and(|&b| b != b'\r') {
            return Err(self.unknown_op(buf, end));
        }
        if buf.get(end + 1).is_some_and(|&b| b != b'\n') {
            return Err(self.unknown_op(buf, end + 1));
        }
        if buf.len() < end + 2 {
            self.state = State::Payload(pending);
            return Ok(None);
        }
        self.state = State::Start;
        Ok(Some(pending.take(buf)))
    }

    /// Rejects a line still waiting for its `\n` once it can no longer end within the limit.
    ///
    /// The arguments will keep every byte seen so far except at most one dropped `\r`, and
    /// only if a `\r` is already among them or still to come (in which case it adds a byte).
    fn check_partial_line(&self, args: &[u8]) -> Result<(), ParseError> {
        let max = self.limits.max_control_line;
        if args.len() <= max || (args.len() - 1 == max && drops_cr(args)) {
            Ok(())
        } else {
            Err(ParseError::MaxControlLine)
        }
    }

    /// Checks a PUB/HPUB control line's arguments.
    fn pub_header(
        &mut self,
        op: LineOp,
        args: &[u8],
        line_len: usize,
    ) -> Result<PendingPub, ParseError> {
        if op == LineOp::HPub && !self.headers {
            self.rejection = Some("message headers not supported".to_owned());
            return Err(ParseError::BadArguments);
        }
        let name = match op {
            LineOp::HPub => "processHeaderPub",
            _ => "processPub",
        };
        let split = Args::<4>::split(args, is_pub_delim);
        let (subject, reply, header, total) = match (op, split.as_ref().map(|s| s.as_slice())) {
            (LineOp::Pub, Some(&[subject, size])) => (subject, None, None, size),
            (LineOp::Pub, Some(&[subject, reply, size])) => (subject, Some(reply), None, size),
            (LineOp::HPub, Some(&[subject, hdr, total])) => (subject, None, Some(hdr), total),
            (LineOp::HPub, Some(&[subject, reply, hdr, total])) => {
                (subject, Some(reply), Some(hdr), total)
            }
            _ => return Err(self.reject(&format!("{name} Parse Error"), args)),
        };
        let size_of = |span: Span| parse_size(&args[span.range()]);
        let header_len = match header.map(size_of) {
            Some(None) => {
                return Err(self.reject("processHeaderPub Bad or Missing Header Size", args));
            }
            other => other.flatten(),
        };
        let Some(size) = size_of(total) else {
            let what = match op {
                LineOp::HPub => "processHeaderPub Bad or Missing Total Size",
                _ => "processPub Bad or Missing Size",
            };
            return Err(self.reject(what, args));
        };
        if header_len.is_some_and(|hdr| hdr > size) {
            return Err(self.reject("processHeaderPub Header Size larger then TotalSize", args));
        }
        if size > self.limits.max_payload {
            let max = self.limits.max_payload;
            self.rejection = Some(format!("maximum payload exceeded: {size} vs {max}"));
            return Err(ParseError::MaxPayload);
        }
        Ok(PendingPub {
            line_len,
            subject,
            reply,
            header_len,
            size,
        })
    }
}

impl PendingPub {
    /// Removes the whole frame from `buf` (which must hold it) and cuts the op out of it.
    ///
    /// Each `Bytes` costs one reference-count increment; nothing is copied.
    fn take(self, buf: &mut BytesMut) -> ClientOp {
        debug_assert_eq!(
            self.subject.start, 0,
            "PUB arguments start with the subject"
        );
        let mut line = buf.split_to(self.line_len);
        let body = buf.split_to(self.size).freeze();
        buf.advance(2);
        let reply = self
            .reply
            .map(|reply| cut(line.split_off(reply.start), reply.len()));
        let subject = cut(line, self.subject.end);
        match self.header_len {
            None => ClientOp::Pub {
                subject,
                reply,
                payload: body,
            },
            Some(header_len) => ClientOp::HPub {
                subject,
                reply,
                header_len,
                message: body,
            },
        }
    }
}

/// The first `len` bytes of `bytes`, which starts with them.
fn cut(mut bytes: BytesMut, len: usize) -> Bytes {
    bytes.truncate(len);
    bytes.freeze()
}

/// The offset of the first byte of `buf` that cannot continue any op name (`buf` starts with
/// an op name that [`opname::recognize`] refused).
fn bad_name_byte(buf: &[u8]) -> usize {
    (1..=buf.len())
        .find(|&k| opname::recognize(&buf[..k]).is_err())
        .map_or(0, |k| k - 1)
}

/// A SUB's arguments, checked.
fn sub(args: &[u8]) -> Result<LineSpans, ParseError> {
    let split = Args::<3>::split(args, is_sub_delim).ok_or(ParseError::BadArguments)?;
    match *split.as_slice() {
        [subject, sid] => Ok(LineSpans::Sub {
            subject,
            queue: None,
            sid,
        }),
        [subject, queue, sid] => Ok(LineSpans::Sub {
            subject,
            queue: Some(queue),
            sid,
        }),
        _ => Err(ParseError::BadArguments),
    }
}

/// An UNSUB's arguments, checked; an unparsable max becomes `Some(0)` (nats-server: "now").
fn unsub(args: &[u8]) -> Result<LineSpans, ParseError> {
    let split = Args::<2>::split(args, is_sub_delim).ok_or(ParseError::BadArguments)?;
    match *split.as_slice() {
        [sid] => Ok(LineSpans::Unsub { sid, max: None }),
        [sid, max] => {
            let max = parse_size(&args[max.range()]).map_or(0, |n| n as u64);
            Ok(LineSpans::Unsub {
                sid,
                max: Some(max),
            })
        }
        _ => Err(ParseError::BadArguments),
    }
}

/// A checked op without a payload, located by spans before its line is cut out of the buffer.
#[derive(Debug)]
enum LineSpans {
    Connect,
    Info,
    Err,
    Sub {
        subject: Span,
        queue: Option<Span>,
        sid: Span,
    },
    Unsub {
        sid: Span,
        max: Option<u64>,
    },
}

impl LineSpans {
    /// The op with its arguments cut out of `line`, its line without the terminator.
    fn fill(self, mut line: BytesMut) -> ClientOp {
        match self {
            Self::Connect => ClientOp::Connect(line.freeze()),
            Self::Info => ClientOp::Info(line.freeze()),
            Self::Err => ClientOp::Err(line.freeze()),
            Self::Sub {
                subject,
                queue,
                sid,
            } => {
                let mut at = 0;
                ClientOp::Sub {
                    subject: split_span(&mut line, &mut at, subject),
                    queue: queue.map(|queue| split_span(&mut line, &mut at, queue)),
                    sid: last_span(line, at, sid),
                }
            }
            Self::Unsub { sid, max } => ClientOp::Unsub {
                sid: last_span(line, 0, sid),
                max,
            },
        }
    }
}

/// Cuts `span` out of `rest`, which starts at offset `at` of the line; moves `at` past it.
fn split_span(rest: &mut BytesMut, at: &mut usize, span: Span) -> Bytes {
    rest.advance(span.start - *at);
    *at = span.end;
    rest.split_to(span.len()).freeze()
}

/// Turns `rest`, which starts at offset `at` of the line, into its `span`.
fn last_span(mut rest: BytesMut, at: usize, span: Span) -> Bytes {
    rest.advance(span.start - at);
    cut(rest, span.len())
}

/// Removes a control line of `line_len` bytes from `buf`, returning its first `arg_len`.
fn take_line(buf: &mut BytesMut, arg_len: usize, line_len: usize) -> BytesMut {
    let line = buf.split_to(arg_len);
    buf.advance(line_len - arg_len);
    line
}

/// The index of the first `\n` in `hay`.
///
/// Most control lines are short, and `memchr`'s setup costs more than the search on a few
/// bytes, so the first eight are checked as one word (a byte equal to `\n` becomes zero; the
/// lowest byte flagged by the zero-byte test is always a true zero).
fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    let Some(head) = hay.first_chunk::<8>() else {
        return hay.iter().position(|&b| b == b'\n');
    };
    let x = u64::from_le_bytes(*head) ^ NEWLINES;
    let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
    if zeros != 0 {
        return Some(zeros.trailing_zeros() as usize / 8);
    }
    memchr(b'\n', &hay[8..]).map(|i| i + 8)
}

/// Whether nats-server drops the byte before the `\n` ending the arguments `args`: it does when
/// a `\r` occurred anywhere after their first byte.
fn drops_cr(args: &[u8]) -> bool {
    match args {
        [_, .., b'\r'] => true,
        [_, rest @ ..] => memchr(b'\r', rest).is_some(),
        [] => false,
    }
}
