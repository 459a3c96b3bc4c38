//! Skiff as a leaf node of a real nats-server 2.15 hub (started here), with async-nats clients
//! on both sides: pub/sub both ways with wildcards, request/reply across the link, queue
//! groups spanning it, deny rules, a hub restart that the link survives with its interest
//! restored, and the same link over the hub's websocket listener.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use skiff::{Server, ServerOptions};
use skiff_core::{LeafRemote, LeafUrl};

const WAIT: Duration = Duration::from_secs(10);

fn nats_server() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/nats-server");
    path.is_file().then_some(path)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server hub with a leafnode listener.
struct Hub {
    child: Child,
    binary: PathBuf,
    conf: PathBuf,
    client_port: u16,
    leaf_port: u16,
    /// Its websocket listener (leafs connect on `/leafnode`).
    ws_port: u16,
}

impl Hub {
    fn start(binary: PathBuf) -> Self {
        Self::start_with(binary, "")
    }

    /// A hub whose `leafnodes {}` block also holds `leaf_extra` (an `authorization {}`).
    fn start_with(binary: PathBuf, leaf_extra: &str) -> Self {
        let (client_port, leaf_port, ws_port) = (free_port(), free_port(), free_port());
        let dir =
            std::env::temp_dir().join(format!("skiff-leaf-{}-{client_port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("hub.conf");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{client_port}\nserver_name: hub\nleafnodes {{\n listen: 127.0.0.1:{leaf_port}\n {leaf_extra}\n}}\nwebsocket {{ listen: 127.0.0.1:{ws_port}, no_tls: true }}\n"
            ),
        )
        .unwrap();
        let child = spawn(&binary, &conf, client_port);
        Self {
            child,
            binary,
            conf,
            client_port,
            leaf_port,
            ws_port,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, &self.conf, self.client_port);
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(binary: &Path, conf: &Path, port: u16) -> Child {
    let child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting nats-server");
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Skiff joined to `hub` as a leaf, redialing quickly.
fn leaf_of(hub: &Hub, configure: impl FnOnce(&mut LeafRemote)) -> Server {
    let mut remote = LeafRemote {
        urls: vec![LeafUrl::parse(&format!("nats-leaf://127.0.0.1:{}", hub.leaf_port)).unwrap()],
        ..LeafRemote::default()
    };
    configure(&mut remote);
    let mut options = ServerOptions::default();
    options.config.leaf_remotes = vec![remote];
    options.config.leaf_reconnect = Duration::from_millis(100);
    common::embedded_with(options)
}

async fn connect(url: String) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(url)
        .await
        .expect("connecting")
}

/// Publishes `payload` on `subject` every 50 ms until `sub` receives it (interest crosses the
/// link asynchronously), then returns what arrived.
async fn publish_until_received(
    publisher: &async_nats::Client,
    subject: &str,
    payload: &'static str,
    sub: &mut async_nats::Subscriber,
) -> async_nats::Message {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        publisher
            .publish(subject.to_owned(), payload.into())
            .await
            .unwrap();
        publisher.flush().await.unwrap();
        if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
            return msg;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{subject} never arrived"
        );
    }
}

/// Requests `subject` every 50 ms until a responder answers (the service's interest crosses
/// the link asynchronously).
async fn request_until_answered(
    client: &async_nats::Client,
    subject: &'static str,
) -> async_nats::Message {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match client.request(subject, "q".into()).await {
            Ok(answer) => return answer,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("request across the link: {e}"),
        }
    }
}

/// Drains `sub` for a moment: what arrived.
async fn drain(sub: &mut async_nats::Subscriber) -> Vec<async_nats::Message> {
    let mut got = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
        got.push(msg);
    }
    got
}

macro_rules! hub_or_skip {
    () => {
        match nats_server() {
            Some(binary) => Hub::start(binary),
            None => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    ".tools/nats-server is missing (scripts/setup.sh installs it)"
                );
                eprintln!("SKIPPED: .tools/nats-server is missing (scripts/setup.sh installs it)");
                return;
            }
        }
    };
}

