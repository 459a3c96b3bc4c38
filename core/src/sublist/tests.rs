//! Unit tests of the subject index. Every test runs twice, with the result cache and without it
//! (like nats-server's `TestSublistX` / `TestSublistXNoCache`), proving the cache transparent.

use super::*;

/// Declares each test body (a `fn(capacity: usize)`) as two tests: cache on, cache off.
macro_rules! twin_tests {
    ($($name:ident),* $(,)?) => {
        mod cached {
            $(#[test] fn $name() { super::$name(64) })*
        }
        mod uncached {
            $(#[test] fn $name() { super::$name(0) })*
        }
    };
}

twin_tests!(
    literal,
    single_wildcard,
    full_wildcard,
    mixed_wildcards,
    published_wildcards,
    empty_tokens_match_nothing,
    queue_groups,
    queue_groups_merge_across_nodes,
    remove,
    remove_queue_member,
    pruning,
    pruning_keeps_other_branches,
    invalid_subjects,
    duplicates,
    same_key_many_subjects,
    results_follow_changes,
    case_sensitive_and_bytes,
    counters,
);

/// `(plain, queues)` of a result, sorted so results compare as sets.
fn normalized(m: &Matches<u32>) -> (Vec<u32>, Vec<Vec<u32>>) {
    let mut plain = m.plain.clone();
    plain.sort_unstable();
    let mut queues: Vec<Vec<u32>> = m
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

/// Asserts what `subject` matches, twice (the second may come from the cache).
#[track_caller]
fn check(sl: &mut Sublist<u32>, subject: &str, plain: &[u32], queues: &[&[u32]]) {
    let expected = normalized(&Matches {
        plain: plain.to_vec(),
        queues: queues.iter().map(|q| q.to_vec()).collect(),
    });
    for round in 0..2 {
        assert_eq!(
            normalized(&sl.matches(subject.as_bytes())),
            expected,
            "{subject:?}, round {round}"
        );
    }
}

fn sub(sl: &mut Sublist<u32>, subject: &str, key: u32) {
    sl.insert(subject.as_bytes(), None, key).unwrap();
}

fn qsub(sl: &mut Sublist<u32>, subject: &str, queue: &str, key: u32) {
    sl.insert(subject.as_bytes(), Some(queue.as_bytes()), key)
        .unwrap();
}

/// Number of nodes in the trie.
fn nodes(sl: &Sublist<u32>) -> usize {
    sl.root.node_count()
}

fn literal(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    assert!(sl.is_empty());
    sub(&mut sl, "foo", 1);
    sub(&mut sl, "foo.bar", 2);
    sub(&mut sl, "foo.bar.baz", 3);
    assert_eq!(sl.len(), 3);
    check(&mut sl, "foo", &[1], &[]);
    check(&mut sl, "foo.bar", &[2], &[]);
    check(&mut sl, "foo.bar.baz", &[3], &[]);
    check(&mut sl, "foo.baz", &[], &[]);
    check(&mut sl, "bar", &[], &[]);
    check(&mut sl, "foo.bar.baz.qux", &[], &[]);
}

fn single_wildcard(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "*", 1);
    sub(&mut sl, "foo.*", 2);
    sub(&mut sl, "*.bar", 3);
    sub(&mut sl, "foo.*.baz", 4);
    check(&mut sl, "foo", &[1], &[]);
    check(&mut sl, "foo.bar", &[2, 3], &[]);
    check(&mut sl, "foo.baz", &[2], &[]);
    check(&mut sl, "x.bar", &[3], &[]);
    check(&mut sl, "foo.x.baz", &[4], &[]);
    check(&mut sl, "foo.x.qux", &[], &[]);
    check(&mut sl, "foo.bar.baz.qux", &[], &[]);
}

fn full_wildcard(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, ">", 1);
    sub(&mut sl, "foo.>", 2);
    sub(&mut sl, "foo.bar.>", 3);
    check(&mut sl, "foo", &[1], &[]);
    check(&mut sl, "foo.bar", &[1, 2], &[]);
    check(&mut sl, "foo.bar.baz", &[1, 2, 3], &[]);
    check(&mut sl, "foo.bar.baz.a.b.c", &[1, 2, 3], &[]);
    check(&mut sl, "bar.baz", &[1], &[]);
}

fn mixed_wildcards(capacity: usize) {
    // nats-server's TestSublistFullWildcard-style mix.
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "a.b.c", 1);
    sub(&mut sl, "a.*.c", 2);
    sub(&mut sl, "a.>", 3);
    sub(&mut sl, "*.b.>", 4);
    sub(&mut sl, "*.*.*", 5);
    sub(&mut sl, "a.b.*.>", 6);
    check(&mut sl, "a.b.c", &[1, 2, 3, 4, 5], &[]);
    check(&mut sl, "a.b.c.d", &[3, 4, 6], &[]);
    check(&mut sl, "x.b.c", &[4, 5], &[]);
    check(&mut sl, "a.x", &[3], &[]);
}

