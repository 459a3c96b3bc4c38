//! Property tests of the client-op parser: split invariance and no panics.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::sample::Index;
use skiff_core::proto::{ClientOp, ParseError, Parser, ParserLimits};

/// Ops returned, then the error that stopped parsing, if any.
type Outcome = (Vec<ClientOp>, Option<ParseError>);

/// Feeds `chunks` in order, parsing until `Ok(None)` after each, as a broker does.
fn feed<'a>(limits: ParserLimits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = Parser::new(limits);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(err) => return (ops, Some(err)),
            }
        }
    }
    (ops, None)
}

/// `input` cut at the (sorted) positions `cuts` picks.
fn chunks<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for cut in at.into_iter().chain([input.len()]) {
        out.push(&input[prev..cut]);
        prev = cut;
    }
    out
}

/// An op name in random letter case.
fn name(upper: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), upper.len()).prop_map(move |lower| {
        upper
            .chars()
            .zip(lower)
            .map(|(c, l)| if l { c.to_ascii_lowercase() } else { c })
            .collect()
    })
}

fn blank() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" ", "\t", "  ", " \t "])
}

fn trailing() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\t", " \t"])
}

fn eol() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["\r\n", "\r\n", "\n"])
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._>*$-]{1,12}"
}

fn opt_token() -> impl Strategy<Value = Option<String>> {
    prop::option::of(token())
}

/// One valid op: its wire bytes and what the parser must return for them.
fn op() -> impl Strategy<Value = (Vec<u8>, ClientOp)> {
    let publish = (
        name("PUB"),
        blank(),
        token(),
        opt_token(),
        blank(),
        trailing(),
        eol(),
    )
        .prop_flat_map(|args| (Just(args), prop::collection::vec(any::<u8>(), 0..40)))
        .prop_map(|((n, b, subject, reply, b2, t, e), payload)| {
            let reply_part = reply.as_ref().map_or(String::new(), |r| format!("{r}{b2}"));
            let mut wire =
                format!("{n}{b}{subject}{b2}{reply_part}{}{t}{e}", payload.len()).into_bytes();
            wire.extend_from_slice(&payload);
            wire.extend_from_slice(b"\r\n");
            let op = ClientOp::Pub {
                subject: Bytes::from(subject),
                reply: reply.map(Bytes::from),
                payload: Bytes::from(payload),
            };
            (wire, op)
        });
    let hpublish = (
        name("HPUB"),
        blank(),
        token(),
        opt_token(),
        trailing(),
        eol(),
    )
        .prop_flat_map(|args| {
            (Just(args), prop::collection::vec(any::<u8>(), 0..40)).prop_flat_map(
                |(args, message)| {
                    let len = message.len();
                    (Just(args), Just(message), 0..=len)
                },
            )
        })
        .prop_map(|((n, b, subject, reply, t, e), message, header_len)| {
            let reply_part = reply.as_ref().map_or(String::new(), |r| format!("{r}{b}"));
            let mut wire = format!(
                "{n}{b}{subject}{b}{reply_part}{header_len}{b}{}{t}{e}",
                message.len()
            )
            .into_bytes();
            wire.extend_from_slice(&message);
            wire.extend_from_slice(b"\r\n");
            let op = ClientOp::HPub {
                subject: Bytes::from(subject),
                reply: reply.map(Bytes::from),
                header_len,
                message: Bytes::from(message),
            };
            (wire, op)
        });
    let subscribe = (
        name("SUB"),
        blank(),
        token(),
        opt_token(),
        token(),
        trailing(),
        eol(),
    )
        .prop_map(|(n, b, subject, queue, sid, t, e)| {
            let queue_part = queue.as_ref().map_or(String::new(), |q| format!("{q}{b}"));
            let wire = format!("{n}{b}{subject}{b}{queue_part}{sid}{t}{e}").into_bytes();
            let op = ClientOp::Sub {
                subject: Bytes::from(subject),
                queue: queue.map(Bytes::from),
                sid: Bytes::from(sid),
            };
            (wire, op)
        });
    let unsubscribe = (
        name("UNSUB"),
        blank(),
        token(),
        prop::option::of(0u64..1_000_000),
        trailing(),
        eol(),
    )
        .prop_map(|(n, b, sid, max, t, e)| {
            let max_part = max.map_or(String::new(), |m| format!("{b}{m}"));
            let wire = format!("{n}{b}{sid}{max_part}{t}{e}").into_bytes();
            (
                wire,
                ClientOp::Unsub {
                    sid: Bytes::from(sid),
                    max,
                },
            )
        });
    let json = "\\{[a-z0-9\":, ]{0,20}\\}";
    let connect = (
        name("CONNECT"),
        prop::sample::select(vec!["", " ", "\t "]),
        json,
        eol(),
    )
        .prop_map(|(n, b, json, e)| {
            (
                format!("{n}{b}{json}{e}").into_bytes(),
                ClientOp::Connect(Bytes::from(json)),
            )
        });
    let info = (name("INFO"), blank(), json, eol()).prop_map(|(n, b, json, e)| {
        (
            format!("{n}{b}{json}{e}").into_bytes(),
            ClientOp::Info(Bytes::from(json)),
        )
    });
    let err = (name("-ERR"), blank(), "'[a-zA-Z ]{0,12}'", eol()).prop_map(|(n, b, text, e)| {
        (
            format!("{n}{b}{text}{e}").into_bytes(),
            ClientOp::Err(Bytes::from(text)),
        )
    });
    let simple = (
        prop::sample::select(vec![
            ("PING", ClientOp::Ping),
            ("PONG", ClientOp::Pong),
            ("+OK", ClientOp::Ok),
        ]),
        "[a-z \t\r]{0,6}",
        eol(),
    )
        .prop_flat_map(|((upper, op), tail, e)| {
            name(upper).prop_map(move |n| (format!("{n}{tail}{e}").into_bytes(), op.clone()))
        });
    prop_oneof![
        4 => publish,
        2 => hpublish,
        3 => subscribe,
        2 => unsubscribe,
        1 => connect,
        1 => info,
        1 => err,
        2 => simple,
    ]
}

