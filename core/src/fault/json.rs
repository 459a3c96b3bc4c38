//! Faults as JSON, for the control surfaces (NATS requests, a browser host's JS API): one
//! flat object per fault, checked into a [`Fault`].
//!
//! A fault names its kind in `"fault"`; the connections it targets by `"cid"` or `"name"`
//! (neither: every connection); durations are milliseconds (`"for_ms"`: how long it lasts,
//! absent: until cleared; `"by_ms"`, `"delay_ms"`):
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

use std::time::Duration;

use serde::Deserialize;

use super::{Fault, FaultError, FaultInfo, Lasting, Refusal, Target};

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

impl Fault {
    /// Reads a fault from its JSON form (see the module documentation of `fault::json`).
    ///
    /// # Errors
    /// [`FaultError::Json`] naming what is wrong: bad JSON, an unknown kind or field, a
    /// missing field.
    pub fn from_json(json: &[u8]) -> Result<Self, FaultError> {
        serde_json::from_slice::<Spec>(json)
            .map_err(|e| e.to_string())
            .and_then(Spec::into_fault)
            .map_err(FaultError::Json)
    }
}

impl FaultInfo {
    /// This active fault as a JSON object: `id`, `fault` (its description), `since_ms`,
    /// `until_ms`, `remaining`, `held` (instants in milliseconds of the broker's clock).
    pub fn to_json(&self) -> serde_json::Value {
        describe(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_example_parses() {
        let cases: [(&str, Fault); 10] = [
            (
                r#"{"fault":"close","name":"worker","err":"Stale Connection"}"#,
                Fault::Close {
                    target: Target::Name("worker".into()),
                    err: Some("Stale Connection".into()),
                },
            ),
            (
                r#"{"fault":"close_next_subscriber","subject":"orders.>"}"#,
                Fault::CloseNextSubscriber {
                    subject: "orders.>".into(),
                    err: None,
                },
            ),
            (
                r#"{"fault":"ignore_pings","cid":7,"for_ms":5000}"#,
                Fault::IgnorePings {
                    target: Target::Cid(7),
                    lasting: Lasting::For(Duration::from_secs(5)),
                },
            ),
            (
                r#"{"fault":"withhold","subject":"events.*","for_ms":2000}"#,
                Fault::Withhold {
                    subject: "events.*".into(),
                    lasting: Lasting::For(Duration::from_secs(2)),
                },
            ),
            (
                r#"{"fault":"delay","subject":"events.*","by_ms":300}"#,
                Fault::Delay {
                    subject: "events.*".into(),
                    by: Duration::from_millis(300),
                    lasting: Lasting::UntilCleared,
                },
            ),
            (
                r#"{"fault":"drop","subject":"orders.new","count":3}"#,
                Fault::Drop {
                    subject: "orders.new".into(),
                    count: 3,
                },
            ),
            (
                r#"{"fault":"split_writes","name":"worker","chunk":1,"delay_ms":5}"#,
                Fault::SplitWrites {
                    target: Target::Name("worker".into()),
                    chunk: 1,
                    delay: Duration::from_millis(5),
                    lasting: Lasting::UntilCleared,
                },
            ),
            (
                r#"{"fault":"async_info","connect_urls":["127.0.0.1:4223"],"ldm":true}"#,
                Fault::AsyncInfo {
                    target: Target::All,
                    connect_urls: vec!["127.0.0.1:4223".into()],
                    lame_duck: true,
                },
            ),
            (
                r#"{"fault":"refuse_connects","count":2,"refusal":"authorization"}"#,
                Fault::RefuseConnects {
                    count: 2,
                    refusal: Refusal::Authorization,
                },
            ),
            (
                r#"{"fault":"pause_reading","name":"publisher","for_ms":1000}"#,
                Fault::PauseReading {
                    target: Target::Name("publisher".into()),
                    lasting: Lasting::For(Duration::from_secs(1)),
                },
            ),
        ];
        for (json, fault) in cases {
            assert_eq!(Fault::from_json(json.as_bytes()), Ok(fault), "{json}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        for (json, says) in [
            (r#"{"fault":"explode"}"#, "unknown fault \"explode\""),
            (
                r#"{"fault":"drop","count":1}"#,
                "\"drop\" needs a \"subject\"",
            ),
            (
                r#"{"fault":"drop","subject":"a"}"#,
                "\"drop\" needs a \"count\"",
            ),
            (r#"{"fault":"close","cid":1,"name":"x"}"#, "not both"),
            (r#"{"fault":"close","nmae":"x"}"#, "unknown field `nmae`"),
            (
                r#"{"fault":"refuse_connects","count":1,"refusal":"tls"}"#,
                "unknown refusal",
            ),
            (r#"{"fault":"delay","subject":"a"}"#, "needs \"by_ms\""),
            (r#"{"name":"x"}"#, "missing field `fault`"),
        ] {
            let error = Fault::from_json(json.as_bytes()).unwrap_err().to_string();
            assert!(
                error.starts_with("bad fault: ") && error.contains(says),
                "{json}: {error}"
            );
        }
    }
}
