//! The host: the [`Broker`], its connections' ports and its one timer, behind an
//! `Rc<RefCell<_>>` on the one JavaScript thread.
//!
//! Every entry (a port message, the timer, a call from JavaScript) borrows the host, feeds one
//! input to the broker and settles: performs every output in order and re-arms the timer.
//! Calls back into JavaScript that could re-enter the host (promise resolutions, the event
//! listener) are queued and made after the borrow ends.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use bytes::{Bytes, BytesMut};
use js_sys::{Array, ArrayBuffer, Function, Reflect, Uint8Array, WeakSet};
use skiff_core::{
    Broker, CloseReason, Config, ConnId, Fault, FaultError, FaultId, Notice, NoticeLevel, Output,
    PeerInfo, Transport,
};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, MessagePort, WebSocket};

use super::js;
use super::platform::{Clock, Timeout};

/// The host as its callbacks hold it: they never keep it alive.
type HostRef = Weak<RefCell<Host>>;

/// A JavaScript call to make once the host is no longer borrowed.
#[derive(Debug)]
enum Deferred {
    /// Resolve a `shutdown()` promise.
    Resolve(Function),
    /// Tell the listener something happened.
    Event(JsValue),
}

/// One live connection: its port and the handlers installed on it.
#[derive(Debug)]
struct Endpoint {
    port: MessagePort,
    cid: u64,
    /// Whether the client acknowledges consumed bytes (see the crate's port protocol).
    acks: bool,
    /// Bytes posted and not yet acknowledged (with `acks`): an acknowledgement never counts
    /// more than this.
    unacked: usize,
    /// Between the core's `PauseReading` and `ResumeReading`: what the port delivers is kept
    /// in `backlog` instead of reaching the broker.
    paused: bool,
    /// Input received while paused, in arrival order (a port cannot be left unread: the
    /// browser delivers every message, so the host holds them as a socket's buffer would).
    backlog: VecDeque<Incoming>,
    /// Held so the handler lives as long as the connection.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    /// `messageerror` (data that could not be deserialized) and `close` (the other end was
    /// closed or its context went away, where the browser reports it).
    on_gone: Closure<dyn FnMut(JsValue)>,
}

impl Endpoint {
    /// Removes the handlers and closes the port.
    fn detach(&self) {
        self.port.set_onmessage(None);
        let gone = self.on_gone.as_ref().unchecked_ref();
        let _ = self
            .port
            .remove_event_listener_with_callback("messageerror", gone);
        let _ = self.port.remove_event_listener_with_callback("close", gone);
        self.port.close();
    }
}

/// A leaf remote's WebSocket to its hub (dialing, or carrying the link).
struct LeafSocket {
    socket: WebSocket,
    /// The link, once the socket opened.
    conn: Option<ConnId>,
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_gone: Closure<dyn FnMut(JsValue)>,
}

impl std::fmt::Debug for LeafSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafSocket")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl LeafSocket {
    /// Removes the handlers and closes the socket.
    fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}

/// Input from a client, in the order it must reach the broker.
#[derive(Debug)]
enum Incoming {
    /// Protocol bytes.
    Bytes(BytesMut),
    /// The client closed (or broke the port protocol): the end of its input.
    End(CloseReason),
}

/// How a connection is attached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttachOptions {
    /// The client acknowledges consumed bytes.
    pub(crate) acks: bool,
    /// The transport reported to the core (the WebSocket shim says `WebSocket`).
    pub(crate) transport: Transport,
}

