//! Per-user publish and subscribe permissions (nats-server's `permissions` block).

use std::time::Duration;

use crate::subject::matches_pattern;

/// What one user may publish and subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Subjects the user may publish to.
    pub publish: Rules,
    /// Subjects the user may subscribe to (deny rules are also applied at delivery).
    pub subscribe: Rules,
    /// `allow_responses`: the user may publish to the reply subject of a message delivered
    /// to it. Set, it also makes publishing deny-by-default when `publish` has no allow list.
    pub responses: Option<ResponsePermission>,
}

impl Permissions {
    /// Whether the user may publish to `subject` by its rules (responses aside).
    pub fn may_publish(&self, subject: &[u8]) -> bool {
        if self.responses.is_some() && self.publish.allow.is_none() {
            return false;
        }
        self.publish.permits(subject)
    }
}

/// How many responses a reply subject takes, for how long (nats-server's
/// `ResponsePermission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePermission {
    /// Responses allowed per reply subject (configuration reads 0 as the default, 1; here
    /// 0 means any number).
    pub max: u32,
    /// How long after the request a response may come (configuration reads zero as the
    /// default, 2 minutes; here zero means no limit).
    pub expires: Duration,
}

impl Default for ResponsePermission {
    /// nats-server's defaults: one response within two minutes.
    fn default() -> Self {
        Self {
            max: 1,
            expires: Duration::from_secs(120),
        }
    }
}

/// An allow list and a deny list of subject patterns. Deny wins over allow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rules {
    /// When set, only subjects matching one of these patterns are permitted.
    pub allow: Option<Vec<String>>,
    /// Subjects matching one of these patterns are never permitted.
    pub deny: Vec<String>,
}

impl Rules {
    /// Whether `subject` (a published subject, or a subscription's subject with its wildcards
    /// taken as tokens) is permitted.
    pub fn permits(&self, subject: &[u8]) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|allow| allow.iter().any(|p| matches_pattern(p.as_bytes(), subject)));
        allowed && !self.denies(subject)
    }

    /// Whether a subscription to `subject` (in queue group `queue`, if any) is permitted, as
    /// nats-server's `canSubscribe` decides it: entries may be `"subject queue"` (the queue a
    /// literal name or a wildcard pattern). A queue entry matching the subject decides for a
    /// queue subscription; a plain subscription needs a plain allow entry.
    pub fn permits_subscription(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let mut allowed = true;
        if let Some(allow) = &self.allow {
            let (plain, queues) = split_entries(allow, subject);
            allowed = plain;
            if let Some(queue) = queue.filter(|_| !queues.is_empty()) {
                allowed = queue_matches(queue, &queues);
            }
        }
        if allowed && !self.deny.is_empty() {
            let (plain, queues) = split_entries(&self.deny, subject);
            allowed = !plain;
            if let Some(queue) = queue.filter(|_| !queues.is_empty()) {
                allowed = !queue_matches(queue, &queues);
            }
        }
        allowed
    }

    /// Whether a deny pattern matches `subject`.
    pub fn denies(&self, subject: &[u8]) -> bool {
        self.deny
            .iter()
            .any(|p| matches_pattern(p.as_bytes(), subject))
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }
}

/// Whether a plain entry matches `subject`, and the queue patterns of the queue entries whose
/// subject matches it.
fn split_entries<'a>(entries: &'a [String], subject: &[u8]) -> (bool, Vec<&'a str>) {
    let mut plain = false;
    let mut queues = Vec::new();
    for entry in entries {
        match entry.split_once(' ') {
            Some((pattern, queue)) => {
                if matches_pattern(pattern.as_bytes(), subject) {
                    queues.push(queue.trim());
                }
            }
            None => plain |= matches_pattern(entry.as_bytes(), subject),
        }
    }
    (plain, queues)
}

/// nats-server's `queueMatches`: the queue name equals a pattern, or a wildcard pattern
/// matches it.
fn queue_matches(queue: &[u8], patterns: &[&str]) -> bool {
    patterns.iter().any(|p| {
        p.as_bytes() == queue
            || (p.split('.').any(|t| t == "*" || t == ">") && matches_pattern(p.as_bytes(), queue))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: Option<&[&str]>, deny: &[&str]) -> Rules {
        Rules {
            allow: allow.map(|a| a.iter().map(|s| s.to_string()).collect()),
            deny: deny.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn allow_and_deny() {
        let r = rules(Some(&["ok.>", "x"]), &["ok.secret"]);
        assert!(r.permits(b"ok.a") && r.permits(b"x") && r.permits(b"ok.a.b"));
        assert!(!r.permits(b"ok.secret") && !r.permits(b"y") && !r.permits(b"ok"));
        let open = Rules::default();
        assert!(open.permits(b"anything") && open.is_empty());
    }

    #[test]
    fn wildcard_subscriptions_need_a_covering_allow() {
        let r = rules(Some(&["foo.*"]), &[]);
        assert!(r.permits(b"foo.*") && r.permits(b"foo.bar"));
        assert!(!r.permits(b">") && !r.permits(b"foo") && !r.permits(b"bar.x"));
        // As in nats-server, the SUB subject's wildcards are matched as tokens: `foo.*` covers
        // the token `>` in second place.
        assert!(r.permits(b"foo.>"));
        let deny = rules(None, &["secret.>"]);
        assert!(
            deny.permits(b">"),
            "a wider SUB is allowed; delivery filters denied subjects"
        );
        assert!(!deny.permits(b"secret.x") && deny.denies(b"secret.a.b"));
    }

    #[test]
    fn queue_group_entries() {
        let only_queue = rules(Some(&["foo workers"]), &[]);
        assert!(!only_queue.permits_subscription(b"foo", None));
        assert!(only_queue.permits_subscription(b"foo", Some(b"workers")));
        assert!(!only_queue.permits_subscription(b"foo", Some(b"other")));
        let pattern = rules(Some(&["foo.* v1.*", "bar"]), &[]);
        assert!(pattern.permits_subscription(b"foo.x", Some(b"v1.a")));
        assert!(!pattern.permits_subscription(b"foo.x", Some(b"v2")));
        assert!(pattern.permits_subscription(b"bar", Some(b"any")));
        let deny = rules(None, &["foo workers"]);
        assert!(deny.permits_subscription(b"foo", None));
        assert!(!deny.permits_subscription(b"foo", Some(b"workers")));
        assert!(deny.permits_subscription(b"foo", Some(b"other")));
        // A queue entry never denies delivery of a message by itself.
        assert!(!deny.denies(b"foo"));
    }
}
