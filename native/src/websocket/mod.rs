//! The WebSocket transport (the `websocket {}` block): a second way for clients to reach the
//! same broker, as browsers must.
//!
//! Each connection is upgraded here (nats-server's checks and origin policy, any path), then
//! joined to the broker through a pair of pipes exactly like an in-process connection: the
//! payloads of every inbound data frame (binary or text, fragmented or not) are written into
//! one byte stream the core parses as it parses TCP, so frames need not align with protocol
//! lines; what the core transmits goes out as binary frames. There is no protocol logic here.
//! Back-pressure holds end to end: while the core pauses the connection its reader stops
//! reading the inbound pipe (the connection's `ReadGate`), the pipe fills, this pump stops
//! reading frames, and the kernel slows the client down.
//!
//! Framing is Skiff's own (`frame`), so that every framing error gets nats-server's close
//! status and text, and permessage-deflate (`deflate`) works as nats-server negotiates it:
//! without context takeover, outbound messages over 64 bytes compressed, and frames kept to
//! 4 KiB for browsers, which handle small frames better.

pub(crate) mod client;
mod deflate;
mod frame;
pub(crate) mod upgrade;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use skiff_core::{PeerInfo, Transport};
use smol::lock::Mutex;
use smol::net::TcpListener;

use crate::http::{self, Incoming};
use crate::server::conn::ConnIo;
use crate::server::driver::HubRef;
use deflate::Deflater;
use frame::{Decoder, Event, OpCode};
use upgrade::{Accepted, OriginPolicy};

/// nats-server's default handshake timeout.
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes buffered in each direction between the frames and the core.
pub(crate) const PIPE_CAPACITY: usize = 64 * 1024;
/// The most bytes one outbound message carries: what one read of the outbound pipe gives.
const MAX_OUT_MESSAGE: usize = 64 * 1024;
/// Bytes read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// Room for the longest server frame header (2 + 8 bytes).
const HEADER_ROOM: usize = 10;
/// The largest frame sent to a browser (nats-server's `wsFrameSizeForBrowsers`).
const BROWSER_FRAME: usize = 4096;
/// Outbound messages this small go out uncompressed (nats-server's `wsCompressThreshold`).
const COMPRESS_THRESHOLD: usize = 64;
/// The most a compressed inbound message may take, whatever the payload limit.
const MAX_MESSAGE_LIMIT: usize = 64 * 1024 * 1024;
/// How long a closed connection waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How WebSocket clients are accepted.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Origin checks.
    pub(crate) origins: OriginPolicy,
    /// Time allowed for the HTTP upgrade.
    pub(crate) handshake_timeout: Duration,
    /// permessage-deflate is offered.
    pub(crate) compression: bool,
    /// The largest compressed message accepted, before and after inflating.
    pub(crate) message_limit: usize,
    /// TLS before the upgrade (`wss://`), from the block's `tls {}`.
    pub(crate) tls: Option<crate::tls::TlsAcceptor>,
}

/// The largest compressed message a client may send: room for several maximal messages (a
/// client batches its writes), within a fixed bound. Uncompressed frames are not held whole,
/// so they have no limit here; the core enforces `max_payload` on what they carry.
pub(crate) fn message_limit(max_payload: usize) -> usize {
    let batched = max_payload.saturating_mul(8).min(MAX_MESSAGE_LIMIT);
    batched.max(max_payload.saturating_add(64 * 1024))
}

