//! nats-server versions and the `>=2.12` / `<2.12` conditions scenarios put on them.

use std::fmt;
use std::str::FromStr;

/// A `major.minor.patch` version (a missing part counts as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl FromStr for Version {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("bad version {text:?}");
        let trimmed = text.trim().trim_start_matches('v');
        let core = trimmed.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.').map(|p| p.parse::<u32>().map_err(|_| bad()));
        let major = parts.next().ok_or_else(bad)??;
        let minor = parts.next().transpose()?.unwrap_or(0);
        let patch = parts.next().transpose()?.unwrap_or(0);
        Ok(Self(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A condition on a version: `>=2.12` or `<2.12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionReq {
    /// At least this version.
    AtLeast(Version),
    /// Older than this version.
    Below(Version),
}

impl VersionReq {
    /// Whether `version` satisfies the condition.
    pub fn matches(self, version: Version) -> bool {
        match self {
            Self::AtLeast(v) => version >= v,
            Self::Below(v) => version < v,
        }
    }
}

impl FromStr for VersionReq {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(v) = text.strip_prefix(">=") {
            Ok(Self::AtLeast(v.parse()?))
        } else if let Some(v) = text.strip_prefix('<') {
            Ok(Self::Below(v.parse()?))
        } else {
            Err(format!(
                "bad version condition {text:?} (use >=2.12 or <2.12)"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let v: Version = "v2.9.10".parse().unwrap();
        assert_eq!(v, Version(2, 9, 10));
        assert_eq!("2.15.0-dev".parse::<Version>().unwrap(), Version(2, 15, 0));
        let req: VersionReq = ">=2.12".parse().unwrap();
        assert!(!req.matches(v));
        assert!(req.matches(Version(2, 15, 1)));
        assert!("<2.12".parse::<VersionReq>().unwrap().matches(v));
        assert!("=2".parse::<VersionReq>().is_err());
    }
}
