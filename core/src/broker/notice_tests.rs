//! The notices the broker emits for the host's log: which events, their wording and level,
//! and that each comes before the close it explains.

use crate::testing::Harness;
use crate::{Auth, CloseReason, Config, ConnEvent, ConnId, NoticeLevel, Output, User};

/// A connection whose INFO has been read.
fn connected(h: &mut Harness) -> ConnId {
    let conn = h.connect().expect("accepting");
    h.take(conn);
    conn
}

/// The notices so far, as `(level, line)`, leaving out the connection created/closed ones.
fn lines(h: &Harness) -> Vec<(NoticeLevel, String)> {
    h.notices
        .iter()
        .filter(|n| !matches!(n.event, ConnEvent::Created | ConnEvent::Closed { .. }))
        .map(|n| (n.level(), n.to_string()))
        .collect()
}

#[test]
fn outputs_stay_small() {
    assert!(
        std::mem::size_of::<Output>() <= 40,
        "{}",
        std::mem::size_of::<Output>()
    );
}

#[test]
fn every_connection_is_noticed_once_created_and_once_closed() {
    let mut h = Harness::new(Config::default());
    let a = connected(&mut h);
    h.send(a, b"CONNECT {\"name\":\"app\"}\r\n");
    let b = connected(&mut h);
    h.disconnect(b);
    h.send(a, b"XYZ\r\n");
    let all: Vec<(NoticeLevel, String)> = h
        .notices
        .iter()
        .map(|n| (n.level(), n.to_string()))
        .collect();
    let debug = |s: &str| (NoticeLevel::Debug, s.to_owned());
    assert_eq!(
        all,
        vec![
            debug("cid:1 - Client connection created"),
            debug("cid:2 - Client connection created"),
            debug("cid:2 - Client connection closed: Client Closed"),
            (
                NoticeLevel::Error,
                "cid:1 - \"app\" - Client parser ERROR: proto='\"XYZ\\r\"...'".to_owned()
            ),
            debug("cid:1 - \"app\" - Client connection closed: Protocol Violation"),
        ]
    );
}

#[test]
fn authentication_failures_name_the_user_never_the_secret() {
    let mut h = Harness::new(Config {
        auth: Auth::Users(vec![User {
            name: "alice".into(),
            password: "s3cret".into(),
            ..Default::default()
        }]),
        ..Config::default()
    });
    let c = connected(&mut h);
    h.send(c, br#"CONNECT {"user":"alice","pass":"wrong-pass"}"#);
    h.send(c, b"\r\n");
    let t = connected(&mut h);
    h.send(t, b"CONNECT {\"auth_token\":\"tok-secret\"}\r\n");
    let n = connected(&mut h);
    h.send(n, b"PING\r\n");
    assert_eq!(
        lines(&h),
        vec![
            (
                NoticeLevel::Error,
                "cid:1 - authentication error - User \"alice\"".to_owned()
            ),
            (
                NoticeLevel::Error,
                "cid:2 - authentication error - Token \"[REDACTED]\"".to_owned()
            ),
            (
                NoticeLevel::Error,
                "cid:3 - authentication error".to_owned()
            ),
        ]
    );
    assert!(
        !format!("{:?}", h.notices).contains("secret")
            && !format!("{:?}", h.notices).contains("wrong-pass")
    );
}

#[test]
fn named_authenticated_clients_carry_nats_server_labels() {
    let mut h = Harness::new(Config {
        auth: Auth::Token("tok".into()),
        ..Config::default()
    });
    let c = connected(&mut h);
    h.send(
        c,
        b"CONNECT {\"auth_token\":\"tok\",\"name\":\"app\",\"lang\":\"go\",\"version\":\"1.2\"}\r\nXX\r\n",
    );
    assert_eq!(
        lines(&h),
        vec![(
            NoticeLevel::Error,
            "cid:1 - \"v1.2:go:app\" - \"$G/token\" - Client parser ERROR: proto='\"XX\\r\"...'"
                .to_owned()
        )]
    );
}

#[test]
fn protocol_errors_are_logged_with_their_detail() {
    let mut h = Harness::new(Config::default());
    let c = connected(&mut h);
    h.send(c, b"PUB foo 99999999\r\n");
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"verbose\":\r\n");
    let c = connected(&mut h);
    h.send(c, b"-ERR 'boom'\r\n");
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"protocol\":5}\r\n");
    let got = lines(&h);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|(level, _)| *level == NoticeLevel::Error));
    assert_eq!(
        got[0].1,
        "cid:1 - maximum payload exceeded: 99999999 vs 1048576"
    );
    assert!(got[1].1.starts_with("cid:2 - EOF while parsing"), "{got:?}");
    assert_eq!(got[2].1, "cid:3 - Client Error 'boom'");
    assert_eq!(got[3].1, "cid:4 - invalid client protocol");
}

