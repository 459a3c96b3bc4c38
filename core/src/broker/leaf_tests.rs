//! Leaf links on the virtual clock: the harness plays the hub.

use std::time::Duration;

use crate::testing::Harness;
use crate::{CloseReason, Config, ConnId, LeafRemote, LeafUrl};

const HUB_INFO: &[u8] = b"INFO {\"server_id\":\"NHUB\",\"name\":\"hub\",\"headers\":true,\"leafnode_urls\":[\"127.0.0.1:7422\"]}\r\n";

fn config(remote: LeafRemote) -> Config {
    Config {
        leaf_remotes: vec![remote],
        ..Config::default()
    }
}

fn remote(url: &str) -> LeafRemote {
    LeafRemote {
        urls: vec![LeafUrl::parse(url).unwrap()],
        ..LeafRemote::default()
    }
}

/// A client with CONNECT sent and its INFO taken.
fn client(h: &mut Harness, ops: &str) -> ConnId {
    let c = h.connect().unwrap();
    h.send(
        c,
        format!("CONNECT {{\"verbose\":false,\"headers\":true}}\r\n{ops}").as_bytes(),
    );
    h.take(c);
    c
}

/// Dials, connects and completes the handshake; returns the link and what it sent.
fn link_up(h: &mut Harness) -> (ConnId, String) {
    h.advance(Duration::from_millis(1));
    assert_eq!(h.dials.len(), 1, "one dial asked for");
    let link = h.leaf_connect().unwrap();
    assert_eq!(h.take(link), "", "a leaf waits for the hub's INFO");
    h.send(link, HUB_INFO);
    let sent = h.take(link);
    (link, sent)
}

/// The loop detection subject in a link's first output.
fn lds(sent: &str) -> String {
    sent.lines()
        .find_map(|l| l.strip_prefix("LS+ $LDS."))
        .map(|rest| format!("$LDS.{rest}"))
        .expect("an LDS line")
}

#[test]
fn the_handshake_announces_local_interest_and_the_loop_subject() {
    let mut h = Harness::new(config(remote("nats-leaf://u:p@hub:7422")));
    let _c = client(
        &mut h,
        "SUB foo 1\r\nSUB bar q 2\r\nSUB bar q 3\r\nSUB foo 4\r\n",
    );
    let (_link, sent) = link_up(&mut h);
    let mut lines = sent.lines();
    let connect = lines.next().unwrap();
    assert!(connect.starts_with("CONNECT {"), "{sent}");
    for field in [
        r#""hub":false"#,
        r#""user":"u""#,
        r#""pass":"p""#,
        r#""remote_account":"$G""#,
        r#""headers":true"#,
    ] {
        assert!(connect.contains(field), "{connect} lacks {field}");
    }
    let rest: Vec<&str> = lines.collect();
    assert_eq!(&rest[..2], ["LS+ bar q 2", "LS+ foo"]);
    assert!(rest[2].starts_with("LS+ $LDS.") && rest[2].len() == "LS+ $LDS.".len() + 22);
    assert_eq!(rest.len(), 3);
}

#[test]
fn local_interest_changes_follow_as_ls_lines() {
    let mut h = Harness::new(config(remote("hub")));
    let (link, _) = link_up(&mut h);
    let c = client(&mut h, "SUB baz 1\r\n");
    assert_eq!(h.take(link), "LS+ baz\r\n");
    h.send(c, b"SUB baz 2\r\nSUB work q 3\r\nSUB work q 4\r\n");
    assert_eq!(h.take(link), "LS+ work q 1\r\nLS+ work q 2\r\n");
    h.send(c, b"UNSUB 1\r\nUNSUB 3\r\n");
    assert_eq!(h.take(link), "LS+ work q 1\r\n");
    h.send(c, b"UNSUB 2\r\n");
    assert_eq!(h.take(link), "LS- baz\r\n");
    // A closing client withdraws what it held.
    h.disconnect(c);
    assert_eq!(h.take(link), "LS- work q\r\n");
}

