//! Subject syntax: tokens, wildcards and the validity rules nats-server applies.
//!
//! A subject is a sequence of non-empty tokens separated by `.`. In a subscription, the token
//! `*` matches exactly one token and the token `>` matches one or more trailing tokens (so it
//! must be last); `foo*` or `>x` are ordinary literal tokens. Subjects are case-sensitive and may
//! hold any bytes except whitespace (space, `\t`, `\n`, `\r`, `\f`), with no UTF-8 check.

/// The byte separating tokens.
pub const SEPARATOR: u8 = b'.';

/// The single-token wildcard, as a token.
pub const PWC: &[u8] = b"*";

/// The trailing-tokens wildcard, as a token.
pub const FWC: &[u8] = b">";

/// What a token means in a subscription pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A literal token, matched byte for byte.
    Literal(&'a [u8]),
    /// `*`: any one token.
    Pwc,
    /// `>`: one or more trailing tokens.
    Fwc,
}

impl<'a> Token<'a> {
    /// Classifies one token (wildcards only as whole tokens).
    pub fn of(token: &'a [u8]) -> Self {
        match token {
            PWC => Token::Pwc,
            FWC => Token::Fwc,
            literal => Token::Literal(literal),
        }
    }
}

/// Splits off the first token: `(token, Some(rest))`, or `(subject, None)` for the last token.
#[inline]
pub fn split_first(subject: &[u8]) -> (&[u8], Option<&[u8]>) {
    // Tokens are short: a plain loop beats a vectorised search's setup.
    match subject.iter().position(|&b| b == SEPARATOR) {
        Some(i) => (&subject[..i], Some(&subject[i + 1..])),
        None => (subject, None),
    }
}

/// Whether `byte` is one of the whitespace bytes nats-server rejects in subjects.
#[inline]
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Whether `subject` is non-empty and has no empty token (no leading, trailing or double `.`).
///
/// This is the only check a published subject gets before it is matched: a subject with an
/// empty token matches nothing.
#[inline]
pub fn has_no_empty_token(subject: &[u8]) -> bool {
    // `after_separator` starts true so a leading `.` (or an empty subject) fails.
    let mut after_separator = true;
    for &byte in subject {
        let separator = byte == SEPARATOR;
        if separator && after_separator {
            return false;
        }
        after_separator = separator;
    }
    !after_separator
}

/// Whether `subject` is a valid subscription subject: non-empty, no empty tokens, no
/// whitespace, `>` only as the last token (`*` and `>` are wildcards only as whole tokens).
pub fn is_valid_subscription(subject: &[u8]) -> bool {
    validate(subject, true)
}

/// Whether `subject` is a valid literal subject (valid, and no `*` or `>` token): the rule a
/// pedantic client's PUB must satisfy.
pub fn is_valid_literal(subject: &[u8]) -> bool {
    validate(subject, false)
}

/// Whether every token of `subject` is non-empty and none is a wildcard: nats-server's
/// `IsValidLiteralSubject`, the check a pedantic client's PUB gets. Unlike
/// [`is_valid_literal`] it does not look for whitespace inside tokens (`a\rb` passes), exactly
/// as nats-server does not.
pub fn has_literal_tokens(subject: &[u8]) -> bool {
    subject
        .split(|&b| b == SEPARATOR)
        .all(|token| !token.is_empty() && !matches!(Token::of(token), Token::Pwc | Token::Fwc))
}

/// Shared validation: tokens non-empty and free of whitespace; wildcards allowed or not.
fn validate(subject: &[u8], wildcards: bool) -> bool {
    if subject.is_empty() {
        return false;
    }
    let mut rest = subject;
    loop {
        let (token, tail) = split_first(rest);
        if token.is_empty() || token.iter().copied().any(is_space) {
            return false;
        }
        match Token::of(token) {
            Token::Literal(_) => {}
            Token::Pwc if wildcards => {}
            Token::Fwc if wildcards && tail.is_none() => {}
            Token::Pwc | Token::Fwc => return false,
        }
        match tail {
            Some(tail) => rest = tail,
            None => return true,
        }
    }
}

