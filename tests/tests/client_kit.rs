//! The client conformance kit as a cargo test: every scenario for every shipped adapter whose
//! toolchain is installed (a missing one is skipped with a notice), plus the kit's own checks.
//!
//! What this asserts is that the kit works: every verdict carries a reason, none is the kit's
//! own failure, every client passes the scenarios it is known to pass, and a deliberately
//! naive client fails. A real client failing a scenario is a finding (listed in
//! [`KNOWN_FINDINGS`] and in the README's matrix), not something to weaken here.

use std::path::Path;

use skiff_tests::client::adapter::AdapterSpec;
use skiff_tests::client::scenarios::{self, Scenario};
use skiff_tests::client::{clients, markdown, run_matrix};

/// Scenarios real clients are known to fail (client, scenario, why), reported in the README.
const KNOWN_FINDINGS: [(&str, &str, &str); 3] = [
    (
        "async-nats",
        "async-info-connect-urls",
        "async-nats 0.42 reads connect_urls only from the INFO of a new connection, not from \
         an async INFO (its source has a TODO there)",
    ),
    (
        "nats.js",
        "reconnect-after-refusals",
        "nats.js 3.4 (nats-core) makes no further reconnect attempt after one refused with \
         -ERR 'maximum connections exceeded' (reproduced with a hand-written fake server too)",
    ),
    (
        "nats.js",
        "publish-while-disconnected",
        "nats.js 3.4 accepts a publish while disconnected but every dial attempt resets its \
         outbound buffer (protocol.js prepare() -> resetOutbound()), so the message is lost",
    ),
];

fn prepared(work: &Path) -> Vec<AdapterSpec> {
    let async_nats = Path::new(env!("CARGO_BIN_EXE_skiff-kit-async-nats"));
    clients::NAMES
        .iter()
        .filter_map(|name| match clients::prepare(name, work, async_nats) {
            Ok(spec) => Some(spec),
            Err(why) => {
                println!("notice: client kit: {name} skipped: {why}");
                None
            }
        })
        .collect()
}

#[test]
fn every_scenario_cites_a_statement_and_names_are_unique() {
    let all = scenarios::all();
    assert!(all.len() >= 10);
    let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "duplicate scenario names");
    for s in &all {
        assert!(
            s.cites.contains("docs.nats.io") || s.cites.contains("ADR"),
            "{}",
            s.name
        );
        assert!(!s.checks.is_empty(), "{}", s.name);
    }
}

#[test]
fn the_matrix_of_shipped_clients() {
    let work = tempfile::tempdir().unwrap();
    let specs = prepared(work.path());
    if specs.is_empty() {
        println!("notice: client kit: no client toolchain installed; nothing to run");
        return;
    }
    let all = scenarios::all();
    let verdicts = run_matrix(&specs, &all);
    print!("{}", markdown(&specs, &all, &verdicts));
    assert_eq!(verdicts.len(), specs.len() * all.len());
    let mut unexpected = Vec::new();
    for v in &verdicts {
        assert!(
            !v.reason.trim().is_empty(),
            "{} {}: no reason",
            v.client,
            v.scenario
        );
        assert!(
            !v.reason.starts_with("kit:"),
            "the kit itself failed in {} for {}: {}",
            v.scenario,
            v.client,
            v.reason
        );
        let known = KNOWN_FINDINGS
            .iter()
            .any(|(c, s, _)| *c == v.client && *s == v.scenario);
        if !v.passed && !known {
            unexpected.push(format!("{} {}: {}", v.client, v.scenario, v.reason));
        }
    }
    assert!(
        unexpected.is_empty(),
        "clients failed scenarios they pass:\n{}",
        unexpected.join("\n")
    );
}

#[test]
fn a_naive_client_fails_with_reasons() {
    let naive = AdapterSpec {
        name: "naive".into(),
        program: "python3".into(),
        args: vec![
            clients::adapters_dir()
                .join("python/naive_adapter.py")
                .display()
                .to_string(),
        ],
    };
    let picked: Vec<Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| ["answers-pings", "reconnect-resubscribe", "split-delivery"].contains(&s.name))
        .collect();
    assert_eq!(picked.len(), 3);
    for scenario in &picked {
        let verdict = scenarios::run(scenario, &naive);
        println!("naive {}: {}", scenario.name, verdict.reason);
        assert!(!verdict.passed, "the naive client passed {}", scenario.name);
        assert!(!verdict.reason.starts_with("kit:"), "{}", verdict.reason);
    }
}
