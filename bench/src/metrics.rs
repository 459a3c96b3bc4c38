//! Named measurements and their medians over rounds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One kind of number a scenario reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Messages per second delivered to subscribers (or ingested, for pub-only).
    MsgsPerSec,
    /// Payload megabytes (10^6 bytes) per second, same basis as `MsgsPerSec`.
    MbPerSec,
    /// Time from first publish to last receipt, in milliseconds.
    ElapsedMs,
    /// Request/reply latency, 50th percentile, microseconds.
    P50Us,
    /// 90th percentile, microseconds.
    P90Us,
    /// 99th percentile, microseconds.
    P99Us,
    /// 99.9th percentile, microseconds.
    P999Us,
    /// Sequential request/reply round trips per second.
    RoundTripsPerSec,
    /// Server resident memory per idle connection (with one subscription), KiB.
    RssPerConnKib,
    /// Time to connect all idle connections and get every PONG, milliseconds.
    AcceptMs,
    /// The server's own CPU time (user + system, `/proc/<pid>/stat`) per delivered message,
    /// microseconds: independent of how fast the load generator reads.
    CpuUsPerMsg,
    /// Server resident memory before a burst, MiB.
    RssBeforeMib,
    /// Server resident memory at the burst's peak (sampled), MiB.
    RssPeakMib,
    /// Server resident memory after every client closed (2 s later), MiB.
    RssAfterMib,
}

impl Metric {
    /// Column label with unit.
    pub fn label(self) -> &'static str {
        match self {
            Self::MsgsPerSec => "msgs/s",
            Self::MbPerSec => "MB/s",
            Self::ElapsedMs => "elapsed ms",
            Self::P50Us => "p50 µs",
            Self::P90Us => "p90 µs",
            Self::P99Us => "p99 µs",
            Self::P999Us => "p99.9 µs",
            Self::RoundTripsPerSec => "round trips/s",
            Self::RssPerConnKib => "RSS KiB/conn",
            Self::AcceptMs => "accept-all ms",
            Self::CpuUsPerMsg => "server CPU µs/msg",
            Self::RssBeforeMib => "RSS MiB before",
            Self::RssPeakMib => "RSS MiB peak",
            Self::RssAfterMib => "RSS MiB after",
        }
    }

    /// Whether a larger value is better (throughput) or worse (latency, memory, time).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Self::MsgsPerSec | Self::MbPerSec | Self::RoundTripsPerSec
        )
    }

    /// Whether this metric is drawn in the ratio chart.
    pub fn charted(self) -> bool {
        matches!(
            self,
            Self::MsgsPerSec
                | Self::P50Us
                | Self::P99Us
                | Self::RssPerConnKib
                | Self::AcceptMs
                | Self::CpuUsPerMsg
                | Self::RssAfterMib
        )
    }
}

/// The numbers one run of one scenario produced.
pub type Measurement = BTreeMap<Metric, f64>;

/// Median of each metric over several runs (metrics missing from some runs use the rest).
pub fn median(runs: &[Measurement]) -> Measurement {
    let mut all: BTreeMap<Metric, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (&m, &v) in run {
            all.entry(m).or_default().push(v);
        }
    }
    all.into_iter()
        .map(|(m, mut vs)| {
            vs.sort_by(f64::total_cmp);
            let mid = vs.len() / 2;
            let v = if vs.len() % 2 == 1 {
                vs[mid]
            } else {
                (vs[mid - 1] + vs[mid]) / 2.0
            };
            (m, v)
        })
        .collect()
}

/// Formats a value with sensible precision: `1.23M`, `45.6k`, `789`, `12.3`, `0.45`.
pub fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000_000.0 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1_000_000.0 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 100_000.0 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10_000.0 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One line per metric, for the `run` subcommand.
pub fn describe(m: &Measurement) -> String {
    let mut out = String::new();
    for (metric, v) in m {
        let _ = writeln!(out, "  {:<14} {}", metric.label(), human(*v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(Metric, f64)]) -> Measurement {
        pairs.iter().copied().collect()
    }

    #[test]
    fn median_odd_even_and_partial() {
        let runs = [
            m(&[(Metric::MsgsPerSec, 3.0), (Metric::P50Us, 10.0)]),
            m(&[(Metric::MsgsPerSec, 1.0)]),
            m(&[(Metric::MsgsPerSec, 2.0), (Metric::P50Us, 20.0)]),
        ];
        let med = median(&runs);
        assert_eq!(med[&Metric::MsgsPerSec], 2.0);
        assert_eq!(med[&Metric::P50Us], 15.0);
        assert!(median(&[]).is_empty());
    }

    #[test]
    fn human_formats() {
        assert_eq!(human(12_345_678.0), "12.3M");
        assert_eq!(human(1_234_567.0), "1.23M");
        assert_eq!(human(123_456.0), "123k");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(123.4), "123");
        assert_eq!(human(12.34), "12.3");
        assert_eq!(human(0.456), "0.46");
    }

    #[test]
    fn direction() {
        assert!(Metric::MsgsPerSec.higher_is_better());
        assert!(!Metric::P99Us.higher_is_better());
        assert!(!Metric::RssPerConnKib.higher_is_better());
    }
}
