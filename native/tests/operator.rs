//! Operator mode side by side with nats-server 2.15, from one config file (`operator`,
//! `resolver: MEMORY`, `resolver_preload`, `system_account`) and JWTs made here: async-nats
//! with a creds file, accounts from JWTs with a service export/import, and on the raw
//! protocol the nonce, a wrong signature, an expired JWT, JWT permissions, and a JWT that
//! expires while connected.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::jwt;
use futures::StreamExt;
use nkeys::KeyPair;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

/// An operator, its system account, and accounts `A` (exports service `help`) and `B`
/// (imports it as `ask`).
struct Setup {
    dir: PathBuf,
    a: KeyPair,
    b: KeyPair,
    conf: PathBuf,
}

impl Setup {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("skiff-op-{}-{tag}", std::process::id()));
        let (op, sys, a, b) = (
            KeyPair::new_operator(),
            KeyPair::new_account(),
            KeyPair::new_account(),
            KeyPair::new_account(),
        );
        let operator = jwt::operator(&op, Some(&sys.public_key()));
        let decorated = format!(
            "-----BEGIN NATS OPERATOR JWT-----\n{operator}\n------END NATS OPERATOR JWT------\n"
        );
        let op_file = jwt::write(&dir, "op.jwt", &decorated);
        let sys_jwt = jwt::account(&op, &sys, "SYS", json!({}));
        let a_jwt = jwt::account(
            &op,
            &a,
            "A",
            json!({"exports": [{"name": "help", "subject": "help", "type": "service"}]}),
        );
        let b_jwt = jwt::account(
            &op,
            &b,
            "B",
            json!({"imports": [{"name": "help", "subject": "help", "account": a.public_key(),
                                "local_subject": "ask", "type": "service"}]}),
        );
        let conf = format!(
            "operator: \"{op_file}\"\nresolver: MEMORY\nsystem_account: {}\nresolver_preload: {{\n {}: \"{sys_jwt}\"\n {}: \"{a_jwt}\"\n {}: \"{b_jwt}\"\n}}\n",
            sys.public_key(),
            sys.public_key(),
            a.public_key(),
            b.public_key()
        );
        let conf = PathBuf::from(jwt::write(&dir, "server.conf", &conf));
        Self { dir, a, b, conf }
    }

    /// A user of `account` with `nats` claims and top-level `extra`, and its creds file.
    fn user(
        &self,
        account: &KeyPair,
        name: &str,
        nats: serde_json::Value,
        extra: serde_json::Value,
    ) -> (KeyPair, String, String) {
        let user = KeyPair::new_user();
        let token = jwt::user(account, &user, nats, extra);
        let creds = jwt::write(
            &self.dir,
            &format!("{name}.creds"),
            &jwt::creds(&token, &user),
        );
        (user, token, creds)
    }
}

/// Skiff and (when installed) nats-server on the setup's config.
fn servers(setup: &Setup) -> Vec<common::side_by_side::Running> {
    common::side_by_side::servers(&setup.conf)
}

/// A raw connection: INFO read, CONNECT sent with `jwt` and the nonce signed by `signer`.
fn raw_connect(addr: &str, token: &str, signer: &KeyPair) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut info = String::new();
    reader.read_line(&mut info).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(info.trim_start_matches("INFO ").trim()).unwrap();
    let nonce = json["nonce"]
        .as_str()
        .expect("INFO carries a nonce")
        .to_owned();
    assert_eq!(json["auth_required"], true);
    let connect = json!({"verbose": false, "pedantic": false, "protocol": 1, "jwt": token,
                         "sig": jwt::sign_nonce(signer, &nonce)});
    let mut writer = stream;
    writer
        .write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())
        .unwrap();
    (reader, writer)
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    line
}

