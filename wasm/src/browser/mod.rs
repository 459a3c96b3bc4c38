//! The JavaScript API (wasm-bindgen exports).

mod host;
mod js;
mod platform;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use skiff_core::{Fault, FaultId, Transport};
use wasm_bindgen::prelude::*;
use web_sys::{MessageChannel, MessagePort};

use self::host::{AttachOptions, Host, enter_rc};
use crate::options::{Value, config_from};

/// A NATS broker living in this JavaScript realm (a page, a Worker or a SharedWorker).
#[wasm_bindgen(js_name = Broker)]
#[derive(Debug)]
pub struct WasmBroker {
    host: Rc<RefCell<Host>>,
}

#[wasm_bindgen(js_class = Broker)]
impl WasmBroker {
    /// Starts a broker. `options` (all optional): `serverName`, `serverId`, `host`, `port`,
    /// `headers`, `maxPayload`, `maxControlLine`, `maxPending`, `maxConnections`,
    /// `maxSubscriptions`, `pingInterval`, `maxPingsOut`, `noShortFirstPing`, `authTimeout`,
    /// `lameDuckDuration`, `lameDuckGracePeriod` (durations in milliseconds), and either
    /// `token` or `users: [{ user, password, permissions? }]` (with `noAuthUser`, the user a
    /// CONNECT without credentials logs in as), `accounts: { NAME: { users, exports, imports } }`
    /// and `systemAccount`, `leafRemotes` and `leafReconnect`. Bcrypt-hashed secrets need the
    /// native build (the `bcrypt` crate does not build for wasm32). Throws an `Error` naming
    /// the option on any mistake.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Self, JsValue> {
        let config = config_from(&js::value_of(&options)).map_err(|e| js::error(&e))?;
        let seed = platform::random_seed()?;
        Ok(Self {
            host: Host::start(config, seed),
        })
    }

    /// Attaches `port` as one client connection and returns its `cid`. The INFO is posted at
    /// once. `options`: `{ acks?: boolean, transport?: "port" | "websocket" }`. Throws a
    /// `TypeError` if `port` is not a `MessagePort`, an `Error` if it was attached before or
    /// the broker no longer accepts connections.
    pub fn attach(&self, port: JsValue, options: JsValue) -> Result<f64, JsValue> {
        let port: MessagePort = port.dyn_into().map_err(|other: JsValue| {
            js::type_error(&format!(
                "attach(port): expected a MessagePort, got {}",
                other.js_typeof().as_string().unwrap_or_default()
            ))
        })?;
        let options = attach_options(&options)?;
        let cid = enter_rc(&self.host, |host| host.attach(port, options))??;
        Ok(cid as f64)
    }

    /// A new `MessageChannel` whose first port is attached (with `options`, as [`attach`]);
    /// returns the other port, ready for a client.
    ///
    /// [`attach`]: WasmBroker::attach
    #[wasm_bindgen(js_name = clientPort)]
    pub fn client_port(&self, options: JsValue) -> Result<MessagePort, JsValue> {
        let channel = MessageChannel::new()?;
        self.attach(channel.port1().into(), options)?;
        Ok(channel.port2())
    }

    /// The broker-wide counters: `{ traffic: { inMsgs, inBytes, outMsgs, outBytes },
    /// connections, totalConnections, subscriptions, slowConsumers, staleConnections }`.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        enter_rc(&self.host, |host| js::stats(&host.broker().stats()))
    }

    /// Every open connection: `{ cid, transport, name, lang, version, start, lastActivity,
    /// traffic, subscriptions, pendingBytes }` (times in milliseconds since the broker started).
    pub fn connections(&self) -> Result<Array, JsValue> {
        enter_rc(&self.host, |host| {
            host.broker()
                .connections()
                .map(|c| js::connection(&c))
                .collect()
        })
    }

    /// Every subscription: `{ cid, subject, queue, sid, delivered, max }`.
    pub fn subscriptions(&self) -> Result<Array, JsValue> {
        enter_rc(&self.host, |host| {
            host.broker()
                .subscriptions()
                .filter_map(|s| Some(js::subscription(&s, host.cid_of(s.conn)?)))
                .collect()
        })
    }

    /// `"running"`, `"lameDuck"`, `"draining"` or `"stopped"`.
    pub fn phase(&self) -> Result<String, JsValue> {
        enter_rc(&self.host, |host| {
            js::phase(host.broker().phase()).to_owned()
        })
    }

    /// The server id sent in INFO.
    #[wasm_bindgen(js_name = serverId)]
    pub fn server_id(&self) -> Result<String, JsValue> {
        enter_rc(&self.host, |host| host.broker().server_id().to_owned())
    }

    /// Closes the connection `cid` from the server side (its client sees the socket close and
    /// reconnects). Returns false if there is no such connection.
    #[wasm_bindgen(js_name = closeConnection)]
    pub fn close_connection(&self, cid: f64) -> Result<bool, JsValue> {
        if !(cid >= 0.0 && cid.fract() == 0.0) {
            return Err(js::type_error(&format!(
                "closeConnection(cid): expected a connection id, got {cid}"
            )));
        }
        enter_rc(&self.host, |host| host.kick(cid as u64))
    }

    /// Enters lame duck mode: no new connections, clients told `ldm`, then closed over
    /// `lameDuckDuration`, then the broker stops. Returns false if already requested.
    #[wasm_bindgen(js_name = lameDuck)]
    pub fn lame_duck(&self) -> Result<bool, JsValue> {
        enter_rc(&self.host, Host::lame_duck)
    }

    /// Shuts the broker down: flushes what was accepted, closes every connection and stops.
    /// May be called any number of times, concurrently; the shutdown happens once and every
    /// returned promise resolves when the broker has stopped.
    pub fn shutdown(&self) -> Result<Promise, JsValue> {
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
        let resolve = resolver.ok_or_else(|| js::error("Promise executor did not run"))?;
        enter_rc(&self.host, |host| host.shutdown(resolve))?;
        Ok(promise)
    }

    /// Injects a fault (the core's fault injection, as natively): `fault` is the JSON form
    /// the daemon's `$SKIFF.FAULT.INJECT` takes, as an object or a JSON string, e.g.
    /// `{ fault: "drop", subject: "orders.new", count: 3 }`. Returns the fault's id. Throws an
    /// `Error` saying what is wrong with a bad fault, or why the broker refused it.
    pub fn inject(&self, fault: JsValue) -> Result<f64, JsValue> {
        let json = match fault.as_string() {
            Some(text) => text,
            None if fault.is_object() => js_sys::JSON::stringify(&fault)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| js::type_error("inject(fault): the fault cannot be read as JSON"))?,
            None => {
                return Err(js::type_error(&format!(
                    "inject(fault): expected an object or a JSON string, got {}",
                    fault.js_typeof().as_string().unwrap_or_default()
                )));
            }
        };
        let fault = Fault::from_json(json.as_bytes()).map_err(|e| js::error(&e.to_string()))?;
        let id = enter_rc(&self.host, |host| host.inject(fault))?;
        id.map(|id| id.0 as f64)
            .map_err(|e| js::error(&format!("inject: {e}")))
    }

    /// Ends the active fault `id` (held messages are delivered, paused reading resumes).
    /// Throws an `Error` if no such fault is active.
    pub fn clear(&self, id: f64) -> Result<(), JsValue> {
        if !(id >= 0.0 && id.fract() == 0.0) {
            return Err(js::type_error(&format!(
                "clear(id): expected a fault id, got {id}"
            )));
        }
        enter_rc(&self.host, |host| host.clear(FaultId(id as u64)))?
            .map_err(|e| js::error(&format!("clear: {e}")))
    }

    /// The active faults, oldest first: `{ id, fault, since_ms, until_ms, remaining, held }`
    /// (as `$SKIFF.FAULT.LIST` shows them; instants in milliseconds of the broker's clock).
    pub fn faults(&self) -> Result<Array, JsValue> {
        let infos = enter_rc(&self.host, |host| host.broker().faults())?;
        infos
            .iter()
            .map(|info| js_sys::JSON::parse(&info.to_json().to_string()))
            .collect()
    }

    /// Sets (or clears, with `null`) the function called with `{ type: "connect" | "close" |
    /// "stopListening" | "stopped" | "notice", cid?, reason?, transport?, level?, text? }`.
    /// A notice is what nats-server would log about a connection (`level`: `"debug"`,
    /// `"info"` or `"error"`); the host logs nothing itself.
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(&self, listener: JsValue) -> Result<(), JsValue> {
        let listener = match listener {
            l if l.is_null() || l.is_undefined() => None,
            l => Some(l.dyn_into::<Function>().map_err(|_| {
                js::type_error("setListener(listener): expected a function or null")
            })?),
        };
        enter_rc(&self.host, |host| host.set_listener(listener))
    }
}

/// Reads `attach`'s options object.
fn attach_options(options: &JsValue) -> Result<AttachOptions, JsValue> {
    let mut parsed = AttachOptions {
        acks: false,
        transport: Transport::InProcess,
    };
    let fields = match js::value_of(options) {
        Value::Absent => return Ok(parsed),
        Value::Object(fields) => fields,
        _ => return Err(js::type_error("attach options must be an object")),
    };
    for (key, value) in fields {
        match (key.as_str(), value) {
            (_, Value::Absent) => {}
            ("acks", Value::Bool(acks)) => parsed.acks = acks,
            ("transport", Value::Str(t)) if t == "port" => parsed.transport = Transport::InProcess,
            ("transport", Value::Str(t)) if t == "websocket" => {
                parsed.transport = Transport::WebSocket;
            }
            ("acks", _) => return Err(js::type_error("attach option acks must be a boolean")),
            ("transport", _) => {
                return Err(js::type_error(
                    "attach option transport must be \"port\" or \"websocket\"",
                ));
            }
            (other, _) => {
                return Err(js::error(&format!(
                    "unknown attach option {other:?} (known: acks, transport)"
                )));
            }
        }
    }
    Ok(parsed)
}
