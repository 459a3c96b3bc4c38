//! Broker behaviour through the deterministic harness.

use std::time::Duration;

use crate::proto::ParseError;
use crate::testing::Harness;
use crate::{Auth, CloseReason, Config, ConnId, Phase, User};

fn quiet() -> &'static [u8] {
    b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"
}

/// A connection whose INFO has been read.
fn connected(h: &mut Harness) -> ConnId {
    let conn = h.connect().expect("accepting");
    h.take(conn);
    conn
}

fn harness() -> Harness {
    Harness::new(Config::default())
}

#[test]
fn info_first_then_verbose_acks_in_order() {
    let mut h = harness();
    let c = h.connect().unwrap();
    let info = h.take(c);
    assert!(info.starts_with("INFO {\"server_id\":\"N"), "{info}");
    assert!(info.ends_with("} \r\n"));
    h.send(c, b"CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n");
    assert_eq!(
        h.take(c),
        "+OK\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\nPONG\r\n".replacen(
            "+OK\r\nPONG",
            "PONG",
            1
        )
    );
}

#[test]
fn no_connect_defaults_to_verbose() {
    let mut h = harness();
    let c = connected(&mut h);
    h.send(c, b"SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
    assert_eq!(h.take(c), "+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n");
}

#[test]
fn split_input_at_every_byte_gives_same_output() {
    let mut h = harness();
    let c = connected(&mut h);
    h.send_bytewise(c, b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nHPUB foo 0 5\r\nhello\r\nPUB foo 3\r\nabc\r\n");
    assert_eq!(h.take(c), "MSG foo 1 5\r\nhello\r\nMSG foo 1 3\r\nabc\r\n");
}

#[test]
fn echo_false_skips_own_subscriptions() {
    let mut h = harness();
    let a = h.connect().unwrap();
    h.send(
        a,
        b"CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n",
    );
    assert_eq!(h.take_no_info(a), "PONG\r\n");
}

#[test]
fn queue_group_delivers_each_message_to_one_member() {
    let mut h = harness();
    let subs: Vec<_> = (0..3)
        .map(|_| {
            let c = h.connect().unwrap();
            h.send(c, quiet());
            h.send(c, b"SUB foo g 1\r\n");
            c
        })
        .collect();
    let plain = h.connect().unwrap();
    h.send(plain, quiet());
    h.send(plain, b"SUB foo 9\r\n");
    let p = h.connect().unwrap();
    h.send(p, quiet());
    for _ in 0..300 {
        h.send(p, b"PUB foo 1\r\nx\r\n");
    }
    let counts: Vec<usize> = subs
        .iter()
        .map(|&c| h.take_no_info(c).matches("MSG").count())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 300, "{counts:?}");
    assert!(counts.iter().all(|&n| n > 50), "spread: {counts:?}");
    assert_eq!(h.take_no_info(plain).matches("MSG").count(), 300);
}

#[test]
fn unsub_max_and_duplicate_sid() {
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.send(c, b"SUB foo 1\r\nSUB bar 1\r\nUNSUB 1 2\r\n");
    for _ in 0..3 {
        h.send(c, b"PUB foo 1\r\nx\r\nPUB bar 1\r\ny\r\n");
    }
    assert_eq!(
        h.take_no_info(c),
        "MSG foo 1 1\r\nx\r\nMSG foo 1 1\r\nx\r\n"
    );
    h.send(
        c,
        b"SUB baz 2\r\nUNSUB 2 0\r\nPUB baz 0\r\n\r\nUNSUB 77\r\nPING\r\n",
    );
    assert_eq!(h.take_no_info(c), "PONG\r\n");
    assert_eq!(h.broker.stats().subscriptions, 0);
}

#[test]
fn headers_delivered_as_hmsg_or_stripped() {
    let mut h = harness();
    let with = h.connect().unwrap();
    h.send(
        with,
        b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\n",
    );
    let without = h.connect().unwrap();
    h.send(without, quiet());
    h.send(without, b"SUB foo 2\r\n");
    h.send(with, b"HPUB foo 12 14\r\nName:Derek\r\nOK\r\n");
    assert_eq!(
        h.take_no_info(with),
        "HMSG foo 1 12 14\r\nName:Derek\r\nOK\r\n"
    );
    assert_eq!(h.take_no_info(without), "MSG foo 2 2\r\nOK\r\n");
    // HPUB without negotiated headers closes silently.
    h.send(without, b"HPUB foo 12 14\r\nName:Derek\r\nOK\r\n");
    assert_eq!(h.take_no_info(without), "");
    assert_eq!(
        h.closed(without),
        Some(CloseReason::Protocol(ParseError::BadArguments))
    );
}

#[test]
fn no_responders_503_with_subject() {
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(
        c,
        b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n",
    );
    h.send(c, b"SUB r 9\r\nPUB x r 0\r\n\r\nPUB y 0\r\n\r\nPING\r\n");
    assert_eq!(
        h.take_no_info(c),
        "HMSG r 9 33 33\r\nNATS/1.0 503\r\nNats-Subject: x\r\n\r\n\r\nPONG\r\n"
    );
}

#[test]
fn connect_errors_close_with_exact_texts() {
    let cases: [(&[u8], &str, CloseReason); 4] = [
        (
            b"CONNECT {\"protocol\":2}\r\n",
            "-ERR 'invalid client protocol'\r\n",
            CloseReason::BadClientProtocol,
        ),
        (
            b"CONNECT {\"no_responders\":true}\r\n",
            "-ERR 'no responders requires headers support'\r\n",
            CloseReason::NoRespondersRequiresHeaders,
        ),
        (b"CONNECT {bad\r\n", "", CloseReason::ProtocolViolation),
        (
            b"FOO bar\r\n",
            "-ERR 'Unknown Protocol Operation'\r\n",
            CloseReason::Protocol(ParseError::UnknownOp),
        ),
    ];
    for (input, wire, reason) in cases {
        let mut h = harness();
        let c = connected(&mut h);
        h.send(c, input);
        assert_eq!(h.take(c), wire);
        assert_eq!(h.closed(c), Some(reason));
        assert_eq!(h.conns[&c].closes, 1);
    }
}

#[test]
fn invalid_subjects_keep_connection_open() {
    let mut h = harness();
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"verbose\":false}\r\nSUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB foo.* 3\r\nPUB foo.* 2\r\nhi\r\n");
    assert_eq!(
        h.take(c),
        "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\n-ERR 'Invalid Publish Subject'\r\nMSG foo.* 3 2\r\nhi\r\n"
    );
    assert_eq!(h.closed(c), None);
}

