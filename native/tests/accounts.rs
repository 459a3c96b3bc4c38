//! Accounts with async-nats, run side by side against the Skiff daemon and nats-server 2.15
//! with one config file: isolation, a service import answered across accounts (single and
//! streamed responses), a stream import under a prefix, `$SYS.REQ.USER.INFO`, and
//! `no_auth_user` naming a user of an account.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(5);

const CONF: &str = r#"
accounts {
  SVC: {
    users: [ {user: svc, password: s} ]
    exports: [
      {service: "help.>"}
      {service: "feed", response_type: stream}
      {stream: "news.>"}
      {service: "private", accounts: [OTHER]}
    ]
  }
  APP: {
    users: [ {user: app, password: a} ]
    imports: [
      {service: {account: SVC, subject: "help.>"}, to: "ask.>"}
      {service: {account: SVC, subject: "feed"}}
      {stream: {account: SVC, subject: "news.>"}, prefix: "svc"}
    ]
  }
  OTHER: { users: [ {user: other, password: o} ] }
}
no_auth_user: app
"#;

fn conf_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skiff-accounts-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("accounts.conf");
    std::fs::write(&path, CONF).unwrap();
    path
}

/// The Skiff daemon and, when installed, nats-server, both on `CONF`.
fn servers(tag: &str) -> Vec<common::side_by_side::Running> {
    common::side_by_side::servers(&conf_file(tag))
}

async fn connect(url: &str, user: &str, pass: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{user} connects to {url}: {e}"))
}

/// Returns once the server has processed everything `client` sent before (async-nats's
/// `flush` only empties the client's buffer): a message to itself has come back.
async fn settle(client: &async_nats::Client) {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client.publish(inbox, "".into()).await.unwrap();
    next(&mut sub, "settle").await;
}

async fn next(sub: &mut async_nats::Subscriber, what: &str) -> async_nats::Message {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("subscription ended")
}

#[tokio::test]
async fn accounts_isolate_and_share_through_imports() {
    for server in servers("share") {
        let name = server.name;
        let url = format!("nats://{}", server.addr);
        let svc = connect(&url, "svc", "s").await;
        let app = connect(&url, "app", "a").await;
        let other = connect(&url, "other", "o").await;

        // Isolation: the same subject in three accounts stays in each.
        let mut in_svc = svc.subscribe("iso").await.unwrap();
        let mut in_other = other.subscribe("iso").await.unwrap();
        settle(&svc).await;
        settle(&other).await;
        app.publish("iso", "from app".into()).await.unwrap();
        other.publish("iso", "from other".into()).await.unwrap();
        settle(&app).await;
        assert_eq!(
            &next(&mut in_other, &format!("{name} iso")).await.payload[..],
            b"from other",
            "{name}"
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(300), in_svc.next())
                .await
                .is_err(),
            "{name}: a message crossed accounts without an import"
        );

        // A service import: app asks on `ask.time`, svc answers on its `help.time`.
        let mut responder = svc.subscribe("help.>").await.unwrap();
        settle(&svc).await;
        let answering = tokio::spawn({
            let svc = svc.clone();
            async move {
                let request = next(&mut responder, &format!("{name} request")).await;
                let info = request
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Request-Info").map(|v| v.to_string()))
                    .unwrap_or_default();
                let reply = request.reply.clone().expect("a reply subject");
                svc.publish(reply, format!("{}|{info}", request.subject).into())
                    .await
                    .unwrap();
                settle(&svc).await;
                reply_prefix(&request.reply.unwrap())
            }
        });
        let answer = tokio::time::timeout(WAIT, app.request("ask.time", "now?".into()))
            .await
            .expect("timed out")
            .unwrap_or_else(|e| panic!("{name}: request through the import: {e}"));
        let text = String::from_utf8(answer.payload.to_vec()).unwrap();
        assert!(
            text.starts_with("help.time|{\"acc\":\"APP\""),
            "{name}: {text}"
        );
        assert_eq!(answering.await.unwrap(), "_R_", "{name}");

        // A streamed service: several responses reach the requester.
        let mut feed = svc.subscribe("feed").await.unwrap();
        settle(&svc).await;
        let inbox = app.new_inbox();
        let mut answers = app.subscribe(inbox.clone()).await.unwrap();
        app.publish_with_reply("feed", inbox, "go".into())
            .await
            .unwrap();
        settle(&app).await;
        let request = next(&mut feed, &format!("{name} feed")).await;
        for n in 0..3 {
            svc.publish(request.reply.clone().unwrap(), format!("{n}").into())
                .await
                .unwrap();
        }
        settle(&svc).await;
        for n in 0..3 {
            assert_eq!(
                next(&mut answers, &format!("{name} answer {n}"))
                    .await
                    .payload,
                format!("{n}"),
                "{name}"
            );
        }

        // A stream import under a prefix.
        let mut news = app.subscribe("svc.news.>").await.unwrap();
        settle(&app).await;
        svc.publish("news.today", "headline".into()).await.unwrap();
        settle(&svc).await;
        let m = next(&mut news, &format!("{name} news")).await;
        assert_eq!(
            (m.subject.as_str(), &m.payload[..]),
            ("svc.news.today", &b"headline"[..]),
            "{name}"
        );

        // No import, no responders.
        let refused = app.request("private", "x".into()).await;
        assert!(
            matches!(
                refused.as_ref().map_err(|e| e.kind()),
                Err(async_nats::RequestErrorKind::NoResponders)
            ),
            "{name}: {refused:?}"
        );
    }
}

/// `_R_` of `_R_.XXXXXX.YYYYYY`.
fn reply_prefix(reply: &str) -> String {
    let parts: Vec<&str> = reply.split('.').collect();
    assert_eq!(parts.len(), 3, "{reply}");
    parts[0].to_owned()
}

#[tokio::test]
async fn user_info_names_the_account_and_no_auth_user_lands_in_it() {
    for server in servers("info") {
        let name = server.name;
        // No credentials: `no_auth_user: app`.
        let anonymous = async_nats::connect(format!("nats://{}", server.addr))
            .await
            .unwrap_or_else(|e| panic!("{name}: no_auth_user: {e}"));
        let answer = tokio::time::timeout(WAIT, anonymous.request("$SYS.REQ.USER.INFO", "".into()))
            .await
            .expect("timed out")
            .unwrap_or_else(|e| panic!("{name}: user info: {e}"));
        let json: serde_json::Value = serde_json::from_slice(&answer.payload).unwrap();
        assert_eq!(json["data"]["account"], "APP", "{name}: {json}");
        assert_eq!(json["data"]["user"], "app", "{name}: {json}");
        assert_eq!(json["server"]["ver"], "2.15.1", "{name}: {json}");

        // Server pings belong to the system account: nobody else has them.
        let refused = anonymous.request("$SYS.REQ.SERVER.PING", "".into()).await;
        assert!(refused.is_err(), "{name}: {refused:?}");
    }
}
