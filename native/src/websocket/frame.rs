//! WebSocket framing (RFC 6455 §5) as a NATS server does it: a streaming decoder for what
//! clients send and the encoder for what the server sends.
//!
//! The decoder is sans-IO: bytes go in with [`Decoder::feed`], events come out of
//! [`Decoder::next_event`]. Uncompressed data is handed on as it arrives (unmasked in place,
//! frames need not be whole), so a large frame streams through without being buffered; a
//! compressed message (RFC 7692) is collected up to a limit and inflated when its last frame
//! ends. Every protocol error carries nats-server's close status and text.

use bytes::{Buf, BufMut, BytesMut};

use super::deflate::{InflateError, Inflater};

/// The largest control frame payload (RFC 6455 §5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;
/// Close status: protocol error.
pub(crate) const STATUS_PROTOCOL_ERROR: u16 = 1002;
/// Close status: no status in the peer's close frame (never sent on the wire).
const STATUS_NO_STATUS: u16 = 1005;
/// Close status: invalid payload data.
const STATUS_INVALID_PAYLOAD: u16 = 1007;
/// Close status: message too big.
pub(crate) const STATUS_TOO_BIG: u16 = 1009;

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const RSV2_RSV3: u8 = 0x30;
const MASK: u8 = 0x80;

/// A frame opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    /// Continues a fragmented message.
    Continuation = 0,
    /// A text message.
    Text = 1,
    /// A binary message.
    Binary = 2,
    /// The closing handshake.
    Close = 8,
    /// A ping.
    Ping = 9,
    /// A pong.
    Pong = 10,
}

/// What the decoder found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Message bytes for the protocol stream (a piece of a frame, or an inflated message).
    Data(BytesMut),
    /// A ping: answer with a pong carrying this payload.
    Ping(BytesMut),
    /// The client's close frame: the status and reason to echo (`None`: it gave no status, so
    /// the answer is an empty close frame). Nothing is read after it.
    Close(Option<(u16, String)>),
}

/// A framing error: close the connection with this status and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameError {
    /// The close status (1002 protocol error, 1009 too big).
    pub(crate) status: u16,
    /// nats-server's text for it.
    pub(crate) reason: String,
}

impl FrameError {
    fn protocol(reason: impl Into<String>) -> Self {
        Self {
            status: STATUS_PROTOCOL_ERROR,
            reason: reason.into(),
        }
    }

    fn too_big() -> Self {
        Self {
            status: STATUS_TOO_BIG,
            reason: "maximum payload exceeded".into(),
        }
    }
}

/// Where the decoder is inside the current frame.
#[derive(Debug)]
enum State {
    /// Waiting for a frame header.
    Header,
    /// Inside a data frame's payload.
    Payload {
        remaining: u64,
        mask: [u8; 4],
        phase: usize,
    },
    /// After a close frame or an error: nothing more is read.
    Done,
}

/// A streaming decoder of client frames.
#[derive(Debug)]
pub(crate) struct Decoder {
    input: BytesMut,
    state: State,
    /// permessage-deflate was negotiated.
    deflate: bool,
    /// A data message is open (its last frame has not come yet).
    in_message: bool,
    /// The open message is compressed.
    message_compressed: bool,
    /// The open message's last frame is the current one.
    message_final: bool,
    /// The compressed bytes of the open message.
    compressed: BytesMut,
    /// The largest message (compressed or inflated) accepted.
    limit: usize,
    inflater: Inflater,
    /// Room handed out by `spare` and not yet committed.
    pending_room: usize,
}

impl Decoder {
    /// A decoder; `deflate` when permessage-deflate was negotiated, `limit` the largest
    /// compressed message accepted (before and after inflating).
    pub(crate) fn new(deflate: bool, limit: usize) -> Self {
        Self {
            input: BytesMut::new(),
            state: State::Header,
            deflate,
            in_message: false,
            message_compressed: false,
            message_final: false,
            compressed: BytesMut::new(),
            limit,
            inflater: Inflater::new(),
            pending_room: 0,
        }
    }

    /// Appends bytes read from the connection.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// `n` bytes of room at the end of the input, to read into; then [`Decoder::commit`] what
    /// was read.
    pub(crate) fn spare(&mut self, n: usize) -> &mut [u8] {
        let len = self.input.len();
        self.input.resize(len + n, 0);
        self.pending_room = n;
        &mut self.input[len..]
    }

