//! nats.ws 1.30 and @nats-io/nats-core 3.x, in Node, against the `skiff` daemon's WebSocket
//! listener (`tests/clients/nats_ws_check.cjs`). Uses the npm packages the browser tests
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
    let node = Command::new("node").arg("--version").output();
    let Some(modules) = node_modules().filter(|_| node.is_ok_and(|o| o.status.success())) else {
        eprintln!(
            "SKIPPED nats_ws_and_nats_core_over_websocket: node or wasm/tests/node_modules missing"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("skiff-node-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ws.conf");
    std::fs::write(&conf, "websocket { port: -1, no_tls: true }\n").unwrap();
    let mut daemon = Daemon::start(&["-c", conf.to_str().unwrap()]);
    assert!(daemon.wait_for_line(
        "Listening for websocket clients on ws://",
        Duration::from_secs(5)
    ));
    let ws = daemon
        .log
        .iter()
        .find_map(|l| l.split("Listening for websocket clients on ws://").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let port = ws.rsplit_once(':').unwrap().1;
    let out = Command::new("node")
        .arg("--experimental-websocket")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/nats_ws_check.cjs"))
        .arg(format!("ws://127.0.0.1:{port}"))
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
