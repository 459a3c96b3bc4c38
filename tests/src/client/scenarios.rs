//! The client scenarios: Skiff plays the server, a fault makes it misbehave, and the wire tap
//! and the adapter's events show what the client did. Each scenario cites the statement of
//! the NATS protocol documentation or ADR it checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use skiff::{Fault, Lasting, Refusal, Server, ServerOptions, Target};
use skiff_core::{Auth, Config, Permissions, Rules, User};

use super::adapter::{Adapter, AdapterSpec};
use super::tap::{Recording, Tap};
use super::wire::{ClientOp, RawClient, subscribed_subjects};

/// How long the kit waits for a client to react.
const WAIT: Duration = Duration::from_secs(6);
/// The connection name every adapter gives its client.
const NAME: &str = "kit";

/// One scripted check of a client's behaviour.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its short name (a column of the matrix).
    pub name: &'static str,
    /// What it checks, in a sentence.
    pub checks: &'static str,
    /// The protocol statement it checks, and where it is written.
    pub cites: &'static str,
    /// Adjusts the server's configuration.
    configure: fn(&mut Config),
    /// Runs it: `Ok(reason)` if the client behaved, `Err(reason)` if not.
    run: fn(&mut Stage) -> Result<String, String>,
}

/// A scenario's verdict for one client.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The client.
    pub client: String,
    /// The scenario.
    pub scenario: &'static str,
    /// Whether the client behaved as the protocol says.
    pub passed: bool,
    /// Why (what was seen).
    pub reason: String,
    /// How long the scenario took.
    pub took: Duration,
}

/// What a scenario works with: a fresh embedded Skiff, the tap in front of it, and the client.
#[derive(Debug)]
pub struct Stage {
    server: Server,
    tap: Tap,
    client: Adapter,
}

impl Stage {
    fn recording(&self, index: usize) -> Option<Recording> {
        self.tap.recordings().into_iter().nth(index)
    }

    fn publisher(&self) -> Result<RawClient, String> {
        RawClient::connect(server_addr(&self.server)?)
    }

    fn inject(&self, fault: Fault) -> Result<(), String> {
        self.server
            .inject(fault)
            .map(|_| ())
            .map_err(|e| format!("kit: the fault was refused: {e}"))
    }

    /// Waits for the adapter to print `msg <subject> <reply> <header> <payload>`.
    fn expect_msg(&self, mark: usize, subject: &str, payload: &str) -> Result<String, String> {
        let prefix = format!("msg {subject} ");
        self.client
            .wait_for(mark, WAIT, |l| {
                l.starts_with(&prefix) && l.split(' ').nth(4) == Some(payload)
            })
            .map_err(|_| {
                format!(
                    "no message {payload:?} on {subject} reached the client ({})",
                    self.client.tail()
                )
            })
    }
}

fn server_addr(server: &Server) -> Result<SocketAddr, String> {
    server
        .local_addr()
        .ok_or_else(|| "kit: skiff is not listening".to_owned())
}

fn start_server(configure: fn(&mut Config)) -> Result<Server, String> {
    let mut config = Config::default();
    configure(&mut config);
    let mut options = ServerOptions::default();
    options.config = config;
    let server = Server::new(options).map_err(|e| format!("kit: skiff: {e}"))?;
    server.start().map_err(|e| format!("kit: skiff: {e}"))?;
    if !server.ready_for_connections(Duration::from_secs(5)) {
        return Err("kit: skiff did not become ready".into());
    }
    Ok(server)
}

/// Runs one scenario for one client.
pub fn run(scenario: &Scenario, spec: &AdapterSpec) -> Verdict {
    let started = Instant::now();
    let outcome = (|| {
        let server = start_server(scenario.configure)?;
        let tap = Tap::start(server_addr(&server)?).map_err(|e| format!("kit: tap: {e}"))?;
        let client = Adapter::start(spec, &tap.url(), WAIT)?;
        let mut stage = Stage {
            server,
            tap,
            client,
        };
        (scenario.run)(&mut stage)
    })();
    let (passed, reason) = match outcome {
        Ok(reason) => (true, reason),
        Err(reason) => (false, reason),
    };
    Verdict {
        client: spec.name.clone(),
        scenario: scenario.name,
        passed,
        reason,
        took: started.elapsed(),
    }
}

