//! Each fault, driven by the virtual clock.

use std::time::Duration;

use crate::testing::Harness;
use crate::{CloseReason, Config, ConnId, Fault, FaultError, Lasting, Refusal, Target};

const SECOND: Duration = Duration::from_secs(1);

fn harness() -> Harness {
    Harness::new(Config::default())
}

/// A connected client (protocol 1, quiet) with `name`, past its first PING; what it received
/// so far (INFO, PONG, the connect INFO) is taken.
fn client(h: &mut Harness, name: &str) -> ConnId {
    let c = h.connect().unwrap();
    let connect =
        format!("CONNECT {{\"verbose\":false,\"protocol\":1,\"name\":\"{name}\"}}\r\nPING\r\n");
    h.send(c, connect.as_bytes());
    h.take(c);
    c
}

fn cid(h: &Harness, c: ConnId) -> u64 {
    h.broker.connections().find(|i| i.id == c).unwrap().cid
}

fn inject(h: &mut Harness, fault: Fault) -> crate::FaultId {
    h.inject(fault).unwrap()
}

#[test]
fn close_by_cid_sends_the_err_first_and_closes_once() {
    let mut h = harness();
    let a = client(&mut h, "a");
    let b = client(&mut h, "b");
    let target = Target::Cid(cid(&h, a));
    inject(
        &mut h,
        Fault::Close {
            target,
            err: Some("Stale Connection".into()),
        },
    );
    assert_eq!(h.take(a), "-ERR 'Stale Connection'\r\n");
    assert_eq!(h.closed(a), Some(CloseReason::FaultInjected));
    assert_eq!(h.conns[&a].closes, 1);
    assert_eq!(h.closed(b), None);
    assert!(h.broker.faults().is_empty(), "a close is done at once");
}

#[test]
fn close_by_name_closes_every_match_without_err() {
    let mut h = harness();
    let a1 = client(&mut h, "app");
    let a2 = client(&mut h, "app");
    let other = client(&mut h, "other");
    inject(
        &mut h,
        Fault::Close {
            target: Target::Name("app".into()),
            err: None,
        },
    );
    assert_eq!(h.take(a1), "");
    assert_eq!(h.closed(a1), Some(CloseReason::FaultInjected));
    assert_eq!(h.closed(a2), Some(CloseReason::FaultInjected));
    assert_eq!(h.closed(other), None);
    let missing = h.broker.inject(
        Fault::Close {
            target: Target::Name("app".into()),
            err: None,
        },
        h.now,
    );
    assert_eq!(missing, Err(FaultError::NoSuchConnection));
}

#[test]
fn close_next_subscriber_fires_once_on_a_matching_sub() {
    let mut h = harness();
    let c = client(&mut h, "c");
    let id = inject(
        &mut h,
        Fault::CloseNextSubscriber {
            subject: "orders.>".into(),
            err: Some("boom".into()),
        },
    );
    h.send(c, b"SUB other 1\r\n");
    assert_eq!(h.closed(c), None);
    assert_eq!(h.broker.faults()[0].id, id);
    h.send(c, b"SUB orders.eu 2\r\n");
    assert_eq!(h.take(c), "-ERR 'boom'\r\n");
    assert_eq!(h.closed(c), Some(CloseReason::FaultInjected));
    assert!(h.broker.faults().is_empty());
    // A reconnecting client subscribes again undisturbed.
    let again = client(&mut h, "c");
    h.send(again, b"SUB orders.eu 2\r\nPING\r\n");
    assert_eq!(h.take(again), "PONG\r\n");
    assert_eq!(h.closed(again), None);
}

#[test]
fn ignored_pings_make_the_client_see_a_stale_server_until_the_fault_ends() {
    let mut h = harness();
    let c = client(&mut h, "c");
    let d = client(&mut h, "d");
    let target = Target::Cid(cid(&h, c));
    inject(
        &mut h,
        Fault::IgnorePings {
            target,
            lasting: Lasting::For(5 * SECOND),
        },
    );
    h.send(c, b"PING\r\n");
    h.send(d, b"PING\r\n");
    assert_eq!(h.take_no_info(c), "");
    assert_eq!(h.take_no_info(d), "PONG\r\n");
    assert_eq!(h.broker.faults()[0].until, Some(h.now + 5 * SECOND));
    h.advance(5 * SECOND);
    assert!(h.broker.faults().is_empty());
    h.take(c);
    h.send(c, b"PING\r\n");
    assert_eq!(h.take(c), "PONG\r\n");
}

