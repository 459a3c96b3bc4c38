//! Injected faults, end to end: real clients react to them (async-nats here, nats-py for the
//! async INFO fields async-nats does not expose).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use async_nats::{Event, HeaderMap};
use bytes::Bytes;
use futures::StreamExt;
use skiff::{Fault, Lasting, Refusal, Server, Target};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// A client named `name` that reconnects quickly, and its connection events.
async fn named(
    server: &Server,
    name: &str,
    ping_interval: Option<Duration>,
) -> (async_nats::Client, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        });
    if let Some(interval) = ping_interval {
        options = options.ping_interval(interval);
    }
    let client = options
        .connect(server.client_url().unwrap())
        .await
        .expect("connecting");
    (client, rx)
}

async fn plain(server: &Server) -> async_nats::Client {
    async_nats::connect(server.client_url().unwrap())
        .await
        .expect("connecting")
}

/// Waits for `wanted` among the events, skipping others.
async fn expect_event(events: &mut mpsc::UnboundedReceiver<Event>, wanted: Event) {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Some(event) if event == wanted => return,
                Some(_) => {}
                None => panic!("events ended before {wanted:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {wanted:?} event"));
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("timed out")
        .expect("subscription ended")
}

/// Publishes on `subject` every 50 ms until `sub` receives one.
async fn publish_until_received(
    publisher: &async_nats::Client,
    sub: &mut async_nats::Subscriber,
    subject: &'static str,
) -> async_nats::Message {
    tokio::time::timeout(WAIT, async {
        loop {
            publisher.publish(subject, "ping".into()).await.unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
                return m;
            }
        }
    })
    .await
    .expect("never received after the reconnect")
}

#[tokio::test]
async fn a_forced_close_makes_async_nats_reconnect_and_resubscribe() {
    let server = common::embedded();
    let (victim, mut events) = named(&server, "victim", None).await;
    let mut sub = victim.subscribe("jobs").await.unwrap();
    victim.flush().await.unwrap();
    expect_event(&mut events, Event::Connected).await;
    let before = victim.server_info().client_id;

    server
        .inject_async(Fault::Close {
            target: Target::Name("victim".into()),
            err: Some("injected close".into()),
        })
        .await
        .unwrap();
    expect_event(&mut events, Event::Disconnected).await;
    expect_event(&mut events, Event::Connected).await;

    let publisher = plain(&server).await;
    let m = publish_until_received(&publisher, &mut sub, "jobs").await;
    assert_eq!(m.payload, "ping");
    let after = victim.server_info().client_id;
    assert_ne!(before, after, "a new connection carries the subscription");
}

#[tokio::test]
async fn closing_the_next_subscriber_is_survived_by_resubscribing() {
    let server = common::embedded();
    let (victim, mut events) = named(&server, "victim", None).await;
    victim.flush().await.unwrap();
    expect_event(&mut events, Event::Connected).await;
    server
        .inject_async(Fault::CloseNextSubscriber {
            subject: "orders.*".into(),
            err: None,
        })
        .await
        .unwrap();
    assert_eq!(server.faults().len(), 1);
    let mut sub = victim.subscribe("orders.eu").await.unwrap();
    expect_event(&mut events, Event::Disconnected).await;
    expect_event(&mut events, Event::Connected).await;
    assert!(server.faults().is_empty(), "the fault fired once");
    let publisher = plain(&server).await;
    publish_until_received(&publisher, &mut sub, "orders.eu").await;
}

