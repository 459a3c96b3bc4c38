//! The fault control surface: NATS requests on `$SKIFF.FAULT.>` that inject, clear and list
//! faults, so any NATS client can script them. Off unless [`Config::fault_control`] is set
//! (the daemon's `--control`); then a PUB to one of these subjects is answered by the broker
//! and reaches no subscriber.
//!
//! | subject                | payload                      | reply                          |
//! |------------------------|------------------------------|--------------------------------|
//! | `$SKIFF.FAULT.INJECT`  | a fault, as JSON             | `{"id":N}`                     |
//! | `$SKIFF.FAULT.CLEAR`   | `{"id":N}`                   | `{"ok":true}`                  |
//! | `$SKIFF.FAULT.LIST`    | (ignored)                    | `{"faults":[{...}]}`           |
//!
//! Every failure replies `{"error":"..."}`. Faults are given in their JSON form
//! ([`Fault::from_json`]).
//!
//! [`Config::fault_control`]: crate::Config::fault_control

use bytes::Bytes;
use serde::Deserialize;

use super::Broker;
use crate::Instant;
use crate::fault::{Fault, FaultId, FaultInfo};
use crate::{ConnId, subject};

/// The subjects of the control surface start with this.
pub(crate) const PREFIX: &[u8] = b"$SKIFF.FAULT.";

/// `{"id":N}` for `$SKIFF.FAULT.CLEAR`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearSpec {
    id: u64,
}

/// A request of the fault control surface, however it arrived (a NATS request on
/// `$SKIFF.FAULT.<OP>`, the daemon's HTTP `/skiff/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlOp {
    /// Inject the fault given as JSON; answers `{"id":N}`.
    Inject,
    /// Clear the fault `{"id":N}`; answers `{"ok":true}`.
    Clear,
    /// List the active faults; answers `{"faults":[...]}`.
    List,
}

impl ControlOp {
    /// The operation named by the last token of a control subject (`INJECT`, `CLEAR`, `LIST`).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"INJECT" => Some(Self::Inject),
            b"CLEAR" => Some(Self::Clear),
            b"LIST" => Some(Self::List),
            _ => None,
        }
    }
}

impl Broker {
    /// Performs a control request at `now`: `Ok` holds the JSON answer, `Err` what was wrong
    /// (answered as `{"error":"..."}`). The caller drains the outputs afterwards, as after any
    /// input.
    ///
    /// # Errors
    /// A payload that is not a valid request, or a fault the broker refuses.
    pub fn control(
        &mut self,
        op: ControlOp,
        payload: &[u8],
        now: Instant,
    ) -> Result<String, String> {
        let answer = match op {
            ControlOp::Inject => Fault::from_json(payload)
                .and_then(|fault| self.inject(fault, now))
                .map_err(|e| e.to_string())
                .map(|id| serde_json::json!({ "id": id.0 })),
            ControlOp::Clear => serde_json::from_slice::<ClearSpec>(payload)
                .map_err(|e| format!("bad request: {e}"))
                .and_then(|c| self.clear(FaultId(c.id), now).map_err(|e| e.to_string()))
                .map(|()| serde_json::json!({ "ok": true })),
            ControlOp::List => {
                let faults: Vec<_> = self.faults().iter().map(FaultInfo::to_json).collect();
                Ok(serde_json::json!({ "faults": faults }))
            }
        };
        answer.map(|a| a.to_string())
    }

    /// A PUB from `from` to a control subject: performs it and replies to `reply`, if any.
    pub(super) fn on_control(
        &mut self,
        from: ConnId,
        subject_name: &[u8],
        reply: Option<&[u8]>,
        payload: &[u8],
    ) {
        let now = self.now;
        let answer = match ControlOp::from_name(&subject_name[PREFIX.len()..]) {
            Some(op) => self.control(op, payload, now),
            None => Err("unknown control subject (INJECT, CLEAR or LIST)".to_owned()),
        };
        let answer = answer.unwrap_or_else(|error| error_json(&error));
        let Some(reply) = reply.filter(|r| subject::is_valid_literal(r)) else {
            return;
        };
        let account = self.conn_mut(from).map_or(0, |c| c.account);
        self.answer(from, account, reply, Bytes::from(answer));
    }
}

/// `{"error":"..."}`: how every surface answers a failed control request.
pub fn error_json(error: &str) -> String {
    serde_json::json!({ "error": error }).to_string()
}

