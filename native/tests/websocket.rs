//! The WebSocket transport with a Rust WebSocket client (async-tungstenite): protocol
//! streams split across frames and coalesced into one, text frames, bad upgrades, bad and
//! oversized frames, origins; each gets nats-server's behaviour and disturbs nobody else.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use futures_lite::{FutureExt, StreamExt};
use skiff::{ListenAddr, Server, ServerOptions};

type Ws = WebSocketStream<smol::net::TcpStream>;

fn server_with(configure: impl FnOnce(&mut skiff::server::WebsocketListen)) -> Server {
    let mut options = ServerOptions::default();
    let mut ws = skiff::server::WebsocketListen::new(ListenAddr::new("127.0.0.1", 0));
    configure(&mut ws);
    options.websocket = Some(ws);
    common::embedded_with(options)
}

fn server() -> Server {
    server_with(|_| {})
}

async fn connect(addr: SocketAddr, path: &str) -> Ws {
    let tcp = smol::net::TcpStream::connect(addr).await.unwrap();
    let (ws, response) = async_tungstenite::client_async(format!("ws://{addr}{path}"), tcp)
        .await
        .expect("upgrade");
    assert_eq!(response.status(), 101);
    ws
}

/// Reads binary frames until the text read so far contains `until`; fails on a text frame
/// (the server always sends binary) or after 5 s.
async fn read_until(ws: &mut Ws, until: &str) -> String {
    let read = async {
        let mut seen = String::new();
        while !seen.contains(until) {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => seen.push_str(std::str::from_utf8(&b).unwrap()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("unexpected {other:?} after {seen:?}"),
            }
        }
        seen
    };
    read.or(async {
        smol::Timer::after(Duration::from_secs(5)).await;
        panic!("timed out waiting for {until:?}")
    })
    .await
}

async fn send(ws: &mut Ws, message: Message) {
    ws.send(message).await.unwrap();
}

#[test]
fn info_names_the_websocket_listener_and_frames_need_not_align() {
    let server = server();
    let addr = server.websocket_addr().unwrap();
    smol::block_on(async {
        let mut ws = connect(addr, "/any/path").await;
        let info = read_until(&mut ws, "\r\n").await;
        assert!(info.starts_with("INFO {"), "{info}");
        assert!(
            info.contains(&format!("\"port\":{}", addr.port())),
            "{info}"
        );
        // CONNECT split across two binary frames, then a text frame with several ops.
        send(
            &mut ws,
            Message::Binary(b"CONNECT {\"verbose\":fa".to_vec().into()),
        )
        .await;
        send(
            &mut ws,
            Message::Binary(b"lse}\r\nSUB foo 1\r\nPU".to_vec().into()),
        )
        .await;
        send(&mut ws, Message::Text("B foo 2\r\nhi\r\nPING\r\n".into())).await;
        let got = read_until(&mut ws, "PONG\r\n").await;
        assert_eq!(got, "MSG foo 1 2\r\nhi\r\nPONG\r\n");
    });
}

#[test]
fn fragmented_messages_and_many_ops_in_one_frame() {
    let server = server();
    let addr = server.websocket_addr().unwrap();
    smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        // One message in three fragments: a first frame and two continuations.
        let parts: [&[u8]; 3] = [
            b"CONNECT {\"verbose\":false}\r\nSU",
            b"B bar 7\r\nPUB bar 3\r",
            b"\nabc\r\nPING\r\n",
        ];
        send(
            &mut ws,
            Message::Frame(Frame::message(
                parts[0].to_vec(),
                OpCode::Data(Data::Binary),
                false,
            )),
        )
        .await;
        send(
            &mut ws,
            Message::Frame(Frame::message(
                parts[1].to_vec(),
                OpCode::Data(Data::Continue),
                false,
            )),
        )
        .await;
        send(
            &mut ws,
            Message::Frame(Frame::message(
                parts[2].to_vec(),
                OpCode::Data(Data::Continue),
                true,
            )),
        )
        .await;
        assert_eq!(
            read_until(&mut ws, "PONG\r\n").await,
            "MSG bar 7 3\r\nabc\r\nPONG\r\n"
        );
        // A hundred publishes coalesced into one frame.
        let many: String = (0..100)
            .map(|i| format!("PUB bar {}\r\n{i}\r\n", i.to_string().len()))
            .collect();
        send(
            &mut ws,
            Message::Binary((many + "PING\r\n").into_bytes().into()),
        )
        .await;
        let got = read_until(&mut ws, "PONG\r\n").await;
        assert_eq!(got.matches("MSG bar 7").count(), 100);
    });
}