#[tokio::test]
async fn stale_detection_fires_when_pings_go_unanswered() {
    let server = common::embedded();
    let (client, mut events) = named(&server, "stale", Some(Duration::from_millis(100))).await;
    client.flush().await.unwrap();
    expect_event(&mut events, Event::Connected).await;
    let id = server
        .inject_async(Fault::IgnorePings {
            target: Target::Name("stale".into()),
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    // async-nats gives up after three unanswered PINGs and reconnects.
    expect_event(&mut events, Event::Disconnected).await;
    server.clear_async(id).await.unwrap();
    expect_event(&mut events, Event::Connected).await;
    tokio::time::timeout(WAIT, client.flush())
        .await
        .expect("flush after the fault")
        .unwrap();
}

#[tokio::test]
async fn async_nats_sees_lame_duck_mode_from_an_async_info() {
    let server = common::embedded();
    let (client, mut events) = named(&server, "ldm", None).await;
    client.flush().await.unwrap();
    expect_event(&mut events, Event::Connected).await;
    server
        .inject_async(Fault::AsyncInfo {
            target: Target::All,
            connect_urls: vec![],
            lame_duck: true,
        })
        .await
        .unwrap();
    expect_event(&mut events, Event::LameDuckMode).await;
}

#[tokio::test]
async fn one_byte_writes_still_deliver_intact_messages() {
    let server = common::embedded();
    let (client, _events) = named(&server, "split", None).await;
    let mut sub = client.subscribe("split.>").await.unwrap();
    client.flush().await.unwrap();
    server
        .inject_async(Fault::SplitWrites {
            target: Target::Name("split".into()),
            chunk: 1,
            delay: Duration::ZERO,
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    let publisher = plain(&server).await;
    let sizes = [0usize, 1, 2, 13, 200, 1023, 1024, 3000];
    for (i, &size) in sizes.iter().enumerate() {
        let payload: Bytes = (0..size)
            .map(|b| (b % 251) as u8)
            .collect::<Vec<u8>>()
            .into();
        let mut headers = HeaderMap::new();
        headers.insert("Index", i.to_string().as_str());
        publisher
            .publish_with_headers(format!("split.{i}"), headers, payload)
            .await
            .unwrap();
    }
    publisher.flush().await.unwrap();
    for (i, &size) in sizes.iter().enumerate() {
        let m = next(&mut sub).await;
        assert_eq!(m.subject.as_str(), format!("split.{i}"));
        let expected: Vec<u8> = (0..size).map(|b| (b % 251) as u8).collect();
        assert_eq!(&m.payload[..], &expected[..]);
        let index = m.headers.as_ref().and_then(|h| h.get("Index")).unwrap();
        assert_eq!(index.as_str(), i.to_string());
    }
}

/// Pieces paced by the host's timer: 1-byte pieces 2 ms apart still make whole messages.
#[tokio::test]
async fn paced_single_byte_writes_arrive_late_but_intact() {
    let server = common::embedded();
    let (client, _events) = named(&server, "slow", None).await;
    let mut sub = client.subscribe("paced").await.unwrap();
    client.flush().await.unwrap();
    server
        .inject_async(Fault::SplitWrites {
            target: Target::Name("slow".into()),
            chunk: 1,
            delay: Duration::from_millis(2),
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    let publisher = plain(&server).await;
    let start = std::time::Instant::now();
    publisher.publish("paced", "hello".into()).await.unwrap();
    publisher.flush().await.unwrap();
    let m = next(&mut sub).await;
    assert_eq!(m.payload, "hello");
    // "MSG paced 1 5\r\nhello\r\n" is 22 pieces, each 2 ms after the one before.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(40), "arrived after {took:?}");
}

#[tokio::test]
async fn delayed_messages_arrive_after_their_delay() {
    let server = common::embedded();
    let client = plain(&server).await;
    let mut sub = client.subscribe("later").await.unwrap();
    client.flush().await.unwrap();
    server
        .inject_async(Fault::Delay {
            subject: "later".into(),
            by: Duration::from_millis(300),
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    let start = std::time::Instant::now();
    client.publish("later", "one".into()).await.unwrap();
    client.publish("later", "two".into()).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "one");
    assert_eq!(next(&mut sub).await.payload, "two");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "arrived after {took:?}");
}

#[tokio::test]
async fn refused_connects_fail_with_the_server_error() {
    let server = common::embedded();
    server
        .inject_async(Fault::RefuseConnects {
            count: 1,
            refusal: Refusal::Authorization,
        })
        .await
        .unwrap();
    let refused = async_nats::ConnectOptions::new()
        .connect(server.client_url().unwrap())
        .await;
    let error = refused.expect_err("the first connect is refused");
    assert_eq!(
        error.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{error}"
    );
    // The next one is let in.
    let client = plain(&server).await;
    client.flush().await.unwrap();
    assert!(server.faults().is_empty());
}

#[tokio::test]
async fn dropped_and_withheld_messages_as_a_subscriber_sees_them() {
    let server = common::embedded();
    let client = plain(&server).await;
    let mut drops = client.subscribe("drop").await.unwrap();
    let mut held = client.subscribe("held").await.unwrap();
    client.flush().await.unwrap();
    server
        .inject_async(Fault::Drop {
            subject: "drop".into(),
            count: 2,
        })
        .await
        .unwrap();
    let withhold = server
        .inject_async(Fault::Withhold {
            subject: "held".into(),
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    for i in 0..4 {
        client.publish("drop", i.to_string().into()).await.unwrap();
    }
    client.publish("held", "late".into()).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(next(&mut drops).await.payload, "2");
    assert_eq!(next(&mut drops).await.payload, "3");
    let early = tokio::time::timeout(Duration::from_millis(200), held.next()).await;
    assert!(early.is_err(), "a withheld message arrived early");
    server.clear_async(withhold).await.unwrap();
    assert_eq!(next(&mut held).await.payload, "late");
}

#[tokio::test]
async fn a_paused_publisher_is_not_read_until_the_fault_ends() {
    let server = common::embedded();
    let subscriber = plain(&server).await;
    let mut sub = subscriber.subscribe("p").await.unwrap();
    subscriber.flush().await.unwrap();
    let (publisher, _events) = named(&server, "publisher", None).await;
    publisher.flush().await.unwrap();
    let id = server
        .inject_async(Fault::PauseReading {
            target: Target::Name("publisher".into()),
            lasting: Lasting::UntilCleared,
        })
        .await
        .unwrap();
    publisher.publish("p", "queued".into()).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(early.is_err(), "the paused publisher was read");
    server.clear_async(id).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "queued");
}

/// nats-py sees a `connect_urls` change (as discovered servers) and lame duck mode.
#[test]
fn nats_py_sees_connect_urls_and_lame_duck_from_an_async_info() {
    let available = Command::new("python3")
        .args(["-c", "import nats"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("SKIPPED nats_py_sees_connect_urls: python3 with nats-py is not installed");
        return;
    }
    let server = common::embedded();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/nats_py_info.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(server.client_url().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "READY");
    server
        .inject(Fault::AsyncInfo {
            target: Target::Name("py".into()),
            connect_urls: vec!["127.0.0.1:4333".into()],
            lame_duck: true,
        })
        .unwrap();
    let status = common::wait_timeout(&mut child, WAIT);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        status.success() && rest.contains("OK"),
        "nats-py: {status:?}\n{rest}\n{stderr}"
    );
}

// ----- the daemon's control surface -----

/// A request to the daemon's control surface; the reply's payload as text.
async fn control(client: &async_nats::Client, verb: &str, body: &str) -> String {
    let reply = tokio::time::timeout(
        WAIT,
        client.request(format!("$SKIFF.FAULT.{verb}"), body.to_owned().into()),
    )
    .await
    .expect("no reply")
    .expect("request failed");
    String::from_utf8(reply.payload.to_vec()).unwrap()
}

#[tokio::test]
async fn any_nats_client_scripts_faults_through_the_daemon() {
    let daemon = common::Daemon::start(&["--control"]);
    let client = async_nats::connect(daemon.url()).await.unwrap();
    let mut sub = client.subscribe("orders.new").await.unwrap();
    client.flush().await.unwrap();

    let injected = control(
        &client,
        "INJECT",
        r#"{"fault":"drop","subject":"orders.*","count":1}"#,
    )
    .await;
    assert!(injected.starts_with(r#"{"id":"#), "{injected}");
    let listed = control(&client, "LIST", "").await;
    assert!(listed.contains(r#""remaining":1"#), "{listed}");
    client.publish("orders.new", "lost".into()).await.unwrap();
    client.publish("orders.new", "kept".into()).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "kept");
    assert_eq!(control(&client, "LIST", "").await, r#"{"faults":[]}"#);

    let bad = control(&client, "INJECT", r#"{"fault":"explode"}"#).await;
    assert_eq!(bad, r#"{"error":"bad fault: unknown fault \"explode\""}"#);
    let withhold = control(
        &client,
        "INJECT",
        r#"{"fault":"withhold","subject":"orders.new"}"#,
    )
    .await;
    let id = parse_id(&withhold);
    client.publish("orders.new", "late".into()).await.unwrap();
    client.flush().await.unwrap();
    let cleared = control(&client, "CLEAR", &format!(r#"{{"id":{id}}}"#)).await;
    assert_eq!(cleared, r#"{"ok":true}"#);
    assert_eq!(next(&mut sub).await.payload, "late");
}

/// The id in an `{"id":N}` reply.
fn parse_id(reply: &str) -> u64 {
    assert!(reply.starts_with(r#"{"id":"#), "{reply}");
    let digits: String = reply.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// One HTTP request to the daemon's monitoring port: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// The monitoring address from the daemon's `Starting http monitor on` line.
fn monitor_addr(daemon: &common::Daemon) -> String {
    daemon
        .log
        .iter()
        .find_map(|l| l.split("Starting http monitor on ").nth(1))
        .expect("monitor line")
        .trim_start_matches("http://")
        .to_owned()
}

#[tokio::test]
async fn faults_are_scripted_over_the_monitoring_http_server_too() {
    let daemon = common::Daemon::start(&["--control", "-m", "-1"]);
    let http_addr = monitor_addr(&daemon);
    let client = async_nats::connect(daemon.url()).await.unwrap();
    let mut sub = client.subscribe("orders.new").await.unwrap();
    client.flush().await.unwrap();

    let (status, injected) = http(
        &http_addr,
        "POST",
        "/skiff/faults",
        r#"{"fault":"drop","subject":"orders.*","count":1}"#,
    );
    assert_eq!(status, 200, "{injected}");
    parse_id(&injected);
    let (status, listed) = http(&http_addr, "GET", "/skiff/faults", "");
    assert!(
        status == 200 && listed.contains(r#""remaining":1"#),
        "{listed}"
    );
    client.publish("orders.new", "lost".into()).await.unwrap();
    client.publish("orders.new", "kept".into()).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "kept");

    let (_, withhold) = http(
        &http_addr,
        "POST",
        "/skiff/faults",
        r#"{"fault":"withhold","subject":"orders.new"}"#,
    );
    let id = parse_id(&withhold);
    client.publish("orders.new", "late".into()).await.unwrap();
    client.flush().await.unwrap();
    let path = format!("/skiff/faults/{id}");
    assert_eq!(
        http(&http_addr, "DELETE", &path, ""),
        (200, r#"{"ok":true}"#.to_owned())
    );
    assert_eq!(next(&mut sub).await.payload, "late");
    assert_eq!(
        http(&http_addr, "DELETE", &path, ""),
        (404, format!(r#"{{"error":"no active fault fault#{id}"}}"#))
    );
    assert_eq!(
        http(
            &http_addr,
            "POST",
            "/skiff/faults",
            r#"{"fault":"explode"}"#
        ),
        (
            400,
            r#"{"error":"bad fault: unknown fault \"explode\""}"#.to_owned()
        )
    );
    assert_eq!(http(&http_addr, "PUT", "/skiff/faults", "").0, 405);
    // The ordinary endpoints still answer.
    assert_eq!(http(&http_addr, "GET", "/healthz", "").0, 200);
}

#[test]
fn without_control_the_http_fault_surface_is_not_there() {
    let daemon = common::Daemon::start(&["-m", "-1"]);
    let (status, _) = http(&monitor_addr(&daemon), "GET", "/skiff/faults", "");
    assert_eq!(status, 404);
}

#[tokio::test]
async fn without_control_the_fault_subjects_have_no_responders() {
    let daemon = common::Daemon::start(&[]);
    let client = async_nats::connect(daemon.url()).await.unwrap();
    let reply = tokio::time::timeout(WAIT, client.request("$SKIFF.FAULT.LIST", "".into()))
        .await
        .expect("no answer");
    let error = reply.expect_err("nobody answers");
    assert_eq!(error.kind(), async_nats::RequestErrorKind::NoResponders);
}

#[test]
fn the_control_surface_refuses_a_public_address_without_the_opt_in() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["-a", "0.0.0.0", "-p", "-1", "--control"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = common::wait_timeout(&mut child, WAIT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "refusing the fault control surface (--control) on non-loopback address 0.0.0.0:"
        ) && stderr.contains("--control_allow_public"),
        "{stderr}"
    );
    assert!(!stderr.contains("Server is ready"), "{stderr}");

    // With the explicit opt-in it starts.
    let mut daemon = common::Daemon::start(&[
        "-a",
        "0.0.0.0",
        "-p",
        "-1",
        "--control",
        "--control_allow_public",
    ]);
    daemon.signal("INT");
    assert_eq!(daemon.wait(WAIT).code(), Some(0));
}
