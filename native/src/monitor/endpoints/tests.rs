use std::net::SocketAddr;

use bytes::BytesMut;
use serde_json::Value;
use skiff_core::{Broker, Config, ConnId, Instant, PeerInfo};

use super::*;
use crate::http::parse_query;

fn state() -> MonitorState {
    let http: SocketAddr = "127.0.0.1:8222".parse().unwrap();
    MonitorState::new(SystemTime::now(), http, "127.0.0.1".into(), None)
}

fn request(target: &str) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: "GET".into(),
        path: path.into(),
        query: parse_query(query),
        keep_alive: true,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

fn client(broker: &mut Broker, port: u16, input: &str) -> ConnId {
    let peer = PeerInfo::tcp(SocketAddr::from(([127, 0, 0, 1], port)));
    let conn = broker.accept(peer, Instant::ZERO).unwrap();
    broker.handle_input(conn, BytesMut::from(input.as_bytes()), Instant::ZERO);
    while broker.poll_output().is_some() {}
    conn
}

/// Two clients: `a` subscribes to `foo` and `bar q`, `b` publishes twice to `foo`.
fn broker() -> Broker {
    let mut broker = Broker::new(Config::default(), 7, Instant::ZERO);
    client(
        &mut broker,
        5001,
        "CONNECT {\"verbose\":false,\"name\":\"a\",\"lang\":\"rust\"}\r\nSUB foo 1\r\nSUB bar q 2\r\n",
    );
    client(
        &mut broker,
        5002,
        "CONNECT {\"verbose\":false}\r\nPUB foo 3\r\none\r\nPUB foo 3\r\ntwo\r\n",
    );
    broker
}

fn json(response: &Response) -> Value {
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).unwrap()
}

fn get(broker: &Broker, target: &str) -> Response {
    crate::monitor::respond(broker, Instant::ZERO, &state(), &request(target))
}

#[test]
fn varz_counts_traffic_connections_and_subscriptions() {
    let broker = broker();
    let v = json(&get(&broker, "/varz"));
    assert_eq!(v["version"], skiff_core::NATS_VERSION);
    assert_eq!(v["skiff_version"], skiff_core::VERSION);
    assert_eq!(v["connections"], 2);
    assert_eq!(v["total_connections"], 2);
    assert_eq!(v["subscriptions"], 2);
    assert_eq!(
        (v["in_msgs"].clone(), v["in_bytes"].clone()),
        (2.into(), 6.into())
    );
    assert_eq!(
        (v["out_msgs"].clone(), v["out_bytes"].clone()),
        (2.into(), 6.into())
    );
    assert_eq!(v["ping_interval"], 120_000_000_000u64);
    assert_eq!(
        v["auth_timeout"].to_string(),
        "2",
        "Go writes whole floats bare"
    );
    assert_eq!(v["http_port"], 8222);
}

#[test]
fn connz_lists_counters_and_subscriptions() {
    let broker = broker();
    let c = json(&get(&broker, "/connz?subs=detail"));
    assert_eq!(
        (c["num_connections"].clone(), c["total"].clone()),
        (2.into(), 2.into())
    );
    let a = &c["connections"][0];
    assert_eq!(
        (a["cid"].clone(), a["name"].clone(), a["port"].clone()),
        (1.into(), "a".into(), 5001.into())
    );
    assert_eq!(
        (a["out_msgs"].clone(), a["out_bytes"].clone()),
        (2.into(), 6.into())
    );
    assert_eq!(a["type"], "nats");
    let subs = a["subscriptions_list_detail"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["msgs"], 2);
    assert_eq!(subs[1]["qgroup"], "q");
    let b = &c["connections"][1];
    assert_eq!(
        (b["in_msgs"].clone(), b["in_bytes"].clone()),
        (2.into(), 6.into())
    );
    assert!(
        b.get("name").is_none(),
        "empty names are left out, as nats-server does"
    );

    let list = json(&get(&broker, "/connz?subs=1"));
    assert_eq!(
        list["connections"][0]["subscriptions_list"],
        serde_json::json!(["foo", "bar"])
    );
}

