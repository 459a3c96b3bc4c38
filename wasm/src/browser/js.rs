//! Conversions between JavaScript values and the core's types: options in, introspection out.

use js_sys::{Array, Object, Reflect};
use skiff_core::{ConnInfo, Instant, Phase, Stats, SubInfo, Traffic, Transport};
use wasm_bindgen::prelude::*;

use crate::options::Value;

/// Deepest nesting read from an options object (a cycle stops here).
const MAX_DEPTH: usize = 8;

/// Reads a JavaScript value into an options [`Value`].
pub(crate) fn value_of(value: &JsValue) -> Value {
    read(value, 0)
}

fn read(value: &JsValue, depth: usize) -> Value {
    if value.is_undefined() || value.is_null() {
        Value::Absent
    } else if let Some(b) = value.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = value.as_f64() {
        Value::Number(n)
    } else if let Some(s) = value.as_string() {
        Value::Str(s)
    } else if depth >= MAX_DEPTH {
        Value::Other("value nested too deeply".to_owned())
    } else if Array::is_array(value) {
        Value::List(
            Array::from(value)
                .iter()
                .map(|v| read(&v, depth + 1))
                .collect(),
        )
    } else if value.is_function() {
        Value::Other("function".to_owned())
    } else if value.is_object() {
        let entries = Object::entries(value.unchecked_ref());
        Value::Object(
            entries
                .iter()
                .filter_map(|pair| {
                    let pair = Array::from(&pair);
                    let key = pair.get(0).as_string()?;
                    Some((key, read(&pair.get(1), depth + 1)))
                })
                .collect(),
        )
    } else {
        Value::Other(value.js_typeof().as_string().unwrap_or_default())
    }
}

/// A plain object with these properties.
pub(crate) fn object(properties: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in properties {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// A count as a JavaScript number (exact below 2^53).
fn num(n: impl TryInto<u64>) -> JsValue {
    JsValue::from_f64(n.try_into().unwrap_or(u64::MAX) as f64)
}

/// Milliseconds since the broker started.
fn millis(at: Instant) -> JsValue {
    JsValue::from_f64(at.since_epoch().as_secs_f64() * 1000.0)
}

fn traffic(t: &Traffic) -> JsValue {
    object(&[
        ("inMsgs", num(t.in_msgs)),
        ("inBytes", num(t.in_bytes)),
        ("outMsgs", num(t.out_msgs)),
        ("outBytes", num(t.out_bytes)),
    ])
}

/// The broker-wide counters, shaped like the core's [`Stats`].
pub(crate) fn stats(s: &Stats) -> JsValue {
    object(&[
        ("traffic", traffic(&s.traffic)),
        ("connections", num(s.connections)),
        ("totalConnections", num(s.total_connections)),
        ("subscriptions", num(s.subscriptions)),
        ("slowConsumers", num(s.slow_consumers)),
        ("staleConnections", num(s.stale_connections)),
    ])
}

/// How a connection came in, as JavaScript names it.
pub(crate) fn transport(t: Transport) -> &'static str {
    match t {
        Transport::WebSocket => "websocket",
        Transport::Tcp => "tcp",
        _ => "port",
    }
}

/// One connection, shaped like the core's [`ConnInfo`].
pub(crate) fn connection(c: &ConnInfo) -> JsValue {
    object(&[
        ("cid", num(c.cid)),
        ("transport", JsValue::from_str(transport(c.peer.transport))),
        ("name", JsValue::from_str(&c.name)),
        ("lang", JsValue::from_str(&c.lang)),
        ("version", JsValue::from_str(&c.version)),
        ("start", millis(c.start)),
        ("lastActivity", millis(c.last_activity)),
        ("traffic", traffic(&c.traffic)),
        ("subscriptions", num(c.subscriptions)),
        ("pendingBytes", num(c.pending_bytes)),
    ])
}

/// One subscription, shaped like the core's [`SubInfo`], with its connection's `cid`.
pub(crate) fn subscription(s: &SubInfo, cid: u64) -> JsValue {
    object(&[
        ("cid", num(cid)),
        ("subject", JsValue::from_str(&s.subject)),
        (
            "queue",
            s.queue.as_deref().map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("sid", JsValue::from_str(&s.sid)),
        ("delivered", num(s.delivered)),
        ("max", s.max.map_or(JsValue::NULL, num)),
    ])
}

/// The lifecycle phase's name.
pub(crate) fn phase(p: Phase) -> &'static str {
    match p {
        Phase::Running => "running",
        Phase::LameDuck => "lameDuck",
        Phase::Draining => "draining",
        Phase::Stopped => "stopped",
    }
}

/// A JavaScript `Error` with `message`.
pub(crate) fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// A JavaScript `TypeError` with `message`.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}
