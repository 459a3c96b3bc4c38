//! The client accept loop: hands each accepted socket to the driver.

use std::time::Duration;

use skiff_core::PeerInfo;
use smol::net::TcpListener;

use super::conn::ConnIo;
use super::driver::Control;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts clients until the task is dropped (the driver drops it on `StopListening`).
pub(crate) async fn accept_loop(listener: TcpListener, control: async_channel::Sender<Control>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let attach = Control::Attach(ConnIo::tcp(stream), PeerInfo::tcp(addr));
                if control.send(attach).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!("Error accepting client connection: {e}");
                smol::Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}