/// Every scenario, in the matrix's order.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "connect-options",
            checks: "CONNECT carries well-typed options (verbose/pedantic false, protocol 1, \
                     headers and no_responders true, echo on) and the client honours echo",
            cites: "Client protocol, CONNECT: \"verbose ... pedantic ... protocol ... echo ... \
                    headers ... no_responders: Enable quick replies for cases where a request \
                    is sent to a topic with no responders\" (docs.nats.io/reference/protocols/client)",
            configure: |_| {},
            run: connect_options,
        },
        Scenario {
            name: "answers-pings",
            checks: "every PING the server sends is answered with a PONG and the connection stays up",
            cites: "Client protocol, PING/PONG: \"the server will continuously send PING messages \
                    to the client at a configurable interval. If the client fails to respond \
                    with a PONG message within the configured response interval, the server \
                    will terminate its connection\" (docs.nats.io/reference/protocols/client)",
            configure: |c| {
                c.ping_interval = Duration::from_millis(200);
                c.ping_max = 2;
            },
            run: answers_pings,
        },
        Scenario {
            name: "reconnect-resubscribe",
            checks: "after the server drops the connection the client reconnects, resends \
                     every subscription and receives on them again",
            cites: "Connection lifecycle: \"It re-dials a server, replays the connect handshake, \
                    and re-sends every subscription it had\" (docs.nats.io/learn/core-nats/connection-lifecycle)",
            configure: |_| {},
            run: |stage| reconnect_after(stage, None),
        },
        Scenario {
            name: "stale-connection-err",
            checks: "`-ERR 'Stale Connection'` then a close: the client reconnects and resubscribes",
            cites: "Client protocol, -ERR: \"'Stale Connection': PING/PONG interval expired\" \
                    (the server closes the connection; docs.nats.io/reference/protocols/client)",
            configure: |_| {},
            run: |stage| reconnect_after(stage, Some("Stale Connection")),
        },
        Scenario {
            name: "reconnect-after-refusals",
            checks: "reconnect attempts refused with `-ERR 'maximum connections exceeded'` \
                     (twice) and `-ERR 'Authorization Violation'` (once) do not stop the \
                     client: it reconnects and resubscribes",
            cites: "Connection lifecycle: \"When the socket drops, the client reconnects for you \
                    rather than surfacing the failure and stopping\"; Client protocol, -ERR: \
                    'Authorization Violation' and 'maximum connections exceeded' close the \
                    connection (docs.nats.io/learn/core-nats/connection-lifecycle, \
                    docs.nats.io/reference/protocols/client)",
            configure: |_| {},
            run: reconnect_after_refusals,
        },
        Scenario {
            name: "publish-while-disconnected",
            checks: "a message published while the client is reconnecting is buffered and \
                     sent once it is connected again",
            cites: "Buffering messages during reconnect attempts: \"During a short reconnect, the \
                    client can allow applications to publish messages that ... will be cached in \
                    the client. The library will then send those messages once reconnected\" \
                    (docs.nats.io/using-nats/developer/connecting/reconnect/buffer)",
            configure: |_| {},
            run: publish_while_disconnected,
        },
        Scenario {
            name: "stale-detection",
            checks: "a server that stops answering PINGs is detected as stale by the client \
                     (ping interval 500 ms, 2 outstanding) which reconnects",
            cites: "Client development guide, ping/pong interval: clients send PINGs and, when \
                    the maximum of outstanding PINGs is reached without a PONG, consider the \
                    connection stale and reconnect (docs.nats.io/reference/reference-protocols/nats-client-dev)",
            configure: |_| {},
            run: stale_detection,
        },
        Scenario {
            name: "async-info-connect-urls",
            checks: "servers announced in an async INFO's connect_urls are used when the \
                     original server goes away",
            cites: "Client protocol, INFO: \"connect_urls: An optional list of server urls that \
                    a client can connect to\"; CONNECT protocol 1: \"the client supports dynamic \
                    reconfiguration of cluster topology changes by asynchronously receiving INFO \
                    messages with known servers it can reconnect to\" (docs.nats.io/reference/protocols/client)",
            configure: |_| {},
            run: connect_urls,
        },
        Scenario {
            name: "async-info-ldm",
            checks: "an async INFO with ldm: true is reported to the application and the \
                     connection keeps working",
            cites: "ADR-5 Lame Duck Notification: \"If the ldm property is set to true, the server \
                    has entered lame_duck_mode and the client should initiate an orderly \
                    self-disconnect or close\" (nats-architecture-and-design ADR-5)",
            configure: |_| {},
            run: lame_duck,
        },
        Scenario {
            name: "split-delivery",
            checks: "MSG, MSG with reply and HMSG arrive intact when the server writes them one \
                     byte at a time (a split at every byte boundary)",
            cites: "Client protocol, conventions: protocol messages are terminated by CR LF and \
                    the MSG/HMSG payload follows its control line; a TCP stream gives no message \
                    boundaries (docs.nats.io/reference/protocols/client, MSG and HMSG)",
            configure: |_| {},
            run: split_delivery,
        },
        Scenario {
            name: "max-payload",
            checks: "a publish larger than INFO's max_payload is refused by the client, not \
                     sent; one of exactly max_payload goes through",
            cites: "Client protocol, INFO: \"max_payload: Maximum payload size, in bytes, that \
                    the server will accept from the client\" (docs.nats.io/reference/protocols/client)",
            configure: |c| c.max_payload = 512,
            run: max_payload,
        },
        Scenario {
            name: "drain",
            checks: "drain unsubscribes, flushes every message published before it, then closes",
            cites: "Draining messages: \"1. Drain all subscriptions 2. Stop new messages from \
                    being published 3. Flush any remaining published messages 4. Close\" \
                    (docs.nats.io/developing-with-nats/receiving/drain)",
            configure: |_| {},
            run: drain,
        },
        Scenario {
            name: "permission-error-kept-open",
            checks: "`-ERR 'Permissions Violation for Publish ...'` is reported to the \
                     application as an error and the connection stays up (no reconnect)",
            cites: "Client protocol, -ERR: \"Some protocol errors result in the server closing \
                    the connection ... 'Permissions Violation for Publish to <subject>' ... \
                    [does not close the connection]\" (docs.nats.io/reference/protocols/client)",
            configure: |c| {
                let mut user = User::new(NAME, "unused");
                user.permissions = Some(Permissions {
                    publish: Rules {
                        allow: None,
                        deny: vec!["kit.denied".into()],
                    },
                    subscribe: Rules::default(),
                });
                c.auth = Auth::Users(vec![user]);
                c.no_auth_user = Some(NAME.into());
            },
            run: permission_error,
        },
        Scenario {
            name: "request-timeout",
            checks: "a request that a subscriber receives but never answers ends in a timeout \
                     (not no-responders) after the requested time",
            cites: "Client protocol, CONNECT no_responders: the quick 503 reply is for a request \
                    sent to a subject with no responders; with a responder the requester waits \
                    for the reply or its own timeout (docs.nats.io/reference/protocols/client; \
                    docs.nats.io/nats-concepts/core-nats/reqreply)",
            configure: |_| {},
            run: request_timeout,
        },
        Scenario {
            name: "no-responders",
            checks: "a request to a subject nobody listens on fails fast with no-responders",
            cites: "Client protocol, CONNECT: \"no_responders: Enable quick replies for cases \
                    where a request is sent to a topic with no responders\"; ADR-2: a 503 status \
                    HMSG answers such a request (docs.nats.io/reference/protocols/client)",
            configure: |_| {},
            run: no_responders,
        },
    ]
}

