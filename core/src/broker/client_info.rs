//! An `INFO` sent by a client: checked as nats-server checks it, then ignored.

use super::gojson::{self, Field, GoType};

/// nats-server's `SubjectPermission`.
const SUBJECT_PERMISSION: &[Field] = &[
    Field::new("allow", GoType::Strings),
    Field::new("deny", GoType::Strings),
];

/// The fields of nats-server's `Info` struct, with their Go types.
const INFO_FIELDS: &[Field] = &[
    Field::new("server_id", GoType::String),
    Field::new("server_name", GoType::String),
    Field::new("version", GoType::String),
    Field::new("proto", GoType::INT),
    Field::new("git_commit", GoType::String),
    Field::new("go", GoType::String),
    Field::new("host", GoType::String),
    Field::new("port", GoType::INT),
    Field::new("headers", GoType::Bool),
    Field::new("auth_required", GoType::Bool),
    Field::new("tls_required", GoType::Bool),
    Field::new("tls_verify", GoType::Bool),
    Field::new("tls_available", GoType::Bool),
    Field::new("max_payload", GoType::INT32),
    Field::new("jetstream", GoType::Bool),
    Field::new("ip", GoType::String),
    Field::new("client_id", GoType::UINT64),
    Field::new("client_ip", GoType::String),
    Field::new("nonce", GoType::String),
    Field::new("cluster", GoType::String),
    Field::new("cluster_dynamic", GoType::Bool),
    Field::new("domain", GoType::String),
    Field::new("connect_urls", GoType::Strings),
    Field::new("ws_connect_urls", GoType::Strings),
    Field::new("ldm", GoType::Bool),
    Field::new("compression", GoType::String),
    Field::new("connect_info", GoType::Bool),
    Field::new("remote_account", GoType::String),
    Field::new("acc_is_sys", GoType::Bool),
    Field::new("api_lvl", GoType::INT),
    Field::new("import", GoType::Struct(SUBJECT_PERMISSION)),
    Field::new("export", GoType::Struct(SUBJECT_PERMISSION)),
    Field::new("lnoc", GoType::Bool),
    Field::new("lnocu", GoType::Bool),
    Field::new("info_on_connect", GoType::Bool),
    Field::new("route_pool_size", GoType::INT),
    Field::new("route_pool_idx", GoType::INT),
    Field::new("route_account", GoType::String),
    Field::new("route_acc_add_reqid", GoType::String),
    Field::new("gossip_mode", GoType::BYTE),
    Field::new("gateway", GoType::String),
    Field::new("gateway_urls", GoType::Strings),
    Field::new("gateway_url", GoType::String),
    Field::new("gateway_cmd", GoType::BYTE),
    Field::new("gateway_cmd_payload", GoType::Bytes),
    Field::new("gateway_nrp", GoType::Bool),
    Field::new("gateway_iom", GoType::Bool),
    Field::new("leafnode_urls", GoType::Strings),
    Field::new("xkey", GoType::String),
];

/// Checks a client-sent INFO's JSON as nats-server does (it closes the connection when the
/// JSON does not decode into its `Info` struct, and otherwise ignores it).
///
/// # Errors
///
/// Why nats-server would refuse it.
pub(crate) fn check(json: &[u8]) -> Result<(), gojson::Error> {
    gojson::decode(json, INFO_FIELDS, &mut |_, _| {})
}

/// Whether [`check`] accepts `json`.
#[cfg(test)]
fn is_acceptable(json: &[u8]) -> bool {
    check(json).is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_acceptable;

    #[test]
    fn client_info_is_checked_like_nats_server() {
        for ok in [
            "{}",
            "null",
            r#"{"port":1,"zz":[{}]}"#,
            r#"{"Port":1,"connect_urls":["a"],"import":{"allow":["x"]}}"#,
        ] {
            assert!(is_acceptable(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "{bad",
            "",
            r#"{"port":"x"}"#,
            r#"{"max_payload":4294967296}"#,
            r#"{"client_id":-1}"#,
            r#"{"gossip_mode":256}"#,
            "[]",
        ] {
            assert!(!is_acceptable(bad.as_bytes()), "{bad}");
        }
    }
}
