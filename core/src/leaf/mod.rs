//! Leaf node links: how this broker joins a NATS deployment as a leaf (nats-server's
//! leafnode protocol), as configuration ([`LeafRemote`], [`LeafUrl`]) and wire format
//! ([`parser`]). The link itself is a connection kind of the broker (see `broker/leaf.rs`):
//! the host only dials when told ([`Output::DialLeaf`](crate::Output::DialLeaf)) and hands
//! the connected stream back ([`Broker::leaf_connected`](crate::Broker::leaf_connected)).

pub mod parser;

use std::fmt;

/// One `leafnodes { remotes [ ... ] }` entry: a hub this broker dials and keeps dialing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeafRemote {
    /// The hub's URLs, tried in turn.
    pub urls: Vec<LeafUrl>,
    /// Subjects not imported from the hub: its messages on them are dropped and local
    /// interest in them is not announced (nats-server's `deny_imports`).
    pub deny_imports: Vec<String>,
    /// Subjects not exported to the hub: local messages on them are not forwarded and the
    /// hub's interest in them is ignored (nats-server's `deny_exports`).
    pub deny_exports: Vec<String>,
    /// The local account the link binds to (`account`); empty is the global account.
    pub account: String,
    /// A user JWT and its seed (a creds file, `credentials`): the link answers the hub's
    /// nonce with them, as a client with a creds file does.
    pub credentials: Option<LeafCredentials>,
    /// TLS towards the hub (`tls {}`, or a `tls://` URL): the host's business.
    pub tls: Option<LeafTls>,
}

/// The contents of a creds file: the user JWT and the user's nkey seed.
#[derive(Clone, PartialEq, Eq)]
pub struct LeafCredentials {
    /// The user JWT.
    pub jwt: String,
    /// The user's nkey seed (`SU...`); never printed.
    pub seed: String,
}

impl std::fmt::Debug for LeafCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafCredentials")
            .field("jwt", &self.jwt)
            .field("seed", &"[REDACTED]")
            .finish()
    }
}

impl LeafCredentials {
    /// Reads a creds file's text: the first `-----BEGIN ... JWT-----` block and the first
    /// `-----BEGIN ... SEED-----` block, as nsc writes them.
    pub fn parse(text: &str) -> Result<Self, String> {
        let block = |kind: &str| {
            let mut lines = text.lines().map(str::trim);
            lines
                .by_ref()
                .find(|l| l.starts_with("-----BEGIN") && l.ends_with(&format!("{kind}-----")))?;
            lines.find(|l| !l.is_empty()).map(str::to_owned)
        };
        let jwt = block("JWT").ok_or("no user JWT in the credentials")?;
        let seed = block("SEED").ok_or("no nkey seed in the credentials")?;
        if !seed.starts_with("SU") {
            return Err("the credentials' seed is not a user seed".to_owned());
        }
        Ok(Self { jwt, seed })
    }
}

/// TLS settings of a leaf remote (paths, read by the host).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeafTls {
    /// Certificates of the authorities the hub's certificate must chain to; `None` uses
    /// the system's.
    pub ca_file: Option<String>,
    /// A client certificate for the hub (with `key_file`).
    pub cert_file: Option<String>,
    /// The client certificate's key.
    pub key_file: Option<String>,
}

/// A hub URL: `nats-leaf://[user[:password]@]host[:port]` (also `nats://`, `tls://`,
/// `ws://`, `wss://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafUrl {
    /// The scheme, lower case.
    pub scheme: String,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    /// The port (7422 unless given; 80/443 for ws/wss).
    pub port: u16,
    /// The path, for WebSocket URLs (empty otherwise).
    pub path: String,
    /// The user (or the token, when no password follows).
    pub user: Option<String>,
    /// The password.
    pub password: Option<String>,
}

/// The leafnode port nats-server listens on by default.
pub const DEFAULT_LEAF_PORT: u16 = 7422;

impl LeafUrl {
    /// Parses a remote URL as nats-server reads `url`/`urls` in a remote.
    ///
    /// # Errors
    /// An unknown scheme, an empty host or a bad port.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("nats-leaf".to_owned(), text),
        };
        let default_port = match scheme.as_str() {
            "nats-leaf" | "nats" | "tls" => DEFAULT_LEAF_PORT,
            "ws" => 80,
            "wss" => 443,
            other => {
                return Err(format!(
                    "unsupported leafnode URL scheme {other:?} in {text:?}"
                ));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)), Some(percent_decode(pass))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
            let (host, tail) = rest
                .split_once(']')
                .ok_or_else(|| format!("bad host in leafnode URL {text:?}"))?;
            (host.to_owned(), tail.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("missing host in leafnode URL {text:?}"));
        }
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| format!("bad port {p:?} in leafnode URL {text:?}"))?,
            None => default_port,
        };
        Ok(Self {
            scheme,
            host,
            port,
            path: path.to_owned(),
            user,
            password,
        })
    }

    /// Whether the link runs over WebSocket (`ws://`, `wss://`).
    pub fn is_websocket(&self) -> bool {
        matches!(self.scheme.as_str(), "ws" | "wss")
    }

    /// `host:port` to dial (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Without the credentials: safe to log.
impl fmt::Display for LeafUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority(), self.path)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_as_nats_server_reads_them() {
        let u = LeafUrl::parse("nats-leaf://alice:s%40cret@hub.example.com:7422").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port),
            ("nats-leaf", "hub.example.com", 7422)
        );
        assert_eq!(
            (u.user.as_deref(), u.password.as_deref()),
            (Some("alice"), Some("s@cret"))
        );
        assert_eq!(u.to_string(), "nats-leaf://hub.example.com:7422");
        let t = LeafUrl::parse("nats://tok@127.0.0.1").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.password, t.port),
            (Some("tok"), None, 7422)
        );
        let w = LeafUrl::parse("ws://[::1]:8080/leafnode").unwrap();
        assert!(w.is_websocket());
        assert_eq!(
            (w.authority(), w.path.as_str()),
            ("[::1]:8080".to_owned(), "/leafnode")
        );
        assert_eq!(LeafUrl::parse("wss://hub").unwrap().port, 443);
        assert_eq!(LeafUrl::parse("localhost:1234").unwrap().port, 1234);
        assert!(LeafUrl::parse("http://x").is_err());
        assert!(LeafUrl::parse("nats://:7422").is_err());
        assert!(LeafUrl::parse("nats://h:port").is_err());
    }
}

#[cfg(test)]
mod credential_tests {
    use super::*;

    #[test]
    fn creds_files_give_their_jwt_and_seed_and_never_print_the_seed() {
        let text = "-----BEGIN NATS USER JWT-----\neyJ0.eyJ1.sig\n------END NATS USER JWT------\n\n\
                    ************************* IMPORTANT *************************\n\n\
                    -----BEGIN USER NKEY SEED-----\nSUAXYZ\n------END USER NKEY SEED------\n";
        let creds = LeafCredentials::parse(text).unwrap();
        assert_eq!(
            (creds.jwt.as_str(), creds.seed.as_str()),
            ("eyJ0.eyJ1.sig", "SUAXYZ")
        );
        assert!(!format!("{creds:?}").contains("SUAXYZ"));
        assert!(LeafCredentials::parse("nothing here").is_err());
        let not_a_user = text.replace("SUAXYZ", "SAAXYZ");
        assert!(LeafCredentials::parse(&not_a_user).is_err());
    }
}
