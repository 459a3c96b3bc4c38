//! Skiff's browser build (`wasm/pkg`, built by `wasm/build.sh`) run in Node by
//! `wasm/tests/node-server.mjs`, which bridges each TCP socket to one MessagePort connection
//! of a wasm broker. One Node process serves every scenario's broker (started on the first
//! scenario). The scenario's configuration goes through the daemon's config parser (as for
//! the in-memory target) and reaches the wasm broker as its JavaScript options.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_core::{Auth, Config, Rules};

use super::tcp::RemoteServer;
use super::{Connection, Kind, Server, StartError, Target, UNSUPPORTED_TAGS};
use crate::conf::core_config;
use crate::version::Version;

/// Starts a wasm broker in the shared Node process for each scenario.
#[derive(Debug)]
pub struct WasmNodeTarget {
    script: PathBuf,
    version: Version,
    node: Arc<Mutex<Option<NodeProcess>>>,
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
            node: Arc::default(),
        })
    }

    /// Asks the Node process (started if needed) for a broker with `options`; returns its
    /// port.
    fn start_broker(&self, options: &Value) -> io::Result<u16> {
        let mut node = self.node.lock().unwrap_or_else(PoisonError::into_inner);
        if node.is_none() {
            *node = Some(NodeProcess::spawn(&self.script)?);
        }
        let process = node.as_mut().expect("just started");
        let reply = process.request(&format!("start {options}"));
        if reply.is_err() {
            // A dead process is replaced on the next scenario.
            *node = None;
        }
        let reply = reply?;
        reply
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("node-server.mjs: {}", reply.trim())))
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
    /// The browser build has no bcrypt (the crate does not build for wasm32).
    fn supports(&self, tag: &str) -> bool {
        tag != "bcrypt" && tag != "tcp" && !UNSUPPORTED_TAGS.contains(&tag)
    }
    fn start(&self, config: &[(String, String)]) -> Result<Box<dyn Server>, StartError> {
        let config = core_config(config).map_err(StartError::Unsupported)?;
        let options = broker_options(&config).map_err(StartError::Unsupported)?;
        let port = self
            .start_broker(&options)
            .map_err(|e| StartError::Failed(e.to_string()))?;
        Ok(Box::new(NodeBroker {
            node: self.node.clone(),
            port,
            remote: RemoteServer {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                websocket: None,
            },
        }))
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
    if let Some(user) = &config.no_auth_user {
        options["noAuthUser"] = json!(user);
    }
    let mut accounts = serde_json::Map::new();
    for account in &config.accounts {
        let exports: Vec<Value> = account
            .exports
            .iter()
            .map(|e| {
                let kind = e.kind.as_str();
                let mut out = json!({ kind: e.subject });
                if let Some(names) = &e.accounts {
                    out["accounts"] = json!(names);
                }
                out["responseType"] = json!(match e.response_type {
                    skiff_core::ResponseType::Stream => "stream",
                    skiff_core::ResponseType::Chunked => "chunked",
                    _ => "singleton",
                });
                out["responseThreshold"] = json!(millis(e.response_threshold));
                out
            })
            .collect();
        let imports: Vec<Value> = account
            .imports
            .iter()
            .map(|i| {
                let kind = i.kind.as_str();
                let mut out = json!({ kind: { "account": i.account, "subject": i.subject } });
                if let Some(to) = &i.to {
                    out["to"] = json!(to);
                }
                if let Some(prefix) = &i.prefix {
                    out["prefix"] = json!(prefix);
                }
                out
            })
            .collect();
        accounts.insert(
            account.name.clone(),
            json!({ "exports": exports, "imports": imports, "users": [] }),
        );
    }
    if config.system_account != skiff_core::DEFAULT_SYSTEM_ACCOUNT {
        options["systemAccount"] = json!(config.system_account);
    }
    match &config.auth {
        Auth::None => {}
        Auth::Token(token) => options["token"] = json!(token),
        Auth::Users(users) => {
            let user_json = |u: &skiff_core::User| {
                let mut user = json!({ "user": u.name, "password": u.password });
                if let Some(p) = &u.permissions {
                    user["permissions"] = json!({
                        "publish": rules(&p.publish),
                        "subscribe": rules(&p.subscribe),
                    });
                    if let Some(r) = p.responses {
                        user["permissions"]["allowResponses"] =
                            json!({ "max": r.max, "expires": millis(r.expires) });
                    }
                }
                user
            };
            let mut global = Vec::new();
            for u in users {
                match accounts.get_mut(&u.account) {
                    Some(account) if !u.account.is_empty() => account["users"]
                        .as_array_mut()
                        .expect("an array")
                        .push(user_json(u)),
                    Some(_) | None if u.account.is_empty() => global.push(user_json(u)),
                    _ => return Err(format!("user {} in an unknown account", u.name)),
                }
            }
            if !global.is_empty() {
                options["users"] = json!(global);
            }
        }
        other => return Err(format!("authentication {other:?} has no wasm option")),
    }
    if !accounts.is_empty() {
        options["accounts"] = Value::Object(accounts);
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

/// The Node process serving the brokers; killed on drop.
#[derive(Debug)]
struct NodeProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl NodeProcess {
    fn spawn(script: &Path) -> io::Result<Self> {
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Sends one command line and reads the one-line answer.
    fn request(&mut self, line: &str) -> io::Result<String> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut reply = String::new();
        if self.stdout.read_line(&mut reply)? == 0 {
            return Err(io::Error::other("node-server.mjs exited"));
        }
        Ok(reply)
    }

    /// Sends a command that has no answer.
    fn tell(&mut self, line: &str) {
        let _ = writeln!(self.stdin, "{line}").and_then(|()| self.stdin.flush());
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario's broker in the Node process; shut down on drop.
#[derive(Debug)]
struct NodeBroker {
    node: Arc<Mutex<Option<NodeProcess>>>,
    port: u16,
    remote: RemoteServer,
}

impl Server for NodeBroker {
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

impl Drop for NodeBroker {
    fn drop(&mut self) {
        let mut node = self.node.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(process) = node.as_mut() {
            process.tell(&format!("stop {}", self.port));
        }
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