#[tokio::test]
async fn pub_sub_and_request_reply_cross_the_link_both_ways() {
    let hub = hub_or_skip!();
    let leaf = leaf_of(&hub, |_| {});
    let on_hub = connect(hub.url()).await;
    let on_leaf = connect(leaf.client_url().unwrap()).await;

    // Leaf to hub, through a wildcard.
    let mut hub_sub = on_hub.subscribe("up.>").await.unwrap();
    on_hub.flush().await.unwrap();
    let msg = publish_until_received(&on_leaf, "up.a.b", "from leaf", &mut hub_sub).await;
    assert_eq!(
        (msg.subject.as_str(), &msg.payload[..]),
        ("up.a.b", &b"from leaf"[..])
    );

    // Hub to leaf, through a wildcard.
    let mut leaf_sub = on_leaf.subscribe("down.*").await.unwrap();
    on_leaf.flush().await.unwrap();
    let msg = publish_until_received(&on_hub, "down.x", "from hub", &mut leaf_sub).await;
    assert_eq!(&msg.payload[..], b"from hub");

    // Headers cross too.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("X-Trace", "42");
    on_hub
        .publish_with_headers("down.h", headers, "with headers".into())
        .await
        .unwrap();
    let msg = tokio::time::timeout(WAIT, leaf_sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.headers.unwrap().get("X-Trace").unwrap().as_str(), "42");

    // A service on the leaf answers a requester on the hub, and the reverse.
    let mut service = on_leaf.subscribe("svc.leaf").await.unwrap();
    let responder = on_leaf.clone();
    tokio::spawn(async move {
        while let Some(req) = service.next().await {
            let reply = req.reply.unwrap();
            responder
                .publish(reply, "leaf answers".into())
                .await
                .unwrap();
        }
    });
    on_leaf.flush().await.unwrap();
    let answer = request_until_answered(&on_hub, "svc.leaf").await;
    assert_eq!(&answer.payload[..], b"leaf answers");

    let mut hub_service = on_hub.subscribe("svc.hub").await.unwrap();
    let hub_responder = on_hub.clone();
    tokio::spawn(async move {
        while let Some(req) = hub_service.next().await {
            let reply = req.reply.unwrap();
            hub_responder
                .publish(reply, "hub answers".into())
                .await
                .unwrap();
        }
    });
    on_hub.flush().await.unwrap();
    let answer = request_until_answered(&on_leaf, "svc.hub").await;
    assert_eq!(&answer.payload[..], b"hub answers");

    // Nobody anywhere: no responders, at once.
    let err = on_leaf.request("svc.nobody", "q".into()).await.unwrap_err();
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

#[tokio::test]
async fn a_queue_group_spanning_the_link_delivers_each_message_once() {
    let hub = hub_or_skip!();
    let leaf = leaf_of(&hub, |_| {});
    let on_hub = connect(hub.url()).await;
    let on_leaf = connect(leaf.client_url().unwrap()).await;
    let mut hub_a = on_hub
        .queue_subscribe("work", "workers".into())
        .await
        .unwrap();
    let mut hub_b = on_hub
        .queue_subscribe("work", "workers".into())
        .await
        .unwrap();
    on_hub.flush().await.unwrap();
    // Wait until the group's interest reached the leaf.
    let mut probe = on_hub.subscribe("work").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, "work", "probe", &mut probe).await;
    drop(probe);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = (drain(&mut hub_a).await, drain(&mut hub_b).await);

    // No member on the leaf: every message crosses, each to one hub member.
    for i in 0..20 {
        on_leaf
            .publish("work", format!("{i}").into())
            .await
            .unwrap();
    }
    on_leaf.flush().await.unwrap();
    let (a, b) = (drain(&mut hub_a).await, drain(&mut hub_b).await);
    assert_eq!(
        a.len() + b.len(),
        20,
        "each message once: {} + {}",
        a.len(),
        b.len()
    );

    // A member on the leaf: a leaf publisher's messages stay local.
    let mut leaf_member = on_leaf
        .queue_subscribe("work", "workers".into())
        .await
        .unwrap();
    on_leaf.flush().await.unwrap();
    for i in 0..20 {
        on_leaf
            .publish("work", format!("{i}").into())
            .await
            .unwrap();
    }
    on_leaf.flush().await.unwrap();
    let local = drain(&mut leaf_member).await;
    let (a, b) = (drain(&mut hub_a).await, drain(&mut hub_b).await);
    assert_eq!((local.len(), a.len() + b.len()), (20, 0));

    // From the hub: each message to exactly one member of the whole group.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..30 {
        on_hub.publish("work", format!("{i}").into()).await.unwrap();
    }
    on_hub.flush().await.unwrap();
    let local = drain(&mut leaf_member).await;
    let (a, b) = (drain(&mut hub_a).await, drain(&mut hub_b).await);
    assert_eq!(local.len() + a.len() + b.len(), 30);
}

