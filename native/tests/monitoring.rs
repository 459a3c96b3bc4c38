//! HTTP monitoring against nats-server 2.15's: the same traffic on both, then `/varz`,
//! `/connz` and `/subsz` compared field by field (names and JSON types), counters compared by
//! value, and the ports file's URLs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Fields nats-server 2.15 has that Skiff leaves out, and why (see the README).
const NOT_IN_SKIFF: &[&str] = &[
    "git_commit",         // no Go build
    "feature_flags",      // JetStream feature flags
    "disk_io_wait_stats", // JetStream storage
    "rtt",                // measured at the first keepalive PING, not at connect
    "tls_required",
    "gomemlimit",
];
/// Fields Skiff adds.
const ONLY_IN_SKIFF: &[&str] = &["skiff_version"];

struct Running {
    child: Child,
    nats: String,
    monitoring: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` on random client and monitoring ports and reads both URLs from its ports
/// file, as client test harnesses do.
fn start(binary: &Path, dir: &Path) -> Running {
    std::fs::create_dir_all(dir).unwrap();
    let child = Command::new(binary)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            "-1",
            "-m",
            "-1",
            "--ports_file_dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the server");
    // Killed and waited for on drop, whatever happens below.
    let mut running = Running {
        child,
        nats: String::new(),
        monitoring: String::new(),
    };
    let stderr = running.child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let suffix = format!("_{}.ports", running.child.id());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(&suffix));
        if let Some(entry) = found {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                if let Ok(ports) = serde_json::from_str::<Value>(&text) {
                    let url = |k: &str| ports[k][0].as_str().map(str::to_owned);
                    if let (Some(nats), Some(monitoring)) = (url("nats"), url("monitoring")) {
                        let log: Vec<String> = rx.try_iter().collect();
                        assert!(
                            log.iter()
                                .any(|l| l.contains("Starting http monitor on 127.0.0.1:")),
                            "{log:?}"
                        );
                        running.nats = nats;
                        running.monitoring = monitoring;
                        return running;
                    }
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no ports file from {}",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET path` with `Connection: close`: (status, body).
fn get(base: &str, path: &str) -> (u16, String) {
    let hostport = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(hostport).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    if status == 200 {
        assert!(head.contains("Access-Control-Allow-Origin: *"), "{head}");
    }
    (status, body.to_owned())
}

fn get_json(base: &str, path: &str) -> Value {
    let (status, body) = get(base, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// One client with two subscriptions that publishes to one of them; kept open.
fn traffic(nats: &str) -> TcpStream {
    let mut s = TcpStream::connect(nats.trim_start_matches("nats://")).unwrap();
    s.write_all(
        b"CONNECT {\"verbose\":false,\"name\":\"c1\",\"lang\":\"go\",\"version\":\"1.2\"}\r\n\
          SUB foo 1\r\nSUB bar q 2\r\nPUB foo 5\r\nhello\r\nPUB bar 2\r\nhi\r\nPING\r\n",
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while !String::from_utf8_lossy(&seen).contains("PONG\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `nats` is in `skiff` with the same JSON type (recursively, arrays by their
/// first element), except [`NOT_IN_SKIFF`]; Skiff adds nothing but [`ONLY_IN_SKIFF`].
fn same_shape(path: &str, nats: &Value, skiff: &Value, problems: &mut Vec<String>) {
    match (nats, skiff) {
        (Value::Object(n), Value::Object(s)) => {
            for (k, nv) in n {
                let here = format!("{path}.{k}");
                match s.get(k) {
                    Some(sv) => same_shape(&here, nv, sv, problems),
                    None if NOT_IN_SKIFF.contains(&k.as_str()) => {}
                    None => problems.push(format!("{here} missing")),
                }
            }
            for k in s.keys() {
                if !n.contains_key(k) && !ONLY_IN_SKIFF.contains(&k.as_str()) {
                    problems.push(format!("{path}.{k} only in skiff"));
                }
            }
        }
        (Value::Array(n), Value::Array(s)) => {
            // Elements' order differs (nats-server's come from Go maps): compare the union.
            if let (Some(n0), Some(s0)) = (merged(n), merged(s)) {
                same_shape(&format!("{path}[]"), &n0, &s0, problems);
            }
        }
        _ if kind(nats) != kind(skiff) => problems.push(format!(
            "{path}: nats-server has {} ({nats}), skiff {} ({skiff})",
            kind(nats),
            kind(skiff)
        )),
        _ => {}
    }
}

/// An array's elements as one: objects merged key by key, else the first element.
fn merged(items: &[Value]) -> Option<Value> {
    let first = items.first()?;
    if !first.is_object() {
        return Some(first.clone());
    }
    let mut all = serde_json::Map::new();
    for item in items {
        for (k, v) in item.as_object()? {
            all.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Some(Value::Object(all))
}

fn nats_server() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/nats-server");
    path.is_file().then_some(path)
}

#[test]
fn monitoring_json_matches_nats_server_field_by_field() {
    let Some(nats_bin) = nats_server() else {
        eprintln!("SKIPPED: .tools/nats-server is missing (scripts/setup.sh installs it)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("skiff-monitoring-{}", std::process::id()));
    let nats = start(&nats_bin, &dir.join("nats"));
    let skiff = start(Path::new(env!("CARGO_BIN_EXE_skiff")), &dir.join("skiff"));
    let _a = traffic(&nats.nats);
    let _b = traffic(&skiff.nats);

    let mut problems = Vec::new();
    for path in [
        "/varz",
        "/connz?subs=detail",
        "/connz?subs=1",
        "/subsz?subs=1&test=foo",
        "/healthz",
    ] {
        let n = get_json(&nats.monitoring, path);
        let s = get_json(&skiff.monitoring, path);
        same_shape(path, &n, &s, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // The same traffic gives the same counters.
    let n = get_json(&nats.monitoring, "/connz?subs=detail");
    let s = get_json(&skiff.monitoring, "/connz?subs=detail");
    let (nc, sc) = (&n["connections"][0], &s["connections"][0]);
    for field in [
        "in_msgs",
        "out_msgs",
        "in_bytes",
        "out_bytes",
        "subscriptions",
        "pending_bytes",
        "name",
        "lang",
        "version",
        "type",
        "kind",
    ] {
        assert_eq!(nc[field], sc[field], "/connz {field}");
    }
    let strip_cid = |v: &Value| {
        let mut subs = v.as_array().unwrap().clone();
        for sub in &mut subs {
            sub.as_object_mut().unwrap().remove("cid");
        }
        subs.sort_by_key(|s| s["sid"].as_str().unwrap().to_owned());
        subs
    };
    assert_eq!(
        strip_cid(&nc["subscriptions_list_detail"]),
        strip_cid(&sc["subscriptions_list_detail"])
    );
    let s = get_json(&skiff.monitoring, "/varz");
    assert_eq!(s["connections"], 1);
    assert_eq!(
        (s["in_msgs"].clone(), s["out_msgs"].clone()),
        (2.into(), 2.into())
    );
    assert_eq!(
        (s["in_bytes"].clone(), s["out_bytes"].clone()),
        (7.into(), 7.into())
    );

    // Closed connections: the same fields, stop and reason included.
    drop((_a, _b));
    let closed = |base: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let c = get_json(base, "/connz?state=closed");
            if c["total"] == 1 || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (n, s) = (closed(&nats.monitoring), closed(&skiff.monitoring));
    same_shape("/connz?state=closed", &n, &s, &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    let (nc, sc) = (&n["connections"][0], &s["connections"][0]);
    assert_eq!(sc["reason"], "Client Closed");
    for field in ["reason", "in_msgs", "out_msgs", "name"] {
        assert_eq!(nc[field], sc[field], "closed {field}");
    }

    // Errors and unknown paths answer as nats-server's do.
    for path in [
        "/connz?sort=bogus",
        "/connz?sort=stop",
        "/connz?subs=maybe",
        "/connz?limit=x",
        "/connz?state=bogus",
        "/subsz?test=foo.*",
        "/nothing",
    ] {
        assert_eq!(
            get(&nats.monitoring, path),
            get(&skiff.monitoring, path),
            "{path}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