fn published_wildcards(capacity: usize) {
    // Non-pedantic clients may publish to `foo.*`: it is looked up token by token, so only
    // wildcard subscriptions reach it.
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo.*", 1);
    sub(&mut sl, "foo.>", 2);
    sub(&mut sl, "foo.bar", 3);
    sub(&mut sl, "*.*", 4);
    sub(&mut sl, "foo.bar.baz", 5);
    check(&mut sl, "foo.*", &[1, 2, 4], &[]);
    check(&mut sl, "foo.>", &[1, 2, 4], &[]);
    // A published `*` token is looked up literally: only `*.*` has a `*` first level.
    check(&mut sl, "*.bar", &[4], &[]);
    check(&mut sl, ">", &[], &[]);
    check(&mut sl, "foo.*.baz", &[2], &[]);
    sub(&mut sl, ">", 6);
    check(&mut sl, ">", &[6], &[]);
    check(&mut sl, "foo.*", &[1, 2, 4, 6], &[]);
}

fn empty_tokens_match_nothing(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, ">", 1);
    sub(&mut sl, "*", 2);
    sub(&mut sl, "foo.*.bar", 3);
    for subject in ["", ".", "foo..bar", ".foo", "foo.", "..", "foo.bar."] {
        check(&mut sl, subject, &[], &[]);
    }
    assert_eq!(
        sl.stats().cache_entries,
        0,
        "subjects with empty tokens are never cached"
    );
}

fn queue_groups(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo", 1);
    qsub(&mut sl, "foo", "g1", 2);
    qsub(&mut sl, "foo", "g1", 3);
    qsub(&mut sl, "foo", "g2", 4);
    check(&mut sl, "foo", &[1], &[&[2, 3], &[4]]);
    check(&mut sl, "bar", &[], &[]);
    // A queue subscription is not a plain one, and groups are independent of plain subs.
    assert!(!sl.remove(b"foo", None, 2));
    assert!(!sl.remove(b"foo", Some(b"g2"), 2));
    assert!(sl.remove(b"foo", Some(b"g1"), 2));
    check(&mut sl, "foo", &[1], &[&[3], &[4]]);
    assert!(sl.remove(b"foo", Some(b"g2"), 4));
    check(&mut sl, "foo", &[1], &[&[3]]);
}

