//! The INFO line sent on accept, built once per broker and completed per connection.

use std::net::SocketAddr;

use bytes::BytesMut;
use serde::Serialize;

use crate::Config;
use crate::proto::encode;

/// The server-wide INFO fields, in nats-server's order.
#[derive(Debug, Serialize)]
struct ServerInfo<'a> {
    server_id: &'a str,
    server_name: &'a str,
    version: &'a str,
    proto: u8,
    go: &'a str,
    host: &'a str,
    port: u16,
    headers: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_verify: bool,
    max_payload: usize,
}

/// Builds INFO lines: the fixed server part is serialized once, per-connection fields appended.
#[derive(Debug, Clone)]
pub(crate) struct InfoTemplate {
    /// `{"server_id":...,"max_payload":N` without the closing brace.
    prefix: String,
    /// The same for WebSocket connections (the WebSocket listener's host and port).
    websocket_prefix: Option<String>,
}

/// What changes INFO's per-connection tail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InfoFor<'a> {
    pub(crate) client_id: u64,
    pub(crate) client_ip: Option<SocketAddr>,
    /// The connection's nonce, when nkey users are configured.
    pub(crate) nonce: Option<&'a str>,
    /// For the INFO after the first PONG (`connect_info`): the account's name and whether it
    /// is the system account.
    pub(crate) account: Option<(&'a str, bool)>,
    pub(crate) lame_duck: bool,
    pub(crate) websocket: bool,
}

impl InfoTemplate {
    pub(crate) fn new(config: &Config, server_id: &str) -> Self {
        let prefix = Self::prefix(config, server_id, &config.host, config.port);
        let websocket_prefix = config
            .websocket
            .as_ref()
            .map(|(host, port)| Self::prefix(config, server_id, host, *port));
        Self {
            prefix,
            websocket_prefix,
        }
    }

    fn prefix(config: &Config, server_id: &str, host: &str, port: u16) -> String {
        let info = ServerInfo {
            server_id,
            server_name: if config.server_name.is_empty() {
                server_id
            } else {
                &config.server_name
            },
            version: &config.version,
            proto: 1,
            go: "rust",
            host,
            port,
            headers: config.headers,
            auth_required: config.auth_required(),
            tls_required: config.tls_required,
            tls_verify: config.tls_verify,
            max_payload: config.max_payload,
        };
        let mut prefix = serde_json::to_string(&info).expect("INFO serializes");
        prefix.pop(); // the closing brace; per-connection fields follow
        prefix
    }

    /// Appends `INFO {...} \r\n` for one connection.
    pub(crate) fn write(&self, out: &mut BytesMut, conn: InfoFor<'_>) {
        self.write_with_urls(out, conn, &[]);
    }

    /// Appends `INFO {...} \r\n` for one connection, announcing `connect_urls` if not empty
    /// (where nats-server puts them: after the client fields, before `ldm`).
    pub(crate) fn write_with_urls(
        &self,
        out: &mut BytesMut,
        conn: InfoFor<'_>,
        connect_urls: &[String],
    ) {
        use std::fmt::Write;
        let prefix = match &self.websocket_prefix {
            Some(ws) if conn.websocket => ws,
            _ => &self.prefix,
        };
        let mut json = String::with_capacity(prefix.len() + 96);
        json.push_str(prefix);
        let _ = write!(json, ",\"client_id\":{}", conn.client_id);
        if let Some(addr) = conn.client_ip {
            let _ = write!(json, ",\"client_ip\":\"{}\"", addr.ip());
        }
        if let Some(nonce) = conn.nonce {
            let _ = write!(json, ",\"nonce\":\"{nonce}\"");
        }
        if !connect_urls.is_empty() {
            json.push_str(",\"connect_urls\":");
            json.push_str(&serde_json::to_string(connect_urls).expect("strings serialize"));
        }
        if conn.lame_duck {
            json.push_str(",\"ldm\":true");
        }
        if let Some((account, system)) = conn.account {
            json.push_str(",\"connect_info\":true,\"remote_account\":");
            json.push_str(&serde_json::to_string(account).expect("strings serialize"));
            if system {
                json.push_str(",\"acc_is_sys\":true");
            }
        }
        json.push('}');
        encode::info(out, json.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_field_order_matches_nats_server() {
        let config = Config {
            host: "127.0.0.1".into(),
            port: 4222,
            ..Config::default()
        };
        let t = InfoTemplate::new(&config, "NABC");
        let mut out = BytesMut::new();
        let info = InfoFor {
            client_id: 5,
            client_ip: Some("127.0.0.1:5000".parse().unwrap()),
            nonce: None,
            account: None,
            lame_duck: false,
            websocket: false,
        };
        t.write(&mut out, info);
        let expected = format!(
            "INFO {{\"server_id\":\"NABC\",\"server_name\":\"NABC\",\"version\":\"{}\",\"proto\":1,\"go\":\"rust\",\"host\":\"127.0.0.1\",\"port\":4222,\"headers\":true,\"max_payload\":1048576,\"client_id\":5,\"client_ip\":\"127.0.0.1\"}} \r\n",
            crate::NATS_VERSION
        );
        assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
    }
}

#[cfg(test)]
mod websocket_tests {
    use super::*;

    #[test]
    fn websocket_connections_see_the_websocket_listener() {
        let config = Config {
            host: "0.0.0.0".into(),
            port: 4222,
            websocket: Some(("0.0.0.0".into(), 8080)),
            ..Config::default()
        };
        let t = InfoTemplate::new(&config, "NABC");
        let info = |websocket| {
            let mut out = BytesMut::new();
            t.write(
                &mut out,
                InfoFor {
                    client_id: 1,
                    client_ip: None,
                    nonce: None,
                    account: None,
                    lame_duck: false,
                    websocket,
                },
            );
            String::from_utf8(out.to_vec()).unwrap()
        };
        assert!(info(true).contains("\"host\":\"0.0.0.0\",\"port\":8080,"));
        assert!(info(false).contains("\"host\":\"0.0.0.0\",\"port\":4222,"));
    }
}