/// Accepts WebSocket clients until the task is dropped.
pub(crate) async fn accept_loop(listener: TcpListener, hub: HubRef, settings: Rc<Settings>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let Some(strong) = hub.upgrade() else { return };
                let (hub, settings) = (hub.clone(), settings.clone());
                let task = async move {
                    match &settings.tls {
                        Some(tls) => {
                            if let Some(stream) = tls.handshake(stream, addr).await {
                                serve(stream, addr, hub, settings.clone()).await;
                            }
                        }
                        None => serve(stream, addr, hub, settings.clone()).await,
                    }
                };
                strong.borrow_mut().spawn_transport(task);
            }
            Err(e) => {
                tracing::error!("Error accepting websocket connection: {e}");
                smol::Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Upgrades one connection (TCP, or TLS over it), then pumps frames to and from the core
/// until it closes.
async fn serve<S>(mut stream: S, addr: SocketAddr, hub: HubRef, settings: Rc<Settings>)
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let handshake = async {
        match http::read_request(&mut stream, &mut buf).await {
            Ok(Incoming::Request(request)) => {
                match upgrade::check(&request, &settings.origins, settings.compression) {
                    Ok(accepted) => Ok(accepted),
                    Err(refusal) => {
                        tracing::error!("{addr} - websocket handshake error: {}", refusal.reason);
                        Err(Some(refusal.response))
                    }
                }
            }
            Ok(Incoming::Bad(response)) => Err(Some(response)),
            Ok(Incoming::Closed) | Err(_) => Err(None),
        }
    }
    .or(async {
        smol::Timer::after(settings.handshake_timeout).await;
        Err(None)
    })
    .await;
    let accepted = match handshake {
        Ok(accepted) => accepted,
        Err(response) => {
            if let Some(response) = response {
                let _ = http::write_response(&mut stream, &response, false, false).await;
            }
            let _ = stream.close().await;
            return;
        }
    };
    if stream
        .write_all(upgrade::switching_protocols(&accepted).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut decoder = Decoder::new(accepted.compress, settings.message_limit);
    // Frames the client sent right behind its request are decoded first.
    decoder.feed(&buf);

    let closed = crate::server::conn::CloseSlot::default();
    let (to_core_reader, mut to_core) = piper::pipe(PIPE_CAPACITY);
    let (mut from_core, from_core_writer) = piper::pipe(PIPE_CAPACITY);
    {
        let Some(strong) = hub.upgrade() else { return };
        let peer = PeerInfo {
            addr: Some(addr),
            transport: Transport::WebSocket,
        };
        let io = ConnIo::new(to_core_reader, from_core_writer).with_close_reason(closed.clone());
        strong.borrow_mut().attach(io, peer);
    }
    let (mut reader, writer) = futures_lite::io::split(stream);
    // Both directions write: frames out, pongs, and close frames.
    let writer = Mutex::new(writer);
    let close_sent = Cell::new(false);
    let send_close = |status: Option<(u16, &str)>| {
        let payload = status.map_or_else(Vec::new, |(s, r)| frame::close_payload(s, r));
        let frame = frame::control_frame(OpCode::Close, &payload);
        let (writer, close_sent) = (&writer, &close_sent);
        async move {
            if !close_sent.replace(true) {
                let _ = writer.lock().await.write_all(&frame).await;
            }
        }
    };

    let inbound = async {
        'read: loop {
            loop {
                match decoder.next_event() {
                    Ok(None) => break,
                    Ok(Some(Event::Data(data))) => {
                        if to_core.write_all(&data).await.is_err() {
                            break 'read;
                        }
                    }
                    Ok(Some(Event::Ping(payload))) => {
                        let pong = frame::control_frame(OpCode::Pong, &payload);
                        if writer.lock().await.write_all(&pong).await.is_err() {
                            break 'read;
                        }
                    }
                    Ok(Some(Event::Close(answer))) => {
                        send_close(answer.as_ref().map(|(s, r)| (*s, r.as_str()))).await;
                        break 'read;
                    }
                    Err(e) => {
                        tracing::debug!("{addr} - websocket frame error: {}", e.reason);
                        send_close(Some((e.status, &e.reason))).await;
                        break 'read;
                    }
                }
            }
            // Read straight into the decoder's buffer: no copy before unmasking.
            match reader.read(decoder.spare(READ_CHUNK)).await {
                Ok(0) | Err(_) => break,
                Ok(n) => decoder.commit(n),
            }
        }
        // Dropping `to_core` here is the client's end of stream for the core.
    };
    let outbound = async {
        let mut encoder = Encoder::new(&accepted);
        // The core's bytes are read behind room for the longest frame header, so a plain
        // frame is written from this buffer as it is.
        let mut buf = vec![0u8; HEADER_ROOM + MAX_OUT_MESSAGE];
        loop {
            match from_core.read(&mut buf[HEADER_ROOM..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frames = match encoder.in_place(&mut buf, n) {
                        Some(start) => &buf[start..HEADER_ROOM + n],
                        None => encoder.encode(&buf[HEADER_ROOM..HEADER_ROOM + n]),
                    };
                    if writer.lock().await.write_all(frames).await.is_err() {
                        return;
                    }
                }
            }
        }
        // The core closed the connection: say why, with nats-server's status and text, and
        // give the client a moment to answer.
        let reason = closed.get().copied();
        send_close(reason.map(|r| (r.websocket_status(), r.as_str()))).await;
        smol::Timer::after(CLOSE_WAIT).await;
    };
    inbound.or(outbound).await;
}

/// Turns what the core transmits into server frames for one connection.
struct Encoder {
    deflater: Option<Deflater>,
    /// Largest frame payload, if limited (browsers).
    max_frame: Option<usize>,
    /// Compressed messages are sent whole even to browsers.
    no_compressed_fragments: bool,
    out: Vec<u8>,
}

impl Encoder {
    fn new(accepted: &Accepted) -> Self {
        Self {
            deflater: accepted.compress.then(Deflater::new),
            max_frame: accepted.browser.then_some(BROWSER_FRAME),
            no_compressed_fragments: accepted.no_compressed_fragments,
            out: Vec::with_capacity(MAX_OUT_MESSAGE + 64),
        }
    }