/// The broker and everything that performs its outputs.
pub(crate) struct Host {
    broker: Broker,
    clock: Clock,
    this: HostRef,
    conns: HashMap<ConnId, Endpoint>,
    /// Every port ever attached: a port carries one connection in its life.
    attached: WeakSet,
    timeout: Option<Timeout>,
    on_timeout: Closure<dyn FnMut()>,
    stopped: bool,
    /// `shutdown()` promises waiting for `Stopped`.
    waiters: Vec<Function>,
    listener: Option<Function>,
    deferred: Vec<Deferred>,
    /// Leaf remotes' sockets, by remote index (see [`Host::dial_leaf`]).
    leaf_sockets: HashMap<usize, LeafSocket>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("conns", &self.conns.len())
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A running broker with `config`.
    pub(crate) fn start(config: Config, seed: u64) -> Rc<RefCell<Self>> {
        let clock = Clock::start();
        let broker = Broker::new(config, seed, clock.now());
        Rc::new_cyclic(|this: &HostRef| {
            let weak = this.clone();
            let on_timeout = Closure::<dyn FnMut()>::new(move || {
                enter(&weak, Self::fire);
            });
            RefCell::new(Self {
                broker,
                clock,
                this: this.clone(),
                conns: HashMap::new(),
                attached: WeakSet::new(),
                timeout: None,
                on_timeout,
                stopped: false,
                waiters: Vec::new(),
                listener: None,
                deferred: Vec::new(),
                leaf_sockets: HashMap::new(),
            })
        })
    }

    /// The broker, to read.
    pub(crate) fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Sets the function told about closes and the lifecycle.
    pub(crate) fn set_listener(&mut self, listener: Option<Function>) {
        self.listener = listener;
    }

