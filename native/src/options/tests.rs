//! Tests for mapping configuration maps onto [`Options`].

use std::path::Path;

use super::*;

fn apply(text: &str) -> Result<(Options, Vec<Warning>), ConfError> {
    let map = conf::parse_str(text, Path::new("t.conf"), Path::new("."), &|_| None)?;
    let mut o = Options::default();
    let w = o.apply_conf(&map)?;
    Ok((o, w))
}

fn ok(text: &str) -> Options {
    let (o, w) = apply(text).unwrap();
    assert!(w.is_empty(), "unexpected warnings: {w:?}");
    o
}

fn err(text: &str) -> String {
    apply(text).unwrap_err().to_string()
}

#[test]
fn defaults() {
    let o = Options::default();
    assert_eq!(o.config, Config::default());
    assert!(o.logtime);
    assert!(!o.debug && !o.trace);
    assert!(o.validate().is_ok());
}

#[test]
fn listen_forms() {
    let o = ok("listen: \"127.0.0.1:4333\"");
    assert_eq!((o.config.host.as_str(), o.config.port), ("127.0.0.1", 4333));
    let o = ok("listen: 4334");
    assert_eq!((o.config.host.as_str(), o.config.port), ("0.0.0.0", 4334));
    let o = ok("listen: \":4335\"");
    assert_eq!(o.config.port, 4335);
    let o = ok("listen: 127.0.0.1:4336");
    assert_eq!((o.config.host.as_str(), o.config.port), ("127.0.0.1", 4336));
    let o = ok("host: ::1\nport: -1");
    assert_eq!((o.config.host.as_str(), o.config.port), ("::1", 0));
    assert_eq!(ok("net: 10.0.0.1").config.host, "10.0.0.1");
    assert_eq!(ok("port: 0").config.port, DEFAULT_PORT);
    assert_eq!(
        err("listen: \"abc\""),
        "t.conf:1:1: could not parse address string \"abc\""
    );
    assert!(err("port: 70000").contains("invalid port 70000"));
}

#[test]
fn no_fast_producer_stall() {
    assert!(!ok("").config.no_fast_producer_stall);
    assert!(
        ok("no_fast_producer_stall: true")
            .config
            .no_fast_producer_stall
    );
}

#[test]
fn limits() {
    let o = ok(concat!(
        "max_payload: 2MB\nmax_control_line: 8kb\nmax_pending: 100MB\n",
        "max_connections: 10\nmax_subscriptions: 5\nping_max: 3\n",
        "ping_interval: \"30s\"\nwrite_deadline: \"1h30m\"\n",
        "lame_duck_duration: \"1m\"\nlame_duck_grace_period: \"5s\"\nno_header_support: true\n",
        "server_name: my-server\n",
    ));
    let c = &o.config;
    assert_eq!(c.max_payload, 2 << 20);
    assert_eq!(c.max_control_line, 8192);
    assert_eq!(c.max_pending, 100 << 20);
    assert_eq!(
        (c.max_connections, c.max_subscriptions, c.ping_max),
        (10, 5, 3)
    );
    assert_eq!(c.ping_interval, Duration::from_secs(30));
    assert_eq!(c.write_deadline, Duration::from_secs(5400));
    assert_eq!(c.lame_duck_duration, Duration::from_secs(60));
    assert_eq!(c.lame_duck_grace_period, Duration::from_secs(5));
    assert!(!c.headers);
    assert_eq!(c.server_name, "my-server");
}

#[test]
fn max_connections_zero_rejects_all() {
    assert_eq!(ok("max_connections: 0").config.max_connections, 0);
    assert_eq!(ok("max_connections: -1").config.max_connections, 0);
    assert_eq!(ok("max_subscriptions: -1").config.max_subscriptions, 0);
}