/// Whether the published `subject` reaches a subscription with the valid pattern `pattern`,
/// exactly as the subject index decides it.
///
/// A literal pattern token matches only the identical token; `*` matches any one token and `>`
/// any non-empty rest. A published subject is not itself treated as a pattern: its `*` or `>`
/// tokens are reached only by `*` and `>` pattern tokens (a published `foo.*` reaches `foo.*` and
/// `foo.>`, not `foo.bar`). A subject with an empty token matches nothing.
pub fn matches_pattern(pattern: &[u8], subject: &[u8]) -> bool {
    if !has_no_empty_token(subject) {
        return false;
    }
    let (mut pattern, mut subject) = (pattern, subject);
    loop {
        let (p, p_rest) = split_first(pattern);
        let (s, s_rest) = split_first(subject);
        match Token::of(p) {
            Token::Fwc => return true,
            Token::Pwc => {}
            Token::Literal(literal) if literal == s => {}
            Token::Literal(_) => return false,
        }
        match (p_rest, s_rest) {
            (Some(p_rest), Some(s_rest)) => (pattern, subject) = (p_rest, s_rest),
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_subscriptions() {
        for s in [
            "foo",
            "foo.bar",
            "*",
            ">",
            "foo.*",
            "foo.>",
            "*.*.>",
            "foo*",
            "foo.b*r",
            ">x",
            "x>.y",
            "foo.*.baz",
            "ünï.cødé",
            "$SYS.REQ",
            "a-b_c:d",
        ] {
            assert!(is_valid_subscription(s.as_bytes()), "{s:?} should be valid");
        }
    }

    #[test]
    fn invalid_subscriptions() {
        for s in [
            "",
            ".",
            "foo.",
            ".foo",
            "foo..bar",
            "foo.>.bar",
            ">.foo",
            ">.>",
            "foo bar",
            "foo\tbar",
            "foo.\r",
            "\n",
            "a.\x0c.b",
            " ",
        ] {
            assert!(
                !is_valid_subscription(s.as_bytes()),
                "{s:?} should be invalid"
            );
        }
    }

    #[test]
    fn literal_subjects() {
        for s in ["foo", "foo.bar", "foo*", "foo.>x", "a.b.c.d.e"] {
            assert!(is_valid_literal(s.as_bytes()), "{s:?} should be literal");
        }
        for s in [
            "", "*", ">", "foo.*", "foo.>", "*.bar", "foo..bar", "foo bar", "foo.",
        ] {
            assert!(
                !is_valid_literal(s.as_bytes()),
                "{s:?} should not be literal"
            );
        }
    }

    #[test]
    fn pedantic_literal_tokens() {
        for s in ["foo", "foo.bar", "foo*", "a\rb", "a b.c", "foo.>x"] {
            assert!(has_literal_tokens(s.as_bytes()), "{s:?} passes");
        }
        for s in ["", "*", ">", "foo.*", "foo.>", "foo..bar", "foo.", ".foo"] {
            assert!(!has_literal_tokens(s.as_bytes()), "{s:?} fails");
        }
    }

    #[test]
    fn split_tokens() {
        assert_eq!(
            split_first(b"foo.bar.baz"),
            (&b"foo"[..], Some(&b"bar.baz"[..]))
        );
        assert_eq!(split_first(b"foo"), (&b"foo"[..], None));
        assert_eq!(split_first(b"foo."), (&b"foo"[..], Some(&b""[..])));
        assert_eq!(Token::of(b"*"), Token::Pwc);
        assert_eq!(Token::of(b">"), Token::Fwc);
        assert_eq!(Token::of(b"*x"), Token::Literal(b"*x"));
    }

    #[test]
    fn empty_tokens() {
        assert!(has_no_empty_token(b"a"));
        assert!(has_no_empty_token(b"a.b.*"));
        for s in ["", ".", "a.", ".a", "a..b"] {
            assert!(!has_no_empty_token(s.as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn pattern_matching() {
        let cases: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "Foo", false),
            ("foo", "foo.bar", false),
            ("foo.bar", "foo", false),
            ("*", "foo", true),
            ("*", "foo.bar", false),
            (">", "foo", true),
            (">", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            ("foo.>", "foo.bar", true),
            ("foo.*.baz", "foo.bar.baz", true),
            ("foo.*.baz", "foo.bar.bar", false),
            ("foo*", "foox", false),
            ("foo*", "foo*", true),
            // A published wildcard is only reached by wildcard patterns.
            ("foo.*", "foo.*", true),
            ("foo.>", "foo.*", true),
            ("foo.bar", "foo.*", false),
            ("*.*", "foo.>", true),
            ("foo.bar", "foo.>", false),
            // Empty tokens match nothing.
            (">", "foo..bar", false),
            (">", "", false),
            ("*", ".", false),
        ];
        for &(pattern, subject, expected) in cases {
            assert_eq!(
                matches_pattern(pattern.as_bytes(), subject.as_bytes()),
                expected,
                "{pattern} ~ {subject}"
            );
        }
    }
}
