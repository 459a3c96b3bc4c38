//! `skiff-bench`: run one scenario against a server, or compare servers side by side.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use skiff_bench::compare::{self, Options};
use skiff_bench::metrics::describe;
use skiff_bench::scenario::{self, Size};

/// Load generator and side-by-side benchmark for Skiff and nats-server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List the scenarios.
    List {
        #[command(flatten)]
        sel: Select,
    },
    /// Run scenarios against a server that is already running.
    Run {
        /// Server address.
        #[arg(long, default_value = "127.0.0.1:4222")]
        addr: SocketAddr,
        /// The server's pid, to report memory per connection in `conns-*`.
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        sel: Select,
    },
    /// Start each server in turn, run every scenario, write a report and chart.
    Compare {
        /// Skiff binary (the candidate).
        #[arg(long, default_value = "target/release/skiff")]
        skiff: PathBuf,
        /// Label for the candidate.
        #[arg(long, default_value = "skiff")]
        skiff_label: String,
        /// nats-server binary (the baseline of every ratio).
        #[arg(long, default_value = ".tools/nats-server")]
        nats: PathBuf,
        /// Label for the baseline.
        #[arg(long, default_value = "nats-server")]
        nats_label: String,
        /// Also run Debian's nats-server (2.9.x) as a third contender.
        #[arg(long)]
        debian: bool,
        /// Binary used by `--debian`.
        #[arg(long, default_value = "/usr/sbin/nats-server")]
        debian_path: PathBuf,
        /// Rounds per scenario and server (medians are reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Output folder.
        #[arg(long, default_value = "bench/results")]
        out: PathBuf,
        /// Report file stem (default: today's UTC date).
        #[arg(long)]
        name: Option<String>,
        /// Note shown at the top of the report (e.g. to label a sample).
        #[arg(long)]
        note: Option<String>,
        /// Do not write latest.md / latest.svg.
        #[arg(long)]
        no_latest: bool,
        #[command(flatten)]
        sel: Select,
    },
}

/// Which scenarios, and how big.
#[derive(Debug, Args)]
struct Select {
    /// Only scenarios whose name contains this (e.g. `fanout`, `/16B`, `reqrep`).
    #[arg(long)]
    filter: Option<String>,
    /// Tiny counts (a smoke test for CI).
    #[arg(long)]
    quick: bool,
    /// Multiply message counts and round trips by this (longer runs, less noise).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
}

impl Select {
    fn size(&self) -> Size {
        if self.quick { Size::Quick } else { Size::Full }
    }

    fn scenarios(&self) -> Vec<scenario::Scenario> {
        scenario::select(self.size(), self.filter.as_deref())
            .into_iter()
            .map(|s| s.scaled(self.scale))
            .collect()
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::List { sel } => {
            for s in sel.scenarios() {
                let count = match s.kind {
                    scenario::Kind::Conns { .. } => String::new(),
                    _ => format!(" (count {})", s.count),
                };
                println!("{:<20} {}{count}", s.name(), s.describe());
            }
            ExitCode::SUCCESS
        }
        Cmd::Run { addr, pid, sel } => run(addr, pid, &sel),
        Cmd::Compare {
            skiff,
            skiff_label,
            nats,
            nats_label,
            debian,
            debian_path,
            rounds,
            out,
            name,
            note,
            no_latest,
            sel,
        } => {
            let mut contenders = vec![(skiff_label, skiff), (nats_label, nats)];
            if debian {
                contenders.push(("nats-server-debian".to_string(), debian_path));
            }
            let opts = Options {
                contenders,
                rounds: rounds.max(1),
                size: sel.size(),
                filter: sel.filter,
                scale: sel.scale,
                out_dir: out,
                name,
                note,
                latest: !no_latest,
            };
            match compare::run(&opts) {
                Ok((results, files)) => {
                    for f in files {
                        println!("wrote {}", f.display());
                    }
                    let failures = results.failures();
                    if failures.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!("{} run(s) failed; see the report", failures.len());
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("compare: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(addr: SocketAddr, pid: Option<u32>, sel: &Select) -> ExitCode {
    let scenarios = sel.scenarios();
    if scenarios.is_empty() {
        eprintln!("no scenario matches; see `skiff-bench list`");
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for s in scenarios {
        match skiff_bench::run_scenario(addr, None, &s, pid) {
            Ok(m) => print!("{}\n{}", s.name(), describe(&m)),
            Err(e) => {
                println!("{}\n  FAILED: {e}", s.name());
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