#[test]
fn websocket_and_tcp_clients_talk_to_each_other() {
    let server = server();
    let addr = server.websocket_addr().unwrap();
    let mut tcp = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(b"CONNECT {\"verbose\":false}\r\nSUB from.ws 1\r\nPING\r\n")
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let mut read_tcp = |until: &str, seen: &mut String| {
        while !seen.contains(until) {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "closed; got {seen:?}");
            seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
    };
    read_tcp("PONG\r\n", &mut seen);
    smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        send(
            &mut ws,
            Message::Binary(
                b"CONNECT {\"verbose\":false}\r\nPUB from.ws 5\r\nhello\r\nPING\r\n"
                    .to_vec()
                    .into(),
            ),
        )
        .await;
        read_until(&mut ws, "PONG\r\n").await;
    });
    read_tcp("hello\r\n", &mut seen);
    assert!(seen.contains("MSG from.ws 1 5\r\nhello\r\n"), "{seen}");
}

/// Sends `request` on a raw socket and returns everything the server answers.
fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

#[test]
fn bad_upgrades_get_nats_servers_statuses_and_nobody_else_is_disturbed() {
    let server = server_with(|ws| ws.allowed_origins = vec!["https://app.example.com".into()]);
    let addr = server.websocket_addr().unwrap();
    let status = |request: String| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            line.push(byte[0]);
        }
        String::from_utf8_lossy(&line).trim_end().to_owned()
    };
    let good = |extra: &str| {
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    };
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: x\r\n\r\n".into()),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        status("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\r\n".into()),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status(format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 12\r\n\r\n"
        )),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(status("garbage\r\n\r\n".into()), "HTTP/1.1 400 Bad Request");
    assert_eq!(
        status(good("Origin: https://evil.example.com\r\n")),
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(
        status(good("Origin: https://app.example.com\r\n")),
        "HTTP/1.1 101 Switching Protocols"
    );
    // Not a browser (no Origin): allowed.
    assert_eq!(status(good("")), "HTTP/1.1 101 Switching Protocols");
    // The server still serves everyone.
    smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        send(&mut ws, Message::Binary(b"PING\r\n".to_vec().into())).await;
        read_until(&mut ws, "PONG\r\n").await;
    });
}

