//! The client scenarios: Skiff plays the server, a fault makes it misbehave, and the wire tap
//! and the adapter's events show what the client did. Each scenario cites the statement of
//! the NATS protocol documentation or ADR it checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use skiff::{Fault, Server, ServerOptions};
use skiff_core::{Auth, Config, Permissions, Rules, User};

use super::adapter::{Adapter, AdapterSpec};
use super::tap::{Recording, Tap};
use super::wire::RawClient;
use connection::{
    answers_pings, connect_urls, lame_duck, publish_while_disconnected, reconnect_after,
    reconnect_after_refusals, stale_detection,
};
use messages::{
    connect_options, drain, max_payload, no_responders, permission_error, request_timeout,
    split_delivery,
};

mod connection;
mod messages;

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
                    ..Permissions::default()
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