fn first_connect(stage: &Stage, index: usize) -> Result<serde_json::Value, String> {
    let found = stage.tap.wait_until(WAIT, |recs| {
        recs.get(index).is_some_and(|r| {
            r.client_ops()
                .iter()
                .any(|op| matches!(op, ClientOp::Connect(_)))
        })
    });
    if !found {
        return Err(format!("connection {index} sent no CONNECT"));
    }
    let rec = stage.recording(index).expect("recorded");
    rec.client_ops()
        .into_iter()
        .find_map(|op| match op {
            ClientOp::Connect(json) => Some(json),
            _ => None,
        })
        .ok_or_else(|| "no CONNECT".into())
}

fn connect_options(stage: &mut Stage) -> Result<String, String> {
    let connect = first_connect(stage, 0)?;
    let field = |name: &str| {
        connect
            .get(name)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let mut wrong = Vec::new();
    for (name, expected) in [
        ("verbose", false),
        ("pedantic", false),
        ("headers", true),
        ("no_responders", true),
    ] {
        if field(name) != serde_json::Value::Bool(expected) {
            wrong.push(format!("{name} is {} (want {expected})", field(name)));
        }
    }
    if field("protocol") != serde_json::json!(1) {
        wrong.push(format!("protocol is {} (want 1)", field("protocol")));
    }
    if !matches!(
        field("echo"),
        serde_json::Value::Null | serde_json::Value::Bool(true)
    ) {
        wrong.push(format!("echo is {} (want true or absent)", field("echo")));
    }
    for name in ["lang", "version"] {
        if field(name).as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{name} is {} (want a string)", field(name)));
        }
    }
    if !wrong.is_empty() {
        return Err(format!("CONNECT {connect}: {}", wrong.join("; ")));
    }
    stage.client.command("sub kit.echo", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.client.command("pub kit.echo mine", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage
        .expect_msg(mark, "kit.echo", "mine")
        .map_err(|e| format!("echo advertised but {e}"))?;
    Ok(format!(
        "CONNECT verbose/pedantic false, protocol 1, headers and no_responders true, echo {}, lang {}; own message echoed",
        field("echo"),
        field("lang")
    ))
}

fn count_server_pings(rec: &Recording) -> usize {
    rec.from_server
        .split(|&b| b == b'\n')
        .filter(|line| line == b"PING\r")
        .count()
}

fn answers_pings(stage: &mut Stage) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(1500));
    let rec = stage.recording(0).ok_or("no connection")?;
    let pings = count_server_pings(&rec);
    let pongs = rec
        .client_ops()
        .iter()
        .filter(|op| matches!(op, ClientOp::Pong))
        .count();
    if rec.closed || stage.tap.recordings().len() > 1 {
        return Err(format!(
            "the connection was closed after {pings} server PINGs and {pongs} PONGs"
        ));
    }
    if pings < 2 {
        return Err(format!("kit: the server sent only {pings} PINGs"));
    }
    if pongs + 1 < pings {
        return Err(format!("{pings} server PINGs but only {pongs} PONGs"));
    }
    Ok(format!(
        "{pings} server PINGs in 1.5 s, {pongs} PONGs, connection up"
    ))
}