    /// For a plain (uncompressed, unlimited) frame of the `n` bytes at `buf[HEADER_ROOM..]`:
    /// writes its header just before them and returns where the frame starts.
    fn in_place(&self, buf: &mut [u8], n: usize) -> Option<usize> {
        if self.deflater.is_some() || self.max_frame.is_some() {
            return None;
        }
        let mut header = Vec::with_capacity(HEADER_ROOM);
        frame::put_header(&mut header, true, false, OpCode::Binary, n);
        let start = HEADER_ROOM - header.len();
        buf[start..HEADER_ROOM].copy_from_slice(&header);
        Some(start)
    }

    /// The frames carrying `data`: one compressed message (fragmented for browsers that take
    /// it), or binary frames.
    fn encode(&mut self, data: &[u8]) -> &[u8] {
        self.out.clear();
        match &mut self.deflater {
            Some(deflater) if data.len() > COMPRESS_THRESHOLD => {
                let compressed = deflater.deflate(data);
                let limit = self.max_frame.filter(|_| !self.no_compressed_fragments);
                put_message(&mut self.out, &compressed, limit, true);
            }
            _ => {
                // Uncompressed, every piece is a whole message of its own.
                let size = self.max_frame.unwrap_or(data.len()).max(1);
                for piece in data.chunks(size) {
                    put_message(&mut self.out, piece, None, false);
                }
            }
        }
        &self.out
    }
}

/// Appends one message as frames of at most `max_frame` bytes; RSV1 marks a compressed
/// message on its first frame only.
fn put_message(out: &mut Vec<u8>, message: &[u8], max_frame: Option<usize>, compressed: bool) {
    let size = max_frame.unwrap_or(message.len()).max(1);
    let count = message.len().div_ceil(size).max(1);
    for i in 0..count {
        let piece = &message[(i * size).min(message.len())..((i + 1) * size).min(message.len())];
        let opcode = if i == 0 {
            OpCode::Binary
        } else {
            OpCode::Continuation
        };
        frame::put_header(
            out,
            i + 1 == count,
            compressed && i == 0,
            opcode,
            piece.len(),
        );
        out.extend_from_slice(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(compress: bool, browser: bool) -> Accepted {
        Accepted {
            accept: String::new(),
            compress,
            browser,
            no_compressed_fragments: false,
        }
    }

    /// Decodes server frames (unmasked) into (fin, rsv1, opcode, payload).
    fn frames(mut bytes: &[u8]) -> Vec<(bool, bool, u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (b0, b1) = (bytes[0], bytes[1]);
            let (len, at) = match b1 {
                126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
                127 => (
                    u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                n => (n as usize, 2),
            };
            out.push((
                b0 & 0x80 != 0,
                b0 & 0x40 != 0,
                b0 & 0x0F,
                bytes[at..at + len].to_vec(),
            ));
            bytes = &bytes[at + len..];
        }
        out
    }

    #[test]
    fn browsers_get_frames_of_at_most_4_kib() {
        let data = vec![b'x'; 10_000];
        let mut plain = Encoder::new(&accepted(false, false));
        assert_eq!(frames(plain.encode(&data)).len(), 1);
        let mut browser = Encoder::new(&accepted(false, true));
        let sizes: Vec<_> = frames(browser.encode(&data))
            .iter()
            .map(|(fin, _, op, p)| (*fin, *op, p.len()))
            .collect();
        assert_eq!(sizes, [(true, 2, 4096), (true, 2, 4096), (true, 2, 1808)]);
    }

    #[test]
    fn compressed_messages_set_rsv1_on_the_first_frame_only() {
        let data: Vec<u8> = (0..60_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut browser = Encoder::new(&accepted(true, true));
        let got = frames(browser.encode(&data));
        assert!(got.len() > 1);
        assert!(got[0].1 && got[0].2 == 2 && !got[0].0);
        assert!(
            got[1..]
                .iter()
                .all(|(_, rsv1, op, p)| !rsv1 && *op == 0 && p.len() <= 4096)
        );
        assert!(got.last().unwrap().0);
        let compressed: Vec<u8> = got.iter().flat_map(|f| f.3.clone()).collect();
        let inflated = deflate::Inflater::new()
            .inflate(&compressed, 1 << 20)
            .unwrap();
        assert_eq!(inflated, &data[..]);

        let mut small = Encoder::new(&accepted(true, false));
        assert_eq!(
            frames(small.encode(b"PONG\r\n")),
            [(true, false, 2, b"PONG\r\n".to_vec())]
        );
    }

    #[test]
    fn the_message_limit_leaves_room_for_batches() {
        assert_eq!(message_limit(1024 * 1024), 8 * 1024 * 1024);
        assert_eq!(
            message_limit(64 * 1024 * 1024),
            64 * 1024 * 1024 + 64 * 1024
        );
        assert_eq!(message_limit(10), 64 * 1024 + 10);
    }
}