#[test]
fn connz_sorts_pages_and_filters() {
    let broker = broker();
    let cids = |target: &str| -> Vec<u64> {
        json(&get(&broker, target))["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["cid"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(cids("/connz"), [1, 2]);
    assert_eq!(cids("/connz?sort=msgs_from"), [2, 1]);
    assert_eq!(cids("/connz?sort=subs"), [1, 2]);
    assert_eq!(cids("/connz?sort=bytes_to"), [1, 2]);
    assert_eq!(cids("/connz?limit=1&offset=1"), [2]);
    assert_eq!(cids("/connz?cid=2"), [2]);
    assert_eq!(cids("/connz?state=closed"), Vec::<u64>::new());
    assert_eq!(cids("/connz?state=any"), [1, 2]);
    let paged = json(&get(&broker, "/connz?limit=1"));
    assert_eq!(
        (paged["total"].clone(), paged["limit"].clone()),
        (2.into(), 1.into())
    );
}

#[test]
fn bad_query_values_get_400_with_nats_servers_texts() {
    let broker = broker();
    for (target, text) in [
        ("/connz?sort=bogus", "invalid sorting option: bogus"),
        (
            "/connz?sort=stop",
            "sort by stop only valid on closed connections",
        ),
        (
            "/connz?subs=maybe",
            "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
        (
            "/connz?limit=x",
            "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        ("/connz?state=bogus", "Error decoding state for bogus"),
        (
            "/subsz?test=foo.*",
            "invalid test subject, must be valid publish subject: foo.*",
        ),
    ] {
        let r = get(&broker, target);
        assert_eq!(r.status, 400, "{target}");
        assert_eq!(String::from_utf8(r.body).unwrap(), text);
    }
    assert_eq!(get(&broker, "/routez/nothing").status, 404);
    let mut post = request("/varz");
    post.method = "POST".into();
    assert_eq!(
        crate::monitor::respond(&broker, Instant::ZERO, &state(), &post).status,
        405
    );
}

#[test]
fn subsz_lists_and_tests_subjects() {
    let broker = broker();
    let s = json(&get(&broker, "/subsz"));
    assert_eq!(s["num_subscriptions"], 2);
    assert!(s.get("subscriptions_list").is_none());
    let s = json(&get(&broker, "/subsz?subs=1&test=foo"));
    assert_eq!(s["total"], 1);
    assert_eq!(s["subscriptions_list"][0]["subject"], "foo");
    assert_eq!(s["subscriptions_list"][0]["account"], "$G");
    let s = json(&get(&broker, "/subscriptionsz?subs=true"));
    assert_eq!(s["total"], 2);
}

#[test]
fn healthz_and_index() {
    let broker = broker();
    let h = get(&broker, "/healthz");
    assert_eq!(h.body, br#"{"status":"ok"}"#);
    let index = get(&broker, "/");
    assert!(String::from_utf8(index.body).unwrap().contains("./connz"));
    let counted = state();
    crate::monitor::respond(&broker, Instant::ZERO, &counted, &request("/varz"));
    let v = json(&crate::monitor::respond(
        &broker,
        Instant::ZERO,
        &counted,
        &request("/varz"),
    ));
    assert_eq!(v["http_req_stats"]["/varz"], 2);
}

#[test]
fn closed_connections_show_stop_and_reason() {
    let mut broker = broker();
    let c = client(
        &mut broker,
        5003,
        "CONNECT {\"verbose\":false,\"name\":\"gone\"}\r\n",
    );
    broker.handle_eof(c, skiff_core::CloseReason::ClientClosed, Instant::ZERO);
    while broker.poll_output().is_some() {}
    let closed = json(&get(&broker, "/connz?state=closed"));
    assert_eq!(closed["total"], 1);
    let gone = &closed["connections"][0];
    assert_eq!(
        (gone["name"].clone(), gone["reason"].clone()),
        ("gone".into(), "Client Closed".into())
    );
    assert!(gone["stop"].is_string());
    let any = json(&get(&broker, "/connz?state=all"));
    assert_eq!(any["total"], 3);
    // As in nats-server, stop and reason sort closed connections only.
    assert_eq!(get(&broker, "/connz?state=all&sort=stop").status, 400);
    assert_eq!(
        json(&get(&broker, "/connz?state=closed&sort=reason"))["total"],
        1
    );
}

#[test]
fn connz_auth_shows_users_and_accounts() {
    let mut config = Config::default();
    config.accounts = vec![skiff_core::Account::new("A")];
    let mut a = skiff_core::User::new("alice", "pw");
    a.account = "A".into();
    config.auth = skiff_core::Auth::Users(vec![a, skiff_core::User::new("bob", "pw")]);
    let mut broker = Broker::new(config, 7, Instant::ZERO);
    client(
        &mut broker,
        5001,
        "CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw\"}\r\nSUB foo 1\r\n",
    );
    client(
        &mut broker,
        5002,
        "CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"pw\"}\r\n",
    );
    let c = json(&get(&broker, "/connz"));
    assert!(c["connections"][0].get("authorized_user").is_none());
    let c = json(&get(&broker, "/connz?auth=true"));
    assert_eq!(c["connections"][0]["authorized_user"], "alice");
    assert_eq!(c["connections"][0]["account"], "A");
    assert_eq!(c["connections"][1]["authorized_user"], "bob");
    assert!(
        c["connections"][1].get("account").is_none(),
        "$G is left out"
    );
    let c = json(&get(&broker, "/connz?auth=1&acc=A"));
    assert_eq!(c["total"], 1);
    let c = json(&get(&broker, "/connz?auth=1&user=bob"));
    assert_eq!(c["connections"][0]["authorized_user"], "bob");
    let s = json(&get(&broker, "/subsz?subs=1"));
    assert_eq!(s["subscriptions_list"][0]["account"], "A");
}
