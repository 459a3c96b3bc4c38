//! Parser tests: every op and argument form, every error, each fed whole, byte by byte and
//! split at every point (and at every pair of points for short frames).
//!
//! Expected results mirror what nats-server 2.15.1 and 2.9.10 did with the same bytes on
//! loopback (see the module doc of `parser`).

use bytes::{Bytes, BytesMut};

use super::{Parser, ParserLimits};
use crate::proto::{ClientOp, ParseError};

/// What feeding a stream produced: the ops, then the error that stopped it, if any.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    ops: Vec<ClientOp>,
    err: Option<ParseError>,
}

/// Feeds `chunks` one after another as a broker would, parsing until `Ok(None)` after each.
/// Also returns how many bytes were left in the buffer at the end.
fn feed<'a>(limits: ParserLimits, chunks: impl IntoIterator<Item = &'a [u8]>) -> (Outcome, usize) {
    let mut parser = Parser::new(limits);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(err) => {
                    assert_eq!(parser.parse(&mut buf), Err(err), "errors must stick");
                    return (
                        Outcome {
                            ops,
                            err: Some(err),
                        },
                        buf.len(),
                    );
                }
            }
        }
    }
    (Outcome { ops, err: None }, buf.len())
}

/// Checks that `input` gives `expected` however it is split into reads.
fn check_with(limits: ParserLimits, input: &[u8], expected: &Outcome) {
    let (whole, rest) = feed(limits, [input]);
    assert_eq!(
        &whole,
        expected,
        "whole: {:?}",
        String::from_utf8_lossy(input)
    );
    let (bytes, rest_bytes) = feed(limits, input.chunks(1));
    assert_eq!(
        &bytes,
        expected,
        "byte by byte: {:?}",
        String::from_utf8_lossy(input)
    );
    if expected.err.is_none() {
        assert_eq!(
            rest,
            rest_bytes,
            "leftover differs: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        let (split, _) = feed(limits, [a, b]);
        assert_eq!(
            &split,
            expected,
            "split at {i}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    if input.len() <= 48 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let (split, _) = feed(limits, [&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(
                    &split,
                    expected,
                    "split at {i},{j}: {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }
}

fn check(input: &[u8], expected: &Outcome) {
    check_with(ParserLimits::default(), input, expected);
}

/// `input` parses to `ops` and nothing is left over.
fn ok(input: &[u8], ops: &[ClientOp]) {
    let expected = Outcome {
        ops: ops.to_vec(),
        err: None,
    };
    check(input, &expected);
    assert_eq!(
        feed(ParserLimits::default(), [input]).1,
        0,
        "bytes left over"
    );
}

/// `input` parses to `ops`, then fails with `err`.
fn fails(input: &[u8], ops: &[ClientOp], err: ParseError) {
    check(
        input,
        &Outcome {
            ops: ops.to_vec(),
            err: Some(err),
        },
    );
}

/// `input` parses to `ops` and then waits for more (no error).
fn waits(limits: ParserLimits, input: &[u8], ops: &[ClientOp]) {
    check_with(
        limits,
        input,
        &Outcome {
            ops: ops.to_vec(),
            err: None,
        },
    );
}

fn b(s: &[u8]) -> Bytes {
    Bytes::copy_from_slice(s)
}

fn publish(subject: &[u8], reply: Option<&[u8]>, payload: &[u8]) -> ClientOp {
    ClientOp::Pub {
        subject: b(subject),
        reply: reply.map(b),
        payload: b(payload),
    }
}

fn hpublish(subject: &[u8], reply: Option<&[u8]>, header_len: usize, message: &[u8]) -> ClientOp {
    ClientOp::HPub {
        subject: b(subject),
        reply: reply.map(b),
        header_len,
        message: b(message),
    }
}

fn sub(subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> ClientOp {
    ClientOp::Sub {
        subject: b(subject),
        queue: queue.map(b),
        sid: b(sid),
    }
}

fn unsub(sid: &[u8], max: Option<u64>) -> ClientOp {
    ClientOp::Unsub { sid: b(sid), max }
}

fn limits(max_control_line: usize, max_payload: usize) -> ParserLimits {
    ParserLimits {
        max_control_line,
        max_payload,
    }
}

use ClientOp::{Ping, Pong};
use ParseError::{BadArguments, MaxControlLine, MaxPayload, UnknownOp};

// ---- every op and argument form ----

#[test]
fn ping_pong_ok() {
    ok(b"PING\r\n", &[Ping]);
    ok(b"PONG\r\n", &[Pong]);
    ok(b"+OK\r\n", &[ClientOp::Ok]);
    ok(b"ping\npong\n+ok\n", &[Ping, Pong, ClientOp::Ok]);
    ok(
        b"PINGxyz\r\nPING foo bar\r\nPONG\t\r\n+OKAY\r\n",
        &[Ping, Ping, Pong, ClientOp::Ok],
    );
    ok(b"PING\r\r\r\n", &[Ping]);
}

#[test]
fn connect_and_info() {
    ok(
        b"CONNECT {\"verbose\":false}\r\n",
        &[ClientOp::Connect(b(b"{\"verbose\":false}"))],
    );
    ok(b"connect \t {} \r\n", &[ClientOp::Connect(b(b"{} "))]);
    ok(b"CONNECT{}\r\n", &[ClientOp::Connect(b(b"{}"))]);
    ok(b"CONNECT {}\n", &[ClientOp::Connect(b(b"{}"))]);
    ok(b"INFO {}\r\n", &[ClientOp::Info(b(b"{}"))]);
    ok(b"info{}\r\n", &[ClientOp::Info(b(b"{}"))]);
}

#[test]
fn connect_without_arguments_takes_the_cr_or_the_next_line() {
    // nats-server: the first byte after the name starts the arguments, whatever it is.
    ok(b"CONNECT\r\n", &[ClientOp::Connect(b(b"\r"))]);
    ok(b"CONNECT \r\n", &[ClientOp::Connect(b(b"\r"))]);
    ok(
        b"CONNECT\n{}\r\nPING\r\n",
        &[ClientOp::Connect(b(b"\n{}")), Ping],
    );
    ok(b"INFO\r\n", &[ClientOp::Info(b(b"\r"))]);
}

#[test]
fn client_err() {
    ok(b"-ERR 'oops'\r\n", &[ClientOp::Err(b(b"'oops'"))]);
    ok(b"-err\t\tx y\n", &[ClientOp::Err(b(b"x y"))]);
}

#[test]
fn pub_forms() {
    ok(b"PUB foo 2\r\nhi\r\n", &[publish(b"foo", None, b"hi")]);
    ok(
        b"PUB foo bar 2\r\nhi\r\n",
        &[publish(b"foo", Some(b"bar"), b"hi")],
    );
    ok(
        b"pub\tfoo\t\t2\t\r\nhi\r\n",
        &[publish(b"foo", None, b"hi")],
    );
    ok(
        b"PUB   foo   2   \r\nhi\r\n",
        &[publish(b"foo", None, b"hi")],
    );
    ok(b"PUB foo 2\nhi\r\n", &[publish(b"foo", None, b"hi")]);
    ok(b"PUB foo 0\r\n\r\n", &[publish(b"foo", None, b"")]);
    ok(b"PUB foo 01\r\nx\r\n", &[publish(b"foo", None, b"x")]);
    ok(
        b"PUB foo 4\r\n\r\n\r\n\r\n",
        &[publish(b"foo", None, b"\r\n\r\n")],
    );
    ok(
        b"PUB foo 5\r\nPING\n\r\nPING\r\n",
        &[publish(b"foo", None, b"PING\n"), Ping],
    );
}

#[test]
fn hpub_forms() {
    ok(
        b"HPUB foo 2 4\r\nabcd\r\n",
        &[hpublish(b"foo", None, 2, b"abcd")],
    );
    ok(
        b"hpub foo bar 2 4\r\nabcd\r\n",
        &[hpublish(b"foo", Some(b"bar"), 2, b"abcd")],
    );
    ok(b"HPUB foo 0 0\r\n\r\n", &[hpublish(b"foo", None, 0, b"")]);
    ok(
        b"HPUB foo 3 3\r\nabc\r\n",
        &[hpublish(b"foo", None, 3, b"abc")],
    );
}

#[test]
fn sub_forms() {
    ok(b"SUB foo 1\r\n", &[sub(b"foo", None, b"1")]);
    ok(b"SUB foo q 1\r\n", &[sub(b"foo", Some(b"q"), b"1")]);
    ok(b"sub\tfoo   1\n", &[sub(b"foo", None, b"1")]);
    ok(
        b"SUB foo.* q.> sid-x \t\r\n",
        &[sub(b"foo.*", Some(b"q.>"), b"sid-x")],
    );
    // \r splits SUB arguments; a line ending in \r\r\n keeps one \r, which also splits.
    ok(b"SUB foo\r 1\r\n", &[sub(b"foo", None, b"1")]);
    ok(b"SUB foo 1\r\r\n", &[sub(b"foo", None, b"1")]);
}

#[test]
fn unsub_forms() {
    ok(b"UNSUB 1\r\n", &[unsub(b"1", None)]);
    ok(b"UNSUB 1 5\r\n", &[unsub(b"1", Some(5))]);
    ok(b"unsub\t1\t0\n", &[unsub(b"1", Some(0))]);
    ok(b"UNSUB 1 x\r\n", &[unsub(b"1", Some(0))]);
    ok(b"UNSUB 1 1234567890\r\n", &[unsub(b"1", Some(0))]);
    ok(b"UNSUB 1 999999999\r\n", &[unsub(b"1", Some(999_999_999))]);
}

#[test]
fn a_stream_of_everything() {
    let input = b"CONNECT {}\r\nSUB foo 1\r\nPUB foo r 2\r\nhi\r\nHPUB foo 1 2\r\nab\r\n\
                  UNSUB 1 3\r\nPING\r\nPONG\r\n+OK\r\nINFO {}\r\n-ERR 'x'\r\n";
    ok(
        input,
        &[
            ClientOp::Connect(b(b"{}")),
            sub(b"foo", None, b"1"),
            publish(b"foo", Some(b"r"), b"hi"),
            hpublish(b"foo", None, 1, b"ab"),
            unsub(b"1", Some(3)),
            Ping,
            Pong,
            ClientOp::Ok,
            ClientOp::Info(b(b"{}")),
            ClientOp::Err(b(b"'x'")),
        ],
    );
}

// ---- odd bytes where nats-server does odd things ----

#[test]
fn cr_inside_pub_arguments_stays_in_the_subject() {
    ok(b"PUB foo\r 2\r\nhi\r\n", &[publish(b"foo\r", None, b"hi")]);
    // The first argument byte is never the line end: `PUB \n` waits for the next `\n`.
    ok(b"PUB \nfoo 1\r\nx\r\n", &[publish(b"\nfoo", None, b"x")]);
}

#[test]
fn a_cr_anywhere_drops_the_byte_before_a_bare_lf() {
    // nats-server drops one byte before `\n` once it saw any `\r` in the arguments.
    fails(b"SUB foo\r 1\n", &[], BadArguments);
    ok(b"SUB foo\r 12\n", &[sub(b"foo", None, b"1")]);
    fails(b"PUB foo 2\r\r\nhi\r\n", &[], BadArguments);
}

// ---- errors ----

#[test]
fn unknown_ops() {
    for input in [
        &b"PINX\r\n"[..],
        b"PIN\r\n",
        b"+O\r\n",
        b"+OX",
        b" PING\r\n",
        b"\tPING\r\n",
        b"\r\n",
        b"\n",
        b"\0",
        b"xyz\r\n",
        b"MSG foo 1 1\r\nx\r\n",
        b"RS+ foo\r\n",
        b"A+ foo\r\n",
        b"LS+ foo\r\n",
        b"HMX",
        b"HMSG\r\n",
        b"HMSG foo 1 2 3\r\n",
        b"HMSG foo\n",
        b"PUB\r\n",
        b"PUBfoo 1\r\n",
        b"SUB\r\n",
        b"UNSUB\r\n",
        b"HPUB\r\n",
        b"-ERR\r\n",
        b"-ERRx\r\n",
        b"CONECT {}\r\n",
        b"INFX",
    ] {
        fails(input, &[], UnknownOp);
    }
}

#[test]
fn unknown_op_after_good_ops() {
    fails(b"PING\r\nPONG\r\nPINX", &[Ping, Pong], UnknownOp);
}

#[test]
fn payload_must_end_in_crlf() {
    fails(b"PUB foo 2\r\nhi\nPING\r\n", &[], UnknownOp);
    fails(b"PUB foo 2\r\nhix\r\n", &[], UnknownOp);
    fails(b"PUB foo 2\r\nhi\r\r\n", &[], UnknownOp);
    fails(b"PUB foo 3\r\nhi\r\n", &[], UnknownOp);
    fails(b"PUB foo 0\r\n\n", &[], UnknownOp);
    fails(b"HPUB foo 1 2\r\nabc\r\n", &[], UnknownOp);
    // Detected as soon as the wrong byte arrives, before the rest.
    fails(b"PUB foo 2\r\nhiX", &[], UnknownOp);
    fails(b"PUB foo 2\r\nhi\rX", &[], UnknownOp);
}

#[test]
fn wrong_argument_counts() {
    for input in [
        &b"PUB foo\r\n"[..],
        b"PUB \r\n",
        b"PUB foo a b 1\r\n",
        b"PUB a b c d e f\r\n",
        b"HPUB foo 1\r\n",
        b"HPUB foo a b 2 4\r\n",
        b"SUB foo\r\n",
        b"SUB \r\n",
        b"SUB a b c d\r\n",
        b"UNSUB 1 2 3\r\n",
        b"UNSUB \r\n",
    ] {
        fails(input, &[], BadArguments);
    }
}

#[test]
fn bad_sizes() {
    for input in [
        &b"PUB foo 1234567890\r\n"[..],
        b"PUB foo +1\r\n",
        b"PUB foo -1\r\n",
        b"PUB foo 1x\r\n",
        b"PUB foo \t\r\n",
        b"HPUB foo x 2\r\n",
        b"HPUB foo 2 x\r\n",
        b"HPUB foo 5 3\r\n",
    ] {
        fails(input, &[], BadArguments);
    }
}

#[test]
fn max_payload_is_reported_before_the_payload() {
    fails(b"PUB foo 1048577\r\n", &[], MaxPayload);
    fails(b"PUB foo 999999999\r\n", &[], MaxPayload);
    fails(b"HPUB foo 1 1048577\r\n", &[], MaxPayload);
    waits(ParserLimits::default(), b"PUB foo 1048576\r\n", &[]);
    let small = limits(4096, 2);
    check_with(
        small,
        b"PUB foo 2\r\nhi\r\n",
        &Outcome {
            ops: vec![publish(b"foo", None, b"hi")],
            err: None,
        },
    );
    check_with(
        small,
        b"PUB foo 3\r\n",
        &Outcome {
            ops: vec![],
            err: Some(MaxPayload),
        },
    );
    check_with(
        small,
        b"HPUB foo 1 3\r\n",
        &Outcome {
            ops: vec![],
            err: Some(MaxPayload),
        },
    );
    // Argument errors win over the payload limit, as in nats-server.
    check_with(
        small,
        b"HPUB foo 4 3\r\n",
        &Outcome {
            ops: vec![],
            err: Some(BadArguments),
        },
    );
}

#[test]
fn max_control_line_counts_the_arguments_only() {
    // Verified on nats-server: with the default 4096, `SUB <4096 bytes of args>` passes.
    let lim = limits(8, 1024);
    let pass = |input: &[u8], op: ClientOp| {
        check_with(
            lim,
            input,
            &Outcome {
                ops: vec![op],
                err: None,
            },
        );
    };
    let fail = |input: &[u8]| {
        check_with(
            lim,
            input,
            &Outcome {
                ops: vec![],
                err: Some(MaxControlLine),
            },
        )
    };
    pass(b"SUB abcdef 1\r\n", sub(b"abcdef", None, b"1"));
    pass(b"SUB    abcdef 1\n", sub(b"abcdef", None, b"1"));
    fail(b"SUB abcdefg 1\r\n");
    fail(b"SUB abcdefg 1\n");
    pass(b"PUB abcdef 1\r\nx\r\n", publish(b"abcdef", None, b"x"));
    fail(b"PUB abcdefg 1\r\nx\r\n");
    pass(b"CONNECT 12345678\r\n", ClientOp::Connect(b(b"12345678")));
    fail(b"CONNECT 123456789\r\n");
    fail(b"INFO 123456789\r\n");
    fail(b"-ERR 123456789\r\n");
    fail(b"HMSG 123456789\r\n");
    // The ignored tail of PING is not a control line.
    pass(b"PING 123456789012345\r\n", Ping);
}

#[test]
fn max_control_line_applies_to_partial_lines() {
    let lim = limits(8, 1024);
    let fail = |input: &[u8]| {
        check_with(
            lim,
            input,
            &Outcome {
                ops: vec![],
                err: Some(MaxControlLine),
            },
        )
    };
    waits(lim, b"SUB 12345678", &[]);
    fail(b"SUB 123456789");
    // A trailing `\r` may still be dropped: 8 bytes + `\r` can still become a valid line.
    waits(lim, b"SUB 12345678\r", &[]);
    waits(lim, b"SUB 1234\r6789", &[]);
    pass_partial_then(lim);
    fail(b"SUB 12345678\rx");
    fail(b"CONNECT 123456789");
    fail(b"HMSG 123456789");
    // Blanks before the arguments and PING tails are discarded, so they never pile up.
    waits(lim, &[b"PUB".as_slice(), &[b' '; 100]].concat(), &[]);
    waits(lim, &[b"PING".as_slice(), &[b'x'; 100]].concat(), &[]);
}

/// `SUB 1234\r6789\n` drops the `9`, leaving 8 bytes of arguments: within the limit.
fn pass_partial_then(lim: ParserLimits) {
    check_with(
        lim,
        b"SUB 1234\r6789\n",
        &Outcome {
            ops: vec![sub(b"1234", None, b"678")],
            err: None,
        },
    );
}

#[test]
fn connect_name_needs_no_separator() {
    waits(ParserLimits::default(), b"CONNECTX", &[]);
    ok(b"CONNECTX{}\r\n", &[ClientOp::Connect(b(b"X{}"))]);
}

#[test]
fn set_limits_applies_to_the_next_line() {
    let mut parser = Parser::new(limits(8, 8));
    let mut buf = BytesMut::from(&b"PUB foo 9\r\n"[..]);
    parser.set_limits(limits(8, 9));
    assert_eq!(parser.limits(), limits(8, 9));
    assert_eq!(parser.parse(&mut buf), Ok(None));
    buf.extend_from_slice(b"123456789\r\n");
    assert_eq!(
        parser.parse(&mut buf),
        Ok(Some(publish(b"foo", None, b"123456789")))
    );
}

// ---- buffer handling ----

#[test]
fn partial_ops_stay_in_the_buffer() {
    let mut parser = Parser::new(ParserLimits::default());
    let mut buf = BytesMut::from(&b"PING\r\nSUB foo"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(Some(Ping)));
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(
        &buf[..],
        b"foo",
        "the op name is consumed, the arguments stay"
    );
    buf.extend_from_slice(b" 1\r\nPUB foo 5\r\nhel");
    assert_eq!(parser.parse(&mut buf), Ok(Some(sub(b"foo", None, b"1"))));
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"foo 5\r\nhel");
    buf.extend_from_slice(b"lo\r\nPI");
    assert_eq!(
        parser.parse(&mut buf),
        Ok(Some(publish(b"foo", None, b"hello")))
    );
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"PI");
}

#[test]
fn payloads_share_the_read_buffer() {
    let mut parser = Parser::new(ParserLimits::default());
    let mut buf = BytesMut::from(&b"PUB foo 5\r\nhello\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let Ok(Some(ClientOp::Pub {
        subject, payload, ..
    })) = parser.parse(&mut buf)
    else {
        panic!("expected a PUB");
    };
    assert_eq!(subject.as_ptr() as usize, base + 4);
    assert_eq!(payload.as_ptr() as usize, base + 11);
}

