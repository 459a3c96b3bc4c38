//! Subject syntax: tokens, wildcards and the validity rules nats-server applies.
//! (Being written: see the sublist helper's task.)

/// Whether `subject` is a valid subscription subject: non-empty, no empty tokens, no
/// whitespace, `>` only as the last token (`*` and `>` are wildcards only as whole tokens).
pub fn is_valid_subscription(subject: &[u8]) -> bool {
    let _ = subject;
    todo!("subject validation")
}

/// Whether `subject` is a valid literal subject (valid, and no `*` or `>` token): the rule a
/// pedantic client's PUB must satisfy.
pub fn is_valid_literal(subject: &[u8]) -> bool {
    let _ = subject;
    todo!("subject validation")
}