#[tokio::test]
async fn deny_rules_keep_subjects_on_their_side() {
    let hub = hub_or_skip!();
    let leaf = leaf_of(&hub, |r| {
        r.deny_exports = vec!["secret.>".into()];
        r.deny_imports = vec!["private.>".into()];
    });
    let on_hub = connect(hub.url()).await;
    let on_leaf = connect(leaf.client_url().unwrap()).await;

    let mut hub_sub = on_hub.subscribe(">").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, "open.up", "ready", &mut hub_sub).await;
    on_leaf.publish("secret.x", "hidden".into()).await.unwrap();
    on_leaf.publish("open.up", "visible".into()).await.unwrap();
    on_leaf.flush().await.unwrap();
    let got = drain(&mut hub_sub).await;
    assert!(
        got.iter().all(|m| m.subject.as_str() != "secret.x"),
        "secret.x crossed"
    );
    assert!(got.iter().any(|m| &m.payload[..] == b"visible"));

    let mut leaf_sub = on_leaf.subscribe(">").await.unwrap();
    on_leaf.flush().await.unwrap();
    publish_until_received(&on_hub, "open.down", "ready", &mut leaf_sub).await;
    on_hub.publish("private.x", "hidden".into()).await.unwrap();
    on_hub.publish("open.down", "visible".into()).await.unwrap();
    on_hub.flush().await.unwrap();
    let got = drain(&mut leaf_sub).await;
    assert!(
        got.iter().all(|m| m.subject.as_str() != "private.x"),
        "private.x crossed"
    );
    assert!(got.iter().any(|m| &m.payload[..] == b"visible"));
}

#[tokio::test]
async fn the_link_survives_a_hub_restart_with_its_interest_restored() {
    let mut hub = hub_or_skip!();
    let leaf = leaf_of(&hub, |_| {});
    let on_leaf = connect(leaf.client_url().unwrap()).await;
    let mut leaf_sub = on_leaf.subscribe("after.restart").await.unwrap();
    on_leaf.flush().await.unwrap();
    {
        let on_hub = connect(hub.url()).await;
        publish_until_received(&on_hub, "after.restart", "before", &mut leaf_sub).await;
    }
    hub.restart();
    // Published while the link is down: lost (at most once), and the leaf keeps serving.
    let mut local = on_leaf.subscribe("local.only").await.unwrap();
    on_leaf
        .publish("local.only", "still here".into())
        .await
        .unwrap();
    let msg = tokio::time::timeout(WAIT, local.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.payload[..], b"still here");
    // The leaf redials and announces its interest again.
    let on_hub = connect(hub.url()).await;
    let msg = publish_until_received(&on_hub, "after.restart", "after", &mut leaf_sub).await;
    assert_eq!(&msg.payload[..], b"after");
}

