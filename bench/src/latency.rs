//! Request/reply latency: one requester, one responder, one request in flight at a time.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::metrics::{Measurement, Metric};
use crate::pubsub::unique_subject;
use crate::seq;
use crate::wire::{self, Conn, Event};

/// Round trips run before measuring, to warm up both sides.
const WARMUP: u64 = 200;

/// Upper bound on one run's measuring time, whatever the count.
const MAX_TIME: Duration = Duration::from_secs(10);

/// Runs `count` sequential request/reply round trips with `payload`-byte requests and replies.
pub fn run(addr: SocketAddr, payload: usize, count: u64) -> io::Result<Measurement> {
    let service = unique_subject("bench.req");
    let inbox = unique_subject("bench.inbox");
    let responder = Conn::open(addr, "responder", &format!("SUB {service} 1\r\n"))?;
    let mut requester = Conn::open(addr, "requester", &format!("SUB {inbox} 1\r\n"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || respond(responder, &stop))
    };
    let result = request_loop(&mut requester, &service, &inbox, payload, count);
    stop.store(true, Ordering::Release);
    let served = handle
        .join()
        .map_err(|_| io::Error::other("responder thread panicked"))?;
    let hist = result?;
    served?;
    Ok(summarize(&hist.0, hist.1))
}

/// The latency metrics of a histogram of nanoseconds, `elapsed` being the measuring time.
pub fn summarize(hist: &Histogram<u64>, elapsed: Duration) -> Measurement {
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1e3;
    Measurement::from([
        (Metric::P50Us, us(0.5)),
        (Metric::P90Us, us(0.9)),
        (Metric::P99Us, us(0.99)),
        (Metric::P999Us, us(0.999)),
        (
            Metric::RoundTripsPerSec,
            hist.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        ),
    ])
}

fn request_loop(
    conn: &mut Conn,
    service: &str,
    inbox: &str,
    payload: usize,
    count: u64,
) -> io::Result<(Histogram<u64>, Duration)> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let line = wire::pub_line(service, Some(inbox), payload);
    let mut body = seq::template(payload);
    let mut buf = Vec::with_capacity(line.len() + payload + 2);
    let mut started = None;
    for i in 1..=WARMUP + count {
        if i == WARMUP + 1 {
            started = Some(Instant::now());
        }
        seq::stamp(&mut body, 0, i);
        buf.clear();
        wire::push_pub(&mut buf, &line, &body);
        let t0 = Instant::now();
        conn.writer.write_all(&buf)?;
        let Conn { writer, reader } = conn;
        reader.poll_until(|ev| match ev {
            Event::Msg { payload, .. } => {
                let (_, got) = seq::read(payload)?;
                if got != i {
                    return Err(wire::bad(format!("reply {got} to request {i}")));
                }
                Ok(true)
            }
            Event::Ping => writer.write_all(b"PONG\r\n").map(|()| false),
            Event::Err(text) => Err(wire::server_err(text)),
            Event::Pong | Event::Other => Ok(false),
        })?;
        if i > WARMUP {
            let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
            hist.record(ns.max(1))
                .map_err(|e| io::Error::other(e.to_string()))?;
            if started.is_some_and(|s| s.elapsed() > MAX_TIME) {
                break;
            }
        }
    }
    let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
    Ok((hist, elapsed))
}

/// Echoes every request's payload to its reply subject until `stop` is set.
fn respond(mut conn: Conn, stop: &AtomicBool) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_millis(50)))?;
    let Conn { writer, reader } = &mut conn;
    let mut out = Vec::new();
    while !stop.load(Ordering::Acquire) {
        out.clear();
        let r = reader.poll(|ev| match ev {
            Event::Msg {
                reply: Some(reply),
                payload,
                ..
            } => {
                let reply =
                    std::str::from_utf8(reply).map_err(|_| wire::bad("bad reply subject"))?;
                wire::encode_pub(&mut out, reply, None, payload);
                Ok(false)
            }
            Event::Msg { reply: None, .. } => Err(wire::bad("request without reply subject")),
            Event::Ping => {
                out.extend_from_slice(b"PONG\r\n");
                Ok(false)
            }
            Event::Err(text) => Err(wire::server_err(text)),
            Event::Pong | Event::Other => Ok(false),
        });
        match r {
            Ok(_) => {}
            Err(e) if wire::is_timeout(&e) => {}
            Err(_) if stop.load(Ordering::Acquire) => return Ok(()),
            Err(e) => return Err(e),
        }
        if !out.is_empty() {
            writer.write_all(&out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarize_reports_percentiles_in_micros() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let m = summarize(&h, Duration::from_secs(2));
        assert!((m[&Metric::P50Us] - 500.0).abs() < 1.0, "{m:?}");
        assert!((m[&Metric::P99Us] - 990.0).abs() < 2.0, "{m:?}");
        assert_eq!(m[&Metric::RoundTripsPerSec], 500.0);
    }
}
