//! Starting and stopping a server binary, and reading its memory.
//!
//! A server is started as `sh -c 'ulimit -n <hard limit>; exec BINARY -p PORT -a 127.0.0.1'`,
//! so it can hold the connection-scale scenario's sockets; `exec` keeps the pid, which is the
//! one whose `/proc/<pid>/status` we read. Skiff accepts the same `-p`/`-a` flags.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its WebSocket listener (`websocket { no_tls: true }` on another free port).
    pub ws_addr: SocketAddr,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `binary` on a free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start(binary: &Path) -> io::Result<Self> {
        Self::start_with(binary, "")
    }

    /// [`ServerProcess::start`] with `extra` appended to its config file (a `leafnodes {}`
    /// block, for the leaf scenarios).
    pub fn start_with(binary: &Path, extra: &str) -> io::Result<Self> {
        if !binary.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("server binary {} not found", binary.display()),
            ));
        }
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::env::temp_dir().join(format!("skiff-bench-server-{port}.log"));
        let out = File::create(&log)?;
        let ws_port = free_port()?;
        let ws_addr = SocketAddr::from(([127, 0, 0, 1], ws_port));
        let conf = std::env::temp_dir().join(format!("skiff-bench-server-{port}.conf"));
        std::fs::write(
            &conf,
            format!("websocket {{ listen: \"127.0.0.1:{ws_port}\", no_tls: true }}\n{extra}"),
        )?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@""#)
            .arg(binary)
            .args(["-p", &port.to_string(), "-a", "127.0.0.1", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut server = Self {
            child,
            addr,
            ws_addr,
            log,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "server exited at start ({status}): {}",
                    tail.trim()
                )));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("server did not listen on {} in time", self.addr),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Resident memory of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&status).ok_or_else(|| io::Error::other("no VmRSS line in /proc status"))
}

/// Finds `VmRSS: <n> kB` in a `/proc/<pid>/status` text; returns bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line["VmRSS:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPU time process `pid` has used so far (user + system, all threads), in seconds, from
/// `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat).ok_or_else(|| io::Error::other("malformed /proc stat"))?;
    Ok(ticks as f64 / clock_ticks_per_second() as f64)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line, in clock ticks. The
/// command name (field 2) may hold spaces, so fields are counted after its closing `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The kernel's clock ticks per second for `/proc` times (`getconf CLK_TCK`, else 100).
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// The first line `binary --version` prints, or `unknown`.
pub fn version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tnats-server\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\nThreads: 7\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn parses_cpu_ticks() {
        let stat = "4242 (nats server) S 1 2 3 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 7 0 1";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
    }

    #[test]
    fn reads_own_rss() {
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn missing_binary_is_an_error() {
        let err = ServerProcess::start(Path::new("/nonexistent/server")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
