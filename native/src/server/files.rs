//! The pid file and the ports file, as nats-server writes them.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Writes the current process id (no newline) to `path`.
pub(crate) fn write_pid_file(path: &Path) -> io::Result<()> {
    std::fs::write(path, std::process::id().to_string())
}

/// The program name for the ports file: `explicit`, else `argv[0]`'s file name.
pub(crate) fn program_name(explicit: Option<&str>) -> String {
    if let Some(name) = explicit {
        return name.to_owned();
    }
    std::env::args_os()
        .next()
        .and_then(|arg0| {
            Path::new(&arg0)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "skiff".to_owned())
}

/// The ports file's path: `<dir>/<program>_<pid>.ports`.
pub(crate) fn ports_file_path(dir: &Path, program: &str) -> PathBuf {
    dir.join(format!("{program}_{}.ports", std::process::id()))
}

/// The ports file's JSON: `{"nats":["nats://host:port"]}` plus any monitoring and WebSocket
/// URLs, in nats-server's order.
pub(crate) fn ports_json(
    client: SocketAddr,
    monitoring: Option<SocketAddr>,
    websocket: Option<SocketAddr>,
) -> String {
    // Written by hand to keep nats-server's key order ("nats" first).
    let mut json = format!(r#"{{"nats":["nats://{}"]"#, advertised(client));
    if let Some(http) = monitoring {
        json.push_str(&format!(r#","monitoring":["http://{}"]"#, advertised(http)));
    }
    if let Some(ws) = websocket {
        json.push_str(&format!(r#","websocket":["ws://{}"]"#, advertised(ws)));
    }

    json.push('}');
    json
}

/// An address a client can dial: an unspecified listen address is shown as loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_json_matches_nats_server() {
        let client: SocketAddr = "127.0.0.1:24222".parse().unwrap();
        assert_eq!(
            ports_json(client, None, None),
            r#"{"nats":["nats://127.0.0.1:24222"]}"#
        );
        let http: SocketAddr = "0.0.0.0:8222".parse().unwrap();
        assert_eq!(
            ports_json(client, Some(http), None),
            r#"{"nats":["nats://127.0.0.1:24222"],"monitoring":["http://127.0.0.1:8222"]}"#
        );
        let ws: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(
            ports_json(client, Some(http), Some(ws)),
            r#"{"nats":["nats://127.0.0.1:24222"],"monitoring":["http://127.0.0.1:8222"],"websocket":["ws://127.0.0.1:8080"]}"#
        );
    }

    #[test]
    fn ports_file_is_named_after_program_and_pid() {
        let path = ports_file_path(Path::new("/tmp"), "skiff");
        assert_eq!(
            path,
            PathBuf::from(format!("/tmp/skiff_{}.ports", std::process::id()))
        );
        assert_eq!(program_name(Some("x")), "x");
        assert!(!program_name(None).is_empty());
    }

    #[test]
    fn pid_file_holds_the_pid() {
        let path = std::env::temp_dir().join(format!("skiff-pid-test-{}", std::process::id()));
        write_pid_file(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        std::fs::remove_file(path).unwrap();
    }
}