/// Subscribes to two subjects, has the connection closed (after `-ERR '<err>'` if given),
/// and checks the client reconnects, resends both SUBs and receives on them.
fn reconnect_after(stage: &mut Stage, err: Option<&str>) -> Result<String, String> {
    let subjects = ["kit.a.>", "kit.b"];
    for subject in subjects {
        stage.client.command(&format!("sub {subject}"), WAIT)?;
    }
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: err.map(str::to_owned),
    })?;
    let what = err.map_or("a plain close".to_owned(), |e| format!("-ERR '{e}'"));
    expect_resubscribed(stage, 1, &subjects, &what)?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "reconnected")
        .map_err(|_| format!("resubscribed after {what} but no reconnected event"))?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.a.x", b"after-a")?;
    publisher.publish("kit.b", b"after-b")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.a.x", "after-a")?;
    stage.expect_msg(mark, "kit.b", "after-b")?;
    Ok(format!(
        "after {what}: reconnected, resent SUB {} and received on both",
        subjects.join(", ")
    ))
}

/// Waits for a connection at or after `index` (in accept order) to subscribe to every subject
/// in `subjects`.
fn expect_resubscribed(
    stage: &Stage,
    index: usize,
    subjects: &[&str],
    after: &str,
) -> Result<(), String> {
    let ok = stage.tap.wait_until(WAIT, |recs| {
        recs.iter().skip(index).any(|r| {
            let subs = subscribed_subjects(&r.client_ops());
            subjects.iter().all(|s| subs.iter().any(|x| x == s))
        })
    });
    if ok {
        return Ok(());
    }
    let recs = stage.tap.recordings();
    match recs.last().filter(|_| recs.len() > index) {
        None => Err(format!(
            "no new connection within {WAIT:?} after {after} (connections seen: {}; {})",
            recs.len(),
            stage.client.tail()
        )),
        Some(r) => Err(format!(
            "reconnected after {after} but subscribed only to {:?}",
            subscribed_subjects(&r.client_ops())
        )),
    }
}

fn stale_detection(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.stale", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let cid = stage
        .recording(0)
        .and_then(|r| r.client_id())
        .ok_or("kit: no client_id in INFO")?;
    let mark = stage.client.mark();
    let started = Instant::now();
    stage.inject(Fault::IgnorePings {
        target: Target::Cid(cid),
        lasting: Lasting::UntilCleared,
    })?;
    expect_resubscribed(
        stage,
        1,
        &["kit.stale"],
        "the server stopped answering PINGs",
    )?;
    let took = started.elapsed();
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.stale", b"fresh")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.stale", "fresh")?;
    Ok(format!(
        "detected the stale server and reconnected after {} ms, resubscribed",
        took.as_millis()
    ))
}

