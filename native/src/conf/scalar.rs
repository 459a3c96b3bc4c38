//! Classifying an unquoted token: boolean, integer (with size suffix), float, datetime or string.
//!
//! nats-server's lexer decides this character by character; we read the whole bare token first
//! and then classify it, which gives the same results for every form its documentation shows:
//! `1k` = 1000, `1kb`/`1ki`/`1kib` = 1024, unquoted `2m` = 2,000,000 (so `ping_interval: 2m`
//! is *not* two minutes), while `5s`, `1h30m` and `127.0.0.1` stay strings.

use super::value::Kind;

/// Size suffixes (lower case) and their multipliers.
const SUFFIXES: &[(&str, i64)] = &[
    ("k", 1_000),
    ("kb", 1 << 10),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1_000_000),
    ("mb", 1 << 20),
    ("mi", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1_000_000_000),
    ("gb", 1 << 30),
    ("gi", 1 << 30),
    ("gib", 1 << 30),
    ("t", 1_000_000_000_000),
    ("tb", 1 << 40),
    ("ti", 1 << 40),
    ("tib", 1 << 40),
    ("p", 1_000_000_000_000_000),
    ("pb", 1 << 50),
    ("pi", 1 << 50),
    ("pib", 1 << 50),
    ("e", 1_000_000_000_000_000_000),
    ("eb", 1 << 60),
    ("ei", 1 << 60),
    ("eib", 1 << 60),
];

/// Classifies a non-empty bare token that is not a `$variable`.
///
/// # Errors
/// An integer that does not fit in 64 bits (before or after its suffix) gives the
/// nats-server message `Integer '…' is out of the range.`.
pub(crate) fn classify(token: &str) -> Result<Kind, String> {
    match token.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => return Ok(Kind::Bool(true)),
        "false" | "no" | "off" => return Ok(Kind::Bool(false)),
        _ => {}
    }
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let digits = unsigned.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return Ok(Kind::String(token.to_owned()));
    }
    let sign_len = token.len() - unsigned.len();
    let (number, rest) = token.split_at(sign_len + digits);
    if rest.is_empty() {
        return parse_int(number, 1, token);
    }
    let lower = rest.to_ascii_lowercase();
    if let Some(&(_, mult)) = SUFFIXES.iter().find(|(s, _)| *s == lower) {
        return parse_int(number, mult, token);
    }
    if is_float(rest) {
        return match token.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Kind::Float(f)),
            _ => Err(format!("Float '{token}' is out of the range.")),
        };
    }
    if sign_len == 0 && is_datetime(token) {
        return Ok(Kind::Datetime(token.to_owned()));
    }
    Ok(Kind::String(token.to_owned()))
}

fn parse_int(number: &str, mult: i64, token: &str) -> Result<Kind, String> {
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(Kind::Integer)
        .ok_or_else(|| format!("Integer '{token}' is out of the range."))
}

/// `.digits` with an optional exponent: the part of a float after its integer digits.
fn is_float(rest: &str) -> bool {
    let Some(frac) = rest.strip_prefix('.') else {
        return false;
    };
    let digits = frac.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let exp = &frac[digits..];
    if exp.is_empty() {
        return true;
    }
    let Some(exp) = exp.strip_prefix(['e', 'E']) else {
        return false;
    };
    let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn is_datetime(token: &str) -> bool {
    const SHAPE: &[u8] = b"0000-00-00T00:00:00Z";
    token.len() == SHAPE.len()
        && token.bytes().zip(SHAPE).all(|(b, &s)| {
            if s == b'0' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(t: &str) -> i64 {
        match classify(t).unwrap() {
            Kind::Integer(n) => n,
            other => panic!("{t}: {other:?}"),
        }
    }

    #[test]
    fn booleans_any_case() {
        for t in ["true", "YES", "On"] {
            assert_eq!(classify(t).unwrap(), Kind::Bool(true));
        }
        for t in ["false", "No", "OFF"] {
            assert_eq!(classify(t).unwrap(), Kind::Bool(false));
        }
    }

    #[test]
    fn integers_and_suffixes() {
        assert_eq!(int("4222"), 4222);
        assert_eq!(int("-1"), -1);
        assert_eq!(int("1k"), 1000);
        assert_eq!(int("1K"), 1000);
        assert_eq!(int("2kb"), 2048);
        assert_eq!(int("2Ki"), 2048);
        assert_eq!(int("2KiB"), 2048);
        assert_eq!(int("2m"), 2_000_000);
        assert_eq!(int("2MB"), 2 << 20);
        assert_eq!(int("2mib"), 2 << 20);
        assert_eq!(int("1g"), 1_000_000_000);
        assert_eq!(int("1gb"), 1 << 30);
        assert_eq!(int("1t"), 1_000_000_000_000);
        assert_eq!(int("1tb"), 1 << 40);
        assert_eq!(int("1p"), 1_000_000_000_000_000);
        assert_eq!(int("1e"), 1_000_000_000_000_000_000);
        assert_eq!(int("1eb"), 1 << 60);
    }

    #[test]
    fn out_of_range() {
        assert!(
            classify("99999999999999999999")
                .unwrap_err()
                .contains("out of the range")
        );
        assert!(classify("100eb").unwrap_err().contains("out of the range"));
    }

    #[test]
    fn floats() {
        assert_eq!(classify("1.5").unwrap(), Kind::Float(1.5));
        assert_eq!(classify("-0.25").unwrap(), Kind::Float(-0.25));
        assert_eq!(classify("1.5e3").unwrap(), Kind::Float(1500.0));
    }

    #[test]
    fn strings_that_start_with_digits() {
        for t in [
            "5s",
            "1h30m",
            "500ms",
            "127.0.0.1",
            "127.0.0.1:4222",
            "1.",
            "2mx",
            "-x",
        ] {
            assert_eq!(classify(t).unwrap(), Kind::String(t.to_owned()), "{t}");
        }
    }

    #[test]
    fn datetimes() {
        assert_eq!(
            classify("2006-01-02T15:04:05Z").unwrap(),
            Kind::Datetime("2006-01-02T15:04:05Z".into())
        );
        assert_eq!(
            classify("2006-01-02").unwrap(),
            Kind::String("2006-01-02".into())
        );
    }
}