    /// Keeps the first `read` bytes of the room [`Decoder::spare`] gave.
    pub(crate) fn commit(&mut self, read: usize) {
        let unused = self.pending_room.saturating_sub(read);
        self.input.truncate(self.input.len() - unused);
        self.pending_room = 0;
    }

    /// The next event, `Ok(None)` when more input is needed.
    ///
    /// # Errors
    /// A framing error; the decoder reads nothing after it.
    pub(crate) fn next_event(&mut self) -> Result<Option<Event>, FrameError> {
        let result = self.step();
        if matches!(result, Err(_) | Ok(Some(Event::Close(_)))) {
            self.state = State::Done;
            self.input.clear();
        }
        result
    }

    fn step(&mut self) -> Result<Option<Event>, FrameError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Header => {
                    let Some(header) = self.parse_header()? else {
                        return Ok(None);
                    };
                    if let Some(event) = self.begin(header)? {
                        return Ok(Some(event));
                    }
                }
                State::Payload {
                    remaining,
                    mask,
                    phase,
                } => {
                    if remaining == 0 {
                        self.state = State::Header;
                        if let Some(event) = self.end_frame()? {
                            return Ok(Some(event));
                        }
                        continue;
                    }
                    if self.input.is_empty() {
                        return Ok(None);
                    }
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.input.len());
                    let mut chunk = self.input.split_to(n);
                    unmask(&mut chunk, mask, phase);
                    self.state = State::Payload {
                        remaining: remaining - n as u64,
                        mask,
                        phase: (phase + n) % 4,
                    };
                    if self.message_compressed {
                        if self.compressed.len() + chunk.len() > self.limit {
                            return Err(FrameError::too_big());
                        }
                        self.compressed.unsplit(chunk);
                    } else {
                        return Ok(Some(Event::Data(chunk)));
                    }
                }
            }
        }
    }

    /// Parses a whole frame header from the input, or `None` if it is not all there yet.
    fn parse_header(&mut self) -> Result<Option<Header>, FrameError> {
        let input = &self.input[..];
        if input.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (input[0], input[1]);
        if b0 & RSV2_RSV3 != 0 {
            return Err(FrameError::protocol("RSV2 and RSV3 must be clear"));
        }
        let compressed = b0 & RSV1 != 0;
        if compressed && !self.deflate {
            return Err(FrameError::protocol(
                "compressed frame received without negotiated permessage-deflate",
            ));
        }
        if b1 & MASK == 0 {
            return Err(FrameError::protocol("mask bit missing"));
        }
        let fin = b0 & FIN != 0;
        let opcode = match b0 & 0x0F {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            other => return Err(FrameError::protocol(format!("unknown opcode {other}"))),
        };
        let short = u64::from(b1 & 0x7F);
        let control = matches!(opcode, OpCode::Close | OpCode::Ping | OpCode::Pong);
        if control {
            if short > MAX_CONTROL_PAYLOAD as u64 {
                return Err(FrameError::protocol(format!(
                    "control frame length bigger than maximum allowed of {MAX_CONTROL_PAYLOAD} bytes"
                )));
            }
            if !fin {
                return Err(FrameError::protocol(
                    "control frame does not have final bit set",
                ));
            }
            if compressed {
                return Err(FrameError::protocol("control frame must not be compressed"));
            }
        }
        let (len, len_size) = match short {
            126 if input.len() >= 4 => (u64::from(u16::from_be_bytes([input[2], input[3]])), 2),
            127 if input.len() >= 10 => {
                let len = u64::from_be_bytes(input[2..10].try_into().expect("8 bytes"));
                if len >> 63 != 0 {
                    return Err(FrameError::protocol("invalid 64-bit payload length"));
                }
                (len, 8)
            }
            126 | 127 => return Ok(None),
            len => (len, 0),
        };
        let header_len = 2 + len_size + 4;
        if input.len() < header_len {
            return Ok(None);
        }
        let mask = input[2 + len_size..header_len].try_into().expect("4 bytes");
        if control && self.input.len() < header_len + len as usize {
            return Ok(None); // control frames are handled whole
        }
        self.input.advance(header_len);
        Ok(Some(Header {
            fin,
            compressed,
            opcode,
            len,
            mask,
        }))
    }

    /// Starts a frame whose header was read; control frames are answered at once.
    fn begin(&mut self, header: Header) -> Result<Option<Event>, FrameError> {
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                if self.in_message {
                    return Err(FrameError::protocol(
                        "new message started before final frame for previous message was received",
                    ));
                }
                self.in_message = true;
                self.message_compressed = header.compressed;
            }
            OpCode::Continuation => {
                if !self.in_message || header.compressed {
                    return Err(FrameError::protocol("invalid continuation frame"));
                }
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                let mut payload = self.input.split_to(header.len as usize);
                unmask(&mut payload, header.mask, 0);
                return match header.opcode {
                    OpCode::Ping => Ok(Some(Event::Ping(payload))),
                    OpCode::Pong => Ok(None),
                    _ => close_answer(&payload).map(|answer| Some(Event::Close(answer))),
                };
            }
        }
        self.message_final = header.fin;
        self.state = State::Payload {
            remaining: header.len,
            mask: header.mask,
            phase: 0,
        };
        Ok(None)
    }

    /// A data frame's payload has all been read.
    fn end_frame(&mut self) -> Result<Option<Event>, FrameError> {
        if !self.message_final {
            return Ok(None);
        }
        self.in_message = false;
        if !self.message_compressed {
            return Ok(None);
        }
        self.message_compressed = false;
        let compressed = std::mem::take(&mut self.compressed);
        match self.inflater.inflate(&compressed, self.limit) {
            Ok(data) => Ok(Some(Event::Data(data))),
            Err(InflateError::TooBig) => Err(FrameError::too_big()),
            Err(InflateError::Corrupt(e)) => Err(FrameError::protocol(e)),
        }
    }
}