#[test]
fn messages_flow_both_ways_only_where_there_is_interest() {
    let mut h = Harness::new(config(remote("hub")));
    let (link, _) = link_up(&mut h);
    let c = client(&mut h, "SUB local 1\r\n");
    h.take(link);
    // No hub interest: nothing crosses.
    h.send(c, b"PUB elsewhere 2\r\nhi\r\n");
    assert_eq!(h.take(link), "");
    // The hub's interest, once per link even when two of its patterns match.
    h.send(link, b"LS+ orders.*\r\nLS+ orders.>\r\n");
    h.send(
        c,
        b"PUB orders.new _INBOX.r 2\r\nhi\r\nHPUB orders.new 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    );
    assert_eq!(
        h.take(link),
        "LMSG orders.new _INBOX.r 2\r\nhi\r\nHMSG orders.new 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    );
    h.send(link, b"LS- orders.*\r\nLS- orders.>\r\n");
    h.send(c, b"PUB orders.new 2\r\nhi\r\n");
    assert_eq!(h.take(link), "");
    // From the hub: delivered locally, never echoed back over the link.
    h.send(link, b"LS+ local\r\nLMSG local 5\r\nhello\r\n");
    assert_eq!(h.take(c), "MSG local 1 5\r\nhello\r\n");
    assert_eq!(h.take(link), "");
    // PINGs are answered.
    h.send(link, b"PING\r\n");
    assert_eq!(h.take(link), "PONG\r\n");
}

#[test]
fn queue_groups_span_the_link_and_deliver_once() {
    let mut h = Harness::new(config(remote("hub")));
    let (link, _) = link_up(&mut h);
    let c = client(&mut h, "SUB work q 1\r\nSUB work q 2\r\n");
    h.take(link);
    h.send(link, b"LS+ work q 3\r\n");
    // A local member is preferred.
    for _ in 0..20 {
        h.send(c, b"PUB work 1\r\nx\r\n");
    }
    assert_eq!(h.take(c).matches("MSG work").count(), 20);
    assert_eq!(h.take(link), "");
    // Without local members the hub's group takes it, named in the LMSG.
    h.send(c, b"UNSUB 1\r\nUNSUB 2\r\n");
    h.take(link);
    h.send(c, b"PUB work _INBOX.a 1\r\nx\r\nPUB work 1\r\ny\r\n");
    assert_eq!(
        h.take(link),
        "LMSG work + _INBOX.a q 1\r\nx\r\nLMSG work | q 1\r\ny\r\n"
    );
    // From the hub: only the named groups, one member each.
    h.send(c, b"SUB work q 5\r\nSUB work q 6\r\nSUB work 7\r\n");
    h.take(link);
    h.send(link, b"LMSG work 1\r\na\r\n");
    assert_eq!(h.take(c), "MSG work 7 1\r\na\r\n");
    h.send(link, b"LMSG work | q 1\r\nb\r\n");
    let got = h.take(c);
    assert_eq!(got.matches("MSG work").count(), 2, "{got}");
    assert!(got.contains("MSG work 7 1\r\nb\r\n"));
    assert_eq!(h.take(link), "", "never back to the hub's own member");
}

#[test]
fn a_loop_closes_the_link_and_delays_the_redial() {
    let mut h = Harness::new(config(remote("hub")));
    let (link, sent) = link_up(&mut h);
    let lds = lds(&sent);
    h.send(link, format!("LS+ {lds}\r\n").as_bytes());
    assert_eq!(
        h.take(link),
        "-ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'\r\n"
    );
    assert_eq!(h.closed(link), Some(CloseReason::ProtocolViolation));
    h.advance(Duration::from_secs(29));
    assert!(h.dials.is_empty(), "no redial before 30 s");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.dials.len(), 1);
    // Another server's loop subject is only interest, not a loop.
    let link = h.leaf_connect().unwrap();
    h.send(link, HUB_INFO);
    h.send(link, b"LS+ $LDS.someoneelse\r\n");
    assert_eq!(h.closed(link), None);
}

#[test]
fn a_lost_link_is_redialed_and_interest_resent() {
    let mut h = Harness::new(config(remote("hub")));
    let (link, _) = link_up(&mut h);
    let c = client(&mut h, "SUB keep 1\r\n");
    h.send(link, b"LS+ hubside\r\n");
    h.disconnect(link);
    // Published while the link is down: not forwarded, nothing local disturbed.
    h.send(c, b"PUB hubside 1\r\nx\r\nPUB keep 1\r\ny\r\n");
    assert_eq!(h.take(c), "MSG keep 1 1\r\ny\r\n");
    h.advance(Duration::from_millis(999));
    assert!(h.dials.is_empty());
    h.advance(Duration::from_millis(2));
    h.leaf_dial_fails();
    h.advance(Duration::from_secs(1));
    let (link, sent) = {
        let link = h.leaf_connect().unwrap();
        h.send(link, HUB_INFO);
        let sent = h.take(link);
        (link, sent)
    };
    assert!(sent.contains("LS+ keep\r\n"), "{sent}");
    h.send(c, b"PUB hubside 1\r\nx\r\n");
    assert_eq!(h.take(link), "", "the old link's interest is gone");
    // After shutdown nothing is dialed.
    h.shutdown();
    h.advance(Duration::from_secs(5));
    assert!(h.dials.is_empty());
}

#[test]
fn deny_rules_filter_both_directions() {
    let mut r = remote("hub");
    r.deny_imports = vec!["private.>".into()];
    r.deny_exports = vec!["secret.>".into()];
    let mut h = Harness::new(config(r));
    let c = client(&mut h, "SUB private.x 1\r\nSUB open 2\r\n");
    let (link, sent) = link_up(&mut h);
    assert!(!sent.contains("LS+ private"), "{sent}");
    assert!(sent.contains(r#""deny_pub":["private.>"]"#), "{sent}");
    h.send(link, b"LS+ secret.a\r\nLS+ shared\r\n");
    h.send(c, b"PUB secret.a 1\r\nx\r\nPUB shared 1\r\ny\r\n");
    assert_eq!(h.take(link), "LMSG shared 1\r\ny\r\n");
    // Not through a wildcard interest either.
    h.send(link, b"LS+ >\r\n");
    h.send(c, b"PUB secret.b 1\r\nx\r\nPUB other 1\r\nz\r\n");
    assert_eq!(h.take(link), "LMSG other 1\r\nz\r\n");
    h.send(link, b"LMSG private.x 1\r\nz\r\nLMSG open 1\r\nw\r\n");
    assert_eq!(h.take(c), "MSG open 2 1\r\nw\r\n");
}

#[test]
fn a_client_port_is_not_a_hub_and_bad_input_closes_the_link() {
    let mut h = Harness::new(config(remote("hub")));
    h.advance(Duration::from_millis(1));
    let link = h.leaf_connect().unwrap();
    h.send(link, b"INFO {\"server_id\":\"N\",\"headers\":true}\r\n");
    assert_eq!(h.closed(link), Some(CloseReason::ProtocolViolation));
    h.advance(Duration::from_secs(2));
    let link = h.leaf_connect().unwrap();
    h.send(link, HUB_INFO);
    h.send(link, b"MSG x 1 1\r\na\r\n");
    assert_eq!(h.closed(link), Some(CloseReason::ProtocolViolation));
    // Links are not clients: monitoring's connection list leaves them out.
    assert_eq!(h.broker.connections().count(), 0);
}

/// A leaf attaches to the harness's broker (the hub side): returns the link and its INFO.
fn accepted(h: &mut Harness, connect: &str) -> (ConnId, String) {
    let link = h
        .broker
        .accept_leaf(crate::PeerInfo::in_process(), h.now)
        .unwrap();
    h.conns.entry(link).or_default();
    h.drain();
    let info = h.take(link);
    h.send(link, format!("CONNECT {connect}\r\n").as_bytes());
    (link, info)
}

#[test]
fn as_a_hub_it_sends_info_then_all_interest_after_connect() {
    let mut h = Harness::new(Config {
        leaf_listen: Some(("127.0.0.1".into(), 7422)),
        ..Config::default()
    });
    let _c = client(&mut h, "SUB foo 1\r\nSUB work q 2\r\n");
    let (leaf, info) = accepted(&mut h, r#"{"name":"edge","hub":false,"headers":true}"#);
    assert!(
        info.starts_with("INFO {") && info.ends_with(" \r\n"),
        "{info}"
    );
    for field in [
        r#""leafnode_urls":["127.0.0.1:7422"]"#,
        r#""client_id":2"#,
        r#""headers":true"#,
    ] {
        assert!(info.contains(field), "{info} lacks {field}");
    }
    let sent = h.take(leaf);
    assert!(
        sent.starts_with("LS+ foo\r\nLS+ work q 1\r\nLS+ $LDS."),
        "{sent}"
    );
    // The leaf's interest routes local publishes to it; its messages reach local clients.
    h.send(leaf, b"LS+ edge.>\r\n");
    let c2 = client(&mut h, "SUB from.edge 9\r\n");
    assert_eq!(h.take(leaf), "LS+ from.edge\r\n");
    h.send(c2, b"PUB edge.x 2\r\nhi\r\n");
    assert_eq!(h.take(leaf), "LMSG edge.x 2\r\nhi\r\n");
    h.send(leaf, b"LMSG from.edge 3\r\nyes\r\n");
    assert_eq!(h.take(c2), "MSG from.edge 9 3\r\nyes\r\n");
    // A client knocking on the leaf port is told so.
    let (wrong, _) = accepted(&mut h, r#"{"lang":"go","verbose":false}"#);
    assert_eq!(
        h.take(wrong),
        "-ERR 'attempted to connect to leaf node port'\r\n"
    );
    assert_eq!(h.closed(wrong), Some(CloseReason::ProtocolViolation));
}

#[test]
fn a_hub_passes_interest_and_messages_between_its_leafs() {
    let mut h = Harness::new(Config::default());
    let (a, _) = accepted(&mut h, r#"{"name":"a"}"#);
    let (b, _) = accepted(&mut h, r#"{"name":"b"}"#);
    // Our own loop subject, as every link learns it, and leaf A's.
    let ours = lds(&h.take(a));
    h.take(b);
    let lds_a = "$LDS.leafAsOwnSubject";
    // A's interest (and its loop subject) reaches B, not A itself.
    h.send(
        a,
        format!("LS+ shared\r\nLS+ {lds_a}\r\nLS+ grp g 3\r\n").as_bytes(),
    );
    assert_eq!(
        h.take(b),
        format!("LS+ shared\r\nLS+ {lds_a}\r\nLS+ grp g 3\r\n")
    );
    assert_eq!(h.take(a), "");
    // B's message reaches A once, and never goes back to B.
    h.send(b, b"LS+ shared\r\n");
    h.take(a);
    h.send(b, b"LMSG shared 1\r\nx\r\nLMSG grp | g 1\r\ny\r\n");
    assert_eq!(h.take(a), "LMSG shared 1\r\nx\r\nLMSG grp | g 1\r\ny\r\n");
    assert_eq!(h.take(b), "");
    // A queue weight change is passed on; a closed leaf's interest is withdrawn.
    h.send(a, b"LS+ grp g 5\r\n");
    assert_eq!(h.take(b), "LS+ grp g 5\r\n");
    h.disconnect(a);
    let gone = h.take(b);
    for line in [
        "LS- grp g\r\n".to_owned(),
        "LS- shared\r\n".to_owned(),
        format!("LS- {lds_a}\r\n"),
    ] {
        assert!(gone.contains(&line), "{gone} lacks {line}");
    }
    // Our own loop subject coming back over a link is a loop: that link closes.
    h.send(b, format!("LS+ {ours}\r\n").as_bytes());
    assert!(h.take(b).starts_with("-ERR 'Loop detected"));
    assert_eq!(h.closed(b), Some(CloseReason::ProtocolViolation));
}

#[test]
fn a_spoke_passes_on_accepted_leafs_interest_but_never_another_hubs() {
    let mut h = Harness::new(config(remote("hub")));
    let (up, _) = link_up(&mut h);
    let (down, _) = accepted(&mut h, r#"{"name":"edge"}"#);
    h.take(down);
    // The edge leaf's interest goes up to our hub...
    h.send(down, b"LS+ edge.data\r\n");
    assert_eq!(h.take(up), "LS+ edge.data\r\n");
    // ...and our hub's interest goes down to the edge leaf (a hub link hears everything).
    h.send(up, b"LS+ hub.data\r\n");
    assert_eq!(h.take(down), "LS+ hub.data\r\n");
    // A message from the hub reaches the edge leaf, and the edge's reaches the hub.
    h.send(up, b"LMSG edge.data 1\r\nx\r\n");
    assert_eq!(h.take(down), "LMSG edge.data 1\r\nx\r\n");
    h.send(down, b"LMSG hub.data 1\r\ny\r\n");
    assert_eq!(h.take(up), "LMSG hub.data 1\r\ny\r\n");
}

#[test]
fn a_remote_bound_to_an_account_carries_only_that_accounts_traffic() {
    let mut config = config(LeafRemote {
        account: "A".into(),
        ..remote("nats-leaf://hub:7422")
    });
    config.accounts = vec![crate::Account::new("A")];
    let mut a_user = crate::User::new("a", "pw");
    a_user.account = "A".into();
    config.auth = crate::Auth::Users(vec![a_user, crate::User::new("g", "pw")]);
    let mut h = Harness::new(config);
    let login = |h: &mut Harness, user: &str, ops: &str| {
        let c = h.connect().unwrap();
        h.send(
            c,
            format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"pw\"}}\r\n{ops}")
                .as_bytes(),
        );
        h.take(c);
        c
    };
    let a = login(&mut h, "a", "SUB in.a 1\r\n");
    let g = login(&mut h, "g", "SUB in.g 1\r\nSUB in.a 2\r\n");
    let (link, sent) = link_up(&mut h);
    assert!(sent.contains(r#""remote_account":"A""#), "{sent}");
    assert!(
        sent.contains("LS+ in.a\r\n") && !sent.contains("in.g"),
        "{sent}"
    );
    // Interest changes of the global account are not the link's business.
    h.send(g, b"SUB later.g 3\r\n");
    h.send(a, b"SUB later.a 2\r\n");
    assert_eq!(h.take(link), "LS+ later.a\r\n");
    // The hub's messages land in A only; the hub's interest reaches A's publishers only.
    h.send(link, b"LMSG in.a 2\r\nhi\r\nLS+ out\r\n");
    assert_eq!(h.take(a), "MSG in.a 1 2\r\nhi\r\n");
    assert_eq!(h.take(g), "");
    h.send(g, b"PUB out 1\r\ng\r\n");
    h.send(a, b"PUB out 1\r\na\r\n");
    assert_eq!(h.take(link), "LMSG out 1\r\na\r\n");
}
