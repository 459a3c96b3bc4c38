//! nats-py and nats.go against the `skiff` daemon. Each test skips, with a printed notice,
//! only if its toolchain or client library is absent.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Daemon;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `cmd`, failing the test with its output unless it exits 0 and prints "OK".
fn expect_ok(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "{what} failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn stop(mut daemon: Daemon) {
    daemon.signal("INT");
    assert_eq!(
        daemon.wait(Duration::from_secs(20)).code(),
        Some(0),
        "{:?}",
        daemon.log
    );
}

#[test]
fn nats_py_client() {
    let available = Command::new("python3")
        .args(["-c", "import nats"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("SKIPPED nats_py_client: python3 with nats-py is not installed");
        return;
    }
    let daemon = Daemon::start(&[]);
    let mut cmd = Command::new("python3");
    cmd.arg(clients_dir().join("nats_py_check.py"))
        .arg(daemon.url());
    expect_ok(cmd, "nats-py check");
    stop(daemon);
}

#[test]
fn nats_go_client() {
    let gopath = Path::new("/usr/share/gocode");
    let has_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_go || !gopath.join("src/github.com/nats-io/nats.go").exists() {
        eprintln!(
            "SKIPPED nats_go_client: go or golang-github-nats-io-go-nats-dev is not installed"
        );
        return;
    }
    // Build offline in GOPATH mode: the source is copied into a private GOPATH whose first
    // entry is ours, the Debian packages' GOPATH second.
    let work = std::env::temp_dir().join(format!("skiff-natsgo-{}", std::process::id()));
    let src = work.join("src/natsgocheck");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(
        clients_dir().join("go/natsgocheck/main.go"),
        src.join("main.go"),
    )
    .unwrap();
    let binary = work.join("natsgocheck");
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg("natsgocheck")
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:{}", work.display(), gopath.display()))
        .env("GOCACHE", work.join("cache"))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "go build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let daemon = Daemon::start(&[]);
    let mut cmd = Command::new(&binary);
    cmd.arg(daemon.url());
    expect_ok(cmd, "nats.go check");
    stop(daemon);
    let _ = std::fs::remove_dir_all(work);
}
