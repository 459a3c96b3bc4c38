//! Patterns for expected bytes: literal bytes with placeholders for what varies, or a regex.
//!
//! A pattern is matched against the *start* of what a connection has received so far. The
//! matcher answers [`Outcome::NeedMore`] while the received bytes are still a possible prefix
//! of a match, so a wrong literal fails at once instead of waiting for a timeout.

use regex::bytes::Regex;

use crate::escape::unescape;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    /// `{json}`: one JSON object (balanced braces, strings honoured) that must parse.
    Json,
    /// `{any}`: any bytes except CR and LF, possibly none.
    Any,
    /// `{int}`: one or more ASCII digits.
    Int,
    /// `{word}`: one or more bytes that are not space, tab, CR or LF.
    Word,
}

impl Placeholder {
    const ALL: [(&'static [u8], Self); 4] = [
        (b"{json}", Self::Json),
        (b"{any}", Self::Any),
        (b"{int}", Self::Int),
        (b"{word}", Self::Word),
    ];

    fn accepts(self, b: u8) -> bool {
        match self {
            Self::Json => true,
            Self::Any => b != b'\r' && b != b'\n',
            Self::Int => b.is_ascii_digit(),
            Self::Word => !matches!(b, b' ' | b'\t' | b'\r' | b'\n'),
        }
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(Vec<u8>),
    Hole(Placeholder),
}

/// An expectation on received bytes.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Segments(Vec<Segment>),
    Regex(Regex),
}

/// The result of matching a pattern against the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The first `len` bytes match; `json` holds the text each `{json}` matched, in order.
    Match {
        /// How many bytes the match consumed.
        len: usize,
        /// What each `{json}` placeholder matched.
        json: Vec<Vec<u8>>,
    },
    /// No match yet, but more bytes could still make one.
    NeedMore,
    /// These bytes can never match, whatever follows.
    Mismatch,
}

impl Pattern {
    /// Parses a pattern as written after `a< `: `/regex/`, or escaped text with placeholders.
    pub fn parse(text: &str) -> Result<Self, String> {
        let source = text.to_owned();
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            let body = &text[1..text.len() - 1];
            let regex = Regex::new(&format!("^(?:{body})")).map_err(|e| e.to_string())?;
            return Ok(Self {
                source,
                kind: Kind::Regex(regex),
            });
        }
        let bytes = unescape(text)?;
        let mut segments = Vec::new();
        let mut literal = Vec::new();
        let mut i = 0;
        'outer: while i < bytes.len() {
            for (name, hole) in Placeholder::ALL {
                if bytes[i..].starts_with(name) {
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Hole(hole));
                    i += name.len();
                    continue 'outer;
                }
            }
            literal.push(bytes[i]);
            i += 1;
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        if segments.is_empty() {
            return Err("empty pattern".into());
        }
        Ok(Self {
            source,
            kind: Kind::Segments(segments),
        })
    }

    /// A pattern matching exactly `bytes`.
    pub fn literal(bytes: &[u8]) -> Self {
        Self {
            source: crate::escape::escape(bytes),
            kind: Kind::Segments(vec![Segment::Literal(bytes.to_vec())]),
        }
    }

    /// The pattern as written in the scenario.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Matches the pattern against the start of `input`.
    pub fn match_prefix(&self, input: &[u8]) -> Outcome {
        match &self.kind {
            Kind::Regex(regex) => match regex.find(input) {
                Some(m) => Outcome::Match {
                    len: m.end(),
                    json: Vec::new(),
                },
                None => Outcome::NeedMore,
            },
            Kind::Segments(segments) => {
                let mut json = Vec::new();
                match match_segments(segments, input, 0, &mut json) {
                    Step::Done(len) => {
                        json.reverse();
                        Outcome::Match { len, json }
                    }
                    Step::NeedMore => Outcome::NeedMore,
                    Step::Mismatch => Outcome::Mismatch,
                }
            }
        }
    }
}

enum Step {
    Done(usize),
    NeedMore,
    Mismatch,
}

