//! nats.ws 1.30 and @nats-io/nats-core 3.x, in Node, against the `skiff` daemon's WebSocket
//! listener (`tests/clients/nats_ws_check.cjs`), over `ws://` and over `wss://` with a
//! certificate made at test time. Uses the npm packages the browser tests
//! install (`wasm/tests/node_modules`, or `SKIFF_NODE_MODULES`); skips, with a notice, only if
//! Node or those packages are absent.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Daemon;

fn node_modules() -> Option<PathBuf> {
    let dir = std::env::var_os("SKIFF_NODE_MODULES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm/tests/node_modules"),
        PathBuf::from,
    );
    (dir.join("nats.ws").is_dir() && dir.join("@nats-io/nats-core").is_dir()).then_some(dir)
}

#[test]
fn nats_ws_and_nats_core_over_websocket() {
    check_over("ws", None);
}

#[test]
fn nats_ws_and_nats_core_over_secure_websocket() {
    let certs = common::certs::Certs::make("wss");
    check_over("wss", Some(&certs));
}

/// Runs the Node check against a daemon whose WebSocket listener speaks `scheme` (`wss`
/// with `certs`' server certificate, which Node trusts through `NODE_EXTRA_CA_CERTS`).
fn check_over(scheme: &str, certs: Option<&common::certs::Certs>) {
    let node = Command::new("node").arg("--version").output();
    let Some(modules) = node_modules().filter(|_| node.is_ok_and(|o| o.status.success())) else {
        eprintln!("SKIPPED nats.ws over {scheme}: node or wasm/tests/node_modules missing");
        return;
    };
    let dir = std::env::temp_dir().join(format!("skiff-node-{scheme}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ws.conf");
    let security = match certs {
        Some(certs) => certs.block(""),
        None => "no_tls: true".to_owned(),
    };
    std::fs::write(&conf, format!("websocket {{ port: -1\n{security}\n}}\n")).unwrap();
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);
    let listening = format!("Listening for websocket clients on {scheme}://");
    assert!(daemon.wait_for_line(&listening, Duration::from_secs(5)));
    let ws = daemon
        .log
        .iter()
        .find_map(|l| l.split(listening.as_str()).nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let port = ws.rsplit_once(':').unwrap().1;
    let mut command = Command::new("node");
    if let Some(certs) = certs {
        command.env("NODE_EXTRA_CA_CERTS", certs.path("ca.pem"));
    }
    let out = command
        .arg("--experimental-websocket")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/nats_ws_check.cjs"))
        .arg(format!("{scheme}://localhost:{port}"))
        .arg(&modules)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.signal("INT");
    daemon.wait(Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(dir);
}
