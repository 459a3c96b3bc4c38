//! Real clients (async-nats) authenticating against Skiff with each supported credential kind.

mod common;

use std::time::Duration;

use futures::StreamExt;
use skiff::ServerOptions;
use skiff_core::{Auth, Permissions, User};

const WAIT: Duration = Duration::from_secs(5);

/// The `$2a$` bcrypt hash (cost 4) of `pw`.
const PW_HASH: &str = "$2a$04$a0rnXkXxY0jkXlLpYUXkGOczM8TdxSOAQTfwos.mh5qDabtcMf68K";

fn server_with(auth: Auth, no_auth_user: Option<&str>) -> skiff::Server {
    let mut options = ServerOptions::default();
    options.config.auth = auth;
    options.config.no_auth_user = no_auth_user.map(str::to_owned);
    common::embedded_with(options)
}

async fn round_trip(client: &async_nats::Client, subject: &'static str) {
    let mut sub = client.subscribe(subject).await.unwrap();
    client.publish(subject, "hi".into()).await.unwrap();
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("timed out")
        .expect("subscription ended");
    assert_eq!(&m.payload[..], b"hi");
}

#[tokio::test]
async fn bcrypt_user_password() {
    let server = server_with(Auth::Users(vec![User::new("derek", PW_HASH)]), None);
    let url = server.client_url().unwrap();
    let client = async_nats::ConnectOptions::with_user_and_password("derek".into(), "pw".into())
        .connect(&url)
        .await
        .expect("bcrypt password accepted");
    round_trip(&client, "bcrypt.ok").await;
    let refused = async_nats::ConnectOptions::with_user_and_password("derek".into(), "nope".into())
        .connect(&url)
        .await;
    assert!(refused.is_err(), "a wrong password is refused");
}

#[tokio::test]
async fn bcrypt_token() {
    let hash = PW_HASH.to_owned();
    let server = server_with(Auth::Token(hash), None);
    let url = server.client_url().unwrap();
    let client = async_nats::ConnectOptions::with_token("pw".into())
        .connect(&url)
        .await
        .expect("bcrypt token accepted");
    round_trip(&client, "token.ok").await;
    let refused = async_nats::ConnectOptions::with_token(PW_HASH.into())
        .connect(&url)
        .await;
    assert!(refused.is_err(), "the hash itself is not the token");
}

#[tokio::test]
async fn no_auth_user_gets_its_permissions() {
    let mut guest = User::new("guest", "unused");
    let mut perms = Permissions::default();
    perms.publish.allow = Some(vec!["guest.>".into()]);
    guest.permissions = Some(perms);
    let server = server_with(
        Auth::Users(vec![User::new("admin", "s3cret"), guest]),
        Some("guest"),
    );
    let url = server.client_url().unwrap();
    let client = async_nats::connect(&url)
        .await
        .expect("no credentials needed");
    round_trip(&client, "guest.x").await;
    let admin = async_nats::ConnectOptions::with_user_and_password("admin".into(), "s3cret".into())
        .connect(&url)
        .await
        .expect("admin still logs in");
    round_trip(&admin, "admin.x").await;
}

/// nkey users: INFO carries a nonce, async-nats signs it with the user's seed, and the
/// signature is verified; the same key pair is accepted (and a stranger's refused) by
/// nats-server 2.15 with the same configuration.
#[tokio::test]
async fn nkey_users_sign_the_nonce() {
    let user = nkeys::KeyPair::new_user();
    let stranger = nkeys::KeyPair::new_user();
    let public = user.public_key();
    let seed = |kp: &nkeys::KeyPair| kp.seed().unwrap();
    let connect = |url: String, seed: String| async move {
        async_nats::ConnectOptions::with_nkey(seed)
            .connect(url)
            .await
    };

    let mut nkey_user = User::new("", "");
    nkey_user.nkey = Some(public.clone());
    let skiff = server_with(Auth::Users(vec![nkey_user]), None);
    let url = skiff.client_url().unwrap();
    let client = connect(url.clone(), seed(&user))
        .await
        .expect("the user's seed");
    round_trip(&client, "nkey.skiff").await;
    assert!(
        connect(url, seed(&stranger)).await.is_err(),
        "a stranger's seed is refused"
    );

    let nats = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/nats-server");
    if !nats.is_file() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = std::env::temp_dir().join(format!("skiff-nkey-{port}.conf"));
    std::fs::write(
        &conf,
        format!("listen: 127.0.0.1:{port}\nauthorization {{ users: [ {{ nkey: {public} }} ] }}\n"),
    )
    .unwrap();
    let mut child = std::process::Command::new(&nats)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let accepted = connect(url.clone(), seed(&user)).await.is_ok();
    let refused = connect(url, seed(&stranger)).await.is_err();
    let _ = child.kill();
    let _ = child.wait();
    assert!(accepted && refused, "nats-server agrees");
}
