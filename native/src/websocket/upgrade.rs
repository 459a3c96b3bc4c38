//! The WebSocket upgrade: nats-server's checks (RFC 6455 §4.2.1), its origin policy, and its
//! answers to a bad request.

use crate::http::{Request, Response};

/// The origin policy of the `websocket {}` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OriginPolicy {
    /// `same_origin`: the `Origin` must name the host the request was sent to.
    pub(crate) same_origin: bool,
    /// `allowed_origins`: (scheme, host, port) triples; empty = any.
    pub(crate) allowed: Vec<(String, String, u16)>,
}

impl OriginPolicy {
    /// A policy from the configured values.
    ///
    /// # Errors
    /// An allowed origin that is not an absolute http/https URL (nats-server refuses it too).
    pub(crate) fn new(same_origin: bool, allowed_origins: &[String]) -> Result<Self, String> {
        let allowed = allowed_origins
            .iter()
            .map(|o| {
                parse_origin(o).ok_or_else(|| {
                    format!("unable to parse allowed origin \"{o}\": must be an absolute http or https URL")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            same_origin,
            allowed,
        })
    }

    /// Whether a request with this `Origin` (if any) and `Host` may upgrade. A request without
    /// an origin (not a browser) always may, as in nats-server.
    pub(crate) fn allows(&self, origin: Option<&str>, host: &str) -> bool {
        let Some(origin) = origin else { return true };
        if !self.same_origin && self.allowed.is_empty() {
            return true;
        }
        let Some((scheme, o_host, o_port)) = parse_origin(origin) else {
            return false;
        };
        if self.same_origin {
            let (r_host, r_port) = split_host_port(host, 80);
            if !o_host.eq_ignore_ascii_case(&r_host) || o_port != r_port {
                return false;
            }
        }
        self.allowed.is_empty()
            || self
                .allowed
                .iter()
                .any(|(s, h, p)| *s == scheme && h.eq_ignore_ascii_case(&o_host) && *p == o_port)
    }
}

/// `scheme://host[:port][/...]` → (scheme, host, port with the scheme's default).
fn parse_origin(origin: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split('/').next()?;
    if authority.is_empty() {
        return None;
    }
    let (host, port) = split_host_port(authority, default);
    Some((scheme, host, port))
}

/// `host[:port]` (IPv6 in brackets) with `default` when no port is given.
fn split_host_port(s: &str, default: u16) -> (String, u16) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host.to_owned(), port.unwrap_or(default));
        }
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            (host.to_owned(), port.parse().unwrap_or(default))
        }
        _ => (s.to_owned(), default),
    }
}

/// A refused upgrade: nats-server's answer and the reason it logs.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The HTTP answer (405, 400 or 403, with `Sec-Websocket-Version: 13`).
    pub(crate) response: Response,
    /// nats-server's log text (`websocket handshake error: <reason>`).
    pub(crate) reason: &'static str,
}

/// An accepted upgrade: what the answer says and how frames are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The `Sec-WebSocket-Accept` value.
    pub(crate) accept: String,
    /// permessage-deflate is on (configured and offered by the client).
    pub(crate) compress: bool,
    /// The client looks like a browser (`User-Agent: Mozilla/...`): frames are kept small.
    pub(crate) browser: bool,
    /// A compressed message is never fragmented (Safari cannot take it).
    pub(crate) no_compressed_fragments: bool,
}

/// Checks an upgrade request; `compression` is the `websocket { compression }` setting.
pub(crate) fn check(
    request: &Request,
    origins: &OriginPolicy,
    compression: bool,
) -> Result<Accepted, Refusal> {
    let error = |status: u16, reason: &'static str| {
        let text = match status {
            405 => "Method Not Allowed",
            403 => "Forbidden",
            _ => "Bad Request",
        };
        let mut response = Response::error(status, text);
        response.extra_headers = "Sec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\n";
        response.cors = false;
        Refusal { response, reason }
    };
    if request.method != "GET" {
        return Err(error(405, "request method must be GET"));
    }
    let Some(host) = request.header("host").filter(|h| !h.is_empty()) else {
        return Err(error(400, "'Host' missing in request"));
    };
    let has_token = |name: &str, token: &str| {
        request
            .header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") {
        return Err(error(400, "invalid value for header 'Upgrade'"));
    }
    if !has_token("connection", "upgrade") {
        return Err(error(400, "invalid value for header 'Connection'"));
    }
    let Some(key) = request
        .header("sec-websocket-key")
        .filter(|k| !k.is_empty())
    else {
        return Err(error(400, "key missing"));
    };
    if request.header("sec-websocket-version") != Some("13") {
        return Err(error(400, "invalid version"));
    }
    let origin = request
        .header("origin")
        .or_else(|| request.header("sec-websocket-origin"));
    if !origins.allows(origin, host) {
        return Err(error(403, "origin not allowed"));
    }
    let compress = compression && offers_deflate(request);
    let user_agent = request.header("user-agent").unwrap_or_default();
    let browser = user_agent.starts_with("Mozilla/");
    Ok(Accepted {
        accept: async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()),
        compress,
        browser,
        no_compressed_fragments: browser
            && compress
            && user_agent.contains("Version/")
            && user_agent.contains("Safari/"),
    })
}