/// Two remotes to one hub: nats-server keeps one link and refuses the other as a duplicate
/// (`Duplicate Remote LeafNode Connection`), and whichever link is up, no message is
/// duplicated or echoed around. (A loop through two different hubs, detected by the `$LDS.`
/// subject, is covered by the core's deterministic tests.)
#[tokio::test]
async fn two_links_to_one_hub_duplicate_nothing() {
    let hub = hub_or_skip!();
    let url = LeafUrl::parse(&format!("nats-leaf://127.0.0.1:{}", hub.leaf_port)).unwrap();
    let mut options = ServerOptions::default();
    let remote = LeafRemote {
        urls: vec![url],
        ..LeafRemote::default()
    };
    options.config.leaf_remotes = vec![remote.clone(), remote];
    options.config.leaf_reconnect = Duration::from_millis(100);
    let leaf = common::embedded_with(options);
    let on_hub = connect(hub.url()).await;
    let on_leaf = connect(leaf.client_url().unwrap()).await;
    let mut leaf_sub = on_leaf.subscribe("once").await.unwrap();
    on_leaf.flush().await.unwrap();
    publish_until_received(&on_hub, "once", "probe", &mut leaf_sub).await;
    // Let the hub refuse the second link, then count: every message arrives exactly once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = drain(&mut leaf_sub).await;
    for i in 0..10 {
        on_hub.publish("once", format!("{i}").into()).await.unwrap();
    }
    on_hub.flush().await.unwrap();
    let got = drain(&mut leaf_sub).await;
    assert_eq!(got.len(), 10, "each message once, no echo around the loop");
    // And the other way: the hub sees a leaf message once.
    let mut hub_sub = on_hub.subscribe("back").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, "back", "probe", &mut hub_sub).await;
    let _ = drain(&mut hub_sub).await;
    for i in 0..10 {
        on_leaf
            .publish("back", format!("{i}").into())
            .await
            .unwrap();
    }
    on_leaf.flush().await.unwrap();
    assert_eq!(drain(&mut hub_sub).await.len(), 10);
}

#[tokio::test]
async fn a_link_over_the_hubs_websocket_listener_carries_both_ways() {
    let hub = hub_or_skip!();
    let mut options = ServerOptions::default();
    options.config.leaf_remotes = vec![LeafRemote {
        urls: vec![LeafUrl::parse(&format!("ws://127.0.0.1:{}", hub.ws_port)).unwrap()],
        ..LeafRemote::default()
    }];
    options.config.leaf_reconnect = Duration::from_millis(100);
    let leaf = common::embedded_with(options);
    let on_hub = connect(hub.url()).await;
    let on_leaf = connect(leaf.client_url().unwrap()).await;
    let mut hub_sub = on_hub.subscribe("ws.up").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, "ws.up", "over websocket", &mut hub_sub).await;
    let mut leaf_sub = on_leaf.subscribe("ws.down").await.unwrap();
    on_leaf.flush().await.unwrap();
    publish_until_received(&on_hub, "ws.down", "back", &mut leaf_sub).await;
    // A large message crosses whole (frames need not align with protocol lines).
    let big = vec![b'x'; 200 * 1024];
    on_hub.publish("ws.down", big.clone().into()).await.unwrap();
    let msg = tokio::time::timeout(WAIT, leaf_sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.len(), big.len());
}

/// A nats-server leaf of a Skiff hub (nats-server dials Skiff's leafnode listener).
struct EdgeLeaf {
    child: Child,
    client_port: u16,
}

impl Drop for EdgeLeaf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn edge_leaf_of(binary: &Path, hub_leaf_port: u16) -> EdgeLeaf {
    let client_port = free_port();
    let dir = std::env::temp_dir().join(format!("skiff-edge-{}-{client_port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("edge.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{client_port}\nserver_name: edge\nleafnodes {{ reconnect: \"100ms\", remotes: [ {{ url: \"nats-leaf://127.0.0.1:{hub_leaf_port}\" }} ] }}\n"
        ),
    )
    .unwrap();
    EdgeLeaf {
        child: spawn(binary, &conf, client_port),
        client_port,
    }
}

#[tokio::test]
async fn nats_server_attaches_to_skiff_as_a_leaf() {
    let Some(binary) = nats_server() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nats-server missing"
        );
        eprintln!("SKIPPED: .tools/nats-server is missing (scripts/setup.sh installs it)");
        return;
    };
    let mut options = ServerOptions::default();
    options.leafnodes = Some(skiff::ListenAddr::new("127.0.0.1", 0));
    options.http = Some(skiff::ListenAddr::new("127.0.0.1", 0));
    let hub = common::embedded_with(options);
    let edge = edge_leaf_of(&binary, hub.leafnode_addr().unwrap().port());
    let on_hub = connect(hub.client_url().unwrap()).await;
    let on_edge = connect(format!("nats://127.0.0.1:{}", edge.client_port)).await;

