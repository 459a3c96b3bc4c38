//! Accounts through the deterministic harness: isolation, imports, response subjects and
//! their lifetimes, re-authentication and reload.

use std::time::Duration;

use crate::testing::Harness;
use crate::{Account, Auth, Config, ConnId, Export, Import, ImportKind, ResponseType, User};

fn user(name: &str, account: &str) -> User {
    User {
        account: account.into(),
        ..User::new(name, "pw")
    }
}

/// Accounts `SVC` (exporting service `help` of `response_type`, stream `news.>`) and `APP`
/// (importing both, the service as `ask`), users `svc` and `app`.
fn config(response_type: ResponseType) -> Config {
    let mut svc = Account::new("SVC");
    let mut help = Export::new(ImportKind::Service, "help");
    help.response_type = response_type;
    help.response_threshold = Duration::from_secs(5);
    svc.exports = vec![help, Export::new(ImportKind::Stream, "news.>")];
    let mut app = Account::new("APP");
    let mut ask = Import::new(ImportKind::Service, "SVC", "help");
    ask.to = Some("ask".into());
    app.imports = vec![ask, Import::new(ImportKind::Stream, "SVC", "news.>")];
    Config {
        accounts: vec![svc, app],
        auth: Auth::Users(vec![user("svc", "SVC"), user("app", "APP"), user("g", "")]),
        // No server PINGs in the way.
        ping_interval: Duration::from_secs(3600),
        disable_short_first_ping: true,
        ..Config::default()
    }
}

fn login(h: &mut Harness, name: &str) -> ConnId {
    let c = h.connect().expect("accepting");
    h.take(c);
    let connect = format!("CONNECT {{\"verbose\":false,\"user\":\"{name}\",\"pass\":\"pw\"}}\r\n");
    h.send(c, connect.as_bytes());
    assert_eq!(h.take(c), "");
    c
}

/// Sends a request from `app` on `ask` and returns the reply subject `svc` sees.
fn request(h: &mut Harness, app: ConnId, svc: ConnId) -> String {
    h.send(app, b"PUB ask inbox 1\r\nq\r\n");
    let got = h.take(svc);
    let reply = got
        .strip_prefix("MSG help 1 ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("request not delivered: {got:?}"));
    assert!(reply.starts_with("_R_."), "{reply}");
    reply.to_owned()
}

#[test]
fn the_same_subject_in_two_accounts_stays_apart() {
    let mut h = Harness::new(config(ResponseType::Singleton));
    let (svc, app, g) = (
        login(&mut h, "svc"),
        login(&mut h, "app"),
        login(&mut h, "g"),
    );
    for c in [svc, app, g] {
        h.send(c, b"SUB x 1\r\n");
    }
    h.send(app, b"PUB x 1\r\na\r\n");
    assert_eq!(h.take(app), "MSG x 1 1\r\na\r\n");
    assert_eq!((h.take(svc), h.take(g)), (String::new(), String::new()));
    assert_eq!(h.broker.stats().subscriptions, 3);
}

#[test]
fn a_singleton_response_is_delivered_once() {
    let mut h = Harness::new(config(ResponseType::Singleton));
    let (svc, app) = (login(&mut h, "svc"), login(&mut h, "app"));
    h.send(svc, b"SUB help 1\r\n");
    h.send(app, b"SUB inbox 1\r\n");
    let reply = request(&mut h, app, svc);
    h.send(
        svc,
        format!("PUB {reply} 2\r\nr1\r\nPUB {reply} 2\r\nr2\r\n").as_bytes(),
    );
    assert_eq!(h.take(app), "MSG inbox 1 2\r\nr1\r\n");
}

#[test]
fn streamed_responses_last_until_the_threshold_passes_without_one() {
    let mut h = Harness::new(config(ResponseType::Stream));
    let (svc, app) = (login(&mut h, "svc"), login(&mut h, "app"));
    h.send(svc, b"SUB help 1\r\n");
    h.send(app, b"SUB inbox 1\r\n");
    let reply = request(&mut h, app, svc);
    for n in 0..3 {
        h.advance(Duration::from_secs(4));
        h.send(svc, format!("PUB {reply} 1\r\n{n}\r\n").as_bytes());
        assert_eq!(h.take(app), format!("MSG inbox 1 1\r\n{n}\r\n"));
    }
    h.advance(Duration::from_secs(6));
    h.send(svc, format!("PUB {reply} 1\r\nz\r\n").as_bytes());
    assert_eq!(h.take(app), "");
}

#[test]
fn a_chunked_response_ends_with_an_empty_message() {
    let mut h = Harness::new(config(ResponseType::Chunked));
    let (svc, app) = (login(&mut h, "svc"), login(&mut h, "app"));
    h.send(svc, b"SUB help 1\r\n");
    h.send(app, b"SUB inbox 1\r\n");
    let reply = request(&mut h, app, svc);
    h.send(
        svc,
        format!("PUB {reply} 1\r\na\r\nPUB {reply} 0\r\n\r\nPUB {reply} 1\r\nb\r\n").as_bytes(),
    );
    assert_eq!(h.take(app), "MSG inbox 1 1\r\na\r\nMSG inbox 1 0\r\n\r\n");
}

#[test]
fn a_response_subject_is_only_the_exporters() {
    let mut h = Harness::new(config(ResponseType::Singleton));
    let (svc, app, g) = (
        login(&mut h, "svc"),
        login(&mut h, "app"),
        login(&mut h, "g"),
    );
    h.send(svc, b"SUB help 1\r\n");
    h.send(app, b"SUB inbox 1\r\n");
    let reply = request(&mut h, app, svc);
    // Another account publishing on the same subject is not a response.
    h.send(g, format!("PUB {reply} 1\r\nx\r\n").as_bytes());
    h.send(app, format!("PUB {reply} 1\r\nx\r\n").as_bytes());
    assert_eq!(h.take(app), "");
    h.send(svc, format!("PUB {reply} 1\r\nr\r\n").as_bytes());
    assert_eq!(h.take(app), "MSG inbox 1 1\r\nr\r\n");
}

#[test]
fn a_second_connect_into_another_account_drops_the_old_subscriptions() {
    let mut h = Harness::new(config(ResponseType::Singleton));
    let (svc, c) = (login(&mut h, "svc"), login(&mut h, "app"));
    h.send(c, b"SUB news.> 1\r\nSUB x 2\r\n");
    h.send(
        c,
        b"CONNECT {\"verbose\":false,\"user\":\"svc\",\"pass\":\"pw\"}\r\n",
    );
    h.send(svc, b"PUB x 1\r\n1\r\nPUB news.a 1\r\n2\r\n");
    assert_eq!(h.take(c), "");
    assert_eq!(h.broker.stats().subscriptions, 0);
    h.send(c, b"SUB x 3\r\n");
    h.send(svc, b"PUB x 1\r\n1\r\n");
    assert_eq!(h.take(c), "MSG x 3 1\r\n1\r\n");
}

#[test]
fn reload_closes_a_user_moved_to_another_account_and_reroutes_imports() {
    let mut h = Harness::new(config(ResponseType::Singleton));
    let (svc, app) = (login(&mut h, "svc"), login(&mut h, "app"));
    h.send(app, b"SUB news.> 1\r\n");
    let mut next = config(ResponseType::Singleton);
    // `svc` moves to the global account; APP no longer imports the stream.
    next.auth = Auth::Users(vec![user("svc", ""), user("app", "APP")]);
    next.accounts[1].imports.truncate(1);
    h.broker.reload(next, h.now).expect("valid config");
    h.drain();
    assert!(h.closed(svc).is_some(), "the moved user is closed");
    let svc = login(&mut h, "svc");
    h.send(svc, b"PUB news.a 1\r\nx\r\n");
    assert_eq!(h.take(app), "");
    assert!(h.closed(app).is_none());
}

#[test]
fn imports_need_a_matching_export() {
    let mut config = config(ResponseType::Singleton);
    config.accounts[1]
        .imports
        .push(Import::new(ImportKind::Service, "SVC", "news.x"));
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "Error adding service import \"news.x\": service import not authorized"
    );
    config.accounts[1].imports.pop();
    config.accounts[1]
        .imports
        .push(Import::new(ImportKind::Stream, "NOPE", "a"));
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "\"NOPE\" account not defined for stream import"
    );
}