/// A parsed frame header.
#[derive(Debug)]
struct Header {
    fin: bool,
    compressed: bool,
    opcode: OpCode,
    len: u64,
    mask: [u8; 4],
}

/// What to echo for a client's close frame, as nats-server does.
fn close_answer(payload: &[u8]) -> Result<Option<(u16, String)>, FrameError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(FrameError::protocol("close frame payload cannot be 1 byte")),
        _ => {
            let status = u16::from_be_bytes([payload[0], payload[1]]);
            if !valid_close_status(status) {
                return Err(FrameError::protocol(format!(
                    "invalid close status code {status}"
                )));
            }
            match std::str::from_utf8(&payload[2..]) {
                Ok(body) => Ok(Some((status, body.to_owned()))),
                Err(_) => Ok(Some((
                    STATUS_INVALID_PAYLOAD,
                    "invalid utf8 body in close frame".into(),
                ))),
            }
        }
    }
}

/// Whether a peer may send this close status (RFC 6455 §7.4).
fn valid_close_status(status: u16) -> bool {
    matches!(status, 1000..=1003 | 1007..=1011 | 3000..=4999) && status != STATUS_NO_STATUS
}

/// XORs `data` with the masking key, starting at byte `phase` of the key.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], phase: usize) {
    let key = u32::from_ne_bytes([
        mask[phase % 4],
        mask[(phase + 1) % 4],
        mask[(phase + 2) % 4],
        mask[(phase + 3) % 4],
    ]);
    let mut words = data.chunks_exact_mut(4);
    for word in &mut words {
        let value = u32::from_ne_bytes(word.try_into().expect("4 bytes")) ^ key;
        word.copy_from_slice(&value.to_ne_bytes());
    }
    let key = key.to_ne_bytes();
    for (byte, k) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// Writes an unmasked (server) frame header.
pub(crate) fn put_header(out: &mut impl BufMut, fin: bool, rsv1: bool, opcode: OpCode, len: usize) {
    let mut b0 = opcode as u8;
    if fin {
        b0 |= FIN;
    }
    if rsv1 {
        b0 |= RSV1;
    }
    out.put_u8(b0);
    match len {
        0..=125 => out.put_u8(len as u8),
        126..=0xFFFF => {
            out.put_u8(126);
            out.put_u16(len as u16);
        }
        _ => {
            out.put_u8(127);
            out.put_u64(len as u64);
        }
    }
}

