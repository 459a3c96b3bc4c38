//! Connection scale: many idle connections, each with one subscription.
//!
//! Each connection sends `CONNECT`, `SUB`, `PING` in one write and waits for the `PONG`.
//! Connections are opened in waves (so the listen backlog never overflows into SYN retries)
//! by a few threads. Reported: the time until every connection has its `PONG`, and — when the
//! server's pid is known — its resident memory growth (`VmRSS`) divided by the connections.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::metrics::{Measurement, Metric};
use crate::server;
use crate::wire;

/// Threads opening connections.
const THREADS: usize = 4;

/// Connections a thread opens before reading their `PONG`s.
const WAVE: usize = 250;

/// Pause before reading the server's memory, so it settles.
const SETTLE: Duration = Duration::from_millis(500);

/// File descriptors the bench keeps for itself beyond the connections.
const SPARE_FDS: u64 = 64;

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Opens `n` idle subscribed connections to `addr`; `pid` is the server's, for memory.
pub fn run(addr: SocketAddr, n: usize, pid: Option<u32>) -> io::Result<Measurement> {
    let limit = raise_fd_limit()?;
    if limit < n as u64 + SPARE_FDS {
        return Err(io::Error::other(format!(
            "open-file limit {limit} too low for {n} connections (raise the hard limit)"
        )));
    }
    let before = pid.map(server::rss_bytes).transpose()?;
    let started = Instant::now();
    let per_thread = n.div_ceil(THREADS);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let share = per_thread.min(n.saturating_sub(t * per_thread));
            thread::spawn(move || open_many(addr, t, share))
        })
        .collect();
    let mut held = Vec::with_capacity(n);
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(streams)) => held.extend(streams),
            Ok(Err(e)) => first_err = first_err.or(Some(e)),
            Err(_) => first_err = Some(io::Error::other("a connect thread panicked")),
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let accept = started.elapsed();
    let mut m = Measurement::from([(Metric::AcceptMs, accept.as_secs_f64() * 1e3)]);
    if let (Some(pid), Some(before)) = (pid, before) {
        thread::sleep(SETTLE);
        let after = server::rss_bytes(pid)?;
        let per_conn = after.saturating_sub(before) as f64 / held.len() as f64 / 1024.0;
        m.insert(Metric::RssPerConnKib, per_conn);
    }
    drop(held);
    Ok(m)
}

/// Opens `count` connections in waves; returns them still open.
fn open_many(addr: SocketAddr, thread_no: usize, count: usize) -> io::Result<Vec<TcpStream>> {
    let mut out: Vec<TcpStream> = Vec::with_capacity(count);
    while out.len() < count {
        let wave_start = out.len();
        let wave = WAVE.min(count - wave_start);
        for i in 0..wave {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(20)))?;
            let name = format!("idle{thread_no}-{}", wave_start + i);
            let hello = format!("{}SUB idle.{name} 1\r\nPING\r\n", wire::connect_line(&name));
            s.write_all(hello.as_bytes())?;
            out.push(s);
        }
        for s in &mut out[wave_start..] {
            wait_pong(s)?;
        }
    }
    Ok(out)
}

/// Reads until `PONG` arrives; `-ERR` (e.g. too many connections) is an error.
fn wait_pong(s: &mut TcpStream) -> io::Result<()> {
    let mut seen = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed an idle connection",
            ));
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(at) = find(&seen, b"-ERR") {
            let line = seen[at..].split(|&b| b == b'\n').next().unwrap_or_default();
            return Err(wire::server_err(line));
        }
        if find(&seen, b"PONG\r\n").is_some() {
            return Ok(());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_needles() {
        assert_eq!(find(b"INFO {}\r\nPONG\r\n", b"PONG\r\n"), Some(9));
        assert_eq!(find(b"PON", b"PONG\r\n"), None);
    }

    #[test]
    fn fd_limit_can_be_raised() {
        assert!(raise_fd_limit().unwrap() >= 256);
    }
}
