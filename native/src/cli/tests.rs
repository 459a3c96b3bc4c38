//! Tests for the command-line parser.

use std::time::Duration;

use super::*;

fn parse(args: &[&str]) -> Result<Command, CliError> {
    parse_args(args.iter().map(OsString::from))
}

fn run(args: &[&str]) -> Options {
    match parse(args) {
        Ok(Command::Run { options, .. }) => *options,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn error(args: &[&str]) -> String {
    parse(args).unwrap_err().to_string()
}

#[test]
fn no_arguments_runs_with_defaults() {
    assert_eq!(run(&[]), Options::default());
}

#[test]
fn every_form_of_a_value_flag() {
    for args in [
        &["-p", "4333"][..],
        &["-p=4333"],
        &["--p", "4333"],
        &["-port", "4333"],
        &["--port", "4333"],
        &["--port=4333"],
        &["-port=4333"],
    ] {
        assert_eq!(run(args).config.port, 4333, "{args:?}");
    }
    assert_eq!(run(&["-p", "-1"]).config.port, 0, "-1 = random");
    assert_eq!(
        run(&["-p", "0"]).config.port,
        4222,
        "0 = default, as in nats-server"
    );
    assert_eq!(run(&["-p", "0x10"]).config.port, 16);
}

#[test]
fn server_flags() {
    let o = run(&[
        "-a",
        "127.0.0.1",
        "-n",
        "srv",
        "-P",
        "/tmp/s.pid",
        "-m",
        "8222",
        "--ports_file_dir",
        "/tmp",
    ]);
    assert_eq!(o.config.host, "127.0.0.1");
    assert_eq!(o.config.server_name, "srv");
    assert_eq!(
        o.pid_file.as_deref(),
        Some(std::path::Path::new("/tmp/s.pid"))
    );
    assert_eq!(
        o.http,
        Some(Listen {
            host: None,
            port: 8222
        })
    );
    assert_eq!(
        o.ports_file_dir.as_deref(),
        Some(std::path::Path::new("/tmp"))
    );
    assert_eq!(run(&["--addr", "::1"]).config.host, "::1");
    assert_eq!(run(&["-net", "10.1.1.1"]).config.host, "10.1.1.1");
    assert_eq!(run(&["--server_name", "x"]).config.server_name, "x");
    assert_eq!(run(&["-name=y"]).config.server_name, "y");
    assert_eq!(
        run(&["--http_port", "-1"]).http,
        Some(Listen {
            host: None,
            port: 0
        })
    );
    assert_eq!(run(&["--max_payload", "8MB"]).config.max_payload, 8 << 20);
    assert_eq!(run(&["--max_payload=1000"]).config.max_payload, 1000);
}

#[test]
fn logging_flags() {
    let o = run(&["-D"]);
    assert!(o.debug && !o.trace);
    let o = run(&["-V"]);
    assert!(!o.debug && o.trace);
    let o = run(&["-DV"]);
    assert!(o.debug && o.trace && !o.trace_verbose);
    let o = run(&["-VV"]);
    assert!(!o.debug && o.trace && o.trace_verbose);
    let o = run(&["-DVV"]);
    assert!(o.debug && o.trace && o.trace_verbose);
    assert!(run(&["--debug", "--trace"]).trace);
    assert!(!run(&["-D=false"]).debug);
    assert!(run(&["-D=true"]).debug);
    assert!(run(&["-D=1"]).debug);
    assert!(run(&[]).logtime);
    assert!(!run(&["-T=false"]).logtime);
    assert!(!run(&["--logtime=false"]).logtime);
    assert!(run(&["-T"]).logtime);
    assert!(run(&["--logtime_utc"]).logtime_utc);
    assert_eq!(
        run(&["-l", "x.log"]).log_file.as_deref(),
        Some(std::path::Path::new("x.log"))
    );
    assert_eq!(
        run(&["--log=y.log"]).log_file.as_deref(),
        Some(std::path::Path::new("y.log"))
    );
}

#[test]
fn bool_flags_do_not_take_the_next_argument() {
    // `-T false` is `-T` followed by the positional "false", as in Go.
    assert_eq!(error(&["-T", "false"]), "unrecognized command: \"false\"");
}

#[test]
fn auth_flags() {
    assert_eq!(
        run(&["--user", "a", "--pass", "b"]).config.auth,
        Auth::Users(vec![User {
            name: "a".into(),
            password: "b".into(),
            ..Default::default()
        }])
    );
    assert_eq!(
        run(&["--auth", "tok"]).config.auth,
        Auth::Token("tok".into())
    );
    assert!(error(&["--user", "a", "--auth", "t"]).contains("cannot be used together"));
    assert!(error(&["--pass", "b"]).contains("--pass requires --user"));
}

#[test]
fn version_and_help() {
    for args in [
        &["-v"][..],
        &["--version"],
        &["version"],
        &["-version=true"],
    ] {
        assert_eq!(parse(args).unwrap(), Command::Version, "{args:?}");
    }
    for args in [&["-h"][..], &["--help"], &["help"], &["-p", "1", "-h"]] {
        assert_eq!(parse(args).unwrap(), Command::Help, "{args:?}");
    }
    assert!(version_text().starts_with("skiff: v"));
    assert!(usage().starts_with("Usage: skiff [options]"));
    assert!(usage().contains("--signal"));
}

#[test]
fn go_flag_errors() {
    assert_eq!(error(&["--bogus"]), "flag provided but not defined: -bogus");
    assert_eq!(error(&["-p"]), "flag needs an argument: -p");
    assert_eq!(
        error(&["-p", "abc"]),
        "invalid value \"abc\" for flag -p: parse error"
    );
    assert_eq!(
        error(&["-p", "70000"]),
        "invalid value \"70000\" for flag -p: parse error"
    );
    assert_eq!(
        error(&["-D=maybe"]),
        "invalid boolean value \"maybe\" for -D: parse error"
    );
    assert_eq!(error(&["foo"]), "unrecognized command: \"foo\"");
    assert_eq!(error(&["---p"]), "bad flag syntax: ---p");
    assert_eq!(error(&["-=1"]), "bad flag syntax: -=1");
    assert_eq!(
        error(&["--max_payload", "big"]),
        "invalid value \"big\" for flag -max_payload: parse error"
    );
    // `--` ends the flags.
    assert_eq!(error(&["--", "-p"]), "unrecognized command: \"-p\"");
}

#[test]
fn unsupported_flags_are_refused_by_name() {
    for (flag, feature) in [
        ("-js", "JetStream"),
        ("--jetstream", "JetStream"),
        ("-ms", "TLS (https monitoring)"),
    ] {
        let e = error(&[flag, "x"]);
        let name = flag.trim_start_matches('-');
        assert_eq!(
            e,
            format!("flag -{name} is not supported: skiff has no {feature}")
        );
    }
}

#[test]
fn ignored_flags_warn() {
    match parse(&[
        "--client_advertise",
        "x:1",
        "--no_advertise",
        "--profile",
        "6060",
    ])
    .unwrap()
    {
        Command::Run { warnings, .. } => {
            assert_eq!(warnings.len(), 3);
            assert_eq!(
                warnings[0].to_string(),
                "flag -client_advertise is not supported by skiff (skiff has no cluster to advertise); ignored"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// async-nats' test harness passes `--store_dir` on every start; nats-server accepts it
/// without `-js`, and so do we, with a warning naming it.
#[test]
fn flags_nats_server_accepts_start_with_a_warning() {
    for args in [
        &["--store_dir", "/tmp/x", "-p", "-1"][..],
        &["-sd", "/tmp/x"],
        &["--routes", "nats://127.0.0.1:6222", "--cluster_name", "c"],
        &["--cluster", "nats://127.0.0.1:6222"],
        &["-s"],
        &["-r", "udp://127.0.0.1:514"],
    ] {
        match parse(args).unwrap() {
            Command::Run { warnings, .. } => {
                assert!(!warnings.is_empty(), "{args:?}");
                let flag = args[0].trim_start_matches('-');
                assert!(
                    warnings[0]
                        .to_string()
                        .starts_with(&format!("flag -{flag} is not supported by skiff (")),
                    "{args:?}: {}",
                    warnings[0]
                );
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert!(matches!(parse(&["--help_tls"]).unwrap(), Command::HelpTls));
}

/// `--help` names every flag that is accepted but ignored.
#[test]
fn help_lists_the_ignored_flags() {
    for flag in [
        "--store_dir",
        "--routes",
        "--cluster_name",
        "--syslog",
        "--remote_syslog",
        "--profile",
        "--connect_retries",
        "--log_size_limit",
    ] {
        assert!(usage().contains(flag), "{flag}");
    }
}

#[test]
fn signals() {
    let sig = |args: &[&str]| match parse(args).unwrap() {
        Command::Signal { signal, target } => (signal, target),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sig(&["--signal", "reload"]),
        (Signal::Reload, SignalTarget::Unspecified)
    );
    assert_eq!(
        sig(&["-sl", "ldm=123"]),
        (Signal::LameDuck, SignalTarget::Pid(123))
    );
    assert_eq!(
        sig(&["-sl=quit=/run/s.pid"]),
        (Signal::Quit, SignalTarget::PidFile("/run/s.pid".into()))
    );
    assert_eq!(
        sig(&["-sl", "term", "-P", "/p.pid"]),
        (Signal::Term, SignalTarget::PidFile("/p.pid".into()))
    );
    assert_eq!(sig(&["-signal", "stop"]).0, Signal::Stop);
    assert_eq!(sig(&["-sl", "reopen"]).0, Signal::Reopen);
    assert_eq!(Signal::Reload.unix_name(), "SIGHUP");
    assert_eq!(Signal::LameDuck.unix_name(), "SIGUSR2");
    assert!(error(&["-sl", "bogus"]).contains("unknown signal \"bogus\""));
    assert_eq!(error(&["--signal"]), "flag needs an argument: -signal");
}

mod with_config_file {
    use super::*;

    struct Tmp(std::path::PathBuf);

    impl Tmp {
        fn new(tag: &str, text: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("skiff-cli-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("s.conf");
            std::fs::write(&path, text).unwrap();
            Self(path)
        }
        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
        }
    }

    #[test]
    fn flags_override_the_file() {
        let f = Tmp::new(
            "override",
            "port: 5000\ndebug: true\nlogtime: false\nserver_name: file\nping_interval: \"5s\"\n",
        );
        let o = run(&["-c", f.path(), "-p", "5001", "-D=false", "-n", "flag"]);
        assert_eq!(o.config.port, 5001);
        assert!(!o.debug);
        assert!(
            !o.logtime,
            "not given on the command line, so the file wins"
        );
        assert_eq!(o.config.server_name, "flag");
        assert_eq!(o.config.ping_interval, Duration::from_secs(5));
        assert_eq!(o.config_file.as_deref(), Some(f.0.as_path()));
        // Flag order does not matter: the file is applied first.
        assert_eq!(run(&["-p", "5002", "--config", f.path()]).config.port, 5002);
    }

    #[test]
    fn test_config() {
        let f = Tmp::new("test", "port: 5000\ncluster {}\n");
        match parse(&["-t", "-c", f.path()]).unwrap() {
            Command::TestConfig { options, warnings } => {
                assert_eq!(options.config.port, 5000);
                assert_eq!(warnings.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            error(&["-t"]),
            "must specify [-c, --config] option to check configuration file syntax"
        );
    }

    #[test]
    fn config_errors_surface() {
        let f = Tmp::new("bad", "port: 1\nfoo: 2\n");
        assert_eq!(
            error(&["-c", f.path()]),
            format!("{}:2:1: unknown field \"foo\"", f.path())
        );
        let f = Tmp::new("invalid", "max_payload: 2MB\nmax_pending: 1MB\n");
        assert!(error(&["-c", f.path()]).contains("cannot be higher than max_pending"));
        // A flag can fix what the file got wrong.
        assert_eq!(
            run(&["-c", f.path(), "--max_payload", "1000"])
                .config
                .max_payload,
            1000
        );
        assert!(error(&["-c", "/nonexistent/x.conf"]).contains("error opening config file"));
    }
}

#[test]
fn control_is_off_by_default_and_opt_in() {
    let defaults = run(&[]);
    assert!(!defaults.config.fault_control && !defaults.control_allow_public);
    let on = run(&["--control"]);
    assert!(on.config.fault_control && !on.control_allow_public);
    let public = run(&["--control", "--control_allow_public"]);
    assert!(public.config.fault_control && public.control_allow_public);
    assert!(!run(&["--control=false"]).config.fault_control);
}

#[test]
fn tls_flags_replace_the_config_files_tls() {
    let tls = |args: &[&str]| run(args).tls;
    let t = tls(&[
        "--tlscert",
        "c.pem",
        "--tlskey",
        "k.pem",
        "--tlsverify",
        "--tlscacert",
        "ca.pem",
    ])
    .expect("TLS on");
    assert_eq!(
        (t.cert_file.to_str(), t.key_file.to_str(), t.verify),
        (Some("c.pem"), Some("k.pem"), true)
    );
    assert_eq!(
        t.ca_file.as_deref().and_then(|p| p.to_str()),
        Some("ca.pem")
    );
    assert!(tls(&["--tls=false", "--tlscert", "c.pem"]).is_none());
    assert_eq!(
        error(&["--tls", "--tlskey", "k.pem"]),
        "TLS Server certificate must be present and valid"
    );
    assert_eq!(
        error(&["--tlscert", "c.pem"]),
        "TLS Server private key must be present and valid"
    );
}
