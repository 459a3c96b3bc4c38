//! Collected results of a comparison, and their Markdown report and chart.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::chart::{self, Bar};
use crate::metrics::{self, Measurement, Metric};
use crate::scenario::{Kind, Scenario};

/// One server binary taking part in a comparison.
#[derive(Debug, Clone)]
pub struct Contender {
    /// Name used in tables, e.g. `skiff` or `nats-server`.
    pub label: String,
    /// Path of the binary.
    pub path: PathBuf,
    /// What `--version` printed.
    pub version: String,
}

/// Everything a comparison measured: `runs[scenario][contender][round]`.
#[derive(Debug, Clone)]
pub struct Results {
    /// Contenders; the first is the candidate, the second the baseline of every ratio.
    pub contenders: Vec<Contender>,
    /// Scenarios, in run order.
    pub scenarios: Vec<Scenario>,
    /// Outcome of each run; `Err` holds the failure text.
    pub runs: Vec<Vec<Vec<Result<Measurement, String>>>>,
}

/// Free-text context printed at the top of the report.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// When the comparison ran (RFC 3339).
    pub when: String,
    /// Machine description (kernel, CPUs).
    pub machine: String,
    /// `full` or `quick`.
    pub mode: String,
    /// Rounds per scenario and contender.
    pub rounds: usize,
    /// Optional note shown first, e.g. to label a sample.
    pub note: Option<String>,
}

impl Results {
    /// Median measurement of the rounds of `scenario` × `contender`; `None` (shown as
    /// FAIL) if any round failed: an incomplete run is a failure, never a number.
    pub fn median(&self, scenario: usize, contender: usize) -> Option<Measurement> {
        let ok: Option<Vec<Measurement>> = self.runs[scenario][contender]
            .iter()
            .map(|r| r.as_ref().ok().cloned())
            .collect();
        ok.filter(|ok| !ok.is_empty())
            .map(|ok| metrics::median(&ok))
    }