#[test]
fn withheld_messages_arrive_in_order_when_the_fault_ends() {
    let mut h = harness();
    let sub = client(&mut h, "sub");
    let publisher = client(&mut h, "pub");
    h.send(sub, b"SUB a.* 1\r\nSUB b 2\r\n");
    let id = inject(
        &mut h,
        Fault::Withhold {
            subject: "a.*".into(),
            lasting: Lasting::For(2 * SECOND),
        },
    );
    h.send(
        publisher,
        b"PUB a.x 1\r\n1\r\nPUB b 1\r\n2\r\nPUB a.y 1\r\n3\r\n",
    );
    assert_eq!(h.take(sub), "MSG b 2 1\r\n2\r\n");
    let info = &h.broker.faults()[0];
    assert_eq!((info.id, info.held), (id, 2));
    h.advance(2 * SECOND - Duration::from_millis(1));
    assert_eq!(h.take(sub), "");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take(sub), "MSG a.x 1 1\r\n1\r\nMSG a.y 1 1\r\n3\r\n");
    h.send(publisher, b"PUB a.z 1\r\n4\r\n");
    assert_eq!(h.take(sub), "MSG a.z 1 1\r\n4\r\n");
}

#[test]
fn clearing_a_withhold_delivers_what_it_held() {
    let mut h = harness();
    let sub = client(&mut h, "sub");
    h.send(sub, b"SUB a 1\r\n");
    let id = inject(
        &mut h,
        Fault::Withhold {
            subject: "a".into(),
            lasting: Lasting::UntilCleared,
        },
    );
    h.send(sub, b"PUB a 2\r\nhi\r\n");
    h.advance(60 * SECOND);
    assert_eq!(h.take_no_info(sub).matches("MSG").count(), 0);
    h.broker.clear(id, h.now).unwrap();
    h.drain();
    assert!(h.take_no_info(sub).ends_with("MSG a 1 2\r\nhi\r\n"));
    assert_eq!(h.broker.clear(id, h.now), Err(FaultError::UnknownFault(id)));
}

#[test]
fn delayed_messages_each_arrive_their_delay_later() {
    let mut h = harness();
    let sub = client(&mut h, "sub");
    h.send(sub, b"SUB d 1\r\n");
    inject(
        &mut h,
        Fault::Delay {
            subject: "d".into(),
            by: Duration::from_millis(300),
            lasting: Lasting::UntilCleared,
        },
    );
    h.send(sub, b"PUB d 1\r\n1\r\n");
    h.advance(Duration::from_millis(100));
    h.send(sub, b"PUB d 1\r\n2\r\n");
    h.advance(Duration::from_millis(199));
    assert_eq!(h.take(sub), "");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take(sub), "MSG d 1 1\r\n1\r\n");
    h.advance(Duration::from_millis(100));
    assert_eq!(h.take(sub), "MSG d 1 1\r\n2\r\n");
}

#[test]
fn drop_loses_exactly_the_next_n_matching_messages() {
    let mut h = harness();
    let sub = client(&mut h, "sub");
    h.send(sub, b"SUB > 1\r\n");
    inject(
        &mut h,
        Fault::Drop {
            subject: "x.>".into(),
            count: 2,
        },
    );
    assert_eq!(h.broker.faults()[0].remaining, Some(2));
    for i in 1..=4 {
        h.send(
            sub,
            format!("PUB x.y 1\r\n{i}\r\nPUB z 1\r\n{i}\r\n").as_bytes(),
        );
    }
    assert_eq!(
        h.take(sub),
        "MSG z 1 1\r\n1\r\nMSG z 1 1\r\n2\r\nMSG x.y 1 1\r\n3\r\nMSG z 1 1\r\n3\r\nMSG x.y 1 1\r\n4\r\nMSG z 1 1\r\n4\r\n"
    );
    assert!(h.broker.faults().is_empty());
}