fn queue_groups_merge_across_nodes(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    qsub(&mut sl, "foo.bar", "g1", 1);
    qsub(&mut sl, "foo.*", "g1", 2);
    qsub(&mut sl, "foo.>", "g1", 3);
    qsub(&mut sl, "foo.>", "g2", 4);
    qsub(&mut sl, "*.bar", "g3", 5);
    sub(&mut sl, "foo.bar", 6);
    check(&mut sl, "foo.bar", &[6], &[&[1, 2, 3], &[4], &[5]]);
    check(&mut sl, "foo.baz", &[], &[&[2, 3], &[4]]);
    check(&mut sl, "foo.bar.baz", &[], &[&[3], &[4]]);
    // Many groups spread over several nodes (exercises the merge index).
    let mut sl = Sublist::new(capacity);
    for g in 0..40u32 {
        qsub(&mut sl, "a.b", &format!("g{g}"), g);
        qsub(&mut sl, "a.*", &format!("g{g}"), 100 + g);
        qsub(&mut sl, ">", &format!("g{}", g + 20), 200 + g);
    }
    let mut expected: Vec<Vec<u32>> = (0..60)
        .map(|g| {
            let mut members = Vec::new();
            if g < 40 {
                members.extend([g, 100 + g]);
            }
            if g >= 20 {
                members.push(200 + g - 20);
            }
            members
        })
        .collect();
    expected.sort();
    assert_eq!(normalized(&sl.matches(b"a.b")), (vec![], expected.clone()));
    assert_eq!(normalized(&sl.matches(b"a.b")), (vec![], expected));
}

fn remove(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo.bar", 1);
    sub(&mut sl, "foo.*", 2);
    sub(&mut sl, "foo.>", 3);
    check(&mut sl, "foo.bar", &[1, 2, 3], &[]);
    assert!(!sl.remove(b"foo.bar", None, 2), "wrong subject");
    assert!(!sl.remove(b"foo.bar", Some(b"q"), 1), "wrong queue");
    assert!(!sl.remove(b"foo.baz", None, 1), "never inserted");
    assert!(!sl.remove(b"foo..bar", None, 1), "invalid subject");
    assert!(!sl.remove(b"", None, 1), "empty subject");
    assert_eq!(sl.len(), 3);
    assert!(sl.remove(b"foo.*", None, 2));
    check(&mut sl, "foo.bar", &[1, 3], &[]);
    assert!(sl.remove(b"foo.bar", None, 1));
    check(&mut sl, "foo.bar", &[3], &[]);
    assert!(sl.remove(b"foo.>", None, 3));
    check(&mut sl, "foo.bar", &[], &[]);
    assert!(!sl.remove(b"foo.>", None, 3));
    assert!(sl.is_empty());
}

fn remove_queue_member(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    qsub(&mut sl, "foo", "g", 1);
    qsub(&mut sl, "foo", "g", 2);
    check(&mut sl, "foo", &[], &[&[1, 2]]);
    assert!(sl.remove(b"foo", Some(b"g"), 1));
    check(&mut sl, "foo", &[], &[&[2]]);
    assert!(sl.remove(b"foo", Some(b"g"), 2));
    check(&mut sl, "foo", &[], &[]);
    assert_eq!(nodes(&sl), 0);
}

fn pruning(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    let subjects = [
        "foo",
        "foo.bar",
        "foo.bar.baz",
        "*.bar",
        "foo.*.baz",
        ">",
        "foo.>",
        "a.b.c.d.e.f",
    ];
    for round in 0..3 {
        for (i, s) in subjects.iter().enumerate() {
            sub(&mut sl, s, i as u32);
            qsub(&mut sl, s, "q", 100 + i as u32);
        }
        assert_eq!(sl.len(), subjects.len() * 2);
        assert!(nodes(&sl) > 0);
        for (i, s) in subjects.iter().enumerate().rev() {
            assert!(sl.remove(s.as_bytes(), None, i as u32), "{s} round {round}");
            assert!(
                sl.remove(s.as_bytes(), Some(b"q"), 100 + i as u32),
                "{s} round {round}"
            );
        }
        assert!(sl.is_empty());
        assert_eq!(nodes(&sl), 0, "every node is pruned");
        assert!(sl.root.is_empty());
    }
    // Churn through many distinct subjects leaves nothing behind.
    for i in 0..1000u32 {
        let s = format!("_INBOX.{i}.reply");
        sub(&mut sl, &s, i);
        sl.matches(s.as_bytes());
        assert!(sl.remove(s.as_bytes(), None, i));
    }
    assert_eq!(nodes(&sl), 0);
}

