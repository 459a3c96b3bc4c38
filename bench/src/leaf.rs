//! Pub/sub through a leaf link: two fresh servers of the same build, one the hub
//! (`leafnodes { listen }`) and one its leaf (`leafnodes { remotes }`), one publisher on one
//! side and one subscriber on the other, with [`crate::pubsub`]'s flow-control window. The
//! server CPU per message is both processes' together.

use std::io;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::metrics::{Measurement, Metric};
use crate::pubsub::{Plan, run_split};
use crate::server::{ServerProcess, cpu_seconds, free_port};

/// How long the leaf may take to join its hub.
const LINK_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a new subscription's interest to cross the link before publishing starts.
const SETTLE: Duration = Duration::from_millis(300);

/// Runs `count` messages of `payload` bytes across a leaf link: leaf → hub when `up`.
pub fn run(binary: &Path, up: bool, payload: usize, count: u64) -> io::Result<Measurement> {
    let leaf_port = free_port()?;
    let hub = ServerProcess::start_with(
        binary,
        &format!("leafnodes {{ listen: \"127.0.0.1:{leaf_port}\" }}\n"),
    )?;
    let leaf = ServerProcess::start_with(
        binary,
        &format!("leafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{leaf_port}\" }} ] }}\n"),
    )?;
    wait_for_link(&hub, &leaf)?;
    let (sub_addr, pub_addr) = if up {
        (hub.addr, leaf.addr)
    } else {
        (leaf.addr, hub.addr)
    };
    let cpu = || -> io::Result<f64> { Ok(cpu_seconds(hub.pid())? + cpu_seconds(leaf.pid())?) };
    let before = cpu()?;
    let plan = Plan {
        pubs: 1,
        subs: 1,
        queue: false,
        payload,
        count,
    };
    let mut m = run_split(sub_addr, pub_addr, SETTLE, plan)?;
    let used = cpu()? - before;
    m.insert(Metric::CpuUsPerMsg, used * 1e6 / count.max(1) as f64);
    Ok(m)
}

/// Waits until a message published on the leaf reaches a subscriber on the hub.
fn wait_for_link(hub: &ServerProcess, leaf: &ServerProcess) -> io::Result<()> {
    let deadline = Instant::now() + LINK_TIMEOUT;
    loop {
        let plan = Plan {
            pubs: 1,
            subs: 1,
            queue: false,
            payload: crate::seq::MIN_PAYLOAD,
            count: 1,
        };
        let probe = run_split(hub.addr, leaf.addr, SETTLE, plan);
        if probe.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("the leaf did not join its hub in time"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}