    /// Registers `port` as a new connection; returns its `cid`.
    pub(crate) fn attach(
        &mut self,
        port: MessagePort,
        options: AttachOptions,
    ) -> Result<u64, JsValue> {
        if self.attached.has(&port) {
            return Err(js::error(
                "this MessagePort is already attached to the broker: a port carries one connection, use a new MessageChannel",
            ));
        }
        let peer = PeerInfo {
            addr: None,
            transport: options.transport,
        };
        let conn = self.broker.accept(peer, self.clock.now()).map_err(|_| {
            js::error("the broker is not accepting connections (lame duck or shutdown)")
        })?;
        self.attached.add(&port);
        let cid = self
            .broker
            .connections()
            .find(|c| c.id == conn)
            .map_or(0, |c| c.cid);
        let weak = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            enter(&weak, |host| host.port_message(conn, &event.data()));
        });
        let weak = self.this.clone();
        let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            enter(&weak, |host| host.ended(conn, CloseReason::ClientClosed));
        });
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let gone = on_gone.as_ref().unchecked_ref();
        let _ = port.add_event_listener_with_callback("messageerror", gone);
        let _ = port.add_event_listener_with_callback("close", gone);
        self.conns.insert(
            conn,
            Endpoint {
                port,
                cid,
                acks: options.acks,
                unacked: 0,
                paused: false,
                backlog: VecDeque::new(),
                _on_message: on_message,
                on_gone,
            },
        );
        self.event(&[
            ("type", JsValue::from_str("connect")),
            ("cid", JsValue::from_f64(cid as f64)),
            (
                "transport",
                JsValue::from_str(js::transport(options.transport)),
            ),
        ]);
        self.settle();
        Ok(cid)
    }

    /// Closes the connection with this `cid` from the server side. False if there is none.
    pub(crate) fn kick(&mut self, cid: u64) -> bool {
        let Some(conn) = self.conn_by_cid(cid) else {
            return false;
        };
        let kicked = self.broker.kick(conn, self.clock.now());
        self.settle();
        kicked
    }

    /// Injects `fault` into the broker (the core does all of it) and performs what it caused.
    pub(crate) fn inject(&mut self, fault: Fault) -> Result<FaultId, FaultError> {
        let injected = self.broker.inject(fault, self.clock.now());
        self.settle();
        injected
    }

    /// Ends the active fault `id` and performs what its end releases.
    pub(crate) fn clear(&mut self, id: FaultId) -> Result<(), FaultError> {
        let cleared = self.broker.clear(id, self.clock.now());
        self.settle();
        cleared
    }

    /// Enters lame duck mode. False if already requested or later.
    pub(crate) fn lame_duck(&mut self) -> bool {
        let entered = self.broker.lame_duck(self.clock.now());
        self.settle();
        entered
    }

    /// Requests the one shutdown; `resolve` is called once the broker has stopped.
    pub(crate) fn shutdown(&mut self, resolve: Function) {
        if self.stopped {
            self.deferred.push(Deferred::Resolve(resolve));
            return;
        }
        self.waiters.push(resolve);
        if let Some(actions) = self.broker.shutdown(self.clock.now()) {
            for output in actions {
                self.perform(output);
            }
        }
        self.settle();
    }

    /// The `cid` of the connection with this handle.
    pub(crate) fn cid_of(&self, conn: ConnId) -> Option<u64> {
        self.conns.get(&conn).map(|e| e.cid)
    }

    fn conn_by_cid(&self, cid: u64) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, e)| e.cid == cid)
            .map(|(&conn, _)| conn)
    }

    /// A message arrived on `conn`'s port.
    fn port_message(&mut self, conn: ConnId, data: &JsValue) {
        let incoming = if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            Incoming::Bytes(copy_bytes(&Uint8Array::new(buffer)))
        } else if let Some(view) = data.dyn_ref::<Uint8Array>() {
            Incoming::Bytes(copy_bytes(view))
        } else {
            match control(data) {
                // Acknowledgements are about the broker's writes, never held back.
                Some(Control::Ack(n)) => {
                    if let Some(endpoint) = self.conns.get_mut(&conn).filter(|e| e.acks) {
                        let n = n.min(endpoint.unacked);
                        endpoint.unacked -= n;
                        self.broker.handle_written(conn, n, self.clock.now());
                    }
                    self.settle();
                    return;
                }
                Some(Control::Close) => Incoming::End(CloseReason::ClientClosed),
                // Neither bytes nor a control message: the peer does not speak the port
                // protocol.
                None => Incoming::End(CloseReason::ProtocolViolation),
            }
        };
        match self.conns.get_mut(&conn) {
            // Paused, or still feeding what came while paused: keep the arrival order.
            Some(endpoint) if endpoint.paused || !endpoint.backlog.is_empty() => {
                endpoint.backlog.push_back(incoming);
            }
            _ => self.feed(conn, incoming),
        }
        self.settle();
    }

    /// Hands one input of `conn` to the broker.
    fn feed(&mut self, conn: ConnId, incoming: Incoming) {
        let now = self.clock.now();
        match incoming {
            Incoming::Bytes(bytes) if bytes.is_empty() => {}
            Incoming::Bytes(bytes) => self.broker.handle_input(conn, bytes, now),
            Incoming::End(reason) => self.broker.handle_eof(conn, reason, now),
        }
    }

    /// Feeds `conn`'s backlog in order while its reading is not paused; each input's outputs
    /// are performed before the next, so a new pause stops the feeding at once.
    fn drain_backlog(&mut self, conn: ConnId) {
        loop {
            let next = match self.conns.get_mut(&conn) {
                Some(endpoint) if !endpoint.paused => endpoint.backlog.pop_front(),
                _ => None,
            };
            let Some(incoming) = next else { return };
            self.feed(conn, incoming);
            while let Some(output) = self.broker.poll_output() {
                self.perform(output);
            }
        }
    }

    /// `conn` went away (its port reported an error or a close).
    fn ended(&mut self, conn: ConnId, reason: CloseReason) {
        self.broker.handle_eof(conn, reason, self.clock.now());
        self.settle();
    }

    /// The timer fired.
    fn fire(&mut self) {
        self.timeout = None;
        self.broker.handle_timeout(self.clock.now());
        self.settle();
    }

    /// Performs every pending output, then keeps the timer at or before the core's deadline.
    fn settle(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            self.perform(output);
        }
        self.rearm();
    }

    fn rearm(&mut self) {
        let Some(at) = self.broker.poll_timeout().filter(|_| !self.stopped) else {
            // A later or absent deadline leaves an armed timer alone: firing early is
            // harmless. A stopped broker needs none.
            if self.stopped {
                if let Some(timeout) = self.timeout.take() {
                    timeout.cancel();
                }
            }
            return;
        };
        if self.timeout.as_ref().is_some_and(|t| t.at <= at) {
            return;
        }
        if let Some(timeout) = self.timeout.take() {
            timeout.cancel();
        }
        let delay = at.saturating_duration_since(self.clock.now());
        self.timeout = Some(Timeout::start(
            self.on_timeout.as_ref().unchecked_ref(),
            at,
            delay,
        ));
    }

    /// Performs one output: the single path for polled outputs and shutdown actions.
    fn perform(&mut self, output: Output) {
        match output {
            Output::Transmit { conn, segments } => self.transmit(conn, &segments),
            Output::Close { conn, reason } => self.close(conn, reason),
            Output::PauseReading { conn } => {
                if let Some(endpoint) = self.conns.get_mut(&conn) {
                    endpoint.paused = true;
                }
            }
            Output::ResumeReading { conn } => {
                if let Some(endpoint) = self.conns.get_mut(&conn) {
                    endpoint.paused = false;
                }
                self.drain_backlog(conn);
            }
            Output::StopListening => {
                self.event(&[("type", JsValue::from_str("stopListening"))]);
            }
            Output::Stopped => {
                self.stopped = true;
                for resolve in std::mem::take(&mut self.waiters) {
                    self.deferred.push(Deferred::Resolve(resolve));
                }
                self.event(&[("type", JsValue::from_str("stopped"))]);
            }
            Output::Notice(notice) => self.notice(&notice),
            Output::DialLeaf { remote, url } => self.dial_leaf(remote, &url),
            // Outputs added to the core later are listed above as this host learns them.
            _ => {}
        }
    }

    /// Opens the page's WebSocket to a leaf remote's hub (`<url>/leafnode`, as nats-server
    /// dials a hub's websocket listener); the core hears back when it opens or fails.
    fn dial_leaf(&mut self, remote: usize, url: &skiff_core::LeafUrl) {
        let target = format!(
            "{}://{}{}/leafnode",
            url.scheme,
            url.authority(),
            url.path.trim_end_matches('/')
        );
        let Ok(socket) = WebSocket::new(&target) else {
            self.broker.leaf_dial_failed(remote, self.clock.now());
            return;
        };
        socket.set_binary_type(BinaryType::Arraybuffer);
        let weak = self.this.clone();
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            enter(&weak, |host| host.leaf_open(remote));
        });
        let weak = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            enter(&weak, |host| host.leaf_message(remote, &event.data()));
        });
        let weak = self.this.clone();
        let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            enter(&weak, |host| host.leaf_gone(remote));
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_gone.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_gone.as_ref().unchecked_ref()));
        if let Some(old) = self.leaf_sockets.insert(
            remote,
            LeafSocket {
                socket,
                conn: None,
                _on_open: on_open,
                _on_message: on_message,
                _on_gone: on_gone,
            },
        ) {
            old.detach();
        }
    }

    /// A leaf remote's socket opened: the link joins the broker.
    fn leaf_open(&mut self, remote: usize) {
        let peer = PeerInfo {
            addr: None,
            transport: Transport::WebSocket,
        };
        match self.broker.leaf_connected(remote, peer, self.clock.now()) {
            Ok(conn) => {
                if let Some(leaf) = self.leaf_sockets.get_mut(&remote) {
                    leaf.conn = Some(conn);
                }
            }
            Err(_) => {
                if let Some(leaf) = self.leaf_sockets.remove(&remote) {
                    leaf.detach();
                }
            }
        }
        self.settle();
    }

    /// Bytes from a hub.
    fn leaf_message(&mut self, remote: usize, data: &JsValue) {
        let Some(conn) = self.leaf_sockets.get(&remote).and_then(|l| l.conn) else {
            return;
        };
        let bytes = if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            copy_bytes(&Uint8Array::new(buffer))
        } else if let Some(text) = data.as_string() {
            BytesMut::from(text.as_bytes())
        } else {
            return;
        };
        self.broker.handle_input(conn, bytes, self.clock.now());
        self.settle();
    }

    /// A leaf remote's socket closed or failed (before or after it opened).
    fn leaf_gone(&mut self, remote: usize) {
        let Some(leaf) = self.leaf_sockets.remove(&remote) else {
            return;
        };
        leaf.detach();
        let now = self.clock.now();
        match leaf.conn {
            Some(conn) => self.broker.handle_eof(conn, CloseReason::ClientClosed, now),
            None => self.broker.leaf_dial_failed(remote, now),
        }
        self.settle();
    }

    /// The leaf remote whose link is `conn`, if it is one.
    fn leaf_of(&self, conn: ConnId) -> Option<usize> {
        self.leaf_sockets
            .iter()
            .find(|(_, l)| l.conn == Some(conn))
            .map(|(&remote, _)| remote)
    }

    /// Posts `segments` to `conn`'s port as one transferred `ArrayBuffer`.
    fn transmit(&mut self, conn: ConnId, segments: &[Bytes]) {
        if let Some(remote) = self.leaf_of(conn) {
            let total: usize = segments.iter().map(Bytes::len).sum();
            let mut joined = Vec::with_capacity(total);
            segments.iter().for_each(|s| joined.extend_from_slice(s));
            let sent = self.leaf_sockets[&remote]
                .socket
                .send_with_u8_array(&joined);
            let now = self.clock.now();
            match sent {
                // The browser buffers what it could not send yet: handed over is written.
                Ok(()) => self.broker.handle_written(conn, total, now),
                Err(_) => self.broker.handle_eof(conn, CloseReason::WriteError, now),
            }
            return;
        }
        let Some(endpoint) = self.conns.get_mut(&conn) else {
            return;
        };
        let total: usize = segments.iter().map(Bytes::len).sum();
        if total == 0 {
            return;
        }
        let view = Uint8Array::new_with_length(total as u32);
        let mut offset = 0u32;
        for segment in segments {
            let end = offset + segment.len() as u32;
            view.subarray(offset, end).copy_from(segment);
            offset = end;
        }
        let buffer = view.buffer();
        let posted = endpoint
            .port
            .post_message_with_transferable(&buffer, &Array::of1(&buffer));
        let now = self.clock.now();
        match posted {
            // Without acknowledgements, bytes handed to the port count as written.
            Ok(()) if !endpoint.acks => self.broker.handle_written(conn, total, now),
            Ok(()) => endpoint.unacked += total,
            Err(_) => self.broker.handle_eof(conn, CloseReason::WriteError, now),
        }
    }

    /// Tells the client why, closes the port and forgets the connection.
    fn close(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(remote) = self.leaf_of(conn) {
            // The core redials on its own timer.
            if let Some(leaf) = self.leaf_sockets.remove(&remote) {
                leaf.detach();
            }
            return;
        }
        let Some(endpoint) = self.conns.remove(&conn) else {
            return;
        };
        let notice = js::object(&[
            ("skiff", JsValue::from_str("close")),
            ("code", JsValue::from_f64(reason.websocket_status().into())),
            ("reason", JsValue::from_str(reason.as_str())),
        ]);
        let _ = endpoint.port.post_message(&notice);
        endpoint.detach();
        self.event(&[
            ("type", JsValue::from_str("close")),
            ("cid", JsValue::from_f64(endpoint.cid as f64)),
            ("reason", JsValue::from_str(reason.as_str())),
        ]);
        // Dropping the endpoint drops its handlers; one of them may be running now, which
        // wasm-bindgen allows (the closure is freed when it returns).
        drop(endpoint);
    }

    /// Tells the listener what nats-server would log (nothing is logged by the host itself).
    fn notice(&mut self, notice: &Notice) {
        let level = match notice.level() {
            NoticeLevel::Debug => "debug",
            NoticeLevel::Info => "info",
            NoticeLevel::Error => "error",
        };
        let cid = self
            .cid_of(notice.conn)
            .map_or(JsValue::NULL, |cid| JsValue::from_f64(cid as f64));
        self.event(&[
            ("type", JsValue::from_str("notice")),
            ("level", JsValue::from_str(level)),
            ("text", JsValue::from_str(&notice.to_string())),
            ("cid", cid),
        ]);
    }

    /// Queues an event for the listener.
    fn event(&mut self, properties: &[(&str, JsValue)]) {
        if self.listener.is_some() {
            self.deferred.push(Deferred::Event(js::object(properties)));
        }
    }
}

