//! The fault control surface: NATS requests on `$SKIFF.FAULT.>` that inject, clear and list
//! faults, so any NATS client can script them. Off unless [`Config::fault_control`] is set
//! (the daemon's `--control`); then a PUB to one of these subjects is answered by the broker
//! and reaches no subscriber.
//!
//! | subject                | payload                      | reply                          |
//! |------------------------|------------------------------|--------------------------------|
//! | `$SKIFF.FAULT.INJECT`  | a fault, as JSON (below)     | `{"id":N}`                     |
//! | `$SKIFF.FAULT.CLEAR`   | `{"id":N}`                   | `{"ok":true}`                  |
//! | `$SKIFF.FAULT.LIST`    | (ignored)                    | `{"faults":[{...}]}`           |
//!
//! Every failure replies `{"error":"..."}`. A fault names its kind in `"fault"`; the
//! connections it targets by `"cid"` or `"name"` (neither: every connection); durations are
//! milliseconds (`"for_ms"`: how long it lasts, absent: until cleared; `"by_ms"`,
//! `"delay_ms"`). For example:
//!
//! ```text
//! {"fault":"close","name":"worker","err":"Stale Connection"}
//! {"fault":"close_next_subscriber","subject":"orders.>"}
//! {"fault":"ignore_pings","cid":7,"for_ms":5000}
//! {"fault":"withhold","subject":"events.*","for_ms":2000}
//! {"fault":"delay","subject":"events.*","by_ms":300}
//! {"fault":"drop","subject":"orders.new","count":3}
//! {"fault":"split_writes","name":"worker","chunk":1,"delay_ms":5}
//! {"fault":"async_info","connect_urls":["127.0.0.1:4223"],"ldm":true}
//! {"fault":"refuse_connects","count":2,"refusal":"authorization"}
//! {"fault":"pause_reading","name":"publisher","for_ms":1000}
//! ```
//!
//! [`Config::fault_control`]: crate::Config::fault_control

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use super::{Broker, Message};
use crate::fault::{Fault, FaultId, FaultInfo, Lasting, Refusal, Target};
use crate::{ConnId, subject};

/// The subjects of the control surface start with this.
pub(crate) const PREFIX: &[u8] = b"$SKIFF.FAULT.";

/// A fault as the control surface receives it: one flat object, checked into a [`Fault`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    fault: String,
    cid: Option<u64>,
    name: Option<String>,
    subject: Option<String>,
    err: Option<String>,
    for_ms: Option<u64>,
    by_ms: Option<u64>,
    delay_ms: Option<u64>,
    count: Option<u64>,
    chunk: Option<usize>,
    connect_urls: Option<Vec<String>>,
    ldm: Option<bool>,
    refusal: Option<String>,
}

/// `{"id":N}` for `$SKIFF.FAULT.CLEAR`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearSpec {
    id: u64,
}

impl Spec {
    fn into_fault(self) -> Result<Fault, String> {
        let target = match (self.cid, self.name.clone()) {
            (Some(_), Some(_)) => return Err("give \"cid\" or \"name\", not both".into()),
            (Some(cid), None) => Target::Cid(cid),
            (None, Some(name)) => Target::Name(name),
            (None, None) => Target::All,
        };
        let lasting = match self.for_ms {
            Some(ms) => Lasting::For(Duration::from_millis(ms)),
            None => Lasting::UntilCleared,
        };
        let subject = || {
            self.subject
                .clone()
                .ok_or_else(|| format!("\"{}\" needs a \"subject\"", self.fault))
        };
        let count = || {
            self.count
                .ok_or_else(|| format!("\"{}\" needs a \"count\"", self.fault))
        };
        Ok(match self.fault.as_str() {
            "close" => Fault::Close {
                target,
                err: self.err.clone(),
            },
            "close_next_subscriber" => Fault::CloseNextSubscriber {
                subject: subject()?,
                err: self.err.clone(),
            },
            "ignore_pings" => Fault::IgnorePings { target, lasting },
            "withhold" => Fault::Withhold {
                subject: subject()?,
                lasting,
            },
            "delay" => Fault::Delay {
                subject: subject()?,
                by: Duration::from_millis(self.by_ms.ok_or("\"delay\" needs \"by_ms\"")?),
                lasting,
            },
            "drop" => Fault::Drop {
                subject: subject()?,
                count: count()?,
            },
            "split_writes" => Fault::SplitWrites {
                target,
                chunk: self.chunk.ok_or("\"split_writes\" needs a \"chunk\"")?,
                delay: Duration::from_millis(self.delay_ms.unwrap_or(0)),
                lasting,
            },
            "async_info" => Fault::AsyncInfo {
                target,
                connect_urls: self.connect_urls.clone().unwrap_or_default(),
                lame_duck: self.ldm.unwrap_or(false),
            },
            "refuse_connects" => Fault::RefuseConnects {
                count: count()?,
                refusal: match self.refusal.as_deref() {
                    Some("authorization") | None => Refusal::Authorization,
                    Some("max_connections") => Refusal::MaxConnections,
                    Some(other) => {
                        return Err(format!(
                            "unknown refusal \"{other}\" (authorization or max_connections)"
                        ));
                    }
                },
            },
            "pause_reading" => Fault::PauseReading { target, lasting },
            other => return Err(format!("unknown fault \"{other}\"")),
        })
    }
}

/// One active fault as `$SKIFF.FAULT.LIST` shows it.
fn describe(info: &FaultInfo) -> serde_json::Value {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    serde_json::json!({
        "id": info.id.0,
        "fault": format!("{:?}", info.fault),
        "since_ms": ms(info.since.since_epoch()),
        "until_ms": info.until.map(|u| ms(u.since_epoch())),
        "remaining": info.remaining,
        "held": info.held,
    })
}

impl Broker {
    /// A PUB from `from` to a control subject: performs it and replies to `reply`, if any.
    pub(super) fn on_control(
        &mut self,
        from: ConnId,
        subject_name: &[u8],
        reply: Option<&[u8]>,
        payload: &[u8],
    ) {
        let now = self.now;
        let answer = match &subject_name[PREFIX.len()..] {
            b"INJECT" => serde_json::from_slice::<Spec>(payload)
                .map_err(|e| format!("bad fault: {e}"))
                .and_then(Spec::into_fault)
                .and_then(|fault| self.inject(fault, now).map_err(|e| e.to_string()))
                .map(|id| serde_json::json!({ "id": id.0 })),
            b"CLEAR" => serde_json::from_slice::<ClearSpec>(payload)
                .map_err(|e| format!("bad request: {e}"))
                .and_then(|c| self.clear(FaultId(c.id), now).map_err(|e| e.to_string()))
                .map(|()| serde_json::json!({ "ok": true })),
            b"LIST" => {
                let faults: Vec<_> = self.faults().iter().map(describe).collect();
                Ok(serde_json::json!({ "faults": faults }))
            }
            _ => Err("unknown control subject (INJECT, CLEAR or LIST)".to_owned()),
        };
        let answer = answer.unwrap_or_else(|error| serde_json::json!({ "error": error }));
        let Some(reply) = reply.filter(|r| subject::is_valid_literal(r)) else {
            return;
        };
        let body = Bytes::from(answer.to_string());
        let matches = self.sublist.matches(reply);
        let msg = Message {
            subject: reply,
            reply: None,
            header_len: 0,
            message: &body,
        };
        self.deliver(from, true, &matches, &msg);
    }
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
            ("not json", "bad fault"),
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
