//! Property tests: the subject index agrees with a naive matcher over random interleavings of
//! inserts, removes and matches, with the result cache off, tiny (constant eviction) and large.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use skiff_core::subject;
use skiff_core::sublist::{InvalidSubject, Matches, Sublist};

/// One subscription: pattern, queue group, key.
type Entry = (String, Option<String>, u8);

/// The naive rule: `>` eats one or more trailing tokens, `*` one token, anything else must be
/// equal; a published subject with an empty token matches nothing.
fn naive_matches(pattern: &str, subject: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match (p.split_first(), s.split_first()) {
            (Some((&">", _)), Some(_)) => true,
            (Some((&"*", p_rest)), Some((_, s_rest))) => go(p_rest, s_rest),
            (Some((pt, p_rest)), Some((st, s_rest))) => pt == st && go(p_rest, s_rest),
            (None, None) => true,
            _ => false,
        }
    }
    let s: Vec<&str> = subject.split('.').collect();
    if s.iter().any(|t| t.is_empty()) {
        return false;
    }
    go(&pattern.split('.').collect::<Vec<_>>(), &s)
}

/// The naive validity rule for subscriptions.
fn naive_valid(subject: &[u8]) -> bool {
    let tokens: Vec<&[u8]> = subject.split(|&b| b == b'.').collect();
    let last = tokens.len() - 1;
    tokens.iter().enumerate().all(|(i, t)| {
        !t.is_empty() && !t.iter().any(|b| b" \t\n\r\x0c".contains(b)) && (*t != b">" || i == last)
    })
}

/// A result as (sorted plain keys, sorted list of sorted queue groups).
type Normal = (Vec<u8>, Vec<Vec<u8>>);

fn normalized(m: &Matches<u8>) -> Normal {
    let mut plain = m.plain.clone();
    plain.sort_unstable();
    let mut queues: Vec<Vec<u8>> = m
        .queues
        .iter()
        .map(|q| {
            let mut q = q.clone();
            q.sort_unstable();
            q
        })
        .collect();
    queues.sort();
    (plain, queues)
}

fn expected(model: &BTreeSet<Entry>, subject: &str) -> Normal {
    let mut plain = Vec::new();
    let mut groups: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (pattern, queue, key) in model {
        if naive_matches(pattern, subject) {
            match queue {
                None => plain.push(*key),
                Some(q) => groups.entry(q).or_default().push(*key),
            }
        }
    }
    plain.sort_unstable();
    let mut queues: Vec<Vec<u8>> = groups
        .into_values()
        .map(|mut q| {
            q.sort_unstable();
            q
        })
        .collect();
    queues.sort();
    (plain, queues)
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "*"]), 1..4),
        any::<bool>(),
    )
        .prop_map(|(mut tokens, fwc)| {
            if fwc {
                tokens.push(">");
            }
            tokens.join(".")
        })
}

fn published() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "a", "b", "b", "c", "d", "*", ">", ""]),
        1..6,
    )
    .prop_map(|tokens| tokens.join("."))
}

fn entry() -> impl Strategy<Value = Entry> {
    let queue = prop::option::weighted(
        0.4,
        prop::sample::select(vec!["q1".to_string(), "q2".to_string()]),
    );
    (pattern(), queue, 0u8..5)
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize),
    Remove(usize),
    Match(String),
}

fn scenario() -> impl Strategy<Value = (Vec<Entry>, Vec<Op>)> {
    prop::collection::vec(entry(), 1..14).prop_flat_map(|universe| {
        let n = universe.len();
        let op = prop_oneof![
            3 => (0..n).prop_map(Op::Insert),
            2 => (0..n).prop_map(Op::Remove),
            4 => published().prop_map(Op::Match),
        ];
        (Just(universe), prop::collection::vec(op, 1..80))
    })
}

fn run(capacity: usize, universe: &[Entry], ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sl = Sublist::new(capacity);
    let mut model = BTreeSet::new();
    let mut published_so_far: Vec<&str> = Vec::new();
    for op in ops {
        match op {
            Op::Insert(i) => {
                let (p, q, k) = &universe[*i];
                prop_assert_eq!(
                    sl.insert(p.as_bytes(), q.as_deref().map(str::as_bytes), *k),
                    Ok(())
                );
                model.insert(universe[*i].clone());
            }
            Op::Remove(i) => {
                let (p, q, k) = &universe[*i];
                let removed = sl.remove(p.as_bytes(), q.as_deref().map(str::as_bytes), *k);
                prop_assert_eq!(removed, model.remove(&universe[*i]));
            }
            Op::Match(subject) => published_so_far.push(subject),
        }
        prop_assert_eq!(sl.len(), model.len());
        // Re-check every subject seen so far: cached entries must have followed the change.
        for subject in &published_so_far {
            let want = expected(&model, subject);
            prop_assert_eq!(
                normalized(&sl.matches(subject.as_bytes())),
                want.clone(),
                "{}",
                subject
            );
            prop_assert_eq!(
                normalized(&sl.matches(subject.as_bytes())),
                want,
                "{} (again)",
                subject
            );
        }
    }
    // Removing everything left leaves an empty index that matches nothing.
    for entry in std::mem::take(&mut model) {
        prop_assert!(sl.remove(
            entry.0.as_bytes(),
            entry.1.as_deref().map(str::as_bytes),
            entry.2
        ));
    }
    prop_assert!(sl.is_empty());
    for subject in &published_so_far {
        prop_assert!(sl.matches(subject.as_bytes()).plain.is_empty());
        prop_assert!(sl.matches(subject.as_bytes()).queues.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn agrees_with_naive_matcher((universe, ops) in scenario()) {
        for capacity in [0, 3, 1024] {
            run(capacity, &universe, &ops)?;
        }
    }

    #[test]
    fn pattern_rule_agrees_with_naive_matcher(p in pattern(), s in published()) {
        prop_assert_eq!(subject::matches_pattern(p.as_bytes(), s.as_bytes()), naive_matches(&p, &s));
    }

    #[test]
    fn validity_agrees_with_naive_rule(
        bytes in prop::collection::vec(prop::sample::select(b"ab.*> \t>\r\x0c\n\xff".to_vec()), 0..8)
    ) {
        let valid = !bytes.is_empty() && naive_valid(&bytes);
        prop_assert_eq!(subject::is_valid_subscription(&bytes), valid);
        let literal = valid && bytes.split(|&b| b == b'.').all(|t| t != b"*" && t != b">");
        prop_assert_eq!(subject::is_valid_literal(&bytes), literal);
        let mut sl = Sublist::new(4);
        let inserted = sl.insert(&bytes, None, 1u8);
        prop_assert_eq!(inserted, if valid { Ok(()) } else { Err(InvalidSubject) });
        prop_assert_eq!(sl.len(), usize::from(valid));
    }
}