fn pruning_keeps_other_branches(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo.bar", 1);
    sub(&mut sl, "foo.bar.baz", 2);
    sub(&mut sl, "foo.*.baz", 3);
    assert_eq!(nodes(&sl), 5); // foo, bar, baz, *, baz
    assert!(sl.remove(b"foo.bar.baz", None, 2));
    assert_eq!(nodes(&sl), 4);
    check(&mut sl, "foo.bar", &[1], &[]);
    check(&mut sl, "foo.bar.baz", &[3], &[]);
    assert!(sl.remove(b"foo.bar", None, 1));
    assert_eq!(nodes(&sl), 3);
    check(&mut sl, "foo.x.baz", &[3], &[]);
}

fn invalid_subjects(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    for s in [
        "",
        ".",
        "foo.",
        ".foo",
        "foo..bar",
        "foo.>.bar",
        ">.>",
        "foo bar",
        "foo\tbar",
        "a.\r",
    ] {
        assert_eq!(
            sl.insert(s.as_bytes(), None, 1),
            Err(InvalidSubject),
            "{s:?}"
        );
        assert_eq!(
            sl.insert(s.as_bytes(), Some(b"q"), 1),
            Err(InvalidSubject),
            "{s:?}"
        );
    }
    assert!(sl.is_empty());
    assert_eq!(nodes(&sl), 0);
    assert_eq!(sl.generation(), 0);
    // Wildcard characters inside a token are literal.
    sub(&mut sl, "foo*.b>r", 1);
    check(&mut sl, "foo*.b>r", &[1], &[]);
    check(&mut sl, "foox.bar", &[], &[]);
}

fn duplicates(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo", 1);
    let generation = sl.generation();
    sub(&mut sl, "foo", 1);
    assert_eq!(sl.generation(), generation, "a duplicate changes nothing");
    qsub(&mut sl, "foo", "g", 1);
    qsub(&mut sl, "foo", "g", 1);
    assert_eq!(sl.len(), 2);
    check(&mut sl, "foo", &[1], &[&[1]]);
    assert!(sl.remove(b"foo", None, 1));
    assert!(!sl.remove(b"foo", None, 1));
    check(&mut sl, "foo", &[], &[&[1]]);
    assert!(sl.remove(b"foo", Some(b"g"), 1));
    assert!(!sl.remove(b"foo", Some(b"g"), 1));
    assert!(sl.is_empty());
    assert_eq!(nodes(&sl), 0);
}

fn same_key_many_subjects(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "foo.bar", 7);
    sub(&mut sl, "foo.*", 7);
    qsub(&mut sl, "foo.>", "g", 7);
    assert_eq!(sl.len(), 3);
    check(&mut sl, "foo.bar", &[7, 7], &[&[7]]);
    assert!(sl.remove(b"foo.*", None, 7));
    check(&mut sl, "foo.bar", &[7], &[&[7]]);
}

fn results_follow_changes(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    check(&mut sl, "foo.bar", &[], &[]);
    check(&mut sl, "foo.*", &[], &[]);
    sub(&mut sl, "foo.bar", 1);
    check(&mut sl, "foo.bar", &[1], &[]);
    check(&mut sl, "foo.*", &[], &[]);
    sub(&mut sl, "*.bar", 2);
    check(&mut sl, "foo.bar", &[1, 2], &[]);
    check(&mut sl, "foo.*", &[], &[]);
    sub(&mut sl, "foo.*", 4);
    check(&mut sl, "foo.bar", &[1, 2, 4], &[]);
    check(&mut sl, "foo.*", &[4], &[]);
    qsub(&mut sl, ">", "g", 3);
    check(&mut sl, "foo.bar", &[1, 2, 4], &[&[3]]);
    check(&mut sl, "foo.*", &[4], &[&[3]]);
    check(&mut sl, "x", &[], &[&[3]]);
    assert!(sl.remove(b"*.bar", None, 2));
    check(&mut sl, "foo.bar", &[1, 4], &[&[3]]);
    check(&mut sl, "foo.*", &[4], &[&[3]]);
    assert!(sl.remove(b"foo.*", None, 4));
    check(&mut sl, "foo.*", &[], &[&[3]]);
    assert!(sl.remove(b">", Some(b"g"), 3));
    check(&mut sl, "foo.bar", &[1], &[]);
    check(&mut sl, "x", &[], &[]);
}

