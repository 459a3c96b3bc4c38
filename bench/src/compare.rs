//! The `compare` command: every scenario against every server, interleaved, several rounds.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::metrics::{Measurement, Metric, human};
use crate::report::{Contender, Context, Results};
use crate::scenario::{self, Size};
use crate::server::{self, ServerProcess};

/// What `compare` runs and where it writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// `(label, binary)`; the first is the candidate, the second the baseline.
    pub contenders: Vec<(String, PathBuf)>,
    /// Rounds per scenario and contender.
    pub rounds: usize,
    /// Full or quick counts.
    pub size: Size,
    /// Only scenarios whose name contains this.
    pub filter: Option<String>,
    /// Multiplies message counts and round trips (1.0 = the standard sizes).
    pub scale: f64,
    /// Folder for the report and chart.
    pub out_dir: PathBuf,
    /// File stem of the report; defaults to the UTC date (`YYYY-MM-DD`).
    pub name: Option<String>,
    /// Note printed at the top of the report.
    pub note: Option<String>,
    /// Also write `latest.md` / `latest.svg`.
    pub latest: bool,
}

/// Runs the comparison, writes the report and chart, and returns the results and files.
pub fn run(opts: &Options) -> io::Result<(Results, Vec<PathBuf>)> {
    let load_before = load_average();
    let scenarios: Vec<_> = scenario::select(opts.size, opts.filter.as_deref())
        .into_iter()
        .map(|s| s.scaled(opts.scale))
        .collect();
    if scenarios.is_empty() {
        return Err(io::Error::other("no scenario matches the filter"));
    }
    let contenders: Vec<Contender> = opts
        .contenders
        .iter()
        .map(|(label, path)| Contender {
            label: label.clone(),
            path: path.clone(),
            version: server::version(path),
        })
        .collect();
    for c in &contenders {
        if !c.path.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: binary {} not found", c.label, c.path.display()),
            ));
        }
    }
    let mut runs = vec![vec![Vec::new(); contenders.len()]; scenarios.len()];
    for round in 0..opts.rounds {
        for (s, sc) in scenarios.iter().enumerate() {
            let mut order: Vec<usize> = (0..contenders.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for c in order {
                let outcome = run_once(&contenders[c].path, sc);
                eprintln!(
                    "[round {}/{}] {:<20} {:<18} {}",
                    round + 1,
                    opts.rounds,
                    sc.name(),
                    contenders[c].label,
                    match &outcome {
                        Ok(m) => headline(m),
                        Err(e) => format!("FAILED: {e}"),
                    }
                );
                runs[s][c].push(outcome);
            }
        }
    }
    let results = Results {
        contenders,
        scenarios,
        runs,
    };
    let machine = format!(
        "{}; load average {} before, {} after",
        machine(),
        load_before,
        load_average()
    );
    let written = write(&results, opts, machine)?;
    Ok((results, written))
}

/// One scenario on a fresh server process.
fn run_once(binary: &Path, sc: &scenario::Scenario) -> Result<Measurement, String> {
    if let scenario::Kind::Leaf { up } = sc.kind {
        return crate::leaf::run(binary, up, sc.payload, sc.count).map_err(|e| e.to_string());
    }
    let server = ServerProcess::start(binary).map_err(|e| format!("start: {e}"))?;
    crate::run_scenario(server.addr, Some(server.ws_addr), sc, Some(server.pid()))
        .map_err(|e| e.to_string())
}

/// The most telling number of a measurement, for progress lines.
fn headline(m: &Measurement) -> String {
    [Metric::MsgsPerSec, Metric::P50Us, Metric::RssPerConnKib]
        .iter()
        .find_map(|k| m.get(k).map(|v| format!("{} {}", human(*v), k.label())))
        .unwrap_or_else(|| "ok".to_string())
}

/// Writes `<stem>.md` and `<stem>.svg` (and the `latest` copies) into the output folder.
fn write(results: &Results, opts: &Options, machine: String) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(&opts.out_dir)?;
    let when = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let stem = opts.name.clone().unwrap_or_else(|| when[..10].to_string());
    let ctx = Context {
        when,
        machine,
        mode: match opts.size {
            Size::Full => "full".into(),
            Size::Quick => "quick".into(),
        },
        rounds: opts.rounds,
        note: opts.note.clone(),
    };
    let svg = results.chart();
    let mut stems = vec![stem];
    if opts.latest {
        stems.push("latest".to_string());
    }
    let mut written = Vec::new();
    for stem in stems {
        let md_path = opts.out_dir.join(format!("{stem}.md"));
        let svg_path = opts.out_dir.join(format!("{stem}.svg"));
        std::fs::write(&md_path, results.markdown(&ctx, &format!("{stem}.svg")))?;
        std::fs::write(&svg_path, &svg)?;
        written.extend([md_path, svg_path]);
    }
    Ok(written)
}

/// The 1-minute load average from `/proc/loadavg`, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// `Linux 6.1.0 x86_64, 2 CPUs`-style description of this machine.
fn machine() -> String {
    let uname = Command::new("uname")
        .arg("-srm")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{uname}, {cpus} CPUs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_prefers_throughput() {
        let m = Measurement::from([(Metric::MsgsPerSec, 1.5e6), (Metric::MbPerSec, 3.0)]);
        assert_eq!(headline(&m), "1.50M msgs/s");
        assert_eq!(headline(&Measurement::new()), "ok");
    }

    #[test]
    fn machine_names_cpus_and_load() {
        assert!(machine().ends_with("CPUs"));
        assert!(load_average().parse::<f64>().is_ok());
    }

    #[test]
    fn missing_binary_fails_early() {
        let opts = Options {
            contenders: vec![("x".into(), PathBuf::from("/nonexistent/x"))],
            rounds: 1,
            size: Size::Quick,
            filter: Some("pub-only/16B".into()),
            scale: 1.0,
            out_dir: std::env::temp_dir(),
            name: None,
            note: None,
            latest: false,
        };
        assert_eq!(run(&opts).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