#[test]
fn a_request_follows_a_chain_of_service_imports_and_the_answer_comes_back() {
    // B imports `help` from A, which imports it from C: C answers B.
    let mut c = Account::new("C");
    c.exports = vec![Export::new(ImportKind::Service, "help")];
    let mut a = Account::new("A");
    a.exports = vec![Export::new(ImportKind::Service, "help")];
    a.imports = vec![Import::new(ImportKind::Service, "C", "help")];
    let mut b = Account::new("B");
    b.imports = vec![Import::new(ImportKind::Service, "A", "help")];
    let config = Config {
        accounts: vec![c, a, b],
        auth: Auth::Users(vec![user("c", "C"), user("b", "B")]),
        ping_interval: Duration::from_secs(3600),
        disable_short_first_ping: true,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (responder, requester) = (login(&mut h, "c"), login(&mut h, "b"));
    h.send(responder, b"SUB help 1\r\n");
    h.send(requester, b"SUB inbox 1\r\nPUB help inbox 1\r\nq\r\n");
    let got = h.take(responder);
    let reply = got
        .strip_prefix("MSG help 1 ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the request did not reach C: {got:?}"))
        .to_owned();
    h.send(responder, format!("PUB {reply} 1\r\nr\r\n").as_bytes());
    assert_eq!(h.take(requester), "MSG inbox 1 1\r\nr\r\n");
}

#[test]
fn an_import_cycle_ends() {
    // A and B import `loop` from each other: a request stops after a few hops, unanswered.
    let mut a = Account::new("A");
    a.exports = vec![Export::new(ImportKind::Service, "loop")];
    a.imports = vec![Import::new(ImportKind::Service, "B", "loop")];
    let mut b = Account::new("B");
    b.exports = vec![Export::new(ImportKind::Service, "loop")];
    b.imports = vec![Import::new(ImportKind::Service, "A", "loop")];
    let config = Config {
        accounts: vec![a, b],
        auth: Auth::Users(vec![user("a", "A")]),
        ping_interval: Duration::from_secs(3600),
        disable_short_first_ping: true,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = login(&mut h, "a");
    h.send(
        c,
        b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"user\":\"a\",\"pass\":\"pw\"}\r\nSUB inbox 1\r\nPUB loop inbox 1\r\nq\r\nPING\r\n",
    );
    assert_eq!(
        h.take(c),
        "HMSG inbox 1 36 36\r\nNATS/1.0 503\r\nNats-Subject: loop\r\n\r\n\r\nPONG\r\n"
    );
}