/// Bytes that look like protocol often enough to reach deep parser states.
fn protocolish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            &b"PUB "[..],
            b"HPUB ",
            b"SUB ",
            b"UNSUB ",
            b"PING",
            b"PONG",
            b"+OK",
            b"-ERR ",
            b"CONNECT ",
            b"INFO ",
            b"HMSG ",
            b"\r\n",
            b"\n",
            b"\r",
            b" ",
            b"\t",
            b"foo",
            b"1",
            b"2",
            b"0",
            b"12",
            b"999999999",
        ])
        .prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn any_limits() -> impl Strategy<Value = ParserLimits> {
    prop_oneof![
        Just(ParserLimits::default()),
        (1usize..16, 0usize..16).prop_map(|(max_control_line, max_payload)| ParserLimits {
            max_control_line,
            max_payload
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any chunking of a valid stream gives exactly the ops it was built from.
    #[test]
    fn valid_streams_parse_the_same_however_split(
        ops in prop::collection::vec(op(), 0..12),
        cuts in prop::collection::vec(any::<Index>(), 0..10),
    ) {
        let wire: Vec<u8> = ops.iter().flat_map(|(w, _)| w.iter().copied()).collect();
        let expected: Vec<ClientOp> = ops.into_iter().map(|(_, op)| op).collect();
        prop_assert_eq!(feed(ParserLimits::default(), [&wire[..]]), (expected.clone(), None));
        prop_assert_eq!(feed(ParserLimits::default(), chunks(&wire, &cuts)), (expected, None));
    }

    /// Arbitrary bytes never panic and give the same result however they are split.
    #[test]
    fn arbitrary_bytes_are_split_invariant(
        input in prop_oneof![protocolish(), prop::collection::vec(any::<u8>(), 0..64)],
        cuts in prop::collection::vec(any::<Index>(), 0..10),
        limits in any_limits(),
    ) {
        let whole = feed(limits, [&input[..]]);
        prop_assert_eq!(feed(limits, chunks(&input, &cuts)), whole.clone());
        prop_assert_eq!(feed(limits, input.chunks(1)), whole);
    }
}
