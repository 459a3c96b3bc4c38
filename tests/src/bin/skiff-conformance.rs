//! `skiff-conformance`: runs the conformance scenarios against one target and prints every
//! failure with the expected and actual bytes, ending with `N passed, M failed`.
//!
//! `skiff-conformance client` runs the client conformance kit instead: Skiff plays the server
//! and judges what real clients do (see `skiff_tests::client`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use skiff_tests::client::adapter::AdapterSpec;
use skiff_tests::client::{clients, markdown, run_matrix, scenarios};
use skiff_tests::runner::{Options, report_failures, run_all, summarize};
use skiff_tests::scenario::load_dir;
use skiff_tests::target::Target;
use skiff_tests::target::binary::BinaryTarget;
use skiff_tests::target::core::CoreTarget;
use skiff_tests::target::tcp::AddrTarget;
use skiff_tests::target::wasm::WasmNodeTarget;
use skiff_tests::version::Version;

/// Differential conformance suite for NATS servers.
#[derive(Debug, Parser)]
#[command(name = "skiff-conformance", args_conflicts_with_subcommands = true)]
struct Args {
    /// Another suite than the server scenarios.
    #[command(subcommand)]
    command: Option<Suite>,
    /// `core` (in memory), `skiff` (the daemon binary), `wasm` (the browser build in Node,
    /// after `bash wasm/build.sh`), `addr:nats://host:port`, or `bin:/path/to/server` (started
    /// per scenario with a generated config).
    #[arg(long, default_value = "skiff")]
    target: String,
    /// The Skiff daemon binary for `--target skiff`.
    #[arg(long, default_value = "target/debug/skiff")]
    server_bin: PathBuf,
    /// Run only scenarios carrying at least one of these tags (comma separated).
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Skip scenarios carrying any of these tags (comma separated).
    #[arg(long, value_delimiter = ',')]
    skip_tags: Vec<String>,
    /// Run only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// The folder of `.nats` scenario files.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Scenarios run at once (targets that start a server per scenario).
    #[arg(long, short, default_value_t = 4)]
    jobs: usize,
    /// How long an expectation waits, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    timeout_ms: u64,
    /// The nats-server version a Skiff target is judged as in `@` conditions.
    #[arg(long, default_value_t = skiff_tests::CURRENT_NATS.to_string())]
    as_version: String,
    /// Connect every client over the server's WebSocket listener (`skiff` and `bin:` targets;
    /// a `websocket {}` block is added to each scenario's config).
    #[arg(long)]
    websocket: bool,
    /// Print every scenario's result, not just failures.
    #[arg(long, short)]
    verbose: bool,
}

/// The other suites.
#[derive(Debug, Subcommand)]
enum Suite {
    /// The client conformance kit: Skiff plays the server and judges real clients through
    /// their adapters (`tests/clients/README.md`).
    Client(ClientArgs),
}

