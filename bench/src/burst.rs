//! Memory through a slow-consumer burst: a subscriber that never reads, a publisher writing `count` messages of `payload` bytes into it as
//! fast as the server takes them, a `PING`/`PONG` to be sure the server read everything, then
//! both clients close. Reported: the server's `VmRSS` before, at its peak (sampled during the
//! burst) and 2 s after the clients closed — whether an idle server returns to its idle
//! footprint. The stuck subscriber is expected to be closed as a slow consumer.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use crate::metrics::{Measurement, Metric};
use crate::server;
use crate::wire;

/// How long after the clients closed the memory is read.
const SETTLE: Duration = Duration::from_secs(2);

/// Runs the burst against the server at `addr`, whose pid is `pid`.
pub fn run(
    addr: SocketAddr,
    payload: usize,
    count: u64,
    pid: Option<u32>,
) -> io::Result<Measurement> {
    let pid = pid.ok_or_else(|| io::Error::other("the burst scenario needs the server's pid"))?;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let before = server::rss_bytes(pid)?;
    // `open` returns once the server has registered the subscription; it is never read again.
    let stuck = wire::Conn::open(addr, "stuck", "SUB burst 1\r\n")?;
    let mut publisher = wire::Conn::open(addr, "burst", "")?;
    let mut message = format!("PUB burst {payload}\r\n").into_bytes();
    message.extend(std::iter::repeat_n(b'x', payload));
    message.extend_from_slice(b"\r\n");
    let mut peak = before;
    for i in 0..count {
        publisher.writer.write_all(&message)?;
        if i % 64 == 0 {
            peak = peak.max(server::rss_bytes(pid)?);
        }
    }
    publisher.flush()?;
    peak = peak.max(server::rss_bytes(pid)?);
    drop(publisher);
    drop(stuck);
    std::thread::sleep(SETTLE);
    let after = server::rss_bytes(pid)?;
    Ok(Measurement::from([
        (Metric::RssBeforeMib, mib(before)),
        (Metric::RssPeakMib, mib(peak)),
        (Metric::RssAfterMib, mib(after)),
    ]))
}