#[test]
fn durations() {
    // A bare integer is seconds, with a warning; unquoted 2m is 2,000,000 seconds.
    let (o, w) = apply("ping_interval: 2m").unwrap();
    assert_eq!(o.config.ping_interval, Duration::from_secs(2_000_000));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].to_string()
            .starts_with("t.conf:1:1: ping_interval should be converted to a duration")
    );
    assert_eq!(
        ok("ping_interval: 5s").config.ping_interval,
        Duration::from_secs(5)
    );
    assert_eq!(
        ok("ping_interval: \"500ms\"").config.ping_interval,
        Duration::from_millis(500)
    );
    assert_eq!(
        err("ping_interval: \"bogus\""),
        "t.conf:1:1: error parsing ping_interval: time: invalid duration \"bogus\""
    );
    assert!(err("lame_duck_duration: 10").contains("expected a duration string"));
    assert_eq!(
        err("lame_duck_duration: \"10s\""),
        "t.conf:1:1: invalid lame_duck_duration of 10s, minimum is 30 seconds"
    );
}

#[test]
fn logging_and_files() {
    let o = ok(concat!(
        "debug: true\ntrace: yes\nlogtime: false\nlogfile: /tmp/x.log\n",
        "pid_file: \"/tmp/x.pid\"\nports_file_dir: /tmp\nlogtime_utc: on\n",
    ));
    assert!(o.debug && o.trace && !o.logtime && o.logtime_utc);
    assert_eq!(o.log_file.as_deref(), Some(Path::new("/tmp/x.log")));
    assert_eq!(o.pid_file.as_deref(), Some(Path::new("/tmp/x.pid")));
    assert_eq!(o.ports_file_dir.as_deref(), Some(Path::new("/tmp")));
    assert_eq!(
        ok("log_file: a.log").log_file.as_deref(),
        Some(Path::new("a.log"))
    );
    assert!(ok("trace_verbose: true").trace);
}

#[test]
fn monitoring() {
    assert_eq!(
        ok("http: 8222").http,
        Some(Listen {
            host: None,
            port: 8222
        })
    );
    assert_eq!(
        ok("http: \"127.0.0.1:8223\"").http,
        Some(Listen {
            host: Some("127.0.0.1".into()),
            port: 8223
        })
    );
    assert_eq!(
        ok("http_port: 8224").http,
        Some(Listen {
            host: None,
            port: 8224
        })
    );
    assert_eq!(
        ok("monitor_port: -1").http,
        Some(Listen {
            host: None,
            port: 0
        })
    );
}

#[test]
fn authorization_forms() {
    let o = ok("authorization { token: s3cr3t, timeout: 5 }");
    assert_eq!(o.config.auth, Auth::Token("s3cr3t".into()));
    assert_eq!(o.config.auth_timeout, Duration::from_secs(5));
    let o = ok("authorization { user: a, password: b, timeout: 0.5 }");
    assert_eq!(
        o.config.auth,
        Auth::Users(vec![User {
            name: "a".into(),
            password: "b".into(),
            ..Default::default()
        }])
    );
    assert_eq!(o.config.auth_timeout, Duration::from_millis(500));
    let o = ok(
        "authorization {\n users = [\n {user: a, password: b}\n {user: c, pass: d}\n ]\n timeout: \"3s\"\n}",
    );
    assert_eq!(
        o.config.auth,
        Auth::Users(vec![
            User {
                name: "a".into(),
                password: "b".into(),
                ..Default::default()
            },
            User {
                name: "c".into(),
                password: "d".into(),
                ..Default::default()
            },
        ])
    );
    assert_eq!(o.config.auth_timeout, Duration::from_secs(3));
    let o = ok("PASS = hunter2\nauthorization { user: a, password: $PASS }");
    assert_eq!(
        o.config.auth,
        Auth::Users(vec![User {
            name: "a".into(),
            password: "hunter2".into(),
            ..Default::default()
        }])
    );
    let o = ok("authorization { user: a, password: $2a$11$xyz }");
    assert_eq!(
        o.config.auth,
        Auth::Users(vec![User {
            name: "a".into(),
            password: "$2a$11$xyz".into(),
            ..Default::default()
        }])
    );
}

