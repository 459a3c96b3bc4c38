//! Splitting a control line's arguments and reading size fields, as nats-server does.

use std::ops::Range;

/// A byte range inside the buffer the parser works on (`Range` is not `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Span {
    pub(super) fn range(self) -> Range<usize> {
        self.start..self.end
    }

    pub(super) fn len(self) -> usize {
        self.end - self.start
    }
}

/// PUB and HPUB split their arguments on runs of spaces and tabs only.
pub(super) fn is_pub_delim(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// SUB and UNSUB also split on `\r` and `\n` (nats-server `splitArg`).
pub(super) fn is_sub_delim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Up to `N` arguments of `line`, split on runs of `is_delim` bytes.
#[derive(Debug)]
pub(super) struct Args<const N: usize> {
    spans: [Span; N],
    len: usize,
}

impl<const N: usize> Args<N> {
    /// Splits `line`; `None` if it holds more than `N` arguments.
    pub(super) fn split(line: &[u8], is_delim: impl Fn(u8) -> bool) -> Option<Self> {
        let mut args = Self {
            spans: [Span { start: 0, end: 0 }; N],
            len: 0,
        };
        let mut i = 0;
        loop {
            while i < line.len() && is_delim(line[i]) {
                i += 1;
            }
            if i == line.len() {
                return Some(args);
            }
            let start = i;
            while i < line.len() && !is_delim(line[i]) {
                i += 1;
            }
            args.push(Span { start, end: i })?;
        }
    }

    fn push(&mut self, span: Span) -> Option<()> {
        *self.spans.get_mut(self.len)? = span;
        self.len += 1;
        Some(())
    }

    /// The arguments found.
    pub(super) fn as_slice(&self) -> &[Span] {
        &self.spans[..self.len]
    }
}

/// A size field: 1 to 9 ASCII digits (nats-server `parseSize`), else `None`.
pub(super) fn parse_size(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words<const N: usize>(line: &[u8], delim: fn(u8) -> bool) -> Option<Vec<&[u8]>> {
        let args = Args::<N>::split(line, delim)?;
        Some(args.as_slice().iter().map(|s| &line[s.range()]).collect())
    }

    #[test]
    fn splits_on_runs_of_delimiters() {
        let w = words::<3>(b" \tfoo \t bar\t9 ", is_pub_delim).unwrap();
        assert_eq!(w, [&b"foo"[..], b"bar", b"9"]);
        assert_eq!(words::<3>(b"", is_pub_delim).unwrap(), Vec::<&[u8]>::new());
        assert_eq!(words::<2>(b"a b c", is_pub_delim), None);
    }

    #[test]
    fn sub_delimiters_include_cr_and_lf() {
        assert_eq!(
            words::<3>(b"foo\r1", is_sub_delim).unwrap(),
            [&b"foo"[..], b"1"]
        );
        assert_eq!(
            words::<3>(b"foo\r1", is_pub_delim).unwrap(),
            [&b"foo\r1"[..]]
        );
    }

    #[test]
    fn sizes_are_one_to_nine_digits() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"007"), Some(7));
        assert_eq!(parse_size(b"999999999"), Some(999_999_999));
        for bad in [&b""[..], b"1234567890", b"+1", b"-1", b"1a", b" 1", b"\r"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