    // Edge to Skiff, and Skiff to edge, through wildcards.
    let mut hub_sub = on_hub.subscribe("to.hub.>").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_edge, "to.hub.x", "from edge", &mut hub_sub).await;
    let mut edge_sub = on_edge.subscribe("to.edge.*").await.unwrap();
    on_edge.flush().await.unwrap();
    publish_until_received(&on_hub, "to.edge.y", "from skiff", &mut edge_sub).await;

    // A queue group that lives only on the edge takes each of Skiff's messages once.
    let mut a = on_edge.queue_subscribe("jobs", "q".into()).await.unwrap();
    let mut b = on_edge.queue_subscribe("jobs", "q".into()).await.unwrap();
    on_edge.flush().await.unwrap();
    let mut probe = on_edge.subscribe("jobs").await.unwrap();
    on_edge.flush().await.unwrap();
    publish_until_received(&on_hub, "jobs", "probe", &mut probe).await;
    drop(probe);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = (drain(&mut a).await, drain(&mut b).await);
    for i in 0..20 {
        on_hub.publish("jobs", format!("{i}").into()).await.unwrap();
    }
    on_hub.flush().await.unwrap();
    let (a, b) = (drain(&mut a).await, drain(&mut b).await);
    assert_eq!(
        a.len() + b.len(),
        20,
        "each job once: {} + {}",
        a.len(),
        b.len()
    );

    // Request/reply across: a service on the edge answers a Skiff client.
    let mut service = on_edge.subscribe("edge.svc").await.unwrap();
    let responder = on_edge.clone();
    tokio::spawn(async move {
        while let Some(req) = service.next().await {
            responder
                .publish(req.reply.unwrap(), "edge answers".into())
                .await
                .unwrap();
        }
    });
    on_edge.flush().await.unwrap();
    let answer = request_until_answered(&on_hub, "edge.svc").await;
    assert_eq!(&answer.payload[..], b"edge answers");

    // /leafz shows the link (not a spoke here), with nats-server's fields, and /varz counts it.
    let http = hub.http_addr().unwrap();
    let leafz = get_json(http, "/leafz?subs=1");
    assert_eq!(leafz["leafnodes"], 1, "{leafz}");
    let link = &leafz["leafs"][0];
    assert_eq!(
        (link["name"].as_str(), link["is_spoke"].as_bool()),
        (Some("edge"), Some(false))
    );
    let interest = link["subscriptions_list"].as_array().unwrap();
    assert!(interest.iter().any(|s| s == "jobs q"), "{link}");
    assert!(link["in_msgs"].as_u64().unwrap() > 0 && link["out_msgs"].as_u64().unwrap() > 0);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(link),
        [
            "account",
            "compression",
            "id",
            "in_bytes",
            "in_msgs",
            "ip",
            "is_spoke",
            "name",
            "out_bytes",
            "out_msgs",
            "port",
            "rtt",
            "subscriptions",
            "subscriptions_list"
        ]
    );
    let varz = get_json(http, "/varz");
    assert_eq!(varz["leafnodes"], 1);
    assert_eq!(varz["leaf"]["port"], hub.leafnode_addr().unwrap().port());
}