#[test]
fn authorization_errors() {
    assert_eq!(
        err("authorization { user: a, password: b, token: c }"),
        "t.conf:1:1: Cannot have a user/pass and token"
    );
    assert_eq!(
        err("authorization { users: [ {user: a, password: b} ], token: c }"),
        "t.conf:1:1: Can not have a token and a users array"
    );
    assert!(
        err("authorization { user: x, users: [ {user: a, password: b} ] }")
            .contains("single user/pass")
    );
    assert_eq!(
        err("authorization {\n   bogus: 1 }"),
        "t.conf:2:4: unknown field \"bogus\""
    );
    assert!(
        err("authorization { users: [ {user: a, password: b, bogus: 1} ] }")
            .contains("1:49: unknown field \"bogus\"")
    );
    assert!(err("authorization { users: [ {nkey: x} ] }").contains("Not a valid public nkey"));
    assert!(err("authorization { users: [ 1 ] }").contains("expected a {user, password} map"));
    assert!(err("authorization: 1").contains("expected a map"));
}

#[test]
fn users_list_empty_is_a_validation_error() {
    let (o, _) = apply("authorization { users: [] }").unwrap();
    assert!(matches!(
        o.validate(),
        Err(OptionsError::Invalid(ConfigError::NoUsers))
    ));
}

#[test]
fn no_auth_user_must_name_a_configured_user() {
    let o = ok("no_auth_user: guest\nauthorization { users: [ {user: guest, password: x} ] }");
    assert_eq!(o.config.no_auth_user.as_deref(), Some("guest"));
    assert!(o.validate().is_ok());
    let (o, _) =
        apply("no_auth_user: nobody\nauthorization { users: [ {user: a, password: b} ] }").unwrap();
    assert_eq!(
        o.validate().unwrap_err().to_string(),
        "no_auth_user: \"nobody\" not present as user or nkey in authorization block or account configuration"
    );
    let (o, _) = apply("no_auth_user: nobody\nauthorization { token: x }").unwrap();
    assert_eq!(
        o.validate().unwrap_err().to_string(),
        "no_auth_user: \"nobody\" present, but users/nkeys are not defined"
    );
}

#[test]
fn unknown_and_unsupported_keys() {
    assert_eq!(err("foo: 1"), "t.conf:1:1: unknown field \"foo\"");
    assert_eq!(
        err("port: 1\n  foo: 1"),
        "t.conf:2:3: unknown field \"foo\""
    );
    assert_eq!(err("a = 1"), "t.conf:1:1: unknown field \"a\"");
    ok("a = 4333\nport: $a");
    assert_eq!(
        err("tls { cert_file: x }"),
        "t.conf:1:1: missing 'key_file' in TLS configuration"
    );
    assert!(err("mappings { a: b }").contains("is not supported by skiff"));
    assert!(err("operator: x").contains("error parsing operator JWT: open x"));
    assert_eq!(
        err("operator: a.b.c"),
        "t.conf:1:1: operators require an account resolver to be configured"
    );
    assert!(err("resolver: URL(http://x)").contains("only MEMORY"));
    ok("syslog: false");
    assert!(err("jetstream: enabled").contains("\"jetstream\" is not supported"));
    assert!(err("jetstream { store_dir: /tmp }").contains("not supported"));
    ok("jetstream: false");
    ok("jetstream: disabled");
    ok("jetstream { enabled: false }");
    // Keys are matched case-insensitively, as nats-server does.
    assert_eq!(ok("PORT: 4999").config.port, 4999);
}

#[test]
fn blocks_for_absent_features_warn_by_name() {
    for key in [
        "cluster { port: 4248 }",
        "gateway { name: x }",
        "mqtt { port: 1883 }",
        "syslog: true",
        "remote_syslog: \"udp://localhost:514\"",
    ] {
        let (_, w) = apply(key).unwrap();
        let name = key.split([' ', ':']).next().unwrap();
        assert_eq!(
            w[0].to_string(),
            format!("t.conf:1:1: \"{name}\" is not supported by skiff; ignored"),
        );
    }
}

