//! The `async-nats` client against Skiff over TCP.

mod common;

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;
use skiff::{Server, ServerOptions};

const WAIT: Duration = Duration::from_secs(5);

async fn connect(server: &Server) -> async_nats::Client {
    async_nats::connect(server.client_url().unwrap())
        .await
        .expect("connecting")
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("timed out")
        .expect("subscription ended")
}

#[tokio::test]
async fn publish_subscribe_with_wildcards() {
    let server = common::embedded();
    let client = connect(&server).await;
    let mut star = client.subscribe("orders.*.created").await.unwrap();
    let mut tail = client.subscribe("orders.>").await.unwrap();
    client
        .publish("orders.eu.created", "one".into())
        .await
        .unwrap();
    client
        .publish("orders.us.deleted", "two".into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let m = next(&mut star).await;
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("orders.eu.created", &b"one"[..])
    );
    assert_eq!(next(&mut tail).await.payload, "one");
    assert_eq!(next(&mut tail).await.payload, "two");
}

#[tokio::test]
async fn queue_group_delivers_each_message_once() {
    let server = common::embedded();
    let client = connect(&server).await;
    let mut a = client.queue_subscribe("work", "q".into()).await.unwrap();
    let mut b = client.queue_subscribe("work", "q".into()).await.unwrap();
    client.flush().await.unwrap();
    for i in 0..100 {
        client.publish("work", i.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.len() < 100 && tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(m) = a.next() => seen.push(m.payload),
            Some(m) = b.next() => seen.push(m.payload),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(10), a.next()).await {
        extra += 1;
    }
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(10), b.next()).await {
        extra += 1;
    }
    assert_eq!((seen.len(), extra), (100, 0));
    let mut sorted: Vec<u32> = seen
        .iter()
        .map(|p| std::str::from_utf8(p).unwrap().parse().unwrap())
        .collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn request_reply_and_no_responders() {
    let server = common::embedded();
    let client = connect(&server).await;
    let mut service = client.subscribe("echo").await.unwrap();
    let responder = client.clone();
    tokio::spawn(async move {
        while let Some(m) = service.next().await {
            if let Some(reply) = m.reply {
                responder.publish(reply, m.payload).await.unwrap();
            }
        }
    });
    client.flush().await.unwrap();
    let reply = tokio::time::timeout(WAIT, client.request("echo", "ping".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.payload, "ping");

    let err = tokio::time::timeout(WAIT, client.request("nobody.home", "x".into()))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.kind(),
        async_nats::RequestErrorKind::NoResponders,
        "{err:?}"
    );
}

#[tokio::test]
async fn headers_round_trip() {
    let server = common::embedded();
    let client = connect(&server).await;
    let mut sub = client.subscribe("h").await.unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Trace-Id", "abc123");
    headers.append("Multi", "1");
    headers.append("Multi", "2");
    client
        .publish_with_headers("h", headers, Bytes::from_static(b"body"))
        .await
        .unwrap();
    let m = next(&mut sub).await;
    let got = m.headers.expect("headers");
    assert_eq!(got.get("Trace-Id").map(|v| v.as_str()), Some("abc123"));
    assert_eq!(
        got.get_all("Multi")
            .map(|v| v.as_str().to_owned())
            .collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(m.payload, "body");
}

#[tokio::test]
async fn flush_and_drain() {
    let server = common::embedded();
    let publisher = connect(&server).await;
    let subscriber = connect(&server).await;
    let mut sub = subscriber.subscribe("d").await.unwrap();
    // async-nats' flush only empties the client's buffer; a message the subscriber sends
    // itself coming back proves the server has the subscription before the publisher starts.
    subscriber.publish("d", "probe".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "probe");
    for i in 0..1000 {
        publisher.publish("d", i.to_string().into()).await.unwrap();
    }
    publisher.flush().await.unwrap();
    for i in 0..1000 {
        assert_eq!(next(&mut sub).await.payload, i.to_string());
    }
    // Draining the subscriber's client unsubscribes, flushes and closes it; the stream ends.
    subscriber.drain().await.unwrap();
    let end = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("stream ends after drain");
    assert!(end.is_none());
    publisher.publish("d", "still served".into()).await.unwrap();
    publisher.flush().await.unwrap();
}

#[tokio::test]
async fn client_reconnects_after_a_server_restart() {
    let first = common::embedded();
    let addr = first.local_addr().unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(format!("nats://{addr}"))
        .await
        .unwrap();
    let mut sub = client.subscribe("r").await.unwrap();
    client.flush().await.unwrap();
    client.publish("r", "before".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "before");

    // Stop it (off the async runtime: wait_for_shutdown blocks), then start a new server on the
    // same port.
    tokio::task::spawn_blocking(move || {
        first.shutdown();
        first.wait_for_shutdown();
    })
    .await
    .unwrap();
    let second = tokio::task::spawn_blocking(move || {
        common::embedded_with(ServerOptions::listen_on("127.0.0.1", addr.port()))
    })
    .await
    .unwrap();

    // The client resubscribes on reconnect; publish until a message gets through.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery after the restart"
        );
        let _ = client.publish("r", "after".into()).await;
        match tokio::time::timeout(Duration::from_millis(250), sub.next()).await {
            Ok(Some(m)) if m.payload == "after" => break,
            _ => {}
        }
    }
    assert_eq!(
        client.connection_state(),
        async_nats::connection::State::Connected
    );
    drop(client);
    tokio::task::spawn_blocking(move || drop(second))
        .await
        .unwrap();
}

#[tokio::test]
async fn daemon_serves_async_nats() {
    let daemon = tokio::task::spawn_blocking(|| common::Daemon::start(&[]))
        .await
        .unwrap();
    let client = async_nats::connect(daemon.url()).await.unwrap();
    let mut sub = client.subscribe("x.>").await.unwrap();
    client.publish("x.y", "z".into()).await.unwrap();
    let m = next(&mut sub).await;
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("x.y", &b"z"[..]));
}
