//! HTTP monitoring (`-m`/`--http_port`, `http`/`http_port` in the config): nats-server's
//! `/varz`, `/connz`, `/subsz` (alias `/subscriptionsz`), `/healthz`, `/leafz` and the `/`
//! index (and,
//! with `--control`, Skiff's fault control surface on `/skiff/faults`), served
//! on the server thread's executor next to the broker, from the broker's own counters.
//!
//! Each request borrows the hub for as long as it takes to build the JSON and never across
//! an `.await`, like every other task on that thread.

pub(crate) mod endpoints;
mod faults;
pub(crate) mod gofmt;

use std::rc::Rc;

use futures_lite::AsyncWriteExt;
use smol::net::{TcpListener, TcpStream};

use crate::http::{self, Incoming, Request, Response};
pub(crate) use endpoints::{MonitorState, WebsocketVarz};

use crate::server::driver::HubRef;

/// Accepts monitoring clients until the task is dropped.
pub(crate) async fn accept_loop(listener: TcpListener, hub: HubRef, state: Rc<MonitorState>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let Some(strong) = hub.upgrade() else { return };
                let task = serve_connection(stream, hub.clone(), state.clone());
                strong.borrow().spawn_detached(task);
            }
            Err(e) => {
                tracing::error!("Error accepting monitoring connection: {e}");
                smol::Timer::after(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Answers requests on one connection until it closes, idles out or asks to close.
async fn serve_connection(mut stream: TcpStream, hub: HubRef, state: Rc<MonitorState>) {
    let mut buf = Vec::new();
    loop {
        let request = match http::read_request(&mut stream, &mut buf).await {
            Ok(Incoming::Request(request)) => request,
            Ok(Incoming::Bad(response)) => {
                let _ = http::write_response(&mut stream, &response, false, false).await;
                break;
            }
            Ok(Incoming::Closed) | Err(_) => break,
        };
        let response = {
            let Some(hub) = hub.upgrade() else { break };
            if faults::handles(&request.path, hub.borrow().broker()) {
                faults::respond(&mut hub.borrow_mut(), &request)
            } else {
                let hub = hub.borrow();
                respond(hub.broker(), hub.now(), &state, &request)
            }
        };
        let head_only = request.method == "HEAD";
        if http::write_response(&mut stream, &response, head_only, request.keep_alive)
            .await
            .is_err()
            || !request.keep_alive
        {
            break;
        }
    }
    let _ = stream.close().await;
}

/// Routes one request.
pub(crate) fn respond(
    broker: &skiff_core::Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    request: &Request,
) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::error(405, "405 method not allowed");
    }
    let path = request.path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let known = matches!(
        path,
        "/" | "/varz" | "/connz" | "/subsz" | "/subscriptionsz" | "/healthz" | "/leafz"
    );
    if !known {
        return Response::error(404, "404 page not found");
    }
    *state
        .requests
        .borrow_mut()
        .entry(path.to_owned())
        .or_insert(0) += 1;
    match path {
        "/varz" => endpoints::varz(broker, now, state),
        "/connz" => endpoints::connz(broker, now, state, request),
        "/subsz" | "/subscriptionsz" => endpoints::subsz(broker, now, state, request),
        "/healthz" => endpoints::healthz(broker),
        "/leafz" => endpoints::leafz(broker, now, state, request),
        _ => endpoints::index(&broker.config().version),
    }
}
