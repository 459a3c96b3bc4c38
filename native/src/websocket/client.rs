//! The client side of WebSocket, for leaf remotes on a hub's websocket listener
//! (`ws://host:port` → `GET /leafnode`, as nats-server dials them). Framing and masking are
//! async-tungstenite's; like the server side, the link reaches the core through a pair of
//! pipes, and the pump below only moves message payloads.

use std::io;
use std::net::SocketAddr;

use async_tungstenite::tungstenite::Message;
use futures_lite::{AsyncReadExt, AsyncWriteExt, Future, FutureExt, StreamExt};
use skiff_core::LeafUrl;
use smol::net::TcpStream;

use super::PIPE_CAPACITY;
use crate::server::conn::ConnIo;

/// Bytes of the core's output carried by one frame at most.
const MAX_FRAME: usize = 64 * 1024;

/// The path a leaf asks for: the URL's path joined with `/leafnode`.
pub(crate) fn leaf_path(url: &LeafUrl) -> String {
    format!("{}/leafnode", url.path.trim_end_matches('/'))
}

/// Connects to `url` and upgrades to WebSocket on the leafnode path. Returns the
/// connection's pipes for the core, the peer address, and the pump to run until the link
/// ends.
///
/// # Errors
/// The TCP connect, the TLS handshake (`wss://`, with `tls`) or the upgrade failed.
pub(crate) async fn connect_leaf(
    url: &LeafUrl,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
) -> io::Result<(ConnIo, Option<SocketAddr>, Pump)> {
    let stream = TcpStream::connect(url.authority()).await?;
    let _ = stream.set_nodelay(true);
    let addr = stream.peer_addr().ok();
    let target = format!("{}://{}{}", url.scheme, url.authority(), leaf_path(url));
    let (io, pump) = match (url.scheme.as_str(), tls) {
        ("ws", _) => upgrade(stream, target).await?,
        ("wss", Some(tls)) => {
            let name = rustls_pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| io::Error::other(format!("TLS server name {:?}: {e}", url.host)))?;
            let stream = futures_rustls::TlsConnector::from(tls)
                .connect(name, stream)
                .await?;
            upgrade(stream, target).await?
        }
        (other, _) => {
            return Err(io::Error::other(format!(
                "{other}:// leafnode remotes are not supported by the skiff daemon"
            )));
        }
    };
    Ok((io, addr, pump))
}

/// The task that carries a WebSocket link's frames until it ends.
pub(crate) type Pump = std::pin::Pin<Box<dyn Future<Output = ()>>>;

/// The WebSocket upgrade on `stream` (TCP or TLS) to `target`, and the link's pump.
async fn upgrade<S>(stream: S, target: String) -> io::Result<(ConnIo, Pump)>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + 'static,
{
    let (ws, _) = async_tungstenite::client_async(target, stream)
        .await
        .map_err(|e| io::Error::other(format!("websocket upgrade failed: {e}")))?;
    let (to_core_reader, mut to_core) = piper::pipe(PIPE_CAPACITY);
    let (mut from_core, from_core_writer) = piper::pipe(PIPE_CAPACITY);
    let io = ConnIo::new(to_core_reader, from_core_writer);
    let pump = async move {
        let (sender, mut receiver) = ws.split();
        let sender = smol::lock::Mutex::new(sender);
        let inbound = async {
            while let Some(Ok(message)) = receiver.next().await {
                let data = match message {
                    Message::Binary(data) => data,
                    Message::Text(text) => text.into(),
                    Message::Close(_) => break,
                    _ => continue, // pings are answered by the framing layer
                };
                if to_core.write_all(&data).await.is_err() {
                    break;
                }
            }
        };
        let outbound = async {
            let mut buf = vec![0u8; MAX_FRAME];
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
            let _ = sender.lock().await.send(Message::Close(None)).await;
        };
        inbound.or(outbound).await;
    };
    Ok((io, Box::pin(pump)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leafnode_path_is_joined_as_nats_server_joins_it() {
        let path = |u: &str| leaf_path(&LeafUrl::parse(u).unwrap());
        assert_eq!(path("ws://hub:8080"), "/leafnode");
        assert_eq!(path("ws://hub:8080/"), "/leafnode");
        assert_eq!(path("ws://hub:8080/nats"), "/nats/leafnode");
    }
}