#[test]
fn max_connections_and_slow_consumers_are_noticed_before_their_close() {
    let mut h = Harness::new(Config {
        max_connections: 2,
        max_pending: 1024,
        max_payload: 512,
        ..Config::default()
    });
    h.report_written = false;
    let sub = connected(&mut h);
    h.send(sub, b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\n");
    let publisher = connected(&mut h);
    h.send(publisher, b"CONNECT {\"verbose\":false}\r\n");
    let refused = connected(&mut h);
    assert_eq!(h.closed(refused), Some(CloseReason::MaxConnectionsExceeded));
    for _ in 0..4 {
        let mut m = b"PUB foo 400\r\n".to_vec();
        m.extend_from_slice(&[b'x'; 400]);
        m.extend_from_slice(b"\r\n");
        h.send(publisher, &m);
    }
    assert_eq!(h.closed(sub), Some(CloseReason::SlowConsumerPendingBytes));
    assert_eq!(
        lines(&h),
        vec![
            (
                NoticeLevel::Error,
                "cid:3 - maximum connections exceeded".to_owned()
            ),
            (
                NoticeLevel::Info,
                "cid:1 - Slow Consumer Detected: MaxPending of 1024 Exceeded".to_owned()
            ),
        ]
    );
}

#[test]
fn notices_come_before_the_close_they_explain() {
    let mut broker = crate::Broker::new(Config::default(), 1, crate::Instant::ZERO);
    let c = broker
        .accept(crate::PeerInfo::in_process(), crate::Instant::ZERO)
        .unwrap();
    while broker.poll_output().is_some() {}
    broker.handle_input(
        c,
        bytes::BytesMut::from(&b"XYZ\r\n"[..]),
        crate::Instant::ZERO,
    );
    let outputs: Vec<Output> = std::iter::from_fn(|| broker.poll_output()).collect();
    let notice = outputs.iter().position(
        |o| matches!(o, Output::Notice(n) if matches!(n.event, ConnEvent::Protocol { .. })),
    );
    let close = outputs
        .iter()
        .position(|o| matches!(o, Output::Close { .. }));
    assert!(notice.is_some() && notice < close, "{outputs:?}");
}

#[test]
fn timeouts_and_stale_connections_are_debug_notices() {
    let mut h = Harness::new(Config {
        auth: Auth::Token("t".into()),
        ..Config::default()
    });
    let c = connected(&mut h);
    h.advance(std::time::Duration::from_secs(3));
    assert_eq!(h.closed(c), Some(CloseReason::AuthenticationTimeout));
    assert_eq!(
        lines(&h),
        vec![(
            NoticeLevel::Debug,
            "cid:1 - Authentication Timeout".to_owned()
        )]
    );
}

#[test]
fn a_connect_split_across_reads_authenticates() {
    let mut h = Harness::new(Config {
        auth: Auth::Token("tok".into()),
        ..Config::default()
    });
    let c = connected(&mut h);
    h.send(c, b"CONNECT {\"verbose\":false,");
    h.send(c, b"\"auth_token\":\"tok\"}\r\nPING\r\n");
    assert_eq!(h.take(c), "PONG\r\n");
    assert!(lines(&h).is_empty(), "{:?}", h.notices);
}