#[test]
fn an_unmasked_frame_is_closed_with_1002() {
    let server = server();
    let addr = server.websocket_addr().unwrap();
    let upgrade = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    // A client frame without a mask is a protocol error (RFC 6455 5.1).
    let mut request = upgrade.into_bytes();
    request.extend_from_slice(&[0x82, 0x06]);
    request.extend_from_slice(b"PING\r\n");
    let out = raw(addr, &request);
    // nats-server's answer: a close frame, status 1002, with its text.
    let mut close = vec![0x88, 0x12, 0x03, 0xea];
    close.extend_from_slice(b"mask bit missing");
    assert!(
        out.windows(close.len()).any(|w| w == close),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

/// A raw client offering permessage-deflate.
struct DeflateClient {
    tcp: TcpStream,
    read: Vec<u8>,
}

impl DeflateClient {
    /// Upgrades, offering permessage-deflate; returns the client and the 101 answer's head.
    fn connect(addr: SocketAddr, offer: bool) -> (Self, String) {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let extension = if offer {
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        } else {
            ""
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n"
        );
        tcp.write_all(request.as_bytes()).unwrap();
        let mut client = Self {
            tcp,
            read: Vec::new(),
        };
        while !client.read.windows(4).any(|w| w == b"\r\n\r\n") {
            client.fill();
        }
        let end = client
            .read
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        let head = String::from_utf8(client.read.drain(..end).collect()).unwrap();
        (client, head)
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.tcp.read(&mut chunk).expect("read");
        assert!(n > 0, "closed");
        self.read.extend_from_slice(&chunk[..n]);
    }

    /// Sends `data` as one masked message, compressed if asked, in frames of `frame` bytes.
    fn send(&mut self, data: &[u8], compress: bool, frame: usize) {
        let body = if compress {
            let mut c = flate2::Compress::new(flate2::Compression::default(), false);
            let mut out = Vec::with_capacity(data.len() + 1024);
            c.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
                .unwrap();
            assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
            out.truncate(out.len() - 4);
            out
        } else {
            data.to_vec()
        };
        let pieces: Vec<&[u8]> = body.chunks(frame).collect();
        let mask = [1, 2, 3, 4];
        let mut wire = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let mut b0 = if i == 0 { 0x02 } else { 0x00 };
            if i + 1 == pieces.len() {
                b0 |= 0x80;
            }
            if compress && i == 0 {
                b0 |= 0x40;
            }
            wire.push(b0);
            assert!(piece.len() < 126);
            wire.push(0x80 | piece.len() as u8);
            wire.extend_from_slice(&mask);
            wire.extend(piece.iter().enumerate().map(|(j, b)| b ^ mask[j % 4]));
        }
        self.tcp.write_all(&wire).unwrap();
    }

    /// Reads whole messages until the text contains `until`; counts compressed messages.
    fn read_until(&mut self, until: &str) -> (String, usize) {
        let (mut text, mut compressed) = (String::new(), 0);
        let mut message = Vec::new();
        let mut message_compressed = false;
        while !text.contains(until) {
            if self.read.len() < 2 {
                self.fill();
                continue;
            }
            let (b0, b1) = (self.read[0], self.read[1]);
            assert_eq!(b1 & 0x80, 0, "server frames are not masked");
            let (len, at) = match b1 & 0x7f {
                126 if self.read.len() >= 4 => {
                    (u16::from_be_bytes([self.read[2], self.read[3]]) as usize, 4)
                }
                127 if self.read.len() >= 10 => (
                    u64::from_be_bytes(self.read[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                126 | 127 => {
                    self.fill();
                    continue;
                }
                n => (n as usize, 2),
            };
            if self.read.len() < at + len {
                self.fill();
                continue;
            }
            let payload: Vec<u8> = self.read.drain(..at + len).skip(at).collect();
            if b0 & 0x0f != 0 {
                message_compressed = b0 & 0x40 != 0;
            }
            message.extend_from_slice(&payload);
            if b0 & 0x80 == 0 {
                continue;
            }
            let data = if message_compressed {
                compressed += 1;
                message.extend_from_slice(&[0, 0, 0xff, 0xff]);
                let mut d = flate2::Decompress::new(false);
                let mut out = Vec::with_capacity(1 << 20);
                d.decompress_vec(&message, &mut out, flate2::FlushDecompress::Sync)
                    .unwrap();
                out
            } else {
                message.clone()
            };
            message.clear();
            text.push_str(&String::from_utf8(data).unwrap());
        }
        (text, compressed)
    }
}

#[test]
fn permessage_deflate_is_negotiated_when_configured_and_offered() {
    let server = server_with(|ws| ws.compression = true);
    let addr = server.websocket_addr().unwrap();
    let (mut client, head) = DeflateClient::connect(addr, true);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"),
        "{head}"
    );
    // INFO is longer than 64 bytes: it comes compressed.
    let (info, compressed) = client.read_until("\r\n");
    assert!(info.starts_with("INFO {"), "{info}");
    assert_eq!(compressed, 1);
    // A compressed message split over frames, holding several operations.
    let payload = "y".repeat(300);
    let ops = format!(
        "CONNECT {{\"verbose\":false}}\r\nSUB zip 1\r\nPUB zip 300\r\n{payload}\r\nPING\r\n"
    );
    client.send(ops.as_bytes(), true, 20);
    let (got, compressed) = client.read_until("PONG\r\n");
    assert_eq!(got, format!("MSG zip 1 300\r\n{payload}\r\nPONG\r\n"));
    assert!(compressed >= 1);
    // Uncompressed messages are still accepted, and small answers go out uncompressed.
    client.send(b"PING\r\n", false, 100);
    assert_eq!(client.read_until("PONG\r\n"), ("PONG\r\n".into(), 0));

    // Not offered by the client: no extension, plain frames.
    let (mut plain, head) = DeflateClient::connect(addr, false);
    assert!(!head.contains("Sec-WebSocket-Extensions"), "{head}");
    assert_eq!(plain.read_until("\r\n").1, 0);
    // A compressed frame without the extension is nats-server's protocol error.
    plain.send(b"PING\r\n", true, 100);
    let mut close = vec![0x88, 0x41, 0x03, 0xea];
    close.extend_from_slice(b"compressed frame received without negotiated permessage-deflate");
    while !plain.read.windows(close.len()).any(|w| w == close) {
        plain.fill();
    }
}

#[test]
fn without_compression_configured_an_offer_is_declined() {
    let server = server();
    let (mut client, head) = DeflateClient::connect(server.websocket_addr().unwrap(), true);
    assert!(!head.contains("Sec-WebSocket-Extensions"), "{head}");
    assert_eq!(client.read_until("\r\n").1, 0);
}

#[test]
fn an_oversized_payload_gets_the_maximum_payload_error() {
    let mut options = ServerOptions::default();
    options.config.max_payload = 1024;
    options.websocket = Some(skiff::server::WebsocketListen::new(ListenAddr::new(
        "127.0.0.1",
        0,
    )));
    let server = common::embedded_with(options);
    let addr = server.websocket_addr().unwrap();
    smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        let mut frame = b"CONNECT {\"verbose\":false}\r\nPUB big 4096\r\n".to_vec();
        frame.extend_from_slice(&[b'x'; 4096]);
        frame.extend_from_slice(b"\r\n");
        send(&mut ws, Message::Binary(frame.into())).await;
        let got = read_until(&mut ws, "\r\n").await;
        assert_eq!(got, "-ERR 'Maximum Payload Violation'\r\n");
        // Then the server closes the WebSocket, saying why.
        let end = async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        // nats-server's status for this reason: 1009, message too big.
                        let frame = frame.expect("a close status");
                        assert_eq!(frame.code, CloseCode::Size);
                        assert_eq!(frame.reason.as_str(), "Maximum Message Payload Exceeded");
                        return;
                    }
                    other @ (None | Some(Err(_))) => panic!("no close frame: {other:?}"),
                    Some(Ok(_)) => {}
                }
            }
        };
        end.or(async {
            smol::Timer::after(Duration::from_secs(5)).await;
            panic!("not closed");
        })
        .await;
    });
}