#[cfg(test)]
mod tests {
    use crate::testing::Harness;
    use crate::{CloseReason, Config};

    fn harness(control: bool) -> Harness {
        Harness::new(Config {
            fault_control: control,
            ..Config::default()
        })
    }

    /// A client with an inbox subscription on `_INBOX.1`.
    fn requester(h: &mut Harness) -> crate::ConnId {
        let c = h.connect().unwrap();
        h.send(c, b"CONNECT {\"verbose\":false}\r\nSUB _INBOX.1 99\r\n");
        h.take(c);
        c
    }

    fn request(h: &mut Harness, c: crate::ConnId, subject: &str, body: &str) -> String {
        let op = format!("PUB {subject} _INBOX.1 {}\r\n{body}\r\n", body.len());
        h.send(c, op.as_bytes());
        let got = h.take(c);
        let payload = got.split("\r\n").nth(1).unwrap_or_default().to_owned();
        assert!(got.starts_with("MSG _INBOX.1 99 "), "{got}");
        payload
    }

    #[test]
    fn inject_list_and_clear_over_nats() {
        let mut h = harness(true);
        let c = requester(&mut h);
        let reply = request(
            &mut h,
            c,
            "$SKIFF.FAULT.INJECT",
            r#"{"fault":"drop","subject":"x.>","count":2}"#,
        );
        assert_eq!(reply, r#"{"id":0}"#);
        let list = request(&mut h, c, "$SKIFF.FAULT.LIST", "");
        assert!(
            list.contains(r#""id":0"#) && list.contains(r#""remaining":2"#),
            "{list}"
        );
        assert_eq!(
            request(&mut h, c, "$SKIFF.FAULT.CLEAR", r#"{"id":0}"#),
            r#"{"ok":true}"#
        );
        assert_eq!(
            request(&mut h, c, "$SKIFF.FAULT.CLEAR", r#"{"id":0}"#),
            r#"{"error":"no active fault fault#0"}"#
        );
        assert_eq!(
            request(&mut h, c, "$SKIFF.FAULT.LIST", ""),
            r#"{"faults":[]}"#
        );
    }

    #[test]
    fn bad_requests_get_an_error_reply() {
        let mut h = harness(true);
        let c = requester(&mut h);
        for (body, error) in [
            (r#"{"fault":"explode"}"#, "unknown fault \\\"explode\\\""),
            (
                r#"{"fault":"drop","count":1}"#,
                "\\\"drop\\\" needs a \\\"subject\\\"",
            ),
            (
                r#"{"fault":"drop","subjct":"a","count":1}"#,
                "unknown field",
            ),
            (r#"{"fault":"close","name":"nobody"}"#, "no open connection"),
            ("not json", "bad fault: expected"),
        ] {
            let reply = request(&mut h, c, "$SKIFF.FAULT.INJECT", body);
            assert!(reply.starts_with(r#"{"error":""#), "{reply}");
            assert!(reply.contains(error), "{reply} lacks {error}");
        }
        assert_eq!(h.closed(c), None);
    }

    #[test]
    fn a_scripted_close_closes_the_named_client() {
        let mut h = harness(true);
        let c = requester(&mut h);
        let victim = h.connect().unwrap();
        h.send(
            victim,
            b"CONNECT {\"verbose\":false,\"name\":\"victim\"}\r\n",
        );
        let reply = request(
            &mut h,
            c,
            "$SKIFF.FAULT.INJECT",
            r#"{"fault":"close","name":"victim","err":"bye"}"#,
        );
        assert!(reply.starts_with(r#"{"id":"#), "{reply}");
        assert!(h.take(victim).ends_with("-ERR 'bye'\r\n"));
        assert_eq!(h.closed(victim), Some(CloseReason::FaultInjected));
    }

    #[test]
    fn without_fault_control_the_subjects_are_ordinary() {
        let mut h = harness(false);
        let c = requester(&mut h);
        h.send(c, b"SUB $SKIFF.FAULT.> 1\r\n");
        h.send(c, b"PUB $SKIFF.FAULT.INJECT 2\r\n{}\r\n");
        assert_eq!(h.take(c), "MSG $SKIFF.FAULT.INJECT 1 2\r\n{}\r\n");
        assert!(h.broker.faults().is_empty());
    }
}