#[test]
fn empty_buffer_waits() {
    let mut parser = Parser::default();
    assert_eq!(parser.parse(&mut BytesMut::new()), Ok(None));
}

#[test]
fn find_newline_agrees_with_a_plain_search() {
    // Bytes that trip naive zero-byte tests: 0x0b (= `\n` ^ 1), 0x8a (`\n` with the high bit).
    for len in 0..40 {
        for fill in [b'a', 0x0b, 0x8a, 0x0a ^ 0x80, 0x00, 0xff] {
            let mut hay = vec![fill; len];
            assert_eq!(
                super::find_newline(&hay),
                hay.iter().position(|&b| b == b'\n')
            );
            for at in 0..len {
                hay[at] = b'\n';
                if at > 0 {
                    hay[at - 1] = 0x0b;
                }
                assert_eq!(
                    super::find_newline(&hay),
                    hay.iter().position(|&b| b == b'\n')
                );
            }
        }
    }
}

/// Parses `input` whole with the pedantic check on.
fn feed_pedantic(input: &[u8]) -> (Vec<ClientOp>, Option<ParseError>) {
    let mut parser = Parser::default();
    parser.set_pedantic(true);
    let mut buf = BytesMut::from(input);
    let mut ops = Vec::new();
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(op)) => ops.push(op),
            Ok(None) => return (ops, None),
            Err(err) => return (ops, Some(err)),
        }
    }
}