/// A subscriber that never reads (tiny receive buffer), fed by a WebSocket publisher: the
/// core pauses the publisher (the transport stops reading its frames) until the stuck one is
/// closed as a slow consumer; the publisher stays connected, and monitoring shows both.
#[test]
fn a_websocket_publisher_is_paused_for_a_slow_consumer() {
    let mut options = ServerOptions::default();
    options.config.max_pending = 1024 * 1024;
    options.http = Some(ListenAddr::new("127.0.0.1", 0));
    options.websocket = Some(skiff::server::WebsocketListen::new(ListenAddr::new(
        "127.0.0.1",
        0,
    )));
    let server = common::embedded_with(options);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(32 * 1024).unwrap();
    socket
        .connect(&server.local_addr().unwrap().into())
        .unwrap();
    let mut stuck: TcpStream = socket.into();
    stuck
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB burst 1\r\nPING\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"PONG\r\n") {
        let n = stuck.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    let addr = server.websocket_addr().unwrap();
    // Kept open until monitoring was read.
    let _publisher = smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        send(
            &mut ws,
            Message::Binary(b"CONNECT {\"verbose\":false}\r\n".to_vec().into()),
        )
        .await;
        let mut message = b"PUB burst 1024\r\n".to_vec();
        message.extend_from_slice(&[b'x'; 1024]);
        message.extend_from_slice(b"\r\n");
        let frame = message.repeat(60);
        for _ in 0..100 {
            send(&mut ws, Message::Binary(frame.clone().into())).await;
        }
        send(&mut ws, Message::Binary(b"PING\r\n".to_vec().into())).await;
        read_until(&mut ws, "PONG\r\n").await;
        ws
    });
    let http = server.http_addr().unwrap();
    let get = |path: &str| -> serde_json::Value {
        let mut s = TcpStream::connect(http).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap()
    };
    let varz = get("/varz");
    assert!(varz["stalled_clients"].as_u64().unwrap() >= 1, "{varz}");
    assert_eq!(varz["slow_consumers"], 1, "{varz}");
    let connz = get("/connz");
    let publisher = &connz["connections"].as_array().unwrap()[0];
    assert_eq!(publisher["type"], "websocket", "{connz}");
    assert!(publisher["stalls"].as_u64().unwrap() >= 1, "{connz}");
    assert_eq!(publisher["in_msgs"], 6000);
}

/// A shutdown tells WebSocket clients with nats-server's status (1001, going away).
#[test]
fn shutdown_sends_a_going_away_close_frame() {
    let server = server();
    let addr = server.websocket_addr().unwrap();
    smol::block_on(async {
        let mut ws = connect(addr, "/").await;
        read_until(&mut ws, "\r\n").await;
        send(
            &mut ws,
            Message::Binary(b"CONNECT {\"verbose\":false}\r\nPING\r\n".to_vec().into()),
        )
        .await;
        read_until(&mut ws, "PONG\r\n").await;
        server.shutdown();
        let close = async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame,
                    Some(Ok(_)) => {}
                    other => panic!("no close frame: {other:?}"),
                }
            }
        }
        .or(async {
            smol::Timer::after(Duration::from_secs(5)).await;
            panic!("not closed")
        })
        .await
        .expect("a close status");
        assert_eq!(close.code, CloseCode::Away);
        assert_eq!(close.reason.as_str(), "Server Shutdown");
    });
    server.wait_for_shutdown();
}