/// A whole control frame (ping answers, close frames).
pub(crate) fn control_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + payload.len());
    put_header(&mut out, true, false, opcode, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A close frame's payload: the status, then the reason cut to fit with a trailing "...", as
/// nats-server writes it.
pub(crate) fn close_payload(status: u16, reason: &str) -> Vec<u8> {
    let mut out = status.to_be_bytes().to_vec();
    if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
        let mut cut = MAX_CONTROL_PAYLOAD - 5;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        out.extend_from_slice(&reason.as_bytes()[..cut]);
        out.extend_from_slice(b"...");
    } else {
        out.extend_from_slice(reason.as_bytes());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A masked client frame.
    pub(crate) fn client_frame(b0: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![b0];
        match payload.len() {
            0..=125 => out.push(MASK | payload.len() as u8),
            126..=0xFFFF => {
                out.push(MASK | 126);
                out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            n => {
                out.push(MASK | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        unmask(&mut body, mask, 0);
        out.extend_from_slice(&body);
        out
    }

    const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

    /// Every event from feeding `input` in pieces of `step` bytes, data joined.
    fn decode(
        deflate: bool,
        input: &[u8],
        step: usize,
    ) -> (Vec<u8>, Vec<Event>, Option<FrameError>) {
        let mut decoder = Decoder::new(deflate, 1 << 20);
        let (mut data, mut others) = (Vec::new(), Vec::new());
        for piece in input.chunks(step.max(1)) {
            decoder.feed(piece);
            loop {
                match decoder.next_event() {
                    Ok(None) => break,
                    Ok(Some(Event::Data(d))) => data.extend_from_slice(&d),
                    Ok(Some(other)) => others.push(other),
                    Err(e) => return (data, others, Some(e)),
                }
            }
        }
        (data, others, None)
    }

    fn protocol_error(input: &[u8]) -> String {
        let (_, _, error) = decode(false, input, 1000);
        let error = error.expect("an error");
        assert_eq!(error.status, STATUS_PROTOCOL_ERROR);
        error.reason
    }

    #[test]
    fn fragments_and_coalesced_frames_make_one_stream() {
        let mut input = client_frame(0x02, b"PUB a 2\r\n", KEY); // binary, not final
        input.extend(client_frame(0x00, b"hi", KEY)); // continuation, not final
        input.extend(client_frame(0x89, b"p", KEY)); // ping between fragments
        input.extend(client_frame(0x80, b"\r\n", KEY)); // last continuation
        input.extend(client_frame(0x81, b"PING\r\n", KEY)); // a whole text message
        for step in [1, 3, 7, input.len()] {
            let (data, others, error) = decode(false, &input, step);
            assert_eq!(error, None);
            assert_eq!(data, b"PUB a 2\r\nhi\r\nPING\r\n");
            assert_eq!(others, vec![Event::Ping(BytesMut::from(&b"p"[..]))]);
        }
    }

    #[test]
    fn long_lengths_and_pongs() {
        let big = vec![b'x'; 70_000];
        let mut input = client_frame(0x8A, b"ignored", KEY);
        input.extend(client_frame(0x82, &big[..300], KEY));
        input.extend(client_frame(0x82, &big, KEY));
        let (data, others, error) = decode(false, &input, 4096);
        assert_eq!((data.len(), others, error), (70_300, vec![], None));
    }

    #[test]
    fn close_frames_are_echoed_as_nats_server_does() {
        let (_, others, _) = decode(false, &client_frame(0x88, b"", KEY), 10);
        assert_eq!(others, vec![Event::Close(None)]);
        let mut payload = 1000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        let mut input = client_frame(0x88, &payload, KEY);
        input.extend(client_frame(0x82, b"after close", KEY));
        let (data, others, _) = decode(false, &input, 10);
        assert_eq!(others, vec![Event::Close(Some((1000, "bye".into())))]);
        assert!(data.is_empty(), "nothing is read after a close");
        let mut bad_utf8 = 1000u16.to_be_bytes().to_vec();
        bad_utf8.push(0xFF);
        let (_, others, _) = decode(false, &client_frame(0x88, &bad_utf8, KEY), 10);
        assert_eq!(
            others,
            vec![Event::Close(Some((
                1007,
                "invalid utf8 body in close frame".into()
            )))]
        );
        assert_eq!(
            protocol_error(&client_frame(0x88, &[3], KEY)),
            "close frame payload cannot be 1 byte"
        );
        assert_eq!(
            protocol_error(&client_frame(0x88, &1005u16.to_be_bytes(), KEY)),
            "invalid close status code 1005"
        );
    }

    #[test]
    fn protocol_errors_carry_nats_servers_texts() {
        let unmasked = [0x82, 0x01, b'x'];
        assert_eq!(protocol_error(&unmasked), "mask bit missing");
        assert_eq!(
            protocol_error(&client_frame(0xA2, b"x", KEY)),
            "RSV2 and RSV3 must be clear"
        );
        assert_eq!(
            protocol_error(&client_frame(0xC2, b"x", KEY)),
            "compressed frame received without negotiated permessage-deflate"
        );
        assert_eq!(
            protocol_error(&client_frame(0x89, &[0; 126], KEY)),
            "control frame length bigger than maximum allowed of 125 bytes"
        );
        assert_eq!(
            protocol_error(&client_frame(0x09, b"", KEY)),
            "control frame does not have final bit set"
        );
        let mut twice = client_frame(0x02, b"a", KEY);
        twice.extend(client_frame(0x82, b"b", KEY));
        assert_eq!(
            protocol_error(&twice),
            "new message started before final frame for previous message was received"
        );
        assert_eq!(
            protocol_error(&client_frame(0x80, b"x", KEY)),
            "invalid continuation frame"
        );
        assert_eq!(
            protocol_error(&client_frame(0x83, b"x", KEY)),
            "unknown opcode 3"
        );
        let mut huge = vec![0x82, MASK | 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&KEY);
        assert_eq!(protocol_error(&huge), "invalid 64-bit payload length");
        let (_, _, error) = decode(true, &client_frame(0xC9, b"", KEY), 10);
        assert_eq!(
            error.unwrap().reason,
            "control frame must not be compressed"
        );
    }

    #[test]
    fn compressed_messages_are_inflated_whole() {
        let mut deflater = super::super::deflate::Deflater::new();
        let message = b"PUB greet 11\r\nhello world\r\n".repeat(20);
        let compressed = deflater.deflate(&message);
        let (first, rest) = compressed.split_at(compressed.len() / 2);
        let mut input = client_frame(0x42, first, KEY); // RSV1, binary, not final
        input.extend(client_frame(0x80, rest, KEY));
        input.extend(client_frame(0x82, b"PING\r\n", KEY)); // uncompressed after
        for step in [1, 5, input.len()] {
            let (data, _, error) = decode(true, &input, step);
            assert_eq!(error, None);
            let mut expected = message.clone();
            expected.extend_from_slice(b"PING\r\n");
            assert_eq!(data, expected);
        }
    }

    #[test]
    fn oversize_compressed_messages_are_refused_with_1009() {
        let mut deflater = super::super::deflate::Deflater::new();
        let compressed = deflater.deflate(&vec![b'a'; 10_000]);
        let mut decoder = Decoder::new(true, 1000);
        decoder.feed(&client_frame(0xC2, &compressed, KEY));
        assert_eq!(decoder.next_event(), Err(FrameError::too_big()));
        assert_eq!(decoder.next_event(), Ok(None), "nothing after an error");
    }

    #[test]
    fn close_payloads_are_cut_as_nats_server_cuts_them() {
        assert_eq!(close_payload(1000, "ok"), b"\x03\xe8ok");
        let long = close_payload(1008, &"x".repeat(200));
        assert_eq!(long.len(), MAX_CONTROL_PAYLOAD);
        assert!(long.ends_with(b"..."));
        assert_eq!(control_frame(OpCode::Pong, b"p"), b"\x8a\x01p");
        let mut out = Vec::new();
        put_header(&mut out, true, true, OpCode::Binary, 70_000);
        assert_eq!(out, [0xC2, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_stream(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6),
            cuts in proptest::collection::vec(1usize..64, 1..20),
            mask in any::<[u8; 4]>(),
        ) {
            let mut input = Vec::new();
            for m in &messages {
                let half = m.len() / 2;
                input.extend(client_frame(0x02, &m[..half], mask));
                input.extend(client_frame(0x80, &m[half..], mask));
            }
            let mut decoder = Decoder::new(false, 1 << 20);
            let mut data = Vec::new();
            let mut rest = &input[..];
            let mut cut = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cut.next().unwrap()).min(rest.len());
                decoder.feed(&rest[..n]);
                rest = &rest[n..];
                while let Some(event) = decoder.next_event().unwrap() {
                    if let Event::Data(d) = event {
                        data.extend_from_slice(&d);
                    }
                }
            }
            prop_assert_eq!(data, messages.concat());
        }
    }
}