#[test]
fn ignored_blocks_warn() {
    let (_, w) = apply("cluster { name: c }\nserver_tags: [a, b]\nstore_dir: /tmp/js\n").unwrap();
    assert_eq!(w.len(), 3);
    assert_eq!(
        w[0].to_string(),
        "t.conf:1:1: \"cluster\" is not supported by skiff; ignored"
    );
    assert_eq!(w[1].pos.as_ref().unwrap().line, 2);
}

#[test]
fn type_errors() {
    assert_eq!(
        err("max_payload: \"x\""),
        "t.conf:1:1: invalid value for \"max_payload\": expected an integer, got string \"x\""
    );
    assert!(err("port: 1.5").contains("expected an integer, got float 1.5"));
    assert!(err("debug: 1").contains("expected a boolean, got integer 1"));
    assert!(err("max_payload: 5s").contains("got string \"5s\""));
    assert_eq!(
        err("max_payload: 2tb"),
        "t.conf:1:1: max_payload value is too big"
    );
    assert!(err("max_pending: -5").contains("negative"));
    assert!(err("server_name: \"a b\"").contains("spaces"));
}

#[test]
fn websocket_block() {
    let (o, w) = apply(
        "websocket {\n port: -1\n no_tls: true\n compression: true\n allowed_origins: [\"http://a\"]\n handshake_timeout: \"2s\"\n}",
    )
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    let ws = o.websocket.as_ref().unwrap();
    assert_eq!(
        ws.listen,
        Listen {
            host: None,
            port: 0
        }
    );
    assert!(ws.no_tls && ws.compression);
    assert_eq!(ws.allowed_origins, ["http://a"]);
    assert_eq!(ws.handshake_timeout, Some(Duration::from_secs(2)));
    assert!(o.validate().is_ok());
    let o = ok("ws { listen: \"127.0.0.1:8080\", no_tls: true }");
    let ws = o.websocket.as_ref().unwrap();
    assert_eq!(
        ws.listen,
        Listen {
            host: Some("127.0.0.1".into()),
            port: 8080
        }
    );
    assert!(o.validate().is_ok());
    assert!(
        err("ws { listen: \"127.0.0.1:8080\" }").contains("websocket requires TLS configuration")
    );
    assert!(
        err("websocket { port: 1, tls { cert_file: x } }")
            .contains("missing 'key_file' in TLS configuration")
    );
    assert!(err("websocket { port: 1, bogus: 1 }").contains("unknown field \"bogus\""));
    // nats-server starts without a websocket listener when the block has no port.
    let (o, w) = apply("websocket { no_tls: true }").unwrap();
    assert!(o.websocket.is_none());
    assert!(w[0].message.contains("no websocket listener"), "{}", w[0]);
}

#[test]
fn validation() {
    let (o, _) = apply("max_payload: 2MB\nmax_pending: 1MB").unwrap();
    assert_eq!(
        o.validate().unwrap_err().to_string(),
        "max_payload (2097152) cannot be higher than max_pending (1048576)"
    );
    let (o, _) = apply("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"30s\"").unwrap();
    assert!(o.validate().is_err());
}

