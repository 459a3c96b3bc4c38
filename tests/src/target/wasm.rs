//! Skiff's browser build (`wasm/pkg`, built by `wasm/build.sh`) run in Node by
//! `wasm/tests/node-server.mjs`, which bridges each TCP socket to one MessagePort connection
//! of the wasm broker. The scenario's configuration goes through the daemon's config parser
//! (as for the in-memory target) and reaches the wasm broker as its JavaScript options.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_core::{Auth, Config, Rules};

use super::tcp::RemoteServer;
use super::{Connection, Kind, Server, StartError, Target};
use crate::conf::core_config;
use crate::version::Version;

/// Starts the wasm broker in Node for each scenario.
#[derive(Debug)]
pub struct WasmNodeTarget {
    script: PathBuf,
    version: Version,
}

impl WasmNodeTarget {
    /// A target for the package under `workspace/wasm/pkg`, judged as nats-server `version`.
    /// Fails if Node or the built package is missing.
    pub fn new(workspace: &Path, version: Version) -> Result<Self, String> {
        let wasm = workspace.join("wasm/pkg/skiff_wasm_bg.wasm");
        if !wasm.is_file() {
            return Err(format!("{} not built (bash wasm/build.sh)", wasm.display()));
        }
        Command::new("node")
            .arg("--version")
            .output()
            .map_err(|e| format!("node: {e}"))?;
        Ok(Self {
            script: workspace.join("wasm/tests/node-server.mjs"),
            version,
        })
    }
}

impl Target for WasmNodeTarget {
    fn name(&self) -> String {
        "skiff-wasm in Node".to_owned()
    }
    fn kind(&self) -> Kind {
        Kind::Skiff
    }
    fn version(&self) -> Version {
        self.version
    }
    fn parallel(&self) -> bool {
        true
    }
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError> {
        let config = core_config(config).map_err(StartError::Unsupported)?;
        let options = broker_options(&config).map_err(StartError::Unsupported)?;
        NodeServer::start(&self.script, &options)
            .map(|s| Box::new(s) as Box<dyn Server>)
            .map_err(|e| StartError::Failed(e.to_string()))
    }
}

/// The wasm broker's JavaScript options for `config` (durations in milliseconds).
pub fn broker_options(config: &Config) -> Result<Value, String> {
    let millis = |d: Duration| d.as_millis() as u64;
    let mut options = json!({
        "headers": config.headers,
        "maxPayload": config.max_payload,
        "maxControlLine": config.max_control_line,
        "maxPending": config.max_pending,
        "maxConnections": config.max_connections,
        "maxSubscriptions": config.max_subscriptions,
        "pingInterval": millis(config.ping_interval),
        "maxPingsOut": config.ping_max,
        "noShortFirstPing": config.disable_short_first_ping,
        "authTimeout": millis(config.auth_timeout),
        "lameDuckDuration": millis(config.lame_duck_duration),
        "lameDuckGracePeriod": millis(config.lame_duck_grace_period),
    });
    if !config.server_name.is_empty() {
        options["serverName"] = json!(config.server_name);
    }
    match &config.auth {
        Auth::None => {}
        Auth::Token(token) => options["token"] = json!(token),
        Auth::Users(users) => {
            let users: Vec<Value> = users
                .iter()
                .map(|u| {
                    let mut user = json!({ "user": u.name, "password": u.password });
                    if let Some(p) = &u.permissions {
                        user["permissions"] = json!({
                            "publish": rules(&p.publish),
                            "subscribe": rules(&p.subscribe),
                        });
                    }
                    user
                })
                .collect();
            options["users"] = json!(users);
        }
        other => return Err(format!("authentication {other:?} has no wasm option")),
    }
    Ok(options)
}

fn rules(rules: &Rules) -> Value {
    let mut out = json!({ "deny": rules.deny });
    if let Some(allow) = &rules.allow {
        out["allow"] = json!(allow);
    }
    out
}

/// One Node process serving the wasm broker; killed on drop.
#[derive(Debug)]
struct NodeServer {
    child: Child,
    remote: RemoteServer,
}

impl NodeServer {
    fn start(script: &Path, options: &Value) -> io::Result<Self> {
        let mut child = Command::new("node")
            .arg(script)
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| {
                let _ = child.kill();
                io::Error::other(format!("node-server.mjs did not start: {line:?}"))
            })?;
        Ok(Self {
            child,
            remote: RemoteServer {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            },
        })
    }
}

impl Server for NodeServer {
    fn connect(&mut self) -> io::Result<Box<dyn Connection>> {
        self.remote.connect()
    }
    fn sleep(&mut self, duration: Duration) {
        self.remote.sleep(duration);
    }
    fn pause(&mut self) {
        self.remote.pause();
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_carry_limits_timers_and_users() {
        let config = core_config(&[
            ("max_payload".to_owned(), "100".to_owned()),
            ("ping_interval".to_owned(), "\"1s\"".to_owned()),
            (
                "authorization.users".to_owned(),
                "[ { user: a, password: p, permissions: { subscribe: { deny: \"x\" } } } ]"
                    .to_owned(),
            ),
        ])
        .unwrap();
        let options = broker_options(&config).unwrap();
        assert_eq!(options["maxPayload"], 100);
        assert_eq!(options["pingInterval"], 1000);
        assert_eq!(options["users"][0]["user"], "a");
        assert_eq!(
            options["users"][0]["permissions"]["subscribe"]["deny"][0],
            "x"
        );
    }
}