fn connect_urls(stage: &mut Stage) -> Result<String, String> {
    let other = start_server(|_| {})?;
    let other_tap = Tap::start(server_addr(&other)?).map_err(|e| format!("kit: tap: {e}"))?;
    stage.client.command("sub kit.moved", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.inject(Fault::AsyncInfo {
        target: Target::Name(NAME.into()),
        connect_urls: vec![other_tap.addr().to_string()],
        lame_duck: false,
    })?;
    // A round trip: the INFO (sent before the PONG) has been read.
    stage.client.command("flush", WAIT)?;
    stage.tap.stop_listening();
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    let moved = other_tap.wait_until(WAIT, |recs| {
        recs.iter().any(|r| {
            subscribed_subjects(&r.client_ops())
                .iter()
                .any(|s| s == "kit.moved")
        })
    });
    if !moved {
        return Err(format!(
            "the original server went away but the client never connected (and resubscribed) \
             to the announced {} ({})",
            other_tap.addr(),
            stage.client.tail()
        ));
    }
    let mut publisher = RawClient::connect(server_addr(&other)?)?;
    publisher.publish("kit.moved", b"there")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.moved", "there")?;
    Ok("moved to the server announced in connect_urls, resubscribed and received there".into())
}

fn lame_duck(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.ldm", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::AsyncInfo {
        target: Target::Name(NAME.into()),
        connect_urls: Vec::new(),
        lame_duck: true,
    })?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "lame_duck")
        .map_err(|_| {
            format!(
                "no lame duck notification reached the application ({})",
                stage.client.tail()
            )
        })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.ldm", b"still")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.ldm", "still")?;
    if stage.tap.recordings().len() > 1 {
        return Err("reported lame duck mode but also dropped the connection".into());
    }
    Ok("lame duck mode reported to the application; connection still delivers".into())
}

fn split_delivery(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.split", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::SplitWrites {
        target: Target::Name(NAME.into()),
        chunk: 1,
        delay: Duration::from_millis(2),
        lasting: Lasting::UntilCleared,
    })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.split", b"first")?;
    publisher.send(b"PUB kit.split kit.reply 6\r\nsecond\r\n")?;
    publisher.publish_with_header("kit.split", "v3", b"third")?;
    publisher.publish("kit.split", b"")?;
    publisher.publish("kit.split", b"fifth")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.split", "first")?;
    let second = stage.expect_msg(mark, "kit.split", "second")?;
    if second.split(' ').nth(2) != Some("kit.reply") {
        return Err(format!("the reply subject was lost: {second}"));
    }
    let third = stage.expect_msg(mark, "kit.split", "third")?;
    if third.split(' ').nth(3) != Some("v3") {
        return Err(format!("the header X-Kit: v3 was lost: {third}"));
    }
    stage.expect_msg(mark, "kit.split", "fifth")?;
    let got: Vec<String> = stage
        .client
        .lines_since(mark)
        .into_iter()
        .filter(|l| l.starts_with("msg kit.split "))
        .collect();
    if got.len() != 5 {
        return Err(format!("expected 5 messages, got {}: {got:?}", got.len()));
    }
    Ok("MSG, MSG with reply, HMSG and an empty MSG intact from 1-byte writes".into())
}