#[test]
fn from_conf_file_reads_and_validates() {
    let dir = std::env::temp_dir().join(format!("skiff-opts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.conf");
    std::fs::write(&good, "port: 4555\ncluster {}\n").unwrap();
    let (o, w) = Options::from_conf_file(&good).unwrap();
    assert_eq!(o.config.port, 4555);
    assert_eq!(o.config_file.as_deref(), Some(good.as_path()));
    assert_eq!(w.len(), 1);
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "port: 1\nnope: 2\n").unwrap();
    let e = Options::from_conf_file(&bad).unwrap_err().to_string();
    assert_eq!(e, format!("{}:2:1: unknown field \"nope\"", bad.display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_permissions() {
    let o = ok(
        "authorization { users: [ { user: a, password: p, permissions: { publish: \"ok.>\", \
         subscribe: { allow: [\">\"], deny: \"secret.>\" } } } ] }",
    );
    let Auth::Users(users) = &o.config.auth else {
        panic!("users expected")
    };
    let perms = users[0].permissions.as_ref().unwrap();
    assert_eq!(perms.publish.allow, Some(vec!["ok.>".to_string()]));
    assert_eq!(perms.subscribe.allow, Some(vec![">".to_string()]));
    assert_eq!(perms.subscribe.deny, vec!["secret.>".to_string()]);
    assert!(
        err("authorization { users: [ {user: a, permissions: { publish: \"a..b\" }} ] }")
            .contains("invalid subject")
    );
    let o = ok(
        "authorization { users: [ {user: a, password: p, permissions: { allow_responses: true }}, {user: b, password: p, permissions: { allow_responses: { max: 3, expires: \"5s\" } }} ] }",
    );
    let Auth::Users(users) = &o.config.auth else {
        panic!("users")
    };
    let r = |i: usize| users[i].permissions.as_ref().unwrap().responses.unwrap();
    assert_eq!((r(0).max, r(0).expires), (1, Duration::from_secs(120)));
    assert_eq!((r(1).max, r(1).expires), (3, Duration::from_secs(5)));
    assert!(
        err("authorization { users: [ {user: a, permissions: { allow_responses: \"x\" }} ] }")
            .contains("a boolean or a {max, expires} map")
    );
}

#[test]
fn websocket_without_no_tls_is_refused_at_the_block() {
    assert_eq!(
        err("port: 4222\nwebsocket { port: -1 }"),
        "t.conf:2:1: websocket requires TLS configuration"
    );
    assert!(err("websocket { port: -1, no_tls: false }").contains("requires TLS"));
}

#[test]
fn fault_control_is_opt_in() {
    let o = ok("");
    assert!(!o.config.fault_control && !o.control_allow_public);
    let o = ok("control: true\ncontrol_allow_public: true");
    assert!(o.config.fault_control && o.control_allow_public);
    assert!(err("control: 5").contains("control"));
}

#[test]
fn leafnodes_block() {
    let (o, w) = apply(
        "leafnodes {\n reconnect: \"5s\"\n port: 7422\n remotes: [\n  { url: \"nats-leaf://u:p@hub:7422\", deny_imports: \"private.>\", deny_exports: [\"a\", \"b.*\"] }\n  { urls: [\"nats://h1\", \"nats://h2:4000\"], account: \"APP\" }\n ]\n}",
    )
    .unwrap();
    let remotes = &o.config.leaf_remotes;
    assert_eq!(remotes.len(), 2);
    assert_eq!(remotes[0].urls[0].host, "hub");
    assert_eq!(remotes[0].urls[0].user.as_deref(), Some("u"));
    assert_eq!(remotes[0].deny_imports, ["private.>"]);
    assert_eq!(remotes[0].deny_exports, ["a", "b.*"]);
    assert_eq!(remotes[1].urls[1].port, 4000);
    assert_eq!(o.config.leaf_reconnect, Duration::from_secs(5));
    // The account binds the link (validation checks that it exists).
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(remotes[1].account, "APP");
    assert!(o.validate().is_err(), "APP is not configured");
    assert_eq!(o.leaf_listen.as_ref().map(|l| l.port), Some(7422));
    let o = ok("leafnodes { listen: \"127.0.0.1:-1\" }");
    let listen = o.leaf_listen.unwrap();
    assert_eq!(
        (listen.host.as_deref(), listen.port),
        (Some("127.0.0.1"), 0)
    );
    assert!(
        err("leafnodes { remotes: [ { url: \"http://x\" } ] }")
            .contains("unsupported leafnode URL scheme")
    );
    assert!(err("leafnodes { remotes: [ { deny_imports: \"a\" } ] }").contains("needs a url"));
    assert!(
        err("leafnodes { remotes: [ { url: \"h\", nkey: \"UA\" } ] }")
            .contains("\"nkey\" is not supported")
    );
    assert!(
        err("leafnodes { remotes: [ { url: \"h\", bogus: 1 } ] }")
            .contains("unknown field \"bogus\"")
    );
}

#[test]
fn allowed_connection_types_per_user() {
    let o = ok(
        "authorization { users: [ {user: a, password: p, allowed_connection_types: [\"websocket\", STANDARD]} ] }",
    );
    let Auth::Users(users) = &o.config.auth else {
        panic!("users")
    };
    assert_eq!(
        users[0].allowed_connection_types.as_deref(),
        Some(&["WEBSOCKET".to_owned(), "STANDARD".to_owned()][..])
    );
    assert!(
        err("authorization { users: [ {user: a, password: p, allowed_connection_types: [\"carrier_pigeon\"]} ] }")
            .contains("unknown connection type \"carrier_pigeon\"")
    );
}

#[test]
fn queue_permission_entries() {
    let o = ok(
        "authorization { users: [ {user: a, password: p, permissions: { subscribe: [\"jobs workers\", \"x\"], publish: \"y\" }} ] }",
    );
    let Auth::Users(users) = &o.config.auth else {
        panic!("users")
    };
    let perms = users[0].permissions.as_ref().unwrap();
    assert_eq!(
        perms.subscribe.allow.as_deref(),
        Some(&["jobs workers".to_owned(), "x".to_owned()][..])
    );
    // Queue entries are for subscriptions only.
    assert!(err("authorization { users: [ {user: a, password: p, permissions: { publish: \"jobs workers\" }} ] }").contains("invalid subject"));
    assert!(err("authorization { users: [ {user: a, password: p, permissions: { subscribe: \"jobs a b\" }} ] }").contains("invalid subject"));
}

/// The accounts example of nats-server's documentation, unchanged.
const DOC_ACCOUNTS: &str = r#"
accounts: {
    A: {
        users: [
            {user: a, password: a}
        ]
        exports: [
            {stream: puba.>}
            {service: pubq.>}
            {stream: b.>, accounts: [B]}
            {service: q.b, accounts: [B]}
        ]
    },
    B: {
        users: [
            {user: b, password: b}
        ]
        imports: [
            {stream: {account: A, subject: b.>}}
            {service: {account: A, subject: q.b}}
        ]
    }
    C: {
        users: [
            {user: c, password: c}
        ]
        imports: [
            {stream: {account: A, subject: puba.>}, prefix: from_a}
            {service: {account: A, subject: pubq.C}, to: Q}
        ]
    }
}
no_auth_user: a
"#;

#[test]
fn accounts_from_the_documentation() {
    let o = ok(DOC_ACCOUNTS);
    assert!(o.validate().is_ok(), "{:?}", o.validate());
    let names: Vec<&str> = o.config.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    let a = &o.config.accounts[0];
    assert_eq!(a.exports.len(), 4);
    assert_eq!(a.exports[2].accounts, Some(vec!["B".to_owned()]));
    let c = &o.config.accounts[2];
    assert_eq!(c.imports[0].prefix.as_deref(), Some("from_a"));
    assert_eq!(c.imports[1].to.as_deref(), Some("Q"));
    let Auth::Users(users) = &o.config.auth else {
        panic!("account users become users");
    };
    let homes: Vec<(&str, &str)> = users
        .iter()
        .map(|u| (u.name.as_str(), u.account.as_str()))
        .collect();
    assert_eq!(homes, [("a", "A"), ("b", "B"), ("c", "C")]);
    assert_eq!(o.config.no_auth_user.as_deref(), Some("a"));
}

#[test]
fn account_users_join_authorization_users_in_either_order() {
    for text in [
        "authorization { users: [{user: g, password: g}] }\naccounts { A { users: [{user: a, password: a}] } }",
        "accounts { A { users: [{user: a, password: a}] } }\nauthorization { users: [{user: g, password: g}] }",
    ] {
        let o = ok(text);
        let Auth::Users(users) = &o.config.auth else {
            panic!("users");
        };
        let mut names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "g"], "{text}");
    }
    let o = ok(
        "accounts { A { default_permissions: {publish: \"x\"}, users: [{user: a, password: a}] } }\nsystem_account: A",
    );
    let Auth::Users(users) = &o.config.auth else {
        panic!("users");
    };
    assert_eq!(
        users[0].permissions.as_ref().unwrap().publish.allow,
        Some(vec!["x".to_owned()])
    );
    assert_eq!(o.config.system_account, "A");
}

#[test]
fn bad_accounts_are_refused_with_nats_servers_words() {
    let invalid = |text: &str| match ok(text).validate() {
        Err(OptionsError::Invalid(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        invalid("accounts { A {}, B { imports: [{service: {account: A, subject: help}}] } }"),
        "Error adding service import \"help\": service import not authorized"
    );
    assert_eq!(
        invalid("accounts { B { imports: [{stream: {account: Z, subject: s}}] } }"),
        "\"Z\" account not defined for stream import"
    );
    assert_eq!(
        invalid(
            "accounts { A { users: [{user: a, password: a}] }, B { users: [{user: a, password: b}] } }"
        ),
        "Duplicate user \"a\" detected"
    );
    assert_eq!(
        err("accounts {\n A { exports: [{stream: s, bogus: 1}] } }"),
        "t.conf:2:28: unknown field \"bogus\""
    );
    assert_eq!(
        err("accounts { A { exports: [{accounts: [B]}] } }"),
        "t.conf:1:26: export needs a \"stream\" or \"service\" subject"
    );
    assert!(err("accounts { A { mappings: {a: b} } }").contains("not supported by skiff"));
}

#[test]
fn tls_block() {
    let o = ok(
        "tls {\n cert_file: \"c.pem\"\n key_file: \"k.pem\"\n ca_file: \"ca.pem\"\n verify_and_map: true\n timeout: 0.5\n handshake_first: true\n}",
    );
    let t = o.tls.expect("tls");
    assert_eq!(
        (t.cert_file.to_str(), t.key_file.to_str()),
        (Some("c.pem"), Some("k.pem"))
    );
    assert!(t.verify_and_map && t.verifies() && t.handshake_first);
    assert_eq!(t.timeout, Duration::from_millis(500));
    assert_eq!(
        err("tls { cert_file: c, key_file: k, verify: 1 }"),
        "t.conf:1:34: error parsing tls config, expected 'verify' to be a boolean"
    );
    assert_eq!(
        err("tls { key_file: k }"),
        "t.conf:1:1: missing 'cert_file' in TLS configuration"
    );
    assert!(err("tls { cert_file: c, key_file: k, insecure: true }").contains("not supported"));
    assert!(
        err("tls { cert_file: c, key_file: k, handshake_first: auto }").contains("not supported")
    );
    let (_, warnings) = apply("tls { cert_file: c, key_file: k, cipher_suites: [x] }").unwrap();
    assert_eq!(warnings.len(), 1);
}

#[test]
fn leaf_remote_credentials_and_tls() {
    let dir = std::env::temp_dir().join(format!("skiff-opts-creds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("leaf.creds");
    std::fs::write(
        &creds,
        "-----BEGIN NATS USER JWT-----\na.b.c\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\nSUAB\n------END USER NKEY SEED------\n",
    )
    .unwrap();
    let o = ok(&format!(
        "leafnodes {{ remotes: [ {{ url: \"tls://hub:7422\", credentials: \"{}\", account: A, tls {{ ca_file: ca.pem }} }} ] }}\naccounts {{ A {{}} }}",
        creds.display()
    ));
    let remote = &o.config.leaf_remotes[0];
    assert_eq!(remote.credentials.as_ref().unwrap().jwt, "a.b.c");
    assert_eq!(
        remote.tls.as_ref().unwrap().ca_file.as_deref(),
        Some("ca.pem")
    );
    assert_eq!(remote.account, "A");
    assert!(
        err(
            "leafnodes { remotes: [ { url: \"nats://h\", credentials: \"/nonexistent.creds\" } ] }"
        )
        .contains("error reading credentials file")
    );
    assert!(
        err("leafnodes { remotes: [ { url: \"nats://h\", tls { cert_file: c } } ] }")
            .contains("both cert_file and key_file")
    );
}
