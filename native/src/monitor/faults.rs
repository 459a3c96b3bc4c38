//! `/skiff/faults`: the fault control surface over HTTP, beside the same requests as NATS
//! subjects (`$SKIFF.FAULT.*`). Served only when the daemon runs with `--control` (otherwise
//! the path is unknown, as on nats-server).
//!
//! | request                      | body               | answer                   |
//! |------------------------------|--------------------|--------------------------|
//! | `GET /skiff/faults`          |                    | `{"faults":[{...}]}`     |
//! | `POST /skiff/faults`         | a fault, as JSON   | `{"id":N}`               |
//! | `DELETE /skiff/faults/N`     |                    | `{"ok":true}`            |
//!
//! A refused request answers 400 (404 for a fault that is not active) with
//! `{"error":"..."}`, the same text the NATS surface replies with.

use skiff_core::{Broker, ControlOp, control_error_json};

use crate::http::{Request, Response};
use crate::server::driver::Hub;

/// The path of the surface.
const PATH: &str = "/skiff/faults";

/// Whether this request is for the fault surface (and the surface is on).
pub(crate) fn handles(path: &str, broker: &Broker) -> bool {
    broker.config().fault_control
        && path
            .strip_prefix(PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Answers a request for the fault surface.
pub(crate) fn respond(hub: &mut Hub, request: &Request) -> Response {
    let rest = request.path[PATH.len()..].trim_matches('/');
    let (op, payload, missing_status) = match (request.method.as_str(), rest) {
        ("GET" | "HEAD", "") => (ControlOp::List, Vec::new(), 400),
        ("POST", "") => (ControlOp::Inject, request.body.clone(), 400),
        ("DELETE", id) if !id.is_empty() => match id.parse::<u64>() {
            Ok(id) => (
                ControlOp::Clear,
                format!("{{\"id\":{id}}}").into_bytes(),
                404,
            ),
            Err(_) => return error(400, &format!("bad fault id {id:?}")),
        },
        (_, "") => return error(405, "use GET to list, POST to inject"),
        (_, _) => return error(405, "use DELETE /skiff/faults/N to clear"),
    };
    match hub.control_request(op, &payload) {
        Ok(answer) => Response::json(answer),
        Err(e) => {
            let status = if e.starts_with("no active fault") {
                missing_status
            } else {
                400
            };
            error(status, &e)
        }
    }
}

fn error(status: u16, text: &str) -> Response {
    Response::with_status(status, "application/json", control_error_json(text))
}
