//! Real-client scenarios: nats.go's own benchmark pattern, run by `natsflood`.
//!
//! `natsflood` (Go, in `native/tests/clients/go/natsflood`) connects `SUBS` nats.go subscribers,
//! each on its own connection with client-side limits off (as `nats bench` does), then one
//! nats.go publisher sends the messages as fast as it can: no flow-control window, so a server
//! whose subscribers read slower than the publisher writes must slow the publisher down or
//! lose them. A run where any subscriber misses a message fails; it never yields a number.
//!
//! The program is built once per process, offline in GOPATH mode against Debian's nats.go
//! (`golang-go`, `golang-github-nats-io-go-nats-dev`), into `target/natsflood/`.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::metrics::{Measurement, Metric};

/// Debian's GOPATH with nats.go in it.
const GOPATH: &str = "/usr/share/gocode";

/// How long one run may take before it fails.
const TIMEOUT: &str = "120s";

/// The workspace root (the bench crate's parent).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn source() -> PathBuf {
    workspace().join("native/tests/clients/go/natsflood/main.go")
}

/// Whether Go, nats.go and the `natsflood` source are present.
pub fn available() -> bool {
    source().is_file()
        && Path::new(GOPATH)
            .join("src/github.com/nats-io/nats.go")
            .is_dir()
        && Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// The `natsflood` binary, built on first use.
fn binary() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    let work = workspace().join("target/natsflood");
    let src = work.join("src/natsflood");
    std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    std::fs::copy(source(), src.join("main.go")).map_err(|e| e.to_string())?;
    let out = work.join("natsflood");
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg("natsflood")
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:{GOPATH}", work.display()))
        .env("GOCACHE", work.join("cache"))
        .output()
        .map_err(|e| format!("go build: {e}"))?;
    if !build.status.success() {
        return Err(format!(
            "go build natsflood: {}",
            String::from_utf8_lossy(&build.stderr).trim()
        ));
    }
    Ok(out)
}

/// One publisher, `subs` subscribers, `count` messages of `payload` bytes.
pub fn run(addr: SocketAddr, subs: usize, payload: usize, count: u64) -> io::Result<Measurement> {
    let binary = binary().map_err(io::Error::other)?;
    let out = Command::new(binary)
        .arg(format!("nats://{addr}"))
        .args([count.to_string(), payload.to_string(), subs.to_string()])
        .arg(TIMEOUT)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (delivered, secs) = parse_ok(&stdout).ok_or_else(|| {
        io::Error::other(format!(
            "INCOMPLETE: {} {}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    })?;
    if !out.status.success() || delivered != count * subs as u64 {
        return Err(io::Error::other(format!("INCOMPLETE: {}", stdout.trim())));
    }
    Ok(Measurement::from([
        (Metric::MsgsPerSec, delivered as f64 / secs),
        (
            Metric::MbPerSec,
            (delivered * payload as u64) as f64 / secs / 1e6,
        ),
        (Metric::ElapsedMs, secs * 1e3),
    ]))
}

/// `(messages delivered, seconds)` from `natsflood`'s `OK msgs=N secs=S` line.
fn parse_ok(stdout: &str) -> Option<(u64, f64)> {
    let line = stdout.lines().find(|l| l.starts_with("OK "))?;
    let mut msgs = None;
    let mut secs = None;
    for field in line.split_whitespace() {
        if let Some(v) = field.strip_prefix("msgs=") {
            msgs = v.parse().ok();
        } else if let Some(v) = field.strip_prefix("secs=") {
            secs = v.parse().ok();
        }
    }
    Some((msgs?, secs.filter(|&s: &f64| s > 0.0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ok_line_only() {
        assert_eq!(
            parse_ok("OK msgs=500000 secs=1.250\n"),
            Some((500_000, 1.25))
        );
        assert_eq!(parse_ok("FAIL received [12] of 500000\n"), None);
        assert_eq!(parse_ok("OK msgs=5 secs=0\n"), None);
    }
}
