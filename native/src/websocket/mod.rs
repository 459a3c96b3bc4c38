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
//! Framing is async-tungstenite's (masking, control frames, fragments, limits); a protocol
//! error is answered with close status 1002, an oversized message with 1009.

mod prefixed;
pub(crate) mod upgrade;

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt, StreamExt};
use skiff_core::{PeerInfo, Transport};
use smol::net::{TcpListener, TcpStream};

use crate::http::{self, Incoming};
use crate::server::conn::ConnIo;
use crate::server::driver::HubRef;
use prefixed::Prefixed;
use upgrade::OriginPolicy;

/// nats-server's default handshake timeout.
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes buffered in each direction between the frames and the core.
const PIPE_CAPACITY: usize = 64 * 1024;
/// The largest outbound frame: what one read of the outbound pipe gives.
const MAX_OUT_FRAME: usize = 64 * 1024;
/// How long a closed connection waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How WebSocket clients are accepted.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Origin checks.
    pub(crate) origins: OriginPolicy,
    /// Time allowed for the HTTP upgrade.
    pub(crate) handshake_timeout: Duration,
}

/// Accepts WebSocket clients until the task is dropped.
pub(crate) async fn accept_loop(listener: TcpListener, hub: HubRef, settings: Rc<Settings>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let Some(strong) = hub.upgrade() else { return };
                let task = serve(stream, addr, hub.clone(), settings.clone());
                strong.borrow_mut().spawn_transport(task);
            }
            Err(e) => {
                tracing::error!("Error accepting websocket connection: {e}");
                smol::Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Upgrades one connection, then pumps frames to and from the core until it closes.
async fn serve(mut stream: TcpStream, addr: SocketAddr, hub: HubRef, settings: Rc<Settings>) {
    let mut buf = Vec::new();
    let handshake = async {
        match http::read_request(&mut stream, &mut buf).await {
            Ok(Incoming::Request(request)) => match upgrade::check(&request, &settings.origins) {
                Ok(accept) => Ok(accept),
                Err(refusal) => {
                    tracing::error!("{addr} - websocket handshake error: {}", refusal.reason);
                    Err(Some(refusal.response))
                }
            },
            Ok(Incoming::Bad(response)) => Err(Some(response)),
            Ok(Incoming::Closed) | Err(_) => Err(None),
        }
    }
    .or(async {
        smol::Timer::after(settings.handshake_timeout).await;
        Err(None)
    })
    .await;
    let accept = match handshake {
        Ok(accept) => accept,
        Err(response) => {
            if let Some(response) = response {
                let _ = http::write_response(&mut stream, &response, false, false).await;
            }
            let _ = stream.close().await;
            return;
        }
    };
    if stream
        .write_all(upgrade::switching_protocols(&accept).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    // Frames the client sent right behind its request are read first.
    let socket = Prefixed::new(buf, stream);
    let ws = WebSocketStream::from_raw_socket(socket, Role::Server, Some(ws_config())).await;

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
    let (sender, mut receiver) = ws.split();
    // Both directions send: frames out, and a close on a framing error.
    let sender = smol::lock::Mutex::new(sender);

    let inbound = async {
        while let Some(message) = receiver.next().await {
            let data = match message {
                Ok(Message::Binary(data)) => data,
                Ok(Message::Text(text)) => text.into(),
                Ok(Message::Close(_)) => break,
                Ok(_) => continue, // pings are answered by the framing layer
                Err(e) => {
                    let (code, reason) = match &e {
                        WsError::Capacity(_) => (CloseCode::Size, "message too big"),
                        _ => (CloseCode::Protocol, "protocol error"),
                    };
                    tracing::debug!("{addr} - websocket error: {e}");
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sender.lock().await.send(Message::Close(Some(frame))).await;
                    break;
                }
            };
            if to_core.write_all(&data).await.is_err() {
                break;
            }
        }
        // Dropping `to_core` here is the client's end of stream for the core.
    };
    let outbound = async {
        let mut buf = vec![0u8; MAX_OUT_FRAME];
        loop {
            match from_core.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = Message::Binary(buf[..n].to_vec().into());
                    if sender.lock().await.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        }
        // The core closed the connection: say why, with nats-server's status and text, and
        // give the client a moment to answer.
        let frame = closed.get().map(|&reason| CloseFrame {
            code: CloseCode::from(reason.websocket_status()),
            reason: reason.as_str().into(),
        });
        let _ = sender.lock().await.send(Message::Close(frame)).await;
        smol::Timer::after(CLOSE_WAIT).await;
    };
    inbound.or(outbound).await;
}

/// Frame limits: tungstenite's defaults (16 MiB frames, 64 MiB messages), which leave
/// payload limits to the core, as nats-server's framing does.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
}
