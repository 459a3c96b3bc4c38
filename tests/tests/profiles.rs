//! The conformance suite as a product: scenarios grouped by capability profile (their tags),
//! so a server author runs the profiles their server claims (`--tags core,headers`), and
//! scenarios tied to the protocol statement they check.

use std::collections::BTreeMap;

use skiff_tests::scenario::load_dir;

/// Files whose every scenario names the statement it checks in a `note:` line.
const CITED_FILES: [&str; 6] = [
    "info.nats",
    "delivery.nats",
    "headers-delivery.nats",
    "limits-edges.nats",
    "auth-edges.nats",
    "permissions-edges.nats",
];

#[test]
fn every_scenario_has_a_profile_and_the_suite_reaches_300() {
    let all = load_dir(&skiff_tests::scenario_dir()).expect("scenario files parse");
    let mut profiles: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &all {
        assert!(!s.tags.is_empty(), "{} has no profile tag", s.name);
        for tag in &s.tags {
            *profiles.entry(tag.as_str()).or_default() += 1;
        }
    }
    println!("{} scenarios; by profile: {profiles:?}", all.len());
    assert!(all.len() >= 300, "only {} scenarios", all.len());
    for profile in ["core", "headers", "auth", "limits"] {
        assert!(
            profiles.get(profile).copied().unwrap_or(0) >= 10,
            "profile {profile}"
        );
    }
}

#[test]
fn scenarios_in_cited_files_name_their_statement() {
    for file in CITED_FILES {
        let text = std::fs::read_to_string(skiff_tests::scenario_dir().join(file)).unwrap();
        let scenarios = text.lines().filter(|l| l.starts_with("scenario:")).count();
        let notes = text.lines().filter(|l| l.starts_with("note:")).count();
        assert!(scenarios > 0, "{file}");
        assert_eq!(scenarios, notes, "{file}: a scenario without its note");
    }
}