/// GET `path` from a monitoring address, as JSON.
fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[tokio::test]
async fn credentials_in_the_url_authenticate_the_link() {
    let Some(binary) = nats_server() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nats-server missing"
        );
        eprintln!("SKIPPED: .tools/nats-server is missing (scripts/setup.sh installs it)");
        return;
    };
    let hub = Hub::start_with(binary, "authorization { user: leafy, password: s3cret }");
    let url = |creds: &str| {
        LeafUrl::parse(&format!("nats-leaf://{creds}@127.0.0.1:{}", hub.leaf_port)).unwrap()
    };
    let good = {
        let mut options = ServerOptions::default();
        options.config.leaf_remotes = vec![LeafRemote {
            urls: vec![url("leafy:s3cret")],
            ..LeafRemote::default()
        }];
        common::embedded_with(options)
    };
    let bad = {
        let mut options = ServerOptions::default();
        options.config.leaf_remotes = vec![LeafRemote {
            urls: vec![url("leafy:wrong")],
            ..LeafRemote::default()
        }];
        options.config.leaf_reconnect = Duration::from_millis(200);
        common::embedded_with(options)
    };
    let on_hub = connect(hub.url()).await;
    let mut hub_sub = on_hub.subscribe("auth.>").await.unwrap();
    on_hub.flush().await.unwrap();
    let on_good = connect(good.client_url().unwrap()).await;
    publish_until_received(&on_good, "auth.ok", "authenticated", &mut hub_sub).await;
    // The link with the wrong password is refused by the hub: nothing it publishes arrives.
    let on_bad = connect(bad.client_url().unwrap()).await;
    for _ in 0..10 {
        on_bad.publish("auth.bad", "refused".into()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    on_bad.flush().await.unwrap();
    let got = drain(&mut hub_sub).await;
    assert!(
        got.iter().all(|m| m.subject.as_str() != "auth.bad"),
        "a refused link delivered"
    );
}

/// A remote bound to a local account (`account: A`): the link carries that account's traffic
/// and nothing of the global account's.
#[tokio::test]
async fn a_remote_bound_to_a_local_account_carries_only_that_account() {
    let Some(binary) = nats_server() else {
        eprintln!("SKIPPED: nats-server not installed");
        return;
    };
    let hub = Hub::start(binary);
    let remote = LeafRemote {
        urls: vec![LeafUrl::parse(&format!("nats-leaf://127.0.0.1:{}", hub.leaf_port)).unwrap()],
        account: "A".into(),
        ..LeafRemote::default()
    };
    let mut options = ServerOptions::default();
    options.config.leaf_remotes = vec![remote];
    options.config.leaf_reconnect = Duration::from_millis(100);
    options.config.accounts = vec![skiff_core::Account::new("A")];
    let mut a = skiff_core::User::new("a", "pw");
    a.account = "A".into();
    options.config.auth = skiff_core::Auth::Users(vec![a, skiff_core::User::new("g", "pw")]);
    let leaf = common::embedded_with(options);
    let url = leaf.client_url().unwrap();
    let login = |user: &'static str| {
        let url = url.clone();
        async move {
            async_nats::ConnectOptions::with_user_and_password(user.into(), "pw".into())
                .connect(url)
                .await
                .unwrap()
        }
    };
    let (in_a, in_g) = (login("a").await, login("g").await);
    let hub_client = connect(hub.url()).await;

    // Hub → A.
    let mut a_sub = in_a.subscribe("down.x").await.unwrap();
    let mut g_sub = in_g.subscribe("down.x").await.unwrap();
    in_g.flush().await.unwrap();
    let m = publish_until_received(&hub_client, "down.x", "to A", &mut a_sub).await;
    assert_eq!(&m.payload[..], b"to A");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), g_sub.next())
            .await
            .is_err(),
        "the global account heard the hub"
    );
    // A → hub; the global account's publishes stay home.
    let mut hub_sub = hub_client.subscribe("up.x").await.unwrap();
    hub_client.flush().await.unwrap();
    let m = publish_until_received(&in_a, "up.x", "from A", &mut hub_sub).await;
    assert_eq!(&m.payload[..], b"from A");
    in_g.publish("up.x", "from G".into()).await.unwrap();
    in_g.flush().await.unwrap();
    let rest = drain(&mut hub_sub).await;
    assert!(
        rest.iter().all(|m| &m.payload[..] != b"from G"),
        "the global account's message crossed"
    );
}

