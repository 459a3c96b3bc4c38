//! The client conformance kit (`skiff-conformance client`): Skiff, embedded in this process,
//! plays the server; a scripted [`scenarios::Scenario`] makes it misbehave with the core's
//! faults and judges what a real client does — seen on the wire by a recording relay
//! ([`tap`]) and through the client's own callbacks, reported by a small per-client
//! [`adapter`] program (the line protocol is in `tests/clients/README.md`).

pub mod adapter;
pub mod clients;
pub mod scenarios;
pub mod tap;
pub mod wire;

use std::fmt::Write as _;

use adapter::AdapterSpec;
use scenarios::{Scenario, Verdict};

/// Runs every scenario for every client (clients in parallel, each client's scenarios in
/// order); the verdicts in client order, then scenario order.
pub fn run_matrix(specs: &[AdapterSpec], scenarios: &[Scenario]) -> Vec<Verdict> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .map(|spec| {
                scope.spawn(move || {
                    scenarios
                        .iter()
                        .map(|scenario| scenarios::run(scenario, spec))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a client's scenarios panicked"))
            .collect()
    })
}

/// The matrix as a Markdown table: one row per scenario, one column per client, each cell
/// `pass` or `FAIL` with the reason.
pub fn markdown(specs: &[AdapterSpec], scenarios: &[Scenario], verdicts: &[Verdict]) -> String {
    let mut out = String::from("| scenario |");
    for spec in specs {
        let _ = write!(out, " {} |", spec.name);
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(specs.len()));
    out.push('\n');
    for scenario in scenarios {
        let _ = write!(out, "| `{}` |", scenario.name);
        for spec in specs {
            let cell = verdicts
                .iter()
                .find(|v| v.client == spec.name && v.scenario == scenario.name)
                .map_or("—".to_owned(), |v| {
                    format!(
                        "{}: {}",
                        if v.passed { "pass" } else { "**FAIL**" },
                        v.reason.replace('|', "\\|").replace('\n', " ")
                    )
                });
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}