impl Drop for Host {
    /// A broker freed from JavaScript while connections are open closes their ports and
    /// removes its handlers, so no callback reaches a freed closure.
    fn drop(&mut self) {
        let notice = js::object(&[
            ("skiff", JsValue::from_str("close")),
            ("code", JsValue::from_f64(1006.0)),
            ("reason", JsValue::from_str("the broker was freed")),
        ]);
        for (_, endpoint) in self.conns.drain() {
            let _ = endpoint.port.post_message(&notice);
            endpoint.detach();
        }
        for (_, leaf) in self.leaf_sockets.drain() {
            leaf.detach();
        }
        if let Some(timeout) = self.timeout.take() {
            timeout.cancel();
        }
    }
}

/// A copy of `view` in wasm memory.
fn copy_bytes(view: &Uint8Array) -> BytesMut {
    let mut bytes = BytesMut::zeroed(view.length() as usize);
    view.copy_to(&mut bytes);
    bytes
}

/// A control message from a client.
enum Control {
    Ack(usize),
    Close,
}

fn control(data: &JsValue) -> Option<Control> {
    if !data.is_object() {
        return None;
    }
    let kind = Reflect::get(data, &JsValue::from_str("skiff"))
        .ok()?
        .as_string()?;
    match kind.as_str() {
        "ack" => {
            let n = Reflect::get(data, &JsValue::from_str("bytes"))
                .ok()?
                .as_f64()?;
            (n >= 0.0 && n.fract() == 0.0).then_some(Control::Ack(n as usize))
        }
        "close" => Some(Control::Close),
        _ => None,
    }
}

/// Runs `f` on the host if it is alive and not already borrowed, then makes the calls it
/// deferred. Returns `None` if the host is gone or busy.
pub(crate) fn enter<T>(host: &HostRef, f: impl FnOnce(&mut Host) -> T) -> Option<T> {
    let host = host.upgrade()?;
    enter_rc(&host, f).ok()
}

/// [`enter`] for a strong reference; `Err` if the host is busy (a re-entrant call).
pub(crate) fn enter_rc<T>(
    host: &Rc<RefCell<Host>>,
    f: impl FnOnce(&mut Host) -> T,
) -> Result<T, JsValue> {
    let (result, deferred, listener) = {
        let mut guard = host.try_borrow_mut().map_err(|_| {
            js::error("the broker is busy: it was called back from inside one of its own calls")
        })?;
        let result = f(&mut guard);
        let deferred = std::mem::take(&mut guard.deferred);
        (result, deferred, guard.listener.clone())
    };
    for call in deferred {
        match call {
            Deferred::Resolve(resolve) => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
            Deferred::Event(event) => {
                if let Some(listener) = &listener {
                    let _ = listener.call1(&JsValue::UNDEFINED, &event);
                }
            }
        }
    }
    Ok(result)
}
