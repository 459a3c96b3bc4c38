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