/// Backtracking match of `segments` at `pos`; placeholders are lazy (shortest first).
/// On success, `json` receives the `{json}` captures in reverse order.
fn match_segments(segments: &[Segment], input: &[u8], pos: usize, json: &mut Vec<Vec<u8>>) -> Step {
    let Some((first, rest)) = segments.split_first() else {
        return Step::Done(pos);
    };
    let avail = &input[pos..];
    match first {
        Segment::Literal(lit) => {
            if avail.len() >= lit.len() {
                if avail.starts_with(lit) {
                    match_segments(rest, input, pos + lit.len(), json)
                } else {
                    Step::Mismatch
                }
            } else if lit.starts_with(avail) {
                Step::NeedMore
            } else {
                Step::Mismatch
            }
        }
        Segment::Hole(Placeholder::Json) => match json_object_len(avail) {
            Step::Done(n) => {
                if serde_json::from_slice::<serde_json::Value>(&avail[..n]).is_err() {
                    return Step::Mismatch;
                }
                let step = match_segments(rest, input, pos + n, json);
                if matches!(step, Step::Done(_)) {
                    json.push(avail[..n].to_vec());
                }
                step
            }
            other => other,
        },
        Segment::Hole(hole) => {
            let min = usize::from(*hole != Placeholder::Any);
            let mut best = Step::Mismatch;
            let mut n = 0;
            loop {
                if n >= min {
                    match match_segments(rest, input, pos + n, json) {
                        Step::Done(end) => return Step::Done(end),
                        Step::NeedMore => best = Step::NeedMore,
                        Step::Mismatch => {}
                    }
                }
                if n == avail.len() {
                    return Step::NeedMore;
                }
                if !hole.accepts(avail[n]) {
                    return best;
                }
                n += 1;
            }
        }
    }
}

/// The length of the balanced JSON object at the start of `input`.
fn json_object_len(input: &[u8]) -> Step {
    match input.first() {
        None => return Step::NeedMore,
        Some(b'{') => {}
        Some(_) => return Step::Mismatch,
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in input.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Step::Done(i + 1);
                }
            }
            b'\r' | b'\n' => return Step::Mismatch,
            _ => {}
        }
    }
    Step::NeedMore
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(pattern: &str, input: &[u8]) -> Outcome {
        Pattern::parse(pattern).unwrap().match_prefix(input)
    }

    #[test]
    fn literal_matches_prefix_and_fails_fast() {
        assert_eq!(
            outcome(r"+OK\r\n", b"+OK\r\nPONG"),
            Outcome::Match {
                len: 5,
                json: vec![]
            }
        );
        assert_eq!(outcome(r"+OK\r\n", b"+O"), Outcome::NeedMore);
        assert_eq!(outcome(r"+OK\r\n", b"-E"), Outcome::Mismatch);
    }

    #[test]
    fn json_placeholder_captures_the_object() {
        let info = br#"INFO {"a":"}","b":{"c":1}} \r\n"#;
        let info = [&info[..info.len() - 4], b"\r\n"].concat();
        match outcome(r"INFO {json} \r\n", &info) {
            Outcome::Match { len, json } => {
                assert_eq!(len, info.len());
                assert_eq!(json, vec![br#"{"a":"}","b":{"c":1}}"#.to_vec()]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            outcome(r"INFO {json} \r\n", br#"INFO {"a":1"#),
            Outcome::NeedMore
        );
        assert_eq!(
            outcome(r"INFO {json} \r\n", b"INFO {nope} \r\n"),
            Outcome::Mismatch
        );
    }

    #[test]
    fn word_int_and_any_are_lazy_and_bounded_by_their_class() {
        assert!(matches!(
            outcome(r"MSG {word} {int} 2\r\n", b"MSG a.b 12 2\r\n"),
            Outcome::Match { .. }
        ));
        assert_eq!(
            outcome(r"MSG {word} 1\r\n", b"MSG a b 1\r\n"),
            Outcome::Mismatch
        );
        assert_eq!(outcome(r"x{int}y", b"x12"), Outcome::NeedMore);
        assert!(matches!(
            outcome(r"-ERR {any}\r\n", b"-ERR 'x y'\r\n"),
            Outcome::Match { len: 12, .. }
        ));
        assert_eq!(outcome(r"-ERR {any}\r\n", b"-ERR a\nb"), Outcome::Mismatch);
    }

    #[test]
    fn regex_patterns_match_at_the_start() {
        assert!(matches!(
            outcome(r"/PONG\r\n|\+OK\r\n/", b"+OK\r\n"),
            Outcome::Match { len: 5, .. }
        ));
        assert_eq!(outcome(r"/PONG\r\n/", b"x PONG\r\n"), Outcome::NeedMore);
    }
}