#[test]
fn split_writes_cut_every_transmit_into_pieces() {
    let mut h = harness();
    let c = client(&mut h, "c");
    let target = Target::Cid(cid(&h, c));
    inject(
        &mut h,
        Fault::SplitWrites {
            target,
            chunk: 1,
            delay: Duration::ZERO,
            lasting: Lasting::UntilCleared,
        },
    );
    h.broker.handle_input(
        c,
        bytes::BytesMut::from(&b"SUB s 1\r\nPUB s 5\r\nhello\r\n"[..]),
        h.now,
    );
    let mut pieces = Vec::new();
    while let Some(output) = h.broker.poll_output() {
        match output {
            crate::Output::Transmit { segments, .. } => {
                assert_eq!(segments.len(), 1);
                assert_eq!(segments[0].len(), 1);
                pieces.push(segments[0][0]);
                h.broker.handle_written(c, 1, h.now);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pieces, b"MSG s 1 5\r\nhello\r\n");
}

#[test]
fn delayed_pieces_trickle_out_and_go_before_the_close() {
    let mut h = harness();
    let c = client(&mut h, "c");
    let target = Target::Cid(cid(&h, c));
    inject(
        &mut h,
        Fault::SplitWrites {
            target: target.clone(),
            chunk: 4,
            delay: Duration::from_millis(10),
            lasting: Lasting::For(SECOND),
        },
    );
    h.send(c, b"PING\r\nPING\r\n");
    assert_eq!(h.take(c), "");
    h.advance(Duration::from_millis(10));
    assert_eq!(h.take(c), "PONG");
    h.advance(Duration::from_millis(10));
    assert_eq!(h.take(c), "\r\nPO");
    // The close comes after the last piece.
    inject(
        &mut h,
        Fault::Close {
            target,
            err: Some("bye".into()),
        },
    );
    assert_eq!(h.take(c), "NG\r\n-ERR 'bye'\r\n");
    assert_eq!(h.conns[&c].after_close, 0);
    assert_eq!(h.closed(c), Some(CloseReason::FaultInjected));
}

#[test]
fn async_info_announces_connect_urls_and_lame_duck_to_protocol_1_clients() {
    let mut h = harness();
    let a = client(&mut h, "a");
    let old = h.connect().unwrap();
    h.send(old, b"CONNECT {\"verbose\":false,\"protocol\":0}\r\n");
    h.take(old);
    inject(
        &mut h,
        Fault::AsyncInfo {
            target: Target::All,
            connect_urls: vec!["127.0.0.1:4223".into(), "10.0.0.2:4222".into()],
            lame_duck: true,
        },
    );
    let info = h.take(a);
    assert!(
        info.starts_with("INFO {") && info.ends_with("} \r\n"),
        "{info}"
    );
    assert!(
        info.contains(",\"connect_urls\":[\"127.0.0.1:4223\",\"10.0.0.2:4222\"],\"ldm\":true}"),
        "{info}"
    );
    assert_eq!(h.take(old), "", "protocol 0 clients get no async INFO");
    assert!(h.broker.faults().is_empty());
}

#[test]
fn refused_connects_use_nats_server_errors_and_count_down() {
    let mut h = harness();
    inject(
        &mut h,
        Fault::RefuseConnects {
            count: 2,
            refusal: Refusal::Authorization,
        },
    );
    for _ in 0..2 {
        let c = h.connect().unwrap();
        h.take(c);
        h.send(c, b"CONNECT {\"verbose\":false}\r\n");
        assert_eq!(h.take(c), "-ERR 'Authorization Violation'\r\n");
        assert_eq!(h.closed(c), Some(CloseReason::AuthenticationFailure));
    }
    let ok = client(&mut h, "ok");
    assert_eq!(h.closed(ok), None);

    inject(
        &mut h,
        Fault::RefuseConnects {
            count: 1,
            refusal: Refusal::MaxConnections,
        },
    );
    let c = h.connect().unwrap();
    let seen = h.take(c);
    assert!(seen.starts_with("INFO {"));
    assert!(seen.ends_with("-ERR 'maximum connections exceeded'\r\n"));
    assert_eq!(h.closed(c), Some(CloseReason::MaxConnectionsExceeded));
    assert!(h.broker.faults().is_empty());
    let ok = client(&mut h, "ok");
    assert_eq!(h.closed(ok), None);
}

#[test]
fn pause_reading_pauses_and_resumes_through_the_flow_control_outputs() {
    let mut h = harness();
    let p = client(&mut h, "p");
    inject(
        &mut h,
        Fault::PauseReading {
            target: Target::Name("p".into()),
            lasting: Lasting::For(3 * SECOND),
        },
    );
    assert!(h.is_paused(p));
    assert!(h.broker.is_reading_paused(p));
    h.advance(3 * SECOND);
    assert!(!h.is_paused(p));
    assert_eq!(h.conns[&p].pauses, 1);
}

#[test]
fn a_fault_pause_and_a_flow_control_pause_look_like_one_pause() {
    let mut h = Harness::new(Config {
        max_pending: 16 * 1024,
        ..Config::default()
    });
    let sub = client(&mut h, "sub");
    let p = client(&mut h, "p");
    h.send(sub, b"SUB f 1\r\n");
    h.set_stuck(sub, true);
    let id = inject(
        &mut h,
        Fault::PauseReading {
            target: Target::Name("p".into()),
            lasting: Lasting::UntilCleared,
        },
    );
    // Input read before the pause still routes, and loads the consumer past the threshold.
    let body = "x".repeat(1000);
    let mut input = String::new();
    for _ in 0..13 {
        input.push_str(&format!("PUB f 1000\r\n{body}\r\n"));
    }
    h.send(p, input.as_bytes());
    assert!(h.is_paused(p));
    // Flow control's bound passes: still paused by the fault.
    h.advance(Duration::from_millis(20));
    assert!(h.is_paused(p));
    h.broker.clear(id, h.now).unwrap();
    h.drain();
    assert!(!h.is_paused(p));
    assert_eq!(h.conns[&p].pauses, 1);
}

#[test]
fn malformed_faults_are_refused() {
    let mut h = harness();
    let bad = [
        Fault::Drop {
            subject: "a..b".into(),
            count: 1,
        },
        Fault::Drop {
            subject: "a".into(),
            count: 0,
        },
        Fault::Withhold {
            subject: "a".into(),
            lasting: Lasting::For(Duration::ZERO),
        },
        Fault::SplitWrites {
            target: Target::All,
            chunk: 0,
            delay: Duration::ZERO,
            lasting: Lasting::UntilCleared,
        },
    ];
    for fault in bad {
        assert!(matches!(
            h.broker.inject(fault, h.now),
            Err(FaultError::Invalid(_))
        ));
    }
    assert!(h.broker.faults().is_empty());
    assert!(h.broker.poll_timeout().is_none() || h.broker.faults().is_empty());
}

#[test]
fn shutdown_delivers_withheld_messages_and_refuses_new_faults() {
    let mut h = harness();
    let sub = client(&mut h, "sub");
    h.send(sub, b"SUB a 1\r\n");
    inject(
        &mut h,
        Fault::Withhold {
            subject: "a".into(),
            lasting: Lasting::UntilCleared,
        },
    );
    h.send(sub, b"PUB a 2\r\nhi\r\n");
    assert!(h.shutdown());
    assert!(h.take(sub).ends_with("MSG a 1 2\r\nhi\r\n"));
    assert_eq!(h.closed(sub), Some(CloseReason::ServerShutdown));
    assert_eq!(
        h.broker.inject(
            Fault::Drop {
                subject: "a".into(),
                count: 1
            },
            h.now
        ),
        Err(FaultError::ShuttingDown)
    );
}

#[test]
fn faults_list_their_ends() {
    let mut h = harness();
    let start = h.now;
    inject(
        &mut h,
        Fault::IgnorePings {
            target: Target::All,
            lasting: Lasting::For(SECOND),
        },
    );
    inject(
        &mut h,
        Fault::RefuseConnects {
            count: 3,
            refusal: Refusal::MaxConnections,
        },
    );
    let listed = h.broker.faults();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].until, Some(start + SECOND));
    assert_eq!(listed[0].since, start);
    assert_eq!(listed[1].remaining, Some(3));
    assert_eq!(listed[1].until, None);
}