fn max_payload(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.fits", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    let refusal = stage.client.command("pubsize kit.big 513", WAIT).err();
    stage.client.command("pubsize kit.fits 512", WAIT)?;
    let flushed = stage.client.command("flush", WAIT);
    let rec = stage.recording(0).ok_or("no connection")?;
    let sent_big = rec
        .client_ops()
        .iter()
        .any(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.big"));
    if sent_big {
        return Err(format!(
            "sent a 513-byte PUB past max_payload 512 (the server closed it: {})",
            if rec.closed { "yes" } else { "no" }
        ));
    }
    let Some(refusal) = refusal else {
        return Err("accepted the 513-byte publish without an error (and did not send it)".into());
    };
    flushed?;
    stage.expect_msg(mark, "kit.fits", &"x".repeat(512))?;
    Ok(format!(
        "513 bytes refused locally ({}); 512 bytes delivered",
        refusal.trim_start_matches("err pubsize ")
    ))
}

fn drain(stage: &mut Stage) -> Result<String, String> {
    const COUNT: usize = 200;
    stage.client.command("sub kit.drain.in", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.client.send(&format!("burst kit.drain.out {COUNT}"))?;
    stage.client.command("drain", Duration::from_secs(10))?;
    let closed = stage
        .tap
        .wait_until(WAIT, |recs| recs.first().is_some_and(|r| r.closed));
    let rec = stage.recording(0).ok_or("no connection")?;
    let ops = rec.client_ops();
    let published = ops
        .iter()
        .filter(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.drain.out"))
        .count();
    let unsubscribed = subscribed_subjects(&ops).is_empty();
    match (published == COUNT, unsubscribed, closed) {
        (true, true, true) => Ok(format!(
            "all {COUNT} messages published before drain were flushed, UNSUB sent, then closed"
        )),
        _ => Err(format!(
            "{published} of {COUNT} messages reached the server, UNSUB {}, connection {}",
            if unsubscribed { "sent" } else { "missing" },
            if closed { "closed" } else { "still open" }
        )),
    }
}

fn no_responders(stage: &mut Stage) -> Result<String, String> {
    let started = Instant::now();
    let answer = stage.client.command("request kit.nobody hi 4000", WAIT);
    let took = started.elapsed();
    match answer {
        Err(e) if e.starts_with("err request no_responders") && took < Duration::from_secs(3) => {
            Ok(format!(
                "failed with no-responders after {} ms",
                took.as_millis()
            ))
        }
        Err(e) => Err(format!("after {} ms: {e}", took.as_millis())),
        Ok(line) => Err(format!("the request succeeded: {line}")),
    }
}

fn reconnect_after_refusals(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.refused", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.inject(Fault::RefuseConnects {
        count: 2,
        refusal: Refusal::MaxConnections,
    })?;
    stage.inject(Fault::RefuseConnects {
        count: 1,
        refusal: Refusal::Authorization,
    })?;
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    // Connections 1..=3 are the refused attempts; the fourth must succeed.
    expect_resubscribed(stage, 4, &["kit.refused"], "three refused reconnects")?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.refused", b"back")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.refused", "back")?;
    Ok(
        "kept reconnecting through 2 max-connections and 1 authorization refusals, \
        resubscribed"
            .into(),
    )
}

fn publish_while_disconnected(stage: &mut Stage) -> Result<String, String> {
    let mut subscriber = stage.publisher()?;
    subscriber.subscribe("kit.buffered")?;
    stage.client.command("flush", WAIT)?;
    stage.tap.stop_listening();
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "disconnected")
        .map_err(|_| "no disconnected event after the server closed the connection".to_owned())?;
    stage
        .client
        .command("pub kit.buffered kept", WAIT)
        .map_err(|e| format!("publishing while disconnected failed: {e}"))?;
    stage
        .tap
        .resume_listening()
        .map_err(|e| format!("kit: tap: {e}"))?;
    subscriber.expect_payload(b"kept").map_err(|e| {
        let later: Vec<String> = stage
            .tap
            .recordings()
            .iter()
            .skip(1)
            .map(|r| {
                let ops = r.client_ops();
                let pubs = ops
                    .iter()
                    .filter(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.buffered"))
                    .count();
                format!("{} ops, {pubs} PUB kit.buffered", ops.len())
            })
            .collect();
        format!(
            "{e}: new connections sent [{}] ({})",
            later.join("; "),
            stage.client.tail()
        )
    })?;
    Ok("the message published while disconnected was sent after the reconnect".into())
}

fn permission_error(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.allowed", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.client.command("pub kit.denied x", WAIT)?;
    let _ = stage.client.command("flush", WAIT);
    let error = stage
        .client
        .wait_for(mark, WAIT, |l| {
            l.starts_with("error") && l.to_ascii_lowercase().contains("permissions violation")
        })
        .map_err(|_| {
            format!(
                "the permissions violation was not reported to the application ({})",
                stage.client.tail()
            )
        })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.allowed", b"still")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.allowed", "still")?;
    if stage.tap.recordings().len() > 1 {
        return Err(format!(
            "reported it ({error}) but also reconnected, although the server kept the connection"
        ));
    }
    Ok(format!(
        "reported as `{error}`; same connection still delivers"
    ))
}

fn request_timeout(stage: &mut Stage) -> Result<String, String> {
    // A silent responder: it receives the request and never answers.
    let mut silent = stage.publisher()?;
    silent.subscribe("kit.silent")?;
    let started = Instant::now();
    let answer = stage.client.command("request kit.silent hi 500", WAIT);
    let took = started.elapsed();
    match answer {
        Err(e) if e.starts_with("err request timeout") && took >= Duration::from_millis(450) => Ok(
            format!("timed out after {} ms (asked for 500)", took.as_millis()),
        ),
        Err(e) => Err(format!("after {} ms: {e}", took.as_millis())),
        Ok(line) => Err(format!("the request succeeded: {line}")),
    }
}