/// `skiff-conformance client`.
#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// The shipped adapters to run (comma separated; default: every one whose toolchain is
    /// installed): async-nats, nats.go, nats-py, nats.js, cnats.
    #[arg(long, value_delimiter = ',')]
    clients: Vec<String>,
    /// Your own adapter, as `NAME=PROGRAM [ARGS...]` (the URL is appended); repeatable.
    #[arg(long)]
    adapter: Vec<String>,
    /// Run only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Print the matrix as a Markdown table at the end.
    #[arg(long)]
    markdown: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Suite::Client(client)) = &args.command {
        return match run_clients(client) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("skiff-conformance client: {e}");
                ExitCode::from(2)
            }
        };
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("skiff-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let as_version: Version = args.as_version.parse()?;
    let target: Box<dyn Target> = match args.target.as_str() {
        "core" => {
            if !CoreTarget::is_runnable() {
                return Err(
                    "the core is not implemented yet (skiff_core::Broker is todo!())".into(),
                );
            }
            Box::new(CoreTarget::new(as_version))
        }
        "skiff" => binary(BinaryTarget::new(&args.server_bin, as_version)?, args),
        "wasm" => Box::new(WasmNodeTarget::new(
            &std::env::current_dir().map_err(|e| e.to_string())?,
            as_version,
        )?),
        other => {
            if let Some(url) = other.strip_prefix("addr:") {
                Box::new(AddrTarget::new(url)?)
            } else if let Some(path) = other.strip_prefix("bin:") {
                binary(BinaryTarget::new(path.as_ref(), as_version)?, args)
            } else {
                return Err(format!("unknown target {other:?}"));
            }
        }
    };
    let dir = args.dir.clone().unwrap_or_else(skiff_tests::scenario_dir);
    let scenarios: Vec<_> = load_dir(&dir)?
        .into_iter()
        .filter(|s| {
            args.filter
                .as_ref()
                .is_none_or(|f| s.name.contains(f.as_str()))
        })
        .filter(|s| args.tags.is_empty() || s.tags.iter().any(|t| args.tags.contains(t)))
        .filter(|s| !s.tags.iter().any(|t| args.skip_tags.contains(t)))
        .collect();
    let options = Options {
        expect_timeout: Duration::from_millis(args.timeout_ms),
        jobs: args.jobs,
        verbose: args.verbose,
    };
    println!(
        "running {} scenarios against {}",
        scenarios.len(),
        target.name()
    );
    let results = run_all(target.as_ref(), &scenarios, &options);
    print!("{}", report_failures(target.as_ref(), &results));
    let summary = summarize(&results);
    println!("{summary}");
    Ok(summary.failed == 0)
}

/// A binary target, over WebSocket if asked.
fn binary(target: BinaryTarget, args: &Args) -> Box<dyn Target> {
    if args.websocket {
        Box::new(target.over_websocket())
    } else {
        Box::new(target)
    }
}

/// Runs the client kit; whether every scenario passed for every client.
fn run_clients(args: &ClientArgs) -> Result<bool, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let async_nats_bin = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("skiff-kit-async-nats");
    let mut specs = Vec::new();
    let names: Vec<&str> = if args.clients.is_empty() && !args.adapter.is_empty() {
        Vec::new()
    } else if args.clients.is_empty() {
        clients::NAMES.to_vec()
    } else {
        args.clients.iter().map(String::as_str).collect()
    };
    for name in names {
        match clients::prepare(name, work.path(), &async_nats_bin) {
            Ok(spec) => specs.push(spec),
            Err(why) if args.clients.is_empty() => println!("skipping {name}: {why}"),
            Err(why) => return Err(format!("{name}: {why}")),
        }
    }
    for custom in &args.adapter {
        let (name, command) = custom
            .split_once('=')
            .ok_or_else(|| format!("--adapter {custom:?}: want NAME=PROGRAM [ARGS...]"))?;
        let mut words = command.split_whitespace().map(str::to_owned);
        let program = words
            .next()
            .ok_or_else(|| format!("--adapter {custom:?}: no program"))?;
        specs.push(AdapterSpec {
            name: name.to_owned(),
            program: program.into(),
            args: words.collect(),
        });
    }
    if specs.is_empty() {
        return Err("no client to run".into());
    }
    let scenarios: Vec<_> = scenarios::all()
        .into_iter()
        .filter(|s| {
            args.filter
                .as_ref()
                .is_none_or(|f| s.name.contains(f.as_str()))
        })
        .collect();
    println!(
        "running {} client scenarios for {}",
        scenarios.len(),
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let verdicts = run_matrix(&specs, &scenarios);
    for v in &verdicts {
        println!(
            "{} {} {}: {} ({} ms)",
            if v.passed { "pass" } else { "FAIL" },
            v.client,
            v.scenario,
            v.reason,
            v.took.as_millis()
        );
    }
    if args.markdown {
        print!("{}", markdown(&specs, &scenarios, &verdicts));
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    println!(
        "clients: {} passed, {failed} failed",
        verdicts.len() - failed
    );
    Ok(failed == 0)
}