#[tokio::test]
async fn creds_files_and_jwt_accounts() {
    let setup = Setup::new("creds");
    let (_, _, a_creds) = setup.user(&setup.a, "a", json!({}), json!({}));
    let (_, _, b_creds) = setup.user(&setup.b, "b", json!({}), json!({}));
    for server in servers(&setup) {
        let (name, addr) = (server.name, server.addr.clone());
        let url = format!("nats://{addr}");
        let connect = |creds: String| {
            let url = url.clone();
            async move {
                async_nats::ConnectOptions::with_credentials_file(creds)
                    .await
                    .unwrap()
                    .connect(url)
                    .await
            }
        };
        let a = connect(a_creds.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: creds of A: {e}"));
        let b = connect(b_creds.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: creds of B: {e}"));
        // A answers `help`; B asks through its import.
        let mut help = a.subscribe("help").await.unwrap();
        a.flush().await.unwrap();
        let responder = tokio::spawn({
            let a = a.clone();
            async move {
                let request = help.next().await.unwrap();
                a.publish(request.reply.unwrap(), "from A".into())
                    .await
                    .unwrap();
                a.flush().await.unwrap();
            }
        });
        let mut answer = None;
        for _ in 0..20 {
            // The responder's SUB may still be on its way (async-nats's flush is local).
            match tokio::time::timeout(WAIT, b.request("ask", "?".into())).await {
                Ok(Ok(m)) => {
                    answer = Some(m);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let answer = answer.unwrap_or_else(|| panic!("{name}: no answer through the import"));
        assert_eq!(&answer.payload[..], b"from A", "{name}");
        responder.await.unwrap();
        // The accounts are isolated otherwise.
        let info = tokio::time::timeout(WAIT, b.request("$SYS.REQ.USER.INFO", "".into()))
            .await
            .unwrap()
            .unwrap();
        let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
        assert_eq!(info["data"]["account"], setup.b.public_key(), "{name}");
    }
}

#[test]
fn nonce_signatures_expiry_and_permissions_on_the_wire() {
    let setup = Setup::new("wire");
    let (alice, alice_jwt, _) = setup.user(
        &setup.a,
        "alice",
        json!({"pub": {"deny": ["secret"]}}),
        json!({}),
    );
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let (old, old_jwt, _) = setup.user(&setup.a, "old", json!({}), json!({"exp": unix_now() - 60}));
    let stranger = KeyPair::new_user();
    for server in servers(&setup) {
        let (name, addr) = (server.name, server.addr.clone());
        // The right signature, and JWT permissions.
        let (mut r, mut w) = raw_connect(&addr, &alice_jwt, &alice);
        assert_eq!(line(&mut r), "PONG\r\n", "{name}");
        w.write_all(b"PUB secret 1\r\nx\r\nPING\r\n").unwrap();
        let mut got = line(&mut r);
        if got.starts_with("INFO") {
            got = line(&mut r); // the connect_info INFO after the first PONG
        }
        assert_eq!(
            got, "-ERR 'Permissions Violation for Publish to \"secret\"'\r\n",
            "{name}"
        );
        // A signature by another key.
        let (mut r, _w) = raw_connect(&addr, &alice_jwt, &stranger);
        assert_eq!(line(&mut r), "-ERR 'Authorization Violation'\r\n", "{name}");
        // An expired JWT.
        let (mut r, _w) = raw_connect(&addr, &old_jwt, &old);
        assert_eq!(line(&mut r), "-ERR 'Authorization Violation'\r\n", "{name}");
        // A JWT that expires while connected.
        let (soon, soon_jwt, _) =
            setup.user(&setup.a, "soon", json!({}), json!({"exp": unix_now() + 2}));
        let (mut r, _w) = raw_connect(&addr, &soon_jwt, &soon);
        assert_eq!(line(&mut r), "PONG\r\n", "{name}");
        r.get_ref()
            .set_read_timeout(Some(Duration::from_secs(8)))
            .unwrap();
        let mut rest = String::new();
        let _ = r.read_to_string(&mut rest);
        assert!(
            rest.contains("-ERR 'User Authentication Expired'\r\n"),
            "{name}: {rest:?}"
        );
    }
}

/// JWT limits and revocations on the wire, side by side: an account's connection limit, a
/// user's subscription and payload limits, and a revoked user.
#[test]
fn jwt_limits_and_revocations() {
    let dir = std::env::temp_dir().join(format!("skiff-op-{}-limits", std::process::id()));
    let (op, acc) = (KeyPair::new_operator(), KeyPair::new_account());
    let (limited, revoked) = (KeyPair::new_user(), KeyPair::new_user());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let op_file = jwt::write(&dir, "op.jwt", &jwt::operator(&op, None));
    let acc_jwt = jwt::account(
        &op,
        &acc,
        "L",
        json!({"limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                          "wildcards": true, "conn": 1, "leaf": -1},
               "revocations": {revoked.public_key(): now + 10}}),
    );
    let conf = format!(
        "operator: \"{op_file}\"\nresolver: MEMORY\nresolver_preload: {{ {}: \"{acc_jwt}\" }}\n",
        acc.public_key()
    );
    let conf = PathBuf::from(jwt::write(&dir, "server.conf", &conf));
    let limited_jwt = jwt::user(&acc, &limited, json!({"subs": 1, "payload": 8}), json!({}));
    let revoked_jwt = jwt::user(&acc, &revoked, json!({}), json!({}));
    for server in common::side_by_side::servers(&conf) {
        let (name, addr) = (server.name, server.addr.clone());
        let (mut r, mut w) = raw_connect(&addr, &limited_jwt, &limited);
        assert_eq!(line(&mut r), "PONG\r\n", "{name}");
        // The account's one connection is taken.
        let (mut second, _w2) = raw_connect(&addr, &limited_jwt, &limited);
        assert_eq!(
            line(&mut second),
            "-ERR 'maximum account active connections exceeded'\r\n",
            "{name}"
        );
        w.write_all(b"SUB a 1\r\nSUB b 2\r\nPING\r\n").unwrap();
        let mut got = line(&mut r);
        if got.starts_with("INFO") {
            got = line(&mut r);
        }
        assert_eq!(got, "-ERR 'maximum subscriptions exceeded'\r\n", "{name}");
        assert_eq!(line(&mut r), "PONG\r\n", "{name}");
        w.write_all(b"PUB a 9\r\n").unwrap();
        assert_eq!(
            line(&mut r),
            "-ERR 'Maximum Payload Violation'\r\n",
            "{name}"
        );
        drop((r, w));
        std::thread::sleep(Duration::from_millis(200));
        // Revoked up to a time after its JWT was issued.
        let (mut r, _w) = raw_connect(&addr, &revoked_jwt, &revoked);
        assert_eq!(line(&mut r), "-ERR 'Authorization Violation'\r\n", "{name}");
    }
}