#[test]
fn pedantic_subject_reported_at_the_control_line() {
    // nats-server answers at the control line, so a bad payload still gets the -ERR first.
    let (ops, err) = feed_pedantic(b"PUB a.> 4\r\nPUB x\r\n");
    assert_eq!(
        (ops, err),
        (
            vec![ClientOp::InvalidPublishSubject],
            Some(ParseError::UnknownOp)
        )
    );
    // A partial payload: the notice comes before the payload is in.
    let (ops, err) = feed_pedantic(b"PUB foo..bar 4\r\nab");
    assert_eq!((ops, err), (vec![ClientOp::InvalidPublishSubject], None));
    // Then the PUB follows as usual.
    let (ops, _) = feed_pedantic(b"HPUB * 0 1\r\nx\r\n");
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0], ClientOp::InvalidPublishSubject);
    assert!(matches!(&ops[1], ClientOp::HPub { subject, .. } if &subject[..] == b"*"));
}

#[test]
fn pedantic_ignores_whitespace_inside_tokens() {
    // nats-server's IsValidLiteralSubject only looks for empty and wildcard tokens.
    let (ops, err) = feed_pedantic(b"PUB s36\rx 0\r\n\r\nPUB foo 0\r\n\r\n");
    assert_eq!(err, None);
    assert!(ops.iter().all(|op| matches!(op, ClientOp::Pub { .. })));
    assert_eq!(ops.len(), 2);
}

