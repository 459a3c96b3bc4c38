//! In-process connections: a duplex byte stream joined to the broker with no socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

use super::conn::ConnIo;

/// Bytes buffered in each direction of an in-process connection.
const PIPE_CAPACITY: usize = 64 * 1024;

/// The client's end of an in-process connection to a [`Server`](crate::Server).
///
/// It speaks the NATS client protocol exactly as a TCP socket would: the first bytes read are
/// the server's `INFO`. Reading returns end-of-stream once the server closes the connection;
/// closing (or dropping) this value is seen by the server as the client closing.
pub struct InProcessConnection {
    from_server: piper::Reader,
    to_server: piper::Writer,
}

impl std::fmt::Debug for InProcessConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessConnection")
            .finish_non_exhaustive()
    }
}

/// Makes a connected pair: the client's end and the server's reader/writer halves.
pub(crate) fn pair() -> (InProcessConnection, ConnIo) {
    let (to_server_reader, to_server) = piper::pipe(PIPE_CAPACITY);
    let (from_server, to_client_writer) = piper::pipe(PIPE_CAPACITY);
    let client = InProcessConnection {
        from_server,
        to_server,
    };
    let server = ConnIo::new(to_server_reader, to_client_writer);
    (client, server)
}

impl AsyncRead for InProcessConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.from_server).poll_read(cx, buf)
    }
}

impl AsyncWrite for InProcessConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.to_server).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.to_server).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.to_server).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn bytes_cross_in_both_directions() {
        smol::block_on(async {
            let (mut client, server) = pair();
            let (reader, mut writer, _) = server.into_parts();
            let super::super::conn::Reader::Stream(mut reader) = reader else {
                panic!("an in-process connection reads a byte stream");
            };
            client.write_all(b"PING\r\n").await.unwrap();
            let mut buf = [0u8; 6];
            reader.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"PING\r\n");
            writer.write_all(b"PONG\r\n").await.unwrap();
            drop(writer);
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"PONG\r\n");
        });
    }
}
