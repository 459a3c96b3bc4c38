//! Smoke test: `compare --quick` end to end, with nats-server as both contenders.
//!
//! Uses `$SKIFF_BENCH_NATS`, else the workspace's `.tools/nats-server`, else Debian's
//! `/usr/sbin/nats-server`; skips (passing) when none is installed.

use std::path::{Path, PathBuf};

use skiff_bench::compare::{self, Options};
use skiff_bench::scenario::Size;

fn nats_server() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("SKIFF_BENCH_NATS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            workspace.join(".tools/nats-server"),
            PathBuf::from("/usr/sbin/nats-server"),
            PathBuf::from("/usr/bin/nats-server"),
        ])
        .find(|p| p.is_file())
}

#[test]
fn quick_compare_nats_against_itself() {
    let Some(nats) = nats_server() else {
        eprintln!("skipping: no nats-server binary found");
        return;
    };
    let out = std::env::temp_dir().join(format!("skiff-bench-smoke-{}", std::process::id()));
    let opts = Options {
        contenders: vec![("nats-a".into(), nats.clone()), ("nats-b".into(), nats)],
        rounds: 1,
        size: Size::Quick,
        filter: None,
        scale: 1.0,
        out_dir: out.clone(),
        name: Some("smoke".into()),
        note: Some("smoke test".into()),
        latest: false,
    };
    let (results, files) = compare::run(&opts).expect("compare runs");
    assert!(results.failures().is_empty(), "{:?}", results.failures());
    assert_eq!(files.len(), 2);
    let md = std::fs::read_to_string(out.join("smoke.md")).unwrap();
    for want in [
        "| nats-a / nats-b |",
        "`fanout-1:100/16B`",
        "`queue-4/1KiB`",
        "p99.9 µs",
        "RSS KiB/conn",
        "![ratio chart](smoke.svg)",
    ] {
        assert!(md.contains(want), "missing {want:?}");
    }
    assert!(!md.contains("FAIL"), "{md}");
    let svg = std::fs::read_to_string(out.join("smoke.svg")).unwrap();
    assert!(svg.contains("<rect") && svg.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_dir_all(out);
}