#[test]
fn pedantic_off_reports_nothing() {
    let (ops, _) = feed(ParserLimits::default(), [&b"PUB a.> 0\r\n\r\n"[..]]);
    assert!(matches!(&ops.ops[..], [ClientOp::Pub { .. }]));
}

/// The error nats-server logs for `input`, as the parser keeps it.
fn rejection(input: &[u8], headers: bool) -> Option<String> {
    let mut parser = Parser::default();
    parser.set_headers(headers);
    let mut buf = BytesMut::from(input);
    while let Ok(Some(_)) = parser.parse(&mut buf) {}
    parser.rejection().map(str::to_owned)
}

#[test]
fn rejections_read_as_nats_server_logs_them() {
    // Each text checked against nats-server 2.15.1's log for the same bytes.
    let cases: &[(&[u8], bool, &str)] = &[
        (
            b"PUB a b c d\r\n",
            true,
            r#"processPub Parse Error: "a b c d""#,
        ),
        (
            b"PUB foo x\r\n",
            true,
            r#"processPub Bad or Missing Size: "foo x""#,
        ),
        (b"HPUB foo 1\r\n", false, "message headers not supported"),
        (
            b"HPUB foo x 2\r\n",
            true,
            r#"processHeaderPub Bad or Missing Header Size: "foo x 2""#,
        ),
        (
            b"HPUB foo 1 x\r\n",
            true,
            r#"processHeaderPub Bad or Missing Total Size: "foo 1 x""#,
        ),
        (
            b"HPUB foo 3 2\r\n",
            true,
            r#"processHeaderPub Header Size larger then TotalSize: "foo 3 2""#,
        ),
        (
            b"HPUB a b c d e\r\n",
            true,
            r#"processHeaderPub Parse Error: "a b c d e""#,
        ),
        (b"SUB foo\r\n", true, r#"processSub Parse Error: "foo""#),
        (
            b"UNSUB a b c\r\n",
            true,
            r#"processUnsub Parse Error: "a b c""#,
        ),
        (
            b"PUB foo 9999999\r\n",
            true,
            "maximum payload exceeded: 9999999 vs 1048576",
        ),
        (
            b"XYZ\r\n",
            true,
            r#"Client parser ERROR: proto='"XYZ\r"...'"#,
        ),
        (
            b"PINX\r\n",
            true,
            r#"Client parser ERROR: proto='"X\r"...'"#,
        ),
        (b"PUB\r\n", true, r#"Client parser ERROR: proto='"\r"...'"#),
        (
            b"PUB foo 1\r\nxy\r\n",
            true,
            r#"Client parser ERROR: proto='"y\r"...'"#,
        ),
        (
            b"PUB foo 1\r\nx\rx\r\n",
            true,
            r#"Client parser ERROR: proto='"x\r"...'"#,
        ),
        (
            b"HMSG foo 1 2 3\r\n",
            true,
            r#"Client parser ERROR: proto='""...'"#,
        ),
    ];
    for &(input, headers, text) in cases {
        assert_eq!(
            rejection(input, headers).as_deref(),
            Some(text),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(rejection(b"PUB foo 1\r\nx\r\n", true), None);
}