fn case_sensitive_and_bytes(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "Foo", 1);
    sl.insert(b"\xff\x00.\xc3\xa9", None, 2).unwrap();
    check(&mut sl, "Foo", &[1], &[]);
    check(&mut sl, "foo", &[], &[]);
    assert_eq!(
        normalized(&sl.matches(b"\xff\x00.\xc3\xa9")),
        (vec![2], vec![])
    );
}

fn counters(capacity: usize) {
    let mut sl = Sublist::new(capacity);
    sub(&mut sl, "a", 1);
    sub(&mut sl, "b", 2);
    assert!(sl.remove(b"a", None, 1));
    assert_eq!(sl.generation(), 3);
    for _ in 0..4 {
        sl.matches(b"b");
    }
    let stats = sl.stats();
    assert_eq!(
        (
            stats.subscriptions,
            stats.inserts,
            stats.removes,
            stats.matches
        ),
        (1, 2, 1, 4)
    );
    if capacity > 0 {
        assert_eq!(
            (stats.cache_hits, stats.cache_entries, stats.max_fanout),
            (3, 1, 1)
        );
        assert_eq!(stats.cache_hit_rate(), 0.75);
    } else {
        assert_eq!((stats.cache_hits, stats.cache_entries), (0, 0));
        assert_eq!(stats.cache_hit_rate(), 0.0);
    }
}

#[test]
fn cache_hit_shares_the_result() {
    let mut sl = Sublist::new(16);
    sub(&mut sl, "foo", 1);
    let first = sl.matches(b"foo");
    let second = sl.matches(b"foo");
    assert!(Rc::ptr_eq(&first, &second));
    sub(&mut sl, "foo", 2);
    let third = sl.matches(b"foo");
    assert!(
        !Rc::ptr_eq(&first, &third),
        "a change invalidates the entry"
    );
    assert_eq!(first.plain, [1], "results already handed out are immutable");
}

#[test]
fn no_match_results_share_one_allocation() {
    let mut sl = Sublist::<u32>::new(0);
    assert!(Rc::ptr_eq(&sl.matches(b"a"), &sl.matches(b"b")));
    assert!(Rc::ptr_eq(&sl.matches(b"a"), &sl.matches(b"a..b")));
}

#[test]
fn cache_stays_bounded() {
    let mut sl = Sublist::new(8);
    sub(&mut sl, ">", 1);
    for i in 0..1000 {
        let subject = format!("s.{i}");
        assert_eq!(sl.matches(subject.as_bytes()).plain, [1]);
        assert!(sl.stats().cache_entries <= 8);
    }
}

#[test]
fn queue_order_is_deterministic() {
    let build = || {
        let mut sl = Sublist::new(0);
        for (i, g) in ["c", "a", "b"].iter().enumerate() {
            qsub(&mut sl, "foo", g, i as u32);
            qsub(&mut sl, "*", g, 10 + i as u32);
        }
        sl.matches(b"foo")
    };
    let m = build();
    // The literal node is collected before the `*` one; groups keep first-seen order.
    assert_eq!(m.queues, vec![vec![0, 10], vec![1, 11], vec![2, 12]]);
    assert_eq!(build(), m);
}