    /// All failures as `(scenario, contender, round, error)`.
    pub fn failures(&self) -> Vec<(String, String, usize, String)> {
        let mut out = Vec::new();
        for (s, per_c) in self.runs.iter().enumerate() {
            for (c, rounds) in per_c.iter().enumerate() {
                for (r, run) in rounds.iter().enumerate() {
                    if let Err(e) = run {
                        out.push((
                            self.scenarios[s].name(),
                            self.contenders[c].label.clone(),
                            r + 1,
                            e.clone(),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Index of the baseline contender (the second), if there are two or more.
    fn baseline(&self) -> Option<usize> {
        (self.contenders.len() >= 2).then_some(1)
    }

    /// Contenders compared against the baseline.
    fn challengers(&self) -> Vec<usize> {
        match self.baseline() {
            Some(b) => (0..self.contenders.len()).filter(|&c| c != b).collect(),
            None => Vec::new(),
        }
    }

    /// `value(challenger) / value(baseline)` for one metric, when both exist.
    fn ratio(&self, scenario: usize, challenger: usize, metric: Metric) -> Option<f64> {
        let b = self
            .median(scenario, self.baseline()?)?
            .get(&metric)
            .copied()?;
        let c = self.median(scenario, challenger)?.get(&metric).copied()?;
        (b > 0.0 && c.is_finite()).then(|| c / b)
    }

    /// The chart's bars: candidate (first contender) versus baseline, charted metrics only.
    pub fn bars(&self) -> Vec<Bar> {
        let mut out = Vec::new();
        let challengers = self.challengers();
        for (s, scenario) in self.scenarios.iter().enumerate() {
            for metric in metrics_of(scenario).iter().copied().filter(|m| m.charted()) {
                for &c in &challengers {
                    let Some(ratio) = self.ratio(s, c, metric) else {
                        continue;
                    };
                    let prefix = if challengers.len() > 1 {
                        format!("{}: ", self.contenders[c].label)
                    } else {
                        String::new()
                    };
                    out.push(Bar {
                        label: format!("{prefix}{} {}", scenario.name(), with_arrow(metric)),
                        ratio,
                        better: (ratio >= 1.0) == metric.higher_is_better(),
                    });
                }
            }
        }
        out
    }

    /// The chart as an SVG document.
    pub fn chart(&self) -> String {
        let title = match self.baseline() {
            Some(b) => {
                let names: Vec<&str> = self
                    .challengers()
                    .into_iter()
                    .map(|c| self.contenders[c].label.as_str())
                    .collect();
                format!(
                    "{} relative to {} (medians)",
                    names.join(", "),
                    self.contenders[b].label
                )
            }
            None => "ratios".to_string(),
        };
        chart::render(
            &title,
            "right of 1.0 = larger value; ↑ = higher is better, ↓ = lower is better",
            &self.bars(),
        )
    }

    /// The Markdown report; `chart_file` is the SVG's file name, linked from the report.
    pub fn markdown(&self, ctx: &Context, chart_file: &str) -> String {
        let mut md = String::new();
        let names: Vec<&str> = self.contenders.iter().map(|c| c.label.as_str()).collect();
        let _ = writeln!(md, "# Benchmark: {}\n", names.join(" vs "));
        if let Some(note) = &ctx.note {
            let _ = writeln!(md, "> **{note}**\n");
        }
        let _ = writeln!(
            md,
            "Run {} on {} — mode `{}`, {} round(s) per scenario and server, interleaved \
             (servers alternate within each scenario, order reversed every round); each number \
             is the median over rounds. Every run uses a fresh server process on 127.0.0.1.\n",
            ctx.when, ctx.machine, ctx.mode, ctx.rounds
        );
        let _ = writeln!(
            md,
            "**Read the ratios, not the absolute numbers.** They come from one run of \
             `skiff-bench compare` on one small machine (2 cores, shared with the load \
             generator itself and possibly other work), so absolute figures are low and noisy; \
             the ratio column compares servers measured back to back under the same \
             conditions. Ratios are *contender / baseline*; ↑ = higher is better, \
             ↓ = lower is better.\n"
        );
        let _ = writeln!(md, "| Server | Binary | Version |\n|---|---|---|");
        for (i, c) in self.contenders.iter().enumerate() {
            let role = match (i, self.baseline()) {
                (1, Some(_)) => " (baseline)",
                _ => "",
            };
            let _ = writeln!(
                md,
                "| {}{role} | `{}` | {} |",
                c.label,
                c.path.display(),
                c.version
            );
        }
        let _ = writeln!(md, "\n![ratio chart]({chart_file})\n");
        for title in SECTIONS {
            let picked: Vec<usize> = (0..self.scenarios.len())
                .filter(|&s| section_of(&self.scenarios[s].kind) == title)
                .collect();
            if !picked.is_empty() {
                let _ = writeln!(md, "## {title}\n");
                self.table(&mut md, &picked);
            }
        }
        self.spread(&mut md);
        self.notes(&mut md);
        md
    }

    /// Min–max over rounds of each scenario's first metric, so readers can judge the noise.
    fn spread(&self, md: &mut String) {
        if self.runs.iter().flatten().all(|rounds| rounds.len() < 2) {
            return;
        }
        let _ = writeln!(
            md,
            "## Round-to-round spread\n\nMin–max over the rounds of each scenario's first \
             metric: the wider the spread, the less a ratio near 1.0 means.\n"
        );
        let mut header = String::from("| Scenario | Metric |");
        let mut rule = String::from("|---|---|");
        for c in &self.contenders {
            let _ = write!(header, " {} |", c.label);
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        for (s, scenario) in self.scenarios.iter().enumerate() {
            let metric = metrics_of(scenario)[0];
            let _ = write!(md, "| `{}` | {} |", scenario.name(), with_arrow(metric));
            for rounds in &self.runs[s] {
                let mut vs: Vec<f64> = rounds
                    .iter()
                    .filter_map(|r| r.as_ref().ok()?.get(&metric).copied())
                    .collect();
                vs.sort_by(f64::total_cmp);
                let cell = match (vs.first(), vs.last()) {
                    (Some(lo), Some(hi)) => {
                        format!("{}–{}", metrics::human(*lo), metrics::human(*hi))
                    }
                    _ => "FAIL".to_string(),
                };
                let _ = write!(md, " {cell} |");
            }
            md.push('\n');
        }
        md.push('\n');
    }

    fn table(&self, md: &mut String, scenarios: &[usize]) {
        let challengers = self.challengers();
        let mut header = String::from("| Scenario | Metric |");
        let mut rule = String::from("|---|---|");
        for c in &self.contenders {
            let _ = write!(header, " {} |", c.label);
            rule.push_str("---:|");
        }
        for &c in &challengers {
            let b = self.baseline().expect("challengers imply a baseline");
            let _ = write!(
                header,
                " {} / {} |",
                self.contenders[c].label, self.contenders[b].label
            );
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        for &s in scenarios {
            let scenario = &self.scenarios[s];
            let medians: Vec<Option<Measurement>> = (0..self.contenders.len())
                .map(|c| self.median(s, c))
                .collect();
            for (i, &metric) in metrics_of(scenario).iter().enumerate() {
                let name = if i == 0 {
                    format!(" `{}` ", scenario.name())
                } else {
                    " ".to_string()
                };
                let _ = write!(md, "|{name}| {} |", with_arrow(metric));
                for m in &medians {
                    let cell = match m.as_ref().map(|m| m.get(&metric)) {
                        Some(Some(v)) => metrics::human(*v),
                        Some(None) => "–".to_string(),
                        None => "FAIL".to_string(),
                    };
                    let _ = write!(md, " {cell} |");
                }
                for &c in &challengers {
                    let cell = self
                        .ratio(s, c, metric)
                        .map_or("–".to_string(), |r| format!("{r:.2}"));
                    let _ = write!(md, " {cell} |");
                }
                md.push('\n');
            }
        }
        md.push('\n');
    }

    fn notes(&self, md: &mut String) {
        let _ = writeln!(md, "## Scenarios\n");
        for s in &self.scenarios {
            let count = match s.kind {
                Kind::Conns { .. } => String::new(),
                Kind::ReqReply => format!(", {} round trips", s.count),
                Kind::Burst => format!(", {} msgs", s.count),
                _ => format!(", {} msgs per publisher", s.count),
            };
            let _ = writeln!(md, "- `{}`: {}{count}", s.name(), s.describe());
        }
        let _ = writeln!(
            md,
            "\nThroughput = messages delivered to all subscribers (for pub-only: accepted by \
             the server) divided by the time from the first publish to the last receipt (for \
             pub-only: to the PONG after the last PUB); MB/s counts payload bytes (10^6). \
             Every subscriber checks per-publisher sequence numbers; queue-group members' \
             sets are merged to prove each message went to exactly one member. Publishers \
             keep at most 4 MiB in flight per subscriber (an end-to-end window), far below \
             the default max_pending, so servers run with default settings. Memory per \
             connection = growth of the server's VmRSS after opening the idle connections, \
             divided by their number.\n\n\
             Server CPU µs/msg = the server process's user + system CPU time during the run \
             (`/proc/<pid>/stat`), divided by the messages it delivered (for pub-only: \
             accepted; for request/reply: 2 per round trip): what a message costs the server, \
             however fast the load generator reads. The real-client scenarios (`natsgo-*`) run \
             nats.go's benchmark pattern with no window (one publisher as fast as it goes, \
             subscribers with client-side limits off): a server whose subscribers fall behind \
             must slow the publisher or lose them; a run where any subscriber misses a message \
             is INCOMPLETE: a failure, never a number. A scenario with any failed round is \
             marked failed, not given the median of the other rounds.\n"
        );
        let failures = self.failures();
        if !failures.is_empty() {
            let _ = writeln!(md, "## Failures\n");
            for (s, c, r, e) in failures {
                let _ = writeln!(md, "- `{s}` on {c}, round {r}: {e}");
            }
            md.push('\n');
        }
    }
}

/// Report sections, in order.
const SECTIONS: [&str; 5] = [
    "Throughput",
    "Real clients (nats.go, no flow-control window)",
    "Request/reply latency",
    "Connection scale",
    "Memory through a slow-consumer burst",
];

/// The report section a scenario belongs to.
fn section_of(kind: &Kind) -> &'static str {
    match kind {
        Kind::PubOnly { .. }
        | Kind::PubSub { .. }
        | Kind::Queue { .. }
        | Kind::WsPubSub
        | Kind::Leaf { .. } => SECTIONS[0],
        Kind::NatsGo { .. } => SECTIONS[1],
        Kind::ReqReply => SECTIONS[2],
        Kind::Conns { .. } => SECTIONS[3],
        Kind::Burst => SECTIONS[4],
    }
}

/// Metrics shown for a scenario, in table order.
pub fn metrics_of(s: &Scenario) -> &'static [Metric] {
    match s.kind {
        Kind::PubOnly { .. }
        | Kind::PubSub { .. }
        | Kind::Queue { .. }
        | Kind::NatsGo { .. }
        | Kind::WsPubSub
        | Kind::Leaf { .. } => &[Metric::MsgsPerSec, Metric::MbPerSec, Metric::CpuUsPerMsg],
        Kind::ReqReply => &[
            Metric::P50Us,
            Metric::P90Us,
            Metric::P99Us,
            Metric::P999Us,
            Metric::RoundTripsPerSec,
            Metric::CpuUsPerMsg,
        ],
        Kind::Conns { .. } => &[Metric::RssPerConnKib, Metric::AcceptMs],
        Kind::Burst => &[
            Metric::RssBeforeMib,
            Metric::RssPeakMib,
            Metric::RssAfterMib,
        ],
    }
}

fn with_arrow(m: Metric) -> String {
    format!(
        "{} {}",
        m.label(),
        if m.higher_is_better() { "↑" } else { "↓" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Size, build};

    fn results() -> Results {
        let contender = |l: &str| Contender {
            label: l.into(),
            path: PathBuf::from(format!("/bin/{l}")),
            version: "v1".into(),
        };
        let tp = |v: f64| -> Result<Measurement, String> {
            Ok(Measurement::from([
                (Metric::MsgsPerSec, v),
                (Metric::MbPerSec, v / 10.0),
            ]))
        };
        let lat = |v: f64| -> Result<Measurement, String> {
            Ok(Measurement::from([
                (Metric::P50Us, v),
                (Metric::P90Us, v),
                (Metric::P99Us, v),
                (Metric::P999Us, v),
                (Metric::RoundTripsPerSec, 1e6 / v),
            ]))
        };
        Results {
            contenders: vec![contender("skiff"), contender("nats-server")],
            scenarios: vec![
                build(Kind::PubSub { pubs: 1, subs: 1 }, 16, Size::Quick),
                build(Kind::ReqReply, 16, Size::Quick),
                build(Kind::Conns { n: 0 }, 0, Size::Quick),
            ],
            runs: vec![
                vec![vec![tp(200.0), tp(220.0), tp(210.0)], vec![tp(100.0); 3]],
                vec![vec![lat(50.0); 3], vec![lat(100.0); 3]],
                vec![vec![Err("boom".into())], vec![Ok(Measurement::new())]],
            ],
        }
    }

    #[test]
    fn ratios_use_medians_and_direction() {
        let r = results();
        assert_eq!(r.ratio(0, 0, Metric::MsgsPerSec), Some(2.1));
        let bars = r.bars();
        assert_eq!(bars.len(), 3, "{bars:?}"); // msgs/s, p50, p99
        assert!(bars.iter().all(|b| b.better));
        assert_eq!(bars[1].ratio, 0.5);
    }

    #[test]
    fn markdown_has_sections_ratios_and_failures() {
        let r = results();
        let ctx = Context {
            when: "2025-01-01T00:00:00Z".into(),
            machine: "test".into(),
            mode: "quick".into(),
            rounds: 3,
            note: Some("SAMPLE".into()),
        };
        let md = r.markdown(&ctx, "x.svg");
        for want in [
            "# Benchmark: skiff vs nats-server",
            "> **SAMPLE**",
            "![ratio chart](x.svg)",
            "## Throughput",
            "| skiff / nats-server |",
            "| `pubsub-1:1/16B` | msgs/s ↑ | 210 | 100 | 2.10 |",
            "| `reqrep/16B` | p50 µs ↓ | 50.0 | 100 | 0.50 |",
            "| | p99 µs ↓ | 50.0 | 100 | 0.50 |",
            "| `conns-200` | RSS KiB/conn ↓ | FAIL | – | – |",
            "## Failures",
            "round 1: boom",
            "## Round-to-round spread",
            "| `pubsub-1:1/16B` | msgs/s ↑ | 200–220 | 100–100 |",
        ] {
            assert!(md.contains(want), "missing {want:?} in\n{md}");
        }
    }

    #[test]
    fn one_failed_round_fails_the_scenario() {
        let mut r = results();
        r.runs[0][0][1] = Err("INCOMPLETE: received [12] of 5000".into());
        assert!(r.median(0, 0).is_none());
        let md = r.markdown(&Context::default(), "c.svg");
        assert!(
            md.contains("| `pubsub-1:1/16B` | msgs/s ↑ | FAIL | 100 | – |"),
            "{md}"
        );
        assert!(md.contains("round 2: INCOMPLETE"));
    }

    #[test]
    fn single_contender_has_no_ratios() {
        let mut r = results();
        r.contenders.truncate(1);
        for s in &mut r.runs {
            s.truncate(1);
        }
        assert!(r.bars().is_empty());
        assert!(
            !r.markdown(&Context::default(), "c.svg")
                .contains("| skiff / ")
        );
    }
}