/// Whether any `Sec-WebSocket-Extensions` header offers permessage-deflate.
fn offers_deflate(request: &Request) -> bool {
    request
        .headers
        .iter()
        .filter(|(name, _)| name == "sec-websocket-extensions")
        .flat_map(|(_, value)| value.split(','))
        .any(|extension| {
            extension
                .split(';')
                .any(|param| param.trim().eq_ignore_ascii_case("permessage-deflate"))
        })
}

/// The `101 Switching Protocols` answer.
pub(crate) fn switching_protocols(accepted: &Accepted) -> String {
    let extensions = if accepted.compress {
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extensions}\r\n",
        accepted.accept
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_query;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            path: "/any/path".into(),
            query: parse_query(""),
            keep_alive: true,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    const GOOD: &[(&str, &str)] = &[
        ("Host", "127.0.0.1:8080"),
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];

    #[test]
    fn a_good_upgrade_gets_rfc_6455s_accept_key() {
        let accepted = check(&request("GET", GOOD), &OriginPolicy::default(), true).unwrap();
        assert_eq!(accepted.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(!accepted.compress && !accepted.browser);
        let answer = switching_protocols(&accepted);
        assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(!answer.contains("Extensions"));
    }

    #[test]
    fn deflate_is_on_when_configured_and_offered() {
        let mut offer = GOOD.to_vec();
        offer.push((
            "Sec-WebSocket-Extensions",
            "x-other, permessage-deflate; client_max_window_bits",
        ));
        offer.push((
            "User-Agent",
            "Mozilla/5.0 (Macintosh) Version/17.0 Safari/605.1.15",
        ));
        let policy = OriginPolicy::default();
        let accepted = check(&request("GET", &offer), &policy, true).unwrap();
        assert!(accepted.compress && accepted.browser && accepted.no_compressed_fragments);
        assert!(switching_protocols(&accepted).ends_with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
        ));
        let off = check(&request("GET", &offer), &policy, false).unwrap();
        assert!(!off.compress && !off.no_compressed_fragments);
        assert!(
            !check(&request("GET", GOOD), &policy, true)
                .unwrap()
                .compress
        );
    }

    #[test]
    fn bad_upgrades_get_nats_servers_statuses() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            GOOD.iter().copied().filter(|(k, _)| *k != name).collect()
        };
        let status = |r: Request| {
            check(&r, &OriginPolicy::default(), false)
                .unwrap_err()
                .response
                .status
        };
        assert_eq!(status(request("POST", GOOD)), 405);
        for name in [
            "Host",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
        ] {
            assert_eq!(status(request("GET", &without(name))), 400, "{name}");
        }
        let mut v12 = without("Sec-WebSocket-Version");
        v12.push(("Sec-WebSocket-Version", "12"));
        assert_eq!(status(request("GET", &v12)), 400);
    }

    #[test]
    fn origins_are_checked_as_configured() {
        let same = OriginPolicy::new(true, &[]).unwrap();
        assert!(same.allows(None, "example.com:8080"));
        assert!(same.allows(Some("http://example.com:8080"), "example.com:8080"));
        assert!(!same.allows(Some("http://other.com:8080"), "example.com:8080"));
        assert!(!same.allows(Some("http://example.com"), "example.com:8080"));
        assert!(same.allows(Some("http://example.com"), "example.com"));

        let list = OriginPolicy::new(false, &["https://app.example.com".into()]).unwrap();
        assert!(list.allows(Some("https://app.example.com"), "x"));
        assert!(list.allows(Some("https://app.example.com:443"), "x"));
        assert!(!list.allows(Some("http://app.example.com"), "x"));
        assert!(!list.allows(Some("https://evil.com"), "x"));
        assert!(OriginPolicy::new(false, &["app.example.com".into()]).is_err());

        let mut r = request("GET", GOOD);
        r.headers.push(("origin".into(), "https://evil.com".into()));
        let refusal = check(&r, &list, false).unwrap_err();
        assert_eq!(
            (refusal.response.status, refusal.reason),
            (403, "origin not allowed")
        );
    }
}
