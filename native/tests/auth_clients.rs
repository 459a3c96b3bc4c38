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