/// A hub as managed services run them: operator mode, TLS on the leafnode listener. Skiff
/// joins with a creds file and the hub's CA (`credentials`, `tls { ca_file }`), and its
/// clients talk to a hub client of the same account.
#[tokio::test]
async fn a_link_over_tls_with_a_creds_file_joins_an_operator_mode_hub() {
    let Some(binary) = nats_server() else {
        eprintln!("SKIPPED: nats-server not installed");
        return;
    };
    let certs = common::certs::Certs::make("leaf-tls");
    let (operator, account) = common::jwt::single_account_operator(&certs.dir);
    let user = |name: &str| {
        let user = nkeys::KeyPair::new_user();
        let token = common::jwt::user(
            &account,
            &user,
            serde_json::json!({}),
            serde_json::json!({}),
        );
        common::jwt::write(&certs.dir, name, &common::jwt::creds(&token, &user))
    };
    let (leaf_creds, client_creds) = (user("leaf.creds"), user("client.creds"));
    let (client_port, leaf_port) = (free_port(), free_port());
    let tls = format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\" }}",
        certs.path("server.pem").display(),
        certs.path("server-key.pem").display()
    );
    let conf = common::jwt::write(
        &certs.dir,
        "hub.conf",
        &format!(
            "listen: 127.0.0.1:{client_port}\nserver_name: hub\n{operator}leafnodes {{\n listen: 127.0.0.1:{leaf_port}\n {tls}\n}}\n"
        ),
    );
    let mut hub = spawn(&binary, Path::new(&conf), client_port);

    let remote = LeafRemote {
        urls: vec![LeafUrl::parse(&format!("tls://127.0.0.1:{leaf_port}")).unwrap()],
        credentials: Some(
            skiff_core::LeafCredentials::parse(&std::fs::read_to_string(&leaf_creds).unwrap())
                .unwrap(),
        ),
        tls: Some(skiff_core::LeafTls {
            ca_file: Some(certs.path("ca.pem").display().to_string()),
            ..skiff_core::LeafTls::default()
        }),
        ..LeafRemote::default()
    };
    let mut options = ServerOptions::default();
    options.config.leaf_remotes = vec![remote];
    options.config.leaf_reconnect = Duration::from_millis(100);
    let leaf = common::embedded_with(options);
    let local = connect(leaf.client_url().unwrap()).await;
    let remote_client = async_nats::ConnectOptions::with_credentials_file(client_creds)
        .await
        .unwrap()
        .connect(format!("nats://127.0.0.1:{client_port}"))
        .await
        .expect("a hub client with its creds file");

    let mut down = local.subscribe("tls.down").await.unwrap();
    local.flush().await.unwrap();
    let m = publish_until_received(&remote_client, "tls.down", "hub to leaf", &mut down).await;
    assert_eq!(&m.payload[..], b"hub to leaf");
    let mut up = remote_client.subscribe("tls.up").await.unwrap();
    remote_client.flush().await.unwrap();
    let m = publish_until_received(&local, "tls.up", "leaf to hub", &mut up).await;
    assert_eq!(&m.payload[..], b"leaf to hub");
    let _ = hub.kill();
    let _ = hub.wait();
}

/// The same over `wss://`: the hub's websocket listener with TLS, the hub's CA given.
#[tokio::test]
async fn a_link_over_wss_reaches_the_hubs_secure_websocket_listener() {
    let Some(binary) = nats_server() else {
        eprintln!("SKIPPED: nats-server not installed");
        return;
    };
    let certs = common::certs::Certs::make("leaf-wss");
    let (client_port, ws_port, leaf_port) = (free_port(), free_port(), free_port());
    // A websocket listener takes leafs once the hub accepts leafs at all.
    let conf = common::jwt::write(
        &certs.dir,
        "hub.conf",
        &format!(
            "listen: 127.0.0.1:{client_port}\nserver_name: hub\nleafnodes {{ listen: 127.0.0.1:{leaf_port} }}\nwebsocket {{\n listen: 127.0.0.1:{ws_port}\n tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n}}\n",
            certs.path("server.pem").display(),
            certs.path("server-key.pem").display()
        ),
    );
    let mut hub = spawn(&binary, Path::new(&conf), client_port);
    let remote = LeafRemote {
        urls: vec![LeafUrl::parse(&format!("wss://localhost:{ws_port}")).unwrap()],
        tls: Some(skiff_core::LeafTls {
            ca_file: Some(certs.path("ca.pem").display().to_string()),
            ..skiff_core::LeafTls::default()
        }),
        ..LeafRemote::default()
    };
    let mut options = ServerOptions::default();
    options.config.leaf_remotes = vec![remote];
    options.config.leaf_reconnect = Duration::from_millis(100);
    let leaf = common::embedded_with(options);
    let local = connect(leaf.client_url().unwrap()).await;
    let remote_client = connect(format!("nats://127.0.0.1:{client_port}")).await;
    let mut down = local.subscribe("wss.down").await.unwrap();
    local.flush().await.unwrap();
    let m = publish_until_received(&remote_client, "wss.down", "over wss", &mut down).await;
    assert_eq!(&m.payload[..], b"over wss");
    let _ = hub.kill();
    let _ = hub.wait();
}