#[test]
fn a_large_message_cut_into_single_bytes_arrives_intact() {
    let mut h = harness();
    let c = client(&mut h, "c");
    h.send(c, b"SUB big 1\r\n");
    inject(
        &mut h,
        Fault::SplitWrites {
            target: Target::Name("c".into()),
            chunk: 1,
            delay: Duration::ZERO,
            lasting: Lasting::UntilCleared,
        },
    );
    let payload: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut transmits = 0;
    h.broker.handle_input(
        c,
        bytes::BytesMut::from(format!("PUB big {}\r\n{payload}\r\n", payload.len()).as_bytes()),
        h.now,
    );
    let mut got = Vec::new();
    while let Some(output) = h.broker.poll_output() {
        if let crate::Output::Transmit { segments, .. } = output {
            assert_eq!(segments.iter().map(|s| s.len()).sum::<usize>(), 1);
            got.extend_from_slice(&segments[0]);
            transmits += 1;
            h.broker.handle_written(c, 1, h.now);
        }
    }
    let expected = format!("MSG big 1 {}\r\n{payload}\r\n", payload.len());
    assert_eq!(transmits, expected.len());
    assert_eq!(got, expected.as_bytes());
}

#[test]
fn writes_after_a_split_ends_never_overtake_its_pieces() {
    let mut h = harness();
    let c = client(&mut h, "c");
    let id = inject(
        &mut h,
        Fault::SplitWrites {
            target: Target::Name("c".into()),
            chunk: 2,
            delay: Duration::from_millis(50),
            lasting: Lasting::UntilCleared,
        },
    );
    h.send(c, b"PING\r\n");
    h.advance(Duration::from_millis(50));
    assert_eq!(h.take(c), "PO");
    h.broker.clear(id, h.now).unwrap();
    h.drain();
    h.send(c, b"PING\r\n");
    assert_eq!(h.take(c), "NG\r\nPONG\r\n");
    assert_eq!(
        h.broker.poll_timeout().filter(|at| *at < h.now + SECOND),
        None
    );
}
