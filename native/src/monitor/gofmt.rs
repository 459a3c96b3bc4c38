//! Times and durations written the way nats-server's JSON writes them (Go's formats), so
//! tools that parse `/varz` and `/connz` read Skiff's the same way.

use std::time::{Duration, SystemTime};

/// Go's `time.Duration.String()`: `1h2m3.5s`, `3.597417ms`, `250µs`, `0s`.
pub(crate) fn duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 1_000_000));
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let frac = decimal(
        u128::from(s) * 1_000_000_000 + u128::from(d.subsec_nanos()),
        1_000_000_000,
    );
    match (h, m) {
        (0, 0) => format!("{frac}s"),
        (0, _) => format!("{m}m{frac}s"),
        _ => format!("{h}h{m}m{frac}s"),
    }
}

/// `n / unit` with the remainder as a decimal fraction without trailing zeros.
fn decimal(n: u128, unit: u128) -> String {
    let (whole, rest) = (n / unit, n % unit);
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let frac = format!("{rest:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// nats-server's uptime format (`myUptime`): whole units only, `1d2h3m4s`, `5m0s`, `0s`.
pub(crate) fn uptime(d: Duration) -> String {
    let secs = d.as_secs();
    let (years, days) = (secs / (365 * 86_400), (secs / 86_400) % 365);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    if years > 0 {
        format!("{years}y{days}d{h}h{m}m{s}s")
    } else if days > 0 {
        format!("{days}d{h}h{m}m{s}s")
    } else if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Go's `time.RFC3339Nano` in UTC: `2026-12-03T06:46:32.01193405Z` (no trailing zeros).
pub(crate) fn timestamp(t: SystemTime) -> String {
    let t: chrono::DateTime<chrono::Utc> = t.into();
    let nanos = t.timestamp_subsec_nanos();
    let base = t.format("%Y-%m-%dT%H:%M:%S");
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// An HTTP `Date` header value: `Thu, 03 Dec 2026 06:46:33 GMT`.
pub(crate) fn http_date(t: SystemTime) -> String {
    let t: chrono::DateTime<chrono::Utc> = t.into();
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_nanos(999)), "999ns");
        assert_eq!(duration(Duration::from_micros(250)), "250µs");
        assert_eq!(duration(Duration::from_nanos(3_597_417)), "3.597417ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_secs(62)), "1m2s");
        assert_eq!(duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn uptimes_read_like_nats_server() {
        assert_eq!(uptime(Duration::from_millis(999)), "0s");
        assert_eq!(uptime(Duration::from_secs(300)), "5m0s");
        assert_eq!(uptime(Duration::from_secs(90_061)), "1d1h1m1s");
    }

    #[test]
    fn timestamps_read_like_go() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_796_280_392, 11_934_050);
        assert_eq!(timestamp(t), "2026-12-03T06:46:32.01193405Z");
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_280_392);
        assert_eq!(timestamp(whole), "2026-12-03T06:46:32Z");
        assert_eq!(http_date(whole), "Thu, 03 Dec 2026 06:46:32 GMT");
    }
}