#[test]
fn max_payload_and_control_line() {
    let config = Config {
        max_payload: 10,
        max_control_line: 32,
        ..Config::default()
    };
    let mut h = Harness::new(config.clone());
    let c = connected(&mut h);
    h.send(c, b"PUB foo 11\r\n");
    assert_eq!(h.take(c), "-ERR 'Maximum Payload Violation'\r\n");
    assert_eq!(
        h.closed(c),
        Some(CloseReason::Protocol(ParseError::MaxPayload))
    );

    let mut h = Harness::new(config);
    let c = connected(&mut h);
    h.send(
        c,
        b"SUB aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    );
    assert_eq!(h.take(c), "-ERR 'maximum control line exceeded'\r\n");
}

#[test]
fn max_connections_sends_info_then_error() {
    let mut h = Harness::new(Config {
        max_connections: 1,
        ..Config::default()
    });
    let a = h.connect().unwrap();
    let b = h.connect().unwrap();
    let wire = h.take(b);
    assert!(wire.starts_with("INFO "));
    assert!(wire.ends_with(" \r\n-ERR 'maximum connections exceeded'\r\n"));
    assert_eq!(h.closed(b), Some(CloseReason::MaxConnectionsExceeded));
    assert_eq!(h.closed(a), None);
}

#[test]
fn max_subscriptions_stays_open() {
    let mut h = Harness::new(Config {
        max_subscriptions: 1,
        ..Config::default()
    });
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.send(c, b"SUB a 1\r\nSUB b 2\r\nPING\r\n");
    assert_eq!(
        h.take_no_info(c),
        "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"
    );
}

#[test]
fn token_and_user_auth() {
    let mut h = Harness::new(Config {
        auth: Auth::Token("t0k".into()),
        ..Config::default()
    });
    let c = h.connect().unwrap();
    assert!(h.take(c).contains("\"auth_required\":true"));
    h.send(c, b"PING\r\n");
    assert_eq!(h.take(c), "-ERR 'Authorization Violation'\r\n");
    let c = connected(&mut h);
    h.send(
        c,
        b"CONNECT {\"auth_token\":\"t0k\",\"verbose\":false}\r\nPING\r\n",
    );
    assert_eq!(h.take(c), "PONG\r\n");

    let users = Auth::Users(vec![User {
        name: "u".into(),
        password: "p".into(),
        ..Default::default()
    }]);
    let mut h = Harness::new(Config {
        auth: users,
        ..Config::default()
    });
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"user\":\"u\",\"pass\":\"x\"}\r\n");
    assert_eq!(h.take(c), "-ERR 'Authorization Violation'\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::AuthenticationFailure));
}

#[test]
fn auth_timeout_fires_from_virtual_clock() {
    let config = Config {
        auth: Auth::Token("t".into()),
        auth_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = connected(&mut h);
    h.advance(Duration::from_millis(999));
    assert_eq!(h.closed(c), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take(c), "-ERR 'Authentication Timeout'\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::AuthenticationTimeout));
}

#[test]
fn short_first_ping_then_stale() {
    let config = Config {
        ping_interval: Duration::from_secs(1),
        ping_max: 1,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.take(c);
    h.advance(Duration::from_millis(999));
    assert_eq!(h.take(c), "");
    h.advance(Duration::from_millis(250));
    assert_eq!(h.take(c), "PING\r\n");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.take(c), "-ERR 'Stale Connection'\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::StaleConnection));
    assert_eq!(h.broker.stats().stale_connections, 1);
}

#[test]
fn pong_keeps_connection_alive() {
    let config = Config {
        ping_interval: Duration::from_secs(1),
        ping_max: 1,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect().unwrap();
    h.send(c, quiet());
    let mut pings = 0;
    for _ in 0..100 {
        h.advance(Duration::from_millis(100));
        if h.take(c).contains("PING") {
            pings += 1;
            h.send(c, b"PONG\r\n");
        }
    }
    assert!(pings >= 8, "{pings} pings in 10 s");
    assert_eq!(h.closed(c), None);
}

#[test]
fn slow_consumer_closed_without_error() {
    let mut h = Harness::new(Config {
        max_pending: 1024,
        max_payload: 512,
        ..Config::default()
    });
    h.report_written = false;
    let sub = h.connect().unwrap();
    h.send(sub, quiet());
    h.send(sub, b"SUB foo 1\r\n");
    let p = h.connect().unwrap();
    h.send(p, quiet());
    let payload = vec![b'x'; 400];
    for _ in 0..4 {
        let mut m = b"PUB foo 400\r\n".to_vec();
        m.extend_from_slice(&payload);
        m.extend_from_slice(b"\r\n");
        h.send(p, &m);
    }
    assert_eq!(h.closed(sub), Some(CloseReason::SlowConsumerPendingBytes));
    assert!(!h.take(sub).contains("-ERR"));
    assert_eq!(h.broker.stats().slow_consumers, 1);
    assert_eq!(h.closed(p), None);
}

#[test]
fn a_slow_consumers_backlog_is_dropped_not_flushed() {
    let mut h = Harness::new(Config {
        max_pending: 1024,
        max_payload: 512,
        ..Config::default()
    });
    let sub = h.connect().unwrap();
    h.send(sub, quiet());
    h.send(sub, b"SUB foo 1\r\n");
    h.set_stuck(sub, true);
    let p = h.connect().unwrap();
    h.send(p, quiet());
    // One input overflows max_pending: nothing of it reaches the slow consumer (nats-server's
    // skipFlushOnClose), and the host is told not to flush what it still holds.
    let mut m = Vec::new();
    for _ in 0..3 {
        m.extend_from_slice(b"PUB foo 400\r\n");
        m.extend_from_slice(&[b'x'; 400]);
        m.extend_from_slice(b"\r\n");
    }
    h.send(p, &m);
    let reason = h.closed(sub).unwrap();
    assert_eq!(reason, CloseReason::SlowConsumerPendingBytes);
    assert!(!reason.flushes());
    assert!(!h.take_no_info(sub).contains("MSG"));
    assert!(CloseReason::ClientClosed.flushes());
    assert!(CloseReason::ServerShutdown.flushes());
}

#[test]
fn a_slow_consumer_closed_mid_delivery_skips_its_other_subscriptions() {
    let mut h = Harness::new(Config {
        max_pending: 1024,
        max_payload: 512,
        ..Config::default()
    });
    let sub = h.connect().unwrap();
    h.send(sub, quiet());
    h.send(sub, b"SUB foo 1\r\nSUB foo 2\r\nSUB > 3\r\n");
    h.set_stuck(sub, true);
    let p = h.connect().unwrap();
    h.send(p, b"CONNECT {\"verbose\":false,\"echo\":false}\r\n");
    let mut m = b"PUB foo 400\r\n".to_vec();
    m.extend_from_slice(&[b'x'; 400]);
    m.extend_from_slice(b"\r\n");
    h.send(p, &m);
    h.send(p, &m);
    assert_eq!(h.closed(sub), Some(CloseReason::SlowConsumerPendingBytes));
    assert_eq!(h.closed(p), None);
}

#[test]
fn shutdown_happens_once_and_flushes() {
    let mut h = harness();
    let a = h.connect().unwrap();
    h.send(a, quiet());
    h.send(a, b"SUB foo 1\r\n");
    let b = h.connect().unwrap();
    h.send(b, quiet());
    h.take(a);
    // Queue a delivery but do not drain before shutting down.
    h.broker
        .handle_input(b, bytes::BytesMut::from(&b"PUB foo 2\r\nhi\r\n"[..]), h.now);
    assert!(h.shutdown());
    assert!(!h.shutdown());
    assert_eq!(h.take(a), "MSG foo 1 2\r\nhi\r\n");
    assert_eq!(h.closed(a), Some(CloseReason::ServerShutdown));
    assert_eq!(h.closed(b), Some(CloseReason::ServerShutdown));
    assert_eq!((h.stop_listening, h.stopped), (1, 1));
    assert_eq!(h.broker.phase(), Phase::Stopped);
    assert!(h.connect().is_none());
    assert_eq!(h.broker.poll_timeout(), None);
}

#[test]
fn lame_duck_announces_and_closes_gradually() {
    let config = Config {
        lame_duck_duration: Duration::from_secs(30),
        lame_duck_grace_period: Duration::from_secs(10),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let a = h.connect().unwrap();
    h.send(a, b"CONNECT {\"verbose\":false,\"protocol\":1}\r\n");
    let b = h.connect().unwrap();
    h.send(b, quiet());
    h.take(a);
    h.take(b);
    assert!(h.broker.lame_duck(h.now));
    assert!(!h.broker.lame_duck(h.now));
    h.drain();
    assert_eq!(h.stop_listening, 1);
    assert!(h.take(a).contains("\"ldm\":true"));
    assert_eq!(h.take(b), "");
    assert!(h.connect().is_none());
    h.advance(Duration::from_secs(9));
    assert_eq!((h.closed(a), h.closed(b)), (None, None));
    h.advance(Duration::from_secs(30));
    assert_eq!(h.closed(a), Some(CloseReason::ServerShutdown));
    assert_eq!(h.closed(b), Some(CloseReason::ServerShutdown));
    assert_eq!(h.stopped, 1);
    assert!(!h.shutdown());
}

#[test]
fn connect_info_after_first_ping_for_protocol_1() {
    let mut h = harness();
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    let wire = h.take(c);
    assert!(wire.starts_with("PONG\r\nINFO {"), "{wire}");
    assert!(wire.contains("\"connect_info\":true,\"remote_account\":\"$G\"}"));
    h.send(c, b"PING\r\n");
    assert_eq!(h.take(c), "PONG\r\n");
}

#[test]
fn reserved_reply_prefix_is_a_permissions_violation() {
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.send(c, b"SUB foo 1\r\nPUB foo _R_.abc 1\r\nx\r\nPING\r\n");
    assert_eq!(
        h.take_no_info(c),
        "-ERR 'Permissions Violation for Publish with Reply of \"_R_.abc\"'\r\nPONG\r\n"
    );
}

#[test]
fn client_err_closes_and_stale_ids_are_ignored() {
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(c, b"-ERR 'boom'\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::ProtocolViolation));
    // The slot is reused with a new generation; the old id reaches nothing.
    let d = h.connect().unwrap();
    assert_eq!(c.index(), d.index());
    h.take(d);
    h.send(c, b"PING\r\n");
    h.disconnect(c);
    assert_eq!(h.take(d), "");
    assert_eq!(h.closed(d), None);
    assert_eq!(h.conns[&c].closes, 1);
}

#[test]
fn published_wildcard_matches_like_nats_server() {
    // nats-server 2.15.1: a non-pedantic PUB to `*.bar` reaches `*.>`, `*.bar` and `*.*` (in
    // that order) but not `x.bar`.
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.send(
        c,
        b"SUB *.bar 1\r\nSUB *.* 2\r\nSUB x.bar 3\r\nSUB *.> 4\r\nPUB *.bar 1\r\na\r\n",
    );
    assert_eq!(
        h.take_no_info(c),
        "MSG *.bar 4 1\r\na\r\nMSG *.bar 1 1\r\na\r\nMSG *.bar 2 1\r\na\r\n"
    );
}

#[test]
fn reload_applies_limits_and_keeps_identity_and_address() {
    let config = Config {
        port: 4333,
        max_payload: 10,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let id = h.broker.server_id().to_owned();
    let reloaded = Config {
        port: 0,
        max_payload: 100,
        ..Config::default()
    };
    h.broker.reload(reloaded, h.now).unwrap();
    let c = h.connect().unwrap();
    let info = h.take(c);
    assert!(
        info.contains("\"port\":4333") && info.contains("\"max_payload\":100"),
        "{info}"
    );
    assert!(info.contains(&id));
    let bad = Config {
        max_payload: 10,
        max_pending: 5,
        ..Config::default()
    };
    assert!(h.broker.reload(bad, h.now).is_err());
}

#[test]
fn monitoring_lists_subscriptions_with_their_deliveries() {
    let mut h = harness();
    let a = connected(&mut h);
    h.send(a, quiet());
    h.send(
        a,
        b"SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\nPUB foo 2\r\nhi\r\n",
    );
    let b = connected(&mut h);
    h.send(b, quiet());
    h.send(b, b"SUB > 9\r\n");
    let subs: Vec<_> = h.broker.subscriptions().collect();
    assert_eq!(subs.len(), 3);
    let cid_a = h.broker.connections().find(|c| c.id == a).unwrap().cid;
    let foo = subs.iter().find(|s| s.subject == "foo").unwrap();
    assert_eq!((foo.cid, foo.sid.as_str(), foo.delivered), (cid_a, "1", 1));
    let bar = subs.iter().find(|s| s.subject == "bar").unwrap();
    assert_eq!(
        (bar.queue.as_deref(), bar.max, bar.delivered),
        (Some("q"), Some(5), 0)
    );
    assert_eq!(h.broker.subscriptions_of(b).len(), 1);
    assert_eq!(h.broker.subscriptions_of(b)[0].subject, ">");
    assert_eq!(h.broker.sublist_stats().subscriptions, 3);
}

#[test]
fn rtt_is_measured_from_an_answered_server_ping() {
    let config = Config {
        ping_interval: Duration::from_secs(1),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = connected(&mut h);
    h.send(c, quiet());
    assert_eq!(h.broker.connections().next().unwrap().rtt, None);
    // Step the virtual clock until the PING goes out, then answer 30 ms later.
    while h.take(c) != "PING\r\n" {
        h.advance(Duration::from_millis(1));
    }
    h.advance(Duration::from_millis(30));
    h.send(c, b"PONG\r\n");
    let rtt = h.broker.connections().next().unwrap().rtt.unwrap();
    assert!(
        (Duration::from_millis(30)..=Duration::from_millis(31)).contains(&rtt),
        "{rtt:?}"
    );
}

#[test]
fn closed_connections_are_remembered_up_to_the_limit() {
    let mut h = Harness::new(Config {
        max_closed_clients: 2,
        ..Config::default()
    });
    let mut cids = Vec::new();
    for _ in 0..3 {
        let c = connected(&mut h);
        h.send(c, quiet());
        h.send(c, b"SUB foo 1\r\n");
        cids.push(h.broker.connections().find(|i| i.id == c).unwrap().cid);
        h.broker.handle_eof(c, CloseReason::ClientClosed, h.now);
        while h.broker.poll_output().is_some() {}
    }
    let closed: Vec<_> = h.broker.closed_connections().collect();
    assert_eq!(closed.len(), 2);
    assert_eq!((closed[0].cid, closed[1].cid), (cids[1], cids[2]));
    assert_eq!(closed[1].subscriptions, 1);
    assert!(matches!(
        closed[1].closed,
        Some((_, CloseReason::ClientClosed))
    ));
}

#[test]
fn subscriptions_list_subject_queue_and_sid() {
    let mut h = harness();
    let c = h.connect().unwrap();
    h.send(c, quiet());
    h.send(c, b"SUB foo.* 1\r\nSUB bar.> workers 2\r\nUNSUB 2 5\r\n");
    let mut subs: Vec<_> = h.broker.subscriptions().collect();
    subs.sort_by(|a, b| a.sid.cmp(&b.sid));
    assert_eq!(subs.len(), 2);
    assert_eq!((subs[0].conn, subs[0].subject.as_str()), (c, "foo.*"));
    assert_eq!(subs[0].queue, None);
    assert_eq!(subs[1].queue.as_deref(), Some("workers"));
    assert_eq!(subs[1].max, Some(5));
    h.disconnect(c);
    assert_eq!(h.broker.subscriptions().count(), 0);
}

#[test]
fn kick_flushes_then_closes_once() {
    let mut h = harness();
    let c = connected(&mut h);
    h.send(c, quiet());
    h.send(c, b"PING\r\n");
    assert!(h.broker.kick(c, h.now));
    assert!(
        !h.broker.kick(c, h.now),
        "a second kick finds nothing to close"
    );
    h.drain();
    assert_eq!(h.take_no_info(c), "PONG\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::Kicked));
    assert_eq!(h.conns[&c].closes, 1);
    assert_eq!(h.broker.stats().connections, 0);
}

#[test]
fn allowed_connection_types_follow_the_transport() {
    let user = |name: &str, types: &[&str]| User {
        name: name.into(),
        password: "p".into(),
        allowed_connection_types: Some(types.iter().map(|t| (*t).to_owned()).collect()),
        ..Default::default()
    };
    let mut h = Harness::new(Config {
        auth: Auth::Users(vec![
            user("ws", &["websocket"]),
            user("local", &["IN_PROCESS"]),
        ]),
        ..Config::default()
    });
    let peer = |transport| crate::PeerInfo {
        addr: None,
        transport,
    };
    let login = |h: &mut Harness, transport, user: &str| {
        let c = h.broker.accept(peer(transport), h.now).unwrap();
        h.conns.entry(c).or_default();
        h.drain();
        h.take(c);
        h.send(
            c,
            format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"p\"}}\r\nPING\r\n")
                .as_bytes(),
        );
        h.take(c)
    };
    assert_eq!(login(&mut h, crate::Transport::WebSocket, "ws"), "PONG\r\n");
    assert_eq!(
        login(&mut h, crate::Transport::Tcp, "ws"),
        "-ERR 'Authorization Violation'\r\n"
    );
    assert_eq!(
        login(&mut h, crate::Transport::InProcess, "local"),
        "PONG\r\n"
    );
    assert_eq!(
        login(&mut h, crate::Transport::WebSocket, "local"),
        "-ERR 'Authorization Violation'\r\n"
    );
}

#[test]
fn a_reload_rechecks_connected_clients() {
    let user = |name: &str, subscribe: Option<crate::Rules>| User {
        name: name.into(),
        password: "p".into(),
        permissions: subscribe.map(|subscribe| crate::Permissions {
            subscribe,
            ..Default::default()
        }),
        ..Default::default()
    };
    let config = |users| Config {
        auth: Auth::Users(users),
        ..Config::default()
    };
    let mut h = Harness::new(config(vec![user("a", None), user("b", None)]));
    let login = |h: &mut Harness, name: &str| {
        let c = connected(h);
        h.send(
            c,
            format!("CONNECT {{\"verbose\":false,\"user\":\"{name}\",\"pass\":\"p\"}}\r\n")
                .as_bytes(),
        );
        h.take(c);
        c
    };
    let a = login(&mut h, "a");
    let b = login(&mut h, "b");
    h.send(a, b"SUB secret.x 1\r\nSUB open 2\r\nSUB secret.y q 3\r\n");
    let deny = crate::Rules {
        allow: None,
        deny: vec!["secret.>".into()],
    };
    h.broker
        .reload(config(vec![user("a", Some(deny))]), h.now)
        .unwrap();
    h.drain();
    assert_eq!(
        h.take(a),
        "-ERR 'Permissions Violation for Subscription to \"secret.x\" (sid \"1\")'\r\n\
         -ERR 'Permissions Violation for Subscription to \"secret.y\" using queue \"q\" (sid \"3\")'\r\n"
    );
    assert_eq!(h.take(b), "", "closed without an -ERR, as nats-server");
    assert_eq!(h.closed(b), Some(CloseReason::AuthenticationFailure));
    // `a` stays, with what it may still hold.
    let c = login(&mut h, "a");
    h.send(c, b"PUB secret.x 1\r\nx\r\nPUB open 1\r\ny\r\n");
    assert_eq!(h.take(a), "MSG open 2 1\r\ny\r\n");
    assert_eq!(h.closed(a), None);
}
