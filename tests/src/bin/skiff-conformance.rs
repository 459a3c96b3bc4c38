//! `skiff-conformance`: runs the conformance scenarios against one target and prints every
//! failure with the expected and actual bytes, ending with `N passed, M failed`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
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
#[command(name = "skiff-conformance")]
struct Args {
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

fn main() -> ExitCode {
    let args = Args::parse();
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
